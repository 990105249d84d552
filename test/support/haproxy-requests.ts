/** Requests and observations shared by the tests that drive a real haproxy. */
import { connect } from "node:net";
import { readStats } from "../../tools/lab/haproxy/stats.ts";

/** A Synapse-style access token: `syt_<unpadded base64 localpart>_<random>_<crc>`. */
export function token(localpart: string, device: string): string {
  const b64 = Buffer.from(localpart).toString("base64").replace(/=+$/, "");
  return `syt_${b64}_${device.padEnd(20, "x").slice(0, 20)}_0${device.length}`;
}

/** Server states from haproxy's CSV statistics (`<backend>/<server>` → UP, DOWN, MAINT …). */
export async function serverStates(statsPort: number): Promise<Map<string, string>> {
  const rows = await readStats(`http://127.0.0.1:${statsPort}/stats;csv`);
  return new Map(rows.filter((r) => r.server !== "FRONTEND" && r.server !== "BACKEND").map((r) => [`${r.proxy}/${r.server}`, r.status]));
}

/** Current sessions of the public frontend. */
export async function frontendSessions(statsPort: number): Promise<number> {
  const rows = await readStats(`http://127.0.0.1:${statsPort}/stats;csv`);
  return rows.find((r) => r.proxy === "matrix" && r.server === "FRONTEND")?.sessions ?? 0;
}

/** Waits (bounded, polling every 250 ms) until every listed `<backend>/<server>` state starts with `state`. */
export async function waitForStates(statsPort: number, servers: string[], state: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = new Map<string, string>();
  for (let i = 0; i < timeoutMs / 250 + 1 && Date.now() < until; i++) {
    last = await serverStates(statsPort);
    if (servers.every((s) => (last.get(s) ?? "").startsWith(state))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${servers.filter((s) => !(last.get(s) ?? "").startsWith(state)).map((s) => `${s} is ${last.get(s) ?? "absent"}`).join(", ")}; wanted ${state} within ${timeoutMs} ms`);
}

/** A raw HTTP/1.1 exchange: writes `head` (and optional body chunks), returns what came back within `waitMs`. */
export async function rawRequest(port: number, head: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(head));
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); resolve(data); }, waitMs);
    socket.on("data", (c) => {
      data += c.toString();
      if (data.includes("\r\n\r\n") && data.includes("}")) { clearTimeout(timer); socket.destroy(); resolve(data); }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}
