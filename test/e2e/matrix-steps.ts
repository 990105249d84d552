/**
 * Client steps for the lab, driven by matrix-js-sdk through HAProxy's client port. Each step runs one
 * client action and is checked against HAProxy's log: the request reached the pool the expectations table
 * names (server slot `<role><n>`), and Synapse answered it. Expectations are written out per tier in the
 * tests, never read from the routing table.
 */
import { deflateSync } from "node:zlib";
import { createClient, Method, Preset, type MatrixClient } from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";
import type { HaproxyLog, LoggedRequest } from "../../tools/lab/cluster/haproxy-log.ts";
import type { Lab } from "../../tools/lab/cluster/lab.ts";

// The SDK logs through loglevel; its chatter would bury the step table.
(logger as unknown as { disableAll(): void }).disableAll();

export interface Expectation {
  method: string;
  /** Matched against the logged path (query string removed). */
  path: RegExp;
  /** Pool role whose servers must serve it (`main`, `generic`, `typing-writer`, …), or `haproxy` when HAProxy answers itself. */
  pool: string;
  status?: number;
}

export interface StepRecord {
  step: string;
  expected: string;
  served: string;
  status: number;
}

export function poolOf(server: string): string {
  return server === "<NOSRV>" ? "haproxy" : server.replace(/-?\d+$/, "");
}

export class StepRunner {
  readonly records: StepRecord[] = [];
  private readonly log: HaproxyLog;

  constructor(log: HaproxyLog) {
    this.log = log;
  }

  /** Runs `action`, then finds the logged request(s) the expectation names (bounded wait for the log line). */
  async step<T>(step: string, expect: Expectation, action: () => Promise<T>): Promise<{ result: T; requests: LoggedRequest[] }> {
    const mark = this.log.mark();
    const result = await action();
    let found: LoggedRequest[] = [];
    for (let i = 0; i < 40; i++) {
      found = this.log.since(mark).filter((r) => r.method === expect.method && expect.path.test(r.path));
      if (found.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (found.length === 0) throw new Error(`${step}: no ${expect.method} request matching ${expect.path} in HAProxy's log`);
    for (const r of found) {
      this.records.push({ step, expected: expect.pool, served: `${r.backend}/${r.server}`, status: r.status });
      const status = expect.status ?? 200;
      if (poolOf(r.server) !== expect.pool || r.status !== status) {
        throw new Error(`${step}: ${r.method} ${r.path} was served by ${r.backend}/${r.server} with ${r.status}; expected pool "${expect.pool}" with ${status}`);
      }
    }
    return { result, requests: found };
  }
}

export function client(baseUrl: string, auth?: { userId: string; accessToken: string; deviceId: string }): MatrixClient {
  return createClient({ baseUrl, ...(auth ?? {}), timelineSupport: true });
}

export async function login(baseUrl: string, user: string, password: string): Promise<MatrixClient> {
  const anonymous = client(baseUrl);
  const r = await anonymous.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user }, password });
  return client(baseUrl, { userId: r.user_id, accessToken: r.access_token, deviceId: r.device_id });
}

/** Alice and Bob registered on the lab, logged in through HAProxy, both in a new public room of Alice's. */
export async function twoUsersInARoom(lab: Pick<Lab, "registerUser" | "clientUrl">, roomName: string): Promise<{ alice: MatrixClient; bob: MatrixClient; roomId: string }> {
  lab.registerUser("alice", "alice-lab-password");
  lab.registerUser("bob", "bob-lab-password");
  const alice = await login(lab.clientUrl, "alice", "alice-lab-password");
  const bob = await login(lab.clientUrl, "bob", "bob-lab-password");
  const roomId = (await alice.createRoom({ name: roomName, preset: Preset.PublicChat })).room_id;
  await bob.joinRoom(roomId);
  return { alice, bob, roomId };
}

/** A small real PNG (a gradient), so Synapse's thumbnailer has something to scale. */
export function pngImage(size = 64): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const o = y * (1 + size * 3);
    for (let x = 0; x < size; x++) rows.set([x * 4, y * 4, 128], o + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

export interface SyncResponse {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline: { events: { event_id: string; content: { body?: string } }[] } }> };
}

/** One /sync through the SDK's HTTP layer (no long poll), initial when `since` is absent. */
export function syncOnce(cl: MatrixClient, since?: string): Promise<SyncResponse> {
  return cl.http.authedRequest<SyncResponse>(Method.Get, "/sync", { timeout: "0", ...(since ? { since } : {}) });
}

/** Client API paths of any version, as HAProxy logs them. */
export function clientPath(p: string): RegExp {
  return new RegExp(`^/_matrix/client/(v3|r0|v1)/${p}$`);
}
