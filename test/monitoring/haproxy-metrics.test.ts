/**
 * Every HAProxy metric the alerts and the dashboard read, with the labels they select on, is one the real haproxy (Debian's 2.6,
 * the pinned image's branch) exports from the rendered configuration's Prometheus endpoint, once traffic has
 * gone through: a renamed metric or a wrong proxy name would leave an alert that can never fire.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSite } from "../../apps/site/site.ts";
import { findTier, tiers } from "../../apps/site/sizing.ts";
import { send, startHaproxy, type RunningHaproxy } from "../../tools/lab/haproxy/run.ts";
import { metricNames, renderedExpressions } from "../support/alert-rules.ts";

let hx: RunningHaproxy;
let exposition: string;

beforeAll(async () => {
  hx = await startHaproxy(resolveSite({ domain: "example.org", haproxy: { trustedProxies: ["127.0.0.1/32"] } }), findTier(tiers, "ccu-1k"));
  for (const path of ["/_matrix/client/versions", "/_matrix/client/v3/sync", "/_matrix/federation/v1/version"]) await send(hx.port, "GET", path);
  exposition = await (await fetch(`http://127.0.0.1:${hx.statsPort}/metrics`)).text();
});

afterAll(async () => { await hx?.stop(); });

/** Series of a metric, as `name{labels}` lines of the exposition. */
const seriesOf = (metric: string) => exposition.split("\n").filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));

describe("HAProxy metrics the alerts read", () => {
  it("are all exported by the real haproxy", async () => {
    const used = (await renderedExpressions("ccu-1k")).flatMap(metricNames).filter((m) => m.startsWith("haproxy_"));
    expect(new Set(used).size).toBeGreaterThanOrEqual(5);
    const missing = [...new Set(used)].filter((m) => seriesOf(m).length === 0);
    expect(missing).toEqual([]);
  });

  it("carry the labels the alerts select on", () => {
    expect(seriesOf("haproxy_frontend_current_sessions").some((l) => l.includes('proxy="matrix"'))).toBe(true);
    expect(seriesOf("haproxy_backend_http_responses_total").some((l) => l.includes('code="5xx"') && l.includes('proxy="be_main_roundrobin"'))).toBe(true);
    expect(seriesOf("haproxy_backend_queue_time_average_seconds").some((l) => l.includes('proxy="be_generic_roundrobin"'))).toBe(true);
  });
});
