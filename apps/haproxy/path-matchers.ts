/**
 * Turns a route's workers.md regexes into the cheapest HAProxy matches with the same meaning: exact paths
 * (`path`, a tree lookup), literal prefixes (`path_beg`) and, for what is left, one combined regex per route
 * (one PCRE2 JIT run instead of one per pattern). About 150 regexes evaluated one by one cost more CPU per
 * request than everything else HAProxy does for it.
 *
 * A `.` not followed by a quantifier is read as a literal dot: workers.md writes `org.matrix.msc4140` meaning
 * those characters, and no client sends another character there.
 */
export interface PathMatchers {
  exact: string[];
  prefixes: string[];
  /** One regex or none. */
  regex?: string;
  /** The literal prefix every pattern of the route starts with (for a cheap gate in front of the route). */
  commonPrefix: string;
}

const meta = new Set([..."*+?[](){}|^$\\"]);

/** Expands `(a|b)` groups of literal alternatives; undefined when the pattern holds anything else. */
function expandLiteral(body: string): string[] | undefined {
  let results = [""];
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c === "(") {
      const close = body.indexOf(")", i);
      if (close < 0) return undefined;
      const alternatives = body.slice(i + 1, close).split("|");
      if (alternatives.some((a) => [...a].some((ch) => meta.has(ch) || ch === "."))) return undefined;
      results = results.flatMap((r) => alternatives.map((a) => r + a));
      i = close + 1;
      continue;
    }
    if (c === "." && (body[i + 1] === "*" || body[i + 1] === "+" || body[i + 1] === "?")) return undefined;
    if (meta.has(c)) return undefined;
    results = results.map((r) => r + c);
    i++;
  }
  return results;
}

function commonPrefixOf(values: string[]): string {
  if (values.length === 0) return "";
  let prefix = values[0] as string;
  for (const v of values) while (!v.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf("/") + 1);
}

/** The literal text a regex must start with (up to its first metacharacter). */
function literalHead(pattern: string): string {
  let out = "";
  for (const c of pattern.slice(1)) {
    if (meta.has(c)) break;
    out += c;
  }
  return out;
}

export function pathMatchers(patterns: string[]): PathMatchers {
  const exact: string[] = [];
  const prefixes: string[] = [];
  const regexes: string[] = [];
  for (const p of patterns) {
    if (!p.startsWith("^")) throw new Error(`route pattern ${p} is not anchored`);
    const anchoredEnd = p.endsWith("$");
    const body = p.slice(1, anchoredEnd ? -1 : undefined);
    const literal = expandLiteral(body);
    if (literal) (anchoredEnd ? exact : prefixes).push(...literal);
    else regexes.push(p);
  }
  const heads = [...exact, ...prefixes, ...regexes.map(literalHead)];
  return {
    exact: [...new Set(exact)],
    prefixes: [...new Set(prefixes)],
    ...(regexes.length > 0 ? { regex: regexes.length === 1 ? regexes[0] : regexes.map((r) => `(?:${r})`).join("|") } : {}),
    commonPrefix: commonPrefixOf(heads),
  };
}
