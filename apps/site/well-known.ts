/** The `.well-known/matrix` documents: derived from the site, served in front of Synapse (HAProxy). */
import type { Site } from "./site.ts";

/** Server delegation: federation for `server_name` reaches the API host on 443, through the ingress. */
export function wellKnownServer(site: Site): { "m.server": string } {
  return { "m.server": `${site.hosts.matrix}:443` };
}

/** Client discovery: where the client-server API lives. */
export function wellKnownClient(site: Site): Record<string, unknown> {
  return { "m.homeserver": { base_url: `https://${site.hosts.matrix}` } };
}
