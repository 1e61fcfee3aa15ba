import type { Environment } from "../core/spec";

/**
 * What the AWS spec checks (spec-problems.ts) share with the AWS constructs: constants and pure
 * functions only, no construct and no provider binding, so that checking every environment's
 * spec loads none of @cdktf/provider-aws (constructs/platform.ts loads the constructs only when
 * an AWS environment is built).
 */

/** The node image of every node group: Amazon Linux 2023 on x86_64 (the spec refuses Graviton types). */
export const EKS_NODE_AMI_TYPE = "AL2023_x86_64_STANDARD";

/** Whether the environment has a trail of its own: none when an organization trail records the account. */
export function ownsAuditTrail(env: Environment): boolean {
  return env.accounts.aws?.organizationTrail !== true;
}
