/**
 * A database on another cloud than the cluster's, over a site-to-site VPN (issue 14, stage 2; the
 * pair built: an AKS cluster with its databases on AWS, where the databases of a move from AWS to
 * Azure stay while processing moves). Checked against what consumes the output: the real AWS
 * provider (validate and plan offline, `terraform show -json`), Terraform itself on the crossing
 * variables, azurerm 4.55.0's and Microsoft's rules for the gateway (encoded from source, each with
 * a case it must reject: the azurerm provider is not in the local mirror), the NetworkPolicy
 * semantics of the cluster's CNI, and the deploy order.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCidr, cidrsOverlap, type Ipv4Cidr } from "../constructs/core/cidr";
import { crossingsOf } from "../constructs/platform";
import { parseEnvironment, parseEnvironments, SpecErrors, type EnvironmentInput } from "../constructs/core/spec";
import { VPN_ASN, VPN_GATEWAY_INSTANCES, VPN_TUNNELS } from "../constructs/core/vpn";
import { gatewaySubnetCidr, isAzureApipaAddress, isAzureReservedAsn } from "../constructs/azure/facts";
import { applyOrder, crossingVariables, runEnvironment } from "../scripts/env-stacks";
import { stackKindsOf } from "../stacks/backend";
import { specChecks } from "../stacks/app";
import { renderedApps } from "../scripts/rendered-apps";
import { nodeId, readEnvironmentOutput, renderEnvironmentDiagram } from "../scripts/diagram";
import { flowchartProblems } from "../scripts/mermaid";
import { diffDirectories, renderSummary } from "../scripts/stack-diff";
import { loadRules, providerType, ruleKey } from "../scripts/replace-rules";
import { allows } from "./support/kubernetes/network-policy";
import { AIRFLOW_PODS, renderedPolicies } from "./support/rendered-policies";
import { specIssues, synthSpecs } from "./support/cross-cloud";
import { stackJson, tempDir } from "./support/outdir";
import { checkOffline, offlineWorkspace, planVariables, terraformUnavailable, type OfflineResult } from "./support/terraform";
import { stagingAzure } from "../environments/staging-azure";

type Block = Record<string, unknown>;
interface Stack {
  readonly resource: Record<string, Record<string, Block>>;
  readonly variable?: Record<string, Block>;
  readonly output?: Record<string, Block>;
}

/** staging-azure as its own environment without Terraform Cloud, its databases on AWS in `networks.aws`. */
function vpnSpec(changes: Record<string, unknown> = {}): EnvironmentInput {
  const spec = structuredClone(stagingAzure) as unknown as Record<string, unknown> & { databases: Block[] };
  spec.name = "lake";
  delete spec.terraformCloud;
  delete spec.metrics;
  spec.home = "azure";
  spec.networks = { aws: { cidr: "10.40.0.0/22" } };
  spec.databases = spec.databases.map((database) => ({ ...database, cloud: "aws", waivers: {} }));
  return { ...spec, ...changes } as unknown as EnvironmentInput;
}

const synth = (spec: EnvironmentInput): string => synthSpecs([spec], "cross-cloud-vpn");

const issuesOf = (spec: EnvironmentInput): string[] => specIssues([spec]);

const resources = (stack: Stack, type: string): Block[] => Object.values(stack.resource[type] ?? {});
const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;

describe("the VPN's tunnels, as both clouds take them", () => {
  it("puts each tunnel's /30 where Azure takes custom BGP addresses, the database side on the first host and the cluster side on the second", () => {
    expect(VPN_TUNNELS).toHaveLength(2 * VPN_GATEWAY_INSTANCES);
    for (const tunnel of VPN_TUNNELS) {
      expect(isAzureApipaAddress(tunnel.clusterSideAddress)).toBe(true);
      expect(cidr(tunnel.insideCidr).prefix).toBe(30);
      expect(cidrsOverlap(cidr(tunnel.insideCidr), cidr(`${tunnel.databaseSideAddress}/32`)) && cidrsOverlap(cidr(tunnel.insideCidr), cidr(`${tunnel.clusterSideAddress}/32`))).toBe(true);
    }
    // No two tunnels share a range: each BGP session is its own link.
    const pairs = VPN_TUNNELS.flatMap((a, i) => VPN_TUNNELS.slice(i + 1).map((b) => cidrsOverlap(cidr(a.insideCidr), cidr(b.insideCidr))));
    expect(pairs.filter(Boolean)).toEqual([]);
    // Each gateway instance ends two tunnels (one AWS VPN connection).
    expect([0, 1].map((instance) => VPN_TUNNELS.filter((tunnel) => tunnel.instance === instance).length)).toEqual([2, 2]);
  });

  it("Azure's APIPA rule refuses addresses outside 169.254.21.0–169.254.22.255 (azurerm validate/virtual_network_gateway.go)", () => {
    expect(["169.254.21.0", "169.254.22.255", "169.254.21.2"].map(isAzureApipaAddress)).toEqual([true, true, true]);
    expect(["169.254.20.2", "169.254.23.1", "169.254.1.2", "10.0.21.2", "169.254.21.256"].map(isAzureApipaAddress)).toEqual([false, false, false, false, false]);
  });

  it("uses ASNs neither side reserves, and different ones (Microsoft's FAQ: Azure's and IANA's reserved ASNs)", () => {
    expect([VPN_ASN.clusterSide, VPN_ASN.databaseSide].map(isAzureReservedAsn)).toEqual([false, false]);
    expect(VPN_ASN.clusterSide).not.toBe(VPN_ASN.databaseSide);
    expect([65515, 65517, 12076, 23456, 64500, 65535].map(isAzureReservedAsn)).toEqual([true, true, true, true, true, true]);
  });
});

describe("spec: networks and databases on another cloud", () => {
  it("accepts the AKS cluster with its databases on AWS in networks.aws", () => {
    expect(issuesOf(vpnSpec())).toEqual([]);
  });

  it("asks for the network of a cloud a database lives on, and refuses one where none does or for the cluster's own cloud", () => {
    expect(issuesOf(vpnSpec({ networks: undefined }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: given nothing; accepted: the private range of the aws network that holds the databases on aws/)]);
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.40.0.0/22" }, azure: { cidr: "10.50.0.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.azure: given .*; accepted: no entry for azure, the cluster's cloud: its range is network\.cidr/)]);
    expect(issuesOf(vpnSpec({ databases: [], apps: [], networks: { aws: { cidr: "10.40.0.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws: given .*; accepted: an entry only for another cloud a database lives on \(none\)/)]);
  });

  it("refuses a range that overlaps the cluster's network, is not private, not aligned or of a size the subnets do not fit", () => {
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.21.128.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: given "10\.21\.128\.0\/22"; accepted: a range that overlaps no other network of the environment \(network\.cidr is 10\.21\.0\.0\/16\)/)]);
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "100.64.0.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: .*accepted: a range inside 10\.0\.0\.0\/8/)]);
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.40.0.1/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: .*accepted: a network address with no host bits set/)]);
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.40.0.0/26" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: .*accepted: a prefix from \/16 to \/24/)]);
  });

  it("refuses a range that overlaps the AKS overlay's pod or service range, which the nodes would keep for themselves", () => {
    // staging-azure's VNet 10.21.0.0/16 leaves the overlay at 10.244.0.0/14 (pods) and 10.0.0.0/16 (services).
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.0.4.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: given "10\.0\.4\.0\/22"; accepted: on Azure, a range outside the cluster's overlay service range 10\.0\.0\.0\/16/)]);
    expect(issuesOf(vpnSpec({ networks: { aws: { cidr: "10.245.0.0/22" } } }))).toEqual([expect.stringMatching(/^networks\.aws\.cidr: given "10\.245\.0\.0\/22"; accepted: on Azure, a range outside the cluster's overlay pod range 10\.244\.0\.0\/14/)]);
  });

  it("refuses a range another environment uses, naming it", () => {
    const other = { ...vpnSpec(), name: "other", network: { cidr: "10.40.0.0/16" }, networks: undefined, databases: [], apps: [], home: undefined };
    const run = () => parseEnvironments([other, vpnSpec()], (index) => [`environments/other.ts`, `environments/lake.ts`][index], specChecks);
    expect(run).toThrow(SpecErrors);
    expect(() => run()).toThrow(/lake[\s\S]*networks\.aws\.cidr: given "10\.40\.0\.0\/22"; accepted: a range no other environment uses \(other \(environments\/other\.ts\) has 10\.40\.0\.0\/16\)/);
  });

  it("refuses the pairs whose VPN is not built, naming the one that is", () => {
    const onGcp = vpnSpec({ accounts: { ...stagingAzure.accounts, gcp: { projectId: "acme-lake-1", region: "europe-west1" } }, networks: { gcp: { cidr: "10.40.0.0/22" } } });
    (onGcp as unknown as { databases: Block[] }).databases = (onGcp as unknown as { databases: Block[] }).databases.map((database) => ({ ...database, cloud: "gcp" }));
    expect(issuesOf(onGcp)).toEqual([expect.stringMatching(/^databases\[0\]\.cloud: given "gcp"; accepted: "azure", or a pair whose site-to-site VPN is built \(on aws for a cluster on azure; on aws for a cluster on gcp\)/)]);
  });
});

describe("an AKS cluster with its databases on AWS, over the VPN", () => {
  let outdir: string;
  let home: Stack;
  let aws: Stack;
  beforeAll(() => {
    outdir = synth(vpnSpec());
    home = JSON.parse(stackJson(outdir, "lake-infra")) as Stack;
    aws = JSON.parse(stackJson(outdir, "lake-infra-aws")) as Stack;
  });

  it("applies lake-infra, lake-infra-aws, lake-infra again (the tunnels), then lake-apps", () => {
    const env = parseEnvironment(vpnSpec(), specChecks);
    expect(applyOrder(env, stackKindsOf(env))).toEqual(["infra", "infra-aws", "infra", "apps"]);
    expect(applyOrder(env, ["infra", "infra-aws"])).toEqual(["infra", "infra-aws", "infra"]);
    // Before lake-infra-aws applied (`terraform output -json` prints {}), lake-infra's first apply gets no tunnels (the default []).
    expect(crossingVariables(env, "infra", () => ({}))).toEqual({});
    expect(crossingVariables(env, "infra", () => ({ vpn_tunnel_ips: { value: ["3.1.1.1"] }, vpn_preshared_keys: { value: ["k"] } }))).toEqual({ vpn_tunnel_ips: ["3.1.1.1"], vpn_preshared_keys: ["k"] });
    // A failure to read them fails the run: an empty list would destroy the connections.
    const unreadable = () => {
      throw new Error("terraform output of lake-infra-aws failed (Error: Failed to query available provider packages)");
    };
    expect(() => crossingVariables(env, "infra", unreadable)).toThrow(/Failed to query/);
    expect(() => crossingVariables(env, "infra-aws", () => ({}))).toThrow(/needs the output cluster_issuer of lake-infra, which has none: deploy lake-infra first/);
  });

  it("has npm run deploy apply lake-infra again with the tunnels lake-infra-aws just produced, before lake-apps", () => {
    const env = parseEnvironment(vpnSpec(), specChecks);
    const tunnels = { vpn_tunnel_ips: { value: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"] }, vpn_preshared_keys: { value: ["abcdefgh", "abcdefgi", "abcdefgj", "abcdefgk"] } };
    const infraOutputs = { cluster_issuer: { value: "https://westeurope.oic.prod-aks.azure.com/t/u/" }, vpn_gateway_ips: { value: ["20.54.1.2", "20.54.3.4"] } };
    const database = { database_platform_host: { value: "lake-db-platform.c9akciq32.eu-west-1.rds.amazonaws.com" }, database_platform_admin_secret: { value: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b-AbC123" } };
    const applied = new Set<string>();
    const calls: { stack: string; varFile?: Record<string, unknown> }[] = [];
    const runner = {
      cdktn: (args: readonly string[]) => {
        const file = args.find((arg) => arg.startsWith("--var-file="))?.slice("--var-file=".length);
        calls.push({ stack: args[1], varFile: file === undefined ? undefined : (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) });
        applied.add(args[1]);
        return 0;
      },
      // A stack not applied yet has no outputs (`terraform output -json` prints {}).
      outputsOf: (stack: string) => (!applied.has(stack) ? {} : stack === "lake-infra" ? infraOutputs : stack === "lake-infra-aws" ? { ...tunnels, ...database } : {}),
      varFileDir: tempDir("vpn-var-files"),
    };
    expect(runEnvironment(env, "deploy", [], {}, runner)).toBe(0);
    expect(calls.map(({ stack, varFile }) => ({ stack, received: Object.keys(varFile ?? {}) }))).toEqual([
      { stack: "lake-infra", received: [] },
      { stack: "lake-infra-aws", received: ["cluster_issuer", "vpn_gateway_ips"] },
      { stack: "lake-infra", received: ["vpn_tunnel_ips", "vpn_preshared_keys"] },
      { stack: "lake-apps", received: ["database_platform_host", "database_platform_admin_secret"] },
    ]);
    // lake-infra-aws alone: it says lake-infra needs its second apply.
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((text: string) => (written.push(text), true)) as typeof process.stdout.write;
    try {
      expect(runEnvironment(env, "deploy", [], { only: "infra-aws" }, runner)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(written).toEqual(["lake-infra receives values from lake-infra-aws on a second apply: run --only infra next\n"]);
  });

  it("keeps the keys secret on their way: sensitive output, sensitive variable", () => {
    expect(aws.output?.vpn_preshared_keys).toEqual(expect.objectContaining({ sensitive: true }));
    expect(home.variable?.vpn_preshared_keys).toEqual(expect.objectContaining({ sensitive: true, default: [] }));
    expect(home.output?.vpn_gateway_ips).toEqual(expect.not.objectContaining({ sensitive: true }));
  });

  it("builds an active-active zone-redundant gateway as azurerm 4.55.0 accepts it", () => {
    const [gateway] = resources(home, "azurerm_virtual_network_gateway");
    // virtual_network_gateway_resource.go: VpnGw1AZ is a Generation1 SKU only; active-active takes two ip_configuration blocks.
    expect({ sku: gateway.sku, generation: gateway.generation, activeActive: gateway.active_active, bgp: gateway.enable_bgp, type: gateway.type, vpnType: gateway.vpn_type }).toEqual({ sku: "VpnGw1AZ", generation: "Generation1", activeActive: true, bgp: true, type: "Vpn", vpnType: "RouteBased" });
    const configurations = gateway.ip_configuration as Block[];
    expect(configurations).toHaveLength(VPN_GATEWAY_INSTANCES);
    const peering = (gateway.bgp_settings as { asn: number; peering_addresses: { ip_configuration_name: string; apipa_addresses: string[] }[] }).peering_addresses;
    // Each peering block names one of the gateway's configurations, and every APIPA address is in Azure's range.
    expect(peering.map((one) => one.ip_configuration_name)).toEqual(configurations.map((one) => one.name));
    expect(peering.flatMap((one) => one.apipa_addresses).every(isAzureApipaAddress)).toBe(true);
    // Zone-redundant Standard static addresses in every zone of westeurope (an AZ SKU takes only Standard).
    const addresses = resources(home, "azurerm_public_ip").filter((address) => String(address.name).startsWith("lake-vpn-"));
    expect(addresses.map((address) => ({ sku: address.sku, allocation: address.allocation_method, zones: address.zones }))).toEqual(Array(2).fill({ sku: "Standard", allocation: "Static", zones: ["1", "2", "3"] }));
  });

  it("puts the gateway in a GatewaySubnet of its own, inside the VNet, overlapping no other subnet, with no network security group", () => {
    const subnets = resources(home, "azurerm_subnet");
    const gatewaySubnet = subnets.find((subnet) => subnet.name === "GatewaySubnet");
    expect(gatewaySubnet?.address_prefixes).toEqual([gatewaySubnetCidr("10.21.0.0/16")]);
    expect(gatewaySubnet?.default_outbound_access_enabled).toBe(false);
    const range = cidr(gatewaySubnetCidr("10.21.0.0/16"));
    expect(cidrsOverlap(range, cidr("10.21.0.0/16")) && range.prefix === 27).toBe(true);
    const others = subnets.filter((subnet) => subnet !== gatewaySubnet).flatMap((subnet) => subnet.address_prefixes as string[]);
    expect(others.filter((other) => cidrsOverlap(cidr(other), range))).toEqual([]);
    const associated = resources(home, "azurerm_subnet_network_security_group_association").map((association) => String(association.subnet_id));
    expect(associated.filter((id) => id.includes("vpn-gateway"))).toEqual([]);
  });

  it("connects each tunnel with its own BGP addresses, both of them the gateway's, and its peer at the AWS side's address", () => {
    const connections = resources(home, "azurerm_virtual_network_gateway_connection");
    const locals = resources(home, "azurerm_local_network_gateway");
    expect(connections).toHaveLength(VPN_TUNNELS.length);
    const [gateway] = resources(home, "azurerm_virtual_network_gateway");
    const apipa = (gateway.bgp_settings as { peering_addresses: { apipa_addresses: string[] }[] }).peering_addresses.map((one) => one.apipa_addresses);
    VPN_TUNNELS.forEach((tunnel, index) => {
      const connection = connections[index];
      const addresses = connection.custom_bgp_addresses as { primary: string; secondary: string };
      // azurerm virtual_network_gateway_connection_resource.go: primary among the first configuration's APIPA addresses, secondary the second's.
      expect(apipa[0]).toContain(addresses.primary);
      expect(apipa[1]).toContain(addresses.secondary);
      // The tunnel's own address is the one of the instance that ends it (Microsoft's "Important" note: else the first address is used).
      expect([addresses.primary, addresses.secondary][tunnel.instance]).toBe(tunnel.clusterSideAddress);
      expect({ type: connection.type, protocol: connection.connection_protocol, bgp: connection.enable_bgp, key: connection.shared_key, count: connection.count }).toEqual({
        type: "IPsec",
        protocol: "IKEv2",
        bgp: true,
        key: `\${element(var.vpn_preshared_keys, ${index})}`,
        count: "${(length(var.vpn_tunnel_ips) > 0) ? 1 : 0}",
      });
      // azurerm's ipsec_policy values (virtual_network_gateway_connection_resource.go), the AWS side's proposal in Azure's names.
      expect(connection.ipsec_policy).toEqual({ dh_group: "DHGroup14", ike_encryption: "AES256", ike_integrity: "SHA256", ipsec_encryption: "AES256", ipsec_integrity: "SHA256", pfs_group: "PFS2048", sa_lifetime: 3600 });
      expect(locals[index]).toEqual(expect.objectContaining({ gateway_address: `\${element(var.vpn_tunnel_ips, ${index})}`, bgp_settings: { asn: VPN_ASN.databaseSide, bgp_peering_address: tunnel.databaseSideAddress } }));
      expect(locals[index].address_space).toBeUndefined();
    });
  });

  it("lets the nodes reach PostgreSQL in the AWS range before their group's VNet deny", () => {
    const rules = resources(home, "azurerm_network_security_rule").filter((rule) => String(rule.network_security_group_name).includes("nodes") && rule.direction === "Outbound");
    const remote = rules.find((rule) => rule.name === "remote-postgres-out");
    const deny = rules.find((rule) => rule.name === "deny-vnet-out");
    expect(remote).toEqual(expect.objectContaining({ access: "Allow", protocol: "Tcp", destination_address_prefix: "10.40.0.0/22", destination_port_range: "5432" }));
    expect(Number(remote?.priority)).toBeLessThan(Number(deny?.priority));
    expect(new Set(rules.map((rule) => rule.priority)).size).toBe(rules.length);
  });

  describe("with the real AWS provider", () => {
    const skip = terraformUnavailable();
    let result: OfflineResult;
    beforeAll(async () => {
      if (skip) return;
      result = await checkOffline(stackJson(outdir, "lake-infra-aws"), { vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"], cluster_issuer: "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/" });
    }, 300_000);

    it.skipIf(skip)("validates and plans lake-infra-aws with the cluster side's gateway addresses", () => {
      expect(result.validate.diagnostics).toEqual([]);
      expect(result.planSummary).toMatch(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/);
    });

    it.skipIf(skip)("renders one customer gateway per Azure instance and two tunnels each, on the /30s Azure expects", async () => {
      // The role's trust waits on the OIDC provider's ARN, unknown until applied: Terraform renders the same text, that ARN aside, as an output.
      const stack = JSON.parse(stackJson(outdir, "lake-infra-aws")) as Stack;
      const [readerRole] = resources(stack, "aws_iam_role").filter((role) => role.name === "lake-app-external-secrets");
      const withTrust = { ...stack, output: { ...stack.output, reader_trust: { value: String(readerRole.assume_role_policy).replace(/\$\{aws_iam_openid_connect_provider\.[^}]+\.arn\}/, "arn:aws:iam::444455556666:oidc-provider/aks") } } };
      const { dir, terraform } = offlineWorkspace(JSON.stringify(withTrust), "tf-vpn");
      writeFileSync(join(dir, "terraform.tfvars.json"), JSON.stringify({ vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"], cluster_issuer: "https://westeurope.oic.prod-aks.azure.com/t/u/" }));
      await terraform("init", "-no-color", "-input=false");
      await terraform("plan", "-no-color", "-input=false", "-lock=false", "-refresh=false", "-out=plan.bin");
      const shown = JSON.parse((await terraform("show", "-json", "plan.bin")).stdout) as { planned_values: { outputs: Record<string, { value: string }>; root_module: { resources: { type: string; values: Block }[] } } };
      const planned = (type: string) => shown.planned_values.root_module.resources.filter((resource) => resource.type === type).map((resource) => resource.values);
      expect(planned("aws_customer_gateway").map((gateway) => ({ ip: gateway.ip_address, asn: gateway.bgp_asn }))).toEqual([
        { ip: "20.54.1.2", asn: String(VPN_ASN.clusterSide) },
        { ip: "20.54.3.4", asn: String(VPN_ASN.clusterSide) },
      ]);
      expect(planned("aws_vpn_connection").flatMap((connection) => [connection.tunnel1_inside_cidr, connection.tunnel2_inside_cidr])).toEqual(VPN_TUNNELS.map((tunnel) => tunnel.insideCidr));
      expect(planned("aws_vpn_gateway").map((gateway) => gateway.amazon_side_asn)).toEqual([String(VPN_ASN.databaseSide)]);
      // The proposal Azure's ipsec_policy pins too, accepted by the provider's validation; AWS starts and restarts its tunnels.
      const [connection] = planned("aws_vpn_connection");
      expect({
        phase1: [connection.tunnel1_phase1_encryption_algorithms, connection.tunnel1_phase1_integrity_algorithms, connection.tunnel1_phase1_dh_group_numbers],
        phase2: [connection.tunnel2_phase2_encryption_algorithms, connection.tunnel2_phase2_integrity_algorithms, connection.tunnel2_phase2_dh_group_numbers, connection.tunnel2_phase2_lifetime_seconds],
        startup: connection.tunnel1_startup_action,
        dpd: connection.tunnel2_dpd_timeout_action,
      }).toEqual({ phase1: [["AES256"], ["SHA2-256"], [14]], phase2: [["AES256"], ["SHA2-256"], [14], 3600], startup: "start", dpd: "restart" });
      // The databases admit the AKS nodes' subnet alone, and sit in subnets with no route out but the VPN's.
      expect(planned("aws_vpc_security_group_ingress_rule").map((rule) => ({ cidr: rule.cidr_ipv4, port: rule.from_port }))).toEqual([{ cidr: "10.21.0.0/19", port: 5432 }]);
      expect(planned("aws_route").concat(planned("aws_internet_gateway"), planned("aws_nat_gateway"))).toEqual([]);
      expect(planned("aws_db_instance").map((db) => ({ public: db.publicly_accessible, subnets: db.db_subnet_group_name }))).toEqual([{ public: false, subnets: "lake-database" }]);
      // External Secrets' role trusts the AKS issuer (trailing '/' kept) for its controller's account and STS's audience only.
      const trust = JSON.parse(shown.planned_values.outputs.reader_trust.value) as { Statement: { Action: string; Condition: Record<string, Record<string, unknown>> }[] };
      expect(trust.Statement.map((statement) => ({ action: statement.Action, condition: statement.Condition }))).toEqual([
        {
          action: "sts:AssumeRoleWithWebIdentity",
          condition: { StringEquals: { "westeurope.oic.prod-aks.azure.com/t/u/:aud": "sts.amazonaws.com", "westeurope.oic.prod-aks.azure.com/t/u/:sub": "system:serviceaccount:external-secrets:external-secrets" } },
        },
      ]);
    }, 300_000);

    it.skipIf(skip)("is refused by the provider with an inside range AWS reserves, so the /30s above are checked, not assumed", async () => {
      const { dir, terraform } = offlineWorkspace(stackJson(outdir, "lake-infra-aws").replace('"169.254.21.0/30"', '"169.254.5.0/30"'), "tf-vpn-reserved");
      writeFileSync(join(dir, "terraform.tfvars.json"), JSON.stringify({ vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"], cluster_issuer: "https://westeurope.oic.prod-aks.azure.com/t/u/" }));
      await terraform("init", "-no-color", "-input=false");
      const refused = await terraform("plan", "-no-color", "-input=false", "-lock=false", "-refresh=false").then(
        () => "planned",
        (error: { stderr: string }) => error.stderr,
      );
      expect(refused).toMatch(/expected tunnel1_inside_cidr to not be any of \[169\.254\.0\.0\/30 .*169\.254\.169\.252\/30\], got 169\.254\.5\.0\/30/);
    }, 300_000);
  });

  it.skipIf(terraformUnavailable())("has Terraform refuse gateway addresses, tunnels and keys of the wrong shape, each naming the producer", () => {
    const variables = { ...aws.variable, ...home.variable };
    const accepted = { vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"], vpn_tunnel_ips: [], vpn_preshared_keys: [], cluster_issuer: "https://westeurope.oic.prod-aks.azure.com/t/u/" };
    expect(planVariables(variables, accepted).status).toBe(0);
    expect(planVariables(variables, { ...accepted, vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"], vpn_preshared_keys: ["abcdefgh", "a.b_c1234", "Zz9._zzzz", "k2345678"] }).status).toBe(0);
    const refused = (values: Record<string, unknown>) => planVariables(variables, { ...accepted, ...values });
    expect(refused({ vpn_gateway_ips: ["20.54.1.2"] }).output).toMatch(/vpn_gateway_ips: needs 2 bare public IPv4 addresses, the output vpn_gateway_ips of lake-infra/);
    expect(refused({ vpn_gateway_ips: ["20.54.1.2", "10.0.0.4"] }).status).not.toBe(0);
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3"] }).output).toMatch(/vpn_tunnel_ips: needs none before the other side applied, then 4 bare public IPv4 addresses, the output vpn_tunnel_ips of lake-infra-aws/);
    // AWS's alphabet: not starting with 0, no '-'.
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"], vpn_preshared_keys: ["0abcdefg", "abcdefgh", "abcdefgh", "abcdefgh"] }).status).not.toBe(0);
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"], vpn_preshared_keys: ["abc-defg", "abcdefgh", "abcdefgh", "abcdefgh"] }).status).not.toBe(0);
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"], vpn_preshared_keys: ["short", "abcdefgh", "abcdefgh", "abcdefgh"] }).output).toMatch(/vpn_preshared_keys: needs as many keys as vpn_tunnel_ips has addresses: none before the other side applied, then 4 of 8 to 64 letters/);
    // Addresses without keys (or keys without addresses) are refused here, not at an element() of an empty list.
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1", "3.1.1.2", "3.1.1.3", "3.1.1.4"] }).output).toMatch(/vpn_preshared_keys: needs as many keys as vpn_tunnel_ips has addresses/);
    expect(refused({ vpn_preshared_keys: ["abcdefgh", "abcdefgh", "abcdefgh", "abcdefgh"] }).status).not.toBe(0);
    // Multicast and broadcast are never a gateway's address.
    expect(refused({ vpn_gateway_ips: ["20.54.1.2", "224.0.0.1"] }).status).not.toBe(0);
    expect(refused({ vpn_gateway_ips: ["255.255.255.255", "20.54.1.2"] }).status).not.toBe(0);
    // A second apply's value is never "apply first": its default is always accepted.
    expect(refused({ vpn_tunnel_ips: ["3.1.1.1"] }).output).not.toMatch(/apply lake-infra-aws first/);
  });

  it.skipIf(terraformUnavailable())("has Terraform refuse a database host or admin secret that is not one, naming lake-infra-aws", () => {
    const variables = JSON.parse(stackJson(outdir, "lake-apps")).variable as Record<string, Block>;
    const names = Object.keys(variables).filter((name) => name.startsWith("database_"));
    expect(names.sort()).toEqual(["database_platform_admin_secret", "database_platform_host"]);
    const databaseVariables = Object.fromEntries(names.map((name) => [name, variables[name]]));
    // An RDS-managed secret's ARN: `rds!db-<uuid>` and the six characters Secrets Manager appends.
    const accepted = { database_platform_host: "lake-db-platform.c9akciq32.eu-west-1.rds.amazonaws.com", database_platform_admin_secret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b-AbC123" };
    expect(planVariables(databaseVariables, accepted).status).toBe(0);
    expect(planVariables(databaseVariables, { ...accepted, database_platform_admin_secret: "arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:rds!db-3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b-AbC123" }).status).toBe(0);
    expect(planVariables(databaseVariables, { ...accepted, database_platform_host: "" }).output).toMatch(/database_platform_host: needs a DNS host name, the output database_platform_host of lake-infra-aws; apply lake-infra-aws first \(README, "Databases on another cloud, over a site-to-site VPN"\)/);
    expect(planVariables(databaseVariables, { ...accepted, database_platform_admin_secret: "lake-db-platform" }).output).toMatch(/needs the ARN of an RDS-managed secret/);
    expect(planVariables(databaseVariables, { ...accepted, database_platform_admin_secret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:lake-alerts-AbC123" }).status).not.toBe(0);
  });

  it("lets External Secrets on AKS read each RDS admin secret as a role trusting the AKS issuer, through a store only the bootstrap namespace may use", () => {
    // The role's trust itself is read as the AWS provider renders it (above, "renders one customer gateway ...").
    expect(resources(aws, "aws_iam_role").filter((role) => role.name === "lake-app-external-secrets")).toHaveLength(1);
    const objects = renderedApps(stackJson(outdir, "lake-apps")).objects.map((located) => located.object as Block & { kind: string; metadata: Block; spec?: Block });
    const store = objects.find((object) => object.kind === "ClusterSecretStore" && object.metadata.name === "aws-database-admin");
    expect(store?.spec).toEqual({
      provider: { aws: { service: "SecretsManager", region: "eu-west-1", auth: { jwt: { serviceAccountRef: { name: "external-secrets", namespace: "external-secrets" } } } } },
      conditions: [{ namespaces: ["db-bootstrap"] }],
    });
    const admin = objects.filter((object) => object.kind === "ExternalSecret" && object.metadata.namespace === "db-bootstrap" && String(object.metadata.name).endsWith("-admin"));
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.map((secret) => (secret.spec as { secretStoreRef: { name: string } }).secretStoreRef.name)).toEqual(admin.map(() => "aws-database-admin"));
    // The controller's service account names that role (External Secrets' auth.jwt reads the annotation).
    const apps = JSON.parse(stackJson(outdir, "lake-apps")) as Stack;
    const [account] = resources(apps, "kubernetes_service_account_v1").filter((one) => (one.metadata as Block).name === "external-secrets");
    const [provider] = (JSON.parse(stackJson(outdir, "lake-infra-aws")) as { provider: { aws: { allowed_account_ids: string[] }[] } }).provider.aws;
    expect((account.metadata as { annotations: Record<string, string> }).annotations["eks.amazonaws.com/role-arn"]).toBe(`arn:aws:iam::${provider.allowed_account_ids[0]}:role/lake-app-external-secrets`);
  });

  it("lets Airflow and the bootstrap jobs reach PostgreSQL in the AWS database subnets, and nothing else there", () => {
    const cluster = renderedPolicies(stackJson(outdir, "lake-apps"), "cilium");
    const { scheduler } = AIRFLOW_PODS;
    const job = { namespace: "db-bootstrap", labels: { "batch.kubernetes.io/job-name": "airflow-database-bootstrap" } };
    const rds = { ip: "10.40.0.10" };
    expect({
      scheduler: allows(cluster, { from: scheduler, to: rds, port: 5432 }),
      job: allows(cluster, { from: job, to: rds, port: 5432 }),
      schedulerOtherPort: allows(cluster, { from: scheduler, to: rds, port: 22 }),
      outsideTheSubnets: allows(cluster, { from: scheduler, to: { ip: "10.40.3.10" }, port: 5432 }),
    }).toEqual({ scheduler: true, job: true, schedulerOtherPort: false, outsideTheSubnets: false });
  });

  it("draws both networks with the VPN between their gateways, the RDS database, and the admin credential in Secrets Manager", () => {
    const env = parseEnvironment(vpnSpec(), specChecks);
    const diagram = renderEnvironmentDiagram(env, readEnvironmentOutput(outdir, env));
    expect(flowchartProblems(diagram)).toEqual([]);
    expect(diagram).toContain(`${nodeId("vpn", "azure", "gateway")} -->|"site-to-site VPN (BGP)"| ${nodeId("vpn", "aws", "gateway")}`);
    expect(diagram).toMatch(/network_aws_lake_vpc\["VPC lake-vpc 10\.40\.0\.0\/22"\]/);
    expect(diagram).toContain(`${nodeId("workload", "k8s", "airflow")} -->|"PostgreSQL"| ${nodeId("database", "aws", "lake-db-platform")}`);
    expect(diagram).toContain(`${nodeId("workload", "k8s", "db-bootstrap")} -->|"database admin credential"| ${nodeId("secrets", "aws", "Secrets Manager")}`);
  });

  it("has the pull-request gate refuse moving the databases home without the label, and say what the VPN's removal cuts", () => {
    // Stage 3: the databases back on Azure (restored there first), the AWS network and the VPN gone.
    const home = vpnSpec({ networks: undefined, home: undefined });
    (home as unknown as { databases: Block[] }).databases = (home as unknown as { databases: Block[] }).databases.map((database) => ({ ...database, cloud: undefined }));
    const diffs = diffDirectories(outdir, synth(home));
    const stateful = diffs.flatMap((diff) => diff.stateful.map((entry) => `${diff.stack}: ${entry}`));
    expect(stateful).toEqual(expect.arrayContaining([expect.stringMatching(/^lake-infra-aws: aws_db_instance\.\S+ destroyed: loses /)]));
    expect(renderSummary(diffs, false)).toContain("Add the `allow-stateful-replacement` label if this is intended.");
    const cautions = diffs.flatMap((diff) => diff.cautions);
    expect(cautions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aws_vpn_gateway\.\S+ destroyed: every tunnel of the VPC goes down/),
        expect.stringMatching(/^aws_vpn_connection\.\S+ destroyed: its two tunnels go down/),
        expect.stringMatching(/^azurerm_virtual_network_gateway\.\S+ destroyed: the VPN gateway goes down/),
      ]),
    );
    // The caution reaches the pull request's summary, and a stack without a VPN gets none.
    expect(renderSummary(diffs, false)).toContain("Operator steps around this apply:");
    expect(diffDirectories(outdir, outdir).flatMap((diff) => diff.cautions)).toEqual([]);
  });

  it("gives the gate a replace-forcing table for every resource type of its stacks (never 'unknown: no table')", () => {
    const tables = loadRules();
    const missing = ["lake-infra", "lake-infra-aws", "lake-apps"].flatMap((name) => {
      const stack = JSON.parse(stackJson(outdir, name)) as Stack & { terraform: { required_providers: Record<string, { source: string; version: string }> } };
      return Object.keys(stack.resource).flatMap((type) => {
        const required = stack.terraform.required_providers[type.split("_")[0]];
        const table = required === undefined ? undefined : tables.get(ruleKey(providerType(required.source), required.version));
        return table?.replaceForcing[type] === undefined ? [`${name}: ${type}`] : [];
      });
    });
    expect(missing).toEqual([]);
  });

  it("lists the crossings in stack order, every one received by a stack that declares it", () => {
    const env = parseEnvironment(vpnSpec(), specChecks);
    const names = crossingsOf(env).map((crossing) => `${crossing.from}→${crossing.to}:${crossing.name}`);
    expect(names).toEqual([
      "infra→infra-aws:cluster_issuer",
      "infra→infra-aws:vpn_gateway_ips",
      "infra-aws→infra:vpn_tunnel_ips",
      "infra-aws→infra:vpn_preshared_keys",
      "infra-aws→apps:database_platform_host",
      "infra-aws→apps:database_platform_admin_secret",
    ]);
    const declared = { infra: home.variable, "infra-aws": aws.variable, apps: (JSON.parse(stackJson(outdir, "lake-apps")) as Stack).variable };
    for (const crossing of crossingsOf(env)) expect(Object.keys(declared[crossing.to as keyof typeof declared] ?? {})).toContain(crossing.name);
  });
});
