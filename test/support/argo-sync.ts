/**
 * Argo CD's sync ordering, replayed on rendered objects (argoproj/gitops-engine pkg/sync): phase (PreSync,
 * Sync, PostSync), then `argocd.argoproj.io/sync-wave`, then kind in Argo CD's order, then name. Argo CD
 * waits for every object of a step (phase + wave) to be healthy before the next step starts.
 */
import type { KubeObject } from "../../tools/render/rendered.ts";

const phases = ["PreSync", "Sync", "PostSync"] as const;
export type Phase = (typeof phases)[number];

/** gitops-engine's kind order; every other kind (custom resources) comes after these. */
export const kindOrder = [
  "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount",
  "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
  "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
  "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
  "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
];

export interface SyncItem {
  object: KubeObject;
  phase: Phase;
  wave: number;
  /** Index of the health-gated step the object belongs to. */
  step: number;
  /** Position in Argo CD's apply order. */
  position: number;
}

export function phaseOf(o: KubeObject): Phase {
  const hook = o.metadata.annotations?.["argocd.argoproj.io/hook"];
  if (!hook) return "Sync";
  const first = hook.split(",")[0]?.trim() as Phase;
  if (!phases.includes(first)) throw new Error(`${o.kind}/${o.metadata.name}: hook ${hook} is not replayed here`);
  return first;
}

export function waveOf(o: KubeObject): number {
  const raw = o.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? "0";
  const wave = Number(raw);
  if (!Number.isInteger(wave)) throw new Error(`${o.kind}/${o.metadata.name}: sync-wave ${raw} is not an integer`);
  return wave;
}

function kindIndex(kind: string): number {
  const i = kindOrder.indexOf(kind);
  return i === -1 ? kindOrder.length : i;
}

export function replaySync(objects: KubeObject[]): SyncItem[] {
  const sorted = objects
    .map((object) => ({ object, phase: phaseOf(object), wave: waveOf(object) }))
    .sort((a, b) => phases.indexOf(a.phase) - phases.indexOf(b.phase) || a.wave - b.wave
      || kindIndex(a.object.kind) - kindIndex(b.object.kind)
      || (a.object.metadata.name < b.object.metadata.name ? -1 : a.object.metadata.name > b.object.metadata.name ? 1 : 0));
  let step = -1;
  let previous = "";
  return sorted.map((item, position) => {
    const key = `${item.phase}/${item.wave}`;
    if (key !== previous) { step++; previous = key; }
    return { ...item, step, position };
  });
}

/**
 * The steps Argo CD waits on (gitops-engine pkg/sync, sync_context.go): a multi-step sync waits on every
 * running task, and the operation succeeds as soon as the last step is applied only if that step holds no
 * hook. So every step is waited on except a last step without hooks.
 */
export function waitedSteps(items: SyncItem[]): Set<number> {
  const last = Math.max(...items.map((i) => i.step));
  const lastHasHook = items.some((i) => i.step === last && i.object.metadata.annotations?.["argocd.argoproj.io/hook"] !== undefined);
  return new Set(items.map((i) => i.step).filter((s) => s !== last || lastHasHook));
}
