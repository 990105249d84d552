"""Phase 1 check: PostgreSQL, Redis and the S3 store must be usable by Synapse before any Synapse pod starts.

Runs as an Argo CD Sync hook Job ahead of everything else, with the credentials the Synapse pods use, and
checks what Synapse needs of each service, not only that a port is open:
- PostgreSQL: login; server version at least Synapse's minimum; UTF8 encoding with C collation and ctype
  (Synapse refuses any other); the role may create tables; max_connections at least the tier's budget.
- Redis: AUTH with the pods' password (or none) and PING.
- S3: the bucket exists and accepts a put and a delete of a probe object with the media credentials.
Retries for PREFLIGHT_TIMEOUT_SECONDS (bounded: Phase 1 may still be starting), then fails naming each
service, what was found and the fix, so the sync stops with a message instead of crash-looping pods.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse
import uuid

POSTGRES = json.loads(os.environ["PREFLIGHT_POSTGRES"])
REDIS = json.loads(os.environ["PREFLIGHT_REDIS"])
S3 = json.loads(os.environ["PREFLIGHT_S3"])
MIN_VERSION = int(os.environ["PREFLIGHT_POSTGRES_MIN_VERSION"])
MIN_CONNECTIONS = int(os.environ["PREFLIGHT_POSTGRES_MIN_CONNECTIONS"])
TIMEOUT = float(os.environ.get("PREFLIGHT_TIMEOUT_SECONDS", "120"))
INTERVAL = float(os.environ.get("PREFLIGHT_INTERVAL_SECONDS", "5"))


class Failed(Exception):
    """A check failed: `found` is what the service answered, `fix` what to change."""

    def __init__(self, found, fix):
        super().__init__(found)
        self.found = found
        self.fix = fix


def version_text(num):
    return "%d.%d" % (num // 10000, num % 10000) if num >= 100000 else "%d.%d.%d" % (num // 10000, num // 100 % 100, num % 100)


def check_postgres():
    import psycopg2  # in the Synapse image, which runs this script

    p = POSTGRES
    where = "site.postgres and the Secret %s (key %s)" % (p["passwordSecret"]["name"], p["passwordSecret"]["key"])
    try:
        # The password comes from PGPASSWORD, as in the Synapse pods.
        conn = psycopg2.connect(host=p["host"], port=p["port"], dbname=p["database"], user=p["user"], connect_timeout=5)
    except psycopg2.OperationalError as e:
        text = " ".join(str(e).split())
        if "password authentication failed" in text or "no password supplied" in text:
            raise Failed("login as %s refused (%s)" % (p["user"], text),
                         "the password in %s must be the role's password" % where)
        if "does not exist" in text:
            raise Failed(text, "create the role and the database (owner %s, ENCODING 'UTF8', LC_COLLATE 'C', LC_CTYPE 'C', "
                               "TEMPLATE template0), or correct %s" % (p["user"], where))
        raise ConnectionError(text)
    try:
        conn.autocommit = True
        cur = conn.cursor()
        if conn.server_version < MIN_VERSION:
            raise Failed("server version %s" % version_text(conn.server_version),
                         "Synapse needs PostgreSQL %s or newer: upgrade the cluster" % version_text(MIN_VERSION))
        cur.execute("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()")
        encoding, collate, ctype = cur.fetchone()
        if (encoding, collate, ctype) != ("UTF8", "C", "C"):
            raise Failed("database %s has encoding %s, collation %s and ctype %s" % (p["database"], encoding, collate, ctype),
                         "Synapse needs UTF8 with C collation and ctype: recreate the database with ENCODING 'UTF8' LC_COLLATE 'C' "
                         "LC_CTYPE 'C' TEMPLATE template0 (CloudNativePG: spec.bootstrap.initdb encoding, localeCollate, localeCType)")
        cur.execute("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
        if not cur.fetchone()[0]:
            raise Failed("role %s may not create tables in schema public" % p["user"],
                         "make the role the database's owner (CloudNativePG does) or GRANT CREATE ON SCHEMA public TO %s" % p["user"])
        cur.execute("SHOW max_connections")
        max_connections = int(cur.fetchone()[0])
        if max_connections < MIN_CONNECTIONS:
            raise Failed("max_connections is %d" % max_connections,
                         "this tier's Synapse processes and headroom need %d (README, Size tiers): set max_connections to at least "
                         "that (CloudNativePG: spec.postgresql.parameters.max_connections)" % MIN_CONNECTIONS)
        return "PostgreSQL %s, UTF8 with C collation and ctype, max_connections %d (this tier needs %d)" % (
            version_text(conn.server_version), max_connections, MIN_CONNECTIONS)
    finally:
        conn.close()


def resp_command(sock, *args):
    """Sends one Redis command (RESP array of bulk strings) and returns the first reply line."""
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    sock.sendall(payload)
    reply = b""
    while not reply.endswith(b"\r\n") and len(reply) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("Redis closed the connection")
        reply += chunk
    return reply.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def check_redis():
    r = REDIS
    password = None
    if r.get("passwordFile"):
        with open(r["passwordFile"], "rb") as f:
            password = f.read().strip()
    with socket.create_connection((r["host"], int(r["port"])), timeout=5) as sock:
        if password is not None:
            reply = resp_command(sock, b"AUTH", password)
            if reply != "+OK":
                if "without any password configured" in reply:
                    raise Failed("AUTH refused: %s" % reply, "Redis has no password while the site gives one: set requirepass on "
                                 "Redis to the password in site.redis.passwordSecret, or set site.redis.passwordSecret to null")
                raise Failed("AUTH refused: %s" % reply,
                             "the password in site.redis.passwordSecret must be Redis's requirepass")
        reply = resp_command(sock, b"PING")
        if reply != "+PONG":
            if reply.startswith("-NOAUTH"):
                raise Failed("PING answered %s" % reply, "Redis needs a password: set site.redis.passwordSecret to its Secret")
            raise Failed("PING answered %s" % reply, "check that %s:%s is a Redis server" % (r["host"], r["port"]))
    return "AUTH %s and PING answered" % ("accepted" if password is not None else "not needed")


def s3_request(method, key, query=""):
    """One SigV4-signed request (path-style, as the storage provider's endpoint_url gives) to the bucket."""
    endpoint = urllib.parse.urlsplit(S3["endpoint"])
    access_key = os.environ["AWS_ACCESS_KEY_ID"]
    secret_key = os.environ["AWS_SECRET_ACCESS_KEY"]
    body = b"matrix-gitops preflight probe\n" if method == "PUT" else b""
    path = "/%s/%s" % (urllib.parse.quote(S3["bucket"]), urllib.parse.quote(key)) if key else "/%s" % urllib.parse.quote(S3["bucket"])
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": endpoint.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, query, "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)), signed, payload_hash])
    scope = "%s/%s/s3/aws4_request" % (day, S3["region"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key_bytes = ("AWS4" + secret_key).encode()
    for part in (day, S3["region"], "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (access_key, scope, signed, signature)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    conn_class = http.client.HTTPSConnection if endpoint.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(endpoint.hostname, port, timeout=10)
    try:
        conn.request(method, path + ("?" + query if query else ""), body=body or None, headers=headers)
        response = conn.getresponse()
        text = response.read(4096).decode("utf-8", "replace")
        return response.status, text
    finally:
        conn.close()


CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "UserNotFound")


def s3_error(status, text):
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else "no error code"
    return "HTTP %d (%s)" % (status, code)


def check_s3():
    bucket = S3["bucket"]
    creds = "the Secret %s" % S3["credentialsSecret"]
    # A listing of at most one key: its error code tells a missing bucket from refused credentials.
    status, text = s3_request("GET", None, "list-type=2&max-keys=1")
    code = s3_error(status, text)
    if "(NoSuchBucket)" in code:
        raise Failed("bucket %s does not exist" % bucket, "create the bucket (site.s3.bucket), or correct site.s3.bucket")
    # S3 and MinIO answer an unknown key with 403 InvalidAccessKeyId; some gateways with 404 and their own code.
    if status in (401, 403) or any(c in code for c in CREDENTIAL_ERRORS):
        raise Failed("the media credentials were refused: %s" % code,
                     "the access key in %s must be valid for bucket %s" % (creds, bucket))
    if status >= 300:
        raise Failed("listing bucket %s answered %s" % (bucket, code), "check site.s3.endpoint")
    probe = "matrix-gitops-preflight/%s" % uuid.uuid4().hex
    status, text = s3_request("PUT", probe)
    if status >= 300:
        raise Failed("putting a probe object was refused: %s" % s3_error(status, text),
                     "the access key in %s needs s3:PutObject and s3:DeleteObject on bucket %s" % (creds, bucket))
    status, text = s3_request("DELETE", probe)
    if status >= 300:
        raise Failed("deleting the probe object %s was refused: %s" % (probe, s3_error(status, text)),
                     "the access key in %s needs s3:DeleteObject on bucket %s (delete the probe by hand)" % (creds, bucket))
    return "bucket %s exists, a probe object was put and deleted" % bucket


def address(url_or_host, port=None):
    if port is not None:
        return "%s:%s" % (url_or_host, port)
    u = urllib.parse.urlsplit(url_or_host)
    return "%s:%s" % (u.hostname, u.port or (443 if u.scheme == "https" else 80))


CHECKS = [
    ("PostgreSQL", address(POSTGRES["host"], POSTGRES["port"]), check_postgres),
    ("Redis", address(REDIS["host"], REDIS["port"]), check_redis),
    ("MinIO", address(S3["endpoint"]), check_s3),
]


def run_once():
    results = []
    for name, where, check in CHECKS:
        try:
            results.append((name, where, True, check()))
        except Failed as e:
            results.append((name, where, False, "%s. Fix: %s" % (e.found, e.fix)))
        except (OSError, ConnectionError) as e:
            results.append((name, where, False, "is not reachable (%s). Deploy Phase 1 first, or correct the address in the site "
                                                 "configuration" % " ".join(str(e).split())))
    return results


def main():
    deadline = time.monotonic() + TIMEOUT
    for attempt in range(1, 1001):
        results = run_once()
        if all(ok for _, _, ok, _ in results) or time.monotonic() + INTERVAL > deadline:
            break
        time.sleep(INTERVAL)
    failed = 0
    for name, where, ok, text in results:
        if ok:
            print("preflight: %s at %s: ok: %s" % (name, where, text))
        else:
            failed += 1
            print("preflight: %s at %s: FAILED: %s" % (name, where, text), file=sys.stderr)
    if failed:
        sys.exit("preflight: %d of %d Phase 1 check(s) failed after %d attempt(s); Synapse would not start" % (failed, len(results), attempt))


if __name__ == "__main__":
    main()
