/**
 * How many PostgreSQL connections a tier can open: every Synapse process's pool (`cp_max`, per role) summed
 * over the processes the tier can run, at its minimum counts and at its HPA maximums, plus the headroom
 * PostgreSQL itself and other clients need. The README's tier table, the build's check against the site's
 * declared limit and the preflight's check against the live server all read it.
 */
import { IssueCollector } from "../site/errors.ts";
import type { Site } from "../site/site.ts";
import { postgresHeadroom, type TierSizing } from "../site/sizing.ts";
import { databasePoolSize, synapseTopology } from "./topology.ts";

export interface PoolConnections {
  /** `main` or the worker role. */
  role: string;
  perProcess: number;
  processes: { min: number; max: number };
}

export interface ConnectionBudget {
  tier: string;
  pools: PoolConnections[];
  /** Connections Synapse can hold at the tier's minimum counts and at its HPA maximums. */
  atMinimum: number;
  atMaximum: number;
  headroom: number;
  /** The `max_connections` the tier's PostgreSQL needs: Synapse at HPA maximums plus the headroom. */
  maxConnectionsNeeded: number;
}

export function connectionBudget(tier: TierSizing): ConnectionBudget {
  const pools: PoolConnections[] = [
    { role: "main", perProcess: databasePoolSize("main"), processes: { min: 1, max: 1 } },
    ...synapseTopology(tier).pools.map((p) => ({
      role: p.role,
      perProcess: p.databaseConnections,
      processes: p.scaling.kind === "named"
        ? { min: p.scaling.replicas, max: p.scaling.replicas }
        : { min: p.scaling.bounds.min, max: p.scaling.bounds.max },
    })),
  ];
  const sum = (count: (p: PoolConnections) => number) => pools.reduce((n, p) => n + p.perProcess * count(p), 0);
  const atMaximum = sum((p) => p.processes.max);
  const headroom = postgresHeadroom.superuserReserved + postgresHeadroom.otherClients;
  return { tier: tier.name, pools, atMinimum: sum((p) => p.processes.min), atMaximum, headroom, maxConnectionsNeeded: atMaximum + headroom };
}

/**
 * The site's declared `postgres.maxConnections` against every tier a deployment target runs (those are the
 * tiers that open connections to that database). Adds one issue per target whose tier needs more.
 */
export function checkDeclaredConnections(site: Site, sizing: readonly TierSizing[], issues: IssueCollector): void {
  const declared = site.postgres.maxConnections;
  if (declared === null) return;
  site.argocd.targets.forEach((target) => {
    const tier = sizing.find((t) => t.name === target.tier);
    if (!tier) return;
    const b = connectionBudget(tier);
    issues.check(b.maxConnectionsNeeded <= declared, "site.postgres.maxConnections",
      `${declared} is below the ${b.maxConnectionsNeeded} that tier ${tier.name} (target "${target.name}") needs: its Synapse processes can open ${b.atMaximum} connections at their HPA maximums, plus ${b.headroom} for the superuser and other clients. Raise max_connections on the PostgreSQL cluster and here, or deploy a smaller tier`);
  });
}
