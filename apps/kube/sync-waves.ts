/**
 * Argo CD sync waves, following the source document's deployment order. Argo CD waits for every resource
 * of a wave to be healthy before it starts the next one; inside a wave it applies by kind
 * (ConfigMap → Service → StatefulSet …) without waiting. The last wave is not waited on if it holds no hook
 * and no PostSync hook follows (gitops-engine pkg/sync: the operation succeeds once the last wave is
 * applied), so objects whose health depends on something outside the repo (HPA metrics, Ingress and load
 * balancer status, certificate issuance) go there, and the smoke test runs in the wave before it.
 */
export const syncWave = {
  /** SealedSecrets and ExternalSecrets from the site: their Secrets exist before anything reads them (the checks included). */
  managedSecrets: -6,
  /** NetworkPolicies first: every pod that follows starts with its traffic rules in place. */
  networkPolicies: -5,
  /** Script of the Phase 1 prerequisite check. */
  preflightSetup: -4,
  /** The Job that checks PostgreSQL, Redis and MinIO are reachable; nothing else starts without them. */
  preflight: -3,
  /** Service account, RBAC and script for the secret generator. */
  secretsSetup: -2,
  /** The Job that creates missing Synapse secrets; must finish before any Synapse pod starts. */
  secretsInit: -1,
  /** Synapse main: config, services, StatefulSet (waited on before the workers). */
  synapseMain: 0,
  /** Event persisters and the optional single-stream writers: they must accept writes before anyone sends. */
  eventPersisters: 1,
  streamWriters: 1,
  /** Federation senders (and pushers, background tasks: other named duty holders). */
  federationSenders: 2,
  media: 3,
  synchrotrons: 4,
  genericWorkers: 5,
  haproxy: 6,
  elementWeb: 7,
  /** LiveKit, coturn: after the main instance. */
  calls: 8,
  /** The smoke test (a Sync hook): after every workload is healthy, before the objects nothing waits on. */
  smokeTest: 19,
  /** HPAs, Ingresses, LoadBalancer Services, Certificates: their health depends on the cluster, so nothing may wait on them. */
  final: 20,
} as const;

export const syncWaveAnnotation = "argocd.argoproj.io/sync-wave";

export function syncWaveAnnotations(wave: number): Record<string, string> {
  return { [syncWaveAnnotation]: String(wave) };
}
