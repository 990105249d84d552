/** Installs the lab's toolchain (Synapse virtualenv, S3 server) before any lab test; a no-op when present. */
import { loadSite } from "../../tools/emit/load-config.ts";
import { ensureToolchain } from "../../tools/lab/toolchain.ts";

export default async function setup(): Promise<void> {
  const site = await loadSite();
  ensureToolchain(site.images);
}
