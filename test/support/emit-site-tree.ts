/**
 * Vitest global setup: when `MATRIX_GITOPS_SITE` names a fixture site, emit it into a scratch tree (README
 * and generated folders only) and point the tests at it through `MATRIX_GITOPS_TEST_TREE`. The committed
 * tree is never written. Without a fixture site it does nothing: the tests read the committed tree.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../tools/emit/load-config.ts";

export default function setup(): () => void {
  if (!process.env.MATRIX_GITOPS_SITE) return () => {};
  const tree = mkdtempSync(join(tmpdir(), "matrix-gitops-site-"));
  copyFileSync(join(repoRoot, "README.md"), join(tree, "README.md"));
  const r = spawnSync(process.execPath, [join(repoRoot, "tools/emit/cli.ts"), "--out", tree], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`emitting ${process.env.MATRIX_GITOPS_SITE} failed:\n${r.stderr}`);
  process.env.MATRIX_GITOPS_TEST_TREE = tree;
  console.log(`site under test: ${process.env.MATRIX_GITOPS_SITE}, emitted into ${tree}`);
  return () => rmSync(tree, { recursive: true, force: true });
}

/**
 * Emits a variant of a site (its input with `change` merged at the top level) into a scratch tree and returns
 * the tree: for tests of a switch the site under test does not set.
 */
export function emitSiteVariant(input: object, change: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-variant-"));
  const site = join(dir, "site.config.ts");
  writeFileSync(site, `export default ${JSON.stringify({ ...input, ...change })};\n`);
  copyFileSync(join(repoRoot, "README.md"), join(dir, "README.md"));
  const r = spawnSync(process.execPath, [join(repoRoot, "tools/emit/cli.ts"), "--out", dir, "--site", site], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`emitting the site variant failed:\n${r.stderr}`);
  return dir;
}
