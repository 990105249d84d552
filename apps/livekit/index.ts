/**
 * LiveKit (the source document's `04-livekit/`) and what Element Call needs to use it: the MatrixRTC
 * authorisation service (lk-jwt-service) behind `rtc.<domain>`, announced in `.well-known/matrix/client`.
 */
import { ConfigMap, Deployment, Ingress, PodDisruptionBudget, Service, ServiceMonitor } from "../kube/models.ts";
import type { Component } from "../kube/component.ts";
import type { Manifest } from "../kube/manifest.ts";
import { configHash, configHashAnnotation } from "../kube/config-hash.ts";
import { imageVersion, objectLabels, selectorLabels, type AppIdentity } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodDefaults } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import { configYaml } from "../kube/yaml.ts";
import type { Site } from "../site/site.ts";
import { rtcUrls } from "../site/well-known.ts";
import { livekitSecret } from "../synapse/secrets-job.ts";
import { livekitConfig, livekitPorts, lkJwtPort, mediaPorts } from "./livekit-config.ts";
import { certManagerAnnotations, ifServiceMonitors } from "../kube/cluster-addons.ts";

const sfu: AppIdentity = { name: "livekit", component: "sfu" };
const jwt: AppIdentity = { name: "lk-jwt-service", component: "rtc-auth" };
const nobody = 65532;

function meta(site: Site, name: string, id: AppIdentity, wave: number = syncWave.calls) {
  return { name, namespace: site.namespace, labels: objectLabels(id), annotations: syncWaveAnnotations(wave) };
}

const secretEnv = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: livekitSecret.name, key: livekitSecret.key } } });

function rtcIngress(site: Site, name: string, id: AppIdentity, prefix: string, service: string, port: string, certificate: boolean): Ingress {
  return new Ingress({
    metadata: {
      ...meta(site, name, id, syncWave.final),
      annotations: {
        ...syncWaveAnnotations(syncWave.final),
        // One certificate for rtc.<domain>: only one of the two Ingresses asks cert-manager for it.
        ...(certificate ? certManagerAnnotations(site) : {}),
        "nginx.ingress.kubernetes.io/use-regex": "true",
        "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
      },
    },
    spec: {
      ingressClassName: site.ingressClassName,
      tls: [{ hosts: [site.hosts.rtc], secretName: "rtc-tls" }],
      rules: [{
        host: site.hosts.rtc,
        http: { paths: [{ path: `${prefix}(/|$)(.*)`, pathType: "ImplementationSpecific", backend: { service: { name: service, port: { name: port } } } }] },
      }],
    },
  });
}

/**
 * The media ports, published. Both ways keep the client's address (`externalTrafficPolicy: Local`: ICE needs
 * it) and avoid a second hop for media.
 */
function mediaServices(site: Site): Service[] {
  const ports = mediaPorts(site);
  const udp = { name: "rtc-udp", port: ports.rtcUdp, targetPort: "rtc-udp", protocol: "UDP" as const };
  const tcp = { name: "rtc-tcp", port: ports.rtcTcp, targetPort: "rtc-tcp", protocol: "TCP" as const };
  if (site.calls.livekitMedia === "nodePort") {
    return [new Service({
      // Healthy once created: nothing outside the cluster has to act, so it goes with LiveKit.
      metadata: meta(site, "livekit-rtc", sfu),
      spec: {
        type: "NodePort", externalTrafficPolicy: "Local", selector: selectorLabels(sfu),
        ports: [{ ...udp, nodePort: ports.rtcUdp }, { ...tcp, nodePort: ports.rtcTcp }],
      },
    })];
  }
  // One LoadBalancer per protocol: many clouds refuse mixed protocols on one. Last wave: Progressing until
  // the cloud assigns an address.
  return ([["livekit-rtc-udp", udp], ["livekit-rtc-tcp", tcp]] as const).map(([name, port]) => new Service({
    metadata: meta(site, name, sfu, syncWave.final),
    spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", selector: selectorLabels(sfu), ports: [port] },
  }));
}

function livekitObjects(site: Site): Manifest[] {
  const config = configYaml(livekitConfig(site));
  const files = { "livekit.yaml": config };
  return [
    new ConfigMap({ metadata: meta(site, "livekit", sfu), data: files }),
    new Service({
      metadata: meta(site, "livekit", sfu),
      spec: {
        selector: selectorLabels(sfu),
        ports: [
          { name: "http", port: livekitPorts.http, targetPort: "http", protocol: "TCP" },
          { name: "metrics", port: livekitPorts.metrics, targetPort: "metrics", protocol: "TCP" },
        ],
      },
    }),
    ...mediaServices(site),
    new Deployment({
      metadata: meta(site, "livekit", sfu),
      spec: {
        // One SFU: several need Redis to share room state; see README for scaling out.
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: selectorLabels(sfu) },
        template: {
          metadata: { labels: objectLabels(sfu, imageVersion(site.images.livekit)), annotations: { [configHashAnnotation]: configHash(files) } },
          spec: {
            ...restrictedPodDefaults(nobody),
            terminationGracePeriodSeconds: 30,
            containers: [{
              name: "livekit",
              image: site.images.livekit,
              args: ["--config", "/config/livekit.yaml"],
              env: [
                secretEnv("LIVEKIT_API_SECRET"),
                // LiveKit reads its keys as "<key name>: <secret>"; Kubernetes composes it from the Secret.
                { name: "LIVEKIT_KEYS", value: `${livekitSecret.apiKeyName}: $(LIVEKIT_API_SECRET)` },
              ],
              ports: [
                { name: "http", containerPort: livekitPorts.http, protocol: "TCP" },
                { name: "rtc-tcp", containerPort: mediaPorts(site).rtcTcp, protocol: "TCP" },
                { name: "rtc-udp", containerPort: mediaPorts(site).rtcUdp, protocol: "UDP" },
                { name: "metrics", containerPort: livekitPorts.metrics, protocol: "TCP" },
              ],
              resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" } },
              readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 20 },
              securityContext: restrictedContainerSecurity(),
              volumeMounts: [{ name: "config", mountPath: "/config", readOnly: true }],
            }],
            volumes: [{ name: "config", configMap: { name: "livekit" } }],
          },
        },
      },
    }),
    ...ifServiceMonitors(site, () => new ServiceMonitor({
      metadata: meta(site, "livekit", sfu),
      spec: { selector: { matchLabels: selectorLabels(sfu) }, namespaceSelector: { matchNames: [site.namespace] }, endpoints: [{ port: "metrics", interval: "30s" }] },
    })),
    rtcIngress(site, "livekit-sfu", sfu, "/livekit/sfu", "livekit", "http", true),
  ];
}

function jwtServiceObjects(site: Site): Manifest[] {
  const health = { httpGet: { path: "/healthz", port: "http" } };
  return [
    new Service({
      metadata: meta(site, "lk-jwt-service", jwt),
      spec: { selector: selectorLabels(jwt), ports: [{ name: "http", port: lkJwtPort, targetPort: "http", protocol: "TCP" }] },
    }),
    new Deployment({
      metadata: meta(site, "lk-jwt-service", jwt),
      spec: {
        replicas: 2,
        selector: { matchLabels: selectorLabels(jwt) },
        template: {
          metadata: { labels: objectLabels(jwt, imageVersion(site.images.lkJwtService)) },
          spec: {
            ...restrictedPodDefaults(nobody),
            containers: [{
              name: "lk-jwt-service",
              image: site.images.lkJwtService,
              env: [
                { name: "LIVEKIT_URL", value: rtcUrls(site).livekit },
                { name: "LIVEKIT_KEY", value: livekitSecret.apiKeyName },
                secretEnv("LIVEKIT_SECRET"),
                { name: "LIVEKIT_JWT_BIND", value: `:${lkJwtPort}` },
                // Only users of this homeserver may create calls on this SFU; others may join them.
                { name: "LIVEKIT_FULL_ACCESS_HOMESERVERS", value: site.serverName },
              ],
              ports: [{ name: "http", containerPort: lkJwtPort, protocol: "TCP" }],
              resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } },
              readinessProbe: { ...health, periodSeconds: 10 },
              livenessProbe: { ...health, periodSeconds: 20 },
              securityContext: restrictedContainerSecurity(),
            }],
          },
        },
      },
    }),
    new PodDisruptionBudget({ metadata: meta(site, "lk-jwt-service", jwt), spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(jwt) } } }),
    rtcIngress(site, "lk-jwt-service", jwt, "/livekit/jwt", "lk-jwt-service", "http", false),
  ];
}

export const livekit: Component = {
  name: "livekit",
  base: (site) => (site.calls.enabled ? [...livekitObjects(site), ...jwtServiceObjects(site)] : []),
  tierPatches: () => [],
};
