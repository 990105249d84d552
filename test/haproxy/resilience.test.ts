import { afterEach, describe, expect, it } from "vitest";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, type TierSizing } from "../../apps/site/sizing.ts";
import { send, startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";
import { token, waitForStates } from "../support/haproxy-requests.ts";

const site = resolveSite({ domain: "example.org" });
const tier5k = tiers.find((t) => t.name === "ccu-5k") as TierSizing;
let running: RunningHaproxy[] = [];
afterEach(async () => {
  await Promise.all(running.map((h) => h.stop()));
  running = [];
});

async function start(tier: TierSizing, s = site): Promise<RunningHaproxy> {
  const hx = await startHaproxy(s, tier);
  running.push(hx);
  return hx;
}

async function syncServer(hx: RunningHaproxy, localpart: string, device = "deviceA", viaQuery = false): Promise<string | undefined> {
  const t = token(localpart, device);
  const path = `/_matrix/client/v3/sync?since=s1&timeout=0${viaQuery ? `&access_token=${t}` : ""}`;
  const answer = await send(hx.port, "GET", path, viaQuery ? {} : { authorization: `Bearer ${t}` });
  return answer.server;
}

const waitUntilDown = (hx: RunningHaproxy, backend: string, servers: string[]) => waitForStates(hx.statsPort, servers.map((s) => `${backend}/${s}`), "DOWN");

const users = Array.from({ length: 200 }, (_, i) => `user${i}`);

describe("sticky /sync per user with consistent hashing (real haproxy, ccu-5k)", () => {
  it("keeps all of a user's devices, and the access_token parameter, on one synchrotron", async () => {
    const hx = await start(tier5k);
    for (const u of users.slice(0, 50)) {
      const a = await syncServer(hx, u, "deviceA");
      expect(a).toMatch(/^synchrotron-\d+$/);
      expect(await syncServer(hx, u, "deviceB")).toBe(a);
      expect(await syncServer(hx, u, "deviceC", true)).toBe(a);
    }
    const spread = new Set(await Promise.all(users.map((u) => syncServer(hx, u))));
    expect(spread.size).toBe(tier5k.workers.synchrotron.min);
  });

  it("moves only the stopped synchrotron's users when one stops, and falls back to main when all stop", async () => {
    const hx = await start(tier5k);
    const before = new Map<string, string | undefined>();
    for (const u of users) before.set(u, await syncServer(hx, u));
    const stubs = hx.stubs.get("synchrotron") ?? [];
    const victim = stubs[1];
    if (!victim) throw new Error("expected several synchrotron stubs");
    await victim.stop();
    await waitUntilDown(hx, "be_synchrotron_user", [victim.name]);

    const after = new Map<string, string | undefined>();
    for (const u of users) after.set(u, await syncServer(hx, u));
    const onVictim = users.filter((u) => before.get(u) === victim.name);
    const moved = users.filter((u) => before.get(u) !== after.get(u));
    const fraction = moved.length / users.length;
    console.log(`consistent hashing: ${moved.length}/${users.length} users moved (${(fraction * 100).toFixed(1)}%) after 1 of ${stubs.length} synchrotrons stopped`);
    expect(moved.sort()).toEqual(onVictim.sort());
    expect(onVictim.every((u) => after.get(u) !== victim.name && after.get(u)?.startsWith("synchrotron-"))).toBe(true);
    expect(fraction).toBeGreaterThan(0);
    expect(fraction).toBeLessThan(1 / stubs.length + 0.15);

    const rest = stubs.filter((s) => s !== victim);
    await Promise.all(rest.map((s) => s.stop()));
    await waitUntilDown(hx, "be_synchrotron_user", rest.map((s) => s.name));
    for (const u of users.slice(0, 20)) expect(await syncServer(hx, u)).toBe("main-0");
  });
});

describe("overload (real haproxy, ccu-1k)", () => {
  it("answers requests that wait too long for a free slot with a Matrix 429, not a hang", async () => {
    const hx = await start(tiers[0] as TierSizing);
    const path = "/_matrix/client/v3/rooms/%21r%3Aexample.org/upgrade?delay=7000";
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 130 }, () => send(hx.port, "POST", path)));
    const elapsed = Date.now() - started;
    const limited = answers.filter((a) => a.status === 429);
    const served = answers.filter((a) => a.status === 200 && a.server === "main-0");
    expect(served.length + limited.length).toBe(130);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    expect(JSON.parse(limited[0]?.body ?? "{}")).toMatchObject({ errcode: "M_LIMIT_EXCEEDED" });
    expect(elapsed).toBeLessThan(15_000);
  });
});
