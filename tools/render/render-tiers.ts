/** Renders overlays with kustomize (in parallel) and parses them: the one place both build and validate use. */
import { join } from "node:path";
import type { TierSizing } from "../../apps/site/sizing.ts";
import { kustomizeBuild } from "./kustomize.ts";
import { parseRendered, type KubeObject } from "./rendered.ts";

export interface RenderedTier {
  tier: string;
  text: string;
  objects: KubeObject[];
}

export function renderTiers(root: string, tiers: readonly TierSizing[]): Promise<RenderedTier[]> {
  return Promise.all(tiers.map(async (tier) => {
    const text = await kustomizeBuild(join(root, "overlays", tier.name));
    return { tier: tier.name, text, objects: parseRendered(text) };
  }));
}
