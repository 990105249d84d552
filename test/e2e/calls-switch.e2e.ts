/**
 * The other side of `calls.enabled`: ccu-1k emitted from the site under test with calls switched the other
 * way, brought up on loopback (one process per pool), and the MatrixRTC checks of ccu-1k.e2e.ts run against
 * it. Between the two files every site has both states checked against real Synapse through HAProxy.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import type { MatrixClient } from "matrix-js-sdk";
import { resolveSite } from "../../apps/site/site.ts";
import { startLab, type Lab } from "../../tools/lab/cluster/lab.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { renderOverlay } from "../support/repo.ts";
import { expected, siteInput } from "../support/site-under-test.ts";
import { checkDelayedEvents, checkTransports } from "./matrix-rtc.ts";
import { StepRunner, twoUsersInARoom } from "./matrix-steps.ts";

const calls = !expected.calls;
const change = { calls: { ...siteInput.calls, enabled: calls } };

let lab: Lab;
let steps: StepRunner;
let alice: MatrixClient;
let bob: MatrixClient;
let roomId: string;

beforeAll(async () => {
  const objects = await renderOverlay("ccu-1k", emitSiteVariant(siteInput, change));
  lab = await startLab({
    tier: "ccu-1k", site: resolveSite({ ...siteInput, ...change }), objects,
    counts: { "synapse-synchrotron": 1, "synapse-generic": 1, "synapse-media": 1 },
    keep: process.env.LAB_KEEP === "1",
  });
  steps = new StepRunner(lab.haproxyLog);
  ({ alice, bob, roomId } = await twoUsersInARoom(lab, "calls"));
}, 600_000);

afterAll(async () => {
  await lab?.stop();
});

describe(`ccu-1k with calls ${calls ? "on" : "off"} (the site under test switched), real Synapse through HAProxy`, () => {
  it(calls ? "advertises the site's LiveKit focus and runs delayed events" : "answers the transports endpoint with no transports and refuses delayed events", async () => {
    const check = { steps, clientUrl: lab.clientUrl, alice, bob, roomId, calls, rtcHost: expected.hosts.rtc };
    await checkTransports(check);
    await checkDelayedEvents(check);
  });
});
