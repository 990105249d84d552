/**
 * `nx run overlays:validate` (also run by overlays:build): renders every tier and checks it — schema, unknown
 * fields, policy rules, Synapse instances, and kubeconform -strict when it is on PATH. Prints a table of
 * findings per tier and a one-line summary; exits non-zero on any error.
 */
import { resolve } from "node:path";
import { selectTiers } from "../../apps/site/sizing.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { loadSizing, repoRoot } from "../emit/load-config.ts";
import { renderTiers } from "../render/render-tiers.ts";
import { formatReports, summaryLine, validateRenderedTiers } from "./validate-rendered.ts";

await runCli("validate", async () => {
  const args = parseCli({ tiers: { type: "string" }, root: { type: "string" } });
  const sizing = await loadSizing();
  const selected = selectTiers(sizing, args.tiers);
  const rendered = await renderTiers(resolve(args.root ?? repoRoot), selected);
  const { reports, kubeconform } = await validateRenderedTiers(rendered);
  console.log(formatReports(reports));
  console.log(summaryLine(reports, kubeconform));
  return reports.some((r) => r.problems.length > 0) ? 1 : 0;
});
