/**
 * What Argo CD deploys where, read from the generated ApplicationSet: one entry per generator element with
 * the tier it runs and the repository and revision it pulls. `overlays:diff` compares these, so switching a
 * target from ccu-1k to ccu-20k or pointing it at another revision shows as such, not as "no changes".
 */
import type { KubeObject } from "../render/rendered.ts";

export interface Deployment {
  target: string;
  server: string;
  tier: string;
  repoURL: string;
  targetRevision: string;
}

interface AppSetSpec {
  generators?: { list?: { elements?: Record<string, string>[] } }[];
  template?: { spec?: { source?: { repoURL?: string; targetRevision?: string } } };
}

export function deploymentsOf(objects: KubeObject[]): Deployment[] {
  const out: Deployment[] = [];
  for (const o of objects.filter((x) => x.kind === "ApplicationSet")) {
    const spec = o.spec as AppSetSpec;
    const source = spec.template?.spec?.source ?? {};
    for (const e of (spec.generators ?? []).flatMap((g) => g.list?.elements ?? [])) {
      out.push({ target: e.name ?? "?", server: e.server ?? "?", tier: e.tier ?? "?", repoURL: source.repoURL ?? "?", targetRevision: source.targetRevision ?? "?" });
    }
  }
  return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

const describe = (d: Deployment) => `${d.tier} from ${d.repoURL}@${d.targetRevision} to ${d.server}`;

/** One line per target that was added, removed or changed, with each changed field before → after. */
export function formatDeploymentChanges(before: Deployment[], after: Deployment[]): string {
  const lines: string[] = [];
  const b = new Map(before.map((d) => [d.target, d]));
  const a = new Map(after.map((d) => [d.target, d]));
  for (const [name, d] of a) {
    const old = b.get(name);
    if (!old) {
      lines.push(`+ target ${name}: ${describe(d)}`);
      continue;
    }
    const fields = (["tier", "server", "repoURL", "targetRevision"] as const).filter((f) => old[f] !== d[f]);
    if (fields.length > 0) lines.push(`~ target ${name}: ${fields.map((f) => `${f} ${old[f]} → ${d[f]}`).join(", ")}`);
  }
  for (const [name, d] of b) if (!a.has(name)) lines.push(`- target ${name}: ${describe(d)}`);
  return [`### Argo CD targets: ${lines.length} change(s)`, ...(lines.length > 0 ? lines : ["(no changes)"])].join("\n");
}
