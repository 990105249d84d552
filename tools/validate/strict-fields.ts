/**
 * Strict schema check: rejects fields the schema does not define (a typo such as `replica:` or
 * `readinesProbe:` that Kubernetes would silently drop). kubernetes-models' own validation checks types and
 * required fields but lets unknown fields through. The field schemas come from the TypeScript declarations
 * those packages generate from the Kubernetes and CRD OpenAPI schemas: the TypeScript checker turns a kind's
 * declaration into a strict JSON Schema once, and the schema is kept in node_modules/.cache, keyed by the
 * packages' versions and this file, so a build does not load the compiler again.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type ts from "typescript";
import { modelFile, modelPackages } from "../emit/model-registry.ts";
import { repoRoot } from "../emit/load-config.ts";

export interface KubeLike {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}

export type JsonSchema = {
  type?: "object" | "array" | "string" | "number" | "boolean";
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | false;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
};

const keyOf = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

/** A JSON Schema (draft 7) per kind from the declarations, strict like kubeconform's. Loads the compiler. */
export async function declarationSchemas(kinds: { apiVersion: string; kind: string; file: string }[]): Promise<Map<string, JsonSchema>> {
  return interfaceSchemas(kinds.map((k) => ({ key: keyOf(k.apiVersion, k.kind), file: `${k.file}.d.ts`, name: `I${k.kind}` })));
}

/**
 * A strict JSON Schema for each named interface of a declaration file (`additionalProperties: false` where the
 * interface has no index signature): kubernetes-models' kinds, or any other generated declarations.
 */
export async function interfaceSchemas(targets: { key: string; file: string; name: string }[]): Promise<Map<string, JsonSchema>> {
  const { default: typescript } = await import("typescript");
  const program = typescript.createProgram([...new Set(targets.map((t) => t.file))], {
    noEmit: true, skipLibCheck: true, types: [], module: typescript.ModuleKind.NodeNext,
    moduleResolution: typescript.ModuleResolutionKind.NodeNext, target: typescript.ScriptTarget.ES2022,
  });
  const checker = program.getTypeChecker();
  const F = typescript.TypeFlags;

  const toSchema = (type: ts.Type, stack: Set<ts.Type>): JsonSchema => {
    const t = checker.getNonNullableType(type);
    if (t.flags & (F.Any | F.Unknown | F.NonPrimitive)) return {};
    if (t.flags & F.StringLiteral) return { type: "string", enum: [(t as ts.StringLiteralType).value] };
    if (t.flags & F.StringLike) return { type: "string" };
    if (t.flags & F.NumberLike) return { type: "number" };
    if (t.flags & F.BooleanLike) return { type: "boolean" };
    if (t.isUnion()) {
      // The checker orders a union's members by when it created their types, which depends on the other
      // files in the program: sorted, a kind's schema is the same however it was derived.
      const members = t.types.filter((m) => !(m.flags & (F.Null | F.Undefined)));
      if (members.every((m) => m.flags & F.StringLiteral)) return { type: "string", enum: members.map((m) => (m as ts.StringLiteralType).value).sort() };
      if (members.every((m) => m.flags & F.BooleanLiteral)) return { type: "boolean" };
      const anyOf = members.map((m) => toSchema(m, stack)).map((x) => [JSON.stringify(x), x] as const);
      return { anyOf: anyOf.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, x]) => x) };
    }
    // A type that contains itself accepts anything below the repetition (no kind used here has one).
    if (stack.has(t)) return {};
    stack.add(t);
    try {
      const element = checker.isArrayType(t) ? checker.getIndexTypeOfType(t, typescript.IndexKind.Number) : undefined;
      if (element) return { type: "array", items: toSchema(element, stack) };
      const index = checker.getIndexTypeOfType(t, typescript.IndexKind.String);
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const prop of checker.getPropertiesOfType(t)) {
        properties[prop.name] = toSchema(checker.getTypeOfSymbol(prop), stack);
        if (!(prop.flags & typescript.SymbolFlags.Optional)) required.push(prop.name);
      }
      return {
        type: "object",
        ...(Object.keys(properties).length > 0 ? { properties } : {}),
        ...(required.length > 0 ? { required } : {}),
        additionalProperties: index ? toSchema(index, stack) : false,
      };
    } finally {
      stack.delete(t);
    }
  };

  const schemas = new Map<string, JsonSchema>();
  for (const t of targets) {
    const source = program.getSourceFile(t.file);
    const decl = source?.statements.find((s): s is ts.InterfaceDeclaration => typescript.isInterfaceDeclaration(s) && s.name.text === t.name);
    if (decl) schemas.set(t.key, toSchema(checker.getTypeAtLocation(decl.name), new Set()));
  }
  return schemas;
}

let cacheDirectory: string | undefined;

/** node_modules/.cache/matrix-gitops/field-schemas-<hash of the packages' versions and this source>. */
export function fieldSchemaCacheDir(): string {
  if (!cacheDirectory) {
    const require = createRequire(join(repoRoot, "package.json"));
    const hash = createHash("sha256").update(readFileSync(new URL(import.meta.url)));
    for (const pkg of ["typescript", ...modelPackages]) {
      hash.update(`${pkg}@${(require(`${pkg}/package.json`) as { version: string }).version}\n`);
    }
    cacheDirectory = join(repoRoot, "node_modules/.cache/matrix-gitops", `field-schemas-${hash.digest("hex").slice(0, 16)}`);
  }
  return cacheDirectory;
}

/** Fields of `value` a strict schema does not define, as paths (`spec.template.spec.containers[0].readinesProbe`). */
export function unknownFieldsIn(value: unknown, schema: JsonSchema): string[] {
  const found: string[] = [];
  walk(value, schema, "", found);
  return found;
}

function walk(value: unknown, schema: JsonSchema, path: string, found: string[]): void {
  if (value === null || typeof value !== "object") return;
  if (schema.anyOf) {
    const candidates = schema.anyOf.filter((s) => s.type !== "string" && s.type !== "number" && s.type !== "boolean");
    // The first alternative that accepts every field wins; otherwise report against the first.
    const attempts = candidates.map((c) => { const f: string[] = []; walk(value, c, path, f); return f; });
    found.push(...(attempts.find((f) => f.length === 0) ?? attempts[0] ?? []));
    return;
  }
  if (Array.isArray(value)) {
    if (schema.type === "array" && schema.items) value.forEach((v, i) => walk(v, schema.items as JsonSchema, `${path}[${i}]`, found));
    return;
  }
  if (schema.type !== "object") return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${key}` : key;
    const known = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (known) walk(child, known, at, found);
    else if (schema.additionalProperties) walk(child, schema.additionalProperties, at, found);
    else found.push(at);
  }
}

export class StrictFieldChecker {
  private readonly schemas: Map<string, JsonSchema>;

  private constructor(schemas: Map<string, JsonSchema>) {
    this.schemas = schemas;
  }

  /** The field schemas of every kind the objects use: from the cache, the rest from the declarations. */
  static async load(objects: KubeLike[]): Promise<StrictFieldChecker> {
    const schemas = new Map<string, JsonSchema>();
    const missing = new Map<string, { apiVersion: string; kind: string; file: string }>();
    const dir = fieldSchemaCacheDir();
    for (const o of objects) {
      const [apiVersion, kind] = [String(o.apiVersion), String(o.kind)];
      const key = keyOf(apiVersion, kind);
      if (schemas.has(key) || missing.has(key)) continue;
      const file = modelFile(apiVersion, kind);
      if (!file) continue;
      const cached = join(dir, `${key.replaceAll("/", "_")}.json`);
      if (existsSync(cached)) schemas.set(key, JSON.parse(readFileSync(cached, "utf8")) as JsonSchema);
      else missing.set(key, { apiVersion, kind, file });
    }
    if (missing.size > 0) {
      mkdirSync(dir, { recursive: true });
      for (const [key, schema] of await declarationSchemas([...missing.values()])) {
        schemas.set(key, schema);
        const cached = join(dir, `${key.replaceAll("/", "_")}.json`);
        writeFileSync(`${cached}.tmp-${process.pid}`, JSON.stringify(schema));
        renameSync(`${cached}.tmp-${process.pid}`, cached);
      }
    }
    return new StrictFieldChecker(schemas);
  }

  /** Paths of fields the schema does not define; throws when the kind has no declaration at all. */
  unknownFields(o: KubeLike): string[] {
    return unknownFieldsIn(o, this.jsonSchema(String(o.apiVersion), String(o.kind)));
  }

  /**
   * A JSON Schema (draft 7) of a kind, strict like kubeconform's: `additionalProperties: false` on every
   * object without an index signature. Used to give kubeconform offline schemas for custom resources.
   */
  jsonSchema(apiVersion: string, kind: string): JsonSchema {
    const schema = this.schemas.get(keyOf(apiVersion, kind));
    if (!schema) throw new Error(`no schema declaration for ${apiVersion} ${kind}`);
    return schema;
  }
}
