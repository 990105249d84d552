/**
 * Which kustomize renders the overlays. Default: the repo's pinned kubectl (kustomize v5.6). `KUSTOMIZE`
 * may name another binary (a standalone `kustomize` or a `kubectl`), as Argo CD's bundled one would be.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { promisify } from "node:util";
import { pinnedKubectl } from "./pinned-kubectl.ts";

const run = promisify(execFile);

export interface Kustomize {
  binary: string;
  /** Arguments before the overlay path: `build` for kustomize, `kustomize` for kubectl. */
  subcommand: string[];
  version: string;
}

function isKubectl(binary: string): boolean {
  return basename(binary).startsWith("kubectl");
}

async function versionOf(binary: string): Promise<string> {
  const args = isKubectl(binary) ? ["version", "--client"] : ["version"];
  const { stdout } = await run(binary, args, { timeout: 30_000 });
  const m = /Kustomize Version: (v[\d.]+)/.exec(stdout) ?? /(v?\d+\.\d+\.\d+)/.exec(stdout);
  if (!m?.[1]) throw new Error(`${binary}: cannot read the kustomize version from: ${stdout.trim()}`);
  return m[1].startsWith("v") ? m[1] : `v${m[1]}`;
}

/** The pinned kubectl never changes under its versioned path: its answer is kept beside it (a process start saved). */
async function pinnedVersion(binary: string): Promise<string> {
  const file = `${binary}.kustomize-version`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const version = await versionOf(binary);
  writeFileSync(`${file}.tmp-${process.pid}`, `${version}\n`);
  renameSync(`${file}.tmp-${process.pid}`, file);
  return version;
}

let cached: Promise<Kustomize> | undefined;

export function findKustomize(): Promise<Kustomize> {
  cached ??= (async () => {
    const binary = process.env.KUSTOMIZE || pinnedKubectl();
    const version = process.env.KUSTOMIZE ? await versionOf(binary) : await pinnedVersion(binary);
    const major = Number(/^v(\d+)/.exec(version)?.[1]);
    if (!(major >= 5)) throw new Error(`${binary} bundles kustomize ${version}; kustomize >= 5 is required`);
    return { binary, subcommand: isKubectl(binary) ? ["kustomize"] : ["build"], version };
  })();
  return cached;
}

/**
 * A render lives a third of a second and peaks near 200 MiB: Go's garbage collector only spends CPU there,
 * which the other renders running beside it need. No collection until 512 MiB, then Go keeps under that
 * (GOMEMLIMIT). A GOGC or GOMEMLIMIT in the caller's environment wins.
 */
const goMemoryEnv = { GOGC: "off", GOMEMLIMIT: "512MiB" };

/** `kustomize build <dir>` with the chosen binary; rejects with kustomize's own message on failure. */
export async function kustomizeBuild(dir: string): Promise<string> {
  const k = await findKustomize();
  try {
    const { stdout } = await run(k.binary, [...k.subcommand, dir], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000, env: { ...goMemoryEnv, ...process.env } });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`kustomize build ${dir} failed: ${(err.stderr || err.message).trim()}`);
  }
}
