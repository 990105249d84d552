/**
 * Maps `apiVersion` + `kind` to the kubernetes-models class that validates it, for core kinds and for every
 * custom resource this repo uses. A rendered object whose kind is not here has no schema: that is an error.
 * Each kind's module is imported on first use: importing whole packages cost a second of every build.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./load-config.ts";

/** Packages laid out as `<package>/<group>/<version>/<Kind>.js` (core kinds: `<package>/<version>/<Kind>.js`). */
export const modelPackages = [
  "kubernetes-models",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/cert-manager",
  "@kubernetes-models/argo-cd",
  "@kubernetes-models/sealed-secrets",
  "@kubernetes-models/external-secrets",
];

/** The model's file without its extension (`.js` holds the class, `.d.ts` its declaration), if any package has it. */
export function modelFile(apiVersion: string, kind: string): string | undefined {
  const parts = apiVersion.split("/");
  // Only names an API can have: nothing here may climb out of node_modules.
  if (parts.length > 2 || !parts.every((p) => /^[a-z0-9][a-z0-9.-]*$/.test(p)) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  for (const pkg of modelPackages) {
    const file = join(repoRoot, "node_modules", pkg, ...parts, kind);
    if (existsSync(`${file}.js`) && existsSync(`${file}.d.ts`)) return file;
  }
  return undefined;
}

export interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

const loaded = new Map<string, Promise<ModelClass | undefined>>();

/** The class of a kind, or undefined when no package defines it. */
export function loadModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  let model = loaded.get(key);
  if (!model) {
    const file = modelFile(apiVersion, kind);
    model = file
      ? import(pathToFileURL(`${file}.js`).href).then((m: Record<string, unknown>) => {
        const cls = m[kind] as ModelClass | undefined;
        return cls?.apiVersion === apiVersion && cls.kind === kind ? cls : undefined;
      })
      : Promise.resolve(undefined);
    loaded.set(key, model);
  }
  return model;
}

export class SchemaError extends Error {
  readonly object: string;

  constructor(object: string, message: string) {
    super(`${object}: ${message}`);
    this.name = "SchemaError";
    this.object = object;
  }
}

interface Typed { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } }

/** Validates with a model already loaded (`undefined`: the kind has none); throws SchemaError. */
export function validateWithModel(obj: Typed, Model: ModelClass | undefined): void {
  const id = `${String(obj.kind)}/${String(obj.metadata?.name ?? "(unnamed)")}`;
  if (!Model) throw new SchemaError(id, `no schema for apiVersion ${String(obj.apiVersion)} kind ${String(obj.kind)}`);
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new SchemaError(id, (e as Error).message);
  }
}

/** Validates a plain object (as parsed from rendered YAML) against its schema; rejects with SchemaError. */
export async function validateAgainstSchema(obj: Typed): Promise<void> {
  validateWithModel(obj, await loadModel(String(obj.apiVersion), String(obj.kind)));
}
