/**
 * The build parses kustomize's output with js-yaml (for speed) while every generated file is written with
 * `yaml`: both must read the same objects from every tier, and a broken render must be refused, not guessed.
 */
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered } from "../../tools/render/rendered.ts";
import { generatedRoot } from "../support/site-under-test.ts";

describe("parsing kustomize's output", () => {
  it.each(tiers.map((t) => t.name))("reads the same objects as the `yaml` library from %s", async (tier) => {
    const text = await kustomizeBuild(join(generatedRoot, "overlays", tier));
    const reference = parseAllDocuments(text).map((d) => d.toJS() as unknown).filter((d) => d !== null);
    const objects = parseRendered(text);
    expect(objects.length).toBeGreaterThan(20);
    expect(objects).toEqual(reference);
  });

  it("keeps YAML 1.1 words and numeric-looking strings as kustomize quoted them, and reads 1.2 scalars as 1.2 does", () => {
    const [o] = parseRendered("a: 'off'\nb: \"0755\"\nc: off\nd: 0o755\ne: ~\nf: 1e3\n");
    expect(o).toEqual({ a: "off", b: "0755", c: "off", d: 493, e: null, f: 1000 });
  });

  it.each([
    ["a tab-indented mapping", "a:\n\tb: 1\n"],
    ["a duplicate key", "kind: ConfigMap\nkind: Secret\n"],
    ["an unclosed quote", "a: \"b\n"],
  ])("refuses %s with the parser's message", (_label, text) => {
    expect(() => parseRendered(text)).toThrow(/^rendered YAML does not parse: \S/);
  });
});
