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
