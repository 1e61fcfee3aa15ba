/**
 * Who applies each stack, and whether it can: the permission model of `__tests__/support/permissions.ts`
 * over every default environment's synthesized stacks (derived from `environments/`), and one
 * case per rule that the model must refuse, made by taking a grant away from real output.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environments } from "../environments";
import { parseEnvironments, type Environment } from "../constructs/core/spec";
import { stackJson, synthDefaults } from "./support/outdir";
import { permissionProblems, type EnvironmentStacks, type StackJson } from "./support/permissions";

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
