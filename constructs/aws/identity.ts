import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
import type { IWorkloadIdentity } from "../core/interfaces";
import { type AwsContext, policyDocument, type PolicyStatement } from "./context";

/** The cluster's IRSA OIDC provider, as role trust policies need it. */
export interface OidcTrust {
  readonly providerArn: string;
  /** Issuer URL without `https://`, the prefix of the token condition keys. */
  readonly issuerHost: string;
}

export interface AwsServiceAccountRoleProps {
  readonly ctx: AwsContext;
  readonly oidc: OidcTrust;
  readonly roleName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** AWS managed policies (path after `policy/`) to attach. @default none */
  readonly managedPolicies?: readonly string[];
}

/**
 * An IAM role only one Kubernetes service account can assume (IRSA): the trust policy pins the
 * token's audience to STS and its subject to `system:serviceaccount:<namespace>:<name>`.
 */
export class AwsServiceAccountRole extends Construct {
  readonly role: IamRole;
  readonly namespace: string;
  readonly serviceAccount: string;

  constructor(scope: Construct, id: string, props: AwsServiceAccountRoleProps) {
    super(scope, id);
    const { ctx, oidc } = props;
    this.namespace = props.namespace;
    this.serviceAccount = props.serviceAccount;
    this.role = new IamRole(this, "Resource", {
      name: props.roleName,
      permissionsBoundary: ctx.permissionsBoundary,
      description: `${ctx.env.name}: assumed only by service account ${props.namespace}/${props.serviceAccount}`,
      maxSessionDuration: 3600,
      assumeRolePolicy: policyDocument({
        Effect: "Allow",
        Principal: { Federated: oidc.providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${oidc.issuerHost}:aud`]: "sts.amazonaws.com",
            [`${oidc.issuerHost}:sub`]: `system:serviceaccount:${props.namespace}:${props.serviceAccount}`,
          },
        },
      }),
    });
    for (const policy of props.managedPolicies ?? []) {
      new IamRolePolicyAttachment(this, `managed-${policy.split("/").pop()}`, { role: this.role.name, policyArn: ctx.managedPolicy(policy) });
    }
  }

  /** Adds an inline policy to the role; `name` must be unique per role. */
  allow(name: string, ...statements: PolicyStatement[]): void {
    new IamRolePolicy(this, `policy-${name}`, { role: this.role.id, name, policy: policyDocument(...statements) });
  }
}

/** The IAM role name of a workload's identity; the apps stack derives the same ARN from it. */
export function workloadRoleName(ctx: AwsContext, workload: WorkloadName): string {
  return ctx.name("app", workload);
}

/** The cloud identity of one app: its service account, its role, nothing shared with other apps. */
export class AwsWorkloadIdentity extends AwsServiceAccountRole implements IWorkloadIdentity {
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: AwsContext, oidc: OidcTrust, readonly workload: WorkloadName) {
    const needs = WORKLOAD_ACCOUNTS[workload];
    super(scope, id, { ctx, oidc, roleName: workloadRoleName(ctx, workload), namespace: needs.namespace, serviceAccount: needs.serviceAccount });
    this.serviceAccountAnnotations = { "eks.amazonaws.com/role-arn": this.role.arn };
  }
}
