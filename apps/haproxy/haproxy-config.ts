/**
 * Builds haproxy.cfg for one tier from the routing table and the tier's Synapse topology: a route exists
 * only when a process that can serve it runs, stream-writer routes only when that writer runs, and a generic
 * pool with no live server hands its routes to main (not media or a stream writer: main cannot serve those).
 */
import type { Site } from "../site/site.ts";
import { wellKnownClient, wellKnownServer } from "../site/well-known.ts";
import type { TierSizing } from "../site/sizing.ts";
import { mainName } from "../synapse/config-files.ts";
import { ports } from "../synapse/paths.ts";
import { instanceNames, type SynapseTopology, type WorkerPool } from "../synapse/topology.ts";
import { d, quoted, type Directive, type HaproxyConfig, type Section } from "./config-model.ts";
import { pathMatchers, type PathMatchers } from "./path-matchers.ts";
import { mediaAdminPatterns, mediaPatterns, routingTable, type Balance, type Destination, type Route } from "./routing-table.ts";

/** The servers of one backend: one per pod of a pool (its StatefulSet ordinals), or main. */
export interface ServerGroup {
  /** `main` or the pool's role; servers are named `<role>-<ordinal>` (main's only server is `main`). */
  role: string;
  /** Headless Service whose per-pod records (`<pod>.<service>`) address the servers. */
  service: string;
  /** Pod names, one server each: the pool's maximum size (HPA max or named count). */
  pods: string[];
  maxconn: number;
}

/** What differs between the cluster and a test on loopback; everything else is the same configuration. */
export interface HaproxyRuntime {
  bindHost: string;
  /** The admin API listener: loopback in the pod, so only `kubectl port-forward` reaches it. */
  adminBindHost: string;
  ports: { client: number; federation: number; stats: number; admin: number };
  errorFile429: string;
  adminSocket: string;
  /** Upper bound for the global maxconn where the file-descriptor limit is lower than a pod's (tests). */
  maxconnCap?: number;
  /** The `resolvers kubernetes` section's name servers; none when the servers have static addresses. */
  resolvers?: Directive[];
  servers(group: ServerGroup): Directive[];
}

export const haproxyPorts = { client: 8008, federation: 8448, stats: 8404, admin: 8009 } as const;
export const haproxyConfigDir = "/usr/local/etc/haproxy";
export const overloadErrorFile = "429.http";

/** Everything of a runtime but the servers, which DNS discovery writes; its name servers are required. */
export type DnsDiscovery = Omit<HaproxyRuntime, "servers" | "resolvers"> & {
  resolvers: Directive[];
  /** Port of every Synapse server (8008 in the cluster). */
  serverPort: number;
};

/**
 * Servers found through DNS: one `server` per possible pod, addressed by the pod's own stable name
 * (`<pod>.<service>.<namespace>.svc.<cluster domain>`), which resolves only while the pod is ready. Every
 * replica, whenever it started, then has the same servers with the same ids, so consistent hashing places them
 * on the same ring and a user reaches the same synchrotron through either replica.
 */
export function dnsDiscovery(site: Site, opts: DnsDiscovery): HaproxyRuntime {
  const fqdn = (host: string) => `${host}.${site.namespace}.svc.${site.clusterDomain}`;
  const { serverPort, ...runtime } = opts;
  return {
    ...runtime,
    servers(g) {
      const options = ["maxconn", String(g.maxconn), "resolvers", "kubernetes", "init-addr", "none"];
      return g.pods.map((pod, i) => d("server", serverName(g, i), `${fqdn(`${pod}.${g.service}`)}:${serverPort}`, ...options));
    },
  };
}

/** `main` for main, `<role>-<ordinal>` for a pool's pods. */
export function serverName(g: ServerGroup, ordinal: number): string {
  return g.role === "main" ? "main" : `${g.role}-${ordinal}`;
}

/** Cluster DNS: the HPA can add pods without any configuration change. */
export function clusterRuntime(site: Site): HaproxyRuntime {
  return dnsDiscovery(site, {
    resolvers: [d("parse-resolv-conf")],
    serverPort: ports.http,
    bindHost: "",
    adminBindHost: "127.0.0.1",
    ports: { ...haproxyPorts },
    errorFile429: `${haproxyConfigDir}/${overloadErrorFile}`,
    adminSocket: "/tmp/haproxy-admin.sock",
  });
}

/** Concurrent connections each pool's pods take before HAProxy queues (then answers 429). */
const maxconnByRole: Record<string, number> = {
  // A synchrotron holds one long poll per syncing device.
  synchrotron: 5000,
  "initial-sync": 500,
  generic: 200,
  "federation-reader": 200,
  media: 100,
  main: 100,
};
const writerMaxconn = 200;

export const mainGroup: ServerGroup = { role: "main", service: mainName, pods: [`${mainName}-0`], maxconn: maxconnByRole.main as number };

function poolPods(pool: WorkerPool): string[] {
  const count = pool.scaling.kind === "named" ? instanceNames(pool).length : pool.scaling.bounds.max;
  return Array.from({ length: count }, (_, i) => `${pool.name}-${i}`);
}

function poolFor(topology: SynapseTopology, dest: Destination): WorkerPool | undefined {
  if (dest.startsWith("writer:")) {
    const stream = dest.slice("writer:".length);
    return topology.pools.find((p) => (p.streams as string[]).includes(stream) && p.http.some((r) => r !== "health"));
  }
  return topology.pools.find((p) => p.role === dest);
}

export interface ResolvedRoute {
  route: Route;
  /** `main` or the serving pool's role. */
  destination: string;
  backend: string;
  /**
   * Main takes the route while the pool has no live server: main serves every endpoint of the generic worker
   * pools. Not for media (main has no media repository) nor a stream writer's endpoints (main answers them
   * with a 500 while a writer is configured, and forwards some to the absent writer).
   */
  mainFallback: boolean;
}

function backendName(target: string, balance: Balance): string {
  return `be_${target.replace(/[^a-z0-9]+/g, "_")}_${balance}`;
}

export const mainBackend = backendName("main", "roundrobin");

/** The routes this tier emits, each with the pool that takes it (first preference that runs). */
export function resolveRoutes(topology: SynapseTopology): ResolvedRoute[] {
  const resolved: ResolvedRoute[] = [];
  for (const route of routingTable) {
    for (const dest of route.to) {
      if (dest === "main") {
        resolved.push({ route, destination: "main", backend: mainBackend, mainFallback: false });
        break;
      }
      const pool = poolFor(topology, dest);
      if (pool) {
        const fallback = !dest.startsWith("writer:") && !pool.servesMedia;
        resolved.push({ route, destination: pool.role, backend: backendName(pool.role, route.balance), mainFallback: fallback });
        break;
      }
    }
  }
  return resolved;
}

const json = (value: unknown) => quoted(JSON.stringify(value));

function matrixReturn(status: number, errcode: string, error: string, condition: string[], extra: string[] = []): Directive {
  return d("http-request", "return", "status", status, "content-type", "application/json", ...extra, "string", json({ errcode, error }), "if", ...condition);
}

/**
 * The user hashing key: the localpart of a `syt_<localpart>_<random>_<crc>` token (Synapse reads exactly
 * `Authorization: Bearer <token>`, or the `access_token` parameter), else the whole token: opaque tokens
 * (Matrix Authentication Service `mat_`, …) stay sticky per token.
 */
const userKey: Directive[] = [
  d("http-request", "set-var(txn.mx_user)", "req.hdr(authorization),field(2,_)", "if", `{ req.hdr(authorization) -m beg "Bearer syt_" }`),
  d("http-request", "set-var(txn.mx_user)", "url_param(access_token),field(2,_)", "if", "!{ var(txn.mx_user) -m found }", "{ url_param(access_token) -m beg syt_ }"),
  d("http-request", "set-var(txn.mx_user)", "req.hdr(authorization)", "if", "!{ var(txn.mx_user) -m found }", "{ req.hdr(authorization) -m found }"),
  d("http-request", "set-var(txn.mx_user)", "url_param(access_token)", "if", "!{ var(txn.mx_user) -m found }"),
];

/** The room of `rooms/<room>/messages`, percent-decoded: `%21a%3Ab`, `%21a%3ab` and `!a:b` are one room. */
const roomKey: Directive[] = [
  d("http-request", "set-var(txn.mx_room)", `path,regsub("^.*/rooms/",""),field(1,/),url_dec`),
];

function balanceDirectives(balance: Balance): Directive[] {
  switch (balance) {
    case "user": return [d("balance", "hash", "var(txn.mx_user)"), d("hash-type", "consistent"), ...userKey];
    case "room": return [d("balance", "hash", "var(txn.mx_room)"), d("hash-type", "consistent"), ...roomKey];
    case "source": return [d("balance", "hash", "var(txn.mx_client)"), d("hash-type", "consistent")];
    case "leastconn": return [d("balance", "leastconn")];
    case "roundrobin": return [d("balance", "roundrobin")];
  }
}

/** Connections per concurrent user: a long poll and a request. */
const connectionsPerUser = 2;
/** Above the soft limit requests get an immediate 429; the listener stops accepting only at the hard limit. */
const overflowFactor = 1.25;
/** Global connections kept for the stats (probes, metrics) and admin listeners. */
const reservedConnections = 200;

export interface ConnectionLimits { soft: number; frontend: number; global: number }

/** One replica carries the tier's nominal load (the other may be drained: the PDB allows it). */
export function connectionLimits(tier: TierSizing, cap?: number): ConnectionLimits {
  let soft = tier.ccu.to * connectionsPerUser;
  let frontend = Math.ceil(soft * overflowFactor);
  let global = frontend + reservedConnections;
  if (cap && global > cap) {
    global = cap;
    frontend = cap - reservedConnections;
    soft = Math.floor(frontend / overflowFactor);
  }
  return { soft, frontend, global };
}

export const uploadLimitBytes = 100 * 1024 * 1024;

/** The complete configuration of one tier. */
export function haproxyConfig(site: Site, tier: TierSizing, topology: SynapseTopology, runtime: HaproxyRuntime): HaproxyConfig {
  const routes = resolveRoutes(topology);
  const bind = (port: number) => `${runtime.bindHost}:${port}`;
  const limits = connectionLimits(tier, runtime.maxconnCap);

  const global: Section = {
    kind: "global",
    directives: [
      d("log", "stdout", "format", "raw", "local0", "info"),
      d("maxconn", limits.global),
      d("stats", "socket", runtime.adminSocket, "mode", "600", "level", "admin"),
      d("stats", "timeout", "30s"),
    ],
  };
  const defaults: Section = {
    kind: "defaults",
    directives: [
      d("mode", "http"),
      d("log", "global"),
      d("option", "dontlognull"),
      d("option", "redispatch"),
      d("retries", 2),
      d("timeout", "connect", "5s"),
      // Clients long-poll /sync for up to several minutes; the server side may hold a request as long.
      d("timeout", "client", "180s"),
      d("timeout", "server", "180s"),
      d("timeout", "http-request", "15s"),
      d("timeout", "http-keep-alive", "60s"),
      // A request waits at most this long for a free server slot, then gets the 429 below.
      d("timeout", "queue", "5s"),
      d("timeout", "check", "3s"),
      d("option", "httpchk", "GET", "/health"),
      d("http-check", "expect", "status", 200),
      d("default-server", "check", "inter", "3s", "fastinter", "1s", "downinter", "3s", "fall", 2, "rise", 2),
      // HAProxy answers 503 when no server slot frees up in time; clients understand a Matrix 429 and back off.
      d("errorfile", 503, runtime.errorFile429),
    ],
  };
  const resolvers: Section[] = runtime.resolvers ? [{
    kind: "resolvers",
    name: "kubernetes",
    comment: "Cluster DNS: each pod's own name resolves while the pod is ready.",
    directives: [
      ...runtime.resolvers,
      d("resolve_retries", 3),
      d("timeout", "resolve", "1s"),
      d("timeout", "retry", "1s"),
      d("hold", "valid", "10s"),
      d("hold", "other", "10s"),
      d("hold", "refused", "10s"),
      d("hold", "nx", "10s"),
      d("hold", "timeout", "10s"),
      d("hold", "obsolete", "10s"),
      d("accepted_payload_size", 8192),
    ],
  }] : [];

  const trusted = site.haproxy.trustedProxies;
  const limited = ["Retry-After", "5"];
  const fe: Directive[] = [
    d("bind", bind(runtime.ports.client), "name", "client"),
    d("bind", bind(runtime.ports.federation), "name", "federation"),
    // Past the soft limit every request gets an immediate 429 (and its connection closes); only past this
    // hard limit does the listener stop accepting. The stats and admin listeners keep their own share.
    d("maxconn", limits.frontend),
    d("option", "httplog"),
    matrixReturn(429, "M_LIMIT_EXCEEDED", "Too many connections, retry later", ["{ fe_conn gt " + limits.soft + " }"], ["hdr", "Retry-After", "5", "hdr", "Connection", "close"]),
    // The client address: the last X-Forwarded-For entry when the peer is a trusted proxy (the ingress
    // controller appends the address it saw), else the peer itself. Synapse gets exactly that address.
    ...(trusted.length > 0 ? [
      d("acl", "from_trusted_proxy", "src", ...trusted),
      d("http-request", "set-var(txn.mx_client)", "req.hdr_ip(x-forwarded-for,-1)", "if", "from_trusted_proxy"),
    ] : []),
    d("http-request", "set-var(txn.mx_client)", "src", "if", "!{ var(txn.mx_client) -m found }"),
    d("http-request", "set-header", "X-Forwarded-For", "%[var(txn.mx_client)]"),
    trusted.length > 0
      ? d("http-request", "set-header", "X-Forwarded-Proto", "http", "if", "!from_trusted_proxy", "||", "!{ req.hdr(x-forwarded-proto) -m found }")
      : d("http-request", "set-header", "X-Forwarded-Proto", "http"),
    // Never routed: the replication API and metrics live on their own listeners, inside the cluster only.
    matrixReturn(404, "M_NOT_FOUND", "Not found", ["{ path_beg /_synapse/replication /_synapse/metrics }"]),
    // The admin API is served on the admin listener only (loopback in the pod: `kubectl port-forward`).
    matrixReturn(403, "M_FORBIDDEN", "The admin API is not reachable through the public entry point", ["{ path_beg /_synapse/admin }"]),
    matrixReturn(413, "M_TOO_LARGE", "Request body larger than the 100 MB upload limit", [`{ req.hdr_val(content-length) gt ${uploadLimitBytes} }`]),
    // A chunked upload declares no length, so the limit cannot be checked before it reaches the media worker.
    matrixReturn(411, "M_UNKNOWN", "Uploads need a Content-Length (the limit is 100 MB)", ["{ path_beg /_matrix/media/ }", "{ req.hdr(transfer-encoding) -m found }"]),
    // Delegation: federation reaches the API host on 443 through the ingress; clients find the base URL.
    d("http-request", "return", "status", 200, "content-type", "application/json", "hdr", "Access-Control-Allow-Origin", `"*"`,
      "string", json(wellKnownServer(site)), "if", "{ path /.well-known/matrix/server }"),
    d("http-request", "return", "status", 200, "content-type", "application/json", "hdr", "Access-Control-Allow-Origin", `"*"`,
      "string", json(wellKnownClient(site)), "if", "{ path /.well-known/matrix/client }"),
    d("acl", "has_since", "url_param(since)", "-m", "found"),
  ];
  const gates = new Map<string, string>();
  const gateFor = (m: PathMatchers): string[] => {
    const prefix = m.commonPrefix;
    // No gate where it would test what the route's own prefix list already tests.
    if (prefix.length <= 1 || (m.exact.length === 0 && !m.regex && m.prefixes.length === 1)) return [];
    let name = gates.get(prefix);
    if (!name) {
      name = `under_${prefix.replace(/[^a-z0-9]+/gi, "_").replace(/^_+|_+$/g, "")}`;
      gates.set(prefix, name);
      fe.push(d("acl", name, "path_beg", prefix));
    }
    return [name];
  };
  const matchers = new Map(routes.map((r) => [r, pathMatchers(r.route.patterns)] as const));
  const conditions = new Map<string, string[]>();
  for (const r of routes) {
    const m = matchers.get(r) as PathMatchers;
    const acl = `route_${r.route.id}`;
    const gate = gateFor(m);
    for (const values of chunks(m.exact)) fe.push(d("acl", acl, "path", ...values));
    for (const values of chunks(m.prefixes)) fe.push(d("acl", acl, "path_beg", ...values));
    // `--`: the combined regex starts with `(`, which HAProxy would otherwise read as an ACL expression.
    if (m.regex) fe.push(d("acl", acl, "path_reg", "--", m.regex));
    // Cheap tests first: HAProxy stops at the first false term.
    const cond = [...(r.route.methods === "GET" ? ["METH_GET"] : r.route.methods === "non-GET" ? ["!METH_GET"] : []), ...gate, acl];
    if (r.route.initialSyncOnly) cond.push("!has_since");
    conditions.set(r.route.id, cond);
  }
  for (const r of evaluationOrder(routes, matchers)) {
    const cond = conditions.get(r.route.id) as string[];
    if (r.mainFallback) fe.push(d("use_backend", mainBackend, "if", `{ nbsrv(${r.backend}) eq 0 }`, ...cond));
    fe.push(d("use_backend", r.backend, "if", ...cond));
  }
  fe.push(d("default_backend", mainBackend));

  // Several backends over one pool (generic workers take rooms, sources and round robin): the first one checks
  // the pods' health, the others track it, so each pod gets one health check per HAProxy replica.
  const checkedBy = new Map<string, string>();
  // Wait for a request's whole body (or a full buffer) before a server slot is taken; in a backend, so that the
  // frontend's checks (size, admin API, overload) answer on the headers alone. `timeout http-request` then
  // covers the body too: a client sending it slowly gets a 408 and never holds a Synapse process's slot.
  const bufferBody = d("option", "http-buffer-request");
  const unavailable = matrixReturn(503, "M_UNKNOWN", "No server is available for this request, retry later", ["{ nbsrv eq 0 }"], ["hdr", "Retry-After", "10"]);
  const backends = new Map<string, Section>();
  const addBackend = (name: string, balance: Balance, group: ServerGroup) => {
    if (backends.has(name)) return;
    const owner = checkedBy.get(group.service);
    if (!owner) checkedBy.set(group.service, name);
    // Hashed backends: weight 100 puts 1600 points per server on the consistent-hash ring instead of 16, so
    // users spread evenly and a lost pod's share stays close to 1/N.
    const weight = balance === "user" || balance === "room" || balance === "source" ? ["weight", "100"] : [];
    const servers = runtime.servers(group).map((s) => ({ ...s, args: [...s.args, ...weight, ...(owner ? ["track", `${owner}/${s.args[0]}`, "no-check"] : [])] }));
    backends.set(name, { kind: "backend", name, directives: [...balanceDirectives(balance), bufferBody, unavailable, ...servers] });
  };
  addBackend(mainBackend, "roundrobin", mainGroup);
  for (const r of routes) {
    if (r.destination === "main") continue;
    const pool = topology.pools.find((p) => p.role === r.destination) as WorkerPool;
    addBackend(r.backend, r.route.balance, {
      role: pool.role, service: pool.name, pods: poolPods(pool), maxconn: maxconnByRole[pool.role] ?? writerMaxconn,
    });
  }

  const mediaRoute = routes.find((r) => r.route.id === "media" && r.destination !== "main");
  const adminMedia = pathMatchers([...mediaPatterns, ...mediaAdminPatterns]);
  const admin: Section = {
    kind: "frontend",
    name: "admin",
    comment: "The admin API (and the client API, for admin tools): loopback only, reached with kubectl port-forward.",
    directives: [
      d("bind", `${runtime.adminBindHost}:${runtime.ports.admin}`, "name", "admin"),
      d("maxconn", reservedConnections / 2),
      d("option", "httplog"),
      d("http-request", "set-header", "X-Forwarded-For", "%[src]"),
      d("http-request", "set-header", "X-Forwarded-Proto", "http"),
      matrixReturn(404, "M_NOT_FOUND", "Not found", ["{ path_beg /_synapse/replication /_synapse/metrics }"]),
      ...(mediaRoute ? [d("use_backend", mediaRoute.backend, "if", ...pathAcl(adminMedia))] : []),
      d("default_backend", mainBackend),
    ],
  };
  const stats: Section = {
    kind: "frontend",
    name: "stats",
    comment: "Statistics page, Prometheus metrics and the pod's own health check; not exposed publicly.",
    directives: [
      d("bind", bind(runtime.ports.stats), "name", "stats"),
      d("maxconn", reservedConnections / 2),
      d("no", "log"),
      d("monitor-uri", "/healthz"),
      d("http-request", "use-service", "prometheus-exporter", "if", "{ path /metrics }"),
      d("stats", "enable"),
      d("stats", "uri", "/stats"),
      d("stats", "refresh", "10s"),
    ],
  };
  return [
    global,
    defaults,
    ...resolvers,
    { kind: "frontend", name: "matrix", comment: "Client (8008) and federation (8448) traffic, routed per docs/workers.md.", directives: fe },
    admin,
    stats,
    ...[...backends.values()].sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1)),
  ];
}

/**
 * The order HAProxy tests the routes in: routes that match exact paths only (sync, initial sync) move to the
 * front when no route before them matches any of those paths, so the most frequent requests skip the other
 * routes' regexes. Which route a request takes does not change: the routes they jump over never match them.
 */
export function evaluationOrder(routes: ResolvedRoute[], matchers: Map<ResolvedRoute, PathMatchers>): ResolvedRoute[] {
  const hoisted: ResolvedRoute[] = [];
  const rest: ResolvedRoute[] = [];
  routes.forEach((r, i) => {
    const m = matchers.get(r) as PathMatchers;
    const exactOnly = m.prefixes.length === 0 && !m.regex;
    const shadowed = routes.slice(0, i).some((earlier) => !hoisted.includes(earlier)
      && earlier.route.patterns.some((p) => m.exact.some((path) => new RegExp(p).test(path))));
    (exactOnly && !shadowed ? hoisted : rest).push(r);
  });
  return [...hoisted, ...rest];
}

/** HAProxy reads at most 64 words per line. */
function chunks(values: string[], size = 40): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** Anonymous ACLs matching a route's paths (for a frontend that has no named route ACLs). */
function pathAcl(m: PathMatchers): string[] {
  const terms = [
    ...(m.exact.length > 0 ? [`{ path ${m.exact.join(" ")} }`] : []),
    ...(m.prefixes.length > 0 ? [`{ path_beg ${m.prefixes.join(" ")} }`] : []),
    ...(m.regex ? [`{ path_reg -- ${m.regex} }`] : []),
  ];
  return terms.flatMap((t, i) => (i === 0 ? [t] : ["||", t]));
}

/** The errorfile behind `errorfile 503`: a complete HTTP response carrying a Matrix 429. */
export function overloadResponse(): string {
  const body = JSON.stringify({ errcode: "M_LIMIT_EXCEEDED", error: "Too many requests, retry later", retry_after_ms: 5000 });
  return [
    "HTTP/1.1 429 Too Many Requests",
    "Content-Type: application/json",
    "Cache-Control: no-store",
    "Retry-After: 5",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}
