import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { haproxyConfigDir, overloadErrorFile } from "../../apps/haproxy/haproxy-config.ts";
import { find, renderOverlay, tempDir } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";
import { haproxyCheck } from "../../tools/lab/haproxy/run.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

describe.each(tiers.map((t) => t.name))("haproxy.cfg rendered for %s", (tier) => {
  it("passes `haproxy -c` (HAProxy 2.6, the pinned image's branch) without warnings", async () => {
    const objects = await renderOverlay(tier);
    const data = (find(objects, "ConfigMap", "haproxy-config") as unknown as { data: Record<string, string> }).data;
    const dir = tempDir("errorfiles");
    writeFileSync(join(dir, overloadErrorFile), data[overloadErrorFile] ?? "");
    // Only the error file's location differs from the pod, where the ConfigMap is mounted at haproxyConfigDir.
    const text = (data["haproxy.cfg"] ?? "").replaceAll(`${haproxyConfigDir}/${overloadErrorFile}`, join(dir, overloadErrorFile));
    const r = haproxyCheck(text);
    expect(r.output).not.toMatch(/\[(WARNING|ALERT)\]/);
    expect(r.status).toBe(0);
  });

  it("never routes to the replication port and addresses every server by its own pod's stable DNS name", async () => {
    const objects = await renderOverlay(tier);
    const text = (find(objects, "ConfigMap", "haproxy-config") as unknown as { data: Record<string, string> }).data["haproxy.cfg"] ?? "";
    const serverLines = text.split("\n").filter((l) => /^\s+server(-template)? /.test(l));
    expect(serverLines.length).toBeGreaterThan(5);
    const suffix = `.${expected.namespace}.svc.${expected.clusterDomain}`;
    const statefulSets = new Set(objects.filter((o) => o.kind === "StatefulSet").map((o) => o.metadata.name));
    for (const line of serverLines) {
      const [, name, host] = /^\s+server (\S+) (\S+):8008 /.exec(line) ?? [];
      expect(host, line).toBeDefined();
      // `<pool>-<ordinal>.<pool>.<namespace>.svc.<cluster domain>`, and the server is named after the ordinal.
      const [, pod, service, ordinal] = new RegExp(`^((\\S+)-(\\d+))\\.(\\S+)${suffix.replaceAll(".", "\\.")}$`).exec(host ?? "") ?? [];
      expect(pod, line).toBeDefined();
      expect(statefulSets.has(service as string), line).toBe(true);
      expect(name === "main" ? service === "synapse-main" : name === `${(service as string).replace(/^synapse-/, "")}-${ordinal}`, line).toBe(true);
      expect(line).toContain("resolvers kubernetes");
    }
  });

  it("takes the client address from exactly the site's trusted proxies, and binds the admin listener to loopback only", async () => {
    const objects = await renderOverlay(tier);
    const text = (find(objects, "ConfigMap", "haproxy-config") as unknown as { data: Record<string, string> }).data["haproxy.cfg"] ?? "";
    expect(/acl from_trusted_proxy src (.*)$/m.exec(text)?.[1]?.split(" ")).toEqual(expected.trustedProxies);
    const binds = text.split("\n").filter((l) => /^\s+bind /.test(l)).map((l) => l.trim());
    expect(binds).toEqual(["bind :8008 name client", "bind :8448 name federation", "bind 127.0.0.1:8009 name admin", "bind :8404 name stats"]);
    expect(text).not.toMatch(/option forwardfor/);
  });
});

describe("haproxy -c can fail", () => {
  it("rejects a broken configuration", () => {
    expect(haproxyCheck("frontend x\n  bind :1\n  use_backend nowhere\n").status).not.toBe(0);
  });
});
