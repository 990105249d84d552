/**
 * Cache sizing per process, as rendered: the factor and the autotuning bounds each role gets (written out
 * here from the memory limits: bound 60 %, target 50 %), and the jemalloc preload that makes the bounds real,
 * run by a real `sh` on this machine. The lab checks the measured resident memory against the same bounds.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { renderOverlay } from "../support/repo.ts";
import { synapseWorkloads } from "../support/synapse-processes.ts";

/** Per component: global_factor, then target and bound of cache_autotuning. */
const workers: Record<string, [number, string, string]> = {
  synchrotron: [2, "1024M", "1228M"],
  generic: [1, "1024M", "1228M"],
  "federation-reader": [1, "1024M", "1228M"],
  "initial-sync": [1, "2048M", "2457M"],
  "event-persister": [1, "1024M", "1228M"],
  media: [0.5, "1024M", "1228M"],
  "federation-sender": [0.5, "512M", "614M"],
  pusher: [0.5, "256M", "307M"],
  background: [0.5, "1024M", "1228M"],
  "typing-writer": [0.5, "512M", "614M"],
  "to-device-writer": [0.5, "512M", "614M"],
  "receipts-writer": [0.5, "512M", "614M"],
  "account-data-writer": [0.5, "512M", "614M"],
  "presence-writer": [0.5, "512M", "614M"],
  "push-rules-writer": [0.5, "512M", "614M"],
};
/** Main by tier: its limit is 4, 8, 16 and 32Gi; the factor is 1 per 2Gi requested. */
const main: Record<string, [number, string, string]> = {
  "ccu-1k": [1, "2048M", "2457M"],
  "ccu-5k": [2, "4096M", "4915M"],
  "ccu-10k": [4, "8192M", "9830M"],
  "ccu-20k": [8, "16384M", "19660M"],
};

type Caches = { global_factor: number; cache_autotuning: { target_cache_memory_usage: string; max_cache_memory_usage: string; min_cache_ttl: string } };

describe.each(Object.keys(main))("caches of %s", (tier) => {
  it("give every process its role's factor and autotuning bounds under its memory limit", async () => {
    for (const w of synapseWorkloads(await renderOverlay(tier))) {
      const role = w.object.metadata.labels?.["app.kubernetes.io/component"] ?? "";
      const c = w.config(w.pods[0] as string).caches as Caches;
      const [factor, target, max] = (role === "main" ? main[tier] : workers[role]) ?? [NaN, "?", "?"];
      expect([c.global_factor, c.cache_autotuning.target_cache_memory_usage, c.cache_autotuning.max_cache_memory_usage], w.name).toEqual([factor, target, max]);
      expect(c.cache_autotuning.min_cache_ttl, w.name).toBe("5m");
    }
  });

  it("preloads jemalloc in every Synapse container (autotuning reads its statistics) and sets no cache factor by environment", async () => {
    for (const w of synapseWorkloads(await renderOverlay(tier))) {
      const c = (w.object.spec as { template: { spec: { containers: { name: string; command: string[]; env: { name: string }[] }[] } } })
        .template.spec.containers.find((x) => x.name === "synapse");
      expect(c?.command.slice(0, 2), w.name).toEqual(["sh", "-c"]);
      expect(c?.env.map((e) => e.name), w.name).not.toContain("SYNAPSE_CACHE_FACTOR");
      // The command's own preamble, up to the exec, run by sh here: it finds this machine's jemalloc.
      const script = (c?.command[2] ?? "").split(/; (printf|exec) /)[0] as string;
      const out = execFileSync("sh", ["-c", `${script}; echo "LD_PRELOAD=$LD_PRELOAD"`], { encoding: "utf8", timeout: 10_000 });
      expect(out.trim(), w.name).toMatch(/^LD_PRELOAD=\/usr\/lib\/[a-z0-9_]+-linux-gnu\/libjemalloc\.so\.2$/);
    }
  });
});
