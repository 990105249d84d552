/** Helpers shared by the tests: run the repo's CLIs, snapshot trees, render overlays once per run. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { repoRoot } from "../../tools/emit/load-config.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered, type KubeObject } from "../../tools/render/rendered.ts";

export { repoRoot };

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
  for (const p of ["base", "overlays", "README.md"]) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  return dir;
}

const renderCache = new Map<string, Promise<KubeObject[]>>();

/** The committed overlay rendered by the real kustomize, parsed; each overlay rendered once per worker. */
export function renderOverlay(tier: string, root = repoRoot): Promise<KubeObject[]> {
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
