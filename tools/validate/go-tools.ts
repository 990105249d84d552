/**
 * Validators of record, pinned and built from the Go module proxy (the only place these machines reach for
 * Go code): kubeconform, actionlint, promtool and a standalone kustomize at the version Argo CD bundles. Each is built
 * once into `.lab/bin/<name>-<version>` (git-ignored) and reused.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../emit/load-config.ts";

export const goTools = {
  kubeconform: { module: "github.com/yannh/kubeconform/cmd/kubeconform", version: "v0.7.0" },
  actionlint: { module: "github.com/rhysd/actionlint/cmd/actionlint", version: "v1.7.12" },
  // Argo CD 3.4 and 3.5 bundle kustomize 5.8.1.
  kustomize: { module: "sigs.k8s.io/kustomize/kustomize/v5", version: "v5.8.1" },
  // Prometheus v3.16 (its Go module numbers releases v0.<major><minor>.<patch>).
  promtool: { module: "github.com/prometheus/prometheus/cmd/promtool", version: "v0.316.0" },
} as const;
export type GoTool = keyof typeof goTools;

export const toolsRoot = join(repoRoot, ".lab");

/** The Go toolchain: on PATH, or where the machines here keep it. */
export function goBinary(purpose: string): string {
  if (spawnSync("go", ["version"]).status === 0) return "go";
  if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  throw new Error(`${purpose} is built with Go, which is not installed`);
}

/** Runs a command, throwing with its output's tail when it fails. */
export function runOrThrow(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 900_000): string {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${`${r.stdout}${r.stderr}`.slice(-3000)}`);
  }
  return r.stdout;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `go install module@version` into `.lab/bin/<binary>-<version>`, once. Test files in parallel workers may ask
 * for the same tool: the first takes a lock directory and builds, the others wait for it (bounded), and the
 * binary appears by rename, never half-copied.
 */
export function ensureGoBinary(module: string, version: string, binary = module.split("/").pop() as string): string {
  const bin = join(toolsRoot, "bin", `${binary}-${version}`);
  if (existsSync(bin)) return bin;
  mkdirSync(join(toolsRoot, "bin"), { recursive: true });
  const lock = `${bin}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    // Another process is building it: wait up to 30 minutes, then build anyway (a lock left by a killed run).
    for (let i = 0; i < 1800 && existsSync(lock) && !existsSync(bin); i++) sleepMs(1000);
    if (existsSync(bin)) return bin;
    mkdirSync(lock, { recursive: true });
  }
  try {
    const gobin = join(toolsRoot, `gobin-${process.pid}`);
    mkdirSync(gobin, { recursive: true });
    runOrThrow(goBinary(`${module}@${version}`), ["install", `${module}@${version}`], { GOBIN: gobin, GOFLAGS: "-mod=mod" });
    execFileSync("cp", [join(gobin, binary), `${bin}.tmp-${process.pid}`]);
    renameSync(`${bin}.tmp-${process.pid}`, bin);
    rmSync(gobin, { recursive: true, force: true });
    return bin;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function ensureGoTool(name: GoTool): string {
  const t = goTools[name];
  return ensureGoBinary(t.module, t.version, name);
}

/** `go mod download` of a module at a version; returns the directory of its files. */
export function goModuleDir(module: string, version: string): string {
  const out = runOrThrow(goBinary(`${module}@${version}`), ["mod", "download", "-json", `${module}@${version}`], { GOFLAGS: "-mod=mod" });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download ${module}@${version} gave no directory`);
  return dir;
}
