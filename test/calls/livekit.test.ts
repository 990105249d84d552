import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { tiers } from "../../apps/site/sizing.ts";
import type { KubeObject } from "../../tools/render/rendered.ts";
import { find, renderOverlay } from "../support/repo.ts";
import { expected, siteInput } from "../support/site-under-test.ts";
import { emitSiteVariant } from "../support/emit-site-tree.ts";
import { resolveSite } from "../../apps/site/site.ts";

interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }
interface Container { env: EnvVar[]; ports: { name: string; containerPort: number; protocol: string }[] }
const containerOf = (o: KubeObject) => (o.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0] as Container;
const wave = (o: KubeObject) => Number(o.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0);

const { hosts } = expected;

// With calls off the site runs none of it: that is what the tests check then.
if (!expected.calls) describe.each(tiers.map((t) => t.name))("calls switched off in %s", (tier) => {
  it("renders no LiveKit, lk-jwt-service or coturn object, no RTC route and no LiveKit key", async () => {
    const objects = await renderOverlay(tier);
    expect(objects.filter((o) => /^(livekit|lk-jwt-service|coturn)/.test(o.metadata.name)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const hostsRouted = objects.filter((o) => o.kind === "Ingress").flatMap((o) => (o.spec as { rules: { host: string }[] }).rules.map((r) => r.host));
    expect(hostsRouted).not.toContain(hosts.rtc);
    expect(JSON.stringify(objects)).not.toContain("livekit-keys");
  });
});

type MediaService = { name: string; type: string; policy?: string; ports: { protocol: string; port: number; nodePort?: number }[] };

/** The Services that publish LiveKit's media ports, reduced to what clients depend on. */
function mediaServices(objects: KubeObject[]): MediaService[] {
  return objects.filter((o) => o.kind === "Service" && o.metadata.name.startsWith("livekit-rtc")).map((o) => {
    const s = o.spec as { type: string; externalTrafficPolicy?: string; ports: { protocol: string; port: number; nodePort?: number }[] };
    return { name: o.metadata.name, type: s.type, policy: s.externalTrafficPolicy, ports: s.ports.map((p) => ({ protocol: p.protocol, port: p.port, ...(p.nodePort ? { nodePort: p.nodePort } : {}) })) };
  }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** One LoadBalancer per protocol, or one NodePort Service whose node ports are the ports LiveKit announces. */
function expectedMediaServices(mode: string, rtc: { udp: number; tcp: number }): MediaService[] {
  if (mode === "nodePort") {
    return [{ name: "livekit-rtc", type: "NodePort", policy: "Local", ports: [{ protocol: "UDP", port: rtc.udp, nodePort: rtc.udp }, { protocol: "TCP", port: rtc.tcp, nodePort: rtc.tcp }] }];
  }
  return [
    { name: "livekit-rtc-tcp", type: "LoadBalancer", policy: "Local", ports: [{ protocol: "TCP", port: rtc.tcp }] },
    { name: "livekit-rtc-udp", type: "LoadBalancer", policy: "Local", ports: [{ protocol: "UDP", port: rtc.udp }] },
  ];
}

if (expected.calls) describe("LiveKit's media exposure, the other way round", () => {
  it("follows calls.livekitMedia: LiveKit listens on, announces and the NetworkPolicy admits the published ports", async () => {
    const other = expected.livekitMedia === "nodePort" ? "loadBalancer" : "nodePort";
    const rtc = other === "nodePort" ? { udp: 31882, tcp: 31881 } : { udp: 7882, tcp: 7881 };
    const objects = await renderOverlay("ccu-1k", emitSiteVariant(siteInput, { calls: { ...siteInput.calls, livekitMedia: other } }));
    expect(mediaServices(objects)).toEqual(expectedMediaServices(other, rtc));
    const config = parse((find(objects, "ConfigMap", "livekit") as unknown as { data: Record<string, string> }).data["livekit.yaml"] ?? "") as { rtc: { udp_port: number; tcp_port: number } };
    expect({ udp: config.rtc.udp_port, tcp: config.rtc.tcp_port }).toEqual(rtc);
    expect(containerOf(find(objects, "Deployment", "livekit")).ports).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: "rtc-udp", protocol: "UDP", containerPort: rtc.udp }),
      expect.objectContaining({ name: "rtc-tcp", protocol: "TCP", containerPort: rtc.tcp }),
    ]));
    const ingress = (find(objects, "NetworkPolicy", "livekit").spec as { ingress: { ports: { protocol: string; port: number }[] }[] }).ingress.flatMap((r) => r.ports);
    expect(ingress).toEqual(expect.arrayContaining([{ protocol: "UDP", port: rtc.udp }, { protocol: "TCP", port: rtc.tcp }]));
  });

  it("refuses an unknown mode, naming the field", () => {
    expect(() => resolveSite({ ...siteInput, calls: { ...siteInput.calls, livekitMedia: "hostPort" } })).toThrow(/site\.calls\.livekitMedia: must be "loadBalancer" or "nodePort", got "hostPort"/);
  });
});

if (expected.calls) describe.each(tiers.map((t) => t.name))("LiveKit and its authorisation service in %s", (tier) => {
  it("publishes the media ports LiveKit is configured for and keeps room creation with the auth service", async () => {
    const objects = await renderOverlay(tier);
    const config = parse((find(objects, "ConfigMap", "livekit") as unknown as { data: Record<string, string> }).data["livekit.yaml"] ?? "") as {
      rtc: { udp_port: number; tcp_port: number }; room: { auto_create: boolean }; turn: { enabled: boolean }; webhook: { api_key: string; urls: string[] };
    };
    expect({ udp: config.rtc.udp_port, tcp: config.rtc.tcp_port }).toEqual(expected.livekitRtc);
    expect(mediaServices(objects)).toEqual(expectedMediaServices(expected.livekitMedia, expected.livekitRtc));
    const sfuPorts = containerOf(find(objects, "Deployment", "livekit")).ports;
    expect(sfuPorts).toEqual(expect.arrayContaining([expect.objectContaining({ protocol: "UDP", containerPort: config.rtc.udp_port })]));
    expect(config.room.auto_create).toBe(false);
    expect(config.turn.enabled).toBe(false);
    const jwt = containerOf(find(objects, "Deployment", "lk-jwt-service"));
    expect(jwt.env.find((e) => e.name === "LIVEKIT_KEY")?.value).toBe(config.webhook.api_key);
    expect(config.webhook.urls[0]).toBe(`http://lk-jwt-service.${expected.namespace}.svc.${expected.clusterDomain}:8080/sfu_webhook`);
  });

  it("reads the API secret from the generated Secret, never from git", async () => {
    const objects = await renderOverlay(tier);
    const sfu = containerOf(find(objects, "Deployment", "livekit"));
    const jwt = containerOf(find(objects, "Deployment", "lk-jwt-service"));
    const ref = sfu.env.find((e) => e.name === "LIVEKIT_API_SECRET")?.valueFrom?.secretKeyRef;
    expect(ref).toEqual({ name: "livekit-keys", key: "api_secret" });
    expect(jwt.env.find((e) => e.name === "LIVEKIT_SECRET")?.valueFrom?.secretKeyRef).toEqual(ref);
    expect(sfu.env.find((e) => e.name === "LIVEKIT_KEYS")?.value).toBe("matrix-gitops: $(LIVEKIT_API_SECRET)");
    const job = containerOf(find(objects, "Job", "synapse-secrets-init"));
    const generated = JSON.parse(job.env.find((e) => e.name === "SECRETS")?.value ?? "{}") as Record<string, string[]>;
    expect(generated["livekit-keys"]).toEqual(["api_secret"]);
  });

  it("serves the SFU and the auth service under rtc.<domain>, matching what clients are told", async () => {
    const objects = await renderOverlay(tier);
    const jwt = containerOf(find(objects, "Deployment", "lk-jwt-service"));
    expect(jwt.env.find((e) => e.name === "LIVEKIT_URL")?.value).toBe(`wss://${hosts.rtc}/livekit/sfu`);
    expect(jwt.env.find((e) => e.name === "LIVEKIT_FULL_ACCESS_HOMESERVERS")?.value).toBe(expected.serverName);
    const routes = objects.filter((o) => o.kind === "Ingress").flatMap((o) => {
      const rules = (o.spec as { rules: { host: string; http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] }).rules;
      return rules.flatMap((r) => r.http.paths.map((p) => `${r.host}${p.path} -> ${p.backend.service.name}`));
    });
    expect(routes).toEqual(expect.arrayContaining([
      `${hosts.rtc}/livekit/sfu(/|$)(.*) -> livekit`,
      `${hosts.rtc}/livekit/jwt(/|$)(.*) -> lk-jwt-service`,
      `${hosts.element}/ -> element-web`,
      `${hosts.matrix}/ -> haproxy-client`,
    ]));
  });

  it("deploys Element Web after HAProxy and calls after the main instance, with load balancers and certificates last", async () => {
    const objects = await renderOverlay(tier);
    const main = wave(find(objects, "StatefulSet", "synapse-main"));
    const hx = wave(find(objects, "Deployment", "haproxy"));
    expect(wave(find(objects, "Deployment", "element-web"))).toBeGreaterThan(hx);
    expect(hx).toBeGreaterThan(main);
    for (const [kind, name] of [["Deployment", "livekit"], ["Deployment", "lk-jwt-service"], ["DaemonSet", "coturn"]]) {
      expect(wave(find(objects, kind as string, name as string)), name).toBeGreaterThan(main);
    }
    const last = Math.max(...objects.map(wave));
    for (const o of objects.filter((x) => x.kind === "Ingress" || x.kind === "Certificate" || (x.kind === "Service" && (x.spec as { type?: string }).type === "LoadBalancer"))) {
      expect(wave(o), `${o.kind}/${o.metadata.name}`).toBe(last);
    }
  });
});
