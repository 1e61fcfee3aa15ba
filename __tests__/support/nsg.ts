import { cidrsOverlap, type Ipv4Cidr, parseCidr } from "../../constructs/core/cidr";
import type { SynthesizedStack, TfBlock } from "./synth";

/**
 * A model of how Azure filters one flow with network security groups (Microsoft, "Network
 * security groups" and "How network security groups filter network traffic"):
 * - a flow leaving a subnet is checked against the source subnet's group (outbound rules), a
 *   flow entering a subnet against the destination subnet's group (inbound rules); both must allow;
 * - rules are evaluated by priority, lowest number first, and the first match decides;
 * - after the group's own rules come Azure's default rules: inbound AllowVnetInBound (65000,
 *   VirtualNetwork to VirtualNetwork), AllowAzureLoadBalancerInBound (65001), DenyAllInBound
 *   (65500); outbound AllowVnetOutBound (65000), AllowInternetOutBound (65001), DenyAllOutBound (65500);
 * - a subnet without a group filters nothing;
 * - service tags: `VirtualNetwork` is the VNet's address space and the host's virtual IP
 *   168.63.129.16 (Microsoft Learn, "Virtual network service tags", row VirtualNetwork: "the
 *   virtual network address space ..., the virtual IP address of the host, and address prefixes
 *   used on user-defined routes"; "What is IP address 168.63.129.16?": it is the host's virtual
 *   IP and the source of Azure Load Balancer's health probes), `Internet` an address outside it
 *   that is not Azure's platform, `AzureLoadBalancer` the platform's probe address
 *   (168.63.129.16, tagged explicitly by the caller), `Storage` an Azure Storage address. Addresses of the overlay pod range are
 *   counted outside `VirtualNetwork` (they are not in the VNet's address space), so a flow of pods
 *   passes only where a rule names their range.
 */
export interface Endpoint {
  readonly ip: string;
  /** Service tags the address belongs to besides what its address says (`Internet`, `Storage`, `AzureLoadBalancer`). */
  readonly tags?: readonly string[];
}

export interface Flow {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly protocol: "Tcp" | "Udp";
  readonly port: number;
}

type Direction = "Inbound" | "Outbound";

const DEFAULT_RULES: Readonly<Record<Direction, readonly TfBlock[]>> = {
  Inbound: [
    {
      priority: 65000,
      access: "Allow",
      protocol: "*",
      source_address_prefix: "VirtualNetwork",
      destination_address_prefix: "VirtualNetwork",
      destination_port_range: "*",
    },
    {
      priority: 65001,
      access: "Allow",
      protocol: "*",
      source_address_prefix: "AzureLoadBalancer",
      destination_address_prefix: "*",
      destination_port_range: "*",
    },
    {
      priority: 65500,
      access: "Deny",
      protocol: "*",
      source_address_prefix: "*",
      destination_address_prefix: "*",
      destination_port_range: "*",
    },
  ],
  Outbound: [
    {
      priority: 65000,
      access: "Allow",
      protocol: "*",
      source_address_prefix: "VirtualNetwork",
      destination_address_prefix: "VirtualNetwork",
      destination_port_range: "*",
    },
    {
      priority: 65001,
      access: "Allow",
      protocol: "*",
      source_address_prefix: "*",
      destination_address_prefix: "Internet",
      destination_port_range: "*",
    },
    {
      priority: 65500,
      access: "Deny",
      protocol: "*",
      source_address_prefix: "*",
      destination_address_prefix: "*",
      destination_port_range: "*",
    },
  ],
};

const list = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);
const cidr = (text: string) => parseCidr(text.includes("/") ? text : `${text}/32`) as Ipv4Cidr;
const inside = (ip: string, range: string) => {
  const outer = parseCidr(range);
  return outer !== undefined && cidrsOverlap(outer, cidr(ip));
};

/** The host's virtual IP, in the `VirtualNetwork` tag of every VNet (see above). */
export const HOST_VIRTUAL_IP = "168.63.129.16";

function matchesAddress(prefix: string, endpoint: Endpoint, vnetSpace: readonly string[]): boolean {
  if (prefix === "*") return true;
  if (prefix === "VirtualNetwork") return endpoint.ip === HOST_VIRTUAL_IP || vnetSpace.some((range) => inside(endpoint.ip, range));
  if (/^[A-Za-z]/.test(prefix)) return (endpoint.tags ?? []).includes(prefix);
  return inside(endpoint.ip, prefix);
}

function matchesPort(range: string, port: number): boolean {
  if (range === "*") return true;
  const [low, high = low] = range.split("-").map(Number);
  return port >= low && port <= high;
}

function ruleMatches(rule: TfBlock, flow: Flow, vnetSpace: readonly string[]): boolean {
  const protocol = String(rule.protocol);
  if (protocol !== "*" && protocol !== flow.protocol) return false;
  const sources = list(rule.source_address_prefix ?? rule.source_address_prefixes);
  const destinations = list(rule.destination_address_prefix ?? rule.destination_address_prefixes);
  const ports = list(rule.destination_port_range ?? rule.destination_port_ranges);
  return sources.some((p) => matchesAddress(p, flow.from, vnetSpace)) && destinations.some((p) => matchesAddress(p, flow.to, vnetSpace)) && ports.some((p) => matchesPort(p, flow.port));
}

/** The verdict of one group's rules (plus Azure's defaults) in one direction. */
export function groupVerdict(rules: readonly TfBlock[], direction: Direction, flow: Flow, vnetSpace: readonly string[]): "Allow" | "Deny" {
  const ordered = [...rules.filter((rule) => rule.direction === direction), ...DEFAULT_RULES[direction]].sort((a, b) => Number(a.priority) - Number(b.priority));
  const first = ordered.find((rule) => ruleMatches(rule, flow, vnetSpace));
  return first?.access === "Allow" ? "Allow" : "Deny";
}

const refId = (value: unknown, type: string) => new RegExp(`^\\$\\{${type}\\.([^.}]+)\\.[a-z_]+\\}$`).exec(String(value))?.[1];

/** Each subnet of the stack (by range) with the rules of the group associated with it, if any. */
export function subnetGroups(stack: SynthesizedStack): { cidr: string; name: string; rules?: TfBlock[] }[] {
  return Object.entries(stack.resources("azurerm_subnet")).map(([id, subnet]) => {
    const association = stack.all("azurerm_subnet_network_security_group_association").find((a) => refId(a.subnet_id, "azurerm_subnet") === id);
    const groupId = association ? refId(association.network_security_group_id, "azurerm_network_security_group") : undefined;
    const rules =
      groupId === undefined
        ? undefined
        : [
            ...((stack.resources("azurerm_network_security_group")[groupId]?.security_rule as TfBlock[] | undefined) ?? []),
            ...stack.all("azurerm_network_security_rule").filter((rule) => refId(rule.network_security_group_name, "azurerm_network_security_group") === groupId),
          ];
    return {
      cidr: list(subnet.address_prefixes)[0],
      name: String(subnet.name),
      rules,
    };
  });
}

/**
 * Whether the stack's groups let the flow through: the source subnet's outbound rules (when the
 * source is in one of the stack's subnets) and the destination subnet's inbound rules. Addresses
 * of the overlay pod range count as the node subnet's (a pod's traffic crosses its node's NIC).
 */
export function nsgAllows(stack: SynthesizedStack, flow: Flow, podCidr?: string): boolean {
  const vnetSpace = list(stack.one("azurerm_virtual_network").address_space);
  const subnets = subnetGroups(stack);
  const nodes = subnets.find((subnet) => subnet.name === "nodes");
  const subnetOf = (endpoint: Endpoint) => (podCidr && inside(endpoint.ip, podCidr) ? nodes : subnets.find((subnet) => inside(endpoint.ip, subnet.cidr)));
  const source = subnetOf(flow.from);
  const destination = subnetOf(flow.to);
  const out = source?.rules === undefined ? "Allow" : groupVerdict(source.rules, "Outbound", flow, vnetSpace);
  const into = destination?.rules === undefined ? "Allow" : groupVerdict(destination.rules, "Inbound", flow, vnetSpace);
  return out === "Allow" && into === "Allow";
}
