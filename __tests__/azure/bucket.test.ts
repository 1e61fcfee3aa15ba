import { describe, expect, it } from "vitest";
import { SpecError } from "../../constructs/core/errors";
import { synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, providerFeatures, ref } from "./fixtures";

describe("Azure storage (buckets)", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());
  const account = staging.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/);

  it("is one ADLS Gen2 account per environment (hierarchical namespace on)", () => {
    const spec = azureSpec();
    const twoBuckets = synthInfra({ ...spec, buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data" }] });
    expect(twoBuckets.all("azurerm_storage_account").filter((account) => account.is_hns_enabled === true)).toHaveLength(1);
    expect(account).toMatchObject({ is_hns_enabled: true, account_kind: "StorageV2", account_tier: "Standard" });
  });

  it("is named from the environment and a hash of the subscription: 3-24 lowercase alphanumerics, deterministic", () => {
    const name = String(account.name);
    expect(name).toMatch(/^test[0-9a-f]{8}$/);
    expect(synthInfra(azureSpec()).find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).name).toBe(name);
    const otherSubscription = synthInfra({ ...azureSpec(), accounts: { azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-00000000000f", tenantId: "00000000-0000-4000-8000-000000000002" } } });
    expect(otherSubscription.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).name).not.toBe(name);
    const longest = synthInfra({ ...azureSpec(), name: "abcdefgh-ijklmno" }).find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).name;
    expect(longest).toMatch(/^[a-z0-9]{3,24}$/);
    expect(String(longest)).toHaveLength(23);
  });

  it("requires TLS 1.2 and HTTPS", () => {
    expect(account).toMatchObject({ min_tls_version: "TLS1_2", https_traffic_only_enabled: true });
  });

  it("allows no anonymous (public) blob access", () => {
    expect(account.allow_nested_items_to_be_public).toBe(false);
    expect(staging.one("azurerm_storage_container").container_access_type).toBe("private");
  });

  it("disables shared keys: Entra ID only", () => {
    expect(account).toMatchObject({ shared_access_key_enabled: false, default_to_oauth_authentication: true, local_user_enabled: false });
    expect(staging.json.provider?.azurerm?.[0]).toMatchObject({ storage_use_azuread: true });
  });

  it("disables public network access and denies by default behind it", () => {
    expect(account.public_network_access_enabled).toBe(false);
    // No address admitted, written empty: azurerm keeps an Optional and Computed ip_rules left out (a stage 1 list would stay).
    expect(account.network_rules).toEqual({ default_action: "Deny", bypass: ["AzureServices"], ip_rules: [] });
  });

  it("is reached through private endpoints for blob and dfs, in privatelink zones linked to the VNet", () => {
    const endpoints = staging.all("azurerm_private_endpoint").filter((endpoint) => /azurerm_storage_account\./.test(JSON.stringify(endpoint)));
    expect(endpoints.map((endpoint) => (endpoint.private_service_connection as TfBlock).subresource_names)).toEqual([["blob"], ["dfs"]]);
    for (const endpoint of endpoints) {
      expect(endpoint.subnet_id).toMatch(ref("azurerm_subnet", "id", "private-endpoints"));
      expect((endpoint.private_service_connection as TfBlock).is_manual_connection).toBe(false);
    }
    expect((endpoints[0].private_dns_zone_group as TfBlock).private_dns_zone_ids).toEqual([expect.stringMatching(ref("azurerm_private_dns_zone", "id", "privatelink-blob"))]);
    expect((endpoints[1].private_dns_zone_group as TfBlock).private_dns_zone_ids).toEqual([expect.stringMatching(ref("azurerm_private_dns_zone", "id", "privatelink-dfs"))]);
  });

  it("manages storage through Resource Manager only, since the data plane is private", () => {
    const features = providerFeatures(staging);
    expect(features.storage).toEqual([{ data_plane_available: false }]);
    expect(staging.one("azurerm_storage_container")).toMatchObject({ storage_account_id: expect.stringMatching(ref("azurerm_storage_account", "id")) });
    expect(staging.one("azurerm_storage_container")).not.toHaveProperty("storage_account_name");
  });

  it("encrypts twice (infrastructure encryption)", () => {
    expect(account.infrastructure_encryption_enabled).toBe(true);
  });

  it("is zone-redundant, geo-zone-redundant in production", () => {
    expect(account.account_replication_type).toBe("ZRS");
    expect(prod.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).account_replication_type).toBe("GZRS");
  });

  it("soft-deletes blobs and containers: 7 days, 30 in production", () => {
    expect(account.blob_properties).toEqual({ delete_retention_policy: { days: 7 }, container_delete_retention_policy: { days: 7 } });
    expect(prod.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).blob_properties).toEqual({ delete_retention_policy: { days: 30 }, container_delete_retention_policy: { days: 30 } });
  });

  it("creates one private container per spec bucket", () => {
    const spec = azureSpec();
    const twoBuckets = synthInfra({ ...spec, buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data" }] });
    const containers = twoBuckets.all("azurerm_storage_container").map((c) => [c.name, c.metadata]);
    expect(containers).toHaveLength(2);
    expect(containers).toEqual(expect.arrayContaining([["logs", { purpose: "logs" }], ["lake", { purpose: "data" }]]));
  });

  it("expires objects after the spec's expirationDays, per container", () => {
    const policy = staging.one("azurerm_storage_management_policy");
    expect(policy.storage_account_id).toMatch(ref("azurerm_storage_account", "id"));
    expect(policy.rule).toEqual([
      {
        name: "expire-logs",
        enabled: true,
        filters: { blob_types: ["blockBlob", "appendBlob"], prefix_match: ["logs/"] },
        actions: { base_blob: { delete_after_days_since_creation_greater_than: 30 } },
      },
    ]);
    const keepForever = synthInfra({ ...azureSpec(), buckets: [{ name: "logs", purpose: "logs" }] });
    expect(keepForever.all("azurerm_storage_management_policy")).toHaveLength(0);
    const spec = azureSpec();
    const two = synthInfra({ ...spec, buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data", expirationDays: 365 }] });
    expect((two.one("azurerm_storage_management_policy").rule as TfBlock[]).map((rule) => rule.name)).toEqual(["expire-logs", "expire-lake"]);
  });

  it("is never destroyed by a plan in production", () => {
    // customer_managed_key belongs to azurerm_storage_account_customer_managed_key (azurerm's advice when both exist).
    expect(account.lifecycle).toEqual({ prevent_destroy: false, ignore_changes: ["customer_managed_key"] });
    expect(prod.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).lifecycle).toEqual({ prevent_destroy: true, ignore_changes: ["customer_managed_key"] });
  });

  it("gives apps an abfss:// URL", () => {
    const name = String(account.name);
    expect(staging.json.output?.bucket_logs_url).toMatchObject({ value: `abfss://logs@${name}.dfs.core.windows.net` });
  });

  it("refuses a bucket name that cannot be a container name", () => {
    const bad = { ...azureSpec(), buckets: [{ name: "ab", purpose: "logs" as const }], apps: [] };
    expect(() => synthInfra(bad)).toThrow(SpecError);
    expect(() => synthInfra(bad)).toThrow(/buckets\[0\]\.name: given "ab"/);
  });
});
