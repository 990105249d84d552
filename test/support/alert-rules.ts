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

/** Metrics the rules read that neither Synapse nor HAProxy exports: Prometheus's own and the kubelet's cAdvisor. */
export const externalMetrics = new Set(["up", "container_memory_working_set_bytes"]);
