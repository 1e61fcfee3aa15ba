import { Lazy, TerraformResource, TerraformStack } from "cdktn";
import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { ITerraformCloudTrust, TerraformCloudTarget } from "../core/interfaces";
import { type AwsContext, policyDocument, type PolicyStatement } from "./context";

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
 * pinned in the token's subject; any run phase) can assume, for at most an hour.
 *
 * The role holds what the stacks it applies use, and no more IAM than the delegation pattern of
 * permissions boundaries allows (IAM User Guide, "Permissions boundaries for IAM entities",
 * "Delegating responsibility to others using permissions boundaries"; the condition key
 * `iam:PermissionsBoundary` of the Service Authorization Reference, "Actions, resources, and
 * condition keys for AWS Identity and Access Management"):
 * - the services of the resource types the stacks create, at the service level (`ec2:*`, `eks:*`,
 *   ...: kept maintainable; the blast radius that matters is IAM, constrained below);
 * - the IAM roles the stacks create, by exact ARN (see `runRolePolicy`), created and given
 *   policies only with the environment's workload boundary (boundary.ts) as their permissions
 *   boundary, so no role it creates can do more than that boundary, and passed only to the
 *   services the stacks hand them to (`PASSED_TO_SERVICES`);
 * - never: changing or deleting the boundary policy, removing a boundary from a role, changing
 *   itself or its own trust anchor, creating users, groups, access keys or passwords.
 * The role, its policy, its OIDC provider and the boundary are the bootstrapper's (README,
 * "Bootstrap, once"): a run that changes them fails, and the bootstrapper applies that change.
 */
export class AwsTerraformCloudTrust extends Construct implements ITerraformCloudTrust {
  readonly role: IamRole;
  readonly workspaceVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: AwsContext, target: TerraformCloudTarget, applies: RunRoleScope) {
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
    // Lazy: the environment's roles are read from the whole stack at synthesis, so roles created
    // after this construct are named too; so is whether it holds anything but this trust.
    const policy = Lazy.stringValue({
      produce: () => runRolePolicy(ctx, terraformCloudRoleName(ctx), environmentRoleNames(this, this.role), { ...applies, nothingElse: holdsOnly(this) }),
    });
    new IamRolePolicy(this, "delivery", { role: this.role.id, name: "deliver-environment", policy });
    this.workspaceVariables = { TFC_AWS_PROVIDER_AUTH: "true", TFC_AWS_RUN_ROLE_ARN: this.role.arn };
  }
}

/**
 * What the run role's stack holds beyond storage, databases and their network: the cluster (and
 * the agents beside it), or not (the home a cluster moved away from, a stack of buckets for a
 * cluster on another cloud); and the hosts of the OpenID Connect providers it creates, each an
 * exact issuer or a pattern with `*`.
 */
export interface RunRoleScope {
  readonly cluster: boolean;
  readonly oidcProviderHosts: readonly string[];
  /**
   * The stack holds nothing but the trust (the home a cluster left, at the end of a move): the
   * role may read IAM and no more (its runs plan nothing), and keeps its denials.
   */
  readonly nothingElse?: boolean;
}

/** Whether `scope`'s stack creates no resource outside `scope`. */
function holdsOnly(scope: Construct): boolean {
  const within = `${scope.node.path}/`;
  return !TerraformStack.of(scope)
    .node.findAll()
    .some((c) => c instanceof TerraformResource && !`${c.node.path}/`.startsWith(within));
}

/**
 * The services whose resource types the infra stack creates (`AWS_CREATE_ACTIONS` in
 * __tests__/support/permissions.ts names the call each type makes; the permission test fails on
 * a type none of these covers). `pi`: Performance Insights, configured with the RDS instance.
 * `eks` and `ecs` (the agents) only for the cluster's stack.
 */
export const RUN_ROLE_SERVICES: readonly string[] = ["ec2", "eks", "rds", "pi", "s3", "kms", "logs", "route53", "secretsmanager", "ecs", "cloudtrail"];
const CLUSTER_ONLY_SERVICES = ["eks", "ecs"];

/** AWS services that create a service-linked role the first time the stacks use them (RDS's alone without a cluster). */
const SERVICE_LINKED_ROLES = ["eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "rds.amazonaws.com", "ecs.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"];
const SERVICE_LINKED_ROLES_WITHOUT_CLUSTER = ["rds.amazonaws.com"];

/**
 * The services the stacks pass their roles to (`iam:PassedToService`, Service Authorization
 * Reference for IAM, action PassRole; IAM User Guide, "Granting a user permissions to pass a role
 * to an AWS service"): the EKS cluster and its add-ons (eks), the node groups' instances (ec2, as
 * well as eks: the node role is handed to EKS, which launches the instances with it), the
 * agents' ECS tasks (ecs-tasks), VPC flow logs (vpc-flow-logs) and RDS Enhanced Monitoring
 * (monitoring.rds).
 */
export const PASSED_TO_SERVICES = ["eks", "ec2", "ecs-tasks", "vpc-flow-logs", "monitoring.rds"] as const;
const PASSED_TO_SERVICES_WITHOUT_CLUSTER = ["vpc-flow-logs", "monitoring.rds"] as const;

/**
 * The names of the roles the stack creates with a permissions boundary (every role but the run
 * role): the only roles the run role may manage or pass. Their names are deterministic from the
 * spec; read from the stack at synthesis.
 */
export function environmentRoleNames(scope: Construct, runRole: IamRole): string[] {
  return TerraformStack.of(scope)
    .node.findAll()
    .filter((c): c is IamRole => c instanceof IamRole && c !== runRole && c.permissionsBoundaryInput !== undefined)
    .map((role) => {
      const name = role.nameInput;
      if (name === undefined || name.includes("${")) throw new Error(`role ${role.node.path} needs a literal name for the run role's policy to name it`);
      return name;
    })
    .sort();
}

/**
 * The run role's one policy: see `AwsTerraformCloudTrust`. Role management and PassRole name the
 * exact roles of the stack (`roleNames`), never a prefix: a prefix such as `role/<env>-*` also
 * matches roles the stacks did not create (a `<env>-admin` made by hand, another environment's
 * `<env>-eu-*`), and `iam:PermissionsBoundary` cannot limit UpdateAssumeRolePolicy or PassRole to
 * bounded roles (the Service Authorization Reference lists that key only for CreateRole,
 * Put/DeleteRolePermissionsBoundary, Attach/DetachRolePolicy and Put/DeleteRolePolicy). An IAM
 * path would, but a role's path is fixed at creation (aws_iam_role `path` forces replacement).
 * So a new role (a new app's identity) is named in this policy, which is the bootstrapper's: one
 * apply by the bootstrapper before the runs can create it (README, "Delivery").
 */
export function runRolePolicy(ctx: AwsContext, runRoleName: string, roleNames: readonly string[], applies: RunRoleScope): string {
  const iam = (resource: string) => `arn:${ctx.partition}:iam::${ctx.accountId}:${resource}`;
  const environmentRoles = roleNames.map((name) => iam(`role/${name}`));
  // Every role but the run role carries the boundary: without them (the home a cluster left,
  // emptied at the end of a move) the stack has no boundary to name.
  const boundary = environmentRoles.length === 0 ? undefined : ctx.permissionsBoundary;
  const services = applies.cluster ? RUN_ROLE_SERVICES : RUN_ROLE_SERVICES.filter((service) => !CLUSTER_ONLY_SERVICES.includes(service));
  const passedTo = applies.cluster ? PASSED_TO_SERVICES : PASSED_TO_SERVICES_WITHOUT_CLUSTER;
  // IAM refuses a statement with an empty Resource list: a stack without roles of its own (the home
  // a cluster left, emptied at the end of a move) or without OpenID Connect providers has none.
  const roleStatements: PolicyStatement[] =
    boundary === undefined
      ? []
      : [
          {
            Sid: "RolesOnlyWithinTheBoundary",
            Effect: "Allow",
            Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
            Resource: environmentRoles,
            Condition: { StringEquals: { "iam:PermissionsBoundary": boundary } },
          },
          {
            // None of these can widen a role beyond its boundary, and every role named carries it.
            Sid: "EnvironmentRoles",
            Effect: "Allow",
            Action: ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"],
            Resource: environmentRoles,
          },
          {
            Sid: "PassEnvironmentRolesToTheirServices",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: environmentRoles,
            Condition: { StringEquals: { "iam:PassedToService": passedTo.map((service) => `${service}.${ctx.serviceDomain}`) } },
          },
        ];
  const oidcProviderStatements: PolicyStatement[] =
    applies.oidcProviderHosts.length === 0
      ? []
      : [
          {
            Sid: "ClusterOidcProviders",
            Effect: "Allow",
            Action: [
              "iam:CreateOpenIDConnectProvider",
              "iam:DeleteOpenIDConnectProvider",
              "iam:UpdateOpenIDConnectProviderThumbprint",
              "iam:AddClientIDToOpenIDConnectProvider",
              "iam:RemoveClientIDFromOpenIDConnectProvider",
            ],
            // One as a string, as it always was: a changed policy is the bootstrapper's to apply.
            Resource: applies.oidcProviderHosts.length === 1 ? iam(`oidc-provider/${applies.oidcProviderHosts[0]}`) : applies.oidcProviderHosts.map((host) => iam(`oidc-provider/${host}`)),
          },
        ];
  // The providers' and the boundary's default tags; without a boundary, exactly the providers of the stack (its own trust anchor at least).
  const withoutBoundary = [...applies.oidcProviderHosts, TFC_HOST].map((host) => iam(`oidc-provider/${host}`));
  const tags: PolicyStatement =
    boundary === undefined
      ? { Sid: "Tags", Effect: "Allow", Action: ["iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider"], Resource: withoutBoundary.length === 1 ? withoutBoundary[0] : withoutBoundary }
      : { Sid: "Tags", Effect: "Allow", Action: ["iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:TagPolicy", "iam:UntagPolicy"], Resource: [iam("oidc-provider/*"), boundary] };
  // A stack of the trust alone (the home a cluster left, at the end of a move) plans nothing: the role reads, and may do nothing else.
  const serviceStatements = (statements: PolicyStatement[]) => (applies.nothingElse === true ? [] : statements);
  const statements: PolicyStatement[] = [
    ...serviceStatements([{ Sid: "EnvironmentServices", Effect: "Allow", Action: services.map((service) => `${service}:*`), Resource: "*" }]),
    { Sid: "ReadIam", Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" },
    ...roleStatements,
    ...oidcProviderStatements,
    tags,
    ...serviceStatements([
      {
        Sid: "ServiceLinkedRoles",
        Effect: "Allow",
        Action: "iam:CreateServiceLinkedRole",
        Resource: "*",
        Condition: { StringEquals: { "iam:AWSServiceName": applies.cluster ? SERVICE_LINKED_ROLES : SERVICE_LINKED_ROLES_WITHOUT_CLUSTER } },
      },
    ]),
    ...(boundary === undefined
      ? []
      : [
          {
            Sid: "NeverChangeTheBoundary",
            Effect: "Deny",
            Action: ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            Resource: boundary,
          } satisfies PolicyStatement,
        ]),
    { Sid: "NeverRemoveABoundary", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
    {
      Sid: "NeverChangeItself",
      Effect: "Deny",
      Action: [
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:DeleteRole",
        "iam:PassRole",
      ],
      Resource: iam(`role/${runRoleName}`),
    },
    {
      Sid: "NeverUsersOrKeys",
      Effect: "Deny",
      Action: [
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:UpdateLoginProfile",
        "iam:CreateServiceSpecificCredential",
        "iam:UploadSSHPublicKey",
        "iam:AttachUserPolicy",
        "iam:PutUserPolicy",
        "iam:AddUserToGroup",
        "iam:CreateGroup",
        "iam:AttachGroupPolicy",
        "iam:PutGroupPolicy",
      ],
      Resource: "*",
    },
  ];
  return policyDocument(...statements);
}
