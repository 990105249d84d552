/** Loopback ports for the servers tests and benchmarks start: a free one, and waiting until one listens. */
import { connect, createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connect to host:port succeeds within a second. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 1000 });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("timeout", () => { s.destroy(); resolve(false); });
    s.once("error", () => resolve(false));
  });
}

/** Polls 127.0.0.1:<port> every 50 ms, at most `deadlineMs` and 400 times, until a TCP connect succeeds. */
export async function waitForPort(port: number, deadlineMs: number, what = "server"): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (let i = 0; i < 400 && Date.now() < until; i++) {
    if (await tcpOpen("127.0.0.1", port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${deadlineMs} ms`);
}
