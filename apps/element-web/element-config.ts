/** Element Web's `config.json`, typed and derived from the site: no domain is written by hand anywhere. */
import type { Site } from "../site/site.ts";

export interface ElementConfig {
  default_server_config: { "m.homeserver": { base_url: string; server_name: string } };
  disable_custom_urls: boolean;
  disable_guests: boolean;
  brand: string;
  room_directory: { servers: string[] };
  show_labs_settings: boolean;
  setting_defaults: Record<string, boolean>;
  features?: Record<string, boolean>;
  element_call?: { use_exclusively: boolean };
}

export function elementConfig(site: Site): ElementConfig {
  return {
    default_server_config: { "m.homeserver": { base_url: `https://${site.hosts.matrix}`, server_name: site.serverName } },
    // This Element serves this homeserver; users of other servers use their own client.
    disable_custom_urls: true,
    disable_guests: true,
    brand: "Element",
    room_directory: { servers: [site.serverName] },
    show_labs_settings: false,
    setting_defaults: site.calls.enabled ? { feature_group_calls: true } : {},
    ...(site.calls.enabled ? {
      // Group calls through the embedded Element Call and the site's LiveKit focus (from .well-known).
      features: { feature_group_calls: true, feature_video_rooms: true, feature_element_call_video_rooms: true },
      element_call: { use_exclusively: true },
    } : {}),
  };
}
