import { describe, expect, it } from "vitest";
import { Aspects, Testing, TerraformResource, TerraformStack } from "cdktn";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { AzureEnvironmentTags } from "../../constructs/azure/tags";
import { AZURE_RESOURCE_TYPES } from "../../constructs/azure";
import { parseEnvironment } from "../../constructs/core/spec";
import { InfraStack } from "../../stacks/infra";
import { SynthesizedStack, synthInfra } from "../support/synth";
import { environments } from "../../environments";
import { azureProductionSpec, azureSpec, providerFeatures, SUBSCRIPTION_ID, TENANT_ID } from "./fixtures";
import { keyVaultDataPlaneUsers, nonDeterministicPrincipals } from "./rules";

const ENVIRONMENT_TAGS = { environment: "test", owner: "platform-team", "cost-centre": "cc-42", "managed-by": "cdktf", "data-classification": "internal" };

describe("Azure platform", () => {
  it("configures azurerm for the spec's subscription and tenant, with Entra ID for storage", () => {
    const provider = synthInfra(azureSpec()).json.provider?.azurerm?.[0];
    expect(provider).toMatchObject({ subscription_id: SUBSCRIPTION_ID, tenant_id: TENANT_ID, storage_use_azuread: true });
  });

  it("refuses to delete non-empty resource groups and never purges key vaults", () => {
    const features = providerFeatures(synthInfra(azureSpec()));
    expect(features.resource_group).toEqual([{ prevent_deletion_if_contains_resources: true }]);
    expect(features.key_vault).toEqual([expect.objectContaining({ purge_soft_delete_on_destroy: false })]);
  });

  it("configures the random provider and the cloud's providers only (azapi for the Key Vault secrets)", () => {
    const stack = synthInfra(azureSpec());
    expect(Object.keys(stack.json.provider ?? {}).sort()).toEqual(["azapi", "azurerm", "random"]);
    expect(Object.keys((stack.json.terraform as { required_providers: object }).required_providers).sort()).toEqual(["azapi", "azurerm", "random"]);
  });

  it("in every Azure environment of environments/: no Key Vault data-plane access, deterministic principals only", () => {
    const azure = environments.filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) {
      const stack = synthInfra(env);
      expect({ env: env.name, dataPlane: keyVaultDataPlaneUsers(stack), principals: nonDeterministicPrincipals(stack) }).toEqual({ env: env.name, dataPlane: [], principals: [] });
      for (const vault of stack.all("azurerm_key_vault")) expect(vault.public_network_access_enabled).toBe(false);
    }
  });

  it("synthesizes every resource type of the parity table", () => {
    const stack = synthInfra(azureProductionSpec());
    const listed = Object.entries(AZURE_RESOURCE_TYPES).flatMap(([concept, types]) => (types.length === 0 ? [`${concept}: (none)`] : types.map((type) => `${concept}: ${type}`)));
    const missing = listed.filter((entry) => entry.endsWith("(none)") || stack.all(entry.split(": ")[1]).length === 0);
    expect(missing).toEqual([]);
  });

  describe("tags", () => {
    const app = Testing.app();
    const infra = new InfraStack(app, parseEnvironment({ ...azureSpec(), tags: { "data-classification": "internal" } }));
    const stack = new SynthesizedStack(Testing.synth(infra));
    // Taggable = the provider schema has a top-level `tags` argument, which the generated binding exposes as `tagsInput`.
    const taggable = infra.node.findAll().filter((node): node is TerraformResource => node instanceof TerraformResource && "tagsInput" in node);

    it("puts the environment's tags on every taggable resource (Key Vault secrets: see below)", () => {
      expect(taggable.length).toBeGreaterThan(20);
      for (const resource of taggable) {
        const block = stack.resources(resource.terraformResourceType)[resource.friendlyUniqueId];
        expect({ resource: `${resource.terraformResourceType}.${resource.friendlyUniqueId}`, tags: block.tags }).toEqual({
          resource: `${resource.terraformResourceType}.${resource.friendlyUniqueId}`,
          tags: expect.objectContaining(ENVIRONMENT_TAGS),
        });
      }
      const taggedTypes = new Set(taggable.map((resource) => resource.terraformResourceType));
      for (const type of ["azurerm_resource_group", "azurerm_virtual_network", "azurerm_kubernetes_cluster", "azurerm_kubernetes_cluster_node_pool", "azurerm_storage_account", "azurerm_postgresql_flexible_server", "azurerm_key_vault", "azurerm_user_assigned_identity"]) {
        expect(taggedTypes).toContain(type);
      }
    });

    it("leaves resources without a tags argument untouched", () => {
      for (const type of ["azurerm_role_assignment", "azurerm_federated_identity_credential", "azurerm_storage_container", "azurerm_subnet"]) {
        for (const block of stack.all(type)) expect(block).not.toHaveProperty("tags");
      }
    });

    it("puts only the platform's tags on Key Vault secrets, which take at most 15", () => {
      const { "data-classification": _extra, ...platform } = ENVIRONMENT_TAGS;
      for (const secret of stack.all("azapi_resource")) {
        expect(secret.tags).toMatchObject(platform);
        expect(secret.tags).not.toHaveProperty("data-classification");
      }
      expect(stack.all("azapi_resource").length).toBeGreaterThan(0);
    });

    it("keeps a resource's own tags next to the environment's", () => {
      expect(stack.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).tags).toEqual({ ...ENVIRONMENT_TAGS, purpose: "data-lake" });
    });

    it("lets a resource's own tag win when its key clashes with an environment tag", () => {
      const clashApp = Testing.app();
      const clashStack = new TerraformStack(clashApp, "clash");
      Aspects.of(clashStack).add(new AzureEnvironmentTags(ENVIRONMENT_TAGS));
      new ResourceGroup(clashStack, "group", { name: "g", location: "westeurope", tags: { "data-classification": "confidential" } });
      const group = new SynthesizedStack(Testing.synth(clashStack)).one("azurerm_resource_group");
      expect(group.tags).toEqual({ ...ENVIRONMENT_TAGS, "data-classification": "confidential" });
    });
  });
});
