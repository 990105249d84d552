/**
 * Alerts for the Prometheus Operator and a Grafana dashboard: one PrometheusRule whose groups each overlay
 * replaces with its tier's (pools and thresholds differ per tier; alert-rules.ts), and one ConfigMap for
 * Grafana's dashboard sidecar whose dashboard each overlay replaces (dashboard.ts). Both follow
 * `monitoring.serviceMonitors` like the ServiceMonitors. In the last sync wave: nothing waits on them.
 */
import { ConfigMap, PrometheusRule } from "../kube/models.ts";
import type { Component } from "../kube/component.ts";
import type { ManifestPatch } from "../kube/manifest.ts";
import { ifServiceMonitors } from "../kube/cluster-addons.ts";
import { objectLabels } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { alertGroups } from "./alert-rules.ts";
import { dashboard, dashboardFile } from "./dashboard.ts";

export const ruleName = "matrix-alerts";
export const dashboardName = "matrix-dashboard";
/** The label (and value) kube-prometheus-stack's Grafana sidecar looks for by default. */
const sidecarLabel = { grafana_dashboard: "1" };

const dashboardData = (site: Site, tier: TierSizing) => ({ [dashboardFile]: `${JSON.stringify(dashboard(site, tier), null, 2)}\n` });
const identity = { name: "matrix-monitoring", component: "alerts" };

function meta(site: Site, name: string, extraLabels: Record<string, string> = {}) {
  return { name, namespace: site.namespace, labels: { ...objectLabels(identity), ...extraLabels }, annotations: syncWaveAnnotations(syncWave.final) };
}

export const monitoring: Component = {
  name: "monitoring",
  base: (site, reference) => [
    ...ifServiceMonitors(site, () => new PrometheusRule({ metadata: meta(site, ruleName), spec: { groups: alertGroups(site, reference) } })),
    ...ifServiceMonitors(site, () => new ConfigMap({ metadata: meta(site, dashboardName, sidecarLabel), data: dashboardData(site, reference) })),
  ],
  tierPatches(site: Site, tier: TierSizing): ManifestPatch[] {
    if (!site.monitoring.serviceMonitors) return [];
    // A list in a custom resource has no merge key: kustomize replaces it whole, which is what a tier needs.
    return [
      { apiVersion: PrometheusRule.apiVersion, kind: PrometheusRule.kind, metadata: { name: ruleName, namespace: site.namespace }, spec: { groups: alertGroups(site, tier) } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: dashboardName, namespace: site.namespace }, data: dashboardData(site, tier) },
    ];
  },
};
