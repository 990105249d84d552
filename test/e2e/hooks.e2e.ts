/**
 * The Argo CD hook Jobs, as rendered, against the lab: the preflight (the Phase 1 services are what Synapse
 * needs; every failure case against the real PostgreSQL, Redis and S3 server) and the smoke test
 * (the source document's verification checks). Both pass on a healthy lab and fail with a message naming
 * what is missing. Element Web is not in the lab (its image content cannot be installed
 * here; test/calls runs its server block in a real nginx), so the smoke test runs without its Element check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startLab, type Lab } from "../../tools/lab/cluster/lab.ts";

let lab: Lab;
// Failure drills need no five-minute retry budget.
const quick = { PREFLIGHT_TIMEOUT_SECONDS: "2", PREFLIGHT_INTERVAL_SECONDS: "1", SMOKE_ATTEMPTS: "2", SMOKE_INTERVAL_SECONDS: "1" };
const noElement = { SMOKE_ELEMENT_URL: "" };

beforeAll(async () => {
  lab = await startLab({ tier: "ccu-1k", keep: process.env.LAB_KEEP === "1" });
});

/** A JSON variable of the rendered preflight Job, for drills that change one field of it. */
function renderedJson(name: string): Record<string, unknown> {
  const job = lab.objects.find((o) => o.kind === "Job" && o.metadata.name === "matrix-preflight");
  const env = (job?.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]?.env ?? [];
  const value = env.find((v) => v.name === name)?.value;
  if (value === undefined) throw new Error(`the rendered preflight Job has no ${name}`);
  return JSON.parse(value) as Record<string, unknown>;
}

/** redis-cli against the lab's Redis, as an operator would change it. */
function redisCli(password: string | null, ...args: string[]): void {
  const address = lab.network.resolve(lab.site.redis.host);
  const r = spawnSync("/usr/bin/redis-cli", ["-h", String(address), "-p", String(lab.site.redis.port), ...(password ? ["--no-auth-warning", "-a", password] : []), ...args],
    { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 || !/^OK/.test(r.stdout)) throw new Error(`redis-cli ${args.join(" ")}: ${r.stdout}${r.stderr}`);
}

afterAll(async () => {
  await lab?.stop();
});

describe("Argo CD hook Jobs against the lab", () => {
  it("the smoke test passes on the running deployment", async () => {
    const r = await lab.runJob("matrix-smoke-test", noElement);
    expect(r.output).toContain("smoke test: HAProxy /health: ok");
    expect(r.output).toContain("smoke test: federation version: ok");
    expect(r.ok, r.output).toBe(true);
  });

  it("the preflight passes with every Phase 1 service as Synapse needs it, and leaves no probe object", async () => {
    const r = await lab.runJob("matrix-preflight");
    expect(r.ok, r.output).toBe(true);
    // The tier's need, written out (README, Size tiers): 315 for Synapse at HPA maximums plus 13.
    expect(r.output).toMatch(/preflight: PostgreSQL at \S+: ok: PostgreSQL 15\.\d+, UTF8 with C collation and ctype, max_connections 328 \(this tier needs 328\)/);
    expect(r.output).toMatch(/preflight: Redis at \S+: ok: AUTH accepted and PING answered/);
    expect(r.output).toMatch(new RegExp(`preflight: MinIO at \\S+: ok: bucket ${lab.site.s3.bucket} exists, a probe object was put and deleted`));
    expect(existsSync(join(lab.s3.bucketDir, "matrix-gitops-preflight")) ? readdirSync(join(lab.s3.bucketDir, "matrix-gitops-preflight")) : []).toEqual([]);
  });

  describe("the preflight fails naming the service, what it found and the fix", () => {
    const postgresWith = (change: Record<string, unknown>) => ({ ...quick, PREFLIGHT_POSTGRES: JSON.stringify({ ...renderedJson("PREFLIGHT_POSTGRES"), ...change }) });
    const s3With = (change: Record<string, unknown>) => ({ ...quick, PREFLIGHT_S3: JSON.stringify({ ...renderedJson("PREFLIGHT_S3"), ...change }) });
    const failure = async (env: Record<string, string>, service: string, pattern: RegExp) => {
      const r = await lab.runJob("matrix-preflight", env);
      expect(r.ok, r.output).toBe(false);
      const line = r.output.split("\n").find((l) => l.startsWith(`preflight: ${service} at `) && l.includes("FAILED"));
      expect(line, r.output).toMatch(pattern);
      expect(r.output).toMatch(/preflight: 1 of 3 Phase 1 check\(s\) failed/);
      return line as string;
    };

    it("PostgreSQL: the Secret's password is not the role's", async () => {
      const ref = lab.site.postgres.passwordSecret;
      const real = lab.secrets.get(ref.name, ref.key);
      lab.secrets.set(ref.name, ref.key, "not-the-role-password");
      try {
        await failure(quick, "PostgreSQL", new RegExp(`FAILED: login as ${lab.site.postgres.user} refused \\(.*password authentication failed.*\\)\\. Fix: the password in site.postgres and the Secret ${ref.name} \\(key ${ref.key}\\) must be the role's password`));
      } finally {
        lab.secrets.set(ref.name, ref.key, real);
      }
    });

    it("PostgreSQL: the database does not exist", async () => {
      await failure(postgresWith({ database: "no_such_db" }), "PostgreSQL", /FAILED: .*database "no_such_db" does not exist.*\. Fix: create the role and the database .*ENCODING 'UTF8', LC_COLLATE 'C', LC_CTYPE 'C'/);
    });

    it("PostgreSQL: the server is older than Synapse's minimum", async () => {
      // The lab runs PostgreSQL 15; a minimum of 16 exercises the comparison with the server's own version.
      await failure({ ...quick, PREFLIGHT_POSTGRES_MIN_VERSION: "160000" }, "PostgreSQL", /FAILED: server version 15\.\d+\. Fix: Synapse needs PostgreSQL 16\.0 or newer/);
    });

    it("PostgreSQL: the database's encoding, collation or ctype is not what Synapse accepts", async () => {
      const owner = lab.site.postgres.user;
      lab.postgres.sql(`CREATE DATABASE preflight_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 OWNER ${owner}`);
      lab.postgres.sql(`CREATE DATABASE preflight_collate ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C' TEMPLATE template0 OWNER ${owner}`);
      lab.postgres.sql(`CREATE DATABASE preflight_ctype ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8' TEMPLATE template0 OWNER ${owner}`);
      await failure(postgresWith({ database: "preflight_latin1" }), "PostgreSQL", /FAILED: database preflight_latin1 has encoding LATIN1, collation C and ctype C\. Fix: Synapse needs UTF8 with C collation and ctype: recreate the database/);
      await failure(postgresWith({ database: "preflight_collate" }), "PostgreSQL", /FAILED: database preflight_collate has encoding UTF8, collation C\.UTF-8 and ctype C\. Fix/);
      await failure(postgresWith({ database: "preflight_ctype" }), "PostgreSQL", /FAILED: database preflight_ctype has encoding UTF8, collation C and ctype C\.UTF-8\. Fix/);
    });

    it("PostgreSQL: the role may not create tables", async () => {
      // PostgreSQL 15 lets only the database owner create in schema public.
      lab.postgres.sql("CREATE DATABASE preflight_not_owner ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 OWNER postgres");
      await failure(postgresWith({ database: "preflight_not_owner" }), "PostgreSQL", new RegExp(`FAILED: role ${lab.site.postgres.user} may not create tables in schema public\\. Fix: make the role the database's owner`));
    });

    it("PostgreSQL: max_connections is below the tier's budget", async () => {
      await failure({ ...quick, PREFLIGHT_POSTGRES_MIN_CONNECTIONS: "329" }, "PostgreSQL", /FAILED: max_connections is 328\. Fix: this tier's Synapse processes and headroom need 329 .*spec\.postgresql\.parameters\.max_connections/);
    });

    it("Redis: the Secret's password is not Redis's, Redis has none, or the site gives none", async () => {
      const ref = lab.site.redis.passwordSecret;
      if (!ref) throw new Error("the example site has a Redis password");
      const real = lab.secrets.get(ref.name, ref.key);
      lab.secrets.set(ref.name, ref.key, "not-the-redis-password");
      try {
        await failure(quick, "Redis", /FAILED: AUTH refused: -WRONGPASS .*\. Fix: the password in site\.redis\.passwordSecret must be Redis's requirepass/);
      } finally {
        lab.secrets.set(ref.name, ref.key, real);
      }
      await failure({ ...quick, PREFLIGHT_REDIS: JSON.stringify({ ...renderedJson("PREFLIGHT_REDIS"), passwordFile: null }) }, "Redis",
        /FAILED: PING answered -NOAUTH .*\. Fix: Redis needs a password: set site\.redis\.passwordSecret/);
      redisCli(real, "CONFIG", "SET", "requirepass", "");
      try {
        await failure(quick, "Redis", /FAILED: AUTH refused: -ERR AUTH <password> called without any password configured.*\. Fix: Redis has no password while the site gives one/);
      } finally {
        redisCli(null, "CONFIG", "SET", "requirepass", real);
      }
    });

    it("S3: the bucket does not exist", async () => {
      await failure(s3With({ bucket: "no-such-bucket" }), "MinIO", /FAILED: bucket no-such-bucket does not exist\. Fix: create the bucket \(site\.s3\.bucket\)/);
    });

    it("S3: the media credentials are refused", async () => {
      const secret = lab.site.s3.credentialsSecret.name;
      await failure({ ...quick, AWS_SECRET_ACCESS_KEY: "not-the-secret-key" }, "MinIO",
        new RegExp(`FAILED: the media credentials were refused: HTTP 403 \\(SignatureDoesNotMatch\\)\\. Fix: the access key in the Secret ${secret} must be valid for bucket`));
      // S3 and MinIO say 403 InvalidAccessKeyId; versitygw, the lab's S3 server, 404 XAdminUserNotFound.
      await failure({ ...quick, AWS_ACCESS_KEY_ID: "NOSUCHACCESSKEY" }, "MinIO", /FAILED: the media credentials were refused: HTTP (403 \(InvalidAccessKeyId\)|404 \(XAdminUserNotFound\))\. Fix/);
    });
  });

  it("the smoke test fails naming the check when main is down, and when HAProxy is down", async () => {
    await lab.stopPod("synapse-main-0");
    // Main is down once HAProxy's health check says so; until then a request to it fails like an overload.
    await lab.waitForServerState("main", "DOWN");
    const withoutMain = await lab.runJob("matrix-smoke-test", { ...noElement, ...quick });
    expect(withoutMain.ok).toBe(false);
    // HAProxy says main is unavailable (a Matrix 503), not that the client is rate-limited.
    expect(withoutMain.output).toMatch(/smoke test: HAProxy \/health: FAILED: GET \/health through HAProxy answered 503/);
    await lab.haproxy.process.stop();
    const withoutHaproxy = await lab.runJob("matrix-smoke-test", { ...noElement, ...quick });
    expect(withoutHaproxy.ok).toBe(false);
    expect(withoutHaproxy.output).toMatch(/smoke test failed: HAProxy \/health, client API versions, federation version, CORS preflight/);
  });

  it("the preflight fails naming each Phase 1 service that is not reachable", async () => {
    await lab.phase1.s3.stop();
    const noS3 = await lab.runJob("matrix-preflight", quick);
    expect(noS3.ok).toBe(false);
    expect(noS3.output).toMatch(/preflight: MinIO at \S+: FAILED: is not reachable \(.*\)\. Deploy Phase 1 first/);
    expect(noS3.output).toMatch(/preflight: 1 of 3 Phase 1 check\(s\) failed/);
    await lab.phase1.redis.stop();
    const noRedis = await lab.runJob("matrix-preflight", quick);
    expect(noRedis.output).toMatch(/preflight: Redis at \S+: FAILED: is not reachable/);
    expect(noRedis.output).toMatch(/preflight: 2 of 3 Phase 1 check\(s\) failed/);
    await lab.phase1.postgresql.stop();
    const none = await lab.runJob("matrix-preflight", quick);
    expect(none.output).toMatch(/preflight: PostgreSQL at \S+: FAILED: is not reachable/);
    expect(none.output).toMatch(/preflight: 3 of 3 Phase 1 check\(s\) failed/);
  });
});
