/**
 * Building blocks for the input schemas (site configuration, sizing table), on zod: the Kubernetes and DNS
 * name rules they share, strict objects that list their known keys, and the translation of zod's issues
 * into ConfigErrors that name the field path (`site.calls.enabled`) and say what is expected.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.ts";

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

/** An error callback for a wrong type: what is expected and what was given. */
export const expected = (what: string) => (iss: { input?: unknown }) => `expected ${what}, got ${show(iss.input)}`;

/** An object that rejects unknown keys and says which keys it knows (typos are the common mistake). */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? `unknown key; known keys here: ${known}` : undefined),
  });
}

const label = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
const dns1123Label = new RegExp(`^${label}$`);
const dns1123Subdomain = new RegExp(`^(?=.{1,253}$)${label}(\\.${label})*$`);
const labelName = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A public DNS name with at least two labels and a non-numeric top-level label (so never an IP address). */
export const dnsName = z.string({ error: expected("a DNS name such as \"example.com\"") }).refine(
  (v) => new RegExp(`^(?=.{1,253}$)${label}(\\.${label})+$`).test(v) && !/^[0-9]+$/.test(v.split(".").at(-1) ?? "") && isIP(v) === 0,
  { error: (iss) => `${JSON.stringify(iss.input)} is not a lower-case DNS name with at least two labels and a non-numeric last label (for example "example.com"; IP addresses are not accepted)` },
);

/** A namespace or other DNS-1123 label (63 characters at most). */
export const k8sLabelName = (what: string) =>
  z.string({ error: expected(`${what} (a DNS-1123 label)`) }).regex(dns1123Label, {
    error: (iss) => `${JSON.stringify(iss.input)} is not ${what}: lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric`,
  });

/** A resource name Kubernetes accepts for Secrets, ConfigMaps, IngressClasses, ClusterIssuers (DNS-1123 subdomain). */
export const k8sResourceName = (what: string) =>
  z.string({ error: expected(`${what} (a DNS-1123 subdomain)`) }).regex(dns1123Subdomain, {
    error: (iss) => `${JSON.stringify(iss.input)} is not ${what}: lower-case letters, digits, '-' and '.', at most 253 characters`,
  });

export const secretKey = z.string({ error: expected("a Secret data key") }).regex(/^[-._a-zA-Z0-9]{1,253}$/, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a Secret data key: letters, digits, '-', '_' and '.'`,
});

/** A label selector entry as Kubernetes validates it: `[prefix/]name` keys and values of at most 63 characters. */
export const labelSelector = z.record(
  z.string().refine((k) => {
    const parts = k.split("/");
    if (parts.length > 2) return false;
    const name = parts.at(-1) ?? "";
    return labelName.test(name) && (parts.length === 1 || dns1123Subdomain.test(parts[0] ?? ""));
  }, { error: (iss) => `${JSON.stringify(iss.input)} is not a label key ([prefix/]name, name at most 63 characters)` }),
  z.string({ error: expected("a label value (a string)") }).refine((v) => v === "" || labelName.test(v), {
    error: (iss) => `${JSON.stringify(iss.input)} is not a label value: at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends`,
  }),
  { error: (iss) => (iss.code === "invalid_type" ? expected("a map of node labels such as { \"matrix-gitops.io/turn\": \"true\" }")(iss) : undefined) },
);

export const tcpPort = z.int({ error: expected("a TCP port (a whole number)") }).min(1, { error: "expected a TCP port from 1 to 65535" })
  .max(65535, { error: "expected a TCP port from 1 to 65535" });

export const ipAddress = z.string({ error: expected("an IP address") }).refine((v) => isIP(v) !== 0, {
  error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 or IPv6 address`,
});

export const cidr = z.string({ error: expected("an address or CIDR") }).refine((v) => {
  const [address, bits, ...rest] = v.split("/");
  const family = isIP(address ?? "");
  if (rest.length > 0 || family === 0) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}, { error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 or IPv6 address or CIDR` });

/**
 * A pinned image: a registry path with a full `x.y.z` version in the tag or an `@sha256:` digest. Moving
 * tags (`latest`, `stable`, `2.6`, `v1`) are refused because Argo CD would deploy whatever they point to.
 */
export const pinnedImage = z.string({ error: expected("an image reference") }).refine((v) => {
  const m = /^([a-z0-9.-]+(?::[0-9]+)?(?:\/[a-z0-9._-]+)+)(?::([A-Za-z0-9._-]+))?(?:@sha256:([a-f0-9]{64}))?$/.exec(v);
  if (!m) return false;
  const [, , tag, digest] = m;
  return digest !== undefined || (tag !== undefined && /(^|[^0-9.])v?[0-9]+\.[0-9]+\.[0-9]+/.test(tag));
}, { error: (iss) => `${JSON.stringify(iss.input)} is not pinned: give a full version tag (x.y.z, not "latest" or "2.6") or an @sha256 digest` });

function fieldPath(root: string, path: readonly PropertyKey[], name: (p: readonly PropertyKey[]) => string | undefined): string {
  let out = root;
  path.forEach((key, i) => {
    if (typeof key === "number") out += `[${name(path.slice(0, i + 1)) ?? key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(key))) out += `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  });
  return out;
}

/**
 * zod's issues as ConfigIssues: one per unknown key, field paths rooted at `root`. `indexName` may replace an
 * array index by a name (`sizing[ccu-5k]` rather than `sizing[1]`).
 */
export function toConfigIssues(error: z.ZodError, root: string, indexName: (path: readonly PropertyKey[]) => string | undefined = () => undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const iss of error.issues) {
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) issues.push({ field: fieldPath(root, [...iss.path, key], indexName), message: iss.message });
    } else if (iss.code === "invalid_key") {
      // A record key that failed its own schema: its message is the useful one.
      issues.push({ field: fieldPath(root, iss.path, indexName), message: iss.issues[0]?.message ?? iss.message });
    } else {
      issues.push({ field: fieldPath(root, iss.path, indexName), message: iss.message });
    }
  }
  return issues;
}

/** Parses `input` or throws one ConfigError listing every problem, so the user fixes them all at once. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, root: string,
  indexName?: (path: readonly PropertyKey[]) => string | undefined): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ConfigError(toConfigIssues(r.error, root, indexName));
  return r.data;
}
