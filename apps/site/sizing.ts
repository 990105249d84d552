/**
 * The sizing table: the only place where tier-dependent numbers live. Overlays, the README's tier table and
 * the tests all derive from it. Figures come from the source document's "Scaling" section; where it gives a
 * single figure for a process ("2Gi memory, 1 CPU") that figure is the request and the limit is the upper
 * end of the component's documented range (main: "2-4Gi memory, 1-2 CPU cores" → limit = 2 × request).
 */
import { z } from "zod";
import { IssueCollector } from "./errors.ts";
import { parseCpu, parseMemory } from "./quantity.ts";
import { expected, parseOrThrow, strict } from "./schema-kit.ts";

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

/**
 * PostgreSQL connections each process may hold (its pool's `cp_max`), by role, in every tier: Synapse runs
 * every database transaction on a thread of that pool, one connection per thread, so the figure is the
 * number of transactions a process can have in flight. Synapse's default (10) fits the processes that do
 * most of the database work; the rest need less, and each connection held idle still costs PostgreSQL a
 * backend process. The tier's budget (`apps/synapse/database-budget.ts`) is the sum at HPA maximums.
 */
export const databaseConnections: Record<string, number> = {
  // Every request no worker takes, registration, admin, device lists and (until a tier moves them)
  // pushers and background tasks.
  main: 10,
  // Persist every event of their rooms: the write path.
  "event-persister": 10,
  // Mostly answered from caches and streams; catching a client up after a gap reads the database.
  synchrotron: 8,
  // Room history, profiles, keys, directory: reads, a query or two per request.
  generic: 8,
  "federation-reader": 6,
  // Initial syncs are the heaviest reads Synapse does.
  "initial-sync": 8,
  // Media metadata only: one row per upload or download; the bytes go to S3.
  media: 3,
  // Reads events and destination state to send, a few transactions per destination.
  "federation-sender": 5,
  pusher: 3,
  // Background updates, user directory, statistics: long transactions, several at once.
  background: 5,
  // Typing is kept in memory: the pool serves start-up and the replication stream only.
  "typing-writer": 2,
  "to-device-writer": 5,
  "receipts-writer": 5,
  "account-data-writer": 3,
  "presence-writer": 4,
  "push-rules-writer": 3,
};

/**
 * Connections PostgreSQL must allow beyond Synapse's: `superuser_reserved_connections` (3, PostgreSQL's
 * default, which CloudNativePG keeps) and room for other clients (the operator's instance manager and
 * metrics exporter, backups, an operator's psql, Synapse's admin scripts). Streaming replicas use WAL
 * sender slots, which `max_wal_senders` sizes apart from `max_connections` since PostgreSQL 12.
 */
export const postgresHeadroom = { superuserReserved: 3, otherClients: 10 } as const;

/**
 * Synapse's caches, per role. `cacheFactor` (`caches.global_factor`, what SYNAPSE_CACHE_FACTOR sets) scales
 * every cache's entry count; entries differ in size, so it cannot bound memory by itself. What bounds it is
 * `caches.cache_autotuning` (jemalloc, which every Synapse container preloads as the image's own start
 * script does): once jemalloc has allocated `max` of the container's memory limit, Synapse evicts cache
 * entries until it is back at `target`. The rest of the limit is for what jemalloc does not see (Python's
 * small-object arenas, code: the 118–128 MiB floor the lab measures) and requests in flight; the lab checks
 * that floor plus `max` stays under every role's limit (test/e2e/ccu-1k.e2e.ts).
 */
export const cacheMemoryShare = { max: 0.6, target: 0.5 } as const;

export const workerCacheFactors: Record<string, number> = {
  // Sync answers come from the event, state and stream-change caches.
  synchrotron: 2,
  generic: 1,
  "federation-reader": 1,
  "initial-sync": 1,
  // Persisting reads current state and event relations; a warm state cache saves those queries.
  "event-persister": 1,
  // The rest serve narrow traffic; Synapse's default (0.5) is enough.
  media: 0.5,
  "federation-sender": 0.5,
  pusher: 0.5,
  background: 0.5,
  "typing-writer": 0.5,
  "to-device-writer": 0.5,
  "receipts-writer": 0.5,
  "account-data-writer": 0.5,
  "presence-writer": 0.5,
  "push-rules-writer": 0.5,
};

/** Main serves everything no worker takes: its cache factor grows with its memory (1 per 2Gi requested). */
export function mainCacheFactor(main: Resources): number {
  return (parseMemory(main.requests.memory) ?? 0) / 2 ** 31;
}

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

/**
 * The largest container this repo will render: one node of a common 16-core, 64 GiB class. A bigger figure
 * is a typo (a missing "m" or "Mi"), and a pod that no node can hold stays Pending.
 */
export const perPodBound = { cpu: 16, memoryBytes: 64 * 2 ** 30, text: "16 cores and 64Gi" } as const;

const cpuQuantity = z.string({ error: expected("a CPU quantity such as \"500m\" or \"2\"") }).superRefine((v, ctx) => {
  const cores = parseCpu(v);
  if (cores === undefined) ctx.addIssue({ code: "custom", message: `"${v}" is not a Kubernetes CPU quantity` });
  else if (cores <= 0) ctx.addIssue({ code: "custom", message: `must be greater than zero, got "${v}"` });
  else if (cores > perPodBound.cpu) ctx.addIssue({ code: "custom", message: `"${v}" is above the per-pod bound of ${perPodBound.text}` });
});
const memoryQuantity = z.string({ error: expected("a memory quantity such as \"512Mi\" or \"2Gi\"") }).superRefine((v, ctx) => {
  const bytes = parseMemory(v);
  if (bytes === undefined) ctx.addIssue({ code: "custom", message: `"${v}" is not a Kubernetes memory quantity` });
  else if (bytes <= 0) ctx.addIssue({ code: "custom", message: `must be greater than zero, got "${v}"` });
  else if (bytes > perPodBound.memoryBytes) ctx.addIssue({ code: "custom", message: `"${v}" is above the per-pod bound of ${perPodBound.text}` });
});
const resourcesSchema = strict({
  requests: strict({ cpu: cpuQuantity, memory: memoryQuantity }),
  limits: strict({ cpu: cpuQuantity, memory: memoryQuantity }),
}).superRefine((r, ctx) => {
  const below = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && a < b;
  if (below(parseCpu(r.limits.cpu), parseCpu(r.requests.cpu)))
    ctx.addIssue({ code: "custom", path: ["limits", "cpu"], message: `limit ${r.limits.cpu} is below the request ${r.requests.cpu}` });
  if (below(parseMemory(r.limits.memory), parseMemory(r.requests.memory)))
    ctx.addIssue({ code: "custom", path: ["limits", "memory"], message: `limit ${r.limits.memory} is below the request ${r.requests.memory}` });
});

const count = (min: number, max: number) => z.int({ error: expected(`a whole number from ${min} to ${max}`) })
  .min(min, { error: (iss) => `must be a whole number from ${min} to ${max}, got ${String(iss.input)}` })
  .max(max, { error: (iss) => `must be a whole number from ${min} to ${max}, got ${String(iss.input)}` });

const pool = (documentedMax: number) => strict({
  min: count(1, documentedMax),
  max: count(1, documentedMax),
  targetCpuPercent: count(1, 100),
  targetMemoryPercent: count(1, 100),
}).refine((p) => p.min <= p.max, { path: ["min"], error: (iss) => {
  const p = iss.input as { min: number; max: number };
  return `min replicas ${p.min} is above max replicas ${p.max}`;
} });

const tierSchema = strict({
  name: z.string({ error: expected("a tier name such as \"ccu-5k\"") }).regex(/^ccu-[0-9]+k$/, {
    error: (iss) => `tier name must look like "ccu-5k", got ${JSON.stringify(iss.input)}`,
  }),
  ccu: strict({ from: count(1, 10_000_000), to: count(1, 10_000_000) }).refine((c) => c.from < c.to, {
    error: (iss) => {
      const c = iss.input as { from: number; to: number };
      return `the range must be positive and increasing, got ${c.from}-${c.to}`;
    },
  }),
  main: resourcesSchema,
  haproxy: strict({ replicas: count(1, 16), resources: resourcesSchema }),
  workers: strict({
    synchrotron: pool(documentedMaximum.synchrotron),
    generic: pool(documentedMaximum.generic),
    media: pool(documentedMaximum.media),
    eventPersisters: count(1, documentedMaximum.eventPersisters),
    federationSenders: count(1, documentedMaximum.federationSenders),
  }),
  optionalRoles: z.array(z.enum(optionalRoles, {
    error: (iss) => `unknown worker role ${JSON.stringify(iss.input)}; known roles: ${optionalRoles.join(", ")}`,
  })).refine((roles) => new Set(roles).size === roles.length, { error: "lists a role twice" }),
});

const sizingSchema = z.array(tierSchema, { error: expected("a list of tiers") })
  .min(1, { error: "the sizing table has no tiers" })
  .superRefine((table, ctx) => {
    const seen = new Set<string>();
    table.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate tier name "${t.name}"` });
      seen.add(t.name);
    });
  });

export type Resources = z.output<typeof resourcesSchema>;
/** A stateless pool that a HorizontalPodAutoscaler owns: `min` is the tier's count, `max` the source's. */
export type AutoscaledPool = z.output<ReturnType<typeof pool>>;
/**
 * One row of the sizing table. `name` is the overlay folder (`overlays/<name>`), `ccu` the inclusive range
 * of concurrent users; event persisters and federation senders are named stream writers, a fixed count per
 * tier and never autoscaled (Synapse needs stable names); `optionalRoles` each add a Kustomize component.
 */
export type TierSizing = z.output<typeof tierSchema>;

/** Throws a ConfigError naming every invalid field; returns the table unchanged when it is valid. */
export function validateSizing(table: readonly TierSizing[]): readonly TierSizing[] {
  // Name tiers in field paths (`sizing[ccu-5k].main`) rather than by index.
  const tierName = (path: readonly PropertyKey[]) => {
    const name = (table[path[0] as number] as { name?: unknown } | undefined)?.name;
    return typeof name === "string" ? name : undefined;
  };
  parseOrThrow(sizingSchema, table, "sizing", (path) => (path.length === 1 ? tierName(path) : undefined));
  parseOrThrow(z.record(z.string(), resourcesSchema), workerPodResources, "workerPodResources");
  parseOrThrow(z.record(z.string(), count(1, 50)), databaseConnections, "databaseConnections");
  parseOrThrow(z.record(z.string(), z.number().positive().max(64)), workerCacheFactors, "workerCacheFactors");
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
  if (list === undefined) return table;
  const names = list.split(",").map((n) => n.trim());
  if (names.some((n) => n === "")) {
    const issues = new IssueCollector();
    issues.add(field, `${JSON.stringify(list)} has an empty tier name; give tier names separated by commas, for example --tiers=ccu-1k,ccu-5k (known tiers: ${table.map((t) => t.name).join(", ")})`);
    issues.throwIfAny();
  }
  return names.map((n) => findTier(table, n, field));
}
