import { describe, expect, it } from "vitest";
import { ConfigError } from "../../apps/site/errors.ts";
import { resolveSite, type SiteInput } from "../../apps/site/site.ts";
import { components } from "../../apps/components.ts";
import { tiers } from "../../apps/site/sizing.ts";
import { emitRepository } from "../../tools/emit/repository.ts";
import { parse } from "yaml";

function fieldsOf(input: unknown): string[] {
  try {
    resolveSite(input as SiteInput);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).fields;
  }
  throw new Error("expected a ConfigError");
}

describe("site configuration", () => {
  it("derives every host and URL from the domain", () => {
    const site = resolveSite({ domain: "chat-corp.org" });
    expect(site.serverName).toBe("chat-corp.org");
    expect(site.hosts).toEqual({ matrix: "matrix.chat-corp.org", element: "chat.chat-corp.org", rtc: "rtc.chat-corp.org", turn: "turn.chat-corp.org" });
    expect(site.publicBaseUrl).toBe("https://matrix.chat-corp.org/");
    expect(site.namespace).toBe("matrix");
    expect(site.secrets).toEqual({ name: "synapse-secrets", generatedInCluster: true });
  });

  it.each([
    ["an invalid domain", { domain: "exa mple.com" }, "site.domain"],
    ["a single-label domain", { domain: "localhost" }, "site.domain"],
    ["an upper-case domain", { domain: "Example.com" }, "site.domain"],
    ["a missing domain", {}, "site.domain"],
    ["an invalid host override", { domain: "example.com", hosts: { matrix: "-bad-.example.com" } }, "site.hosts.matrix"],
    ["Element on the API host", { domain: "example.com", hosts: { element: "matrix.example.com" } }, "site.hosts.element"],
    ["an image on latest", { domain: "example.com", images: { synapse: "ghcr.io/element-hq/synapse:latest" } }, "site.images.synapse"],
    ["an image without a tag", { domain: "example.com", images: { synapse: "ghcr.io/element-hq/synapse" } }, "site.images.synapse"],
    ["a bad namespace", { domain: "example.com", namespace: "Matrix_NS" }, "site.namespace"],
    ["a bad database port", { domain: "example.com", postgres: { port: 0 } }, "site.postgres.port"],
    ["a bad existing secret name", { domain: "example.com", secrets: { existingSecret: "Not/A/Name" } }, "site.secrets.existingSecret"],
  ])("rejects %s, naming the field", (_label, input, field) => {
    expect(fieldsOf(input)).toContain(field);
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
