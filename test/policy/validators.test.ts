/**
 * The other real validators in the test run, pinned and built from the Go module proxy: a standalone
 * kustomize at the version Argo CD bundles must render every overlay byte for byte as the repo's pinned
 * kustomize (kubectl's) does, and actionlint must pass the pull-request workflow and refuse a broken one.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { ensureGoTool, goTools } from "../../tools/validate/go-tools.ts";
import { repoRoot, tempDir } from "../support/repo.ts";
import { generatedRoot } from "../support/site-under-test.ts";

let argoKustomize: string;
let actionlint: string;
beforeAll(() => {
  argoKustomize = ensureGoTool("kustomize");
  actionlint = ensureGoTool("actionlint");
}, 900_000);

describe.each(tiers.map((t) => t.name))(`kustomize ${goTools.kustomize.version} (Argo CD's) on %s`, (tier) => {
  it("renders the overlay exactly as the pinned kubectl kustomize does", async () => {
    const dir = join(generatedRoot, "overlays", tier);
    const argo = spawnSync(argoKustomize, ["build", dir], { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    expect(argo.status, argo.stderr).toBe(0);
    expect(argo.stdout).toBe(await kustomizeBuild(dir));
  });
});

describe(`actionlint ${goTools.actionlint.version}`, () => {
  const workflow = join(repoRoot, ".github/workflows/pull-request.yml");
  const lint = (file: string) => spawnSync(actionlint, ["-no-color", file], { encoding: "utf8", timeout: 120_000 });

  it("passes the pull-request workflow", () => {
    const r = lint(workflow);
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  });

  it("is run on a workflow that installs the kubeconform the tests pin", () => {
    expect(readFileSync(workflow, "utf8")).toContain(`KUBECONFORM_VERSION: ${goTools.kubeconform.version}`);
  });

  it("refuses the workflow with a misspelt key and an undefined expression", () => {
    const broken = join(tempDir("actionlint"), "pull-request.yml");
    writeFileSync(broken, readFileSync(workflow, "utf8").replace("runs-on:", "run-on:").replace(/\$\{\{ *github\.\w+/, "${{ github.no_such_context"));
    const r = lint(broken);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/run-on/);
  });
});
