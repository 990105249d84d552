/**
 * `npm run test:sites`: the whole suite once per fixture site in test/fixtures/sites/, each emitted into a
 * scratch tree (the committed tree is never touched), so tests that hard-code the example's names fail here.
 * Prints one line per site and exits non-zero when any run failed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { repoRoot } from "../tools/emit/load-config.ts";

const dir = join(repoRoot, "test", "fixtures", "sites");
const sites = readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => relative(repoRoot, join(dir, f)));
const results: [string, number | null, number][] = [];
for (const site of sites) {
  const started = Date.now();
  console.log(`\n== test suite on fixture site ${site}`);
  const r = spawnSync(process.execPath, [join(repoRoot, "node_modules/vitest/vitest.mjs"), "run"], {
    cwd: repoRoot, stdio: "inherit", timeout: 1_800_000, env: { ...process.env, MATRIX_GITOPS_SITE: site },
  });
  results.push([site, r.status, Math.round((Date.now() - started) / 1000)]);
}
for (const [site, status, seconds] of results) console.log(`fixture site ${site}: ${status === 0 ? "passed" : `FAILED (exit ${status})`} in ${seconds} s`);
process.exitCode = results.every(([, status]) => status === 0) ? 0 : 1;
