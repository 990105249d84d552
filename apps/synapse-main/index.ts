/**
 * The Synapse main process (the source document's `01-synapse/`): one replica that must never scale, the
 * configuration every Synapse process loads, a headless Service, a ServiceMonitor and the in-cluster secret
 * generator.
 */
import { ConfigMap, Service, ServiceMonitor, StatefulSet } from "../kube/models.ts";
import type { Component } from "../kube/component.ts";
import type { Manifest, ManifestPatch } from "../kube/manifest.ts";
import { configHashAnnotation } from "../kube/config-hash.ts";
import { objectLabels, selectorLabels } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { configMapName, mainName, mainProcessFile, synapseConfig, tierFiles } from "../synapse/config-files.ts";
import { ports } from "../synapse/paths.ts";
import { synapsePodTemplate } from "../synapse/process.ts";
import { secretsInitObjects } from "../synapse/secrets-job.ts";
import { ifServiceMonitors } from "../kube/cluster-addons.ts";

const identity = { name: "synapse", component: "main" };
const servicePorts = [
  { name: "http", port: ports.http },
  { name: "replication", port: ports.replication },
  { name: "metrics", port: ports.metrics },
];

function meta(site: Site, name: string) {
  return { name, namespace: site.namespace, labels: objectLabels(identity), annotations: syncWaveAnnotations(syncWave.synapseMain) };
}

function mainStatefulSet(site: Site, tier: TierSizing, hash: string): StatefulSet {
  return new StatefulSet({
    metadata: meta(site, mainName),
    spec: {
      // Synapse supports exactly one main process; scaling it would corrupt state. Never autoscaled.
      replicas: 1,
      serviceName: mainName,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      selector: { matchLabels: selectorLabels(identity) },
      template: synapsePodTemplate({
        site,
        identity,
        app: "synapse.app.homeserver",
        configMap: configMapName,
        processFile: mainProcessFile,
        configHash: hash,
        isWorker: false,
        replication: true,
        resources: tier.main,
        terminationGracePeriodSeconds: 90,
        media: false,
        spread: false,
      }),
    },
  });
}

export const synapseMain: Component = {
  name: "synapse-main",

  base(site, reference): Manifest[] {
    const config = synapseConfig(site, reference);
    return [
      ...secretsInitObjects(site),
      new ConfigMap({ metadata: meta(site, configMapName), data: config.files }),
      new Service({
        metadata: meta(site, mainName),
        spec: {
          // Headless: gives the pod the stable address `synapse-main-0.synapse-main.<ns>.svc` that
          // instance_map and HAProxy's DNS discovery use.
          clusterIP: "None",
          selector: selectorLabels(identity),
          ports: servicePorts.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
        },
      }),
      mainStatefulSet(site, reference, config.hash),
      ...ifServiceMonitors(site, () => new ServiceMonitor({
        metadata: meta(site, mainName),
        spec: {
          selector: { matchLabels: selectorLabels(identity) },
          namespaceSelector: { matchNames: [site.namespace] },
          endpoints: [{ port: "metrics", path: "/_synapse/metrics", interval: "30s" }],
        },
      })),
    ];
  },

  tierPatches(site, tier): ManifestPatch[] {
    const config = synapseConfig(site, tier);
    return [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: configMapName, namespace: site.namespace },
        data: Object.fromEntries(tierFiles.map((f) => [f, config.files[f]])),
      },
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: mainName, namespace: site.namespace },
        spec: {
          template: {
            metadata: { annotations: { [configHashAnnotation]: config.hash } },
            spec: { containers: [{ name: "synapse", resources: { requests: { ...tier.main.requests }, limits: { ...tier.main.limits } } }] },
          },
        },
      },
    ];
  },
};
