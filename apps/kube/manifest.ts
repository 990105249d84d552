/** What builders return: kubernetes-models objects (validated on emit) and the partial objects of patches. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A kubernetes-models instance (or any object with the same shape) that can validate itself. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: ObjectMeta | object;
  validate(): void;
  toJSON(): unknown;
}

/** A strategic-merge patch: enough type meta to find its target, then only the fields it sets. */
export interface ManifestPatch {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

export function manifestName(m: { kind: string; metadata?: object }): string {
  const name = (m.metadata as { name?: string } | undefined)?.name ?? "(unnamed)";
  return `${m.kind}/${name}`;
}
