/**
 * Deterministic YAML: the same value always gives the same bytes. Kubernetes objects get their keys sorted
 * (type meta and metadata first, the way kubectl prints them) so output does not depend on how a builder
 * happened to assemble an object; configuration files keep the order their typed builder wrote.
 */
import { Document, isMap, isPair, isScalar, visit, type Pair } from "yaml";

const leadingKeys = ["apiVersion", "kind", "metadata", "name", "namespace"];

function keyRank(key: string): [number, string] {
  const i = leadingKeys.indexOf(key);
  return [i === -1 ? leadingKeys.length : i, key];
}

function compareKeys(a: Pair, b: Pair): number {
  const ka = keyRank(String(isScalar(a.key) ? a.key.value : a.key));
  const kb = keyRank(String(isScalar(b.key) ? b.key.value : b.key));
  return ka[0] - kb[0] || (ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0);
}

const stringifyOptions = { lineWidth: 0, indentSeq: true } as const;

/** A Kubernetes object (or patch) as a YAML document with sorted keys. */
export function objectYaml(value: unknown): string {
  const doc = new Document(JSON.parse(JSON.stringify(value)));
  visit(doc, {
    Map(_, node) {
      if (isMap(node)) node.items.sort((a, b) => (isPair(a) && isPair(b) ? compareKeys(a, b) : 0));
    },
  });
  return doc.toString(stringifyOptions);
}

/** A configuration file (homeserver.yaml, haproxy data) in the order its builder wrote it. */
export function configYaml(value: unknown): string {
  return new Document(JSON.parse(JSON.stringify(value))).toString(stringifyOptions);
}
