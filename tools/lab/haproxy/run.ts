/**
 * A lab for the generated HAProxy configuration, shared by the tests and the benchmark. Runs the real `haproxy` with a tier's generated configuration on 127.0.0.1: the same routing, balancing,
 * health checks and fallbacks; only the listen addresses, the error file's path and the server addresses
 * (static loopback stubs instead of cluster DNS) differ. Stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort, waitForPort } from "../ports.ts";
import { join } from "node:path";
import { d } from "../../../apps/haproxy/config-model.ts";
import { serialize } from "../../../apps/haproxy/config-model.ts";
import { haproxyConfig, overloadResponse, serverName, type HaproxyRuntime, type ServerGroup } from "../../../apps/haproxy/haproxy-config.ts";
import type { Site } from "../../../apps/site/site.ts";
import type { TierSizing } from "../../../apps/site/sizing.ts";
import { synapseTopology } from "../../../apps/synapse/topology.ts";
import { startStub, type Stub } from "./stubs.ts";

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `matrix-gitops-${prefix}-`));
}

/** `haproxy -c` on a configuration text; returns the exit status and everything it printed. */
export function haproxyCheck(configText: string): { status: number | null; output: string } {
  const dir = tempDir("haproxy-check");
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, configText);
  const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface HaproxyProcess {
  pid: number;
  port: number;
  statsPort: number;
  adminPort: number;
  adminSocket: string;
  configText: string;
  configFile: string;
  stop(): Promise<void>;
}

/** Starts haproxy on a configuration text and waits (at most 10 s) for its client port. Stopped by PID. */
export async function spawnHaproxy(configText: string, ports: HaproxyRuntime["ports"], dir = tempDir("haproxy-run")): Promise<HaproxyProcess> {
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, configText);
  const child: ChildProcess = spawn("haproxy", ["-f", cfg, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => { stderr += c.toString(); });
  const pid = child.pid as number;
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    await waitForPort(ports.client, 10_000, "haproxy");
  } catch (e) {
    if (pid && alive()) process.kill(pid, "SIGKILL");
    throw new Error(`${(e as Error).message} (config ${cfg})\n${stderr}`);
  }
  return {
    pid, port: ports.client, statsPort: ports.stats, adminPort: ports.admin, adminSocket: join(dir, "admin.sock"), configText, configFile: cfg,
    async stop() {
      if (!alive()) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (alive()) process.kill(pid, "SIGKILL");
    },
  };
}

export async function labPorts(): Promise<HaproxyRuntime["ports"]> {
  return { client: await freePort(), federation: await freePort(), stats: await freePort(), admin: await freePort() };
}

export interface RunningHaproxy extends HaproxyProcess {
  /** Stubs per server group role (`synchrotron`, `generic`, `main`, …). */
  stubs: Map<string, Stub[]>;
}

export interface LabOptions {
  /** Global maxconn; this machine's open-file limit (20000, not raisable here) is below a pod's. */
  maxconnCap?: number;
  /** Another configuration builder over the same stubs (the benchmark's baseline). */
  build?: typeof haproxyConfig;
}

/**
 * Starts stubs for every server group (the pool's minimum count, capped at 8; main is `main-0`) and haproxy
 * in front of them, with static loopback addresses in place of DNS names.
 */
export async function startHaproxy(site: Site, tier: TierSizing, options: LabOptions = {}): Promise<RunningHaproxy> {
  const dir = tempDir("haproxy-run");
  const topology = synapseTopology(tier);
  const stubs = new Map<string, Stub[]>();
  const minOf = (role: string) => {
    const pool = topology.pools.find((p) => p.role === role);
    if (!pool) return 1;
    return pool.scaling.kind === "named" ? pool.scaling.replicas : pool.scaling.bounds.min;
  };
  const groups = new Map<string, ServerGroup>();
  // First pass: learn which groups the configuration uses.
  const probe: HaproxyRuntime = {
    bindHost: "127.0.0.1", adminBindHost: "127.0.0.1", ports: { client: 1, federation: 2, stats: 3, admin: 4 }, errorFile429: "/dev/null", adminSocket: "/dev/null",
    servers(g) { groups.set(g.role, g); return []; },
  };
  haproxyConfig(site, tier, topology, probe);
  try {
    for (const g of groups.values()) {
      const count = Math.min(8, minOf(g.role), g.pods.length);
      stubs.set(g.role, await Promise.all(Array.from({ length: count }, (_, i) => startStub(`${g.role}-${i}`))));
    }
    const errorFile = join(dir, "429.http");
    writeFileSync(errorFile, overloadResponse());
    const ports = await labPorts();
    const runtime: HaproxyRuntime = {
      bindHost: "127.0.0.1",
      adminBindHost: "127.0.0.1",
      ports,
      errorFile429: errorFile,
      adminSocket: join(dir, "admin.sock"),
      maxconnCap: options.maxconnCap ?? 4000,
      servers(g) {
        return (stubs.get(g.role) ?? []).map((s, i) => d("server", serverName(g, i), `127.0.0.1:${s.port}`, "maxconn", g.maxconn));
      },
    };
    const configText = serialize((options.build ?? haproxyConfig)(site, tier, topology, runtime), "# lab configuration");
    const hx = await spawnHaproxy(configText, ports, dir);
    return {
      ...hx,
      stubs,
      async stop() {
        await hx.stop();
        await Promise.all([...stubs.values()].flat().map((s) => s.stop()));
      },
    };
  } catch (e) {
    await Promise.all([...stubs.values()].flat().map((s) => s.stop()));
    throw e;
  }
}

export interface Answer {
  status: number;
  server?: string;
  body: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** One request through haproxy; `server` is the stub that answered (undefined when haproxy answered). */
export async function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  try {
    const parsed = JSON.parse(text) as { server?: string; url?: string; headers?: Record<string, string> };
    return { status: res.status, server: parsed.server, url: parsed.url, headers: parsed.headers, body: text };
  } catch {
    return { status: res.status, body: text };
  }
}
