/**
 * The only allowed exceptions to the policy rules: rule id, object, and why. Anything not listed here that
 * breaks a rule fails validation.
 */
export interface PolicyException {
  rule: string;
  /** `Kind/name` of the object the exception covers. */
  object: string;
  reason: string;
}

export const policyExceptions: readonly PolicyException[] = [
  {
    rule: "pss-host-namespaces",
    object: "DaemonSet/coturn",
    reason: "A TURN relay allocates UDP ports from a range on the address clients reach; Services cannot publish port ranges and NAT breaks the relayed addresses, so coturn uses the node's network (apps/coturn/README.md).",
  },
  {
    rule: "pss-host-ports",
    object: "DaemonSet/coturn",
    reason: "With host networking the TURN listeners (3478/udp+tcp, 5349/tcp) are host ports by definition; declaring them lets the scheduler avoid port clashes.",
  },
];
