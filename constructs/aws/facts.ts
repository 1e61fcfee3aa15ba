import { homeOf, type Environment } from "../core/spec";
import { planDatabaseSubnets, planSubnets } from "../core/network-plan";

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

/**
 * The ranges of the subnets RDS lives in for a cluster on another cloud (`networks.aws.cidr`): on
 * the home the cluster moved away from, the database subnets of the network it had (`AwsNetwork`,
 * kept); else a database-only VPC's quarters (`AwsDatabaseNetwork`). Where the VPC puts them and
 * what the cluster's NetworkPolicies admit, from one place.
 */
export function remoteDatabaseSubnets(env: Environment): string[] {
  const cidr = env.networks?.aws?.cidr;
  if (cidr === undefined) throw new Error(`${env.name}: databases on AWS for a cluster on another cloud need networks.aws (the spec check should have caught this)`);
  return homeOf(env) === "aws" ? planSubnets(cidr, env.network.zones).map((zone) => zone.database) : planDatabaseSubnets(cidr, env.network.zones);
}
