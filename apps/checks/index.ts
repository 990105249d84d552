/**
 * Checks around a sync: a Sync-hook Job that stops the sync when Phase 1 infrastructure (PostgreSQL, Redis,
 * MinIO) is unreachable, before anything starts; and a PostSync-hook Job running the source document's
 * "Verification" checks inside the cluster. Both run the pinned Synapse image, which ships Python.
 */
import { readFileSync } from "node:fs";
import { ConfigMap } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";
import type { Component } from "../kube/component.ts";
import type { Manifest } from "../kube/manifest.ts";
import { imageVersion, objectLabels } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodDefaults } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import { synapseUid } from "../synapse/paths.ts";

const scripts = {
  "preflight.py": readFileSync(new URL("./preflight.py", import.meta.url), "utf8"),
  "smoke-test.py": readFileSync(new URL("./smoke-test.py", import.meta.url), "utf8"),
};
const configMap = "matrix-checks";

export interface PreflightService {
  name: string;
  host: string;
  port: number;
  hint: string;
}

/** What the Phase 1 check probes, from the site's external services. */
export function preflightServices(site: Site): PreflightService[] {
  const s3 = new URL(site.s3.endpoint);
  return [
    { name: "PostgreSQL", host: site.postgres.host, port: site.postgres.port, hint: "Expected the CloudNativePG cluster matrix-postgresql (site.postgres)." },
    { name: "Redis", host: site.redis.host, port: site.redis.port, hint: "Expected the redis StatefulSet (site.redis)." },
    { name: "MinIO", host: s3.hostname, port: Number(s3.port || (s3.protocol === "https:" ? 443 : 80)), hint: "Expected the MinIO tenant minio (site.s3.endpoint)." },
  ];
}

/** Environment of the smoke test: in-cluster URLs of HAProxy and Element Web, and what they must answer. */
export function smokeTestEnv(site: Site): Record<string, string> {
  const svc = (name: string, port: number) => `http://${name}.${site.namespace}.svc.${site.clusterDomain}:${port}`;
  return {
    SMOKE_CLIENT_URL: svc("haproxy-client", 8008),
    SMOKE_FEDERATION_URL: svc("haproxy-federation", 8448),
    SMOKE_ELEMENT_URL: svc("element-web", 80),
    SMOKE_EXPECTED_BASE_URL: `https://${site.hosts.matrix}`,
    SMOKE_ORIGIN: `https://${site.hosts.element}`,
  };
}

const identity = (component: string) => ({ name: "matrix-checks", component });

function hookJob(site: Site, name: string, script: string, env: Record<string, string>, annotations: Record<string, string>, deadline: number): Job {
  const labels = objectLabels(identity(name.replace(/^matrix-/, "")), imageVersion(site.images.synapse));
  return new Job({
    metadata: { name, namespace: site.namespace, labels, annotations },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: deadline,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          ...restrictedPodDefaults(synapseUid),
          containers: [{
            name: "check",
            image: site.images.synapse,
            command: ["python", `/scripts/${script}`],
            env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
            securityContext: restrictedContainerSecurity(),
            volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }],
          }],
          volumes: [{ name: "scripts", configMap: { name: configMap } }],
        },
      },
    },
  });
}

export const checks: Component = {
  name: "checks",

  base(site): Manifest[] {
    return [
      new ConfigMap({
        metadata: { name: configMap, namespace: site.namespace, labels: objectLabels(identity("scripts")), annotations: syncWaveAnnotations(syncWave.preflightSetup) },
        data: scripts,
      }),
      hookJob(site, "matrix-preflight", "preflight.py", {
        PREFLIGHT_SERVICES: JSON.stringify(preflightServices(site)),
        PREFLIGHT_TIMEOUT_SECONDS: "300",
      }, {
        ...syncWaveAnnotations(syncWave.preflight),
        "argocd.argoproj.io/hook": "Sync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
      }, 360),
      hookJob(site, "matrix-smoke-test", "smoke-test.py", smokeTestEnv(site), {
        // PostSync: runs once every resource of the sync is healthy.
        "argocd.argoproj.io/hook": "PostSync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
      }, 300),
    ];
  },

  tierPatches: () => [],
};
