/**
 * Benchmark (not a test): wall times of `nx run overlays:build` cold (cache skipped) and cached, and of a
 * bare `kubectl kustomize` of every overlay, each the median of N runs on this machine.
 * Run: node tools/bench/build-times.ts [--runs 5]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tiers } from "../../apps/site/sizing.ts";
import { repoRoot } from "../emit/load-config.ts";
import { findKustomize } from "../render/kustomize.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Math.max(1, Math.min(20, Number(values.runs)));
const nx = join(repoRoot, "node_modules/.bin/nx");

function time(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: "ignore", timeout: 300_000, env: { ...process.env, NX_DAEMON: "false" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function measure(label: string, cmd: string, args: string[]): void {
  const samples = Array.from({ length: runs }, () => time(cmd, args));
  console.log(`${label.padEnd(44)} median ${median(samples).toFixed(0).padStart(6)} ms  (runs: ${samples.map((s) => s.toFixed(0)).join(", ")})`);
}

const k = await findKustomize();
const overlays = tiers.map((t) => join(repoRoot, "overlays", t.name));
console.log(`machine: ${process.arch}, node ${process.version}; ${runs} runs each`);
measure("overlays:build, cold (--skip-nx-cache)", nx, ["run", "overlays:build", "--skip-nx-cache"]);
time(nx, ["run", "overlays:build"]);
measure("overlays:build, cached (no change)", nx, ["run", "overlays:build"]);
const script = overlays.map((o) => `"${k.binary}" ${k.subcommand.join(" ")} "${o}" >/dev/null`).join(" && ");
measure(`bare kustomize ${k.version}, ${overlays.length} overlays`, "sh", ["-c", script]);
const systemKubectl = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
if (systemKubectl) {
  const v = execFileSync(systemKubectl, ["version", "--client"], { encoding: "utf8" }).match(/Kustomize Version: (\S+)/)?.[1];
  const sysScript = overlays.map((o) => `kubectl kustomize "${o}" >/dev/null`).join(" && ");
  measure(`system kubectl kustomize ${v}, ${overlays.length} overlays`, "sh", ["-c", sysScript]);
}
