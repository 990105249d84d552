/**
 * The Argo CD hook Jobs, as rendered, against the lab: the preflight (Phase 1 services) and the PostSync
 * smoke test (the source document's verification checks). Both pass on a healthy lab and fail with a
 * message naming what is missing. Element Web is not in the lab (its image content cannot be installed
 * here; test/calls runs its server block in a real nginx), so the smoke test runs without its Element check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../../tools/lab/cluster/lab.ts";

let lab: Lab;
// Failure drills need no five-minute retry budget.
const quick = { PREFLIGHT_TIMEOUT_SECONDS: "2", PREFLIGHT_INTERVAL_SECONDS: "1", SMOKE_ATTEMPTS: "2", SMOKE_INTERVAL_SECONDS: "1" };
const noElement = { SMOKE_ELEMENT_URL: "" };

beforeAll(async () => {
  lab = await startLab({ tier: "ccu-1k", keep: process.env.LAB_KEEP === "1" });
});

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

  it("the preflight passes with every Phase 1 service up", async () => {
    const r = await lab.runJob("matrix-preflight");
    expect(r.ok, r.output).toBe(true);
    for (const name of ["PostgreSQL", "Redis", "MinIO"]) expect(r.output).toMatch(new RegExp(`preflight: ${name} at \\S+ is reachable`));
  });

  it("the smoke test fails naming the check when main is down, and when HAProxy is down", async () => {
    await lab.stopPod("synapse-main-0");
    const withoutMain = await lab.runJob("matrix-smoke-test", { ...noElement, ...quick });
    expect(withoutMain.ok).toBe(false);
    // HAProxy says main is unavailable (a Matrix 503), not that the client is rate-limited.
    expect(withoutMain.output).toMatch(/smoke test: HAProxy \/health: FAILED: GET \/health through HAProxy answered 503/);
    await lab.haproxy.process.stop();
    const withoutHaproxy = await lab.runJob("matrix-smoke-test", { ...noElement, ...quick });
    expect(withoutHaproxy.ok).toBe(false);
    expect(withoutHaproxy.output).toMatch(/smoke test failed: HAProxy \/health, client API versions, federation version, CORS preflight/);
  });

  it("the preflight fails naming each missing Phase 1 service", async () => {
    await lab.phase1.s3.stop();
    const noS3 = await lab.runJob("matrix-preflight", quick);
    expect(noS3.ok).toBe(false);
    expect(noS3.output).toMatch(/preflight: MinIO at \S+ is not reachable/);
    expect(noS3.output).toMatch(/1 Phase 1 service\(s\) missing/);
    await lab.phase1.redis.stop();
    const noRedis = await lab.runJob("matrix-preflight", quick);
    expect(noRedis.output).toMatch(/preflight: Redis at \S+ is not reachable/);
    expect(noRedis.output).toMatch(/2 Phase 1 service\(s\) missing/);
    await lab.phase1.postgresql.stop();
    const none = await lab.runJob("matrix-preflight", quick);
    expect(none.output).toMatch(/preflight: PostgreSQL at \S+ is not reachable/);
    expect(none.output).toMatch(/3 Phase 1 service\(s\) missing/);
  });
});
