/**
 * Secrets in the lab: a store of Secret objects, and a Kubernetes Secrets API on loopback in front of it, so
 * the in-cluster generator Job (apps/synapse/init-secrets.py, as rendered) runs unchanged and creates the
 * Synapse keys exactly as it does in a cluster. Phase 1 credentials (database, Redis, S3), which another
 * team's tooling owns in a cluster, are random per lab.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";

export class SecretStore {
  private readonly secrets = new Map<string, Map<string, string>>();

  set(name: string, key: string, value: string): void {
    const s = this.secrets.get(name) ?? new Map<string, string>();
    s.set(key, value);
    this.secrets.set(name, s);
  }

  /** A Phase 1 credential: random, URL-safe. */
  generate(name: string, key: string): string {
    const value = randomBytes(24).toString("base64url");
    this.set(name, key, value);
    return value;
  }

  get(name: string, key: string): string {
    const value = this.secrets.get(name)?.get(key);
    if (value === undefined) throw new Error(`Secret ${name} has no key ${key}`);
    return value;
  }

  keys(name: string): string[] {
    return [...(this.secrets.get(name)?.keys() ?? [])].sort();
  }

  has(name: string): boolean {
    return this.secrets.has(name);
  }
}

function readBody(req: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (c: Buffer) => { body += c.toString(); });
    req.on("end", () => resolve(body));
  });
}

export interface SecretsApi {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** GET, POST and merge-PATCH of core/v1 Secrets in one namespace, with a bearer token, on 127.0.0.1. */
export async function startSecretsApi(store: SecretStore, namespace: string): Promise<SecretsApi> {
  const token = randomBytes(16).toString("hex");
  const base = `/api/v1/namespaces/${namespace}/secrets`;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const reply = (status: number, value: unknown = {}) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401);
    const url = req.url ?? "";
    const data = (name: string) => Object.fromEntries(store.keys(name).map((k) => [k, Buffer.from(store.get(name, k)).toString("base64")]));
    const put = (name: string, encoded: Record<string, string>) => {
      for (const [k, v] of Object.entries(encoded)) store.set(name, k, Buffer.from(v, "base64").toString());
    };
    if (req.method === "POST" && url === base) {
      const obj = JSON.parse(body) as { metadata: { name: string }; data: Record<string, string> };
      if (store.has(obj.metadata.name)) return reply(409);
      put(obj.metadata.name, obj.data);
      return reply(201, obj);
    }
    const m = new RegExp(`^${base}/([^/]+)$`).exec(url);
    if (!m?.[1]) return reply(404);
    const name = decodeURIComponent(m[1]);
    if (req.method === "GET") return store.has(name) ? reply(200, { metadata: { name }, data: data(name) }) : reply(404);
    if (req.method === "PATCH" && store.has(name)) {
      put(name, (JSON.parse(body) as { data: Record<string, string> }).data);
      return reply(200, { metadata: { name }, data: data(name) });
    }
    return reply(404);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
