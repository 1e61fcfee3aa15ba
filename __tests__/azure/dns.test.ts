import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { AzurePlatform } from "../../constructs/azure";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import type { IWorkloadIdentity } from "../../constructs/core/interfaces";
import { SynthesizedStack } from "../support/synth";
import { azureProductionSpec, azureSpec, ref } from "./fixtures";

const ZONE = "data.example.com";

function synthZone(input: EnvironmentInput, grant: boolean) {
  const scope = new TerraformStack(Testing.app(), "dns");
  const platform = new AzurePlatform(scope, "platform", parseEnvironment(input));
  const zone = platform.dnsZone(ZONE);
  if (grant) zone.grantRecordsWrite(platform.workloadIdentity("external-dns", platform.cluster(platform.network())));
  new TerraformOutput(scope, "name_servers", { value: zone.nameServers });
  return { zone, platform, stack: new SynthesizedStack(Testing.synth(scope)) };
}

describe("Azure public DNS zone", () => {
  const staging = synthZone(azureSpec(), true);
  const prod = synthZone(azureProductionSpec(), false);

  it("is an Azure DNS zone in a resource group of its own, in the environment's region", () => {
    const zone = staging.stack.one("azurerm_dns_zone");
    expect(zone.name).toBe(ZONE);
    expect(zone.resource_group_name).toMatch(ref("azurerm_resource_group", "name", "dns-zone_resource-group"));
    expect(staging.stack.find("azurerm_resource_group", "dns-zone")).toMatchObject({ name: "test-dns-rg", location: "westeurope" });
    expect(staging.zone.zoneName).toBe(ZONE);
  });

  it("carries the environment's tags", () => {
    expect(staging.stack.one("azurerm_dns_zone").tags).toMatchObject({ environment: "test", "managed-by": "cdktf" });
  });

  it("cannot be destroyed by a plan in production only, zone and group alike", () => {
    expect(prod.stack.one("azurerm_dns_zone").lifecycle).toEqual({ prevent_destroy: true });
    expect(prod.stack.one("azurerm_resource_group").lifecycle).toEqual({ prevent_destroy: true });
    expect(staging.stack.one("azurerm_dns_zone").lifecycle).toEqual({ prevent_destroy: false });
  });

  it("needs nothing else of the environment: no network, cluster or environment resource group", () => {
    expect(Object.keys(prod.stack.json.resource ?? {}).sort()).toEqual(["azurerm_dns_zone", "azurerm_resource_group"]);
  });

  it("gives the name servers joined by commas", () => {
    expect(staging.stack.json.output?.name_servers?.value).toMatch(/^\$\{join\(",", tolist\(azurerm_dns_zone\.platform_dns-zone_[A-F0-9]+\.name_servers\)\)\}$/);
  });

  it("grants DNS Zone Contributor on that zone only, and Reader on the zone's own group to list it", () => {
    const roles = Object.entries(staging.stack.resources("azurerm_role_assignment")).filter(([id]) => id.includes("identity-external-dns"));
    const principal = expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "identity-external-dns"));
    expect(roles).toHaveLength(2);
    expect(roles.map(([, role]) => role)).toEqual(expect.arrayContaining([
      expect.objectContaining({ role_definition_name: "DNS Zone Contributor", scope: expect.stringMatching(ref("azurerm_dns_zone", "id", "dns-zone")), principal_id: principal, principal_type: "ServicePrincipal" }),
      expect.objectContaining({ role_definition_name: "Reader", scope: expect.stringMatching(ref("azurerm_resource_group", "id", "dns-zone_resource-group")), principal_id: principal, principal_type: "ServicePrincipal" }),
    ]));
    // Never the environment's resource group, which holds the vault, storage and cluster.
    for (const [, role] of roles) expect(role.scope).not.toMatch(ref("azurerm_resource_group", "id", "platform_resource-group"));
  });

  it("refuses an identity of another cloud", () => {
    const foreign: IWorkloadIdentity = { workload: "external-dns", namespace: "external-dns", serviceAccount: "external-dns", serviceAccountAnnotations: {} };
    expect(() => staging.zone.grantRecordsWrite(foreign)).toThrow(TypeError);
  });

  it("is one zone per environment: the same name gives the same zone, another name is refused", () => {
    const platform = new AzurePlatform(new TerraformStack(Testing.app(), "twice"), "platform", parseEnvironment(azureSpec()));
    expect(platform.dnsZone(ZONE)).toBe(platform.dnsZone(ZONE));
    expect(() => platform.dnsZone("other.example.com")).toThrow(/one DNS zone per environment/);
  });
});
