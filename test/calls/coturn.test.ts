import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coturnCommand } from "../../apps/coturn/index.ts";
import { serializeTurnConfig, tlsDir, turnConfig, type TurnConfig } from "../../apps/coturn/turn-config.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { freePort, waitForPort } from "../../tools/lab/ports.ts";
import { find, renderOverlay, tempDir } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";

const run = promisify(execFile);
const site = resolveSite({ domain: "example.org" });
const secret = "test-shared-secret-not-a-real-one";

/** TURN REST credentials exactly as Synapse computes them for /voip/turnServer. */
function synapseTurnCredentials(sharedSecret: string, userId: string, expirySeconds: number) {
  const username = `${expirySeconds}:${userId}`;
  const password = createHmac("sha1", sharedSecret).update(username).digest("base64");
  return { username, password };
}

/**
 * The generated configuration adapted to loopback: ports, addresses, no TLS files, its own database, and
 * loopback peers permitted except where the test needs a denied one (127.0.0.2 allowed, the rest denied).
 */
function loopbackConfig(config: TurnConfig, port: number, tlsPort: number, dir: string): TurnConfig {
  const out: TurnConfig = [];
  for (const [k, v] of config) {
    if (k === "listening-port") out.push([k, String(port)]);
    else if (k === "tls-listening-port") out.push([k, String(tlsPort)]);
    else if (k === "cert" || k === "pkey") continue;
    else if (k === "denied-peer-ip" && v === "127.0.0.0-127.255.255.255") {
      out.push([k, "127.0.0.0-127.0.0.1"], [k, "127.0.0.3-127.255.255.255"]);
    } else out.push([k, v]);
  }
  out.push(["listening-ip", "127.0.0.1"], ["relay-ip", "127.0.0.1"], ["relay-ip", "::1"], ["no-tls", true], ["no-dtls", true],
    ["allow-loopback-peers", true], ["pidfile", join(dir, "turnserver.pid")], ["userdb", join(dir, "turndb")]);
  return out;
}

describe("coturn with the generated configuration (real turnserver on 127.0.0.1)", () => {
  let turn: ChildProcess | undefined;
  let peer: ChildProcess | undefined;
  let port = 0;
  let peerPort = 0;

  beforeAll(async () => {
    const dir = tempDir("coturn");
    port = await freePort();
    peerPort = await freePort();
    const conf = join(dir, "turnserver.conf");
    writeFileSync(conf, serializeTurnConfig(loopbackConfig(turnConfig(site), port, await freePort(), dir), "# test"));
    // The DaemonSet's own command (turnserver under the certificate watcher), the secret from env as in the pod.
    const [shell, flag, script] = coturnCommand(conf) as [string, string, string];
    turn = spawn(shell, [flag, script.replaceAll(`${tlsDir}/`, `${join(dir, "tls")}/`)], { stdio: "ignore", env: { PATH: process.env.PATH ?? "", TURN_SHARED_SECRET: secret } });
    peer = spawn("turnutils_peer", ["-L", "127.0.0.2", "-p", String(peerPort)], { stdio: "ignore" });
    await waitForPort(port, 10_000, "turnserver");
  });

  afterAll(() => {
    for (const p of [turn, peer]) if (p?.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid, "SIGTERM");
  });

  async function allocate(username: string, password: string, peerAddress: string, relay: "ipv4" | "ipv6" = "ipv4"): Promise<{ ok: boolean; output: string }> {
    try {
      const { stdout, stderr } = await run("turnutils_uclient", [...(relay === "ipv6" ? ["-x"] : []), "-p", String(port), "-e", peerAddress, "-r", String(peerPort),
        "-u", username, "-w", password, "-n", "3", "-m", "1", "127.0.0.1"], { timeout: 20_000 });
      return { ok: true, output: stdout + stderr };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
  }

  it("relays for credentials computed the way Synapse computes them", async () => {
    const { username, password } = synapseTurnCredentials(secret, "@alice:example.org", Math.floor(Date.now() / 1000) + 3600);
    const r = await allocate(username, password, "127.0.0.2");
    expect(r.output).toMatch(/tot_recv_bytes ~ [1-9]\d*/);
    expect(r.output).toMatch(/Total lost packets 0 /);
    expect(r.ok).toBe(true);
  });

  it("refuses credentials signed with another secret", async () => {
    const { username, password } = synapseTurnCredentials("some-other-secret", "@alice:example.org", Math.floor(Date.now() / 1000) + 3600);
    const r = await allocate(username, password, "127.0.0.2");
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/Cannot complete Allocation|401/);
  });

  it("refuses an expired username", async () => {
    const { username, password } = synapseTurnCredentials(secret, "@alice:example.org", Math.floor(Date.now() / 1000) - 60);
    const r = await allocate(username, password, "127.0.0.2");
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/Cannot complete Allocation|401/);
  });

  // ::ffff:127.0.0.2 is the allowed IPv4 peer written as IPv4-mapped IPv6: only the mapped range's entry refuses it.
  it.each([["::1", "carol"], ["::ffff:127.0.0.2", "dave"], ["::ffff:169.254.169.254", "erin"]])("refuses an IPv6 relay to the denied peer %s", async (peerAddress, user) => {
    // A refused allocation still counts against the user's quota until it expires: one user per case.
    const { username, password } = synapseTurnCredentials(secret, `@${user}:example.org`, Math.floor(Date.now() / 1000) + 3600);
    const r = await allocate(username, password, peerAddress, "ipv6");
    expect(r.ok).toBe(false);
    expect(r.output).toContain("403 (Forbidden IP)");
  });

  it("refuses to relay to a peer in a denied range", async () => {
    const { username, password } = synapseTurnCredentials(secret, "@alice:example.org", Math.floor(Date.now() / 1000) + 3600);
    const r = await allocate(username, password, "127.0.0.3");
    expect(r.ok).toBe(false);
    expect(r.output).toContain("403 (Forbidden IP)");
  });
});

/**
 * Special-purpose address ranges a relay must never reach (RFC 6890 and the IANA IPv4/IPv6 special-purpose
 * registries), written out here rather than read from the generator: loopback, private, shared (CGNAT),
 * link-local (cloud metadata), documentation, benchmarking, multicast and reserved, and on IPv6 the
 * IPv4-mapped range (`::ffff:169.254.169.254` is the metadata service), NAT64, ULA and link-local.
 */
const expectedDeniedPeers = [
  "0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255", "127.0.0.0-127.255.255.255",
  "169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255", "192.0.0.0-192.0.0.255", "192.0.2.0-192.0.2.255",
  "192.88.99.0-192.88.99.255", "192.168.0.0-192.168.255.255", "198.18.0.0-198.19.255.255", "198.51.100.0-198.51.100.255",
  "203.0.113.0-203.0.113.255", "224.0.0.0-255.255.255.255",
  "::1", "::ffff:0.0.0.0-::ffff:255.255.255.255", "64:ff9b::-64:ff9b::ffff:ffff", "64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
  "100::-100::ffff:ffff:ffff:ffff", "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
  "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

describe("coturn and Synapse share one secret and one host", () => {
  it.each(tiers.map((t) => t.name))("renders exactly the expected denied peer ranges, and no allowed-peer exception (%s)", async (tier) => {
    const cm = (await renderOverlay(tier)).find((o) => o.kind === "ConfigMap" && o.metadata.name === "coturn") as unknown as { data: Record<string, string> } | undefined;
    if (!expected.calls) {
      expect(cm).toBeUndefined();
      return;
    }
    const lines = (cm?.data["turnserver.conf"] ?? "").split("\n");
    expect(lines.filter((l) => l.startsWith("denied-peer-ip=")).map((l) => l.slice("denied-peer-ip=".length))).toEqual(expectedDeniedPeers);
    expect(lines.filter((l) => l.startsWith("allowed-peer-ip"))).toEqual([]);
    expect(lines).not.toContain("allow-loopback-peers");
  });

  it.each(tiers.map((t) => t.name))("wires coturn's secret to the key Synapse signs with, and turn_uris to the TURN host, only with calls on (%s)", async (tier) => {
    const objects = await renderOverlay(tier);
    const hs = parse((find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> }).data["homeserver.yaml"] ?? "") as { turn_uris?: string[]; turn_shared_secret_path?: string };
    if (!expected.calls) {
      expect(objects.filter((o) => o.metadata.name === "coturn").map((o) => o.kind)).toEqual([]);
      expect(hs.turn_uris).toBeUndefined();
      expect(hs.turn_shared_secret_path).toBeUndefined();
      return;
    }
    const ds = find(objects, "DaemonSet", "coturn").spec as { template: { spec: { hostNetwork: boolean; nodeSelector: Record<string, string>; containers: { command: string[]; env: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[] }[] } } };
    const container = ds.template.spec.containers[0];
    const ref = container?.env.find((e) => e.name === "TURN_SHARED_SECRET")?.valueFrom.secretKeyRef;
    expect(container?.command.join(" ")).toContain('--static-auth-secret="$TURN_SHARED_SECRET"');
    expect(ds.template.spec.hostNetwork).toBe(true);
    expect(ds.template.spec.nodeSelector).toEqual(expected.turnNodeSelector);
    const main = find(objects, "StatefulSet", "synapse-main").spec as { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[]; containers: { volumeMounts: { name: string; mountPath: string }[] }[] } } };
    const path = hs.turn_shared_secret_path ?? "";
    const mount = main.template.spec.containers[0]?.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = main.template.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe(ref?.name);
    expect(path.endsWith(`/${ref?.key}`)).toBe(true);
    const turnHost = expected.hosts.turn;
    expect(hs.turn_uris).toEqual([`turns:${turnHost}:5349?transport=tcp`, `turn:${turnHost}:3478?transport=udp`, `turn:${turnHost}:3478?transport=tcp`]);
    const conf = (find(objects, "ConfigMap", "coturn") as unknown as { data: Record<string, string> }).data["turnserver.conf"] ?? "";
    expect(conf).toContain(`realm=${turnHost}\n`);
    expect(conf).toContain("use-auth-secret");
    expect(conf).not.toMatch(/static-auth-secret/);
  });
});

describe("coturn picks up a renewed certificate (real turnserver, the DaemonSet's command)", () => {
  it("serves the new certificate once the mounted files change, without a restart", async () => {
    const dir = tempDir("coturn-tls");
    const tls = join(dir, "tls");
    mkdirSync(tls);
    const issue = (cn: string) => {
      // Written elsewhere and moved in, as the kubelet swaps a Secret volume's files.
      const stage = join(dir, `stage-${cn}`);
      mkdirSync(stage);
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", `/CN=${cn}`, "-keyout", join(stage, "tls.key"), "-out", join(stage, "tls.crt")], { stdio: "ignore", timeout: 30_000 });
      renameSync(join(stage, "tls.key"), join(tls, "tls.key"));
      renameSync(join(stage, "tls.crt"), join(tls, "tls.crt"));
    };
    issue("first.turn.example.org");
    const port = await freePort();
    const tlsPort = await freePort();
    const config: TurnConfig = loopbackConfig(turnConfig(site), port, tlsPort, dir)
      .filter(([k]) => k !== "no-tls")
      .concat([["cert", join(tls, "tls.crt")], ["pkey", join(tls, "tls.key")]]);
    const conf = join(dir, "turnserver.conf");
    writeFileSync(conf, serializeTurnConfig(config, "# test"));
    const [shell, flag, script] = coturnCommand(conf) as [string, string, string];
    const turn = spawn(shell, [flag, script.replaceAll(`${tlsDir}/`, `${tls}/`)], { stdio: "ignore", env: { PATH: process.env.PATH ?? "", TURN_SHARED_SECRET: secret, CERT_CHECK_SECONDS: "1" } });
    try {
      await waitForPort(tlsPort, 10_000, "turnserver TLS");
      const subject = () => new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => {
          const cn = socket.getPeerCertificate().subject?.CN ?? "";
          socket.end();
          resolve(String(cn));
        });
        socket.on("error", reject);
        socket.setTimeout(5000, () => socket.destroy(new Error("TLS handshake timed out")));
      });
      expect(await subject()).toBe("first.turn.example.org");
      // A TLS connection open across the renewal stays open: turnserver is not restarted.
      const held = tlsConnect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => { held.once("secureConnect", () => resolve()); held.once("error", reject); });
      issue("renewed.turn.example.org");
      let seen = "";
      for (let i = 0; i < 50 && seen !== "renewed.turn.example.org"; i++) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await subject();
      }
      expect(seen).toBe("renewed.turn.example.org");
      expect(held.destroyed).toBe(false);
      held.destroy();
      expect(turn.exitCode).toBeNull();
    } finally {
      if (turn.pid && turn.exitCode === null) process.kill(turn.pid, "SIGTERM");
    }
  });
});
