/**
 * ccu-1k as rendered, at its minimum counts: main, 2 event persisters, 1 federation sender, 2 media,
 * 2 synchrotrons, 2 generic workers, HAProxy, PostgreSQL, Redis and S3 on loopback, driven by matrix-js-sdk.
 * Every step is checked against the server HAProxy logged for it. Expectations are this tier's facts from
 * Synapse's workers.md, written out here: with no stream writers besides events, main serves typing,
 * to-device, receipts, presence, and writes of account data and push rules.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Direction, Method, Preset, ReceiptType, Visibility, type MatrixClient } from "matrix-js-sdk";
import { serverAddresses } from "../../tools/lab/cluster/haproxy-log.ts";
import { startLab, type Lab } from "../../tools/lab/cluster/lab.ts";
import { checkResidentMemory } from "../support/lab-memory.ts";
import { expected } from "../support/site-under-test.ts";
import { checkDelayedEvents, checkTransports } from "./matrix-rtc.ts";
import { checkAlertMetrics } from "./synapse-metrics.ts";
import { clientPath as c, login, pngImage, poolOf, StepRunner, syncOnce as sync } from "./matrix-steps.ts";

/** Pods the rendered ccu-1k overlay runs at its minimum counts (StatefulSet ordinals; lab names for Deployment pods). */
const expectedPods = [
  "synapse-event-persister-0", "synapse-event-persister-1", "synapse-federation-sender-0", "synapse-generic-0", "synapse-generic-1",
  "synapse-main-0", "synapse-media-0", "synapse-media-1", "synapse-synchrotron-0", "synapse-synchrotron-1",
];

let lab: Lab;
let steps: StepRunner;
let alice: MatrixClient;
let bob: MatrixClient;
let roomId: string;

beforeAll(async () => {
  lab = await startLab({ tier: "ccu-1k", keep: process.env.LAB_KEEP === "1" });
  steps = new StepRunner(lab.haproxyLog);
});

afterAll(async () => {
  if (steps) console.log(steps.records.map((r) => `${r.step.padEnd(34)} ${r.expected.padEnd(16)} ${r.served} ${r.status}`).join("\n"));
  await lab?.stop();
});

describe("ccu-1k on loopback, driven by matrix-js-sdk through HAProxy", () => {
  it("runs every Synapse pod of the rendered overlay", () => {
    expect([...lab.pods.keys()].sort()).toEqual(expectedPods);
  });

  it("registers through the shared secret on main only; the public entry point refuses the admin API", async () => {
    await steps.step("shared-secret registration via HAProxy", { method: "GET", path: /^\/_synapse\/admin\/v1\/register$/, pool: "haproxy", status: 403 },
      () => fetch(`${lab.clientUrl}/_synapse/admin/v1/register`).then((r) => r.text()));
    lab.registerUser("alice", "alice-lab-password");
    lab.registerUser("bob", "bob-lab-password");
  });

  it("serves the admin API on HAProxy's admin listener (the pod's loopback, reached with kubectl port-forward): real main answers", async () => {
    const admin = `http://${lab.haproxy.address}:8009`;
    const version = await steps.step("admin API via the admin listener", { method: "GET", path: /^\/_synapse\/admin\/v1\/server_version$/, pool: "main" },
      async () => (await fetch(`${admin}/_synapse/admin/v1/server_version`)).json() as Promise<{ server_version?: string }>);
    expect(version.result.server_version).toMatch(/^\d+\.\d+\.\d+/);
    // Without an admin's token the real admin API refuses: the listener opens the path, not the authority.
    expect((await fetch(`${admin}/_synapse/admin/v2/users/${encodeURIComponent("@alice:" + lab.site.serverName)}`)).status).toBe(401);
  });

  it("logs in, creates a room, invites, joins and sends", async () => {
    alice = (await steps.step("password login", { method: "POST", path: c("login"), pool: "generic" }, () => login(lab.clientUrl, "alice", "alice-lab-password"))).result;
    bob = await login(lab.clientUrl, "bob", "bob-lab-password");
    roomId = (await steps.step("create room", { method: "POST", path: c("createRoom"), pool: "generic" },
      () => alice.createRoom({ name: "lab", preset: Preset.PrivateChat }))).result.room_id;
    await steps.step("invite", { method: "POST", path: c("rooms/[^/]+/invite"), pool: "generic" }, () => alice.invite(roomId, bob.getUserId() as string));
    await steps.step("join", { method: "POST", path: c("join/[^/]+"), pool: "generic" }, () => bob.joinRoom(roomId));
    for (let i = 0; i < 3; i++) {
      await steps.step("send message", { method: "PUT", path: c("rooms/[^/]+/send/m.room.message/[^/]+"), pool: "generic" },
        () => alice.sendTextMessage(roomId, `hello ${i}`));
    }
  });

  it("syncs initially and incrementally on one synchrotron per user, and the other user receives the messages", async () => {
    const first = await steps.step("initial sync", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob));
    const bodies = first.result.rooms?.join?.[roomId]?.timeline.events.map((e) => e.content.body) ?? [];
    expect(bodies).toContain("hello 2");
    await alice.sendTextMessage(roomId, "after the initial sync");
    const next = await steps.step("incremental sync", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob, first.result.next_batch));
    expect(next.result.rooms?.join?.[roomId]?.timeline.events.map((e) => e.content.body)).toContain("after the initial sync");
    // Every /sync of one user reaches the same synchrotron.
    const servers = new Set<string>();
    let since = next.result.next_batch;
    for (let i = 0; i < 4; i++) {
      const r = await steps.step("repeated sync (bob)", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob, since));
      since = r.result.next_batch;
      for (const q of r.requests) servers.add(q.server);
    }
    for (const q of first.requests.concat(next.requests)) servers.add(q.server);
    expect([...servers]).toHaveLength(1);
    // Element X's sliding sync: served by the same synchrotron as the user's /sync.
    const sliding = await steps.step("sliding sync (Element X)", { method: "POST", path: /^\/_matrix\/client\/unstable\/org\.matrix\.simplified_msc3575\/sync$/, pool: "synchrotron" },
      () => bob.http.authedRequest<{ pos: string; rooms?: Record<string, unknown> }>(Method.Post, "/sync", { timeout: "0" },
        { lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [["m.room.name", ""]] } } },
        // `priority` is optional at run time; Node's RequestInit typing marks it required.
        { prefix: "/_matrix/client/unstable/org.matrix.simplified_msc3575" } as Parameters<MatrixClient["http"]["authedRequest"]>[4]));
    expect(sliding.result.pos).toBeTruthy();
    expect(Object.keys(sliding.result.rooms ?? {})).toContain(roomId);
    expect(sliding.requests.map((q) => q.server)).toEqual([...servers]);
  });

  it("sends typing, receipts and to-device messages to main, which writes those streams in this tier", async () => {
    await steps.step("typing", { method: "PUT", path: c("rooms/[^/]+/typing/[^/]+"), pool: "main" }, () => alice.sendTyping(roomId, true, 10_000));
    const { event_id } = await alice.sendTextMessage(roomId, "read me");
    await steps.step("read receipt", { method: "POST", path: c(`rooms/[^/]+/receipt/m.read/[^/]+`), pool: "main" },
      () => bob.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/receipt/${ReceiptType.Read}/${encodeURIComponent(event_id)}`, undefined, {}));
    await steps.step("to-device", { method: "PUT", path: c("sendToDevice/[^/]+/[^/]+"), pool: "main" },
      () => alice.sendToDevice("org.example.lab", new Map([[bob.getUserId() as string, new Map([[bob.getDeviceId() as string, { hello: "bob" }]])]])));
  });

  it("writes account data and push rules on main and reads them on generic workers; presence stays on main", async () => {
    type Writable = Parameters<MatrixClient["setAccountData"]>[0];
    const type = "org.example.lab" as Writable;
    await steps.step("account data write", { method: "PUT", path: c("user/[^/]+/account_data/[^/]+"), pool: "main" }, () => alice.setAccountData(type, {} as never));
    await steps.step("account data read", { method: "GET", path: c("user/[^/]+/account_data/[^/]+"), pool: "generic" }, () => alice.getAccountDataFromServer(type));
    await steps.step("presence write", { method: "PUT", path: c("presence/[^/]+/status"), pool: "main" }, () => alice.setPresence({ presence: "online", status_msg: "lab" }));
    await steps.step("presence read", { method: "GET", path: c("presence/[^/]+/status"), pool: "main" }, () => bob.getPresence(alice.getUserId() as string));
    await steps.step("push rules read", { method: "GET", path: c("pushrules/"), pool: "generic" }, () => alice.getPushRules());
    await steps.step("push rule write", { method: "PUT", path: c("pushrules/global/override/[^/]+"), pool: "main" },
      () => alice.addPushRule("global", "override" as never, "org.example.lab", { actions: [], conditions: [] } as never));
  });

  it("uploads, queries and claims device keys on generic workers", async () => {
    const device = alice.getDeviceId() as string;
    const user = alice.getUserId() as string;
    const key = (s: string) => Buffer.from(s.padEnd(32, "x")).toString("base64").replace(/=+$/, "");
    await steps.step("keys upload", { method: "POST", path: c("keys/upload"), pool: "generic" }, () => alice.uploadKeysRequest({
      device_keys: {
        user_id: user, device_id: device, algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        keys: { [`curve25519:${device}`]: key("curve"), [`ed25519:${device}`]: key("ed") }, signatures: { [user]: { [`ed25519:${device}`]: key("sig") } },
      },
      one_time_keys: { "signed_curve25519:AAAAAQ": { key: key("otk"), signatures: { [user]: { [`ed25519:${device}`]: key("otksig") } } } },
    } as never));
    const query = await steps.step("keys query", { method: "POST", path: c("keys/query"), pool: "generic" }, () => bob.downloadKeysForUsers([user]));
    expect(Object.keys(query.result.device_keys?.[user] ?? {})).toContain(device);
    const claim = await steps.step("keys claim", { method: "POST", path: c("keys/claim"), pool: "generic" }, () => bob.claimOneTimeKeys([[user, device]], "signed_curve25519"));
    expect(Object.keys(claim.result.one_time_keys?.[user]?.[device] ?? {})).toEqual(["signed_curve25519:AAAAAQ"]);
  });

  it("gives Element Call the site's LiveKit focus and delayed events, or neither with calls off (MatrixRTC)", async () => {
    const check = { steps, clientUrl: lab.clientUrl, alice, bob, roomId, calls: expected.calls, rtcHost: expected.hosts.rtc };
    await checkTransports(check);
    await checkDelayedEvents(check);
  });

  it("publishes the room in the directory and resolves its alias", async () => {
    const alias = `#lab:${lab.site.serverName}`;
    await steps.step("create alias", { method: "PUT", path: c("directory/room/[^/]+"), pool: "generic" }, () => alice.createAlias(alias, roomId));
    await steps.step("resolve alias", { method: "GET", path: c("directory/room/[^/]+"), pool: "generic" }, async () => expect((await bob.getRoomIdForAlias(alias)).room_id).toBe(roomId));
    // Synapse's default room_list_publication_rules let only server admins publish rooms; main says so.
    await steps.step("publish in directory (refused)", { method: "PUT", path: c("directory/list/room/[^/]+"), pool: "main", status: 403 },
      () => alice.setRoomDirectoryVisibility(roomId, Visibility.Public).then(() => "published", (e: Error) => e.message));
    await steps.step("room directory", { method: "GET", path: c("publicRooms"), pool: "generic" }, async () => expect(Array.isArray((await bob.publicRooms()).chunk)).toBe(true));
  });

  it("paginates one room on one generic worker, whoever asks", async () => {
    const servers = new Set<string>();
    for (const cl of [alice, bob, alice, bob]) {
      const r = await steps.step("/messages", { method: "GET", path: c("rooms/[^/]+/messages"), pool: "generic" }, () => cl.createMessagesRequest(roomId, null, 5, Direction.Backward));
      expect(r.result.chunk.length).toBeGreaterThan(0);
      for (const q of r.requests) servers.add(q.server);
    }
    expect([...servers]).toHaveLength(1);
  });

  it("uploads media to a media worker, which stores it in the S3 bucket, and serves download and thumbnail", async () => {
    const image = pngImage();
    const up = await steps.step("media upload", { method: "POST", path: /^\/_matrix\/media\/(v3|r0)\/upload$/, pool: "media" },
      () => alice.uploadContent(image, { name: "lab.png", type: "image/png" }));
    const mediaId = up.result.content_uri.split("/").pop() as string;
    // The S3 storage provider keeps the local store's layout: local_content/ab/cd/rest.
    const object = join(lab.s3.bucketDir, "local_content", mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4));
    expect(existsSync(object), `${object} in the S3 bucket`).toBe(true);
    expect(readFileSync(object).equals(image)).toBe(true);
    const auth = { Authorization: `Bearer ${bob.getAccessToken()}` };
    const server = lab.site.serverName;
    const download = await steps.step("media download", { method: "GET", path: /^\/_matrix\/client\/v1\/media\/download\//, pool: "media" },
      () => fetch(`${lab.clientUrl}/_matrix/client/v1/media/download/${server}/${mediaId}`, { headers: auth }).then(async (r) => Buffer.from(await r.arrayBuffer())));
    expect(download.result.equals(image)).toBe(true);
    const thumb = await steps.step("media thumbnail", { method: "GET", path: /^\/_matrix\/client\/v1\/media\/thumbnail\//, pool: "media" },
      () => fetch(`${lab.clientUrl}/_matrix/client/v1/media/thumbnail/${server}/${mediaId}?width=32&height=32&method=scale`, { headers: auth }).then(async (r) => ({ type: r.headers.get("content-type"), size: (await r.arrayBuffer()).byteLength })));
    expect(thumb.result.type).toMatch(/^image\//);
    expect(thumb.result.size).toBeGreaterThan(0);
    // The thumbnail went to S3 too.
    expect(existsSync(join(lab.s3.bucketDir, "local_thumbnails", mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4))), "thumbnail in the bucket").toBe(true);
    // Each media pod's local store is only a cache: with every pod's copy deleted (as its pruner does after an
    // hour), every pod still serves the media, from S3.
    const mediaPods = [...lab.pods.keys()].filter((p) => p.startsWith("synapse-media-")).sort();
    expect(mediaPods.length).toBeGreaterThanOrEqual(2);
    for (const pod of mediaPods) rmSync(join(lab.dir, "pods", pod, "volumes", "media-cache", "local_content"), { recursive: true, force: true });
    for (const pod of mediaPods) {
      const direct = await fetch(`http://${lab.pods.get(pod)?.address}:8008/_matrix/client/v1/media/download/${server}/${mediaId}`, { headers: auth });
      expect(direct.status, pod).toBe(200);
      expect(Buffer.from(await direct.arrayBuffer()).equals(image), pod).toBe(true);
    }
  });

  it("answers federation on the 8448 frontend: server version on a generic worker, server keys on main", async () => {
    const version = await steps.step("federation version", { method: "GET", path: /^\/_matrix\/federation\/v1\/version$/, pool: "generic" },
      () => fetch(`${lab.federationUrl}/_matrix/federation/v1/version`).then((r) => r.json() as Promise<{ server: { name: string } }>));
    expect(version.result.server.name).toBe("Synapse");
    const keys = await steps.step("server keys", { method: "GET", path: /^\/_matrix\/key\/v2\/server$/, pool: "main" },
      () => fetch(`${lab.federationUrl}/_matrix/key/v2/server`).then((r) => r.json() as Promise<{ server_name: string; verify_keys: Record<string, unknown> }>));
    expect(keys.result.server_name).toBe(lab.site.serverName);
    // The signing key is the one the generator Job created.
    const keyId = (lab.secrets.get(lab.site.secrets.name, "signing.key").split(" ")[0] ?? "") + ":" + (lab.secrets.get(lab.site.secrets.name, "signing.key").split(" ")[1] ?? "");
    expect(Object.keys(keys.result.verify_keys)).toEqual([keyId]);
  });

  it("exposes every Synapse metric the alerts read, with the label values they select on", async () => {
    await checkAlertMetrics(lab);
  });

  it("moves a user's /sync to the other synchrotron when theirs stops, and to main when all stop", async () => {
    const before = await steps.step("sync before the drill", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob));
    const slot = `${before.requests[0]?.backend}/${before.requests[0]?.server}`;
    const addresses = await serverAddresses(lab.adminSocket);
    const pod = lab.podAt(addresses.get(slot) as string) as string;
    expect(pod).toMatch(/^synapse-synchrotron-/);
    await lab.stopPod(pod);
    const after = await steps.step("sync with its synchrotron stopped", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob));
    const afterPod = lab.podAt((await serverAddresses(lab.adminSocket)).get(`${after.requests[0]?.backend}/${after.requests[0]?.server}`) as string);
    expect(afterPod).not.toBe(pod);
    const other = [...lab.pods.keys()].find((p) => p.startsWith("synapse-synchrotron-") && p !== pod) as string;
    await lab.stopPod(other);
    await lab.waitForServerState("synchrotron", "DOWN");
    await steps.step("sync with every synchrotron stopped", { method: "GET", path: c("sync"), pool: "main" }, () => sync(bob));
    await Promise.all([lab.startPod(pod), lab.startPod(other)]);
    await lab.waitForServerState("synchrotron", "UP");
    await steps.step("sync after the synchrotrons return", { method: "GET", path: c("sync"), pool: "synchrotron" }, () => sync(bob));
  });

  it("keeps messages flowing after main restarts: workers reconnect", async () => {
    await lab.stopPod("synapse-main-0");
    await lab.startPod("synapse-main-0");
    await lab.waitForServerState("main", "UP");
    const sent = await steps.step("send after main restarted", { method: "PUT", path: c("rooms/[^/]+/send/m.room.message/[^/]+"), pool: "generic" },
      () => alice.sendTextMessage(roomId, "after main restarted"));
    const seen = await bob.createMessagesRequest(roomId, null, 5, Direction.Backward);
    expect(seen.chunk.map((e) => e.event_id)).toContain(sent.result.event_id);
  });

  it("records what a client sees while an event persister is down, and recovers when it returns", async () => {
    await lab.stopPod("synapse-event-persister-1");
    const bounded = <T>(p: Promise<T>, ms: number) => Promise.race([p.then((v) => ({ ok: v }), (e: Error) => ({ error: e.message })),
      new Promise<{ timeout: number }>((r) => setTimeout(() => r({ timeout: ms }), ms))]);
    const outcomes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      const r = await bounded(alice.createRoom({ name: `drill ${i}`, preset: Preset.PrivateChat }), 8000);
      outcomes.push(`createRoom ${i}: ${JSON.stringify(r)} after ${Date.now() - t0} ms`);
    }
    console.log(`with synapse-event-persister-1 stopped:\n  ${outcomes.join("\n  ")}`);
    await lab.startPod("synapse-event-persister-1");
    const sent = await alice.sendTextMessage(roomId, "after the persister returned");
    expect(sent.event_id).toMatch(/^\$/);
  });

  it("logs out on main", async () => {
    await steps.step("logout", { method: "POST", path: c("logout"), pool: "main" }, () => alice.logout());
    const whoami = await fetch(`${lab.clientUrl}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${alice.getAccessToken()}` } });
    expect(whoami.status).toBe(401);
    expect(poolOf("<NOSRV>")).toBe("haproxy");
  });

  it("keeps every process's measured resident memory plus its cache bound under its memory limit, with jemalloc loaded", () => {
    console.log(checkResidentMemory(lab));
  });
});
