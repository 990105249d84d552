/**
 * `nx run overlays:diff --base <git ref>`: renders every overlay and the Argo CD objects as committed at
 * <ref> and as in the working tree, and prints which targets deploy what, then per tier which objects were
 * added, removed or changed, with the changed fields (config files as line diffs).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../../apps/site/errors.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { repoRoot } from "../emit/load-config.ts";
import { kustomizeBuild } from "../render/kustomize.ts";
import { parseRendered, type KubeObject } from "../render/rendered.ts";
import { deploymentsOf, formatDeploymentChanges } from "./deployments.ts";
import { diffObjects, formatChanges } from "./object-diff.ts";

function tierDirs(root: string): string[] {
  const dir = join(root, "overlays");
  return existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "kustomization.yaml"))) : [];
}

/** The generated tree (base/, overlays/ and argocd/) as committed at `ref`, extracted into a temporary folder. */
function checkoutGenerated(root: string, ref: string): string {
  try {
    execFileSync("git", ["-C", root, "rev-parse", "--verify", `${ref}^{commit}`], { stdio: "pipe" });
  } catch {
    throw new ConfigError([{ field: "--base", message: `${JSON.stringify(ref)} is not a commit in ${root}` }]);
  }
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-diff-"));
  const present = ["base", "overlays", "argocd"].filter((p) => execFileSync("git", ["-C", root, "ls-tree", "--name-only", ref, p], { encoding: "utf8" }).trim() !== "");
  if (present.length > 0) {
    const archive = execFileSync("git", ["-C", root, "archive", "--format=tar", ref, ...present], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
  }
  return dir;
}

async function render(root: string, tier: string): Promise<KubeObject[]> {
  return existsSync(join(root, "overlays", tier, "kustomization.yaml")) ? parseRendered(await kustomizeBuild(join(root, "overlays", tier))) : [];
}

/** The Argo CD objects: argocd/apps rendered by kustomize, plus the bootstrap Application. */
async function renderArgo(root: string): Promise<KubeObject[]> {
  const apps = join(root, "argocd", "apps");
  const objects = existsSync(join(apps, "kustomization.yaml")) ? parseRendered(await kustomizeBuild(apps)) : [];
  const bootstrap = join(root, "argocd", "bootstrap");
  if (existsSync(bootstrap)) {
    for (const f of readdirSync(bootstrap).filter((x) => x.endsWith(".yaml")).sort()) objects.push(...parseRendered(readFileSync(join(bootstrap, f), "utf8")));
  }
  return objects;
}

await runCli("diff", async () => {
  const args = parseCli({ base: { type: "string" }, root: { type: "string" } });
  if (!args.base) throw new ConfigError([{ field: "--base", message: "is required: the git ref to compare with (for example origin/main)" }]);
  const root = resolve(args.root ?? repoRoot);
  const before = checkoutGenerated(root, args.base);
  try {
    console.log(`## Rendered manifests: ${args.base} → working tree`);
    const [argoBefore, argoAfter] = await Promise.all([renderArgo(before), renderArgo(root)]);
    console.log(formatDeploymentChanges(deploymentsOf(argoBefore), deploymentsOf(argoAfter)));
    console.log(formatChanges("argocd", diffObjects(argoBefore, argoAfter)));
    const tiers = [...new Set([...tierDirs(before), ...tierDirs(root)])].sort();
    for (const tier of tiers) {
      const [b, a] = await Promise.all([render(before, tier), render(root, tier)]);
      console.log(formatChanges(tier, diffObjects(b, a)));
    }
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
  return 0;
});
