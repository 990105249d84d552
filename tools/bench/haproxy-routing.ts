/**
 * Benchmark (not a test): CPU per request and requests per second of haproxy with the generated configuration
 * against a single-backend configuration on the same kind of loopback stubs, as ratios of interleaved pairs
 * measured in one run (the median pair is reported). CPU is haproxy's own: the sum of its threads'
 * /proc/<pid>/task/<tid>/schedstat run time. Bounded: each run lasts --seconds.
 * Run: node tools/bench/haproxy-routing.ts [--tier ccu-5k] [--seconds 3] [--pairs 5] [--connections 50]
 */
import { execFile, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { d, type HaproxyConfig } from "../../apps/haproxy/config-model.ts";
import { haproxyConfig, mainGroup, type HaproxyRuntime } from "../../apps/haproxy/haproxy-config.ts";
import { resolveSite, type Site } from "../../apps/site/site.ts";
import { findTier, tiers, type TierSizing } from "../../apps/site/sizing.ts";
import type { SynapseTopology } from "../../apps/synapse/topology.ts";
import { repoRoot } from "../emit/load-config.ts";
import { startHaproxy, type RunningHaproxy } from "../lab/haproxy/run.ts";

const { values } = parseArgs({
  options: {
    tier: { type: "string", default: "ccu-5k" }, seconds: { type: "string", default: "3" },
    pairs: { type: "string", default: "5" }, connections: { type: "string", default: "50" },
  },
});
const seconds = Math.max(1, Math.min(30, Number(values.seconds)));
const pairs = Math.max(1, Math.min(20, Number(values.pairs)));
const connections = Math.max(1, Math.min(200, Number(values.connections)));
const tier = findTier(tiers, values.tier ?? "ccu-5k", "--tier");
const site = resolveSite({ domain: "example.org" });

/**
 * Baseline: the same global and defaults sections (logging, timeouts, health checks) and one frontend that
 * logs the same way, with one backend over main's stub: no routes, no variables. The ratio is the cost of
 * the routing.
 */
function singleBackend(site: Site, t: TierSizing, topology: SynapseTopology, runtime: HaproxyRuntime): HaproxyConfig {
  const shared = haproxyConfig(site, t, topology, runtime).filter((s) => s.kind === "global" || s.kind === "defaults");
  return [
    ...shared,
    { kind: "frontend", name: "matrix", directives: [d("bind", `${runtime.bindHost}:${runtime.ports.client}`), d("bind", `${runtime.bindHost}:${runtime.ports.federation}`), d("option", "httplog"), d("default_backend", "all")] },
    { kind: "frontend", name: "stats", directives: [d("bind", `${runtime.bindHost}:${runtime.ports.stats}`), d("monitor-uri", "/healthz")] },
    { kind: "backend", name: "all", directives: [d("balance", "roundrobin"), ...runtime.servers({ ...mainGroup, maxconn: 1000 })] },
  ];
}

/** Nanoseconds haproxy's threads have run. */
function cpuNs(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]), 0);
}

interface Result { rps: number; cpuUsPerRequest: number; non2xx: number; errors: number }

const run = promisify(execFile);

/** autocannon in its own process (async, so the stubs in this process keep answering). */
async function load(hx: RunningHaproxy, path: string): Promise<Result> {
  const before = cpuNs(hx.pid);
  const r = await run(join(repoRoot, "node_modules/.bin/autocannon"), [
    "-j", "-c", String(connections), "-d", String(seconds),
    "-H", "authorization=Bearer syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c",
    `http://127.0.0.1:${hx.port}${path}`,
  ], { encoding: "utf8", timeout: (seconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 });
  const cpu = cpuNs(hx.pid) - before;
  const j = JSON.parse(r.stdout) as { requests: { total: number; average: number }; errors: number; non2xx: number };
  return { rps: j.requests.average, cpuUsPerRequest: cpu / 1000 / Math.max(1, j.requests.total), non2xx: j.non2xx, errors: j.errors };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const paths = {
  "sync (hashed per user)": "/_matrix/client/v3/sync?since=s1&timeout=0",
  "main-only (every route evaluated)": "/_matrix/client/v3/pushers",
};

console.log(`tier ${tier.name}; ${connections} connections, ${pairs} interleaved pairs of ${seconds} s runs, loopback stubs; ${spawnSync("haproxy", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0]}`);
const generated = await startHaproxy(site, tier);
const baseline = await startHaproxy(site, tier, { build: singleBackend });
try {
  for (const [label, path] of Object.entries(paths)) {
    const cpuRatios: number[] = [];
    const rpsRatios: number[] = [];
    let bad = 0;
    for (let i = 0; i < pairs; i++) {
      // Alternate which runs first, so drift on the machine falls on both sides.
      const [g, b] = i % 2 === 0
        ? [await load(generated, path), await load(baseline, path)]
        : (await Promise.resolve([await load(baseline, path), await load(generated, path)])).reverse() as [Result, Result];
      bad += g.non2xx + g.errors + b.non2xx + b.errors;
      cpuRatios.push(g.cpuUsPerRequest / b.cpuUsPerRequest);
      rpsRatios.push(g.rps / b.rps);
      console.log(`  ${label} pair ${i + 1}: generated ${g.rps.toFixed(0)} req/s ${g.cpuUsPerRequest.toFixed(1)} µs CPU/req; single ${b.rps.toFixed(0)} req/s ${b.cpuUsPerRequest.toFixed(1)} µs CPU/req`);
    }
    console.log(`${label}: CPU per request ×${median(cpuRatios).toFixed(2)} (goal ≤ 1.25), requests/s ×${median(rpsRatios).toFixed(2)} (goal ≥ 0.90)${bad ? `; ${bad} failed responses` : ""}`);
  }
} finally {
  await generated.stop();
  await baseline.stop();
}
