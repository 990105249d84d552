/**
 * Benchmark (not a test): requests/s and p99 latency through the generated HAProxy configuration versus a
 * single-backend configuration on the same loopback stubs, as a ratio. Bounded: each run lasts --seconds.
 * Run: node tools/bench/haproxy-routing.ts [--tier ccu-5k] [--seconds 5] [--connections 50]
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { d, type HaproxyConfig } from "../../apps/haproxy/config-model.ts";
import { mainGroup, type HaproxyRuntime } from "../../apps/haproxy/haproxy-config.ts";
import { resolveSite, type Site } from "../../apps/site/site.ts";
import { findTier, tiers, type TierSizing } from "../../apps/site/sizing.ts";
import type { SynapseTopology } from "../../apps/synapse/topology.ts";
import { repoRoot } from "../emit/load-config.ts";
import { startHaproxy, startHaproxyWith, type RunningHaproxy } from "../lab/haproxy/run.ts";

const { values } = parseArgs({ options: { tier: { type: "string", default: "ccu-5k" }, seconds: { type: "string", default: "5" }, connections: { type: "string", default: "50" } } });
const seconds = Math.max(1, Math.min(30, Number(values.seconds)));
const connections = Math.max(1, Math.min(200, Number(values.connections)));
const tier = findTier(tiers, values.tier ?? "ccu-5k", "--tier");
const site = resolveSite({ domain: "example.org" });

/** Baseline: one frontend, one backend, round robin over main's stub; no ACLs, no variables. */
function singleBackend(_site: Site, t: TierSizing, _topology: SynapseTopology, runtime: HaproxyRuntime): HaproxyConfig {
  return [
    { kind: "global", directives: [d("maxconn", Math.min(4000, t.ccu.to)), d("stats", "socket", runtime.adminSocket, "mode", "600")] },
    { kind: "defaults", directives: [d("mode", "http"), d("timeout", "connect", "5s"), d("timeout", "client", "180s"), d("timeout", "server", "180s")] },
    { kind: "frontend", name: "matrix", directives: [d("bind", `${runtime.bindHost}:${runtime.ports.client}`), d("bind", `${runtime.bindHost}:${runtime.ports.federation}`), d("default_backend", "all")] },
    { kind: "frontend", name: "stats", directives: [d("bind", `${runtime.bindHost}:${runtime.ports.stats}`), d("monitor-uri", "/healthz")] },
    { kind: "backend", name: "all", directives: [d("balance", "roundrobin"), ...runtime.servers({ ...mainGroup, maxconn: 1000 })] },
  ];
}

interface Result { rps: number; p99: number; errors: number; non2xx: number }

const run = promisify(execFile);

/** autocannon in its own process (async, so the stubs in this process keep answering). */
async function load(hx: RunningHaproxy, path: string): Promise<Result> {
  const r = await run(join(repoRoot, "node_modules/.bin/autocannon"), [
    "-j", "-c", String(connections), "-d", String(seconds),
    "-H", "authorization=Bearer syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c",
    `http://127.0.0.1:${hx.port}${path}`,
  ], { encoding: "utf8", timeout: (seconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 });
  const j = JSON.parse(r.stdout) as { requests: { average: number }; latency: { p99: number }; errors: number; non2xx: number };
  return { rps: j.requests.average, p99: j.latency.p99, errors: j.errors, non2xx: j.non2xx };
}

const paths = {
  "sync (hashed per user)": "/_matrix/client/v3/sync?since=s1&timeout=0",
  "main-only (every ACL evaluated)": "/_matrix/client/v3/pushers",
};

console.log(`tier ${tier.name}; ${connections} connections, ${seconds} s per run, loopback stubs; haproxy ${spawnSync("haproxy", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0]}`);
for (const [label, path] of Object.entries(paths)) {
  const generated = await startHaproxy(site, tier);
  let g: Result;
  try { g = await load(generated, path); } finally { await generated.stop(); }
  const baseline = await startHaproxyWith(site, tier, singleBackend);
  let b: Result;
  try { b = await load(baseline, path); } finally { await baseline.stop(); }
  console.log(`${label}`);
  console.log(`  generated config: ${g.rps.toFixed(0).padStart(7)} req/s  p99 ${g.p99} ms  (errors ${g.errors}, non-2xx ${g.non2xx})`);
  console.log(`  single backend:   ${b.rps.toFixed(0).padStart(7)} req/s  p99 ${b.p99} ms  (errors ${b.errors}, non-2xx ${b.non2xx})`);
  console.log(`  ratio generated/single: throughput ${(g.rps / b.rps).toFixed(2)}, p99 ${(g.p99 / Math.max(1, b.p99)).toFixed(2)}`);
}
