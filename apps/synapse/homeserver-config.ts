/**
 * Synapse configuration as typed data (a subset of Synapse's config schema, v1.157). Every process loads
 * the shared `homeserver.yaml` and then its own process file; later files override top-level keys.
 */
import { parseMemory } from "../site/quantity.ts";
import { rtcUrls } from "../site/well-known.ts";
import type { Site } from "../site/site.ts";
import { cacheMemoryShare, mainCacheFactor, type Resources, type TierSizing } from "../site/sizing.ts";
import { configDir, mediaStoreDir, ports, redisSecretDir, secretKeys, secretsDir, unusedMediaStoreDir } from "./paths.ts";
import {
  databasePoolSize, instanceAddress, instanceNames, instancesWithDuty, mediaBackgroundInstance, multiWriterStreams, writersOf,
  type StreamName, type SynapseApp, type SynapseTopology, type WorkerPool,
} from "./topology.ts";

type AnyListenerResource = "client" | "federation" | "keys" | "media" | "replication" | "openid" | "health";

export interface Listener {
  port: number;
  type: "http" | "metrics";
  bind_addresses: string[];
  tls?: boolean;
  x_forwarded?: boolean;
  resources?: { names: AnyListenerResource[]; compress: boolean }[];
}

export interface InstanceLocation {
  host: string;
  port: number;
  tls?: boolean;
}

export interface SharedHomeserverConfig {
  server_name: string;
  public_baseurl: string;
  serve_server_wellknown: boolean;
  report_stats: boolean;
  log_config: string;
  signing_key_path: string;
  macaroon_secret_key_path: string;
  form_secret_path: string;
  registration_shared_secret_path: string;
  worker_replication_secret_path: string;
  trusted_key_servers: { server_name: string }[];
  suppress_key_server_warning: boolean;
  enable_registration: boolean;
  enable_metrics: boolean;
  max_upload_size: string;
  media_store_path: string;
  url_preview_enabled: boolean;
  redis: { enabled: true; host: string; port: number; password_path?: string };
  /** Media is served by the media workers only; main stops running media jobs. */
  enable_media_repo: boolean;
  media_instance_running_background_jobs?: string;
  instance_map: Record<string, InstanceLocation>;
  /** Multi-writer streams take a list (workers.md), single-writer streams one name. */
  stream_writers: Partial<Record<StreamName, string | string[]>>;
  federation_sender_instances: string[];
  pusher_instances?: string[];
  run_background_tasks_on?: string;
  update_user_directory_from_worker?: string;
  /** TURN REST credentials for calls, from the secret coturn shares (`use-auth-secret`). */
  turn_uris?: string[];
  turn_shared_secret_path?: string;
  turn_user_lifetime?: string;
  turn_allow_guests?: boolean;
  /** MSC4140 delayed events, which Element Call uses to leave calls cleanly. */
  max_event_delay_duration?: string;
  /**
   * MSC4143 (the transports endpoint Element Call asks for its LiveKit focus) and MSC4222 (`state_after` in
   * /sync, which Element Call needs to track call membership state).
   */
  experimental_features: { msc4143_enabled: boolean; msc4222_enabled?: boolean };
  /** What `GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports` answers. */
  matrix_rtc?: { transports: { type: "livekit"; livekit_service_url: string }[] };
  /** Element Call's key sharing and delayed-event heartbeats need more than Synapse's defaults (0.2/s burst 10, 1/s burst 5). */
  rc_message?: { per_second: number; burst_count: number };
  rc_delayed_event_mgmt?: { per_second: number; burst_count: number };
}

/**
 * In each process's own file, not the shared one: the pool size (`cp_max`) is per role. Synapse merges its
 * config files key by key at the top level, so a process file's `database` replaces the whole block.
 */
export interface DatabaseConfig {
  name: "psycopg2";
  allow_unsafe_locale: boolean;
  /** Passed to libpq; the password comes from PGPASSWORD (a Secret), never from this file. */
  args: { host: string; port: number; dbname: string; user: string; cp_min: number; cp_max: number; keepalives_idle: number; keepalives_interval: number; keepalives_count: number };
}

/** Cache sizing of one process (apps/site/sizing.ts, `cacheMemoryShare`). */
export interface CacheConfig {
  global_factor: number;
  cache_autotuning: { max_cache_memory_usage: string; target_cache_memory_usage: string; min_cache_ttl: string };
}

export interface MediaStorageProvider {
  module: string;
  store_local: boolean;
  store_remote: boolean;
  store_synchronous: boolean;
  config: Record<string, string>;
}

export interface ProcessConfig {
  listeners: Listener[];
  database: DatabaseConfig;
  caches: CacheConfig;
}

export interface WorkerProcessConfig {
  worker_app: SynapseApp;
  worker_listeners: Listener[];
  worker_log_config: string;
  database: DatabaseConfig;
  caches: CacheConfig;
  enable_media_repo?: boolean;
  /** Media workers: their per-pod cache volume (apps/synapse/process.ts prunes it). */
  media_store_path?: string;
  /**
   * Only in media workers' files: Synapse imports storage provider modules when it reads its config, so a
   * process without the S3 module installed must never see this key.
   */
  media_storage_providers?: MediaStorageProvider[];
}

/** Address of the main process's replication listener, through its headless Service. */
export function mainReplicationLocation(site: Site, serviceName: string): InstanceLocation {
  return instanceAddress(site, serviceName, `${serviceName}-0`);
}

/**
 * MinIO through the S3 storage provider module, the durable media store: `store_local` sends local uploads
 * to it, `store_remote` the remote media cache, and `store_synchronous` answers an upload only once S3 has
 * it, so the pod's local copy can go at any time (Synapse fetches from S3 on a local miss).
 * Credentials reach boto3 as AWS_* environment variables.
 */
function s3Provider(site: Site): MediaStorageProvider {
  return {
    module: "s3_storage_provider.S3StorageProviderBackend",
    store_local: true,
    store_remote: true,
    store_synchronous: true,
    config: { bucket: site.s3.bucket, region_name: site.s3.region, endpoint_url: site.s3.endpoint },
  };
}

/** The database block of a process whose pool may hold `connections` connections. */
export function databaseConfig(site: Site, connections: number): DatabaseConfig {
  return {
    name: "psycopg2",
    allow_unsafe_locale: false,
    args: {
      host: site.postgres.host,
      port: site.postgres.port,
      dbname: site.postgres.database,
      user: site.postgres.user,
      cp_min: Math.min(5, connections),
      cp_max: connections,
      keepalives_idle: 10,
      keepalives_interval: 10,
      keepalives_count: 3,
    },
  };
}

/** Caches of a process with this factor and these resources: autotuning bounds them by the memory limit. */
export function cacheConfig(factor: number, resources: Resources): CacheConfig {
  const limitMiB = (parseMemory(resources.limits.memory) ?? 0) / 2 ** 20;
  const share = (f: number) => `${Math.floor(limitMiB * f)}M`;
  return {
    global_factor: factor,
    cache_autotuning: {
      max_cache_memory_usage: share(cacheMemoryShare.max),
      target_cache_memory_usage: share(cacheMemoryShare.target),
      // Entries younger than this stay even under memory pressure, so a burst cannot empty the caches.
      min_cache_ttl: "5m",
    },
  };
}

function streamWriters(topology: SynapseTopology): SharedHomeserverConfig["stream_writers"] {
  const writers: SharedHomeserverConfig["stream_writers"] = {};
  const streams = [...new Set(topology.pools.flatMap((p) => p.streams))].sort();
  for (const stream of streams) {
    const names = writersOf(topology, stream);
    writers[stream] = multiWriterStreams.has(stream) ? names : (names[0] as string);
  }
  return writers;
}

/** One named instance for a duty that Synapse gives to a single process (or undefined: main keeps it). */
function single(topology: SynapseTopology, duty: "background_tasks"): string | undefined {
  return instancesWithDuty(topology, duty)[0];
}

export function sharedHomeserverConfig(site: Site, mainService: string, topology: SynapseTopology): SharedHomeserverConfig {
  const instanceMap: Record<string, InstanceLocation> = { main: mainReplicationLocation(site, mainService) };
  for (const pool of topology.pools) {
    for (const name of instanceNames(pool)) instanceMap[name] = instanceAddress(site, pool.name, name);
  }
  const pushers = instancesWithDuty(topology, "pusher");
  const background = single(topology, "background_tasks");
  const mediaJobs = mediaBackgroundInstance(topology);
  return {
    server_name: site.serverName,
    public_baseurl: site.publicBaseUrl,
    // Synapse's own well-known would answer `<server_name>:443`, which is wrong when the server name is the
    // apex domain; the delegation document names the API host instead and is served in front of Synapse.
    serve_server_wellknown: false,
    report_stats: false,
    log_config: `${configDir}/log.yaml`,
    signing_key_path: `${secretsDir}/${secretKeys.signingKey}`,
    macaroon_secret_key_path: `${secretsDir}/${secretKeys.macaroon}`,
    form_secret_path: `${secretsDir}/${secretKeys.form}`,
    registration_shared_secret_path: `${secretsDir}/${secretKeys.registration}`,
    worker_replication_secret_path: `${secretsDir}/${secretKeys.replication}`,
    trusted_key_servers: [{ server_name: "matrix.org" }],
    suppress_key_server_warning: true,
    enable_registration: false,
    enable_metrics: true,
    // The source document's ingress allows 100 MB bodies; Synapse enforces the same limit itself.
    max_upload_size: "100M",
    // Synapse creates this directory when it loads its config, even in processes that serve no media: it
    // must be writable (the root filesystem is read-only), so it is under the /tmp emptyDir. Media workers
    // override it with their cache volume.
    media_store_path: unusedMediaStoreDir,
    url_preview_enabled: false,
    redis: {
      enabled: true,
      host: site.redis.host,
      port: site.redis.port,
      ...(site.redis.passwordSecret ? { password_path: `${redisSecretDir}/${site.redis.passwordSecret.key}` } : {}),
    },
    enable_media_repo: false,
    ...(mediaJobs ? { media_instance_running_background_jobs: mediaJobs } : {}),
    instance_map: instanceMap,
    stream_writers: streamWriters(topology),
    federation_sender_instances: instancesWithDuty(topology, "federation_sender"),
    // Main keeps pushers and background tasks (as the source document says) unless a tier moves them.
    ...(pushers.length > 0 ? { pusher_instances: pushers } : {}),
    ...(background ? { run_background_tasks_on: background, update_user_directory_from_worker: background } : {}),
    ...(site.calls.enabled ? {
      turn_uris: [
        `turns:${site.hosts.turn}:5349?transport=tcp`,
        `turn:${site.hosts.turn}:3478?transport=udp`,
        `turn:${site.hosts.turn}:3478?transport=tcp`,
      ],
      turn_shared_secret_path: `${secretsDir}/${secretKeys.turn}`,
      turn_user_lifetime: "1h",
      turn_allow_guests: false,
      max_event_delay_duration: "24h",
      matrix_rtc: { transports: [{ type: "livekit", livekit_service_url: rtcUrls(site).jwtService }] },
      // Element Call's self-hosting guide (docs/self-hosting.md, "A Matrix Homeserver"): message rate for
      // bursts of to-device key sharing, delayed-event management for the 5-second heartbeat.
      rc_message: { per_second: 0.5, burst_count: 30 },
      rc_delayed_event_mgmt: { per_second: 1, burst_count: 20 },
    } : {}),
    // MSC4143 stays on with calls off, so the transports endpoint answers "no transports" instead of 404.
    // MSC3266 (room summaries), which the guide also lists, is stable in Synapse 1.157 and has no switch.
    experimental_features: { msc4143_enabled: true, ...(site.calls.enabled ? { msc4222_enabled: true } : {}) },
  };
}

const anyAddress = ["0.0.0.0"];

/** The public HTTP listener (behind HAProxy, so `x_forwarded`) serving the given resources. */
function httpListener(names: AnyListenerResource[]): Listener {
  return { port: ports.http, type: "http", bind_addresses: anyAddress, tls: false, x_forwarded: true, resources: [{ names, compress: false }] };
}

/** The replication listener: cluster-internal only, never routed by HAProxy. */
const replicationListener: Listener = {
  port: ports.replication, type: "http", bind_addresses: anyAddress, tls: false, x_forwarded: false,
  resources: [{ names: ["replication"], compress: false }],
};

const metricsListener: Listener = { port: ports.metrics, type: "metrics", bind_addresses: anyAddress };

/** Listeners of the main process: public HTTP (behind HAProxy), replication (cluster only), metrics. */
export function mainProcessConfig(site: Site, tier: TierSizing): ProcessConfig {
  return {
    listeners: [httpListener(["client", "federation"]), replicationListener, metricsListener],
    database: databaseConfig(site, databasePoolSize("main")),
    caches: cacheConfig(mainCacheFactor(tier.main), tier.main),
  };
}

/** A worker's own file: its app, listeners and log config. `worker_name` is added per pod at start. */
export function workerProcessConfig(site: Site, pool: WorkerPool): WorkerProcessConfig {
  // Named instances are in instance_map, so other processes reach them on the replication listener.
  const listeners = [httpListener(pool.http), ...(pool.scaling.kind === "named" ? [replicationListener] : []), metricsListener];
  return {
    worker_app: pool.app,
    worker_listeners: listeners,
    worker_log_config: `${configDir}/log.yaml`,
    database: databaseConfig(site, pool.databaseConnections),
    caches: cacheConfig(pool.cacheFactor, pool.resources),
    ...(pool.servesMedia ? {
      enable_media_repo: true,
      // Local storage stays on: synapse-s3-storage-provider 1.7.0 uploads from `media_store_path` itself, so
      // with `enable_local_media_storage: false` every upload fails (FileNotFoundError, found in the lab).
      // The local store is a per-pod cache that the pod prunes; S3 is the store.
      media_store_path: mediaStoreDir,
      media_storage_providers: [s3Provider(site)],
    } : {}),
  };
}

/** Python logging config: everything to stdout, where Kubernetes collects it. */
export function logConfig(): object {
  return {
    version: 1,
    formatters: {
      precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
    },
    handlers: {
      console: { class: "logging.StreamHandler", formatter: "precise", stream: "ext://sys.stdout" },
    },
    loggers: {
      "synapse.storage.SQL": { level: "INFO" },
    },
    root: { level: "INFO", handlers: ["console"] },
    disable_existing_loggers: false,
  };
}
