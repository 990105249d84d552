/**
 * coturn's `turnserver.conf` as typed data. Credentials are TURN REST ones (`use-auth-secret`): Synapse
 * signs short-lived usernames with the same shared secret, which reaches coturn on its command line from the
 * Synapse Secret, never through this file. The relay refuses every peer address in a private, loopback,
 * link-local, shared, documentation, multicast or reserved range, so it cannot reach the cluster network or a
 * cloud metadata service.
 */
import type { Site } from "../site/site.ts";

export const turnPorts = { plain: 3478, tls: 5349, relayMin: 49152, relayMax: 59151 } as const;
export const tlsDir = "/tls";

/**
 * Peer ranges the relay must never reach (IANA special-purpose registries, RFC 6890 and successors). Not
 * `::` alone: coturn 4.6 matches every IPv4 peer against it and would refuse all relaying (seen in tests).
 */
export const deniedPeerRanges: [string, string][] = [
  ["0.0.0.0", "0.255.255.255"],
  ["10.0.0.0", "10.255.255.255"],
  ["100.64.0.0", "100.127.255.255"],
  ["127.0.0.0", "127.255.255.255"],
  ["169.254.0.0", "169.254.255.255"],
  ["172.16.0.0", "172.31.255.255"],
  ["192.0.0.0", "192.0.0.255"],
  ["192.0.2.0", "192.0.2.255"],
  ["192.88.99.0", "192.88.99.255"],
  ["192.168.0.0", "192.168.255.255"],
  ["198.18.0.0", "198.19.255.255"],
  ["198.51.100.0", "198.51.100.255"],
  ["203.0.113.0", "203.0.113.255"],
  ["224.0.0.0", "255.255.255.255"],
  ["::1", "::1"],
  ["::ffff:0.0.0.0", "::ffff:255.255.255.255"],
  ["64:ff9b::", "64:ff9b::ffff:ffff"],
  ["64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"],
  ["100::", "100::ffff:ffff:ffff:ffff"],
  ["2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
];

/** Option name → value (`true` for a flag); repeated options are arrays. */
export type TurnConfig = [string, string | true][];

export function turnConfig(site: Site): TurnConfig {
  return [
    ["listening-port", String(turnPorts.plain)],
    ["tls-listening-port", String(turnPorts.tls)],
    ["min-port", String(turnPorts.relayMin)],
    ["max-port", String(turnPorts.relayMax)],
    ["realm", site.hosts.turn],
    ["server-name", site.hosts.turn],
    ["use-auth-secret", true],
    ["cert", `${tlsDir}/tls.crt`],
    ["pkey", `${tlsDir}/tls.key`],
    ["no-tlsv1", true],
    ["no-tlsv1_1", true],
    ["fingerprint", true],
    ["no-cli", true],
    ["no-multicast-peers", true],
    ["no-software-attribute", true],
    ["stale-nonce", "600"],
    // Calls need a handful of allocations per user; the quotas stop one account from exhausting the relay.
    ["user-quota", "12"],
    ["total-quota", "1200"],
    ["log-file", "stdout"],
    ["simple-log", true],
    ...deniedPeerRanges.map(([from, to]): [string, string] => ["denied-peer-ip", from === to ? from : `${from}-${to}`]),
  ];
}

export function serializeTurnConfig(config: TurnConfig, header: string): string {
  return `${[header.trimEnd(), ...config.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join("\n")}\n`;
}
