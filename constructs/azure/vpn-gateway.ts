import { Construct } from "constructs";
import { Fn, Op, Token } from "cdktn";
import { Subnet } from "@cdktf/provider-azurerm/lib/subnet";
import { PublicIp } from "@cdktf/provider-azurerm/lib/public-ip";
import { VirtualNetworkGateway } from "@cdktf/provider-azurerm/lib/virtual-network-gateway";
import { LocalNetworkGateway } from "@cdktf/provider-azurerm/lib/local-network-gateway";
import { VirtualNetworkGatewayConnection } from "@cdktf/provider-azurerm/lib/virtual-network-gateway-connection";
import type { IVpnGateway, VpnRemote } from "../core/interfaces";
import { VPN_ASN, VPN_CRYPTO, VPN_GATEWAY_INSTANCES, VPN_TUNNELS } from "../core/vpn";
import { AZURE_LOCATION_ZONES } from "../core/regions";
import type { AzureContext } from "./context";
import { gatewaySubnetCidr } from "./facts";
import { RESOURCE_LOG_CATEGORIES, sendResourceLogs } from "./diagnostics";
import type { AzureNetwork } from "./network";

export interface AzureVpnGatewayProps {
  readonly ctx: AzureContext;
  readonly network: AzureNetwork;
  readonly remote: VpnRemote;
  /** Where the gateway's diagnostic logs go (the cluster's Log Analytics workspace). */
  readonly logWorkspaceId: string;
}

/** The gateway's SKU: the smallest zone-redundant one (about 650 Mbps), which exists in Generation1 only (azurerm 4.55.0 virtual_network_gateway_resource.go). */
export const VPN_GATEWAY_SKU = { sku: "VpnGw1AZ", generation: "Generation1" } as const;

/**
 * The cluster network's side of the site-to-site VPN to the network holding databases on another
 * cloud (constructs/core/vpn.ts), as Microsoft lays it out for AWS
 * (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp):
 * - `GatewaySubnet` (`gatewaySubnetCidr`), without a network security group: Azure does not
 *   support one there (Microsoft, "About VPN Gateway configuration settings", gateway subnet);
 * - a route-based, active-active gateway with BGP (ASN 65000), one zone-redundant Standard public
 *   IP per instance, each instance with its custom APIPA addresses of `VPN_TUNNELS`;
 * - once the other side has applied (`remote.tunnelAddresses`, empty before: a second apply of
 *   `<env>-infra`), per tunnel a local network gateway (the tunnel's outside address, BGP peer its
 *   inside address, no address space: BGP learns the routes) and an IKEv2 connection with its
 *   pre-shared key, the proposal both sides pin (`VPN_CRYPTO`) and custom BGP addresses (each connection names its own, else every
 *   connection would use the first APIPA address: same guide, "Important").
 * - diagnostic logs (tunnel, route and IKE events) to the cluster's Log Analytics workspace.
 * `ip_configuration` forces a new gateway (30 to 45 minutes to build), so the gateway, its
 * addresses and subnet never change after creation; the connections update in place.
 */
export class AzureVpnGateway extends Construct implements IVpnGateway {
  readonly publicAddresses: readonly string[];

  constructor(scope: Construct, id: string, props: AzureVpnGatewayProps) {
    super(scope, id);
    const { ctx, network, remote } = props;
    const env = ctx.env;
    const place = { location: ctx.location, resourceGroupName: ctx.resourceGroupName };

    const subnet = new Subnet(this, "subnet", {
      name: "GatewaySubnet",
      resourceGroupName: ctx.resourceGroupName,
      virtualNetworkName: network.vnet.name,
      addressPrefixes: [gatewaySubnetCidr(env.network.cidr)],
      // As every other subnet: the gateway's instances reach the Internet on their own public IPs.
      defaultOutboundAccessEnabled: false,
    });
    // Zone-redundant: every zone of the location, whatever `network.zones` spreads the nodes over.
    const zones = Array.from({ length: AZURE_LOCATION_ZONES[ctx.location] ?? 3 }, (_, index) => String(index + 1));
    const addresses = Array.from(
      { length: VPN_GATEWAY_INSTANCES },
      (_, instance) =>
        new PublicIp(this, `address-${instance}`, {
          ...place,
          name: ctx.name("vpn", String(instance), "ip"),
          allocationMethod: "Static",
          sku: "Standard",
          zones,
          lifecycle: { preventDestroy: env.production },
        }),
    );
    this.publicAddresses = addresses.map((address) => address.ipAddress);

    const configurationName = (instance: number) => `instance-${instance}`;
    const gateway = new VirtualNetworkGateway(this, "Resource", {
      ...place,
      name: ctx.name("vpn"),
      type: "Vpn",
      vpnType: "RouteBased",
      sku: VPN_GATEWAY_SKU.sku,
      generation: VPN_GATEWAY_SKU.generation,
      activeActive: true,
      enableBgp: true,
      ipConfiguration: addresses.map((address, instance) => ({
        name: configurationName(instance),
        publicIpAddressId: address.id,
        subnetId: subnet.id,
        privateIpAddressAllocation: "Dynamic",
      })),
      bgpSettings: {
        asn: VPN_ASN.clusterSide,
        peeringAddresses: addresses.map((_, instance) => ({
          ipConfigurationName: configurationName(instance),
          apipaAddresses: VPN_TUNNELS.filter((tunnel) => tunnel.instance === instance).map((tunnel) => tunnel.clusterSideAddress),
        })),
      },
    });
    sendResourceLogs(this, "logs", { targetResourceId: gateway.id, workspaceId: props.logWorkspaceId, categories: RESOURCE_LOG_CATEGORIES.vpnGateway });

    // Before the other side applied there are no tunnels yet: no local gateway, no connection.
    const tunnelsGiven = Token.asNumber(Fn.conditional(Op.gt(Fn.lengthOf(remote.tunnelAddresses), 0), 1, 0));
    VPN_TUNNELS.forEach((tunnel, index) => {
      const local = new LocalNetworkGateway(this, `tunnel-${index}-peer`, {
        ...place,
        count: tunnelsGiven,
        name: ctx.name("vpn", `${remote.cloud}-tunnel-${index}`),
        gatewayAddress: Fn.element(remote.tunnelAddresses, index),
        bgpSettings: { asn: VPN_ASN.databaseSide, bgpPeeringAddress: tunnel.databaseSideAddress },
      });
      // Each connection's own address on the instance that ends its tunnel; the other instance's
      // of the same column, which Azure requires to be one of that instance's APIPA addresses.
      const column = VPN_TUNNELS.filter((other) => other.insideCidr.split(".")[2] === tunnel.insideCidr.split(".")[2]);
      new VirtualNetworkGatewayConnection(this, `tunnel-${index}`, {
        ...place,
        count: tunnelsGiven,
        name: ctx.name("vpn", `${remote.cloud}-${index}`),
        type: "IPsec",
        virtualNetworkGatewayId: gateway.id,
        localNetworkGatewayId: `\${${local.fqn}[0].id}`,
        sharedKey: Fn.element(remote.presharedKeys, index),
        connectionProtocol: "IKEv2",
        ipsecPolicy: {
          dhGroup: VPN_CRYPTO.azure.dhGroup,
          ikeEncryption: VPN_CRYPTO.azure.ikeEncryption,
          ikeIntegrity: VPN_CRYPTO.azure.ikeIntegrity,
          ipsecEncryption: VPN_CRYPTO.azure.ipsecEncryption,
          ipsecIntegrity: VPN_CRYPTO.azure.ipsecIntegrity,
          pfsGroup: VPN_CRYPTO.azure.pfsGroup,
          saLifetime: VPN_CRYPTO.ipsecLifetimeSeconds,
        },
        enableBgp: true,
        customBgpAddresses: {
          primary: column.find((other) => other.instance === 0)?.clusterSideAddress ?? tunnel.clusterSideAddress,
          secondary: column.find((other) => other.instance === 1)?.clusterSideAddress ?? tunnel.clusterSideAddress,
        },
      });
    });
  }
}
