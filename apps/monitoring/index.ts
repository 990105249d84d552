/**
 * Alerts for the Prometheus Operator: one PrometheusRule whose groups each overlay replaces with its tier's
 * (pools and thresholds differ per tier; alert-rules.ts). Needs the operator's CRDs, so it follows
 * `monitoring.serviceMonitors` like the ServiceMonitors. In the last sync wave: nothing waits on it.
 */
import { PrometheusRule } from "../kube/models.ts";
import type { Component } from "../kube/component.ts";
import type { ManifestPatch } from "../kube/manifest.ts";
import { ifServiceMonitors } from "../kube/cluster-addons.ts";
import { objectLabels } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { alertGroups } from "./alert-rules.ts";

export const ruleName = "matrix-alerts";
const identity = { name: "matrix-monitoring", component: "alerts" };

function meta(site: Site) {
  return { name: ruleName, namespace: site.namespace, labels: objectLabels(identity), annotations: syncWaveAnnotations(syncWave.final) };
}

export const monitoring: Component = {
  name: "monitoring",
  base: (site, reference) => ifServiceMonitors(site, () => new PrometheusRule({ metadata: meta(site), spec: { groups: alertGroups(site, reference) } })),
  tierPatches(site: Site, tier: TierSizing): ManifestPatch[] {
    if (!site.monitoring.serviceMonitors) return [];
    // A list in a custom resource has no merge key: kustomize replaces it whole, which is what a tier needs.
    return [{ apiVersion: PrometheusRule.apiVersion, kind: PrometheusRule.kind, metadata: { name: ruleName, namespace: site.namespace }, spec: { groups: alertGroups(site, tier) } }];
  },
};
