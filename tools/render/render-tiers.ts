/** Renders overlays with kustomize (in parallel) and parses them: the one place both build and validate use. */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { TierSizing } from "../../apps/site/sizing.ts";
import { kustomizeBuild } from "./kustomize.ts";
import { parseRendered, type KubeObject } from "./rendered.ts";

export interface RenderedTier {
  tier: string;
  text: string;
  objects: KubeObject[];
}

/**
 * One kustomize per core at a time: a tier is parsed as soon as its render ends, while the next renders,
 * instead of every render finishing together and the parsing waiting for the last.
 */
export async function renderTiers(root: string, tiers: readonly TierSizing[], concurrency = availableParallelism()): Promise<RenderedTier[]> {
  const results: RenderedTier[] = new Array(tiers.length);
  let next = 0;
  const worker = async () => {
    while (next < tiers.length) {
      const i = next++;
      const tier = tiers[i] as TierSizing;
      const text = await kustomizeBuild(join(root, "overlays", tier.name));
      results[i] = { tier: tier.name, text, objects: parseRendered(text) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tiers.length)) }, worker));
  return results;
}
