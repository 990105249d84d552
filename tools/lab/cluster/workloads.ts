/** The Synapse and HAProxy workloads of a rendered overlay, with the pods the lab runs for each. */
import type { KubeObject } from "../../render/rendered.ts";
import type { PodTemplate } from "./pods.ts";

export interface LabWorkload {
  kind: string;
  name: string;
  /** Headless Service its pods answer behind (StatefulSet serviceName, or the Service selecting them). */
  service: string | undefined;
  /** Every Service that selects its pods (their names resolve to the pods too). */
  services: string[];
  template: PodTemplate;
  claims: string[];
  pods: string[];
}

type Spec = { replicas?: number; serviceName?: string; template: PodTemplate; volumeClaimTemplates?: { metadata: { name: string } }[] };

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Synapse and HAProxy workloads of the overlay, with their pod names at the tier's minimum (or `counts`). */
export function labWorkloads(objects: KubeObject[], counts: Record<string, number> = {}): LabWorkload[] {
  const hpaMin = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
    const s = o.spec as { scaleTargetRef: { name: string }; minReplicas?: number };
    return [s.scaleTargetRef.name, s.minReplicas ?? 1];
  }));
  const services = objects.filter((o) => o.kind === "Service");
  return objects
    .filter((o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && ["synapse", "haproxy"].includes(o.metadata.labels?.["app.kubernetes.io/name"] ?? ""))
    .map((o) => {
      const spec = o.spec as unknown as Spec;
      const name = o.metadata.name;
      const count = counts[name] ?? spec.replicas ?? hpaMin.get(name) ?? 1;
      const labels = spec.template.metadata?.labels;
      const headless = services.find((s) => (s.spec as { clusterIP?: string }).clusterIP === "None" && matches((s.spec as { selector?: Record<string, string> }).selector, labels));
      const service = spec.serviceName ?? headless?.metadata.name;
      const selecting = services.filter((s) => matches((s.spec as { selector?: Record<string, string> }).selector, labels)).map((s) => s.metadata.name);
      const pods = Array.from({ length: count }, (_, i) => (o.kind === "StatefulSet" ? `${name}-${i}` : `${name}-lab${i}`));
      return { kind: o.kind, name, service, services: selecting, template: spec.template, claims: (spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name), pods };
    });
}

