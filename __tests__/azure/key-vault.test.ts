import { describe, expect, it } from "vitest";
import { synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, providerFeatures, ref, TENANT_ID, withCluster } from "./fixtures";

describe("Azure Key Vault", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());
  const vault = staging.one("azurerm_key_vault");

  it("authorizes with Azure RBAC, not access policies", () => {
    expect(vault).toMatchObject({ rbac_authorization_enabled: true, tenant_id: TENANT_ID });
    expect(vault).not.toHaveProperty("access_policy");
    expect(vault).not.toHaveProperty("enable_rbac_authorization");
  });

  it("has purge protection and keeps deleted items 90 days", () => {
    expect(vault).toMatchObject({ purge_protection_enabled: true, soft_delete_retention_days: 90 });
  });

  it("is never purged by the provider on destroy", () => {
    const features = providerFeatures(staging);
    expect(features.key_vault).toEqual([expect.objectContaining({ purge_soft_delete_on_destroy: false, purge_soft_deleted_secrets_on_destroy: false })]);
  });

  it("denies network access by default, letting through Azure services only", () => {
    expect(vault.network_acls).toEqual({ default_action: "Deny", bypass: "AzureServices", ip_rules: [] });
  });

  it("admits the spec's public CIDRs, so the runner applying Terraform can write secrets", () => {
    const open = synthInfra(withCluster(azureSpec(), { publicAccessCidrs: ["203.0.113.0/24", "198.51.100.7/32"] }));
    expect(open.one("azurerm_key_vault").network_acls).toMatchObject({ default_action: "Deny", ip_rules: ["203.0.113.0/24", "198.51.100.7"] });
  });

  it("is reachable through a private endpoint in the privatelink zone", () => {
    const endpoint = staging.find("azurerm_private_endpoint", "key-vault");
    expect(endpoint.subnet_id).toMatch(ref("azurerm_subnet", "id", "private-endpoints"));
    expect(endpoint.private_service_connection).toMatchObject({
      subresource_names: ["vault"],
      private_connection_resource_id: expect.stringMatching(ref("azurerm_key_vault", "id")),
    });
    expect((endpoint.private_dns_zone_group as TfBlock).private_dns_zone_ids).toEqual([expect.stringMatching(ref("azurerm_private_dns_zone", "id", "vaultcore"))]);
  });

  it("lets the applying identity write secrets on this vault only, before any secret is written", () => {
    const role = staging.find("azurerm_role_assignment", "secrets-officer");
    expect(role).toMatchObject({
      role_definition_name: "Key Vault Secrets Officer",
      scope: expect.stringMatching(ref("azurerm_key_vault", "id")),
      principal_id: expect.stringMatching(/^\$\{data\.azurerm_client_config\.[^.]+\.object_id\}$/),
    });
    expect(staging.one("azurerm_key_vault_secret").depends_on).toContainEqual(expect.stringMatching(/^azurerm_role_assignment\..*secrets-officer/));
  });

  it("has a globally unique name of at most 24 characters and is protected in production", () => {
    expect(String(vault.name)).toMatch(/^test-kv-[0-9a-f]{8}$/);
    const longest = synthInfra({ ...azureSpec(), name: "abcdefgh-ijklmno" }).one("azurerm_key_vault").name;
    expect(String(longest)).toMatch(/^abcdefgh-ijklmno-kv-[0-9a-f]{4}$/);
    expect(vault.lifecycle).toEqual({ prevent_destroy: false });
    expect(prod.one("azurerm_key_vault").lifecycle).toEqual({ prevent_destroy: true });
  });
});
