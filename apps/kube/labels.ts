/** Recommended Kubernetes labels (app.kubernetes.io/*). Selectors use only the stable subset. */
export interface AppIdentity {
  /** The application, e.g. `synapse`, `haproxy`. */
  name: string;
  /** The role inside it, e.g. `main`, `synchrotron`. */
  component: string;
}

export const partOf = "matrix";
export const managedBy = "matrix-gitops";

export function selectorLabels(id: AppIdentity): Record<string, string> {
  return { "app.kubernetes.io/name": id.name, "app.kubernetes.io/component": id.component };
}

export function objectLabels(id: AppIdentity, version?: string): Record<string, string> {
  return {
    ...selectorLabels(id),
    "app.kubernetes.io/part-of": partOf,
    "app.kubernetes.io/managed-by": managedBy,
    ...(version ? { "app.kubernetes.io/version": version } : {}),
  };
}

/** The tag of a pinned image (`…/synapse:v1.157.0` → `v1.157.0`), for the version label. */
export function imageVersion(image: string): string {
  const tag = image.split("@")[0]?.split("/").pop()?.split(":")[1];
  return tag ?? "pinned-by-digest";
}
