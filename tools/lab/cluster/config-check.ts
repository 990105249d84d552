/**
 * Synapse's own check of a rendered configuration: each Synapse workload's first pod is laid out as the lab
 * would run it (files through the loopback seam, mounts, init containers), and its command runs with
 * `python -m synapse.config` in place of `python -m synapse.app.<app>`: `HomeServerConfig.load_config` with
 * the same `--config-path` files, worker settings and instance_map checks included, at the version the
 * image pins. Secrets are placeholders: the loader reads the files, nothing connects anywhere.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubeObject } from "../../render/rendered.ts";
import type { Images } from "../../../apps/site/site.ts";
import { imageStandIn, labRoot, type Toolchain } from "../toolchain.ts";

type SynapseToolchain = Omit<Toolchain, "versitygw">;
import { synapseFileToLoopback } from "./loopback.ts";
import { labWorkloads } from "./workloads.ts";
import { preparePod, type Kubelet, type PodTemplate } from "./pods.ts";
import { SecretStore } from "./secrets.ts";

const run = promisify(execFile);

export interface ConfigCheck {
  pod: string;
  ok: boolean;
  /** What Synapse printed: "Config parses OK!" or its ConfigError. */
  output: string;
}

/** Placeholder values for every Secret key the templates read, in the formats Synapse parses. */
function placeholderSecrets(templates: PodTemplate[], synapseSecretKeys: Record<string, string[]>): SecretStore {
  const store = new SecretStore();
  const put = (name: string, key: string) => store.set(name, key, key.endsWith("signing.key")
    ? `ed25519 a_lab ${randomBytes(32).toString("base64").replace(/=+$/, "")}\n`
    : `placeholder-${randomBytes(8).toString("hex")}`);
  for (const t of templates) {
    for (const v of t.spec.volumes ?? []) {
      if (!v.secret) continue;
      const keys = v.secret.items?.map((i) => i.key) ?? synapseSecretKeys[v.secret.secretName] ?? [];
      for (const key of keys) put(v.secret.secretName, key);
    }
    for (const c of [...t.spec.containers, ...(t.spec.initContainers ?? [])]) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) put(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    }
  }
  return store;
}

/**
 * Checks every Synapse workload of a rendered overlay. `secretKeys` lists the keys of Secrets mounted whole
 * (the Synapse Secret). Runs two loaders at a time (two cores).
 */
export async function checkSynapseConfigs(objects: KubeObject[], synapse: SynapseToolchain, images: Images, secretKeys: Record<string, string[]>): Promise<ConfigCheck[]> {
  const workloads = labWorkloads(objects).filter((w) => w.template.metadata?.labels?.["app.kubernetes.io/name"] === "synapse");
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-config-check-"));
  const kubelet: Kubelet = {
    dir, namespace: "lab", objects, secrets: placeholderSecrets(workloads.map((w) => w.template), secretKeys),
    resolve: () => undefined,
    cacheDir: join(labRoot, "cache"),
    image: (image) => imageStandIn(synapse, images, image),
    transform: (_cm, key, text, runtime) => (key.endsWith(".yaml") ? synapseFileToLoopback(text, runtime) : text),
  };
  try {
    const queue = workloads.map((w) => ({ w, pod: w.pods[0] ?? `${w.name}-0` }));
    const results: ConfigCheck[] = [];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const prepared = preparePod(kubelet, item.pod, "127.0.0.1", item.w.template, item.w.claims);
        // `python -m synapse.app.x` as separate arguments (main) or inside `sh -c "... exec python -m ..."` (workers).
        const argv = prepared.argv.map((a, i) => (prepared.argv[i - 1] === "-m" && /^synapse\.app\.[a-z_]+$/.test(a) ? "synapse.config"
          : a.replace(/-m synapse\.app\.[a-z_]+/, "-m synapse.config")));
        if (argv.join(" ") === prepared.argv.join(" ")) throw new Error(`${item.pod}: no "python -m synapse.app.*" in its command`);
        try {
          const r = await run(argv[0] as string, argv.slice(1), { env: prepared.env, cwd: prepared.dir, timeout: 120_000, encoding: "utf8" });
          results.push({ pod: item.pod, ok: r.stdout.includes("Config parses OK!"), output: `${r.stdout}${r.stderr}`.trim() });
        } catch (e) {
          const err = e as { stdout?: string; stderr?: string; message: string };
          results.push({ pod: item.pod, ok: false, output: `${err.stdout ?? ""}${err.stderr ?? err.message}`.trim() });
        }
      }
    };
    await Promise.all([worker(), worker()]);
    return results.sort((a, b) => (a.pod < b.pod ? -1 : 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
