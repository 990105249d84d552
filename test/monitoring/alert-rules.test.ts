/**
 * The rendered PrometheusRule of every tier: present exactly when the site has the Prometheus Operator, in the
 * last sync wave, with the complete list of alerts (one "no process up" per pool the tier runs), the tier's
 * thresholds, and each alert's runbook text equal to its section of apps/monitoring/runbooks.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { repoRoot, renderOverlay } from "../support/repo.ts";
import { renderedRuleGroups } from "../support/alert-rules.ts";
import { expected } from "../support/site-under-test.ts";
import { alertNames, tierAlerts } from "./tier-alerts.ts";

const rulesOf = (objects: KubeObject[]) => objects.filter((o) => o.kind === "PrometheusRule");

/** `## <Alert>` sections of runbooks.md, parsed here on their own. */
function runbooks(): Map<string, string> {
  const text = readFileSync(join(repoRoot, "apps/monitoring/runbooks.md"), "utf8");
  const map = new Map<string, string>();
  const parts = text.split("\n## ");
  for (const part of parts.slice(1)) {
    const nl = part.indexOf("\n");
    map.set(part.slice(0, nl).trim(), part.slice(nl + 1).trim());
  }
  return map;
}

const rulesIn = async (tier: string) => (await renderedRuleGroups(tier)).flatMap((g) => g.rules);

describe.each(tiers.map((t) => t.name))("alerts of %s", (tier) => {
  it(expected.serviceMonitors ? "are one PrometheusRule in the last sync wave" : "are absent without the Prometheus Operator", async () => {
    const rules = rulesOf(await renderOverlay(tier));
    expect(rules.map((o) => o.metadata.name)).toEqual(expected.serviceMonitors ? ["matrix-alerts"] : []);
    for (const o of rules) {
      expect(o.metadata.namespace).toBe(expected.namespace);
      expect(o.metadata.annotations?.["argocd.argoproj.io/sync-wave"]).toBe("20");
    }
  });

  it("are the complete list, with one pool alert per pool the tier runs", async () => {
    const rules = await rulesIn(tier);
    expect(rules.map((r) => r.alert)).toEqual(alertNames(tier));
    expect(rules.filter((r) => r.alert === "SynapsePoolUnavailable").map((r) => r.labels.pool).sort()).toEqual([...(tierAlerts[tier]?.pools ?? [])].sort());
    for (const r of rules) expect(["critical", "warning"], r.alert).toContain(r.labels.severity);
    // Every selector is scoped to the site's namespace.
    for (const r of rules) for (const selector of r.expr.match(/\{[^}]*\}/g) ?? []) expect(selector, r.alert).toContain(`namespace="${expected.namespace}"`);
  });

  it("use the tier's thresholds", async () => {
    const golden = tierAlerts[tier] as (typeof tierAlerts)[string];
    const rules = await rulesIn(tier);
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? "";
    expect(expr("HAProxyMemoryNearLimit")).toMatch(new RegExp(`> ${Math.round(golden.haproxyMemoryLimitBytes * 0.9)}$`));
    expect(expr("HAProxyShedding")).toMatch(new RegExp(`> ${golden.softConnections}$`));
    expect(expr("SynapseFederationBacklog")).toMatch(new RegExp(`> ${1000 * golden.federationSenders}$`));
  });

  it("carry their runbook from apps/monitoring/runbooks.md, and every runbook has its alert", async () => {
    const rules = await rulesIn(tier);
    const books = runbooks();
    for (const r of rules) {
      expect(r.annotations.runbook, r.alert).toBe(books.get(r.alert)?.replaceAll("<ns>", expected.namespace));
      expect(r.annotations.summary?.length, r.alert).toBeGreaterThan(10);
    }
    expect([...books.keys()].sort()).toEqual([...new Set(rules.map((r) => r.alert))].sort());
  });
});
