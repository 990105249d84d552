/**
 * What a user sees for a bad site file, from the emit CLI and through Nx (`nx run overlays:build`): exit 1,
 * the field path and what is expected, no stack trace, nothing written.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyGeneratedTree, repoRoot, runTool, snapshotTree, tempDir } from "../support/repo.ts";

const stackTrace = /^\s+at .+:\d+:\d+\)?$/m;

function siteFile(body: string): string {
  const path = join(tempDir("bad-site"), "site.config.ts");
  writeFileSync(path, body);
  return path;
}

function nx(args: string[], env: Record<string, string>) {
  const r = spawnSync(join(repoRoot, "node_modules/.bin/nx"), ["run", "overlays:build", "--skip-nx-cache", "--output-style=stream", ...args],
    { cwd: repoRoot, encoding: "utf8", timeout: 300_000, env: { ...process.env, NX_DAEMON: "false", ...env } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("a bad site file", () => {
  it.each<[string, string, RegExp]>([
    ["a typo in a key", `export default { domain: "example.com", calls: { enable: false } };`, /site\.calls\.enable: unknown key; known keys here: enabled/],
    ["a wrong type", `export default { domain: "example.com", calls: { enabled: "false" } };`, /site\.calls\.enabled: expected true or false, got string "false"/],
    ["an IP address as the domain", `export default { domain: "203.0.113.7" };`, /site\.domain: "203\.0\.113\.7" is not a lower-case DNS name/],
    ["no default export", `export const site = { domain: "example.com" };`, /site: expected the site configuration: an object with at least `domain`, got nothing/],
    ["a syntax error", `export default { domain: "example.com", ;`, /--site: cannot load .*site\.config\.ts/],
  ])("is reported with its field, exit 1, no stack trace and nothing written: %s", (_label, body, message) => {
    const dir = copyGeneratedTree();
    const before = snapshotTree(dir);
    const r = runTool("tools/emit/cli.ts", ["--out", dir, "--site", siteFile(body)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it("names a missing site file", () => {
    const r = runTool("tools/emit/cli.ts", ["--out", copyGeneratedTree(), "--site", "/nonexistent/site.config.ts"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("--site: file not found: /nonexistent/site.config.ts");
  });
});

describe("nx run overlays:build", () => {
  it("exits 1 (not 130) on a configuration error, naming the field, without a stack trace or a file written", () => {
    const out = join(tempDir("nx-out"), "dist");
    const before = ["base", "overlays", "argocd"].map((d) => snapshotTree(join(repoRoot, d)));
    const r = nx([`--out=${out}`], { MATRIX_GITOPS_SITE: siteFile(`export default { domain: "example.com", servername: "example.com" };`) });
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/site\.servername: unknown key/);
    expect(r.output).not.toMatch(stackTrace);
    expect(["base", "overlays", "argocd"].map((d) => snapshotTree(join(repoRoot, d)))).toEqual(before);
    expect(existsSync(out)).toBe(false);
  });

  it("renders the tiers a comma-separated --tiers names, and refuses an empty or dangling entry", () => {
    const out = join(tempDir("nx-out"), "dist");
    // The repository's own site: build re-emits the committed tree, which then does not change.
    const two = nx(["--tiers=ccu-1k,ccu-5k", `--out=${out}`], { MATRIX_GITOPS_SITE: "" });
    expect(two.status, two.output).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["ccu-1k.yaml", "ccu-5k.yaml"]);
    for (const tiers of ["", "ccu-1k,", ",ccu-5k"]) {
      const dir = join(tempDir("nx-out"), "dist");
      const r = nx([`--tiers=${tiers}`, `--out=${dir}`], { MATRIX_GITOPS_SITE: "" });
      expect(r.status, tiers).toBe(1);
      expect(r.output).toMatch(/--tiers: ".*" has an empty tier name/);
      expect(existsSync(dir)).toBe(false);
    }
  });
});
