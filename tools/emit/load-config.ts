/** Loads the site configuration and sizing table from their TypeScript modules (or ones named on the CLI). */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../../apps/site/errors.ts";
import { resolveSite, type Site } from "../../apps/site/site.ts";
import { tiers, validateSizing, type TierSizing } from "../../apps/site/sizing.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");
/**
 * The site file: `apps/site/site.config.ts`, or the one `MATRIX_GITOPS_SITE` names (the test suite runs
 * against fixture sites this way, each emitted into a scratch tree, never into the committed one).
 */
export const defaultSiteFile = resolve(repoRoot, process.env.MATRIX_GITOPS_SITE || "apps/site/site.config.ts");

async function importModule(path: string, field: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new ConfigError([{ field, message: `file not found: ${path}` }]);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    // A syntax error or a failing import in the user's file: say where, without a stack trace.
    throw new ConfigError([{ field, message: `cannot load ${path}: ${(e as Error).message.split("\n")[0]}` }]);
  }
}

export async function loadSite(path = defaultSiteFile): Promise<Site> {
  const mod = await importModule(path, "--site");
  return resolveSite(mod.default);
}

/** The sizing table: the repo's own, or the `tiers` export of another module (used by tests). */
export async function loadSizing(path?: string): Promise<readonly TierSizing[]> {
  if (path === undefined) return validateSizing(tiers);
  const mod = await importModule(path, "--sizing");
  if (!Array.isArray(mod.tiers)) throw new ConfigError([{ field: "--sizing", message: `${path} exports no \`tiers\` array` }]);
  return validateSizing(mod.tiers as TierSizing[]);
}
