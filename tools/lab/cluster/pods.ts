/**
 * A small kubelet for the lab: runs a rendered pod template's containers as local processes. Volumes become
 * directories (ConfigMap and Secret files written, emptyDirs and claims empty), environment variables are
 * resolved from values, Secrets and the downward API, init containers run to completion first, and the
 * command line is the container's own with its paths moved by the loopback seam. Images map to what the lab
 * installed: the Synapse image's `python` is the virtualenv's, HAProxy's `haproxy` is Debian's 2.6.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "../../render/rendered.ts";
import { envValueToLoopback, mapPathsInText, type Mount, type PodRuntime } from "./loopback.ts";
import { httpOk, startProcess, waitUntil, type LabProcess } from "./processes.ts";
import type { SecretStore } from "./secrets.ts";
import type { ImageStandIn } from "../toolchain.ts";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  emptyDir?: object;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { containers: ContainerSpec[]; initContainers?: ContainerSpec[]; volumes?: Volume[] };
}

/** Transforms a ConfigMap file for one pod (the loopback seam); returns the text unchanged when not its kind. */
export type FileTransform = (configMap: string, key: string, text: string, runtime: PodRuntime) => string;

export interface Kubelet {
  dir: string;
  namespace: string;
  objects: KubeObject[];
  secrets: SecretStore;
  /** What stands in for a container image: PATH directories and the image's own environment. */
  image(image: string): ImageStandIn;
  transform: FileTransform;
  resolve(name: string): string | undefined;
  /** Cache for init containers' output volumes, keyed by the container spec. */
  cacheDir: string;
}

export interface PodInstance {
  name: string;
  address: string;
  runtime: PodRuntime;
  process: LabProcess;
  container: ContainerSpec;
  /** URL of the readiness probe (or undefined when the container has none). */
  readyUrl: string | undefined;
}

function configMapData(k: Kubelet, name: string): Record<string, string> {
  const cm = k.objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name) as { data?: Record<string, string> } | undefined;
  if (!cm) throw new Error(`ConfigMap ${name} is not in the rendered objects`);
  return cm.data ?? {};
}

function envOf(k: Kubelet, pod: string, c: ContainerSpec, runtime: PodRuntime): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    if (v.value !== undefined) env[v.name] = envValueToLoopback(v.value, runtime);
    else if (v.valueFrom?.secretKeyRef) env[v.name] = k.secrets.get(v.valueFrom.secretKeyRef.name, v.valueFrom.secretKeyRef.key);
    else if (v.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[v.name] = pod;
    else if (v.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[v.name] = k.namespace;
    else throw new Error(`${pod}: env ${v.name} uses a source the lab does not provide`);
  }
  return env;
}

function commandOf(c: ContainerSpec, mounts: Mount[]): string[] {
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => mapPathsInText(a, mounts));
  if (argv.length === 0) throw new Error(`container ${c.name} has no command; the lab needs the image's entrypoint spelt out`);
  return argv;
}

function specHash(c: ContainerSpec): string {
  return createHash("sha256").update(JSON.stringify([c.image, c.command, c.args, c.env])).digest("hex").slice(0, 16);
}

export class PodFailed extends Error {}

export interface PreparedPod {
  runtime: PodRuntime;
  container: ContainerSpec;
  /** The container's command line with its paths moved, and its environment. */
  argv: string[];
  env: Record<string, string>;
  dir: string;
}

/**
 * Lays out the pod's volumes and runs its init containers: everything but starting the container.
 * `claims` names the volumeClaimTemplates (StatefulSet), which get a directory of their own per pod.
 */
export function preparePod(k: Kubelet, pod: string, address: string, template: PodTemplate, claims: string[] = []): PreparedPod {
  const podDir = join(k.dir, "pods", pod);
  rmSync(podDir, { recursive: true, force: true });
  mkdirSync(podDir, { recursive: true });
  const volumeDirs = new Map<string, string>();
  for (const name of claims) volumeDirs.set(name, join(podDir, "volumes", name));
  for (const v of template.spec.volumes ?? []) volumeDirs.set(v.name, join(podDir, "volumes", v.name));
  const runtimeFor = (c: ContainerSpec): PodRuntime => ({
    address,
    resolve: k.resolve,
    mounts: (c.volumeMounts ?? []).map((m) => {
      const hostPath = volumeDirs.get(m.name);
      if (!hostPath) throw new PodFailed(`${pod}: container ${c.name} mounts volume ${m.name}, which the pod does not define`);
      return { mountPath: m.mountPath, hostPath };
    }),
  });
  const main = template.spec.containers[0];
  if (!main) throw new PodFailed(`${pod}: the pod template has no container`);
  for (const dir of volumeDirs.values()) mkdirSync(dir, { recursive: true });
  // ConfigMap files are written per pod: the seam gives each pod its own addresses and paths.
  const mainRuntime = runtimeFor(main);
  for (const v of template.spec.volumes ?? []) {
    const dir = volumeDirs.get(v.name) as string;
    if (v.configMap) {
      const data = configMapData(k, v.configMap.name);
      const items = v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const { key, path } of items) {
        const text = data[key];
        if (text === undefined) throw new PodFailed(`${pod}: ConfigMap ${v.configMap.name} has no key ${key}`);
        writeFileSync(join(dir, path), k.transform(v.configMap.name, key, text, mainRuntime));
      }
    } else if (v.secret) {
      const name = v.secret.secretName;
      if (!k.secrets.has(name)) throw new PodFailed(`${pod}: MountVolume.SetUp failed for volume "${v.name}": secret "${name}" not found`);
      const items = v.secret.items ?? k.secrets.keys(name).map((key) => ({ key, path: key }));
      for (const { key, path } of items) writeFileSync(join(dir, path), k.secrets.get(name, key), { mode: v.secret.defaultMode ?? 0o644 });
    }
  }
  for (const init of template.spec.initContainers ?? []) runInit(k, pod, init, runtimeFor(init), volumeDirs);
  const runtime = runtimeFor(main);
  const image = k.image(main.image);
  const path = [...image.path, "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].join(":");
  return { runtime, container: main, argv: commandOf(main, runtime.mounts), env: { PATH: path, LANG: "C.UTF-8", ...image.env, ...envOf(k, pod, main, runtime) }, dir: podDir };
}

/** Prepares the pod and starts its first container. */
export async function startPod(k: Kubelet, pod: string, address: string, template: PodTemplate, claims: string[] = []): Promise<PodInstance> {
  const { runtime, container: main, argv, env, dir } = preparePod(k, pod, address, template, claims);
  const process = startProcess({
    name: pod,
    command: argv[0] as string,
    args: argv.slice(1),
    env,
    cwd: dir,
    logFile: join(dir, `${main.name}.log`),
  });
  const probe = main.readinessProbe?.httpGet;
  const port = typeof probe?.port === "number" ? probe.port : main.ports?.find((p) => p.name === probe?.port)?.containerPort;
  return { name: pod, address, runtime, process, container: main, readyUrl: probe && port ? `http://${address}:${port}${probe.path}` : undefined };
}

/** Runs an init container to completion. Its writable output volumes are cached by its spec: the second pod reuses them. */
function runInit(k: Kubelet, pod: string, c: ContainerSpec, runtime: PodRuntime, volumeDirs: Map<string, string>): void {
  const outputs = (c.volumeMounts ?? []).filter((m) => !m.readOnly && m.mountPath !== "/tmp");
  const cache = join(k.cacheDir, `init-${specHash(c)}`);
  if (!existsSync(cache)) {
    const argv = commandOf(c, runtime.mounts);
    const image = k.image(c.image);
    const path = [...image.path, "/usr/bin", "/bin"].join(":");
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 600_000, env: { PATH: path, ...image.env, ...envOf(k, pod, c, runtime) } });
    if (r.status !== 0) throw new PodFailed(`${pod}: init container ${c.name} failed (${r.error?.message ?? `exit ${r.status}`}):\n${`${r.stdout}${r.stderr}`.slice(-2000)}`);
    const staging = `${cache}.tmp-${process.pid}`;
    for (const m of outputs) cpSync(volumeDirs.get(m.name) as string, join(staging, m.name), { recursive: true });
    renameSync(staging, cache);
  }
  // Later containers mount these volumes read-only, so every pod can share the cached copy.
  for (const m of outputs) volumeDirs.set(m.name, join(cache, m.name));
}

/** Waits for the readiness probe (bounded); a process that exits first fails with the end of its log. */
export async function waitReady(p: PodInstance, deadlineMs: number): Promise<void> {
  const url = p.readyUrl;
  if (!url) return;
  await waitUntil(p.process, `ready (GET ${url} answers 200)`, deadlineMs, () => httpOk(url), 300);
}
