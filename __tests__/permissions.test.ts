/**
 * Who applies each stack, and whether it can: the permission model of `__tests__/support/permissions.ts`
 * over every default environment's synthesized stacks (derived from `environments/`), and one
 * case per rule that the model must refuse, made by taking a grant away from real output.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environments } from "../environments";
import { parseEnvironments, specSecretNames, type Environment } from "../constructs/core/spec";
import { stackJson, synthDefaults } from "./support/outdir";
import { iamMatches, permissionProblems, userSecretReadProblems, type EnvironmentStacks, type StackJson } from "./support/permissions";

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
  it.skipIf(env === undefined)("a run role with PowerUserAccess, which may not write IAM roles", () => {
    const stacks = changed(env as Environment, ({ infra }) => {
      for (const [, attachment] of resources(infra, "aws_iam_role_policy_attachment")) {
        if (attachment.policy_arn === "arn:aws:iam::aws:policy/AdministratorAccess") attachment.policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess";
      }
    });
    expect(problemsOf(stacks).join("\n")).toMatch(/aws_iam_role\.\S+: the Terraform Cloud run role \(arn:aws:iam::aws:policy\/PowerUserAccess\) may not call iam:\*/);
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
  const without = (role: string) =>
    changed(env as Environment, ({ infra }) => {
      for (const [name, member] of resources(infra, "google_project_iam_member")) if (member.role === role) delete infra.resource?.google_project_iam_member[name];
    });
  it.skipIf(env === undefined)("IAM bindings without roles/iam.securityAdmin", () => {
    expect(problemsOf(without("roles/iam.securityAdmin")).join("\n")).toMatch(/google_\w+_iam_member\.\S+: .* lacks setIamPolicy/);
  });
  it.skipIf(env === undefined)("the charts' ClusterRoles without roles/container.admin", () => {
    expect(problemsOf(without("roles/container.admin")).join("\n")).toContain("needs roles/container.admin");
  });
  it.skipIf(env === undefined)("a custom role without roles/iam.roleAdmin", () => {
    expect(problemsOf(without("roles/iam.roleAdmin")).join("\n")).toMatch(/google_project_iam_custom_role\.\S+: .* lacks iam\.roles\.create/);
  });
});

/**
 * The monitoring namespace's secret reader (External Secrets' SecretStore there authenticates as
 * it) reads exactly the secrets the spec names, on every cloud, and never a database admin secret.
 */
describe("the secret reader of the monitoring namespace", () => {
  const namesOf = (env: Environment) => specSecretNames(env).map((secret) => secret.name);
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
