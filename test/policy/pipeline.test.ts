import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { defaultImages } from "../../apps/site/site.ts";
import { repoRoot } from "../support/repo.ts";

describe("PR pipeline and dependency updates", () => {
  const workflow = parse(readFileSync(join(repoRoot, ".github/workflows/pull-request.yml"), "utf8")) as { on: { pull_request: unknown }; jobs: { verify: { steps: { run?: string; name?: string }[] } } };
  const runs = workflow.jobs.verify.steps.map((s) => s.run ?? "").join("\n");

  it("installs kubeconform, runs the drift check, nx affected, validation and the rendered diff", () => {
    expect(workflow.on.pull_request).toBeDefined();
    expect(runs).toContain("kubeconform -v");
    expect(runs).toContain("npx nx run overlays:check");
    expect(runs).toMatch(/npx nx affected -t build validate typecheck test --base=/);
    expect(runs).toContain("npx nx run overlays:validate");
    expect(runs).toMatch(/npx nx run overlays:diff --base=.*GITHUB_STEP_SUMMARY/s);
    expect(runs).toContain("npm run test:sites");
  });

  it("keeps Debian from starting services rather than stopping them by name, in CI and in the workflow", () => {
    const ci = readFileSync(join(repoRoot, ".ci/run"), "utf8");
    for (const script of [runs, ci]) {
      expect(script).toContain("exit 101");
      expect(script).not.toMatch(/systemctl stop|pkill|killall/);
    }
    expect(ci).toMatch(/^npm test\nnpm run test:sites\n/m);
  });

  it("states the Node requirement the package declares", () => {
    const engines = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const major = /^>=(\d+)$/.exec(engines)?.[1];
    expect(major).toBeDefined();
    expect(readme).toContain(`Node ${major} or newer`);
  });

  it.each(["apps/site/site.ts", "tools/emit/cli.ts", "base/kustomization.yaml", "overlays/ccu-1k/kustomization.yaml", "argocd/apps/kustomization.yaml"])(
    "makes nx affected select the tests when %s changes", (file) => {
      const r = spawnSync(join(repoRoot, "node_modules/.bin/nx"), ["show", "projects", "--affected", `--files=${file}`],
        { cwd: repoRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, NX_DAEMON: "false" } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split("\n").map((l) => l.trim())).toContain("test");
    });

  it("lets Renovate find every pinned image", () => {
    const renovate = JSON.parse(readFileSync(join(repoRoot, "renovate.json"), "utf8")) as { customManagers: { matchStrings: string[]; managerFilePatterns: string[] }[] };
    const images = renovate.customManagers.find((m) => m.managerFilePatterns.some((p) => p.includes("site")));
    const pattern = new RegExp((images?.matchStrings[0] ?? "").replace(/\(\?<\w+>/g, "("), "g");
    const source = readFileSync(join(repoRoot, "apps/site/site.ts"), "utf8");
    const found = [...source.matchAll(pattern)].map((m) => m[0].slice(1, -1));
    for (const image of Object.values(defaultImages).filter((i): i is string => typeof i === "string")) expect(found, image).toContain(image);
  });
});
