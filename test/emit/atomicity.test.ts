import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { components } from "../../apps/components.ts";
import { emitRepository, ownedRoots } from "../../tools/emit/repository.ts";
import { writeTree } from "../../tools/emit/output-tree.ts";
import { copyGeneratedTree, runTool, snapshotTree, tempDir } from "../support/repo.ts";

function writeModule(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

describe("emission is all-or-nothing", () => {
  it("leaves the tree untouched when the site configuration is invalid", () => {
    const dir = copyGeneratedTree();
    const before = snapshotTree(dir);
    const site = writeModule(tempDir("site"), "site.ts", `export default { domain: "exa mple.com" };\n`);
    const r = runTool("tools/emit/cli.ts", ["--out", dir, "--site", site]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("site.domain");
    expect(snapshotTree(dir)).toEqual(before);
  });

  it("leaves the tree untouched when the sizing table is invalid", () => {
    const dir = copyGeneratedTree();
    const before = snapshotTree(dir);
    const sizing = writeModule(tempDir("sizing"), "sizing.ts", [
      `import { tiers as base } from ${JSON.stringify(join(process.cwd(), "apps/site/sizing.ts"))};`,
      `export const tiers = base.map((t, i) => i === 2 ? { ...t, workers: { ...t.workers, generic: { ...t.workers.generic, min: 20, max: 16 } } } : t);`,
    ].join("\n"));
    const r = runTool("tools/emit/cli.ts", ["--out", dir, "--sizing", sizing]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("sizing[ccu-10k].workers.generic.min");
    expect(snapshotTree(dir)).toEqual(before);
  });

  it("keeps the old tree when writing fails part-way through staging", () => {
    const dir = copyGeneratedTree();
    const site = resolveSite({ domain: "changed.example.org" });
    const files = emitRepository({ site, sizing: tiers, components, readme: readFileSync(join(dir, "README.md"), "utf8") });
    const before = snapshotTree(dir);
    // The last file needs a folder where an earlier one is a file: staging fails after most files were staged.
    const broken = new Map(files);
    broken.set("overlays/ccu-1k/kustomization.yaml/impossible.yaml", "x");
    expect(() => writeTree(dir, broken, ownedRoots(tiers))).toThrow();
    const after = snapshotTree(dir);
    expect(after).toEqual(before);
  });

  it("rejects unknown command-line options without writing", () => {
    const dir = copyGeneratedTree();
    const before = snapshotTree(dir);
    const r = runTool("tools/emit/cli.ts", ["--out", dir, "--domian", "x.org"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/arguments: .*--domian/);
    expect(snapshotTree(dir)).toEqual(before);
  });
});
