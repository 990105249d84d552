import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { renderOverlay } from "../support/repo.ts";
import { synapseWorkloads } from "../support/synapse-processes.ts";
import { loadSynapseSchema } from "../support/synapse-schema.ts";

describe.each(tiers.map((t) => t.name))("Synapse configuration of %s", (tier) => {
  it("gives every process (main and each worker pool) a configuration Synapse's own schema accepts", async () => {
    const schema = loadSynapseSchema();
    const workloads = synapseWorkloads(await renderOverlay(tier));
    expect(workloads.length).toBeGreaterThanOrEqual(6);
    for (const w of workloads) {
      const config = w.config(w.pods[0] as string);
      expect(schema.validate(config), w.name).toEqual([]);
      expect(Object.keys(config).filter((k) => !schema.topLevelKeys.has(k)), w.name).toEqual([]);
    }
  });

  it("loads the shared file first and the process file after it, as Synapse merges them", async () => {
    for (const w of synapseWorkloads(await renderOverlay(tier))) {
      expect(w.configPaths[0], w.name).toBe("/config/homeserver.yaml");
      const config = w.config(w.pods[0] as string);
      if (w.isWorker) {
        expect(config.worker_app, w.name).toMatch(/^synapse\.app\.(generic_worker|media_repository)$/);
        expect(config.worker_name, w.name).toBe(w.pods[0]);
        expect(config.worker_listeners, w.name).toEqual(expect.arrayContaining([expect.objectContaining({ type: "metrics" })]));
      } else {
        expect(config.worker_app, w.name).toBeUndefined();
        expect(config.listeners, w.name).toBeDefined();
      }
      // Synapse imports storage provider modules when it reads its config: only media pods may see them.
      expect(config.media_storage_providers !== undefined, w.name).toBe(config.worker_app === "synapse.app.media_repository");
    }
  });

  it("notices an invalid configuration (the schema check can fail)", () => {
    const schema = loadSynapseSchema();
    expect(schema.validate({ server_name: 42, listeners: [{ port: "http" }] }).length).toBeGreaterThan(0);
    expect(schema.validate({ stream_writers: { typing: ["a", "b"] } }).length).toBeGreaterThan(0);
  });
});
