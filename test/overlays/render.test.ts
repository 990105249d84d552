import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tiers } from "../../apps/site/sizing.ts";
import { validateAgainstSchema } from "../../tools/emit/model-registry.ts";
import { tierLabel } from "../../tools/emit/repository.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";

interface Container {
  name: string;
  image: string;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}

describe.each(tiers.map((t) => [t.name, t] as const))("overlay %s rendered by kustomize", (name, tier) => {
  it("renders and every object passes its schema", async () => {
    const objects = await renderOverlay(name);
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) await expect(validateAgainstSchema(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it("labels every object with its tier", async () => {
    for (const o of await renderOverlay(name)) expect(o.metadata.labels?.[tierLabel], `${o.kind}/${o.metadata.name}`).toBe(name);
  });

  it("runs exactly one Synapse main process with the tier's resources", async () => {
    const objects = await renderOverlay(name);
    const sts = find(objects, "StatefulSet", "synapse-main");
    const spec = sts.spec as { replicas: number; template: { spec: { containers: Container[] } } };
    expect(spec.replicas).toBe(1);
    expect(objects.some((o) => o.kind === "HorizontalPodAutoscaler" && (o.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === "synapse-main")).toBe(false);
    const synapse = spec.template.spec.containers.find((c) => c.name === "synapse");
    expect(synapse?.resources).toEqual({ requests: tier.main.requests, limits: tier.main.limits });
  });

  it("keeps the main process restricted, probed and pinned", async () => {
    const sts = find(await renderOverlay(name), "StatefulSet", "synapse-main");
    const pod = (sts.spec as { template: { spec: { securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } }; containers: Container[] } } }).template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
    for (const c of pod.containers) {
      expect(c.image).toMatch(/:v?\d+\.\d+\.\d+$/);
      expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/health" } });
      expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/health" } });
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    }
  });

  it("exposes http 8008, replication 9093 and metrics 9090 on a headless Service, scraped by a ServiceMonitor", async () => {
    const objects = await renderOverlay(name);
    const svc = find(objects, "Service", "synapse-main").spec as { clusterIP: string; ports: { name: string; port: number }[] };
    expect(svc.clusterIP).toBe("None");
    expect(Object.fromEntries(svc.ports.map((p) => [p.name, p.port]))).toEqual({ http: 8008, replication: 9093, metrics: 9090 });
    if (!expected.serviceMonitors) {
      expect(objects.filter((o) => o.kind === "ServiceMonitor")).toEqual([]);
      return;
    }
    const sm = find(objects, "ServiceMonitor", "synapse-main").spec as { endpoints: { port: string; path: string }[] };
    expect(sm.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/_synapse/metrics" })]);
  });

  it("commits no Secret and reads every credential from a file or a secret reference", async () => {
    const objects = await renderOverlay(name);
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    const cm = find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> };
    const hs = parse(cm.data["homeserver.yaml"] ?? "") as Record<string, unknown>;
    for (const key of ["signing_key_path", "macaroon_secret_key_path", "form_secret_path", "registration_shared_secret_path", "worker_replication_secret_path"]) {
      expect(hs[key], key).toMatch(/^\/secrets\/synapse\//);
    }
    for (const key of ["macaroon_secret_key", "form_secret", "registration_shared_secret", "worker_replication_secret"]) {
      expect(hs[key], key).toBeUndefined();
    }
    // The database block is in each process's file (test/synapse/database-budget.test.ts); none holds a password.
    for (const [file, text] of Object.entries(cm.data).filter(([k]) => k.endsWith(".yaml"))) {
      expect(((parse(text) as { database?: { args: Record<string, unknown> } }).database?.args ?? {}), file).not.toHaveProperty("password");
    }
    expect((hs.redis as { password?: string; password_path?: string }).password).toBeUndefined();
  });

  it("rolls the main pod when its configuration changes (config hash on the pod template)", async () => {
    const sts = find(await renderOverlay(name), "StatefulSet", "synapse-main");
    const annotations = (sts.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    expect(annotations["matrix-gitops.io/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
  });
});
