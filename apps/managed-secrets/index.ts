/**
 * Secrets you manage, synced by Argo CD: the SealedSecret and ExternalSecret objects named in
 * `site.secrets.manifests` (files you commit; a SealedSecret holds only ciphertext, an ExternalSecret only
 * references), emitted into base/ in the first sync wave. Their controllers write the Secrets the site names,
 * and Argo CD's health checks for both kinds hold the next wave until the Secret exists. A plain Secret is
 * refused: its values would be in git.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { Component } from "../kube/component.ts";
import type { Manifest } from "../kube/manifest.ts";
import { ExternalSecret, ExternalSecretV1beta1, SealedSecret } from "../kube/models.ts";
import { managedBy, partOf } from "../kube/labels.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import { ConfigError, type ConfigIssue } from "../site/errors.ts";
import type { Site } from "../site/site.ts";
import { secretKeys } from "../synapse/paths.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const kinds = {
  "bitnami.com/v1alpha1/SealedSecret": SealedSecret,
  "external-secrets.io/v1/ExternalSecret": ExternalSecret,
  "external-secrets.io/v1beta1/ExternalSecret": ExternalSecretV1beta1,
} as const;
const allowed = Object.keys(kinds).map((k) => k.replace(/\/(\w+)$/, " $1")).join(", ");

/** Secret name → the keys this site's pods read from it, for every Secret the site names. */
export function referencedSecrets(site: Site): Map<string, { field: string; keys: string[] }> {
  const refs = new Map<string, { field: string; keys: string[] }>();
  const add = (name: string, field: string, keys: string[]) => {
    const known = refs.get(name);
    refs.set(name, { field: known?.field ?? field, keys: [...new Set([...(known?.keys ?? []), ...keys])].sort() });
  };
  if (!site.secrets.generatedInCluster) {
    const keys = Object.values(secretKeys).filter((k) => site.calls.enabled || k !== secretKeys.turn);
    add(site.secrets.name, "site.secrets.existingSecret", keys);
  }
  add(site.postgres.passwordSecret.name, "site.postgres.passwordSecret", [site.postgres.passwordSecret.key]);
  if (site.redis.passwordSecret) add(site.redis.passwordSecret.name, "site.redis.passwordSecret", [site.redis.passwordSecret.key]);
  const s3 = site.s3.credentialsSecret;
  add(s3.name, "site.s3.credentialsSecret", [s3.accessKeyIdKey, s3.secretAccessKeyKey]);
  return refs;
}

interface Produced {
  /** The Secret the controller writes. */
  name: string;
  /** Its keys, or undefined when they are only known to the controller (`dataFrom`, templates). */
  keys: string[] | undefined;
}

type Plain = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

function produced(kind: string, o: Plain): Produced {
  const name = String(o.metadata?.name);
  const spec = (o.spec ?? {}) as Record<string, Record<string, unknown> | unknown[] | undefined>;
  if (kind === "SealedSecret") {
    const template = spec.template as { data?: object } | undefined;
    return { name, keys: [...Object.keys(spec.encryptedData ?? {}), ...Object.keys(template?.data ?? {})].sort() };
  }
  const target = spec.target as { name?: string; template?: unknown } | undefined;
  const data = (spec.data ?? []) as { secretKey?: string }[];
  const keys = spec.dataFrom || target?.template ? undefined : data.map((d) => String(d.secretKey)).sort();
  return { name: target?.name ?? name, keys };
}

/** Reads, checks and returns the objects of every file; throws one ConfigError naming each problem. */
export function managedSecretObjects(site: Site): Manifest[] {
  const issues: ConfigIssue[] = [];
  const refs = referencedSecrets(site);
  const seen = new Map<string, string>();
  const manifests: Manifest[] = [];
  site.secrets.manifests.forEach((path, i) => {
    const field = `site.secrets.manifests[${i}]`;
    const file = `${repoRoot}${path}`;
    if (!existsSync(file)) { issues.push({ field, message: `file not found: ${path} (paths are from the repository root)` }); return; }
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    const documents = Array.isArray(docs) ? docs : [docs];
    documents.forEach((doc, d) => {
      const at = `${field} (${path}, document ${d + 1})`;
      if (doc.errors.length > 0) { issues.push({ field: at, message: `does not parse: ${doc.errors[0]?.message.split("\n")[0]}` }); return; }
      const o = doc.toJS() as Plain | null;
      if (o === null) return;
      if (typeof o !== "object" || Array.isArray(o)) { issues.push({ field: at, message: "expected a Kubernetes object" }); return; }
      const key = `${String(o.apiVersion)}/${String(o.kind)}`;
      if (o.kind === "Secret") { issues.push({ field: at, message: `is a plain Secret, whose values would be in git; commit a SealedSecret or an ExternalSecret instead (${allowed})` }); return; }
      const Model = kinds[key as keyof typeof kinds] as (new (data: unknown) => Manifest) | undefined;
      if (!Model) { issues.push({ field: at, message: `apiVersion ${String(o.apiVersion)} kind ${String(o.kind)} is not one of ${allowed}` }); return; }
      const namespace = o.metadata?.namespace;
      if (namespace !== undefined && namespace !== site.namespace) {
        issues.push({ field: `${at}.metadata.namespace`, message: `must be the site's namespace "${site.namespace}" (or absent), got ${JSON.stringify(namespace)}; a SealedSecret must also be sealed for that namespace` });
        return;
      }
      const manifest = new Model({
        ...o,
        metadata: {
          ...o.metadata,
          namespace: site.namespace,
          labels: { ...(o.metadata?.labels as object | undefined), "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/managed-by": managedBy },
          annotations: { ...(o.metadata?.annotations as object | undefined), ...syncWaveAnnotations(syncWave.managedSecrets) },
        },
      });
      try {
        manifest.validate();
      } catch (e) {
        issues.push({ field: at, message: `fails the ${String(o.kind)} schema: ${(e as Error).message}` });
        return;
      }
      const out = produced(String(o.kind), o);
      const ref = refs.get(out.name);
      if (seen.has(out.name)) issues.push({ field: at, message: `makes Secret "${out.name}", which ${seen.get(out.name)} already makes` });
      else if (!ref) {
        const generated = site.secrets.generatedInCluster && out.name === site.secrets.name;
        issues.push({ field: at, message: generated
          ? `makes Secret "${out.name}", which the secrets Job generates: set site.secrets.existingSecret to "${out.name}" to manage it yourself`
          : `makes Secret "${out.name}", which the site does not use; it uses ${[...refs.keys()].map((n) => `"${n}"`).join(", ")}` });
      } else if (out.keys) {
        const missing = ref.keys.filter((k) => !out.keys?.includes(k));
        if (missing.length > 0) issues.push({ field: at, message: `makes Secret "${out.name}" without the key(s) ${missing.join(", ")} that ${ref.field} needs` });
      }
      seen.set(out.name, at);
      manifests.push(manifest);
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return manifests;
}

export const managedSecrets: Component = {
  name: "managed-secrets",
  source: "the files site.secrets.manifests names, through apps/managed-secrets/",
  base: (site) => managedSecretObjects(site),
  tierPatches: () => [],
};
