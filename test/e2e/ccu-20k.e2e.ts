/**
 * ccu-20k with every optional role: the six single-stream writers, pusher, background, federation reader
 * and initial sync, each at least once. Reduced to fit two cores: every event persister the tier names runs
 * (rooms hash over all of them, so a missing one would stall sends), but one federation sender of six, and
 * one pod each of the autoscaled pools (synchrotron, generic, media, federation reader, initial sync).
 * Expectations are workers.md's stream-writer rules written out: every stream endpoint reaches its writer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Method, Preset, ReceiptType, type MatrixClient } from "matrix-js-sdk";
import { startLab, type Lab } from "../../tools/lab/cluster/lab.ts";
import { checkResidentMemory } from "../support/lab-memory.ts";
import { clientPath as c, login, pngImage, StepRunner, syncOnce } from "./matrix-steps.ts";

export const reducedCounts: Record<string, number> = {
  "synapse-federation-sender": 1,
  "synapse-synchrotron": 1,
  "synapse-generic": 1,
  "synapse-media": 1,
  "synapse-federation-reader": 1,
  "synapse-initial-sync": 1,
};

const expectedPods = [
  "synapse-account-data-writer-0", "synapse-background-0",
  ...Array.from({ length: 8 }, (_, i) => `synapse-event-persister-${i}`),
  "synapse-federation-reader-0", "synapse-federation-sender-0", "synapse-generic-0", "synapse-initial-sync-0", "synapse-main-0",
  "synapse-media-0", "synapse-presence-writer-0", "synapse-push-rules-writer-0", "synapse-pusher-0", "synapse-receipts-writer-0",
  "synapse-synchrotron-0", "synapse-to-device-writer-0", "synapse-typing-writer-0",
];

let lab: Lab;
let steps: StepRunner;
let alice: MatrixClient;
let bob: MatrixClient;
let roomId: string;

beforeAll(async () => {
  lab = await startLab({ tier: "ccu-20k", counts: reducedCounts, keep: process.env.LAB_KEEP === "1" });
  steps = new StepRunner(lab.haproxyLog);
  lab.registerUser("alice", "alice-lab-password");
  lab.registerUser("bob", "bob-lab-password");
});

afterAll(async () => {
  if (steps) console.log(steps.records.map((r) => `${r.step.padEnd(30)} ${r.expected.padEnd(20)} ${r.served} ${r.status}`).join("\n"));
  await lab?.stop();
});

describe("ccu-20k with every optional role on loopback", () => {
  it("runs every role of the tier", () => {
    expect([...lab.pods.keys()].sort()).toEqual(expectedPods.sort());
  });

  it("creates a room on generic workers and syncs initially on the initial-sync pool, incrementally on a synchrotron", async () => {
    alice = (await steps.step("password login", { method: "POST", path: c("login"), pool: "generic" }, () => login(lab.clientUrl, "alice", "alice-lab-password"))).result;
    bob = await login(lab.clientUrl, "bob", "bob-lab-password");
    roomId = (await steps.step("create room", { method: "POST", path: c("createRoom"), pool: "generic" },
      () => alice.createRoom({ name: "lab", preset: Preset.PrivateChat, invite: [bob.getUserId() as string] }))).result.room_id;
    await steps.step("join", { method: "POST", path: c("join/[^/]+"), pool: "generic" }, () => bob.joinRoom(roomId));
    await steps.step("send message", { method: "PUT", path: c("rooms/[^/]+/send/m.room.message/[^/]+"), pool: "generic" }, () => alice.sendTextMessage(roomId, "hello"));
    const first = await steps.step("initial sync", { method: "GET", path: c("sync"), pool: "initial-sync" }, () => syncOnce(bob));
    expect(first.result.rooms?.join?.[roomId]?.timeline.events.map((e) => e.content.body)).toContain("hello");
    await alice.sendTextMessage(roomId, "second");
    const next = await steps.step("incremental sync", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => syncOnce(bob, first.result.next_batch));
    expect(next.result.rooms?.join?.[roomId]?.timeline.events.map((e) => e.content.body)).toContain("second");
  });

  it("sends every stream-writer endpoint to its writer", async () => {
    const user = alice.getUserId() as string;
    await steps.step("typing", { method: "PUT", path: c("rooms/[^/]+/typing/[^/]+"), pool: "typing-writer" }, () => alice.sendTyping(roomId, true, 10_000));
    const { event_id } = await alice.sendTextMessage(roomId, "read me");
    await steps.step("read receipt", { method: "POST", path: c("rooms/[^/]+/receipt/m.read/[^/]+"), pool: "receipts-writer" },
      () => bob.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/receipt/${ReceiptType.Read}/${encodeURIComponent(event_id)}`, undefined, {}));
    await steps.step("read markers", { method: "POST", path: c("rooms/[^/]+/read_markers"), pool: "receipts-writer" },
      () => bob.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/read_markers`, undefined, { "m.fully_read": event_id }));
    await steps.step("to-device", { method: "PUT", path: c("sendToDevice/[^/]+/[^/]+"), pool: "to-device-writer" },
      () => alice.sendToDevice("org.example.lab", new Map([[bob.getUserId() as string, new Map([[bob.getDeviceId() as string, { hello: "bob" }]])]])));
    type Writable = Parameters<MatrixClient["setAccountData"]>[0];
    await steps.step("account data write", { method: "PUT", path: c("user/[^/]+/account_data/[^/]+"), pool: "account-data-writer" },
      () => alice.setAccountData("org.example.lab" as Writable, {} as never));
    await steps.step("account data read", { method: "GET", path: c("user/[^/]+/account_data/[^/]+"), pool: "generic" },
      () => alice.getAccountDataFromServer("org.example.lab" as Writable));
    await steps.step("room tag write", { method: "PUT", path: c("user/[^/]+/rooms/[^/]+/tags/[^/]+"), pool: "account-data-writer" },
      () => alice.setRoomTag(roomId, "m.favourite", { order: 0.5 }));
    await steps.step("presence write", { method: "PUT", path: c("presence/[^/]+/status"), pool: "presence-writer" }, () => alice.setPresence({ presence: "online" }));
    await steps.step("presence read", { method: "GET", path: c("presence/[^/]+/status"), pool: "presence-writer" }, () => bob.getPresence(user));
    await steps.step("push rule write", { method: "PUT", path: c("pushrules/global/override/[^/]+"), pool: "push-rules-writer" },
      () => alice.addPushRule("global", "override" as never, "org.example.lab", { actions: [], conditions: [] } as never));
    await steps.step("push rules read", { method: "GET", path: c("pushrules/"), pool: "generic" }, () => alice.getPushRules());
    // The writes are visible to the other user through the synchrotron: the writers' streams replicate.
    const synced = await syncOnce(bob);
    expect(synced.next_batch).toBeTruthy();
  });

  it("answers typing with a retryable 503 from HAProxy while the typing writer is down (never main), and recovers when it returns", async () => {
    await lab.stopPod("synapse-typing-writer-0");
    await lab.waitForServerState("typing-writer", "DOWN");
    const mark = lab.haproxyLog.mark();
    const outcome = await Promise.race([
      alice.sendTyping(roomId, true, 10_000).then(() => "200", (e: Error) => e.message),
      new Promise<string>((r) => setTimeout(() => r("no answer within 8 s"), 8000)),
    ]);
    // HAProxy logs a request after answering it: wait (bounded) for the line.
    let served: string[] = [];
    for (let i = 0; i < 40 && served.length === 0; i++) {
      served = lab.haproxyLog.since(mark).filter((r) => r.path.includes("/typing/")).map((r) => `${r.backend}/${r.server} ${r.status}`);
      if (served.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`typing with synapse-typing-writer-0 stopped: ${outcome}; HAProxy: ${served.join(", ") || "nothing logged"}`);
    expect(served).toEqual(["be_typing_writer_roundrobin/<NOSRV> 503"]);
    expect(outcome).toMatch(/\[503\]/);
    await lab.startPod("synapse-typing-writer-0");
    await lab.waitForServerState("typing-writer", "UP");
    await steps.step("typing after the writer returned", { method: "PUT", path: c("rooms/[^/]+/typing/[^/]+"), pool: "typing-writer" }, () => alice.sendTyping(roomId, true, 10_000));
  });

  it("answers federation on the federation reader and media on the media worker", async () => {
    await steps.step("federation version", { method: "GET", path: /^\/_matrix\/federation\/v1\/version$/, pool: "federation-reader" },
      () => fetch(`${lab.federationUrl}/_matrix/federation/v1/version`).then((r) => r.json()));
    await steps.step("media upload", { method: "POST", path: /^\/_matrix\/media\/(v3|r0)\/upload$/, pool: "media" },
      () => alice.uploadContent(pngImage(), { name: "lab.png", type: "image/png" }));
  });

  it("keeps every process's measured resident memory plus its cache bound under its memory limit, every optional role included", () => {
    console.log(checkResidentMemory(lab));
  });
});
