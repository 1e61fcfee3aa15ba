import { TerraformStack } from "cdktn";
import { Construct, type IConstruct } from "constructs";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamCustomRole } from "@cdktf/provider-google/lib/project-iam-custom-role";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import type { ITerraformCloudTrust, TerraformCloudTarget } from "../core/interfaces";
import type { GcpContext } from "./context";
import { GcpCluster, NODE_SERVICE_ACCOUNT_ROLES } from "./cluster";
import { SECRET_READ_ROLE } from "./database";
import { dnsZoneListerRoleId } from "./dns";
import { MAX_SUBJECT_BYTES, subjectOverLimit } from "./facts";
import { AGENT_LOG_ROLE, GcpTerraformCloudAgent } from "./terraform-cloud-agent";

/** The issuer of Terraform Cloud's workload identity tokens (the same for every organization). */
export const TERRAFORM_CLOUD_ISSUER = "https://app.terraform.io";

/**
 * Token claims mapped to pool attributes, by Terraform Cloud's documented claim names
 * (workload identity tokens). `google.subject` is the token subject,
 * `organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>`, so Cloud
 * Audit Logs name the workspace and phase of every call.
 */
export const TERRAFORM_CLOUD_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = {
  "google.subject": "assertion.sub",
  "attribute.terraform_organization_name": "assertion.terraform_organization_name",
  "attribute.terraform_project_name": "assertion.terraform_project_name",
  "attribute.terraform_workspace_name": "assertion.terraform_workspace_name",
  "attribute.terraform_run_phase": "assertion.terraform_run_phase",
};

/**
 * What the runs need on the project, as predefined roles of the run service account, each for
 * the resource types the infra and apps stacks create (the permissions per type and per role are
 * in `__tests__/support/permissions.ts`, cited from docs.cloud.google.com/iam/docs/roles-permissions):
 * - `compute.networkAdmin`: network, subnet, router, Cloud NAT, the private services range;
 * - `compute.securityAdmin`: the firewall rules (networkAdmin may not write them);
 * - `compute.instanceAdmin.v1`: the Terraform Cloud agents' instance template and group;
 * - `container.admin`: the cluster and node pools, and the charts' ClusterRoles and
 *   ClusterRoleBindings through the Kubernetes API;
 * - `cloudsql.admin`, `storage.admin`, `secretmanager.admin`, `dns.admin`, `cloudkms.admin`:
 *   instances and users, buckets, secrets, the zone, key rings and keys, with IAM on each of
 *   these resources (never on the project);
 * - `logging.configWriter`: the cluster's log buckets and sinks;
 * - `binaryauthorization.policyEditor`: the project's Binary Authorization policy;
 * - `servicenetworking.networksAdmin`: the private services connection (Cloud SQL peering);
 * - `serviceusage.serviceUsageAdmin`: enabling the APIs (`google_project_service`);
 * - no role on service accounts at the project level: `iam.serviceAccountAdmin` and
 *   `iam.serviceAccountUser` there reach every service account of the project, ones the stacks
 *   did not create included (CIS GCP Benchmark 1.6), and IAM Conditions cannot narrow them: the
 *   resource attributes of conditions are recognized only for the services listed in
 *   docs.cloud.google.com/iam/docs/conditions-resource-attributes, which do not include
 *   iam.googleapis.com. Instead `TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE` is granted on each service
 *   account of the stack but the run account itself, and `iam.serviceAccountUser` on the accounts
 *   the stacks run nodes and agents as (`GcpTerraformCloudTrust.manageServiceAccounts`);
 * - no `iam.workloadIdentityPoolAdmin`: the pool and provider that let the runs in are its trust
 *   anchor (a wider attribute condition or a second provider would let others in); they are the
 *   bootstrapper's, and the runs only read them (`terraformCloudReaderRoleId`);
 * - `iam.roleViewer`: reading the custom roles the bootstrapper creates (refresh only);
 * - `resourcemanager.projectIamAdmin` under `TERRAFORM_CLOUD_GRANT_CONDITION_TITLE`: project
 *   bindings of the roles in `terraformCloudGrantableRoles` only.
 *
 * Never `roles/owner`, `roles/editor`, `roles/iam.securityAdmin` or `roles/iam.roleAdmin`, and
 * `projectIamAdmin` only conditioned: Google's "delegate role grants" pattern
 * (docs.cloud.google.com/iam/docs/setting-limits-on-granting-roles: a condition on
 * `iam.googleapis.com/modifiedGrantsByRole` limits which roles a principal may grant or revoke;
 * a request that modifies no grant, such as `getIamPolicy`, passes it). The run account cannot
 * grant itself, or anyone, a role outside that list, nor edit a custom role in it (no
 * `iam.roles.update`): it has no path to owner. Its own project grants and the custom roles are
 * the bootstrapper's (a project owner applying `<env>-infra`): a change to them fails in the
 * runs and needs one apply by the bootstrapper (README, "Delivery").
 */
export const TERRAFORM_CLOUD_PROJECT_ROLES = [
  "roles/compute.networkAdmin",
  "roles/compute.securityAdmin",
  "roles/compute.instanceAdmin.v1",
  "roles/container.admin",
  "roles/cloudsql.admin",
  "roles/storage.admin",
  "roles/secretmanager.admin",
  "roles/dns.admin",
  "roles/cloudkms.admin",
  "roles/logging.configWriter",
  "roles/binaryauthorization.policyEditor",
  "roles/servicenetworking.networksAdmin",
  "roles/serviceusage.serviceUsageAdmin",
  "roles/iam.roleViewer",
] as const;

/** What the run account holds on each service account of the stack but itself: update, delete, their IAM policy. */
export const TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE = "roles/iam.serviceAccountAdmin";
/** What it holds on the accounts nodes and agents run as (acting as them when it creates them). */
export const TERRAFORM_CLOUD_ACT_AS_ROLE = "roles/iam.serviceAccountUser";

/**
 * The custom role of the runs' reads of what the bootstrapper owns (a refresh reads it, a run
 * never changes it): the service accounts, the run account's own IAM policy (its workspace
 * bindings), the workload identity pool and provider. Read-only; granted on the project.
 */
export const TERRAFORM_CLOUD_READER_PERMISSIONS = [
  "iam.serviceAccounts.get",
  "iam.serviceAccounts.list",
  "iam.serviceAccounts.getIamPolicy",
  "iam.workloadIdentityPools.get",
  "iam.workloadIdentityPoolProviders.get",
] as const;

export function terraformCloudReaderRoleId(ctx: GcpContext): string {
  return ctx.customRoleId("terraform_cloud_reader");
}

/** The conditional role that lets the runs make the stacks' project bindings, and only those. */
export const TERRAFORM_CLOUD_GRANT_ROLE = "roles/resourcemanager.projectIamAdmin";
export const TERRAFORM_CLOUD_GRANT_CONDITION_TITLE = "grants-of-the-stacks-only";

/**
 * The project-level roles the stacks grant (node service account, agents' log writer, the
 * monitoring namespace's conditioned secret accessor, external-dns's zone lister): what the run
 * account may grant and revoke. Custom roles by their full name, as IAM policies hold them.
 */
export function terraformCloudGrantableRoles(ctx: GcpContext): string[] {
  return [...new Set([...NODE_SERVICE_ACCOUNT_ROLES, AGENT_LOG_ROLE, SECRET_READ_ROLE, `projects/${ctx.projectId}/roles/${dnsZoneListerRoleId(ctx)}`])].sort();
}

/** The condition of `TERRAFORM_CLOUD_GRANT_ROLE`: grants and revocations of `roles` only. */
export function terraformCloudGrantCondition(roles: readonly string[]): string {
  return `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${roles.map((role) => `'${role}'`).join(", ")}])`;
}

/**
 * The workload identity pool id of an environment, `tfc-<env>`: 6 to 20 characters (pool ids
 * take 4 to 32 of `a-z`, `0-9`, `-`). The environment name comes last because pool ids may not
 * start with `gcp-`, which an environment name may. Deterministic, so the pool can be named
 * before it exists; a deleted pool keeps its id for 30 days (undelete it rather than recreate).
 */
export function terraformCloudPoolId(ctx: GcpContext): string {
  return `tfc-${ctx.env.name}`;
}

/** The id of the pool's one provider; pool-scoped, so it needs no environment name. */
export const TERRAFORM_CLOUD_PROVIDER_ID = "terraform-cloud";

/**
 * The account id of the run service account, `<env>-terraform-cloud`; `<env>-tfc` for
 * environment names longer than 14 characters, where the long form exceeds the 30 characters
 * service account ids take. Depends on the environment name alone.
 */
export function terraformCloudAccountId(ctx: GcpContext): string {
  const long = ctx.name("terraform-cloud");
  return long.length <= 30 ? ctx.serviceAccountId("terraform-cloud") : ctx.serviceAccountId("tfc");
}

/**
 * Terraform Cloud dynamic provider credentials on GCP (workload identity federation, no key):
 * - a workload identity pool `tfc-<env>` with one OIDC provider for `https://app.terraform.io`.
 *   The issuer is shared by every Terraform Cloud organization, so the provider's attribute
 *   condition admits only tokens of the target's organization and project. No
 *   `allowed_audiences`: GCP then accepts only its default audience, the provider's own full
 *   name, which is what Terraform Cloud sends unless `TFC_GCP_WORKLOAD_IDENTITY_AUDIENCE` is set;
 * - a run service account (`terraformCloudAccountId`) that only the target's workspaces may act
 *   as: `roles/iam.workloadIdentityUser` for
 *   `principalSet://iam.googleapis.com/<pool>/attribute.terraform_workspace_name/<workspace>`
 *   per workspace (workspace names are unique within the organization the condition pins);
 *   plan and apply phases alike;
 * - the project roles of `TERRAFORM_CLOUD_PROJECT_ROLES`, and `TERRAFORM_CLOUD_GRANT_ROLE` under a
 *   condition naming the roles the stacks grant;
 * - the IAM, Security Token Service and IAM Credentials APIs (the token exchange and the
 *   service account impersonation).
 *
 * The infra stack holding this trust is applied by the runs it lets in: its first apply needs
 * other credentials (a project owner, locally). The pool, the provider, the run account, every
 * grant to it or on it, and the service accounts of the stack (creating one needs
 * `iam.serviceAccounts.create` on the project, which the runs lack) are the bootstrapper's: a
 * run only reads them, and a change to them fails in the runs until the bootstrapper applies it
 * (README, "Delivery"), as the run role, its policy and its OIDC provider on AWS.
 * @throws RangeError when a workspace's token subject would exceed GCP's 127-byte limit for
 *   `google.subject` (long organization and project names; the spec check refuses them first).
 */
export class GcpTerraformCloudTrust extends Construct implements ITerraformCloudTrust {
  readonly pool: IamWorkloadIdentityPool;
  readonly provider: IamWorkloadIdentityPoolProvider;
  readonly serviceAccount: ServiceAccount;
  readonly workspaceVariables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: GcpContext, target: TerraformCloudTarget) {
    super(scope, id);
    if (target.workspaces.length === 0) throw new RangeError("a Terraform Cloud trust needs at least one workspace");
    checkSubjectLength(ctx, target);
    const env = ctx.env.name;

    this.pool = new IamWorkloadIdentityPool(this, "pool", {
      workloadIdentityPoolId: terraformCloudPoolId(ctx),
      displayName: `${env} Terraform Cloud`.slice(0, 32),
      description: `${env}: Terraform Cloud runs of ${target.organization}/${target.project}`,
      dependsOn: ctx.apis.needed("iam", "sts"),
    });
    this.provider = new IamWorkloadIdentityPoolProvider(this, "oidc-provider", {
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: TERRAFORM_CLOUD_PROVIDER_ID,
      displayName: "Terraform Cloud",
      description: `${env}: tokens of organization ${target.organization}, project ${target.project}`,
      oidc: { issuerUri: TERRAFORM_CLOUD_ISSUER },
      attributeMapping: { ...TERRAFORM_CLOUD_ATTRIBUTE_MAPPING },
      attributeCondition: terraformCloudCondition(target),
    });

    this.serviceAccount = new ServiceAccount(this, "Resource", {
      accountId: terraformCloudAccountId(ctx),
      displayName: `${env} Terraform Cloud runs`,
      description: `${env}: Terraform Cloud runs of ${target.organization}/${target.project} workspaces ${target.workspaces.join(", ")}`.slice(0, 256),
      dependsOn: ctx.apis.needed("iam", "iamCredentials"),
    });
    for (const workspace of target.workspaces) {
      new ServiceAccountIamMember(this, `workspace-${workspace}`, {
        serviceAccountId: this.serviceAccount.name,
        role: "roles/iam.workloadIdentityUser",
        member: `principalSet://iam.googleapis.com/${this.pool.name}/attribute.terraform_workspace_name/${workspace}`,
      });
    }
    for (const role of TERRAFORM_CLOUD_PROJECT_ROLES) {
      new ProjectIamMember(this, `project-${role.replace("roles/", "").replace(/\./g, "-")}`, {
        project: ctx.projectId,
        role,
        member: this.serviceAccount.member,
        dependsOn: ctx.apis.needed("resourceManager"),
      });
    }
    new ProjectIamMember(this, "project-grants", {
      project: ctx.projectId,
      role: TERRAFORM_CLOUD_GRANT_ROLE,
      member: this.serviceAccount.member,
      condition: {
        title: TERRAFORM_CLOUD_GRANT_CONDITION_TITLE,
        description: `${env}: grant and revoke only the project roles the stacks grant`,
        expression: terraformCloudGrantCondition(terraformCloudGrantableRoles(ctx)),
      },
      dependsOn: ctx.apis.needed("resourceManager"),
    });

    const reader = new ProjectIamCustomRole(this, "reader", {
      project: ctx.projectId,
      roleId: terraformCloudReaderRoleId(ctx),
      title: `${env} Terraform Cloud reader`,
      description: `${env}: lets the Terraform Cloud runs read the service accounts, the pool and the provider the bootstrapper owns`,
      permissions: [...TERRAFORM_CLOUD_READER_PERMISSIONS],
      stage: "GA",
      dependsOn: ctx.apis.needed("iam"),
    });
    new ProjectIamMember(this, "project-reader", {
      project: ctx.projectId,
      role: reader.name,
      member: this.serviceAccount.member,
      dependsOn: ctx.apis.needed("resourceManager"),
    });
    this.manageServiceAccounts();
    this.node.addValidation({ validate: () => this.unmanagedServiceAccounts().map((sa) => `service account ${sa.node.path} was created after ${this.node.path}: create the trust last, so the run account may manage it`) });

    this.workspaceVariables = {
      TFC_GCP_PROVIDER_AUTH: "true",
      TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL: this.serviceAccount.email,
      // projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
      TFC_GCP_WORKLOAD_PROVIDER_NAME: this.provider.name,
    };
  }

  private readonly managed = new Set<ServiceAccount>();

  /** The service accounts of the stack but the run account's own. */
  private stackServiceAccounts(all: readonly IConstruct[] = TerraformStack.of(this).node.findAll()): ServiceAccount[] {
    return all.filter((c): c is ServiceAccount => c instanceof ServiceAccount && c !== this.serviceAccount);
  }

  private unmanagedServiceAccounts(): ServiceAccount[] {
    return this.stackServiceAccounts().filter((sa) => !this.managed.has(sa));
  }

  /**
   * `TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE` on every service account of the stack but the run
   * account, and `TERRAFORM_CLOUD_ACT_AS_ROLE` on the node and agent accounts: what creating the
   * node pools and the agents' instance template needs (GKE: "iam.serviceAccounts.actAs on the
   * node service account"; Compute Engine: acting as the VM's service account).
   */
  private manageServiceAccounts(): void {
    const all = TerraformStack.of(this).node.findAll();
    const attached = new Set<ServiceAccount>([
      ...all.filter((c): c is GcpCluster => c instanceof GcpCluster).map((cluster) => cluster.nodeServiceAccount),
      ...all.filter((c): c is GcpTerraformCloudAgent => c instanceof GcpTerraformCloudAgent).map((agent) => agent.serviceAccount),
    ]);
    for (const account of this.stackServiceAccounts(all)) {
      const id = account.accountIdInput;
      if (id === undefined || id.includes("${")) throw new Error(`service account ${account.node.path} needs a literal account id`);
      const roles = attached.has(account) ? [TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE, TERRAFORM_CLOUD_ACT_AS_ROLE] : [TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE];
      for (const role of roles) {
        new ServiceAccountIamMember(this, `${role === TERRAFORM_CLOUD_ACT_AS_ROLE ? "act-as" : "manage"}-${id}`, { serviceAccountId: account.name, role, member: this.serviceAccount.member });
      }
      this.managed.add(account);
    }
  }
}

/** The provider's attribute condition (CEL): the target's organization and project only. */
export function terraformCloudCondition(target: TerraformCloudTarget): string {
  // JSON string literals are valid CEL string literals for these names (printable ASCII).
  return [
    `assertion.terraform_organization_name == ${JSON.stringify(target.organization)}`,
    `assertion.terraform_project_name == ${JSON.stringify(target.project)}`,
  ].join(" && ");
}

function checkSubjectLength(ctx: GcpContext, target: TerraformCloudTarget): void {
  for (const workspace of target.workspaces) {
    if (subjectOverLimit(target.organization, target.project, workspace) !== undefined) {
      throw new RangeError(`the token subject of workspace ${workspace} of ${ctx.env.name} exceeds ${MAX_SUBJECT_BYTES} bytes (the spec check gcpSpecProblems refuses such names)`);
    }
  }
}
