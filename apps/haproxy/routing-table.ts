/**
 * Which Synapse process serves which request: the endpoint lists of Synapse's docs/workers.md (v1.157,
 * "Available worker applications", "Stream writers", "Load balancing") as typed data. Routes are tried in
 * order; a route whose destinations none run in the tier is left out, and anything unmatched goes to main,
 * which can serve every endpoint except media (main runs with `enable_media_repo: false`).
 *
 * The source document sends every `/_matrix/client/*` path to generic workers. That is wrong for Synapse:
 * many client endpoints are main-only (password and 3pid changes, room upgrades, reporting, pushers, logout,
 * openid, thirdparty, most admin APIs) or must reach a stream writer (typing, to-device, receipts, …).
 */
import type { StreamName } from "../synapse/topology.ts";

/** Worker pools a route can prefer, by role, or the writer of a stream; `main` always exists. */
export type Destination = "synchrotron" | "initial-sync" | "generic" | "federation-reader" | "media" | "main" | `writer:${StreamName}`;

/**
 * How a backend spreads requests: per user (the localpart in a `syt_` access token), per room (pagination),
 * per source (federation transactions from one server), least connections (media uploads), round robin.
 */
export type Balance = "user" | "room" | "source" | "leastconn" | "roundrobin";

export interface Route {
  id: string;
  /** The workers.md section the patterns come from. */
  doc: string;
  /** PCRE regexes matched against the path, exactly as workers.md lists them. */
  patterns: string[];
  /** Restricts the route to GET/HEAD, or to every other method. */
  methods?: "GET" | "non-GET";
  /** Only `/sync` requests without a `since` parameter (initial syncs). */
  initialSyncOnly?: boolean;
  /** Preferred destinations; the first that the tier runs takes the route. */
  to: Destination[];
  balance: Balance;
}

const v = {
  all: "(api/v1|r0|v3|unstable)",
  r0v3u: "(r0|v3|unstable)",
};

// Synapse 1.157 mounts media under these three prefixes only (generic_worker.py, `media` resource); there is no
// `/_synapse/media/` resource, so a rule for it would only send 404s to the media pool.
export const mediaPatterns = ["^/_matrix/media/", "^/_matrix/client/v1/media/", "^/_matrix/federation/v1/media/"];

/** Media admin APIs: served by the media workers, reached through HAProxy's admin listener only. */
export const mediaAdminPatterns = [
  "^/_synapse/admin/v1/purge_media_cache$",
  "^/_synapse/admin/v1/room/.*/media.*$",
  "^/_synapse/admin/v1/user/.*/media.*$",
  "^/_synapse/admin/v1/media/.*$",
  "^/_synapse/admin/v1/quarantine_media/.*$",
  "^/_synapse/admin/v1/users/.*/media$",
];

export const routingTable: readonly Route[] = [
  {
    id: "media", doc: "synapse.app.media_repository", to: ["media"], balance: "leastconn",
    patterns: mediaPatterns,
  },
  // Stream writers first: these endpoints must reach the stream's writer when one runs.
  { id: "typing", doc: "The typing stream", to: ["writer:typing"], balance: "roundrobin", patterns: [`^/_matrix/client/${v.all}/rooms/.*/typing`] },
  { id: "to-device", doc: "The to_device stream", to: ["writer:to_device"], balance: "roundrobin", patterns: [`^/_matrix/client/${v.r0v3u}/sendToDevice/`] },
  {
    id: "receipts", doc: "The receipts stream", to: ["writer:receipts"], balance: "roundrobin",
    patterns: [`^/_matrix/client/${v.r0v3u}/rooms/.*/receipt`, `^/_matrix/client/${v.r0v3u}/rooms/.*/read_markers`],
  },
  {
    id: "account-data-write", doc: "The account_data stream", to: ["writer:account_data"], balance: "roundrobin", methods: "non-GET",
    patterns: [`^/_matrix/client/${v.r0v3u}/.*/tags`, `^/_matrix/client/${v.r0v3u}/.*/account_data`],
  },
  // Every method: workers.md lists presence GETs for generic workers, but at v1.157 only the presence writer
  // implements `is_visible`; a generic worker answers GET /presence/<user>/status with a 500 (seen in the lab).
  { id: "presence", doc: "The presence stream", to: ["writer:presence"], balance: "roundrobin", patterns: [`^/_matrix/client/${v.all}/presence/`] },
  { id: "push-rules-write", doc: "The push_rules stream", to: ["writer:push_rules"], balance: "roundrobin", methods: "non-GET", patterns: [`^/_matrix/client/${v.all}/pushrules/`] },
  // Sync: one user's requests to one process; initial syncs apart when a pool for them runs.
  {
    id: "initial-sync", doc: "Load balancing (initial sync)", to: ["initial-sync"], balance: "user", initialSyncOnly: true,
    patterns: ["^/_matrix/client/(r0|v3)/sync$"],
  },
  {
    id: "initial-sync-legacy", doc: "Load balancing (initial sync)", to: ["initial-sync", "synchrotron"], balance: "user",
    patterns: [`^/_matrix/client/(api/v1|r0|v3)/initialSync$`, `^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$`],
  },
  {
    // Sliding sync (Element X) is a long poll like /sync, served by the same servlet on workers (Synapse 1.157,
    // rest/client/sync.py `SlidingSyncRestServlet`, registered on every worker).
    id: "sync", doc: "Sync requests", to: ["synchrotron"], balance: "user",
    patterns: ["^/_matrix/client/(r0|v3)/sync$", "^/_matrix/client/(api/v1|r0|v3)/events$", "^/_matrix/client/unstable/org.matrix.simplified_msc3575/sync$"],
  },
  // Pagination: every request for one room to the same instance.
  { id: "pagination", doc: "Pagination requests", to: ["generic"], balance: "room", patterns: [`^/_matrix/client/${v.all}/rooms/.*/messages$`] },
  // Inbound federation transactions: by source, so one server's transactions stay in order on one process.
  { id: "federation-send", doc: "Inbound federation transaction request", to: ["federation-reader", "generic"], balance: "source", patterns: ["^/_matrix/federation/v1/send/"] },
  {
    id: "federation", doc: "Federation requests", to: ["federation-reader", "generic"], balance: "roundrobin",
    patterns: [
      "^/_matrix/federation/v1/version$", "^/_matrix/federation/v1/event/", "^/_matrix/federation/v1/state/",
      "^/_matrix/federation/v1/state_ids/", "^/_matrix/federation/v1/backfill/", "^/_matrix/federation/v1/get_missing_events/",
      "^/_matrix/federation/v1/publicRooms", "^/_matrix/federation/v1/query/", "^/_matrix/federation/v1/make_join/",
      "^/_matrix/federation/v1/make_leave/", "^/_matrix/federation/(v1|v2)/send_join/", "^/_matrix/federation/(v1|v2)/send_leave/",
      "^/_matrix/federation/v1/make_knock/", "^/_matrix/federation/v1/send_knock/", "^/_matrix/federation/(v1|v2)/invite/",
      "^/_matrix/federation/v1/event_auth/", "^/_matrix/federation/v1/timestamp_to_event/",
      "^/_matrix/federation/v1/exchange_third_party_invite/", "^/_matrix/federation/v1/user/devices/", "^/_matrix/key/v2/query",
      "^/_matrix/federation/v1/hierarchy/",
    ],
  },
  {
    id: "client", doc: "Client API requests", to: ["generic"], balance: "roundrobin",
    patterns: [
      `^/_matrix/client/${v.all}/createRoom$`, `^/_matrix/client/${v.all}/publicRooms$`,
      `^/_matrix/client/${v.all}/rooms/.*/joined_members$`, `^/_matrix/client/${v.all}/rooms/.*/context/.*$`,
      `^/_matrix/client/${v.all}/rooms/.*/members$`, `^/_matrix/client/${v.all}/rooms/.*/state$`,
      "^/_matrix/client/v1/rooms/.*/hierarchy$", "^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
      "^/_matrix/client/v1/rooms/.*/threads$", "^/_matrix/client/unstable/im.nheko.summary/summary/.*$",
      `^/_matrix/client/${v.r0v3u}/account/3pid$`, `^/_matrix/client/${v.r0v3u}/account/whoami$`,
      `^/_matrix/client/${v.r0v3u}/account/deactivate$`, "^/_matrix/client/(r0|v3)/delete_devices$",
      `^/_matrix/client/${v.all}/devices(/|$)`, "^/_matrix/client/versions$",
      `^/_matrix/client/${v.all}/voip/turnServer$`, `^/_matrix/client/${v.all}/rooms/.*/event/`,
      `^/_matrix/client/${v.all}/joined_rooms$`, "^/_matrix/client/v1/rooms/.*/timestamp_to_event$",
      "^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases", `^/_matrix/client/${v.all}/search$`,
      `^/_matrix/client/${v.r0v3u}/user/.*/filter(/|$)`, `^/_matrix/client/${v.all}/directory/room/.*$`,
      `^/_matrix/client/${v.r0v3u}/capabilities$`, `^/_matrix/client/${v.r0v3u}/notifications$`,
      // Encryption requests
      `^/_matrix/client/${v.r0v3u}/keys/query$`, `^/_matrix/client/${v.r0v3u}/keys/changes$`,
      `^/_matrix/client/${v.r0v3u}/keys/claim$`, `^/_matrix/client/${v.r0v3u}/room_keys/`,
      `^/_matrix/client/${v.r0v3u}/keys/upload`, `^/_matrix/client/${v.all}/keys/device_signing/upload$`,
      `^/_matrix/client/${v.all}/keys/signatures/upload$`,
      // Registration/login requests
      `^/_matrix/client/${v.all}/login$`, `^/_matrix/client/${v.r0v3u}/register$`,
      `^/_matrix/client/${v.r0v3u}/register/available$`, "^/_matrix/client/v1/register/m.login.registration_token/validity$",
      `^/_matrix/client/${v.r0v3u}/password_policy$`,
      // Event sending requests
      `^/_matrix/client/${v.all}/rooms/.*/redact`, `^/_matrix/client/${v.all}/rooms/.*/send`,
      `^/_matrix/client/${v.all}/rooms/.*/state/`, `^/_matrix/client/${v.all}/rooms/.*/(join|invite|leave|ban|unban|kick)$`,
      `^/_matrix/client/${v.all}/join/`, `^/_matrix/client/${v.all}/knock/`, `^/_matrix/client/${v.all}/profile/`,
      // User directory search requests
      `^/_matrix/client/${v.r0v3u}/user_directory/search$`,
    ],
  },
  {
    id: "client-get", doc: "Additionally, … can be handled for GET requests", to: ["generic"], balance: "roundrobin", methods: "GET",
    patterns: [
      `^/_matrix/client/${v.all}/pushrules/`, "^/_matrix/client/unstable/org.matrix.msc4140/delayed_events",
      `^/_matrix/client/${v.r0v3u}/.*/tags`, `^/_matrix/client/${v.r0v3u}/.*/account_data`,
    ],
  },
  {
    // Not in workers.md: synapse/rest/client/delayed_events.py (1.157) registers restart on every process (a
    // worker updates the row; main's timer reads it), while update, cancel and send stay main-only. Element
    // Call restarts each participant's delayed leave every few seconds, so that load goes to the pool.
    id: "delayed-event-restart", doc: "synapse/rest/client/delayed_events.py: RestartDelayedEventServlet", to: ["generic"], balance: "roundrobin", methods: "non-GET",
    patterns: ["^/_matrix/client/unstable/org.matrix.msc4140/delayed_events/[^/]+/restart$"],
  },
  {
    // workers.md: "Ensure that all SSO logins go to a single process" — that process is main.
    id: "sso", doc: "SSO endpoints", to: ["main"], balance: "roundrobin",
    patterns: [
      `^/_matrix/client/${v.all}/login/sso/redirect`, "^/_synapse/client/pick_idp$", "^/_synapse/client/pick_username",
      "^/_synapse/client/new_user_consent$", "^/_synapse/client/sso_register$", "^/_synapse/client/oidc/callback$",
      "^/_synapse/client/saml2/authn_response$", `^/_matrix/client/${v.all}/login/cas/ticket$`,
    ],
  },
];
