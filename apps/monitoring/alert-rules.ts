/**
 * Alerts per tier, from the typed topology and sizing: one "no process ready" alert per Synapse pool the tier
 * runs, thresholds that follow the tier (HAProxy's memory limit and connection soft limit, the federation
 * senders' share of the backlog). Metric names are Synapse 1.157's and HAProxy 2.6's Prometheus exporter's;
 * test/monitoring checks them against the metrics real processes expose, and promtool runs the rules.
 * Each alert's runbook is its section in runbooks.md, beside this file.
 */
import { readFileSync } from "node:fs";
import type { Site } from "../site/site.ts";
import { parseMemory } from "../site/quantity.ts";
import type { TierSizing } from "../site/sizing.ts";
import { connectionLimits } from "../haproxy/haproxy-config.ts";
import { synapseTopology } from "../synapse/topology.ts";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning"; pool?: string };
  annotations: { summary: string; description: string; runbook: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** The runbooks, one `## <Alert>` section each. */
export function runbookSections(text = readFileSync(new URL("./runbooks.md", import.meta.url), "utf8")): Map<string, string> {
  const sections = new Map<string, string>();
  for (const part of text.split(/^## /m).slice(1)) {
    const [title = "", ...body] = part.split("\n");
    sections.set(title.trim(), body.join("\n").trim());
  }
  return sections;
}

/** Thresholds that are the same in every tier, with the reason each has its value. */
export const alertThresholds = {
  /** Events the slowest consumer of the event stream (federation sending, pushers, stats…) may trail by. */
  eventPositionLag: 500,
  /** Seconds between an event's persistence and the federation sender queueing it. */
  federationLagSeconds: 60,
  /** Pending PDUs per federation sender before the backlog counts as one. */
  pendingPdusPerSender: 1000,
  /**
   * Initial /sync p99 in seconds. Incremental syncs are long polls held open up to 30 s, which the histogram
   * cannot tell from slowness (Synapse's buckets are prometheus_client's default, up to 10 s); initial syncs
   * are computed and answered at once, so their latency is the server's. 7.5 s is the last bucket below 10.
   */
  initialSyncP99Seconds: 7.5,
  /** Share of a backend's responses that may be 5xx. */
  backend5xxRatio: 0.05,
  /** Synapse's own 429s per second (its client rate limits). */
  synapse429PerSecond: 1,
  /** Average seconds a request waits in a backend's queue. */
  queueSeconds: 0.5,
  /** HAProxy's working set against its memory limit. */
  memoryShare: 0.9,
  /** Seconds (p95) a Synapse process waits for a database connection: its pool is exhausted. */
  databaseWaitSeconds: 0.5,
  /** Replication updates (RDATA/POSITION) of one stream a process may have queued, not yet applied. */
  replicationQueuedCommands: 1000,
} as const;

/**
 * Events each consumer of the event stream trails the newest persisted one by. Only consumers that read every
 * event: others (delayed events, room membership) move only when they act. Shared by the alert and the dashboard.
 */
export function eventStreamLag(ns: string): string {
  return `scalar(max(synapse_event_persisted_position{${ns}})) - min by (name) (synapse_event_processing_positions{${ns}, name=~"federation_sender|stats"})`;
}

export function alertGroups(site: Site, tier: TierSizing): RuleGroup[] {
  const runbooks = runbookSections();
  const ns = `namespace="${site.namespace}"`;
  const t = alertThresholds;
  const make = (alert: string, expr: string, forDuration: string, severity: "critical" | "warning", summary: string, description: string, pool?: string): AlertRule => {
    const text = runbooks.get(alert);
    if (!text) throw new Error(`apps/monitoring/runbooks.md has no section "## ${alert}"`);
    const runbook = text.replaceAll("<ns>", site.namespace);
    return { alert, expr, for: forDuration, labels: { severity, ...(pool ? { pool } : {}) }, annotations: { summary, description, runbook } };
  };
  const topology = synapseTopology(tier);
  const haproxyLimitBytes = parseMemory(tier.haproxy.resources.limits.memory);
  if (haproxyLimitBytes === undefined) throw new Error(`${tier.name}: HAProxy's memory limit "${tier.haproxy.resources.limits.memory}" is not a quantity`);
  const soft = connectionLimits(tier).soft;

  const synapse: AlertRule[] = [
    make("SynapseMainDown", `absent(up{${ns}, job="synapse-main"} == 1)`, "2m", "critical",
      "Synapse main is down", "No synapse-main target has been up for 2 minutes: logins, room creation and every write main owns fail."),
    ...topology.pools.map((p) => make("SynapsePoolUnavailable", `absent(up{${ns}, job="${p.name}"} == 1)`, "5m", "critical",
      `No ${p.role} process is up`, `No ${p.name} target has been up for 5 minutes.`, p.role)),
    make("SynapseEventStreamBehind",
      `${eventStreamLag(ns)} > ${t.eventPositionLag}`, "10m", "warning",
      "A consumer of the event stream is falling behind", `{{ $labels.name }} trails the persisted event stream by more than ${t.eventPositionLag} events.`),
    // Inbound: with Redis carrying replication, the per-connection outbound gauges are not exported at all.
    make("SynapseReplicationBacklog", `max by (pod, stream_name) (synapse_replication_tcp_command_queue{${ns}}) > ${t.replicationQueuedCommands}`, "5m", "warning",
      "A process falls behind a replication stream", `{{ $labels.pod }} has more than ${t.replicationQueuedCommands} {{ $labels.stream_name }} updates queued, not yet applied.`),
    make("SynapseFederationLagging", `max(synapse_event_processing_lag{${ns}, name="federation_sender"}) / 1000 > ${t.federationLagSeconds}`, "10m", "warning",
      "Federation sending lags behind persistence", `Events wait more than ${t.federationLagSeconds} s before the federation senders queue them.`),
    make("SynapseFederationBacklog", `sum(synapse_federation_transaction_queue_pending_pdus{${ns}}) > ${t.pendingPdusPerSender * tier.workers.federationSenders}`, "15m", "warning",
      "Federation sending backlog", `More than ${t.pendingPdusPerSender * tier.workers.federationSenders} PDUs wait to be sent (${tier.workers.federationSenders} federation sender(s) in ${tier.name}).`),
    make("SynapseSyncSlow",
      `histogram_quantile(0.99, sum by (le) (rate(synapse_http_server_response_time_seconds_bucket{${ns}, servlet="SyncRestServlet", tag="sync_v2:initial_sync"}[5m]))) > ${t.initialSyncP99Seconds}`, "15m", "warning",
      "Initial /sync is slow", `The 99th percentile of initial /sync exceeds ${t.initialSyncP99Seconds} s.`),
    make("SynapseRateLimiting", `sum by (job) (rate(synapse_http_server_responses_total{${ns}, code="429"}[5m])) > ${t.synapse429PerSecond}`, "10m", "warning",
      "Synapse is rate-limiting clients", `{{ $labels.job }} answers more than ${t.synapse429PerSecond} 429 per second.`),
    make("SynapseDatabasePoolSaturated",
      `histogram_quantile(0.95, sum by (job, le) (rate(synapse_storage_schedule_time_bucket{${ns}}[5m]))) > ${t.databaseWaitSeconds}`, "10m", "warning",
      "A Synapse process waits for database connections", `{{ $labels.job }} waits more than ${t.databaseWaitSeconds} s (p95) for a connection from its pool.`),
  ];
  const haproxy: AlertRule[] = [
    make("HAProxyBackendErrors",
      `sum by (proxy) (rate(haproxy_backend_http_responses_total{${ns}, code="5xx"}[5m])) / sum by (proxy) (rate(haproxy_backend_http_responses_total{${ns}}[5m])) > ${t.backend5xxRatio}`, "10m", "critical",
      "A backend answers 5xx", `More than ${t.backend5xxRatio * 100}% of {{ $labels.proxy }}'s responses are 5xx.`),
    make("HAProxyShedding", `max(haproxy_frontend_current_sessions{${ns}, proxy="matrix"}) > ${soft}`, "5m", "warning",
      "HAProxy is answering 429 to new requests", `A replica holds more than ${soft} connections, the soft limit of ${tier.name}; above it requests get 429.`),
    make("HAProxyQueueing", `max by (proxy) (haproxy_backend_queue_time_average_seconds{${ns}}) > ${t.queueSeconds}`, "5m", "warning",
      "Requests wait in a backend's queue", `{{ $labels.proxy }} queues requests for more than ${t.queueSeconds} s on average.`),
    make("HAProxyMemoryNearLimit", `max by (pod) (container_memory_working_set_bytes{${ns}, container="haproxy"}) > ${Math.round(haproxyLimitBytes * t.memoryShare)}`, "5m", "critical",
      "HAProxy is near its memory limit", `{{ $labels.pod }} uses more than ${t.memoryShare * 100}% of its ${tier.haproxy.resources.limits.memory} limit; the kernel kills it there.`),
  ];
  return [{ name: "matrix-synapse", rules: synapse }, { name: "matrix-haproxy", rules: haproxy }];
}
