/**
 * The site the suite is testing: the repo's own `apps/site/site.config.ts`, or a fixture site named by
 * `MATRIX_GITOPS_SITE` (npm run test:sites). Tests take names, hosts and switches from here, never from the
 * example's literals, so a team's own site passes too. `generatedRoot` is the tree they read: the committed
 * one for the repo's site, a scratch emit of the fixture otherwise (test/support/emit-site-tree.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";
import { resolveSite, type SiteInput } from "../../apps/site/site.ts";
import { defaultSiteFile, repoRoot } from "../../tools/emit/load-config.ts";

export const siteInput = (await import(pathToFileURL(defaultSiteFile).href) as { default: SiteInput }).default;
export const site = resolveSite(siteInput);
export const generatedRoot = process.env.MATRIX_GITOPS_TEST_TREE ?? repoRoot;

/**
 * What the site input means, worked out from the input and the defaults the README documents, not by the
 * code under test: tests compare rendered output with these.
 */
const domain = siteInput.domain;
export const expected = {
  serverName: siteInput.serverName ?? domain,
  namespace: siteInput.namespace ?? "matrix",
  hosts: {
    matrix: siteInput.hosts?.matrix ?? `matrix.${domain}`,
    element: siteInput.hosts?.element ?? `chat.${domain}`,
    rtc: siteInput.hosts?.rtc ?? `rtc.${domain}`,
    turn: siteInput.hosts?.turn ?? `turn.${domain}`,
  },
  calls: siteInput.calls?.enabled !== false,
  turnNodeSelector: siteInput.calls?.turnNodeSelector ?? { "matrix-gitops.io/turn": "true" },
  clusterDomain: siteInput.clusterDomain ?? "cluster.local",
  synapseSecret: siteInput.secrets?.existingSecret ?? "synapse-secrets",
  secretGenerated: siteInput.secrets?.existingSecret === undefined,
  // The documented default: the private ranges pod networks use.
  trustedProxies: siteInput.haproxy?.trustedProxies ?? ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"],
  ingressNamespace: siteInput.network?.ingressNamespace ?? "ingress-nginx",
  monitoringNamespace: siteInput.network?.monitoringNamespace ?? "monitoring",
  argocdNamespace: siteInput.argocd?.namespace ?? "argocd",
  serviceMonitors: siteInput.monitoring?.serviceMonitors !== false,
  // LiveKit's media ports as the README documents them: 7882/udp and 7881/tcp behind LoadBalancers, or the
  // NodePorts 31882 and 31881.
  livekitMedia: siteInput.calls?.livekitMedia ?? "loadBalancer",
  livekitRtc: siteInput.calls?.livekitMedia === "nodePort" ? { udp: 31882, tcp: 31881 } : { udp: 7882, tcp: 7881 },
  certManager: siteInput.tls?.certManager !== false,
  /** The SealedSecrets and ExternalSecrets of `secrets.manifests`, as the files give them (apiVersion, kind, name). */
  managedSecrets: (siteInput.secrets?.manifests ?? []).flatMap((file) => parseAllDocuments(readFileSync(join(repoRoot, file), "utf8"))
    .map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } } | null)
    .filter((o) => o !== null)
    .map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name }))),
  clusterIssuer: siteInput.tls?.clusterIssuer ?? "letsencrypt-prod",
  turnClusterIssuer: siteInput.tls?.turnClusterIssuer ?? siteInput.tls?.clusterIssuer ?? "letsencrypt-prod",
};
