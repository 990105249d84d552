/**
 * Element Web (the source document's `02-element-web/`): 2 replicas of the static web client behind its
 * own host, configured for this homeserver only.
 */
import { ConfigMap, Deployment, Ingress, PodDisruptionBudget, Service } from "../kube/models.ts";
import type { Component } from "../kube/component.ts";
import type { Manifest } from "../kube/manifest.ts";
import { configHash, configHashAnnotation } from "../kube/config-hash.ts";
import { imageVersion, objectLabels, selectorLabels } from "../kube/labels.ts";
import { restrictedContainerSecurity, restrictedPodDefaults } from "../kube/pod-security.ts";
import { syncWave, syncWaveAnnotations } from "../kube/sync-waves.ts";
import type { Site } from "../site/site.ts";
import { elementConfig } from "./element-config.ts";
import { elementPort, nginxServerConfig } from "./nginx-config.ts";
import { certManagerAnnotations } from "../kube/cluster-addons.ts";

const name = "element-web";
const identity = { name: "element-web", component: "web" };
/** The image's unprivileged nginx user. */
const nginxUid = 101;

export function elementWebFiles(site: Site): Record<string, string> {
  return { "config.json": `${JSON.stringify(elementConfig(site), null, 2)}\n`, "default.conf": nginxServerConfig() };
}

function meta(site: Site, n: string, wave: number = syncWave.elementWeb) {
  return { name: n, namespace: site.namespace, labels: objectLabels(identity), annotations: syncWaveAnnotations(wave) };
}

export const elementWeb: Component = {
  name: "element-web",

  base(site): Manifest[] {
    const files = elementWebFiles(site);
    const health = { httpGet: { path: "/health", port: "http" } };
    return [
      new ConfigMap({ metadata: meta(site, name), data: files }),
      new Service({
        metadata: meta(site, name),
        spec: { selector: selectorLabels(identity), ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
      }),
      new Deployment({
        metadata: meta(site, name),
        spec: {
          replicas: 2,
          selector: { matchLabels: selectorLabels(identity) },
          template: {
            metadata: { labels: objectLabels(identity, imageVersion(site.images.elementWeb)), annotations: { [configHashAnnotation]: configHash(files) } },
            spec: {
              ...restrictedPodDefaults(nginxUid),
              topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selectorLabels(identity) } }],
              containers: [{
                name: "element-web",
                image: site.images.elementWeb,
                ports: [{ name: "http", containerPort: elementPort, protocol: "TCP" }],
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
                readinessProbe: { ...health, periodSeconds: 10 },
                livenessProbe: { ...health, periodSeconds: 20 },
                securityContext: restrictedContainerSecurity(),
                volumeMounts: [
                  { name: "config", mountPath: "/app/config.json", subPath: "config.json", readOnly: true },
                  { name: "config", mountPath: "/etc/nginx/conf.d/default.conf", subPath: "default.conf", readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              }],
              volumes: [
                { name: "config", configMap: { name } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
              ],
            },
          },
        },
      }),
      new PodDisruptionBudget({ metadata: meta(site, name), spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(identity) } } }),
      new Ingress({
        metadata: { ...meta(site, name, syncWave.final), annotations: { ...syncWaveAnnotations(syncWave.final), ...certManagerAnnotations(site) } },
        spec: {
          ingressClassName: site.ingressClassName,
          tls: [{ hosts: [site.hosts.element], secretName: "element-web-tls" }],
          rules: [{ host: site.hosts.element, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { name: "http" } } } }] } }],
        },
      }),
    ];
  },

  tierPatches: () => [],
};
