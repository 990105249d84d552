import { describe, expect, it } from "vitest";
import { ConfigError } from "../../apps/site/errors.ts";
import { resolveSite } from "../../apps/site/site.ts";
import { components } from "../../apps/components.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { emitRepository } from "../../tools/emit/repository.ts";
import { parse } from "yaml";

function issuesOf(input: unknown): { field: string; message: string }[] {
  try {
    resolveSite(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}
const fieldsOf = (input: unknown) => issuesOf(input).map((i) => i.field);

describe("site configuration", () => {
  it("derives every host and URL from the domain", () => {
    const site = resolveSite({ domain: "chat-corp.org" });
    expect(site.serverName).toBe("chat-corp.org");
    expect(site.hosts).toEqual({ matrix: "matrix.chat-corp.org", element: "chat.chat-corp.org", rtc: "rtc.chat-corp.org", turn: "turn.chat-corp.org" });
    expect(site.publicBaseUrl).toBe("https://matrix.chat-corp.org/");
    expect(site.namespace).toBe("matrix");
    expect(site.secrets).toEqual({ name: "synapse-secrets", generatedInCluster: true, manifests: [] });
  });

  // Each wrong input beside the field path it must be reported at; cases come in pairs where it matters: the
  // field absent where that is an error, a wrong type, a wrong value, an unknown key (a typo) at every depth.
  it.each<[string, unknown, string, RegExp]>([
    ["a missing domain", {}, "site.domain", /expected a DNS name/],
    ["a domain of the wrong type", { domain: 42 }, "site.domain", /expected a DNS name .*got number 42/],
    ["an invalid domain", { domain: "exa mple.com" }, "site.domain", /not a lower-case DNS name/],
    ["a single-label domain", { domain: "localhost" }, "site.domain", /at least two labels/],
    ["an upper-case domain", { domain: "Example.com" }, "site.domain", /lower-case/],
    ["an IPv4 address as the domain", { domain: "192.0.2.10" }, "site.domain", /IP addresses are not accepted/],
    ["an IPv6 address as the domain", { domain: "2001:db8::1" }, "site.domain", /not a lower-case DNS name/],
    ["a typo at the top level", { domain: "example.com", servername: "example.com" }, "site.servername", /unknown key; known keys here: domain, serverName/],
    ["a server name that is an IP", { domain: "example.com", serverName: "10.0.0.1" }, "site.serverName", /IP addresses/],
    ["a typo in calls", { domain: "example.com", calls: { enable: false } }, "site.calls.enable", /unknown key; known keys here: enabled/],
    ["calls.enabled as a string", { domain: "example.com", calls: { enabled: "false" } }, "site.calls.enabled", /expected true or false, got string "false"/],
    ["a node selector as a string", { domain: "example.com", calls: { turnNodeSelector: "turn=true" } }, "site.calls.turnNodeSelector", /expected a map of node labels/],
    ["a node label key Kubernetes rejects", { domain: "example.com", calls: { turnNodeSelector: { "bad key": "x" } } }, "site.calls.turnNodeSelector[\"bad key\"]", /not a label key/],
    ["a node label value Kubernetes rejects", { domain: "example.com", calls: { turnNodeSelector: { turn: "-no-" } } }, "site.calls.turnNodeSelector.turn", /not a label value/],
    ["a node label value that is not a string", { domain: "example.com", calls: { turnNodeSelector: { turn: true } } }, "site.calls.turnNodeSelector.turn", /expected a label value/],
    ["a LiveKit node IP that is a name", { domain: "example.com", calls: { livekitNodeIp: "rtc.example.com" } }, "site.calls.livekitNodeIp", /not an IPv4 or IPv6 address/],
    ["a host override Kubernetes rejects", { domain: "example.com", hosts: { matrix: "-bad-.example.com" } }, "site.hosts.matrix", /not a lower-case DNS name/],
    ["a typo in hosts", { domain: "example.com", hosts: { elemnt: "web.example.com" } }, "site.hosts.elemnt", /unknown key; known keys here: matrix, element, rtc, turn/],
    ["Element on the API host", { domain: "example.com", hosts: { element: "matrix.example.com" } }, "site.hosts.element", /already the matrix host/],
    ["the TURN host on the API host", { domain: "example.com", hosts: { turn: "matrix.example.com" } }, "site.hosts.turn", /already the matrix host/],
    ["the RTC host on the Element host", { domain: "example.com", hosts: { rtc: "chat.example.com" } }, "site.hosts.rtc", /already the element host/],
    ["the TURN host on the RTC host", { domain: "example.com", hosts: { rtc: "av.example.com", turn: "av.example.com" } }, "site.hosts.turn", /already the rtc host/],
    ["an image on latest", { domain: "example.com", images: { synapse: "ghcr.io/element-hq/synapse:latest" } }, "site.images.synapse", /not pinned/],
    ["an image without a tag", { domain: "example.com", images: { synapse: "ghcr.io/element-hq/synapse" } }, "site.images.synapse", /not pinned/],
    ["an image on a moving minor tag", { domain: "example.com", images: { haproxy: "docker.io/library/haproxy:2.6" } }, "site.images.haproxy", /full version tag/],
    ["an image on a named moving tag", { domain: "example.com", images: { elementWeb: "ghcr.io/element-hq/element-web:stable" } }, "site.images.elementWeb", /not pinned/],
    ["an unknown image", { domain: "example.com", images: { postgres: "docker.io/library/postgres:15.4" } }, "site.images.postgres", /unknown key/],
    ["a bad namespace", { domain: "example.com", namespace: "Matrix_NS" }, "site.namespace", /not a namespace name/],
    ["a namespace longer than 63 characters", { domain: "example.com", namespace: "n".repeat(64) }, "site.namespace", /at most 63/],
    ["a database port of 0", { domain: "example.com", postgres: { port: 0 } }, "site.postgres.port", /TCP port from 1 to 65535/],
    ["a database port as a string", { domain: "example.com", postgres: { port: "5432" } }, "site.postgres.port", /got string "5432"/],
    ["a password Secret without its key", { domain: "example.com", postgres: { passwordSecret: { name: "pg" } } }, "site.postgres.passwordSecret.key", /expected a Secret data key, got nothing/],
    ["a typo in a Secret reference", { domain: "example.com", redis: { passwordSecret: { name: "r", key: "k", namespace: "x" } } }, "site.redis.passwordSecret.namespace", /unknown key/],
    ["a bad S3 endpoint", { domain: "example.com", s3: { endpoint: "minio:9000" } }, "site.s3.endpoint", /not an http\(s\) URL/],
    ["a bad existing secret name", { domain: "example.com", secrets: { existingSecret: "Not/A/Name" } }, "site.secrets.existingSecret", /not a Secret name/],
    ["a typo in secrets", { domain: "example.com", secrets: { existingSecretName: "vault" } }, "site.secrets.existingSecretName", /unknown key; known keys here: existingSecret/],
    ["a trusted proxy that is not a CIDR", { domain: "example.com", haproxy: { trustedProxies: ["10.0.0.0/33"] } }, "site.haproxy.trustedProxies[0]", /not an IPv4 or IPv6 address or CIDR/],
    ["trusted proxies as a string", { domain: "example.com", haproxy: { trustedProxies: "10.0.0.0/8" } }, "site.haproxy.trustedProxies", /expected a list of CIDRs/],
    ["the removed admin allow-list", { domain: "example.com", haproxy: { adminAllowFrom: ["10.0.0.0/8"] } }, "site.haproxy.adminAllowFrom", /removed: the admin API is served only on HAProxy's loopback admin listener/],
    ["a bad ingress namespace", { domain: "example.com", network: { ingressNamespace: "Ingress" } }, "site.network.ingressNamespace", /not a namespace name/],
    ["a bad repo URL", { domain: "example.com", argocd: { repoURL: "ftp://x" } }, "site.argocd.repoURL", /not a Git URL/],
    ["no deployment target", { domain: "example.com", argocd: { targets: [] } }, "site.argocd.targets", /at least one deployment target/],
    ["a target without a tier", { domain: "example.com", argocd: { targets: [{ name: "a", server: "https://k.example.com" }] } }, "site.argocd.targets[0].tier", /expected a tier name/],
    ["a typo in a target", { domain: "example.com", argocd: { targets: [{ name: "a", server: "https://k.example.com", tier: "ccu-1k", teir: "x" }] } }, "site.argocd.targets[0].teir", /unknown key/],
    ["a bad ingress class", { domain: "example.com", ingressClassName: "Public Nginx" }, "site.ingressClassName", /not an IngressClass name/],
    ["a bad cluster issuer", { domain: "example.com", tls: { clusterIssuer: "" } }, "site.tls.clusterIssuer", /not a ClusterIssuer name/],
  ])("rejects %s, naming the field and what is expected", (_label, input, field, message) => {
    const issues = issuesOf(input);
    const issue = issues.find((i) => i.field === field);
    expect(issue, `${field} in ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue?.message).toMatch(message);
  });

  it.each([null, "example.com", [], 7])("rejects a site that is not an object (%j)", (input) => {
    expect(issuesOf(input)).toEqual([{ field: "site", message: expect.stringMatching(/^expected the site configuration: an object with at least `domain`, got /) }]);
  });

  it("accepts every option set to a valid value (the fixture sites)", async () => {
    for (const f of ["corp", "no-calls"]) {
      const mod = await import(`../fixtures/sites/${f}.ts`) as { default: unknown };
      expect(() => resolveSite(mod.default), f).not.toThrow();
    }
  });

  it("accepts an image pinned by digest", () => {
    const digest = `ghcr.io/element-hq/synapse@sha256:${"a".repeat(64)}`;
    expect(resolveSite({ domain: "example.com", images: { synapse: digest } }).images.synapse).toBe(digest);
  });

  it("reports every bad field at once", () => {
    expect(fieldsOf({ domain: "bad domain", namespace: "UPPER", images: { synapse: "x/y:latest" } }))
      .toEqual(expect.arrayContaining(["site.domain", "site.namespace", "site.images.synapse"]));
  });

  it("changes every derived name when only the domain changes (one-line change)", () => {
    const readme = "<!-- BEGIN GENERATED tier table: tools/emit from apps/site/sizing.ts -->\n<!-- END GENERATED tier table -->\n";
    const files = emitRepository({ site: resolveSite({ domain: "corp.example.net" }), sizing: tiers, components, readme });
    const all = [...files.values()].join("\n");
    expect(all).not.toContain("example.com");
    const cm = parse(files.get("base/synapse-main/configmap-synapse-config.yaml") ?? "") as { data: Record<string, string> };
    const hs = parse(cm.data["homeserver.yaml"] ?? "") as { server_name: string; public_baseurl: string };
    expect(hs.server_name).toBe("corp.example.net");
    expect(hs.public_baseurl).toBe("https://matrix.corp.example.net/");
  });

  it("generates no Synapse secret when an existing Secret is referenced (and no Job at all without calls)", () => {
    const readme = "<!-- BEGIN GENERATED tier table: tools/emit from apps/site/sizing.ts -->\n<!-- END GENERATED tier table -->\n";
    const files = emitRepository({ site: resolveSite({ domain: "example.com", secrets: { existingSecret: "vault-synapse" } }), sizing: tiers, components, readme });
    const job = parse(files.get("base/synapse-main/job-synapse-secrets-init.yaml") ?? "") as { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } };
    const generated = JSON.parse(job.spec.template.spec.containers[0]?.env.find((e) => e.name === "SECRETS")?.value ?? "{}") as Record<string, string[]>;
    expect(Object.keys(generated)).toEqual(["livekit-keys"]);
    expect(files.get("base/synapse-main/statefulset-synapse-main.yaml")).toContain("secretName: vault-synapse");
    const noCalls = emitRepository({ site: resolveSite({ domain: "example.com", secrets: { existingSecret: "vault-synapse" }, calls: { enabled: false } }), sizing: tiers, components, readme });
    expect([...noCalls.keys()].some((p) => p.includes("secrets-init"))).toBe(false);
  });
});

describe("deployment targets", () => {
  const readme = "<!-- BEGIN GENERATED tier table: tools/emit from apps/site/sizing.ts -->\n<!-- END GENERATED tier table -->\n";

  it("rejects a target with an unknown tier, naming the field", () => {
    const site = resolveSite({ domain: "example.com", argocd: { targets: [{ name: "prod", server: "https://k8s.example.com", tier: "ccu-50k" }] } });
    try {
      emitRepository({ site, sizing: tiers, components, readme });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect((e as ConfigError).fields).toContain("site.argocd.targets[0].tier");
    }
  });

  it("rejects duplicate target names and non-https servers", () => {
    expect(fieldsOf({ domain: "example.com", argocd: { targets: [
      { name: "a", server: "https://x.example.com", tier: "ccu-1k" },
      { name: "a", server: "http://y.example.com", tier: "ccu-1k" },
    ] } })).toEqual(expect.arrayContaining(["site.argocd.targets[1].name", "site.argocd.targets[1].server"]));
  });
});
