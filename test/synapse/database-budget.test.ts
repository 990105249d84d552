/**
 * The PostgreSQL connection budget: each process's pool size as rendered, the tier sums worked out here
 * from the rendered workloads and HPAs (and written out as figures), the README's table, the preflight's
 * threshold per tier, and the build refusing a declared `postgres.maxConnections` a deployed tier exceeds.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { copyGeneratedTree, renderOverlay, runTool, snapshotTree, tempDir } from "../support/repo.ts";
import { configFiles, synapseWorkloads } from "../support/synapse-processes.ts";
import { generatedRoot, siteInput } from "../support/site-under-test.ts";

/** Pool size (`cp_max`) per process, by the workload's component label. */
const poolSize: Record<string, number> = {
  main: 10, "event-persister": 10, synchrotron: 8, generic: 8, "federation-reader": 6, "initial-sync": 8, media: 3,
  "federation-sender": 5, pusher: 3, background: 5, "typing-writer": 2, "to-device-writer": 5, "receipts-writer": 5,
  "account-data-writer": 3, "presence-writer": 4, "push-rules-writer": 3,
};

/** Connections at minimum counts, at HPA maximums, and the max_connections needed (maximum + 3 superuser + 10 other clients). */
const budget: Record<string, { min: number; max: number; needed: number }> = {
  "ccu-1k": { min: 73, max: 315, needed: 328 },
  "ccu-5k": { min: 136, max: 340, needed: 353 },
  "ccu-10k": { min: 278, max: 448, needed: 461 },
  "ccu-20k": { min: 386, max: 510, needed: 523 },
};

type Database = { name: string; args: Record<string, unknown> };

describe.each(Object.keys(budget))("database connections of %s", (tier) => {
  it("gives every process its role's pool and the site's database, with no password in any file", async () => {
    const objects = await renderOverlay(tier);
    expect(parse(configFiles(objects)["homeserver.yaml"] ?? "")).not.toHaveProperty("database");
    for (const w of synapseWorkloads(objects)) {
      const role = w.object.metadata.labels?.["app.kubernetes.io/component"] ?? "";
      const db = w.config(w.pods[0] as string).database as Database;
      expect(db.name, w.name).toBe("psycopg2");
      expect(db.args.cp_max, w.name).toBe(poolSize[role]);
      expect(db.args.cp_min as number, w.name).toBeLessThanOrEqual(db.args.cp_max as number);
      expect(db.args.host, w.name).toBe(siteInput.postgres?.host ?? "matrix-postgresql-rw");
      expect(db.args.dbname, w.name).toBe(siteInput.postgres?.database ?? "synapse");
      expect(db.args.user, w.name).toBe(siteInput.postgres?.user ?? "synapse");
      expect(db.args, w.name).not.toHaveProperty("password");
    }
  });

  it("adds up, from the rendered workloads and HPAs, to the figures the README and the preflight give", async () => {
    const objects = await renderOverlay(tier);
    const hpa = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
      const s = o.spec as { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number };
      return [s.scaleTargetRef.name, s] as const;
    }));
    let min = 0;
    let max = 0;
    for (const w of synapseWorkloads(objects)) {
      const cpMax = (w.config(w.pods[0] as string).database as Database).args.cp_max as number;
      const replicas = (w.object.spec as { replicas?: number }).replicas;
      const h = hpa.get(w.name);
      min += cpMax * (h ? h.minReplicas : replicas ?? 1);
      max += cpMax * (h ? h.maxReplicas : replicas ?? 1);
    }
    expect({ min, max, needed: max + 13 }).toEqual(budget[tier]);

    const job = objects.find((o) => o.kind === "Job" && o.metadata.name === "matrix-preflight");
    const env = (job?.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]?.env ?? [];
    expect(env.find((v) => v.name === "PREFLIGHT_POSTGRES_MIN_CONNECTIONS")?.value).toBe(String(budget[tier]?.needed));

    const b = budget[tier] as { min: number; max: number; needed: number };
    expect(readFileSync(join(generatedRoot, "README.md"), "utf8")).toContain(`| \`${tier}\` | ${b.min} | ${b.max} | 13 | **${b.needed}** |`);
  });
});

describe("a declared postgres.maxConnections", () => {
  const targets = siteInput.argocd?.targets ?? [{ name: "in-cluster", tier: "ccu-1k" }];
  const largest = Math.max(...targets.map((t) => budget[t.tier]?.needed ?? 0));
  const emitWith = (maxConnections: unknown) => {
    const path = join(tempDir("pg-limit"), "site.config.ts");
    writeFileSync(path, `export default ${JSON.stringify({ ...siteInput, postgres: { ...siteInput.postgres, maxConnections } })};\n`);
    const dir = copyGeneratedTree();
    const before = snapshotTree(dir);
    const r = runTool("tools/emit/cli.ts", ["--out", dir, "--site", path]);
    return { ...r, unchanged: isDeepStrictEqual(snapshotTree(dir), before) };
  };

  it("below what a deployed tier needs fails the build, naming the field, the tier and the figure, writing nothing", () => {
    const r = emitWith(largest - 1);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`site\\.postgres\\.maxConnections: ${largest - 1} is below the ${largest} that tier ccu-\\d+k \\(target "[^"]+"\\) needs`));
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(r.unchanged).toBe(true);
  });

  it("at exactly what the deployed tiers need, or absent, builds", () => {
    expect(emitWith(largest).status).toBe(0);
    expect(emitWith(null).status).toBe(0);
  });

  it("that is not a whole number in PostgreSQL's range is refused", () => {
    expect(emitWith(0).stderr).toMatch(/site\.postgres\.maxConnections: must be a whole number from 1 to 262143, got 0/);
    expect(emitWith(300000).stderr).toMatch(/site\.postgres\.maxConnections: must be a whole number from 1 to 262143 \(PostgreSQL's limit\), got 300000/);
    expect(emitWith("500").stderr).toMatch(/site\.postgres\.maxConnections: expected a whole number of connections, got string "500"/);
  });
});
