/**
 * Synapse worker pools (the source document's `02-workers/`), one typed builder for all of them: named
 * pools (event persisters, federation senders, optional stream writers and duty holders) are StatefulSets
 * with a headless Service and a fixed count written into every process's configuration; stateless pools
 * (synchrotron, generic, media, federation reader, initial sync) are owned by an HPA.
 */
import { HorizontalPodAutoscaler, PodDisruptionBudget, Service, ServiceMonitor, StatefulSet } from "../kube/models.ts";
import type { Component, OptionalPart } from "../kube/component.ts";
import type { Manifest, ManifestPatch } from "../kube/manifest.ts";
import { configHashAnnotation } from "../kube/config-hash.ts";
import { objectLabels, selectorLabels, type AppIdentity } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { configMapName, synapseConfig, workerFile } from "../synapse/config-files.ts";
import { ports } from "../synapse/paths.ts";
import { synapsePodTemplate } from "../synapse/process.ts";
import { allOptionalPools, type WorkerPool } from "../synapse/topology.ts";
import { ifServiceMonitors } from "../kube/cluster-addons.ts";

function identity(pool: WorkerPool): AppIdentity {
  return { name: "synapse", component: pool.role };
}

function meta(site: Site, pool: WorkerPool, wave = pool.wave) {
  return { name: pool.name, namespace: site.namespace, labels: objectLabels(identity(pool)), annotations: syncWaveAnnotations(wave) };
}

function headlessService(site: Site, pool: WorkerPool): Service {
  const named = pool.scaling.kind === "named";
  return new Service({
    metadata: meta(site, pool),
    spec: {
      // Headless: stable per-pod DNS names for named instances, and DNS discovery of every pod for HAProxy.
      clusterIP: "None",
      // Pods must be reachable by name while they start, so that replication requests find them.
      publishNotReadyAddresses: named,
      selector: selectorLabels(identity(pool)),
      ports: [
        { name: "http", port: ports.http, targetPort: "http", protocol: "TCP" as const },
        ...(named ? [{ name: "replication", port: ports.replication, targetPort: "replication", protocol: "TCP" as const }] : []),
        { name: "metrics", port: ports.metrics, targetPort: "metrics", protocol: "TCP" as const },
      ],
    },
  });
}

function podTemplate(site: Site, pool: WorkerPool, hash: string) {
  return synapsePodTemplate({
    site,
    identity: identity(pool),
    app: pool.app,
    configMap: configMapName,
    processFile: workerFile(pool),
    configHash: hash,
    isWorker: true,
    replication: pool.scaling.kind === "named",
    resources: pool.resources,
    terminationGracePeriodSeconds: pool.gracePeriodSeconds,
    media: pool.servesMedia,
    spread: true,
  });
}

function workload(site: Site, pool: WorkerPool, hash: string): Manifest {
  const selector = { matchLabels: selectorLabels(identity(pool)) };
  const template = podTemplate(site, pool, hash);
  // Every pool is a StatefulSet: named instances need stable names for Synapse, and autoscaled pools need them
  // for HAProxy, which hashes users and rooms over one named server per pod so that both replicas agree.
  return new StatefulSet({
    metadata: meta(site, pool),
    spec: {
      // No `replicas` for autoscaled pools: the HPA owns the count, and a value here would fight it on every sync.
      ...(pool.scaling.kind === "named" ? { replicas: pool.scaling.replicas } : {}),
      serviceName: pool.name,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      selector,
      // No volume claims: media pods keep nothing of their own (S3 is the only store), so scaling in loses nothing.
      template,
    },
  });
}

function autoscaler(site: Site, pool: WorkerPool): Manifest[] {
  if (pool.scaling.kind !== "autoscaled") return [];
  const b = pool.scaling.bounds;
  return [new HorizontalPodAutoscaler({
    // Last wave: an HPA reports degraded until metrics flow, which must not hold up the rest of the sync.
    metadata: meta(site, pool, syncWave.final),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: pool.name },
      minReplicas: b.min,
      maxReplicas: b.max,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: b.targetCpuPercent } } },
        { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: b.targetMemoryPercent } } },
      ],
      // Scale in slowly: dropping a synchrotron moves its users' sync streams to another pod.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] } },
    },
  })];
}

function disruptionBudget(site: Site, pool: WorkerPool): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: meta(site, pool),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(identity(pool)) } },
  });
}

function poolObjects(site: Site, pool: WorkerPool, hash: string): Manifest[] {
  return [headlessService(site, pool), workload(site, pool, hash), disruptionBudget(site, pool), ...autoscaler(site, pool)];
}

export const synapseWorkers: Component = {
  name: "synapse-workers",

  base(site, reference): Manifest[] {
    const config = synapseConfig(site, reference);
    const core = config.topology.pools.filter((p) => !p.optionalRole);
    return [
      ...core.flatMap((pool) => poolObjects(site, pool, config.hash)),
      ...ifServiceMonitors(site, () => new ServiceMonitor({
        metadata: {
          name: "synapse-workers",
          namespace: site.namespace,
          labels: objectLabels({ name: "synapse", component: "workers" }),
          annotations: syncWaveAnnotations(syncWave.eventPersisters),
        },
        spec: {
          // Every worker pod, optional roles included: their Services carry the same name label.
          selector: {
            matchLabels: { "app.kubernetes.io/name": "synapse" },
            matchExpressions: [{ key: "app.kubernetes.io/component", operator: "NotIn", values: ["main"] }],
          },
          namespaceSelector: { matchNames: [site.namespace] },
          endpoints: [{ port: "metrics", path: "/_synapse/metrics", interval: "30s" }],
        },
      })),
    ];
  },

  optionalParts(site, reference): OptionalPart[] {
    const hash = synapseConfig(site, reference).hash;
    return allOptionalPools().map((pool) => ({ name: `synapse-${pool.role}`, manifests: poolObjects(site, pool, hash) }));
  },

  tierParts(tier): string[] {
    return tier.optionalRoles.map((role) => `synapse-${role}`);
  },

  tierPatches(site, tier): ManifestPatch[] {
    const config = synapseConfig(site, tier);
    const patches: ManifestPatch[] = [];
    for (const pool of config.topology.pools) {
      patches.push({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: pool.name, namespace: site.namespace },
        spec: {
          ...(pool.scaling.kind === "named" ? { replicas: pool.scaling.replicas } : {}),
          template: { metadata: { annotations: { [configHashAnnotation]: config.hash } } },
        },
      });
      if (pool.scaling.kind === "autoscaled") {
        patches.push({
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: pool.name, namespace: site.namespace },
          spec: { minReplicas: pool.scaling.bounds.min, maxReplicas: pool.scaling.bounds.max },
        });
      }
    }
    return patches;
  },
};
