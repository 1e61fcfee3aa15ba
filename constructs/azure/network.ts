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
import { NetworkSecurityGroup } from "@cdktf/provider-azurerm/lib/network-security-group";
import { NetworkSecurityRule } from "@cdktf/provider-azurerm/lib/network-security-rule";
import { SubnetNetworkSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/subnet-network-security-group-association";
import type { INetwork } from "../core/interfaces";
import { planSubnets } from "../core/network-plan";
import type { AzureContext } from "./context";
import { agentSubnetCidr, apiServerSubnetCidr, overlayRanges, reservedRangeMet } from "./facts";

export interface AzureNetworkProps {
  readonly ctx: AzureContext;
  /** Another cloud's storage firewall admits the NAT address (`NetworkOptions.fixedEgress`): kept in production. */
  readonly fixedEgress?: boolean;
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

/**
 * Ports the nodes reach the API server on, and the port Azure Load Balancer probes it on: the NSG
 * rules Microsoft requires for API Server VNet Integration ("Network security group (NSG) security
 * rules", same page: APIServer subnet from the cluster subnet TCP 443 and 4443; from Azure Load
 * Balancer TCP 9988).
 */
export const API_SERVER_PORTS = ["443", "4443"] as const;
export const API_SERVER_PROBE_PORT = "9988";

/** The agents' delegated subnet and its NAT gateway association. */
export interface AgentSubnet {
  readonly subnet: Subnet;
  readonly cidr: string;
  /** The environment must be created after it, so its egress leaves through the NAT gateway. */
  readonly egress: SubnetNatGatewayAssociation;
}

/** One rule of a subnet's network security group (`azurerm_network_security_rule`, any source port). */
export interface SubnetSecurityRule {
  readonly name: string;
  readonly description: string;
  readonly direction: "Inbound" | "Outbound";
  readonly access: "Allow" | "Deny";
  /** 100 to 4096 (azurerm 4.55.0 network_security_rule_resource.go), unique per direction. */
  readonly priority: number;
  readonly protocol: "*" | "Tcp" | "Udp";
  /** Address prefixes (CIDRs) or one service tag. */
  readonly source: readonly string[];
  readonly destination: readonly string[];
  /** Destination ports: `*`, one port or ranges. */
  readonly ports: readonly string[];
}

/** A subnet's network security group, its association, and a way to add rules later. */
export interface SubnetSecurityGroup {
  readonly group: NetworkSecurityGroup;
  /** Resources in the subnet should be created after it, so they never run unguarded. */
  readonly association: SubnetNetworkSecurityGroupAssociation;
  /** The group's rules so far: what must be in force before something in the subnet starts depends on them. */
  readonly rules: readonly NetworkSecurityRule[];
  addRule(rule: SubnetSecurityRule): NetworkSecurityRule;
}

/** PostgreSQL's port, and 6432, which Flexible Server's high availability also uses inside its subnet. */
export const POSTGRES_SUBNET_PORTS = ["5432", "6432"] as const;

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
 *   recovers it. StandardV2 (zone-redundant) is the upgrade once the pinned provider supports it:
 *   azurerm v4.55.0 validates `sku_name` against `Standard` alone (internal/services/network/
 *   nat_gateway_resource.go) and a public IP's `sku` against `Basic`/`Standard`
 *   (public_ip_resource.go), and one gateway per zone would need a subnet per zone, i.e. new node
 *   subnets for the default pool, which replaces the cluster.
 * - A network security group on every subnet (`<env>-<subnet>-nsg`), each allowing what its
 *   subnet needs and denying the rest of the VNet (Azure's default rules otherwise admit every
 *   flow inside the VNet: AllowVnetInBound/AllowVnetOutBound at 65000):
 *   - `nodes`: inbound and outbound, everything between the node range and the overlay pod range
 *     (Microsoft, "Configure Azure CNI Overlay networking in AKS", network security groups: pod
 *     traffic is not encapsulated, so the subnet's NSG sees node-to-node, node-to-pod and
 *     pod-to-pod flows, which must all be allowed); inbound TCP 80 and 443 from the Internet for
 *     Traefik's public load balancer (the rule AKS adds to its own NSG: a subnet NSG is evaluated
 *     too); inbound from the `AzureLoadBalancer` tag, the load balancer's health probes: their
 *     source, the host's virtual IP 168.63.129.16, is also in the `VirtualNetwork` tag (Microsoft,
 *     "Virtual network service tags": VirtualNetwork includes "the virtual IP address of the
 *     host"; "What is IP address 168.63.129.16?": the source of Azure Load Balancer's health
 *     probes), so the VNet deny below would drop them before Azure's own
 *     AllowAzureLoadBalancerInBound (65001) and every node would be marked down; outbound TCP 443 to the private-endpoint subnet and TCP 5432 to the database subnet
 *     (pods reach both SNATed to the node's address); the rest of the VNet denied both ways.
 *     Outbound to the Internet stays open: AKS's own dependencies are FQDNs without fixed
 *     addresses, which an NSG cannot express (Microsoft, "Outbound network and FQDN rules for
 *     AKS clusters"), and Airbyte's connectors reach sources on any port; inside the cluster,
 *     NetworkPolicies restrict it.
 *   - `private-endpoints` (network policies on, so the NSG governs the endpoints): inbound TCP 443
 *     from the nodes (and from the agents' subnet when there is one), the rest of the VNet
 *     denied; every outbound flow denied (endpoints only answer). No load balancer probes a
 *     private endpoint, so no `AzureLoadBalancer` rule (nor on `postgres`: Flexible Server's
 *     documented NSG needs are the ones below, its servers sit behind no load balancer of ours).
 *   - `postgres`: inbound TCP 5432 from the nodes; TCP 5432 and 6432 within the subnet both
 *     ways and outbound TCP 443 to the `Storage` service tag, which Flexible Server's high
 *     availability and WAL archiving need (Microsoft, "Networking with private access (VNet
 *     integration)", network security groups); the rest of the VNet denied both ways. Outbound to
 *     the Internet stays at Azure's default: the managed service reaches Microsoft endpoints
 *     (Entra ID among them) that no documented tag list covers.
 *   - `apiserver` (API Server VNet Integration, `API_SERVER_SUBNET_PREFIX`): inbound TCP 443 and
 *     4443 from the nodes and overlay pods and TCP 9988 from the `AzureLoadBalancer` tag (the rules
 *     Microsoft requires, `API_SERVER_PORTS`), TCP 443 within the subnet, from the agents (when
 *     there are some) and, on a public cluster, from `publicAccessCidrs`; outbound TCP on any port
 *     to the nodes and pods (kubelet, admission webhooks, aggregated APIs), TCP 443 to the private
 *     endpoints (the KMS plugin to the key vault: Microsoft Learn, "Add KMS etcd encryption",
 *     limitations) and within the subnet (AKS creates its own private endpoint to the vault for
 *     KMS, subnet undocumented); the rest of the VNet denied both ways, the Internet left open.
 *     The nodes' group sends TCP 443/4443 to it and admits TCP from it; the private endpoints'
 *     group admits TCP 443 from it.
 *   The agents' subnet has its own group (`AzureTerraformCloudAgent`).
 * - Private DNS zones (`privateDnsZone`) are created on demand, once each, and linked to the VNet
 *   without auto-registration.
 * - `apiserver`: the API server's /27 in the free last quarter, after the agents' /27, delegated
 *   to Microsoft.ContainerService/managedClusters, without NAT (see `API_SERVER_SUBNET_PREFIX`).
 * - `tfc-agents` (`terraformCloudAgentSubnet`, on demand): the Terraform Cloud agents' /27 in the
 *   free last quarter, delegated to Microsoft.App/environments, egress through the NAT gateway.
 */
export class AzureNetwork extends Construct implements INetwork {
  readonly vnet: VirtualNetwork;
  readonly nodeSubnet: Subnet;
  readonly privateEndpointSubnet: Subnet;
  readonly databaseSubnet: Subnet;
  /** The API server's delegated subnet (`API_SERVER_SUBNET_PREFIX`). */
  readonly apiServerSubnet: Subnet;
  readonly apiServerCidr: string;
  readonly natGateway: NatGateway;
  /** The network security group of each subnet (see the class comment). */
  readonly nodeSecurity: SubnetSecurityGroup;
  readonly privateEndpointSecurity: SubnetSecurityGroup;
  readonly databaseSecurity: SubnetSecurityGroup;
  readonly apiServerSecurity: SubnetSecurityGroup;
  /** The node subnet's NAT association: AKS with `userAssignedNATGateway` needs it before it is created. */
  readonly nodeEgress: SubnetNatGatewayAssociation;
  readonly networkId: string;
  readonly egressAddresses: readonly string[];
  /** The node subnet's range. */
  readonly nodeCidr: string;
  private readonly ctx: AzureContext;
  private readonly dnsZones = new Map<string, LinkedDnsZone>();
  private agentSubnet?: AgentSubnet;

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
    this.nodeCidr = plan.private;

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

    // Delegated, like postgres: AKS injects the API server's pods and internal load balancer. No
    // NAT association: the API server's egress is AKS's (it runs in AKS's subscription).
    this.apiServerCidr = apiServerSubnetCidr(ctx.env.network.cidr);
    this.apiServerSubnet = subnet("apiserver", this.apiServerCidr, {
      delegation: [
        {
          name: "aks-api-server",
          serviceDelegation: { name: "Microsoft.ContainerService/managedClusters", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] },
        },
      ],
    });

    const address = new PublicIp(this, "nat-address", {
      name: ctx.name("nat-ip"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      allocationMethod: "Static",
      sku: "Standard",
      // A new address is refused by that firewall until the other cloud's stack applied it.
      ...(props.fixedEgress === true && ctx.env.production ? { lifecycle: { preventDestroy: true } } : {}),
    });
    this.natGateway = new NatGateway(this, "nat", {
      name: ctx.name("nat"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      skuName: "Standard",
      idleTimeoutInMinutes: 4,
    });
    new NatGatewayPublicIpAssociation(this, "nat-address-association", { natGatewayId: this.natGateway.id, publicIpAddressId: address.id });
    this.egressAddresses = [address.ipAddress];
    this.nodeEgress = new SubnetNatGatewayAssociation(this, "nodes-nat", { subnetId: this.nodeSubnet.id, natGatewayId: this.natGateway.id });

    const cluster = [plan.private, overlayRanges(ctx.env.network.cidr).podCidr];
    const apiServer = this.apiServerCidr;
    const denyVnet = (direction: "Inbound" | "Outbound", description: string): SubnetSecurityRule => ({
      name: direction === "Inbound" ? "deny-vnet-in" : "deny-vnet-out",
      description,
      direction,
      access: "Deny",
      priority: 4096,
      protocol: "*",
      source: direction === "Inbound" ? ["VirtualNetwork"] : ["*"],
      destination: direction === "Inbound" ? ["*"] : ["VirtualNetwork"],
      ports: ["*"],
    });
    const allow = (name: string, description: string, direction: "Inbound" | "Outbound", priority: number, protocol: "*" | "Tcp", source: readonly string[], destination: readonly string[], ports: readonly string[]): SubnetSecurityRule =>
      ({ name, description, direction, access: "Allow", priority, protocol, source, destination, ports });
    this.nodeSecurity = this.securityGroup("nodes", this.nodeSubnet, [
      allow("cluster-in", "Nodes and overlay pods among themselves (Azure CNI overlay does not encapsulate pod traffic)", "Inbound", 100, "*", cluster, cluster, ["*"]),
      allow("web-in", "HTTP and HTTPS to Traefik's public load balancer", "Inbound", 110, "Tcp", ["Internet"], ["*"], ["80", "443"]),
      // Above deny-vnet-in: the probes' source (168.63.129.16) is in the VirtualNetwork tag, so the
      // deny would drop them before Azure's AllowAzureLoadBalancerInBound (65001) is reached.
      allow("lb-probes-in", "Azure Load Balancer health probes to the nodes (Traefik's service, the AKS load balancer's backends)", "Inbound", 130, "*", ["AzureLoadBalancer"], ["*"], ["*"]),
      allow("apiserver-in", "The API server to the kubelets, admission webhooks and aggregated APIs", "Inbound", 140, "Tcp", [apiServer], cluster, ["*"]),
      denyVnet("Inbound", "The rest of the VNet"),
      allow("cluster-out", "Nodes and overlay pods among themselves", "Outbound", 100, "*", cluster, cluster, ["*"]),
      allow("endpoints-out", "HTTPS to the storage account's and key vault's private endpoints", "Outbound", 110, "Tcp", [plan.private], [plan.public], ["443"]),
      allow("postgres-out", "PostgreSQL in the database subnet", "Outbound", 120, "Tcp", [plan.private], [plan.database], ["5432"]),
      allow("apiserver-out", "Nodes and pods to the API server (API Server VNet Integration)", "Outbound", 130, "Tcp", cluster, [apiServer], API_SERVER_PORTS),
      denyVnet("Outbound", "The rest of the VNet (the Internet stays open: AKS's dependencies are FQDNs)"),
    ]);
    this.privateEndpointSecurity = this.securityGroup("private-endpoints", this.privateEndpointSubnet, [
      allow("nodes-https-in", "HTTPS from the nodes to the private endpoints", "Inbound", 100, "Tcp", [plan.private], [plan.public], ["443"]),
      allow("apiserver-https-in", "The API server's KMS plugin to the key vault's endpoint", "Inbound", 120, "Tcp", [apiServer], [plan.public], ["443"]),
      denyVnet("Inbound", "The rest of the VNet"),
      { ...denyVnet("Outbound", "Private endpoints only answer"), name: "deny-out", destination: ["*"] },
    ]);
    this.databaseSecurity = this.securityGroup("postgres", this.databaseSubnet, [
      allow("nodes-postgres-in", "PostgreSQL from the nodes", "Inbound", 100, "Tcp", [plan.private], [plan.database], ["5432"]),
      allow("subnet-in", "High availability and replication within the subnet", "Inbound", 110, "Tcp", [plan.database], [plan.database], POSTGRES_SUBNET_PORTS),
      denyVnet("Inbound", "The rest of the VNet"),
      allow("subnet-out", "High availability and replication within the subnet", "Outbound", 100, "Tcp", [plan.database], [plan.database], POSTGRES_SUBNET_PORTS),
      allow("storage-out", "WAL archiving and backups to Azure Storage", "Outbound", 110, "Tcp", [plan.database], ["Storage"], ["443"]),
      denyVnet("Outbound", "The rest of the VNet"),
    ]);
    const publicCidrs = ctx.env.cluster.publicAccessCidrs;
    this.apiServerSecurity = this.securityGroup("apiserver", this.apiServerSubnet, [
      allow("cluster-api-in", "Nodes and pods to the API server", "Inbound", 100, "Tcp", cluster, [apiServer], API_SERVER_PORTS),
      allow("lb-probes-in", "Azure Load Balancer health probes to the API server", "Inbound", 110, "Tcp", ["AzureLoadBalancer"], [apiServer], [API_SERVER_PROBE_PORT]),
      allow("subnet-in", "Within the subnet: the API server's load balancer and the KMS plugin's key vault endpoint, wherever AKS puts them", "Inbound", 120, "Tcp", [apiServer], [apiServer], ["443"]),
      ...(publicCidrs.length > 0 ? [allow("public-api-in", "The authorized IP ranges to the public API server", "Inbound", 130, "Tcp", publicCidrs, [apiServer], ["443"])] : []),
      denyVnet("Inbound", "The rest of the VNet"),
      allow("cluster-out", "The API server to the kubelets, admission webhooks and aggregated APIs", "Outbound", 100, "Tcp", [apiServer], cluster, ["*"]),
      allow("vault-out", "The KMS plugin to the key vault's private endpoint", "Outbound", 110, "Tcp", [apiServer], [plan.public], ["443"]),
      allow("subnet-out", "Within the subnet (see subnet-in)", "Outbound", 120, "Tcp", [apiServer], [apiServer], ["443"]),
      denyVnet("Outbound", "The rest of the VNet (the Internet stays open: Entra ID and AKS's own endpoints)"),
    ]);
  }

  /** A network security group `<env>-<subnet>-nsg` with these rules, associated with the subnet. */
  private securityGroup(subnetName: string, subnet: Subnet, rules: readonly SubnetSecurityRule[]): SubnetSecurityGroup {
    const { ctx } = this;
    const group = new NetworkSecurityGroup(this, `${subnetName}-nsg`, { name: ctx.name(subnetName, "nsg"), location: ctx.location, resourceGroupName: ctx.resourceGroupName });
    // azurerm takes one value in `x_prefix`/`x_range` and several in `x_prefixes`/`x_ranges`, exactly one of the two.
    const oneOrMany = (values: readonly string[]): [string | undefined, string[] | undefined] => (values.length === 1 ? [values[0], undefined] : [undefined, [...values]]);
    const created: NetworkSecurityRule[] = [];
    const addRule = (rule: SubnetSecurityRule) => {
      const [sourceAddressPrefix, sourceAddressPrefixes] = oneOrMany(rule.source);
      const [destinationAddressPrefix, destinationAddressPrefixes] = oneOrMany(rule.destination);
      const [destinationPortRange, destinationPortRanges] = oneOrMany(rule.ports);
      const resource = new NetworkSecurityRule(this, `${subnetName}-nsg-${rule.name}`, {
        name: rule.name,
        description: rule.description,
        resourceGroupName: ctx.resourceGroupName,
        networkSecurityGroupName: group.name,
        direction: rule.direction,
        access: rule.access,
        priority: rule.priority,
        protocol: rule.protocol,
        sourcePortRange: "*",
        sourceAddressPrefix,
        sourceAddressPrefixes,
        destinationAddressPrefix,
        destinationAddressPrefixes,
        destinationPortRange,
        destinationPortRanges,
      });
      created.push(resource);
      return resource;
    };
    rules.forEach(addRule);
    const association = new SubnetNetworkSecurityGroupAssociation(this, `${subnetName}-nsg-association`, { subnetId: subnet.id, networkSecurityGroupId: group.id });
    return { group, association, rules: created, addRule };
  }

  /**
   * The Terraform Cloud agents' subnet (see `AGENT_SUBNET_PREFIX`), created on first use so that
   * environments without agents keep exactly the subnets they had. Delegated to
   * Microsoft.App/environments (azurerm 4.55.0 internal/services/network/subnet_resource.go lists
   * it in `subnetDelegationServiceNames`; `join/action` is the one action that delegation takes),
   * without default outbound access, and associated with the NAT gateway: a workload profiles
   * environment sends its apps' outbound traffic through a NAT gateway on its subnet (Microsoft,
   * "Virtual network configuration", "NAT gateway integration").
   */
  terraformCloudAgentSubnet(): AgentSubnet {
    if (this.agentSubnet) return this.agentSubnet;
    const { ctx } = this;
    const cidr = agentSubnetCidr(ctx.env.network.cidr);
    const reserved = reservedRangeMet(cidr);
    // The spec check (azureSpecProblems) refuses such a range before anything is built.
    if (reserved !== undefined) throw new Error(`the agent subnet ${cidr} overlaps ${reserved}, reserved by Azure Container Apps (the spec check should have caught this)`);
    const subnet = new Subnet(this, "tfc-agents", {
      name: "tfc-agents",
      resourceGroupName: ctx.resourceGroupName,
      virtualNetworkName: this.vnet.name,
      addressPrefixes: [cidr],
      defaultOutboundAccessEnabled: false,
      delegation: [
        {
          name: "container-apps-environments",
          serviceDelegation: { name: "Microsoft.App/environments", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] },
        },
      ],
    });
    const egress = new SubnetNatGatewayAssociation(this, "tfc-agents-nat", { subnetId: subnet.id, natGatewayId: this.natGateway.id });
    // The agents read their token through the key vault's private endpoint and reach the private
    // AKS API, which API Server VNet Integration puts behind an internal load balancer in the
    // API server subnet.
    const endpoints = planSubnets(ctx.env.network.cidr, ctx.env.network.zones)[0].public;
    this.apiServerSecurity.addRule({ name: "agents-api-in", description: "HTTPS from the Terraform Cloud agents to the private AKS API", direction: "Inbound", access: "Allow", priority: 140, protocol: "Tcp", source: [cidr], destination: [this.apiServerCidr], ports: ["443"] });
    this.privateEndpointSecurity.addRule({ name: "agents-https-in", description: "HTTPS from the Terraform Cloud agents to the private endpoints", direction: "Inbound", access: "Allow", priority: 110, protocol: "Tcp", source: [cidr], destination: [endpoints], ports: ["443"] });
    this.agentSubnet = { subnet, cidr, egress };
    return this.agentSubnet;
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
