/**
 * The typed site configuration: what a platform team sets (its domain, mostly) and everything derived from
 * it. `resolveSite` fills defaults, derives hostnames and URLs, and rejects bad input with errors that name
 * the field, before any manifest is built.
 */
import { isIP } from "node:net";
import { IssueCollector } from "./errors.ts";

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** What the user writes in `site.config.ts`. Only `domain` is required. */
export interface SiteInput {
  /** The one line to change: every hostname, URL and TLS name derives from it unless overridden below. */
  domain: string;
  /** Matrix server name (the part after the colon in `@alice:example.com`). Default: `domain`. */
  serverName?: string;
  hosts?: {
    /** Client and federation API host. Default: `matrix.<domain>`. */
    matrix?: string;
    /** Element Web host. Default: `chat.<domain>`. */
    element?: string;
    /** MatrixRTC host: LiveKit signalling and its authorisation service. Default: `rtc.<domain>`. */
    rtc?: string;
    /** TURN host (DNS must name the coturn nodes' public addresses). Default: `turn.<domain>`. */
    turn?: string;
  };
  /** Voice and video calls: LiveKit (group calls, Element Call) and coturn (TURN). On by default. */
  calls?: {
    enabled?: boolean;
    /** Public IP LiveKit announces for media; default: discovered with STUN (`use_external_ip`). */
    livekitNodeIp?: string | null;
    /** Nodes that run coturn with host networking (label them; no labelled node means no TURN pod). */
    turnNodeSelector?: Record<string, string>;
  };
  namespace?: string;
  tls?: { clusterIssuer?: string };
  images?: Partial<Images>;
  postgres?: Partial<PostgresService>;
  redis?: Partial<RedisService>;
  s3?: Partial<S3Store>;
  /** Kubernetes cluster DNS domain, for the names HAProxy resolves. Default: `cluster.local`. */
  clusterDomain?: string;
  /** IngressClass of the ingress controller (TLS termination, 100 MB bodies). Default: `nginx`. */
  ingressClassName?: string;
  haproxy?: {
    /** CIDRs allowed to reach `/_synapse/admin` through the public entry point. Default: none. */
    adminAllowFrom?: string[];
  };
  /** Namespaces NetworkPolicies admit: the ingress controller's and Prometheus's. */
  network?: { ingressNamespace?: string; monitoringNamespace?: string };
  /** Argo CD: where this repository lives and which clusters run which tier. */
  argocd?: {
    repoURL?: string;
    targetRevision?: string;
    /** Namespace Argo CD runs in. Default: `argocd`. */
    namespace?: string;
    /** One Application per target. Default: the in-cluster target running `ccu-1k`. */
    targets?: DeploymentTarget[];
  };
  /**
   * Synapse's own secrets (signing key, macaroon/form/registration/replication secrets). By default a Job
   * generates whichever keys are missing in-cluster; set `existingSecret` to use a Secret you manage
   * (sealed-secrets, external-secrets, Vault) instead, and no Job is emitted.
   */
  secrets?: { existingSecret?: string };
}

export interface DeploymentTarget {
  /** Short name, used in the Application name `matrix-<name>`. */
  name: string;
  /** Kubernetes API server URL as registered in Argo CD. */
  server: string;
  /** Overlay to deploy: a tier of the sizing table. */
  tier: string;
}

export interface Images {
  synapse: string;
  elementWeb: string;
  livekit: string;
  lkJwtService: string;
  coturn: string;
  /** HAProxy 2.6 LTS: the branch Debian 12 ships, so the tests check the configuration with the same parser. */
  haproxy: string;
  /**
   * Optional image for media workers that ships the S3 storage provider module (see
   * apps/synapse-workers/media-image/Dockerfile). Null: media pods install the pinned module at start.
   */
  synapseMedia: string | null;
}

/** Phase 1 PostgreSQL (CloudNativePG cluster `matrix-postgresql`). The password reaches libpq as PGPASSWORD. */
export interface PostgresService {
  host: string;
  port: number;
  database: string;
  user: string;
  passwordSecret: SecretKeyRef;
}

/** Phase 1 Redis (StatefulSet `redis`). Synapse reads the password from a file. */
export interface RedisService {
  host: string;
  port: number;
  passwordSecret: SecretKeyRef | null;
}

/** Phase 1 MinIO tenant `minio`, the durable media store. */
export interface S3Store {
  endpoint: string;
  bucket: string;
  region: string;
  credentialsSecret: { name: string; accessKeyIdKey: string; secretAccessKeyKey: string };
}

export interface Site {
  domain: string;
  serverName: string;
  namespace: string;
  hosts: { matrix: string; element: string; rtc: string; turn: string };
  calls: { enabled: boolean; livekitNodeIp: string | null; turnNodeSelector: Record<string, string> };
  /** `https://<matrix host>/`, Synapse's `public_baseurl` and Element's homeserver URL. */
  publicBaseUrl: string;
  elementUrl: string;
  tls: { clusterIssuer: string };
  images: Images;
  postgres: PostgresService;
  redis: RedisService;
  s3: S3Store;
  secrets: { name: string; generatedInCluster: boolean };
  clusterDomain: string;
  ingressClassName: string;
  argocd: { repoURL: string; targetRevision: string; namespace: string; targets: DeploymentTarget[] };
  network: { ingressNamespace: string; monitoringNamespace: string };
  haproxy: { adminAllowFrom: string[] };
}

export const defaultImages: Images = {
  synapse: "ghcr.io/element-hq/synapse:v1.157.0",
  elementWeb: "ghcr.io/element-hq/element-web:v1.12.6",
  livekit: "docker.io/livekit/livekit-server:v1.10.1",
  lkJwtService: "ghcr.io/element-hq/lk-jwt-service:0.7.0",
  coturn: "docker.io/coturn/coturn:4.6.3",
  haproxy: "docker.io/library/haproxy:2.6.17",
  synapseMedia: null,
};

const dnsLabel = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const dnsName = new RegExp(`^(?=.{1,253}$)${dnsLabel}(\\.${dnsLabel})+$`);
const dns1123Label = new RegExp(`^${dnsLabel}$`);
const k8sName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A pinned image: registry/repo with a version tag (a digit somewhere, not `latest`) or a sha256 digest. */
const pinnedImage = /^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+(:(?!latest$)[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*)?(@sha256:[a-f0-9]{64})?$/;

function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split("/");
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

function isPinned(image: string): boolean {
  return pinnedImage.test(image) && (/@sha256:/.test(image) || /:[^/]+$/.test(image));
}

function checkDnsName(issues: IssueCollector, field: string, value: unknown): value is string {
  if (value === undefined || value === null || value === "") {
    issues.add(field, "is required");
    return false;
  }
  return issues.check(typeof value === "string" && dnsName.test(value), field,
    `${JSON.stringify(value)} is not a lower-case DNS name with at least two labels (for example "example.com")`);
}

function checkSecretRef(issues: IssueCollector, field: string, ref: SecretKeyRef | null | undefined): void {
  if (ref === null || ref === undefined) return;
  issues.check(k8sName.test(ref.name ?? ""), `${field}.name`, `${JSON.stringify(ref.name)} is not a Secret name`);
  issues.check(/^[-._a-zA-Z0-9]+$/.test(ref.key ?? ""), `${field}.key`, `${JSON.stringify(ref.key)} is not a Secret key`);
}

export function resolveSite(input: SiteInput): Site {
  const issues = new IssueCollector();
  if (input === null || typeof input !== "object") {
    issues.add("site", "the site configuration must be an object with at least `domain`");
    issues.throwIfAny();
  }
  const domainOk = checkDnsName(issues, "site.domain", input.domain);
  const domain = domainOk ? input.domain : "invalid.invalid";
  const serverName = input.serverName ?? domain;
  const hosts = {
    matrix: input.hosts?.matrix ?? `matrix.${domain}`,
    element: input.hosts?.element ?? `chat.${domain}`,
    rtc: input.hosts?.rtc ?? `rtc.${domain}`,
    turn: input.hosts?.turn ?? `turn.${domain}`,
  };
  if (input.serverName !== undefined) checkDnsName(issues, "site.serverName", input.serverName);
  if (input.hosts?.matrix !== undefined) checkDnsName(issues, "site.hosts.matrix", input.hosts.matrix);
  if (input.hosts?.element !== undefined) checkDnsName(issues, "site.hosts.element", input.hosts.element);
  if (input.hosts?.rtc !== undefined) checkDnsName(issues, "site.hosts.rtc", input.hosts.rtc);
  if (input.hosts?.turn !== undefined) checkDnsName(issues, "site.hosts.turn", input.hosts.turn);
  const calls = {
    enabled: input.calls?.enabled ?? true,
    livekitNodeIp: input.calls?.livekitNodeIp ?? null,
    turnNodeSelector: input.calls?.turnNodeSelector ?? { "matrix-gitops.io/turn": "true" },
  };
  if (calls.livekitNodeIp !== null) issues.check(isIP(calls.livekitNodeIp) !== 0, "site.calls.livekitNodeIp",
    `${JSON.stringify(calls.livekitNodeIp)} is not an IP address`);
  if (domainOk) issues.check(hosts.matrix !== hosts.element, "site.hosts.element",
    "Element Web needs its own host, apart from the Matrix API host (Element's security guidance)");

  const namespace = input.namespace ?? "matrix";
  issues.check(dns1123Label.test(namespace), "site.namespace", `${JSON.stringify(namespace)} is not a DNS-1123 label`);

  const images: Images = { ...defaultImages, ...input.images };
  for (const [name, image] of Object.entries(images)) {
    if (image === null && name === "synapseMedia") continue;
    issues.check(typeof image === "string" && isPinned(image), `site.images.${name}`,
      `${JSON.stringify(image)} is not pinned: give a version tag (not "latest") or an @sha256 digest`);
  }

  const postgres: PostgresService = {
    host: "matrix-postgresql-rw",
    port: 5432,
    database: "synapse",
    user: "synapse",
    passwordSecret: { name: "matrix-postgresql-app", key: "password" },
    ...input.postgres,
  };
  issues.check(k8sName.test(postgres.host), "site.postgres.host", `${JSON.stringify(postgres.host)} is not a host name`);
  issues.check(Number.isInteger(postgres.port) && postgres.port > 0 && postgres.port < 65536, "site.postgres.port",
    `${postgres.port} is not a TCP port`);
  issues.check(/^[a-z_][a-z0-9_]*$/.test(postgres.database), "site.postgres.database", "is not a plain database name");
  issues.check(/^[a-z_][a-z0-9_]*$/.test(postgres.user), "site.postgres.user", "is not a plain role name");
  checkSecretRef(issues, "site.postgres.passwordSecret", postgres.passwordSecret);

  const redis: RedisService = {
    host: "redis",
    port: 6379,
    passwordSecret: { name: "redis-auth", key: "password" },
    ...input.redis,
  };
  issues.check(k8sName.test(redis.host), "site.redis.host", `${JSON.stringify(redis.host)} is not a host name`);
  issues.check(Number.isInteger(redis.port) && redis.port > 0 && redis.port < 65536, "site.redis.port",
    `${redis.port} is not a TCP port`);
  checkSecretRef(issues, "site.redis.passwordSecret", redis.passwordSecret);

  const s3: S3Store = {
    endpoint: `http://minio.${namespace}.svc:80`,
    bucket: "synapse-media",
    region: "us-east-1",
    credentialsSecret: { name: "synapse-s3", accessKeyIdKey: "accessKeyId", secretAccessKeyKey: "secretAccessKey" },
    ...input.s3,
  };
  issues.check(/^https?:\/\/[^\s/]+(\/.*)?$/.test(s3.endpoint), "site.s3.endpoint", `${JSON.stringify(s3.endpoint)} is not an http(s) URL`);
  issues.check(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket), "site.s3.bucket", `${JSON.stringify(s3.bucket)} is not an S3 bucket name`);

  const clusterIssuer = input.tls?.clusterIssuer ?? "letsencrypt-prod";
  issues.check(k8sName.test(clusterIssuer), "site.tls.clusterIssuer", `${JSON.stringify(clusterIssuer)} is not a resource name`);

  const existing = input.secrets?.existingSecret;
  if (existing !== undefined) issues.check(k8sName.test(existing), "site.secrets.existingSecret",
    `${JSON.stringify(existing)} is not a Secret name`);

  const clusterDomain = input.clusterDomain ?? "cluster.local";
  issues.check(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(clusterDomain), "site.clusterDomain",
    `${JSON.stringify(clusterDomain)} is not a DNS domain`);
  const ingressClassName = input.ingressClassName ?? "nginx";
  issues.check(k8sName.test(ingressClassName), "site.ingressClassName", `${JSON.stringify(ingressClassName)} is not a resource name`);
  const adminAllowFrom = input.haproxy?.adminAllowFrom ?? [];
  adminAllowFrom.forEach((cidr, i) => issues.check(isCidr(cidr), `site.haproxy.adminAllowFrom[${i}]`,
    `${JSON.stringify(cidr)} is not an IPv4 or IPv6 address or CIDR`));

  const network = {
    ingressNamespace: input.network?.ingressNamespace ?? "ingress-nginx",
    monitoringNamespace: input.network?.monitoringNamespace ?? "monitoring",
  };
  for (const [k, v] of Object.entries(network)) issues.check(dns1123Label.test(v), `site.network.${k}`, `${JSON.stringify(v)} is not a namespace name`);
  const argocd = {
    // An obvious placeholder: set it to the Git URL Argo CD pulls this repository from.
    repoURL: input.argocd?.repoURL ?? "https://git.example.invalid/platform/matrix-gitops.git",
    targetRevision: input.argocd?.targetRevision ?? "main",
    namespace: input.argocd?.namespace ?? "argocd",
    targets: input.argocd?.targets ?? [{ name: "in-cluster", server: "https://kubernetes.default.svc", tier: "ccu-1k" }],
  };
  issues.check(/^(https:\/\/|ssh:\/\/|git@)\S+$/.test(argocd.repoURL), "site.argocd.repoURL", `${JSON.stringify(argocd.repoURL)} is not a Git URL`);
  issues.check(dns1123Label.test(argocd.namespace), "site.argocd.namespace", `${JSON.stringify(argocd.namespace)} is not a DNS-1123 label`);
  issues.check(argocd.targets.length > 0, "site.argocd.targets", "needs at least one deployment target");
  const targetNames = new Set<string>();
  argocd.targets.forEach((t, i) => {
    issues.check(dns1123Label.test(t.name ?? "") && !targetNames.has(t.name), `site.argocd.targets[${i}].name`,
      `${JSON.stringify(t.name)} is not a unique DNS-1123 label`);
    targetNames.add(t.name);
    issues.check(/^https:\/\/\S+$/.test(t.server ?? ""), `site.argocd.targets[${i}].server`, `${JSON.stringify(t.server)} is not an https URL`);
    issues.check(typeof t.tier === "string" && t.tier.length > 0, `site.argocd.targets[${i}].tier`, "is required");
  });

  issues.throwIfAny();
  return {
    domain,
    serverName,
    namespace,
    hosts,
    calls,
    publicBaseUrl: `https://${hosts.matrix}/`,
    elementUrl: `https://${hosts.element}/`,
    tls: { clusterIssuer },
    images,
    postgres,
    redis,
    s3,
    secrets: { name: existing ?? "synapse-secrets", generatedInCluster: existing === undefined },
    clusterDomain,
    ingressClassName,
    argocd,
    network,
    haproxy: { adminAllowFrom },
  };
}
