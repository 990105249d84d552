/**
 * The Phase 1 services of the source document on loopback, each at the address its cluster name resolves
 * to in the lab and on its cluster port: PostgreSQL 15 (database created as Synapse requires: UTF8, C
 * collation and ctype, a role with a password), Redis 7 with a password, an S3 server with the media bucket
 * and credentials, and a DNS server that answers cluster names for HAProxy's `resolvers`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { postgresBin } from "../toolchain.ts";
import { tcpOpen } from "../ports.ts";
import { startProcess, waitUntil, type LabProcess } from "./processes.ts";

const asPostgres = ["--reuid=postgres", "--regid=postgres", "--init-groups"];

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("the lab runs PostgreSQL as the `postgres` user, which does not exist (install postgresql-15)");
  return { uid, gid: id("-g") };
}

export interface PostgresOptions {
  dir: string;
  address: string;
  port: number;
  database: string;
  user: string;
  password: string;
  maxConnections: number;
  /** Collation and ctype of Synapse's database; Synapse requires C (a drill sets another). */
  collation?: string;
}

export interface RunningPostgres {
  process: LabProcess;
  socketDir: string;
  /** Runs SQL as the superuser over the Unix socket; returns psql's output. */
  sql(statement: string, database?: string): string;
}

export async function startPostgres(o: PostgresOptions): Promise<RunningPostgres> {
  const { uid, gid } = postgresIds();
  const data = join(o.dir, "data");
  mkdirSync(data, { recursive: true });
  chownSync(o.dir, uid, gid);
  chownSync(data, uid, gid);
  chmodSync(data, 0o700);
  const init = spawnSync("setpriv", [...asPostgres, join(postgresBin, "initdb"), "-D", data, "-U", "postgres", "--encoding=UTF8",
    "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256"], { encoding: "utf8", timeout: 120_000 });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stdout}${init.stderr}`);
  const process = startProcess({
    name: "postgresql",
    command: "setpriv",
    args: [...asPostgres, join(postgresBin, "postgres"), "-D", data,
      "-c", `listen_addresses=${o.address}`, "-c", `port=${o.port}`, "-c", `unix_socket_directories=${o.dir}`,
      "-c", `max_connections=${o.maxConnections}`,
      // A throw-away database: durability settings off for speed on two cores.
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    env: { PATH: "/usr/bin:/bin" },
    logFile: join(o.dir, "postgresql.log"),
  });
  await waitUntil(process, "accepting TCP connections", 30_000, () => tcpOpen(o.address, o.port));
  const sql = (statement: string, database = "postgres") => {
    const r = spawnSync("setpriv", [...asPostgres, join(postgresBin, "psql"), "-h", o.dir, "-p", String(o.port), "-U", "postgres",
      "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement], { encoding: "utf8", timeout: 30_000 });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr || r.stdout}`);
    return r.stdout.trim();
  };
  const collation = o.collation ?? "C";
  sql(`CREATE ROLE ${o.user} LOGIN PASSWORD '${o.password.replaceAll("'", "''")}'`);
  // Synapse's docs/postgres.md: UTF8 with C collation and ctype, from template0.
  sql(`CREATE DATABASE ${o.database} ENCODING 'UTF8' LC_COLLATE '${collation}' LC_CTYPE '${collation}' TEMPLATE template0 OWNER ${o.user}`);
  return { process, socketDir: o.dir, sql };
}

export interface RedisOptions {
  dir: string;
  address: string;
  port: number;
  password: string | null;
}

export async function startRedis(o: RedisOptions): Promise<LabProcess> {
  mkdirSync(o.dir, { recursive: true });
  const conf = join(o.dir, "redis.conf");
  writeFileSync(conf, [
    `bind ${o.address}`, `port ${o.port}`, "protected-mode yes", "daemonize no", `dir ${o.dir}`, 'save ""', "appendonly no",
    ...(o.password ? [`requirepass "${o.password}"`] : []), "",
  ].join("\n"), { mode: 0o600 });
  const p = startProcess({ name: "redis", command: "/usr/bin/redis-server", args: [conf], env: { PATH: "/usr/bin:/bin" }, logFile: join(o.dir, "redis.log") });
  await waitUntil(p, "accepting connections", 20_000, () => tcpOpen(o.address, o.port));
  return p;
}

export interface S3Options {
  binary: string;
  dir: string;
  address: string;
  port: number;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RunningS3 {
  process: LabProcess;
  /** Where the posix backend keeps the bucket's objects: `<bucketDir>/<key>`. */
  bucketDir: string;
}

export async function startS3(o: S3Options): Promise<RunningS3> {
  const root = join(o.dir, "root");
  const bucketDir = join(root, o.bucket);
  // The posix backend serves each top-level directory as a bucket.
  mkdirSync(bucketDir, { recursive: true });
  const p = startProcess({
    name: "s3",
    command: o.binary,
    args: ["--port", `${o.address}:${o.port}`, "--region", o.region, "posix", "--nometa", root],
    env: { PATH: "/usr/bin:/bin", ROOT_ACCESS_KEY_ID: o.accessKeyId, ROOT_SECRET_ACCESS_KEY: o.secretAccessKey },
    logFile: join(o.dir, "s3.log"),
  });
  await waitUntil(p, "accepting connections", 20_000, () => tcpOpen(o.address, o.port));
  return { process: p, bucketDir };
}

export interface RunningDns {
  process: LabProcess;
  address: string;
  port: number;
  /** Rewrites the records and makes the server re-read them. */
  update(hosts: string): void;
}

/** dnsmasq answering only the lab's names (no upstream, no /etc/hosts), as cluster DNS would. */
export async function startDns(dir: string, port: number, hosts: string): Promise<RunningDns> {
  mkdirSync(dir, { recursive: true });
  // dnsmasq drops root for `nobody` before it reads the records: they must be world-readable.
  chmodSync(dir, 0o755);
  const file = join(dir, "hosts");
  writeFileSync(file, hosts, { mode: 0o644 });
  const address = "127.0.0.1";
  const p = startProcess({
    name: "dns",
    command: "/usr/sbin/dnsmasq",
    args: ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", `--addn-hosts=${file}`,
      `--listen-address=${address}`, "--bind-interfaces", `--port=${port}`, "--log-facility=-", "--local-ttl=1", `--pid-file=`],
    env: { PATH: "/usr/bin:/bin:/usr/sbin" },
    logFile: join(dir, "dns.log"),
  });
  await waitUntil(p, "started", 10_000, async () => readFileSync(join(dir, "dns.log"), "utf8").includes("started"));
  return {
    process: p, address, port,
    update(next) { writeFileSync(file, next); process.kill(p.pid, "SIGHUP"); },
  };
}
