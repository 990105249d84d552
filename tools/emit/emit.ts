/**
 * Emission as one call, for `overlays:emit` and for `overlays:build` (which emits and renders in one process,
 * so the models are loaded once): computes every generated file from the site and sizing table, then either
 * writes them (all or nothing) or, with `check`, lists drift and writes nothing. Returns the exit code.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { components } from "../../apps/components.ts";
import { loadSite, loadSizing, repoRoot } from "./load-config.ts";
import { findDrift, writeTree } from "./output-tree.ts";
import { emitCommand, emitRepository, ownedRoots } from "./repository.ts";

export interface EmitOptions {
  site?: string;
  sizing?: string;
  out?: string;
  check?: boolean;
}

/** Overlay folders of tiers that no longer exist are owned too, so they are removed. */
function staleTierFolders(root: string): string[] {
  const dir = join(root, "overlays");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => /^ccu-/.test(d)).map((d) => `overlays/${d}`);
}

export async function emit(options: EmitOptions = {}): Promise<number> {
  const site = await loadSite(options.site ? resolve(options.site) : undefined);
  const sizing = await loadSizing(options.sizing ? resolve(options.sizing) : undefined);
  const out = options.out ? resolve(options.out) : repoRoot;
  const files = emitRepository({ site, sizing, components, readme: readFileSync(join(repoRoot, "README.md"), "utf8") });
  const owned = [...new Set([...ownedRoots(sizing), ...staleTierFolders(out)])];
  if (options.check) {
    const drift = findDrift(out, files, owned);
    for (const d of drift) console.error(`drift: ${d.path} is ${d.state}`);
    if (drift.length > 0) console.error(`emit --check: ${drift.length} generated file(s) differ from a fresh emit; run \`${emitCommand}\` and commit.`);
    else console.log(`emit --check: ${files.size} generated files match a fresh emit`);
    return drift.length > 0 ? 1 : 0;
  }
  // Reading 150 files costs less than staging and swapping them, and an unchanged tree keeps its mtimes.
  if (findDrift(out, files, owned).length === 0) {
    console.log(`emit: ${files.size} files (${components.length} components, ${sizing.length} tiers) under ${out} already up to date`);
    return 0;
  }
  writeTree(out, files, owned);
  console.log(`emit: wrote ${files.size} files (${components.length} components, ${sizing.length} tiers) under ${out}`);
  return 0;
}
