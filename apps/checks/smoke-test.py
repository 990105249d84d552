"""Post-sync smoke test: the source document's "Verification" checks, run inside the cluster.

Runs as an Argo CD Sync hook Job once every workload is healthy (the wave before the last). Each check is retried a bounded number of times; any check still
failing fails the Job, and so the sync, with a message that names it.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

CLIENT = os.environ["SMOKE_CLIENT_URL"].rstrip("/")
FEDERATION = os.environ["SMOKE_FEDERATION_URL"].rstrip("/")
ELEMENT = os.environ.get("SMOKE_ELEMENT_URL", "").rstrip("/")
BASE_URL = os.environ["SMOKE_EXPECTED_BASE_URL"]
ORIGIN = os.environ["SMOKE_ORIGIN"]
ATTEMPTS = int(os.environ.get("SMOKE_ATTEMPTS", "10"))
INTERVAL = float(os.environ.get("SMOKE_INTERVAL_SECONDS", "6"))


def fetch(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def check_health():
    status, _, body = fetch(CLIENT + "/health")
    assert status == 200, "GET /health through HAProxy answered %d" % status
    assert body.strip() == b"OK", "GET /health answered %r, not OK" % body[:40]


def check_client_versions():
    status, _, body = fetch(CLIENT + "/_matrix/client/versions")
    assert status == 200, "GET /_matrix/client/versions answered %d" % status
    versions = json.loads(body).get("versions")
    assert isinstance(versions, list) and versions, "/_matrix/client/versions lists no versions"


def check_federation_version():
    status, _, body = fetch(FEDERATION + "/_matrix/federation/v1/version")
    assert status == 200, "GET /_matrix/federation/v1/version on the federation port answered %d" % status
    server = json.loads(body).get("server", {})
    assert server.get("name"), "/_matrix/federation/v1/version names no server"


def check_element_config():
    status, _, body = fetch(ELEMENT + "/config.json")
    assert status == 200, "GET Element Web /config.json answered %d" % status
    base = json.loads(body).get("default_server_config", {}).get("m.homeserver", {}).get("base_url")
    assert base == BASE_URL, "Element Web points at %r, expected %r" % (base, BASE_URL)


def check_cors_preflight():
    status, headers, _ = fetch(CLIENT + "/_matrix/client/versions", method="OPTIONS", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-Requested-With"})
    assert status in (200, 204), "CORS preflight answered %d" % status
    allowed = header(headers, "Access-Control-Allow-Origin")
    assert allowed in ("*", ORIGIN), "CORS preflight allows origin %r, not %r" % (allowed, ORIGIN)


CHECKS = [
    ("HAProxy /health", check_health),
    ("client API versions", check_client_versions),
    ("federation version", check_federation_version),
    ("CORS preflight", check_cors_preflight),
]
if ELEMENT:
    CHECKS.append(("Element Web config.json", check_element_config))


def main():
    failed = []
    for name, check in CHECKS:
        error = None
        for attempt in range(ATTEMPTS):
            try:
                check()
                error = None
                break
            except (AssertionError, OSError, ValueError) as e:
                error = str(e) or e.__class__.__name__
                if attempt + 1 < ATTEMPTS:
                    time.sleep(INTERVAL)
        if error is None:
            print("smoke test: %s: ok" % name)
        else:
            print("smoke test: %s: FAILED: %s" % (name, error), file=sys.stderr)
            failed.append(name)
    if failed:
        sys.exit("smoke test failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
