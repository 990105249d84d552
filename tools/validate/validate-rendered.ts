/**
 * Every check a rendered tier goes through before it may be written or merged: its schema (types, required
 * fields), no unknown fields, the policy rules, and Synapse's named instances backed by pods.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, validateWithModel, type ModelClass } from "../emit/model-registry.ts";
import { kubeconformAvailable, runKubeconform, writeCrdSchemas } from "./kubeconform.ts";
import type { RenderedTier } from "../render/render-tiers.ts";
import type { KubeObject } from "../render/rendered.ts";
import { missingSynapseInstances } from "../render/synapse-instances.ts";
import { checkPolicies, type Finding } from "./policies.ts";
import { StrictFieldChecker } from "./strict-fields.ts";
import { objectId } from "./workloads.ts";

export interface Problem {
  check: "schema" | "unknown-field" | "policy" | "synapse" | "kubeconform";
  rule: string;
  object: string;
  message: string;
}

export interface TierReport {
  tier: string;
  objects: number;
  problems: Problem[];
  excepted: (Finding & { reason: string })[];
}

/** What validating objects needs, loaded once for every kind among them. */
export interface Schemas {
  models: Map<string, ModelClass | undefined>;
  fields: StrictFieldChecker;
}

export async function loadSchemas(objects: KubeObject[]): Promise<Schemas> {
  const kinds = [...new Map(objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).entries()];
  const [models, fields] = await Promise.all([
    Promise.all(kinds.map(async ([key, o]) => [key, await loadModel(o.apiVersion, o.kind)] as const)).then((entries) => new Map(entries)),
    StrictFieldChecker.load(objects),
  ]);
  return { models, fields };
}

export function validateTier(rendered: RenderedTier, schemas: Schemas): TierReport {
  const problems: Problem[] = [];
  for (const o of rendered.objects) {
    try {
      validateWithModel(o, schemas.models.get(`${o.apiVersion}/${o.kind}`));
    } catch (e) {
      problems.push({ check: "schema", rule: "schema", object: objectId(o), message: (e as Error).message.replace(/^[^:]+: /, "") });
      continue;
    }
    for (const field of schemas.fields.unknownFields(o)) {
      problems.push({ check: "unknown-field", rule: "strict-schema", object: objectId(o), message: `unknown field ${field}` });
    }
  }
  const policies = checkPolicies(rendered.objects);
  for (const f of policies.errors) problems.push({ check: "policy", rule: f.rule, object: f.object, message: f.message });
  for (const message of missingSynapseInstances(rendered.objects)) {
    problems.push({ check: "synapse", rule: "synapse-instances", object: "ConfigMap/synapse-config", message });
  }
  return { tier: rendered.tier, objects: rendered.objects.length, problems, excepted: policies.excepted };
}

export function formatReports(reports: TierReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.tier}: ${r.objects} objects, ${r.problems.length} error(s), ${r.excepted.length} allowed exception(s)`);
    if (r.problems.length > 0) {
      const width = Math.max(...r.problems.map((p) => p.rule.length));
      const objWidth = Math.max(...r.problems.map((p) => p.object.length));
      for (const p of r.problems) lines.push(`  ${p.rule.padEnd(width)}  ${p.object.padEnd(objWidth)}  ${p.message}`);
    }
  }
  return lines.join("\n");
}

export function summaryLine(reports: TierReport[], kubeconform: string): string {
  const errors = reports.reduce((n, r) => n + r.problems.length, 0);
  const objects = reports.reduce((n, r) => n + r.objects, 0);
  const excepted = reports.reduce((n, r) => n + r.excepted.length, 0);
  return `validate: ${reports.length} tier(s), ${objects} objects, ${errors} error(s), ${excepted} allowed exception(s); kubeconform: ${kubeconform}`;
}

/** Validates rendered tiers; runs kubeconform over them when it is installed. */
export async function validateRenderedTiers(rendered: RenderedTier[], schemas?: Schemas): Promise<{ reports: TierReport[]; kubeconform: string }> {
  const loaded = schemas ?? await loadSchemas(rendered.flatMap((r) => r.objects));
  const reports = rendered.map((r) => validateTier(r, loaded));
  if (!kubeconformAvailable()) return { reports, kubeconform: "not on PATH, skipped (the strict in-process check ran)" };
  const dir = mkdtempSync(join(tmpdir(), "matrix-gitops-kubeconform-"));
  try {
    const crdDir = join(dir, "schemas");
    writeCrdSchemas(rendered.flatMap((r) => r.objects), crdDir, loaded.fields);
    for (const [i, r] of rendered.entries()) {
      const file = join(dir, `${r.tier}.yaml`);
      writeFileSync(file, r.text);
      const result = await runKubeconform(crdDir, [file]);
      for (const message of result.problems) reports[i]?.problems.push({ check: "kubeconform", rule: "kubeconform", object: r.tier, message });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { reports, kubeconform: "ran -strict" };
}

