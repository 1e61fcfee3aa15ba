import { Construct } from "constructs";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { INetwork } from "../core/interfaces";
import { planSubnets } from "../core/network-plan";
import { awsZoneNames } from "../core/regions";
import { type AwsContext, policyDocument, serviceTrustPolicy } from "./context";

export interface AwsNetworkProps {
  readonly ctx: AwsContext;
  /** Key for the flow-log log group. */
  readonly logsKey: KmsKey;
  /** Another cloud's storage firewall admits the NAT addresses (`NetworkOptions.fixedEgress`): kept in production. */
  readonly fixedEgress?: boolean;
  /** The VPC's range when not `network.cidr`: `networks.aws.cidr` of the network kept after the cluster moved to another cloud. */
  readonly cidr?: string;
}

/**
 * The VPC of one environment.
 * - Public, private and database subnets in each zone (2 zones, 3 in production, from the spec):
 *   nodes and pods live in the large private subnets; databases in isolated subnets with no
 *   route to the internet; only load balancers and NAT gateways are public.
 * - NAT: one per zone in production, so losing a zone does not cut egress of the others; a
 *   single one elsewhere, to save about 32 USD a month per zone.
 * - VPC flow logs (all traffic) to an encrypted CloudWatch log group, for incident forensics.
 * - An S3 gateway endpoint, so bucket traffic stays on the AWS network and costs no NAT fees.
 * - The default security group has no rules, so nothing is open by accident.
 */
export class AwsNetwork extends Construct implements INetwork {
  readonly vpc: Vpc;
  readonly privateSubnets: Subnet[];
  readonly publicSubnets: Subnet[];
  readonly databaseSubnetGroup: DbSubnetGroup;
  /** The database subnets' routes (none to the Internet), where a VPN's routes propagate once the cluster moved away. */
  readonly databaseRoutes: RouteTable;
  readonly networkId: string;
  readonly egressAddresses: readonly string[];

  constructor(scope: Construct, id: string, props: AwsNetworkProps) {
    super(scope, id);
    const { ctx } = props;
    const env = ctx.env;
    const cidr = props.cidr ?? env.network.cidr;
    const zones = planSubnets(cidr, env.network.zones);
    const zoneNames = awsZoneNames(ctx.region, env.accounts.aws?.availabilityZones, env.network.zones);
    const zoneName = (index: number) => zoneNames[index];
    const clusterName = ctx.name("cluster");

    this.vpc = environmentVpc(this, ctx, cidr);
    this.networkId = this.vpc.id;

    new DefaultSecurityGroup(this, "default-security-group", {
      vpcId: this.vpc.id,
      ingress: [],
      egress: [],
      tags: { Name: ctx.name("default-deny-all") },
    });

    const subnet = (tier: "public" | "private" | "database", zone: number, cidrBlock: string, tags: Record<string, string>) =>
      new Subnet(this, `${tier}-${zone}`, {
        vpcId: this.vpc.id,
        availabilityZone: zoneName(zone),
        cidrBlock,
        mapPublicIpOnLaunch: false,
        tags: { Name: ctx.name(tier, zoneName(zone)), tier, ...tags },
      });
    this.publicSubnets = zones.map((z) => subnet("public", z.zone, z.public, { "kubernetes.io/role/elb": "1" }));
    this.privateSubnets = zones.map((z) =>
      subnet("private", z.zone, z.private, {
        "kubernetes.io/role/internal-elb": "1",
        [`kubernetes.io/cluster/${clusterName}`]: "shared",
      }),
    );
    const databaseSubnets = zones.map((z) => subnet("database", z.zone, z.database, {}));

    const internetGateway = new InternetGateway(this, "internet-gateway", {
      vpcId: this.vpc.id,
      tags: { Name: ctx.name("igw") },
    });
    const publicRoutes = new RouteTable(this, "public-routes", { vpcId: this.vpc.id, tags: { Name: ctx.name("public") } });
    new Route(this, "public-default-route", {
      routeTableId: publicRoutes.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: internetGateway.id,
    });
    this.publicSubnets.forEach((s, zone) =>
      new RouteTableAssociation(this, `public-${zone}-routes`, { subnetId: s.id, routeTableId: publicRoutes.id }),
    );

    const natCount = env.production ? zones.length : 1;
    const egressAddresses: string[] = [];
    const natGateways = Array.from({ length: natCount }, (_, zone) => {
      // An address another cloud's firewall admits is kept in production: a new one is refused there until that cloud's stack applied it.
      const kept = props.fixedEgress === true && env.production ? { lifecycle: { preventDestroy: true } } : {};
      const address = new Eip(this, `nat-${zone}-address`, { domain: "vpc", tags: { Name: ctx.name("nat", zoneName(zone)) }, ...kept });
      egressAddresses.push(address.publicIp);
      return new NatGateway(this, `nat-${zone}`, {
        allocationId: address.allocationId,
        subnetId: this.publicSubnets[zone].id,
        tags: { Name: ctx.name("nat", zoneName(zone)) },
        dependsOn: [internetGateway],
      });
    });
    this.egressAddresses = egressAddresses;
    const privateRouteTables = this.privateSubnets.map((s, zone) => {
      const table = new RouteTable(this, `private-${zone}-routes`, {
        vpcId: this.vpc.id,
        tags: { Name: ctx.name("private", zoneName(zone)) },
      });
      new Route(this, `private-${zone}-default-route`, {
        routeTableId: table.id,
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: natGateways[zone % natCount].id,
      });
      new RouteTableAssociation(this, `private-${zone}-association`, { subnetId: s.id, routeTableId: table.id });
      return table;
    });
    const databaseRoutes = new RouteTable(this, "database-routes", { vpcId: this.vpc.id, tags: { Name: ctx.name("database") } });
    this.databaseRoutes = databaseRoutes;
    databaseSubnets.forEach((s, zone) =>
      new RouteTableAssociation(this, `database-${zone}-routes`, { subnetId: s.id, routeTableId: databaseRoutes.id }),
    );
    this.databaseSubnetGroup = new DbSubnetGroup(this, "database-subnet-group", {
      name: ctx.name("database"),
      description: `${env.name}: isolated database subnets`,
      subnetIds: databaseSubnets.map((s) => s.id),
    });

    new VpcEndpoint(this, "s3-endpoint", {
      vpcId: this.vpc.id,
      serviceName: `com.amazonaws.${ctx.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [...privateRouteTables.map((t) => t.id), databaseRoutes.id],
      tags: { Name: ctx.name("s3") },
    });

    vpcFlowLogs(this, ctx, this.vpc, props.logsKey);
  }
}

/** The environment's VPC (`<scope>/Resource`) on `cidr`, with the DNS its private endpoints and RDS names need. */
export function environmentVpc(scope: Construct, ctx: AwsContext, cidr: string): Vpc {
  return new Vpc(scope, "Resource", {
    cidrBlock: cidr,
    enableDnsHostnames: true,
    enableDnsSupport: true,
    tags: { Name: ctx.name("vpc") },
    // A new CIDR replaces the VPC, and the cluster and databases inside it cannot move: refused
    // at plan in production rather than failing half-way at apply (README, Upgrade guide).
    lifecycle: { preventDestroy: ctx.env.production },
  });
}

/** VPC flow logs (all traffic) to an encrypted CloudWatch log group, for incident forensics. */
export function vpcFlowLogs(scope: Construct, ctx: AwsContext, vpc: Vpc, logsKey: KmsKey): void {
  const group = new CloudwatchLogGroup(scope, "flow-log-group", {
    name: `/aws/vpc/${ctx.name("vpc")}/flow-logs`,
    retentionInDays: ctx.env.production ? 365 : 90,
    kmsKeyId: logsKey.arn,
  });
  const role = new IamRole(scope, "flow-log-role", {
    name: ctx.name("vpc-flow-logs"),
    permissionsBoundary: ctx.permissionsBoundary,
    assumeRolePolicy: serviceTrustPolicy(ctx, "vpc-flow-logs", true),
  });
  new IamRolePolicy(scope, "flow-log-policy", {
    role: role.id,
    name: "write-flow-logs",
    policy: policyDocument({
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: [group.arn, `${group.arn}:*`],
    }),
  });
  new FlowLog(scope, "flow-log", {
    vpcId: vpc.id,
    trafficType: "ALL",
    logDestinationType: "cloud-watch-logs",
    logDestination: group.arn,
    iamRoleArn: role.arn,
    maxAggregationInterval: 60,
    tags: { Name: ctx.name("vpc-flow-logs") },
  });
}
