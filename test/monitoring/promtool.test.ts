/**
 * The rendered alerts run by the real promtool (pinned, built from the Go module proxy): `check rules` on the
 * PrometheusRule of every tier as rendered, and `test rules` with series that make each alert fire and
 * series just short of it, written out here with the tier's golden thresholds (tier-alerts.ts). The unit
 * tests run on the rules without annotations: promtool compares annotations too, and the runbook text is
 * checked on its own (alert-rules.test.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { ensurePromtool, promtool } from "../support/promtool.ts";
import { tempDir } from "../support/repo.ts";
import { renderedRuleGroups } from "../support/alert-rules.ts";
import { expected } from "../support/site-under-test.ts";
import { tierAlerts } from "./tier-alerts.ts";

beforeAll(() => { ensurePromtool(); }, 1_800_000);

interface Case { name: string; series: [string, string][]; eval: string; alert: string; fires: Record<string, string>[] }

const ns = `namespace="${expected.namespace}"`;

/** Every Synapse target up: the state each case starts from, so only what the case changes can fire. */
function healthy(pools: string[], except: string[] = []): [string, string][] {
  return ["main", ...pools].filter((p) => !except.includes(p)).map((p) => [`up{${ns}, job="synapse-${p}", pod="synapse-${p}-0"}`, "1x30"]);
}

function cases(tier: string): Case[] {
  const g = tierAlerts[tier] as (typeof tierAlerts)[string];
  const up = healthy(g.pools);
  const pending = 1000 * g.federationSenders;
  const bucket = (metric: string, labels: string, counts: Record<string, number>) =>
    Object.entries(counts).map(([le, perMinute]) => [`${metric}_bucket{${ns}, ${labels}, le="${le}"}`, `0+${perMinute}x30`] as [string, string]);
  return [
    { name: "main down", series: [...healthy(g.pools, ["main"]), [`up{${ns}, job="synapse-main", pod="synapse-main-0"}`, "0x30"]], eval: "5m", alert: "SynapseMainDown", fires: [{ severity: "critical" }] },
    { name: "main never scraped", series: healthy(g.pools, ["main"]), eval: "5m", alert: "SynapseMainDown", fires: [{ severity: "critical" }] },
    { name: "main up", series: up, eval: "5m", alert: "SynapseMainDown", fires: [] },
    { name: "generic pool down", series: [...healthy(g.pools, ["generic"]), [`up{${ns}, job="synapse-generic", pod="synapse-generic-0"}`, "0x30"]], eval: "10m", alert: "SynapsePoolUnavailable", fires: [{ severity: "critical", pool: "generic" }] },
    { name: "every pool up", series: up, eval: "10m", alert: "SynapsePoolUnavailable", fires: [] },
    { name: "federation sending trails the stream", eval: "15m", alert: "SynapseEventStreamBehind", fires: [{ severity: "warning", name: "federation_sender" }], series: [...up,
      [`synapse_event_persisted_position{${ns}, pod="synapse-event-persister-0"}`, "10000x30"],
      [`synapse_event_processing_positions{${ns}, name="federation_sender", pod="synapse-federation-sender-0"}`, "9400x30"],
      [`synapse_event_processing_positions{${ns}, name="stats", pod="synapse-main-0"}`, "9999x30"]] },
    { name: "consumers close behind; an idle delayed-events position far behind", eval: "15m", alert: "SynapseEventStreamBehind", fires: [], series: [...up,
      [`synapse_event_persisted_position{${ns}, pod="synapse-event-persister-0"}`, "10000x30"],
      [`synapse_event_processing_positions{${ns}, name="federation_sender", pod="synapse-federation-sender-0"}`, "9600x30"],
      [`synapse_event_processing_positions{${ns}, name="delayed_events", pod="synapse-main-0"}`, "10x30"]] },
    { name: "a worker falls behind the events stream", eval: "10m", alert: "SynapseReplicationBacklog", fires: [{ severity: "warning", pod: "synapse-generic-0", stream_name: "events" }],
      series: [...up, [`synapse_replication_tcp_command_queue{${ns}, pod="synapse-generic-0", stream_name="events"}`, "2000x30"],
        [`synapse_replication_tcp_command_queue{${ns}, pod="synapse-generic-0", stream_name="typing"}`, "3x30"]] },
    { name: "replication queues short", eval: "10m", alert: "SynapseReplicationBacklog", fires: [],
      series: [...up, [`synapse_replication_tcp_command_queue{${ns}, pod="synapse-generic-0", stream_name="events"}`, "900x30"]] },
    { name: "federation lags two minutes", eval: "15m", alert: "SynapseFederationLagging", fires: [{ severity: "warning" }],
      series: [...up, [`synapse_event_processing_lag{${ns}, name="federation_sender", pod="synapse-federation-sender-0"}`, "120000x30"]] },
    { name: "federation lags thirty seconds", eval: "15m", alert: "SynapseFederationLagging", fires: [],
      series: [...up, [`synapse_event_processing_lag{${ns}, name="federation_sender", pod="synapse-federation-sender-0"}`, "30000x30"]] },
    { name: "federation backlog above the tier's share", eval: "20m", alert: "SynapseFederationBacklog", fires: [{ severity: "warning" }],
      series: [...up, [`synapse_federation_transaction_queue_pending_pdus{${ns}, pod="synapse-federation-sender-0"}`, `${pending + 1}x30`]] },
    { name: "federation backlog at the tier's share", eval: "20m", alert: "SynapseFederationBacklog", fires: [],
      series: [...up, [`synapse_federation_transaction_queue_pending_pdus{${ns}, pod="synapse-federation-sender-0"}`, `${pending}x30`]] },
    { name: "initial syncs take 7.5 to 10 s", eval: "25m", alert: "SynapseSyncSlow", fires: [{ severity: "warning" }], series: [...up,
      ...bucket("synapse_http_server_response_time_seconds", `servlet="SyncRestServlet", tag="sync_v2:initial_sync", pod="synapse-synchrotron-0"`, { "2.5": 0, "5": 0, "7.5": 0, "10": 100, "+Inf": 100 })] },
    { name: "initial syncs fast, incremental syncs long-polling", eval: "25m", alert: "SynapseSyncSlow", fires: [], series: [...up,
      ...bucket("synapse_http_server_response_time_seconds", `servlet="SyncRestServlet", tag="sync_v2:initial_sync", pod="synapse-synchrotron-0"`, { "2.5": 100, "5": 100, "7.5": 100, "10": 100, "+Inf": 100 }),
      ...bucket("synapse_http_server_response_time_seconds", `servlet="SyncRestServlet", tag="sync_v2:incremental_sync", pod="synapse-synchrotron-0"`, { "2.5": 0, "5": 0, "7.5": 0, "10": 0, "+Inf": 100 })] },
    { name: "two 429 a second", eval: "15m", alert: "SynapseRateLimiting", fires: [{ severity: "warning", job: "synapse-generic" }],
      series: [...up, [`synapse_http_server_responses_total{${ns}, job="synapse-generic", code="429", method="PUT"}`, "0+120x30"]] },
    { name: "one 429 every two seconds", eval: "15m", alert: "SynapseRateLimiting", fires: [],
      series: [...up, [`synapse_http_server_responses_total{${ns}, job="synapse-generic", code="429", method="PUT"}`, "0+30x30"]] },
    { name: "database waits up to a second", eval: "15m", alert: "SynapseDatabasePoolSaturated", fires: [{ severity: "warning", job: "synapse-generic" }],
      series: [...up, ...bucket("synapse_storage_schedule_time", `job="synapse-generic", pod="synapse-generic-0"`, { "0.1": 0, "0.5": 0, "1": 100, "+Inf": 100 })] },
    { name: "database waits under 0.1 s", eval: "15m", alert: "SynapseDatabasePoolSaturated", fires: [],
      series: [...up, ...bucket("synapse_storage_schedule_time", `job="synapse-generic", pod="synapse-generic-0"`, { "0.1": 100, "0.5": 100, "1": 100, "+Inf": 100 })] },
    { name: "10% 5xx", eval: "15m", alert: "HAProxyBackendErrors", fires: [{ severity: "critical", proxy: "be_main_roundrobin" }], series: [...up,
      [`haproxy_backend_http_responses_total{${ns}, proxy="be_main_roundrobin", code="5xx", pod="haproxy-a"}`, "0+10x30"],
      [`haproxy_backend_http_responses_total{${ns}, proxy="be_main_roundrobin", code="2xx", pod="haproxy-a"}`, "0+90x30"]] },
    { name: "2% 5xx", eval: "15m", alert: "HAProxyBackendErrors", fires: [], series: [...up,
      [`haproxy_backend_http_responses_total{${ns}, proxy="be_main_roundrobin", code="5xx", pod="haproxy-a"}`, "0+2x30"],
      [`haproxy_backend_http_responses_total{${ns}, proxy="be_main_roundrobin", code="2xx", pod="haproxy-a"}`, "0+98x30"]] },
    { name: "a replica above the soft limit", eval: "10m", alert: "HAProxyShedding", fires: [{ severity: "warning" }],
      series: [...up, [`haproxy_frontend_current_sessions{${ns}, proxy="matrix", pod="haproxy-a"}`, `${g.softConnections + 1}x30`]] },
    { name: "a replica at the soft limit", eval: "10m", alert: "HAProxyShedding", fires: [],
      series: [...up, [`haproxy_frontend_current_sessions{${ns}, proxy="matrix", pod="haproxy-a"}`, `${g.softConnections}x30`]] },
    { name: "a second in the queue", eval: "10m", alert: "HAProxyQueueing", fires: [{ severity: "warning", proxy: "be_generic_roundrobin" }],
      series: [...up, [`haproxy_backend_queue_time_average_seconds{${ns}, proxy="be_generic_roundrobin", pod="haproxy-a"}`, "1x30"]] },
    { name: "a fifth of a second in the queue", eval: "10m", alert: "HAProxyQueueing", fires: [],
      series: [...up, [`haproxy_backend_queue_time_average_seconds{${ns}, proxy="be_generic_roundrobin", pod="haproxy-a"}`, "0.2x30"]] },
    { name: "95% of the memory limit", eval: "10m", alert: "HAProxyMemoryNearLimit", fires: [{ severity: "critical", pod: "haproxy-a" }],
      series: [...up, [`container_memory_working_set_bytes{${ns}, container="haproxy", pod="haproxy-a"}`, `${Math.round(g.haproxyMemoryLimitBytes * 0.95)}x30`]] },
    { name: "85% of the memory limit", eval: "10m", alert: "HAProxyMemoryNearLimit", fires: [],
      series: [...up, [`container_memory_working_set_bytes{${ns}, container="haproxy", pod="haproxy-a"}`, `${Math.round(g.haproxyMemoryLimitBytes * 0.85)}x30`]] },
  ];
}

const groupsOf = renderedRuleGroups;

describe.each(tiers.map((t) => t.name))("promtool on the alerts of %s", (tier) => {
  it("passes check rules as rendered", async () => {
    const dir = tempDir("promtool");
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: await groupsOf(tier) }));
    const r = promtool(["check", "rules", join(dir, "rules.yaml")]);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it("fires each alert on its series and stays quiet just short of it", async () => {
    const dir = tempDir("promtool");
    const groups = (await groupsOf(tier)).map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...rest }) => rest) }));
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
    const all = cases(tier);
    // Every alert has a firing case and a quiet one.
    const alerts = new Set(groups.flatMap((g) => g.rules.map((r) => r.alert)));
    for (const a of alerts) {
      expect(all.some((c) => c.alert === a && c.fires.length > 0), `${a} fires somewhere`).toBe(true);
      expect(all.some((c) => c.alert === a && c.fires.length === 0), `${a} stays quiet somewhere`).toBe(true);
    }
    writeFileSync(join(dir, "tests.yaml"), stringify({
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: all.map((c) => ({
        name: c.name,
        interval: "1m",
        input_series: c.series.map(([series, values]) => ({ series, values })),
        alert_rule_test: [{ eval_time: c.eval, alertname: c.alert, exp_alerts: c.fires.map((labels) => ({ exp_labels: labels })) }],
      })),
    }));
    const r = promtool(["test", "rules", join(dir, "tests.yaml")]);
    expect(r.output).not.toMatch(/FAILED/);
    expect(r.status, r.output).toBe(0);
  });
});
