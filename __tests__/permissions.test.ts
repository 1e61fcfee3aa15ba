/**
 * Who applies each stack, and whether it can: the permission model of `__tests__/support/permissions.ts`
 * over every default environment's synthesized stacks (derived from `environments/`), and one
 * case per rule that the model must refuse, made by taking a grant away from real output.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environments } from "../environments";
import { Testing } from "cdktn";
import { parseEnvironment, parseEnvironments, specSecretNamesFor, type Environment, type EnvironmentInput } from "../constructs/core/spec";
import { specChecks } from "../stacks/app";
import { InfraStack } from "../stacks/infra";
import { stackJson, synthDefaults } from "./support/outdir";
import { awsBoundaryProblems, awsRoleMay, iamMatches, permissionProblems, userSecretReadProblems, type EnvironmentStacks, type StackJson } from "./support/permissions";

const outdir = synthDefaults();
const envs = parseEnvironments(environments);
const read = (stack: string): StackJson | undefined => (existsSync(join(outdir, "stacks", stack)) ? (JSON.parse(stackJson(outdir, stack)) as StackJson) : undefined);

function stacksOf(env: Environment): EnvironmentStacks {
  return { env, infra: read(`${env.name}-infra`) as StackJson, apps: read(`${env.name}-apps`), gitops: read("gitops") };
}

/** A deep copy of an environment's stacks with `change` applied, for the cases the model must refuse. */
function changed(env: Environment, change: (stacks: { infra: StackJson; apps?: StackJson; gitops?: StackJson }) => void): EnvironmentStacks {
  const copy = structuredClone(stacksOf(env));
  change(copy);
  return copy;
}

const resources = (stack: StackJson | undefined, type: string) => Object.entries(stack?.resource?.[type] ?? {});
const problemsOf = (stacks: EnvironmentStacks) => permissionProblems(stacks).map((p) => `${p.stack} ${p.address}: ${p.problem}`);
const firstOf = (cloud: Environment["cloud"]) => envs.find((env) => env.cloud === cloud && env.terraformCloud);

describe("every default environment: each stack's applier holds what each resource needs", () => {
  it.each(envs.map((env) => [env.name, env] as const))("%s", (_, env) => {
    expect(problemsOf(stacksOf(env))).toEqual([]);
  });
});

describe.each(["aws", "azure", "gcp"] as const)("the model refuses what %s would refuse", (cloud) => {
  const env = firstOf(cloud);
  it.skipIf(env === undefined)("an apps workspace on Terraform Cloud's hosted runners, which cannot reach a private API endpoint", () => {
    const stacks = changed(env as Environment, ({ gitops }) => {
      for (const [, settings] of resources(gitops, "tfe_workspace_settings")) settings.execution_mode = "remote";
    });
    expect(problemsOf(stacks).join("\n")).toContain("hosted runners have no fixed source range");
  });
});

describe("AWS rules", () => {
  const env = firstOf("aws");
  it.skipIf(env === undefined)("a run role without an EKS access entry", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      delete infra.resource?.aws_eks_access_entry;
    });
    expect(problemsOf(stacks).join("\n")).toContain("no EKS access entry");
  });
  const runRole = (infra: StackJson) => resources(infra, "aws_iam_role").find(([, role]) => String(role.assume_role_policy).includes("app.terraform.io"));
  const runPolicy = (infra: StackJson) => {
    const role = runRole(infra);
    return resources(infra, "aws_iam_role_policy").find(([, policy]) => String(policy.role).includes(`aws_iam_role.${role?.[0]}.`));
  };
  const attach = (infra: StackJson, name: string) => {
    const role = runRole(infra);
    infra.resource = { ...infra.resource, aws_iam_role_policy_attachment: { ...infra.resource?.aws_iam_role_policy_attachment, [`run-${name}`]: { role: `\${aws_iam_role.${role?.[0]}.name}`, policy_arn: `arn:aws:iam::aws:policy/${name}` } } };
  };
  it.skipIf(env === undefined)("a run role with PowerUserAccess instead of its policy, which may not write IAM roles", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      delete infra.resource?.aws_iam_role_policy[runPolicy(infra)?.[0] ?? ""];
      attach(infra, "PowerUserAccess");
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/aws_iam_role\.\S+: the Terraform Cloud run role may not call iam:CreateRole on arn:aws:iam::\d+:role\//);
  });
  it.skipIf(env === undefined)("a run role with AdministratorAccess as well: it could create unbounded roles, though its denials still hold", () => {
    const stacks = changed(env as Environment, ({ infra }) => attach(infra, "AdministratorAccess"));
    const problems = problemsOf(stacks).join("\n");
    expect(problems).toContain("the run role could create a role without a permissions boundary");
    expect(problems).toContain("the run role could create a role with AdministratorAccess as its boundary");
    expect(problems).toContain("the run role could create a policy of its own");
    // The explicit denials outlive any allow: IAM evaluates an explicit Deny first.
    for (const held of ["create an IAM user", "create an access key", "change the boundary policy", "delete the boundary policy", "remove a role's boundary", "let others assume it", "pass itself to a service", "put the boundary on itself"]) {
      expect(problems).not.toContain(`could ${held}`);
    }
  });
  it.skipIf(env === undefined)("its explicit denials and its exact role list each keep it off itself: without both (a name prefix, no denials) it could change itself", () => {
    const withoutDenials = (prefix: boolean) =>
      changed(env as Environment, ({ infra }) => {
        const [, policy] = runPolicy(infra) ?? [];
        if (!policy) throw new Error("no run role policy");
        const document = JSON.parse(String(policy.policy)) as { Statement: { Effect: string; Sid?: string; Resource?: unknown }[] };
        document.Statement = document.Statement.filter((statement) => statement.Effect !== "Deny");
        if (prefix) {
          for (const statement of document.Statement) {
            if (["EnvironmentRoles", "PassEnvironmentRolesToTheirServices", "RolesOnlyWithinTheBoundary"].includes(statement.Sid ?? "")) statement.Resource = `arn:aws:iam::${(env as Environment).accounts.aws?.accountId}:role/${(env as Environment).name}-*`;
          }
        }
        policy.policy = JSON.stringify(document);
      });
    expect(problemsOf(withoutDenials(false)).join("\n")).not.toContain("the run role could");
    const problems = problemsOf(withoutDenials(true)).join("\n");
    expect(problems).toContain("the run role could put an inline policy on itself once it carried the boundary");
    expect(problems).toContain("the run role could let others assume it");
  });
  it.skipIf(env === undefined)("role management by name prefix (role/<env>-*) and PassRole to any service: the run role could re-trust or pass roles the stacks did not create", () => {
    const name = (env as Environment).name;
    const stacks = changed(env as Environment, ({ infra }) => {
      const [, policy] = runPolicy(infra) ?? [];
      if (!policy) throw new Error("no run role policy");
      const document = JSON.parse(String(policy.policy)) as { Statement: { Sid?: string; Resource?: unknown; Condition?: unknown }[] };
      for (const statement of document.Statement) {
        if (statement.Sid === "EnvironmentRoles" || statement.Sid === "PassEnvironmentRolesToTheirServices" || statement.Sid === "RolesOnlyWithinTheBoundary") {
          statement.Resource = `arn:aws:iam::${(env as Environment).accounts.aws?.accountId}:role/${name}-*`;
          if (statement.Sid === "PassEnvironmentRolesToTheirServices") delete statement.Condition;
        }
      }
      policy.policy = JSON.stringify(document);
    });
    const problems = problemsOf(stacks).join("\n");
    expect(problems).toContain(`the run role could re-trust ${name}-admin, a role the stacks did not create`);
    expect(problems).toContain(`the run role could pass ${name}-admin, a role the stacks did not create, to EC2`);
    expect(problems).toContain(`the run role could delete ${name}-eu-admin, another environment's role`);
    expect(problems).toContain("the run role could pass an environment role to a service the stacks never hand it to (Lambda)");
  });
  it.skipIf(env === undefined)("a role the run role's policy does not name (a new app's identity) is the bootstrapper's to create", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      const [, role] = resources(infra, "aws_iam_role").find(([, r]) => String(r.name).endsWith("-app-external-secrets")) ?? [];
      if (!role) throw new Error("no external-secrets role");
      role.name = `${String(role.name)}-2`;
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/aws_iam_role\.\S+external-secrets\S*: the Terraform Cloud run role may not call iam:CreateRole on arn:aws:iam::\d+:role\/\S+-app-external-secrets-2/);
  });
  it.skipIf(env === undefined)("a role created without the boundary, or with another one, is refused to the run role", () => {
    for (const boundary of [undefined, "arn:aws:iam::aws:policy/AdministratorAccess"]) {
      const stacks = changed(env as Environment, ({ infra }) => {
        const [, role] = resources(infra, "aws_iam_role").find(([, r]) => String(r.name).endsWith("-app-external-secrets")) ?? [];
        if (!role) throw new Error("no external-secrets role");
        if (boundary === undefined) delete role.permissions_boundary;
        else role.permissions_boundary = boundary;
      });
      expect(problemsOf(stacks).join("\n")).toMatch(/aws_iam_role\.\S+external-secrets\S*: the Terraform Cloud run role may not call iam:CreateRole/);
      expect(awsBoundaryProblems(stacks).join("\n")).toMatch(/external-secrets\S*: (no permissions boundary|its boundary arn:aws:iam::aws:policy\/AdministratorAccess is not a policy of the stack)/);
    }
  });
  it.skipIf(env === undefined)("a resource type the model has no create action for", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      infra.resource = { ...infra.resource, aws_sqs_queue: { queue: { name: "x" } } };
    });
    expect(problemsOf(stacks).join("\n")).toContain("no create action is known for aws_sqs_queue");
  });
});

describe("AWS: what each role may really do is its policies cut by the workload boundary", () => {
  const awsEnvs = envs.filter((env) => env.cloud === "aws");
  it.each(awsEnvs.map((env) => [env.name, env] as const))("%s: every role but the run role carries the boundary, and the boundary allows all its policies grant", (_, env) => {
    expect(awsBoundaryProblems(stacksOf(env))).toEqual([]);
  });
  const env = awsEnvs.find((e) => e.apps.some((app) => app.name === "airflow" && app.bucket !== undefined));
  const airflowRole = `${env?.name}-app-airflow`;
  it.skipIf(env === undefined)("the boundary lets a workload do its job (airflow writes its bucket) and cuts what its policies would add beyond it", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      const [id] = resources(infra, "aws_iam_role").find(([, r]) => r.name === airflowRole) ?? [];
      const escalate = { Effect: "Allow", Action: ["iam:CreateUser", "iam:PassRole", "sts:AssumeRole", "s3:PutBucketPolicy", "kms:ScheduleKeyDeletion", "secretsmanager:PutSecretValue"], Resource: "*" };
      infra.resource = { ...infra.resource, aws_iam_role_policy: { ...infra.resource?.aws_iam_role_policy, widen: { role: `\${aws_iam_role.${id}.id}`, name: "widen", policy: JSON.stringify({ Version: "2012-10-17", Statement: [escalate] }) } } };
    });
    // Its bucket's objects, named as its policy names them (the bucket's ARN is known at apply only).
    const [roleId] = resources(stacks.infra, "aws_iam_role").find(([, r]) => r.name === airflowRole) ?? [];
    const objects = resources(stacks.infra, "aws_iam_role_policy")
      .filter(([, policy]) => String(policy.role).includes(`aws_iam_role.${roleId}.`))
      .flatMap(([, policy]) => (JSON.parse(String(policy.policy)) as { Statement: { Sid?: string; Resource?: string }[] }).Statement)
      .find((statement) => statement.Sid === "Objects" && String(statement.Resource).startsWith("${aws_s3_bucket."));
    expect(awsRoleMay(stacks, airflowRole, { action: "s3:PutObject", resource: String(objects?.Resource).replace(/\*$/, "dags/example.py") })).toBe(true);
    expect(awsRoleMay(stacks, airflowRole, { action: "s3:PutObject", resource: "arn:aws:s3:::another-bucket/key" })).toBe(false);
    const cut = ["iam:CreateUser", "iam:PassRole", "sts:AssumeRole", "s3:PutBucketPolicy", "kms:ScheduleKeyDeletion", "secretsmanager:PutSecretValue"];
    expect(cut.filter((action) => awsRoleMay(stacks, airflowRole, { action, resource: "*" }))).toEqual([]);
    expect(awsBoundaryProblems(stacks).filter((p) => p.includes("which its boundary cuts"))).toHaveLength(6);
  });
  it.skipIf(env === undefined)("a boundary whose data statements reach the whole account (Resource \"*\") is refused: another team's bucket, secret, key, parameter", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, policy] of resources(infra, "aws_iam_policy")) {
        const document = JSON.parse(String(policy.policy)) as { Statement: { Sid?: string; Resource?: unknown }[] };
        for (const statement of document.Statement) if (["BucketObjects", "ReadSecrets", "UseKeys", "NodesPublicParameters"].includes(statement.Sid ?? "")) statement.Resource = "*";
        policy.policy = JSON.stringify(document);
      }
    });
    const problems = awsBoundaryProblems(stacks).join("\n");
    for (const reach of ["s3:GetObject on arn:aws:s3:::another-team-bucket/key", "secretsmanager:GetSecretValue on arn:aws:secretsmanager:", "kms:Decrypt on arn:aws:kms:", "ssm:GetParameter on arn:aws:ssm:"]) expect(problems).toContain(`allows ${reach}`);
  });
  it.skipIf(env === undefined)("a boundary scoped so tightly that a workload loses its own bucket, secret or key is reported", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, policy] of resources(infra, "aws_iam_policy")) {
        const document = JSON.parse(String(policy.policy)) as { Statement: { Sid?: string; Resource?: unknown }[] };
        for (const statement of document.Statement) {
          if (statement.Sid === "BucketObjects") statement.Resource = ["arn:aws:s3:::other-*", "arn:aws:s3:::other-*/*"];
          if (statement.Sid === "ReadSecrets") statement.Resource = "arn:aws:secretsmanager:*:*:secret:other-*";
          if (statement.Sid === "UseKeys") statement.Resource = "arn:aws:kms:*:999999999999:key/*";
        }
        policy.policy = JSON.stringify(document);
      }
    });
    const problems = awsBoundaryProblems(stacks).join("\n");
    expect(problems).toMatch(/identity-airflow\S*: its policies grant s3:PutObject on \$\{aws_s3_bucket\.[^}]+\.arn\}\/\*, which its boundary cuts/);
    expect(problems).toMatch(/external-secrets\S*: its policies grant secretsmanager:GetSecretValue on \$\{aws_db_instance\.[^}]+\}, which its boundary cuts/);
    expect(problems).toMatch(/cluster-role\S*: its policies grant kms:CreateGrant on \*, which its boundary cuts/);
  });
  it.skipIf(env === undefined)("a boundary that forgot a service the workloads use is reported for each role that needs it", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, policy] of resources(infra, "aws_iam_policy")) {
        const document = JSON.parse(String(policy.policy)) as { Statement: { Sid?: string }[] };
        document.Statement = document.Statement.filter((statement) => statement.Sid !== "ReadSecrets");
        policy.policy = JSON.stringify(document);
      }
    });
    expect(awsBoundaryProblems(stacks).join("\n")).toMatch(/external-secrets\S*: its policies grant secretsmanager:GetSecretValue on .*, which its boundary cuts/);
  });
});

describe("Azure rules", () => {
  const env = firstOf("azure");
  it.skipIf(env === undefined)("management locks without the lock role", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [name, assignment] of resources(infra, "azurerm_role_assignment")) {
        if (assignment.role_definition_id !== undefined) delete infra.resource?.azurerm_role_assignment[name];
      }
      // Non-production environments hold no lock: add the one production puts on each database.
      infra.resource = { ...infra.resource, azurerm_management_lock: { lock: { name: "delete-lock", lock_level: "CanNotDelete", scope: "/subscriptions/x" } } };
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/azurerm_management_lock\.\S+: the Terraform Cloud run identity holds no role allowing Microsoft\.Authorization\/locks\/write/);
  });
  it.skipIf(env === undefined)("a role assignment the RBAC Administrator condition does not delegate", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      const [, first] = resources(infra, "azurerm_role_assignment").find(([, a]) => a.role_definition_name === "Reader") ?? [];
      if (first) first.role_definition_name = "Owner";
    });
    expect(problemsOf(stacks).join("\n")).toContain("does not allow assigning Owner");
  });
  it.skipIf(env === undefined)("a customer-managed key's role under a condition written before it (the run identity's assignment is not re-applied)", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, assignment] of resources(infra, "azurerm_role_assignment")) {
        if (typeof assignment.condition === "string") assignment.condition = assignment.condition.replaceAll(", e147488a-f6f5-4113-8e2d-b22465e65bf6", "");
      }
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/storage-encryption_key-access\S*: the run identity's role assignment condition does not allow assigning Key Vault Crypto Service Encryption User/);
  });
  it.skipIf(env === undefined)("AKS KMS's roles under a condition written before them (the run identity's assignment is not re-applied)", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, assignment] of resources(infra, "azurerm_role_assignment")) {
        if (typeof assignment.condition === "string") assignment.condition = assignment.condition.replaceAll(", 12338af0-0e69-4776-bea7-57ae8d297424", "").replaceAll(", f25e0fa2-a7c8-4377-a976-54943a77a395", "");
      }
    });
    const problems = problemsOf(stacks).join("\n");
    expect(problems).toMatch(/control-plane-secrets-key\S*: the run identity's role assignment condition does not allow assigning Key Vault Crypto User/);
    expect(problems).toMatch(/control-plane-key-vault-link\S*: the run identity's role assignment condition does not allow assigning Key Vault Contributor/);
  });
  it.skipIf(env === undefined)("a secret written through a vault data plane whose firewall denies by default", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      const [vaultName, vault] = resources(infra, "azurerm_key_vault")[0] ?? [];
      if (!vault) return;
      vault.network_acls = { default_action: "Deny", bypass: "AzureServices", ip_rules: [] };
      infra.resource = { ...infra.resource, azurerm_key_vault_secret: { secret: { name: "s", key_vault_id: `\${azurerm_key_vault.${vaultName}.id}` } } };
    });
    expect(problemsOf(stacks).join("\n")).toContain("written through the vault's data plane, whose firewall denies by default");
  });
  it.skipIf(env === undefined)("a role assignment to whoever runs Terraform", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      const [, first] = resources(infra, "azurerm_role_assignment")[0] ?? [];
      if (first) first.principal_id = "${data.azurerm_client_config.applier.object_id}";
    });
    expect(problemsOf(stacks).join("\n")).toContain("assigned to whoever runs Terraform (azurerm_client_config)");
  });
  it.skipIf(env === undefined)("a run identity that is not an AKS RBAC cluster admin", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [name, assignment] of resources(infra, "azurerm_role_assignment")) {
        if (assignment.role_definition_name === "Azure Kubernetes Service RBAC Cluster Admin") delete infra.resource?.azurerm_role_assignment[name];
      }
    });
    expect(problemsOf(stacks).join("\n")).toContain("is not an AKS RBAC cluster admin");
  });
});

describe("GCP rules", () => {
  const env = firstOf("gcp");
  const runAccount = (infra: StackJson) => resources(infra, "google_project_iam_member").filter(([name]) => name.includes("terraform-cloud-trust"));
  const without = (role: string) =>
    changed(env as Environment, ({ infra }) => {
      for (const [name, member] of runAccount(infra)) if (member.role === role) delete infra.resource?.google_project_iam_member[name];
    });
  /** Adds `role` to the run account, as an unconditioned project grant like its others. */
  const withRole = (role: string) =>
    changed(env as Environment, ({ infra }) => {
      const [, first] = runAccount(infra)[0] ?? [];
      if (first) infra.resource = { ...infra.resource, google_project_iam_member: { ...infra.resource?.google_project_iam_member, "extra-role": { ...first, role } } };
    });
  /** Rewrites the run account's grant condition. */
  const withCondition = (change: (expression: string) => string | undefined) =>
    changed(env as Environment, ({ infra }) => {
      for (const [, member] of runAccount(infra)) {
        const condition = member.condition as { expression: string } | undefined;
        if (!condition) continue;
        const expression = change(condition.expression);
        if (expression === undefined) delete member.condition;
        else condition.expression = expression;
      }
    });

  it.skipIf(env === undefined)("the run account holds none of owner, editor, securityAdmin, roleAdmin", () => {
    const roles = runAccount(stacksOf(env as Environment).infra).map(([, member]) => member.role);
    expect(roles.filter((role) => ["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/iam.roleAdmin"].includes(String(role)))).toEqual([]);
  });
  it.skipIf(env === undefined)("roles/iam.roleAdmin added back: a path to owner", () => {
    expect(problemsOf(withRole("roles/iam.roleAdmin")).join("\n")).toMatch(/holds roles\/iam\.roleAdmin[\s\S]*roles\/iam\.roleAdmin without a grant condition allows iam\.roles\.create, iam\.roles\.update/);
  });
  it.skipIf(env === undefined)("roles/iam.securityAdmin or roles/editor added back", () => {
    expect(problemsOf(withRole("roles/iam.securityAdmin")).join("\n")).toContain("roles/iam.securityAdmin without a grant condition allows resourcemanager.projects.setIamPolicy: the run account can grant itself roles/owner");
    expect(problemsOf(withRole("roles/editor")).join("\n")).toContain("holds roles/editor");
  });
  it.skipIf(env === undefined)("a role the model does not know", () => {
    expect(problemsOf(withRole("roles/iam.organizationRoleAdmin")).join("\n")).toContain("is not in the model's role table");
  });
  it.skipIf(env === undefined)("projectIamAdmin without its condition", () => {
    expect(problemsOf(withCondition(() => undefined)).join("\n")).toContain("roles/resourcemanager.projectIamAdmin without a grant condition allows resourcemanager.projects.setIamPolicy");
  });
  it.skipIf(env === undefined)("projectIamAdmin under a condition the model cannot read counts as unconditioned", () => {
    expect(problemsOf(withCondition(() => "request.time < timestamp('2030-01-01T00:00:00Z')")).join("\n")).toContain("without a grant condition");
  });
  it.skipIf(env === undefined)("a grant condition that lets it grant owner or projectIamAdmin", () => {
    expect(problemsOf(withCondition((e) => e.replace("hasOnly([", "hasOnly(['roles/owner', "))).join("\n")).toContain("its condition lets the run account grant roles/owner, a path to owner");
    expect(problemsOf(withCondition((e) => e.replace("hasOnly([", "hasOnly(['roles/resourcemanager.projectIamAdmin', "))).join("\n")).toContain("grant roles/resourcemanager.projectIamAdmin, a path to owner");
  });
  it.skipIf(env === undefined)("a custom role it may grant and, with roleAdmin, edit", () => {
    expect(problemsOf(withRole("roles/iam.roleAdmin")).join("\n")).toMatch(/grant the custom role projects\/[^/]+\/roles\/\w+, which it may also edit/);
  });
  it.skipIf(env === undefined)("a project grant the condition does not name", () => {
    expect(problemsOf(withCondition((e) => e.replace("'roles/logging.logWriter', ", ""))).join("\n")).toMatch(/google_project_iam_member\.\S+: the Terraform Cloud service account may not grant roles\/logging\.logWriter/);
  });
  it.skipIf(env === undefined)("serviceAccountUser or serviceAccountAdmin on the project: every service account of the project, ones the stacks did not create included", () => {
    expect(problemsOf(withRole("roles/iam.serviceAccountUser")).join("\n")).toContain("roles/iam.serviceAccountUser on the project allows iam.serviceAccounts.actAs on every service account of the project");
    expect(problemsOf(withRole("roles/iam.serviceAccountAdmin")).join("\n")).toContain("roles/iam.serviceAccountAdmin on the project allows iam.serviceAccounts.setIamPolicy on every service account of the project");
    expect(problemsOf(withRole("roles/iam.serviceAccountTokenCreator")).join("\n")).toContain("allows iam.serviceAccounts.getAccessToken");
  });
  it.skipIf(env === undefined)("workloadIdentityPoolAdmin: the run account could rewrite its own trust anchor", () => {
    expect(problemsOf(withRole("roles/iam.workloadIdentityPoolAdmin")).join("\n")).toContain("could rewrite its own trust anchor");
  });
  const accountGrants = (infra: StackJson) => resources(infra, "google_service_account_iam_member").filter(([name]) => name.includes("terraform-cloud-trust") && !name.includes("workspace-"));
  it.skipIf(env === undefined)("serviceAccountAdmin or tokenCreator on the run account itself: it could let anyone become it", () => {
    for (const role of ["roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountTokenCreator"]) {
      const stacks = changed(env as Environment, ({ infra }) => {
        const [, first] = accountGrants(infra)[0] ?? [];
        const [, workspace] = resources(infra, "google_service_account_iam_member").find(([name]) => name.includes("terraform-cloud-trust_workspace-")) ?? [];
        if (!first || !workspace) throw new Error("no run account grants");
        infra.resource = { ...infra.resource, google_service_account_iam_member: { ...infra.resource?.google_service_account_iam_member, "on-itself": { ...first, role, service_account_id: workspace.service_account_id } } };
      });
      expect(problemsOf(stacks).join("\n")).toContain(`${role} on the run account itself allows`);
    }
  });
  it.skipIf(env === undefined)("node pools and agents without serviceAccountUser on the accounts they run as; a workload's binding without the account's admin grant", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [name] of accountGrants(infra)) delete infra.resource?.google_service_account_iam_member[name];
    });
    const problems = problemsOf(stacks).join("\n");
    expect(problems).toMatch(/google_container_node_pool\.\S+: the Terraform Cloud service account lacks iam\.serviceAccounts\.actAs on google_service_account\.\S*node-service-account/);
    expect(problems).toMatch(/google_compute_instance_template\.\S+: the Terraform Cloud service account lacks iam\.serviceAccounts\.actAs on google_service_account\.\S*terraform-cloud-agent/);
    expect(problems).toMatch(/google_service_account_iam_member\.\S*identity-airflow\S*: the Terraform Cloud service account lacks iam\.serviceAccounts\.setIamPolicy on google_service_account\.\S*identity-airflow/);
  });
  it.skipIf(env === undefined)("a workload service account the run account holds no grant on (made after the trust): it cannot manage it", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [name] of accountGrants(infra)) if (name.includes("manage-") && name.includes("airflow")) delete infra.resource?.google_service_account_iam_member[name];
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/google_service_account\.\S*identity-airflow\S*: the Terraform Cloud service account lacks iam\.serviceAccounts\.update on google_service_account\./);
  });
  it.skipIf(env === undefined)("Cloud SQL without roles/cloudsql.admin", () => {
    expect(problemsOf(without("roles/cloudsql.admin")).join("\n")).toMatch(/google_sql_database_instance\.\S+: .* lacks cloudsql\.instances\.create/);
  });
  it.skipIf(env === undefined)("firewall rules with networkAdmin alone", () => {
    expect(problemsOf(without("roles/compute.securityAdmin")).join("\n")).toMatch(/google_compute_firewall\.\S+: .* lacks compute\.firewalls\.create/);
  });
  it.skipIf(env === undefined)("the charts' ClusterRoles without roles/container.admin", () => {
    expect(problemsOf(without("roles/container.admin")).join("\n")).toContain("needs roles/container.admin");
  });
});

/**
 * The monitoring namespace's secret reader (External Secrets' SecretStore there authenticates as
 * it) reads exactly the secrets the spec names, on every cloud, and never a database admin secret.
 */
describe("the secret reader of the monitoring namespace", () => {
  const namesOf = (env: Environment) => specSecretNamesFor(env, "monitoring-secrets");
  const readerProblems = (stacks: EnvironmentStacks) => userSecretReadProblems(stacks, namesOf(stacks.env)).join("\n");
  const named = (cloud: Environment["cloud"]) => envs.find((env) => env.cloud === cloud && namesOf(env).length > 0);

  it("exists on every cloud among the default environments", () => {
    expect((["aws", "azure", "gcp"] as const).filter((cloud) => named(cloud) === undefined)).toEqual([]);
  });

  it.each(envs.map((env) => [env.name, env] as const))("%s: reads exactly the secrets its spec names", (_, env) => {
    expect(userSecretReadProblems(stacksOf(env), namesOf(env))).toEqual([]);
  });

  it("IAM wildcards: ? is exactly one character, * any run", () => {
    expect(iamMatches("arn:x:secret:a-??????", "arn:x:secret:a-AbC123")).toBe(true);
    expect(iamMatches("arn:x:secret:a-??????", "arn:x:secret:a-b-AbC123")).toBe(false);
    expect(iamMatches("arn:x:secret:*", "arn:x:secret:rds!db-1-AbC123")).toBe(true);
  });

  const aws = named("aws");
  const policies = (infra: StackJson) => resources(infra, "aws_iam_role_policy").filter(([name]) => name.includes("monitoring-secrets"));
  it.skipIf(aws === undefined)("AWS: refuses a pattern that reaches every secret, admin ones included", () => {
    const stacks = changed(aws as Environment, ({ infra }) => {
      for (const [, policy] of policies(infra)) policy.policy = String(policy.policy).replace(/secret:[^"]+-\?{6}/g, "secret:*");
    });
    expect(readerProblems(stacks)).toContain("matches an RDS-managed admin secret");
  });
  it.skipIf(aws === undefined)("AWS: refuses a grant of the database admin secret", () => {
    const stacks = changed(aws as Environment, ({ infra }) => {
      const [, admin] = resources(infra, "aws_iam_role_policy").find(([name]) => name.includes("admin-secret-read")) ?? [];
      const [, mine] = policies(infra)[0] ?? [];
      if (admin && mine) mine.policy = admin.policy;
    });
    expect(readerProblems(stacks)).toMatch(/a secret the stack creates[\s\S]*cannot read/);
  });
  it.skipIf(aws === undefined)("AWS: refuses a prefix pattern, which also reads longer names", () => {
    const stacks = changed(aws as Environment, ({ infra }) => {
      for (const [, policy] of policies(infra)) policy.policy = String(policy.policy).replace(/-\?{6}"/, '*"');
    });
    expect(readerProblems(stacks)).toContain("matches a secret the spec does not name");
  });

  const azure = named("azure");
  const assignments = (infra: StackJson) => resources(infra, "azurerm_role_assignment").filter(([name]) => name.includes("monitoring-secrets"));
  it.skipIf(azure === undefined)("Azure: refuses Key Vault Secrets User on the whole vault", () => {
    const stacks = changed(azure as Environment, ({ infra }) => {
      const [, first] = assignments(infra)[0] ?? [];
      if (first) first.scope = String(first.scope).replace(/\/secrets\/.*$/, "");
    });
    expect(readerProblems(stacks)).toMatch(/not at one secret of the environment's vault[\s\S]*cannot read/);
  });
  const userSecrets = (infra: StackJson) => resources(infra, "azapi_resource").filter(([, r]) => String(r.type).startsWith("Microsoft.KeyVault/vaults/secrets@") && assignments(infra).some(([, a]) => String(a.scope).endsWith(`/secrets/${String(r.name)}`)));
  it.skipIf(azure === undefined)("Azure: each named secret is created (disabled, placeholder write-only, never rewritten) before its grant, so a new environment applies in one go", () => {
    const stacks = stacksOf(azure as Environment);
    expect(userSecrets(stacks.infra).map(([, r]) => r.name).sort()).toEqual([...new Set(namesOf(azure as Environment))].sort());
  });
  it.skipIf(azure === undefined)("Azure: refuses a grant on a secret the stack does not create (the first apply would fail on its scope)", () => {
    const stacks = changed(azure as Environment, ({ infra }) => {
      for (const [name] of userSecrets(infra)) delete infra.resource?.azapi_resource[name];
    });
    expect(readerProblems(stacks)).toContain("no azapi_resource creates the secret");
  });
  it.skipIf(azure === undefined)("Azure: refuses a grant that does not wait for its secret, a placeholder Terraform would rewrite, an enabled placeholder, a value in the state", () => {
    const stacks = changed(azure as Environment, ({ infra }) => {
      for (const [, assignment] of assignments(infra)) delete assignment.depends_on;
      const [, secret] = userSecrets(infra)[0] ?? [];
      if (secret) {
        secret.lifecycle = { prevent_destroy: false };
        secret.body = { properties: { value: "x", attributes: { enabled: true } } };
      }
    });
    const problems = readerProblems(stacks);
    expect(problems).toContain("may run before the secret exists");
    expect(problems).toContain("writes the placeholder over the user's value");
    expect(problems).toContain("would be synced as the credential");
    expect(problems).toContain("stored in the state");
  });
  it.skipIf(azure === undefined)("Azure: refuses a missing grant", () => {
    const stacks = changed(azure as Environment, ({ infra }) => {
      const [name] = assignments(infra)[0] ?? [];
      if (name) delete infra.resource?.azurerm_role_assignment[name];
    });
    expect(readerProblems(stacks)).toContain("cannot read");
  });

  const gcp = named("gcp");
  const members = (infra: StackJson) => resources(infra, "google_project_iam_member").filter(([name]) => name.includes("user-secrets-read"));
  it.skipIf(gcp === undefined)("GCP: refuses a condition on a prefix of every secret", () => {
    const stacks = changed(gcp as Environment, ({ infra }) => {
      for (const [, member] of members(infra)) (member.condition as { expression: string }).expression = 'resource.name.startsWith("projects/1/secrets/")';
    });
    expect(readerProblems(stacks)).toContain("does not name one whole secret");
  });
  it.skipIf(gcp === undefined)("GCP: refuses secretAccessor without a condition", () => {
    const stacks = changed(gcp as Environment, ({ infra }) => {
      for (const [, member] of members(infra)) delete member.condition;
    });
    expect(readerProblems(stacks)).toContain("without a condition");
  });
});

describe("production on Azure (environments/ switched to Azure)", () => {
  // Production adds the paired region's vault, its PostgreSQL geo-backup key, an identity there
  // and its "Key Vault Crypto Service Encryption User" assignment, which the run identity must be
  // allowed to make under its RBAC Administrator condition.
  const production = environments.filter((input) => input.production === true && input.accounts?.azure !== undefined && input.terraformCloud !== undefined);
  it.each(production.map((input) => [input.name, input] as const))("%s: the run identity holds what each resource needs", (_, input) => {
    const env = parseEnvironment({ ...input, cloud: "azure" } as EnvironmentInput, specChecks);
    const infra = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson;
    const geo = resources(infra, "azurerm_role_assignment").filter(([name]) => name.includes("postgres-geo-encryption"));
    expect(geo.length).toBe(1);
    expect(problemsOf({ env, infra })).toEqual([]);
    // Without the encryption role among the delegable ones, the model refuses the geo key's assignment.
    const refused = structuredClone(infra);
    for (const [, assignment] of resources(refused, "azurerm_role_assignment")) {
      if (typeof assignment.condition === "string") assignment.condition = assignment.condition.replaceAll("e147488a-f6f5-4113-8e2d-b22465e65bf6", "00000000-0000-0000-0000-000000000000");
    }
    expect(problemsOf({ env, infra: refused }).join("\n")).toMatch(/postgres-geo-encryption_key-access/);
  });
});
