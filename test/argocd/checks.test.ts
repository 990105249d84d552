import { execFile } from "node:child_process";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../tools/lab/ports.ts";
import { repoRoot } from "../support/repo.ts";

const run = promisify(execFile);
let servers: (Server | HttpServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function runPython(script: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("python3", [join(repoRoot, "apps/checks", script)], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

async function listen(): Promise<number> {
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

// preflight.py runs against real PostgreSQL, Redis and S3 in test/e2e/hooks.e2e.ts.

interface Behaviour { versions: number; baseUrl: string; cors: boolean }

async function fakeDeployment(b: Behaviour) {
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const client = createHttpServer((req, res) => {
    if (req.url === "/health") { res.writeHead(200); res.end("OK"); return; }
    if (req.method === "OPTIONS") { res.writeHead(204, b.cors ? { "access-control-allow-origin": "*" } : {}); res.end(); return; }
    if (req.url === "/_matrix/client/versions") return b.versions === 200 ? json(res, 200, { versions: ["v1.11"] }) : json(res, b.versions, { errcode: "M_UNKNOWN" });
    json(res, 404, {});
  });
  const federation = createHttpServer((req, res) => json(res, 200, { server: { name: "Synapse", version: "1.157.0" } }));
  const element = createHttpServer((req, res) => json(res, 200, { default_server_config: { "m.homeserver": { base_url: b.baseUrl } } }));
  const ports: number[] = [];
  for (const s of [client, federation, element]) {
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    servers.push(s);
    ports.push((s.address() as { port: number }).port);
  }
  return {
    SMOKE_CLIENT_URL: `http://127.0.0.1:${ports[0]}`,
    SMOKE_FEDERATION_URL: `http://127.0.0.1:${ports[1]}`,
    SMOKE_ELEMENT_URL: `http://127.0.0.1:${ports[2]}`,
    SMOKE_EXPECTED_BASE_URL: "https://matrix.example.org",
    SMOKE_ORIGIN: "https://chat.example.org",
    SMOKE_ATTEMPTS: "2",
    SMOKE_INTERVAL_SECONDS: "0.1",
  };
}

describe("post-sync smoke test (smoke-test.py)", () => {
  it("passes against a healthy deployment", async () => {
    const r = await runPython("smoke-test.py", await fakeDeployment({ versions: 200, baseUrl: "https://matrix.example.org", cors: true }));
    expect(r.out).toContain("client API versions: ok");
    expect(r.out).toContain("CORS preflight: ok");
    expect(r.code).toBe(0);
  });

  it("fails the sync with a message naming each failed check", async () => {
    const r = await runPython("smoke-test.py", await fakeDeployment({ versions: 502, baseUrl: "https://wrong.example.org", cors: false }));
    expect(r.code).toBe(1);
    expect(r.out).toContain("client API versions: FAILED: GET /_matrix/client/versions answered 502");
    expect(r.out).toContain("Element Web config.json: FAILED: Element Web points at 'https://wrong.example.org'");
    expect(r.out).toContain("CORS preflight: FAILED");
    expect(r.out).toContain("smoke test failed: client API versions, CORS preflight, Element Web config.json");
    expect(r.out).toContain("HAProxy /health: ok");
  });
});
