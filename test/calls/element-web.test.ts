import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { elementWebFiles } from "../../apps/element-web/index.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { freePort } from "../../tools/lab/ports.ts";
import { find, renderOverlay, tempDir } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";

interface ElementConfig {
  default_server_config: { "m.homeserver": { base_url: string; server_name: string } };
  disable_guests: boolean;
  element_call?: { use_exclusively: boolean };
}

describe("Element Web config.json", () => {
  it.each(tiers.map((t) => t.name))("is valid JSON with the homeserver of the site in %s", async (tier) => {
    const cm = find(await renderOverlay(tier), "ConfigMap", "element-web") as unknown as { data: Record<string, string> };
    const config = JSON.parse(cm.data["config.json"] ?? "") as ElementConfig;
    expect(config.default_server_config["m.homeserver"]).toEqual({ base_url: `https://${expected.hosts.matrix}`, server_name: expected.serverName });
    expect(config.disable_guests).toBe(true);
    expect(config.element_call?.use_exclusively).toBe(expected.calls ? true : undefined);
  });

  it("derives every URL from the site (no hard-coded domain)", () => {
    const files = elementWebFiles(resolveSite({ domain: "corp.example.net" }));
    const config = JSON.parse(files["config.json"] ?? "") as ElementConfig;
    expect(config.default_server_config["m.homeserver"].base_url).toBe("https://matrix.corp.example.net");
    expect(config.default_server_config["m.homeserver"].server_name).toBe("corp.example.net");
    expect(Object.values(files).join("\n")).not.toContain("example.com");
  });

  it("leaves calls out of the client when calls are off", () => {
    const config = JSON.parse(elementWebFiles(resolveSite({ domain: "example.org", calls: { enabled: false } }))["config.json"] ?? "") as ElementConfig;
    expect(config.element_call).toBeUndefined();
  });
});

describe("Element Web served by a real nginx with the generated server block", () => {
  let port = 0;
  let pid: number | undefined;
  const site = resolveSite({ domain: "example.org" });

  beforeAll(async () => {
    const dir = tempDir("element-nginx");
    chmodSync(dir, 0o755);
    const files = elementWebFiles(site);
    mkdirSync(join(dir, "html"));
    writeFileSync(join(dir, "html/index.html"), "<!doctype html><title>Element</title>");
    // What the image's entrypoint does with /app/config.json.
    mkdirSync(join(dir, "element-web-config"));
    writeFileSync(join(dir, "element-web-config/config.json"), files["config.json"] ?? "");
    port = await freePort();
    const server = (files["default.conf"] ?? "")
      .replace(/listen \d+;/, `listen 127.0.0.1:${port};`)
      .replace("root /usr/share/nginx/html;", `root ${dir}/html;`)
      .replace("root /tmp/element-web-config;", `root ${dir}/element-web-config;`);
    writeFileSync(join(dir, "default.conf"), server);
    writeFileSync(join(dir, "nginx.conf"), [
      "daemon off;", "worker_processes 1;", `pid ${dir}/nginx.pid;`, "error_log stderr warn;", "events {}",
      "http {", "  include /etc/nginx/mime.types;", "  access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/default.conf;`, "}",
    ].join("\n"));
    const child = spawn("nginx", ["-c", join(dir, "nginx.conf"), "-e", "stderr"], { stdio: "ignore" });
    pid = child.pid;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("nginx did not start");
  });

  afterAll(() => { if (pid) process.kill(pid, "SIGTERM"); });

  it("answers /health for the probes", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await r.json()).toEqual({ status: "ok" });
  });

  it("sends the security headers on the app and never caches index.html or config.json", async () => {
    for (const path of ["/", "/index.html", "/config.json"]) {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(r.status, path).toBe(200);
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'self'");
      expect(csp, path).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
      expect(csp, path).toContain("object-src 'none'");
      expect(r.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(r.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      expect(r.headers.get("referrer-policy"), path).toBe("no-referrer");
      if (path !== "/") expect(r.headers.get("cache-control"), path).toBe("no-cache");
    }
    const config = await (await fetch(`http://127.0.0.1:${port}/config.json`)).json() as ElementConfig;
    expect(config.default_server_config["m.homeserver"].base_url).toBe("https://matrix.example.org");
  });

  it.each<[string, string, number]>([
    ["GET", "/missing-bundle.js", 404],
    ["GET", "/config.missing.json", 404],
    ["GET", "/i18n/missing.json", 404],
    ["POST", "/index.html", 405],
  ])("sends the same security headers on an error response (%s %s → %i)", async (method, path, status) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    expect(r.status).toBe(status);
    // nginx drops add_header on error statuses unless the header is added `always`.
    expect(r.headers.get("content-security-policy") ?? "").toContain("frame-ancestors 'self'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(r.headers.get("x-robots-tag")).toBe("noindex, nofollow, noarchive, noimageindex");
    expect(r.headers.get("server")).toBe("nginx");
  });
});
