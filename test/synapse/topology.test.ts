import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../apps/site/errors.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, validateSizing, type TierSizing } from "../../apps/site/sizing.ts";
import { checkTopology, synapseTopology, type SynapseTopology } from "../../apps/synapse/topology.ts";
import { components } from "../../apps/components.ts";
import type { Component } from "../../apps/kube/component.ts";
import { emitRepository } from "../../tools/emit/repository.ts";
import { copyGeneratedTree, runTool, tempDir } from "../support/repo.ts";

const tier20k = tiers.find((t) => t.name === "ccu-20k") as TierSizing;

function fieldsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).fields;
  }
  throw new Error("expected a ConfigError");
}

function edited(edit: (t: SynapseTopology) => void): SynapseTopology {
  const t = structuredClone(synapseTopology(tier20k));
  edit(t);
  return t;
}

describe("worker topology rules", () => {
  it("accepts every tier of the sizing table", () => {
    for (const tier of tiers) expect(() => synapseTopology(tier)).not.toThrow();
  });

  it("rejects two writers for a stream Synapse gives one writer", () => {
    const t = edited((x) => { x.pools.find((p) => p.role === "presence-writer")?.streams.push("typing"); });
    expect(fieldsOf(() => checkTopology(t))).toContain("topology[ccu-20k].stream_writers.typing");
  });

  it("rejects a stream writer in an autoscaled pool (no stable name)", () => {
    const t = edited((x) => { x.pools.find((p) => p.role === "synchrotron")?.streams.push("to_device"); });
    expect(fieldsOf(() => checkTopology(t))).toContain("topology[ccu-20k].synchrotron");
  });

  it("rejects a tier without event persisters", () => {
    const t = edited((x) => { x.pools = x.pools.filter((p) => p.role !== "event-persister"); });
    expect(fieldsOf(() => checkTopology(t))).toContain("topology[ccu-20k].stream_writers.events");
  });

  it("rejects an unknown or repeated optional role in the sizing table", () => {
    const unknown = { ...tier20k, optionalRoles: ["typing-writer", "fax-writer"] } as unknown as TierSizing;
    expect(fieldsOf(() => validateSizing([unknown]))).toContain("sizing[ccu-20k].optionalRoles[1]");
    const twice = { ...tier20k, optionalRoles: ["pusher", "pusher"] } as TierSizing;
    expect(fieldsOf(() => validateSizing([twice]))).toContain("sizing[ccu-20k].optionalRoles");
  });

  it("rejects a tier that switches on a role no component provides", () => {
    const withoutWorkers: Component[] = components.filter((c) => c.name !== "synapse-workers");
    const borrowed = components.find((c) => c.name === "synapse-workers") as Component;
    const onlyParts: Component = { name: "partless", base: () => [], tierPatches: () => [], tierParts: borrowed.tierParts };
    const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
    expect(fieldsOf(() => emitRepository({ site: resolveSite({ domain: "example.com" }), sizing: tiers, components: [...withoutWorkers, onlyParts], readme })))
      .toContain("sizing[ccu-10k].optionalRoles");
  });
});

describe("the build checks that every configured instance runs", () => {
  it("fails, naming the writer, when an overlay drops a component its configuration relies on", () => {
    const root = copyGeneratedTree();
    const k = join(root, "overlays/ccu-10k/kustomization.yaml");
    writeFileSync(k, readFileSync(k, "utf8").replace(/^\s+- \.\.\/\.\.\/base\/components\/synapse-typing-writer\n/m, ""));
    // Drop its patches too, as someone removing the role by hand would, so kustomize itself succeeds.
    const p = join(root, "overlays/ccu-10k/patches/synapse-workers.yaml");
    writeFileSync(p, readFileSync(p, "utf8").split("---\n").filter((d) => !d.includes("name: synapse-typing-writer\n")).join("---\n"));
    const r = runTool("tools/render/cli.ts", ["--root", root, "--tiers", "ccu-10k", "--out", tempDir("out")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("stream_writers.typing names synapse-typing-writer-0, but the overlay runs no such pod");
  });

  it("fails when an overlay patches a named pool below the configured count", () => {
    const root = copyGeneratedTree();
    const p = join(root, "overlays/ccu-5k/patches/synapse-workers.yaml");
    writeFileSync(p, readFileSync(p, "utf8").replace(/(name: synapse-event-persister\n[\s\S]*?replicas: )4/, "$13"));
    const r = runTool("tools/render/cli.ts", ["--root", root, "--tiers", "ccu-5k", "--out", tempDir("out")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("synapse-event-persister-3, but the overlay runs no such pod");
  });
});
