import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { AzurePlatform } from "../../constructs/azure";
import { AZURE_ROLE_IDS, AZURE_ROLES } from "../../constructs/azure/context";
import { delegableRolesCondition } from "../../constructs/azure/terraform-cloud";
import { parseEnvironment } from "../../constructs/core/spec";
import type { TerraformCloudTarget } from "../../constructs/core/interfaces";
import { SynthesizedStack } from "../support/synth";
import { azureSpec, ref, SUBSCRIPTION_ID, TENANT_ID } from "./fixtures";

const TARGET: TerraformCloudTarget = { organization: "acme-data", project: "data-platform", workspaces: ["test-infra", "test-apps"] };

/** Privileged built-in roles the runs must never be able to hand out. */
const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
const RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";

function synthTrust(target: TerraformCloudTarget = TARGET) {
  const scope = new TerraformStack(Testing.app(), "trust");
  const platform = new AzurePlatform(scope, "platform", parseEnvironment(azureSpec()));
  const trust = platform.terraformCloudTrust(target);
  new TerraformOutput(scope, "variables", { value: trust.workspaceVariables });
  return { platform, trust, stack: new SynthesizedStack(Testing.synth(scope)) };
}

describe("Azure Terraform Cloud trust", () => {
  const { stack, trust } = synthTrust();
  const identityRef = (attribute: string) => expect.stringMatching(ref("azurerm_user_assigned_identity", attribute, "terraform-cloud-trust"));

  it("is one user-assigned identity, <env>-terraform-cloud, in the environment's resource group, tagged", () => {
    expect(stack.one("azurerm_user_assigned_identity")).toMatchObject({
      name: "test-terraform-cloud",
      location: "westeurope",
      resource_group_name: expect.stringMatching(ref("azurerm_resource_group", "name", "platform_resource-group")),
      tags: expect.objectContaining({ environment: "test", "managed-by": "cdktf" }),
    });
    expect(stack.one("azurerm_resource_group")).toMatchObject({ name: "test-rg" });
    expect(Object.keys(stack.resources("azurerm_user_assigned_identity"))[0]).toContain("terraform-cloud-trust");
  });

  it("trusts exactly each workspace in each run phase, from app.terraform.io, for token exchange", () => {
    const credentials = stack.all("azurerm_federated_identity_credential");
    expect(credentials).toHaveLength(4);
    expect(credentials.map((credential) => credential.subject).sort()).toEqual([
      "organization:acme-data:project:data-platform:workspace:test-apps:run_phase:apply",
      "organization:acme-data:project:data-platform:workspace:test-apps:run_phase:plan",
      "organization:acme-data:project:data-platform:workspace:test-infra:run_phase:apply",
      "organization:acme-data:project:data-platform:workspace:test-infra:run_phase:plan",
    ]);
    for (const credential of credentials) {
      expect(credential).toMatchObject({
        issuer: "https://app.terraform.io",
        audience: ["api://AzureADTokenExchange"],
        parent_id: identityRef("id"),
        resource_group_name: expect.stringMatching(ref("azurerm_resource_group", "name", "platform_resource-group")),
      });
    }
    expect(stack.find("azurerm_federated_identity_credential", "test-infra-plan").name).toBe("tfc-test-infra-plan");
  });

  it("gives the runs Contributor and a constrained RBAC Administrator on the subscription, and lock management on the resource group, nothing else", () => {
    const roles = stack.all("azurerm_role_assignment").filter((role) => role.role_definition_name !== undefined);
    expect(roles.map((role) => role.role_definition_name).sort()).toEqual(["Contributor", "Role Based Access Control Administrator"]);
    for (const role of roles) {
      expect(role).toMatchObject({ scope: `/subscriptions/${SUBSCRIPTION_ID}`, principal_id: identityRef("principal_id"), principal_type: "ServicePrincipal" });
    }
    expect(stack.find("azurerm_role_assignment", "role-contributor").condition).toBeUndefined();
    expect(roles.map((role) => role.role_definition_name)).not.toContain("Owner");
    expect(roles.map((role) => role.role_definition_name)).not.toContain("User Access Administrator");
  });

  it("lets the runs write and delete management locks (Contributor cannot), on the environment's resource group only", () => {
    const definition = stack.one("azurerm_role_definition");
    expect(definition.permissions).toEqual([{ actions: ["Microsoft.Authorization/locks/read", "Microsoft.Authorization/locks/write", "Microsoft.Authorization/locks/delete"] }]);
    const resourceGroup = expect.stringMatching(new RegExp(`^/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/\\$\\{azurerm_resource_group\\.`));
    expect(definition).toMatchObject({ scope: resourceGroup, assignable_scopes: [resourceGroup] });
    expect(stack.find("azurerm_role_assignment", "role-locks")).toMatchObject({
      scope: resourceGroup,
      role_definition_id: expect.stringMatching(/azurerm_role_definition\..*\.role_definition_resource_id/),
      principal_id: identityRef("principal_id"),
    });
  });

  it("lets the runs assign and remove only the platform's own built-in roles", () => {
    const rbac = stack.find("azurerm_role_assignment", "role-rbac-administrator");
    expect(rbac.condition_version).toBe("2.0");
    const condition = String(rbac.condition);
    expect(condition).toBe(delegableRolesCondition());
    expect(condition).toContain("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals");
    expect(condition).toContain("@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals");
    for (const id of Object.values(AZURE_ROLE_IDS)) expect(condition.split(id)).toHaveLength(3); // once per clause
    for (const id of [OWNER, USER_ACCESS_ADMINISTRATOR, RBAC_ADMINISTRATOR]) expect(condition).not.toContain(id);
  });

  it("can still remove the Key Vault Secrets Officer assignments earlier versions made", () => {
    // No longer assigned, but deleting the old assignment needs its role id in the @Resource clause.
    expect(delegableRolesCondition()).toContain(`@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {`);
    expect(delegableRolesCondition().split(AZURE_ROLE_IDS.keyVaultSecretsOfficer)).toHaveLength(3);
  });

  it("knows the id of every role the platform assigns", () => {
    expect(Object.keys(AZURE_ROLE_IDS).sort()).toEqual(Object.keys(AZURE_ROLES).sort());
    for (const id of Object.values(AZURE_ROLE_IDS)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(Object.values(AZURE_ROLE_IDS)).size).toBe(Object.keys(AZURE_ROLE_IDS).length);
  });

  it("gives the workspaces the documented variables, the client id a reference to the identity", () => {
    expect(Object.keys(trust.workspaceVariables).sort()).toEqual(["ARM_SUBSCRIPTION_ID", "ARM_TENANT_ID", "TFC_AZURE_PROVIDER_AUTH", "TFC_AZURE_RUN_CLIENT_ID"]);
    expect(stack.json.output?.variables?.value).toEqual({
      TFC_AZURE_PROVIDER_AUTH: "true",
      TFC_AZURE_RUN_CLIENT_ID: identityRef("client_id"),
      ARM_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
      ARM_TENANT_ID: TENANT_ID,
    });
  });

  it("holds no secret: no client secret, certificate, password or key anywhere", () => {
    const resourceTypes = Object.keys(stack.json.resource ?? {}).sort();
    expect(resourceTypes).toEqual(["azurerm_federated_identity_credential", "azurerm_resource_group", "azurerm_role_assignment", "azurerm_role_definition", "azurerm_user_assigned_identity"]);
    expect(stack.text).not.toMatch(/ARM_CLIENT_SECRET|client_secret|certificate|password|TFC_AZURE_RUN_CLIENT_SECRET/i);
    expect(Object.keys(trust.workspaceVariables).some((name) => /SECRET|PASSWORD|KEY/i.test(name))).toBe(false);
  });

  it("is created once per environment; another target is refused", () => {
    const scope = new TerraformStack(Testing.app(), "twice");
    const platform = new AzurePlatform(scope, "platform", parseEnvironment(azureSpec()));
    const first = platform.terraformCloudTrust(TARGET);
    expect(platform.terraformCloudTrust({ ...TARGET, workspaces: [...TARGET.workspaces] })).toBe(first);
    expect(() => platform.terraformCloudTrust({ ...TARGET, project: "other" })).toThrow(/one Terraform Cloud trust per environment/);
  });

  it("refuses an empty, repeated or too long workspace list with the reason", () => {
    expect(() => synthTrust({ ...TARGET, workspaces: [] })).toThrow(/at least one workspace/);
    expect(() => synthTrust({ ...TARGET, workspaces: ["test-infra", "test-infra"] })).toThrow(/test-infra more than once/);
    const eleven = Array.from({ length: 11 }, (_, index) => `ws-${index}`);
    expect(() => synthTrust({ ...TARGET, workspaces: eleven })).toThrow(/20 federated credentials per managed identity.*at most 10/);
  });

  it("adds nothing to a platform that does not ask for it", () => {
    const scope = new TerraformStack(Testing.app(), "none");
    const platform = new AzurePlatform(scope, "platform", parseEnvironment(azureSpec()));
    platform.network();
    const without = new SynthesizedStack(Testing.synth(scope));
    expect(without.all("azurerm_user_assigned_identity")).toHaveLength(0);
    expect(without.text).not.toContain("terraform-cloud");
  });
});
