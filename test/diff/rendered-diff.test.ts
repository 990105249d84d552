import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffObjects, fieldChanges } from "../../tools/diff/object-diff.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { cloneWithTreeUnderTest, runTool, tempDir } from "../support/repo.ts";
import { expected, site } from "../support/site-under-test.ts";

const ns = expected.namespace;

describe("rendered-manifest diff (real git and kustomize)", () => {
  it("lists changed fields, removed and added objects per tier between a ref and the working tree", () => {
    const clone = cloneWithTreeUnderTest();
    const patch = join(clone, "overlays/ccu-5k/patches/synapse-main.yaml");
    writeFileSync(patch, readFileSync(patch, "utf8").replace(/requests:\n(\s+)cpu: "2"/, 'requests:\n$1cpu: "3"'));
    const k = join(clone, "base/synapse-main/kustomization.yaml");
    writeFileSync(k, readFileSync(k, "utf8").replace(/^\s+- service-synapse-main.yaml\n/m, ""));
    const r = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"]);
    expect(r.status).toBe(0);
    const section = r.stdout.split("### ").find((s) => s.startsWith("ccu-5k")) ?? "";
    expect(section).toContain("ccu-5k: 1 changed, 0 added, 1 removed");
    expect(section).toContain(`- Service/${ns}/synapse-main`);
    expect(section).toContain(`~ StatefulSet/${ns}/synapse-main`);
    expect(section).toContain('spec.template.spec.containers[synapse].resources.requests.cpu: "2" → "3"');
    const other = r.stdout.split("### ").find((s) => s.startsWith("ccu-1k")) ?? "";
    expect(other).toContain("ccu-1k: 0 changed, 0 added, 1 removed");
  });

  it("says so when nothing changed, and rejects an unknown ref", () => {
    const clone = cloneWithTreeUnderTest();
    const same = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"]);
    expect(same.stdout).toMatch(/ccu-1k: 0 changed, 0 added, 0 removed\n\(no changes\)/);
    expect(same.stdout).toMatch(/Argo CD targets: 0 change\(s\)\n\(no changes\)/);
    expect(same.stdout).toMatch(/argocd: 0 changed, 0 added, 0 removed\n\(no changes\)/);
    const bad = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "no-such-ref"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--base");
  });

  it("shows which tier, repository and revision each Argo CD target deploys when they change, and removes its scratch folders", () => {
    const clone = cloneWithTreeUnderTest();
    const appSet = join(clone, "argocd/apps/applicationset-matrix.yaml");
    const [first] = site.argocd.targets;
    const other = first?.tier === "ccu-20k" ? "ccu-5k" : "ccu-20k";
    const text = readFileSync(appSet, "utf8");
    const edited = text.replace(new RegExp(`(- name: ${first?.name}\\n(?:\\s+\\w+: .*\\n)*?\\s+tier: )${first?.tier}`), `$1${other}`)
      .replace(`targetRevision: ${site.argocd.targetRevision}`, "targetRevision: release-next");
    expect(edited).not.toBe(text);
    writeFileSync(appSet, edited);
    const scratch = tempDir("diff-tmp");
    const r = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"], { TMPDIR: scratch });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`~ target ${first?.name}: tier ${first?.tier} → ${other}, targetRevision ${site.argocd.targetRevision} → release-next`);
    expect(r.stdout).toContain(`~ ApplicationSet/${site.argocd.namespace}/matrix`);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("shows a changed config file in a ConfigMap as a line diff", () => {
    const clone = cloneWithTreeUnderTest();
    // The tier's patch carries the whole homeserver.yaml, so that is the file to edit.
    const cm = join(clone, "overlays/ccu-1k/patches/synapse-main.yaml");
    const text = readFileSync(cm, "utf8");
    const edited = text.replace(/^(\s+)max_upload_size: (\S+)$/m, "$1max_upload_size: 1M");
    expect(edited).not.toBe(text);
    const old = /^\s+max_upload_size: (\S+)$/m.exec(text)?.[1];
    writeFileSync(cm, edited);
    const r = runTool("tools/diff/cli.ts", ["--root", clone, "--base", "HEAD"]);
    const section = r.stdout.split("### ").find((s) => s.startsWith("ccu-1k")) ?? "";
    expect(section).toContain(`~ ConfigMap/${ns}/synapse-config`);
    expect(section).toContain("    data.homeserver.yaml:");
    expect(section).toContain(`      -max_upload_size: ${old}`);
    expect(section).toContain("      +max_upload_size: 1M");
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
