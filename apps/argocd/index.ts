/**
 * Argo CD objects: an AppProject restricted to this repository, the `matrix` namespace of each target and the
 * kinds the overlays contain; an ApplicationSet with one Application per deployment target (cluster + tier);
 * and the bootstrap Application that manages both (one `kubectl apply` starts everything).
 *
 * Ordering: each target is one Application, so the source document's deployment order is enforced by
 * resource sync waves, which Argo CD health-gates (see argocd/README.md for why not RollingSync).
 */
import { AppProject, Application, ApplicationSet } from "../kube/models.ts";
import type { Manifest } from "../kube/manifest.ts";
import { managedBy, partOf } from "../kube/labels.ts";
import type { Site } from "../site/site.ts";

export const projectName = "matrix";
export const applicationSetName = "matrix";
export const bootstrapName = "matrix-bootstrap";
/** Paths inside the repository: the bootstrap Application syncs `argocd/apps`. */
export const argocdAppsPath = "argocd/apps";

export interface GroupKind {
  group: string;
  kind: string;
}

export interface HpaTarget {
  kind: "Deployment" | "StatefulSet";
  name: string;
}

const labels = { "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/managed-by": managedBy };

export function appProject(site: Site, kinds: GroupKind[]): AppProject {
  return new AppProject({
    metadata: { name: projectName, namespace: site.argocd.namespace, labels },
    spec: {
      description: "Matrix homeserver (matrix-gitops): Synapse, workers, HAProxy, Element Web, LiveKit, coturn",
      sourceRepos: [site.argocd.repoURL],
      destinations: site.argocd.targets.map((t) => ({ server: t.server, namespace: site.namespace })),
      // Nothing cluster-scoped: the namespace and CRDs come from Phase 1 and the platform.
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: kinds,
      orphanedResources: { warn: true },
    },
  });
}

export function applicationSet(site: Site, hpaTargets: HpaTarget[]): ApplicationSet {
  return new ApplicationSet({
    metadata: { name: applicationSetName, namespace: site.argocd.namespace, labels },
    spec: {
      goTemplate: true,
      goTemplateOptions: ["missingkey=error"],
      generators: [{ list: { elements: site.argocd.targets.map((t) => ({ name: t.name, server: t.server, tier: t.tier })) } }],
      // Deleting the ApplicationSet (or a target) must never delete a running homeserver.
      syncPolicy: { preserveResourcesOnDeletion: true },
      template: {
        metadata: { name: "matrix-{{.name}}", labels: { ...labels, "matrix-gitops.io/tier": "{{.tier}}" } },
        spec: {
          project: projectName,
          source: { repoURL: site.argocd.repoURL, targetRevision: site.argocd.targetRevision, path: "overlays/{{.tier}}" },
          destination: { server: "{{.server}}", namespace: site.namespace },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            syncOptions: [
              // The HPA owns these replica counts; server-side apply leaves fields git does not set alone.
              "ServerSideApply=true",
              "RespectIgnoreDifferences=true",
              // Remove deleted objects only after everything new is healthy.
              "PruneLast=true",
            ],
            retry: { limit: 5, backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
          },
          ignoreDifferences: hpaTargets.map((t) => ({ group: "apps", kind: t.kind, name: t.name, jsonPointers: ["/spec/replicas"] })),
        },
      },
    },
  });
}

export function bootstrapApplication(site: Site): Application {
  return new Application({
    metadata: { name: bootstrapName, namespace: site.argocd.namespace, labels },
    spec: {
      project: "default",
      source: { repoURL: site.argocd.repoURL, targetRevision: site.argocd.targetRevision, path: argocdAppsPath },
      destination: { server: "https://kubernetes.default.svc", namespace: site.argocd.namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  });
}

export function argocdManifests(site: Site, kinds: GroupKind[], hpaTargets: HpaTarget[]): { apps: Manifest[]; bootstrap: Manifest[] } {
  return { apps: [appProject(site, kinds), applicationSet(site, hpaTargets)], bootstrap: [bootstrapApplication(site)] };
}
