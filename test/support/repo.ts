/** Helpers shared by the tests: run the repo's CLIs, snapshot trees, render overlays once per run. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { repoRoot } from "../../tools/emit/load-config.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered, type KubeObject } from "../../tools/render/rendered.ts";
import { generatedRoot } from "./site-under-test.ts";

export { repoRoot };
export { generatedRoot } from "./site-under-test.ts";

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a repo CLI (`tools/.../cli.ts`) with the same Node that runs the tests. */
export function runTool(script: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, script), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `matrix-gitops-${prefix}-`));
}

/** Every file below `dir` with its content, for before/after comparisons. */
export function snapshotTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const full = join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(relative(dir, full), readFileSync(full, "utf8"));
    }
  };
  walk(dir);
  return files;
}

/** A scratch copy of the committed generated tree plus README, as `emit --out` expects. */
export function copyGeneratedTree(): string {
  const dir = tempDir("tree");
  for (const p of ["base", "overlays", "README.md"]) cpSync(join(generatedRoot, p), join(dir, p), { recursive: true });
  return dir;
}

/**
 * A git clone of the repository whose committed generated tree is the tree under test (for a fixture site,
 * its emit is committed on top), for tools that compare against a git ref.
 */
export function cloneWithTreeUnderTest(): string {
  const clone = join(tempDir("clone"), "repo");
  const git = (...args: string[]) => spawnSync("git", ["-C", clone, ...args], { encoding: "utf8" });
  spawnSync("git", ["clone", "-q", repoRoot, clone]);
  // The tree under test may differ from the last commit: a fixture site, or a site edited and rebuilt but not committed.
  const tierDirs = (root: string) => readdirSync(join(root, "overlays")).filter((d) => d.startsWith("ccu-")).map((d) => `overlays/${d}`);
  for (const p of ["base", "argocd/apps", "argocd/bootstrap", ...tierDirs(clone)]) rmSync(join(clone, p), { recursive: true, force: true });
  for (const p of ["base", "argocd/apps", "argocd/bootstrap", ...tierDirs(generatedRoot)]) cpSync(join(generatedRoot, p), join(clone, p), { recursive: true });
  git("add", "-A");
  if (git("status", "--porcelain").stdout.trim() !== "") {
    git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "tree under test");
  }
  return clone;
}

const renderCache = new Map<string, Promise<KubeObject[]>>();

/** The committed overlay rendered by the real kustomize, parsed; each overlay rendered once per worker. */
export function renderOverlay(tier: string, root = generatedRoot): Promise<KubeObject[]> {
  const dir = join(root, "overlays", tier);
  let p = renderCache.get(dir);
  if (!p) {
    p = kustomizeBuild(dir).then(parseRendered);
    renderCache.set(dir, p);
  }
  return p;
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the rendered objects`);
  return o;
}
