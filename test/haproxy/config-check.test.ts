import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { haproxyConfigDir, overloadErrorFile } from "../../apps/haproxy/haproxy-config.ts";
import { find, renderOverlay, tempDir } from "../support/repo.ts";
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

  it("never routes to the replication port and discovers every pool through DNS", async () => {
    const objects = await renderOverlay(tier);
    const text = (find(objects, "ConfigMap", "haproxy-config") as unknown as { data: Record<string, string> }).data["haproxy.cfg"] ?? "";
    const serverLines = text.split("\n").filter((l) => /^\s+server(-template)? /.test(l));
    expect(serverLines.length).toBeGreaterThan(5);
    for (const line of serverLines) {
      expect(line).toMatch(/:8008 /);
      expect(line).toContain("resolvers kubernetes");
    }
  });
});

describe("haproxy -c can fail", () => {
  it("rejects a broken configuration", () => {
    expect(haproxyCheck("frontend x\n  bind :1\n  use_backend nowhere\n").status).not.toBe(0);
  });
});
