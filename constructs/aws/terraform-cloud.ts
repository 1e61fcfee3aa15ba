import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import type { ITerraformCloudTrust, TerraformCloudTarget } from "../core/interfaces";
import { type AwsContext, policyDocument } from "./context";

const TFC_HOST = "app.terraform.io";
/** The audience Terraform Cloud puts in its AWS workload identity tokens by default. */
const TFC_AUDIENCE = "aws.workload.identity";

/** The role Terraform Cloud runs of an environment assume; deterministic so it can be named before it exists. */
export function terraformCloudRoleName(ctx: AwsContext): string {
  return ctx.name("terraform-cloud");
}

/**
 * Terraform Cloud dynamic credentials on AWS: an IAM OIDC provider for app.terraform.io and one
 * role that only runs of this environment's workspaces (organization, project and workspace
 * pinned in the token's subject; any run phase) can assume, for at most an hour. The role is an
 * administrator of the account: the stacks it applies create IAM roles, KMS keys and clusters.
 * Narrow it with a permissions boundary in accounts shared with other systems.
 */
export class AwsTerraformCloudTrust extends Construct implements ITerraformCloudTrust {
  readonly role: IamRole;
  readonly workspaceVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: AwsContext, target: TerraformCloudTarget) {
    super(scope, id);
    const provider = new IamOpenidConnectProvider(this, "oidc-provider", {
      url: `https://${TFC_HOST}`,
      clientIdList: [TFC_AUDIENCE],
    });
    this.role = new IamRole(this, "Resource", {
      name: terraformCloudRoleName(ctx),
      description: `${ctx.env.name}: Terraform Cloud runs of ${target.workspaces.join(", ")}`,
      maxSessionDuration: 3600,
      assumeRolePolicy: policyDocument({
        Effect: "Allow",
        Principal: { Federated: provider.arn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: { [`${TFC_HOST}:aud`]: TFC_AUDIENCE },
          StringLike: {
            [`${TFC_HOST}:sub`]: target.workspaces.map(
              (workspace) => `organization:${target.organization}:project:${target.project}:workspace:${workspace}:run_phase:*`,
            ),
          },
        },
      }),
    });
    new IamRolePolicyAttachment(this, "administrator", { role: this.role.name, policyArn: ctx.managedPolicy("AdministratorAccess") });
    this.workspaceVariables = { TFC_AWS_PROVIDER_AUTH: "true", TFC_AWS_RUN_ROLE_ARN: this.role.arn };
  }
}
