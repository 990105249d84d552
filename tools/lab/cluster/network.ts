/**
 * The lab's stand-in for cluster networking: every pod and Phase 1 service gets its own loopback address
 * (127.A.B.x, a fresh /24 per lab so two labs never meet), and keeps the ports it has in the cluster.
 * Names resolve the way cluster DNS resolves them: `<svc>`, `<svc>.<ns>.svc[.<cluster domain>]`, and for
 * StatefulSet pods `<pod>.<svc>.<ns>.svc[...]`; a headless Service name resolves to all of its pods.
 */
import { randomInt } from "node:crypto";

export class LabNetwork {
  readonly prefix: string;
  private next = 10;
  private readonly records = new Map<string, string[]>();

  readonly namespace: string;
  readonly clusterDomain: string;

  constructor(namespace: string, clusterDomain: string) {
    this.namespace = namespace;
    this.clusterDomain = clusterDomain;
    this.prefix = `127.${randomInt(20, 250)}.${randomInt(1, 250)}`;
  }

  /** A new loopback address for one pod or service. */
  allocate(): string {
    if (this.next > 250) throw new Error("lab network: more than 240 addresses requested");
    return `${this.prefix}.${this.next++}`;
  }

  private add(name: string, address: string): void {
    const list = this.records.get(name) ?? [];
    if (!list.includes(address)) list.push(address);
    this.records.set(name, list);
  }

  private forms(name: string): string[] {
    const ns = this.namespace;
    return [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.${this.clusterDomain}`];
  }

  /** A Service (ClusterIP or headless) answering at `address`. */
  addService(service: string, address: string): void {
    for (const n of this.forms(service)) this.add(n, address);
  }

  /** A pod behind a headless Service: `<pod>.<service>` resolves to it, `<service>` to all its pods. */
  addPod(pod: string, service: string | undefined, address: string): void {
    if (!service) return;
    this.addService(service, address);
    for (const n of this.forms(`${pod}.${service}`)) this.add(n, address);
  }

  removePod(pod: string, service: string | undefined, address: string): void {
    if (!service) return;
    for (const n of [...this.forms(service), ...this.forms(`${pod}.${service}`)]) {
      const list = (this.records.get(n) ?? []).filter((a) => a !== address);
      if (list.length > 0) this.records.set(n, list);
      else this.records.delete(n);
    }
  }

  /** The first address of a name, as a client's resolver would give it; undefined for NXDOMAIN. */
  resolve(name: string): string | undefined {
    return this.records.get(name)?.[0];
  }

  /** `/etc/hosts`-style lines for the lab's DNS server (every name, every address). */
  hostsFile(): string {
    const lines: string[] = [];
    for (const [name, addresses] of [...this.records].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!name.includes(".")) continue;
      for (const a of addresses) lines.push(`${a} ${name}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
