/**
 * HAProxy's request log (`option httplog`, raw to stdout) as data: which backend and server answered each
 * request, with its status. The lab checks every client step against it, and maps servers to pods through
 * the admin socket (`show servers state`): the address a server resolved to is the pod's.
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";

export interface LoggedRequest {
  backend: string;
  server: string;
  status: number;
  method: string;
  path: string;
  /** Total time (Tt) in milliseconds. */
  totalMs: number;
}

// client:port [date] frontend backend/server Tq/Tw/Tc/Tr/Tt status bytes ... "METHOD URI HTTP/x"
const line = /^\S+ \[[^\]]+\] \S+ (\S+)\/(\S+) -?\d+\/-?\d+\/-?\d+\/-?\d+\/\+?(\d+) (\d+) .*"(\S+) (\S+) HTTP\/[\d.]+"$/;

export class HaproxyLog {
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** The current end of the log, to read only what a step adds. */
  mark(): number {
    try {
      return readFileSync(this.file).length;
    } catch {
      return 0;
    }
  }

  since(mark: number): LoggedRequest[] {
    const text = readFileSync(this.file).subarray(mark).toString("utf8");
    const out: LoggedRequest[] = [];
    for (const l of text.split("\n")) {
      const m = line.exec(l.trim());
      if (!m) continue;
      const uri = m[6] as string;
      out.push({ backend: m[1] as string, server: m[2] as string, totalMs: Number(m[3]), status: Number(m[4]), method: m[5] as string, path: uri.split("?")[0] as string });
    }
    return out;
  }
}

/** `show servers state` over the admin socket: `<backend>/<server>` → the address DNS gave that slot. */
export async function serverAddresses(socket: string): Promise<Map<string, string>> {
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect(socket);
    let out = "";
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer on ${socket} within 5 s`)); }, 5000);
    s.on("connect", () => s.write("show servers state\n"));
    s.on("data", (c: Buffer) => { out += c.toString(); });
    s.on("end", () => { clearTimeout(timer); resolve(out); });
    s.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
  const map = new Map<string, string>();
  for (const l of text.split("\n")) {
    // be_id be_name srv_id srv_name srv_addr ...
    const f = l.trim().split(/\s+/);
    if (f.length > 5 && /^\d+$/.test(f[0] ?? "")) map.set(`${f[1]}/${f[3]}`, f[4] as string);
  }
  return map;
}
