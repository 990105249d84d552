/**
 * `npm run bench:mutations`: a mutation trial. Each mutation is one small wrong change to the sources; the
 * committed output is regenerated after it (so the drift check cannot be what notices), then the suite runs
 * with --bail. A mutation is caught when any test fails. Runs in a scratch clone of HEAD (the work tree is
 * never touched) and prints one line per mutation and the catch rate. Slow by design: minutes per survivor.
 * `--only=<id,id>` runs a subset.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../emit/load-config.ts";

interface Mutation { id: string; file: string; from: string; to: string }

/** Small, plausible mistakes, one per area a test should guard. */
const mutations: Mutation[] = [
  { id: "size-table-main-cpu", file: "apps/site/sizing.ts", from: `main: resources("2", "4Gi", "4", "8Gi")`, to: `main: resources("3", "4Gi", "4", "8Gi")` },
  { id: "size-table-synchrotron-count", file: "apps/site/sizing.ts", from: `synchrotron: autoscaled("synchrotron", 12)`, to: `synchrotron: autoscaled("synchrotron", 10)` },
  { id: "size-table-persisters", file: "apps/site/sizing.ts", from: `eventPersisters: 6,`, to: `eventPersisters: 5,` },
  { id: "size-table-haproxy-memory", file: "apps/site/sizing.ts", from: `resources("250m", "256Mi", "500m", "512Mi")`, to: `resources("250m", "384Mi", "500m", "512Mi")` },
  { id: "hpa-target", file: "apps/site/sizing.ts", from: `synchrotron: { targetCpuPercent: 60, targetMemoryPercent: 70 }`, to: `synchrotron: { targetCpuPercent: 65, targetMemoryPercent: 70 }` },
  { id: "hpa-maximum", file: "apps/site/sizing.ts", from: `  media: 8,\n  eventPersisters: 8,`, to: `  media: 10,\n  eventPersisters: 8,` },
  { id: "federation-send-balance", file: "apps/haproxy/routing-table.ts", from: `to: ["federation-reader", "generic"], balance: "source"`, to: `to: ["federation-reader", "generic"], balance: "roundrobin"` },
  { id: "hash-type", file: "apps/haproxy/haproxy-config.ts", from: `case "user": return [d("balance", "hash", "var(txn.mx_user)"), d("hash-type", "consistent"), ...userKey];`, to: `case "user": return [d("balance", "hash", "var(txn.mx_user)"), ...userKey];` },
  { id: "source-hash-key", file: "apps/haproxy/haproxy-config.ts", from: `"req.hdr_ip(x-forwarded-for,-1)"`, to: `"req.hdr_ip(x-forwarded-for,1)"` },
  { id: "upload-limit", file: "apps/haproxy/haproxy-config.ts", from: `export const uploadLimitBytes = 100 * 1024 * 1024;`, to: `export const uploadLimitBytes = 200 * 1024 * 1024;` },
  { id: "admin-by-header", file: "apps/haproxy/haproxy-config.ts", from: `["{ path_beg /_synapse/admin }"]`, to: `["{ path_beg /_synapse/admin }", "!{ req.hdr_ip(x-forwarded-for,-1) 10.0.0.0/8 }"]` },
  { id: "xff-appended", file: "apps/haproxy/haproxy-config.ts", from: `d("http-request", "set-header", "X-Forwarded-For", "%[var(txn.mx_client)]"),`, to: `d("option", "forwardfor"),` },
  { id: "trusted-loopback", file: "apps/site/site.ts", from: `"100.64.0.0/10", "fc00::/7"]`, to: `"100.64.0.0/10", "fc00::/7", "127.0.0.0/8"]` },
  { id: "overload-soft-limit", file: "apps/haproxy/haproxy-config.ts", from: `const overflowFactor = 1.25;`, to: `const overflowFactor = 1;` },
  { id: "buffer-body", file: "apps/haproxy/haproxy-config.ts", from: `...balanceDirectives(balance), bufferBody, unavailable`, to: `...balanceDirectives(balance), unavailable` },
  { id: "writer-fallback", file: "apps/haproxy/haproxy-config.ts", from: `const fallback = !dest.startsWith("writer:") && !pool.servesMedia;`, to: `const fallback = !pool.servesMedia;` },
  { id: "no-server-429", file: "apps/haproxy/haproxy-config.ts", from: `bufferBody, unavailable, ...servers`, to: `bufferBody, ...servers` },
  { id: "room-key-encoded", file: "apps/haproxy/haproxy-config.ts", from: `field(1,/),url_dec\``, to: `field(1,/)\`` },
  { id: "sliding-sync-route", file: "apps/haproxy/routing-table.ts", from: `, "^/_matrix/client/unstable/org.matrix.simplified_msc3575/sync$"]`, to: `]` },
  { id: "server-template", file: "apps/haproxy/haproxy-config.ts", from: "return g.pods.map((pod, i) => d(\"server\", serverName(g, i), `${fqdn(`${pod}.${g.service}`)}:${opts.serverPort}`, ...options));", to: "return [d(\"server-template\", g.role, g.pods.length, `${fqdn(g.service)}:${opts.serverPort}`, ...options)];" },
  { id: "chunked-upload", file: "apps/haproxy/haproxy-config.ts", from: `"{ req.hdr(transfer-encoding) -m found }"`, to: `"{ req.hdr(transfer-encoding) -m found }", "{ always_false }"` },
  { id: "listener-resources-generic", file: "apps/synapse/topology.ts", from: `scaling: { kind: "autoscaled", bounds: w.generic }, http: ["client", "federation"]`, to: `scaling: { kind: "autoscaled", bounds: w.generic }, http: ["client"]` },
  { id: "listener-resources-synchrotron", file: "apps/synapse/topology.ts", from: `scaling: { kind: "autoscaled", bounds: w.synchrotron }, http: ["client"]`, to: `scaling: { kind: "autoscaled", bounds: w.synchrotron }, http: ["federation"]` },
  { id: "x-forwarded", file: "apps/synapse/homeserver-config.ts", from: `tls: false, x_forwarded: true, resources: [{ names, compress: false }]`, to: `tls: false, x_forwarded: false, resources: [{ names, compress: false }]` },
  { id: "turn-uris", file: "apps/synapse/homeserver-config.ts", from: "`turn:${site.hosts.turn}:3478?transport=udp`,", to: "" },
  { id: "automount-token", file: "apps/kube/pod-security.ts", from: `automountServiceAccountToken: false, enableServiceLinks`, to: `automountServiceAccountToken: true, enableServiceLinks` },
  { id: "secrets-role-verbs", file: "apps/synapse/secrets-job.ts", from: `verbs: ["create"] }`, to: `verbs: ["create", "list"] }` },
  { id: "preserve-on-deletion", file: "apps/argocd/index.ts", from: `preserveResourcesOnDeletion: true`, to: `preserveResourcesOnDeletion: false` },
  { id: "prune-last", file: "apps/argocd/index.ts", from: `"PruneLast=true",`, to: `` },
  { id: "sync-retry", file: "apps/argocd/index.ts", from: `retry: { limit: 5,`, to: `retry: { limit: 2,` },
  { id: "pdb-eviction", file: "apps/synapse-workers/index.ts", from: `spec: { maxUnavailable: 1, selector`, to: `spec: { maxUnavailable: 0, selector` },
  { id: "element-replicas", file: "apps/element-web/index.ts", from: `replicas: 2,`, to: `replicas: 1,` },
  { id: "coturn-mapped-range", file: "apps/coturn/turn-config.ts", from: `  ["::ffff:0.0.0.0", "::ffff:255.255.255.255"],\n`, to: `` },
  { id: "coturn-cgnat-range", file: "apps/coturn/turn-config.ts", from: `  ["100.64.0.0", "100.127.255.255"],\n`, to: `` },
  { id: "egress-metadata", file: "apps/network-policies/index.ts", from: `"127.0.0.0/8", "169.254.0.0/16"] },`, to: `"127.0.0.0/8"] },` },
  { id: "egress-api-metadata", file: "apps/network-policies/index.ts", from: `except: ["169.254.0.0/16"] } };`, to: `} };` },
  { id: "ingress-haproxy-port", file: "apps/network-policies/index.ts", from: `{ from: [pods(app("haproxy"))], ports: tcp(8008) },`, to: `{ from: [pods(app("haproxy"))], ports: tcp(8009) },` },
  { id: "nginx-always", file: "apps/element-web/nginx-config.ts", from: `add_header \${k} "\${v}" always;`, to: `add_header \${k} "\${v}";` },
  { id: "policy-privilege-escalation", file: "tools/validate/policies.ts", from: `.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)`, to: `.filter((c) => c.securityContext?.allowPrivilegeEscalation === true)` },
  { id: "policy-resources", file: "tools/validate/policies.ts", from: `["requests", "limits"].flatMap((kind)`, to: `["limits"].flatMap((kind)` },
  { id: "policy-target-port", file: "tools/validate/policies.ts", from: `.filter((p) => typeof p.targetPort === "string" && !named.has(p.targetPort))`, to: `.filter(() => false)` },
  { id: "site-host-collision", file: "apps/site/site.ts", from: `if (other !== undefined) ctx.addIssue(`, to: `if (other === "never") ctx.addIssue(` },
  { id: "site-ip-domain", file: "apps/site/schema-kit.ts", from: `&& !/^[0-9]+$/.test(v.split(".").at(-1) ?? "") && isIP(v) === 0`, to: `` },
  { id: "site-moving-tag", file: "apps/site/schema-kit.ts", from: `/(^|[^0-9.])v?[0-9]+\\.[0-9]+\\.[0-9]+/`, to: `/[0-9]/` },
  { id: "tiers-empty", file: "apps/site/sizing.ts", from: `if (names.some((n) => n === "")) {`, to: `if (names.length === 0) {` },
  // Issue 13: connection budget, media cache, caches.
  { id: "db-pool-media", file: "apps/site/sizing.ts", from: `  // Media metadata only: one row per upload or download; the bytes go to S3.\n  media: 3,`, to: `  // Media metadata only: one row per upload or download; the bytes go to S3.\n  media: 4,` },
  { id: "db-headroom", file: "apps/site/sizing.ts", from: `otherClients: 10 }`, to: `otherClients: 5 }` },
  { id: "db-declared-equal", file: "apps/synapse/database-budget.ts", from: `b.maxConnectionsNeeded <= declared`, to: `b.maxConnectionsNeeded < declared` },
  { id: "media-cache-age", file: "apps/synapse/process.ts", from: `const mediaCacheMinutes = 60;`, to: `const mediaCacheMinutes = 30;` },
  { id: "cache-share", file: "apps/site/sizing.ts", from: `export const cacheMemoryShare = { max: 0.6, target: 0.5 } as const;`, to: `export const cacheMemoryShare = { max: 0.7, target: 0.5 } as const;` },
  { id: "jemalloc-main", file: "apps/synapse/process.ts", from: "if (!spec.isWorker) return [\"sh\", \"-c\", `${preloadJemalloc}; exec ${python.join(\" \")}`];", to: "if (!spec.isWorker) return python;" },
  { id: "main-file-per-tier", file: "apps/synapse/config-files.ts", from: `export const tierFiles = ["homeserver.yaml", mainProcessFile] as const;`, to: `export const tierFiles = ["homeserver.yaml"] as const;` },
  { id: "media-store-unmounted", file: "apps/synapse/paths.ts", from: `export const unusedMediaStoreDir = "/tmp/media_store";`, to: `export const unusedMediaStoreDir = "/data/media_store";` },
  // Issue 14: syncs that finish, labels, TURN TLS, cluster add-ons, kubeconform.
  { id: "smoke-postsync", file: "apps/checks/index.ts", from: `...syncWaveAnnotations(syncWave.smokeTest),\n        "argocd.argoproj.io/hook": "Sync",`, to: `...syncWaveAnnotations(syncWave.smokeTest),\n        "argocd.argoproj.io/hook": "PostSync",` },
  { id: "secrets-job-label", file: "apps/synapse/secrets-job.ts", from: `export const secretsJobIdentity = { name: "matrix-secrets",`, to: `export const secretsJobIdentity = { name: "synapse",` },
  { id: "coturn-no-reload", file: "apps/coturn/index.ts", from: `last=$now; kill -USR2 "$pid";`, to: `last=$now;` },
  { id: "turn-issuer", file: "apps/coturn/index.ts", from: `name: site.tls.turnClusterIssuer,`, to: `name: site.tls.clusterIssuer,` },
  { id: "cert-manager-always", file: "apps/kube/cluster-addons.ts", from: `return site.tls.certManager ? { "cert-manager.io/cluster-issuer": site.tls.clusterIssuer } : {};`, to: `return { "cert-manager.io/cluster-issuer": site.tls.clusterIssuer };` },
  { id: "pdb-drain-off-by-one", file: "tools/validate/policies.ts", from: "(typeof spec.minAvailable === \"number\" && spec.minAvailable >= lowest)", to: "(typeof spec.minAvailable === \"number\" && spec.minAvailable > lowest)" },
  { id: "managed-secrets-late-wave", file: "apps/kube/sync-waves.ts", from: "managedSecrets: -6,", to: "managedSecrets: 0," },
  { id: "plain-secret-not-named", file: "apps/managed-secrets/index.ts", from: `if (o.kind === "Secret") {`, to: `if (o.kind === "PlainSecret") {` },
  { id: "managed-secret-keys-unchecked", file: "apps/managed-secrets/index.ts", from: "if (missing.length > 0) issues.push", to: "if (missing.length > 99) issues.push" },
  { id: "transports-gone-with-calls-off", file: "apps/synapse/homeserver-config.ts", from: "experimental_features: { msc4143_enabled: true,", to: "experimental_features: { msc4143_enabled: site.calls.enabled," },
  { id: "rc-message-default", file: "apps/synapse/homeserver-config.ts", from: "rc_message: { per_second: 0.5, burst_count: 30 }", to: "rc_message: { per_second: 0.2, burst_count: 30 }" },
  { id: "restart-heartbeat-to-main", file: "apps/haproxy/routing-table.ts", from: `patterns: ["^/_matrix/client/unstable/org.matrix.msc4140/delayed_events/[^/]+/restart$"],`, to: `patterns: ["^/_matrix/client/unstable/org.matrix.msc4140/delayed_events/[^/]+/restart/never$"],` },
  { id: "haproxy-memory-share", file: "apps/monitoring/alert-rules.ts", from: "memoryShare: 0.9,", to: "memoryShare: 0.99," },
  { id: "sync-alert-counts-long-polls", file: "apps/monitoring/alert-rules.ts", from: `servlet="SyncRestServlet", tag="sync_v2:initial_sync"}[5m]))) > \${t.initialSyncP99Seconds}`, to: `servlet="SyncRestServlet"}[5m]))) > \${t.initialSyncP99Seconds}` },
  { id: "runbook-namespace-left", file: "apps/monitoring/alert-rules.ts", from: `const runbook = text.replaceAll("<ns>", site.namespace);`, to: "const runbook = text;" },
  { id: "kubeconform-not-strict", file: "tools/validate/kubernetes-schemas.ts", from: `if (s.properties && s.additionalProperties === undefined && !s["x-kubernetes-preserve-unknown-fields"]) s.additionalProperties = false;`, to: `if (s.properties && s.additionalProperties === undefined && !s["x-kubernetes-preserve-unknown-fields"]) s.additionalProperties = true;` },
];

function run(cmd: string, args: string[], cwd: string, timeoutMs: number) {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, CI: "true", NX_DAEMON: "false" } });
}

const { values } = parseArgs({ options: { only: { type: "string" } } });
const selected = values.only ? mutations.filter((m) => values.only?.split(",").includes(m.id)) : mutations;
const clone = join(mkdtempSync(join(tmpdir(), "matrix-gitops-mutation-")), "repo");
run("git", ["clone", "-q", repoRoot, clone], tmpdir(), 120_000);
for (const p of ["node_modules", ".lab"]) if (existsSync(join(repoRoot, p))) symlinkSync(join(repoRoot, p), join(clone, p));
const node = process.execPath;
const results: { id: string; caught: boolean; how: string; seconds: number }[] = [];
try {
  for (const m of selected) {
    const path = join(clone, m.file);
    const original = readFileSync(path, "utf8");
    if (!original.includes(m.from)) {
      results.push({ id: m.id, caught: false, how: "NOT APPLIED (source moved on: update the mutation)", seconds: 0 });
      continue;
    }
    const started = Date.now();
    writeFileSync(path, original.replace(m.from, m.to));
    try {
      const emit = run(node, ["tools/emit/cli.ts"], clone, 120_000);
      if (emit.status !== 0) {
        results.push({ id: m.id, caught: true, how: "emit refused it", seconds: Math.round((Date.now() - started) / 1000) });
        continue;
      }
      const tsc = run(node, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], clone, 300_000);
      const vitest = tsc.status === 0 ? run(node, ["node_modules/vitest/vitest.mjs", "run", "--bail=1"], clone, 1_200_000) : tsc;
      const failed = /^ FAIL {2}(.*)$/m.exec(`${vitest.stdout}${vitest.stderr}`.replace(/\x1b\[[0-9;]*m/g, ""))?.[1] ?? (vitest.status !== 0 ? `exit ${vitest.status}` : "");
      results.push({ id: m.id, caught: vitest.status !== 0, how: vitest.status !== 0 ? failed.slice(0, 110) : "SURVIVED", seconds: Math.round((Date.now() - started) / 1000) });
    } finally {
      writeFileSync(path, original);
      run(node, ["tools/emit/cli.ts"], clone, 120_000);
      run("git", ["checkout", "-q", "--", "."], clone, 60_000);
    }
    const r = results.at(-1);
    console.log(`${r?.caught ? "caught  " : "SURVIVED"} ${m.id.padEnd(32)} ${String(r?.seconds).padStart(4)} s  ${r?.how}`);
  }
} finally {
  rmSync(join(clone, ".."), { recursive: true, force: true });
}
const caught = results.filter((r) => r.caught).length;
console.log(`\nmutation trial: ${caught} of ${results.length} caught (${Math.round((100 * caught) / Math.max(1, results.length))}%)`);
for (const r of results.filter((x) => !x.caught)) console.log(`  survived: ${r.id}: ${r.how}`);
