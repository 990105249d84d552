/**
 * The files every Synapse process of one tier loads, and their digest. The shared `homeserver.yaml` names
 * the tier's instances and main's file sizes its caches, so both are produced per tier (a Kustomize patch
 * cannot merge into YAML held in a ConfigMap string); overlays replace them whole.
 */
import { configHash } from "../kube/config-hash.ts";
import { configYaml } from "../kube/yaml.ts";
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import { logConfig, mainProcessConfig, sharedHomeserverConfig, workerProcessConfig } from "./homeserver-config.ts";
import { s3ProviderRequirements, s3ProviderRequirementsFile } from "./s3-provider.ts";
import { allOptionalPools, synapseTopology, type SynapseTopology, type WorkerPool } from "./topology.ts";

export const configMapName = "synapse-config";
export const mainName = "synapse-main";
export const mainProcessFile = "main.yaml";

/** Files that depend on the tier: overlays replace them whole (the instance list; main's caches by its memory). */
export const tierFiles = ["homeserver.yaml", mainProcessFile] as const;

export function workerFile(pool: WorkerPool): string {
  return `worker-${pool.role}.yaml`;
}

export interface SynapseConfig {
  topology: SynapseTopology;
  files: Record<string, string>;
  /** Digest of every file: any change rolls every Synapse pod (Synapse wants all restarted together). */
  hash: string;
}

export function synapseConfig(site: Site, tier: TierSizing): SynapseConfig {
  const topology = synapseTopology(tier);
  const files: Record<string, string> = {
    "homeserver.yaml": configYaml(sharedHomeserverConfig(site, mainName, topology)),
    "log.yaml": configYaml(logConfig()),
    [mainProcessFile]: configYaml(mainProcessConfig(site, tier)),
    // Read by the media pods' installer (apps/synapse/s3-provider.ts); in the digest, so a new pin rolls them.
    [s3ProviderRequirementsFile]: s3ProviderRequirements,
  };
  // Worker files do not depend on the tier; every optional role's file is present so components only add pods.
  const pools = [...topology.pools, ...allOptionalPools().filter((o) => !topology.pools.some((p) => p.role === o.role))];
  for (const pool of pools.sort((a, b) => (a.role < b.role ? -1 : 1))) {
    files[workerFile(pool)] = configYaml(workerProcessConfig(site, pool));
  }
  return { topology, files, hash: configHash(files) };
}
