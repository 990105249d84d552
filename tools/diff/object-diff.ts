/**
 * What changed between two renderings of an overlay: objects added, removed, and for changed objects the
 * field paths that differ. List items with a `name` (containers, env, ports, volumes) are matched by name,
 * so a reordered list is not a change and paths read `containers[synapse].resources`.
 */
import { structuredPatch } from "diff";
import type { KubeObject } from "../render/rendered.ts";

export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface ObjectChanges {
  added: string[];
  removed: string[];
  changed: { object: string; fields: FieldChange[] }[];
}

function key(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

function isNamedList(value: unknown): value is { name: string }[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === "object" && typeof (v as { name?: unknown }).name === "string");
}

export function fieldChanges(before: unknown, after: unknown, path = ""): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isNamedList(before) && isNamedList(after)) {
    const names = [...new Set([...before.map((v) => v.name), ...after.map((v) => v.name)])];
    return names.flatMap((n) => fieldChanges(before.find((v) => v.name === n), after.find((v) => v.name === n), `${path}[${n}]`));
  }
  const isObject = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    return keys.flatMap((k) => fieldChanges(b[k], a[k], path ? `${path}.${k}` : k));
  }
  return [{ path, before, after }];
}

export function diffObjects(before: KubeObject[], after: KubeObject[]): ObjectChanges {
  const b = new Map(before.map((o) => [key(o), o]));
  const a = new Map(after.map((o) => [key(o), o]));
  return {
    added: [...a.keys()].filter((k) => !b.has(k)).sort(),
    removed: [...b.keys()].filter((k) => !a.has(k)).sort(),
    changed: [...a.keys()].filter((k) => b.has(k)).sort()
      .map((k) => ({ object: k, fields: fieldChanges(b.get(k), a.get(k)) }))
      .filter((c) => c.fields.length > 0),
  };
}

function show(value: unknown): string {
  if (value === undefined) return "(absent)";
  const oneLine = JSON.stringify(value);
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

const isMultiLine = (v: unknown): v is string => typeof v === "string" && v.includes("\n");

/** A changed multi-line value (a config file in a ConfigMap) as a unified line diff with one line of context. */
export function lineDiff(before: string, after: string, maxLines = 60): string[] {
  const patch = structuredPatch("before", "after", before, after, "", "", { context: 1 });
  const lines = patch.hunks.flatMap((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines]);
  return lines.length > maxLines ? [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more line(s)`] : lines;
}

function formatField(f: FieldChange): string[] {
  if (isMultiLine(f.before) || isMultiLine(f.after)) {
    return [`    ${f.path}:`, ...lineDiff(typeof f.before === "string" ? f.before : "", typeof f.after === "string" ? f.after : "").map((l) => `      ${l}`)];
  }
  return [`    ${f.path}: ${show(f.before)} → ${show(f.after)}`];
}

export function formatChanges(tier: string, c: ObjectChanges, maxFields = 25): string {
  const lines = [`### ${tier}: ${c.changed.length} changed, ${c.added.length} added, ${c.removed.length} removed`];
  if (c.changed.length + c.added.length + c.removed.length === 0) return `${lines[0]}\n(no changes)`;
  for (const k of c.added) lines.push(`+ ${k}`);
  for (const k of c.removed) lines.push(`- ${k}`);
  for (const ch of c.changed) {
    lines.push(`~ ${ch.object}`);
    for (const f of ch.fields.slice(0, maxFields)) lines.push(...formatField(f));
    if (ch.fields.length > maxFields) lines.push(`    … ${ch.fields.length - maxFields} more field(s)`);
  }
  return lines.join("\n");
}
