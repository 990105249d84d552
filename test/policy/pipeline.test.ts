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
  });

  it("runs only targets that exist", () => {
    const projects = ["overlays", "tools", "test"].map((p) => JSON.parse(readFileSync(join(repoRoot, p, "project.json"), "utf8")) as { targets: Record<string, unknown> });
    const targets = new Set(projects.flatMap((p) => Object.keys(p.targets)));
    for (const t of ["build", "validate", "typecheck", "test", "check", "diff", "emit"]) expect(targets.has(t), t).toBe(true);
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
