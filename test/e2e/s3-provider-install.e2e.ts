/**
 * The media pods' S3 provider installer, exactly as rendered (the init container's command and the
 * requirements file from the Synapse ConfigMap), run with Synapse's Python and nothing else on PATH: no
 * pg_config, no compiler, no make. It must install only the pinned wheels, none of which the Synapse
 * environment already has, and the module must import in that environment.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureSynapse } from "../../tools/lab/toolchain.ts";
import { find, renderOverlay, repoRoot, tempDir } from "../support/repo.ts";
import { site } from "../support/site-under-test.ts";

/** What the provider needs that Synapse does not ship, written out (apps/synapse-workers/README.md). */
const expectedDistributions = [
  "boto3-1.44.8", "botocore-1.44.8", "jmespath-1.1.0", "python_dateutil-2.9.0.post0", "s3transfer-0.19.3",
  "synapse_s3_storage_provider-1.7.0",
];

/**
 * The pip arguments the deployment runs: the media pods' init container, or, where the site uses a prebuilt
 * media image (no init container), the Dockerfile's RUN line, with the requirements file from the ConfigMap.
 */
function installerArgs(objects: Awaited<ReturnType<typeof renderOverlay>>, configDir: string, modulesDir: string): string[] {
  const media = find(objects, "StatefulSet", "synapse-media");
  const init = (media.spec as { template: { spec: { initContainers?: { name: string; command: string[]; volumeMounts: { name: string; mountPath: string }[] }[] } } })
    .template.spec.initContainers?.find((c) => c.name === "install-s3-provider");
  if (init) {
    const mount = (name: string) => init.volumeMounts.find((m) => m.name === name)?.mountPath as string;
    const [command, ...args] = init.command.map((a) => a.replace(mount("config"), configDir).replace(mount("modules"), modulesDir));
    expect(command).toBe("python");
    return args;
  }
  const dockerfile = readFileSync(join(repoRoot, "apps/synapse-workers/media-image/Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const run = /^RUN pip install (.*?) -r (\S+)/m.exec(dockerfile);
  if (!run) throw new Error("the media image's Dockerfile has no `RUN pip install ... -r <file>`");
  return ["-m", "pip", "install", ...(run[1] as string).split(/\s+/).filter(Boolean), "--target", modulesDir, "-r", join(configDir, "s3-provider-requirements.txt")];
}

let python: string;
beforeAll(() => {
  python = ensureSynapse({ synapse: site.images.synapse, synapseMedia: null }).python;
}, 900_000);

describe("the S3 storage provider installer", () => {
  it("installs the pinned wheels with no build tools on PATH, shadows nothing Synapse has, and the module imports", async () => {
    const objects = await renderOverlay("ccu-1k");
    const config = (find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> }).data;
    const dir = tempDir("s3-provider");
    // The mounts, as the kubelet lays them out: the ConfigMap's files and an empty modules volume.
    mkdirSync(join(dir, "config"));
    for (const [key, text] of Object.entries(config)) writeFileSync(join(dir, "config", key), text);
    mkdirSync(join(dir, "modules"));
    // PATH holds python and nothing else.
    mkdirSync(join(dir, "bin"));
    symlinkSync(python, join(dir, "bin", "python"));
    const args = installerArgs(objects, join(dir, "config"), join(dir, "modules"));
    const r = spawnSync(join(dir, "bin", "python"), args, {
      encoding: "utf8", timeout: 600_000,
      env: { PATH: join(dir, "bin"), HOME: dir, PIP_CACHE_DIR: join(dir, "pip-cache") },
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    for (const tool of ["pg_config", "gcc", "cc", "make"]) {
      expect(spawnSync("sh", ["-c", `command -v ${tool}`], { env: { PATH: join(dir, "bin") } }).status, `${tool} is not on PATH`).not.toBe(0);
    }

    const installed = readdirSync(join(dir, "modules")).filter((e) => e.endsWith(".dist-info")).map((e) => e.replace(/\.dist-info$/, "")).sort();
    expect(installed).toEqual(expectedDistributions);
    // Nothing installed twice: no installed distribution is also in Synapse's environment (Twisted, psycopg2, ...).
    const synapseHas = spawnSync(python, ["-c", "import importlib.metadata as m; print('\\n'.join(sorted({d.metadata['Name'].lower().replace('-', '_') for d in m.distributions()})))"],
      { encoding: "utf8", timeout: 60_000 }).stdout.split("\n");
    const names = installed.map((d) => d.replace(/-[^-]+$/, "").toLowerCase());
    expect(names.filter((n) => synapseHas.includes(n))).toEqual([]);
    const imported = spawnSync(python, ["-c", "import s3_storage_provider, boto3; print(s3_storage_provider.__file__)"],
      { encoding: "utf8", timeout: 60_000, env: { PYTHONPATH: join(dir, "modules"), PATH: join(dir, "bin") } });
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toBe(join(dir, "modules", "s3_storage_provider.py"));
  });
});
