/** Composition in one place: every component the repository deploys, in the order base/ lists them. */
import type { Component } from "./kube/component.ts";
import { checks } from "./checks/index.ts";
import { coturn } from "./coturn/index.ts";
import { elementWeb } from "./element-web/index.ts";
import { haproxy } from "./haproxy/index.ts";
import { livekit } from "./livekit/index.ts";
import { managedSecrets } from "./managed-secrets/index.ts";
import { monitoring } from "./monitoring/index.ts";
import { networkPoliciesComponent } from "./network-policies/index.ts";
import { synapseMain } from "./synapse-main/index.ts";
import { synapseWorkers } from "./synapse-workers/index.ts";

export const components: readonly Component[] = [managedSecrets, networkPoliciesComponent, checks, synapseMain, synapseWorkers, haproxy, elementWeb, livekit, coturn, monitoring];
