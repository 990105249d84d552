/**
 * Invariants every rendered pod and budget must hold, whatever the tier or site: a service account token
 * only in the one pod that talks to the Kubernetes API, RBAC limited to the Secrets it manages, and every
 * PodDisruptionBudget leaving room for one voluntary eviction (a budget that allows none blocks node drains).
 */
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { renderOverlay } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";

interface PodSpec { automountServiceAccountToken?: boolean; serviceAccountName?: string }
interface Workload { object: KubeObject; pod: PodSpec; labels: Record<string, string>; minReplicas: number }

function workloads(objects: KubeObject[]): Workload[] {
  const hpaMin = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
    const s = o.spec as { minReplicas: number; scaleTargetRef: { kind: string; name: string } };
    return [`${s.scaleTargetRef.kind}/${s.scaleTargetRef.name}`, s.minReplicas] as const;
  }));
  return objects.flatMap((o) => {
    const s = o.spec as { replicas?: number; template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } } | undefined;
    if (!s?.template || !["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(o.kind)) return [];
    const min = hpaMin.get(`${o.kind}/${o.metadata.name}`) ?? s.replicas ?? 1;
    return [{ object: o, pod: s.template.spec, labels: s.template.metadata?.labels ?? {}, minReplicas: min }];
  });
}

/** The one pod that needs the API: the Job that creates missing keys of the Synapse and LiveKit Secrets. */
const apiClients = (expected.secretGenerated || expected.calls) ? ["Job/synapse-secrets-init"] : [];

/**
 * The source document's verification commands select pods by `app.kubernetes.io/name` and wait for them to
 * be Ready: each selector must match only long-running pods of that application (a finished Job's pod is
 * never Ready, and `kubectl wait` would not return).
 */
const sourceSelectors: Record<string, string[]> = {
  synapse: ["StatefulSet"],
  haproxy: ["Deployment"],
  "element-web": ["Deployment"],
};

describe.each(tiers.map((t) => t.name))("pods and budgets of %s", (tier) => {
  it("keep the source document's `kubectl wait -l app.kubernetes.io/name=…` selectors to long-running pods", async () => {
    const all = workloads(await renderOverlay(tier));
    for (const [name, kinds] of Object.entries(sourceSelectors)) {
      const matched = all.filter((w) => w.labels["app.kubernetes.io/name"] === name);
      expect(matched.length, name).toBeGreaterThan(0);
      for (const w of matched) expect(kinds, `${w.object.kind}/${w.object.metadata.name} matches -l app.kubernetes.io/name=${name}`).toContain(w.object.kind);
    }
    // Every Synapse process is matched: main and each worker pool.
    const synapse = all.filter((w) => w.labels["app.kubernetes.io/name"] === "synapse").map((w) => w.object.metadata.name);
    expect(synapse).toEqual(all.filter((w) => w.object.kind === "StatefulSet" && w.object.metadata.name.startsWith("synapse-")).map((w) => w.object.metadata.name));
  });

  it("mount a service account token only where the Kubernetes API is used", async () => {
    const objects = await renderOverlay(tier);
    const withToken = workloads(objects).filter((w) => w.pod.automountServiceAccountToken !== false).map((w) => `${w.object.kind}/${w.object.metadata.name}`);
    expect(withToken).toEqual(apiClients);
    for (const w of workloads(objects).filter((x) => !apiClients.includes(`${x.object.kind}/${x.object.metadata.name}`))) {
      expect(w.pod.automountServiceAccountToken, `${w.object.kind}/${w.object.metadata.name}`).toBe(false);
      expect(w.pod.serviceAccountName, `${w.object.kind}/${w.object.metadata.name}`).toBeUndefined();
    }
    expect(objects.filter((o) => o.kind === "ServiceAccount").map((o) => o.metadata.name)).toEqual(apiClients.length ? ["synapse-secrets-init"] : []);
  });

  it("grant that token only create, and get and patch on the Secrets it fills", async () => {
    const objects = await renderOverlay(tier);
    const roles = objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
    if (apiClients.length === 0) {
      expect(roles).toEqual([]);
      return;
    }
    const managed = [...(expected.secretGenerated ? [expected.synapseSecret] : []), ...(expected.calls ? ["livekit-keys"] : [])].sort();
    expect(roles.map((r) => [r.kind, r.metadata.name, (r as unknown as { rules: unknown }).rules])).toEqual([["Role", "synapse-secrets-init", [
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      { apiGroups: [""], resources: ["secrets"], resourceNames: managed, verbs: ["get", "patch"] },
    ]]]);
  });

  it("leave every budget room for one eviction at the workload's minimum size", async () => {
    const objects = await renderOverlay(tier);
    const all = workloads(objects);
    for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
      const s = pdb.spec as { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
      const selected = all.filter((w) => w.object.kind !== "Job" && Object.entries(s.selector.matchLabels).every(([k, v]) => w.labels[k] === v));
      expect(selected.map((w) => w.object.metadata.name), pdb.metadata.name).toHaveLength(1);
      const replicas = selected[0]?.minReplicas ?? 0;
      const allowed = s.maxUnavailable !== undefined ? s.maxUnavailable : replicas - (s.minAvailable ?? replicas);
      expect(allowed, `${pdb.metadata.name}: ${JSON.stringify(s)} at ${replicas} replicas`).toBeGreaterThanOrEqual(1);
    }
  });
});
