/**
 * The Pod Security Standards `restricted` profile, applied to every pod unless a component documents an
 * exception (coturn's host network).
 */
import type { IPodSecurityContext, ISecurityContext } from "kubernetes-models/v1";

export function restrictedPodSecurity(uid: number, gid = uid): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function restrictedContainerSecurity(): ISecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * Pod-level defaults every workload of this repo shares: no API token (none of them talks to the API), no
 * service-link environment variables, and the restricted pod security context.
 */
export function restrictedPodDefaults(uid: number) {
  return { automountServiceAccountToken: false, enableServiceLinks: false, securityContext: restrictedPodSecurity(uid) };
}
