/** The Synapse processes of a rendered overlay, with the config files each one loads, merged as Synapse does. */
import { parse } from "yaml";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { find } from "./repo.ts";

export interface SynapseContainer {
  name: string;
  command: string[];
}

export interface SynapseWorkload {
  kind: string;
  name: string;
  /** Pod names it creates (StatefulSet ordinals, or `<name>-<hash>` placeholders for a Deployment). */
  pods: string[];
  isWorker: boolean;
  configPaths: string[];
  /** The merged configuration of one of its pods (worker_name filled in as the start command does). */
  config(pod: string): Record<string, unknown>;
  object: KubeObject;
}

interface WorkloadSpec {
  replicas?: number;
  serviceName?: string;
  template: { spec: { containers: SynapseContainer[] } };
}

/** The Synapse configuration files of the ConfigMap (its other keys, such as the media pods' pip requirements, are not YAML). */
export function configFiles(objects: KubeObject[]): Record<string, string> {
  const data = (find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> }).data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => key.endsWith(".yaml")));
}

export function synapseWorkloads(objects: KubeObject[]): SynapseWorkload[] {
  const files = configFiles(objects);
  const hpaMin = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler")
    .map((o) => { const s = o.spec as { scaleTargetRef: { name: string }; minReplicas: number }; return [s.scaleTargetRef.name, s.minReplicas]; }));
  return objects
    .filter((o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.labels?.["app.kubernetes.io/name"] === "synapse")
    .map((o) => {
      const spec = o.spec as unknown as WorkloadSpec;
      const container = spec.template.spec.containers.find((c) => c.name === "synapse");
      if (!container) throw new Error(`${o.kind}/${o.metadata.name} has no synapse container`);
      const line = container.command.join(" ");
      const configPaths = [...line.matchAll(/--config-path (\S+)/g)].map((m) => m[1] as string);
      const isWorker = configPaths.some((p) => p.startsWith("/tmp/"));
      const count = spec.replicas ?? hpaMin.get(o.metadata.name) ?? 1;
      const pods = Array.from({ length: count }, (_, i) => (o.kind === "StatefulSet" ? `${o.metadata.name}-${i}` : `${o.metadata.name}-5f8d9c-${i}`));
      return {
        kind: o.kind,
        name: o.metadata.name,
        pods,
        isWorker,
        configPaths,
        object: o,
        config(pod: string) {
          return Object.assign({}, ...configPaths.map((p) => {
            if (p.startsWith("/tmp/")) return { worker_name: pod };
            const file = files[p.replace(/^\/config\//, "")];
            if (file === undefined) throw new Error(`${o.metadata.name} loads ${p}, which the ConfigMap does not have`);
            return parse(file) as Record<string, unknown>;
          })) as Record<string, unknown>;
        },
      };
    });
}
