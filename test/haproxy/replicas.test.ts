/**
 * Both HAProxy replicas send a user to the same synchrotron: two real haproxy processes built from the same
 * generated configuration (DNS discovery included), a real DNS server (dnsmasq) on loopback, and a pool that
 * grows and shrinks while replica A runs before replica B starts. Synchrotron stubs listen on their own
 * loopback addresses on one shared port, as pods do on 8008.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { serialize, d } from "../../apps/haproxy/config-model.ts";
import { dnsDiscovery, haproxyConfig } from "../../apps/haproxy/haproxy-config.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, type TierSizing } from "../../apps/site/sizing.ts";
import { synapseTopology } from "../../apps/synapse/topology.ts";
import { startDns, type RunningDns } from "../../tools/lab/cluster/phase1.ts";
import { freePort } from "../../tools/lab/ports.ts";
import { labPorts, send, spawnHaproxy, type HaproxyProcess } from "../../tools/lab/haproxy/run.ts";
import { startStub, type Stub } from "../../tools/lab/haproxy/stubs.ts";
import { serverStates, token } from "../support/haproxy-requests.ts";

const site = resolveSite({ domain: "example.org" });
const users = Array.from({ length: 500 }, (_, i) => `user${i}`);
const backend = "be_synchrotron_user";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

interface Pool {
  dns: RunningDns;
  port: number;
  stubs: Map<number, Stub>;
  /** Publishes exactly these ordinals (in this order) and runs a stub for each. */
  set(ordinals: number[]): Promise<void>;
}

const podName = (i: number) => `synapse-synchrotron-${i}.synapse-synchrotron.${site.namespace}.svc.${site.clusterDomain}`;
const podAddress = (i: number) => `127.0.88.${i + 1}`;

async function startPool(): Promise<Pool> {
  const port = await freePort();
  const dns = await startDns(mkdtempSync(join(tmpdir(), "matrix-gitops-replicas-dns-")), await freePort(), "");
  const stubs = new Map<number, Stub>();
  cleanup.push(async () => {
    dns.process.stop();
    await Promise.all([...stubs.values()].map((s) => s.stop()));
  });
  return {
    dns, port, stubs,
    async set(ordinals) {
      for (const [i, stub] of stubs) if (!ordinals.includes(i)) { await stub.stop(); stubs.delete(i); }
      for (const i of ordinals) if (!stubs.has(i)) stubs.set(i, await startStub(`synchrotron-${i}`, { host: podAddress(i), port }));
      dns.update(ordinals.map((i) => `${podAddress(i)} ${podName(i)}\n`).join(""));
    },
  };
}

async function startReplica(tier: TierSizing, pool: Pool): Promise<HaproxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-replica-"));
  const ports = await labPorts();
  const runtime = dnsDiscovery(site, {
    resolvers: [d("nameserver", "lab", `${pool.dns.address}:${pool.dns.port}`)],
    serverPort: pool.port,
    bindHost: "127.0.0.1",
    adminBindHost: "127.0.0.1",
    ports,
    errorFile429: "/dev/null",
    adminSocket: join(dir, "admin.sock"),
    maxconnCap: 4000,
  });
  const hx = await spawnHaproxy(serialize(haproxyConfig(site, tier, synapseTopology(tier), runtime), "# replica"), ports, dir);
  cleanup.push(() => hx.stop());
  return hx;
}

/** Waits (at most 40 s) until exactly these synchrotron ordinals are UP in the replica and the rest are not. */
async function waitForPool(hx: HaproxyProcess, ordinals: number[]): Promise<void> {
  const until = Date.now() + 40_000;
  let up: string[] = [];
  const want = ordinals.map((i) => `synchrotron-${i}`).sort();
  for (let i = 0; i < 200 && Date.now() < until; i++) {
    const states = await serverStates(hx.statsPort);
    up = [...states].filter(([k, v]) => k.startsWith(`${backend}/`) && v.startsWith("UP")).map(([k]) => k.split("/")[1] as string).sort();
    if (JSON.stringify(up) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`replica on ${hx.port}: UP [${up.join(", ")}], wanted [${want.join(", ")}] within 40 s`);
}

async function placement(hx: HaproxyProcess): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < users.length; i += 50) {
    const batch = users.slice(i, i + 50);
    const servers = await Promise.all(batch.map((u) => send(hx.port, "GET", "/_matrix/client/v3/sync?since=s1", { authorization: `Bearer ${token(u, "dev")}` })));
    batch.forEach((u, j) => out.set(u, servers[j]?.server ?? `status ${servers[j]?.status}`));
  }
  return out;
}

const agreement = (a: Map<string, string>, b: Map<string, string>) => users.filter((u) => a.get(u) === b.get(u)).length / users.length;
const movedShare = (before: Map<string, string>, after: Map<string, string>) => users.filter((u) => before.get(u) !== after.get(u)).length / users.length;

describe.each(["ccu-1k", "ccu-20k"])("two HAProxy replicas and dnsmasq (%s configuration)", (tierName) => {
  const tier = tiers.find((t) => t.name === tierName) as TierSizing;

  it("agree on each user's synchrotron although the pool changed while only one of them ran, and move only a lost pod's users", async () => {
    const pool = await startPool();
    await pool.set([0, 1]);
    const a = await startReplica(tier, pool);
    await waitForPool(a, [0, 1]);
    // The pool grows (answers in a scrambled order), shrinks, and grows again while only A runs.
    await pool.set([5, 2, 0, 4, 1, 3]);
    await waitForPool(a, [0, 1, 2, 3, 4, 5]);
    await pool.set([4, 0, 5, 2]);
    await waitForPool(a, [0, 2, 4, 5]);
    await pool.set([6, 2, 0, 5, 1, 4]);
    await waitForPool(a, [0, 1, 2, 4, 5, 6]);
    const b = await startReplica(tier, pool);
    await waitForPool(b, [0, 1, 2, 4, 5, 6]);

    const onA = await placement(a);
    const onB = await placement(b);
    expect([...onA.values()].every((s) => /^synchrotron-\d$/.test(s))).toBe(true);
    const agreed = agreement(onA, onB);
    console.log(`${tierName}: replicas agree for ${(agreed * 100).toFixed(1)}% of ${users.length} users after grow/shrink/grow with B started last`);
    expect(agreed).toBeGreaterThanOrEqual(0.999);
    expect(new Set(onA.values()).size).toBe(6);

    // One of the six pods goes.
    await pool.set([0, 1, 2, 5, 6]);
    await Promise.all([waitForPool(a, [0, 1, 2, 5, 6]), waitForPool(b, [0, 1, 2, 5, 6])]);
    const afterA = await placement(a);
    const afterB = await placement(b);
    const moved = [movedShare(onA, afterA), movedShare(onB, afterB)];
    const lost = users.filter((u) => onA.get(u) === "synchrotron-4").length / users.length;
    console.log(`${tierName}: after 1 of 6 pods went, ${moved.map((m) => `${(m * 100).toFixed(1)}%`).join(" and ")} of users moved (its share was ${(lost * 100).toFixed(1)}%); agreement ${(agreement(afterA, afterB) * 100).toFixed(1)}%`);
    for (const m of moved) expect(m).toBeLessThanOrEqual(1 / 6 + 0.02);
    expect(users.filter((u) => onA.get(u) !== "synchrotron-4" && afterA.get(u) !== onA.get(u))).toEqual([]);
    expect(agreement(afterA, afterB)).toBeGreaterThanOrEqual(0.999);
  });
});
