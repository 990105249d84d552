/**
 * Every Synapse process of every tier, checked by Synapse itself: `python -m synapse.config` (that is
 * `HomeServerConfig.load_config`, worker settings and instance_map checks included) at the version the image
 * pins, with the pod's own files, mounts and command line (tools/lab/cluster/config-check.ts).
 */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { tiers } from "../../apps/site/sizing.ts";
import { secretKeys } from "../../apps/synapse/paths.ts";
import { checkSynapseConfigs } from "../../tools/lab/cluster/config-check.ts";
import { ensureSynapse } from "../../tools/lab/toolchain.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { renderOverlay } from "../support/repo.ts";
import { synapseWorkloads } from "../support/synapse-processes.ts";
import { site } from "../support/site-under-test.ts";

const synapse = ensureSynapse(site.images);
const wholeSecrets = { [site.secrets.name]: Object.values(secretKeys) };

function withHomeserver(objects: KubeObject[], edit: (c: Record<string, any>) => void): KubeObject[] {
  const copy = structuredClone(objects);
  const cm = copy.find((o) => o.kind === "ConfigMap" && o.metadata.name === "synapse-config") as unknown as { data: Record<string, string> };
  const config = parse(cm.data["homeserver.yaml"] as string) as Record<string, any>;
  edit(config);
  cm.data["homeserver.yaml"] = stringify(config);
  return copy;
}

describe.each(tiers.map((t) => t.name))("Synapse configuration of %s", (tier) => {
  it("gives every process (main and each worker pool) a configuration Synapse's own loader accepts", async () => {
    const objects = await renderOverlay(tier);
    const checks = await checkSynapseConfigs(objects, synapse, site.images, wholeSecrets);
    expect(checks.length).toBe(synapseWorkloads(objects).length);
    expect(checks.length).toBeGreaterThanOrEqual(6);
    for (const c of checks) expect(c.output, c.pod).toContain("Config parses OK!");
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
});

describe("Synapse's loader rejects a broken configuration (the check can fail)", () => {
  it("names the process and Synapse's error for a writer missing from instance_map and for two typing writers", async () => {
    const objects = await renderOverlay("ccu-1k");
    const missing = await checkSynapseConfigs(withHomeserver(objects, (c) => { delete c.instance_map["synapse-event-persister-1"]; }), synapse, site.images, wholeSecrets);
    const main = missing.find((c) => c.pod === "synapse-main-0");
    expect(main?.ok).toBe(false);
    expect(main?.output).toMatch(/synapse-event-persister-1[\s\S]*instance_map/);
    const twoTyping = await checkSynapseConfigs(withHomeserver(objects, (c) => { c.stream_writers.typing = ["synapse-event-persister-0", "synapse-event-persister-1"]; }), synapse, site.images, wholeSecrets);
    expect(twoTyping.every((c) => !c.ok)).toBe(true);
    expect(twoTyping[0]?.output).toMatch(/typing/);
  });
});
