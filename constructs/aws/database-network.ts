import { Construct } from "constructs";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { VpnGateway } from "@cdktf/provider-aws/lib/vpn-gateway";
import { VpnGatewayRoutePropagation } from "@cdktf/provider-aws/lib/vpn-gateway-route-propagation";
import { CustomerGateway } from "@cdktf/provider-aws/lib/customer-gateway";
import { VpnConnection } from "@cdktf/provider-aws/lib/vpn-connection";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Fn } from "cdktn";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { IDatabaseNetwork, VpnPeer } from "../core/interfaces";
import type { AwsNetwork } from "./network";
import { awsZoneNames } from "../core/regions";
import { VPN_ASN, VPN_CRYPTO, VPN_GATEWAY_INSTANCES, VPN_TUNNELS } from "../core/vpn";
import type { AwsContext } from "./context";
import { environmentVpc, vpcFlowLogs } from "./network";
import { remoteDatabaseSubnets } from "./facts";

export interface AwsDatabaseNetworkProps {
  readonly ctx: AwsContext;
  /**
   * `networks.aws.cidr` for a VPC of database subnets alone; or the network the cluster had, kept
   * once the cluster moved to another cloud (its VPC, subnets and routes stay as they are).
   */
  readonly network: { readonly cidr: string } | { readonly kept: AwsNetwork };
  readonly peer: VpnPeer;
  /** Encrypts the flow-log and tunnel-log groups. */
  readonly logsKey: KmsKey;
}

/**
 * The VPC that holds an environment's RDS databases when its cluster runs on another cloud, and
 * AWS's side of the site-to-site VPN to the cluster network (constructs/core/vpn.ts; Microsoft's
 * layout for AWS, learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp):
 * - a VPC of database subnets only, one per zone, with no Internet gateway, no NAT and no route
 *   to the Internet: what reaches them comes through the VPN; the default security group has no
 *   rules; flow logs, as for the cluster's VPC. Or, on the home the cluster moved away from, the
 *   VPC it had (`AwsNetwork`), unchanged, whose database subnets (no route to the Internet either)
 *   get the VPN's routes;
 * - a virtual private gateway (ASN 64512) whose BGP-learned routes (the cluster network's ranges)
 *   propagate into the database subnets' route table;
 * - per gateway instance of the other side a customer gateway and a VPN connection of two
 *   tunnels, each with its /30 of `VPN_TUNNELS`, IKEv2 only, and a tunnel log group; AWS generates
 *   the pre-shared keys (Optional and Computed in aws 5.100.0), which cross to the cluster side;
 * - tunnels that AWS starts and restarts itself (`startup_action` start, DPD timeout `restart`)
 *   rather than waiting for the other side, and one IKEv2 proposal pinned on both sides
 *   (`VPN_CRYPTO`): AES-256, SHA-256, DH group 14 in both phases, so no weaker default
 *   (DH group 2, no PFS) is negotiated.
 * A customer gateway's address is ForceNew while the connection's `customer_gateway_id` updates
 * in place (ModifyVpnConnection): the new gateway is created first and the old one deleted after
 * the connection moved (AWS refuses to delete a gateway in use, `IncorrectState`); the tunnels'
 * addresses and keys cross to the cluster side again as outputs either way.
 */
export class AwsDatabaseNetwork extends Construct implements IDatabaseNetwork {
  readonly vpc: Vpc;
  readonly databaseSubnetGroup: DbSubnetGroup;
  readonly clientCidrs: readonly string[];
  readonly tunnelAddresses: readonly string[];
  readonly presharedKeys: readonly string[];

  constructor(scope: Construct, id: string, props: AwsDatabaseNetworkProps) {
    super(scope, id);
    const { ctx, peer } = props;
    const env = ctx.env;
    this.clientCidrs = peer.clientCidrs;
    let routes: RouteTable;
    if ("kept" in props.network) {
      ({ vpc: this.vpc, databaseSubnetGroup: this.databaseSubnetGroup, databaseRoutes: routes } = props.network.kept);
    } else {
      const { cidr } = props.network;
      const zoneNames = awsZoneNames(ctx.region, env.accounts.aws?.availabilityZones, env.network.zones);
      this.vpc = environmentVpc(this, ctx, cidr);
      new DefaultSecurityGroup(this, "default-security-group", { vpcId: this.vpc.id, ingress: [], egress: [], tags: { Name: ctx.name("default-deny-all") } });

      const ranges = remoteDatabaseSubnets(env);
      const subnets = zoneNames.map(
        (zoneName, zone) =>
          new Subnet(this, `database-${zone}`, {
            vpcId: this.vpc.id,
            availabilityZone: zoneName,
            cidrBlock: ranges[zone],
            mapPublicIpOnLaunch: false,
            tags: { Name: ctx.name("database", zoneName), tier: "database" },
          }),
      );
      routes = new RouteTable(this, "database-routes", { vpcId: this.vpc.id, tags: { Name: ctx.name("database") } });
      subnets.forEach((subnet, zone) => new RouteTableAssociation(this, `database-${zone}-routes`, { subnetId: subnet.id, routeTableId: routes.id }));
      this.databaseSubnetGroup = new DbSubnetGroup(this, "database-subnet-group", {
        name: ctx.name("database"),
        description: `${env.name}: database subnets, reached over the VPN only`,
        subnetIds: subnets.map((subnet) => subnet.id),
      });
      vpcFlowLogs(this, ctx, this.vpc, props.logsKey);
    }

    const gateway = new VpnGateway(this, "vpn-gateway", { vpcId: this.vpc.id, amazonSideAsn: String(VPN_ASN.databaseSide), tags: { Name: ctx.name("vpn") } });
    new VpnGatewayRoutePropagation(this, "vpn-route-propagation", { vpnGatewayId: gateway.id, routeTableId: routes.id });
    const tunnelLogs = new CloudwatchLogGroup(this, "vpn-tunnel-logs", {
      name: `/aws/vpn/${ctx.name("vpn")}/tunnels`,
      retentionInDays: env.production ? 365 : 90,
      kmsKeyId: props.logsKey.arn,
    });
    const logOptions = { cloudwatchLogOptions: { logEnabled: true, logGroupArn: tunnelLogs.arn, logOutputFormat: "json" } };
    // Each tunnel alike (the binding has no per-tunnel block, only tunnel1_* and tunnel2_* arguments).
    const options = {
      ikeVersions: ["ikev2"],
      startupAction: "start",
      dpdTimeoutAction: "restart",
      phase1EncryptionAlgorithms: [VPN_CRYPTO.aws.encryption],
      phase1IntegrityAlgorithms: [VPN_CRYPTO.aws.integrity],
      phase1DhGroupNumbers: [VPN_CRYPTO.dhGroup],
      phase1LifetimeSeconds: VPN_CRYPTO.ikeLifetimeSeconds,
      phase2EncryptionAlgorithms: [VPN_CRYPTO.aws.encryption],
      phase2IntegrityAlgorithms: [VPN_CRYPTO.aws.integrity],
      phase2DhGroupNumbers: [VPN_CRYPTO.dhGroup],
      phase2LifetimeSeconds: VPN_CRYPTO.ipsecLifetimeSeconds,
    };
    const connections = Array.from({ length: VPN_GATEWAY_INSTANCES }, (_, instance) => {
      const customerGateway = new CustomerGateway(this, `customer-gateway-${instance}`, {
        bgpAsn: String(VPN_ASN.clusterSide),
        ipAddress: Fn.element(peer.gatewayAddresses, instance),
        type: "ipsec.1",
        tags: { Name: ctx.name("vpn", `${env.cloud}-${instance}`) },
        lifecycle: { createBeforeDestroy: true },
      });
      const [first, second] = VPN_TUNNELS.filter((tunnel) => tunnel.instance === instance);
      return new VpnConnection(this, `vpn-connection-${instance}`, {
        vpnGatewayId: gateway.id,
        customerGatewayId: customerGateway.id,
        type: "ipsec.1",
        staticRoutesOnly: false,
        tunnel1InsideCidr: first.insideCidr,
        tunnel2InsideCidr: second.insideCidr,
        tunnel1LogOptions: logOptions,
        tunnel1IkeVersions: options.ikeVersions,
        tunnel1StartupAction: options.startupAction,
        tunnel1DpdTimeoutAction: options.dpdTimeoutAction,
        tunnel1Phase1EncryptionAlgorithms: options.phase1EncryptionAlgorithms,
        tunnel1Phase1IntegrityAlgorithms: options.phase1IntegrityAlgorithms,
        tunnel1Phase1DhGroupNumbers: options.phase1DhGroupNumbers,
        tunnel1Phase1LifetimeSeconds: options.phase1LifetimeSeconds,
        tunnel1Phase2EncryptionAlgorithms: options.phase2EncryptionAlgorithms,
        tunnel1Phase2IntegrityAlgorithms: options.phase2IntegrityAlgorithms,
        tunnel1Phase2DhGroupNumbers: options.phase2DhGroupNumbers,
        tunnel1Phase2LifetimeSeconds: options.phase2LifetimeSeconds,
        tunnel2LogOptions: logOptions,
        tunnel2IkeVersions: options.ikeVersions,
        tunnel2StartupAction: options.startupAction,
        tunnel2DpdTimeoutAction: options.dpdTimeoutAction,
        tunnel2Phase1EncryptionAlgorithms: options.phase1EncryptionAlgorithms,
        tunnel2Phase1IntegrityAlgorithms: options.phase1IntegrityAlgorithms,
        tunnel2Phase1DhGroupNumbers: options.phase1DhGroupNumbers,
        tunnel2Phase1LifetimeSeconds: options.phase1LifetimeSeconds,
        tunnel2Phase2EncryptionAlgorithms: options.phase2EncryptionAlgorithms,
        tunnel2Phase2IntegrityAlgorithms: options.phase2IntegrityAlgorithms,
        tunnel2Phase2DhGroupNumbers: options.phase2DhGroupNumbers,
        tunnel2Phase2LifetimeSeconds: options.phase2LifetimeSeconds,
        tags: { Name: ctx.name("vpn", `${env.cloud}-${instance}`) },
      });
    });
    this.tunnelAddresses = connections.flatMap((connection) => [connection.tunnel1Address, connection.tunnel2Address]);
    this.presharedKeys = connections.flatMap((connection) => [connection.tunnel1PresharedKey, connection.tunnel2PresharedKey]);
  }
}
