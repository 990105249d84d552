/**
 * The Synapse processes a tier runs, as data: which pools exist, which are named instances (listed in the shared
 * config) and which autoscale, what each listens for and which streams
 * and duties it takes off main. Synapse's config, the workloads and HAProxy's routing all derive from it, so
 * they cannot disagree.
 */
import { IssueCollector } from "../site/errors.ts";
import type { Site } from "../site/site.ts";
import { databaseConnections, optionalPoolBounds, workerCacheFactors, workerPodResources, type AutoscaledPool, type OptionalRole, type Resources, type TierSizing } from "../site/sizing.ts";
import { syncWave } from "../kube/sync-waves.ts";
import { ports } from "./paths.ts";

export type SynapseApp = "synapse.app.homeserver" | "synapse.app.generic_worker" | "synapse.app.media_repository";
export type StreamName = "events" | "typing" | "to_device" | "account_data" | "receipts" | "presence" | "push_rules" | "device_lists";
export type ListenerResourceName = "client" | "federation" | "media" | "health";
export type Duty = "federation_sender" | "pusher" | "background_tasks" | "media_background_jobs";

/** Streams that accept several writers (workers.md); every other stream has exactly one. */
export const multiWriterStreams: ReadonlySet<StreamName> = new Set(["events", "receipts", "device_lists"]);

export interface WorkerPool {
  /** Role name, e.g. `synchrotron`; also the key of its per-pod resources and its worker file. */
  role: string;
  /** Kubernetes object name of the workload and its headless Service: `synapse-<role>`. */
  name: string;
  app: SynapseApp;
  /** Named pools are StatefulSets with a fixed count; autoscaled pools are owned by an HPA. */
  scaling: { kind: "named"; replicas: number } | { kind: "autoscaled"; bounds: AutoscaledPool };
  /** Resources served on the public HTTP listener (8008); `health` alone for pools with no public API. */
  http: ListenerResourceName[];
  streams: StreamName[];
  duties: Duty[];
  resources: Resources;
  /** PostgreSQL connections one process of the pool may hold (its `cp_max`), from the sizing table. */
  databaseConnections: number;
  /** `caches.global_factor` of its processes, from the sizing table. */
  cacheFactor: number;
  /** Serves media: S3 storage provider, scratch volume, media background jobs on ordinal 0. */
  servesMedia: boolean;
  /** Argo CD sync wave, following the source's order (event persisters first, generic workers last). */
  wave: number;
  /** Seconds a pod gets to finish in-flight requests; long-polling pools need more. */
  gracePeriodSeconds: number;
  /** Set for optional roles: the Kustomize component that adds this pool. */
  optionalRole?: OptionalRole;
}

export interface SynapseTopology {
  tier: string;
  pools: WorkerPool[];
}

function podResources(key: string): Resources {
  const r = workerPodResources[key];
  if (!r) throw new Error(`workerPodResources has no entry for "${key}"`);
  return r;
}

/** A role's database pool size; a role missing from the table is a programming error, reported by name. */
export function databasePoolSize(role: string): number {
  const n = databaseConnections[role];
  if (n === undefined) throw new Error(`databaseConnections has no entry for "${role}"`);
  return n;
}

/** A role's cache factor; a role missing from the table is a programming error, reported by name. */
export function cacheFactorOf(role: string): number {
  const f = workerCacheFactors[role];
  if (f === undefined) throw new Error(`workerCacheFactors has no entry for "${role}"`);
  return f;
}

function streamWriter(role: OptionalRole, stream: StreamName): WorkerPool {
  return {
    role, name: `synapse-${role}`, app: "synapse.app.generic_worker",
    scaling: { kind: "named", replicas: 1 }, http: ["client"], streams: [stream], duties: [],
    resources: podResources("stream-writer"), databaseConnections: databasePoolSize(role), cacheFactor: cacheFactorOf(role), servesMedia: false, wave: syncWave.streamWriters,
    gracePeriodSeconds: 30, optionalRole: role,
  };
}

const optionalPools: Record<OptionalRole, () => WorkerPool> = {
  "typing-writer": () => streamWriter("typing-writer", "typing"),
  "to-device-writer": () => streamWriter("to-device-writer", "to_device"),
  "receipts-writer": () => streamWriter("receipts-writer", "receipts"),
  "account-data-writer": () => streamWriter("account-data-writer", "account_data"),
  "presence-writer": () => streamWriter("presence-writer", "presence"),
  "push-rules-writer": () => streamWriter("push-rules-writer", "push_rules"),
  pusher: () => ({
    role: "pusher", name: "synapse-pusher", app: "synapse.app.generic_worker",
    scaling: { kind: "named", replicas: 1 }, http: ["health"], streams: [], duties: ["pusher"],
    resources: podResources("pusher"), databaseConnections: databasePoolSize("pusher"), cacheFactor: cacheFactorOf("pusher"), servesMedia: false, wave: syncWave.federationSenders,
    gracePeriodSeconds: 30, optionalRole: "pusher",
  }),
  background: () => ({
    role: "background", name: "synapse-background", app: "synapse.app.generic_worker",
    scaling: { kind: "named", replicas: 1 }, http: ["health"], streams: [], duties: ["background_tasks"],
    resources: podResources("background"), databaseConnections: databasePoolSize("background"), cacheFactor: cacheFactorOf("background"), servesMedia: false, wave: syncWave.federationSenders,
    gracePeriodSeconds: 30, optionalRole: "background",
  }),
  "federation-reader": () => ({
    role: "federation-reader", name: "synapse-federation-reader", app: "synapse.app.generic_worker",
    scaling: { kind: "autoscaled", bounds: { ...optionalPoolBounds["federation-reader"] } }, http: ["federation"],
    streams: [], duties: [], resources: podResources("federation-reader"), databaseConnections: databasePoolSize("federation-reader"), cacheFactor: cacheFactorOf("federation-reader"), servesMedia: false,
    wave: syncWave.genericWorkers, gracePeriodSeconds: 30, optionalRole: "federation-reader",
  }),
  "initial-sync": () => ({
    role: "initial-sync", name: "synapse-initial-sync", app: "synapse.app.generic_worker",
    scaling: { kind: "autoscaled", bounds: { ...optionalPoolBounds["initial-sync"] } }, http: ["client"],
    streams: [], duties: [], resources: podResources("initial-sync"), databaseConnections: databasePoolSize("initial-sync"), cacheFactor: cacheFactorOf("initial-sync"), servesMedia: false,
    wave: syncWave.synchrotrons, gracePeriodSeconds: 90, optionalRole: "initial-sync",
  }),
};

/** The pools of one tier: the five of the source document, then the tier's optional roles. */
export function synapseTopology(tier: TierSizing): SynapseTopology {
  const w = tier.workers;
  const pools: WorkerPool[] = [
    {
      role: "event-persister", name: "synapse-event-persister", app: "synapse.app.generic_worker",
      scaling: { kind: "named", replicas: w.eventPersisters }, http: ["health"], streams: ["events"], duties: [],
      resources: podResources("event-persister"), databaseConnections: databasePoolSize("event-persister"), cacheFactor: cacheFactorOf("event-persister"), servesMedia: false, wave: syncWave.eventPersisters,
      gracePeriodSeconds: 60,
    },
    {
      role: "federation-sender", name: "synapse-federation-sender", app: "synapse.app.generic_worker",
      scaling: { kind: "named", replicas: w.federationSenders }, http: ["health"], streams: [],
      duties: ["federation_sender"], resources: podResources("federation-sender"), databaseConnections: databasePoolSize("federation-sender"), cacheFactor: cacheFactorOf("federation-sender"), servesMedia: false,
      wave: syncWave.federationSenders, gracePeriodSeconds: 60,
    },
    {
      role: "media", name: "synapse-media", app: "synapse.app.media_repository",
      scaling: { kind: "autoscaled", bounds: w.media }, http: ["media", "client", "federation"], streams: [],
      duties: ["media_background_jobs"], resources: podResources("media"), databaseConnections: databasePoolSize("media"), cacheFactor: cacheFactorOf("media"), servesMedia: true,
      wave: syncWave.media, gracePeriodSeconds: 60,
    },
    {
      role: "synchrotron", name: "synapse-synchrotron", app: "synapse.app.generic_worker",
      scaling: { kind: "autoscaled", bounds: w.synchrotron }, http: ["client"], streams: [], duties: [],
      resources: podResources("synchrotron"), databaseConnections: databasePoolSize("synchrotron"), cacheFactor: cacheFactorOf("synchrotron"), servesMedia: false, wave: syncWave.synchrotrons,
      // /sync long-polls for up to 30 s by default: let in-flight polls finish before the pod stops.
      gracePeriodSeconds: 90,
    },
    {
      role: "generic", name: "synapse-generic", app: "synapse.app.generic_worker",
      scaling: { kind: "autoscaled", bounds: w.generic }, http: ["client", "federation"], streams: [], duties: [],
      resources: podResources("generic"), databaseConnections: databasePoolSize("generic"), cacheFactor: cacheFactorOf("generic"), servesMedia: false, wave: syncWave.genericWorkers,
      gracePeriodSeconds: 30,
    },
  ];
  for (const role of tier.optionalRoles) pools.push(optionalPools[role]());
  const topology = { tier: tier.name, pools };
  checkTopology(topology);
  return topology;
}

/** Every optional pool, for emitting the Kustomize components (independent of tier). */
export function allOptionalPools(): WorkerPool[] {
  return Object.values(optionalPools).map((make) => make());
}

/** Pod names of a named pool: stable StatefulSet ordinals, which are also the workers' `worker_name`s. */
export function instanceNames(pool: WorkerPool): string[] {
  return pool.scaling.kind === "named" ? Array.from({ length: pool.scaling.replicas }, (_, i) => `${pool.name}-${i}`) : [];
}

/** The one media pod that runs media background jobs: ordinal 0 exists whenever the pool runs at all. */
export function mediaBackgroundInstance(topology: SynapseTopology): string | undefined {
  const media = topology.pools.find((p) => p.duties.includes("media_background_jobs"));
  return media ? `${media.name}-0` : undefined;
}

/** Address of a named instance's replication listener, through its pool's headless Service. */
export function instanceAddress(site: Site, pool: string, instance: string): { host: string; port: number } {
  return { host: `${instance}.${pool}.${site.namespace}.svc`, port: ports.replication };
}

export function writersOf(topology: SynapseTopology, stream: StreamName): string[] {
  return topology.pools.filter((p) => p.streams.includes(stream)).flatMap(instanceNames);
}

export function instancesWithDuty(topology: SynapseTopology, duty: Duty): string[] {
  return topology.pools.filter((p) => p.duties.includes(duty)).flatMap(instanceNames);
}

/**
 * Rules Synapse imposes that the data model alone does not: streams with one writer have at most one,
 * writers and duty holders are named instances, names are unique. Throws a ConfigError naming the pool.
 */
export function checkTopology(topology: SynapseTopology): void {
  const issues = new IssueCollector();
  const at = (p: WorkerPool) => `topology[${topology.tier}].${p.role}`;
  const names = new Set<string>();
  for (const p of topology.pools) {
    issues.check(!names.has(p.name), at(p), `pool name ${p.name} is used twice`);
    names.add(p.name);
    const named = p.scaling.kind === "named";
    if ((p.streams.length > 0 || p.duties.some((d) => d !== "media_background_jobs")) && !named) {
      issues.add(at(p), "writes a stream or holds a duty but autoscales: Synapse needs stable names for those (make it a named pool)");
    }
    if (p.scaling.kind === "named") issues.check(p.scaling.replicas >= 1, `${at(p)}.replicas`, "a named pool needs at least one instance");
  }
  const streams = new Set(topology.pools.flatMap((p) => p.streams));
  for (const stream of streams) {
    const writers = writersOf(topology, stream);
    issues.check(multiWriterStreams.has(stream) || writers.length <= 1, `topology[${topology.tier}].stream_writers.${stream}`,
      `Synapse allows one writer for "${stream}", the tier has ${writers.length}: ${writers.join(", ")}`);
  }
  issues.check(writersOf(topology, "events").length >= 1, `topology[${topology.tier}].stream_writers.events`,
    "the tier needs at least one event persister");
  issues.check(topology.pools.filter((p) => p.duties.includes("media_background_jobs")).length <= 1,
    `topology[${topology.tier}].media`, "exactly one media pool may run media background jobs");
  issues.throwIfAny();
}
