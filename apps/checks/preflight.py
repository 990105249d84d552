"""Phase 1 prerequisite check: PostgreSQL, Redis and MinIO must be reachable before Synapse starts.

Runs as an Argo CD Sync hook Job ahead of everything else. Retries for PREFLIGHT_TIMEOUT_SECONDS (bounded),
then fails naming each missing service, so the sync stops with a message instead of crash-looping pods.
"""
import json
import os
import socket
import sys
import time

# [{"name": "PostgreSQL", "host": "...", "port": 5432, "hint": "..."}, ...]
SERVICES = json.loads(os.environ["PREFLIGHT_SERVICES"])
TIMEOUT = float(os.environ.get("PREFLIGHT_TIMEOUT_SECONDS", "120"))
INTERVAL = float(os.environ.get("PREFLIGHT_INTERVAL_SECONDS", "5"))


def reachable(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            return None
    except OSError as e:
        return str(e)


def main():
    deadline = time.monotonic() + TIMEOUT
    attempt = 0
    while True:
        attempt += 1
        missing = []
        for s in SERVICES:
            error = reachable(s["host"], s["port"])
            if error is not None:
                missing.append((s, error))
        if not missing:
            for s in SERVICES:
                print("preflight: %s at %s:%s is reachable" % (s["name"], s["host"], s["port"]))
            return
        if time.monotonic() + INTERVAL > deadline or attempt >= 1000:
            break
        time.sleep(INTERVAL)
    for s, error in missing:
        print("preflight: %s at %s:%s is not reachable (%s). %s" % (s["name"], s["host"], s["port"], error, s["hint"]),
              file=sys.stderr)
    sys.exit("preflight: %d Phase 1 service(s) missing; deploy Phase 1 infrastructure first" % len(missing))


if __name__ == "__main__":
    main()
