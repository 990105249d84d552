/**
 * The kubernetes-models classes the components build, each imported from its own module: a group's index
 * (`kubernetes-models/v1`) loads every kind of the group with its compiled schema, which took most of the
 * build's start-up. Types (`IContainer`, …) are still imported with `import type`, which costs nothing.
 */
export { ConfigMap } from "kubernetes-models/v1/ConfigMap";
export { Service } from "kubernetes-models/v1/Service";
export { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
export { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
export { Deployment } from "kubernetes-models/apps/v1/Deployment";
export { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
export { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
export { Job } from "kubernetes-models/batch/v1/Job";
export { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
export { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
export { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
export { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
export { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
export { Certificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
export { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
export { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
export { AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject";
export { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";
export { ApplicationSet } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet";
export { SealedSecret } from "@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1/SealedSecret";
export { ExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret";
export { ExternalSecret as ExternalSecretV1beta1 } from "@kubernetes-models/external-secrets/external-secrets.io/v1beta1/ExternalSecret";
