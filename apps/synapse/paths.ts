/** Where a Synapse pod finds its files. One place, so config keys and volume mounts cannot disagree. */
export const configDir = "/config";
export const secretsDir = "/secrets/synapse";
export const redisSecretDir = "/secrets/redis";
export const mediaStoreDir = "/media/store";
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
