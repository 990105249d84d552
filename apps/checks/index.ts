/**
 * Checks around a sync: a Sync-hook Job that stops the sync, before anything starts, when Phase 1
 * infrastructure (PostgreSQL, Redis, MinIO) is not what Synapse needs (preflight.py says what it checks);
 * and a Sync-hook Job, once every workload is healthy, running the source document's "Verification" checks
 * inside the cluster. Both run the pinned Synapse image, which ships Python.
 */
import { readFileSync } from "node:fs";
import { ConfigMap, Job } from "../kube/models.ts";
import type { IEnvVar, IVolume, IVolumeMount } from "kubernetes-models/v1";
import type { Component } from "../kube/component.ts";
import type { Manifest, ManifestPatch } from "../kube/manifest.ts";
import { imageVersion, objectLabels } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodDefaults } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { connectionBudget } from "../synapse/database-budget.ts";
import { redisSecretDir, synapseUid } from "../synapse/paths.ts";

const scripts = {
  "preflight.py": readFileSync(new URL("./preflight.py", import.meta.url), "utf8"),
  "smoke-test.py": readFileSync(new URL("./smoke-test.py", import.meta.url), "utf8"),
};
const configMap = "matrix-checks";

/**
 * Synapse 1.157 refuses PostgreSQL older than 14 (`synapse/storage/engines/postgres.py`, check_database:
 * `server_version < 140000`). Raise it with the pinned image when Synapse raises its own.
 */
export const synapsePostgresMinimum = 140000;

/** What the preflight checks and where, from the site: the same hosts, users and Secrets the Synapse pods use. */
export function preflightEnv(site: Site, tier: TierSizing): IEnvVar[] {
  const c = site.s3.credentialsSecret;
  const value = (name: string, v: unknown) => ({ name, value: typeof v === "string" ? v : JSON.stringify(v) });
  return [
    value("PREFLIGHT_POSTGRES", {
      host: site.postgres.host, port: site.postgres.port, database: site.postgres.database, user: site.postgres.user,
      passwordSecret: site.postgres.passwordSecret,
    }),
    value("PREFLIGHT_POSTGRES_MIN_VERSION", String(synapsePostgresMinimum)),
    value("PREFLIGHT_POSTGRES_MIN_CONNECTIONS", String(connectionBudget(tier).maxConnectionsNeeded)),
    value("PREFLIGHT_REDIS", {
      host: site.redis.host, port: site.redis.port,
      passwordFile: site.redis.passwordSecret ? `${redisSecretDir}/${site.redis.passwordSecret.key}` : null,
    }),
    value("PREFLIGHT_S3", { endpoint: site.s3.endpoint, bucket: site.s3.bucket, region: site.s3.region, credentialsSecret: c.name }),
    value("PREFLIGHT_TIMEOUT_SECONDS", "300"),
    { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: site.postgres.passwordSecret.name, key: site.postgres.passwordSecret.key } } },
    { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: c.name, key: c.accessKeyIdKey } } },
    { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: c.name, key: c.secretAccessKeyKey } } },
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

interface HookPod {
  env: IEnvVar[];
  volumes?: IVolume[];
  mounts?: IVolumeMount[];
}

function hookJob(site: Site, name: string, script: string, pod: HookPod, annotations: Record<string, string>, deadline: number): Job {
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
            env: pod.env,
            resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
            securityContext: restrictedContainerSecurity(),
            volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }, ...(pod.mounts ?? [])],
          }],
          volumes: [{ name: "scripts", configMap: { name: configMap } }, ...(pod.volumes ?? [])],
        },
      },
    },
  });
}

/** The Redis password file, mounted as in the Synapse pods. */
function redisPassword(site: Site): Pick<HookPod, "volumes" | "mounts"> {
  const ref = site.redis.passwordSecret;
  if (!ref) return {};
  return {
    volumes: [{ name: "redis-password", secret: { secretName: ref.name, defaultMode: 0o440, items: [{ key: ref.key, path: ref.key }] } }],
    mounts: [{ name: "redis-password", mountPath: redisSecretDir, readOnly: true }],
  };
}

const preflightJob = "matrix-preflight";

export const checks: Component = {
  name: "checks",

  base(site, reference): Manifest[] {
    return [
      new ConfigMap({
        metadata: { name: configMap, namespace: site.namespace, labels: objectLabels(identity("scripts")), annotations: syncWaveAnnotations(syncWave.preflightSetup) },
        data: scripts,
      }),
      hookJob(site, preflightJob, "preflight.py", { env: preflightEnv(site, reference), ...redisPassword(site) }, {
        ...syncWaveAnnotations(syncWave.preflight),
        "argocd.argoproj.io/hook": "Sync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
      }, 360),
      hookJob(site, "matrix-smoke-test", "smoke-test.py", {
        env: Object.entries(smokeTestEnv(site)).map(([k, v]) => ({ name: k, value: v })),
      }, {
        // A Sync hook in the wave before the last, not PostSync: a PostSync hook waits for every object to be
        // healthy, Ingresses and HPAs included, which some clusters never report (apps/kube/sync-waves.ts).
        ...syncWaveAnnotations(syncWave.smokeTest),
        "argocd.argoproj.io/hook": "Sync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
      }, 300),
    ];
  },

  // The tier's connection budget is what the preflight asks of PostgreSQL's max_connections.
  tierPatches: (site, tier): ManifestPatch[] => [{
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: preflightJob, namespace: site.namespace },
    spec: { template: { spec: { containers: [{ name: "check", env: preflightEnv(site, tier).filter((v) => v.name === "PREFLIGHT_POSTGRES_MIN_CONNECTIONS") }] } } },
  }],
};
