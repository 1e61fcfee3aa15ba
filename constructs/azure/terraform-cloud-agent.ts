import { Construct } from "constructs";
import { ContainerApp } from "@cdktf/provider-azurerm/lib/container-app";
import { ContainerAppEnvironment } from "@cdktf/provider-azurerm/lib/container-app-environment";
import { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { NetworkSecurityGroup } from "@cdktf/provider-azurerm/lib/network-security-group";
import { NetworkSecurityRule, type NetworkSecurityRuleConfig } from "@cdktf/provider-azurerm/lib/network-security-rule";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { SubnetNetworkSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/subnet-network-security-group-association";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import type { ITerraformCloudAgent, TerraformCloudAgentTarget } from "../core/interfaces";
import { platformTags } from "../core/tags";
import { AzapiResource, type AzapiProvider } from "./azapi";
import { AZURE_ROLES, type AzureContext } from "./context";
import { type AzureKeyVault, KEY_VAULT_SECRET_TYPE } from "./key-vault";
import type { AzureNetwork } from "./network";

/** The same pinned agent as on AWS and GCP (see constructs/aws/terraform-cloud-agent.ts for the version's source). */
export const TFC_AGENT_IMAGE = "hashicorp/tfc-agent:1.32.0";

/** The agent binary in that image: its entrypoint (`ENTRYPOINT ["/home/tfc-agent/bin/tfc-agent"]`), run as the image's user `tfc-agent`. */
export const TFC_AGENT_BINARY = "/home/tfc-agent/bin/tfc-agent";

/**
 * kubelogin, pinned with the SHA-256 of its Linux amd64 release archive. v0.2.19 is the newest
 * tag of Azure/kubelogin (CHANGELOG.md at v0.2.19); the checksum is the one the release publishes
 * as `kubelogin-linux-amd64.zip.sha256` next to the archive
 * (https://github.com/Azure/kubelogin/releases/download/v0.2.19/kubelogin-linux-amd64.zip.sha256).
 * It was not fetched from GitHub here (no network): it is the value independent public projects
 * pin for this asset. The archive holds the binary at `bin/linux_amd64/kubelogin`.
 */
export const KUBELOGIN = {
  version: "v0.2.19",
  url: "https://github.com/Azure/kubelogin/releases/download/v0.2.19/kubelogin-linux-amd64.zip",
  sha256: "ebaeff02aa899c5cae6a2b954b64fc02738185319df2570f7dc053451efa4b2f",
  member: "bin/linux_amd64/kubelogin",
} as const;

/**
 * The token secret's value until the bootstrap writes the pool's token (README, Delivery, step 4).
 * Not a token: the entrypoint refuses to start an agent with it.
 */
export const PENDING_AGENT_TOKEN = "pending: the bootstrap puts the agent pool token here (README, Delivery, step 4)";

/** HTTPS: Terraform Cloud, registries, GitHub releases, Entra ID and Azure APIs, the AKS API and the vault's private endpoint. */
const HTTPS = "443";

/** The Consumption workload profile: its name must be `Consumption` (azurerm 4.55.0 helpers/container_app_environment.go `ExpandWorkloadProfiles`). */
export const CONSUMPTION_PROFILE = "Consumption";

/** Names of the agents' resources. */
export function terraformCloudAgentName(ctx: AzureContext): string {
  return ctx.name("tfc-agent");
}

/** How long the entrypoint waits between reads of a token secret that holds no token yet. */
export const TOKEN_POLL_SECONDS = 60;

export interface AgentEntrypointOptions {
  readonly kubelogin?: { readonly url: string; readonly sha256: string; readonly member: string };
  readonly agentBinary?: string;
  /** Seconds between token reads. @default TOKEN_POLL_SECONDS */
  readonly pollSeconds?: number;
  /** Reads before giving up; 0 waits for ever. @default 0 */
  readonly tokenAttempts?: number;
}

/**
 * The agent container's entrypoint, a Python 3 program (the image has python3: HashiCorp's agent
 * changelog, 1.2.0 "Added jq, python, and pip to the Docker image"; it has no az CLI and no
 * kubelogin). Arguments: the token secret's versionless URI and the agent identity's client id.
 * 1. Reads the agent token from Key Vault through the vault's private endpoint, with a token for
 *    the user-assigned identity from the Container Apps identity endpoint (Microsoft, "Managed
 *    identities in Azure Container Apps", REST endpoint reference: `IDENTITY_ENDPOINT`,
 *    `X-IDENTITY-HEADER: $IDENTITY_HEADER`, `api-version=2019-08-01`, `resource`, `client_id`),
 *    then `GET <secret URI>?api-version=7.4` (Key Vault REST "Get Secret": without a version, the
 *    latest). While the secret holds `PENDING_AGENT_TOKEN` (or cannot be read) it logs why and
 *    reads again every `TOKEN_POLL_SECONDS`: the container keeps running instead of crash-looping,
 *    and the agent starts within a minute of the bootstrap writing the token.
 * 2. Downloads the pinned kubelogin archive, refuses it unless its SHA-256 is the pinned one, and
 *    installs the binary in `~/.local/bin`.
 * 3. Writes `pre-plan` and `pre-apply` hooks (HashiCorp, "Agent hooks": `~/.tfc-agent/hooks/terraform-<hook>`,
 *    executable; `KEY=value` lines appended to `$TFC_AGENT_ENV` set environment variables for the
 *    Terraform command) that put `~/.local/bin` on the runs' PATH, for the providers' exec plugin.
 * 4. Replaces itself with the agent, whose environment has `TFC_AGENT_TOKEN` and no longer
 *    `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` (nor the older `MSI_ENDPOINT`/`MSI_SECRET`): runs on
 *    the agent do not get the identity endpoint's SSRF header from their environment (the agent also strips `TFC_AGENT_*` from runs: changelog
 *    0.1.7).
 * Any other failure exits non-zero; Container Apps restarts the container. No `${` or `%{` in the text
 * (Terraform would read them as template sequences in the JSON).
 */
export function agentEntrypoint(options: AgentEntrypointOptions = {}): string {
  const kubelogin = options.kubelogin ?? KUBELOGIN;
  const agent = options.agentBinary ?? TFC_AGENT_BINARY;
  const pollSeconds = options.pollSeconds ?? TOKEN_POLL_SECONDS;
  const attempts = options.tokenAttempts ?? 0;
  const literal = (value: string) => JSON.stringify(value);
  return [
    "import hashlib, io, json, os, sys, time, urllib.parse, urllib.request, zipfile",
    "",
    "SECRET_URI, CLIENT_ID = sys.argv[1], sys.argv[2]",
    `KUBELOGIN_URL = ${literal(kubelogin.url)}`,
    `KUBELOGIN_SHA256 = ${literal(kubelogin.sha256)}`,
    `KUBELOGIN_MEMBER = ${literal(kubelogin.member)}`,
    `AGENT = ${literal(agent)}`,
    `PENDING = ${literal(PENDING_AGENT_TOKEN)}`,
    `POLL_SECONDS = ${pollSeconds}`,
    `ATTEMPTS = ${attempts}`,
    'HOME = os.path.expanduser("~")',
    'BIN = os.path.join(HOME, ".local", "bin")',
    'HOOKS = os.path.join(HOME, ".tfc-agent", "hooks")',
    "",
    "",
    "def log(message):",
    '    print("tfc-agent entrypoint: " + message, file=sys.stderr, flush=True)',
    "",
    "",
    "def fail(message):",
    "    log(message)",
    "    sys.exit(1)",
    "",
    "",
    "def fetch(url, headers=None):",
    "    request = urllib.request.Request(url, headers=headers or {})",
    "    with urllib.request.urlopen(request, timeout=120) as response:",
    "        return response.read()",
    "",
    "",
    "def read_token():",
    '    query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": "https://vault.azure.net", "client_id": CLIENT_ID})',
    '    identity = json.loads(fetch(os.environ["IDENTITY_ENDPOINT"] + "?" + query, {"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]}))',
    '    secret = json.loads(fetch(SECRET_URI + "?api-version=7.4", {"Authorization": "Bearer " + identity["access_token"]}))',
    '    return secret.get("value") or ""',
    "",
    "",
    "attempt = 0",
    "while True:",
    "    attempt += 1",
    "    try:",
    "        token = read_token()",
    '        if token.strip() not in ("", PENDING):',
    "            break",
    '        problem = "holds no token yet (README, Delivery, bootstrap step 4)"',
    "    except Exception as error:",
    '        problem = "cannot be read: " + str(error)',
    "    if ATTEMPTS and attempt >= ATTEMPTS:",
    '        fail("the agent token secret " + SECRET_URI + " " + problem)',
    '    log("the agent token secret " + SECRET_URI + " " + problem + "; reading it again in " + str(POLL_SECONDS) + " s")',
    "    time.sleep(POLL_SECONDS)",
    "",
    "try:",
    "    archive = fetch(KUBELOGIN_URL)",
    "except Exception as error:",
    '    fail("cannot download " + KUBELOGIN_URL + ": " + str(error))',
    "digest = hashlib.sha256(archive).hexdigest()",
    "if digest != KUBELOGIN_SHA256:",
    '    fail("refusing " + KUBELOGIN_URL + ": SHA-256 " + digest + ", pinned " + KUBELOGIN_SHA256)',
    "with zipfile.ZipFile(io.BytesIO(archive)) as bundle:",
    "    binary = bundle.read(KUBELOGIN_MEMBER)",
    "os.makedirs(BIN, exist_ok=True)",
    'kubelogin = os.path.join(BIN, "kubelogin")',
    'with open(kubelogin, "wb") as out:',
    "    out.write(binary)",
    "os.chmod(kubelogin, 0o755)",
    "",
    "os.makedirs(HOOKS, exist_ok=True)",
    'for hook in ("terraform-pre-plan", "terraform-pre-apply"):',
    "    path = os.path.join(HOOKS, hook)",
    '    with open(path, "w") as out:',
    "        out.write('#!/bin/sh\\necho \"PATH=' + BIN + ':$PATH\" >> \"$TFC_AGENT_ENV\"\\n')",
    "    os.chmod(path, 0o755)",
    "",
    'env = {key: value for key, value in os.environ.items() if key not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")}',
    'env["TFC_AGENT_TOKEN"] = token',
    'env["PATH"] = BIN + ":" + env.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")',
    "os.execve(AGENT, [AGENT], env)",
    "",
  ].join("\n");
}

export interface AzureTerraformCloudAgentProps {
  readonly ctx: AzureContext;
  readonly target: TerraformCloudAgentTarget;
  readonly network: AzureNetwork;
  /** The environment's key vault, which keeps the agent token. */
  readonly vault: AzureKeyVault;
  /** The azapi provider the token secret is created with (through ARM, like the database secrets). */
  readonly azapi: AzapiProvider;
}

/**
 * Terraform Cloud agents for the `<env>-apps` workspace on Azure: an Azure Container Apps app in
 * an internal workload profiles environment integrated into the environment's VNet.
 *
 * Why Container Apps rather than Container Instances: a workload profiles environment takes a
 * NAT gateway on its delegated subnet for all outbound traffic, can be internal only (no public
 * ingress address), keeps `terraformCloud.agents` replicas running and replaces them revision by
 * revision, spreads them over zones (zone redundancy), ships console logs to Log Analytics
 * without a workspace key in our configuration (azurerm reads the key at apply:
 * container_app_environment_resource.go `getSharedKeyForWorkspace`), and exposes a user-assigned
 * identity to the container (`IDENTITY_ENDPOINT`). Container Instances would need the workspace
 * key in the configuration and state for logs (`diagnostics.log_analytics.workspace_key`), and a
 * container group replaces itself on nearly every change.
 *
 * - Network: the VNet's `tfc-agents` /27, delegated to Microsoft.App/environments, egress through
 *   the NAT gateway (`AzureNetwork.terraformCloudAgentSubnet`). The AKS API of a private cluster
 *   with the AKS-managed private DNS zone (`private_dns_zone_id = "System"`) resolves and answers
 *   here: AKS links that zone to the VNet the nodes are attached to, and hosts of that VNet using
 *   Azure-provided DNS resolve it (Microsoft, "Create a private AKS cluster", hub-and-spoke notes).
 *   The key vault is reached through its private endpoint in the same VNet.
 * - Network security group on the subnet: outbound TCP 443 to the Internet tag and to the VNet;
 *   the two further outbound rules Microsoft requires for a workload profiles environment (UDP 123
 *   to NTP, any protocol within the subnet: "Securing a custom VNET in Azure Container Apps with
 *   Network Security Groups"); every other outbound flow denied. Inbound: within the subnet only
 *   (the same page), the rest of the VNet denied; the Azure load balancer's default rule stays.
 *   DNS and the identity endpoint are platform addresses NSGs do not filter.
 * - No public address: the environment is internal (no public ingress IP; Microsoft: an internal
 *   environment's managed resource group holds only a load balancer) and the app has no ingress.
 * - Token: a Key Vault secret created through ARM with `PENDING_AGENT_TOKEN` (write-only, never in
 *   state) and then never touched by Terraform (`ignore_changes = all`); the bootstrap writes the
 *   pool's token as a new version through ARM, so it is in no plan, state or JSON. The agents'
 *   user-assigned identity holds "Key Vault Secrets User" on that secret and nothing else.
 * - `TFC_AGENT_SINGLE`: one job per container; Container Apps restarts the container, which reads
 *   the token and installs kubelogin anew. Auto-update off; the image tag is the version.
 * - `terraformCloud.agents` replicas (2 in production), 2 vCPU / 4 GiB each (HashiCorp asks for at
 *   least 2 GB); up to 600 s to finish a job after SIGTERM (the most azurerm allows).
 * - Logs: the environment's console and system logs to a Log Analytics workspace kept
 *   `cluster.logRetentionDays` (30–730 days on Azure, a spec rule).
 * - The apps stack signs in to AKS with kubelogin's workload identity login and the run's own
 *   Terraform Cloud token file (`AzureClusterServices`), never with the agents' identity.
 */
export class AzureTerraformCloudAgent extends Construct implements ITerraformCloudAgent {
  readonly identity: UserAssignedIdentity;
  readonly tokenSecret: AzapiResource;
  readonly app: ContainerApp;
  readonly tokenSecretRef: string;

  constructor(scope: Construct, id: string, props: AzureTerraformCloudAgentProps) {
    super(scope, id);
    const { ctx, target, network, vault } = props;
    const env = ctx.env;
    const name = terraformCloudAgentName(ctx);
    const subnet = network.terraformCloudAgentSubnet();

    this.identity = new UserAssignedIdentity(this, "identity", { name, location: ctx.location, resourceGroupName: ctx.resourceGroupName });

    // Created through ARM like the database secrets (the vault's data plane is private), with a
    // placeholder that is not a token; after that Terraform never writes it again, or a later
    // apply would put the placeholder back over the token the bootstrap wrote.
    const secretName = `${name}-token`;
    this.tokenSecret = new AzapiResource(this, "token", {
      provider: props.azapi,
      type: KEY_VAULT_SECRET_TYPE,
      name: secretName,
      parentId: vault.vault.id,
      body: { properties: { contentType: "text/plain", attributes: { enabled: true } } },
      sensitiveBody: { properties: { value: PENDING_AGENT_TOKEN } },
      sensitiveBodyVersion: { "properties.value": "pending" },
      tags: platformTags(env),
      lifecycle: { ignoreChanges: "all", preventDestroy: env.production },
    });
    this.tokenSecretRef = this.tokenSecret.id;
    const tokenRead = new RoleAssignment(this, "token-read", {
      scope: this.tokenSecret.id,
      roleDefinitionName: AZURE_ROLES.keyVaultSecretsUser,
      principalId: this.identity.principalId,
      // A new managed identity may not have replicated in Entra ID yet; the type skips that lookup.
      principalType: "ServicePrincipal",
      description: `${name}: read the agent token of ${target.pool}`,
    });

    const securityGroup = new NetworkSecurityGroup(this, "security-group", { name, location: ctx.location, resourceGroupName: ctx.resourceGroupName });
    const rule = (ruleId: string, config: Omit<NetworkSecurityRuleConfig, "resourceGroupName" | "networkSecurityGroupName" | "name" | "sourcePortRange">) =>
      new NetworkSecurityRule(this, ruleId, {
        name: ruleId,
        resourceGroupName: ctx.resourceGroupName,
        networkSecurityGroupName: securityGroup.name,
        sourcePortRange: "*",
        ...config,
      });
    // Microsoft's rules for a workload profiles environment (container-apps/firewall-integration.md):
    // HTTPS out, NTP, Azure DNS (168.63.129.16:53), the subnet itself, and the load balancer's
    // probes in on 30000-32767; everything else is denied.
    const allows = [
      rule("https-out", {
        description: "HTTPS to Terraform Cloud, registries, GitHub releases, Entra ID and Azure APIs",
        direction: "Outbound",
        access: "Allow",
        priority: 100,
        protocol: "Tcp",
        sourceAddressPrefix: subnet.cidr,
        destinationAddressPrefix: "Internet",
        destinationPortRange: HTTPS,
      }),
      rule("https-out-vnet", {
        description: "HTTPS to the AKS API and the key vault's private endpoint",
        direction: "Outbound",
        access: "Allow",
        priority: 110,
        protocol: "Tcp",
        sourceAddressPrefix: subnet.cidr,
        destinationAddressPrefix: env.network.cidr,
        destinationPortRange: HTTPS,
      }),
      rule("ntp-out", {
        description: "NTP, which a Container Apps workload profiles environment requires",
        direction: "Outbound",
        access: "Allow",
        priority: 120,
        protocol: "Udp",
        sourceAddressPrefix: subnet.cidr,
        destinationAddressPrefix: "*",
        destinationPortRange: "123",
      }),
      rule("subnet-out", {
        description: "Within the environment's subnet, which Container Apps requires",
        direction: "Outbound",
        access: "Allow",
        priority: 130,
        protocol: "*",
        sourceAddressPrefix: subnet.cidr,
        destinationAddressPrefix: subnet.cidr,
        destinationPortRange: "*",
      }),
      rule("azure-dns-out", {
        description: "Azure DNS (168.63.129.16), which a Container Apps workload profiles environment requires",
        direction: "Outbound",
        access: "Allow",
        priority: 140,
        protocol: "*",
        sourceAddressPrefix: subnet.cidr,
        destinationAddressPrefix: "168.63.129.16",
        destinationPortRange: "53",
      }),
      rule("load-balancer-in", {
        description: "Azure Load Balancer probes, which a Container Apps workload profiles environment requires",
        direction: "Inbound",
        access: "Allow",
        priority: 110,
        protocol: "Tcp",
        sourceAddressPrefix: "AzureLoadBalancer",
        destinationAddressPrefix: subnet.cidr,
        destinationPortRange: "30000-32767",
      }),
    ];
    rule("deny-out", {
      description: "Every other outbound flow of the agents",
      direction: "Outbound",
      access: "Deny",
      priority: 4096,
      protocol: "*",
      sourceAddressPrefix: "*",
      destinationAddressPrefix: "*",
      destinationPortRange: "*",
    });
    rule("subnet-in", {
      description: "Within the environment's subnet, which Container Apps requires",
      direction: "Inbound",
      access: "Allow",
      priority: 100,
      protocol: "*",
      sourceAddressPrefix: subnet.cidr,
      destinationAddressPrefix: subnet.cidr,
      destinationPortRange: "*",
    });
    rule("deny-vnet-in", {
      description: "The rest of the VNet: agents only poll outwards",
      direction: "Inbound",
      access: "Deny",
      priority: 4096,
      protocol: "*",
      sourceAddressPrefix: "VirtualNetwork",
      destinationAddressPrefix: "*",
      destinationPortRange: "*",
    });
    const guarded = new SubnetNetworkSecurityGroupAssociation(this, "security-group-association", { subnetId: subnet.subnet.id, networkSecurityGroupId: securityGroup.id });

    const logs = new LogAnalyticsWorkspace(this, "logs", {
      name: ctx.name("tfc-agent-logs"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      sku: "PerGB2018",
      // azurerm 4.55.0 log_analytics_workspace_resource.go: `retention_in_days` IntBetween(30, 730).
      retentionInDays: env.cluster.logRetentionDays,
    });

    const environment = new ContainerAppEnvironment(this, "environment", {
      name: ctx.name("tfc-agents"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      infrastructureSubnetId: subnet.subnet.id,
      internalLoadBalancerEnabled: true,
      // Set, not left to Azure: azurerm 4.55.0 suppresses a diff on this ForceNew argument only
      // when a non-Consumption profile exists, so a generated name would replace the environment
      // on every plan.
      infrastructureResourceGroupName: ctx.name("tfc-agents-rg"),
      workloadProfile: [{ name: CONSUMPTION_PROFILE, workloadProfileType: CONSUMPTION_PROFILE }],
      zoneRedundancyEnabled: true,
      logAnalyticsWorkspaceId: logs.id,
      logsDestination: "log-analytics",
      // The subnet's NAT gateway and security group must be in place before the environment sends anything.
      // The allow rules too: the deny-all rules alone would cut the environment off while it provisions.
      dependsOn: [subnet.egress, guarded, ...allows],
    });

    this.app = new ContainerApp(this, "app", {
      name,
      resourceGroupName: ctx.resourceGroupName,
      containerAppEnvironmentId: environment.id,
      revisionMode: "Single",
      workloadProfileName: CONSUMPTION_PROFILE,
      identity: { type: "UserAssigned", identityIds: [this.identity.id] },
      template: {
        minReplicas: target.agents,
        maxReplicas: target.agents,
        terminationGracePeriodSeconds: 600,
        container: [
          {
            name: "tfc-agent",
            image: TFC_AGENT_IMAGE,
            cpu: 2,
            memory: "4Gi",
            command: ["python3", "-c", agentEntrypoint()],
            args: [`https://${ctx.keyVaultName}.vault.azure.net/secrets/${secretName}`, this.identity.clientId],
            env: [
              { name: "TFC_ADDRESS", value: "https://app.terraform.io" },
              { name: "TFC_AGENT_NAME", value: name },
              { name: "TFC_AGENT_SINGLE", value: "true" },
              { name: "TFC_AGENT_AUTO_UPDATE", value: "disabled" },
              { name: "TFC_AGENT_LOG_JSON", value: "true" },
            ],
          },
        ],
      },
      // The first replicas read the token as soon as they start.
      dependsOn: [tokenRead],
    });
  }
}
