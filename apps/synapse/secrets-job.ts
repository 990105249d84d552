/**
 * GitOps-safe Synapse secrets: a Sync-hook Job generates whichever keys of the Synapse Secret are missing,
 * in-cluster, before any Synapse pod starts. Nothing secret is committed; Argo CD does not track (or prune)
 * the Secret because it is not in git. With `site.secrets.existingSecret` none of this is emitted.
 */
import { readFileSync } from "node:fs";
import { ConfigMap, ServiceAccount } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type { Site } from "../site/site.ts";
import type { Manifest } from "../kube/manifest.ts";
import { objectLabels, imageVersion } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import { secretKeys, synapseUid, tmpDir } from "./paths.ts";

const name = "synapse-secrets-init";
const script = readFileSync(new URL("./init-secrets.py", import.meta.url), "utf8");
const identity = { name: "synapse", component: "secrets-init" };

export function secretsInitObjects(site: Site): Manifest[] {
  if (!site.secrets.generatedInCluster) return [];
  const labels = objectLabels(identity, imageVersion(site.images.synapse));
  const setup = (extra: Record<string, string> = {}) => ({
    name,
    namespace: site.namespace,
    labels,
    annotations: { ...syncWaveAnnotations(syncWave.secretsSetup), ...extra },
  });
  return [
    new ServiceAccount({ metadata: setup(), automountServiceAccountToken: false }),
    new Role({
      metadata: setup(),
      rules: [
        // `create` cannot be limited by name in RBAC; get and patch can.
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: [site.secrets.name], verbs: ["get", "patch"] },
      ],
    }),
    new RoleBinding({
      metadata: setup(),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: site.namespace }],
    }),
    new ConfigMap({ metadata: setup(), data: { "init-secrets.py": script } }),
    new Job({
      metadata: {
        name,
        namespace: site.namespace,
        labels,
        annotations: {
          ...syncWaveAnnotations(syncWave.secretsInit),
          // A Sync hook re-runs on every sync (the script is idempotent) and is replaced, never patched.
          "argocd.argoproj.io/hook": "Sync",
          "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
        },
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 300,
        ttlSecondsAfterFinished: 86400,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            restartPolicy: "OnFailure",
            securityContext: restrictedPodSecurity(synapseUid),
            containers: [
              {
                name: "init-secrets",
                image: site.images.synapse,
                command: ["python", "/scripts/init-secrets.py"],
                env: [
                  { name: "SECRET_NAMESPACE", value: site.namespace },
                  { name: "SECRET_NAME", value: site.secrets.name },
                  { name: "SECRET_KEYS", value: Object.values(secretKeys).join(",") },
                  { name: "SIGNING_KEY_NAME", value: secretKeys.signingKey },
                ],
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                securityContext: restrictedContainerSecurity(),
                volumeMounts: [
                  { name: "scripts", mountPath: "/scripts", readOnly: true },
                  { name: "tmp", mountPath: tmpDir },
                ],
              },
            ],
            volumes: [
              { name: "scripts", configMap: { name } },
              { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
            ],
          },
        },
      },
    }),
  ];
}
