import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { workloadsOf } from "../../tools/validate/workloads.ts";
import { renderOverlay } from "../support/repo.ts";
import { allowed, policiesOf, type Endpoint } from "../support/network-policy-eval.ts";
import { expected } from "../support/site-under-test.ts";

/** Ranges an egress rule to "the internet" must leave out (RFC 1918, CGNAT, loopback, link-local with cloud metadata). */
const internetExcept = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"];

describe.each(tiers.map((t) => t.name))("NetworkPolicies of %s", (tier) => {
  it("admit exactly the flows the source document describes", async () => {
    const objects = await renderOverlay(tier);
    const policies = policiesOf(objects);
    let n = 10;
    const pod = (kind: string, name: string): Endpoint => {
      const w = workloadsOf(objects).find((x) => x.object.kind === kind && x.object.metadata.name === name);
      if (!w) throw new Error(`no ${kind}/${name}`);
      return { namespace: expected.namespace, labels: w.templateLabels, ip: `10.244.0.${n++}` };
    };
    const main = pod("StatefulSet", "synapse-main");
    const generic = pod("StatefulSet", "synapse-generic");
    const persister = pod("StatefulSet", "synapse-event-persister");
    const haproxy = pod("Deployment", "haproxy");
    const element = pod("Deployment", "element-web");
    const livekit = expected.calls ? pod("Deployment", "livekit") : undefined;
    const jwt = expected.calls ? pod("Deployment", "lk-jwt-service") : undefined;
    const secretsJob = expected.calls || expected.secretGenerated ? pod("Job", "synapse-secrets-init") : undefined;
    const smoke = pod("Job", "matrix-smoke-test");
    const ingress: Endpoint = { namespace: expected.ingressNamespace, labels: { "app.kubernetes.io/name": "ingress-nginx" }, ip: "10.244.1.2" };
    const prometheus: Endpoint = { namespace: expected.monitoringNamespace, labels: { "app.kubernetes.io/name": "prometheus" }, ip: "10.244.2.2" };
    const stranger: Endpoint = { namespace: "default", labels: { app: "curl" }, ip: "10.244.3.2" };
    const postgres: Endpoint = { namespace: expected.namespace, labels: { "cnpg.io/cluster": "matrix-postgresql" }, ip: "10.244.4.2" };
    const dns: Endpoint = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.96.0.10" };
    const remoteServer: Endpoint = { ip: "198.51.100.20" };
    const metadata: Endpoint = { ip: "169.254.169.254" };
    const privateAddresses: Endpoint[] = ["10.1.2.3", "172.16.5.5", "192.168.1.1", "100.64.0.9", "127.0.0.1"].map((ip) => ({ ip }));

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
      ...(livekit ? [
        ["internet → LiveKit media", remoteServer, livekit, expected.livekitRtc.udp, "UDP", true],
        ["internet → LiveKit media over TCP", remoteServer, livekit, expected.livekitRtc.tcp, "TCP", true],
        ["LiveKit → cloud metadata", livekit, metadata, 80, "TCP", false],
      ] as [string, Endpoint, Endpoint, number, string, boolean][] : []),
      ...(jwt ? [
        ["lk-jwt-service → homeserver on a private address", jwt, { ip: "10.0.5.5" }, 443, "TCP", true],
        ["lk-jwt-service → cloud metadata", jwt, metadata, 443, "TCP", false],
      ] as [string, Endpoint, Endpoint, number, string, boolean][] : []),
      ...(secretsJob ? [
        ["secrets Job → Kubernetes API", secretsJob, { ip: "10.96.0.1" }, 443, "TCP", true],
        ["secrets Job → cloud metadata", secretsJob, metadata, 443, "TCP", false],
        ["secrets Job → anything else", secretsJob, remoteServer, 80, "TCP", false],
      ] as [string, Endpoint, Endpoint, number, string, boolean][] : []),
      ["worker → cloud metadata", generic, metadata, 80, "TCP", false],
      ["Synapse → cloud metadata over https", main, metadata, 443, "TCP", false],
      ["HAProxy → cloud metadata", haproxy, metadata, 80, "TCP", false],
      ...privateAddresses.map((to): [string, Endpoint, Endpoint, number, string, boolean] => [`Synapse → private address ${to.ip}`, main, to, 443, "TCP", false]),
      ["internet → Synapse", remoteServer, main, 8008, "TCP", false],
    ];
    const wrong = expectations.filter(([, from, to, port, proto, want]) => allowed(policies, from, to, port, proto) !== want)
      .map(([label, , , , , want]) => `${label}: expected ${want ? "allowed" : "denied"}`);
    expect(wrong).toEqual([]);
  });

  it("leave exactly the private and metadata ranges out of every egress rule to the internet", async () => {
    const policies = policiesOf(await renderOverlay(tier));
    const blocks = policies.flatMap((p) => (p.egress ?? []).flatMap((e) => (e.to ?? []).flatMap((t) => (t.ipBlock ? [{ policy: p.name, ...t.ipBlock }] : []))));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) {
      expect(b.cidr, b.policy).toBe("0.0.0.0/0");
      // The secrets Job (Kubernetes API) and lk-jwt-service (this homeserver, perhaps via its load balancer) reach
      // peers whose private address is not known in advance: bounded by port, and never link-local (metadata).
      if (b.policy === "synapse-secrets-init" || b.policy === "lk-jwt-service") expect(b.except, b.policy).toEqual(["169.254.0.0/16"]);
      else expect(b.except, b.policy).toEqual(internetExcept);
    }
    const apiOnly = policies.find((p) => p.name === "synapse-secrets-init");
    if (expected.secretGenerated || expected.calls) {
      expect(apiOnly?.egress?.map((e) => e.ports)).toEqual([[{ port: 443, protocol: "TCP" }, { port: 6443, protocol: "TCP" }]]);
    } else expect(apiOnly).toBeUndefined();
    const jwt = policies.find((p) => p.name === "lk-jwt-service");
    if (expected.calls) expect(jwt?.egress?.[0]?.ports).toEqual([{ port: 443, protocol: "TCP" }, { port: 8448, protocol: "TCP" }]);
    else expect(jwt).toBeUndefined();
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
