import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffObjects, fieldChanges } from "../../tools/diff/object-diff.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { repoRoot, runTool, tempDir } from "../support/repo.ts";

describe("rendered-manifest diff (real git and kustomize)", () => {
  it("lists changed fields, removed and added objects per tier between a ref and the working tree", () => {
    const clone = join(tempDir("diff"), "repo");
    execFileSync("git", ["clone", "-q", repoRoot, clone]);
    const patch = join(clone, "overlays/ccu-5k/patches/synapse-main.yaml");
    writeFileSync(patch, readFileSync(patch, "utf8").replace(/requests:\n(\s+)cpu: "2"/, 'requests:\n$1cpu: "3"'));
    const k = join(clone, "base/synapse-main/kustomization.yaml");
    writeFileSync(k, readFileSync(k, "utf8").replace(/^\s+- servicemonitor-synapse-main.yaml\n/m, ""));
    const r = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"]);
    expect(r.status).toBe(0);
    const section = r.stdout.split("### ").find((s) => s.startsWith("ccu-5k")) ?? "";
    expect(section).toContain("ccu-5k: 1 changed, 0 added, 1 removed");
    expect(section).toContain("- ServiceMonitor/matrix/synapse-main");
    expect(section).toContain("~ StatefulSet/matrix/synapse-main");
    expect(section).toContain('spec.template.spec.containers[synapse].resources.requests.cpu: "2" → "3"');
    const other = r.stdout.split("### ").find((s) => s.startsWith("ccu-1k")) ?? "";
    expect(other).toContain("ccu-1k: 0 changed, 0 added, 1 removed");
  });

  it("says so when nothing changed, and rejects an unknown ref", () => {
    const clone = join(tempDir("diff"), "repo");
    execFileSync("git", ["clone", "-q", repoRoot, clone]);
    const same = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"]);
    expect(same.stdout).toMatch(/ccu-1k: 0 changed, 0 added, 0 removed\n\(no changes\)/);
    const bad = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "no-such-ref"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--base");
  });
});

describe("field changes", () => {
  it("match named list items by name, so reordering is no change", () => {
    const a = { spec: { containers: [{ name: "a", image: "x:1" }, { name: "b", image: "y:1" }] } };
    const b = { spec: { containers: [{ name: "b", image: "y:1" }, { name: "a", image: "x:2" }] } };
    expect(fieldChanges(a, b)).toEqual([{ path: "spec.containers[a].image", before: "x:1", after: "x:2" }]);
  });

  it("report added and removed objects by kind, namespace and name", () => {
    const o = (kind: string, name: string) => ({ apiVersion: "v1", kind, metadata: { name, namespace: "m" } }) as KubeObject;
    expect(diffObjects([o("Service", "a")], [o("Service", "b")])).toEqual({ added: ["Service/m/b"], removed: ["Service/m/a"], changed: [] });
  });
});
