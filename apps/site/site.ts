/**
 * The site configuration: what a platform team sets in `site.config.ts` (its domain, mostly) and everything
 * derived from it. One zod schema is the single source: `SiteInput` is its input type, `Site` its output,
 * and `resolveSite` rejects unknown keys, wrong types and values Kubernetes would refuse with a ConfigError
 * that names every bad field, before any manifest is built.
 */
import { z } from "zod";
import {
  cidr, dnsName, expected, ipAddress, k8sLabelName, k8sResourceName, labelSelector, parseOrThrow, pinnedImage,
  secretKey, strict, tcpPort,
} from "./schema-kit.ts";

export const defaultImages = {
  synapse: "ghcr.io/element-hq/synapse:v1.157.0",
  elementWeb: "ghcr.io/element-hq/element-web:v1.12.6",
  livekit: "docker.io/livekit/livekit-server:v1.10.1",
  lkJwtService: "ghcr.io/element-hq/lk-jwt-service:0.7.0",
  coturn: "docker.io/coturn/coturn:4.6.3",
  // HAProxy 2.6 LTS: the branch Debian 12 ships, so the tests check the configuration with the same parser.
  haproxy: "docker.io/library/haproxy:2.6.17",
  // Optional image for media workers that ships the S3 storage provider (apps/synapse-workers/media-image);
  // null: media pods install the pinned module at start.
  synapseMedia: null as string | null,
};

/** A path inside the repository: relative, no `..`, ending in .yaml or .yml. */
const repoYamlPath = z.string({ error: expected("a path from the repository root") })
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]+\.ya?ml$/, {
    error: (iss) => `${JSON.stringify(iss.input)} is not a path inside the repository to a .yaml or .yml file`,
  });
const secretKeyRef = strict({ name: k8sResourceName("a Secret name"), key: secretKey });
const hostName = z.string({ error: expected("a host name") }).regex(/^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a host name (a Service name or a DNS name)`,
});
const plainSqlName = (what: string) => z.string({ error: expected(what) }).regex(/^[a-z_][a-z0-9_]{0,62}$/, {
  error: (iss) => `${JSON.stringify(iss.input)} is not ${what}: lower-case letters, digits and '_'`,
});

const targetSchema = strict({
  /** Short name, used in the Application name `matrix-<name>`. */
  name: z.string({ error: expected("a target name") }).regex(/^[a-z0-9]([-a-z0-9]{0,44}[a-z0-9])?$/, {
    error: (iss) => `${JSON.stringify(iss.input)} is not a target name: a DNS-1123 label of at most 46 characters (it becomes the Application name matrix-<name>)`,
  }),
  /** Kubernetes API server URL as registered in Argo CD. */
  server: z.string({ error: expected("an https URL") }).regex(/^https:\/\/[^\s/]+(\/\S*)?$/, {
    error: (iss) => `${JSON.stringify(iss.input)} is not an https URL of a Kubernetes API server`,
  }),
  /** Overlay to deploy: a tier of the sizing table (checked against the table when the repository is emitted). */
  tier: z.string({ error: expected("a tier name such as \"ccu-1k\"") }).min(1, { error: "is required: a tier name such as \"ccu-1k\"" }),
});

/** What the user writes in `site.config.ts`. Only `domain` is required. */
const siteInputSchema = strict({
  /** The one line to change: every hostname, URL and TLS name derives from it unless overridden below. */
  domain: dnsName,
  /** Matrix server name (the part after the colon in `@alice:example.com`). Default: `domain`. */
  serverName: dnsName.optional(),
  hosts: strict({
    /** Client and federation API host. Default: `matrix.<domain>`. */
    matrix: dnsName.optional(),
    /** Element Web host. Default: `chat.<domain>`. */
    element: dnsName.optional(),
    /** MatrixRTC host: LiveKit signalling and its authorisation service. Default: `rtc.<domain>`. */
    rtc: dnsName.optional(),
    /** TURN host (DNS must name the coturn nodes' public addresses). Default: `turn.<domain>`. */
    turn: dnsName.optional(),
  }).optional(),
  /** Voice and video calls: LiveKit (group calls, Element Call) and coturn (TURN). On by default. */
  calls: strict({
    enabled: z.boolean({ error: expected("true or false") }).optional(),
    /** Public IP LiveKit announces for media; default: discovered with STUN (`use_external_ip`). */
    livekitNodeIp: ipAddress.nullable().optional(),
    /**
     * How LiveKit's media ports reach clients. `loadBalancer`: two LoadBalancer Services, one per protocol
     * (many clouds refuse mixed protocols on one). `nodePort`: one NodePort Service on ports 31881/tcp and
     * 31882/udp of every node, which LiveKit then listens on and announces (clusters without load balancers).
     * Default: `loadBalancer`.
     */
    livekitMedia: z.enum(["loadBalancer", "nodePort"], {
      error: (iss) => `must be "loadBalancer" or "nodePort", got ${JSON.stringify(iss.input)}`,
    }).optional(),
    /** Nodes that run coturn with host networking (label them; no labelled node means no TURN pod). */
    turnNodeSelector: labelSelector.optional(),
  }).optional(),
  namespace: k8sLabelName("a namespace name").optional(),
  tls: strict({
    clusterIssuer: k8sResourceName("a ClusterIssuer name").optional(),
    /**
     * cert-manager issues the TLS certificates (an annotation on each Ingress, a Certificate for TURN). false:
     * no cert-manager object or annotation is emitted; create the Secrets `matrix-tls`, `element-web-tls`,
     * `rtc-tls` and `turn-tls` yourself. Default: true.
     */
    certManager: z.boolean({ error: expected("true or false") }).optional(),
    /**
     * ClusterIssuer of the TURN certificate. turn.<domain> names the coturn nodes, not the ingress, so HTTP-01
     * cannot prove it: give a DNS-01 issuer here. Default: `clusterIssuer`.
     */
    turnClusterIssuer: k8sResourceName("a ClusterIssuer name").optional(),
  }).optional(),
  wellKnown: strict({
    /**
     * An Ingress for `https://<serverName>/.well-known/matrix/` (server delegation and client discovery), when
     * the server name is not the API host. Set it when the apex's DNS points at this cluster's ingress;
     * otherwise the apex's own web server must serve or redirect the two documents. Default: false.
     */
    apexIngress: z.boolean({ error: expected("true or false") }).optional(),
  }).optional(),
  /**
   * Prometheus Operator objects: the ServiceMonitors and the alerts' PrometheusRule (apps/monitoring/).
   * `serviceMonitors: false` on clusters without its CRDs. Default: true.
   */
  monitoring: strict({ serviceMonitors: z.boolean({ error: expected("true or false") }).optional() }).optional(),
  images: strict({
    synapse: pinnedImage.optional(),
    elementWeb: pinnedImage.optional(),
    livekit: pinnedImage.optional(),
    lkJwtService: pinnedImage.optional(),
    coturn: pinnedImage.optional(),
    haproxy: pinnedImage.optional(),
    synapseMedia: pinnedImage.nullable().optional(),
  }).optional(),
  /** Phase 1 PostgreSQL (CloudNativePG cluster `matrix-postgresql`). The password reaches libpq as PGPASSWORD. */
  postgres: strict({
    host: hostName.optional(),
    port: tcpPort.optional(),
    database: plainSqlName("a plain database name").optional(),
    user: plainSqlName("a plain role name").optional(),
    passwordSecret: secretKeyRef.optional(),
    /**
     * The server's `max_connections`, when you know it: the build then fails if a deployed tier can open
     * more (README, "Size tiers"). The preflight checks the live server either way.
     */
    maxConnections: z.int({ error: expected("a whole number of connections") })
      .min(1, { error: (iss) => `must be a whole number from 1 to 262143, got ${String(iss.input)}` })
      .max(262_143, { error: (iss) => `must be a whole number from 1 to 262143 (PostgreSQL's limit), got ${String(iss.input)}` })
      .nullable().optional(),
  }).optional(),
  /** Phase 1 Redis (StatefulSet `redis`). Synapse reads the password from a file; null: no password. */
  redis: strict({
    host: hostName.optional(),
    port: tcpPort.optional(),
    passwordSecret: secretKeyRef.nullable().optional(),
  }).optional(),
  /** Phase 1 MinIO tenant `minio`, the durable media store. */
  s3: strict({
    endpoint: z.string({ error: expected("an http(s) URL") }).regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not an http(s) URL`,
    }).optional(),
    bucket: z.string({ error: expected("an S3 bucket name") }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')`,
    }).optional(),
    region: z.string({ error: expected("an S3 region") }).regex(/^[a-z0-9-]{1,64}$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not an S3 region such as "us-east-1"`,
    }).optional(),
    credentialsSecret: strict({
      name: k8sResourceName("a Secret name"),
      accessKeyIdKey: secretKey,
      secretAccessKeyKey: secretKey,
    }).optional(),
  }).optional(),
  /** Kubernetes cluster DNS domain, for the names HAProxy resolves. Default: `cluster.local`. */
  clusterDomain: hostName.optional(),
  /** IngressClass of the ingress controller (TLS termination, 100 MB bodies). Default: `nginx`. */
  ingressClassName: k8sResourceName("an IngressClass name").optional(),
  haproxy: strict({
    /**
     * Peers whose last X-Forwarded-For entry HAProxy takes as the client address (the ingress controller's pod
     * network). Default: the private ranges pod networks use. Narrow it to the ingress controller's pods.
     */
    trustedProxies: z.array(cidr, { error: expected("a list of CIDRs") }).optional(),
    /** Removed: the admin API is never served on the public entry point. */
    adminAllowFrom: z.never({
      error: () => "removed: the admin API is served only on HAProxy's loopback admin listener, reached with `kubectl port-forward deploy/haproxy 8009` (apps/haproxy/README.md); delete this key",
    }).optional(),
  }).optional(),
  /** Namespaces NetworkPolicies admit: the ingress controller's and Prometheus's. */
  network: strict({
    ingressNamespace: k8sLabelName("a namespace name").optional(),
    monitoringNamespace: k8sLabelName("a namespace name").optional(),
  }).optional(),
  /** Argo CD: where this repository lives and which clusters run which tier. */
  argocd: strict({
    repoURL: z.string({ error: expected("a Git URL") }).regex(/^(https:\/\/|ssh:\/\/|git@)\S+$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a Git URL (https://, ssh:// or git@)`,
    }).optional(),
    targetRevision: z.string({ error: expected("a Git branch, tag or commit") }).regex(/^[A-Za-z0-9][-A-Za-z0-9._/]{0,199}$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a Git branch, tag or commit`,
    }).optional(),
    /** Namespace Argo CD runs in. Default: `argocd`. */
    namespace: k8sLabelName("a namespace name").optional(),
    /** One Application per target. Default: the in-cluster target running `ccu-1k`. */
    targets: z.array(targetSchema, { error: expected("a list of deployment targets") })
      .min(1, { error: "needs at least one deployment target" }).optional(),
  }).optional(),
  /**
   * Synapse's own secrets (signing key, macaroon/form/registration/replication secrets). By default a Job
   * generates whichever keys are missing in-cluster; set `existingSecret` to use a Secret you manage
   * (sealed-secrets, external-secrets, Vault) instead, and no Job is emitted.
   */
  secrets: strict({
    existingSecret: k8sResourceName("a Secret name").optional(),
    /**
     * YAML files (paths from the repository root) of SealedSecret or ExternalSecret objects that make the
     * Secrets this site names: `existingSecret`, PostgreSQL's, Redis's, S3's. Argo CD then syncs them first
     * and the AppProject admits their kinds (apps/managed-secrets/README.md).
     */
    manifests: z.array(repoYamlPath, { error: expected("a list of YAML file paths") }).optional(),
  }).optional(),
}, ).superRefine((input, ctx) => {
  const hosts = derivedHosts(input.domain, input.hosts);
  const seen = new Map<string, string>();
  for (const [role, host] of Object.entries(hosts)) {
    const other = seen.get(host);
    if (other !== undefined) ctx.addIssue({ code: "custom", path: ["hosts", role],
      message: `${JSON.stringify(host)} is already the ${other} host; the matrix, element, rtc and turn hosts must all differ (each has its own Ingress, certificate name and DNS record)` });
    seen.set(host, role);
  }
  const names = new Set<string>();
  input.argocd?.targets?.forEach((t, i) => {
    if (names.has(t.name)) ctx.addIssue({ code: "custom", path: ["argocd", "targets", i, "name"], message: `${JSON.stringify(t.name)} is already the name of another target` });
    names.add(t.name);
  });
});

export type SiteInput = z.input<typeof siteInputSchema>;
type ParsedInput = z.output<typeof siteInputSchema>;

function derivedHosts(domain: string, hosts: ParsedInput["hosts"]) {
  return {
    matrix: hosts?.matrix ?? `matrix.${domain}`,
    element: hosts?.element ?? `chat.${domain}`,
    rtc: hosts?.rtc ?? `rtc.${domain}`,
    turn: hosts?.turn ?? `turn.${domain}`,
  };
}

/** Fills defaults and derives names, URLs and hosts from a valid input. */
function derive(input: ParsedInput) {
  const namespace = input.namespace ?? "matrix";
  const hosts = derivedHosts(input.domain, input.hosts);
  const existing = input.secrets?.existingSecret;
  return {
    domain: input.domain,
    serverName: input.serverName ?? input.domain,
    namespace,
    hosts,
    calls: {
      enabled: input.calls?.enabled ?? true,
      livekitNodeIp: input.calls?.livekitNodeIp ?? null,
      livekitMedia: input.calls?.livekitMedia ?? "loadBalancer",
      turnNodeSelector: input.calls?.turnNodeSelector ?? { "matrix-gitops.io/turn": "true" },
    },
    /** `https://<matrix host>/`, Synapse's `public_baseurl` and Element's homeserver URL. */
    publicBaseUrl: `https://${hosts.matrix}/`,
    elementUrl: `https://${hosts.element}/`,
    tls: {
      clusterIssuer: input.tls?.clusterIssuer ?? "letsencrypt-prod",
      certManager: input.tls?.certManager ?? true,
      turnClusterIssuer: input.tls?.turnClusterIssuer ?? input.tls?.clusterIssuer ?? "letsencrypt-prod",
    },
    monitoring: { serviceMonitors: input.monitoring?.serviceMonitors ?? true },
    wellKnown: { apexIngress: input.wellKnown?.apexIngress ?? false },
    images: { ...defaultImages, ...input.images },
    postgres: {
      host: "matrix-postgresql-rw",
      port: 5432,
      database: "synapse",
      user: "synapse",
      passwordSecret: { name: "matrix-postgresql-app", key: "password" },
      maxConnections: null as number | null,
      ...input.postgres,
    },
    redis: {
      host: "redis",
      port: 6379,
      passwordSecret: { name: "redis-auth", key: "password" } as SecretKeyRef | null,
      ...input.redis,
    },
    s3: {
      endpoint: `http://minio.${namespace}.svc:80`,
      bucket: "synapse-media",
      region: "us-east-1",
      credentialsSecret: { name: "synapse-s3", accessKeyIdKey: "accessKeyId", secretAccessKeyKey: "secretAccessKey" },
      ...input.s3,
    },
    secrets: { name: existing ?? "synapse-secrets", generatedInCluster: existing === undefined, manifests: input.secrets?.manifests ?? [] },
    clusterDomain: input.clusterDomain ?? "cluster.local",
    ingressClassName: input.ingressClassName ?? "nginx",
    argocd: {
      // An obvious placeholder: set it to the Git URL Argo CD pulls this repository from.
      repoURL: input.argocd?.repoURL ?? "https://git.example.invalid/platform/matrix-gitops.git",
      targetRevision: input.argocd?.targetRevision ?? "main",
      namespace: input.argocd?.namespace ?? "argocd",
      targets: input.argocd?.targets ?? [{ name: "in-cluster", server: "https://kubernetes.default.svc", tier: "ccu-1k" }],
    },
    network: {
      ingressNamespace: input.network?.ingressNamespace ?? "ingress-nginx",
      monitoringNamespace: input.network?.monitoringNamespace ?? "monitoring",
    },
    haproxy: { trustedProxies: input.haproxy?.trustedProxies ?? [...privateNetworks] },
  };
}

/** RFC 1918, carrier-grade NAT and IPv6 unique-local ranges: where pod networks live. */
export const privateNetworks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"] as const;

export interface SecretKeyRef { name: string; key: string }
export type Site = ReturnType<typeof derive>;
export type Images = Site["images"];
export type DeploymentTarget = Site["argocd"]["targets"][number];

/** Validates the user's input and returns the resolved site; throws a ConfigError naming every bad field. */
export function resolveSite(input: unknown): Site {
  const top = z.object({}, { error: expected("the site configuration: an object with at least `domain`") });
  parseOrThrow(top, input, "site");
  return derive(parseOrThrow(siteInputSchema, input, "site"));
}
