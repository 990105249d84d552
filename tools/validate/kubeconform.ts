/**
 * kubeconform, the validator of record for PR pipelines: strict, against the pinned Kubernetes version,
 * with JSON schemas for this repo's custom resources written next to the rendered files so it needs no
 * network for them. Runs only where `kubeconform` is on PATH (the PR workflow installs it); the in-process
 * strict check covers the same ground everywhere else.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubeObject } from "../render/rendered.ts";
import { coreSchemaTemplate } from "./kubernetes-schemas.ts";
import type { StrictFieldChecker } from "./strict-fields.ts";

const run = promisify(execFile);
export const kubernetesVersion = "1.33.0";
export const crdSchemaTemplate = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json";

export function kubeconformAvailable(): boolean {
  return spawnSync("kubeconform", ["-v"], { encoding: "utf8" }).status === 0;
}

/** Kinds that are not part of Kubernetes itself (their group contains a dot and is not *.k8s.io). */
export function isCustomResource(apiVersion: string): boolean {
  const group = apiVersion.includes("/") ? (apiVersion.split("/")[0] as string) : "";
  return group.includes(".") && !group.endsWith(".k8s.io");
}

/** Writes `<dir>/<group>/<kind>_<version>.json` for every custom resource kind among the objects. */
export function writeCrdSchemas(objects: KubeObject[], dir: string, checker: StrictFieldChecker): string[] {
  const written: string[] = [];
  const seen = new Set<string>();
  for (const o of objects.filter((x) => isCustomResource(x.apiVersion))) {
    const key = `${o.apiVersion}/${o.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const [group, version] = o.apiVersion.split("/") as [string, string];
    const file = join(dir, group, `${o.kind.toLowerCase()}_${version}.json`);
    mkdirSync(join(dir, group), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ $schema: "http://json-schema.org/draft-07/schema#", ...checker.jsonSchema(o.apiVersion, o.kind) }, null, 2)}\n`);
    written.push(file);
  }
  return written.sort();
}

/**
 * kubeconform's arguments: flags first, then the files (it stops reading flags at the first file). Core
 * schemas come from `coreSchemas` (a directory laid out by kubernetes-schemas.ts, or "default": kubeconform's
 * registry on the network); custom resources from `crdDir`.
 */
export function kubeconformArgs(crdDir: string, files: string[], coreSchemas: string = "default"): string[] {
  return [
    "-strict", "-summary", "-output", "json",
    "-kubernetes-version", kubernetesVersion,
    "-schema-location", coreSchemas === "default" ? "default" : join(coreSchemas, coreSchemaTemplate),
    "-schema-location", join(crdDir, crdSchemaTemplate),
    ...files,
  ];
}

export interface KubeconformResult {
  ok: boolean;
  problems: string[];
}

export async function runKubeconform(crdDir: string, files: string[], binary = "kubeconform", coreSchemas = "default"): Promise<KubeconformResult> {
  try {
    await run(binary, kubeconformArgs(crdDir, files, coreSchemas), { timeout: 300_000, maxBuffer: 32 * 1024 * 1024 });
    return { ok: true, problems: [] };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const problems: string[] = [];
    try {
      const report = JSON.parse(err.stdout ?? "") as { resources?: { filename: string; kind: string; name: string; status: string; msg: string }[] };
      for (const r of report.resources ?? []) if (r.status !== "statusValid" && r.status !== "statusSkipped") problems.push(`${r.kind}/${r.name}: ${r.msg}`);
    } catch {
      problems.push((err.stderr || err.message).trim());
    }
    return { ok: false, problems };
  }
}
