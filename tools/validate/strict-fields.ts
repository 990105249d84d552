/**
 * Strict schema check: rejects fields the schema does not define (a typo such as `replica:` or
 * `readinesProbe:` that Kubernetes would silently drop). kubernetes-models' own validation checks types and
 * required fields but lets unknown fields through; this walks each object against the TypeScript
 * declarations those packages generate from the Kubernetes and CRD OpenAPI schemas, offline.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "../emit/load-config.ts";

const packageRoots = [
  "kubernetes-models",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/cert-manager",
  "@kubernetes-models/argo-cd",
];

export interface KubeLike {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}

function declarationFile(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const dir = group ? `${group}/${version}` : (version as string);
  for (const root of packageRoots) {
    const file = join(repoRoot, "node_modules", root, dir, `${kind}.d.ts`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export class StrictFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly program: ts.Program;
  private readonly files = new Map<string, string>();

  /** One program for every kind the objects use (type-checking the declarations once). */
  constructor(objects: KubeLike[]) {
    for (const o of objects) {
      const key = `${String(o.apiVersion)}/${String(o.kind)}`;
      const file = declarationFile(String(o.apiVersion), String(o.kind));
      if (file) this.files.set(key, file);
    }
    this.program = ts.createProgram([...new Set(this.files.values())], {
      noEmit: true, skipLibCheck: true, types: [], module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    this.checker = this.program.getTypeChecker();
  }

  private rootType(apiVersion: string, kind: string): ts.Type | undefined {
    const file = this.files.get(`${apiVersion}/${kind}`);
    const source = file ? this.program.getSourceFile(file) : undefined;
    if (!source) return undefined;
    for (const statement of source.statements) {
      if (ts.isInterfaceDeclaration(statement) && statement.name.text === `I${kind}`) return this.checker.getTypeAtLocation(statement.name);
    }
    return undefined;
  }

  /** Paths of fields the schema does not define; throws when the kind has no declaration at all. */
  unknownFields(o: KubeLike): string[] {
    const type = this.rootType(String(o.apiVersion), String(o.kind));
    if (!type) throw new Error(`no schema declaration for ${String(o.apiVersion)} ${String(o.kind)}`);
    const found: string[] = [];
    this.walk(o, type, "", found);
    return found;
  }

  /**
   * A JSON Schema (draft 7) of a kind, strict like kubeconform's: `additionalProperties: false` on every
   * object without an index signature. Used to give kubeconform offline schemas for custom resources.
   */
  jsonSchema(apiVersion: string, kind: string): Record<string, unknown> {
    const type = this.rootType(apiVersion, kind);
    if (!type) throw new Error(`no schema declaration for ${apiVersion} ${kind}`);
    return this.toSchema(type, new Set());
  }

  private toSchema(type: ts.Type, stack: Set<ts.Type>): Record<string, unknown> {
    const t = this.checker.getNonNullableType(type);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive)) return {};
    if (t.flags & ts.TypeFlags.StringLiteral) return { type: "string", enum: [(t as ts.StringLiteralType).value] };
    if (t.flags & ts.TypeFlags.StringLike) return { type: "string" };
    if (t.flags & ts.TypeFlags.NumberLike) return { type: "number" };
    if (t.flags & ts.TypeFlags.BooleanLike) return { type: "boolean" };
    if (t.isUnion()) {
      const members = t.types.filter((m) => !(m.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
      if (members.every((m) => m.flags & ts.TypeFlags.StringLiteral)) return { type: "string", enum: members.map((m) => (m as ts.StringLiteralType).value) };
      if (members.every((m) => m.flags & ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
      return { anyOf: members.map((m) => this.toSchema(m, stack)) };
    }
    if (stack.has(t)) return {};
    stack.add(t);
    try {
      const element = this.checker.isArrayType(t) ? this.checker.getIndexTypeOfType(t, ts.IndexKind.Number) : undefined;
      if (element) return { type: "array", items: this.toSchema(element, stack) };
      const index = this.checker.getIndexTypeOfType(t, ts.IndexKind.String);
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const prop of this.checker.getPropertiesOfType(t)) {
        properties[prop.name] = this.toSchema(this.checker.getTypeOfSymbol(prop), stack);
        if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
      }
      return {
        type: "object",
        ...(Object.keys(properties).length > 0 ? { properties } : {}),
        ...(required.length > 0 ? { required } : {}),
        additionalProperties: index ? this.toSchema(index, stack) : false,
      };
    } finally {
      stack.delete(t);
    }
  }

  private walk(value: unknown, type: ts.Type, path: string, found: string[]): void {
    if (value === null || value === undefined || typeof value !== "object") return;
    const t = this.checker.getNonNullableType(type);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive)) return;
    if (t.isUnion()) {
      const candidates = t.types.filter((m) => !(m.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
      if (candidates.length === 0) return;
      // The first alternative that accepts every field wins; otherwise report against the first.
      const attempts = candidates.map((c) => { const f: string[] = []; this.walk(value, c, path, f); return f; });
      found.push(...(attempts.find((f) => f.length === 0) ?? attempts[0] ?? []));
      return;
    }
    if (Array.isArray(value)) {
      const element = this.checker.getIndexTypeOfType(t, ts.IndexKind.Number);
      if (element) value.forEach((v, i) => this.walk(v, element, `${path}[${i}]`, found));
      return;
    }
    const index = this.checker.getIndexTypeOfType(t, ts.IndexKind.String);
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const prop = this.checker.getPropertyOfType(t, key);
      const at = path ? `${path}.${key}` : key;
      if (prop) this.walk(child, this.checker.getTypeOfSymbol(prop), at, found);
      else if (index) this.walk(child, index, at, found);
      else found.push(at);
    }
  }
}
