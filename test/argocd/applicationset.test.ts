import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { validateAgainstSchema } from "../../tools/emit/model-registry.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered } from "../../tools/render/rendered.ts";
import { generatedRoot, renderOverlay } from "../support/repo.ts";
import { site } from "../support/site-under-test.ts";

function load(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(generatedRoot, path), "utf8")).map((d) => d.toJS() as KubeObject);
}

/** Go-template substitution as the ApplicationSet controller does it for `{{.key}}` (missingkey=error). */
function expand(value: unknown, params: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, key: string) => {
      if (!(key in params)) throw new Error(`template key ${key} is missing from the generator's parameters`);
      return params[key] as string;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, params));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, params)]));
  return value;
}

interface AppSpec {
  project: string;
  source: { repoURL: string; path: string; targetRevision: string };
  destination: { server: string; namespace: string };
  syncPolicy: { automated: { prune: boolean; selfHeal: boolean }; syncOptions: string[] };
  ignoreDifferences: { kind: string; name: string; jsonPointers: string[] }[];
}

describe("Argo CD objects in argocd/", () => {
  const apps = parseRendered(readFileSync(join(generatedRoot, "argocd/apps/appproject-matrix.yaml"), "utf8") + "---\n" + readFileSync(join(generatedRoot, "argocd/apps/applicationset-matrix.yaml"), "utf8"));
  const project = apps.find((o) => o.kind === "AppProject") as KubeObject;
  const appSet = apps.find((o) => o.kind === "ApplicationSet") as KubeObject;

  it("validate against their CRD schemas, as does the bootstrap Application", async () => {
    for (const o of [...apps, ...load("argocd/bootstrap/application-matrix-bootstrap.yaml")]) {
      await expect(validateAgainstSchema(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
    }
  });

  it("bootstrap points at argocd/apps, which kustomize renders to the project and the ApplicationSet", async () => {
    const [bootstrap] = load("argocd/bootstrap/application-matrix-bootstrap.yaml");
    const path = (bootstrap?.spec as { source: { path: string } }).source.path;
    const rendered = parseRendered(await kustomizeBuild(join(generatedRoot, path)));
    expect(rendered.map((o) => o.kind).sort()).toEqual(["AppProject", "ApplicationSet"]);
  });

  it("expands its generators to Applications that point at existing overlays the project allows", async () => {
    const spec = appSet.spec as { generators: { list: { elements: Record<string, string>[] } }[]; template: { metadata: { name: string }; spec: AppSpec } };
    const projectSpec = project.spec as { sourceRepos: string[]; destinations: { server: string; namespace: string }[]; namespaceResourceWhitelist: { group: string; kind: string }[]; clusterResourceWhitelist: unknown[] };
    const applications = spec.generators.flatMap((g) => g.list.elements.map((params) => expand(spec.template, params) as { metadata: { name: string }; spec: AppSpec }));
    expect(applications.length).toBeGreaterThan(0);
    expect(new Set(applications.map((a) => a.metadata.name)).size).toBe(applications.length);
    for (const app of applications) {
      const s = app.spec;
      expect(s.project).toBe(project.metadata.name);
      expect(existsSync(join(generatedRoot, s.source.path, "kustomization.yaml")), s.source.path).toBe(true);
      expect(projectSpec.sourceRepos).toContain(s.source.repoURL);
      expect(projectSpec.destinations).toContainEqual({ server: s.destination.server, namespace: s.destination.namespace });
      expect(s.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      expect(s.syncPolicy.syncOptions).toEqual(expect.arrayContaining(["ServerSideApply=true", "RespectIgnoreDifferences=true"]));
      // Every object of the overlay is of a kind the project admits, and nothing is cluster-scoped.
      const objects = await renderOverlay(s.source.path.split("/")[1] as string);
      const allowed = new Set(projectSpec.namespaceResourceWhitelist.map((k) => `${k.group}/${k.kind}`));
      for (const o of objects) {
        const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
        expect(allowed.has(`${group}/${o.kind}`), `${o.kind}/${o.metadata.name}`).toBe(true);
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(s.destination.namespace);
      }
      expect(projectSpec.clusterResourceWhitelist).toEqual([]);
      // Replica counts an HPA owns are ignored, so Argo CD and the HPA never fight.
      for (const hpa of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
        const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        expect(s.ignoreDifferences).toContainEqual(expect.objectContaining({ kind: ref.kind, name: ref.name, jsonPointers: ["/spec/replicas"] }));
      }
    }
  });

  it("deploys exactly the site's targets: each one's tier from this repository at its revision into the site's namespace", () => {
    const spec = appSet.spec as { generators: { list: { elements: Record<string, string>[] } }[]; template: { metadata: { name: string }; spec: AppSpec } };
    const applications = spec.generators.flatMap((g) => g.list.elements.map((params) => expand(spec.template, params) as { metadata: { name: string }; spec: AppSpec }));
    expect(applications.map((a) => ({ name: a.metadata.name, source: a.spec.source, destination: a.spec.destination }))).toEqual(
      site.argocd.targets.map((t) => ({
        name: `matrix-${t.name}`,
        source: { repoURL: site.argocd.repoURL, targetRevision: site.argocd.targetRevision, path: `overlays/${t.tier}` },
        destination: { server: t.server, namespace: site.namespace },
      })));
    expect(appSet.metadata.namespace).toBe(site.argocd.namespace);
    expect(project.metadata.namespace).toBe(site.argocd.namespace);
  });

  it("syncs automatically with pruning, self-heal, bounded retries and server-side apply, and keeps resources when the ApplicationSet goes", () => {
    const spec = appSet.spec as { syncPolicy: unknown; template: { spec: AppSpec & { syncPolicy: unknown } } };
    // Deleting the ApplicationSet (or a generator element) must not delete a running homeserver.
    expect(spec.syncPolicy).toEqual({ preserveResourcesOnDeletion: true });
    expect(spec.template.spec.syncPolicy).toEqual({
      automated: { prune: true, selfHeal: true },
      retry: { limit: 5, backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
      // ServerSideApply: large ConfigMaps exceed the client-side last-applied annotation; RespectIgnoreDifferences:
      // HPA-owned replicas are not reset on sync; PruneLast: removed objects go after the new ones are healthy.
      syncOptions: ["ServerSideApply=true", "RespectIgnoreDifferences=true", "PruneLast=true"],
    });
    const [bootstrap] = load("argocd/bootstrap/application-matrix-bootstrap.yaml");
    expect(bootstrap?.metadata.namespace).toBe(site.argocd.namespace);
    expect(bootstrap?.spec).toEqual({
      destination: { namespace: site.argocd.namespace, server: "https://kubernetes.default.svc" },
      project: "default",
      source: { path: "argocd/apps", repoURL: site.argocd.repoURL, targetRevision: site.argocd.targetRevision },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
  });

  it("fails to expand a template that names a parameter the generator lacks", () => {
    expect(() => expand({ path: "overlays/{{.size}}" }, { tier: "ccu-1k" })).toThrow(/size is missing/);
  });
});
