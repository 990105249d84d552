/**
 * `nx run overlays:validate`: with `--emit`, first emits the site as `overlays:emit` would; renders every tier and checks it — schema, unknown
 * fields, policy rules, Synapse instances, and kubeconform -strict when it is on PATH. Prints a table of
 * findings per tier and a one-line summary; exits non-zero on any error.
 */
import { resolve } from "node:path";
import { selectTiers } from "../../apps/site/sizing.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { emit } from "../emit/emit.ts";
import { loadSizing, repoRoot } from "../emit/load-config.ts";
import { renderTiers } from "../render/render-tiers.ts";
import { formatReports, summaryLine, validateRenderedTiers } from "./validate-rendered.ts";

await runCli("validate", async () => {
  const args = parseCli({ tiers: { type: "string" }, root: { type: "string" }, emit: { type: "boolean", default: false } });
  const root = resolve(args.root ?? repoRoot);
  const sizing = await loadSizing();
  const selected = selectTiers(sizing, args.tiers);
  if (args.emit && await emit({ out: root }) !== 0) return 1;
  const rendered = await renderTiers(root, selected);
  const { reports, kubeconform } = await validateRenderedTiers(rendered);
  console.log(formatReports(reports));
  console.log(summaryLine(reports, kubeconform));
  return reports.some((r) => r.problems.length > 0) ? 1 : 0;
});
