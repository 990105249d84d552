/**
 * A small evaluator of Kubernetes NetworkPolicy semantics for tests: a connection is allowed when the source
 * pod's egress allows it (or no egress policy selects the source) and the destination pod's ingress allows it
 * (or no ingress policy selects the destination). Peers: podSelector, namespaceSelector, both, ipBlock.
 */
import { BlockList } from "node:net";
import type { KubeObject } from "../../tools/render/rendered.ts";

export interface Endpoint {
  /** Pods have a namespace and labels; external addresses only an IP. */
  namespace?: string;
  labels?: Record<string, string>;
  ip: string;
}

interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }
interface Peer { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } }
interface PortRule { protocol?: string; port?: number }
interface Policy { name?: string; namespace: string; podSelector: Selector; policyTypes: string[]; ingress?: { from?: Peer[]; ports?: PortRule[] }[]; egress?: { to?: Peer[]; ports?: PortRule[] }[] }

function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === "In") return (e.values ?? []).includes(labels[e.key] ?? "\0");
    if (e.operator === "NotIn") return !(e.values ?? []).includes(labels[e.key] ?? "\0");
    if (e.operator === "Exists") return e.key in labels;
    return !(e.key in labels);
  });
  return byLabels && byExpr;
}

function inBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const list = (cidr: string) => {
    const [addr, bits] = cidr.split("/");
    const b = new BlockList();
    b.addSubnet(addr as string, Number(bits), "ipv4");
    return b;
  };
  return list(block.cidr).check(ip, "ipv4") && !(block.except ?? []).some((e) => list(e).check(ip, "ipv4"));
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return inBlock(other.ip, peer.ipBlock);
  if (other.namespace === undefined) return false;
  const nsLabels = { "kubernetes.io/metadata.name": other.namespace };
  if (peer.namespaceSelector && !matches(peer.namespaceSelector, nsLabels)) return false;
  if (!peer.namespaceSelector && other.namespace !== policyNamespace) return false;
  return peer.podSelector ? matches(peer.podSelector, other.labels ?? {}) : true;
}

function portMatches(ports: PortRule[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.protocol ?? "TCP") === protocol && (p.port === undefined || p.port === port));
}

export function policiesOf(objects: KubeObject[]): Policy[] {
  return objects.filter((o) => o.kind === "NetworkPolicy").map((o) => ({ ...(o.spec as unknown as Omit<Policy, "namespace">), namespace: o.metadata.namespace ?? "default", name: o.metadata.name }));
}

export function allowed(policies: Policy[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  const selecting = (e: Endpoint, type: string) => e.namespace === undefined ? []
    : policies.filter((p) => p.namespace === e.namespace && p.policyTypes.includes(type) && matches(p.podSelector, e.labels ?? {}));
  const egress = selecting(from, "Egress");
  const egressOk = egress.length === 0 || egress.some((p) => (p.egress ?? []).some((r) =>
    portMatches(r.ports, port, protocol) && (!r.to || r.to.length === 0 || r.to.some((peer) => peerMatches(peer, p.namespace, to)))));
  const ingress = selecting(to, "Ingress");
  const ingressOk = ingress.length === 0 || ingress.some((p) => (p.ingress ?? []).some((r) =>
    portMatches(r.ports, port, protocol) && (!r.from || r.from.length === 0 || r.from.some((peer) => peerMatches(peer, p.namespace, from)))));
  return egressOk && ingressOk;
}
