/**
 * The alert rules as rendered for a tier: from the tree under test, or (when the site has the Prometheus
 * Operator off and renders none) from the same site emitted with it on, so their content is always checked.
 */
import type { KubeObject } from "../../tools/render/rendered.ts";
import { emitSiteVariant } from "./emit-site-tree.ts";
import { renderOverlay } from "./repo.ts";
import { expected, generatedRoot, siteInput } from "./site-under-test.ts";

export interface RenderedRule { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }
export interface RenderedGroup { name: string; rules: RenderedRule[] }

let variant: string | undefined;

/** The tree whose overlays render the rules. */
export function treeWithRules(): string {
  if (expected.serviceMonitors) return generatedRoot;
  variant ??= emitSiteVariant(siteInput, { monitoring: { serviceMonitors: true } });
  return variant;
}

export async function renderedRuleGroups(tier: string): Promise<RenderedGroup[]> {
  const rule = (await renderOverlay(tier, treeWithRules())).find((o) => o.kind === "PrometheusRule") as KubeObject | undefined;
  if (!rule) throw new Error(`${tier}: no PrometheusRule rendered`);
  return (rule.spec as { groups: RenderedGroup[] }).groups;
}

/** Metric names in a PromQL expression (identifiers followed by a label selector). */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1] as string))].sort();
}

/**
 * Metrics the rules and panels read that neither Synapse nor HAProxy exports: Prometheus's own and the
 * kubelet's cAdvisor. (`process_*` are prometheus_client's, exported by every Synapse process.)
 */
export const externalMetrics = new Set(["up", "container_memory_working_set_bytes"]);

export interface DashboardPanel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string }[] }

/** The Grafana dashboard the tier's ConfigMap carries (same tree as the rules). */
export async function renderedDashboard(tier: string): Promise<{ title: string; panels: DashboardPanel[] } & Record<string, unknown>> {
  const cm = (await renderOverlay(tier, treeWithRules())).find((o) => o.kind === "ConfigMap" && o.metadata.name === "matrix-dashboard") as (KubeObject & { data: Record<string, string> }) | undefined;
  if (!cm) throw new Error(`${tier}: no dashboard ConfigMap rendered`);
  return JSON.parse(cm.data["matrix-homeserver.json"] as string) as { title: string; panels: DashboardPanel[] };
}

/** Every PromQL expression the tier's alerts and dashboard panels run. */
export async function renderedExpressions(tier: string): Promise<string[]> {
  const rules = (await renderedRuleGroups(tier)).flatMap((g) => g.rules).map((r) => r.expr);
  const panels = (await renderedDashboard(tier)).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  return [...rules, ...panels];
}
