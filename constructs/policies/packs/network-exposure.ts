import { asList, at, companions, expectValue, expectValues, references, resourcesOf, type Block, type PolicyContext, type Rule } from "../types";
import { clusterEgressCrossing } from "../../core/crossings";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0", "*", "Internet", "any", "Any"]);
const openTo = (ranges: unknown) => asList(ranges).some((range) => ANYWHERE.has(String(range)));

/** A public endpoint is acceptable only when narrowed to listed ranges that do not include everyone. */
function narrowed(ranges: unknown, what: string): string[] {
  const list = asList(ranges);
  if (list.length === 0) return [`${what} is public with no allowed ranges`];
  return openTo(list) ? [`${what} allows ${list.filter((range) => ANYWHERE.has(String(range))).join(", ")}`] : [];
}

/** Whether the AWS subnet `<ref>` (a `${aws_subnet.x.id}` expression) gives instances public addresses. */
function publicSubnet(ctx: PolicyContext, ref: unknown): boolean {
  const match = /aws_subnet\.([^.]+)\./.exec(String(ref));
  const subnet = match ? ctx.stack.resource?.aws_subnet?.[match[1]] : undefined;
  return subnet?.map_public_ip_on_launch === true;
}

/** The rules of an Azure network security group: inline and as azurerm_network_security_rule. */
function nsgRules(ctx: PolicyContext, group: string): Block[] {
  const inline = asList(at(ctx.stack.resource?.azurerm_network_security_group?.[group] ?? {}, "security_rule")) as Block[];
  return [...inline, ...companions(ctx, "azurerm_network_security_rule", "network_security_group_name", "azurerm_network_security_group", group)];
}

const prefixes = (rule: Block, side: "source" | "destination") => [...asList(rule[`${side}_address_prefix`]), ...asList(rule[`${side}_address_prefixes`])].map(String);
const allPorts = (rule: Block) => rule.destination_port_range === "*" && (rule.protocol ?? "*") === "*";

/** Whether the rules of one direction end with a Deny of all ports from (Inbound) or to (Outbound) the VNet, numbered after every Allow of that direction. */
function endsWithVnetDeny(rules: readonly Block[], direction: "Inbound" | "Outbound"): boolean {
  const own = rules.filter((rule) => rule.direction === direction);
  const lastAllow = Math.max(0, ...own.filter((rule) => rule.access === "Allow").map((rule) => Number(rule.priority)));
  const vnet = direction === "Inbound" ? "source" : "destination";
  // The subnet's side of the deny covers all of it: destination (Inbound) or source (Outbound) `*`.
  const ownSide = direction === "Inbound" ? "destination" : "source";
  return own.some((rule) => rule.access === "Deny" && allPorts(rule) && Number(rule.priority) > lastAllow && prefixes(rule, vnet).some((p) => p === "VirtualNetwork" || p === "*") && prefixes(rule, ownSide).includes("*"));
}

/** Allow rules that admit the whole VNet (or anyone) on every port and protocol: the closing deny then proves nothing. */
const vnetWideAllows = (rules: readonly Block[]) =>
  rules
    .filter((rule) => rule.access === "Allow" && allPorts(rule) && prefixes(rule, rule.direction === "Inbound" ? "source" : "destination").some((p) => p === "VirtualNetwork" || p === "*"))
    .map((rule) => `rule ${String(rule.name)} allows every port ${rule.direction === "Inbound" ? "from" : "to"} the whole VNet`);

/** The subnets an AKS node pool runs in (`vnet_subnet_id` of the default pool and of every extra pool). */
function nodeSubnets(ctx: PolicyContext): string[] {
  const ids = [
    ...resourcesOf(ctx.stack, "azurerm_kubernetes_cluster").map(([, cluster]) => at(cluster, "default_node_pool.vnet_subnet_id")),
    ...resourcesOf(ctx.stack, "azurerm_kubernetes_cluster_node_pool").map(([, pool]) => pool.vnet_subnet_id),
  ];
  return ids.flatMap((ref) => /\$\{azurerm_subnet\.([^.}]+)\.id\}/.exec(String(ref))?.[1] ?? []);
}

/** Whether the security group `<group>` (the rule's network_security_group_name reference) is associated with a node subnet. */
function guardsNodes(ctx: PolicyContext, rule: Block): boolean {
  const group = /azurerm_network_security_group\.([^.}]+)\./.exec(String(rule.network_security_group_name))?.[1];
  if (group === undefined) return false;
  return nodeSubnets(ctx).some((subnet) => companions(ctx, "azurerm_subnet_network_security_group_association", "subnet_id", "azurerm_subnet", subnet).some((a) => references(a.network_security_group_id, "azurerm_network_security_group", group)));
}

/** What reaches in from the Internet, and where nothing should. */
/** The ports the ingress controller serves the app hosts on, open to the Internet by design. */
const PUBLIC_WEB_PORTS = ["80", "443"];

/**
 * Whether the stack's `cluster_egress_ips` is the crossing's variable as `stacks/crossings.ts`
 * declares it: no default, and the validation that admits bare public addresses alone. Values
 * arriving through Terraform Cloud are invisible to the gate, so the variable's declaration is
 * what the pack can hold (azurerm itself accepts any prefix up to /30, 0.0.0.0/0 included).
 */
function receivesClusterEgress(ctx: PolicyContext): boolean {
  const variable = (ctx.stack.variable as Record<string, Record<string, unknown>> | undefined)?.cluster_egress_ips;
  const validations = asList(variable?.validation) as { condition?: unknown }[];
  return variable !== undefined && variable.default === undefined && validations.some((validation) => validation.condition === `\${${clusterEgressCrossing("azure").condition}}`);
}

/** Whether a firewall's address rules are none, or exactly the references `allowed` names. */
function admitsOnly(rules: unknown, allowed: readonly string[]): boolean {
  if (typeof rules === "string") return allowed.includes(rules);
  return asList(rules).every((rule) => allowed.includes(String(rule)));
}

export const NETWORK_EXPOSURE: readonly Rule[] = [
  {
    id: "bucket-not-public",
    pack: "network-exposure",
    title: "Buckets cannot be made public",
    fix: "block public access on the bucket (all four S3 public access blocks; no nested public access and no public network on Azure; public access prevention on GCS)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket"],
        check: (_bucket, ctx, id) => {
          const blocks = companions(ctx, "aws_s3_bucket_public_access_block", "bucket", "aws_s3_bucket", id);
          const ownership = companions(ctx, "aws_s3_bucket_ownership_controls", "bucket", "aws_s3_bucket", id);
          return [
            ...(blocks.length === 0 ? ["no aws_s3_bucket_public_access_block for this bucket"] : blocks.flatMap((block) => expectValues(block, { block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }))),
            ...(ownership.some((o) => at(o, "rule.object_ownership") === "BucketOwnerEnforced") ? [] : ["no ownership controls with BucketOwnerEnforced (ACLs stay usable)"]),
          ];
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account, ctx) => [
          ...expectValues(account, { allow_nested_items_to_be_public: false }),
          // Public network access with a Deny firewall and no address or subnet rule admits Azure's trusted services only
          // (Network Watcher writing flow logs): the same as disabled for everyone else. In a stack for a cluster on
          // another cloud (`<env>-infra-azure`), the firewall may admit that cluster's NAT addresses, and nothing else.
          ...(account.public_network_access_enabled === false ||
          (at(account, "network_rules.default_action") === "Deny" && admitsOnly(at(account, "network_rules.ip_rules"), ctx.cloud === "azure" && receivesClusterEgress(ctx) ? ["${var.cluster_egress_ips}"] : []) && asList(at(account, "network_rules.virtual_network_subnet_ids")).length === 0)
            ? []
            : [
                ctx.cloud === "azure"
                  ? "public_network_access_enabled is not false and the firewall admits more than the Deny default and the cluster's NAT addresses (var.cluster_egress_ips)"
                  : "public_network_access_enabled is not false and the firewall does not deny by default",
              ]),
        ],
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_storage_bucket"],
        check: (bucket) => expectValues(bucket, { public_access_prevention: "enforced", uniform_bucket_level_access: true }),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_storage_bucket_iam_member"],
        check: (member) => (["allUsers", "allAuthenticatedUsers"].includes(String(member.member)) ? [`member is ${String(member.member)}`] : []),
      },
    ],
  },
  {
    id: "database-not-public",
    pack: "network-exposure",
    title: "Databases have no public address",
    fix: "keep the database on private addresses only (publicly_accessible / public_network_access_enabled / ipv4_enabled = false)",
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_db_instance"], check: (db) => expectValue(db, "publicly_accessible", false) },
      { cloud: "azure", kind: "infra", types: ["azurerm_postgresql_flexible_server"], check: (db) => expectValue(db, "public_network_access_enabled", false) },
      { cloud: "gcp", kind: "infra", types: ["google_sql_database_instance"], check: (db) => expectValue(db, "settings.ip_configuration.ipv4_enabled", false) },
    ],
  },
  {
    id: "cluster-api-private",
    pack: "network-exposure",
    title: "The Kubernetes API is private, or public only to listed ranges",
    fix: "leave cluster.publicAccessCidrs empty (private endpoint) or list the ranges that need the API, never 0.0.0.0/0",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_eks_cluster"],
        check: (cluster) => (at(cluster, "vpc_config.endpoint_public_access") === false ? [] : narrowed(at(cluster, "vpc_config.public_access_cidrs"), "vpc_config.endpoint_public_access")),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster"],
        check: (cluster) => (cluster.private_cluster_enabled === true ? [] : narrowed(at(cluster, "api_server_access_profile.authorized_ip_ranges"), "the API server")),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => [
          ...(at(cluster, "private_cluster_config.enable_private_endpoint") === true ? [] : narrowed(asList(at(cluster, "master_authorized_networks_config.cidr_blocks")).map((block) => at(block, "cidr_block")), "the control plane endpoint")),
          ...(at(cluster, "master_authorized_networks_config.gcp_public_cidrs_access_enabled") === true ? ["master_authorized_networks_config.gcp_public_cidrs_access_enabled lets every Google Cloud address in"] : []),
        ],
      },
    ],
  },
  {
    id: "nodes-private",
    pack: "network-exposure",
    title: "Nodes have no public addresses",
    fix: "run nodes in private subnets without public IPs (private nodes on GKE)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_eks_node_group"],
        check: (group, ctx) => (asList(group.subnet_ids).some((ref) => publicSubnet(ctx, ref)) ? ["a subnet of the node group gives instances public addresses"] : []),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster", "azurerm_kubernetes_cluster_node_pool"],
        check: (pool) => (at(pool, "default_node_pool.node_public_ip_enabled") === true || pool.node_public_ip_enabled === true ? ["node_public_ip_enabled is true"] : []),
      },
      { cloud: "gcp", kind: "infra", types: ["google_container_cluster"], check: (cluster) => expectValue(cluster, "private_cluster_config.enable_private_nodes", true) },
    ],
  },
  {
    id: "no-ingress-from-anywhere",
    pack: "network-exposure",
    title: "No firewall rule admits traffic from anywhere",
    fix: "narrow the rule's source to the addresses that need it (another security group, a subnet, a service tag)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        // aws_security_group_rule (hashicorp/aws 5.100.0): `type` ingress or egress, `cidr_blocks`, `ipv6_cidr_blocks`.
        types: ["aws_vpc_security_group_ingress_rule", "aws_security_group", "aws_default_security_group", "aws_security_group_rule"],
        check: (rule) => {
          const inline = asList(rule.ingress).flatMap((entry) => [...asList(at(entry, "cidr_blocks")), ...asList(at(entry, "ipv6_cidr_blocks"))]);
          const classic = rule.type === "ingress" ? [...asList(rule.cidr_blocks), ...asList(rule.ipv6_cidr_blocks)] : [];
          return openTo([rule.cidr_ipv4, rule.cidr_ipv6, ...inline, ...classic]) ? ["admits 0.0.0.0/0 or ::/0"] : [];
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        // Rules as azurerm_network_security_rule and inline in azurerm_network_security_group.security_rule (the same fields).
        types: ["azurerm_network_security_rule", "azurerm_network_security_group"],
        check: (resource, ctx, id) => {
          const inline = resource.security_rule !== undefined || resource.location !== undefined;
          const rules: Block[] = inline ? (asList(resource.security_rule) as Block[]).map((rule): Block => ({ ...rule, network_security_group_name: `\${azurerm_network_security_group.${id}.name}` })) : [resource];
          return rules.flatMap((rule) => {
            if (rule.direction !== "Inbound" || rule.access !== "Allow" || !openTo([rule.source_address_prefix, ...asList(rule.source_address_prefixes)])) return [];
            const name = inline ? `security_rule ${String(rule.name)}: ` : "";
            // The app hosts are public: HTTP and HTTPS to the ingress controller's load balancer is the one intended opening.
            const ports = [rule.destination_port_range, ...asList(rule.destination_port_ranges)].filter((port) => port !== undefined);
            const web = ports.length > 0 && ports.every((port) => PUBLIC_WEB_PORTS.includes(String(port)));
            if (!web) return [`${name}source ${String(rule.source_address_prefix ?? rule.source_address_prefixes)} is anywhere, ports ${ports.map(String).join(",") || "*"}`];
            // Only the nodes run the ingress controller's load balancer backends: no other subnet takes web traffic from the Internet.
            return guardsNodes(ctx, rule) ? [] : [`${name}admits the Internet on 80/443 to a subnet that runs no AKS nodes (only the node subnet serves the ingress controller)`];
          });
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_compute_firewall"],
        check: (rule) => ((rule.direction ?? "INGRESS") === "INGRESS" && rule.allow !== undefined && openTo(rule.source_ranges) ? ["source_ranges include 0.0.0.0/0"] : []),
      },
    ],
  },
  {
    id: "default-security-group-closed",
    pack: "network-exposure",
    title: "The VPC's default security group allows nothing",
    fix: "manage aws_default_security_group with no ingress and no egress rules",
    elsewhere: {
      azure: "a VNet has no default security group",
      gcp: "the custom-mode network has no default firewall rules (only the implied deny-ingress)",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_vpc"],
        check: (_vpc, ctx, id) => {
          const groups = companions(ctx, "aws_default_security_group", "vpc_id", "aws_vpc", id);
          if (groups.length === 0) return ["the default security group is not managed (AWS gives it allow-all egress and self ingress)"];
          return groups.flatMap((group) => (asList(group.ingress).length + asList(group.egress).length === 0 ? [] : ["the default security group has rules"]));
        },
      },
    ],
  },
  {
    id: "secret-store-private",
    pack: "network-exposure",
    title: "The key vault's data plane is not reachable from the Internet",
    fix: "set public_network_access_enabled = false and network_acls.default_action = Deny; reach it through the private endpoint",
    // Secrets Manager and Secret Manager have no network switch: IAM governs them (see the identity pack).
    elsewhere: {
      aws: "Secrets Manager has no network switch: IAM governs it (identity pack)",
      gcp: "Secret Manager has no network switch: IAM governs it (identity pack)",
    },
    checks: [{ cloud: "azure", kind: "infra", types: ["azurerm_key_vault"], check: (vault) => expectValues(vault, { public_network_access_enabled: false, "network_acls.default_action": "Deny" }) }],
  },
  {
    id: "instance-metadata-protected",
    pack: "network-exposure",
    title: "Pods cannot reach the nodes' cloud credentials",
    fix: "require IMDSv2 with hop limit 1 (AWS) or GKE_METADATA (GCP) on every node pool",
    // AKS: workload identity, and the node identity holds no data roles.
    elsewhere: {
      azure: "workload identity; the node identity holds no data roles",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_launch_template"],
        check: (template) => expectValues(template, { "metadata_options.http_tokens": "required", "metadata_options.http_put_response_hop_limit": 1 }),
      },
      { cloud: "gcp", kind: "infra", types: ["google_container_node_pool"], check: (pool) => expectValue(pool, "node_config.workload_metadata_config.mode", "GKE_METADATA") },
    ],
  },
  {
    id: "subnet-has-nsg",
    pack: "network-exposure",
    title: "Every subnet but GatewaySubnet has a network security group that ends, both ways, with a deny of the rest of the VNet",
    fix: "associate a network security group with the subnet (many tenants deny subnets without one) whose last inbound and outbound rules deny every port from and to VirtualNetwork, numbered after its Allow rules",
    elsewhere: {
      aws: "security groups attach to interfaces, not subnets (default-security-group-closed, no-ingress-from-anywhere)",
      gcp: "firewall rules attach to the network (no-ingress-from-anywhere)",
    },
    checks: [
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_subnet"],
        // A group with only Azure's default rules admits the whole VNet both ways (AllowVnetInBound
        // and AllowVnetOutBound, 65000: Microsoft Learn, "Network security groups", default
        // security rules), so the group must end, in each direction, with a Deny of every port and
        // protocol between this subnet and the rest of the VNet (VirtualNetwork or *), after every
        // Allow (rules apply by priority, lowest number first, and the first match wins).
        check: (subnet, ctx, id) => {
          const associations = companions(ctx, "azurerm_subnet_network_security_group_association", "subnet_id", "azurerm_subnet", id);
          // The VPN gateway's subnet is the exception, the other way round: "Network security groups
          // (NSGs) on the gateway subnet aren't supported" and may stop the gateway (Microsoft Learn,
          // "About VPN Gateway configuration settings", gateway subnet).
          if (subnet.name === "GatewaySubnet") return associations.length === 0 ? [] : ["GatewaySubnet has a network security group, which Azure does not support on a VPN gateway's subnet"];
          if (associations.length === 0) return ["no network security group association"];
          const group = /\$\{azurerm_network_security_group\.([^.}]+)\.id\}/.exec(String(associations[0].network_security_group_id))?.[1];
          if (group === undefined) return [`network_security_group_id ${String(associations[0].network_security_group_id)} is not a group of this stack: its rules cannot be checked`];
          const rules = nsgRules(ctx, group);
          return [...vnetWideAllows(rules), ...(["Inbound", "Outbound"] as const).flatMap((direction) => (endsWithVnetDeny(rules, direction) ? [] : [`its network security group does not end ${direction === "Inbound" ? "inbound" : "outbound"} with a Deny of every port to or from the rest of the VNet after its Allow rules (Azure's AllowVnet${direction === "Inbound" ? "In" : "Out"}Bound admits every VNet flow)`]))];
        },
      },
      {
        // Subnets inline in the VNet (azurerm v4.55.0 azurerm_virtual_network `subnet` blocks) have no
        // azurerm_subnet for the check above to read.
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_virtual_network"],
        check: (vnet) => asList(vnet.subnet).map((subnet) => `subnet ${String(at(subnet, "name"))} is inline in the VNet: declare it as azurerm_subnet with its group association`),
      },
    ],
  },
];

