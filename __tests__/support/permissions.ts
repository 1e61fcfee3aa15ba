/**
 * The permission model of an environment, read from its synthesized stacks: which identity applies
 * which stack, from where, and whether it holds everything each resource of that stack needs. The
 * cloud rules below (what a built-in role or managed policy allows, what a resource type needs,
 * what is reachable from Terraform Cloud's hosted runners) are encoded from the clouds' own
 * documentation, cited at each table; the grants themselves are read from the synthesized JSON, so
 * a grant our code forgets, or a resource it adds that no grant covers, fails.
 *
 * Who applies what (README, "Bootstrap, once"): with `terraformCloud`, the bootstrapper (an owner
 * of the account, subscription or project) applies `<env>-infra` once; from then on the
 * environment's Terraform Cloud run identity applies both stacks, `<env>-apps` after `<env>-infra`.
 * Without it, a person applies both with `npm run deploy` and needs what the run identity would.
 */
import type { Environment } from "../../constructs/core/spec";
import { awsAgentProblems, azureAgentProblems, gcpAgentProblems } from "./agents";
import { SynthesizedStack } from "./synth";
import { at, isMap, list } from "./values";

type Json = Record<string, unknown>;
export interface StackJson {
  resource?: Record<string, Record<string, Json>>;
  data?: Record<string, Record<string, Json>>;
}

export interface PermissionProblem {
  readonly stack: string;
  readonly address: string;
  /** What the resource needs that its applier lacks, and why it matters. */
  readonly problem: string;
}

export interface EnvironmentStacks {
  readonly env: Environment;
  readonly infra: StackJson;
  readonly apps?: StackJson;
  readonly gitops?: StackJson;
}

/** Where the identity that applies a stack runs, which decides what it can reach. */
type RunsFrom =
  /** Terraform Cloud's hosted runners: the internet, with no published, fixed source range. */
  | "terraform-cloud-hosted"
  /** A Terraform Cloud agent the environment's infra stack runs inside its own network. */
  | "agent-in-network"
  /** A person's machine: the internet, from a range we cannot know. */
  | "person";

interface Resource {
  readonly type: string;
  readonly name: string;
  readonly address: string;
  readonly config: Json;
}

function resourcesOf(stack: StackJson | undefined): Resource[] {
  return Object.entries(stack?.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, config]) => ({ type, name, address: `${type}.${name}`, config })),
  );
}

const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value ?? null));

/** Does `config` mention `${<address>` (a Terraform reference to that resource)? */
const references = (value: unknown, address: string): boolean => text(value).includes(`\${${address}.`);

/**
 * How the `<env>-apps` stack is run: by Terraform Cloud's hosted runners unless the gitops stack
 * puts its workspace on an agent pool, and by a person without Terraform Cloud.
 */
function appsRunFrom(stacks: EnvironmentStacks): RunsFrom {
  if (!stacks.env.terraformCloud) return "person";
  const settings = resourcesOf(stacks.gitops).find((r) => r.type === "tfe_workspace_settings" && references(r.config.workspace_id, `tfe_workspace.${stacks.env.name}-apps`));
  if (settings?.config.execution_mode !== "agent") return "terraform-cloud-hosted";
  return agentHostedInNetwork(stacks) ? "agent-in-network" : "terraform-cloud-hosted";
}

/**
 * The infra stack runs Terraform Cloud agents inside the network, reaching the private API
 * endpoint (the checks of `support/agents.ts`: private subnets, the cluster's own subnet, the
 * cluster security group admitting them, the VNet on Azure).
 */
function agentHostedInNetwork(stacks: EnvironmentStacks): boolean {
  const infra = new SynthesizedStack(JSON.stringify(stacks.infra));
  if (stacks.env.cloud === "aws") return awsAgentProblems(infra).length === 0;
  if (stacks.env.cloud === "gcp") return gcpAgentProblems(infra).length === 0;
  return azureAgentProblems(infra).length === 0;
}

/**
 * Can an applier running from `from` reach the cluster's API server, read from the infra stack?
 * Terraform Cloud's hosted runs have no fixed source range (HashiCorp, "IP Ranges": the ranges
 * `/api/meta/ip-ranges` lists are for API, notifications, sentinel and VCS, not for run egress),
 * and a spec never lists `0.0.0.0/0`, so from the internet only a person inside
 * `publicAccessCidrs` gets through; an agent in the network reaches the private endpoint.
 */
function clusterApiReachable(stacks: EnvironmentStacks, from: RunsFrom): string | undefined {
  if (from === "agent-in-network") return undefined;
  const open = publicApiRanges(stacks.infra);
  if (from === "person") return open.length > 0 ? undefined : "a person outside the network cannot reach a private API endpoint (list your range in cluster.publicAccessCidrs or run from inside the network)";
  return open.includes("0.0.0.0/0")
    ? undefined
    : `Terraform Cloud's hosted runners have no fixed source range, and the API endpoint admits ${open.length === 0 ? "no public range at all" : open.join(", ")}: run the workspace on an agent inside the network`;
}

/** The public ranges the cluster's API endpoint admits (empty: private only). */
function publicApiRanges(infra: StackJson): string[] {
  for (const r of resourcesOf(infra)) {
    if (r.type === "aws_eks_cluster") {
      const vpc = r.config.vpc_config as Json;
      return vpc.endpoint_public_access === true ? (list(vpc.public_access_cidrs) as string[]) : [];
    }
    if (r.type === "azurerm_kubernetes_cluster") {
      if (r.config.private_cluster_enabled === true) return [];
      const profile = r.config.api_server_access_profile as Json | undefined;
      return profile ? (list(profile.authorized_ip_ranges) as string[]) : ["0.0.0.0/0"];
    }
    if (r.type === "google_container_cluster") {
      const privateConfig = r.config.private_cluster_config as Json | undefined;
      if (privateConfig?.enable_private_endpoint === true) return [];
      const authorized = (r.config.master_authorized_networks_config as Json | undefined)?.cidr_blocks;
      return authorized === undefined ? ["0.0.0.0/0"] : list(authorized).map((block) => text((block as Json).cidr_block));
    }
  }
  return [];
}

/** The problems of one environment: every resource of every stack against its applier. */
export function permissionProblems(stacks: EnvironmentStacks): PermissionProblem[] {
  const rules = CLOUD_RULES[stacks.env.cloud];
  const problems: PermissionProblem[] = [];
  const infraName = `${stacks.env.name}-infra`;
  const appsName = `${stacks.env.name}-apps`;
  const runIdentity = stacks.env.terraformCloud ? rules.runIdentity(stacks.infra) : undefined;
  if (stacks.env.terraformCloud && runIdentity === undefined) {
    problems.push({ stack: infraName, address: "(run identity)", problem: "the environment uses Terraform Cloud but its infra stack creates no run identity" });
    return problems;
  }
  for (const resource of resourcesOf(stacks.infra)) {
    for (const problem of rules.infraNeeds(resource, stacks, runIdentity)) problems.push({ stack: infraName, address: resource.address, problem });
  }
  if (stacks.apps) {
    const from = appsRunFrom(stacks);
    const reach = clusterApiReachable(stacks, from);
    if (reach) problems.push({ stack: appsName, address: "(kubernetes and helm providers)", problem: reach });
    const admin = rules.kubernetesAdmin(stacks, runIdentity);
    if (admin) problems.push({ stack: appsName, address: "(kubernetes and helm providers)", problem: admin });
  }
  return problems;
}

interface CloudRules {
  /** The address of the Terraform Cloud run identity in the infra stack. */
  runIdentity(infra: StackJson): string | undefined;
  /** What the run identity (or the person without Terraform Cloud) lacks for one infra resource. */
  infraNeeds(resource: Resource, stacks: EnvironmentStacks, runIdentity: string | undefined): string[];
  /** Why the apps stack's applier is not a Kubernetes cluster admin, or undefined. */
  kubernetesAdmin(stacks: EnvironmentStacks, runIdentity: string | undefined): string | undefined;
}

// --- AWS -----------------------------------------------------------------------------------------

/**
 * AWS managed policies by what they allow (docs.aws.amazon.com/aws-managed-policy/latest/reference:
 * AdministratorAccess is `Action: *`; PowerUserAccess is `NotAction: iam:*, organizations:*,
 * account:*` plus a few iam read and service-linked-role actions).
 */
const AWS_MANAGED_POLICIES: Readonly<Record<string, (service: string) => boolean>> = {
  "arn:aws:iam::aws:policy/AdministratorAccess": () => true,
  "arn:aws:iam::aws:policy/PowerUserAccess": (service) => !["iam", "organizations", "account"].includes(service),
};

/** The IAM service prefix a resource type's API calls need (Service Authorization Reference). */
const AWS_SERVICE_OF: readonly [RegExp, string][] = [
  [/^aws_(iam)_/, "iam"],
  [/^aws_(eks)_/, "eks"],
  [/^aws_s3_/, "s3"],
  [/^aws_(db|rds)_/, "rds"],
  [/^aws_kms_/, "kms"],
  [/^aws_cloudwatch_log_/, "logs"],
  [/^aws_route53_/, "route53"],
  [/^aws_secretsmanager_/, "secretsmanager"],
  [/^aws_ecs_/, "ecs"],
  [/^aws_(vpc|subnet|route|route_table|nat_gateway|eip|internet_gateway|security_group|vpc_security_group_\w+|flow_log|launch_template|default_\w+|ec2_\w+|network_acl)(_|$)/, "ec2"],
];

const AWS_RULES: CloudRules = {
  runIdentity(infra) {
    const provider = resourcesOf(infra).find((r) => r.type === "aws_iam_openid_connect_provider" && r.config.url === "https://app.terraform.io");
    if (!provider) return undefined;
    return resourcesOf(infra).find((r) => r.type === "aws_iam_role" && references(r.config.assume_role_policy, provider.address))?.address;
  },
  infraNeeds(resource, stacks, runIdentity) {
    if (runIdentity === undefined) return [];
    const service = AWS_SERVICE_OF.find(([pattern]) => pattern.test(resource.type))?.[1];
    if (service === undefined) return [`no IAM service is known for ${resource.type}: add it to AWS_SERVICE_OF`];
    const policies = resourcesOf(stacks.infra)
      .filter((r) => r.type === "aws_iam_role_policy_attachment" && references(r.config.role, runIdentity))
      .map((r) => text(r.config.policy_arn));
    const allows = policies.some((arn) => AWS_MANAGED_POLICIES[arn]?.(service) === true);
    return allows ? [] : [`the Terraform Cloud run role (${policies.join(", ") || "no policy"}) may not call ${service}:*`];
  },
  kubernetesAdmin(stacks, runIdentity) {
    const infra = resourcesOf(stacks.infra);
    const cluster = infra.find((r) => r.type === "aws_eks_cluster");
    if (!cluster) return "the infra stack has no EKS cluster";
    if (runIdentity === undefined) {
      // Without Terraform Cloud, the person who created the cluster applies the apps stack.
      return (cluster.config.access_config as Json).bootstrap_cluster_creator_admin_permissions === true ? undefined : "the cluster creator is not a cluster admin";
    }
    const entry = infra.find((r) => r.type === "aws_eks_access_entry" && references(r.config.principal_arn, runIdentity));
    if (!entry) return "the Terraform Cloud run role has no EKS access entry: the API refuses every call of the apps stack";
    const association = infra.find(
      (r) =>
        r.type === "aws_eks_access_policy_association" &&
        references(r.config.principal_arn, entry.address) &&
        r.config.policy_arn === "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" &&
        (r.config.access_scope as Json).type === "cluster",
    );
    return association ? undefined : "the run role's access entry is not associated with AmazonEKSClusterAdminPolicy on the whole cluster";
  },
};

// --- Azure ---------------------------------------------------------------------------------------

interface AzureRole {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
}

/**
 * Built-in roles the stacks use, by name (learn.microsoft.com/azure/role-based-access-control/
 * built-in-roles: Contributor is `*` less Microsoft.Authorization writes and deletes among others;
 * Role Based Access Control Administrator writes role assignments, limited by its condition;
 * Azure Kubernetes Service RBAC Cluster Admin is every Kubernetes data action).
 */
const AZURE_BUILT_IN_ROLES: Readonly<Record<string, AzureRole>> = {
  Contributor: {
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action",
      "Microsoft.Purview/consents/write",
      "Microsoft.Purview/consents/delete",
      "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
      "Microsoft.Subscription/cancel/action",
      "Microsoft.Subscription/enable/action",
    ],
    dataActions: [],
  },
  "Role Based Access Control Administrator": {
    actions: ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"],
    notActions: [],
    dataActions: [],
  },
  "Azure Kubernetes Service RBAC Cluster Admin": { actions: ["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/read"], notActions: [], dataActions: ["Microsoft.ContainerService/managedClusters/*"] },
  "Key Vault Secrets Officer": { actions: ["Microsoft.KeyVault/vaults/*/read"], notActions: [], dataActions: ["Microsoft.KeyVault/vaults/secrets/*"] },
};

/** Azure's action matching: `*` within a pattern matches any characters; case-insensitive. */
function azureMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`, "i");
  return regex.test(action);
}

function azureAllows(role: AzureRole, action: string, data: boolean): boolean {
  if (data) return role.dataActions.some((pattern) => azureMatches(pattern, action));
  return role.actions.some((pattern) => azureMatches(pattern, action)) && !role.notActions.some((pattern) => azureMatches(pattern, action));
}

/** The ARM operations a resource type needs beyond Contributor's reach (Microsoft.Authorization). */
const AZURE_AUTHORIZATION_ACTIONS: Readonly<Record<string, string>> = {
  azurerm_management_lock: "Microsoft.Authorization/locks/write",
  azurerm_role_assignment: "Microsoft.Authorization/roleAssignments/write",
  azurerm_role_definition: "Microsoft.Authorization/roleDefinitions/write",
};

/**
 * Resources only the bootstrapper (an Owner) writes: runs may not create role definitions, nor
 * the run identity's own role assignments (outside the RBAC Administrator condition, on purpose).
 * A later change to one needs one more apply with Owner credentials (README).
 */
const AZURE_BOOTSTRAP_ONLY = new Set(["azurerm_role_definition"]);

/** Azure role assignments granted to an identity, with their roles resolved. */
function azureRolesOf(stacks: EnvironmentStacks, identity: string): { address: string; role: AzureRole | undefined; name: string; condition: unknown; scope: unknown }[] {
  const infra = resourcesOf(stacks.infra);
  return infra
    .filter((r) => r.type === "azurerm_role_assignment" && references(r.config.principal_id, identity))
    .map((r) => {
      const custom = infra.find((d) => d.type === "azurerm_role_definition" && references(r.config.role_definition_id, d.address));
      const permissions = custom ? (list(custom.config.permissions)[0] as Json) : undefined;
      const role = custom
        ? { actions: list(permissions?.actions) as string[], notActions: list(permissions?.not_actions) as string[], dataActions: list(permissions?.data_actions) as string[] }
        : AZURE_BUILT_IN_ROLES[text(r.config.role_definition_name)];
      return { address: r.address, role, name: custom ? text(custom.config.name) : text(r.config.role_definition_name), condition: r.config.condition, scope: r.config.scope };
    });
}

const AZURE_RULES: CloudRules = {
  runIdentity(infra) {
    const credential = resourcesOf(infra).find((r) => r.type === "azurerm_federated_identity_credential" && r.config.issuer === "https://app.terraform.io");
    const identity = credential && /\$\{(azurerm_user_assigned_identity\.[^.]+)\.id\}/.exec(text(credential.config.parent_id));
    return identity?.[1];
  },
  infraNeeds(resource, stacks, runIdentity) {
    const problems: string[] = [];
    // A principal read from azurerm_client_config is whoever runs Terraform: principal_id forces
    // replacement, so the assignment flips between the bootstrapper and the run identity.
    if (resource.type === "azurerm_role_assignment" && text(resource.config.principal_id).includes("data.azurerm_client_config.")) {
      problems.push("assigned to whoever runs Terraform (azurerm_client_config): replaced on every run by another identity; assign it to a deterministic identity");
    }
    if (resource.type === "azurerm_key_vault_secret") problems.push(...azureVaultDataPlane(resource, stacks));
    if (runIdentity === undefined || AZURE_BOOTSTRAP_ONLY.has(resource.type)) return problems;
    // The run identity's own grants are the bootstrapper's to make: a run never re-grants itself.
    if (resource.type === "azurerm_role_assignment" && references(resource.config.principal_id, runIdentity) && resource.address.includes("terraform-cloud-trust")) return problems;
    // azapi_resource names its ARM type (`Microsoft.KeyVault/vaults/secrets@2024-11-01`).
    const armType = resource.type === "azapi_resource" ? text(resource.config.type).split("@")[0] : undefined;
    const action = AZURE_AUTHORIZATION_ACTIONS[resource.type] ?? (armType ? `${armType}/write` : `Microsoft.Resources/${resource.type}/write`);
    const grants = azureRolesOf(stacks, runIdentity).filter((grant) => grant.role && azureAllows(grant.role, action, false));
    if (grants.length === 0) problems.push(`the Terraform Cloud run identity holds no role allowing ${action}`);
    else if (resource.type === "azurerm_role_assignment") {
      const roleName = text(resource.config.role_definition_name);
      const allowed = grants.some((grant) => grant.condition === undefined || text(grant.condition).includes(AZURE_ROLE_IDS_BY_NAME[roleName] ?? "(custom role)"));
      if (!allowed) problems.push(`the run identity's role assignment condition does not allow assigning ${resource.config.role_definition_name === undefined ? "a custom role" : roleName}`);
    }
    return problems;
  },
  kubernetesAdmin(stacks, runIdentity) {
    if (runIdentity === undefined) {
      const groups = stacks.env.cluster.azure?.adminGroupObjectIds ?? [];
      return groups.length > 0 ? undefined : "no Entra group is a cluster admin (cluster.azure.adminGroupObjectIds): the person applying the apps stack is refused";
    }
    const admin = azureRolesOf(stacks, runIdentity).some((grant) => grant.role && azureAllows(grant.role, "Microsoft.ContainerService/managedClusters/apps/deployments/write", true));
    return admin ? undefined : "the Terraform Cloud run identity is not an AKS RBAC cluster admin: the API refuses every call of the apps stack";
  },
};

/** The built-in role ids (the same in every tenant), for reading role assignment conditions. */
const AZURE_ROLE_IDS_BY_NAME: Readonly<Record<string, string>> = {
  "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
  "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "DNS Zone Contributor": "befefa01-2a29-4197-83a8-272ff33ce314",
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  // learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
  "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
};

/**
 * A key vault secret is written through the vault's data plane: the vault's firewall must admit
 * the applier (Key Vault network security: with `default_action = Deny`, only `ip_rules`, virtual
 * network rules and trusted Azure services pass; Terraform Cloud's hosted runners are none of these).
 */
function azureVaultDataPlane(secret: Resource, stacks: EnvironmentStacks): string[] {
  const vault = resourcesOf(stacks.infra).find((r) => r.type === "azurerm_key_vault" && references(secret.config.key_vault_id, r.address));
  const acls = vault && (list(vault.config.network_acls)[0] ?? vault.config.network_acls);
  if (!vault || !isMap(acls) || acls.default_action !== "Deny") return [];
  const from = stacks.env.terraformCloud ? "Terraform Cloud's hosted runners" : "the person applying it";
  return [`written through the vault's data plane, whose firewall denies by default: ${from} cannot reach it (write it through ARM instead)`];
}

// --- GCP -----------------------------------------------------------------------------------------

/**
 * The permission a resource type needs beyond `roles/editor`, and the predefined roles that hold
 * it (cloud.google.com/iam/docs/understanding-roles: Editor sets no IAM policy and manages no
 * custom role or workload identity pool; `roles/iam.securityAdmin` gets and sets any IAM policy).
 */
const GCP_BEYOND_EDITOR: readonly [RegExp, string, readonly string[]][] = [
  [/^google_.*_iam_(member|binding|policy)$/, "setIamPolicy", ["roles/owner", "roles/iam.securityAdmin"]],
  [/^google_project_iam_custom_role$/, "iam.roles.create", ["roles/owner", "roles/iam.roleAdmin"]],
  [/^google_iam_workload_identity_pool(_provider)?$/, "iam.workloadIdentityPools.create", ["roles/owner", "roles/iam.workloadIdentityPoolAdmin"]],
];

/** Creating ClusterRoles and ClusterRoleBindings (every chart does) needs more than Editor's container.developer-like rights. */
const GCP_KUBERNETES_ADMIN_ROLES = ["roles/owner", "roles/container.admin"];

function gcpRolesOf(stacks: EnvironmentStacks, identity: string): string[] {
  return resourcesOf(stacks.infra)
    .filter((r) => r.type === "google_project_iam_member" && references(r.config.member, identity))
    .map((r) => text(r.config.role));
}

const GCP_RULES: CloudRules = {
  runIdentity(infra) {
    const binding = resourcesOf(infra).find((r) => r.type === "google_service_account_iam_member" && /attribute\.terraform_workspace_name/.test(text(r.config.member)));
    const account = binding && /\$\{(google_service_account\.[^.]+)\.name\}/.exec(text(binding.config.service_account_id));
    return account?.[1];
  },
  infraNeeds(resource, stacks, runIdentity) {
    if (runIdentity === undefined) return [];
    const roles = gcpRolesOf(stacks, runIdentity);
    const beyond = GCP_BEYOND_EDITOR.find(([pattern]) => pattern.test(resource.type));
    const needed = beyond ? beyond[2] : ["roles/owner", "roles/editor"];
    return needed.some((role) => roles.includes(role)) ? [] : [`the Terraform Cloud service account (${roles.join(", ") || "no role"}) lacks ${beyond?.[1] ?? "Editor"}: one of ${needed.join(", ")}`];
  },
  kubernetesAdmin(stacks, runIdentity) {
    if (runIdentity === undefined) return undefined;
    const roles = gcpRolesOf(stacks, runIdentity);
    return GCP_KUBERNETES_ADMIN_ROLES.some((role) => roles.includes(role)) ? undefined : "the Terraform Cloud service account cannot create the charts' ClusterRoles: it needs roles/container.admin";
  },
};

const CLOUD_RULES: Readonly<Record<Environment["cloud"], CloudRules>> = { aws: AWS_RULES, azure: AZURE_RULES, gcp: GCP_RULES };

// --- Who reads the user's secrets ------------------------------------------------------------------

/** The Kubernetes service account whose cloud identity reads the secrets the spec names. */
const SECRET_READER_SUBJECT = "system:serviceaccount:monitoring:monitoring-secrets";

/**
 * IAM's wildcard match of a resource pattern (IAM User Guide, "IAM JSON policy elements:
 * Resource": `*` matches any run of characters, `?` exactly one; case-sensitive).
 */
export function iamMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`);
  return regex.test(arn);
}

/** Policy statements of a policy document JSON string. */
function statementsOf(policy: unknown): Json[] {
  try {
    const parsed = JSON.parse(text(policy)) as Json;
    return list(parsed.Statement) as Json[];
  } catch {
    return [];
  }
}

/** A policy element that may be one value or a list. */
const oneOrMany = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:*", "*"];

/**
 * Azure: a role assignment needs its scope to exist (azurerm v4.55.0
 * internal/services/authorization/role_assignment_resource.go lists the role definitions at the
 * scope, then PUTs the assignment there), and the vault is created by the same apply, so the
 * secret a user fills must be created by the stack before its assignment:
 * - an `azapi_resource` `Microsoft.KeyVault/vaults/secrets` of that name in that vault, which the
 *   assignment depends on (Terraform orders by references and `depends_on` only);
 * - never written again by Terraform (`ignore_changes = all`), or an apply would put the
 *   placeholder back over the user's value;
 * - disabled, so its placeholder is never read as the credential (Key Vault refuses to get a
 *   disabled secret: "Operation get is not allowed on a disabled secret");
 * - its value write-only (`sensitive_body`), so not even the placeholder is in the state.
 */
function userSecretScopeProblems(infra: readonly Resource[], assignment: string, vault: string, name: string): string[] {
  const secret = infra.find((r) => r.type === "azapi_resource" && text(r.config.type).startsWith("Microsoft.KeyVault/vaults/secrets@") && text(r.config.name) === name && references(r.config.parent_id, vault));
  if (!secret) return [`${assignment}: no azapi_resource creates the secret ${name} in ${vault}: the first apply fails on the assignment's scope`];
  const problems: string[] = [];
  const assignmentConfig = infra.find((r) => r.address === assignment)?.config;
  if (!list(assignmentConfig?.depends_on).map(text).includes(secret.address)) problems.push(`${assignment}: does not depend on ${secret.address}, so it may run before the secret exists`);
  const lifecycle = (secret.config.lifecycle ?? {}) as Json;
  if (lifecycle.ignore_changes !== "all") problems.push(`${secret.address}: without ignore_changes = all, an apply writes the placeholder over the user's value`);
  if (at(secret.config, "body.properties.attributes.enabled") !== false) problems.push(`${secret.address}: enabled, so its placeholder would be synced as the credential`);
  if (at(secret.config, "body.properties.value") !== undefined) problems.push(`${secret.address}: a value in body, which is stored in the state (use sensitive_body)`);
  return problems;
}

/**
 * What the secret reader of the monitoring namespace may read, and what it must not, read from
 * the infra stack: every secret the spec names (`specNames`) and nothing else; no database admin
 * secret. The rules are the clouds' own: AWS IAM resource patterns (Secrets Manager ARNs end in
 * `-` and six random characters: Secrets Manager User Guide, "Permissions to AWS Secrets Manager
 * secrets"); Azure role assignment scopes ("Key Vault Secrets User" at a secret's scope reads that
 * secret alone; at the vault's, every secret: Key Vault "Azure RBAC for Key Vault data plane");
 * GCP IAM conditions on `resource.name` (`projects/<number>/secrets/<id>[/versions/<v>]`).
 */
export function userSecretReadProblems(stacks: EnvironmentStacks, specNames: readonly string[]): string[] {
  const infra = resourcesOf(stacks.infra);
  const want = [...new Set(specNames)].sort();
  const problems: string[] = [];
  const compare = (granted: readonly string[]) => {
    const got = [...new Set(granted)].sort();
    for (const name of want) if (!got.includes(name)) problems.push(`the secret reader cannot read ${name}, which the spec names`);
    for (const name of got) if (!want.includes(name)) problems.push(`the secret reader may read ${name}, which the spec does not name`);
  };
  if (stacks.env.cloud === "aws") {
    const role = infra.find((r) => r.type === "aws_iam_role" && text(r.config.assume_role_policy).includes(`"${SECRET_READER_SUBJECT}"`));
    if (!role) return want.length > 0 ? ["no IAM role trusts the monitoring namespace's secret reader"] : [];
    const { accountId, region } = stacks.env.accounts.aws ?? { accountId: "", region: "" };
    const arnOf = (name: string, suffix = "AbC123") => `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
    const patterns = infra
      .filter((r) => r.type === "aws_iam_role_policy" && references(r.config.role, role.address))
      .flatMap((r) => statementsOf(r.config.policy))
      .filter((s) => s.Effect === "Allow" && oneOrMany(s.Action).some((a) => SECRET_READ_ACTIONS.includes(text(a))))
      .flatMap((s) => oneOrMany(s.Resource).map(text));
    if (infra.some((r) => r.type === "aws_iam_role_policy_attachment" && references(r.config.role, role.address))) problems.push("the secret reader has a managed policy attached");
    for (const pattern of patterns) {
      // A reference to a resource of the stack (an RDS-managed secret) is an admin secret.
      if (pattern.includes("${")) problems.push(`the secret reader may read ${pattern}, a secret the stack creates`);
      // An RDS-managed master secret is named `rds!db-<uuid>` (RDS User Guide, "Password management with Secrets Manager").
      if (iamMatches(pattern, arnOf("rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"))) problems.push(`the secret reader's pattern ${pattern} matches an RDS-managed admin secret`);
    }
    const readable = want.filter((name) => patterns.some((p) => iamMatches(p, arnOf(name))));
    const beyond = patterns.filter((p) => !want.some((name) => iamMatches(p, arnOf(name))) || want.some((name) => iamMatches(p, arnOf(`${name}-x`)) || iamMatches(p, arnOf(`x${name}`))));
    for (const pattern of beyond) problems.push(`the secret reader's pattern ${pattern} matches a secret the spec does not name`);
    compare(readable);
    return problems;
  }
  if (stacks.env.cloud === "azure") {
    const identity = infra.find((r) => r.type === "azurerm_user_assigned_identity" && infra.some((c) => c.type === "azurerm_federated_identity_credential" && references(c.config.parent_id, r.address) && text(c.config.subject) === SECRET_READER_SUBJECT));
    if (!identity) return want.length > 0 ? ["no managed identity federates the monitoring namespace's secret reader"] : [];
    const names: string[] = [];
    for (const grant of azureRolesOf(stacks, identity.address)) {
      const reads = grant.role ? azureAllows(grant.role, "Microsoft.KeyVault/vaults/secrets/getSecret/action", true) : grant.name === "Key Vault Secrets User" || grant.name === "Key Vault Secrets Officer" || grant.name === "Key Vault Administrator" || grant.name === "Owner";
      if (!reads) continue;
      const scope = text(grant.scope);
      const match = /^\$\{(azurerm_key_vault\.[^.}]+)\.id\}\/secrets\/([A-Za-z0-9-]+)$/.exec(scope);
      if (!match) {
        problems.push(`the secret reader holds ${grant.name} at ${scope}, not at one secret of the environment's vault`);
        continue;
      }
      names.push(match[2]);
      problems.push(...userSecretScopeProblems(infra, grant.address, match[1], match[2]));
    }
    compare(names);
    return problems;
  }
  const account = infra.find((r) => r.type === "google_service_account" && infra.some((b) => b.type === "google_service_account_iam_member" && references(b.config.service_account_id, r.address) && text(b.config.member).endsWith("[monitoring/monitoring-secrets]")));
  if (!account) return want.length > 0 ? ["no Google service account is bound to the monitoring namespace's secret reader"] : [];
  const names: string[] = [];
  for (const binding of infra.filter((r) => /^google_.*_iam_member$/.test(r.type) && references(r.config.member, account.address))) {
    if (binding.type === "google_service_account_iam_member") continue;
    if (!["roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner", "roles/editor"].includes(text(binding.config.role))) continue;
    if (binding.type !== "google_project_iam_member") {
      problems.push(`the secret reader holds ${text(binding.config.role)} on ${text(binding.config.secret_id)} (${binding.type}), beyond the condition on the spec's names`);
      continue;
    }
    const condition = (list(binding.config.condition)[0] ?? binding.config.condition) as Json | undefined;
    const expression = condition ? text(condition.expression) : "";
    if (!expression) {
      problems.push(`the secret reader holds ${text(binding.config.role)} on the whole project, without a condition`);
      continue;
    }
    // Each disjunct must name one whole secret: `resource.name == ".../secrets/<id>"` or its versions.
    for (const part of expression.split(" || ")) {
      const exact = /^resource\.name == "projects\/[^/"]+\/secrets\/([A-Za-z0-9_-]+)"$/.exec(part);
      const versions = /^resource\.name\.startsWith\("projects\/[^/"]+\/secrets\/([A-Za-z0-9_-]+)\/versions\/"\)$/.exec(part);
      if (exact) names.push(exact[1]);
      else if (versions) names.push(versions[1]);
      else problems.push(`the secret reader's condition part ${part} does not name one whole secret`);
    }
  }
  compare(names);
  return problems;
}
