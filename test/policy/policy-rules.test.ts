import { describe, expect, it } from "vitest";
import { policyExceptions } from "../../tools/validate/policy-exceptions.ts";
import { checkPolicies, policyRules } from "../../tools/validate/policies.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { renderOverlay } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";

const labels = { "app.kubernetes.io/name": "demo" };

/** A small set of objects that satisfies every rule: the passing case each violation starts from. */
function compliant(): KubeObject[] {
  const container = {
    name: "app",
    image: "registry.example.invalid/demo:1.2.3",
    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    livenessProbe: { httpGet: { path: "/health", port: 8080 } },
    readinessProbe: { httpGet: { path: "/health", port: 8080 } },
    ports: [{ name: "http", containerPort: 8080 }],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
  };
  const meta = (name: string) => ({ name, namespace: "matrix", labels });
  return [
    { apiVersion: "apps/v1", kind: "Deployment", metadata: meta("demo"), spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } }, containers: [container], volumes: [{ name: "tmp", emptyDir: {} }] } } } },
    { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta("demo"), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
    { apiVersion: "v1", kind: "Service", metadata: meta("demo"), spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] } },
    { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: meta("demo"), spec: { rules: [{ host: "demo.example.invalid", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "demo", port: { name: "http" } } } }] } }] } },
  ] as KubeObject[];
}

type Mutation = (objects: KubeObject[]) => void;
const deployment = (o: KubeObject[]) => o[0]?.spec as { replicas?: number; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[]; securityContext: Record<string, unknown> } } };
const container = (o: KubeObject[]) => deployment(o).template.spec.containers[0] as Record<string, unknown> & { securityContext: Record<string, unknown>; resources: { limits: Record<string, string> } };

/** Each rule broken by leaving its field out and by giving it a wrong value, where both make sense. */
const violations: [string, string, Mutation][] = [
  ["pss-run-as-non-root", "runAsNonRoot absent", (o) => { delete container(o).securityContext.runAsNonRoot; delete deployment(o).template.spec.securityContext.runAsNonRoot; }],
  ["pss-run-as-non-root", "runAsNonRoot false on the container", (o) => { container(o).securityContext.runAsNonRoot = false; }],
  ["pss-run-as-non-root", "runAsUser 0", (o) => { deployment(o).template.spec.securityContext.runAsUser = 0; }],
  ["pss-privilege-escalation", "allowPrivilegeEscalation true", (o) => { container(o).securityContext.allowPrivilegeEscalation = true; }],
  ["pss-privilege-escalation", "allowPrivilegeEscalation absent", (o) => { delete container(o).securityContext.allowPrivilegeEscalation; }],
  ["pss-capabilities", "a capability added", (o) => { container(o).securityContext.capabilities = { drop: ["ALL"], add: ["NET_ADMIN"] }; }],
  ["pss-capabilities", "drop absent", (o) => { container(o).securityContext.capabilities = {}; }],
  ["pss-capabilities", "drop without ALL", (o) => { container(o).securityContext.capabilities = { drop: ["NET_RAW"] }; }],
  ["pss-seccomp", "seccompProfile absent", (o) => { delete container(o).securityContext.seccompProfile; delete deployment(o).template.spec.securityContext.seccompProfile; }],
  ["pss-seccomp", "seccompProfile Unconfined", (o) => { container(o).securityContext.seccompProfile = { type: "Unconfined" }; }],
  ["pss-privileged", "privileged true", (o) => { container(o).securityContext.privileged = true; }],
  ["pss-host-namespaces", "hostNetwork", (o) => { deployment(o).template.spec.hostNetwork = true; }],
  ["pss-host-namespaces", "hostPID", (o) => { deployment(o).template.spec.hostPID = true; }],
  ["pss-host-namespaces", "hostIPC", (o) => { deployment(o).template.spec.hostIPC = true; }],
  ["pss-host-ports", "a host port", (o) => { container(o).ports = [{ name: "http", containerPort: 8080, hostPort: 8080 }]; }],
  ["pss-volume-types", "a hostPath volume", (o) => { deployment(o).template.spec.volumes = [{ name: "host", hostPath: { path: "/var" } }]; }],
  ["image-pinned", "tag latest", (o) => { container(o).image = "registry.example.invalid/demo:latest"; }],
  ["image-pinned", "no tag", (o) => { container(o).image = "registry.example.invalid/demo"; }],
  ["resources", "limits.memory absent", (o) => { delete container(o).resources.limits.memory; }],
  ["resources", "limits.cpu absent", (o) => { delete container(o).resources.limits.cpu; }],
  ["resources", "requests absent", (o) => { delete (container(o).resources as { requests?: unknown }).requests; }],
  ["resources", "resources absent", (o) => { delete (container(o) as { resources?: unknown }).resources; }],
  ["probes", "readinessProbe absent", (o) => { delete container(o).readinessProbe; }],
  ["probes", "livenessProbe absent", (o) => { delete container(o).livenessProbe; }],
  ["read-only-root-fs", "readOnlyRootFilesystem false", (o) => { container(o).securityContext.readOnlyRootFilesystem = false; }],
  ["read-only-root-fs", "readOnlyRootFilesystem absent", (o) => { delete container(o).securityContext.readOnlyRootFilesystem; }],
  ["pdb-multi-replica", "PDB absent", (o) => { o.splice(1, 1); }],
  ["pdb-multi-replica", "PDB selecting other pods", (o) => { (o[1]?.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels = { "app.kubernetes.io/name": "other" }; }],
  ["pdb-allows-drain", "maxUnavailable 0", (o) => { (o[1]?.spec as Record<string, unknown>).maxUnavailable = 0; }],
  ["pdb-allows-drain", "minAvailable equal to the replicas", (o) => { const spec = o[1]?.spec as Record<string, unknown>; delete spec.maxUnavailable; spec.minAvailable = 2; }],
  ["pdb-allows-drain", "minAvailable 1 with one replica", (o) => { deployment(o).replicas = 1; const spec = o[1]?.spec as Record<string, unknown>; delete spec.maxUnavailable; spec.minAvailable = 1; }],
  ["pdb-allows-drain", "replicas absent (one pod) and minAvailable 1", (o) => { delete deployment(o).replicas; const spec = o[1]?.spec as Record<string, unknown>; delete spec.maxUnavailable; spec.minAvailable = 1; }],
  ["pdb-allows-drain", "minAvailable 100%", (o) => { const spec = o[1]?.spec as Record<string, unknown>; delete spec.maxUnavailable; spec.minAvailable = "100%"; }],
  ["no-replicas-with-hpa", "replicas beside an HPA", (o) => { o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "demo", namespace: "matrix" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "demo" }, minReplicas: 2, maxReplicas: 4 } } as KubeObject); }],
  ["service-selects-pod", "a selector no pod has", (o) => { (o[2]?.spec as { selector: Record<string, string> }).selector = { "app.kubernetes.io/name": "nothing" }; }],
  ["service-selects-pod", "a target port no container names", (o) => { (o[2]?.spec as { ports: { targetPort: string }[] }).ports[0]!.targetPort = "metrics"; }],
  ["ingress-backend-exists", "a backend Service that does not exist", (o) => { (o[3]?.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] }).rules[0]!.http.paths[0]!.backend.service.name = "missing"; }],
  ["ingress-backend-exists", "a backend port the Service lacks", (o) => { (o[3]?.spec as { rules: { http: { paths: { backend: { service: { port: { name: string } } } }[] } }[] }).rules[0]!.http.paths[0]!.backend.service.port = { name: "grpc" }; }],
  ["no-secret-data", "a Secret with data", (o) => { o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "matrix" }, data: { password: "c2VjcmV0" } } as unknown as KubeObject); }],
  ["no-secret-data", "a Secret with stringData", (o) => { o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "matrix" }, stringData: { password: "secret" } } as unknown as KubeObject); }],
  ["no-duplicates", "the same object twice", (o) => { o.push(structuredClone(o[2] as KubeObject)); }],
  ["no-removed-api", "policy/v1beta1", (o) => { (o[1] as { apiVersion: string }).apiVersion = "policy/v1beta1"; }],
  ["no-removed-api", "autoscaling/v2beta2", (o) => { o.push({ apiVersion: "autoscaling/v2beta2", kind: "HorizontalPodAutoscaler", metadata: { name: "x", namespace: "matrix" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "nothing" }, minReplicas: 1, maxReplicas: 2 } } as KubeObject); }],
];

describe("policy rules", () => {
  it("pass a compliant set of objects", () => {
    expect(checkPolicies(compliant(), policyRules, []).errors).toEqual([]);
  });

  it("have a violating case for every rule", () => {
    expect([...new Set(violations.map(([id]) => id))].sort()).toEqual(policyRules.map((r) => r.id).sort());
  });

  it.each(violations)("%s: rejects a manifest with %s, naming the rule, with a message", (id, _how, mutate) => {
    const objects = compliant();
    mutate(objects);
    const errors = checkPolicies(objects, policyRules, []).errors;
    const mine = errors.filter((f) => f.rule === id);
    expect(mine.length, JSON.stringify(errors)).toBeGreaterThan(0);
    expect(mine[0]?.message.length).toBeGreaterThan(10);
  });

  it("turns a finding into an allowed exception only when the exception names its rule and object", () => {
    const objects = compliant();
    deployment(objects).template.spec.hostNetwork = true;
    const exceptions = [{ rule: "pss-host-namespaces", object: "Deployment/demo", reason: "test" }];
    expect(checkPolicies(objects, policyRules, exceptions).errors).toEqual([]);
    expect(checkPolicies(objects, policyRules, [{ ...exceptions[0]!, object: "Deployment/other" }]).errors.length).toBe(1);
  });
});

describe("every rendered tier", () => {
  it.each(tiers.map((t) => t.name))("passes every policy rule, exceptions aside (%s)", async (tier) => {
    const report = checkPolicies(await renderOverlay(tier));
    expect(report.errors).toEqual([]);
    // The only exceptions are coturn's host network and ports, so without calls there are none.
    const applicable = policyExceptions.filter((e) => expected.calls || e.object !== "DaemonSet/coturn");
    expect(new Set(report.excepted.map((e) => `${e.rule} ${e.object}`))).toEqual(new Set(applicable.map((e) => `${e.rule} ${e.object}`)));
  });

  it("lists each exception with a reason", () => {
    for (const e of policyExceptions) expect(e.reason.length, `${e.rule} ${e.object}`).toBeGreaterThan(40);
  });
});
