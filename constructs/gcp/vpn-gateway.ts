import { Construct } from "constructs";
import { Fn, Op, Token, type TerraformResource } from "cdktn";
import { ComputeHaVpnGateway } from "@cdktf/provider-google/lib/compute-ha-vpn-gateway";
import { ComputeExternalVpnGateway } from "@cdktf/provider-google/lib/compute-external-vpn-gateway";
import { ComputeRouter } from "@cdktf/provider-google/lib/compute-router";
import { ComputeRouterInterface } from "@cdktf/provider-google/lib/compute-router-interface";
import { ComputeRouterPeer } from "@cdktf/provider-google/lib/compute-router-peer";
import { ComputeVpnTunnel } from "@cdktf/provider-google/lib/compute-vpn-tunnel";
import type { IVpnGateway, VpnRemote } from "../core/interfaces";
import { VPN_ASN, VPN_GATEWAY_INSTANCES, VPN_TUNNELS } from "../core/vpn";
import type { GcpContext } from "./context";
import { gkeVpnClients } from "./facts";
import type { GcpNetwork } from "./network";

/** A resource as a bare reference: `replace_triggered_by` takes references, which Terraform refuses as `${...}` templates (the `fqn`). */
const reference = (resource: TerraformResource): string => `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;

export interface GcpVpnGatewayProps {
  readonly ctx: GcpContext;
  readonly network: GcpNetwork;
  readonly remote: VpnRemote;
}

/**
 * The cluster network's side of the site-to-site VPN to the network holding databases on another
 * cloud (constructs/core/vpn.ts), as Google lays it out for AWS (cloud.google.com/network-connectivity/docs/vpn/tutorials/create-ha-vpn-connections-google-cloud-aws):
 * - an HA VPN gateway, whose two interfaces get a public address each from Google: the two
 *   instances of `VPN_GATEWAY_INSTANCES`, a 99.99% SLA once each interface has a tunnel up;
 * - a Cloud Router of its own (ASN 65000; the NAT's router has no BGP and stays as it is) that
 *   advertises exactly the ranges the pods reach a database from (`gkeVpnClients`: the nodes' and
 *   the pods' ranges; custom mode, so neither the services' range nor Cloud SQL's private service
 *   access range leaves the VPC), and learns the database network's ranges as dynamic routes;
 * - once the other side has applied (`remote.tunnelAddresses`, empty before: a second apply of
 *   the cluster's stack), a peer gateway with the four outside addresses
 *   (`FOUR_IPS_REDUNDANCY`), and per tunnel an IKEv2 tunnel from the interface of its instance to
 *   its outside address with its pre-shared key, a router interface on the tunnel's /30 (the
 *   cluster side's address, the second host) and a BGP peer at the database side's address.
 * HA VPN negotiates from Google's fixed cipher list; the database side pins the proposal both
 * accept (`VPN_CRYPTO`: AES-256, SHA-256, DH group 14, in Google's "Supported IKE ciphers").
 * Cloud VPN writes its tunnel and BGP events to Cloud Logging on its own.
 */
export class GcpVpnGateway extends Construct implements IVpnGateway {
  readonly publicAddresses: readonly string[];

  constructor(scope: Construct, id: string, props: GcpVpnGatewayProps) {
    super(scope, id);
    const { ctx, network, remote } = props;
    const region = ctx.region;

    const gateway = new ComputeHaVpnGateway(this, "Resource", {
      name: ctx.name("vpn"),
      description: `${ctx.env.name}: HA VPN to the databases on ${remote.cloud}`,
      region,
      network: network.network.id,
      stackType: "IPV4_ONLY",
    });
    this.publicAddresses = Array.from({ length: VPN_GATEWAY_INSTANCES }, (_, instance) => gateway.vpnInterfaces.get(instance).ipAddress);

    const router = new ComputeRouter(this, "router", {
      name: ctx.name("vpn-router"),
      description: `${ctx.env.name}: BGP over the VPN to the databases on ${remote.cloud}`,
      network: network.network.id,
      region,
      bgp: {
        asn: VPN_ASN.clusterSide,
        advertiseMode: "CUSTOM",
        advertisedIpRanges: gkeVpnClients(network.addresses).map((range) => ({ range, description: "reaches the databases on another cloud" })),
      },
    });

    // Before the other side applied there are no tunnels yet: no peer gateway, no tunnel, no BGP session.
    const tunnelsGiven = Token.asNumber(Fn.conditional(Op.gt(Fn.lengthOf(remote.tunnelAddresses), 0), 1, 0));
    const peerGateway = new ComputeExternalVpnGateway(this, "peer", {
      count: tunnelsGiven,
      name: ctx.name("vpn", remote.cloud),
      description: `${ctx.env.name}: the ${remote.cloud} side's tunnel addresses`,
      redundancyType: "FOUR_IPS_REDUNDANCY",
      interface: VPN_TUNNELS.map((_, index) => ({ id: index, ipAddress: Fn.element(remote.tunnelAddresses, index) })),
    });
    VPN_TUNNELS.forEach((tunnel, index) => {
      const name = ctx.name("vpn", `${remote.cloud}-${index}`);
      const vpnTunnel = new ComputeVpnTunnel(this, `tunnel-${index}`, {
        count: tunnelsGiven,
        name,
        region,
        vpnGateway: gateway.id,
        vpnGatewayInterface: tunnel.instance,
        peerExternalGateway: `\${${peerGateway.fqn}[0].id}`,
        peerExternalGatewayInterface: index,
        sharedSecret: Fn.element(remote.presharedKeys, index),
        ikeVersion: 2,
        router: router.id,
      });
      const routerInterface = new ComputeRouterInterface(this, `tunnel-${index}-interface`, {
        count: tunnelsGiven,
        name,
        region,
        router: router.name,
        ipRange: `${tunnel.clusterSideAddress}/30`,
        vpnTunnel: `\${${vpnTunnel.fqn}[0].name}`,
        // A tunnel made anew (a new pre-shared key replaces it) keeps its name, so nothing here
        // would change: the interface naming it goes first and comes back after it, and its BGP
        // peer with it (an interface has no in-place update, so any change of it is a new one).
        lifecycle: { replaceTriggeredBy: [`${reference(vpnTunnel)}[0].tunnel_id`] },
      });
      new ComputeRouterPeer(this, `tunnel-${index}-peer`, {
        count: tunnelsGiven,
        name,
        region,
        router: router.name,
        interface: `\${${routerInterface.fqn}[0].name}`,
        ipAddress: tunnel.clusterSideAddress,
        peerIpAddress: tunnel.databaseSideAddress,
        peerAsn: VPN_ASN.databaseSide,
        lifecycle: { replaceTriggeredBy: [`${reference(routerInterface)}[0]`] },
      });
    });
  }
}
