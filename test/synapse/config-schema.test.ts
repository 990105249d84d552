import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { loadSynapseSchema, mergeSynapseConfig } from "../support/synapse-schema.ts";

interface SynapseContainer { name: string; command: string[] }

describe.each(tiers.map((t) => t.name))("Synapse configuration of %s", (tier) => {
  it("merges to a configuration that Synapse's own schema accepts, with no unknown top-level key", async () => {
    const schema = loadSynapseSchema();
    const objects = await renderOverlay(tier);
    const files = (find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> }).data;
    const sts = find(objects, "StatefulSet", "synapse-main");
    const container = (sts.spec as { template: { spec: { containers: SynapseContainer[] } } }).template.spec.containers[0];
    // The files the process loads, in the order its command line names them.
    const loaded = (container?.command ?? []).flatMap((arg, i, all) => (all[i - 1] === "--config-path" ? [arg] : []));
    expect(loaded).toEqual(["/config/homeserver.yaml", "/config/main.yaml"]);
    const merged = mergeSynapseConfig(...loaded.map((p) => files[p.replace("/config/", "")] ?? ""));
    expect(schema.validate(merged)).toEqual([]);
    expect(Object.keys(merged).filter((k) => !schema.topLevelKeys.has(k))).toEqual([]);
    expect(merged).toMatchObject({ redis: { enabled: true }, instance_map: { main: { port: 9093 } }, enable_metrics: true });
  });

  it("notices an invalid configuration (the schema check can fail)", () => {
    const schema = loadSynapseSchema();
    expect(schema.validate({ server_name: 42, listeners: [{ port: "http" }] }).length).toBeGreaterThan(0);
  });
});
