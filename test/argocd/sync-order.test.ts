import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { renderOverlay } from "../support/repo.ts";
import { replaySync, waitedSteps, type SyncItem } from "../support/argo-sync.ts";
import { expected } from "../support/site-under-test.ts";

function item(items: SyncItem[], kind: string, name: string): SyncItem {
  const found = items.find((i) => i.object.kind === kind && i.object.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
}

/** Objects that stay Progressing or Degraded until something outside the repo acts. */
function isHealthTrap(o: KubeObject): boolean {
  if (o.kind === "Ingress" || o.kind === "PersistentVolumeClaim" || o.kind === "HorizontalPodAutoscaler" || o.kind === "Certificate") return true;
  return o.kind === "Service" && (o.spec as { type?: string }).type === "LoadBalancer";
}

describe.each(tiers.map((t) => t.name))("Argo CD sync of %s, replayed", (tier) => {
  it("follows the source document's deployment order, each step health-gated before the next", async () => {
    const items = replaySync(await renderOverlay(tier));
    const step = (kind: string, name: string) => item(items, kind, name).step;
    // Phase 1 check, then secrets, then the main process with its configuration.
    if (expected.secretGenerated || expected.calls) {
      expect(step("Job", "matrix-preflight")).toBeLessThan(step("Job", "synapse-secrets-init"));
      expect(step("Job", "synapse-secrets-init")).toBeLessThan(step("StatefulSet", "synapse-main"));
    } else {
      expect(items.some((i) => i.object.metadata.name === "synapse-secrets-init")).toBe(false);
      expect(step("Job", "matrix-preflight")).toBeLessThan(step("StatefulSet", "synapse-main"));
    }
    const config = item(items, "ConfigMap", "synapse-config");
    const main = item(items, "StatefulSet", "synapse-main");
    expect(config.position).toBeLessThan(main.position);
    // "Wait for main process to be ready", then workers in the documented order.
    const chain: [string, string][] = [
      ["StatefulSet", "synapse-main"],
      ["StatefulSet", "synapse-event-persister"],
      ["StatefulSet", "synapse-federation-sender"],
      ["StatefulSet", "synapse-media"],
      ["StatefulSet", "synapse-synchrotron"],
      ["StatefulSet", "synapse-generic"],
      // "Wait for workers", then HAProxy, "wait for HAProxy", then Element Web.
      ["Deployment", "haproxy"],
      ["Deployment", "element-web"],
    ];
    for (let i = 1; i < chain.length; i++) {
      const [before, after] = [chain[i - 1] as [string, string], chain[i] as [string, string]];
      expect(step(...after), `${after[1]} after ${before[1]}`).toBeGreaterThan(step(...before));
    }
    // LiveKit and coturn after the main instance.
    const calls = [["Deployment", "livekit"], ["Deployment", "lk-jwt-service"], ["DaemonSet", "coturn"]] as const;
    for (const [kind, name] of calls) {
      if (expected.calls) expect(step(kind, name), name).toBeGreaterThan(step("StatefulSet", "synapse-main"));
      else expect(items.some((i) => i.object.kind === kind && i.object.metadata.name === name), name).toBe(false);
    }
    // The smoke test runs once every workload is healthy, in the step before the objects nothing waits on.
    const smoke = item(items, "Job", "matrix-smoke-test");
    expect(smoke.phase).toBe("Sync");
    const workloads = items.filter((i) => ["StatefulSet", "Deployment", "DaemonSet"].includes(i.object.kind));
    for (const w of workloads) expect(w.step, `${w.object.kind}/${w.object.metadata.name} before the smoke test`).toBeLessThan(smoke.step);
    expect(smoke.step).toBe(Math.max(...items.map((i) => i.step)) - 1);
  });

  it("starts every optional worker role after main and before HAProxy", async () => {
    const items = replaySync(await renderOverlay(tier));
    const mainStep = item(items, "StatefulSet", "synapse-main").step;
    const haproxyStep = item(items, "Deployment", "haproxy").step;
    for (const i of items.filter((x) => (x.object.kind === "StatefulSet" || x.object.kind === "Deployment") && x.object.metadata.labels?.["app.kubernetes.io/name"] === "synapse" && x.object.metadata.name !== "synapse-main")) {
      expect(i.step, i.object.metadata.name).toBeGreaterThan(mainStep);
      expect(i.step, i.object.metadata.name).toBeLessThan(haproxyStep);
    }
  });

  it("finishes with no health trap (Ingress, LoadBalancer, PVC, HPA, Certificate) in a step Argo CD waits on, PostSync included", async () => {
    const items = replaySync(await renderOverlay(tier));
    const waited = waitedSteps(items);
    const traps = items.filter((i) => isHealthTrap(i.object));
    expect(traps.length).toBeGreaterThan(0);
    for (const t of traps) expect(waited.has(t.step), `${t.object.kind}/${t.object.metadata.name} is in a step Argo CD waits on`).toBe(false);
    expect(items.filter((i) => i.phase === "PostSync").map((i) => i.object.metadata.name)).toEqual([]);
  });
});

describe("the replay itself", () => {
  it("waits on every step but a last one without hooks: a PostSync hook makes the last Sync step waited on", () => {
    const o = (kind: string, name: string, annotations: Record<string, string> = {}) => ({ apiVersion: "v1", kind, metadata: { name, annotations } });
    const ingress = o("Ingress", "web", { "argocd.argoproj.io/sync-wave": "20" });
    const plain = replaySync([o("Deployment", "app"), ingress]);
    expect([...waitedSteps(plain)]).toEqual([0]);
    const withPostSync = replaySync([o("Deployment", "app"), ingress, o("Job", "check", { "argocd.argoproj.io/hook": "PostSync" })]);
    expect([...waitedSteps(withPostSync)].sort()).toEqual([0, 1, 2]);
    const hookInLast = replaySync([o("Deployment", "app"), ingress, o("Job", "check", { "argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "20" })]);
    expect(waitedSteps(hookInLast).has(1)).toBe(true);
  });

  it("orders by phase, wave, kind and name", () => {
    const o = (kind: string, name: string, annotations: Record<string, string> = {}) => ({ apiVersion: "v1", kind, metadata: { name, annotations } });
    const items = replaySync([
      o("Deployment", "b"), o("ConfigMap", "z"), o("Service", "a", { "argocd.argoproj.io/sync-wave": "-1" }),
      o("Job", "hook", { "argocd.argoproj.io/hook": "PostSync" }), o("Deployment", "a"), o("Job", "pre", { "argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "5" }),
    ]);
    expect(items.map((i) => `${i.object.kind}/${i.object.metadata.name}@${i.step}`)).toEqual([
      "Job/pre@0", "Service/a@1", "ConfigMap/z@2", "Deployment/a@2", "Deployment/b@2", "Job/hook@3",
    ]);
  });
});
