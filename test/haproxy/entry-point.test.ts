/**
 * What the public entry point decides, on real haproxy: nothing on a header the client writes (the admin API
 * lives on a loopback listener), the client address Synapse sees, the room key of pagination, sticky opaque
 * tokens, and bodies whose size cannot be checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterRuntime } from "../../apps/haproxy/haproxy-config.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, type TierSizing } from "../../apps/site/sizing.ts";
import { send, startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";
import { rawRequest } from "../support/haproxy-requests.ts";

const tier5k = tiers.find((t) => t.name === "ccu-5k") as TierSizing;

// Every spelling of an allow-listed or trusted address a client could write into X-Forwarded-For.
const spoofs: Record<string, string>[] = [
  { "x-forwarded-for": "10.1.2.3" },
  { "x-forwarded-for": "203.0.113.7, 10.1.2.3" },
  { "x-forwarded-for": "::ffff:10.1.2.3" },
  { "x-forwarded-for": "10.1.2.3:4711" },
  { "x-forwarded-for": "127.0.0.1" },
  { "x-real-ip": "127.0.0.1", forwarded: "for=127.0.0.1" },
];
const adminPaths = ["/_synapse/admin/v1/server_version", "/_synapse/admin/v1/media/example.org/abc", "/_synapse/admin/v2/users/%40a%3Aexample.org"];

describe("the admin API (real haproxy, ccu-5k)", () => {
  let hx: RunningHaproxy;
  // Trust everything a client could claim: even then no header opens the admin API on the public listener.
  const site = resolveSite({ domain: "example.org", haproxy: { trustedProxies: ["127.0.0.0/8", "10.0.0.0/8"] } });
  beforeAll(async () => { hx = await startHaproxy(site, tier5k); });
  afterAll(async () => { await hx?.stop(); });

  it("is refused on the public client and federation ports whatever X-Forwarded-For or other headers say", async () => {
    const fedPort = Number(/bind 127\.0\.0\.1:(\d+) name federation/.exec(hx.configText)?.[1]);
    const leaks: string[] = [];
    for (const port of [hx.port, fedPort]) {
      for (const path of adminPaths) {
        for (const headers of [{}, ...spoofs]) {
          const a = await send(port, "GET", path, headers);
          if (a.status !== 403 || a.server !== undefined || JSON.parse(a.body).errcode !== "M_FORBIDDEN") leaks.push(`${port} ${path} ${JSON.stringify(headers)}: ${a.status} from ${a.server ?? "haproxy"}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it("is served on the admin listener, which the configuration binds to loopback only", async () => {
    expect((await send(hx.adminPort, "GET", "/_synapse/admin/v1/server_version")).server).toBe("main-0");
    expect((await send(hx.adminPort, "GET", "/_synapse/admin/v1/media/example.org/abc")).server).toMatch(/^media-\d+$/);
    // Admin tools log in through the same listener.
    expect((await send(hx.adminPort, "POST", "/_matrix/client/v3/login")).server).toBe("main-0");
    expect((await send(hx.adminPort, "POST", "/_synapse/replication/send_event/x")).status).toBe(404);
  });

  it("binds the admin listener to 127.0.0.1 in the cluster configuration, where no Service or Ingress reaches it", () => {
    const runtime = clusterRuntime(site);
    expect(runtime.adminBindHost).toBe("127.0.0.1");
    expect(runtime.ports.admin).toBe(8009);
  });
});

describe("the client address Synapse sees (real haproxy, ccu-1k)", () => {
  let trusting: RunningHaproxy;
  let untrusting: RunningHaproxy;
  beforeAll(async () => {
    trusting = await startHaproxy(resolveSite({ domain: "example.org", haproxy: { trustedProxies: ["127.0.0.1/32"] } }), tiers[0] as TierSizing);
    // The default trusts the private ranges pod networks use; the lab's peer, 127.0.0.1, is not among them.
    untrusting = await startHaproxy(resolveSite({ domain: "example.org" }), tiers[0] as TierSizing);
  });
  afterAll(async () => { await trusting?.stop(); await untrusting?.stop(); });

  const xff = async (hx: RunningHaproxy, headers: Record<string, string>) =>
    (await send(hx.port, "GET", "/_matrix/client/versions", headers)).headers?.["x-forwarded-for"];

  it("from a trusted proxy: exactly the last X-Forwarded-For entry, whatever the client wrote before it", async () => {
    expect(await xff(trusting, { "x-forwarded-for": "198.51.100.4" })).toBe("198.51.100.4");
    expect(await xff(trusting, { "x-forwarded-for": "10.9.9.9, 203.0.113.7, 198.51.100.4" })).toBe("198.51.100.4");
    expect(await xff(trusting, {})).toBe("127.0.0.1");
    // Not an address: the peer's address instead.
    expect(await xff(trusting, { "x-forwarded-for": "unknown" })).toBe("127.0.0.1");
  });

  it("from any other peer: the peer's own address, and X-Forwarded-Proto is not taken from the client", async () => {
    expect(await xff(untrusting, { "x-forwarded-for": "10.1.2.3" })).toBe("127.0.0.1");
    expect(await xff(untrusting, { "x-forwarded-for": "10.9.9.9, 10.1.2.3" })).toBe("127.0.0.1");
    const proto = await send(untrusting.port, "GET", "/_matrix/client/versions", { "x-forwarded-proto": "https" });
    expect(proto.headers?.["x-forwarded-proto"]).toBe("http");
    const viaIngress = await send(trusting.port, "GET", "/_matrix/client/versions", { "x-forwarded-proto": "https" });
    expect(viaIngress.headers?.["x-forwarded-proto"]).toBe("https");
  });

  it("hashes federation transactions by that address: spoofed entries from an untrusted peer change nothing", async () => {
    const servers = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const a = await send(untrusting.port, "PUT", `/_matrix/federation/v1/send/t${i}`, { "x-forwarded-for": `198.51.100.${i + 1}` });
      servers.add(a.server ?? "haproxy");
    }
    expect([...servers]).toHaveLength(1);
  });
});

describe("keys that pick a process (real haproxy, ccu-5k)", () => {
  let hx: RunningHaproxy;
  beforeAll(async () => { hx = await startHaproxy(resolveSite({ domain: "example.org" }), tier5k); });
  afterAll(async () => { await hx?.stop(); });

  it("sends one room to one generic worker however its ID is percent-encoded", async () => {
    const rooms = Array.from({ length: 24 }, (_, i) => `!room${i}abc:example.com`);
    const spread = new Set<string>();
    for (const room of rooms) {
      const spellings = [
        room,
        encodeURIComponent(room),
        encodeURIComponent(room).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
        room.replace("!", "%21"),
      ];
      const servers = new Set<string>();
      for (const s of spellings) servers.add((await send(hx.port, "GET", `/_matrix/client/v3/rooms/${s}/messages?dir=b`)).server ?? "haproxy");
      expect([...servers], room).toHaveLength(1);
      spread.add([...servers][0] as string);
    }
    expect(spread.size).toBeGreaterThan(1);
  });

  it("keeps a user's opaque tokens (Matrix Authentication Service `mat_`, or any non-`syt_`) sticky per token", async () => {
    const spread = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const t = i % 2 === 0 ? `mat_${"x".repeat(20)}${i}_abc123` : `opaque-token-${i}`;
      const servers = new Set<string>();
      for (let j = 0; j < 3; j++) servers.add((await send(hx.port, "GET", "/_matrix/client/v3/sync?since=s1", { authorization: `Bearer ${t}` })).server ?? "haproxy");
      expect([...servers], t).toHaveLength(1);
      spread.add([...servers][0] as string);
    }
    expect(spread.size).toBeGreaterThan(1);
  });

  it("routes Element X's sliding sync to the synchrotrons, sticky per user", async () => {
    const path = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=3&timeout=30000";
    const a = await send(hx.port, "POST", path, { authorization: "Bearer syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c" }, "{}");
    expect(a.server).toMatch(/^synchrotron-\d+$/);
    const b = await send(hx.port, "GET", "/_matrix/client/v3/sync?since=s1", { authorization: "Bearer syt_YWxpY2U_ZZZZZZZZZZZZZZZZZZZZ_9z9z9z" });
    expect(b.server).toBe(a.server);
  });

  it("refuses an upload whose size cannot be checked (chunked, no Content-Length) before any of it reaches a media worker", async () => {
    const raw = await rawRequest(hx.port, "POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n");
    expect(raw).toMatch(/^HTTP\/1\.1 411/);
    expect(raw).toContain("M_UNKNOWN");
    // With a Content-Length the upload goes through.
    const ok = await send(hx.port, "POST", "/_matrix/media/v3/upload", { "content-type": "application/octet-stream" }, "x".repeat(1000));
    expect(ok.server).toMatch(/^media-\d+$/);
  });
});
