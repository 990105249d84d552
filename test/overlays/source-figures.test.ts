/**
 * The source document's figures, written out here (not read from apps/site/sizing.ts), checked against the
 * rendered overlays. "Scaling → By User Count" gives per tier the main process's memory and CPU, the worker
 * counts and HAProxy's memory and CPU; "Horizontal Pod Autoscaling" the HPA ranges and targets; "Components"
 * the main process's single replica and ports and Element Web's replicas and resources. Where the repo reads
 * a figure differently the README's "Where the repo differs" says why (single figures are requests, the
 * limit is the top of the component's range: 2 × the request for main and HAProxy; tier counts are the HPA
 * minimums).
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { find, renderOverlay } from "../support/repo.ts";

// Limits: the top of each range, twice the request (written out, not computed).
const source = [
  { tier: "ccu-1k", main: { memory: "2Gi", cpu: "1" }, mainLimit: { memory: "4Gi", cpu: "2" },
    haproxy: { memory: "256Mi", cpu: "250m" }, haproxyLimit: { memory: "512Mi", cpu: "500m" },
    workers: { synchrotron: 2, generic: 2, media: 2, eventPersister: 2, federationSender: 1 } },
  { tier: "ccu-5k", main: { memory: "4Gi", cpu: "2" }, mainLimit: { memory: "8Gi", cpu: "4" },
    haproxy: { memory: "512Mi", cpu: "500m" }, haproxyLimit: { memory: "1Gi", cpu: "1" },
    workers: { synchrotron: 4, generic: 4, media: 4, eventPersister: 4, federationSender: 2 } },
  { tier: "ccu-10k", main: { memory: "8Gi", cpu: "4" }, mainLimit: { memory: "16Gi", cpu: "8" },
    haproxy: { memory: "1Gi", cpu: "1" }, haproxyLimit: { memory: "2Gi", cpu: "2" },
    workers: { synchrotron: 8, generic: 8, media: 6, eventPersister: 6, federationSender: 4 } },
  { tier: "ccu-20k", main: { memory: "16Gi", cpu: "8" }, mainLimit: { memory: "32Gi", cpu: "16" },
    haproxy: { memory: "2Gi", cpu: "2" }, haproxyLimit: { memory: "4Gi", cpu: "4" },
    workers: { synchrotron: 12, generic: 12, media: 8, eventPersister: 8, federationSender: 6 } },
] as const;

/** "Horizontal Pod Autoscaling": upper bounds and targets. */
const hpa = {
  "synapse-synchrotron": { max: 16, cpu: 60, memory: 70 },
  "synapse-generic": { max: 16, cpu: 70, memory: 80 },
  "synapse-media": { max: 8, cpu: 70, memory: 80 },
} as const;

interface Container { name: string; resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }; ports?: { name: string; containerPort: number }[] }
interface WorkloadSpec { replicas?: number; template: { spec: { containers: Container[] } } }
interface HpaSpec { minReplicas: number; maxReplicas: number; scaleTargetRef: { kind: string; name: string };
  metrics: { resource: { name: string; target: { averageUtilization: number } } }[] }

const spec = (o: KubeObject) => o.spec as unknown as WorkloadSpec;
const container = (o: KubeObject, name: string) => {
  const c = spec(o).template.spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
};

describe.each(source)("$tier as the source document sizes it", ({ tier, main, mainLimit, haproxy, haproxyLimit, workers }) => {
  it("gives the main process its memory and CPU (limit: the top of its range), one replica and its three ports", async () => {
    const objects = await renderOverlay(tier);
    const sts = find(objects, "StatefulSet", "synapse-main");
    expect(spec(sts).replicas).toBe(1);
    const c = container(sts, "synapse");
    expect(c.resources.requests).toEqual(main);
    expect(c.resources.limits).toEqual(mainLimit);
    expect(Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]))).toEqual({ http: 8008, replication: 9093, metrics: 9090 });
  });

  it("gives HAProxy its memory and CPU on two replicas", async () => {
    const objects = await renderOverlay(tier);
    const d = find(objects, "Deployment", "haproxy");
    expect(spec(d).replicas).toBe(2);
    const c = container(d, "haproxy");
    expect(c.resources.requests).toEqual(haproxy);
    expect(c.resources.limits).toEqual(haproxyLimit);
  });

  it("runs the worker counts: fixed for the stream writers, the HPA minimum for the autoscaled pools", async () => {
    const objects = await renderOverlay(tier);
    expect(spec(find(objects, "StatefulSet", "synapse-event-persister")).replicas).toBe(workers.eventPersister);
    expect(spec(find(objects, "StatefulSet", "synapse-federation-sender")).replicas).toBe(workers.federationSender);
    const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => o.spec as unknown as HpaSpec);
    const min = { "synapse-synchrotron": workers.synchrotron, "synapse-generic": workers.generic, "synapse-media": workers.media };
    for (const [name, bounds] of Object.entries(hpa)) {
      const h = hpas.find((x) => x.scaleTargetRef.name === name);
      expect(h, name).toBeDefined();
      const utilisation = Object.fromEntries((h?.metrics ?? []).map((m) => [m.resource.name, m.resource.target.averageUtilization]));
      expect({ min: h?.minReplicas, max: h?.maxReplicas, ...utilisation }, name).toEqual({ min: min[name as keyof typeof min], max: bounds.max, cpu: bounds.cpu, memory: bounds.memory });
      // The workload starts at the minimum; the HPA owns the count from then on.
      const target = find(objects, h?.scaleTargetRef.kind ?? "", name);
      expect(spec(target).replicas ?? min[name as keyof typeof min], name).toBe(min[name as keyof typeof min]);
    }
  });

  it("runs Element Web on two replicas with 64-128Mi and 50-100m", async () => {
    const d = find(await renderOverlay(tier), "Deployment", "element-web");
    expect(spec(d).replicas).toBe(2);
    expect(spec(d).template.spec.containers[0]?.resources).toEqual({ requests: { memory: "64Mi", cpu: "50m" }, limits: { memory: "128Mi", cpu: "100m" } });
  });
});
