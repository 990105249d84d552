/**
 * `nx run overlays:diff --base <git ref>`: renders every overlay as committed at <ref> and as in the
 * working tree, and prints per tier which objects were added, removed or changed, with the changed fields.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../../apps/site/errors.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { repoRoot } from "../emit/load-config.ts";
import { kustomizeBuild } from "../render/kustomize.ts";
import { parseRendered, type KubeObject } from "../render/rendered.ts";
import { diffObjects, formatChanges } from "./object-diff.ts";

function tierDirs(root: string): string[] {
  const dir = join(root, "overlays");
  return existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "kustomization.yaml"))) : [];
}

/** The generated tree (base/ and overlays/) as committed at `ref`, extracted into a temporary folder. */
function checkoutGenerated(root: string, ref: string): string {
  try {
    execFileSync("git", ["-C", root, "rev-parse", "--verify", `${ref}^{commit}`], { stdio: "pipe" });
  } catch {
    throw new ConfigError([{ field: "--base", message: `${JSON.stringify(ref)} is not a commit in ${root}` }]);
  }
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-diff-"));
  const present = ["base", "overlays"].filter((p) => execFileSync("git", ["-C", root, "ls-tree", "--name-only", ref, p], { encoding: "utf8" }).trim() !== "");
  if (present.length > 0) {
    const archive = execFileSync("git", ["-C", root, "archive", "--format=tar", ref, ...present], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
  }
  return dir;
}

async function render(root: string, tier: string): Promise<KubeObject[]> {
  return existsSync(join(root, "overlays", tier, "kustomization.yaml")) ? parseRendered(await kustomizeBuild(join(root, "overlays", tier))) : [];
}

await runCli("diff", async () => {
  const args = parseCli({ base: { type: "string" }, root: { type: "string" } });
  if (!args.base) throw new ConfigError([{ field: "--base", message: "is required: the git ref to compare with (for example origin/main)" }]);
  const root = resolve(args.root ?? repoRoot);
  const before = checkoutGenerated(root, args.base);
  const tiers = [...new Set([...tierDirs(before), ...tierDirs(root)])].sort();
  console.log(`## Rendered manifests: ${args.base} → working tree`);
  for (const tier of tiers) {
    const [b, a] = await Promise.all([render(before, tier), render(root, tier)]);
    console.log(formatChanges(tier, diffObjects(b, a)));
  }
  return 0;
});
