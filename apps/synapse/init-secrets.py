"""Create the missing keys of the deployment's Secrets in-cluster, so no secret value ever lives in git.

Runs as an Argo CD Sync hook Job in the Synapse image (which ships Python). It never overwrites a key that
exists: re-running it is safe, and keys supplied by hand or by an operator are kept. It prints key names,
never values. Talks to the Kubernetes API with the pod's service account; K8S_API_URL and SA_DIR exist only
so a test can point it at a stub API on loopback.
"""
import base64
import json
import os
import secrets
import ssl
import sys
import urllib.error
import urllib.request

SA_DIR = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
NAMESPACE = os.environ["SECRET_NAMESPACE"]
# {"<secret name>": ["<key>", ...], ...}
SECRETS = json.loads(os.environ["SECRETS"])
SIGNING_KEY = os.environ.get("SIGNING_KEY_NAME", "signing.key")


def api_url():
    if "K8S_API_URL" in os.environ:
        return os.environ["K8S_API_URL"].rstrip("/")
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = "[" + host + "]"
    return "https://" + host + ":" + port


def request(method, path, body=None, content_type="application/json"):
    with open(os.path.join(SA_DIR, "token")) as f:
        token = f.read().strip()
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api_url() + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", content_type)
    context = None
    ca = os.path.join(SA_DIR, "ca.crt")
    if os.path.exists(ca):
        context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def generate(key):
    if key == SIGNING_KEY:
        # Synapse's signing key file: "ed25519 <key id> <unpadded base64 of the 32-byte seed>".
        key_id = "a_" + secrets.token_hex(2)
        seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        return "ed25519 " + key_id + " " + seed + "\n"
    return secrets.token_urlsafe(48)


def encode(value):
    return base64.b64encode(value.encode()).decode()


def ensure(name, keys):
    path = "/api/v1/namespaces/" + NAMESPACE + "/secrets"
    status, existing = request("GET", path + "/" + name)
    if status == 404:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "labels": {"app.kubernetes.io/managed-by": "matrix-gitops-init-secrets"}},
            "type": "Opaque",
            "data": {k: encode(generate(k)) for k in keys},
        }
        status, _ = request("POST", path, body)
        if status not in (200, 201):
            sys.exit("init-secrets: creating Secret %s/%s failed with HTTP %d" % (NAMESPACE, name, status))
        print("init-secrets: created Secret %s/%s with keys %s" % (NAMESPACE, name, ", ".join(keys)))
        return
    if status != 200:
        sys.exit("init-secrets: reading Secret %s/%s failed with HTTP %d" % (NAMESPACE, name, status))
    present = set((existing.get("data") or {}).keys())
    missing = [k for k in keys if k not in present]
    if not missing:
        print("init-secrets: Secret %s/%s already has every key" % (NAMESPACE, name))
        return
    patch = {"data": {k: encode(generate(k)) for k in missing}}
    status, _ = request("PATCH", path + "/" + name, patch, "application/merge-patch+json")
    if status != 200:
        sys.exit("init-secrets: patching Secret %s/%s failed with HTTP %d" % (NAMESPACE, name, status))
    print("init-secrets: added keys %s to Secret %s/%s" % (", ".join(missing), NAMESPACE, name))


def main():
    for name in sorted(SECRETS):
        ensure(name, SECRETS[name])


if __name__ == "__main__":
    main()
