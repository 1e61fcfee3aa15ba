import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { cidrSubnet, formatCidr, type Ipv4Cidr, parseCidr } from "../../constructs/core/cidr";
import { overlayRanges } from "../../constructs/azure/facts";
import { agentSubnetCidr, apiServerSubnetCidr } from "../../constructs/azure/facts";
import { cidrsOverlap } from "../../constructs/core/cidr";
import { planSubnets, SUBNET_PLAN_LIMITS } from "../../constructs/core/network-plan";
import { InfraStack } from "../../stacks/infra";
import { azureSecurityRuleProblems } from "../support/agents";
import { defaultEnvironments } from "../support/fixtures";
import { type Endpoint, type Flow, groupVerdict, HOST_VIRTUAL_IP, nsgAllows, subnetGroups } from "../support/nsg";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { ADMIN_GROUP, azureProductionSpec, azureSpec, withCluster } from "./fixtures";

const terraformCloud = { organization: "acme-data", project: "data-platform" };
const stacks = {
  staging: synthInfra(azureSpec()),
  production: synthInfra(azureProductionSpec()),
  withAgents: synthInfra({ ...azureSpec(), terraformCloud }),
  publicApi: synthInfra(withCluster(azureSpec(), { publicAccessCidrs: ["198.51.100.0/24"], azure: { adminGroupObjectIds: [ADMIN_GROUP], privateCluster: false } })),
};

/** The n-th address of a range (an address inside it). */
const host = (range: string, n = 4): string => {
  const parsed = parseCidr(range) as Ipv4Cidr;
  return formatCidr(cidrSubnet(parsed, 32 - parsed.prefix, n)).replace(/\/32$/, "");
};
const ranges = (stack: SynthesizedStack) => {
  const vnet = String((stack.one("azurerm_virtual_network").address_space as string[])[0]);
  const subnet = (name: string) => subnetGroups(stack).find((s) => s.name === name)?.cidr as string;
  return {
    vnet,
    nodes: subnet("nodes"),
    endpoints: subnet("private-endpoints"),
    postgres: subnet("postgres"),
    agents: agentSubnetCidr(vnet),
    apiServer: subnet("apiserver"),
    pods: overlayRanges(vnet).podCidr,
  };
};
const at = (ip: string, ...tags: string[]): Endpoint => ({ ip, tags });
const INTERNET = at("203.0.113.10", "Internet");
const STORAGE = at("20.60.0.10", "Storage", "Internet");
/** Azure Load Balancer's health probes come from the host's virtual IP (also in `VirtualNetwork`). */
const PROBE = at(HOST_VIRTUAL_IP, "AzureLoadBalancer");
const tcp = (from: Endpoint, to: Endpoint, port: number): Flow => ({
  from,
  to,
  protocol: "Tcp",
  port,
});

describe("Azure network security groups", () => {
  it("guard every subnet of every Azure environment in environments/, with rules azurerm and Azure accept", () => {
    const azure = defaultEnvironments().filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) {
      const stack = new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env)));
      const subnets = subnetGroups(stack);
      expect(subnets.length).toBeGreaterThanOrEqual(3);
      for (const subnet of subnets) {
        expect(subnet.rules, `${env.name}: subnet ${subnet.name}`).toBeDefined();
        expect(azureSecurityRuleProblems(subnet.rules ?? []), `${env.name}: subnet ${subnet.name}`).toEqual([]);
      }
    }
  });

  it("the schema check rejects what azurerm and Azure refuse", () => {
    const rules = subnetGroups(stacks.staging).find((s) => s.name === "nodes")?.rules as TfBlock[];
    const rule = rules.find((r) => r.name === "cluster-in") as TfBlock;
    expect(azureSecurityRuleProblems([...rules, { ...rule, name: "twin" }])).toEqual([expect.stringContaining("another Inbound rule has priority 100")]);
    expect(azureSecurityRuleProblems([{ ...rule, priority: 4097 }])).toEqual([expect.stringContaining("priority 4097, 100 to 4096")]);
    expect(azureSecurityRuleProblems([{ ...rule, source_address_prefix: "*" }])).toEqual([expect.stringContaining("exactly one of source_address_prefix")]);
  });

  describe.each(Object.entries(stacks))("%s", (_name, stack) => {
    {
      const r = ranges(stack);
      const node = at(host(r.nodes));
      const otherNode = at(host(r.nodes, 9));
      const pod = at(host(r.pods));
      const otherPod = at(host(r.pods, 300));
      const endpoint = at(host(r.endpoints));
      const database = at(host(r.postgres));
      const standby = at(host(r.postgres, 5));
      // API Server VNet Integration: the API server's pods and internal load balancer in the delegated subnet.
      const apiServer = at(host(r.apiServer));

      it("let through every flow the cluster, the endpoints and PostgreSQL need", () => {
        const needed: [string, Flow][] = [
          ["node to node (kubelet)", tcp(node, otherNode, 10250)],
          ["pod to pod across nodes", tcp(pod, otherPod, 8080)],
          ["node to pod (service routing)", tcp(node, otherPod, 8080)],
          ["the Internet to Traefik over HTTPS", tcp(INTERNET, node, 443)],
          ["the Internet to Traefik over HTTP (redirected)", tcp(INTERNET, node, 80)],
          ["load balancer probes", tcp(PROBE, node, 31000)],
          ["nodes to the private endpoints", tcp(node, endpoint, 443)],
          ["nodes to PostgreSQL", tcp(node, database, 5432)],
          ["PostgreSQL high availability", tcp(database, standby, 6432)],
          ["PostgreSQL replication", tcp(standby, database, 5432)],
          ["PostgreSQL to Azure Storage (WAL archive)", tcp(database, STORAGE, 443)],
          ["nodes to an Airbyte source on the Internet", tcp(node, INTERNET, 3306)],
          // Microsoft Learn, "Use API Server VNet Integration", NSG security rules (azure-aks-docs
          // articles/aks/api-server-vnet-integration.md at fb060ab): cluster subnet to the API
          // server subnet TCP 443 and 4443, Azure Load Balancer to it TCP 9988.
          ["nodes to the API server", tcp(node, apiServer, 443)],
          ["nodes to the API server's 4443", tcp(node, apiServer, 4443)],
          ["pods to the API server (kubernetes service)", tcp(pod, apiServer, 443)],
          ["load balancer probes to the API server", tcp(PROBE, apiServer, 9988)],
          // The API server reaches kubelets (logs, exec) and webhook and aggregated-API pods.
          ["the API server to a kubelet", tcp(apiServer, node, 10250)],
          ["the API server to an admission webhook pod", tcp(apiServer, otherPod, 9443)],
          // use-kms-etcd-encryption.md (same tree), Limitations: TCP 443 from the API server to the
          // private key vault's endpoint.
          ["the KMS plugin to the key vault's endpoint", tcp(apiServer, endpoint, 443)],
          ["the API server to Entra ID on the Internet", tcp(apiServer, INTERNET, 443)],
        ];
        expect(needed.filter(([, flow]) => !nsgAllows(stack, flow, r.pods)).map(([what]) => what)).toEqual([]);
      });

      it("deny the rest of the VNet", () => {
        const forbidden: [string, Flow][] = [
          ["the Internet to a node's SSH", tcp(INTERNET, node, 22)],
          ["PostgreSQL to a node", tcp(database, node, 10250)],
          ["nodes to PostgreSQL on another port", tcp(node, database, 22)],
          ["nodes to PgBouncer's port (not used)", tcp(node, database, 6432)],
          ["nodes to the endpoints over HTTP", tcp(node, endpoint, 80)],
          ["a private endpoint to a node", tcp(endpoint, node, 443)],
          ["a private endpoint to PostgreSQL", tcp(endpoint, database, 5432)],
          ["PostgreSQL to the private endpoints", tcp(database, endpoint, 443)],
          ["the agents' subnet to PostgreSQL", tcp(at(host(r.agents)), database, 5432)],
          ["the agents' subnet to a kubelet", tcp(at(host(r.agents)), node, 10250)],
          ["a private endpoint to the API server", tcp(endpoint, apiServer, 443)],
          ["PostgreSQL to the API server", tcp(database, apiServer, 443)],
          ["an unused VNet address to the API server", tcp(at(host(r.vnet, 2 ** (32 - Number(r.vnet.split("/")[1])) - 10)), apiServer, 443)],
          ["nodes to the API server's probe port", tcp(node, apiServer, 9988)],
          ["nodes to the API server on another port", tcp(node, apiServer, 22)],
          ["the API server to PostgreSQL", tcp(apiServer, database, 5432)],
          ["the API server to the endpoints over HTTP", tcp(apiServer, endpoint, 80)],
          ["the Internet to the private API server", tcp(INTERNET, apiServer, 443)],
        ].filter(([what]) => stack !== stacks.publicApi || what !== "the Internet to the private API server") as [string, Flow][];
        expect(forbidden.filter(([, flow]) => nsgAllows(stack, flow, r.pods)).map(([what]) => what)).toEqual([]);
      });
    }
  });

  it("let the load balancer's probes reach the nodes only through their own rule (the VNet deny drops them otherwise)", () => {
    const r = ranges(stacks.staging);
    const probe = tcp(PROBE, at(host(r.nodes)), 31000);
    expect(nsgAllows(stacks.staging, probe, r.pods)).toBe(true);
    // The same stack without the probes' rule: the flow hits deny-vnet-in (4096) before Azure's AllowAzureLoadBalancerInBound (65001).
    const json = structuredClone(stacks.staging.json);
    const rules = json.resource?.azurerm_network_security_rule ?? {};
    const probeRules = Object.keys(rules).filter((id) => rules[id].source_address_prefix === "AzureLoadBalancer" && String(rules[id].network_security_group_name).includes("nodes-nsg"));
    expect(probeRules).toHaveLength(1);
    delete rules[probeRules[0]];
    expect(nsgAllows(new SynthesizedStack(JSON.stringify(json)), probe, r.pods)).toBe(false);
  });

  it("let the Terraform Cloud agents reach the key vault's endpoint and the private AKS API, only when they exist", () => {
    const r = ranges(stacks.withAgents);
    const agent = at(host(r.agents));
    expect(nsgAllows(stacks.withAgents, tcp(agent, at(host(r.endpoints)), 443))).toBe(true);
    expect(nsgAllows(stacks.staging, tcp(agent, at(host(r.endpoints)), 443))).toBe(false);
    expect(nsgAllows(stacks.withAgents, tcp(agent, at(host(r.apiServer)), 443))).toBe(true);
    expect(nsgAllows(stacks.staging, tcp(agent, at(host(r.apiServer)), 443))).toBe(false);
    // The private API server is no longer in the node subnet: the agents have no way to the nodes.
    expect(nsgAllows(stacks.withAgents, tcp(agent, at(host(r.nodes)), 443))).toBe(false);
  });

  it("let a public API server's authorized ranges reach it, and nothing else from the Internet", () => {
    const r = ranges(stacks.publicApi);
    const apiServer = at(host(r.apiServer));
    expect(nsgAllows(stacks.publicApi, tcp(at("198.51.100.20", "Internet"), apiServer, 443))).toBe(true);
    expect(nsgAllows(stacks.publicApi, tcp(INTERNET, apiServer, 443))).toBe(false);
    expect(nsgAllows(stacks.publicApi, tcp(at("198.51.100.20", "Internet"), apiServer, 4443))).toBe(false);
  });

  it("put the API server subnet in the VNet's free last quarter, apart from every other subnet, for every allowed VNet prefix", () => {
    // Microsoft's minimum is a /28 (api-server-vnet-integration.md, "bring-your-own VNet").
    for (let prefix = SUBNET_PLAN_LIMITS.minPrefix; prefix <= SUBNET_PLAN_LIMITS.maxPrefix; prefix++) {
      const vnet = `10.40.0.0/${prefix}`;
      const apiServer = parseCidr(apiServerSubnetCidr(vnet)) as Ipv4Cidr;
      expect(apiServer.prefix, `${vnet}`).toBeLessThanOrEqual(28);
      const lastQuarter = cidrSubnet(parseCidr(vnet) as Ipv4Cidr, 2, 3);
      expect(cidrsOverlap(apiServer, lastQuarter) && apiServer.prefix > lastQuarter.prefix, `${vnet}`).toBe(true);
      const others = [agentSubnetCidr(vnet), ...planSubnets(vnet, SUBNET_PLAN_LIMITS.maxZones).flatMap((z) => [z.private, z.public, z.database])];
      expect(others.filter((other) => cidrsOverlap(parseCidr(other) as Ipv4Cidr, apiServer)), `${vnet}`).toEqual([]);
    }
    const subnet = Object.values(stacks.staging.resources("azurerm_subnet")).find((s) => s.name === "apiserver") as TfBlock;
    expect(subnet.delegation).toEqual([{ name: "aks-api-server", service_delegation: { name: "Microsoft.ContainerService/managedClusters", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] } }]);
    expect(subnet.default_outbound_access_enabled).toBe(false);
  });

  it("the model follows Azure's evaluation: first match by priority, then the default rules", () => {
    const allow = {
      direction: "Inbound",
      access: "Allow",
      priority: 200,
      protocol: "Tcp",
      source_address_prefix: "*",
      destination_address_prefix: "*",
      destination_port_range: "443",
    };
    const deny = {
      ...allow,
      access: "Deny",
      priority: 100,
      destination_port_range: "*",
    };
    const flow = tcp(at("10.0.0.4"), at("10.0.0.5"), 443);
    expect(groupVerdict([allow, deny], "Inbound", flow, ["10.0.0.0/16"])).toBe("Deny");
    expect(groupVerdict([allow, { ...deny, priority: 300 }], "Inbound", flow, ["10.0.0.0/16"])).toBe("Allow");
    // The probes' source is in VirtualNetwork: a deny of the VNet above 65001 drops them, an allow of AzureLoadBalancer before it lets them through.
    const denyVnet = { ...deny, priority: 4096, source_address_prefix: "VirtualNetwork" };
    const probe = tcp(PROBE, at("10.0.0.5"), 31000);
    expect(groupVerdict([denyVnet], "Inbound", probe, ["10.0.0.0/16"])).toBe("Deny");
    expect(groupVerdict([denyVnet, { ...allow, priority: 130, protocol: "*", source_address_prefix: "AzureLoadBalancer", destination_port_range: "*" }], "Inbound", probe, ["10.0.0.0/16"])).toBe("Allow");
    // No rule of its own: AllowVnetInBound admits the VNet, DenyAllInBound the rest.
    expect(groupVerdict([], "Inbound", flow, ["10.0.0.0/16"])).toBe("Allow");
    expect(groupVerdict([], "Inbound", tcp(INTERNET, at("10.0.0.5"), 443), ["10.0.0.0/16"])).toBe("Deny");
  });
});
