import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { identitySubjects, serviceAccountSubject, WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
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
  /**
   * Every subject that may assume the role, when more than the one service account (an app's
   * identity trusting its untrusted account too, `identitySubjects`). Exact names, never a pattern.
   * @default `system:serviceaccount:<namespace>:<serviceAccount>` alone
   */
  readonly subjects?: readonly string[];
  /** AWS managed policies (path after `policy/`) to attach. @default none */
  readonly managedPolicies?: readonly string[];
}

/**
 * An IAM role only the named Kubernetes service accounts can assume (IRSA): the trust policy pins
 * the token's audience to STS and its subject to `system:serviceaccount:<namespace>:<name>` with
 * `StringEquals` (one value, or the list of `subjects`: IAM matches a condition key against a
 * list of values as OR, IAM User Guide "Creating a condition with multiple keys or values").
 * The trust policy is `assume_role_policy`, which the AWS provider updates in place
 * (scripts/provider-rules/aws-5.100.0.json: aws_iam_role replaces only on name, name_prefix, path).
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
    const subjects = props.subjects ?? [serviceAccountSubject(props.namespace, props.serviceAccount)];
    if (subjects.length === 0 || subjects.some((subject) => /[*?]/.test(subject))) throw new Error(`${props.roleName}: IRSA trust needs exact service account subjects, given ${JSON.stringify(subjects)}`);
    this.role = new IamRole(this, "Resource", {
      name: props.roleName,
      permissionsBoundary: ctx.permissionsBoundary,
      // Unchanged for a single subject: the description of existing roles stays as it was.
      description:
        subjects.length === 1
          ? `${ctx.env.name}: assumed only by service account ${props.namespace}/${props.serviceAccount}`
          : `${ctx.env.name}: assumed only by service accounts ${subjects.map((subject) => subject.replace(/^system:serviceaccount:/, "").replace(":", "/")).join(", ")}`,
      maxSessionDuration: 3600,
      assumeRolePolicy: policyDocument({
        Effect: "Allow",
        Principal: { Federated: oidc.providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${oidc.issuerHost}:aud`]: "sts.amazonaws.com",
            [`${oidc.issuerHost}:sub`]: subjects.length === 1 ? subjects[0] : [...subjects],
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

/**
 * The cloud identity of one app: its role, assumed by its service account (and its untrusted
 * account where that needs the bucket, `identitySubjects`), nothing shared with other apps.
 */
export class AwsWorkloadIdentity extends AwsServiceAccountRole implements IWorkloadIdentity {
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: AwsContext, oidc: OidcTrust, readonly workload: WorkloadName) {
    const needs = WORKLOAD_ACCOUNTS[workload];
    super(scope, id, {
      ctx,
      oidc,
      roleName: workloadRoleName(ctx, workload),
      namespace: needs.namespace,
      serviceAccount: needs.serviceAccount,
      subjects: identitySubjects(workload, ctx.env.cloud),
    });
    this.serviceAccountAnnotations = { "eks.amazonaws.com/role-arn": this.role.arn };
  }
}
