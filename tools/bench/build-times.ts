/**
 * Benchmark (not a test): wall times of `nx run overlays:build` cold (Nx cache skipped) and cached, and of a
 * bare sequential kustomize of every overlay, with the ratio the build is held to (cold at most 1.5 times
 * bare). Runs are interleaved, so a slow moment of the machine hits both sides; each figure is a median.
 * "First build" also empties the caches derived from installed packages (field schemas, Node's compile
 * cache), as on the first build after `npm ci`.
 * Run: node tools/bench/build-times.ts [--runs 7]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tiers } from "../../apps/site/sizing.ts";
import { repoRoot } from "../emit/load-config.ts";
import { findKustomize } from "../render/kustomize.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Math.max(1, Math.min(30, Number(values.runs)));
const nx = join(repoRoot, "node_modules/.bin/nx");
const cacheRoot = join(repoRoot, "node_modules/.cache/matrix-gitops");

function time(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: "ignore", timeout: 300_000, env: { ...process.env, NX_DAEMON: "false", ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function emptyDerivedCaches(): void {
  for (const d of readdirSync(cacheRoot)) {
    if (d.startsWith("field-schemas-") || d === "node-compile-cache") rmSync(join(cacheRoot, d), { recursive: true, force: true });
  }
}

const k = await findKustomize();
const overlays = tiers.map((t) => join(repoRoot, "overlays", t.name));
const bare = overlays.map((o) => `"${k.binary}" ${k.subcommand.join(" ")} "${o}" >/dev/null`).join(" && ");
const systemKubectl = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
const system = overlays.map((o) => `kubectl kustomize "${o}" >/dev/null`).join(" && ");

const cases: { label: string; run: () => number }[] = [
  { label: "overlays:build, first build (derived caches empty)", run: () => { emptyDerivedCaches(); return time(nx, ["run", "overlays:build", "--skip-nx-cache"]); } },
  { label: "overlays:build, cold (--skip-nx-cache)", run: () => time(nx, ["run", "overlays:build", "--skip-nx-cache"]) },
  { label: "overlays:build, cached (no change)", run: () => time(nx, ["run", "overlays:build"]) },
  { label: `bare kustomize ${k.version}, ${overlays.length} overlays in sequence`, run: () => time("sh", ["-c", bare]) },
  // The build runs kustomize with Go's collector off up to 512 MiB (kustomize.ts): alone, that changes little.
  { label: "the same, with the build's GOGC/GOMEMLIMIT", run: () => time("sh", ["-c", bare], { GOGC: "off", GOMEMLIMIT: "512MiB" }) },
];
if (systemKubectl) {
  const v = execFileSync(systemKubectl, ["version", "--client"], { encoding: "utf8" }).match(/Kustomize Version: (\S+)/)?.[1];
  cases.push({ label: `system kubectl kustomize ${v}, ${overlays.length} overlays`, run: () => time("sh", ["-c", system]) });
}

time(nx, ["run", "overlays:build"]);
const samples = cases.map(() => [] as number[]);
for (let i = 0; i < runs; i++) cases.forEach((c, j) => samples[j]?.push(c.run()));
time(nx, ["run", "overlays:build", "--skip-nx-cache"]);

console.log(`machine: ${process.arch}, ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores, node ${process.version}; ${runs} interleaved runs each`);
cases.forEach((c, j) => {
  const s = samples[j] ?? [];
  console.log(`${c.label.padEnd(54)} median ${median(s).toFixed(0).padStart(6)} ms  (runs: ${s.map((x) => x.toFixed(0)).join(", ")})`);
});
const [first, cold, cached, bareMs] = samples.slice(0, 4).map(median) as [number, number, number, number];
console.log(`cold / bare kustomize: ${(cold / bareMs).toFixed(2)} (goal at most 1.5); first build / bare: ${(first / bareMs).toFixed(2)}; cached: ${(cached / 1000).toFixed(2)} s (goal at most 1.0 s)`);
