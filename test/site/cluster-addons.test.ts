/**
 * The switches for what the cluster may lack: with `tls.certManager: false` and `monitoring.serviceMonitors:
 * false` the rendered tiers hold no cert-manager or Prometheus Operator object or annotation, the AppProject
 * admits neither group, and the TLS Secret names stay for the user to provide; `tls.turnClusterIssuer`
 * gives the TURN certificate its own issuer. Emitted from this site with the switches changed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { repoRoot, renderOverlay, tempDir } from "../support/repo.ts";
import { siteInput } from "../support/site-under-test.ts";

function emitWith(change: Record<string, unknown>): string {
  const dir = tempDir("addons");
  const site = join(dir, "site.config.ts");
  writeFileSync(site, `export default ${JSON.stringify({ ...siteInput, ...change })};\n`);
  copyFileSync(join(repoRoot, "README.md"), join(dir, "README.md"));
  const r = spawnSync(process.execPath, [join(repoRoot, "tools/emit/cli.ts"), "--out", dir, "--site", site], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return dir;
}

const crdGroups = ["cert-manager.io", "monitoring.coreos.com"];

describe("a cluster without cert-manager and without the Prometheus Operator", () => {
  const tree = emitWith({ tls: { ...siteInput.tls, certManager: false }, monitoring: { serviceMonitors: false }, calls: { ...siteInput.calls, enabled: true } });

  it.each(tiers.map((t) => t.name))("%s renders no object or annotation of theirs, and keeps the TLS Secret names", async (tier) => {
    const objects = await renderOverlay(tier, tree);
    expect(objects.filter((o) => crdGroups.some((g) => o.apiVersion.startsWith(`${g}/`))).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const annotated = objects.filter((o) => Object.keys(o.metadata.annotations ?? {}).some((k) => k.startsWith("cert-manager.io/")));
    expect(annotated.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const secrets = objects.filter((o) => o.kind === "Ingress").flatMap((o) => (o.spec as { tls?: { secretName: string }[] }).tls ?? []).map((t) => t.secretName);
    expect(secrets.length).toBeGreaterThan(0);
    // coturn still mounts turn-tls: the Secret the user provides.
    const coturn = objects.find((o) => o.kind === "DaemonSet" && o.metadata.name === "coturn") as KubeObject;
    expect(JSON.stringify(coturn.spec)).toContain("turn-tls");
  });

  it("has an AppProject that admits neither group", () => {
    const project = parse(readFileSync(join(tree, "argocd/apps/appproject-matrix.yaml"), "utf8")) as { spec: { namespaceResourceWhitelist: { group: string; kind: string }[] } };
    const groups = project.spec.namespaceResourceWhitelist.map((g) => g.group);
    for (const g of crdGroups) expect(groups, g).not.toContain(g);
  });
});

describe("tls.turnClusterIssuer", () => {
  it("issues the TURN certificate from its own issuer, the Ingresses from the site's", async () => {
    const tree = emitWith({ tls: { clusterIssuer: "http01-issuer", turnClusterIssuer: "dns01-issuer" }, calls: { ...siteInput.calls, enabled: true } });
    const objects = await renderOverlay("ccu-1k", tree);
    const cert = objects.find((o) => o.kind === "Certificate" && o.metadata.name === "turn-tls") as KubeObject;
    expect((cert.spec as { issuerRef: { name: string } }).issuerRef.name).toBe("dns01-issuer");
    const issuers = objects.filter((o) => o.kind === "Ingress").map((o) => o.metadata.annotations?.["cert-manager.io/cluster-issuer"]).filter(Boolean);
    expect(new Set(issuers)).toEqual(new Set(["http01-issuer"]));
  });

  it("defaults to the site's issuer, and with cert-manager on both groups are admitted", async () => {
    const tree = emitWith({ tls: { clusterIssuer: "only-issuer" }, monitoring: { serviceMonitors: true }, calls: { ...siteInput.calls, enabled: true } });
    const cert = (await renderOverlay("ccu-1k", tree)).find((o) => o.kind === "Certificate") as KubeObject;
    expect((cert.spec as { issuerRef: { name: string } }).issuerRef.name).toBe("only-issuer");
    const project = parse(readFileSync(join(tree, "argocd/apps/appproject-matrix.yaml"), "utf8")) as { spec: { namespaceResourceWhitelist: { group: string }[] } };
    for (const g of crdGroups) expect(project.spec.namespaceResourceWhitelist.map((x) => x.group)).toContain(g);
  });
});
