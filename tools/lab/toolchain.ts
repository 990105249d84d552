/**
 * What the lab runs, pinned, and where it lives: Synapse from PyPI at the version the site's image pins,
 * in a repo-local virtualenv (`.lab/`, git-ignored), an S3 server built from the Go module proxy, and the
 * Debian servers (PostgreSQL 15, Redis, HAProxy, dnsmasq) that `.ci/run` installs. `ensureToolchain`
 * installs what is missing and is safe to run again; a missing system package is an error naming it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureGoBinary, runOrThrow } from "../validate/go-tools.ts";
import { s3ProviderPipArgs, s3ProviderRequirements, s3ProviderVersion } from "../../apps/synapse/s3-provider.ts";
import type { Images } from "../../apps/site/site.ts";
import { repoRoot } from "../emit/load-config.ts";

export const labRoot = process.env.MATRIX_LAB_DIR ?? join(repoRoot, ".lab");

/** versitygw: an Apache-2.0 S3 gateway; its posix backend keeps each object as a file. */
export const s3Server = { module: "github.com/versity/versitygw/cmd/versitygw", version: "v1.8.0" } as const;
/** Synapse's extras the image installs that the lab needs: PostgreSQL (psycopg2) and Redis replication. */
const synapseExtras = "postgres,redis";
const constraintsFile = join(import.meta.dirname, "synapse-constraints.txt");

/** PostgreSQL's server binaries: Debian 12's 15, or the newest another distribution's package installed. */
export const postgresBin = (() => {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).map(Number).sort((a, b) => b - a) : [];
  const found = versions.find((v) => existsSync(join(root, String(v), "bin", "postgres")));
  return join(root, String(found ?? 15), "bin");
})();

/** The Debian package behind each system binary the lab runs. */
const systemBinaries: [string, string][] = [
  [join(postgresBin, "postgres"), "postgresql-15"],
  [join(postgresBin, "initdb"), "postgresql-15"],
  ["/usr/bin/redis-server", "redis-server"],
  ["/usr/sbin/haproxy", "haproxy"],
  ["/usr/sbin/dnsmasq", "dnsmasq-base"],
  ["/usr/bin/pg_config", "libpq-dev"],
  // Every Synapse container preloads jemalloc (the image's start script does; cache autotuning needs it).
  [`/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/libjemalloc.so.2`, "libjemalloc2"],
  ["/usr/bin/setpriv", "util-linux"],
];

export interface Toolchain {
  synapseVersion: string;
  venv: string;
  python: string;
  /** What the media image adds to Synapse's (the S3 storage provider), when the site names one; else null. */
  mediaModules: string | null;
  versitygw: string;
}

/** What stands in for a container image in the lab: directories first on PATH, and what the image sets in its environment. */
export interface ImageStandIn {
  path: string[];
  env: Record<string, string>;
}

/** The stand-in for each image a lab pod may run; an image the lab cannot run is an error naming it. */
export function imageStandIn(t: Omit<Toolchain, "versitygw">, images: Images, image: string): ImageStandIn {
  if (image === images.synapseMedia && t.mediaModules) return { path: [join(t.venv, "bin")], env: { PYTHONPATH: t.mediaModules } };
  if (image === images.synapse) return { path: [join(t.venv, "bin")], env: {} };
  if (image === images.haproxy) return { path: ["/usr/sbin"], env: {} };
  throw new Error(`the lab has no stand-in for image ${image}`);
}

/** `ghcr.io/element-hq/synapse:v1.157.0` → `1.157.0`: the PyPI release that is the image's code. */
export function synapseVersionOf(image: string): string {
  const m = /:v?(\d+\.\d+\.\d+)(@sha256:[a-f0-9]{64})?$/.exec(image);
  if (!m?.[1]) throw new Error(`site.images.synapse: cannot read a Synapse version from "${image}"; the lab needs a version tag`);
  return m[1];
}

function ensureVenv(version: string): { venv: string; python: string } {
  const venv = join(labRoot, `synapse-${version}`);
  const python = join(venv, "bin", "python");
  const stamp = join(venv, ".installed");
  const wanted = `matrix-synapse[${synapseExtras}]==${version}`;
  const stampText = `${wanted}\n${readFileSync(constraintsFile, "utf8")}`;
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === stampText) return { venv, python };
  runOrThrow("python3", ["-m", "venv", "--clear", venv]);
  runOrThrow(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", constraintsFile, wanted]);
  writeFileSync(stamp, stampText);
  return { venv, python };
}

/** Built once into `.lab/bin/versitygw-<version>` (the same helper builds the validators). */
function ensureS3Server(): string {
  return ensureGoBinary(s3Server.module, s3Server.version, "versitygw");
}

function requirePackages(binaries: [string, string][]): void {
  const missing = [...new Set(binaries.filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg))];
  if (missing.length > 0) {
    throw new Error(`the lab needs Debian packages that are not installed: ${missing.join(", ")} (.ci/run installs them: apt-get install ${missing.join(" ")})`);
  }
}

/**
 * The media image's addition (apps/synapse-workers/media-image/Dockerfile): the pinned S3 storage provider,
 * installed apart from the venv so that the default media pods still prove their own installer works.
 */
function ensureMediaModules(python: string): string {
  const dir = join(labRoot, `media-image-s3-${s3ProviderVersion}-${createHash("sha256").update(s3ProviderRequirements).digest("hex").slice(0, 8)}`);
  const stamp = join(dir, ".installed");
  if (existsSync(stamp)) return dir;
  // The Dockerfile's own command on the same hash-pinned list.
  mkdirSync(dir, { recursive: true });
  const requirements = join(dir, "requirements.txt");
  writeFileSync(requirements, s3ProviderRequirements);
  runOrThrow(python, s3ProviderPipArgs(requirements, dir));
  writeFileSync(stamp, s3ProviderVersion);
  return dir;
}

/** Synapse alone, for checking configurations with Synapse's own loader (npm test). */
export function ensureSynapse(images: Pick<Images, "synapse" | "synapseMedia">): Omit<Toolchain, "versitygw"> {
  requirePackages(systemBinaries.filter(([bin]) => bin === "/usr/bin/pg_config"));
  mkdirSync(labRoot, { recursive: true });
  const synapseVersion = synapseVersionOf(images.synapse);
  const venv = ensureVenv(synapseVersion);
  return { synapseVersion, ...venv, mediaModules: images.synapseMedia ? ensureMediaModules(venv.python) : null };
}

export function ensureToolchain(images: Pick<Images, "synapse" | "synapseMedia">): Toolchain {
  requirePackages(systemBinaries);
  return { ...ensureSynapse(images), versitygw: ensureS3Server() };
}

/** Installs the toolchain from the command line (`node tools/lab/toolchain.ts`), for .ci/run. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadSite } = await import("../emit/load-config.ts");
  const site = await loadSite();
  const t = ensureToolchain(site.images);
  console.log(`lab toolchain: Synapse ${t.synapseVersion} in ${t.venv}; S3 server ${t.versitygw}`);
}
