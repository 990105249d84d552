import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { expected, siteInput } from "../support/site-under-test.ts";
import { configFiles, synapseWorkloads } from "../support/synapse-processes.ts";
import { parse } from "yaml";

interface Shared {
  instance_map: Record<string, { host: string; port: number }>;
  stream_writers: Record<string, string | string[]>;
  federation_sender_instances: string[];
  pusher_instances?: string[];
  run_background_tasks_on?: string;
  update_user_directory_from_worker?: string;
  media_instance_running_background_jobs?: string;
  enable_media_repo: boolean;
  redis: { enabled: boolean };
  worker_replication_secret_path: string;
}

const shared = (objects: KubeObject[]) => parse(configFiles(objects)["homeserver.yaml"] ?? "") as Shared;
const spec = <T>(o: KubeObject) => o.spec as unknown as T;

function namedInstances(s: Shared): string[] {
  return [
    ...Object.values(s.stream_writers).flat(),
    ...s.federation_sender_instances,
    ...(s.pusher_instances ?? []),
    ...(s.run_background_tasks_on ? [s.run_background_tasks_on] : []),
    ...(s.update_user_directory_from_worker ? [s.update_user_directory_from_worker] : []),
  ];
}

/** `pod-N` of StatefulSet `pod` exists when N < replicas. */
function statefulSetOf(objects: KubeObject[], pod: string): KubeObject | undefined {
  const m = /^(.*)-(\d+)$/.exec(pod);
  if (!m) return undefined;
  const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === m[1]);
  const replicas = sts ? spec<{ replicas?: number }>(sts).replicas : undefined;
  return sts && replicas !== undefined && Number(m[2]) < replicas ? sts : undefined;
}

describe.each(tiers.map((t) => [t.name, t] as const))("worker pools of %s", (name, tier) => {
  it("lists every named instance in instance_map, beside main", async () => {
    const s = shared(await renderOverlay(name));
    expect(s.redis.enabled).toBe(true);
    expect(s.worker_replication_secret_path).toMatch(/^\/secrets\//);
    expect(Object.keys(s.instance_map)).toContain("main");
    for (const instance of namedInstances(s)) expect(Object.keys(s.instance_map), instance).toContain(instance);
  });

  it("makes each named instance a pod the overlay creates, at the address instance_map gives", async () => {
    const objects = await renderOverlay(name);
    const s = shared(objects);
    for (const [instance, address] of Object.entries(s.instance_map)) {
      const pod = instance === "main" ? "synapse-main-0" : instance;
      const sts = statefulSetOf(objects, pod);
      expect(sts, `${instance}: no StatefulSet pod ${pod}`).toBeDefined();
      const st = spec<{ serviceName: string; template: { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } }>(sts as KubeObject);
      expect(address.host).toBe(`${pod}.${st.serviceName}.${expected.namespace}.svc`);
      const svc = find(objects, "Service", st.serviceName);
      expect(spec<{ clusterIP: string }>(svc).clusterIP).toBe("None");
      expect(spec<{ selector: Record<string, string> }>(svc).selector).toEqual(spec<{ selector: { matchLabels: Record<string, string> } }>(sts as KubeObject).selector.matchLabels);
      const replication = st.template.spec.containers[0]?.ports.find((p) => p.name === "replication");
      expect(replication?.containerPort, instance).toBe(address.port);
    }
  });

  it("trusts X-Forwarded-For on the HTTP port HAProxy reaches, and on no other listener", async () => {
    // Without x_forwarded Synapse sees HAProxy's address for every client: one rate-limit bucket for all users.
    for (const w of synapseWorkloads(await renderOverlay(name))) {
      const config = w.config(w.pods[0] as string) as { listeners?: { port: number; type: string; x_forwarded?: boolean }[]; worker_listeners?: { port: number; type: string; x_forwarded?: boolean }[] };
      const listeners = config.worker_listeners ?? config.listeners ?? [];
      expect(listeners.filter((l) => l.type === "http").map((l) => [l.port, l.x_forwarded === true]), w.name)
        .toEqual(listeners.filter((l) => l.type === "http").map((l) => [l.port, l.port === 8008]));
      expect(listeners.some((l) => l.port === 8008), w.name).toBe(true);
    }
  });

  it("runs every Synapse pool as a StatefulSet (stable pod names for Synapse and HAProxy), with exactly as many named pods as the configuration lists", async () => {
    const objects = await renderOverlay(name);
    const s = shared(objects);
    const listed = Object.keys(s.instance_map).filter((n) => n !== "main");
    for (const sts of objects.filter((o) => o.kind === "StatefulSet" && spec<{ replicas?: number }>(o).replicas !== undefined && o.metadata.name !== "synapse-main")) {
      const names = listed.filter((n) => n.replace(/-\d+$/, "") === sts.metadata.name);
      expect(names.length, sts.metadata.name).toBe(spec<{ replicas: number }>(sts).replicas);
    }
    const synapse = objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/name"] === "synapse" && ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(o.kind));
    expect(synapse.filter((o) => o.kind !== "StatefulSet").map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(synapse.length).toBe(5 + tier.optionalRoles.length + 1);
    expect(s.stream_writers.events).toHaveLength(tier.workers.eventPersisters);
    expect(s.federation_sender_instances).toHaveLength(tier.workers.federationSenders);
    expect(spec<{ replicas: number }>(find(objects, "StatefulSet", "synapse-event-persister")).replicas).toBe(tier.workers.eventPersisters);
    expect(spec<{ replicas: number }>(find(objects, "StatefulSet", "synapse-federation-sender")).replicas).toBe(tier.workers.federationSenders);
  });

  it("autoscales synchrotron, generic and media between the tier's minimum and the documented maximum", async () => {
    const objects = await renderOverlay(name);
    const expected = { "synapse-synchrotron": tier.workers.synchrotron, "synapse-generic": tier.workers.generic, "synapse-media": tier.workers.media };
    for (const [target, pool] of Object.entries(expected)) {
      const hpa = spec<{ minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string }; metrics: { resource: { name: string; target: { averageUtilization: number } } }[] }>(find(objects, "HorizontalPodAutoscaler", target));
      expect([hpa.scaleTargetRef.name, hpa.minReplicas, hpa.maxReplicas]).toEqual([target, pool.min, pool.max]);
      const targets = Object.fromEntries(hpa.metrics.map((m) => [m.resource.name, m.resource.target.averageUtilization]));
      expect(targets).toEqual({ cpu: pool.targetCpuPercent, memory: pool.targetMemoryPercent });
    }
  });

  it("leaves the replica count of every HPA-owned workload to the HPA", async () => {
    const objects = await renderOverlay(name);
    for (const hpa of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
      const ref = spec<{ scaleTargetRef: { kind: string; name: string } }>(hpa).scaleTargetRef;
      expect(spec<{ replicas?: number }>(find(objects, ref.kind, ref.name)).replicas, ref.name).toBeUndefined();
    }
  });

  it("takes federation sending and media off main, and gives media background jobs to exactly one pod", async () => {
    const objects = await renderOverlay(name);
    const s = shared(objects);
    expect(s.enable_media_repo).toBe(false);
    expect(s.federation_sender_instances.length).toBeGreaterThan(0);
    expect(s.media_instance_running_background_jobs).toBe("synapse-media-0");
    // Ordinal 0 of the media StatefulSet exists whenever the HPA keeps at least one pod.
    expect(spec<{ minReplicas: number }>(find(objects, "HorizontalPodAutoscaler", "synapse-media")).minReplicas).toBeGreaterThanOrEqual(1);
  });

  it("keeps media in S3 with a per-pod cache that the pod prunes itself: no volume claims, a bounded emptyDir", async () => {
    const objects = await renderOverlay(name);
    const media = synapseWorkloads(objects).find((w) => w.name === "synapse-media");
    if (!media) throw new Error("no synapse-media workload");
    const config = media.config("synapse-media-1");
    expect(config.enable_media_repo).toBe(true);
    expect(config).not.toHaveProperty("enable_local_media_storage");
    expect(config.media_storage_providers).toEqual([{
      module: "s3_storage_provider.S3StorageProviderBackend", store_local: true, store_remote: true, store_synchronous: true,
      config: {
        bucket: siteInput.s3?.bucket ?? "synapse-media",
        region_name: siteInput.s3?.region ?? "us-east-1",
        endpoint_url: siteInput.s3?.endpoint ?? `http://minio.${expected.namespace}.svc:80`,
      },
    }]);
    type Container = { name: string; command: string[]; volumeMounts: { name: string; mountPath: string }[] };
    const sts = spec<{ volumeClaimTemplates?: unknown[]; template: { spec: { volumes: { name: string; emptyDir?: { sizeLimit?: string } }[]; containers: Container[] } } }>(media.object);
    expect(sts.volumeClaimTemplates).toBeUndefined();
    const containers = sts.template.spec.containers;
    expect(containers.map((c) => c.name)).toEqual(["synapse", "media-cache-pruner"]);
    const store = containers[0]?.volumeMounts.find((m) => m.mountPath === config.media_store_path);
    expect(store, "media_store_path is a mount of the synapse container").toBeDefined();
    expect(sts.template.spec.volumes.find((v) => v.name === store?.name)?.emptyDir?.sizeLimit).toBe("10Gi");
    expect(containers[1]?.volumeMounts).toEqual([{ name: store?.name, mountPath: config.media_store_path }]);
    // No other Synapse process touches media: none configures a provider or turns the media repository on.
    for (const w of synapseWorkloads(objects).filter((x) => x.name !== "synapse-media")) {
      const c = w.config(w.pods[0] as string);
      expect(c.media_storage_providers, w.name).toBeUndefined();
      expect(c.enable_media_repo, w.name).toBe(false);
    }
  });

  it("puts every path Synapse creates or reads on a volume of the process's own container (the root filesystem is read-only)", async () => {
    const objects = await renderOverlay(name);
    for (const w of synapseWorkloads(objects)) {
      const c = w.config(w.pods[0] as string);
      const container = spec<{ template: { spec: { containers: { name: string; volumeMounts: { mountPath: string }[] }[] } } }>(w.object)
        .template.spec.containers.find((x) => x.name === "synapse");
      const mounts = container?.volumeMounts.map((m) => m.mountPath) ?? [];
      const paths = Object.entries(c).filter(([k, v]) => (k.endsWith("_path") || k === "log_config" || k === "worker_log_config") && typeof v === "string");
      const redis = (c.redis as { password_path?: string } | undefined)?.password_path;
      for (const [key, value] of [...paths, ...(redis ? [["redis.password_path", redis] as const] : [])]) {
        expect(mounts.some((m) => value === m || (value as string).startsWith(`${m}/`)), `${w.name} ${key}: ${String(value)} is under none of ${mounts.join(", ")}`).toBe(true);
      }
    }
  });

  it("switches on the tier's optional roles and nothing else", async () => {
    const objects = await renderOverlay(name);
    const optional = objects.filter((o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.labels?.["app.kubernetes.io/name"] === "synapse")
      .map((o) => o.metadata.labels?.["app.kubernetes.io/component"] ?? "")
      .filter((c) => !["main", "event-persister", "federation-sender", "media", "synchrotron", "generic"].includes(c));
    expect(optional.sort()).toEqual([...tier.optionalRoles].sort());
  });

  it("gives every Synapse pod /health probes, metrics scraped by a ServiceMonitor, and the same config hash", async () => {
    const objects = await renderOverlay(name);
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
    const hashes = new Set<string>();
    for (const w of synapseWorkloads(objects)) {
      const tpl = spec<{ template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { containers: { readinessProbe: { httpGet: { path: string } }; ports: { name: string }[] }[] } } }>(w.object).template;
      hashes.add(tpl.metadata.annotations["matrix-gitops.io/config-hash"] ?? "");
      expect(tpl.spec.containers[0]?.readinessProbe.httpGet.path, w.name).toBe("/health");
      const svc = objects.find((o) => o.kind === "Service" && Object.entries(spec<{ selector: Record<string, string> }>(o).selector ?? {}).every(([k, v]) => tpl.metadata.labels[k] === v)
        && spec<{ ports: { name: string }[] }>(o).ports.some((p) => p.name === "metrics"));
      expect(svc, `${w.name}: no Service exposes its metrics port`).toBeDefined();
      const covered = monitors.some((m) => {
        const sel = spec<{ selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values: string[] }[] }; endpoints: { port: string }[] }>(m);
        const labels = (svc as KubeObject).metadata.labels ?? {};
        const labelsMatch = Object.entries(sel.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
        const exprMatch = (sel.selector.matchExpressions ?? []).every((e) => (e.operator === "NotIn" ? !e.values.includes(labels[e.key] ?? "") : e.values.includes(labels[e.key] ?? "")));
        return labelsMatch && exprMatch && sel.endpoints.some((e) => e.port === "metrics");
      });
      // With `monitoring.serviceMonitors: false` there is none at all (the cluster has no Prometheus Operator).
      expect(covered, `${w.name}: no ServiceMonitor scrapes it`).toBe(expected.serviceMonitors);
    }
    expect(hashes.size).toBe(1);
  });

  it("protects multi-replica pools with a PDB, spreads them across nodes and lets /sync polls finish", async () => {
    const objects = await renderOverlay(name);
    for (const w of synapseWorkloads(objects).filter((x) => x.isWorker)) {
      const pdb = objects.find((o) => o.kind === "PodDisruptionBudget" && o.metadata.name === w.name);
      expect(pdb, w.name).toBeDefined();
      const pod = spec<{ template: { spec: { topologySpreadConstraints?: { topologyKey: string }[]; terminationGracePeriodSeconds: number } } }>(w.object).template.spec;
      expect(pod.topologySpreadConstraints?.[0]?.topologyKey, w.name).toBe("kubernetes.io/hostname");
    }
    const sync = spec<{ template: { spec: { terminationGracePeriodSeconds: number } } }>(find(objects, "StatefulSet", "synapse-synchrotron"));
    expect(sync.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
  });
});

describe("config hash follows the topology", () => {
  it("differs between tiers whose instance lists differ, so changing counts restarts every process", async () => {
    const hash = async (tier: string) => {
      const sts = find(await renderOverlay(tier), "StatefulSet", "synapse-main");
      return spec<{ template: { metadata: { annotations: Record<string, string> } } }>(sts).template.metadata.annotations["matrix-gitops.io/config-hash"];
    };
    const all = await Promise.all(tiers.map((t) => hash(t.name)));
    expect(new Set(all).size).toBe(tiers.length);
  });
});
