/**
 * Synapse configuration as typed data (a subset of Synapse's config schema, v1.157). Every process loads
 * the shared `homeserver.yaml` and then its own process file; later files override top-level keys.
 */
import type { Site } from "../site/site.ts";
import { configDir, mediaStoreDir, ports, redisSecretDir, secretKeys, secretsDir } from "./paths.ts";

type ListenerResourceName = "client" | "federation" | "keys" | "media" | "replication" | "openid" | "health";

export interface Listener {
  port: number;
  type: "http" | "metrics";
  bind_addresses: string[];
  tls?: boolean;
  x_forwarded?: boolean;
  resources?: { names: ListenerResourceName[]; compress: boolean }[];
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
  database: {
    name: "psycopg2";
    allow_unsafe_locale: boolean;
    /** Passed to libpq; the password comes from PGPASSWORD (a Secret), never from this file. */
    args: { host: string; port: number; dbname: string; user: string; cp_min: number; cp_max: number; keepalives_idle: number; keepalives_interval: number; keepalives_count: number };
  };
  redis: { enabled: true; host: string; port: number; password_path?: string };
  instance_map: Record<string, InstanceLocation>;
}

export interface ProcessConfig {
  listeners: Listener[];
}

/** Address of the main process's replication listener, through its headless Service. */
export function mainReplicationLocation(site: Site, serviceName: string): InstanceLocation {
  return { host: `${serviceName}-0.${serviceName}.${site.namespace}.svc`, port: ports.replication };
}

export function sharedHomeserverConfig(site: Site, mainService: string): SharedHomeserverConfig {
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
    media_store_path: mediaStoreDir,
    url_preview_enabled: false,
    database: {
      name: "psycopg2",
      allow_unsafe_locale: false,
      args: {
        host: site.postgres.host,
        port: site.postgres.port,
        dbname: site.postgres.database,
        user: site.postgres.user,
        cp_min: 5,
        cp_max: 10,
        keepalives_idle: 10,
        keepalives_interval: 10,
        keepalives_count: 3,
      },
    },
    redis: {
      enabled: true,
      host: site.redis.host,
      port: site.redis.port,
      ...(site.redis.passwordSecret ? { password_path: `${redisSecretDir}/${site.redis.passwordSecret.key}` } : {}),
    },
    instance_map: { main: mainReplicationLocation(site, mainService) },
  };
}

const anyAddress = ["0.0.0.0"];

/** Listeners of the main process: public HTTP (behind HAProxy), replication (cluster only), metrics. */
export function mainProcessConfig(): ProcessConfig {
  return {
    listeners: [
      {
        port: ports.http,
        type: "http",
        bind_addresses: anyAddress,
        tls: false,
        x_forwarded: true,
        resources: [{ names: ["client", "federation"], compress: false }],
      },
      {
        port: ports.replication,
        type: "http",
        bind_addresses: anyAddress,
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["replication"], compress: false }],
      },
      { port: ports.metrics, type: "metrics", bind_addresses: anyAddress },
    ],
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
