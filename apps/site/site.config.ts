// The site configuration. Change `domain` and rebuild (npx nx run overlays:build): server name, hostnames,
// public URLs, ingress hosts and TLS names all derive from it. See apps/site/site.ts for every option.
import type { SiteInput } from "./site.ts";

export default {
  domain: "example.com",
} satisfies SiteInput;
