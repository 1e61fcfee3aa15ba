import { Construct } from "constructs";
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { ComputeRouter } from "@cdktf/provider-google/lib/compute-router";
import { ComputeRouterNat } from "@cdktf/provider-google/lib/compute-router-nat";
import { ComputeAddress } from "@cdktf/provider-google/lib/compute-address";
import { ComputeGlobalAddress } from "@cdktf/provider-google/lib/compute-global-address";
import { ServiceNetworkingConnection } from "@cdktf/provider-google/lib/service-networking-connection";
import type { INetwork } from "../core/interfaces";
import type { GcpContext } from "./context";
import { type GcpAddressPlan, planGcpAddresses, POD_RANGE_NAME, SERVICE_RANGE_NAME } from "./facts";

export interface GcpNetworkProps {
  readonly ctx: GcpContext;
  /** Reserved NAT addresses, published for another cloud's storage firewall (`NetworkOptions`). */
  readonly fixedEgress: boolean;
}

/**
 * How many reserved addresses Cloud NAT gets with `fixedEgress`, and the ports it gives each node:
 * 64,512 per address (Cloud NAT "Ports and addresses"). With dynamic port allocation a node starts
 * at 64 and grows to 4,096 when its pods open many connections to one destination (the storage
 * account's one address on 443), so 2 addresses serve 31 nodes at their maximum at once.
 */
const RESERVED_NAT_ADDRESSES = 2;
const NAT_PORTS_PER_NODE = { min: 64, max: 4096 } as const;

/**
 * The VPC of one environment.
 * - A custom-mode VPC (no auto subnets), regional routing: only the ranges below exist.
 * - One regional subnet for nodes, with secondary ranges for pods and services (VPC-native
 *   GKE), all computed from the spec CIDR at synth time so plans show literal ranges.
 * - Private Google access on: nodes without public IPs still reach Google APIs.
 * - Flow logs on every flow (sampling 1.0, 1-minute aggregation, all metadata), like the AWS
 *   flow logs, for incident forensics.
 * - Cloud Router + Cloud NAT for egress of nodes and pods: Cloud NAT is a regional, software
 *   defined service with no per-zone gateway to lose, so one is enough in every environment.
 *   NAT errors are logged. Its addresses are allocated by Google (`AUTO_ONLY`, and they change
 *   as it scales) unless another cloud's storage firewall admits them (`fixedEgress`): then two
 *   reserved regional addresses (`MANUAL_ONLY`; both fields update in place, google 6.50.0
 *   resource_compute_router_nat.go, no ForceNew), published as `egressAddresses`.
 * - Private service access (a VPC_PEERING range and the service networking connection) so
 *   Cloud SQL gets private addresses in this network and no public IP.
 * - No firewall rules are added: a custom VPC only has the implied deny-ingress rule, and GKE
 *   creates the rules it needs for its own nodes.
 */
export class GcpNetwork extends Construct implements INetwork {
  readonly network: ComputeNetwork;
  readonly subnetwork: ComputeSubnetwork;
  readonly privateServiceAccess: ServiceNetworkingConnection;
  readonly privateServiceRange: ComputeGlobalAddress;
  readonly addresses: GcpAddressPlan;
  readonly networkId: string;
  readonly egressAddresses?: readonly string[];

  constructor(scope: Construct, id: string, props: GcpNetworkProps) {
    super(scope, id);
    const { ctx } = props;
    this.addresses = planGcpAddresses(ctx.env);

    this.network = new ComputeNetwork(this, "Resource", {
      name: ctx.name("vpc"),
      description: `${ctx.env.name}: network of the data platform`,
      autoCreateSubnetworks: false,
      routingMode: "REGIONAL",
      dependsOn: ctx.apis.needed("compute"),
    });
    this.networkId = this.network.id;

    this.subnetwork = new ComputeSubnetwork(this, "nodes", {
      name: ctx.name("nodes"),
      description: `${ctx.env.name}: GKE nodes, with secondary ranges for pods and services`,
      network: this.network.id,
      region: ctx.region,
      ipCidrRange: this.addresses.nodes,
      secondaryIpRange: [
        { rangeName: POD_RANGE_NAME, ipCidrRange: this.addresses.pods },
        { rangeName: SERVICE_RANGE_NAME, ipCidrRange: this.addresses.services },
      ],
      privateIpGoogleAccess: true,
      logConfig: {
        aggregationInterval: "INTERVAL_1_MIN",
        flowSampling: 1,
        metadata: "INCLUDE_ALL_METADATA",
      },
    });

    const router = new ComputeRouter(this, "router", {
      name: ctx.name("router"),
      description: `${ctx.env.name}: Cloud NAT for nodes and pods`,
      network: this.network.id,
      region: ctx.region,
    });
    const natAddresses = props.fixedEgress
      ? Array.from({ length: RESERVED_NAT_ADDRESSES }, (_, index) =>
          new ComputeAddress(this, `nat-address-${index}`, {
            name: ctx.name("nat", String(index)),
            description: `${ctx.env.name}: Cloud NAT egress, admitted by storage on another cloud`,
            region: ctx.region,
            addressType: "EXTERNAL",
            // Cloud NAT takes addresses of one tier; Premium whatever the project's default.
            networkTier: "PREMIUM",
            // Every field but labels replaces the address (google 6.50.0 resource_compute_address.go), and another cloud's firewall admits it.
            // Created before destroyed: once the addresses leave the configuration, Terraform then moves the NAT off them
            // before deleting them, which GCP refuses while the NAT uses them (the nat_ips description, ibid.).
            lifecycle: { preventDestroy: ctx.env.production, createBeforeDestroy: true },
          }),
        )
      : [];
    this.egressAddresses = natAddresses.length > 0 ? natAddresses.map((address) => address.address) : undefined;
    new ComputeRouterNat(this, "nat", {
      name: ctx.name("nat"),
      router: router.name,
      region: ctx.region,
      ...(natAddresses.length > 0
        ? {
            natIpAllocateOption: "MANUAL_ONLY",
            natIps: natAddresses.map((address) => address.selfLink),
            // Fixed addresses do not grow with demand: ports go where the connections are (dynamic allocation needs endpoint-independent mapping off).
            enableDynamicPortAllocation: true,
            enableEndpointIndependentMapping: false,
            minPortsPerVm: NAT_PORTS_PER_NODE.min,
            maxPortsPerVm: NAT_PORTS_PER_NODE.max,
          }
        : // nat_ips is Optional and Computed (google 6.50.0 resource_compute_router_nat.go): left out, it would keep
          // the reserved addresses of a MANUAL_ONLY configuration, which AUTO_ONLY refuses; an empty list clears them.
          { natIpAllocateOption: "AUTO_ONLY", natIps: [] }),
      sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
      subnetwork: [{ name: this.subnetwork.id, sourceIpRangesToNat: ["ALL_IP_RANGES"] }],
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    });

    this.privateServiceRange = new ComputeGlobalAddress(this, "private-services-range", {
      name: ctx.name("private-services"),
      description: `${ctx.env.name}: private service access range (Cloud SQL)`,
      network: this.network.id,
      purpose: "VPC_PEERING",
      addressType: "INTERNAL",
      address: this.addresses.privateServices.address,
      prefixLength: this.addresses.privateServices.prefixLength,
    });
    this.privateServiceAccess = new ServiceNetworkingConnection(this, "private-services", {
      network: this.network.id,
      service: "servicenetworking.googleapis.com",
      reservedPeeringRanges: [this.privateServiceRange.name],
      // Deleting the peering fails while Google still holds Cloud SQL addresses in it (it is
      // released after the instances are gone); abandoning it lets a destroy finish.
      deletionPolicy: "ABANDON",
      dependsOn: ctx.apis.needed("serviceNetworking"),
    });
  }
}
