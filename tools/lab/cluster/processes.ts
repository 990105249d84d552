/**
 * Server processes the lab starts: output to a log file, stopped by PID (never by name), every wait bounded.
 * A process that exits while the lab waits for it is reported with the end of its own log, so a test
 * failure names the process and quotes the server's own error.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export interface LabProcess {
  name: string;
  pid: number;
  logFile: string;
  alive(): boolean;
  /** Exit code or signal once exited. */
  exit(): string | undefined;
  /** The last `lines` lines of its log. */
  tail(lines?: number): string;
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  logFile: string;
}

export function startProcess(o: StartOptions): LabProcess {
  const fd = openSync(o.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { env: o.env, cwd: o.cwd, stdio: ["ignore", fd, fd], detached: false });
  } finally {
    closeSync(fd);
  }
  let exitDescription: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => { exitDescription = signal ? `signal ${signal}` : `exit code ${code}`; resolve(); });
    child.once("error", (e) => { exitDescription = `failed to start: ${e.message}`; resolve(); });
  });
  const pid = child.pid ?? -1;
  const proc: LabProcess = {
    name: o.name,
    pid,
    logFile: o.logFile,
    alive: () => exitDescription === undefined,
    exit: () => exitDescription,
    tail(lines = 25) {
      try {
        return readFileSync(o.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    },
    async stop(timeoutMs = 10_000) {
      if (!proc.alive() || pid < 0) return;
      process.kill(pid, "SIGTERM");
      await Promise.race([exited, sleep(timeoutMs)]);
      if (proc.alive()) {
        process.kill(pid, "SIGKILL");
        await Promise.race([exited, sleep(5_000)]);
      }
    },
  };
  return proc;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ProcessFailed extends Error {}

function failure(p: LabProcess, what: string): ProcessFailed {
  return new ProcessFailed(`${p.name} ${what}; the end of its log (${p.logFile}):\n${p.tail()}`);
}

/** Polls `check` every `intervalMs` until it returns true, the process exits, or `deadlineMs` passes. */
export async function waitUntil(p: LabProcess, what: string, deadlineMs: number, check: () => Promise<boolean>, intervalMs = 250): Promise<void> {
  const until = Date.now() + deadlineMs;
  const maxTries = Math.ceil(deadlineMs / intervalMs) + 1;
  for (let i = 0; i < maxTries && Date.now() < until; i++) {
    if (!p.alive()) throw failure(p, `exited (${p.exit()}) before ${what}`);
    if (await check().catch(() => false)) return;
    await sleep(intervalMs);
  }
  throw failure(p, `did not reach "${what}" within ${deadlineMs} ms`);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.status === 200;
}
