/**
 * LiveKit SFU configuration as typed data. Media goes over one UDP port (muxed) and one TCP fallback port,
 * published by LoadBalancer Services (7882, 7881) or on every node's NodePorts (31882, 31881, which LiveKit
 * then listens on, since it announces the port it listens on), so pods need no host networking. The API secret is
 * not here: the key *name* is fixed and public, its secret reaches the pod through `LIVEKIT_KEYS`.
 */
import type { Site } from "../site/site.ts";
import { livekitSecret } from "../synapse/secrets-job.ts";

export const livekitPorts = { http: 7880, rtcTcp: 7881, rtcUdp: 7882, metrics: 6789 } as const;
/** NodePorts of the media ports in `nodePort` mode: within Kubernetes' default range 30000–32767. */
export const livekitNodePorts = { rtcTcp: 31881, rtcUdp: 31882 } as const;

/** The media ports LiveKit listens on and announces, by how they are exposed. */
export function mediaPorts(site: Site): { rtcTcp: number; rtcUdp: number } {
  return site.calls.livekitMedia === "nodePort" ? livekitNodePorts : { rtcTcp: livekitPorts.rtcTcp, rtcUdp: livekitPorts.rtcUdp };
}
export const lkJwtPort = 8080;

export interface LivekitConfig {
  port: number;
  prometheus_port: number;
  log_level: string;
  rtc: { tcp_port: number; udp_port: number; use_external_ip: boolean; node_ip?: string };
  room: { auto_create: boolean; empty_timeout: number };
  turn: { enabled: boolean };
  webhook: { api_key: string; urls: string[] };
}

export function livekitConfig(site: Site): LivekitConfig {
  return {
    port: livekitPorts.http,
    prometheus_port: livekitPorts.metrics,
    log_level: "info",
    rtc: {
      tcp_port: mediaPorts(site).rtcTcp,
      udp_port: mediaPorts(site).rtcUdp,
      // Announce the public address: the configured one, or what STUN discovers.
      use_external_ip: site.calls.livekitNodeIp === null,
      ...(site.calls.livekitNodeIp ? { node_ip: site.calls.livekitNodeIp } : {}),
    },
    // Only the authorisation service creates rooms, for users of this homeserver (lk-jwt-service's advice).
    room: { auto_create: false, empty_timeout: 300 },
    // coturn is the TURN server of this deployment.
    turn: { enabled: false },
    webhook: {
      api_key: livekitSecret.apiKeyName,
      urls: [`http://lk-jwt-service.${site.namespace}.svc.${site.clusterDomain}:${lkJwtPort}/sfu_webhook`],
    },
  };
}
