import { describe, expect, it } from "vitest";
import { ConfigError } from "../../apps/site/errors.ts";
import { documentedMaximum, findTier, tiers, validateSizing, type TierSizing } from "../../apps/site/sizing.ts";
import { runTool } from "../support/repo.ts";

type Edit = (t: TierSizing) => TierSizing;

function fieldsAfter(edit: Edit, index = 1): string[] {
  const table = tiers.map((t, i) => (i === index ? edit(structuredClone(t)) : t));
  try {
    validateSizing(table);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).fields;
  }
  throw new Error("expected a ConfigError");
}

describe("sizing table", () => {
  it("is valid and has the four tiers of the source document", () => {
    expect(validateSizing(tiers).map((t) => [t.name, t.ccu.from, t.ccu.to])).toEqual([
      ["ccu-1k", 100, 1000], ["ccu-5k", 1000, 5000], ["ccu-10k", 5000, 10000], ["ccu-20k", 10000, 20000],
    ]);
  });

  it("keeps autoscaled pools between the tier's count and the documented maximum", () => {
    for (const t of tiers) {
      expect(t.workers.synchrotron.max).toBe(documentedMaximum.synchrotron);
      expect(t.workers.media.max).toBe(documentedMaximum.media);
      expect(t.workers.generic.min).toBeLessThanOrEqual(t.workers.generic.max);
    }
  });

  it.each<[string, Edit, string]>([
    ["min replicas above max", (t) => ({ ...t, workers: { ...t.workers, synchrotron: { ...t.workers.synchrotron, min: 12, max: 10 } } }), "sizing[ccu-5k].workers.synchrotron.min"],
    ["a zero memory request", (t) => ({ ...t, main: { ...t.main, requests: { ...t.main.requests, memory: "0Gi" } } }), "sizing[ccu-5k].main.requests.memory"],
    ["a negative CPU request", (t) => ({ ...t, haproxy: { ...t.haproxy, resources: { ...t.haproxy.resources, requests: { cpu: "-1", memory: "1Gi" } } } }), "sizing[ccu-5k].haproxy.resources.requests.cpu"],
    ["a limit below its request", (t) => ({ ...t, main: { ...t.main, limits: { ...t.main.limits, cpu: "500m" } } }), "sizing[ccu-5k].main.limits.cpu"],
    ["a worker count above the documented maximum", (t) => ({ ...t, workers: { ...t.workers, eventPersisters: 9 } }), "sizing[ccu-5k].workers.eventPersisters"],
    ["no event persister", (t) => ({ ...t, workers: { ...t.workers, eventPersisters: 0 } }), "sizing[ccu-5k].workers.eventPersisters"],
    ["an HPA max above the documented maximum", (t) => ({ ...t, workers: { ...t.workers, media: { ...t.workers.media, max: 9 } } }), "sizing[ccu-5k].workers.media.max"],
    ["an HPA target above 100%", (t) => ({ ...t, workers: { ...t.workers, generic: { ...t.workers.generic, targetCpuPercent: 150 } } }), "sizing[ccu-5k].workers.generic.targetCpuPercent"],
    ["a malformed tier name", (t) => ({ ...t, name: "large" }), "sizing[large].name"],
    ["a CPU limit above the per-pod bound (a missing m)", (t) => ({ ...t, main: { ...t.main, limits: { ...t.main.limits, cpu: "4000" } } }), "sizing[ccu-5k].main.limits.cpu"],
    ["a memory request above the per-pod bound", (t) => ({ ...t, haproxy: { ...t.haproxy, resources: { ...t.haproxy.resources, requests: { cpu: "1", memory: "512Gi" }, limits: { cpu: "1", memory: "512Gi" } } } }), "sizing[ccu-5k].haproxy.resources.requests.memory"],
    ["a memory quantity that is not one", (t) => ({ ...t, main: { ...t.main, requests: { ...t.main.requests, memory: "4GB" } } }), "sizing[ccu-5k].main.requests.memory"],
    ["a replica count as a string", (t) => ({ ...t, workers: { ...t.workers, federationSenders: "2" as unknown as number } }), "sizing[ccu-5k].workers.federationSenders"],
    ["an unknown optional role", (t) => ({ ...t, optionalRoles: ["typing-writer", "typing_writer" as never] }), "sizing[ccu-5k].optionalRoles[1]"],
    ["a typo in a key", (t) => ({ ...t, workers: { ...t.workers, eventPersister: 2 } as never }), "sizing[ccu-5k].workers.eventPersister"],
  ])("rejects %s, naming the field", (_label, edit, field) => {
    expect(fieldsAfter(edit)).toContain(field);
  });

  it("rejects a duplicate tier", () => {
    expect(() => validateSizing([...tiers, tiers[0] as TierSizing])).toThrow(/duplicate tier name "ccu-1k"/);
  });

  it("names the known tiers when asked for an unknown one", () => {
    expect(() => findTier(tiers, "ccu-50k")).toThrow(/tier: unknown tier "ccu-50k"; known tiers: ccu-1k, ccu-5k, ccu-10k, ccu-20k/);
  });

  it("makes the build exit non-zero on an unknown tier, without rendering", () => {
    const r = runTool("tools/render/cli.ts", ["--tiers", "ccu-50k", "--out", "/nonexistent/should-not-be-created"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--tiers: unknown tier "ccu-50k"');
  });
});
