/** Where a Synapse pod finds its files. One place, so config keys and volume mounts cannot disagree. */
export const configDir = "/config";
export const secretsDir = "/secrets/synapse";
export const redisSecretDir = "/secrets/redis";
/**
 * Media workers' local store: a per-pod cache in front of S3 (an emptyDir that each pod prunes itself), never
 * the only copy. Synapse writes uploads here and the S3 storage provider uploads them from here.
 */
export const mediaStoreDir = "/media/store";
/** `media_store_path` of every other process: Synapse creates it when it reads its config, so it must be writable. */
export const unusedMediaStoreDir = "/tmp/media_store";
export const tmpDir = "/tmp";

/** Keys of the Synapse Secret; each is mounted as a file and named by a `*_path` option. */
export const secretKeys = {
  signingKey: "signing.key",
  macaroon: "macaroon_secret_key",
  form: "form_secret",
  registration: "registration_shared_secret",
  replication: "worker_replication_secret",
  turn: "turn_shared_secret",
} as const;

export const ports = { http: 8008, replication: 9093, metrics: 9090 } as const;

/** Upstream image's `synapse` user. */
export const synapseUid = 991;
