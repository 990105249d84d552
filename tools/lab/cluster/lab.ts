/**
 * The end-to-end lab: one tier's rendered overlay brought up on loopback. Phase 1 services (PostgreSQL,
 * Redis, S3, DNS) start at the addresses their cluster names resolve to; the Synapse secrets come from the
 * rendered generator Job; every Synapse pod of the overlay runs from its own pod template (main first, as
 * Argo CD's waves order it), and the rendered HAProxy runs in front. Nothing is configured by hand: files
 * and commands come from the rendered objects and pass only through the loopback seam (loopback.ts).
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Images, Site } from "../../../apps/site/site.ts";
import { findTier, tiers } from "../../../apps/site/sizing.ts";
import { connectionBudget } from "../../../apps/synapse/database-budget.ts";
import { loadSite, repoRoot } from "../../emit/load-config.ts";
import { kustomizeBuild } from "../../render/kustomize.ts";
import { parseRendered, type KubeObject } from "../../render/rendered.ts";
import { ensureSynapse, ensureToolchain, imageStandIn, labRoot, type Toolchain } from "../toolchain.ts";
import { syncWaveAnnotation } from "../../../apps/kube/sync-waves.ts";
import { secretKeys } from "../../../apps/synapse/paths.ts";
import { HaproxyLog } from "./haproxy-log.ts";
import { haproxyCfgToLoopback, synapseFileToLoopback } from "./loopback.ts";
import { LabNetwork } from "./network.ts";
import { labWorkloads, type LabWorkload } from "./workloads.ts";
import { startDns, startPostgres, startRedis, startS3, type RunningDns, type RunningPostgres, type RunningS3 } from "./phase1.ts";
import { startPod, waitReady, PodFailed, type Kubelet, type PodInstance, type PodTemplate } from "./pods.ts";
import { freePort } from "../ports.ts";
import type { LabProcess } from "./processes.ts";
import { SecretStore, startSecretsApi } from "./secrets.ts";
import { readStats } from "../haproxy/stats.ts";

const run = promisify(execFile);

export { labWorkloads, type LabWorkload };

export interface LabOptions {
  tier: string;
  site?: Site;
  /** The rendered overlay (default: `kustomize build overlays/<tier>`); a test may pass a broken copy. */
  objects?: KubeObject[];
  /** Pods per workload where the lab runs fewer than the tier's minimum (the largest tier on two cores). */
  counts?: Record<string, number>;
  /** Collation and ctype of Synapse's database (default C, as Synapse requires; a drill sets another). */
  postgresCollation?: string;
  /** Keep the lab's directory (logs, data) after stop. */
  keep?: boolean;
}

export interface Lab {
  site: Site;
  tier: string;
  dir: string;
  toolchain: Toolchain;
  objects: KubeObject[];
  network: LabNetwork;
  secrets: SecretStore;
  postgres: RunningPostgres;
  s3: RunningS3;
  clientUrl: string;
  federationUrl: string;
  statsUrl: string;
  haproxy: PodInstance;
  haproxyLog: HaproxyLog;
  /** HAProxy's admin socket (runtime API), where the pod's `stats socket` landed. */
  adminSocket: string;
  /** Every running Synapse pod by name. */
  pods: Map<string, PodInstance>;
  workloads: LabWorkload[];
  /** Milliseconds from a pod's start to its readiness probe passing (the latest start of each pod). */
  startupMs: Map<string, number>;
  /** The pod a loopback address belongs to. */
  podAt(address: string): string | undefined;
  /**
   * Registers a user with Synapse's own `register_new_matrix_user` and the generated shared secret, against
   * main directly: the admin API is closed on the public entry point, so operators do this from inside
   * the cluster (kubectl exec), and so does the lab.
   */
  registerUser(localpart: string, password: string, admin?: boolean): void;
  /** main's own HTTP listener (for the admin API, which HAProxy keeps closed). */
  mainUrl: string;
  /** Runs a rendered Job (the Argo CD hooks) against the lab; `env` overrides its variables. */
  runJob(name: string, env?: Record<string, string>): Promise<JobResult>;
  /** The Phase 1 service processes, for drills that take one away. */
  phase1: { postgresql: LabProcess; redis: LabProcess; s3: LabProcess };
  /** Waits (bounded) until HAProxy's health checks show every filled slot of a pool in `state` (UP or DOWN). */
  waitForServerState(pool: string, state: "UP" | "DOWN", deadlineMs?: number): Promise<void>;
  /** Stops one pod by PID (its workload's other pods keep running). */
  stopPod(name: string): Promise<void>;
  /** Starts a stopped pod again from its template and waits until it is ready. */
  startPod(name: string): Promise<void>;
  /**
   * Argo CD syncing a new render (another Synapse version, say): its ConfigMaps replace the old, then the
   * Synapse workloads are restarted wave by wave (the sync-wave annotation, as Argo CD orders them), each pod
   * replaced in turn and waited ready before the next, the others still running their old version.
   */
  rollOut(objects: KubeObject[], images: Images): Promise<RolloutStep[]>;
  stop(): Promise<void>;
}

function isMain(w: LabWorkload): boolean {
  return w.template.spec.containers.some((c) => [...(c.command ?? []), ...(c.args ?? [])].join(" ").includes("synapse.app.homeserver"));
}

function descriptorLimit(): number {
  const n = Number(spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

/** The cluster name of a URL's host, without the namespace suffix when it has one. */
function serviceOfHost(host: string, site: Site): string {
  for (const suffix of [`.${site.namespace}.svc.${site.clusterDomain}`, `.${site.namespace}.svc`, `.${site.namespace}`]) {
    if (host.endsWith(suffix)) return host.slice(0, -suffix.length);
  }
  return host;
}

export async function startLab(options: LabOptions): Promise<Lab> {
  const site = options.site ?? await loadSite();
  const toolchain = ensureToolchain(site.images);
  const objects = options.objects ?? parseRendered(await kustomizeBuild(join(repoRoot, "overlays", options.tier)));
  const dir = mkdtempSync(join(tmpdir(), `matrix-gitops-lab-${options.tier}-`));
  // PostgreSQL runs as its own user and must reach its data directory below this one.
  chmodSync(dir, 0o711);
  const network = new LabNetwork(site.namespace, site.clusterDomain);
  const secrets = new SecretStore();
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    stoppers.length = 0;
  };
  try {
    // Phase 1: credentials first (other teams' Secrets in a cluster), then the services at their names.
    const pgPassword = secrets.generate(site.postgres.passwordSecret.name, site.postgres.passwordSecret.key);
    const redisPassword = site.redis.passwordSecret ? secrets.generate(site.redis.passwordSecret.name, site.redis.passwordSecret.key) : null;
    const s3c = site.s3.credentialsSecret;
    const accessKeyId = secrets.generate(s3c.name, s3c.accessKeyIdKey);
    const secretAccessKey = secrets.generate(s3c.name, s3c.secretAccessKeyKey);
    const pgAddress = network.allocate();
    network.addService(site.postgres.host, pgAddress);
    const redisAddress = network.allocate();
    network.addService(site.redis.host, redisAddress);
    const s3Url = new URL(site.s3.endpoint);
    const s3Address = network.allocate();
    network.addService(serviceOfHost(s3Url.hostname, site), s3Address);

    const workloads = labWorkloads(objects, options.counts);
    const synapse = workloads.filter((w) => w.name !== "haproxy" && w.template.metadata?.labels?.["app.kubernetes.io/name"] === "synapse");
    const synapsePods = synapse.flatMap((w) => w.pods);
    const [postgres, redis, s3] = await Promise.all([
      startPostgres({
        dir: join(dir, "postgresql"), address: pgAddress, port: site.postgres.port, database: site.postgres.database,
        user: site.postgres.user, password: pgPassword, collation: options.postgresCollation,
        // What the tier's PostgreSQL must allow (README, Size tiers), which the preflight checks.
        maxConnections: connectionBudget(findTier(tiers, options.tier)).maxConnectionsNeeded,
      }),
      startRedis({ dir: join(dir, "redis"), address: redisAddress, port: site.redis.port, password: redisPassword }),
      startS3({
        binary: toolchain.versitygw, dir: join(dir, "s3"), address: s3Address, port: Number(s3Url.port || (s3Url.protocol === "https:" ? 443 : 80)),
        bucket: site.s3.bucket, region: site.s3.region, accessKeyId, secretAccessKey,
      }),
    ]);
    stoppers.push(() => postgres.process.stop(), () => redis.stop(), () => s3.process.stop());

    // Every pod gets its address before any starts, so instance_map names resolve in every config file.
    const addresses = new Map<string, string>();
    for (const w of workloads) {
      for (const pod of w.pods) {
        const a = network.allocate();
        addresses.set(pod, a);
        network.addPod(pod, w.service, a);
        for (const svc of w.services) network.addService(svc, a);
      }
    }
    // Images the lab can run: the site's, and those of a render rolled out later (rollOut).
    const standIns: { toolchain: Omit<Toolchain, "versitygw">; images: Images }[] = [{ toolchain, images: site.images }];
    const versionOfPod = new Map<string, string>();
    const kubelet: Kubelet = {
      dir, namespace: site.namespace, objects, secrets, resolve: (n) => network.resolve(n),
      cacheDir: join(labRoot, "cache"),
      image(image) {
        const found = [...standIns].reverse().find((s) => s.images.synapse === image || s.images.synapseMedia === image || s.images.haproxy === image);
        return imageStandIn(found?.toolchain ?? toolchain, found?.images ?? site.images, image);
      },
      transform(_cm, key, text, runtime) {
        if (key.endsWith(".yaml")) return synapseFileToLoopback(text, runtime);
        if (key === "haproxy.cfg") return haproxyCfgToLoopback(text, runtime, { nameserver: `${dns.address}:${dns.port}`, maxconnCap: Math.floor((descriptorLimit() - 200) / 2) });
        return text;
      },
    };

    // The generator Job, as rendered, against a Secrets API on loopback.
    await runSecretsJob(kubelet, objects, site, stoppers);

    const pods = new Map<string, PodInstance>();
    const owner = new Map<string, LabWorkload>();
    for (const w of workloads) for (const p of w.pods) owner.set(p, w);
    const startupMs = new Map<string, number>();
    const launch = async (name: string, deadlineMs: number) => {
      const w = owner.get(name) as LabWorkload;
      const t0 = performance.now();
      const pod = await startPod(kubelet, name, addresses.get(name) as string, w.template, w.claims);
      pods.set(name, pod);
      const image = w.template.spec.containers[0]?.image ?? "";
      versionOfPod.set(name, standIns.slice().reverse().find((s) => s.images.synapse === image || s.images.synapseMedia === image)?.toolchain.synapseVersion ?? "");
      await waitReady(pod, deadlineMs);
      startupMs.set(name, Math.round(performance.now() - t0));
    };
    stoppers.push(async () => { await Promise.all([...pods.values()].map((p) => p.process.stop())); });
    // Main first: it creates or upgrades the database schema; workers refuse an uninitialised one.
    for (const w of synapse.filter(isMain)) for (const p of w.pods) await launch(p, 240_000);
    const rest = synapse.filter((w) => !isMain(w)).flatMap((w) => w.pods);
    const results = await Promise.allSettled(rest.map((p) => launch(p, 180_000)));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    if (failed.length > 0) throw new PodFailed(failed.join("\n\n"));

    const dns: RunningDns = await startDns(join(dir, "dns"), await freePort(), network.hostsFile());
    stoppers.push(() => dns.process.stop());
    const haproxyWorkload = workloads.find((w) => w.name === "haproxy");
    if (!haproxyWorkload) throw new Error("the overlay has no haproxy Deployment");
    const haproxyPod = haproxyWorkload.pods[0] as string;
    const haproxy = await startPod(kubelet, haproxyPod, addresses.get(haproxyPod) as string, haproxyWorkload.template);
    stoppers.push(() => haproxy.process.stop());
    await waitReady(haproxy, 20_000);
    // Wait (bounded) until HAProxy has resolved and health-checked every Synapse server it will route to.
    await waitForBackends(`http://${haproxy.address}:8404/stats;csv`, 30_000);

    const cfgText = readFileSync(join(dir, "pods", haproxyPod, "volumes", "config", "haproxy.cfg"), "utf8");
    const adminSocket = /stats socket (\S+)/.exec(cfgText)?.[1];
    if (!adminSocket) throw new Error("the rendered haproxy.cfg has no stats socket");
    const mainPod = synapse.filter(isMain).flatMap((w) => w.pods)[0] as string;
    const lab: Lab = {
      site, tier: options.tier, dir, toolchain, objects, network, secrets, postgres, s3,
      clientUrl: `http://${haproxy.address}:8008`,
      federationUrl: `http://${haproxy.address}:8448`,
      statsUrl: `http://${haproxy.address}:8404`,
      haproxy, pods, workloads, adminSocket, startupMs,
      phase1: { postgresql: postgres.process, redis, s3: s3.process },
      runJob: (name, env = {}) => runJob(kubelet, objects, name, env),
      haproxyLog: new HaproxyLog(haproxy.process.logFile),
      podAt(address) {
        return [...addresses].find(([, a]) => a === address)?.[0];
      },
      mainUrl: `http://${addresses.get(mainPod)}:8008`,
      registerUser(localpart, password, admin = false) {
        const secret = secrets.get(site.secrets.name, secretKeys.registration);
        const r = spawnSync(join(toolchain.venv, "bin", "register_new_matrix_user"), ["-u", localpart, "-p", password, admin ? "--admin" : "--no-admin", `--shared-secret=${secret}`,
          lab.mainUrl], { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`register_new_matrix_user ${localpart} failed: ${r.stdout}${r.stderr}`);
      },
      async stopPod(name) {
        const p = pods.get(name);
        if (!p) throw new Error(`no running pod ${name}`);
        await p.process.stop();
      },
      async startPod(name) {
        await launch(name, 180_000);
      },
      async rollOut(next, images) {
        standIns.push({ toolchain: ensureSynapse(images), images });
        kubelet.objects = next;
        const nextTemplates = new Map(labWorkloads(next, options.counts).map((w) => [w.name, w.template]));
        const waveOf = (name: string) => Number(next.find((o) => (o.kind === "StatefulSet" || o.kind === "Deployment") && o.metadata.name === name)
          ?.metadata.annotations?.[syncWaveAnnotation] ?? 0);
        const steps: RolloutStep[] = [];
        for (const w of [...synapse].sort((a, b) => waveOf(a.name) - waveOf(b.name))) {
          const template = nextTemplates.get(w.name);
          if (!template) throw new Error(`the new render has no workload ${w.name}`);
          w.template = template;
          for (const pod of w.pods) {
            await pods.get(pod)?.process.stop();
            await launch(pod, 240_000);
            const running = [...pods].filter(([, p]) => p.process.alive()).map(([n]) => ({ pod: n, synapseVersion: versionOfPod.get(n) ?? "" })).sort((a, b) => (a.pod < b.pod ? -1 : 1));
            steps.push({ pod, wave: waveOf(w.name), synapseVersion: versionOfPod.get(pod) ?? "", running });
          }
        }
        return steps;
      },
      async waitForServerState(pool, state, deadlineMs = 30_000) {
        const until = Date.now() + deadlineMs;
        let seen = "";
        for (let i = 0; i < 300 && Date.now() < until; i++) {
          const slots = (await statsRows(`http://${haproxy.address}:8404/stats;csv`)).filter((r) => r.server.replace(/-?\d+$/, "") === pool);
          seen = slots.map((r) => `${r.backend}/${r.server} ${r.status}`).join(", ");
          if (slots.length > 0 && slots.every((r) => r.status === state)) return;
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`HAProxy did not see pool ${pool} ${state} within ${deadlineMs} ms: ${seen}`);
      },
      async stop() {
        await stopAll();
        if (!options.keep) rmSync(dir, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (e) {
    await stopAll();
    (e as Error).message += `\n(lab directory kept for inspection: ${dir})`;
    throw e;
  }
}

export interface RolloutStep {
  pod: string;
  wave: number;
  /** The Synapse version the pod runs after the step. */
  synapseVersion: string;
  /** Pods still up, and on which version, right after this one became ready. */
  running: { pod: string; synapseVersion: string }[];
}

export interface JobResult {
  ok: boolean;
  exit: string;
  output: string;
}

/**
 * Runs a rendered Job's pod to completion (bounded) and returns what it printed. `env` adds or replaces
 * variables (the lab's Kubernetes API address, shorter retry budgets for failure drills).
 */
async function runJob(k: Kubelet, objects: KubeObject[], name: string, env: Record<string, string>, extra: { volumes?: PodTemplate["spec"]["volumes"]; mounts?: { name: string; mountPath: string; readOnly?: boolean }[] } = {}, deadlineMs = 120_000): Promise<JobResult> {
  const job = objects.find((o) => o.kind === "Job" && o.metadata.name === name);
  if (!job) throw new Error(`the overlay has no Job ${name}`);
  const template = (job.spec as { template: PodTemplate }).template;
  const container = template.spec.containers[0];
  if (!container) throw new Error(`Job ${name} has no container`);
  const kept = (container.env ?? []).filter((v) => !(v.name in env));
  const withEnv: PodTemplate = {
    ...template,
    spec: {
      ...template.spec,
      volumes: [...(template.spec.volumes ?? []), ...(extra.volumes ?? [])],
      containers: [{
        ...container,
        env: [...kept, ...Object.entries(env).map(([n, value]) => ({ name: n, value }))],
        volumeMounts: [...(container.volumeMounts ?? []), ...(extra.mounts ?? [])],
      }],
    },
  };
  const pod = await startPod(k, `${name}-lab`, "127.0.0.1", withEnv);
  const until = Date.now() + deadlineMs;
  for (let i = 0; i < deadlineMs / 100 && pod.process.alive() && Date.now() < until; i++) await new Promise((r) => setTimeout(r, 100));
  if (pod.process.alive()) {
    await pod.process.stop();
    return { ok: false, exit: `still running after ${deadlineMs} ms`, output: pod.process.tail(200) };
  }
  const exit = pod.process.exit() ?? "";
  return { ok: exit === "exit code 0", exit, output: pod.process.tail(200) };
}

/**
 * Synapse's secrets, made by the in-cluster generator. With the default site that is the rendered Job; with
 * `existingSecret` (no Job rendered) the lab runs the same generator script for that Secret's keys, standing
 * in for whatever the team uses to create it.
 */
async function runSecretsJob(k: Kubelet, objects: KubeObject[], site: Site, stoppers: (() => Promise<void>)[]): Promise<void> {
  const api = await startSecretsApi(k.secrets, site.namespace);
  stoppers.push(() => api.stop());
  const env = { K8S_API_URL: api.url, SA_DIR: serviceAccountPath };
  const tokenVolume = {
    volumes: [{ name: "kube-api-access", secret: { secretName: "lab-service-account-token", defaultMode: 0o400 } }],
    mounts: [{ name: "kube-api-access", mountPath: serviceAccountPath, readOnly: true }],
  };
  k.secrets.set("lab-service-account-token", "token", api.token);
  if (objects.some((o) => o.kind === "Job" && o.metadata.name === "synapse-secrets-init")) {
    const r = await runJob(k, objects, "synapse-secrets-init", env, tokenVolume, 60_000);
    if (!r.ok) throw new Error(`synapse-secrets-init failed (${r.exit}):\n${r.output}`);
    return;
  }
  const dir = join(k.dir, "existing-secret");
  mkdirSync(join(dir, "sa"), { recursive: true });
  writeFileSync(join(dir, "sa", "token"), api.token, { mode: 0o600 });
  // Asynchronously: the Secrets API it talks to runs in this process.
  await run(join(k.image(site.images.synapse).path[0] as string, "python"), [join(repoRoot, "apps", "synapse", "init-secrets.py")], {
    encoding: "utf8", timeout: 60_000,
    env: { PATH: "/usr/bin:/bin", K8S_API_URL: api.url, SA_DIR: join(dir, "sa"), SECRET_NAMESPACE: site.namespace, SECRETS: JSON.stringify({ [site.secrets.name]: Object.values(secretKeys) }) },
  }).catch((e: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`generating site.secrets.existingSecret "${site.secrets.name}" failed: ${e.stdout ?? ""}${e.stderr ?? e.message}`);
  });
}

/** What the kubelet does for automountServiceAccountToken: the token mounted at the standard path. */
const serviceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

interface StatsRow { backend: string; server: string; status: string }

/** Server rows of HAProxy's CSV statistics, without the slots DNS left empty (MAINT (resolution)). */
async function statsRows(url: string): Promise<StatsRow[]> {
  return (await readStats(url))
    .filter((r) => r.server !== "FRONTEND" && r.server !== "BACKEND" && r.status !== "MAINT (resolution)")
    .map((r) => ({ backend: r.proxy, server: r.server, status: r.status }));
}

/** Polls until every server slot that DNS filled is UP, main among them (bounded). */
async function waitForBackends(url: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = "no statistics";
  for (let i = 0; i < 200 && Date.now() < until; i++) {
    const rows = await statsRows(url);
    const notUp = rows.filter((r) => r.status !== "UP");
    last = `${rows.length - notUp.length} of ${rows.length} servers UP${notUp.length ? `; not UP: ${notUp.slice(0, 5).map((r) => `${r.backend}/${r.server} ${r.status}`).join(", ")}` : ""}`;
    if (rows.some((r) => r.server === "main" && r.status === "UP") && notUp.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`HAProxy did not see every Synapse server UP within ${deadlineMs} ms (${last})`);
}
