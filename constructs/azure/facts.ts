import { cidrSubnet, cidrsOverlap, formatCidr, type Ipv4Cidr, parseCidr } from "../core/cidr";

/**
 * What the Azure spec checks (spec-problems.ts) share with the Azure constructs: constants and
 * pure functions only, no construct and no provider binding, so that checking every
 * environment's spec loads none of @cdktf/provider-azurerm (constructs/platform.ts loads the
 * constructs only when an Azure environment is built).
 */

/** Storage container names: 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
export const AZURE_CONTAINER_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/** The AKS system pool's name; spec pools may not take it. */
export const SYSTEM_POOL_NAME = "critical";

/**
 * Every issuer an AKS cluster of the environment can have: `https://<location>.oic.prod-aks.azure.com/<tenant id>/<uuid>/`
 * (Microsoft Learn, "Create an OpenID Connect provider on AKS", the issuer URL it prints), with
 * the location and tenant of the spec's account. For the run roles on another cloud that manage
 * the trust of that issuer before it exists, or after a new cluster changed it.
 */
export function aksIssuerPattern(account: { readonly location: string; readonly tenantId: string }): string {
  return `https://${account.location}.oic.prod-aks.azure.com/${account.tenantId}/*`;
}

/** A spec pool name as an AKS pool name: lowercase letters and digits only. */
export function aksPoolName(name: string): string {
  return name.replace(/-/g, "");
}

/**
 * The Terraform Cloud agents' subnet: a /27, the smallest a Container Apps workload profiles
 * environment accepts (learn.microsoft.com/azure/container-apps/custom-virtual-networks,
 * "Subnet": `/27` minimum, delegated to `Microsoft.App/environments`; 12 addresses reserved for
 * the environment, one per 10 Consumption replicas, doubled during a single-revision update). It
 * is the first /27 of the last quarter of the VNet, which the neutral plan leaves free.
 */
export const AGENT_SUBNET_PREFIX = 27;

/**
 * Ranges a workload profiles environment's subnet must not overlap (same page, "Subnet address
 * range restrictions"). Only the two inside 172.16.0.0/12 can meet a spec's private VNet range;
 * 169.254.0.0/16, 192.0.2.0/24 and 100.100.0.0/16 are never RFC 1918 ranges.
 */
export const CONTAINER_APPS_RESERVED_RANGES = ["172.30.0.0/16", "172.31.0.0/16"] as const;

/** The Container Apps reserved range the agents' subnet (`subnetCidr`) meets, if any. */
export function reservedRangeMet(subnetCidr: string): string | undefined {
  const subnet = parseCidr(subnetCidr) as Ipv4Cidr;
  return CONTAINER_APPS_RESERVED_RANGES.find((range) => cidrsOverlap(parseCidr(range) as Ipv4Cidr, subnet));
}

/** The `index`th subnet of `prefix` in the last quarter of a VNet range, which the neutral plan leaves free. */
function lastQuarterSubnet(vnetCidr: string, prefix: number, index: number): string {
  const vnet = parseCidr(vnetCidr) as Ipv4Cidr;
  const lastQuarter = cidrSubnet(vnet, 2, 3);
  return formatCidr(cidrSubnet(lastQuarter, prefix - lastQuarter.prefix, index));
}

/** The agents' subnet range in a VNet range (see `AGENT_SUBNET_PREFIX`). */
export function agentSubnetCidr(vnetCidr: string): string {
  return lastQuarterSubnet(vnetCidr, AGENT_SUBNET_PREFIX, 0);
}

/**
 * The API server's subnet for API Server VNet Integration: a /27, delegated to
 * Microsoft.ContainerService/managedClusters. Microsoft Learn, "Use API Server VNet Integration"
 * (MicrosoftDocs/azure-aks-docs, articles/aks/api-server-vnet-integration.md at fb060ab): the
 * minimum is a /28, AKS reserves at least nine addresses in it, and running out prevents the API
 * server from scaling; a /28 leaves 11 usable addresses (Azure keeps 5 of every subnet), a /27
 * leaves 27. It is the second /27 of the last quarter of the VNet, right after the agents' /27
 * (`agentSubnetCidr`), which the neutral plan leaves free for every allowed VNet prefix (/16 to
 * /20: the last quarter is at least a /22).
 */
export const API_SERVER_SUBNET_PREFIX = 27;

/** The API server subnet's range in a VNet range (see `API_SERVER_SUBNET_PREFIX`). */
export function apiServerSubnetCidr(vnetCidr: string): string {
  return lastQuarterSubnet(vnetCidr, API_SERVER_SUBNET_PREFIX, 1);
}

/**
 * The VPN gateway's subnet: a /27, the size Microsoft recommends (a /29 is the minimum: "Do I need
 * a gateway subnet?", learn.microsoft.com/azure/vpn-gateway/vpn-gateway-vpn-faq), named
 * `GatewaySubnet` as Azure requires (azurerm 4.55.0 internal/services/network/validate/
 * gateway_subnet.go). The third /27 of the VNet's free last quarter, after the agents' and the
 * API server's.
 */
export function gatewaySubnetCidr(vnetCidr: string): string {
  return lastQuarterSubnet(vnetCidr, 27, 2);
}

/**
 * Custom APIPA BGP addresses: Azure takes them only in 169.254.21.0–169.254.22.255 (azurerm
 * 4.55.0 internal/services/network/validate/virtual_network_gateway.go,
 * `IPAddressInAzureReservedAPIPARange`).
 */
export function isAzureApipaAddress(address: string): boolean {
  return /^169\.254\.(21|22)\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/.test(address);
}

/**
 * ASNs a VPN gateway may not use, nor the networks it peers with: Azure's own and IANA's reserved
 * ones (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-vpn-faq, "Are there ASNs reserved by
 * Azure?"); azurerm 4.55.0 does not check `bgp_settings.asn` (virtual_network_gateway_resource.go).
 */
export function isAzureReservedAsn(asn: number): boolean {
  return [8074, 8075, 12076, 65515, 65517, 65518, 65519, 65520, 23456].includes(asn) || (asn >= 64496 && asn <= 64511) || (asn >= 65535 && asn <= 65551);
}

/** Candidate overlay ranges, in different /8s so one of each always misses the VNet. */
const POD_CIDR_CHOICES = ["10.244.0.0/14", "172.20.0.0/14"] as const;
const SERVICE_CIDR_CHOICES = ["10.0.0.0/16", "172.16.0.0/16"] as const;

/** Pod and service ranges for Azure CNI overlay that overlap neither the VNet nor each other. */
export function overlayRanges(vnetCidr: string): { podCidr: string; serviceCidr: string; dnsServiceIp: string } {
  const vnet = parseCidr(vnetCidr) as Ipv4Cidr;
  const free = (choices: readonly string[]) => choices.find((choice) => !cidrsOverlap(parseCidr(choice) as Ipv4Cidr, vnet)) as string;
  const serviceCidr = free(SERVICE_CIDR_CHOICES);
  return { podCidr: free(POD_CIDR_CHOICES), serviceCidr, dnsServiceIp: serviceCidr.replace(/\.0\/16$/, ".10") };
}
