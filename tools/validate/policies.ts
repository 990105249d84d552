/**
 * Policy rules a reviewer trusts, each with an id and a message: the Pod Security Standards `restricted`
 * profile, pinned images, requests and limits, probes, read-only root filesystems, disruption budgets, HPA
 * ownership of replicas, Service and Ingress wiring, no Secret data in git, no duplicates, no removed APIs.
 * Exceptions are listed, with reasons, in policy-exceptions.ts.
 */
import type { KubeObject } from "../render/rendered.ts";
import { policyExceptions, type PolicyException } from "./policy-exceptions.ts";
import { allContainers, objectId, selectorMatches, workloadsOf, type Workload } from "./workloads.ts";

export interface Finding {
  rule: string;
  object: string;
  message: string;
}

export interface PolicyRule {
  id: string;
  description: string;
  check(objects: KubeObject[]): Finding[];
}

/** A rule that looks at each workload's pod on its own. */
function podRule(id: string, description: string, check: (w: Workload) => string[]): PolicyRule {
  return {
    id,
    description,
    check: (objects) => workloadsOf(objects).flatMap((w) => check(w).map((message) => ({ rule: id, object: w.id, message }))),
  };
}

const allowedVolumeKeys = new Set(["name", "configMap", "secret", "emptyDir", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"]);
const pinnedImage = /^[^\s@]+:(?!latest$)[^\s:/@]+$|^[^\s@]+@sha256:[a-f0-9]{64}$/;

/** API versions removed from Kubernetes up to the pinned 1.33 (kubernetes.io deprecation guide). */
const removedApis = new Set([
  "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2", "policy/v1beta1", "batch/v1beta1", "autoscaling/v2beta1",
  "autoscaling/v2beta2", "networking.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1beta1", "storage.k8s.io/v1beta1",
  "admissionregistration.k8s.io/v1beta1", "apiextensions.k8s.io/v1beta1", "scheduling.k8s.io/v1beta1",
  "coordination.k8s.io/v1beta1", "discovery.k8s.io/v1beta1", "events.k8s.io/v1beta1", "node.k8s.io/v1beta1",
  "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2", "certificates.k8s.io/v1beta1",
]);

export const policyRules: readonly PolicyRule[] = [
  podRule("pss-run-as-non-root", "Pods run as a non-root user (restricted).", ({ pod }) => allContainers(pod)
    .filter((c) => !(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) || (c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser) === 0)
    .map((c) => `container ${c.name} may run as root (set runAsNonRoot: true and a non-zero runAsUser)`)),
  podRule("pss-privilege-escalation", "allowPrivilegeEscalation is false (restricted).", ({ pod }) => allContainers(pod)
    .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
    .map((c) => `container ${c.name} does not set allowPrivilegeEscalation: false`)),
  podRule("pss-capabilities", "All capabilities dropped; only NET_BIND_SERVICE may be added (restricted).", ({ pod }) => allContainers(pod)
    .filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes("ALL") || (c.securityContext?.capabilities?.add ?? []).some((a) => a !== "NET_BIND_SERVICE"))
    .map((c) => `container ${c.name} must drop ALL capabilities and add none but NET_BIND_SERVICE`)),
  podRule("pss-seccomp", "Seccomp profile RuntimeDefault or Localhost (restricted).", ({ pod }) => allContainers(pod)
    .filter((c) => !["RuntimeDefault", "Localhost"].includes(c.securityContext?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type ?? ""))
    .map((c) => `container ${c.name} has no RuntimeDefault or Localhost seccomp profile`)),
  podRule("pss-privileged", "No privileged containers (baseline).", ({ pod }) => allContainers(pod)
    .filter((c) => c.securityContext?.privileged === true).map((c) => `container ${c.name} is privileged`)),
  podRule("pss-host-namespaces", "No host network, PID or IPC namespace (baseline).", ({ pod }) =>
    (["hostNetwork", "hostPID", "hostIPC"] as const).filter((k) => pod[k] === true).map((k) => `pod uses ${k}`)),
  podRule("pss-host-ports", "No host ports (baseline).", ({ pod }) => allContainers(pod)
    .flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort !== undefined).map((p) => `container ${c.name} binds host port ${p.hostPort}`))),
  podRule("pss-volume-types", "Only configMap, secret, emptyDir, projected, downwardAPI, PVC, ephemeral and CSI volumes (restricted).", ({ pod }) =>
    (pod.volumes ?? []).flatMap((v) => Object.keys(v).filter((k) => !allowedVolumeKeys.has(k)).map((k) => `volume ${String(v.name)} is of type ${k}`))),
  podRule("image-pinned", "Every image is pinned by version tag or digest (no `latest`, no bare name).", ({ pod }) => allContainers(pod)
    .filter((c) => !pinnedImage.test(c.image ?? "")).map((c) => `container ${c.name} image ${JSON.stringify(c.image)} is not pinned`)),
  podRule("resources", "Every container requests and limits CPU and memory.", ({ pod }) => allContainers(pod).flatMap((c) =>
    ["requests", "limits"].flatMap((kind) => ["cpu", "memory"]
      .filter((r) => !c.resources?.[kind as "requests" | "limits"]?.[r])
      .map((r) => `container ${c.name} has no ${r} ${kind === "requests" ? "request" : "limit"}`)))),
  podRule("probes", "Long-running containers have liveness and readiness probes.", (w) => (w.longRunning ? w.pod.containers : []).flatMap((c) => [
    ...(c.livenessProbe ? [] : [`container ${c.name} has no livenessProbe`]),
    ...(c.readinessProbe ? [] : [`container ${c.name} has no readinessProbe`]),
  ])),
  podRule("read-only-root-fs", "Containers run with a read-only root filesystem.", ({ pod }) => allContainers(pod)
    .filter((c) => c.securityContext?.readOnlyRootFilesystem !== true).map((c) => `container ${c.name} has a writable root filesystem`)),
  {
    id: "pdb-multi-replica",
    description: "Every workload that can run more than one pod has a PodDisruptionBudget selecting its pods.",
    check(objects) {
      const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => (o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels);
      const hpaMax = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
        const s = o.spec as { scaleTargetRef: { kind: string; name: string }; maxReplicas: number };
        return [`${s.scaleTargetRef.kind}/${s.scaleTargetRef.name}`, s.maxReplicas];
      }));
      return workloadsOf(objects).filter((w) => w.object.kind === "Deployment" || w.object.kind === "StatefulSet").flatMap((w) => {
        const max = hpaMax.get(w.id) ?? (w.object.spec as { replicas?: number }).replicas ?? 1;
        if (max <= 1 || pdbs.some((sel) => selectorMatches(sel, w.templateLabels))) return [];
        return [{ rule: "pdb-multi-replica", object: w.id, message: `runs up to ${max} pods but no PodDisruptionBudget selects them` }];
      });
    },
  },
  {
    id: "pdb-allows-drain",
    description: "No PodDisruptionBudget forbids every eviction of its pods at their lowest count (a node drain would hang).",
    check(objects) {
      const hpaMin = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
        const s = o.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas?: number };
        return [`${s.scaleTargetRef.kind}/${s.scaleTargetRef.name}`, s.minReplicas ?? 1];
      }));
      const workloads = workloadsOf(objects).filter((w) => w.object.kind === "Deployment" || w.object.kind === "StatefulSet");
      return objects.filter((o) => o.kind === "PodDisruptionBudget").flatMap((pdb) => {
        const spec = pdb.spec as { selector?: { matchLabels?: Record<string, string> }; minAvailable?: number | string; maxUnavailable?: number | string };
        return workloads.filter((w) => selectorMatches(spec.selector?.matchLabels, w.templateLabels)).flatMap((w) => {
          const lowest = hpaMin.get(w.id) ?? (w.object.spec as { replicas?: number }).replicas ?? 1;
          const blocked = spec.maxUnavailable === 0 || spec.maxUnavailable === "0%" || spec.minAvailable === "100%"
            || (typeof spec.minAvailable === "number" && spec.minAvailable >= lowest);
          return blocked ? [{ rule: "pdb-allows-drain", object: objectId(pdb), message: `allows no eviction of ${w.id} at ${lowest} pod(s) (minAvailable ${String(spec.minAvailable)}, maxUnavailable ${String(spec.maxUnavailable)}): a node drain would wait for ever` }] : [];
        });
      });
    },
  },
  {
    id: "no-replicas-with-hpa",
    description: "A workload an HPA scales does not set replicas (the HPA owns the count).",
    check(objects) {
      return objects.filter((o) => o.kind === "HorizontalPodAutoscaler").flatMap((hpa) => {
        const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
        if (!target) return [{ rule: "no-replicas-with-hpa", object: objectId(hpa), message: `scales ${ref.kind}/${ref.name}, which does not exist` }];
        return (target.spec as { replicas?: number }).replicas !== undefined
          ? [{ rule: "no-replicas-with-hpa", object: objectId(target), message: `sets replicas although ${objectId(hpa)} owns the count` }] : [];
      });
    },
  },
  {
    id: "service-selects-pod",
    description: "Every Service selects the pods of some workload, and each named target port is a port those pods name.",
    check(objects) {
      const workloads = workloadsOf(objects);
      return objects.filter((o) => o.kind === "Service" && (o.spec as { type?: string }).type !== "ExternalName").flatMap((svc) => {
        const spec = svc.spec as { selector?: Record<string, string>; ports?: { name?: string; targetPort?: string | number }[] };
        const selected = workloads.filter((w) => selectorMatches(spec.selector, w.templateLabels));
        if (selected.length === 0) return [{ rule: "service-selects-pod", object: objectId(svc), message: `selector ${JSON.stringify(spec.selector ?? {})} matches no pod template` }];
        // A named target port that no selected container declares leaves the Service without endpoints.
        const named = new Set(selected.flatMap((w) => ((w.pod as { containers?: { ports?: { name?: string }[] }[] }).containers ?? [])
          .flatMap((c) => (c.ports ?? []).map((p) => p.name))));
        return (spec.ports ?? []).filter((p) => typeof p.targetPort === "string" && !named.has(p.targetPort))
          .map((p) => ({ rule: "service-selects-pod", object: objectId(svc), message: `target port "${String(p.targetPort)}" is not a port name of the selected pods` }));
      });
    },
  },
  {
    id: "ingress-backend-exists",
    description: "Every Ingress backend names an existing Service and one of its ports.",
    check(objects) {
      return objects.filter((o) => o.kind === "Ingress").flatMap((ing) => {
        const rules = (ing.spec as { rules?: { http?: { paths: { backend: { service?: { name: string; port: { name?: string; number?: number } } } }[] } }[] }).rules ?? [];
        return rules.flatMap((r) => r.http?.paths ?? []).flatMap((p) => {
          const ref = p.backend.service;
          if (!ref) return [];
          const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === ref.name);
          const ports = (svc?.spec as { ports?: { name?: string; port: number }[] } | undefined)?.ports ?? [];
          const portOk = ports.some((sp) => (ref.port.name !== undefined ? sp.name === ref.port.name : sp.port === ref.port.number));
          if (svc && portOk) return [];
          return [{ rule: "ingress-backend-exists", object: objectId(ing), message: svc ? `Service ${ref.name} has no port ${ref.port.name ?? ref.port.number}` : `Service ${ref.name} does not exist` }];
        });
      });
    },
  },
  {
    id: "no-secret-data",
    description: "No Secret with data in git: secrets are generated in-cluster or referenced.",
    check: (objects) => objects.filter((o) => o.kind === "Secret" && (o.data !== undefined || o.stringData !== undefined))
      .map((o) => ({ rule: "no-secret-data", object: objectId(o), message: "carries secret data in git" })),
  },
  {
    id: "no-duplicates",
    description: "No two objects share kind, namespace and name.",
    check(objects) {
      const seen = new Set<string>();
      const findings: Finding[] = [];
      for (const o of objects) {
        const key = `${o.apiVersion.split("/").length > 1 ? o.apiVersion.split("/")[0] : ""}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
        if (seen.has(key)) findings.push({ rule: "no-duplicates", object: objectId(o), message: "is defined twice" });
        seen.add(key);
      }
      return findings;
    },
  },
  {
    id: "no-removed-api",
    description: "No API version that Kubernetes 1.33 no longer serves.",
    check: (objects) => objects.filter((o) => removedApis.has(o.apiVersion))
      .map((o) => ({ rule: "no-removed-api", object: objectId(o), message: `uses removed API ${o.apiVersion}` })),
  },
];

function excepted(f: Finding, exceptions: readonly PolicyException[]): PolicyException | undefined {
  return exceptions.find((e) => e.rule === f.rule && e.object === f.object);
}

export interface PolicyReport {
  errors: Finding[];
  /** Findings covered by a listed exception, with its reason. */
  excepted: (Finding & { reason: string })[];
}

export function checkPolicies(objects: KubeObject[], rules: readonly PolicyRule[] = policyRules, exceptions: readonly PolicyException[] = policyExceptions): PolicyReport {
  const report: PolicyReport = { errors: [], excepted: [] };
  for (const rule of rules) {
    for (const f of rule.check(objects)) {
      const e = excepted(f, exceptions);
      if (e) report.excepted.push({ ...f, reason: e.reason });
      else report.errors.push(f);
    }
  }
  return report;
}
