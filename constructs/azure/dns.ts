import { Construct } from "constructs";
import { Fn } from "cdktn";
import { DnsZone } from "@cdktf/provider-azurerm/lib/dns-zone";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import type { IDnsZone, IWorkloadIdentity } from "../core/interfaces";
import { AZURE_ROLES, type AzureContext } from "./context";
import { AzureWorkloadIdentity } from "./identity";

/**
 * The resource group of the environment's public DNS zone, `<env>-dns-rg`. external-dns lists the
 * zones of one resource group (`ListByResourceGroup`), which Azure RBAC only allows with read
 * access on the group itself; a group that holds nothing but the zone keeps that read access from
 * reaching the rest of the environment.
 */
export function dnsResourceGroupName(ctx: AzureContext): string {
  return ctx.name("dns-rg");
}

/**
 * The public Azure DNS zone of `dns.zone`, where external-dns writes the apps' records. Delegate it
 * from the parent zone with `nameServers`.
 * - It lives in a resource group of its own (`<env>-dns-rg`, same region as the environment):
 *   external-dns needs "Reader" on the group that holds its zones to list them, and that group
 *   then exposes nothing else. Both are `prevent_destroy` in production: a recreated zone gets
 *   new name servers, and every delegation to it breaks.
 * - `grantRecordsWrite` gives "DNS Zone Contributor" on this zone only (records, not other zones)
 *   and "Reader" on the zone's group, exactly what the external-dns tutorial for Azure lists.
 */
export class AzureDnsZone extends Construct implements IDnsZone {
  readonly resourceGroup: ResourceGroup;
  readonly zone: DnsZone;
  readonly zoneName: string;
  /** The zone's name servers joined by "," (a token until apply). */
  readonly nameServers: string;

  constructor(scope: Construct, id: string, ctx: AzureContext, zoneName: string) {
    super(scope, id);
    this.zoneName = zoneName;
    const lifecycle = { preventDestroy: ctx.env.production };
    this.resourceGroup = new ResourceGroup(this, "resource-group", {
      name: dnsResourceGroupName(ctx),
      location: ctx.location,
      lifecycle,
    });
    this.zone = new DnsZone(this, "Resource", {
      name: zoneName,
      resourceGroupName: this.resourceGroup.name,
      lifecycle,
    });
    this.nameServers = Fn.join(",", this.zone.nameServers);
  }

  grantRecordsWrite(identity: IWorkloadIdentity): void {
    if (!(identity instanceof AzureWorkloadIdentity)) {
      throw new TypeError(`an Azure DNS zone can only be granted to an Azure workload identity, not ${identity.workload}'s`);
    }
    identity.assignRole("dns-zone-records", this.zone.id, AZURE_ROLES.dnsZoneContributor);
    identity.assignRole("dns-zone-list", this.resourceGroup.id, AZURE_ROLES.reader);
  }
}
