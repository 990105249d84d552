/**
 * The upgrade drill: ccu-1k starts on the previous Synapse minor release (the site under test with its
 * Synapse image one minor back, one process per pool), gets users, a room and messages, and is then
 * upgraded to the pinned release the way Argo CD syncs it: the new render's ConfigMaps, then the Synapse
 * workloads wave by wave (main, the writers, then the pools), each pod replaced and ready before the next.
 * After every step every process of both versions must still be up (none fails on the database schema),
 * and at the end every process runs the pinned release and the history is intact.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MatrixClient } from "matrix-js-sdk";
import { resolveSite } from "../../apps/site/site.ts";
import { startLab, type Lab, type RolloutStep } from "../../tools/lab/cluster/lab.ts";
import { labRoot } from "../../tools/lab/toolchain.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { renderOverlay } from "../support/repo.ts";
import { site, siteInput } from "../support/site-under-test.ts";
import { twoUsersInARoom } from "./matrix-steps.ts";

const pinned = /:v(\d+)\.(\d+)\.(\d+)$/.exec(site.images.synapse);
if (!pinned) throw new Error(`cannot read the pinned Synapse version from ${site.images.synapse}`);
const pinnedVersion = `${pinned[1]}.${pinned[2]}.${pinned[3]}`;
const previousVersion = `${pinned[1]}.${Number(pinned[2]) - 1}.0`;
const previousImages = { ...site.images, synapse: site.images.synapse.replace(/:v[\d.]+$/, `:v${previousVersion}`) };
const counts = { "synapse-synchrotron": 1, "synapse-generic": 1, "synapse-media": 1 };

/** The order Argo CD's waves give, by workload, written out from the sync-wave table in apps/kube/sync-waves.ts's docs. */
const waveOrder = ["synapse-main", "synapse-event-persister", "synapse-federation-sender", "synapse-media", "synapse-synchrotron", "synapse-generic"];

/**
 * Synapse's own schema numbers (synapse/storage/schema/__init__.py of each installed release): code runs on a
 * database whose compat version is at most its SCHEMA_VERSION. Read from Synapse, not from this repository.
 */
function schemaNumbers(version: string): { schema: number; compat: number } {
  const text = readFileSync(join(labRoot, `synapse-${version}`, "lib", "python3.11", "site-packages", "synapse", "storage", "schema", "__init__.py"), "utf8");
  const schema = Number(/^SCHEMA_VERSION = (\d+)/m.exec(text)?.[1]);
  const compat = Number(/^SCHEMA_COMPAT_VERSION = \(\s*(?:#[^\n]*\n\s*)*(\d+)/m.exec(text)?.[1]);
  if (!(schema > 0 && compat > 0)) throw new Error(`cannot read the schema numbers of Synapse ${version}`);
  return { schema, compat };
}

let before: Awaited<ReturnType<typeof renderOverlay>>;
let lab: Lab;
let alice: MatrixClient;
let bob: MatrixClient;
let roomId: string;
let steps: RolloutStep[];

beforeAll(async () => {
  before = await renderOverlay("ccu-1k", emitSiteVariant(siteInput, { images: { ...siteInput.images, synapse: previousImages.synapse } }));
  lab = await startLab({ tier: "ccu-1k", site: resolveSite({ ...siteInput, images: { ...siteInput.images, synapse: previousImages.synapse } }), objects: before, counts, keep: process.env.LAB_KEEP === "1" });
}, 900_000);

afterAll(async () => { await lab?.stop(); });

/** Main's version as its admin API reports it, without the build suffix Synapse may add (`1.157.0 (b=…)`). */
async function serverVersion(): Promise<string> {
  const v = ((await (await fetch(`${lab.mainUrl}/_synapse/admin/v1/server_version`)).json()) as { server_version: string }).server_version;
  return v.split(" ")[0] as string;
}

describe(`upgrading Synapse ${previousVersion} → ${pinnedVersion} in Argo CD's wave order (ccu-1k, real Synapse)`, () => {
  it(`runs ${previousVersion} and holds a conversation`, async () => {
    expect(await serverVersion()).toBe(previousVersion);
    ({ alice, bob, roomId } = await twoUsersInARoom(lab, "before the upgrade"));
    for (let i = 0; i < 3; i++) await alice.sendTextMessage(roomId, `before ${i}`);
  });

  it("replaces main first, then the writers, then the pools, and every process stays up at every step", async () => {
    steps = await lab.rollOut(await renderOverlay("ccu-1k"), site.images);
    const order = steps.map((s) => s.pod.replace(/-\d+$/, ""));
    expect([...new Set(order)]).toEqual(waveOrder);
    for (let i = 1; i < steps.length; i++) expect(steps[i]?.wave).toBeGreaterThanOrEqual(steps[i - 1]?.wave ?? 0);
    const total = lab.pods.size;
    for (const s of steps) {
      expect(s.synapseVersion, s.pod).toBe(pinnedVersion);
      // Mixed versions side by side: nobody has exited on the schema main upgraded.
      expect(s.running.length, `after ${s.pod}: ${JSON.stringify(s.running)}`).toBe(total);
    }
    // Right after main: main on the new release, every other process still on the old one.
    expect(steps[0]?.running.filter((r) => r.synapseVersion === previousVersion).length).toBe(total - 1);
  });

  it(`ends with every process on ${pinnedVersion}, the history intact and messages flowing`, async () => {
    expect(await serverVersion()).toBe(pinnedVersion);
    expect(steps.at(-1)?.running.every((r) => r.synapseVersion === pinnedVersion)).toBe(true);
    await alice.sendTextMessage(roomId, "after the upgrade");
    const page = await bob.createMessagesRequest(roomId, null, 20, "b" as never);
    const bodies = page.chunk.map((e) => (e.content as { body?: string }).body);
    expect(bodies).toEqual(expect.arrayContaining(["before 0", "before 1", "before 2", "after the upgrade"]));
  });

  it("rolls back, or refuses to, as the two releases' schema numbers say (the rollback limit argocd/README.md states)", async () => {
    const older = schemaNumbers(previousVersion);
    const newer = schemaNumbers(pinnedVersion);
    const rollback = lab.rollOut(before, previousImages);
    if (newer.compat <= older.schema) {
      const back = await rollback;
      expect(back.at(-1)?.running.every((r) => r.synapseVersion === previousVersion)).toBe(true);
      expect(await serverVersion()).toBe(previousVersion);
      const page = await bob.createMessagesRequest(roomId, null, 20, "b" as never);
      expect(page.chunk.map((e) => (e.content as { body?: string }).body)).toContain("after the upgrade");
    } else {
      await expect(rollback).rejects.toThrow(/synapse-main-0[\s\S]*schema/i);
    }
  });
});
