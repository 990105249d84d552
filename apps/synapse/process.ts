/**
 * One typed builder for "a Synapse process" (cdk8s-style): main and every worker pool use it, and differ
 * only in data — which app module runs, which process file it loads, its ports and resources.
 */
import type { IContainerPort, IPodTemplateSpec, IVolume, IVolumeMount } from "kubernetes-models/v1";
import type { Site } from "../site/site.ts";
import type { Resources } from "../site/sizing.ts";
import { configHashAnnotation } from "../kube/config-hash.ts";
import { imageVersion, objectLabels, type AppIdentity } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../kube/pod-security.ts";
import { configDir, mediaStoreDir, redisSecretDir, secretsDir, synapseUid, tmpDir } from "./paths.ts";

export type SynapseApp = "synapse.app.homeserver" | "synapse.app.generic_worker";

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
  ports: { name: string; containerPort: number }[];
  /** Name of the port that answers `GET /health`. */
  healthPort: string;
  resources: Resources;
  /** Seconds a pod gets to finish in-flight requests (long-polling /sync needs more than the default). */
  terminationGracePeriodSeconds: number;
  /** Main keeps a local media store until media workers take media over. */
  localMediaStore: boolean;
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
  if (spec.localMediaStore) {
    volumes.push({ name: "media", emptyDir: { sizeLimit: "10Gi" } });
    mounts.push({ name: "media", mountPath: mediaStoreDir });
  }
  return { volumes, mounts };
}

/** The pod template of a Synapse process: restricted, probed on /health, config from files. */
export function synapsePodTemplate(spec: SynapseProcessSpec): IPodTemplateSpec {
  const { site } = spec;
  const { volumes: podVolumes, mounts } = volumes(spec);
  const health = { httpGet: { path: "/health", port: spec.healthPort } };
  const containerPorts: IContainerPort[] = spec.ports.map((p) => ({ ...p, protocol: "TCP" }));
  return {
    metadata: {
      labels: objectLabels(spec.identity, imageVersion(site.images.synapse)),
      annotations: { [configHashAnnotation]: spec.configHash },
    },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
      securityContext: restrictedPodSecurity(synapseUid),
      containers: [
        {
          name: "synapse",
          image: site.images.synapse,
          command: ["python", "-m", spec.app, "--config-path", `${configDir}/homeserver.yaml`, "--config-path", `${configDir}/${spec.processFile}`],
          env: [
            // libpq reads the database password from PGPASSWORD, so it never appears in a config file.
            { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: site.postgres.passwordSecret.name, key: site.postgres.passwordSecret.key } } },
            { name: "SYNAPSE_CACHE_FACTOR", value: "1.0" },
          ],
          ports: containerPorts,
          resources: {
            requests: { ...spec.resources.requests },
            limits: { ...spec.resources.limits },
          },
          // Startup covers database migrations after an upgrade (up to 10 minutes) before liveness applies.
          startupProbe: { ...health, periodSeconds: 5, failureThreshold: 120, timeoutSeconds: 3 },
          readinessProbe: { ...health, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
          livenessProbe: { ...health, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
          securityContext: restrictedContainerSecurity(),
          volumeMounts: mounts,
        },
      ],
      volumes: podVolumes,
    },
  };
}
