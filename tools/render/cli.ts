/**
 * `nx run overlays:build` (after `overlays:emit`): renders every overlay with a real kustomize into
 * `dist/overlays/<tier>.yaml`, validates every rendered object against its schema and prints a table.
 * Output is written only when every tier rendered and validated.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { IssueCollector } from "../../apps/site/errors.ts";
import { findTier } from "../../apps/site/sizing.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { loadSizing, repoRoot } from "../emit/load-config.ts";
import { validateAgainstSchema } from "../emit/model-registry.ts";
import { findKustomize, kustomizeBuild } from "./kustomize.ts";
import { formatTable, parseRendered, summarize } from "./rendered.ts";
import { missingSynapseInstances } from "./synapse-instances.ts";

await runCli("build", async () => {
  const args = parseCli({ tiers: { type: "string" }, out: { type: "string" }, root: { type: "string" } });
  const root = resolve(args.root ?? repoRoot);
  const sizing = await loadSizing();
  const selected = args.tiers ? args.tiers.split(",").map((n) => findTier(sizing, n.trim(), "--tiers")) : sizing;
  const out = resolve(args.out ?? join(root, "dist/overlays"));
  const kustomize = await findKustomize();

  const rendered = await Promise.all(selected.map(async (tier) => {
    const text = await kustomizeBuild(join(root, "overlays", tier.name));
    return { tier: tier.name, text, objects: parseRendered(text) };
  }));

  const issues = new IssueCollector();
  for (const r of rendered) {
    for (const o of r.objects) {
      try {
        validateAgainstSchema(o);
      } catch (e) {
        issues.add(`overlays/${r.tier}`, (e as Error).message);
      }
    }
    for (const problem of missingSynapseInstances(r.objects)) issues.add(`overlays/${r.tier}`, problem);
  }
  issues.throwIfAny();

  mkdirSync(out, { recursive: true });
  for (const r of rendered) {
    const temp = join(out, `.${r.tier}.yaml.tmp-${process.pid}`);
    writeFileSync(temp, r.text);
    renameSync(temp, join(out, `${r.tier}.yaml`));
  }
  console.log(`Rendered with kubectl/kustomize ${kustomize.version}; every object validated against its schema.`);
  console.log(formatTable(rendered.map((r) => summarize(r.tier, r.objects))));
  console.log(`Wrote ${rendered.length} tier(s) to ${out}`);
  return 0;
});
