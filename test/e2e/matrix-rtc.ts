/**
 * What Element Call asks of the homeserver, through HAProxy against real Synapse: its LiveKit focus from the
 * MSC4143 transports endpoint, and MSC4140 delayed events (its call membership is a delayed state event it
 * restarts as a heartbeat and cancels on leave). Expectations are written out here from Synapse 1.157's
 * sources (rest/client/matrixrtc.py, delayed_events.py) and Element Call's self-hosting guide, never read
 * from the generated configuration: with calls on, the site's focus URL and working delayed events; with
 * calls off, no transports and delayed events refused.
 */
import { expect } from "vitest";
import { EventType, Method, MsgType, type MatrixClient } from "matrix-js-sdk";
import { clientPath as c, type StepRunner } from "./matrix-steps.ts";

const rtcPrefix = "/_matrix/client/unstable/org.matrix.msc4143";
const delayedPath = (rest = "") => new RegExp(`^/_matrix/client/unstable/org\\.matrix\\.msc4140/delayed_events${rest}$`);
const callMember = "org.matrix.msc3401.call.member";

export interface MatrixRtcCheck {
  steps: StepRunner;
  clientUrl: string;
  alice: MatrixClient;
  bob: MatrixClient;
  roomId: string;
  calls: boolean;
  /** The site's rtc host: the focus must be `https://<rtcHost>/livekit/jwt`. */
  rtcHost: string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not seen within ${timeoutMs} ms`);
}

/** Bob's view of the room's latest messages, looked up until one with `body` shows up. */
function messageSeen(bob: MatrixClient, roomId: string, body: string): Promise<true> {
  return until(`message "${body}" in the room`, async () => {
    const page = await bob.http.authedRequest<{ chunk: { content: { body?: string } }[] }>(Method.Get, `/rooms/${encodeURIComponent(roomId)}/messages`, { dir: "b", limit: "20" });
    return page.chunk.some((e) => e.content.body === body) ? true : undefined;
  });
}

export async function checkTransports({ steps, clientUrl, alice, calls, rtcHost }: MatrixRtcCheck): Promise<void> {
  const transports = await steps.step("MatrixRTC transports", { method: "GET", path: /^\/_matrix\/client\/unstable\/org\.matrix\.msc4143\/rtc\/transports$/, pool: "main" },
        // `priority` is optional at run time; Node's RequestInit typing marks it required.
    () => alice.http.authedRequest<Record<string, unknown>>(Method.Get, "/rtc/transports", undefined, undefined, { prefix: rtcPrefix } as Parameters<MatrixClient["http"]["authedRequest"]>[4]));
  expect(transports.result).toEqual(calls ? { rtc_transports: [{ type: "livekit", livekit_service_url: `https://${rtcHost}/livekit/jwt` }] } : {});
  // The endpoint needs a user's token, as Synapse's servlet says.
  expect((await fetch(`${clientUrl}${rtcPrefix}/rtc/transports`)).status).toBe(401);
}

export async function checkDelayedEvents({ steps, alice, bob, roomId, calls }: MatrixRtcCheck): Promise<void> {
  const versions = await alice.getVersions();
  expect(versions.unstable_features?.["org.matrix.msc4140"] ?? false).toBe(calls);
  const stateKey = `_${alice.getUserId()}_${alice.getDeviceId()}`;
  const membershipPath = `/rooms/${encodeURIComponent(roomId)}/state/${callMember}/${encodeURIComponent(stateKey)}`;
  if (!calls) {
    // Synapse refuses to schedule when max_event_delay_duration is unset (handlers/delayed_events.py).
    const refused = await steps.step("delayed event refused (calls off)", { method: "PUT", path: c(`rooms/[^/]+/state/${callMember}/[^/]+`), pool: "generic", status: 403 },
      () => alice.http.authedRequest(Method.Put, membershipPath, { "org.matrix.msc4140.delay": "8000" }, {}).then(() => "accepted", (e: { errcode?: string }) => e.errcode));
    expect(refused.result).toBe("M_FORBIDDEN");
    return;
  }
  // Element Call's leave: an empty membership, delayed, restarted as a heartbeat, cancelled on a clean leave.
  const scheduled = await steps.step("schedule delayed leave", { method: "PUT", path: c(`rooms/[^/]+/state/${callMember}/[^/]+`), pool: "generic" },
    () => alice._unstable_sendDelayedStateEvent(roomId, { delay: 60_000 }, callMember as never, {} as never, stateKey));
  const delayId = scheduled.result.delay_id;
  expect(delayId).toMatch(/\S/);
  const listed = await steps.step("list delayed events", { method: "GET", path: delayedPath(), pool: "generic" }, () => alice._unstable_getDelayedEvents());
  expect(JSON.stringify(listed.result)).toContain(delayId);
  await steps.step("restart delayed event (heartbeat)", { method: "POST", path: delayedPath("/[^/]+/restart"), pool: "generic" },
    () => alice._unstable_restartScheduledDelayedEvent(delayId));
  await steps.step("cancel delayed event", { method: "POST", path: delayedPath("/[^/]+/cancel"), pool: "main" },
    () => alice._unstable_cancelScheduledDelayedEvent(delayId));
  const after = await alice._unstable_getDelayedEvents("scheduled");
  expect(JSON.stringify(after)).not.toContain(delayId);
  const cancelledAgain = await alice._unstable_restartScheduledDelayedEvent(delayId).then(() => "restarted", (e: { errcode?: string }) => e.errcode);
  expect(cancelledAgain).toBe("M_NOT_FOUND");

  // Sent on request, by main.
  const now = await alice._unstable_sendDelayedEvent(roomId, { delay: 60_000 }, null, EventType.RoomMessage, { msgtype: MsgType.Text, body: "delayed, sent on request" });
  await steps.step("send delayed event now", { method: "POST", path: delayedPath("/[^/]+/send"), pool: "main" },
    () => alice._unstable_sendScheduledDelayedEvent(now.delay_id));
  await messageSeen(bob, roomId, "delayed, sent on request");
  // Sent by main's timer once the delay has passed, with nobody asking.
  await alice._unstable_sendDelayedEvent(roomId, { delay: 1_500 }, null, EventType.RoomMessage, { msgtype: MsgType.Text, body: "delayed, sent by the timer" });
  await messageSeen(bob, roomId, "delayed, sent by the timer");
}
