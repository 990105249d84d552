/**
 * Builds haproxy.cfg for one tier from the routing table and the tier's Synapse topology: a route exists
 * only when a process that can serve it runs, stream-writer routes only when that writer runs, and every
 * worker backend falls back to main (except media, which main no longer serves).
 */
import type { Site } from "../site/site.ts";
import { wellKnownClient, wellKnownServer } from "../site/well-known.ts";
import type { TierSizing } from "../site/sizing.ts";
import { mainName } from "../synapse/config-files.ts";
import { ports } from "../synapse/paths.ts";
import { instanceNames, type SynapseTopology, type WorkerPool } from "../synapse/topology.ts";
import { d, quoted, type Directive, type HaproxyConfig, type Section } from "./config-model.ts";
import { routingTable, type Balance, type Destination, type Route } from "./routing-table.ts";

/** A group of servers for one backend: a worker pool (discovered through its headless Service) or main. */
export interface ServerGroup {
  /** Server name prefix in HAProxy (stats and logs show `<prefix>1`, `<prefix>2`, …). */
  prefix: string;
  /** Headless Service that resolves to the pool's pods. */
  service: string;
  /** Server slots: the pool's maximum size (HPA max or named count). */
  slots: number;
  maxconn: number;
  backup: boolean;
}

/** What differs between the cluster and a test on loopback; everything else is the same configuration. */
export interface HaproxyRuntime {
  bindHost: string;
  ports: { client: number; federation: number; stats: number };
  errorFile429: string;
  adminSocket: string;
  /** Upper bound for the global maxconn where the file-descriptor limit is lower than a pod's (tests). */
  maxconnCap?: number;
  servers(group: ServerGroup): Directive[];
}

export const haproxyPorts = { client: 8008, federation: 8448, stats: 8404 } as const;
export const haproxyConfigDir = "/usr/local/etc/haproxy";
export const overloadErrorFile = "429.http";

/** DNS discovery through cluster DNS: the HPA can add pods without any configuration change. */
export function clusterRuntime(site: Site): HaproxyRuntime {
  const fqdn = (host: string) => `${host}.${site.namespace}.svc.${site.clusterDomain}`;
  return {
    bindHost: "",
    ports: { ...haproxyPorts },
    errorFile429: `${haproxyConfigDir}/${overloadErrorFile}`,
    adminSocket: "/tmp/haproxy-admin.sock",
    servers(g) {
      const opts = ["maxconn", String(g.maxconn), "resolvers", "kubernetes", "init-addr", "none", ...(g.backup ? ["backup"] : [])];
      if (g.service === mainName) return [d("server", g.prefix, `${fqdn(`${mainName}-0.${mainName}`)}:${ports.http}`, ...opts)];
      return [d("server-template", g.prefix, g.slots, `${fqdn(g.service)}:${ports.http}`, ...opts)];
    },
  };
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

export const mainGroup: ServerGroup = { prefix: "main", service: mainName, slots: 1, maxconn: maxconnByRole.main as number, backup: false };

function slotsOf(pool: WorkerPool): number {
  return pool.scaling.kind === "named" ? instanceNames(pool).length : pool.scaling.bounds.max;
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
}

function backendName(target: string, balance: Balance): string {
  return `be_${target.replace(/[^a-z0-9]+/g, "_")}_${balance}`;
}

/** The routes this tier emits, each with the pool that takes it (first preference that runs). */
export function resolveRoutes(topology: SynapseTopology): ResolvedRoute[] {
  const resolved: ResolvedRoute[] = [];
  for (const route of routingTable) {
    for (const dest of route.to) {
      if (dest === "main") {
        resolved.push({ route, destination: "main", backend: backendName("main", route.balance) });
        break;
      }
      const pool = poolFor(topology, dest);
      if (pool) {
        resolved.push({ route, destination: pool.role, backend: backendName(pool.role, route.balance) });
        break;
      }
    }
  }
  return resolved;
}

function balanceDirectives(balance: Balance): Directive[] {
  switch (balance) {
    case "user": return [d("balance", "hash", "var(txn.mx_user)"), d("hash-type", "consistent")];
    case "room": return [d("balance", "hash", "var(txn.mx_room)"), d("hash-type", "consistent")];
    case "source": return [d("balance", "hash", "var(txn.mx_client)"), d("hash-type", "consistent")];
    case "leastconn": return [d("balance", "leastconn")];
    case "roundrobin": return [d("balance", "roundrobin")];
  }
}

const json = (value: unknown) => quoted(JSON.stringify(value));

function matrixError(status: number, errcode: string, error: string, condition: string): Directive {
  return d("http-request", "return", "status", status, "content-type", "application/json", "string", json({ errcode, error }), "if", condition);
}

/** The complete configuration of one tier. */
export function haproxyConfig(site: Site, tier: TierSizing, topology: SynapseTopology, runtime: HaproxyRuntime): HaproxyConfig {
  const routes = resolveRoutes(topology);
  const bind = (port: number) => `${runtime.bindHost}:${port}`;
  // Two connections per concurrent user (a long poll and a request), spread over the replicas.
  const wanted = Math.max(4096, Math.ceil((tier.ccu.to * 2) / tier.haproxy.replicas));
  const maxconn = runtime.maxconnCap ? Math.min(wanted, runtime.maxconnCap) : wanted;

  const global: Section = {
    kind: "global",
    directives: [
      d("log", "stdout", "format", "raw", "local0", "info"),
      d("maxconn", maxconn),
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
      // X-Forwarded-For: Synapse listeners run with x_forwarded and take the client address from it.
      d("option", "forwardfor"),
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
  const resolvers: Section = {
    kind: "resolvers",
    name: "kubernetes",
    comment: "Cluster DNS: headless Services resolve to the pods of each pool.",
    directives: [
      d("parse-resolv-conf"),
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
  };

  const fe: Directive[] = [
    d("bind", bind(runtime.ports.client), "name", "client"),
    d("bind", bind(runtime.ports.federation), "name", "federation"),
    d("option", "httplog"),
    d("http-request", "set-header", "X-Forwarded-Proto", "http", "if", "!{ req.hdr(x-forwarded-proto) -m found }"),
    // The client address: the last X-Forwarded-For entry (added by the ingress controller), else the peer.
    d("http-request", "set-var(txn.mx_client)", "req.hdr_ip(x-forwarded-for,-1)"),
    d("http-request", "set-var(txn.mx_client)", "src", "if", "!{ var(txn.mx_client) -m found }"),
    // The user of a request: the base64 localpart of a `syt_<localpart>_<random>_<crc>` access token from the
    // Authorization header or the access_token parameter; any other token is hashed whole.
    d("http-request", "set-var(txn.mx_token)", `req.hdr(authorization),regsub("^Bearer +","",i)`, "if", "{ req.hdr(authorization) -m beg -i bearer }"),
    d("http-request", "set-var(txn.mx_token)", "url_param(access_token)", "if", "!{ var(txn.mx_token) -m found }"),
    d("http-request", "set-var(txn.mx_user)", "var(txn.mx_token),field(2,_)", "if", "{ var(txn.mx_token) -m beg syt_ }"),
    d("http-request", "set-var(txn.mx_user)", "var(txn.mx_token)", "if", "!{ var(txn.mx_user) -m found }"),
    d("http-request", "set-var(txn.mx_room)", `path,regsub("^.*/rooms/",""),field(1,/)`, "if", "{ path_reg /rooms/[^/]+/messages$ }"),
    // Never routed: the replication API and metrics live on their own listeners, inside the cluster only.
    matrixError(404, "M_NOT_FOUND", "Not found", "{ path_beg /_synapse/replication /_synapse/metrics }"),
    d("acl", "admin_api", "path_beg", "/_synapse/admin"),
  ];
  const options = site.haproxy;
  if (options.adminAllowFrom.length > 0) {
    fe.push(d("acl", "admin_allowed", "var(txn.mx_client)", "-m", "ip", ...options.adminAllowFrom));
    fe.push(matrixError(403, "M_FORBIDDEN", "The admin API is not reachable from this address", "admin_api !admin_allowed"));
  } else {
    fe.push(matrixError(403, "M_FORBIDDEN", "The admin API is not reachable through the public entry point", "admin_api"));
  }
  fe.push(
    matrixError(413, "M_TOO_LARGE", "Request body larger than the 100 MB upload limit", "{ req.hdr_val(content-length) gt 104857600 }"),
    // Delegation: federation reaches the API host on 443 through the ingress; clients find the base URL.
    d("http-request", "return", "status", 200, "content-type", "application/json", "hdr", "Access-Control-Allow-Origin", `"*"`,
      "string", json(wellKnownServer(site)), "if", "{ path /.well-known/matrix/server }"),
    d("http-request", "return", "status", 200, "content-type", "application/json", "hdr", "Access-Control-Allow-Origin", `"*"`,
      "string", json(wellKnownClient(site)), "if", "{ path /.well-known/matrix/client }"),
    d("acl", "has_since", "url_param(since)", "-m", "found"),
  );
  for (const r of routes) {
    for (const pattern of r.route.patterns) fe.push(d("acl", `route_${r.route.id}`, "path_reg", pattern));
  }
  for (const r of routes) {
    const cond = [`route_${r.route.id}`];
    if (r.route.methods === "GET") cond.push("METH_GET");
    if (r.route.methods === "non-GET") cond.push("!METH_GET");
    if (r.route.initialSyncOnly) cond.push("!has_since");
    fe.push(d("use_backend", r.backend, "if", ...cond));
  }
  fe.push(d("default_backend", backendName("main", "roundrobin")));

  const backends = new Map<string, Section>();
  const addBackend = (name: string, balance: Balance, groups: ServerGroup[]) => {
    if (backends.has(name)) return;
    backends.set(name, { kind: "backend", name, directives: [...balanceDirectives(balance), ...groups.flatMap((g) => runtime.servers(g))] });
  };
  addBackend(backendName("main", "roundrobin"), "roundrobin", [mainGroup]);
  for (const r of routes) {
    if (r.destination === "main") {
      addBackend(r.backend, r.route.balance, [mainGroup]);
      continue;
    }
    const pool = topology.pools.find((p) => p.role === r.destination) as WorkerPool;
    const group: ServerGroup = {
      prefix: pool.role, service: pool.name, slots: slotsOf(pool),
      maxconn: maxconnByRole[pool.role] ?? writerMaxconn, backup: false,
    };
    // Main can serve every endpoint but media; with no live worker the request still gets an answer.
    const fallback = pool.mediaStore ? [] : [{ ...mainGroup, backup: true }];
    addBackend(r.backend, r.route.balance, [group, ...fallback]);
  }

  const stats: Section = {
    kind: "frontend",
    name: "stats",
    comment: "Statistics page, Prometheus metrics and the pod's own health check; not exposed publicly.",
    directives: [
      d("bind", bind(runtime.ports.stats), "name", "stats"),
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
    resolvers,
    { kind: "frontend", name: "matrix", comment: "Client (8008) and federation (8448) traffic, routed per docs/workers.md.", directives: fe },
    stats,
    ...[...backends.values()].sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1)),
  ];
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
