import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, type TierSizing } from "../../apps/site/sizing.ts";
import { wellKnownClient } from "../../apps/site/well-known.ts";
import { startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { renderOverlay } from "../support/repo.ts";
import { siteInput } from "../support/site-under-test.ts";

describe("client and server discovery served by the real haproxy", () => {
  let hx: RunningHaproxy;
  beforeAll(async () => { hx = await startHaproxy(resolveSite({ domain: "example.org" }), tiers[0] as TierSizing); });
  afterAll(async () => { await hx?.stop(); });

  it("announces the homeserver and the MatrixRTC focus, with CORS", async () => {
    const r = await fetch(`http://127.0.0.1:${hx.port}/.well-known/matrix/client`, { headers: { origin: "https://chat.example.org" } });
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(await r.json()).toEqual({
      "m.homeserver": { base_url: "https://matrix.example.org" },
      "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://rtc.example.org/livekit/jwt" }],
    });
  });

  it("delegates federation to the API host on 443", async () => {
    const r = await fetch(`http://127.0.0.1:${hx.port}/.well-known/matrix/server`);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect(await r.json()).toEqual({ "m.server": "matrix.example.org:443" });
  });
});

describe("discovery documents follow the site", () => {
  it("drop the RTC focus when calls are off and follow host overrides", () => {
    expect(wellKnownClient(resolveSite({ domain: "example.org", calls: { enabled: false } }))).toEqual({ "m.homeserver": { base_url: "https://matrix.example.org" } });
    const custom = wellKnownClient(resolveSite({ domain: "example.org", hosts: { matrix: "hs.example.org", rtc: "calls.example.org" } }));
    expect(custom).toMatchObject({ "m.homeserver": { base_url: "https://hs.example.org" }, "org.matrix.msc4143.rtc_foci": [{ livekit_service_url: "https://calls.example.org/livekit/jwt" }] });
  });
});

describe("the optional apex Ingress (wellKnown.apexIngress)", () => {
  const input = { ...siteInput, serverName: undefined, domain: siteInput.domain, wellKnown: { apexIngress: true } };
  const serverName = siteInput.domain;
  const apex = () => renderOverlay("ccu-1k", emitSiteVariant(siteInput, { serverName: undefined, wellKnown: { apexIngress: true } }));

  it("routes only /.well-known/matrix/ of the server name's host to HAProxy, over TLS", async () => {
    const ingress = (await apex()).find((o) => o.kind === "Ingress" && o.metadata.name === "matrix-well-known");
    expect(ingress?.spec).toMatchObject({
      tls: [{ hosts: [serverName], secretName: "well-known-tls" }],
      rules: [{ host: serverName, http: { paths: [{ path: "/.well-known/matrix/", pathType: "Prefix", backend: { service: { name: "haproxy-client", port: { name: "client" } } } }] } }],
    });
    expect((ingress?.spec as { rules: unknown[] }).rules).toHaveLength(1);
  });

  it("is not emitted by default, nor when the server name is the API host", async () => {
    expect((await renderOverlay("ccu-1k", emitSiteVariant(siteInput, { wellKnown: undefined }))).some((o) => o.metadata.name === "matrix-well-known")).toBe(false);
    const hosted = emitSiteVariant(siteInput, { serverName: `matrix.${siteInput.domain}`, hosts: undefined, wellKnown: { apexIngress: true } });
    expect((await renderOverlay("ccu-1k", hosted)).some((o) => o.metadata.name === "matrix-well-known")).toBe(false);
  });

  it("reaches a real haproxy that answers both documents for the apex host, with CORS", async () => {
    const site = resolveSite(input);
    const hx = await startHaproxy(site, tiers[0] as TierSizing);
    try {
      for (const [doc, body] of [["server", { "m.server": `${site.hosts.matrix}:443` }], ["client", wellKnownClient(site)]] as const) {
        // What the ingress controller forwards for https://<server name>/.well-known/matrix/<doc>.
        const r = await fetch(`http://127.0.0.1:${hx.port}/.well-known/matrix/${doc}`, { headers: { host: serverName, origin: "https://app.element.io" } });
        expect(r.status, doc).toBe(200);
        expect(r.headers.get("access-control-allow-origin"), doc).toBe("*");
        expect(await r.json(), doc).toEqual(body);
      }
    } finally {
      await hx.stop();
    }
  });
});
