/**
 * The lab's one seam (tools/lab/cluster/loopback.ts) changes only addresses and paths: every leaf of every
 * rendered Synapse file and every line of haproxy.cfg that differs after the seam is an address, a listener
 * bind, or a path under a mount; everything else stays byte-for-byte what the build emitted.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envValueToLoopback, haproxyCfgToLoopback, mapPathsInText, synapseFileToLoopback, type PodRuntime } from "../../tools/lab/cluster/loopback.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { configFiles } from "../support/synapse-processes.ts";

const tiers = ["ccu-1k", "ccu-5k", "ccu-10k", "ccu-20k"];
const mounts = [
  { mountPath: "/config", hostPath: "/lab/pod/config" },
  { mountPath: "/secrets/synapse", hostPath: "/lab/pod/synapse-secrets" },
  { mountPath: "/secrets/redis", hostPath: "/lab/pod/redis-password" },
  { mountPath: "/media/store", hostPath: "/lab/pod/media-cache" },
  { mountPath: "/tmp", hostPath: "/lab/pod/tmp" },
  { mountPath: "/usr/local/etc/haproxy", hostPath: "/lab/haproxy/config" },
];
const runtime: PodRuntime = {
  address: "127.9.9.10",
  mounts,
  // Cluster DNS in the test: every in-namespace name resolves; anything else does not.
  resolve: (name) => (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(name) && !name.includes("example.") ? `127.9.9.${name.length}` : undefined),
};

interface Leaf { path: string; value: unknown }
function leaves(v: unknown, path = ""): Leaf[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [{ path, value: v }];
}

const isAddressLeaf = (path: string) => /(^|\.)host$/.test(path) || /\.bind_addresses\[\d+\]$/.test(path) || /\.endpoint_url$/.test(path);
const isMountedPath = (value: unknown) => typeof value === "string" && mounts.some((m) => value === m.mountPath || value.startsWith(`${m.mountPath}/`));

describe("the lab seam changes only addresses and paths", () => {
  for (const tier of tiers) {
    it(`${tier}: every Synapse file differs from the rendered one only in addresses and mounted paths`, async () => {
      const files = configFiles(await renderOverlay(tier));
      for (const [name, text] of Object.entries(files)) {
        const before = leaves(parse(text));
        const after = leaves(parse(synapseFileToLoopback(text, runtime)));
        expect(after.map((l) => l.path), name).toEqual(before.map((l) => l.path));
        before.forEach((b, i) => {
          const a = after[i] as Leaf;
          if (a.value === b.value) return;
          expect(isAddressLeaf(b.path) || isMountedPath(b.value), `${name} ${b.path}: ${String(b.value)} → ${String(a.value)}`).toBe(true);
        });
        const out = synapseFileToLoopback(text, runtime);
        // Nothing of the cluster is left where the seam must act.
        expect(out, name).not.toMatch(/0\.0\.0\.0|\.svc\b|: \/(config|secrets|media|tmp)\//);
      }
    });

    it(`${tier}: haproxy.cfg differs only in binds, the resolver, the capped maxconn and mounted paths`, async () => {
      const cm = find(await renderOverlay(tier), "ConfigMap", "haproxy-config") as unknown as { data: Record<string, string> };
      const text = cm.data["haproxy.cfg"] as string;
      const out = haproxyCfgToLoopback(text, runtime, { nameserver: "127.0.0.1:5353", maxconnCap: 1000 });
      const a = text.split("\n");
      const b = out.split("\n");
      expect(b).toHaveLength(a.length);
      const changed = a.map((line, i) => [line.trim(), (b[i] as string).trim()] as const).filter(([x, y]) => x !== y);
      for (const [from, to] of changed) {
        const ok = (/^bind (127\.0\.0\.1)?:\d+ /.test(from) && to.startsWith(`bind ${runtime.address}:`))
          || (from === "parse-resolv-conf" && to === "nameserver lab 127.0.0.1:5353")
          || (/^maxconn \d+$/.test(from) && to === "maxconn 1000")
          || (/(\/usr\/local\/etc\/haproxy|\/tmp)\//.test(from) && /\/lab\//.test(to));
        expect(ok, `${from} → ${to}`).toBe(true);
      }
      expect(changed.map(([f]) => f.split(" ")[0]).sort()).toEqual(["bind", "bind", "bind", "bind", "errorfile", "maxconn", "parse-resolv-conf", "stats"]);
    });
  }

  it("moves paths inside a worker's start command and leaves everything else", () => {
    const command = `printf 'worker_name: %s\\n' "$POD_NAME" > /tmp/worker-name.yaml && exec python -m synapse.app.generic_worker --config-path /config/homeserver.yaml --config-path /tmp/worker-name.yaml`;
    expect(mapPathsInText(command, mounts)).toBe(`printf 'worker_name: %s\\n' "$POD_NAME" > /lab/pod/tmp/worker-name.yaml && exec python -m synapse.app.generic_worker --config-path /lab/pod/config/homeserver.yaml --config-path /lab/pod/tmp/worker-name.yaml`);
    expect(mapPathsInText("/configuration/x /tmpfile", mounts)).toBe("/configuration/x /tmpfile");
  });

  it("resolves hosts in an environment variable's JSON and URLs, and keeps unknown names", () => {
    const services = JSON.stringify([{ name: "PostgreSQL", host: "matrix-postgresql-rw", port: 5432, hint: "the host matrix-postgresql-rw" }]);
    expect(JSON.parse(envValueToLoopback(services, runtime))).toEqual([{ name: "PostgreSQL", host: "127.9.9.20", port: 5432, hint: "the host matrix-postgresql-rw" }]);
    expect(envValueToLoopback("http://haproxy-client.matrix.svc.cluster.local:8008", runtime)).toBe("http://127.9.9.39:8008");
    expect(envValueToLoopback("https://matrix.example.com", runtime)).toBe("https://matrix.example.com");
    expect(envValueToLoopback("/tmp", runtime)).toBe("/lab/pod/tmp");
    expect(envValueToLoopback("1.0", runtime)).toBe("1.0");
  });
});
