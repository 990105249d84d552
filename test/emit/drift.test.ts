import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyGeneratedTree, generatedRoot, runTool } from "../support/repo.ts";

describe("drift check (committed generated files equal a fresh emit)", () => {
  it("passes on the tree under test (the committed one, or a fixture site's fresh emit)", () => {
    const r = runTool("tools/emit/cli.ts", ["--check", "--out", generatedRoot]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("fails and names a hand-edited file, a deleted file and a stray file", () => {
    const dir = copyGeneratedTree();
    appendFileSync(join(dir, "base/synapse-main/statefulset-synapse-main.yaml"), "# hand edit\n");
    rmSync(join(dir, "overlays/ccu-5k/patches/synapse-main.yaml"));
    writeFileSync(join(dir, "base/synapse-main/stray.yaml"), "kind: ConfigMap\n");
    const r = runTool("tools/emit/cli.ts", ["--check", "--out", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("drift: base/synapse-main/statefulset-synapse-main.yaml is changed");
    expect(r.stderr).toContain("drift: overlays/ccu-5k/patches/synapse-main.yaml is missing");
    expect(r.stderr).toContain("drift: base/synapse-main/stray.yaml is unexpected");
  });

  it("fails when the README tier table no longer matches the sizing table", () => {
    const dir = copyGeneratedTree();
    const readme = join(dir, "README.md");
    writeFileSync(readme, readFileSync(readme, "utf8").replace("| `ccu-5k` |", "| `ccu-5k-edited` |"));
    const r = runTool("tools/emit/cli.ts", ["--check", "--out", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("drift: README.md is changed");
  });
});
