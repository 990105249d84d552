/**
 * `nx run overlays:build`: with `--emit`, first emits base/ and overlays/ from the site (in this process, as
 * `overlays:emit` would); then renders every overlay with a real kustomize, validates
 * every rendered object (schema, unknown fields, policy rules, Synapse instances; kubeconform when on PATH),
 * writes `dist/overlays/<tier>.yaml` and prints a table. Output is written only when every tier passed.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { selectTiers } from "../../apps/site/sizing.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { emit } from "../emit/emit.ts";
import { loadSizing, repoRoot } from "../emit/load-config.ts";
import { formatReports, summaryLine, validateRenderedTiers } from "../validate/validate-rendered.ts";
import { findKustomize } from "./kustomize.ts";
import { renderTiers } from "./render-tiers.ts";
import { formatTable, summarize } from "./rendered.ts";

await runCli("build", async () => {
  const args = parseCli({ tiers: { type: "string" }, out: { type: "string" }, root: { type: "string" }, emit: { type: "boolean", default: false } });
  const root = resolve(args.root ?? repoRoot);
  // Asking a KUSTOMIZE binary its version takes a process start (the pinned kubectl's answer is kept): overlap it with the emit.
  const kustomizeFound = findKustomize();
  kustomizeFound.catch(() => undefined);
  const sizing = await loadSizing();
  const selected = selectTiers(sizing, args.tiers);
  if (args.emit && await emit({ out: root }) !== 0) return 1;
  const out = resolve(args.out ?? join(root, "dist/overlays"));
  const kustomize = await kustomizeFound;
  const rendered = await renderTiers(root, selected);

  const { reports, kubeconform } = await validateRenderedTiers(rendered);
  if (reports.some((r) => r.problems.length > 0)) {
    console.error(formatReports(reports));
    console.error(summaryLine(reports, kubeconform));
    return 1;
  }

  mkdirSync(out, { recursive: true });
  for (const r of rendered) {
    const temp = join(out, `.${r.tier}.yaml.tmp-${process.pid}`);
    writeFileSync(temp, r.text);
    renameSync(temp, join(out, `${r.tier}.yaml`));
  }
  console.log(`Rendered with kubectl/kustomize ${kustomize.version}.`);
  console.log(formatTable(rendered.map((r) => summarize(r.tier, r.objects))));
  console.log(summaryLine(reports, kubeconform));
  console.log(`Wrote ${rendered.length} tier(s) to ${out}`);
  return 0;
});
