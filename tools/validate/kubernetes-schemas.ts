/**
 * kubeconform's schemas, offline: Kubernetes' own OpenAPI document (`api/openapi-spec/swagger.json` of the
 * `k8s.io/kubernetes` module at the version kubeconform checks against, from the Go module proxy) turned into
 * one strict, self-contained JSON Schema per kind, as kubeconform's standalone-strict registry lays them out:
 * `additionalProperties: false` wherever the API defines the fields, IntOrString and Quantity accepting a
 * number or a string. Custom resources get theirs from `writeCrdSchemas` (kubeconform.ts), in the same tree.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goModuleDir, toolsRoot } from "./go-tools.ts";

export const kubernetesOpenApi = { module: "k8s.io/kubernetes", version: "v1.33.0" } as const;
/** kubeconform's `-schema-location` template for the directory `ensureKubernetesSchemas` writes. */
export const coreSchemaTemplate = "{{.ResourceKind}}{{.KindSuffix}}.json";

type Schema = Record<string, unknown>;
interface Gvk { group: string; version: string; kind: string }

const refPrefix = "#/definitions/";
/** Types the API writes as strings that YAML (and the API server) also accepts as numbers. */
const numberOrString: Record<string, Schema> = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { oneOf: [{ type: "string" }, { type: "integer" }] },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
};

function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== "object") return schema;
  const s = Object.fromEntries(Object.entries(schema as Schema).map(([k, v]) => [k, strict(v)])) as Schema;
  if (s.properties && s.additionalProperties === undefined && !s["x-kubernetes-preserve-unknown-fields"]) s.additionalProperties = false;
  return s;
}

function refsOf(schema: unknown, into: Set<string>): void {
  if (Array.isArray(schema)) { schema.forEach((x) => refsOf(x, into)); return; }
  if (!schema || typeof schema !== "object") return;
  for (const [k, v] of Object.entries(schema as Schema)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith(refPrefix)) into.add(v.slice(refPrefix.length));
    else refsOf(v, into);
  }
}

/** The definition and every definition it reaches, each under `definitions`, so the file stands alone. */
function standalone(name: string, definitions: Record<string, Schema>): Schema {
  const reached = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const next = queue.pop() as string;
    if (reached.has(next)) continue;
    reached.add(next);
    const found = new Set<string>();
    refsOf(definitions[next], found);
    queue.push(...found);
  }
  reached.delete(name);
  const defs = Object.fromEntries([...reached].sort().map((d) => [d, numberOrString[d] ?? strict(definitions[d])]));
  return { $schema: "http://json-schema.org/schema#", ...(strict(definitions[name]) as Schema), definitions: defs };
}

/**
 * Writes `<dir>/<kind>-<group prefix>-<version>.json` (`deployment-apps-v1.json`, `configmap-v1.json`) for every
 * kind of the OpenAPI document: kubeconform's `{{.ResourceKind}}{{.KindSuffix}}.json` layout. Built once.
 */
export function ensureKubernetesSchemas(): string {
  // Keyed by this converter's own source too: a change to the conversion writes a fresh tree.
  const converter = createHash("sha256").update(readFileSync(new URL(import.meta.url))).digest("hex").slice(0, 12);
  const dir = join(toolsRoot, `kubeconform-schemas-${kubernetesOpenApi.version}-${converter}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  const swagger = JSON.parse(readFileSync(join(goModuleDir(kubernetesOpenApi.module, kubernetesOpenApi.version), "api/openapi-spec/swagger.json"), "utf8")) as { definitions: Record<string, Schema> };
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const [name, def] of Object.entries(swagger.definitions)) {
    for (const gvk of (def["x-kubernetes-group-version-kind"] as Gvk[] | undefined) ?? []) {
      // Kinds every API group repeats (DeleteOptions, WatchEvent) are not resources anyone writes.
      if (!name.includes(`.${gvk.version}.`) || name.startsWith("io.k8s.apimachinery.")) continue;
      const suffix = gvk.group ? `-${gvk.group.split(".")[0]}-${gvk.version}` : `-${gvk.version}`;
      mkdirSync(staging, { recursive: true });
      writeFileSync(join(staging, `${gvk.kind.toLowerCase()}${suffix}.json`), JSON.stringify(standalone(name, swagger.definitions)));
    }
  }
  writeFileSync(join(staging, ".complete"), `${kubernetesOpenApi.module}@${kubernetesOpenApi.version}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}
