/**
 * The switches for what the cluster may lack: with `tls.certManager: false` and `monitoring.serviceMonitors:
 * false` the rendered tiers hold no cert-manager or Prometheus Operator object or annotation, the AppProject
 * admits neither group, and the TLS Secret names stay for the user to provide; `tls.turnClusterIssuer`
 * gives the TURN certificate its own issuer. Emitted from this site with the switches changed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { renderOverlay } from "../support/repo.ts";
import { siteInput } from "../support/site-under-test.ts";

const emitWith = (change: Record<string, unknown>) => emitSiteVariant(siteInput, change);

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
