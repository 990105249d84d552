import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { workloadsOf } from "../../tools/validate/workloads.ts";
import { renderOverlay } from "../support/repo.ts";
import { allowed, policiesOf, type Endpoint } from "../support/network-policy-eval.ts";

describe.each(tiers.map((t) => t.name))("NetworkPolicies of %s", (tier) => {
  it("admit exactly the flows the source document describes", async () => {
    const objects = await renderOverlay(tier);
    const policies = policiesOf(objects);
    let n = 10;
    const pod = (kind: string, name: string): Endpoint => {
      const w = workloadsOf(objects).find((x) => x.object.kind === kind && x.object.metadata.name === name);
      if (!w) throw new Error(`no ${kind}/${name}`);
      return { namespace: "matrix", labels: w.templateLabels, ip: `10.244.0.${n++}` };
    };
    const main = pod("StatefulSet", "synapse-main");
    const generic = pod("Deployment", "synapse-generic");
    const persister = pod("StatefulSet", "synapse-event-persister");
    const haproxy = pod("Deployment", "haproxy");
    const element = pod("Deployment", "element-web");
    const livekit = pod("Deployment", "livekit");
    const smoke = pod("Job", "matrix-smoke-test");
    const ingress: Endpoint = { namespace: "ingress-nginx", labels: { "app.kubernetes.io/name": "ingress-nginx" }, ip: "10.244.1.2" };
    const prometheus: Endpoint = { namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" }, ip: "10.244.2.2" };
    const stranger: Endpoint = { namespace: "default", labels: { app: "curl" }, ip: "10.244.3.2" };
    const postgres: Endpoint = { namespace: "matrix", labels: { "cnpg.io/cluster": "matrix-postgresql" }, ip: "10.244.4.2" };
    const dns: Endpoint = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.96.0.10" };
    const remoteServer: Endpoint = { ip: "198.51.100.20" };
    const metadata: Endpoint = { ip: "169.254.169.254" };

    const expectations: [string, Endpoint, Endpoint, number, string, boolean][] = [
      ["ingress controller → HAProxy client port", ingress, haproxy, 8008, "TCP", true],
      ["ingress controller → Element Web", ingress, element, 8080, "TCP", true],
      ["ingress controller → Synapse directly", ingress, main, 8008, "TCP", false],
      ["HAProxy → Synapse main", haproxy, main, 8008, "TCP", true],
      ["HAProxy → generic worker", haproxy, generic, 8008, "TCP", true],
      ["HAProxy → replication port", haproxy, main, 9093, "TCP", false],
      ["worker → main replication", generic, main, 9093, "TCP", true],
      ["main → event persister replication", main, persister, 9093, "TCP", true],
      ["worker → PostgreSQL", generic, postgres, 5432, "TCP", true],
      ["worker → Redis", persister, { ...postgres, labels: { app: "redis" } }, 6379, "TCP", true],
      ["Synapse → remote homeserver (federation)", main, remoteServer, 8448, "TCP", true],
      ["Synapse → cloud metadata", main, metadata, 80, "TCP", false],
      ["Element Web → Synapse", element, main, 8008, "TCP", false],
      ["Element Web → HAProxy", element, haproxy, 8008, "TCP", false],
      ["Element Web → internet", element, remoteServer, 443, "TCP", false],
      ["any pod → DNS", element, dns, 53, "UDP", true],
      ["Prometheus → Synapse metrics", prometheus, main, 9090, "TCP", true],
      ["Prometheus → HAProxy stats", prometheus, haproxy, 8404, "TCP", true],
      ["Prometheus → Synapse client port", prometheus, main, 8008, "TCP", false],
      ["another namespace → replication", stranger, main, 9093, "TCP", false],
      ["another namespace → HAProxy", stranger, haproxy, 8008, "TCP", false],
      ["smoke test → HAProxy", smoke, haproxy, 8008, "TCP", true],
      ["internet → LiveKit media", remoteServer, livekit, 7882, "UDP", true],
      ["internet → Synapse", remoteServer, main, 8008, "TCP", false],
    ];
    const wrong = expectations.filter(([, from, to, port, proto, want]) => allowed(policies, from, to, port, proto) !== want)
      .map(([label, , , , , want]) => `${label}: expected ${want ? "allowed" : "denied"}`);
    expect(wrong).toEqual([]);
  });

  it("select every pod of this repo with the default deny, and none of Phase 1's", async () => {
    const objects = await renderOverlay(tier);
    const deny = policiesOf(objects).find((p) => (p.ingress ?? []).length === 0 && (p.egress ?? []).length === 0 && p.policyTypes.length === 2);
    expect(deny).toBeDefined();
    for (const w of workloadsOf(objects).filter((x) => !(x.pod as { hostNetwork?: boolean }).hostNetwork)) {
      expect(Object.entries(deny?.podSelector.matchLabels ?? {}).every(([k, v]) => w.templateLabels[k] === v), w.id).toBe(true);
    }
  });
});

describe("the evaluator", () => {
  it("denies what a default-deny selects and allows what nothing selects", () => {
    const deny = [{ namespace: "a", podSelector: { matchLabels: { x: "1" } }, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] }];
    const selected: Endpoint = { namespace: "a", labels: { x: "1" }, ip: "10.0.0.1" };
    const other: Endpoint = { namespace: "a", labels: { x: "2" }, ip: "10.0.0.2" };
    expect(allowed(deny, other, selected, 80)).toBe(false);
    expect(allowed(deny, selected, other, 80)).toBe(false);
    expect(allowed(deny, other, { ...other, ip: "10.0.0.3" }, 80)).toBe(true);
  });
});
