/**
 * Synapse's own configuration schema (v1.157). CI has it at ../shared/reference/ beside the clone;
 * SYNAPSE_CONFIG_SCHEMA may point elsewhere. A missing schema is a failure with a clear message, not a skip.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { repoRoot } from "./repo.ts";

export const schemaPath = process.env.SYNAPSE_CONFIG_SCHEMA ?? join(repoRoot, "..", "shared", "reference", "synapse-config.schema.yaml");

export interface SynapseSchema {
  validate(config: unknown): string[];
  topLevelKeys: Set<string>;
}

let loaded: SynapseSchema | undefined;

export function loadSynapseSchema(): SynapseSchema {
  loaded ??= compileSchema();
  return loaded;
}

function compileSchema(): SynapseSchema {
  if (!existsSync(schemaPath)) {
    throw new Error(`Synapse's config schema is not at ${schemaPath}. CI provides it at ../shared/reference/; `
      + "locally, set SYNAPSE_CONFIG_SCHEMA to a copy of synapse-config.schema.yaml (element-hq/synapse, schema/).");
  }
  const schema = parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown> & { properties: Record<string, unknown> };
  // Synapse's meta-schema URL is not one Ajv knows; the vocabulary is plain draft 2020-12 / 07.
  delete schema.$schema;
  delete schema.$id;
  allowWriterLists(schema);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const check = ajv.compile(schema);
  return {
    validate(config) {
      return check(config) ? [] : (check.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
    },
    topLevelKeys: new Set(Object.keys(schema.properties)),
  };
}

/**
 * Known gap in the v1.157 schema: it types every `stream_writers` entry as a string, while workers.md
 * documents (and Synapse accepts) a list for the streams that take several writers. Only those three are
 * widened; every other entry stays a string.
 */
export const multiWriterStreamsInDocs = ["events", "receipts", "device_lists"];

function allowWriterLists(schema: { properties: Record<string, unknown> }): void {
  const writers = schema.properties.stream_writers as { properties: Record<string, object> } | undefined;
  if (!writers) throw new Error("Synapse schema has no stream_writers: the schema layout changed, review this test helper");
  for (const stream of multiWriterStreamsInDocs) {
    writers.properties[stream] = { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" }, minItems: 1 }] };
  }
}

/** Merges config files the way Synapse does: later files replace top-level keys of earlier ones. */
export function mergeSynapseConfig(...files: string[]): Record<string, unknown> {
  return Object.assign({}, ...files.map((f) => parse(f) as Record<string, unknown>));
}
