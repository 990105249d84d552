/**
 * The lab catches a broken generated configuration and says which process failed and what Synapse said:
 * each case breaks one thing in the rendered ccu-1k overlay (or, for the collation, in the database the
 * lab creates) and expects startLab or a client step to fail with that process's name and Synapse's error.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../../tools/emit/load-config.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered, type KubeObject } from "../../tools/render/rendered.ts";
import { startLab } from "../../tools/lab/cluster/lab.ts";
import { login, pngImage, StepRunner } from "./matrix-steps.ts";

async function rendered(): Promise<KubeObject[]> {
  return parseRendered(await kustomizeBuild(join(repoRoot, "overlays", "ccu-1k")));
}

function configMap(objects: KubeObject[], name: string): Record<string, string> {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name) as { data: Record<string, string> } | undefined;
  if (!cm) throw new Error(`no ConfigMap ${name}`);
  return cm.data;
}

function editHomeserver(objects: KubeObject[], edit: (config: Record<string, any>) => void): KubeObject[] {
  const data = configMap(objects, "synapse-config");
  const config = parse(data["homeserver.yaml"] as string) as Record<string, any>;
  edit(config);
  data["homeserver.yaml"] = stringify(config);
  return objects;
}

describe("a broken configuration fails the lab with the process's name and Synapse's own error", () => {
  it("a stream writer missing from instance_map", async () => {
    const objects = editHomeserver(await rendered(), (c) => { delete c.instance_map["synapse-event-persister-1"]; });
    await expect(startLab({ tier: "ccu-1k", objects })).rejects.toThrow(/synapse-main-0 exited[\s\S]*synapse-event-persister-1[\s\S]*instance_map/);
  });

  it("a wrong Redis password path", async () => {
    const objects = editHomeserver(await rendered(), (c) => { c.redis.password_path = "/secrets/redis/passwd"; });
    await expect(startLab({ tier: "ccu-1k", objects })).rejects.toThrow(/synapse-main-0 exited[\s\S]*(No such file|Error accessing file)[\s\S]*passwd/);
  });

  it("a database with the wrong collation", async () => {
    await expect(startLab({ tier: "ccu-1k", postgresCollation: "C.UTF-8" })).rejects.toThrow(/synapse-main-0 exited[\s\S]*incorrect collation/);
  });

  it("a route sent to the wrong pool: media uploads to generic workers", async () => {
    const objects = await rendered();
    const data = configMap(objects, "haproxy-config");
    const cfg = data["haproxy.cfg"] as string;
    const broken = cfg.replace(/use_backend be_media_leastconn if (\S+ )?route_media/, "use_backend be_generic_roundrobin if $1route_media");
    expect(broken).not.toBe(cfg);
    data["haproxy.cfg"] = broken;
    const lab = await startLab({ tier: "ccu-1k", objects });
    try {
      lab.registerUser("carol", "carol-lab-password");
      const carol = await login(lab.clientUrl, "carol", "carol-lab-password");
      const steps = new StepRunner(lab.haproxyLog);
      await expect(steps.step("media upload", { method: "POST", path: /^\/_matrix\/media\/v3\/upload$/, pool: "media" },
        () => carol.uploadContent(pngImage(), { name: "x.png", type: "image/png" }))).rejects.toThrow(/M_UNRECOGNIZED|Unrecognized request/);
      expect(steps.records.length).toBe(0);
      // The log names the process that got it (HAProxy writes the line after the response: wait for it, bounded).
      let served = lab.haproxyLog.since(0).filter((r) => r.path.startsWith("/_matrix/media/v3/upload"));
      for (let i = 0; i < 50 && served.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        served = lab.haproxyLog.since(0).filter((r) => r.path.startsWith("/_matrix/media/v3/upload"));
      }
      expect(served.map((r) => `${r.backend}/${r.server.replace(/-?\d+$/, "")} ${r.status}`)).toEqual(["be_generic_roundrobin/generic 404"]);
    } finally {
      await lab.stop();
    }
  });
});
