/**
 * Benchmark (not a test) on the end-to-end lab: per role, start-up time (each pod restarted alone, so the
 * figure is the process's own) and resident memory after a warm-up, beside the requests in
 * `workerPodResources`; /sync and send latency p50/p99 through HAProxy and directly to the worker; and
 * messages per second for N users sending and syncing at once. Every loop is bounded by count.
 * Run: node tools/bench/lab.ts [--users 8] [--messages 25] [--samples 200] [--tiers ccu-1k,ccu-20k]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { findTier, tiers } from "../../apps/site/sizing.ts";
import { cacheConfig } from "../../apps/synapse/homeserver-config.ts";
import { synapseTopology } from "../../apps/synapse/topology.ts";
import { startLab, type Lab } from "../lab/cluster/lab.ts";

const { values } = parseArgs({ options: {
  users: { type: "string", default: "8" }, messages: { type: "string", default: "25" }, samples: { type: "string", default: "200" },
  tiers: { type: "string", default: "ccu-1k,ccu-20k" },
} });
const users = Math.max(1, Math.min(50, Number(values.users)));
const messages = Math.max(1, Math.min(200, Number(values.messages)));
const samples = Math.max(10, Math.min(2000, Number(values.samples)));
/** ccu-20k reduced to fit two cores, as in test/e2e/ccu-20k.e2e.ts. */
const reduced: Record<string, number> = {
  "synapse-federation-sender": 1, "synapse-synchrotron": 1, "synapse-generic": 1, "synapse-media": 1,
  "synapse-federation-reader": 1, "synapse-initial-sync": 1,
};

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${quantile(s, 0.5).toFixed(1)} ms, p99 ${quantile(s, 0.99).toFixed(1)} ms`;
};

interface Session { user: string; token: string }

async function api(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000),
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

function roleOf(pod: string): string {
  return pod.replace(/^synapse-/, "").replace(/-(lab)?\d+$/, "");
}

async function perRole(lab: Lab): Promise<void> {
  const byRole = new Map<string, string>();
  for (const pod of [...lab.pods.keys()].sort()) if (!byRole.has(roleOf(pod))) byRole.set(roleOf(pod), pod);
  console.log(`\n${lab.tier}: start-up (pod restarted alone) and resident memory after warm-up`);
  console.log(`${"role".padEnd(22)} ${"start-up".padStart(9)} ${"RSS".padStart(8)}  memory request / limit (sizing.ts), cache autotuning target / bound`);
  for (const [role, pod] of byRole) {
    const rss = rssMiB(lab.pods.get(pod)?.process.pid as number);
    await lab.stopPod(pod);
    await lab.startPod(pod);
    const r = role === "main" ? findTier(tiers, lab.tier).main : synapseTopology(findTier(tiers, lab.tier)).pools.find((p) => p.role === role)?.resources;
    const caches = r ? cacheConfig(1, r).cache_autotuning : undefined;
    console.log(`${role.padEnd(22)} ${`${lab.startupMs.get(pod)} ms`.padStart(9)} ${`${rss} MiB`.padStart(8)}  ${r ? `${r.requests.memory} / limit ${r.limits.memory}` : "?"}${caches ? `, ${caches.target_cache_memory_usage} / ${caches.max_cache_memory_usage}` : ""}`);
  }
}

async function traffic(lab: Lab): Promise<void> {
  const base = lab.clientUrl;
  // Logins and sends are rate-limited per address and per user; a load test gets its tokens and lifts the
  // send limit through the admin API on main (closed on the public entry point).
  lab.registerUser("benchadmin", "benchadmin-password", true);
  const admin = (await api(lab.mainUrl, undefined, "POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user: "benchadmin" }, password: "benchadmin-password" })).access_token as string;
  const sessions: Session[] = [];
  for (let i = 0; i < users; i++) {
    lab.registerUser(`bench${i}`, `bench${i}-password`);
    const user = `@bench${i}:${lab.site.serverName}`;
    const token = (await api(lab.mainUrl, admin, "POST", `/_synapse/admin/v1/users/${encodeURIComponent(user)}/login`, {})).access_token as string;
    await api(lab.mainUrl, admin, "POST", `/_synapse/admin/v1/users/${encodeURIComponent(user)}/override_ratelimit`, { messages_per_second: 0, burst_count: 0 });
    sessions.push({ user, token });
  }
  const owner = sessions[0] as Session;
  const room = (await api(base, owner.token, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" })).room_id as string;
  for (const s of sessions.slice(1)) await api(base, s.token, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
  const since = (await api(base, owner.token, "GET", "/_matrix/client/v3/sync?timeout=0")).next_batch as string;
  // Warm-up, then where HAProxy sent this user's /sync and sends: those pods are the direct targets.
  for (let i = 0; i < 20; i++) await api(base, owner.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/w${i}`, { msgtype: "m.text", body: "warm" });
  const mark = lab.haproxyLog.mark();
  await api(base, owner.token, "GET", `/_matrix/client/v3/sync?timeout=0&since=${since}`);
  await api(base, owner.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/probe`, { msgtype: "m.text", body: "probe" });
  let logged = lab.haproxyLog.since(mark);
  for (let i = 0; i < 40 && logged.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
    logged = lab.haproxyLog.since(mark);
  }
  const { serverAddresses } = await import("../lab/cluster/haproxy-log.ts");
  const slots = await serverAddresses(lab.adminSocket);
  const direct = (method: string) => {
    const r = logged.find((l) => l.method === method);
    const address = r ? slots.get(`${r.backend}/${r.server}`) : undefined;
    if (!address) throw new Error(`no ${method} in HAProxy's log`);
    return `http://${address}:8008`;
  };
  const targets = { sync: direct("GET"), send: direct("PUT") };
  console.log(`\n${lab.tier}: latency over ${samples} requests each (one user, no long-poll)`);
  for (const [label, url] of [["through HAProxy", base], ["direct to the worker", ""]] as const) {
    const syncs: number[] = [];
    const sends: number[] = [];
    for (let i = 0; i < samples; i++) {
      syncs.push(await timed(() => api(url || targets.sync, owner.token, "GET", `/_matrix/client/v3/sync?timeout=0&since=${since}`)));
      sends.push(await timed(() => api(url || targets.send, owner.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${label.length}-${i}`, { msgtype: "m.text", body: "x" })));
    }
    console.log(`  /sync ${label.padEnd(22)} ${fmt(syncs)}`);
    console.log(`  send  ${label.padEnd(22)} ${fmt(sends)}`);
  }
  // N users each send `messages` messages while each also syncs; every message must arrive.
  const start = (await api(base, owner.token, "GET", "/_matrix/client/v3/sync?timeout=0")).next_batch as string;
  const t0 = performance.now();
  await Promise.all(sessions.map(async (s, u) => {
    for (let i = 0; i < messages; i++) {
      await api(base, s.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/load-${u}-${i}`, { msgtype: "m.text", body: `load ${u} ${i}` });
      if (i % 5 === 0) await api(base, s.token, "GET", `/_matrix/client/v3/sync?timeout=0&since=${start}`);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  let received = 0;
  let from: string | undefined;
  for (let page = 0; page < 200 && received < users * messages; page++) {
    const r = await api(base, owner.token, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=100${from ? `&from=${from}` : ""}`);
    received += (r.chunk as { content?: { body?: string } }[]).filter((e) => e.content?.body?.startsWith("load ")).length;
    if (!r.end) break;
    from = r.end;
  }
  console.log(`  ${users} users × ${messages} messages, each user syncing every 5th send: ${(users * messages / seconds).toFixed(1)} messages/s (${seconds.toFixed(1)} s); ${received} of ${users * messages} in the room`);
}

for (const tier of (values.tiers ?? "").split(",").map((t) => t.trim()).filter(Boolean)) {
  const t0 = performance.now();
  const lab = await startLab({ tier, ...(tier === "ccu-20k" ? { counts: reduced } : {}) });
  console.log(`\n${tier}: ${lab.pods.size} Synapse pods, HAProxy and Phase 1 up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    await traffic(lab);
    await perRole(lab);
  } finally {
    await lab.stop();
  }
}
