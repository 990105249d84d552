/**
 * `nx run overlays:emit`: builds every component from the site configuration and sizing table and writes
 * `base/`, `overlays/<tier>/` and the README's tier table. `--check` writes nothing and lists drift instead.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { components } from "../../apps/components.ts";
import { parseCli, runCli } from "../cli/run.ts";
import { loadSite, loadSizing, repoRoot } from "./load-config.ts";
import { findDrift, writeTree } from "./output-tree.ts";
import { emitCommand, emitRepository, ownedRoots } from "./repository.ts";

/** Overlay folders of tiers that no longer exist are owned too, so they are removed. */
function staleTierFolders(root: string): string[] {
  const dir = join(root, "overlays");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => /^ccu-/.test(d)).map((d) => `overlays/${d}`);
}

await runCli("emit", async () => {
  const args = parseCli({
    site: { type: "string" },
    sizing: { type: "string" },
    out: { type: "string" },
    check: { type: "boolean", default: false },
  });
  const site = await loadSite(args.site ? resolve(args.site) : undefined);
  const sizing = await loadSizing(args.sizing ? resolve(args.sizing) : undefined);
  const out = args.out ? resolve(args.out) : repoRoot;
  const files = emitRepository({ site, sizing, components, readme: readFileSync(join(repoRoot, "README.md"), "utf8") });
  const owned = [...new Set([...ownedRoots(sizing), ...staleTierFolders(out)])];
  if (args.check) {
    const drift = findDrift(out, files, owned);
    for (const d of drift) console.error(`drift: ${d.path} is ${d.state}`);
    if (drift.length > 0) console.error(`emit --check: ${drift.length} generated file(s) differ from a fresh emit; run \`${emitCommand}\` and commit.`);
    else console.log(`emit --check: ${files.size} generated files match a fresh emit`);
    return drift.length > 0 ? 1 : 0;
  }
  writeTree(out, files, owned);
  console.log(`emit: wrote ${files.size} files (${components.length} components, ${sizing.length} tiers) under ${out}`);
  return 0;
});
