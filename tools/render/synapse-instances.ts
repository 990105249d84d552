/**
 * Build-time check of a rendered overlay: every Synapse instance the shared configuration names must be a
 * pod the overlay creates. It catches an overlay edited by hand (a component dropped, a replica count
 * patched) whose configuration would send writes to a process that does not exist.
 */
import { parse } from "yaml";
import type { KubeObject } from "./rendered.ts";

interface SharedConfig {
  instance_map?: Record<string, unknown>;
  stream_writers?: Record<string, string | string[]>;
  federation_sender_instances?: string[];
  pusher_instances?: string[];
  run_background_tasks_on?: string;
  update_user_directory_from_worker?: string;
  media_instance_running_background_jobs?: string;
}

function podsOf(objects: KubeObject[]): Set<string> {
  const pods = new Set<string>();
  const hpaMin = new Map(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => {
    const s = o.spec as { scaleTargetRef: { name: string }; minReplicas?: number };
    return [s.scaleTargetRef.name, s.minReplicas ?? 1];
  }));
  for (const o of objects.filter((x) => x.kind === "StatefulSet")) {
    const count = (o.spec as { replicas?: number }).replicas ?? hpaMin.get(o.metadata.name) ?? 1;
    for (let i = 0; i < count; i++) pods.add(`${o.metadata.name}-${i}`);
  }
  return pods;
}

/** Problems found, one message per instance that no pod backs (empty when consistent). */
export function missingSynapseInstances(objects: KubeObject[]): string[] {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "synapse-config") as { data?: Record<string, string> } | undefined;
  const text = cm?.data?.["homeserver.yaml"];
  if (!text) return [];
  const config = parse(text) as SharedConfig;
  const pods = podsOf(objects);
  const named: [string, string][] = [
    ...Object.entries(config.stream_writers ?? {}).flatMap(([stream, w]) => [w].flat().map((n): [string, string] => [`stream_writers.${stream}`, n])),
    ...(config.federation_sender_instances ?? []).map((n): [string, string] => ["federation_sender_instances", n]),
    ...(config.pusher_instances ?? []).map((n): [string, string] => ["pusher_instances", n]),
    ...(["run_background_tasks_on", "update_user_directory_from_worker", "media_instance_running_background_jobs"] as const)
      .flatMap((k): [string, string][] => (config[k] ? [[k, config[k] as string]] : [])),
  ];
  const problems: string[] = [];
  for (const [key, name] of named) {
    if (!pods.has(name)) problems.push(`homeserver.yaml ${key} names ${name}, but the overlay runs no such pod`);
    if (key !== "media_instance_running_background_jobs" && !config.instance_map?.[name]) {
      problems.push(`homeserver.yaml ${key} names ${name}, which is missing from instance_map`);
    }
  }
  for (const name of Object.keys(config.instance_map ?? {})) {
    if (name !== "main" && !pods.has(name)) problems.push(`homeserver.yaml instance_map names ${name}, but the overlay runs no such pod`);
  }
  return problems;
}
