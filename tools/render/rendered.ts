/** Rendered overlays as plain objects, and the figures the build prints about them. */
import { CORE_SCHEMA, loadAll } from "js-yaml";
import { parseCpu, parseMemory, formatCpu, formatMemory } from "../../apps/site/quantity.ts";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * kustomize's output as objects. Parsed with js-yaml rather than `yaml` (which writes every generated file):
 * on these ~200 KB renders it is seven times faster, the largest part of a build after kustomize itself. Both
 * read YAML 1.2's core schema; test/overlays/rendered-parse.test.ts checks they agree on every tier.
 */
export function parseRendered(yamlText: string): KubeObject[] {
  let docs: unknown[];
  try {
    docs = loadAll(yamlText, { schema: CORE_SCHEMA });
  } catch (e) {
    throw new Error(`rendered YAML does not parse: ${(e as Error).message.split("\n")[0]}`);
  }
  return docs.filter((o): o is KubeObject => o !== null && o !== undefined);
}

interface PodTemplate {
  spec?: { containers?: { resources?: { requests?: { cpu?: string; memory?: string } } }[] };
}

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

export interface Workload {
  kind: string;
  name: string;
  /** Fixed replicas, or the HPA's bounds when an HPA owns the count. */
  replicas: { min: number; max: number };
  cpu: number;
  memory: number;
}

export function workloads(objects: KubeObject[]): Workload[] {
  const hpaBounds = new Map<string, { min: number; max: number }>();
  for (const o of objects.filter((x) => x.kind === "HorizontalPodAutoscaler")) {
    const spec = o.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
    hpaBounds.set(`${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name}`, { min: spec.minReplicas ?? 1, max: spec.maxReplicas });
  }
  return objects
    .filter((o) => workloadKinds.has(o.kind))
    .map((o) => {
      const spec = o.spec as { replicas?: number; template: PodTemplate };
      const fixed = spec.replicas ?? 1;
      const replicas = hpaBounds.get(`${o.kind}/${o.metadata.name}`) ?? { min: fixed, max: fixed };
      let cpu = 0;
      let memory = 0;
      for (const c of spec.template.spec?.containers ?? []) {
        cpu += parseCpu(c.resources?.requests?.cpu ?? "0") ?? 0;
        memory += parseMemory(c.resources?.requests?.memory ?? "0") ?? 0;
      }
      return { kind: o.kind, name: o.metadata.name, replicas, cpu, memory };
    });
}

export interface TierSummary {
  tier: string;
  objects: number;
  kinds: string;
  replicas: string;
  cpu: string;
  memory: string;
}

/** One row of the build's table. Requests are totalled at each workload's minimum replica count. */
export function summarize(tier: string, objects: KubeObject[]): TierSummary {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  const ws = workloads(objects);
  const min = ws.reduce((n, w) => n + w.replicas.min, 0);
  const max = ws.reduce((n, w) => n + w.replicas.max, 0);
  return {
    tier,
    objects: objects.length,
    kinds: [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(", "),
    replicas: min === max ? `${min}` : `${min}–${max}`,
    cpu: formatCpu(ws.reduce((n, w) => n + w.cpu * w.replicas.min, 0)),
    memory: formatMemory(ws.reduce((n, w) => n + w.memory * w.replicas.min, 0)),
  };
}

export function formatTable(rows: TierSummary[]): string {
  const head = ["tier", "objects", "pods", "cpu req", "mem req", "kinds"];
  const body = rows.map((r) => [r.tier, String(r.objects), r.replicas, r.cpu, r.memory, r.kinds]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}
