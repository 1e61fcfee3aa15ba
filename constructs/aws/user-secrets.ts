import type { IWorkloadIdentity } from "../core/interfaces";
import type { AwsContext } from "./context";
import { AwsServiceAccountRole } from "./identity";

/**
 * The ARN pattern of a secret the user creates in Secrets Manager under `name`. Secrets Manager
 * appends `-` and six random characters to every secret's ARN, so `<name>-??????` matches that
 * secret alone, and matches it before it exists (the grant needs no ordering): a longer name that
 * starts with `name` has more than six characters after it, and `?` never matches nothing (AWS IAM
 * User Guide, "Amazon Resource Names (ARNs)": `?` matches exactly one character; Secrets Manager
 * User Guide, "Permissions to AWS Secrets Manager secrets": "use a wildcard ...-?????? to match the
 * six random characters"). Spec secret names have no `!`, so no pattern reaches an RDS-managed
 * secret (`rds!db-...`).
 */
export function userSecretArnPattern(ctx: AwsContext, name: string): string {
  return `arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${name}-??????`;
}

/**
 * Lets the identity read the named user secrets and nothing else. The user creates them with
 * Secrets Manager's default key (`aws/secretsmanager`), whose key policy lets any principal of the
 * account decrypt through Secrets Manager, so no KMS grant is needed (a secret under a customer
 * key would need that key's policy to admit this role: README, "Alerts").
 */
export function grantUserSecretsRead(ctx: AwsContext, identity: IWorkloadIdentity, names: readonly string[]): void {
  if (!(identity instanceof AwsServiceAccountRole)) throw new TypeError(`user secrets can only be granted to an AWS workload identity, not ${identity.workload}'s`);
  if (names.length === 0) return;
  identity.allow("user-secrets-read", {
    Sid: "ReadNamedSecrets",
    Effect: "Allow",
    Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
    Resource: [...new Set(names)].map((name) => userSecretArnPattern(ctx, name)),
  });
}
