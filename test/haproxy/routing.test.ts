import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routingTable } from "../../apps/haproxy/routing-table.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { synapseTopology } from "../../apps/synapse/topology.ts";
import { corpus } from "./request-corpus.ts";
import { send, startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";
import { renderOverlay } from "../support/repo.ts";
import { synapseWorkloads } from "../support/synapse-processes.ts";
import { rawRequest } from "../support/haproxy-requests.ts";

// The lab's haproxy sees every client as 127.0.0.1: trusting it stands for trusting the ingress controller.
const site = resolveSite({ domain: "example.org", haproxy: { trustedProxies: ["127.0.0.1/32"] } });

interface Listener { type: string; port: number; resources?: { names: string[] }[] }

/**
 * The listener resource names under which Synapse (1.157, synapse/app/generic_worker.py and homeserver.py)
 * mounts a path, any one of which serves it: written out from Synapse's resource tree, not from the routing table.
 */
function resourcesServing(path: string): string[] {
  if (/^\/_matrix\/client\/v1\/media\//.test(path)) return ["client", "media"];
  if (/^\/_synapse\/admin\/v1\/(media|purge_media_cache|quarantine_media|room\/[^/]+\/media|user\/[^/]+\/media|users\/[^/]+\/media)/.test(path)) return ["client", "media"];
  if (/^\/(_matrix\/client|_synapse\/client|_synapse\/admin|\.well-known)\//.test(path)) return ["client"];
  if (/^\/_matrix\/federation\/v1\/media\//.test(path)) return ["federation", "media"];
  if (/^\/_matrix\/federation\/v1\/openid\//.test(path)) return ["federation", "openid"];
  if (/^\/_matrix\/federation\//.test(path)) return ["federation"];
  if (/^\/_matrix\/key\//.test(path)) return ["federation", "keys"];
  if (/^\/_matrix\/media\//.test(path)) return ["media"];
  if (path === "/health") return ["health", "client", "federation", "media"];
  return [`(no Synapse resource serves ${path})`];
}

describe("the request corpus", () => {
  it("has at least one request for every regex of the routing table", () => {
    const uncovered = routingTable.flatMap((route) => route.patterns
      .filter((p) => !corpus.some((c) => new RegExp(p).test(c.path.split("?")[0] ?? "")))
      .map((p) => `${route.id}: ${p}`));
    expect(uncovered).toEqual([]);
  });
});

describe.each(tiers.map((t) => [t.name, t] as const))("real haproxy with the %s configuration", (_name, tier) => {
  let hx: RunningHaproxy;
  const running = new Set(["main", ...synapseTopology(tier).pools.map((p) => p.role)]);

  beforeAll(async () => { hx = await startHaproxy(site, tier); });
  afterAll(async () => { await hx?.stop(); });

  it("sends every request of the corpus to a process that can serve it", async () => {
    const wrong: string[] = [];
    for (const c of corpus) {
      const answer = await send(hx.port, c.method, c.path, { authorization: "Bearer syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c" });
      if ("haproxy" in c.expect) {
        if (answer.status !== c.expect.haproxy || answer.server !== undefined) wrong.push(`${c.method} ${c.path}: ${answer.status} from ${answer.server ?? "haproxy"}, want ${c.expect.haproxy} from haproxy`);
        continue;
      }
      const want = c.expect.find((role) => running.has(role));
      const got = answer.server?.replace(/-\d+$/, "");
      if (answer.status !== 200 || got !== want) wrong.push(`${c.method} ${c.path}: ${answer.status} from ${got ?? "haproxy"}, want ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it("sends every request to a process whose listener serves that path's Synapse resource", async () => {
    const objects = await renderOverlay(tier.name);
    const listening = new Map<string, string[]>();
    for (const w of synapseWorkloads(objects)) {
      const config = w.config(w.pods[0] as string) as { listeners?: Listener[]; worker_listeners?: Listener[] };
      const names = (config.worker_listeners ?? config.listeners ?? []).filter((l) => l.type === "http" && l.port === 8008)
        .flatMap((l) => (l.resources ?? []).flatMap((r) => r.names));
      listening.set(w.name.replace(/^synapse-/, ""), names);
    }
    const wrong: string[] = [];
    for (const c of corpus) {
      if ("haproxy" in c.expect) continue;
      const answer = await send(hx.port, c.method, c.path, { authorization: "Bearer syt_YWxpY2U_AbCdEfGhIjKlMnOpQrSt_1a2b3c" });
      const role = answer.server?.replace(/-\d+$/, "");
      if (!role) continue;
      const names = listening.get(role) ?? [];
      const needed = resourcesServing(c.path.split("?")[0] ?? "");
      if (!needed.some((n) => names.includes(n))) wrong.push(`${c.method} ${c.path} → ${role}, which listens with [${names.join(", ")}], needs one of [${needed.join(", ")}]`);
    }
    expect(wrong).toEqual([]);
  });

  it("keeps each remote server's federation transactions on one process, by its address (the last X-Forwarded-For entry)", async () => {
    const sources = Array.from({ length: 32 }, (_, i) => `198.51.100.${i + 1}`);
    const chosen = new Map<string, string>();
    for (const ip of sources) {
      const servers = new Set<string>();
      // The leftmost entries are whatever the remote wrote; only the one the ingress controller appended counts.
      for (const [t, spoofed] of [[1, ""], [2, "203.0.113.7, "], [3, "192.0.2.1, 10.0.0.1, "]] as const) {
        const a = await send(hx.port, "PUT", `/_matrix/federation/v1/send/${ip}-${t}`, { "x-forwarded-for": `${spoofed}${ip}` });
        expect(a.status).toBe(200);
        servers.add(a.server ?? "haproxy");
      }
      expect([...servers], ip).toHaveLength(1);
      chosen.set(ip, [...servers][0] as string);
    }
    const pool = new Set([...chosen.values()].map((s) => s.replace(/-\d+$/, "")));
    expect(pool.size).toBe(1);
    // With two or more processes in the pool, 32 sources do not all land on one of them.
    const poolSize = tier.optionalRoles.includes("federation-reader") ? 2 : tier.workers.generic.min;
    if (poolSize > 1) expect(new Set(chosen.values()).size).toBeGreaterThan(1);
  });

  it("passes the URI through unchanged and sets X-Forwarded-For and X-Forwarded-Proto", async () => {
    const path = `/_matrix/client/v3/directory/room/%23odd%2Falias%3Aexample.org?x=%2F%20&y=a+b`;
    const answer = await send(hx.port, "GET", path);
    expect(answer.url).toBe(path);
    expect(answer.headers?.["x-forwarded-for"]).toBe("127.0.0.1");
    expect(answer.headers?.["x-forwarded-proto"]).toBe("http");
    const proxied = await send(hx.port, "GET", "/_matrix/client/versions", { "x-forwarded-proto": "https" });
    expect(proxied.headers?.["x-forwarded-proto"]).toBe("https");
  });

  it("answers the .well-known documents itself, with CORS", async () => {
    const server = await fetch(`http://127.0.0.1:${hx.port}/.well-known/matrix/server`);
    expect(server.headers.get("access-control-allow-origin")).toBe("*");
    expect(await server.json()).toEqual({ "m.server": "matrix.example.org:443" });
    const client = await fetch(`http://127.0.0.1:${hx.port}/.well-known/matrix/client`);
    expect((await client.json() as { "m.homeserver": { base_url: string } })["m.homeserver"].base_url).toBe("https://matrix.example.org");
  });

  it("refuses a body above the 100 MB upload limit with a Matrix error", async () => {
    // A raw request: the length is declared, the body never sent; haproxy must answer before reading it.
    const raw = await rawRequest(hx.port, `POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 413/);
    expect(raw).toContain("M_TOO_LARGE");
  });
});
