/** Loads the site configuration and sizing table from their TypeScript modules (or ones named on the CLI). */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../../apps/site/errors.ts";
import { resolveSite, type Site, type SiteInput } from "../../apps/site/site.ts";
import { tiers, validateSizing, type TierSizing } from "../../apps/site/sizing.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const defaultSiteFile = resolve(repoRoot, "apps/site/site.config.ts");

async function importModule(path: string, field: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new ConfigError([{ field, message: `file not found: ${path}` }]);
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

export async function loadSite(path = defaultSiteFile): Promise<Site> {
  const mod = await importModule(path, "--site");
  return resolveSite(mod.default as SiteInput);
}

/** The sizing table: the repo's own, or the `tiers` export of another module (used by tests). */
export async function loadSizing(path?: string): Promise<readonly TierSizing[]> {
  if (path === undefined) return validateSizing(tiers);
  const mod = await importModule(path, "--sizing");
  if (!Array.isArray(mod.tiers)) throw new ConfigError([{ field: "--sizing", message: `${path} exports no \`tiers\` array` }]);
  return validateSizing(mod.tiers as TierSizing[]);
}
