/**
 * The Synapse metrics the alerts and the dashboard read, checked against what the lab's real processes expose on the metrics
 * listener the ServiceMonitors scrape (port 9090, `/_synapse/metrics`): a name Synapse 1.157 does not export,
 * or a label value it never sets, would make an alert that cannot fire.
 */
import { expect } from "vitest";
import type { Lab } from "../../tools/lab/cluster/lab.ts";
import { externalMetrics, metricNames, renderedExpressions } from "../support/alert-rules.ts";

async function expositions(lab: Lab): Promise<Map<string, string[]>> {
  const byPod = new Map<string, string[]>();
  for (const [name, pod] of lab.pods) {
    const text = await (await fetch(`http://${pod.address}:9090/_synapse/metrics`)).text();
    byPod.set(name, text.split("\n").filter((l) => l && !l.startsWith("#")));
  }
  return byPod;
}

const has = (lines: string[], metric: string, ...labels: string[]) =>
  lines.some((l) => (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) && labels.every((x) => l.includes(x)));

export async function checkAlertMetrics(lab: Lab): Promise<void> {
  const byPod = await expositions(lab);
  const all = [...byPod.values()].flat();
  const used = [...new Set((await renderedExpressions(lab.tier)).flatMap(metricNames))]
    .filter((m) => !externalMetrics.has(m) && !m.startsWith("haproxy_"));
  expect(used.length).toBeGreaterThanOrEqual(8);
  expect(used.filter((m) => !has(all, m))).toEqual([]);
  const pods = (role: string) => [...byPod.entries()].filter(([name]) => name.startsWith(`synapse-${role}-`)).flatMap(([, lines]) => lines);
  // The label values the rules select on, where Synapse sets them.
  expect(has(pods("federation-sender"), "synapse_event_processing_positions", 'name="federation_sender"')).toBe(true);
  expect(has(pods("federation-sender"), "synapse_event_processing_lag", 'name="federation_sender"')).toBe(true);
  expect(has(pods("main"), "synapse_event_processing_positions", 'name="stats"')).toBe(true);
  // Initial syncs are tagged, and the histogram's buckets end at 10 s, as the SynapseSyncSlow threshold assumes.
  const sync = pods("synchrotron").filter((l) => l.startsWith("synapse_http_server_response_time_seconds_bucket{") && l.includes('servlet="SyncRestServlet"') && l.includes('tag="sync_v2:initial_sync"'));
  expect(sync.some((l) => l.includes('le="7.5"'))).toBe(true);
  const finite = sync.map((l) => /le="([^"]+)"/.exec(l)?.[1]).filter((le) => le && le !== "+Inf").map(Number);
  expect(Math.max(...finite)).toBe(10);
  expect(has(all, "synapse_storage_schedule_time_bucket", 'le="0.5"')).toBe(true);
}
