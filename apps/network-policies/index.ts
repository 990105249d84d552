/**
 * NetworkPolicies as the source document describes them: default deny for this repo's pods; HAProxy reaches
 * Synapse; Synapse processes reach PostgreSQL, Redis, MinIO and each other's replication ports; Element Web
 * has no backend access; the ingress controller and Prometheus reach only the ports they need; DNS allowed.
 *
 * The deny selects this repo's pods (label `app.kubernetes.io/managed-by: matrix-gitops`), not every pod of
 * the namespace: Phase 1 (PostgreSQL, Redis, MinIO) lives in the same namespace with its own policies, and a
 * namespace-wide deny would also cut off their operators. coturn uses the host network, which
 * NetworkPolicies do not govern; its relay restrictions are in its own configuration.
 */
import { NetworkPolicy } from "../kube/models.ts";
import type { INetworkPolicyPeer, INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1";
import type { Component } from "../kube/component.ts";
import type { Manifest } from "../kube/manifest.ts";
import { managedBy, objectLabels, selectorLabels } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import { generatedSecrets, secretsJobIdentity } from "../synapse/secrets-job.ts";
import { mediaPorts } from "../livekit/livekit-config.ts";

const ours = { "app.kubernetes.io/managed-by": managedBy };
const app = (name: string) => ({ "app.kubernetes.io/name": name });
const tcp = (...ports: number[]): INetworkPolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));
const namespace = (name: string): INetworkPolicyPeer => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
const pods = (labels: Record<string, string>): INetworkPolicyPeer => ({ podSelector: { matchLabels: labels } });
/** Anywhere but private, shared, loopback and link-local (cloud metadata) ranges. */
const internet: INetworkPolicyPeer = {
  ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"] },
};
const anywhere: INetworkPolicyPeer = { ipBlock: { cidr: "0.0.0.0/0" } };
/**
 * For egress to a peer that may sit on a private address (the Kubernetes API, this homeserver reached through
 * its load balancer): anywhere but link-local, so the cloud metadata service (169.254.169.254) stays out.
 */
const anywhereButMetadata: INetworkPolicyPeer = { ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16"] } };
/** Phase 1 services in this namespace: PostgreSQL, Redis, MinIO (HTTP and the operator's default port). */
const phase1Ports = tcp(5432, 6379, 80, 443, 9000);

interface Rules {
  ingress?: { from: INetworkPolicyPeer[]; ports?: INetworkPolicyPort[] }[];
  egress?: { to: INetworkPolicyPeer[]; ports?: INetworkPolicyPort[] }[];
}

function policy(site: Site, name: string, selector: Record<string, string>, rules: Rules): NetworkPolicy {
  const types: ("Ingress" | "Egress")[] = [...(rules.ingress ? ["Ingress" as const] : []), ...(rules.egress ? ["Egress" as const] : [])];
  return new NetworkPolicy({
    metadata: { name, namespace: site.namespace, labels: objectLabels({ name: "matrix-network", component: "policy" }), annotations: syncWaveAnnotations(syncWave.networkPolicies) },
    spec: { podSelector: { matchLabels: selector }, policyTypes: types, ...(rules.ingress ? { ingress: rules.ingress } : {}), ...(rules.egress ? { egress: rules.egress } : {}) },
  });
}

export function networkPolicies(site: Site): Manifest[] {
  const ingressController = namespace(site.network.ingressNamespace);
  const prometheus = namespace(site.network.monitoringNamespace);
  const smoke = pods(app("matrix-checks"));
  const list: Manifest[] = [
    policy(site, "matrix-default-deny", ours, { ingress: [], egress: [] }),
    policy(site, "matrix-allow-dns", ours, { egress: [{ to: [], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }] }),
    policy(site, "synapse", app("synapse"), {
      ingress: [
        { from: [pods(app("haproxy"))], ports: tcp(8008) },
        { from: [pods(app("synapse"))], ports: tcp(9093) },
        { from: [prometheus], ports: tcp(9090) },
      ],
      egress: [
        { to: [pods(app("synapse"))], ports: tcp(9093) },
        { to: [{ podSelector: {} }], ports: phase1Ports },
        // Federation, push gateways and (media workers) the S3 provider's package index.
        { to: [internet], ports: tcp(443, 8448) },
      ],
    }),
    ...(Object.keys(generatedSecrets(site)).length > 0 ? [policy(site, "synapse-secrets-init", selectorLabels(secretsJobIdentity), {
      // The Kubernetes API: a ClusterIP in front of the control plane, whose address the repo cannot know.
      egress: [{ to: [anywhereButMetadata], ports: tcp(443, 6443) }],
    })] : []),
    policy(site, "haproxy", app("haproxy"), {
      ingress: [
        { from: [ingressController, smoke], ports: tcp(8008, 8448) },
        { from: [prometheus], ports: tcp(8404) },
      ],
      egress: [{ to: [pods(app("synapse"))], ports: tcp(8008) }],
    }),
    // Element Web is static files: reachable from the ingress controller, no backend access at all.
    policy(site, "element-web", app("element-web"), {
      ingress: [{ from: [ingressController, smoke], ports: tcp(8080) }],
      egress: [],
    }),
    policy(site, "matrix-checks", app("matrix-checks"), {
      egress: [
        { to: [{ podSelector: {} }], ports: phase1Ports },
        { to: [pods(app("haproxy"))], ports: tcp(8008, 8448) },
        { to: [pods(app("element-web"))], ports: tcp(8080) },
      ],
    }),
  ];
  if (site.calls.enabled) {
    list.push(
      policy(site, "livekit", app("livekit"), {
        ingress: [
          { from: [ingressController], ports: tcp(7880) },
          // Media from any client, through the LoadBalancers or the NodePorts.
          { from: [anywhere], ports: [{ protocol: "UDP", port: mediaPorts(site).rtcUdp }, { protocol: "TCP", port: mediaPorts(site).rtcTcp }] },
          { from: [prometheus], ports: tcp(6789) },
        ],
        egress: [
          { to: [pods(app("lk-jwt-service"))], ports: tcp(8080) },
          // Media to clients on their ports, and STUN to discover the public address.
          { to: [internet], ports: [{ protocol: "UDP" }] },
        ],
      }),
      policy(site, "lk-jwt-service", app("lk-jwt-service"), {
        ingress: [{ from: [ingressController, pods(app("livekit"))], ports: tcp(8080) }],
        // Verifying OpenID tokens with homeservers (this one included, possibly through a private address).
        egress: [{ to: [anywhereButMetadata], ports: tcp(443, 8448) }, { to: [pods(app("livekit"))], ports: tcp(7880) }],
      }),
    );
  }
  return list;
}

export const networkPoliciesComponent: Component = {
  name: "network-policies",
  base: (site) => networkPolicies(site),
  tierPatches: () => [],
};
