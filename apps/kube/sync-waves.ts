/**
 * Argo CD sync waves, following the source document's deployment order. Argo CD waits for every resource
 * of a wave to be healthy before it starts the next one; inside a wave it applies by kind
 * (ConfigMap → Service → StatefulSet …) without waiting.
 */
export const syncWave = {
  /** Service account, RBAC and script for the secret generator. */
  secretsSetup: -2,
  /** The Job that creates missing Synapse secrets; must finish before any Synapse pod starts. */
  secretsInit: -1,
  /** Synapse main: config, services, StatefulSet (waited on before the workers). */
  synapseMain: 0,
} as const;

export const syncWaveAnnotation = "argocd.argoproj.io/sync-wave";

export function syncWaveAnnotations(wave: number): Record<string, string> {
  return { [syncWaveAnnotation]: String(wave) };
}
