/** Pod specs and containers of rendered workloads, for the policy rules. */
import type { KubeObject } from "../render/rendered.ts";

export interface Container {
  name: string;
  image?: string;
  ports?: { hostPort?: number; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type?: string };
  };
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

export interface Workload {
  object: KubeObject;
  id: string;
  pod: PodSpec;
  templateLabels: Record<string, string>;
  /** Deployment, StatefulSet, DaemonSet: long-running pods that need probes and disruption budgets. */
  longRunning: boolean;
}

export function objectId(o: KubeObject): string {
  return `${o.kind}/${o.metadata.name}`;
}

export function workloadsOf(objects: KubeObject[]): Workload[] {
  const result: Workload[] = [];
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    let template: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } | undefined;
    if (["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"].includes(o.kind)) template = spec?.template as typeof template;
    else if (o.kind === "CronJob") template = ((spec?.jobTemplate as { spec?: { template?: typeof template } })?.spec?.template);
    else if (o.kind === "Pod") template = { metadata: o.metadata as { labels?: Record<string, string> }, spec: spec as unknown as PodSpec };
    if (!template?.spec) continue;
    result.push({
      object: o,
      id: objectId(o),
      pod: template.spec,
      templateLabels: template.metadata?.labels ?? {},
      longRunning: ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind),
    });
  }
  return result;
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
