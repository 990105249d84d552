/**
 * The one seam between a cluster and the lab, for every file and command a pod gets: only addresses and
 * file paths change. Paths under a volume's mount path move to that volume's lab directory (as the kubelet
 * mounts them); cluster names resolve to the lab's loopback addresses (as cluster DNS does); listeners that
 * bind every address bind the pod's own address instead. Ports stay as they are in the cluster.
 */
import { isMap, isScalar, isSeq, parseDocument, visit, type Node } from "yaml";

export interface Mount {
  /** Path inside the container, e.g. `/config`. */
  mountPath: string;
  /** Where the lab keeps that volume. */
  hostPath: string;
}

export interface PodRuntime {
  /** The pod's own loopback address. */
  address: string;
  mounts: Mount[];
  /** Cluster DNS: a name to a loopback address, undefined when the name does not exist. */
  resolve(name: string): string | undefined;
}

const anyAddress = new Set(["0.0.0.0", "::", "*", ""]);

/** `/config/homeserver.yaml` → `<lab>/pods/synapse-main-0/config/homeserver.yaml`; other strings unchanged. */
export function mapPath(value: string, mounts: Mount[]): string {
  const sorted = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const m of sorted) {
    if (value === m.mountPath) return m.hostPath;
    if (value.startsWith(`${m.mountPath}/`)) return m.hostPath + value.slice(m.mountPath.length);
  }
  return value;
}

/** Every path token inside a command line (`sh -c "... > /tmp/x && exec python ... /config/a.yaml"`). */
export function mapPathsInText(text: string, mounts: Mount[]): string {
  return text.replace(/(^|[\s"'=>])(\/[^\s"';&|]*)/g, (_all, lead: string, path: string) => lead + mapPath(path, mounts));
}

function mapUrlHost(url: string, runtime: PodRuntime): string {
  try {
    const u = new URL(url);
    const address = runtime.resolve(u.hostname);
    if (address) u.hostname = address;
    return u.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
  } catch {
    return url;
  }
}

/**
 * A Synapse configuration file for one pod. Keys that hold addresses: `host` (instance_map entries, the
 * database's libpq args, redis), `endpoint_url` (S3 storage provider), `bind_addresses` (listeners).
 */
export function synapseFileToLoopback(text: string, runtime: PodRuntime): string {
  const doc = parseDocument(text);
  visit(doc, {
    Pair(_key, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = pair.value as Node | null;
      if (key === "bind_addresses" && isSeq(value)) {
        for (const item of value.items) if (isScalar(item) && anyAddress.has(String(item.value))) item.value = runtime.address;
        return undefined;
      }
      if (!isScalar(value) || typeof value.value !== "string") return undefined;
      if (key === "host") value.value = runtime.resolve(value.value) ?? value.value;
      else if (key === "endpoint_url") value.value = mapUrlHost(value.value, runtime);
      else value.value = mapPath(value.value, runtime.mounts);
      return undefined;
    },
    Seq(_key, seq) {
      for (const item of seq.items) if (isScalar(item) && typeof item.value === "string") item.value = mapPath(item.value, runtime.mounts);
    },
  });
  if (!isMap(doc.contents)) return text;
  return doc.toString({ lineWidth: 0 });
}

/**
 * An environment variable's literal value in the lab: paths follow the mounts (`PYTHONPATH=/modules`), a URL's
 * host and JSON `host` fields resolve like cluster DNS (`http://haproxy-client.matrix.svc...:8008`, the
 * preflight's service list), and JSON strings that are paths follow the mounts. Other values are unchanged.
 */
export function envValueToLoopback(value: string, runtime: PodRuntime): string {
  if (/^https?:\/\//.test(value)) return mapUrlHost(value, runtime);
  if (/^[[{]/.test(value)) {
    try {
      const walk = (v: unknown, key?: string): unknown => {
        if (Array.isArray(v)) return v.map((x) => walk(x));
        if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
        if (typeof v === "string" && key === "host") return runtime.resolve(v) ?? v;
        if (typeof v === "string" && /^https?:\/\//.test(v)) return mapUrlHost(v, runtime);
        if (typeof v === "string" && v.startsWith("/")) return mapPath(v, runtime.mounts);
        return v;
      };
      return JSON.stringify(walk(JSON.parse(value)));
    } catch {
      return value;
    }
  }
  return value.split(":").map((part) => mapPath(part, runtime.mounts)).join(":");
}

export interface HaproxyLoopback {
  /** The lab's DNS server, in place of the pod's resolv.conf. */
  nameserver: string;
  /** Global maxconn is capped where this machine's descriptor limit is below a pod's. */
  maxconnCap: number;
}

/**
 * haproxy.cfg for the lab pod: `bind :<port>` and `bind 127.0.0.1:<port>` (the admin listener) bind the pod's address, `parse-resolv-conf` becomes the lab's
 * DNS server, paths follow the mounts, and a global maxconn above the descriptor limit is capped.
 */
export function haproxyCfgToLoopback(text: string, runtime: PodRuntime, lab: HaproxyLoopback): string {
  let section = "";
  return text.split("\n").map((line) => {
    const trimmed = line.trim();
    if (/^\S/.test(line)) section = trimmed.split(/\s+/)[0] ?? "";
    // A pod's loopback is its own in a cluster; in the lab the pod's own address stands for it.
    if (trimmed.startsWith("bind ")) return line.replace(/bind (\S*):(\d+)/, (all, host: string, port: string) => (anyAddress.has(host) || host === "127.0.0.1" ? `bind ${runtime.address}:${port}` : all));
    if (trimmed === "parse-resolv-conf") return line.replace("parse-resolv-conf", `nameserver lab ${lab.nameserver}`);
    if (section === "global" && /^maxconn \d+$/.test(trimmed)) {
      const n = Number(trimmed.split(" ")[1]);
      return n > lab.maxconnCap ? line.replace(String(n), String(lab.maxconnCap)) : line;
    }
    return line.replace(/(\s)(\/[^\s"]+)/g, (_all, lead: string, path: string) => lead + mapPath(path, runtime.mounts));
  }).join("\n");
}
