/**
 * Real Matrix requests and the processes that may serve them, written from Synapse's docs/workers.md (not
 * from the routing table): `expect` lists, in order of preference, the pools that should answer; the first
 * pool a tier runs is the expected one (`main` always runs). At least one request per documented regex,
 * plus main-only endpoints and non-GET variants of GET-only endpoints.
 */
export interface CorpusRequest {
  method: string;
  path: string;
  expect: string[] | { haproxy: number };
}

const room = "!room:example.org";
const r = encodeURIComponent(room);
const ev = encodeURIComponent("$event:example.org");
const user = encodeURIComponent("@alice:example.org");

const get = (path: string, ...expect: string[]): CorpusRequest => ({ method: "GET", path, expect });
const post = (path: string, ...expect: string[]): CorpusRequest => ({ method: "POST", path, expect });
const put = (path: string, ...expect: string[]): CorpusRequest => ({ method: "PUT", path, expect });

const fed = ["federation-reader", "generic"];

export const corpus: CorpusRequest[] = [
  // Sync requests
  get("/_matrix/client/v3/sync?since=s72594_4483_1934&timeout=30000", "synchrotron"),
  get("/_matrix/client/r0/sync?since=s1", "synchrotron"),
  get("/_matrix/client/v3/sync?timeout=0", "initial-sync", "synchrotron"),
  get("/_matrix/client/v3/events?from=s1", "synchrotron"),
  get("/_matrix/client/api/v1/events", "synchrotron"),
  get("/_matrix/client/r0/initialSync", "initial-sync", "synchrotron"),
  get(`/_matrix/client/v3/rooms/${r}/initialSync`, "initial-sync", "synchrotron"),
  // Sliding sync (Element X): a long poll served by workers, initial (no `pos`) or not.
  post("/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=5&timeout=30000", "synchrotron"),
  post("/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", "synchrotron"),
  // Federation requests
  get("/_matrix/federation/v1/version", ...fed),
  get(`/_matrix/federation/v1/event/${ev}`, ...fed),
  get(`/_matrix/federation/v1/state/${r}?event_id=${ev}`, ...fed),
  get(`/_matrix/federation/v1/state_ids/${r}?event_id=${ev}`, ...fed),
  get(`/_matrix/federation/v1/backfill/${r}?v=${ev}&limit=10`, ...fed),
  post(`/_matrix/federation/v1/get_missing_events/${r}`, ...fed),
  get("/_matrix/federation/v1/publicRooms", ...fed),
  get("/_matrix/federation/v1/query/directory?room_alias=%23a%3Aexample.org", ...fed),
  get(`/_matrix/federation/v1/make_join/${r}/${user}`, ...fed),
  get(`/_matrix/federation/v1/make_leave/${r}/${user}`, ...fed),
  put(`/_matrix/federation/v2/send_join/${r}/${ev}`, ...fed),
  put(`/_matrix/federation/v1/send_join/${r}/${ev}`, ...fed),
  put(`/_matrix/federation/v2/send_leave/${r}/${ev}`, ...fed),
  get(`/_matrix/federation/v1/make_knock/${r}/${user}`, ...fed),
  put(`/_matrix/federation/v1/send_knock/${r}/${ev}`, ...fed),
  put(`/_matrix/federation/v2/invite/${r}/${ev}`, ...fed),
  get(`/_matrix/federation/v1/event_auth/${r}/${ev}`, ...fed),
  get(`/_matrix/federation/v1/timestamp_to_event/${r}?ts=1&dir=f`, ...fed),
  put(`/_matrix/federation/v1/exchange_third_party_invite/${r}`, ...fed),
  get(`/_matrix/federation/v1/user/devices/${user}`, ...fed),
  post("/_matrix/key/v2/query", ...fed),
  get(`/_matrix/federation/v1/hierarchy/${r}`, ...fed),
  put("/_matrix/federation/v1/send/1700000000000", ...fed),
  // Client API requests
  post("/_matrix/client/v3/createRoom", "generic"),
  get("/_matrix/client/v3/publicRooms", "generic"),
  get(`/_matrix/client/v3/rooms/${r}/joined_members`, "generic"),
  get(`/_matrix/client/v3/rooms/${r}/context/${ev}`, "generic"),
  get(`/_matrix/client/v3/rooms/${r}/members`, "generic"),
  get(`/_matrix/client/v3/rooms/${r}/state`, "generic"),
  get(`/_matrix/client/v1/rooms/${r}/hierarchy`, "generic"),
  get(`/_matrix/client/v1/rooms/${r}/relations/${ev}`, "generic"),
  get(`/_matrix/client/v1/rooms/${r}/threads`, "generic"),
  get(`/_matrix/client/unstable/im.nheko.summary/summary/${r}`, "generic"),
  get("/_matrix/client/v3/account/3pid", "generic"),
  get("/_matrix/client/v3/account/whoami", "generic"),
  post("/_matrix/client/v3/account/deactivate", "generic"),
  post("/_matrix/client/v3/delete_devices", "generic"),
  get("/_matrix/client/v3/devices", "generic"),
  put("/_matrix/client/v3/devices/ABCDEFGH", "generic"),
  get("/_matrix/client/versions", "generic"),
  get("/_matrix/client/v3/voip/turnServer", "generic"),
  get(`/_matrix/client/v3/rooms/${r}/event/${ev}`, "generic"),
  get("/_matrix/client/v3/joined_rooms", "generic"),
  get(`/_matrix/client/v1/rooms/${r}/timestamp_to_event?ts=1&dir=b`, "generic"),
  get(`/_matrix/client/v3/rooms/${r}/aliases`, "generic"),
  get(`/_matrix/client/unstable/org.matrix.msc2432/rooms/${r}/aliases`, "generic"),
  post("/_matrix/client/v3/search", "generic"),
  post(`/_matrix/client/v3/user/${user}/filter`, "generic"),
  get(`/_matrix/client/v3/user/${user}/filter/1`, "generic"),
  get("/_matrix/client/v3/directory/room/%23alias%3Aexample.org", "generic"),
  get("/_matrix/client/v3/capabilities", "generic"),
  get("/_matrix/client/v3/notifications", "generic"),
  // Encryption requests
  post("/_matrix/client/v3/keys/query", "generic"),
  get("/_matrix/client/v3/keys/changes?from=s1&to=s2", "generic"),
  post("/_matrix/client/v3/keys/claim", "generic"),
  get("/_matrix/client/v3/room_keys/version", "generic"),
  post("/_matrix/client/v3/keys/upload", "generic"),
  post("/_matrix/client/r0/keys/upload/ABCDEFGH", "generic"),
  post("/_matrix/client/v3/keys/device_signing/upload", "generic"),
  post("/_matrix/client/v3/keys/signatures/upload", "generic"),
  // Registration/login requests
  post("/_matrix/client/v3/login", "generic"),
  get("/_matrix/client/v3/login", "generic"),
  post("/_matrix/client/v3/register", "generic"),
  get("/_matrix/client/v3/register/available?username=bob", "generic"),
  get("/_matrix/client/v1/register/m.login.registration_token/validity?token=x", "generic"),
  get("/_matrix/client/v3/password_policy", "generic"),
  // Event sending requests
  put(`/_matrix/client/v3/rooms/${r}/redact/${ev}/txn1`, "generic"),
  put(`/_matrix/client/v3/rooms/${r}/send/m.room.message/txn2`, "generic"),
  put(`/_matrix/client/v3/rooms/${r}/state/m.room.name/`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/join`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/invite`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/leave`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/ban`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/unban`, "generic"),
  post(`/_matrix/client/v3/rooms/${r}/kick`, "generic"),
  post("/_matrix/client/v3/join/%23alias%3Aexample.org", "generic"),
  post(`/_matrix/client/v3/knock/${r}`, "generic"),
  put(`/_matrix/client/v3/profile/${user}/displayname`, "generic"),
  // User directory search requests
  post("/_matrix/client/v3/user_directory/search", "generic"),
  // GET-only on workers; writes go to the stream's writer, or main
  get("/_matrix/client/v3/pushrules/", "generic"),
  put("/_matrix/client/v3/pushrules/global/content/rule1", "push-rules-writer", "main"),
  get("/_matrix/client/unstable/org.matrix.msc4140/delayed_events", "generic"),
  get("/_matrix/client/unstable/org.matrix.msc4140/delayed_events?status=scheduled", "generic"),
  // Delayed events (MSC4140) as Element Call uses them, from synapse/rest/client/delayed_events.py and room.py
  // (1.157): scheduling is an event send (a worker forwards it to main); restart is served by every process;
  // update, cancel and send only by main.
  put(`/_matrix/client/v3/rooms/${r}/state/org.matrix.msc3401.call.member/_${user}_DEVICE?org.matrix.msc4140.delay=8000`, "generic"),
  put(`/_matrix/client/v3/rooms/${r}/send/m.room.message/txn9?org.matrix.msc4140.delay=60000`, "generic"),
  post("/_matrix/client/unstable/org.matrix.msc4140/delayed_events/syd_abc/restart", "generic"),
  post("/_matrix/client/unstable/org.matrix.msc4140/delayed_events/syd_abc/cancel", "main"),
  post("/_matrix/client/unstable/org.matrix.msc4140/delayed_events/syd_abc/send", "main"),
  post("/_matrix/client/unstable/org.matrix.msc4140/delayed_events/abc", "main"),
  // MatrixRTC transports (MSC4143): synapse/rest/client/matrixrtc.py, unstable path only; unlisted in workers.md, so main.
  get("/_matrix/client/unstable/org.matrix.msc4143/rtc/transports", "main"),
  get(`/_matrix/client/v3/user/${user}/rooms/${r}/tags`, "generic"),
  put(`/_matrix/client/v3/user/${user}/rooms/${r}/tags/m.favourite`, "account-data-writer", "main"),
  get(`/_matrix/client/v3/user/${user}/account_data/m.direct`, "generic"),
  put(`/_matrix/client/v3/user/${user}/account_data/m.direct`, "account-data-writer", "main"),
  // Not "generic": at v1.157 only the presence writer can answer presence GETs (a worker raises NotImplementedError).
  get(`/_matrix/client/v3/presence/${user}/status`, "presence-writer", "main"),
  put(`/_matrix/client/v3/presence/${user}/status`, "presence-writer", "main"),
  // Stream writers
  put(`/_matrix/client/v3/rooms/${r}/typing/${user}`, "typing-writer", "main"),
  put("/_matrix/client/v3/sendToDevice/m.room.encrypted/txn3", "to-device-writer", "main"),
  post(`/_matrix/client/v3/rooms/${r}/receipt/m.read/${ev}`, "receipts-writer", "main"),
  post(`/_matrix/client/v3/rooms/${r}/read_markers`, "receipts-writer", "main"),
  // Pagination (per room)
  get(`/_matrix/client/v3/rooms/${r}/messages?dir=b&limit=20`, "generic"),
  // Media: client and federation paths; main has the media repository switched off
  get("/_matrix/media/v3/download/example.org/abcdef", "media"),
  post("/_matrix/media/v3/upload?filename=a.png", "media"),
  get("/_matrix/media/v3/thumbnail/example.org/abcdef?width=64&height=64", "media"),
  get("/_matrix/client/v1/media/download/example.org/abcdef", "media"),
  get("/_matrix/client/v1/media/config", "media"),
  get("/_matrix/federation/v1/media/download/abcdef", "media"),
  get("/_matrix/media/r0/download/example.org/abcdef", "media"),
  // Main only (no worker may serve these)
  post("/_matrix/client/v3/account/password", "main"),
  post("/_matrix/client/v3/account/3pid/add", "main"),
  post(`/_matrix/client/v3/rooms/${r}/upgrade`, "main"),
  post(`/_matrix/client/v3/rooms/${r}/report/${ev}`, "main"),
  get("/_matrix/client/v3/pushers", "main"),
  post("/_matrix/client/v3/pushers/set", "main"),
  post("/_matrix/client/v3/logout", "main"),
  post("/_matrix/client/v3/logout/all", "main"),
  post(`/_matrix/client/v3/user/${user}/openid/request_token`, "main"),
  get("/_matrix/client/v3/thirdparty/protocols", "main"),
  get("/_synapse/client/password_reset/email/submit_token", "main"),
  get("/health", "main"),
  // SSO: one process (main)
  get("/_matrix/client/v3/login/sso/redirect?redirectUrl=https%3A%2F%2Fchat.example.org", "main"),
  get("/_synapse/client/pick_idp", "main"),
  get("/_synapse/client/pick_username/account_details", "main"),
  post("/_synapse/client/new_user_consent", "main"),
  get("/_synapse/client/sso_register", "main"),
  get("/_synapse/client/oidc/callback?code=x&state=y", "main"),
  post("/_synapse/client/saml2/authn_response", "main"),
  get("/_matrix/client/v3/login/cas/ticket?ticket=x", "main"),
  // Never reachable from the public entry point
  { method: "GET", path: "/_synapse/admin/v1/server_version", expect: { haproxy: 403 } },
  { method: "GET", path: "/_synapse/admin/v1/media/example.org/abcdef", expect: { haproxy: 403 } },
  { method: "POST", path: "/_synapse/admin/v1/purge_media_cache?before_ts=1", expect: { haproxy: 403 } },
  { method: "GET", path: "/_synapse/admin/v1/room/!r:x/media", expect: { haproxy: 403 } },
  { method: "GET", path: "/_synapse/admin/v1/user/@a:x/media", expect: { haproxy: 403 } },
  { method: "POST", path: "/_synapse/admin/v1/quarantine_media/example.org/abc", expect: { haproxy: 403 } },
  { method: "GET", path: "/_synapse/admin/v1/users/@a:x/media", expect: { haproxy: 403 } },
  { method: "POST", path: "/_synapse/replication/send_event/abc", expect: { haproxy: 404 } },
  { method: "GET", path: "/_synapse/metrics", expect: { haproxy: 404 } },
];
