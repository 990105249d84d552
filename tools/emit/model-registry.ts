/**
 * Maps `apiVersion` + `kind` to the kubernetes-models class that validates it, for core kinds and for every
 * custom resource this repo uses. A rendered object whose kind is not here has no schema: that is an error.
 */
import * as core from "kubernetes-models";
import * as prometheusOperator from "@kubernetes-models/prometheus-operator";
import * as certManager from "@kubernetes-models/cert-manager";
import * as argoCd from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

function isModelClass(value: unknown): value is ModelClass {
  return typeof value === "function" && typeof (value as Partial<ModelClass>).apiVersion === "string"
    && typeof (value as Partial<ModelClass>).kind === "string";
}

function collect(namespace: unknown, into: Map<string, ModelClass>): void {
  if (namespace === null || typeof namespace !== "object") return;
  for (const value of Object.values(namespace)) {
    if (isModelClass(value)) into.set(`${value.apiVersion}/${value.kind}`, value);
    else collect(value, into);
  }
}

let registry: Map<string, ModelClass> | undefined;

function models(): Map<string, ModelClass> {
  if (!registry) {
    registry = new Map();
    collect(core, registry);
    collect(prometheusOperator, registry);
    collect(certManager, registry);
    collect(argoCd, registry);
  }
  return registry;
}

export class SchemaError extends Error {
  readonly object: string;

  constructor(object: string, message: string) {
    super(`${object}: ${message}`);
    this.name = "SchemaError";
    this.object = object;
  }
}

/** Validates a plain object (as parsed from rendered YAML) against its schema; throws SchemaError. */
export function validateAgainstSchema(obj: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } }): void {
  const id = `${String(obj.kind)}/${String(obj.metadata?.name ?? "(unnamed)")}`;
  const Model = models().get(`${String(obj.apiVersion)}/${String(obj.kind)}`);
  if (!Model) throw new SchemaError(id, `no schema for apiVersion ${String(obj.apiVersion)} kind ${String(obj.kind)}`);
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new SchemaError(id, (e as Error).message);
  }
}
