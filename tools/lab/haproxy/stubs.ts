/**
 * Stub Synapse processes on loopback: each answers with its own name and what it received, `GET /health`
 * with 200 (unless marked unhealthy), and waits `?delay=<ms>` (bounded) before answering.
 */
import { createServer, type Server } from "node:http";

export interface StubReply {
  server: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Stub {
  name: string;
  port: number;
  healthy: boolean;
  stop(): Promise<void>;
}

const maxDelayMs = 15_000;

/** `host`/`port`: where to listen (default 127.0.0.1 on a free port); pods of one pool share a port in DNS tests. */
export async function startStub(name: string, listen: { host?: string; port?: number } = {}): Promise<Stub> {
  const sockets = new Set<import("node:net").Socket>();
  const stub: Stub = { name, port: 0, healthy: true, stop: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const url = req.url ?? "";
      const reply: StubReply = { server: name, method: req.method ?? "", url, headers: req.headers };
      if (url === "/health") {
        res.writeHead(stub.healthy ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify(reply));
        return;
      }
      const delay = Math.min(maxDelayMs, Number(new URL(url, "http://stub").searchParams.get("delay") ?? 0) || 0);
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(reply));
      }, delay);
    });
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port ?? 0, listen.host ?? "127.0.0.1", resolve);
  });
  stub.port = (server.address() as { port: number }).port;
  stub.stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return stub;
}
