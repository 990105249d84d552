/**
 * kubeconform, the validator of record, in the test run: the pinned binary (built from the Go module proxy)
 * with `-strict` against Kubernetes 1.33's own OpenAPI schemas (tools/validate/kubernetes-schemas.ts) and
 * a schema for every custom resource, on every rendered tier. And the same run refuses what it must.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { ensureGoTool } from "../../tools/validate/go-tools.ts";
import { isCustomResource, runKubeconform, writeCrdSchemas } from "../../tools/validate/kubeconform.ts";
import { StrictFieldChecker } from "../../tools/validate/strict-fields.ts";
import { ensureKubernetesSchemas } from "../../tools/validate/kubernetes-schemas.ts";
import { tempDir } from "../support/repo.ts";
import { expected, generatedRoot } from "../support/site-under-test.ts";
import { kustomizeBuild } from "../../tools/render/kustomize.ts";
import { parseRendered } from "../../tools/render/rendered.ts";
import { stringify } from "yaml";

let kubeconform: string;
let coreSchemas: string;
beforeAll(() => {
  kubeconform = ensureGoTool("kubeconform");
  coreSchemas = ensureKubernetesSchemas();
}, 900_000);

/** kubeconform on YAML text as kustomize wrote it (re-serialising could turn a string such as `off` into a YAML 1.1 boolean). */
async function check(text: string, crdSchemas = true): Promise<{ ok: boolean; problems: string[] }> {
  const dir = tempDir("kubeconform");
  const crds = join(dir, "crd-schemas");
  mkdirSync(crds);
  if (crdSchemas) {
    const objects = parseRendered(text);
    writeCrdSchemas(objects, crds, await StrictFieldChecker.load(objects));
  }
  const file = join(dir, "objects.yaml");
  writeFileSync(file, text);
  return runKubeconform(crds, [file], kubeconform, coreSchemas);
}

describe.each(tiers.map((t) => t.name))("kubeconform -strict on %s", (tier) => {
  it("accepts every rendered object, custom resources included, with no schema missing", async () => {
    const text = await kustomizeBuild(join(generatedRoot, "overlays", tier));
    expect(parseRendered(text).some((o) => isCustomResource(o.apiVersion))).toBe(expected.serviceMonitors || (expected.calls && expected.certManager) || expected.managedSecrets.length > 0);
    const r = await check(text);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

describe("kubeconform -strict refuses", () => {
  const deployment = {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x", namespace: "matrix" },
    spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i:1.0.0" }] } } },
  };
  it.each<[string, object, RegExp]>([
    ["an unknown field", { ...deployment, spec: { ...deployment.spec, replica: 2 } }, /replica/],
    ["a wrong type", { ...deployment, spec: { ...deployment.spec, replicas: "two" } }, /replicas/],
    ["a missing required field", { ...deployment, spec: { template: deployment.spec.template } }, /selector/],
    ["an unknown field in a custom resource", {
      apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "m", namespace: "matrix" },
      spec: { selector: {}, endpoints: [{ port: "metrics", intervall: "30s" }] },
    }, /intervall/],
  ])("%s", async (_label, object, message) => {
    const r = await check(stringify(object));
    expect(r.ok).toBe(false);
    expect(r.problems.join("\n")).toMatch(message);
  });

  it("a kind it has no schema for", async () => {
    const r = await check(stringify({ apiVersion: "example.invalid/v1", kind: "Widget", metadata: { name: "w" } }), false);
    expect(r.ok).toBe(false);
    expect(r.problems.join("\n")).toMatch(/could not find schema for Widget/);
  });
});
