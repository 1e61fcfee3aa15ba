import { Construct } from "constructs";
import { VirtualNetwork } from "@cdktf/provider-azurerm/lib/virtual-network";
import { Subnet, type SubnetConfig } from "@cdktf/provider-azurerm/lib/subnet";
import { PublicIp } from "@cdktf/provider-azurerm/lib/public-ip";
import { NatGateway } from "@cdktf/provider-azurerm/lib/nat-gateway";
import { NatGatewayPublicIpAssociation } from "@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association";
import { SubnetNatGatewayAssociation } from "@cdktf/provider-azurerm/lib/subnet-nat-gateway-association";
import { PrivateDnsZone } from "@cdktf/provider-azurerm/lib/private-dns-zone";
import { PrivateDnsZoneVirtualNetworkLink } from "@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link";
import { PrivateEndpoint } from "@cdktf/provider-azurerm/lib/private-endpoint";
import type { INetwork } from "../core/interfaces";
import { planSubnets } from "../core/network-plan";
import type { AzureContext } from "./context";

export interface AzureNetworkProps {
  readonly ctx: AzureContext;
}

/** A private DNS zone and its link to the environment's VNet. */
export interface LinkedDnsZone {
  readonly zone: PrivateDnsZone;
  /** Resources that resolve names in the zone at creation should depend on the link. */
  readonly link: PrivateDnsZoneVirtualNetworkLink;
}

export interface PrivateEndpointProps {
  /** Resource name of the endpoint. */
  readonly name: string;
  /** ARM id of the resource the endpoint connects to. */
  readonly resourceId: string;
  /** The sub-resource (group id) to connect: `blob`, `dfs`, `vault`. */
  readonly subresource: string;
  /** The privatelink DNS zone the endpoint registers its A record in. */
  readonly dnsZoneName: string;
}

/** The subresource's privatelink zone names, on Azure's public cloud. */
export const PRIVATE_LINK_ZONES = {
  blob: "privatelink.blob.core.windows.net",
  dfs: "privatelink.dfs.core.windows.net",
  vault: "privatelink.vaultcore.azure.net",
} as const;

/**
 * The VNet of one environment (address space = spec `network.cidr`), with the ranges of the
 * neutral subnet plan (`planSubnets`) written literally into the JSON:
 * - `nodes`: zone 0's private range (a /19 for a /16). AKS nodes only: with Azure CNI overlay,
 *   pods take addresses from a separate overlay range, so one subnet spans every zone (Azure
 *   subnets are regional, not zonal, unlike AWS).
 * - `private-endpoints`: zone 0's public range, for the private endpoints of the storage account
 *   and key vault; network policies on, so NSGs and route tables apply to endpoints too.
 * - `postgres`: zone 0's database range, delegated to Microsoft.DBforPostgreSQL/flexibleServers
 *   (a delegated subnet holds nothing else).
 * - Default outbound access is off on every subnet: Azure is retiring implicit outbound IPs and
 *   egress should only leave through the NAT gateway.
 * - A Standard NAT gateway with one static Standard public IP gives the nodes a fixed egress
 *   address (allow-listable by SaaS sources). The Standard SKU is zonal at best and a subnet
 *   takes one gateway, so it is left non-zonal: a zone outage can interrupt egress until Azure
 *   recovers it. StandardV2 (zone-redundant) is the upgrade once the pinned provider supports it.
 * - Private DNS zones (`privateDnsZone`) are created on demand, once each, and linked to the VNet
 *   without auto-registration.
 */
export class AzureNetwork extends Construct implements INetwork {
  readonly vnet: VirtualNetwork;
  readonly nodeSubnet: Subnet;
  readonly privateEndpointSubnet: Subnet;
  readonly databaseSubnet: Subnet;
  readonly natGateway: NatGateway;
  /** The node subnet's NAT association: AKS with `userAssignedNATGateway` needs it before it is created. */
  readonly nodeEgress: SubnetNatGatewayAssociation;
  readonly networkId: string;
  private readonly ctx: AzureContext;
  private readonly dnsZones = new Map<string, LinkedDnsZone>();

  constructor(scope: Construct, id: string, props: AzureNetworkProps) {
    super(scope, id);
    const { ctx } = props;
    this.ctx = ctx;
    const plan = planSubnets(ctx.env.network.cidr, ctx.env.network.zones)[0];

    this.vnet = new VirtualNetwork(this, "Resource", {
      name: ctx.name("vnet"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      addressSpace: [ctx.env.network.cidr],
    });
    this.networkId = this.vnet.id;

    const subnet = (name: string, cidr: string, extra: Partial<SubnetConfig> = {}) =>
      new Subnet(this, name, {
        name,
        resourceGroupName: ctx.resourceGroupName,
        virtualNetworkName: this.vnet.name,
        addressPrefixes: [cidr],
        defaultOutboundAccessEnabled: false,
        ...extra,
      });
    this.nodeSubnet = subnet("nodes", plan.private);
    this.privateEndpointSubnet = subnet("private-endpoints", plan.public, { privateEndpointNetworkPolicies: "Enabled" });
    this.databaseSubnet = subnet("postgres", plan.database, {
      delegation: [
        {
          name: "postgres-flexible-servers",
          serviceDelegation: {
            name: "Microsoft.DBforPostgreSQL/flexibleServers",
            actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"],
          },
        },
      ],
    });

    const address = new PublicIp(this, "nat-address", {
      name: ctx.name("nat-ip"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      allocationMethod: "Static",
      sku: "Standard",
    });
    this.natGateway = new NatGateway(this, "nat", {
      name: ctx.name("nat"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      skuName: "Standard",
      idleTimeoutInMinutes: 4,
    });
    new NatGatewayPublicIpAssociation(this, "nat-address-association", { natGatewayId: this.natGateway.id, publicIpAddressId: address.id });
    this.nodeEgress = new SubnetNatGatewayAssociation(this, "nodes-nat", { subnetId: this.nodeSubnet.id, natGatewayId: this.natGateway.id });
  }

  /** The private DNS zone of that name, linked to this VNet; created on first use. */
  privateDnsZone(zoneName: string): LinkedDnsZone {
    const existing = this.dnsZones.get(zoneName);
    if (existing) return existing;
    const id = `dns-${zoneName.replace(/\./g, "-")}`;
    const zone = new PrivateDnsZone(this, id, { name: zoneName, resourceGroupName: this.ctx.resourceGroupName });
    const link = new PrivateDnsZoneVirtualNetworkLink(this, `${id}-link`, {
      name: this.ctx.name("vnet"),
      resourceGroupName: this.ctx.resourceGroupName,
      privateDnsZoneName: zone.name,
      virtualNetworkId: this.vnet.id,
      registrationEnabled: false,
    });
    const linked = { zone, link };
    this.dnsZones.set(zoneName, linked);
    return linked;
  }

  /**
   * A private endpoint in the private-endpoint subnet, registering its address in the
   * subresource's privatelink zone (so the public name resolves privately inside the VNet).
   */
  privateEndpoint(scope: Construct, id: string, props: PrivateEndpointProps): PrivateEndpoint {
    const { zone } = this.privateDnsZone(props.dnsZoneName);
    return new PrivateEndpoint(scope, id, {
      name: props.name,
      location: this.ctx.location,
      resourceGroupName: this.ctx.resourceGroupName,
      subnetId: this.privateEndpointSubnet.id,
      privateServiceConnection: {
        name: props.name,
        isManualConnection: false,
        privateConnectionResourceId: props.resourceId,
        subresourceNames: [props.subresource],
      },
      privateDnsZoneGroup: { name: "default", privateDnsZoneIds: [zone.id] },
    });
  }
}
