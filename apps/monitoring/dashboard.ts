/**
 * The Grafana dashboard of a tier, from the typed topology: HAProxy first, then Synapse main and one row per
 * worker pool the tier runs. Shipped as a ConfigMap labelled `grafana_dashboard: "1"`, the label Grafana's
 * dashboard sidecar (kube-prometheus-stack's default) loads. The source document's key metrics are among the
 * panels, corrected where Synapse 1.157 differs (see README.md beside this file).
 */
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { connectionLimits } from "../haproxy/haproxy-config.ts";
import { synapseTopology } from "../synapse/topology.ts";
import { eventStreamLag } from "./alert-rules.ts";

export const dashboardFile = "matrix-homeserver.json";

export interface Panel {
  id: number;
  type: "timeseries" | "row";
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  collapsed?: boolean;
  /** A row's own panels when collapsed; Grafana's schema requires the list on every row. */
  panels?: [];
  datasource?: { type: "prometheus"; uid: "${datasource}" };
  targets?: { refId: string; expr: string; legendFormat: string }[];
  fieldConfig?: { defaults: { unit: string; thresholds?: { mode: "absolute"; steps: { color: string; value: number }[] } }; overrides: [] };
}

interface PanelSpec { title: string; expr: string; legend: string; unit: string; threshold?: number }

function poolPanels(ns: string, job: string): PanelSpec[] {
  const sel = `${ns}, job="${job}"`;
  return [
    { title: "Processes up", expr: `sum(up{${sel}})`, legend: "up", unit: "short" },
    { title: "CPU", expr: `sum by (pod) (rate(process_cpu_seconds_total{${sel}}[5m]))`, legend: "{{pod}}", unit: "short" },
    { title: "Resident memory", expr: `max by (pod) (process_resident_memory_bytes{${sel}})`, legend: "{{pod}}", unit: "bytes" },
    { title: "Requests by servlet", expr: `sum by (servlet) (rate(synapse_http_server_requests_received_total{${sel}}[5m]))`, legend: "{{servlet}}", unit: "reqps" },
    { title: "Database connection wait (p95)", expr: `histogram_quantile(0.95, sum by (le) (rate(synapse_storage_schedule_time_bucket{${sel}}[5m])))`, legend: "p95", unit: "s" },
  ];
}

export function dashboard(site: Site, tier: TierSizing): Record<string, unknown> {
  const ns = `namespace="${site.namespace}"`;
  const hx = `${ns}, job="haproxy-stats"`;
  const rows: { title: string; panels: PanelSpec[] }[] = [
    {
      title: "HAProxy",
      panels: [
        { title: "Request rate by backend", expr: `sum by (proxy) (rate(haproxy_backend_http_requests_total{${hx}}[5m]))`, legend: "{{proxy}}", unit: "reqps" },
        { title: "Backend response time (average)", expr: `max by (proxy) (haproxy_backend_response_time_average_seconds{${hx}})`, legend: "{{proxy}}", unit: "s" },
        { title: "Client and federation connections", expr: `max by (pod) (haproxy_frontend_current_sessions{${hx}, proxy="matrix"})`, legend: "{{pod}}", unit: "short", threshold: connectionLimits(tier).soft },
        { title: "5xx by backend", expr: `sum by (proxy) (rate(haproxy_backend_http_responses_total{${hx}, code="5xx"}[5m]))`, legend: "{{proxy}}", unit: "reqps" },
        { title: "Queue time (average)", expr: `max by (proxy) (haproxy_backend_queue_time_average_seconds{${hx}})`, legend: "{{proxy}}", unit: "s" },
      ],
    },
    {
      title: "Synapse main",
      panels: [
        ...poolPanels(ns, "synapse-main"),
        { title: "Event stream: persisted position and consumers", expr: eventStreamLag(ns), legend: "{{name}} behind", unit: "short" },
      ],
    },
    ...synapseTopology(tier).pools.map((p) => ({
      title: `Synapse ${p.role}`,
      panels: [
        ...poolPanels(ns, p.name),
        ...(p.role === "synchrotron" ? [{ title: "Initial /sync (p99)", expr: `histogram_quantile(0.99, sum by (le) (rate(synapse_http_server_response_time_seconds_bucket{${ns}, job="${p.name}", servlet="SyncRestServlet", tag="sync_v2:initial_sync"}[5m])))`, legend: "p99", unit: "s" }] : []),
        ...(p.role === "federation-sender" ? [{ title: "Pending PDUs", expr: `sum by (pod) (synapse_federation_transaction_queue_pending_pdus{${ns}, job="${p.name}"})`, legend: "{{pod}}", unit: "short" }] : []),
      ],
    })),
  ];
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, panels: [], gridPos: { x: 0, y: y++, w: 24, h: 1 } });
    row.panels.forEach((p, i) => {
      panels.push({
        id: id++, type: "timeseries", title: p.title, gridPos: { x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8, w: 8, h: 8 },
        datasource: { type: "prometheus", uid: "${datasource}" },
        targets: [{ refId: "A", expr: p.expr, legendFormat: p.legend }],
        fieldConfig: {
          defaults: {
            unit: p.unit,
            ...(p.threshold ? { // Grafana's schema types a step's value as a number (the UI writes null for the base step).
            thresholds: { mode: "absolute" as const, steps: [{ color: "green", value: 0 }, { color: "red", value: p.threshold }] } } : {}),
          },
          overrides: [],
        },
      });
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  return {
    title: `Matrix homeserver (${tier.name})`,
    uid: `matrix-${site.namespace}`.slice(0, 40),
    tags: ["matrix", "synapse", tier.name],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }] },
    panels,
  };
}
