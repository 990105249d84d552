/** The contract every component folder (`apps/<component>/`) fulfils, as kube-prometheus does per library. */
import type { Site } from "../site/site.ts";
import type { TierSizing } from "../site/sizing.ts";
import type { Manifest, ManifestPatch } from "./manifest.ts";

/** Objects an overlay can switch on: emitted as a Kustomize Component under `base/components/<name>/`. */
export interface OptionalPart {
  name: string;
  manifests: Manifest[];
}

export interface Component {
  /** Folder under `base/`, and the `app.kubernetes.io/instance`-style prefix of its objects. */
  name: string;
  /** What the generated files' header names as their source; default `apps/<name>/`. */
  source?: string;
  /** Objects for `base/<name>/`, built with the reference (smallest) tier's numbers. */
  base(site: Site, reference: TierSizing): Manifest[];
  /** Optional parts, each a Kustomize Component an overlay may list. */
  optionalParts?(site: Site, reference: TierSizing): OptionalPart[];
  /** Names of the optional parts this tier switches on. */
  tierParts?(tier: TierSizing): string[];
  /** Strategic-merge patches that give an overlay its tier's numbers; empty when nothing depends on size. */
  tierPatches(site: Site, tier: TierSizing): ManifestPatch[];
}
