import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import { isCustomResource, kubeconformArgs, writeCrdSchemas } from "../../tools/validate/kubeconform.ts";
import { declarationSchemas, fieldSchemaCacheDir, StrictFieldChecker } from "../../tools/validate/strict-fields.ts";
import { modelFile, validateAgainstSchema } from "../../tools/emit/model-registry.ts";
import { loadSchemas, validateTier } from "../../tools/validate/validate-rendered.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { renderOverlay, runTool, copyGeneratedTree } from "../support/repo.ts";
import { expected } from "../support/site-under-test.ts";
import { writeFileSync } from "node:fs";

describe("strict schema validation", () => {
  it.each(tiers.map((t) => t.name))("finds no unknown field in %s", async (tier) => {
    const objects = await renderOverlay(tier);
    const report = validateTier({ tier, text: "", objects }, await loadSchemas(objects));
    expect(report.problems).toEqual([]);
  });

  it("rejects a rendered object with an unknown field injected (core kinds and custom resources)", async () => {
    const objects = structuredClone(await renderOverlay("ccu-1k"));
    const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "synapse-main") as KubeObject & { spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } } };
    sts.spec.replica = 1;
    (sts.spec.template.spec.containers[0] as Record<string, unknown>).readinesProbe = { httpGet: { path: "/health", port: "http" } };
    // A custom resource of the overlay; a site without the Prometheus Operator gets one added.
    let monitor = objects.find((o) => o.kind === "ServiceMonitor") as (KubeObject & { spec: Record<string, unknown> }) | undefined;
    if (!monitor) {
      monitor = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "injected", namespace: expected.namespace }, spec: { selector: {}, endpoints: [] } };
      objects.push(monitor);
    }
    monitor.spec.endpoint = [];
    const report = validateTier({ tier: "ccu-1k", text: "", objects }, await loadSchemas(objects));
    expect(report.problems.map((p) => `${p.object} ${p.message}`)).toEqual(expect.arrayContaining([
      "StatefulSet/synapse-main unknown field spec.replica",
      "StatefulSet/synapse-main unknown field spec.template.spec.containers[0].readinesProbe",
      `ServiceMonitor/${monitor.metadata.name} unknown field spec.endpoint`,
    ]));
  });

  it("rejects a wrong type and a missing required field", async () => {
    const objects = structuredClone(await renderOverlay("ccu-1k"));
    const svc = objects.find((o) => o.kind === "Service") as KubeObject & { spec: { ports: Record<string, unknown>[] } };
    svc.spec.ports[0]!.port = "http";
    const pdb = objects.find((o) => o.kind === "PodDisruptionBudget") as KubeObject;
    delete (pdb.metadata as { name?: string }).name;
    const problems = validateTier({ tier: "ccu-1k", text: "", objects }, await loadSchemas(objects)).problems.filter((p) => p.check === "schema");
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems.some((p) => p.message.includes("port"))).toBe(true);
  });

  it("makes validate exit non-zero and print the finding when an overlay carries a typo", () => {
    const root = copyGeneratedTree();
    const patch = join(root, "overlays/ccu-5k/patches/synapse-main.yaml");
    writeFileSync(patch, readFileSync(patch, "utf8").replace("          resources:", "          resource:"));
    const r = runTool("tools/validate/cli.ts", ["--root", root, "--tiers", "ccu-5k"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/strict-schema\s+StatefulSet\/synapse-main\s+unknown field spec\.template\.spec\.containers\[0\]\.resource/);
    expect(r.stdout).toMatch(/^validate: 1 tier\(s\), \d+ objects, [1-9]\d* error\(s\)/m);
  });
});

describe("schemas for kubeconform's custom resources", () => {
  it("are strict JSON Schemas that accept the rendered custom resources and reject unknown fields", async () => {
    const objects = await renderOverlay("ccu-20k");
    const dir = mkdtempSync(join(tmpdir(), "crd-schemas-"));
    const files = writeCrdSchemas(objects, dir, await StrictFieldChecker.load(objects));
    const crs = objects.filter((o) => isCustomResource(o.apiVersion));
    const managed = [...new Set(expected.managedSecrets.map((m) => `${m.apiVersion.split("/")[0]}/${m.kind.toLowerCase()}_${m.apiVersion.split("/")[1]}.json`))];
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      // The TURN TLS certificate exists only with calls on and cert-manager; ServiceMonitors and the alerts only with the operator.
      ...(expected.calls && expected.certManager ? ["cert-manager.io/certificate_v1.json"] : []),
      ...(expected.serviceMonitors ? ["monitoring.coreos.com/prometheusrule_v1.json", "monitoring.coreos.com/servicemonitor_v1.json"] : []),
      ...managed].sort());
    const ajv = new Ajv({ strict: false, allErrors: true });
    for (const cr of crs) {
      const [group, version] = cr.apiVersion.split("/") as [string, string];
      const validate = ajv.compile(JSON.parse(readFileSync(join(dir, group, `${cr.kind.toLowerCase()}_${version}.json`), "utf8")) as object);
      expect(validate(cr), `${cr.kind}/${cr.metadata.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(validate({ ...cr, spec: { ...(cr.spec as object), typo: true } })).toBe(false);
    }
    // One directory per group written.
    expect(readdirSync(dir).length).toBe(Number(expected.calls && expected.certManager) + Number(expected.serviceMonitors) + new Set(managed.map((m) => m.split("/")[0])).size);
  });

  it("passes flags before files, pins the Kubernetes version and points at the repo's schemas", () => {
    const args = kubeconformArgs("/schemas", ["a.yaml", "b.yaml"]);
    expect(args.slice(-2)).toEqual(["a.yaml", "b.yaml"]);
    expect(args).toEqual(expect.arrayContaining(["-strict", "-kubernetes-version", "1.33.0"]));
    expect(args).toContain("/schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json");
    expect(args.indexOf("-strict")).toBeLessThan(args.indexOf("a.yaml"));
  });
});

describe("the schemas behind the in-process checks", () => {
  it("refuses a kind no package defines, however it is misspelt, and accepts the real ones", async () => {
    const refused = [
      ["apps/v1", "Deploymen"], ["apps/v2", "Deployment"], ["v1", "ObjectMeta"], ["apps/v1", "ConfigMap"],
      ["v1", "../apps/v1/Deployment"], ["../../typescript", "Deployment"], ["monitoring.coreos.com/v1", "ServiceMonitors"],
    ];
    for (const [apiVersion, kind] of refused) {
      await expect(validateAgainstSchema({ apiVersion, kind, metadata: { name: "x" } }), `${apiVersion} ${kind}`)
        .rejects.toThrow(`x: no schema for apiVersion ${apiVersion} kind ${kind}`);
    }
    await expect(validateAgainstSchema({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } })).resolves.toBeUndefined();
  });

  it("keeps, per kind, exactly the field schema the declarations give (the cache is not stale)", async () => {
    const objects = await renderOverlay("ccu-20k");
    const kinds = [...new Map(objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).values()];
    const checker = await StrictFieldChecker.load(objects);
    const fresh = await declarationSchemas(kinds.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, file: modelFile(o.apiVersion, o.kind) as string })));
    expect([...fresh.keys()].sort()).toEqual(kinds.map((o) => `${o.apiVersion}/${o.kind}`).sort());
    for (const [key, schema] of fresh) {
      const [apiVersion, kind] = [key.slice(0, key.lastIndexOf("/")), key.slice(key.lastIndexOf("/") + 1)];
      expect(checker.jsonSchema(apiVersion, kind), key).toEqual(schema);
      expect(JSON.parse(readFileSync(join(fieldSchemaCacheDir(), `${key.replaceAll("/", "_")}.json`), "utf8")), key).toEqual(schema);
    }
  });
});
