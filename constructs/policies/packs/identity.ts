import { asList, at, companions, expectValue, expectValues, policyDocument, resourcesOf, type Block, type PolicyContext, type Rule } from "../types";

/**
 * The built-in roles that can grant any role, by the GUID Azure gives them on every tenant
 * (Microsoft Learn, "Azure built-in roles", Privileged: Owner, User Access Administrator, Role
 * Based Access Control Administrator), so an assignment by `role_definition_id` is caught too.
 */
const AZURE_ADMIN_ROLE_IDS = {
  Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
} as const;

/** An Azure action pattern that matches Microsoft.Authorization/roleAssignments/write (ARM matches `*` as a wildcard, case-insensitively). */
const assignsRoles = (action: string) => new RegExp(`^${action.replace(/[.+?^${}()|[\]\\/]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test("Microsoft.Authorization/roleAssignments/write");

/** Terraform expressions in a policy document, masked so the JSON parses. */
const masked = (text: unknown) => (typeof text === "string" ? text.replace(/\$\{[^}]*\}/g, (expression) => expression.replace(/"/g, "'")) : text);

/** A subject with a wildcard anywhere but its last `:`-segment (Terraform Cloud's `run_phase:*`). */
const wildSubject = (subject: string) => subject.split(":").slice(0, -1).some((segment) => segment.includes("*")) || subject === "*";

/** What is wrong with one statement of a role's trust policy. */
function trustProblems(statement: Block): string[] {
  if (statement.Effect !== "Allow") return [];
  const principal = statement.Principal;
  if (principal === "*" || at(principal, "AWS") === "*") return ["the trust policy allows any principal (*)"];
  if (at(principal, "Federated") === undefined) return [];
  const conditions = Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((operator) => Object.entries(operator));
  const subjects = conditions.filter(([key]) => key.endsWith(":sub")).flatMap(([, value]) => asList(value).map(String));
  const audiences = conditions.filter(([key]) => key.endsWith(":aud"));
  return [
    ...(subjects.length === 0 ? ["a federated trust without a :sub condition: any identity of the provider may assume the role"] : []),
    ...subjects.filter(wildSubject).map((subject) => `the :sub condition ${subject} has a wildcard`),
    ...(audiences.length === 0 ? ["a federated trust without an :aud condition"] : []),
  ];
}

/** Basic roles and roles that can grant themselves more (issue 11: the Terraform Cloud account of GCP). */
const GCP_TOO_BROAD = new Set(["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/iam.roleAdmin", "roles/resourcemanager.projectIamAdmin"]);

/**
 * The roles a conditional project IAM grant may grant, from its condition
 * `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([...])` (IAM docs,
 * "Delegate the ability to manage role grants": the attribute lists the roles a setIamPolicy call
 * changes). Undefined when the condition has any other form.
 */
function delegatedRoles(condition: unknown): string[] | undefined {
  const match = /^api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\(\[([^\]]*)\]\)$/.exec(String(at(condition, "expression") ?? "").trim());
  return match === null ? undefined : [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

/**
 * Service-account roles that, granted on the project, reach every service account of it,
 * including the run account and ones holding more than the grantee (IAM docs, "Service accounts
 * roles" and "Roles for service account authentication": act as, mint tokens for, sign as, create
 * keys for, or change the policy of any service account). Granted on one service account
 * (google_service_account_iam_member) they reach that one only.
 */
const GCP_PROJECT_WIDE_SA_ROLES = new Set([
  "roles/iam.serviceAccountUser",
  "roles/iam.serviceAccountTokenCreator",
  "roles/iam.serviceAccountOpenIdTokenCreator",
  "roles/iam.serviceAccountAdmin",
  "roles/iam.serviceAccountKeyAdmin",
  "roles/iam.workloadIdentityUser",
]);

/**
 * Permissions that give the same powers under a custom role's name (IAM permissions reference:
 * the project's IAM policy, custom roles, and impersonation of service accounts).
 */
const GCP_ESCALATING_PERMISSIONS = new Set([
  "resourcemanager.projects.setIamPolicy",
  "iam.roles.create",
  "iam.roles.update",
  "iam.serviceAccounts.actAs",
  "iam.serviceAccounts.getAccessToken",
  "iam.serviceAccounts.getOpenIdToken",
  "iam.serviceAccounts.implicitDelegation",
  "iam.serviceAccounts.signBlob",
  "iam.serviceAccounts.signJwt",
  "iam.serviceAccounts.setIamPolicy",
  "iam.serviceAccountKeys.create",
]);

/** What is wrong with one project IAM grant: a role with a path to owner, a project-wide service-account role, or IAM administration not limited to harmless roles. */
function gcpGrantProblems(member: Block, ctx: PolicyContext): string[] {
  const role = String(member.role);
  if (GCP_PROJECT_WIDE_SA_ROLES.has(role)) return [`role ${role} on the whole project reaches every service account (grant it on the service accounts that need it)`];
  // A custom role by reference, or by its literal name projects/<project>/roles/<role_id> resolved against the stack's custom roles.
  const literal = /^projects\/[^/]+\/roles\/([^/]+)$/.exec(role)?.[1];
  const custom = /\$\{google_project_iam_custom_role\.([^.}]+)\./.exec(role)?.[1] ?? resourcesOf(ctx.stack, "google_project_iam_custom_role").find(([, r]) => literal !== undefined && r.role_id === literal)?.[0];
  if (custom !== undefined) {
    const permissions = asList(ctx.stack.resource?.google_project_iam_custom_role?.[custom]?.permissions).map(String);
    return permissions.filter((permission) => GCP_ESCALATING_PERMISSIONS.has(permission)).map((permission) => `custom role ${custom} holds ${permission} on the whole project`);
  }
  if (!GCP_TOO_BROAD.has(role)) return [];
  if (role !== "roles/resourcemanager.projectIamAdmin") return [`role ${role}`];
  const roles = delegatedRoles(member.condition);
  if (roles === undefined) return [`role ${role} without a condition limiting the roles it may grant (modifiedGrantsByRole hasOnly)`];
  return roles.filter((granted) => GCP_TOO_BROAD.has(granted) || (granted.startsWith("roles/iam.") && !granted.endsWith("Viewer"))).map((granted) => `role ${role} may grant ${granted}`);
}

/** Whether a role's trust policy admits Terraform Cloud runs (`app.terraform.io:sub` of the workload identity token). */
const trustsTerraformCloud = (role: Block) => (policyDocument(masked(role.assume_role_policy)).Statement ?? []).some((s) => JSON.stringify(s.Condition ?? {}).includes(":sub\":") && JSON.stringify(s.Condition ?? {}).includes("organization:"));

const IAM_ROLE_WRITES = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy", "iam:PutRolePolicy"];
/** The policy-version actions that would rewrite the boundary policy itself (IAM API Reference, "Actions" of managed policies). */
const BOUNDARY_REWRITES = ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"];

/**
 * IAM user, group and credential writes (IAM Service Authorization Reference, "Actions defined by
 * AWS Identity and Access Management"): a user made by the run role carries no boundary (IAM User
 * Guide, "Permissions boundaries for IAM entities": a boundary applies to the entity it is set on),
 * so `CreateUser` + `AttachUserPolicy AdministratorAccess` + `CreateAccessKey` is account admin.
 */
const USER_CREDENTIAL_WRITES = [
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
];
/** What the run role must never do to itself: change or drop its own policies (the denies among them), its trust, or hand itself to a service. */
const SELF_CHANGES = ["iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"];
/** A role ARN of an account no statement names: only a pattern of every role matches it. */
const ANY_ROLE = "arn:aws:iam::000000000000:role/any-role";

/**
 * Whether an IAM pattern matches a name: IAM User Guide, "IAM JSON policy elements: Action"
 * (and Resource): `*` is any run of characters, `?` one character; action names are
 * case-insensitive. Terraform expressions (`${...}`) match only themselves.
 */
export const iamMatches = (pattern: unknown, name: string) =>
  String(pattern) === name || new RegExp(`^${String(pattern).replace(/[.+^${}()|[\]\\/]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(name);
/**
 * Whether a statement applies to an action: its `Action` patterns match it, or it has a
 * `NotAction` none of whose patterns match it (IAM User Guide, "IAM JSON policy elements:
 * NotAction": with Allow it grants every action not listed).
 */
export const coversAction = (statement: Block, action: string) =>
  statement.NotAction !== undefined ? !asList(statement.NotAction).some((pattern) => iamMatches(pattern, action)) : asList(statement.Action).some((pattern) => iamMatches(pattern, action));

/**
 * The Terraform Cloud run role carries no boundary (the boundary would cap it at what workloads
 * may do); instead its own policies must allow creating and changing roles only with the boundary
 * (`iam:PermissionsBoundary` condition) and deny removing a boundary (IAM User Guide, "Permissions
 * boundaries for IAM entities", delegating responsibility to others). What is wrong with its policies.
 */
function runRoleProblems(ctx: PolicyContext, id: string): string[] {
  const statements = companions(ctx, "aws_iam_role_policy", "role", "aws_iam_role", id).flatMap((policy) => policyDocument(masked(policy.policy)).Statement ?? []);
  const attached = companions(ctx, "aws_iam_role_policy_attachment", "role", "aws_iam_role", id).map((a) => String(a.policy_arn));
  const grants = (action: string) => (s: Block) => coversAction(s, action);
  const unbounded = statements.filter((s) => s.Effect === "Allow" && IAM_ROLE_WRITES.some((action) => grants(action)(s)) && at(s, "Condition.StringEquals.iam:PermissionsBoundary") === undefined);
  // The boundary policies the run role's role writes are conditioned on: a run must never rewrite them.
  const boundaries = [...new Set(statements.flatMap((s) => asList(at(s, "Condition.StringEquals.iam:PermissionsBoundary")).map(String)))];
  const denied = (action: string, resource: string) => statements.some((s) => s.Effect === "Deny" && grants(action)(s) && s.Condition === undefined && asList(s.Resource).some((pattern) => iamMatches(pattern, resource)));
  const allows = statements.filter((s) => s.Effect === "Allow");
  const sid = (s: Block) => `statement ${String(s.Sid ?? "(no Sid)")}`;
  // The roles a run may pass: the stack's own (by reference or by literal ARN of a role name of the stack).
  const role = ctx.stack.resource?.aws_iam_role?.[id] ?? {};
  const stackRoles = resourcesOf(ctx.stack, "aws_iam_role").filter(([other]) => other !== id);
  const ownRole = (pattern: string) =>
    stackRoles.some(([other, r]) => pattern === `\${aws_iam_role.${other}.arn}` || (/^arn:aws:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]+$/.test(pattern) && pattern.endsWith(`:role/${String(r.name)}`) && !/[*?]/.test(pattern)));
  const passRole = allows.filter(grants("iam:PassRole"));
  // The run role's own ARN, in the account its statements name.
  const account = /arn:aws:iam::(\d{12}):/.exec(JSON.stringify(statements.map((s) => s.Resource)))?.[1] ?? "000000000000";
  const self = `arn:aws:iam::${account}:role/${String(role.name)}`;
  const deniedOnSelf = (action: string) => statements.some((s) => s.Effect === "Deny" && grants(action)(s) && s.Condition === undefined && asList(s.Resource).some((pattern) => pattern === `\${aws_iam_role.${id}.arn}` || iamMatches(pattern, self)));
  return [
    ...attached.filter((arn) => /:policy\/(AdministratorAccess|IAMFullAccess|PowerUserAccess)$/.test(arn)).map((arn) => `the run role has ${arn.split("/").pop()} attached`),
    ...unbounded.map((s) => `statement ${String(s.Sid ?? "")} allows ${IAM_ROLE_WRITES.filter((action) => grants(action)(s)).join(", ")} without an iam:PermissionsBoundary condition`),
    // A Deny of some roles only leaves the others' boundaries removable: it must cover every role.
    ...(denied("iam:DeleteRolePermissionsBoundary", ANY_ROLE) ? [] : ["no statement denies iam:DeleteRolePermissionsBoundary on every role (Resource *)"]),
    ...allows.filter((s) => USER_CREDENTIAL_WRITES.some((action) => grants(action)(s))).map((s) => `${sid(s)} allows ${USER_CREDENTIAL_WRITES.filter((action) => grants(action)(s)).join(", ")}: users and keys carry no boundary`),
    ...(USER_CREDENTIAL_WRITES.filter((action) => !denied(action, "arn:aws:iam::000000000000:user/any-user")).length === 0 ? [] : [`no statement denies ${USER_CREDENTIAL_WRITES.filter((action) => !denied(action, "arn:aws:iam::000000000000:user/any-user")).join(", ")} on every resource`]),
    ...passRole.flatMap((s) => [
      ...(s.NotResource !== undefined ? [`${sid(s)} allows iam:PassRole with NotResource (every other role)`] : []),
      ...asList(s.Resource).filter((pattern) => !ownRole(String(pattern))).map((pattern) => `${sid(s)} allows iam:PassRole on ${String(pattern)}, not one of the stack's own roles`),
      ...(at(s, "Condition.StringEquals.iam:PassedToService") === undefined && at(s, "Condition.StringLike.iam:PassedToService") === undefined ? [`${sid(s)} allows iam:PassRole without an iam:PassedToService condition`] : []),
    ]),
    ...allows.filter((s) => grants("sts:AssumeRole")(s) && (s.NotResource !== undefined || asList(s.Resource).some((pattern) => iamMatches(pattern, ANY_ROLE)))).map((s) => `${sid(s)} allows sts:AssumeRole on every role`),
    ...(SELF_CHANGES.every(deniedOnSelf) ? [] : [`no statement denies ${SELF_CHANGES.filter((action) => !deniedOnSelf(action)).join(", ")} on the run role itself (${self})`]),
    ...boundaries.flatMap((boundary) => {
      const open = BOUNDARY_REWRITES.filter((action) => !denied(action, boundary));
      return open.length === 0 ? [] : [`no statement denies ${open.join(", ")} on the boundary policy ${boundary} (a run could widen every bounded role)`];
    }),
  ];
}

/** No static credentials, least privilege, no trust wider than one workload. */
export const IDENTITY: readonly Rule[] = [
  {
    id: "no-static-credentials",
    pack: "identity",
    title: "No long-lived keys or local accounts",
    fix: "use workload identity / OIDC federation instead of keys; disable shared keys and local cluster accounts",
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_iam_access_key", "aws_iam_user_login_profile", "aws_iam_user"], check: () => ["an IAM user or static key (use IRSA or Terraform Cloud's OIDC trust)"] },
      { cloud: "azure", kind: "infra", types: ["azurerm_storage_account"], check: (account) => expectValues(account, { shared_access_key_enabled: false, local_user_enabled: false }) },
      { cloud: "azure", kind: "infra", types: ["azurerm_kubernetes_cluster"], check: (cluster) => expectValue(cluster, "local_account_disabled", true) },
      { cloud: "gcp", kind: "infra", types: ["google_service_account_key", "google_storage_hmac_key"], check: () => ["a service account or HMAC key (use workload identity federation)"] },
    ],
  },
  {
    id: "federated-trust-scoped",
    pack: "identity",
    title: "Federated identities trust one workload, never a wildcard",
    fix: "trust exactly system:serviceaccount:<namespace>:<name> (or one Terraform Cloud workspace) with the provider's audience",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_iam_role"],
        check: (role) => (policyDocument(masked(role.assume_role_policy)).Statement ?? []).flatMap(trustProblems),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_federated_identity_credential"],
        check: (credential) => [
          ...(wildSubject(String(credential.subject ?? "*")) ? [`subject ${String(credential.subject)} has a wildcard`] : []),
          ...(asList(credential.audience).length === 1 ? [] : ["audience must name exactly one audience"]),
        ],
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_service_account_iam_member"],
        check: (member) => {
          if (member.role !== "roles/iam.workloadIdentityUser") return [];
          const who = String(member.member);
          if (/^serviceAccount:[^[]+\.svc\.id\.goog\[[a-z0-9-]+\/[a-z0-9-]+\]$/.test(who)) return [];
          if (/^principalSet:\/\/.+\/attribute\.[a-z_]+\/[^*/]+$/.test(who)) return [];
          return [`member ${who} is not one Kubernetes service account or one attribute value`];
        },
      },
    ],
  },
  {
    id: "no-wildcard-permissions",
    pack: "identity",
    title: "Inline policies grant no Action * (nor a pattern of every service, nor NotAction with Allow) on Resource *",
    fix: "list the actions and resources the identity needs",
    elsewhere: {
      gcp: "no custom role grants wildcards; broad predefined roles are no-owner-grants",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_iam_role_policy", "aws_iam_policy"],
        check: (policy) =>
          (policyDocument(masked(policy.policy)).Statement ?? [])
            .filter((s) => s.Effect === "Allow" && asList(s.Resource).includes("*"))
            .flatMap((s) => [
              // A pattern whose service part is a wildcard (`*`, `*:*`, `?am:*`...) matches actions of every service.
              ...(asList(s.Action).some((pattern) => iamMatches(pattern, "iam:CreateRole") && iamMatches(pattern, "s3:GetObject")) ? [`statement ${String(s.Sid ?? "")} allows every action on every resource`.replace("  ", " ")] : []),
              ...(s.NotAction !== undefined ? [`statement ${String(s.Sid ?? "")} allows every action but ${asList(s.NotAction).join(", ")} on every resource (NotAction with Allow)`.replace("  ", " ")] : []),
            ]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_role_definition"],
        check: (definition) => (asList(at(definition, "permissions.actions")).includes("*") ? ["permissions.actions includes *"] : []),
      },
    ],
  },
  {
    id: "no-owner-grants",
    pack: "identity",
    title: "No identity can make itself owner",
    fix: "grant the roles the stacks need instead of owner, editor or IAM administration; condition delegated role assignment",
    checks: [
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_role_assignment"],
        check: (assignment, ctx) => {
          const byId = String(assignment.role_definition_id ?? "");
          const builtIn = Object.entries(AZURE_ADMIN_ROLE_IDS).find(([, guid]) => byId.toLowerCase().endsWith(`/roledefinitions/${guid}`))?.[0];
          const role = builtIn ?? String(assignment.role_definition_name ?? "");
          if (role === "Owner") return ["the Owner role"];
          if (["User Access Administrator", "Role Based Access Control Administrator"].includes(role) && assignment.condition === undefined) return [`${role} without a condition on the roles it may assign`];
          // A custom role of the stack that may write role assignments is the same power under another name.
          const custom = /\$\{azurerm_role_definition\.([^.}]+)\./.exec(byId)?.[1];
          const actions = custom === undefined ? [] : asList(at(ctx.stack.resource?.azurerm_role_definition?.[custom] ?? {}, "permissions.actions")).map(String);
          if (actions.some(assignsRoles) && assignment.condition === undefined) return [`custom role ${custom ?? ""} may write role assignments, without a condition on the roles it may assign`];
          return [];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        // The same grant as a member, an authoritative binding (role, members, condition) or a whole
        // policy (policy_data: literal JSON or a data.google_iam_policy's binding blocks), on the
        // project, a folder or the organization (google v6.50.0 *_iam_member/_binding/_policy).
        types: ["google_project_iam_member", "google_project_iam_binding", "google_project_iam_policy", "google_folder_iam_member", "google_folder_iam_binding", "google_organization_iam_member", "google_organization_iam_binding"],
        check: (grant, ctx) => {
          if (grant.policy_data === undefined) return gcpGrantProblems(grant, ctx);
          const source = /\$\{data\.google_iam_policy\.([^.}]+)\.policy_data\}/.exec(String(grant.policy_data))?.[1];
          const data = source === undefined ? undefined : (ctx.stack.data as Record<string, Record<string, Block>> | undefined)?.google_iam_policy?.[source];
          if (source !== undefined && data === undefined) return [`policy_data reads data.google_iam_policy.${source}, not in this stack: its grants cannot be checked`];
          const fromData = data === undefined ? undefined : asList(at(data, "binding"));
          let bindings: unknown[] = fromData ?? [];
          if (fromData === undefined) {
            try {
              bindings = asList((JSON.parse(String(grant.policy_data)) as { bindings?: unknown }).bindings);
            } catch {
              return ["policy_data is neither JSON nor a data.google_iam_policy of this stack: its grants cannot be checked"];
            }
          }
          return bindings.flatMap((binding) => gcpGrantProblems(binding as Block, ctx));
        },
      },
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_iam_role"],
        // Every role the stacks create carries the workload boundary; the run role instead may create roles only with it.
        check: (role, ctx, id) => (typeof role.permissions_boundary === "string" ? [] : trustsTerraformCloud(role) ? runRoleProblems(ctx, id) : ["no permissions_boundary"]),
      },
    ],
  },
  {
    id: "cluster-sso-only",
    pack: "identity",
    title: "Cluster access goes through the cloud's identity, not cluster-local credentials",
    fix: "use EKS access entries (authentication mode API), Entra ID with Azure RBAC, and no GKE client certificate",
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_eks_cluster"], check: (cluster) => expectValue(cluster, "access_config.authentication_mode", "API") },
      { cloud: "azure", kind: "infra", types: ["azurerm_kubernetes_cluster"], check: (cluster) => expectValue(cluster, "azure_active_directory_role_based_access_control.azure_rbac_enabled", true) },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => (at(cluster, "master_auth.client_certificate_config.issue_client_certificate") === true ? ["master_auth issues a client certificate"] : []),
      },
    ],
  },
  {
    id: "database-identity-auth",
    pack: "identity",
    title: "Databases accept cloud-identity authentication",
    fix: "enable IAM database authentication (AWS, GCP); on Azure, Entra authentication with an Entra administrator when the spec names cluster.azure.adminGroupName",
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_db_instance"], check: (db) => (db.replicate_source_db !== undefined ? [] : expectValue(db, "iam_database_authentication_enabled", true)) },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        check: (db) => (asList(at(db, "settings.database_flags")).some((f) => at(f, "name") === "cloudsql.iam_authentication" && at(f, "value") === "on") ? [] : ["database flag cloudsql.iam_authentication is not on"]),
      },
      {
        // Entra authentication is on exactly when the spec names the admin group
        // (cluster.azure.adminGroupName, README "Azure defaults": with no administrator nobody could
        // use it), and then the server has an Entra administrator. Read replicas have no
        // authentication block: they take the primary's (create_mode Replica).
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        check: (db, ctx, id) => {
          if (db.create_mode === "Replica") return [];
          const enabled = at(db, "authentication.active_directory_auth_enabled") === true;
          const admin = companions(ctx, "azurerm_postgresql_flexible_server_active_directory_administrator", "server_name", "azurerm_postgresql_flexible_server", id).length > 0;
          const named = ctx.env?.cluster.azure?.adminGroupName !== undefined;
          return [
            ...(named && !enabled ? ["authentication.active_directory_auth_enabled is not true although the spec names cluster.azure.adminGroupName"] : []),
            ...(enabled && !admin ? ["Entra authentication is on with no Entra administrator for this server"] : []),
          ];
        },
      },
    ],
  },
  {
    id: "terraform-cloud-scoped",
    pack: "identity",
    title: "Terraform Cloud agents and state serve their own workspace only",
    fix: "keep agent pools organization_scoped = false (allowed workspaces listed) and global_remote_state = false",
    checks: [
      { cloud: "any", kind: "gitops", types: ["tfe_agent_pool"], check: (pool) => expectValue(pool, "organization_scoped", false) },
      { cloud: "any", kind: "gitops", types: ["tfe_workspace_settings"], check: (settings) => expectValue(settings, "global_remote_state", false) },
    ],
  },
];
