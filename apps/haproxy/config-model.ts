/**
 * HAProxy configuration as typed data: sections of directives, each a keyword and its arguments. The
 * builder reasons about routes and pools; this file only turns the result into haproxy.cfg text.
 */
export interface Directive {
  keyword: string;
  args: string[];
}

export interface Section {
  kind: "global" | "defaults" | "resolvers" | "frontend" | "backend";
  name?: string;
  /** One-line explanation printed above the section. */
  comment?: string;
  directives: Directive[];
}

export type HaproxyConfig = Section[];

export function d(keyword: string, ...args: (string | number)[]): Directive {
  return { keyword, args: args.map(String) };
}

/** A string argument in single quotes (HAProxy's strong quoting), for JSON bodies and the like. */
export function quoted(value: string): string {
  if (value.includes("'")) throw new Error(`cannot single-quote a value containing a quote: ${value}`);
  return `'${value}'`;
}

export function serialize(config: HaproxyConfig, header: string): string {
  const out: string[] = [header.trimEnd()];
  for (const section of config) {
    out.push("");
    if (section.comment) out.push(`# ${section.comment}`);
    out.push(section.name ? `${section.kind} ${section.name}` : section.kind);
    for (const dir of section.directives) out.push(`  ${[dir.keyword, ...dir.args].join(" ")}`);
  }
  return `${out.join("\n")}\n`;
}
