/**
 * Synapse's MatrixRTC settings, as Element Call's self-hosting guide (docs/self-hosting.md, "A Matrix
 * Homeserver") and Synapse 1.157's config documentation (`matrix_rtc`) give them, written out here: with calls
 * on, the LiveKit transport at the site's rtc host, MSC4143 and MSC4222, 24 h of delay, and the two rate
 * limits; with calls off only MSC4143 (so the endpoint answers "no transports"). Checked in the shared
 * homeserver.yaml every process reads, on the site under test and with its calls switch flipped.
 */
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { expected, generatedRoot, siteInput } from "../support/site-under-test.ts";

const rtcKeys = ["experimental_features", "matrix_rtc", "max_event_delay_duration", "rc_message", "rc_delayed_event_mgmt"];

function expectedRtc(calls: boolean): Record<string, unknown> {
  return calls ? {
    experimental_features: { msc4143_enabled: true, msc4222_enabled: true },
    matrix_rtc: { transports: [{ type: "livekit", livekit_service_url: `https://${expected.hosts.rtc}/livekit/jwt` }] },
    max_event_delay_duration: "24h",
    rc_message: { per_second: 0.5, burst_count: 30 },
    rc_delayed_event_mgmt: { per_second: 1, burst_count: 20 },
  } : { experimental_features: { msc4143_enabled: true } };
}

function rtcSettings(objects: KubeObject[]): Record<string, unknown> {
  const files = (find(objects, "ConfigMap", "synapse-config") as unknown as { data: Record<string, string> }).data;
  const shared = parse(files["homeserver.yaml"] as string) as Record<string, unknown>;
  // No process file may override them: Synapse merges its config files key by key at the top level.
  for (const [name, text] of Object.entries(files)) {
    if (name === "homeserver.yaml" || !name.endsWith(".yaml")) continue;
    const file = (parse(text) ?? {}) as Record<string, unknown>;
    for (const key of rtcKeys) expect(file[key], `${name} sets ${key}`).toBeUndefined();
  }
  return Object.fromEntries(rtcKeys.filter((k) => shared[k] !== undefined).map((k) => [k, shared[k]]));
}

const flipped = emitSiteVariant(siteInput, { calls: { ...siteInput.calls, enabled: !expected.calls } });

describe.each(tiers.map((t) => t.name))("MatrixRTC in Synapse's configuration (%s)", (tier) => {
  it(`follows the site under test (calls ${expected.calls ? "on" : "off"})`, async () => {
    expect(rtcSettings(await renderOverlay(tier, generatedRoot))).toEqual(expectedRtc(expected.calls));
  });

  it(`follows the switch flipped (calls ${expected.calls ? "off" : "on"})`, async () => {
    expect(rtcSettings(await renderOverlay(tier, flipped))).toEqual(expectedRtc(!expected.calls));
  });
});
