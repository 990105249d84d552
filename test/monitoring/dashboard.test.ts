/**
 * The Grafana dashboard of every tier: a ConfigMap for the sidecar, a row for HAProxy, main and each pool the
 * tier runs (written out in tier-alerts.ts), the source document's key metrics among the panels (corrected
 * where Synapse differs), a layout without overlaps, Grafana's own schema (@grafana/schema), and every
 * panel's PromQL accepted by the real promtool.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { Ajv } from "ajv";
import { ensurePromtool, promtool } from "../support/promtool.ts";
import { interfaceSchemas, unknownFieldsIn, type JsonSchema } from "../../tools/validate/strict-fields.ts";
import { renderedDashboard, treeWithRules } from "../support/alert-rules.ts";
import { repoRoot, renderOverlay, tempDir } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";
import { tierAlerts } from "./tier-alerts.ts";

let grafanaDashboard: JsonSchema;
beforeAll(async () => {
  ensurePromtool();
  // Grafana's classic dashboard model as its own package declares it (generated from Grafana's CUE schema).
  const file = join(repoRoot, "node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts");
  grafanaDashboard = (await interfaceSchemas([{ key: "dashboard", file, name: "Dashboard" }])).get("dashboard") as JsonSchema;
}, 1_800_000);

describe.each(tiers.map((t) => t.name))("the dashboard of %s", (tier) => {
  it(expected.serviceMonitors ? "is a ConfigMap the Grafana sidecar loads, with one dashboard" : "is absent without the Prometheus Operator", async () => {
    const cms = (await renderOverlay(tier)).filter((o) => o.kind === "ConfigMap" && o.metadata.name === "matrix-dashboard");
    expect(cms.length).toBe(expected.serviceMonitors ? 1 : 0);
    const cm = (await renderOverlay(tier, treeWithRules())).find((o) => o.kind === "ConfigMap" && o.metadata.name === "matrix-dashboard");
    expect(cm?.metadata.labels?.grafana_dashboard).toBe("1");
    expect(Object.keys((cm as unknown as { data: object }).data)).toEqual(["matrix-homeserver.json"]);
  });

  it("has a row for HAProxy, main and every pool the tier runs", async () => {
    const d = await renderedDashboard(tier);
    expect(d.title).toBe(`Matrix homeserver (${tier})`);
    const rows = d.panels.filter((p) => p.type === "row").map((p) => p.title);
    expect(rows.slice(0, 2)).toEqual(["HAProxy", "Synapse main"]);
    expect(rows.slice(2).sort()).toEqual((tierAlerts[tier]?.pools ?? []).map((p) => `Synapse ${p}`).sort());
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
  });

  it("shows the source document's key metrics, per pool where it had one job for all workers", async () => {
    const exprs = (await renderedDashboard(tier)).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.some((e) => /rate\(haproxy_backend_http_requests_total\{[^}]*\}\[5m\]\)/.test(e))).toBe(true);
    expect(exprs.some((e) => e.includes("haproxy_backend_response_time_average_seconds{"))).toBe(true);
    // `up{job="synapse-workers"}` matches nothing: each pool's Service is its own job.
    for (const pool of ["main", ...(tierAlerts[tier]?.pools ?? [])]) {
      expect(exprs, pool).toContain(`sum(up{namespace="${expected.namespace}", job="synapse-${pool}"})`);
    }
  });

  it("lays its panels out without overlaps, inside Grafana's 24 columns", async () => {
    const panels = (await renderedDashboard(tier)).panels;
    const cells = new Set<string>();
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("conforms to Grafana's own dashboard schema: no unknown field, every type and required field", async () => {
    const d = await renderedDashboard(tier);
    expect(unknownFieldsIn(d, grafanaDashboard)).toEqual([]);
    const validate = new Ajv({ strict: false, allErrors: true }).compile(grafanaDashboard as object);
    expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    // The same check refuses a misspelt panel field and a wrong type.
    const broken = structuredClone(d) as unknown as { panels: Record<string, unknown>[] };
    (broken.panels[1] as Record<string, unknown>).gridpos = {};
    expect(unknownFieldsIn(broken, grafanaDashboard)).toEqual(["panels[1].gridpos"]);
    expect(validate({ ...d, schemaVersion: "39" })).toBe(false);
  });

  it("runs only PromQL the real promtool accepts", async () => {
    const exprs = (await renderedDashboard(tier)).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const dir = tempDir("dashboard-promql");
    // Each panel query as a recording rule: promtool parses and checks every expression.
    writeFileSync(join(dir, "panels.yaml"), stringify({ groups: [{ name: "panels", rules: exprs.map((expr, i) => ({ record: `dashboard:panel_${i}`, expr })) }] }));
    const r = promtool(["check", "rules", join(dir, "panels.yaml")]);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status).toBe(0);
  });
});
