/**
 * Each running Synapse process of a lab, against its rendered cache bounds and memory limit: jemalloc must be
 * loaded (autotuning reads its statistics), the measured resident memory must be under the autotuning target
 * (room for caches), and resident memory plus the cache bound within the container's limit. Returns a table.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { Lab } from "../../tools/lab/cluster/lab.ts";
import { synapseWorkloads } from "./synapse-processes.ts";

/** MiB of a Kubernetes (`2Gi`, `512Mi`) or Synapse (`1228M`, binary) memory size. */
export function mebibytes(v: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)$/.exec(v);
  if (!m) throw new Error(`not a memory size: ${v}`);
  return Number(m[1]) * (m[2]?.startsWith("G") ? 1024 : 1);
}

export function checkResidentMemory(lab: Lab): string {
  const objects = synapseWorkloads(lab.objects);
  const rows: string[] = [];
  for (const [pod, instance] of [...lab.pods].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const w = objects.find((x) => x.pods.includes(pod));
    if (!w) throw new Error(`no workload renders ${pod}`);
    const limit = mebibytes((w.object.spec as { template: { spec: { containers: { name: string; resources: { limits: { memory: string } } }[] } } })
      .template.spec.containers.find((c) => c.name === "synapse")?.resources.limits.memory as string);
    const autotuning = (w.config(pod).caches as { cache_autotuning: { max_cache_memory_usage: string; target_cache_memory_usage: string } }).cache_autotuning;
    const max = mebibytes(autotuning.max_cache_memory_usage);
    const target = mebibytes(autotuning.target_cache_memory_usage);
    const pid = instance.process.pid as number;
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
    // Autotuning reads jemalloc's statistics: without jemalloc in the process the bound does not exist.
    expect(readFileSync(`/proc/${pid}/maps`, "utf8"), `${pod} has jemalloc loaded`).toMatch(/libjemalloc\.so/);
    expect(rss, `${pod}: resident ${rss.toFixed(0)} MiB is under the autotuning target ${target} MiB`).toBeLessThan(target);
    expect(rss + max, `${pod}: resident ${rss.toFixed(0)} MiB + cache bound ${max} MiB within the limit ${limit} MiB`).toBeLessThanOrEqual(limit);
    rows.push(`${pod.padEnd(28)} ${`${rss.toFixed(0)} MiB`.padStart(8)} ${`${target} / ${max} MiB`.padStart(16)} ${`${limit} MiB`.padStart(9)}`);
  }
  return [`${"pod".padEnd(28)} ${"resident".padStart(8)} ${"target / bound".padStart(16)} ${"limit".padStart(9)}`, ...rows].join("\n");
}
