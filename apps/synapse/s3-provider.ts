/**
 * How media pods get the S3 storage provider when no media image is configured: an init container runs the
 * image's own pip on a hash-pinned list of wheels (apps/synapse-workers/media-image/), the same list the
 * media image's Dockerfile installs.
 */
import { readFileSync } from "node:fs";

/** Key of the requirements file in the Synapse ConfigMap (mounted at /config in every Synapse pod). */
export const s3ProviderRequirementsFile = "s3-provider-requirements.txt";

export const s3ProviderRequirements = readFileSync(
  new URL("../synapse-workers/media-image/s3-provider-requirements.txt", import.meta.url), "utf8");

/** The pinned provider version, read from the requirements file so that the two cannot disagree. */
export const s3ProviderVersion = (() => {
  const m = /^synapse-s3-storage-provider==(\S+)/m.exec(s3ProviderRequirements);
  if (!m) throw new Error("s3-provider-requirements.txt does not pin synapse-s3-storage-provider");
  return m[1] as string;
})();

/**
 * pip arguments that install exactly the listed wheels into `target`: `--no-deps` (the image already has
 * Synapse's dependencies, Twisted and psycopg2 among them), `--only-binary=:all:` (nothing is compiled) and
 * `--require-hashes`.
 */
export function s3ProviderPipArgs(requirements: string, target: string): string[] {
  return ["-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
    "--require-hashes", "--target", target, "-r", requirements];
}
