/**
 * What the alerts must be per tier, written out from the source document's figures and the README's tables,
 * not read from apps/: the Synapse pools each tier runs, HAProxy's memory limit and connection soft limit
 * (2 per user at the tier's upper bound), and the federation senders.
 */
const basePools = ["event-persister", "federation-sender", "synchrotron", "generic", "media"];
const largePools = ["typing-writer", "to-device-writer", "receipts-writer", "account-data-writer", "presence-writer", "push-rules-writer", "pusher", "background", "federation-reader"];
const Mi = 1024 * 1024;

export const tierAlerts: Record<string, { pools: string[]; haproxyMemoryLimitBytes: number; softConnections: number; federationSenders: number }> = {
  "ccu-1k": { pools: basePools, haproxyMemoryLimitBytes: 512 * Mi, softConnections: 2_000, federationSenders: 1 },
  "ccu-5k": { pools: basePools, haproxyMemoryLimitBytes: 1024 * Mi, softConnections: 10_000, federationSenders: 2 },
  "ccu-10k": { pools: [...basePools, ...largePools], haproxyMemoryLimitBytes: 2048 * Mi, softConnections: 20_000, federationSenders: 4 },
  "ccu-20k": { pools: [...basePools, ...largePools, "initial-sync"], haproxyMemoryLimitBytes: 4096 * Mi, softConnections: 40_000, federationSenders: 6 },
};

/** Every alert name, in the order the groups list them (SynapsePoolUnavailable once per pool). */
export function alertNames(tier: string): string[] {
  const t = tierAlerts[tier];
  if (!t) throw new Error(`no golden entry for ${tier}`);
  return [
    "SynapseMainDown", ...t.pools.map(() => "SynapsePoolUnavailable"), "SynapseEventStreamBehind", "SynapseReplicationBacklog",
    "SynapseFederationLagging", "SynapseFederationBacklog", "SynapseSyncSlow", "SynapseRateLimiting", "SynapseDatabasePoolSaturated",
    "HAProxyBackendErrors", "HAProxyShedding", "HAProxyQueueing", "HAProxyMemoryNearLimit",
  ];
}
