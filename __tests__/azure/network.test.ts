import { describe, expect, it } from "vitest";
import { synthInfra } from "../support/synth";
import { azureProductionSpec, azureSpec, ref } from "./fixtures";

describe("Azure network", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());

  it("puts everything in one resource group per environment, protected in production", () => {
    expect(staging.one("azurerm_resource_group")).toMatchObject({ name: "test-rg", location: "westeurope", lifecycle: { prevent_destroy: false } });
    expect(prod.one("azurerm_resource_group")).toMatchObject({ name: "live-rg", lifecycle: { prevent_destroy: true } });
    for (const type of ["azurerm_virtual_network", "azurerm_subnet", "azurerm_nat_gateway", "azurerm_kubernetes_cluster", "azurerm_storage_account", "azurerm_postgresql_flexible_server", "azurerm_key_vault"]) {
      for (const resource of staging.all(type)) expect(resource.resource_group_name).toMatch(ref("azurerm_resource_group", "name"));
    }
  });

  it("spans the spec CIDR with a VNet", () => {
    expect(staging.one("azurerm_virtual_network")).toMatchObject({ address_space: ["10.42.0.0/16"], location: "westeurope" });
  });

  it("plans literal subnet ranges from the neutral plan: nodes, private endpoints, database", () => {
    expect(staging.find("azurerm_subnet", "_nodes_").address_prefixes).toEqual(["10.42.0.0/19"]);
    expect(staging.find("azurerm_subnet", "private-endpoints").address_prefixes).toEqual(["10.42.128.0/21"]);
    expect(staging.find("azurerm_subnet", "_postgres_").address_prefixes).toEqual(["10.42.160.0/21"]);
    for (const subnet of staging.all("azurerm_subnet")) expect(subnet.virtual_network_name).toMatch(ref("azurerm_virtual_network", "name"));
  });

  it("delegates the database subnet to PostgreSQL Flexible Server", () => {
    expect(staging.find("azurerm_subnet", "_postgres_").delegation).toEqual([
      {
        name: "postgres-flexible-servers",
        service_delegation: { name: "Microsoft.DBforPostgreSQL/flexibleServers", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] },
      },
    ]);
    expect(staging.find("azurerm_subnet", "_nodes_")).not.toHaveProperty("delegation");
  });

  it("applies network policies to private endpoints", () => {
    expect(staging.find("azurerm_subnet", "private-endpoints").private_endpoint_network_policies).toBe("Enabled");
  });

  it("turns off implicit default outbound access on every subnet", () => {
    const subnets = staging.all("azurerm_subnet");
    expect(subnets).toHaveLength(4);
    for (const subnet of subnets) expect(subnet.default_outbound_access_enabled).toBe(false);
  });

  it("sends node egress through a Standard NAT gateway with a static Standard public IP", () => {
    expect(staging.one("azurerm_nat_gateway")).toMatchObject({ sku_name: "Standard" });
    expect(staging.one("azurerm_public_ip")).toMatchObject({ sku: "Standard", allocation_method: "Static" });
    expect(staging.one("azurerm_nat_gateway_public_ip_association")).toMatchObject({
      nat_gateway_id: expect.stringMatching(ref("azurerm_nat_gateway", "id")),
      public_ip_address_id: expect.stringMatching(ref("azurerm_public_ip", "id")),
    });
    expect(staging.one("azurerm_subnet_nat_gateway_association")).toMatchObject({
      subnet_id: expect.stringMatching(ref("azurerm_subnet", "id", "_nodes_")),
      nat_gateway_id: expect.stringMatching(ref("azurerm_nat_gateway", "id")),
    });
  });

  it("links every private DNS zone to the VNet, without auto-registration", () => {
    const zones = staging.all("azurerm_private_dns_zone").map((zone) => zone.name);
    expect(zones.sort()).toEqual(["privatelink.blob.core.windows.net", "privatelink.dfs.core.windows.net", "privatelink.vaultcore.azure.net", "test.private.postgres.database.azure.com"]);
    const links = staging.all("azurerm_private_dns_zone_virtual_network_link");
    expect(links).toHaveLength(zones.length);
    for (const link of links) {
      expect(link).toMatchObject({ registration_enabled: false, virtual_network_id: expect.stringMatching(ref("azurerm_virtual_network", "id")) });
    }
  });
});
