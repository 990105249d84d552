/**
 * Objects and annotations that need something the cluster may not have: cert-manager (`tls.certManager`) and
 * the Prometheus Operator's CRDs (`monitoring.serviceMonitors`). Components ask here, so switching one off in
 * the site removes every trace of it.
 */
import type { Site } from "../site/site.ts";
import type { Manifest } from "./manifest.ts";

/** The annotation that has cert-manager issue an Ingress's certificate, or nothing without cert-manager. */
export function certManagerAnnotations(site: Site): Record<string, string> {
  return site.tls.certManager ? { "cert-manager.io/cluster-issuer": site.tls.clusterIssuer } : {};
}

/** `make()` when cert-manager is available, else nothing. */
export function ifCertManager(site: Site, make: () => Manifest): Manifest[] {
  return site.tls.certManager ? [make()] : [];
}

/** `make()` when the Prometheus Operator's CRDs are available, else nothing. */
export function ifServiceMonitors(site: Site, make: () => Manifest): Manifest[] {
  return site.monitoring.serviceMonitors ? [make()] : [];
}
