import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routingTable } from "../../apps/haproxy/routing-table.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { synapseTopology } from "../../apps/synapse/topology.ts";
import { corpus } from "./request-corpus.ts";
import { send, startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";

const site = resolveSite({ domain: "example.org" });

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

  it("passes the URI through unchanged and sets X-Forwarded-For and X-Forwarded-Proto", async () => {
    const path = `/_matrix/client/v3/directory/room/%23odd%2Falias%3Aexample.org?x=%2F%20&y=a+b`;
    const answer = await send(hx.port, "GET", path);
    expect(answer.url).toBe(path);
    expect(answer.headers?.["x-forwarded-for"]).toContain("127.0.0.1");
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

async function rawRequest(port: number, head: string): Promise<string> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(head));
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); resolve(data); }, 5000);
    socket.on("data", (c) => {
      data += c.toString();
      if (data.includes("\r\n\r\n") && data.includes("}")) { clearTimeout(timer); socket.destroy(); resolve(data); }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}
