/** The `.well-known/matrix` documents: derived from the site, served in front of Synapse (HAProxy). */
import type { Site } from "./site.ts";

/** Server delegation: federation for `server_name` reaches the API host on 443, through the ingress. */
export function wellKnownServer(site: Site): { "m.server": string } {
  return { "m.server": `${site.hosts.matrix}:443` };
}

/** Public URL of the MatrixRTC authorisation service (lk-jwt-service) and of LiveKit's signalling. */
export function rtcUrls(site: Site): { jwtService: string; livekit: string } {
  return { jwtService: `https://${site.hosts.rtc}/livekit/jwt`, livekit: `wss://${site.hosts.rtc}/livekit/sfu` };
}

/** Client discovery: where the client-server API lives and, with calls on, the MatrixRTC focus (MSC4143). */
export function wellKnownClient(site: Site): Record<string, unknown> {
  return {
    "m.homeserver": { base_url: `https://${site.hosts.matrix}` },
    ...(site.calls.enabled
      ? { "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: rtcUrls(site).jwtService }] }
      : {}),
  };
}
