/**
 * One typed builder for "a Synapse process" (cdk8s-style): main and every worker pool use it, and differ
 * only in data — which app module runs, which process file it loads, its ports and resources.
 */
import type { IContainer, IEnvVar, IPodTemplateSpec, IVolume, IVolumeMount } from "kubernetes-models/v1";
import type { Site } from "../site/site.ts";
import type { Resources } from "../site/sizing.ts";
import { configHashAnnotation } from "../kube/config-hash.ts";
import { imageVersion, objectLabels, selectorLabels, type AppIdentity } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodDefaults } from "../kube/pod-security.ts";
import { configDir, mediaStoreDir, ports, redisSecretDir, secretsDir, synapseUid, tmpDir } from "./paths.ts";
import { s3ProviderPipArgs, s3ProviderRequirementsFile } from "./s3-provider.ts";
import type { SynapseApp } from "./topology.ts";

const modulesDir = "/modules";
/** Media workers' local store: a per-pod emptyDir cache in front of S3 (the store). */
export const mediaCacheVolume = "media-cache";
/**
 * The cache is bounded twice: the pruner deletes what has not changed for `mediaCacheMinutes` (by then S3
 * has had it for that long: uploads answer only once S3 has them), and the kubelet evicts a pod whose cache
 * passes the size limit (about 100 uploads at `max_upload_size` in one hour).
 */
const mediaCacheSize = "10Gi";
const mediaCacheMinutes = 60;
const pruneEverySeconds = 300;

export interface SynapseProcessSpec {
  site: Site;
  identity: AppIdentity;
  app: SynapseApp;
  /** ConfigMap holding `homeserver.yaml`, `log.yaml` and this process's file. */
  configMap: string;
  /** Key of this process's file in that ConfigMap, loaded after `homeserver.yaml`. */
  processFile: string;
  /** Digest of everything the process loads, so a config change rolls its pods. */
  configHash: string;
  /** Workers take their pod name as `worker_name` (unique per pod, stable for StatefulSet ordinals). */
  isWorker: boolean;
  /** Exposes the replication listener (main and named instances). */
  replication: boolean;
  resources: Resources;
  /** Seconds a pod gets to finish in-flight requests (long-polling /sync needs more than the default). */
  terminationGracePeriodSeconds: number;
  /** Media workers: S3 storage provider for MinIO (the store), a pruned per-pod cache as the local store. */
  media: boolean;
  /** Spread pods of multi-replica pools across nodes. */
  spread: boolean;
}

/**
 * jemalloc, as the image's own start script (docker/start.py) preloads it: the container command bypasses
 * that script, and without jemalloc Synapse's `cache_autotuning` (the memory bound of its caches) is off.
 */
const preloadJemalloc = 'jemalloc=/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2; '
  + 'if [ -f "$jemalloc" ]; then export LD_PRELOAD="$jemalloc"; else echo "no $jemalloc: cache autotuning is off" >&2; fi';

function command(spec: SynapseProcessSpec): string[] {
  const configs = [`${configDir}/homeserver.yaml`, `${configDir}/${spec.processFile}`];
  const python = ["python", "-m", spec.app, ...configs.flatMap((c) => ["--config-path", c])];
  if (!spec.isWorker) return ["sh", "-c", `${preloadJemalloc}; exec ${python.join(" ")}`];
  // Synapse has no per-pod setting; a one-line file written at start gives each pod its own worker_name.
  const nameFile = `${tmpDir}/worker-name.yaml`;
  return ["sh", "-c", `${preloadJemalloc}; printf 'worker_name: %s\\n' "$POD_NAME" > ${nameFile} && exec ${python.join(" ")} --config-path ${nameFile}`];
}

function env(spec: SynapseProcessSpec): IEnvVar[] {
  const { site } = spec;
  const vars: IEnvVar[] = [
    // libpq reads the database password from PGPASSWORD, so it never appears in a config file.
    { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: site.postgres.passwordSecret.name, key: site.postgres.passwordSecret.key } } },
  ];
  if (spec.isWorker) vars.push({ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
  if (spec.media) {
    const c = site.s3.credentialsSecret;
    vars.push(
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: c.name, key: c.accessKeyIdKey } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: c.name, key: c.secretAccessKeyKey } } },
    );
    if (!site.images.synapseMedia) vars.push({ name: "PYTHONPATH", value: modulesDir });
  }
  return vars;
}

function volumes(spec: SynapseProcessSpec): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  const { site } = spec;
  const volumes: IVolume[] = [
    { name: "config", configMap: { name: spec.configMap } },
    // 0440 with fsGroup: readable by the synapse group only.
    { name: "synapse-secrets", secret: { secretName: site.secrets.name, defaultMode: 0o440 } },
    { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
  ];
  const mounts: IVolumeMount[] = [
    { name: "config", mountPath: configDir, readOnly: true },
    { name: "synapse-secrets", mountPath: secretsDir, readOnly: true },
    { name: "tmp", mountPath: tmpDir },
  ];
  if (site.redis.passwordSecret) {
    volumes.push({
      name: "redis-password",
      secret: {
        secretName: site.redis.passwordSecret.name,
        defaultMode: 0o440,
        items: [{ key: site.redis.passwordSecret.key, path: site.redis.passwordSecret.key }],
      },
    });
    mounts.push({ name: "redis-password", mountPath: redisSecretDir, readOnly: true });
  }
  if (spec.media) {
    volumes.push({ name: mediaCacheVolume, emptyDir: { sizeLimit: mediaCacheSize } });
    mounts.push({ name: mediaCacheVolume, mountPath: mediaStoreDir });
    if (!site.images.synapseMedia) {
      volumes.push({ name: "modules", emptyDir: { sizeLimit: "512Mi" } });
      mounts.push({ name: "modules", mountPath: modulesDir, readOnly: true });
    }
  }
  return { volumes, mounts };
}

/**
 * With no media image configured, an init container installs the pinned S3 storage provider into a shared
 * volume (needs egress to PyPI) with the image's own pip: pinned wheels only, nothing compiled, nothing the
 * image has installed again. Set `images.synapseMedia` to an image that ships the module to avoid it.
 */
function s3ProviderInstaller(spec: SynapseProcessSpec): IContainer[] {
  if (!spec.media || spec.site.images.synapseMedia) return [];
  return [{
    name: "install-s3-provider",
    image: spec.site.images.synapse,
    command: ["python", ...s3ProviderPipArgs(`${configDir}/${s3ProviderRequirementsFile}`, modulesDir)],
    env: [{ name: "HOME", value: tmpDir }],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [
      { name: "config", mountPath: configDir, readOnly: true },
      { name: "modules", mountPath: modulesDir },
      { name: "tmp", mountPath: tmpDir },
    ],
  }];
}

/**
 * Each media pod prunes its own cache: files and then empty directories untouched for `mediaCacheMinutes`.
 * No pod keeps copies of media that only media-0's clean-up jobs would remove, and a deleted or quarantined
 * media item is not served from a copy anyway (Synapse checks the database first).
 */
export function mediaCachePruneCommand(): string[] {
  const age = `-mmin +${mediaCacheMinutes}`;
  return ["sh", "-c", `while true; do find ${mediaStoreDir} -mindepth 1 -type f ${age} -delete; `
    + `find ${mediaStoreDir} -mindepth 1 -type d -empty ${age} -delete; sleep ${pruneEverySeconds}; done`];
}

function mediaCachePruner(spec: SynapseProcessSpec): IContainer[] {
  if (!spec.media) return [];
  const alive = { exec: { command: ["test", "-d", mediaStoreDir] }, periodSeconds: 60, timeoutSeconds: 5 };
  return [{
    name: "media-cache-pruner",
    // The media pod's own image (it has `sh` and `find`), so the pod pulls nothing more.
    image: spec.site.images.synapseMedia ?? spec.site.images.synapse,
    command: mediaCachePruneCommand(),
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
    livenessProbe: alive,
    readinessProbe: alive,
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [{ name: mediaCacheVolume, mountPath: mediaStoreDir }],
  }];
}

/** The pod template of a Synapse process: restricted, probed on /health, config from files. */
export function synapsePodTemplate(spec: SynapseProcessSpec): IPodTemplateSpec {
  const { site } = spec;
  const { volumes: podVolumes, mounts } = volumes(spec);
  const health = { httpGet: { path: "/health", port: "http" } };
  const portList = [
    { name: "http", containerPort: ports.http, protocol: "TCP" as const },
    ...(spec.replication ? [{ name: "replication", containerPort: ports.replication, protocol: "TCP" as const }] : []),
    { name: "metrics", containerPort: ports.metrics, protocol: "TCP" as const },
  ];
  const image = spec.media && site.images.synapseMedia ? site.images.synapseMedia : site.images.synapse;
  return {
    metadata: {
      labels: objectLabels(spec.identity, imageVersion(image)),
      annotations: { [configHashAnnotation]: spec.configHash },
    },
    spec: {
      ...restrictedPodDefaults(synapseUid),
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
      ...(spec.spread ? {
        topologySpreadConstraints: [{
          maxSkew: 1,
          topologyKey: "kubernetes.io/hostname",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selectorLabels(spec.identity) },
        }],
      } : {}),
      initContainers: s3ProviderInstaller(spec),
      containers: [
        {
          name: "synapse",
          image,
          command: command(spec),
          env: env(spec),
          ports: portList,
          resources: { requests: { ...spec.resources.requests }, limits: { ...spec.resources.limits } },
          // Startup covers database migrations after an upgrade (up to 10 minutes) before liveness applies.
          startupProbe: { ...health, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 3 },
          readinessProbe: { ...health, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
          livenessProbe: { ...health, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
          // Endpoints drop the pod first; the sleep lets the proxies notice before Synapse stops accepting.
          lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } },
          securityContext: restrictedContainerSecurity(),
          volumeMounts: mounts,
        },
        ...mediaCachePruner(spec),
      ],
      volumes: podVolumes,
    },
  };
}
