/**
 * The sizing table: the only place where tier-dependent numbers live. Overlays, the README's tier table and
 * the tests all derive from it. Figures come from the source document's "Scaling" section; where it gives a
 * single figure for a process ("2Gi memory, 1 CPU") that figure is the request and the limit is the upper
 * end of the component's documented range (main: "2-4Gi memory, 1-2 CPU cores" → limit = 2 × request).
 */
import { IssueCollector } from "./errors.ts";
import { parseCpu, parseMemory } from "./quantity.ts";

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** A stateless pool that a HorizontalPodAutoscaler owns: `min` is the tier's count, `max` the source's. */
export interface AutoscaledPool {
  min: number;
  max: number;
  targetCpuPercent: number;
  targetMemoryPercent: number;
}

/**
 * Optional Synapse worker roles (Kustomize components under base/components/). Larger tiers switch some on
 * by default; see apps/synapse-workers/README.md for why.
 */
export const optionalRoles = [
  "typing-writer",
  "to-device-writer",
  "receipts-writer",
  "account-data-writer",
  "presence-writer",
  "push-rules-writer",
  "pusher",
  "background",
  "federation-reader",
  "initial-sync",
] as const;
export type OptionalRole = (typeof optionalRoles)[number];

export interface TierSizing {
  /** Overlay folder name: `overlays/<name>`. */
  name: string;
  /** Concurrent users the tier is sized for, inclusive range. */
  ccu: { from: number; to: number };
  main: Resources;
  haproxy: { replicas: number; resources: Resources };
  workers: {
    synchrotron: AutoscaledPool;
    generic: AutoscaledPool;
    media: AutoscaledPool;
    /** Named stream writers: a fixed count per tier, never autoscaled (Synapse needs stable names). */
    eventPersisters: number;
    federationSenders: number;
  };
  /** Optional worker roles this tier runs (each adds its Kustomize component to the overlay). */
  optionalRoles: OptionalRole[];
}

/**
 * Per-pod resources of each Synapse worker role. Not in the source document, which sizes workers by count;
 * these follow the figures large deployments publish (a Synapse process is single-threaded Python, so more
 * than ~1.5 cores per pod is wasted) and are the same in every tier: tiers scale workers out, not up.
 *
 * Measured in the lab (`npm run bench:lab`, Synapse 1.157, two cores): every role starts in 1.3–2.3 s and
 * holds 118–128 MiB resident after a warm-up. That is the floor with empty caches, not the working set:
 * Synapse's caches grow with rooms and users up to SYNAPSE_CACHE_FACTOR, so the requests stay above it and
 * were not lowered to it. Every request and limit here is above the measured floor.
 */
export const workerPodResources: Record<string, Resources> = {
  synchrotron: resources("500m", "1Gi", "1500m", "2Gi"),
  generic: resources("500m", "1Gi", "1500m", "2Gi"),
  media: resources("250m", "512Mi", "1", "2Gi"),
  "event-persister": resources("500m", "1Gi", "1500m", "2Gi"),
  "federation-sender": resources("250m", "512Mi", "1", "1Gi"),
  "stream-writer": resources("250m", "512Mi", "1", "1Gi"),
  pusher: resources("100m", "256Mi", "500m", "512Mi"),
  background: resources("250m", "1Gi", "1", "2Gi"),
  "federation-reader": resources("500m", "1Gi", "1500m", "2Gi"),
  "initial-sync": resources("1", "2Gi", "1500m", "4Gi"),
};

/** HPA bounds of the optional autoscaled roles, the same in every tier that enables them. */
export const optionalPoolBounds = {
  "federation-reader": { min: 2, max: 8, targetCpuPercent: 70, targetMemoryPercent: 80 },
  "initial-sync": { min: 1, max: 4, targetCpuPercent: 60, targetMemoryPercent: 70 },
} as const satisfies Record<string, AutoscaledPool>;

/** Upper bounds the source document gives per pool ("Synchrotron (4-16 replicas)" and so on). */
export const documentedMaximum = {
  synchrotron: 16,
  generic: 16,
  media: 8,
  eventPersisters: 8,
  federationSenders: 8,
} as const;

/** HPA targets from the source's "Horizontal Pod Autoscaling" section. */
const hpaTargets = {
  synchrotron: { targetCpuPercent: 60, targetMemoryPercent: 70 },
  generic: { targetCpuPercent: 70, targetMemoryPercent: 80 },
  media: { targetCpuPercent: 70, targetMemoryPercent: 80 },
} as const;

function autoscaled(pool: keyof typeof hpaTargets, min: number): AutoscaledPool {
  return { min, max: documentedMaximum[pool], ...hpaTargets[pool] };
}

function resources(cpu: string, memory: string, limitCpu: string, limitMemory: string): Resources {
  return { requests: { cpu, memory }, limits: { cpu: limitCpu, memory: limitMemory } };
}

/** Roles that take hot streams and duties off the single-threaded main process (10k and 20k tiers). */
const largeInstallationRoles: OptionalRole[] = [
  "typing-writer", "to-device-writer", "receipts-writer", "account-data-writer", "presence-writer",
  "push-rules-writer", "pusher", "background", "federation-reader",
];

export const tiers: readonly TierSizing[] = [
  {
    name: "ccu-1k",
    ccu: { from: 100, to: 1_000 },
    main: resources("1", "2Gi", "2", "4Gi"),
    haproxy: { replicas: 2, resources: resources("250m", "256Mi", "500m", "512Mi") },
    workers: {
      synchrotron: autoscaled("synchrotron", 2),
      generic: autoscaled("generic", 2),
      media: autoscaled("media", 2),
      eventPersisters: 2,
      federationSenders: 1,
    },
    optionalRoles: [],
  },
  {
    name: "ccu-5k",
    ccu: { from: 1_000, to: 5_000 },
    main: resources("2", "4Gi", "4", "8Gi"),
    haproxy: { replicas: 2, resources: resources("500m", "512Mi", "1", "1Gi") },
    workers: {
      synchrotron: autoscaled("synchrotron", 4),
      generic: autoscaled("generic", 4),
      media: autoscaled("media", 4),
      eventPersisters: 4,
      federationSenders: 2,
    },
    optionalRoles: [],
  },
  {
    name: "ccu-10k",
    ccu: { from: 5_000, to: 10_000 },
    main: resources("4", "8Gi", "8", "16Gi"),
    haproxy: { replicas: 2, resources: resources("1", "1Gi", "2", "2Gi") },
    workers: {
      synchrotron: autoscaled("synchrotron", 8),
      generic: autoscaled("generic", 8),
      media: autoscaled("media", 6),
      eventPersisters: 6,
      federationSenders: 4,
    },
    optionalRoles: [...largeInstallationRoles],
  },
  {
    name: "ccu-20k",
    ccu: { from: 10_000, to: 20_000 },
    main: resources("8", "16Gi", "16", "32Gi"),
    haproxy: { replicas: 2, resources: resources("2", "2Gi", "4", "4Gi") },
    workers: {
      synchrotron: autoscaled("synchrotron", 12),
      generic: autoscaled("generic", 12),
      media: autoscaled("media", 8),
      eventPersisters: 8,
      federationSenders: 6,
    },
    optionalRoles: [...largeInstallationRoles, "initial-sync"],
  },
];

const tierNamePattern = /^ccu-[0-9]+k$/;

function checkResources(issues: IssueCollector, field: string, r: Resources): void {
  const cpu = [parseCpu(r.requests.cpu), parseCpu(r.limits.cpu)];
  const mem = [parseMemory(r.requests.memory), parseMemory(r.limits.memory)];
  const named: [string, string, number | undefined][] = [
    ["requests.cpu", r.requests.cpu, cpu[0]],
    ["limits.cpu", r.limits.cpu, cpu[1]],
    ["requests.memory", r.requests.memory, mem[0]],
    ["limits.memory", r.limits.memory, mem[1]],
  ];
  for (const [name, raw, value] of named) {
    if (value === undefined) issues.add(`${field}.${name}`, `"${raw}" is not a Kubernetes quantity`);
    else issues.check(value > 0, `${field}.${name}`, `must be greater than zero, got "${raw}"`);
  }
  if (cpu[0] !== undefined && cpu[1] !== undefined && cpu[0] > 0)
    issues.check(cpu[1] >= cpu[0], `${field}.limits.cpu`, `limit ${r.limits.cpu} is below the request ${r.requests.cpu}`);
  if (mem[0] !== undefined && mem[1] !== undefined && mem[0] > 0)
    issues.check(mem[1] >= mem[0], `${field}.limits.memory`, `limit ${r.limits.memory} is below the request ${r.requests.memory}`);
}

function checkCount(issues: IssueCollector, field: string, value: number, min: number, max: number): void {
  issues.check(
    Number.isInteger(value) && value >= min && value <= max,
    field,
    `must be a whole number from ${min} to ${max}, got ${value}`,
  );
}

function checkPool(issues: IssueCollector, field: string, pool: AutoscaledPool, documentedMax: number): void {
  checkCount(issues, `${field}.min`, pool.min, 1, documentedMax);
  checkCount(issues, `${field}.max`, pool.max, 1, documentedMax);
  issues.check(pool.min <= pool.max, `${field}.min`, `min replicas ${pool.min} is above max replicas ${pool.max}`);
  checkCount(issues, `${field}.targetCpuPercent`, pool.targetCpuPercent, 1, 100);
  checkCount(issues, `${field}.targetMemoryPercent`, pool.targetMemoryPercent, 1, 100);
}

/** Throws a ConfigError naming every invalid field; returns the table unchanged when it is valid. */
export function validateSizing(table: readonly TierSizing[]): readonly TierSizing[] {
  const issues = new IssueCollector();
  issues.check(table.length > 0, "sizing", "the sizing table has no tiers");
  const seen = new Set<string>();
  table.forEach((tier, index) => {
    const at = `sizing[${tier.name ?? index}]`;
    if (!issues.check(typeof tier.name === "string" && tierNamePattern.test(tier.name), `${at}.name`,
      `tier name must look like "ccu-5k", got ${JSON.stringify(tier.name)}`)) return;
    issues.check(!seen.has(tier.name), `${at}.name`, `duplicate tier name "${tier.name}"`);
    seen.add(tier.name);
    issues.check(tier.ccu.from > 0 && tier.ccu.from < tier.ccu.to, `${at}.ccu`,
      `the range must be positive and increasing, got ${tier.ccu.from}-${tier.ccu.to}`);
    checkResources(issues, `${at}.main`, tier.main);
    checkResources(issues, `${at}.haproxy.resources`, tier.haproxy.resources);
    checkCount(issues, `${at}.haproxy.replicas`, tier.haproxy.replicas, 1, 16);
    const w = tier.workers;
    checkPool(issues, `${at}.workers.synchrotron`, w.synchrotron, documentedMaximum.synchrotron);
    checkPool(issues, `${at}.workers.generic`, w.generic, documentedMaximum.generic);
    checkPool(issues, `${at}.workers.media`, w.media, documentedMaximum.media);
    checkCount(issues, `${at}.workers.eventPersisters`, w.eventPersisters, 1, documentedMaximum.eventPersisters);
    checkCount(issues, `${at}.workers.federationSenders`, w.federationSenders, 1, documentedMaximum.federationSenders);
    const roles = tier.optionalRoles ?? [];
    roles.forEach((role, i) => issues.check((optionalRoles as readonly string[]).includes(role), `${at}.optionalRoles[${i}]`,
      `unknown worker role "${role}"; known roles: ${optionalRoles.join(", ")}`));
    issues.check(new Set(roles).size === roles.length, `${at}.optionalRoles`, "lists a role twice");
  });
  for (const [role, r] of Object.entries(workerPodResources)) checkResources(issues, `workerPodResources.${role}`, r);
  issues.throwIfAny();
  return table;
}

/** Looks a tier up by name; an unknown name is a ConfigError that lists the known ones. */
export function findTier(table: readonly TierSizing[], name: string, field = "tier"): TierSizing {
  const tier = table.find((t) => t.name === name);
  if (!tier) {
    const issues = new IssueCollector();
    issues.add(field, `unknown tier "${name}"; known tiers: ${table.map((t) => t.name).join(", ")}`);
    issues.throwIfAny();
  }
  return tier as TierSizing;
}

/** The tiers a comma-separated list names (`--tiers ccu-1k,ccu-5k`), or all of them when it is absent. */
export function selectTiers(table: readonly TierSizing[], list: string | undefined, field = "--tiers"): readonly TierSizing[] {
  return list ? list.split(",").map((n) => findTier(table, n.trim(), field)) : table;
}
