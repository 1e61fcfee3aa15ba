import { Construct } from "constructs";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { FederatedIdentityCredential } from "@cdktf/provider-azurerm/lib/federated-identity-credential";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { RoleDefinition } from "@cdktf/provider-azurerm/lib/role-definition";
import type { ITerraformCloudTrust, TerraformCloudTarget } from "../core/interfaces";
import { AZURE_ROLE_IDS, type AzureContext } from "./context";
import { WORKLOAD_IDENTITY_AUDIENCE } from "./identity";

/** The issuer of Terraform Cloud's workload identity tokens (HCP Terraform, not Terraform Enterprise). */
export const TERRAFORM_CLOUD_ISSUER = "https://app.terraform.io";

/**
 * Terraform Cloud mints one token per run phase; Entra ID matches subjects exactly (no wildcards),
 * so each workspace needs a federated credential for each phase.
 */
export const TERRAFORM_CLOUD_RUN_PHASES = ["plan", "apply"] as const;

/** Entra ID accepts at most 20 federated credentials on one managed identity: 10 workspaces × 2 phases. */
const MAX_FEDERATED_CREDENTIALS = 20;

/** The roles the runs hold on the subscription. */
export const TERRAFORM_CLOUD_ROLES = {
  /** Create, change and delete every resource; cannot write role assignments. */
  contributor: "Contributor",
  /**
   * Write and delete role assignments (the stacks grant roles to managed identities and to the run
   * itself), constrained by `delegableRolesCondition`. Chosen over Owner and User Access
   * Administrator, which cannot be constrained and could grant Owner to anyone.
   */
  rbacAdministrator: "Role Based Access Control Administrator",
} as const;

/** The managed identity's name, `<env>-terraform-cloud`: deterministic, so it can be found before it exists. */
/** What managing a management lock takes (Microsoft.Authorization resource provider operations). */
export const LOCK_ACTIONS = ["Microsoft.Authorization/locks/read", "Microsoft.Authorization/locks/write", "Microsoft.Authorization/locks/delete"] as const;

export function terraformCloudIdentityName(ctx: AzureContext): string {
  return ctx.name("terraform-cloud");
}

/** The `sub` claim of Terraform Cloud's token for one run phase of one workspace, as documented by HashiCorp. */
export function terraformCloudSubject(target: TerraformCloudTarget, workspace: string, phase: (typeof TERRAFORM_CLOUD_RUN_PHASES)[number]): string {
  return `organization:${target.organization}:project:${target.project}:workspace:${workspace}:run_phase:${phase}`;
}

/**
 * An Azure ABAC condition (version 2.0) on the Role Based Access Control Administrator assignment:
 * role assignments may be created and deleted only for the built-in roles the platform grants
 * (`AZURE_ROLES`), never Owner, User Access Administrator, RBAC Administrator or a custom role, so
 * the runs cannot raise their own or anyone's rights above what the stacks need. Creation and
 * deletion need one clause each, because the role id comes from the request on write and from the
 * existing assignment on delete. This is Microsoft's "constrain roles" template.
 */
export function delegableRolesCondition(roleIds: readonly string[] = Object.values(AZURE_ROLE_IDS)): string {
  const ids = `{${roleIds.join(", ")}}`;
  const clause = (action: "write" | "delete", source: "Request" | "Resource") =>
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/${action}'})) OR (@${source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${ids}))`;
  return `${clause("write", "Request")} AND ${clause("delete", "Resource")}`;
}

export interface AzureTerraformCloudTrustProps {
  /** The infra stack's context: resources go in the environment's resource group. */
  readonly ctx: AzureContext;
  readonly target: TerraformCloudTarget;
}

/**
 * Terraform Cloud dynamic provider credentials on Azure: one user-assigned managed identity,
 * `<env>-terraform-cloud`, in the environment's resource group, trusting Terraform Cloud's OIDC
 * issuer for exactly the listed workspaces of one organization and project, in both run phases
 * (one federated credential per workspace and phase; Entra ID has no wildcard subjects). No
 * client secret or certificate exists. A managed identity rather than an app registration keeps
 * everything in azurerm, with no Entra ID directory permissions needed to create it.
 *
 * The runs get, on the subscription: Contributor (the stacks create resource groups, clusters,
 * databases) and Role Based Access Control Administrator limited by `delegableRolesCondition` to
 * the platform's own built-in roles. Plan and apply share the identity (`TFC_AZURE_RUN_CLIENT_ID`);
 * a narrower plan identity (`TFC_AZURE_PLAN_CLIENT_ID`) would need a designed read-only custom
 * role, not Reader, since a refresh also calls list actions.
 *
 * The first apply of the infra stack must run with someone else's credentials: the trust cannot
 * create itself. The azurerm provider serialises writes of federated credentials on one identity
 * (Azure refuses concurrent ones), so no `depends_on` chain is needed.
 */
export class AzureTerraformCloudTrust extends Construct implements ITerraformCloudTrust {
  readonly identity: UserAssignedIdentity;
  readonly target: TerraformCloudTarget;
  readonly workspaceVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: AzureTerraformCloudTrustProps) {
    super(scope, id);
    const { ctx, target } = props;
    validateTarget(target);
    this.target = target;

    this.identity = new UserAssignedIdentity(this, "Resource", {
      name: terraformCloudIdentityName(ctx),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
    });
    for (const workspace of target.workspaces) {
      for (const phase of TERRAFORM_CLOUD_RUN_PHASES) {
        new FederatedIdentityCredential(this, `credential-${workspace}-${phase}`, {
          name: `tfc-${workspace}-${phase}`,
          resourceGroupName: ctx.resourceGroupName,
          parentId: this.identity.id,
          issuer: TERRAFORM_CLOUD_ISSUER,
          subject: terraformCloudSubject(target, workspace, phase),
          // Terraform Cloud's default audience for Azure is the same token-exchange audience as AKS's.
          audience: [WORKLOAD_IDENTITY_AUDIENCE],
        });
      }
    }

    const subscription = `/subscriptions/${ctx.subscriptionId}`;
    const assign = (name: string, role: string, condition?: string) =>
      new RoleAssignment(this, `role-${name}`, {
        scope: subscription,
        roleDefinitionName: role,
        principalId: this.identity.principalId,
        // A new managed identity may not have replicated in Entra ID yet; the type skips that lookup.
        principalType: "ServicePrincipal",
        description: `Terraform Cloud runs of ${ctx.env.name}: ${role}`,
        ...(condition === undefined ? {} : { condition, conditionVersion: "2.0" }),
      });
    assign("contributor", TERRAFORM_CLOUD_ROLES.contributor);
    assign("rbac-administrator", TERRAFORM_CLOUD_ROLES.rbacAdministrator, delegableRolesCondition());

    // Contributor excludes Microsoft.Authorization/*, so it cannot write or delete the
    // CanNotDelete locks the stacks put on databases: a role with exactly that, on the
    // environment's resource group. Custom role names are unique per tenant, hence the suffix.
    const resourceGroup = `${subscription}/resourceGroups/${ctx.resourceGroupName}`;
    const locks = new RoleDefinition(this, "locks-role", {
      name: `${ctx.name("terraform-cloud-locks")}-${ctx.uniqueSuffix(6)}`,
      scope: resourceGroup,
      description: `Terraform Cloud runs of ${ctx.env.name}: manage management locks`,
      permissions: [{ actions: [...LOCK_ACTIONS] }],
      assignableScopes: [resourceGroup],
    });
    new RoleAssignment(this, "role-locks", {
      scope: resourceGroup,
      roleDefinitionId: locks.roleDefinitionResourceId,
      principalId: this.identity.principalId,
      principalType: "ServicePrincipal",
      description: `Terraform Cloud runs of ${ctx.env.name}: manage management locks`,
    });

    // Names from HashiCorp's Azure dynamic credentials guide; ARM_* are read by the azurerm provider.
    this.workspaceVariables = {
      TFC_AZURE_PROVIDER_AUTH: "true",
      TFC_AZURE_RUN_CLIENT_ID: this.identity.clientId,
      ARM_SUBSCRIPTION_ID: ctx.subscriptionId,
      ARM_TENANT_ID: ctx.tenantId,
    };
  }
}

/** Programming errors of the caller (the infra stack builds the list), each with what was given. */
function validateTarget(target: TerraformCloudTarget): void {
  const { workspaces } = target;
  if (workspaces.length === 0) throw new Error("terraformCloudTrust() needs at least one workspace; none was given");
  const duplicates = workspaces.filter((workspace, index) => workspaces.indexOf(workspace) !== index);
  if (duplicates.length > 0) throw new Error(`terraformCloudTrust() was given workspace ${duplicates.join(", ")} more than once`);
  const credentials = workspaces.length * TERRAFORM_CLOUD_RUN_PHASES.length;
  if (credentials > MAX_FEDERATED_CREDENTIALS) {
    throw new Error(
      `terraformCloudTrust() was given ${workspaces.length} workspaces; Azure allows ${MAX_FEDERATED_CREDENTIALS} federated credentials per managed identity, ` +
        `${TERRAFORM_CLOUD_RUN_PHASES.length} per workspace, so at most ${MAX_FEDERATED_CREDENTIALS / TERRAFORM_CLOUD_RUN_PHASES.length}`,
    );
  }
}
