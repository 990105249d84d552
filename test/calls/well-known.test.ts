import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSite } from "../../apps/site/site.ts";
import { tiers, type TierSizing } from "../../apps/site/sizing.ts";
import { wellKnownClient } from "../../apps/site/well-known.ts";
import { startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";

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
