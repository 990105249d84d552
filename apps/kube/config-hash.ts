import { createHash } from "node:crypto";

/**
 * A short digest of configuration a pod loads, put on the pod template as an annotation so that a change of
 * configuration rolls the pods (Kubernetes does not restart pods when a mounted ConfigMap changes).
 */
export function configHash(...parts: unknown[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(JSON.stringify(part));
  return h.digest("hex").slice(0, 16);
}

export const configHashAnnotation = "matrix-gitops.io/config-hash";
