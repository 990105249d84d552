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
