import { execFile } from "node:child_process";
import { createPublicKey, createPrivateKey } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { secretKeys } from "../../apps/synapse/paths.ts";
import { repoRoot, tempDir } from "../support/repo.ts";

const run = promisify(execFile);
const script = join(repoRoot, "apps/synapse/init-secrets.py");
const token = "test-token-not-a-secret";
const secretPath = "/api/v1/namespaces/matrix/secrets";

interface Call { method: string; url: string; contentType?: string; body?: { data?: Record<string, string>; metadata?: { name: string } } }

/** A stub of the three Kubernetes API calls the script makes, on loopback, holding Secrets in memory. */
async function stubApi(initial: Record<string, string> | undefined) {
  const secrets = new Map<string, Record<string, string>>();
  if (initial) secrets.set("synapse-secrets", { ...initial });
  const calls: Call[] = [];
  const readBody = (req: IncomingMessage) => new Promise<string>((resolve) => {
    let s = "";
    req.on("data", (c: Buffer) => (s += c.toString()));
    req.on("end", () => resolve(s));
  });
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const call: Call = { method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body: raw ? JSON.parse(raw) : undefined };
    calls.push(call);
    const send = (status: number, body: unknown) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, {});
    const name = call.url.startsWith(`${secretPath}/`) ? call.url.slice(secretPath.length + 1) : "";
    if (call.method === "GET" && name) return secrets.has(name) ? send(200, { data: secrets.get(name) }) : send(404, {});
    if (call.method === "POST" && call.url === secretPath) {
      const body = call.body as { metadata: { name: string }; data: Record<string, string> };
      secrets.set(body.metadata.name, { ...body.data });
      return send(201, {});
    }
    if (call.method === "PATCH" && secrets.has(name)) { secrets.set(name, { ...secrets.get(name), ...call.body?.data }); return send(200, {}); }
    return send(400, {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { calls, server, url: `http://127.0.0.1:${port}`, stored: (name = "synapse-secrets") => secrets.get(name) };
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function runScript(apiUrl: string, secrets: Record<string, string[]> = { "synapse-secrets": Object.values(secretKeys) }) {
  const sa = tempDir("sa");
  writeFileSync(join(sa, "token"), token);
  return run("python3", [script], {
    timeout: 30_000,
    env: {
      PATH: process.env.PATH ?? "",
      K8S_API_URL: apiUrl,
      SA_DIR: sa,
      SECRET_NAMESPACE: "matrix",
      SECRETS: JSON.stringify(secrets),
      SIGNING_KEY_NAME: secretKeys.signingKey,
    },
  });
}

const decode = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64").toString("utf8");

describe("in-cluster secret generation (init-secrets.py against a stub API on loopback)", () => {
  it("creates the Secret with every key, and a signing key Synapse can load", async () => {
    const api = await stubApi(undefined);
    servers.push(api.server);
    const { stdout } = await runScript(api.url);
    expect(api.calls.map((c) => c.method)).toEqual(["GET", "POST"]);
    const data = api.stored() ?? {};
    expect(Object.keys(data).sort()).toEqual(Object.values(secretKeys).sort());
    const signing = decode(data[secretKeys.signingKey]);
    const m = /^ed25519 (a_[0-9a-f]{4}) ([A-Za-z0-9+/]{43})\n$/.exec(signing);
    expect(m, signing.slice(0, 20)).not.toBeNull();
    // The 32-byte seed must be a usable Ed25519 private key.
    const seed = Buffer.from(m?.[2] ?? "", "base64");
    expect(seed.length).toBe(32);
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
    expect(createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).asymmetricKeyType).toBe("ed25519");
    for (const key of [secretKeys.macaroon, secretKeys.form, secretKeys.replication]) expect(decode(data[key]).length).toBeGreaterThanOrEqual(48);
    expect(new Set(Object.values(data)).size).toBe(Object.keys(data).length);
    // It names keys, never values.
    for (const value of Object.values(data)) expect(stdout).not.toContain(decode(value).trim());
  });

  it("adds only the missing keys and never overwrites an existing one", async () => {
    const kept = Buffer.from("kept-by-the-operator").toString("base64");
    const api = await stubApi({ [secretKeys.macaroon]: kept });
    servers.push(api.server);
    await runScript(api.url);
    const patch = api.calls.find((c) => c.method === "PATCH");
    expect(patch?.contentType).toBe("application/merge-patch+json");
    expect(Object.keys(patch?.body?.data ?? {})).not.toContain(secretKeys.macaroon);
    expect(api.stored()?.[secretKeys.macaroon]).toBe(kept);
    expect(Object.keys(api.stored() ?? {}).sort()).toEqual(Object.values(secretKeys).sort());
  });

  it("writes nothing when every key exists", async () => {
    const complete = Object.fromEntries(Object.values(secretKeys).map((k) => [k, Buffer.from(`v-${k}`).toString("base64")]));
    const api = await stubApi(complete);
    servers.push(api.server);
    await runScript(api.url);
    expect(api.calls.map((c) => c.method)).toEqual(["GET"]);
    expect(api.stored()).toEqual(complete);
  });

  it("creates every Secret it is given (Synapse's and LiveKit's), each with only its own keys", async () => {
    const api = await stubApi(undefined);
    servers.push(api.server);
    await runScript(api.url, { "synapse-secrets": Object.values(secretKeys), "livekit-keys": ["api_secret"] });
    expect(Object.keys(api.stored("livekit-keys") ?? {})).toEqual(["api_secret"]);
    expect(decode(api.stored("livekit-keys")?.api_secret).length).toBeGreaterThanOrEqual(48);
    expect(Object.keys(api.stored("synapse-secrets") ?? {}).sort()).toEqual(Object.values(secretKeys).sort());
  });

  it("fails with a message when the API refuses", async () => {
    const api = await stubApi(undefined);
    servers.push(api.server);
    const sa = tempDir("sa-wrong");
    writeFileSync(join(sa, "token"), "wrong-token");
    const result = run("python3", [script], { timeout: 30_000, env: { PATH: process.env.PATH ?? "", K8S_API_URL: api.url, SA_DIR: sa, SECRET_NAMESPACE: "matrix", SECRETS: JSON.stringify({ "synapse-secrets": ["a", "b"] }) } });
    await expect(result).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("reading Secret matrix/synapse-secrets failed with HTTP 401") });
  });
});
