/**
 * GitOps-safe secrets: a Sync-hook Job generates whichever keys of the deployment's Secrets are missing,
 * in-cluster, before any pod that reads them starts: Synapse's own (unless `site.secrets.existingSecret`
 * names one you manage) and LiveKit's API secret (when calls are on). Nothing secret is committed; Argo CD
 * does not track (or prune) these Secrets because they are not in git.
 */
import { readFileSync } from "node:fs";
import { ConfigMap, Job, Role, RoleBinding, ServiceAccount } from "../kube/models.ts";
import type { Site } from "../site/site.ts";
import type { Manifest } from "../kube/manifest.ts";
import { objectLabels, imageVersion } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import { secretKeys, synapseUid, tmpDir } from "./paths.ts";

const name = "synapse-secrets-init";
const script = readFileSync(new URL("./init-secrets.py", import.meta.url), "utf8");
/**
 * Not `app.kubernetes.io/name: synapse`: a finished Job's pod is never Ready, so it must not match the source
 * document's `kubectl wait --for=condition=ready pod -l app.kubernetes.io/name=synapse`.
 */
export const secretsJobIdentity = { name: "matrix-secrets", component: "secrets-init" } as const;

/** LiveKit's API secret; the key *name* is not secret and is fixed so that configuration can name it. */
export const livekitSecret = { name: "livekit-keys", key: "api_secret", apiKeyName: "matrix-gitops" } as const;

/** Secret name → keys the Job must make sure exist. */
export function generatedSecrets(site: Site): Record<string, string[]> {
  const secrets: Record<string, string[]> = {};
  if (site.secrets.generatedInCluster) secrets[site.secrets.name] = Object.values(secretKeys);
  if (site.calls.enabled) secrets[livekitSecret.name] = [livekitSecret.key];
  return secrets;
}

export function secretsInitObjects(site: Site): Manifest[] {
  const secrets = generatedSecrets(site);
  if (Object.keys(secrets).length === 0) return [];
  const labels = objectLabels(secretsJobIdentity, imageVersion(site.images.synapse));
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
        { apiGroups: [""], resources: ["secrets"], resourceNames: Object.keys(secrets).sort(), verbs: ["get", "patch"] },
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
                  { name: "SECRETS", value: JSON.stringify(secrets) },
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
