import { Construct } from "constructs";
import { Aspects, TerraformStack } from "cdktn";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import type { WorkloadName } from "../core/apps";
import {
  ownHandle,
  type CloudPlatform,
  type ICluster,
  type INetwork,
  type NetworkOptions,
  type IWorkloadIdentity,
  type ResourceTypeMap,
  type TerraformCloudAgentTarget,
  type TerraformCloudTarget,
  type VpnRemote,
} from "../core/interfaces";
import { homeOf, type BucketSpec, type DatabaseSpec, type Environment } from "../core/spec";
import { AZURE_PAIRED_LOCATIONS } from "../core/regions";
import { environmentTags } from "../core/tags";
import { AzapiProvider } from "./azapi";
import { AzureBucket, AzureStorageAccount } from "./bucket";
import { AzureCluster } from "./cluster";
import { AzureClusterServices } from "./cluster-services";
import { AZURE_ROLES, AzureContext, resourceGroupNameOf } from "./context";
import { AzureDatabase, geoRedundantBackups, usesPlatformKey } from "./database";
import { AzureDnsZone } from "./dns";
import { AzureEncryptionKey, AzureStorageEncryption } from "./encryption";
import { AzureFlowLogs } from "./flow-logs";
import { environmentLogWorkspace } from "./diagnostics";
import type { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { AzureWorkloadIdentity } from "./identity";
import { AzureKeyVault } from "./key-vault";
import { AzureNetwork } from "./network";
import { AzureVpnGateway } from "./vpn-gateway";
import { AzureTerraformCloudTrust } from "./terraform-cloud";
import { AzureTerraformCloudAgent } from "./terraform-cloud-agent";
import { AzureEnvironmentTags } from "./tags";

/** What the infra methods share, created with the first of them. */
interface InfraBase {
  readonly resourceGroup: ResourceGroup;
  readonly ctx: AzureContext;
}

/**
 * The Azure implementation of the platform.
 * - The azurerm provider is pinned to the spec's subscription and tenant, uses Entra ID (not
 *   account keys) for storage, and configures storage through Azure Resource Manager only
 *   (`data_plane_available = false`), since the storage account has no public endpoint. A
 *   resource group is never deleted while it still holds resources Terraform does not know
 *   about; key vaults and their secrets are never purged on destroy (soft delete keeps them
 *   recoverable).
 * - The random provider generates database passwords. The azapi provider (pinned, see
 *   `AZAPI_PROVIDER`) writes them into Key Vault through ARM; it is added with the key vault
 *   only, so stacks without a database (and the apps stack) do not require it.
 * - One resource group per environment (`<env>-rg`), `prevent_destroy` in production.
 * - azurerm has no provider default tags, so one Aspect puts the environment's tags on every
 *   taggable resource; a resource's own tags win on a key clash.
 * - The storage account and key vault are per environment, created with the first bucket and
 *   the first database; `network()` must come first, as `stacks/infra.ts` does.
 * - `terraformCloudTrust()` adds a managed identity for Terraform Cloud runs, only when called, so
 *   environments without Terraform Cloud keep exactly the resources they had. With a cluster, the
 *   identity is also a cluster admin (whichever of the two is created first).
 * - `terraformCloudAgent()` runs the `<env>-apps` pool's agents in the VNet (Container Apps, see
 *   `AzureTerraformCloudAgent`), with their own subnet, created only when called.
 * - No role is ever assigned to "whoever runs Terraform" (no `azurerm_client_config`): such an
 *   assignment's principal would change with the person or run applying, and `principal_id`
 *   forces replacement.
 * - The constructor adds only the providers and the tags Aspect: the `<env>-apps` stack builds a
 *   platform too, for `clusterServices()`, and must hold no infra resource. The resource group is
 *   created by the first infra method, under the same construct id as always, so the infra
 *   stack's Terraform addresses do not move.
 */
export class AzurePlatform extends Construct implements CloudPlatform {
  readonly cloud = "azure";
  private readonly env: Environment;
  /** The naming context with the literal resource group name: creates nothing, usable anywhere. */
  private readonly naming: AzureContext;
  private infra?: InfraBase;
  private azapi?: AzapiProvider;
  private networkCreated?: AzureNetwork;
  private clusterCreated?: AzureCluster;
  private storageAccount?: AzureStorageAccount;
  private keyVault?: AzureKeyVault;
  private dnsZoneCreated?: AzureDnsZone;
  private services?: AzureClusterServices;
  private terraformCloud?: AzureTerraformCloudTrust;
  private storageKey?: AzureStorageEncryption;
  private postgresKey?: AzureEncryptionKey;
  private geoKeyVault?: AzureKeyVault;
  private postgresGeoKey?: AzureEncryptionKey;
  /** In `<env>-infra-azure` (a cluster on another cloud): the addresses the storage firewall admits. */
  private clusterEgress?: readonly string[];
  /** In `<env>-infra-azure`: the environment's Log Analytics workspace, which has no cluster to come with. */
  private storageLogs?: LogAnalyticsWorkspace;

  constructor(scope: Construct, id: string, env: Environment) {
    super(scope, id);
    const account = env.accounts.azure;
    if (!account) throw new Error(`environment ${env.name} has no Azure account (the spec check should have caught this)`);
    this.env = env;
    this.naming = new AzureContext(env, resourceGroupNameOf(env));
    new AzurermProvider(scope, "azurerm", {
      subscriptionId: account.subscriptionId,
      tenantId: account.tenantId,
      storageUseAzuread: true,
      features: [
        {
          resourceGroup: [{ preventDeletionIfContainsResources: true }],
          keyVault: [{ purgeSoftDeleteOnDestroy: false, purgeSoftDeletedSecretsOnDestroy: false, recoverSoftDeletedKeyVaults: true, recoverSoftDeletedSecrets: true }],
          storage: [{ dataPlaneAvailable: false }],
        },
      ],
    });
    new RandomProvider(scope, "random", {});
    Aspects.of(scope).add(new AzureEnvironmentTags(environmentTags(env)));
  }

  /** The environment's context, its resource names referencing the resource group (created on first use). */
  get ctx(): AzureContext {
    return this.base().ctx;
  }

  /** The environment's resource group (created on first use). */
  get resourceGroup(): ResourceGroup {
    return this.base().resourceGroup;
  }

  network(options?: NetworkOptions): AzureNetwork {
    this.networkCreated = new AzureNetwork(this, "network", { ctx: this.ctx, fixedEgress: options?.fixedEgress });
    return this.networkCreated;
  }

  cluster(network: INetwork): AzureCluster {
    if (this.clusterCreated) throw new Error("the Azure platform manages one AKS cluster per environment; cluster() was called twice");
    const azureNetwork = ownHandle(network, AzureNetwork, "Azure", "network");
    // The key vault sends its audit log to the cluster's workspace and holds the cluster's KMS key:
    // the cluster creates the workspace, then asks for the vault (see AzureClusterProps.vault).
    // A cluster away from home (stage 2 of a move) joins the stack that held this cloud's storage for
    // a cluster elsewhere, and keeps that stack's workspace, with the storage and vault logs in it.
    const logWorkspace = homeOf(this.env) === this.cloud ? undefined : this.storageLogWorkspace();
    this.clusterCreated = new AzureCluster(this, "cluster", { ctx: this.ctx, network: azureNetwork, vault: (logWorkspaceId) => this.vault(azureNetwork, logWorkspaceId), logWorkspace });
    // The VNet's flow logs feed traffic analytics in the cluster's workspace, so they come with it;
    // their account is encrypted with the storage key, so the key vault comes with them.
    new AzureFlowLogs(this, "flow-logs", {
      ctx: this.ctx,
      network: azureNetwork,
      workspace: this.clusterCreated.logWorkspace,
      azapi: this.azapiProvider(),
      encryption: this.storageEncryption(azureNetwork),
    });
    this.grantRunsClusterAdmin();
    return this.clusterCreated;
  }

  /**
   * The cluster network's side of the VPN to the network holding databases on another cloud
   * (`AzureVpnGateway`), and the nodes' way to those databases: their network security group
   * denies the rest of `VirtualNetwork`, which includes the ranges learned over the gateway
   * (Microsoft, "Virtual network service tags": VirtualNetwork), so PostgreSQL to the remote range
   * is allowed before that deny.
   */
  vpnGateway(network: INetwork, remote: VpnRemote): AzureVpnGateway {
    const azureNetwork = ownHandle(network, AzureNetwork, "Azure", "network");
    const gateway = new AzureVpnGateway(this, "vpn-gateway", { ctx: this.ctx, network: azureNetwork, remote, logWorkspaceId: this.logWorkspaceId("VPN gateway") });
    azureNetwork.nodeSecurity.addRule({
      name: "remote-postgres-out",
      description: "PostgreSQL to the databases on another cloud, over the VPN",
      direction: "Outbound",
      access: "Allow",
      priority: 125,
      protocol: "Tcp",
      source: [azureNetwork.nodeCidr],
      destination: [remote.cidr],
      ports: ["5432"],
    });
    return gateway;
  }

  /**
   * A container of the environment's storage account. For a cluster on another cloud
   * (`<env>-infra-azure`, no VNet here) the account is reached on its public endpoint, admitting
   * only the cluster's NAT addresses (`admitClusterEgress`), with the same construct ids.
   */
  bucket(spec: BucketSpec): AzureBucket {
    const network = this.servesForeignCluster ? undefined : this.requireNetwork("bucket");
    const access = network === undefined ? { allowedAddresses: this.requireClusterEgress() } : { network };
    this.storageAccount ??= new AzureStorageAccount(this, "storage", { ctx: this.ctx, ...access, logWorkspaceId: this.logWorkspaceId("bucket"), encryption: this.storageEncryption(network) });
    return this.storageAccount.addBucket(`bucket-${spec.name}`, spec);
  }

  admitClusterEgress(addresses: readonly string[]): void {
    if (!this.servesForeignCluster) throw new Error(`${this.env.name}: the storage firewall for a cluster on another cloud is for <env>-infra-azure, and the cluster runs on Azure`);
    this.clusterEgress = addresses;
  }

  /**
   * The identity of `app` for its pods on the environment's cluster on another cloud: trusting
   * that cluster's issuer (EKS's, received from `<env>-infra`) for the app's accounts, under the
   * same construct id and name as on AKS; its credentials are named by the cluster's cloud
   * (`<env>-aws-cluster-<ns>-<sa>`), so the AKS cluster's can join them when compute moves.
   */
  federatedWorkloadIdentity(app: WorkloadName, issuer: string): AzureWorkloadIdentity {
    return new AzureWorkloadIdentity(this, `identity-${app}`, { ctx: this.ctx, workload: app, oidcIssuerUrl: issuer, trustedCluster: `${this.env.cloud}-cluster` });
  }

  /** Whether this platform builds `<env>-infra-azure` for a cluster on another cloud (no VNet, no AKS here). */
  private get servesForeignCluster(): boolean {
    return this.env.cloud !== this.cloud;
  }

  private requireClusterEgress(): readonly string[] {
    if (this.clusterEgress === undefined) throw new Error(`${this.env.name}: call admitClusterEgress() before bucket() in <env>-infra-azure: the storage account's public endpoint admits the cluster's NAT addresses alone`);
    return this.clusterEgress;
  }

  database(spec: DatabaseSpec, network: INetwork, _cluster: ICluster): AzureDatabase {
    const azureNetwork = ownHandle(network, AzureNetwork, "Azure", "network");
    const vault = this.vault(azureNetwork);
    const encryption = usesPlatformKey(spec) ? undefined : (this.postgresKey ??= new AzureEncryptionKey(this, "postgres-encryption", { ctx: this.ctx, vault, purpose: "postgres" }));
    const geoEncryption = encryption && geoRedundantBackups(this.env) ? this.postgresGeoEncryption(azureNetwork) : undefined;
    return new AzureDatabase(this, `database-${spec.name}`, { ctx: this.ctx, spec, network: azureNetwork, vault, logWorkspaceId: this.logWorkspaceId("database"), encryption, geoEncryption });
  }

  /**
   * The key and identity for geo-redundant PostgreSQL backups, in the vault of the location's
   * paired region (`AZURE_PAIRED_LOCATIONS`), created with the first server that needs them.
   */
  private postgresGeoEncryption(network: AzureNetwork): AzureEncryptionKey {
    const paired = AZURE_PAIRED_LOCATIONS[this.naming.location];
    if (!paired) throw new Error(`${this.naming.location} has no paired region for geo-redundant backups' key (the spec check azureSpecProblems should have caught this)`);
    this.geoKeyVault ??= new AzureKeyVault(this, "geo-key-vault", { ctx: this.ctx, network, azapi: this.azapiProvider(), logWorkspaceId: this.logWorkspaceId("key vault"), pairedLocation: paired.location });
    this.postgresGeoKey ??= new AzureEncryptionKey(this, "postgres-geo-encryption", { ctx: this.ctx, vault: this.geoKeyVault, purpose: "postgres-geo" });
    return this.postgresGeoKey;
  }

  /**
   * Agents for the `<env>-apps` pool in the VNet, on Azure Container Apps (see
   * `AzureTerraformCloudAgent`); their token lives in the environment's key vault, created here if
   * no database created it first (same construct id, so the vault's address never depends on which).
   */
  terraformCloudAgent(target: TerraformCloudAgentTarget, network: INetwork, _cluster: ICluster): AzureTerraformCloudAgent {
    const azureNetwork = ownHandle(network, AzureNetwork, "Azure", "network");
    return new AzureTerraformCloudAgent(this, "terraform-cloud-agent", { ctx: this.ctx, target, network: azureNetwork, vault: this.vault(azureNetwork), azapi: this.azapiProvider() });
  }

  workloadIdentity(app: WorkloadName, cluster: ICluster): AzureWorkloadIdentity {
    return new AzureWorkloadIdentity(this, `identity-${app}`, {
      ctx: this.ctx,
      workload: app,
      oidcIssuerUrl: ownHandle(cluster, AzureCluster, "Azure", "cluster").oidcIssuerUrl,
    });
  }

  /**
   * "Key Vault Secrets User" on each named secret of the environment's key vault (scope
   * `<vault id>/secrets/<name>`), never on the vault: the identity reads those secrets alone, not
   * the database admin passwords beside them. A role assignment needs its scope to exist, and the
   * vault is created by this same apply, so each secret is created here first, disabled and with a
   * placeholder (`AzureKeyVault.addUserSecret`), and its assignment depends on it: a new
   * environment applies in one go, and the user writes the values afterwards (README, "Alerts").
   */
  grantUserSecretsRead(identity: IWorkloadIdentity, names: readonly string[]): void {
    const reader = ownHandle(identity, AzureWorkloadIdentity, "Azure", "workload identity");
    if (names.length === 0) return;
    const vault = this.vault(this.requireNetwork("user secrets"));
    for (const name of new Set(names)) {
      const secret = vault.addUserSecret(this, `user-secret-${name}`, name);
      reader.assignRole(`user-secret-${name}-read`, `${vault.vault.id}/secrets/${name}`, AZURE_ROLES.keyVaultSecretsUser, [secret.resource]);
    }
  }

  /** The environment's public zone, in its own resource group (see `AzureDnsZone`); one per environment. */
  dnsZone(zoneName: string): AzureDnsZone {
    if (this.dnsZoneCreated && this.dnsZoneCreated.zoneName !== zoneName) {
      throw new Error(`the Azure platform manages one DNS zone per environment: ${this.dnsZoneCreated.zoneName} exists, ${zoneName} was asked for`);
    }
    this.dnsZoneCreated ??= new AzureDnsZone(this, "dns-zone", this.naming, zoneName);
    return this.dnsZoneCreated;
  }

  /**
   * The managed identity Terraform Cloud runs of the target's workspaces sign in as, with its
   * federated credentials and subscription roles (see `AzureTerraformCloudTrust`). Created once, in
   * the environment's resource group (creating the group on first use like every infra method); a
   * second call must name the same target.
   */
  terraformCloudTrust(target: TerraformCloudTarget): AzureTerraformCloudTrust {
    if (this.terraformCloud && describeTarget(this.terraformCloud.target) !== describeTarget(target)) {
      throw new Error(`the Azure platform has one Terraform Cloud trust per environment: it exists for ${describeTarget(this.terraformCloud.target)}, ${describeTarget(target)} was asked for`);
    }
    this.terraformCloud ??= new AzureTerraformCloudTrust(this, "terraform-cloud-trust", { ctx: this.ctx, target });
    this.grantRunsClusterAdmin();
    return this.terraformCloud;
  }

  /** The Terraform Cloud run identity installs the apps stack: cluster admin, once both exist. */
  private grantRunsClusterAdmin(): void {
    const cluster = this.clusterCreated;
    const trust = this.terraformCloud;
    if (!cluster || !trust || cluster.node.tryFindChild(TERRAFORM_CLOUD_CLUSTER_ADMIN)) return;
    cluster.grantClusterAdmin(TERRAFORM_CLOUD_CLUSTER_ADMIN, trust.identity.principalId, "the Terraform Cloud run identity");
  }

  /**
   * The environment's key vault (and the azapi provider its secrets are written with), created on
   * first use; without a VNet (`<env>-infra-azure`) it has no private endpoint and holds keys only.
   */
  private vault(network: AzureNetwork | undefined, logWorkspaceId?: string): AzureKeyVault {
    this.keyVault ??= new AzureKeyVault(this, "key-vault", { ctx: this.ctx, network, azapi: this.azapiProvider(), logWorkspaceId: logWorkspaceId ?? this.logWorkspaceId("key vault") });
    return this.keyVault;
  }

  /** The environment's storage key and its identity, for every storage account (created with the first). */
  private storageEncryption(network: AzureNetwork | undefined): AzureStorageEncryption {
    this.storageKey ??= new AzureStorageEncryption(this, { ctx: this.ctx, vault: this.vault(network) });
    return this.storageKey;
  }

  /** The azapi provider, in the platform's stack, added on first use. */
  private azapiProvider(): AzapiProvider {
    this.azapi ??= new AzapiProvider(TerraformStack.of(this), "azapi", { subscriptionId: this.naming.subscriptionId, tenantId: this.naming.tenantId });
    return this.azapi;
  }

  /** Data sources and derived names only; see `AzureClusterServices`. Created once. */
  clusterServices(): AzureClusterServices {
    this.services ??= new AzureClusterServices(this, "cluster-services", this.naming);
    return this.services;
  }

  /** The resource group and the context referencing it. */
  private base(): InfraBase {
    if (!this.infra) {
      const resourceGroup = new ResourceGroup(this, "resource-group", {
        name: resourceGroupNameOf(this.env),
        location: this.naming.location,
        lifecycle: { preventDestroy: this.env.production },
      });
      this.infra = { resourceGroup, ctx: new AzureContext(this.env, resourceGroup.name) };
    }
    return this.infra;
  }

  /**
   * The cluster's Log Analytics workspace, where every resource of the environment sends its logs;
   * in `<env>-infra-azure`, which has no cluster, a workspace of its own (`<env>-logs`). When
   * compute moves here (stage 2, not built) the AKS cluster must take this workspace rather than
   * create its `<env>-cluster-logs`, or the diagnostic settings move and this one is destroyed.
   */
  private logWorkspaceId(what: string): string {
    if (this.servesForeignCluster) return this.storageLogWorkspace().id;
    if (!this.clusterCreated) throw new Error(`call cluster() before the ${what}: its logs go to the cluster's Log Analytics workspace`);
    return this.clusterCreated.logWorkspace.id;
  }

  /** `<env>-logs`: the workspace of the storage, vault and gateway logs when this stack has no cluster of its own to send them to. */
  private storageLogWorkspace(): LogAnalyticsWorkspace {
    this.storageLogs ??= environmentLogWorkspace(this, "logs", this.ctx);
    return this.storageLogs;
  }

  private requireNetwork(what: string): AzureNetwork {
    if (!this.networkCreated) throw new Error(`call network() before ${what}(): the Azure ${what} needs the VNet for its private endpoints`);
    return this.networkCreated;
  }
}

/** Construct id, under the cluster, of the Terraform Cloud run identity's cluster-admin assignment. */
const TERRAFORM_CLOUD_CLUSTER_ADMIN = "terraform-cloud-cluster-admin";

/** `<organization>/<project>: <workspaces>`, for comparing targets and for messages. */
function describeTarget(target: TerraformCloudTarget): string {
  return `${target.organization}/${target.project}: ${target.workspaces.join(", ")}`;
}

/** The Terraform resource types behind each neutral concept on Azure (checked by the parity test). */
export const AZURE_RESOURCE_TYPES: ResourceTypeMap = {
  // The resource group is where every other resource lives; it is listed with the network.
  // With the VNet: its subnets' network security groups and its flow logs (through the region's Network Watcher).
  network: [
    "azurerm_resource_group", "azurerm_virtual_network", "azurerm_subnet", "azurerm_private_dns_zone", "azurerm_private_dns_zone_virtual_network_link", "azurerm_private_endpoint",
    "azurerm_network_security_group", "azurerm_network_security_rule", "azurerm_subnet_network_security_group_association", "azapi_resource",
  ],
  egress: ["azurerm_nat_gateway", "azurerm_public_ip", "azurerm_nat_gateway_public_ip_association", "azurerm_subnet_nat_gateway_association"],
  cluster: ["azurerm_kubernetes_cluster", "azurerm_log_analytics_workspace", "azurerm_monitor_diagnostic_setting"],
  nodePool: ["azurerm_kubernetes_cluster_node_pool"],
  bucket: ["azurerm_storage_account", "azurerm_storage_container", "azurerm_storage_management_policy"],
  database: ["azurerm_postgresql_flexible_server", "azurerm_postgresql_flexible_server_configuration", "azurerm_postgresql_flexible_server_active_directory_administrator"],
  identity: ["azurerm_user_assigned_identity", "azurerm_federated_identity_credential", "azurerm_role_assignment"],
  // Secrets are `azapi_resource`s of type Microsoft.KeyVault/vaults/secrets (written through ARM).
  secrets: ["azurerm_key_vault", "azapi_resource", "random_password"],
  // Customer-managed keys in the environment's key vault (azapi_resource Microsoft.KeyVault/vaults/keys,
  // rotating), each with the user-assigned identity that encrypts with it; on the storage accounts
  // (with infrastructure encryption beneath) and on PostgreSQL servers, whose geo-redundant backups
  // take a key of a second vault (azurerm_key_vault) in the paired region.
  encryptionKey: ["azapi_resource", "azurerm_storage_account_customer_managed_key", "azurerm_user_assigned_identity", "azurerm_role_assignment", "azurerm_key_vault", "azurerm_monitor_diagnostic_setting"],
};

/**
 * Azure resource types that hold data, each with what is lost when Terraform destroys or
 * replaces it (see AWS_STATEFUL_TYPES).
 */
export const AZURE_STATEFUL_TYPES: Readonly<Record<string, string>> = {
  azurerm_postgresql_flexible_server: "the database and its backups",
  azurerm_storage_account: "every container and blob in the account",
  azurerm_storage_container: "every blob in the container",
  azurerm_kubernetes_cluster: "every Kubernetes object in the cluster, and the claims that bind its volumes",
  azurerm_key_vault: "every secret and key in the vault",
  azurerm_key_vault_secret: "every version of the secret's value",
  // azapi resources: Key Vault secrets and keys, and the VNet flow log (its logs stay in the account).
  azapi_resource: "every version of the secret's value, or the key (data encrypted with it cannot be decrypted once it is deleted)",
  azurerm_key_vault_key: "the key: data encrypted with it cannot be decrypted once it is deleted",
  azurerm_dns_zone: "the zone's records, and its name servers: the parent's delegation breaks",
  // Private endpoints register their A records here (DNS zone groups); a new zone starts empty.
  azurerm_private_dns_zone: "the records the private endpoints registered",
  azurerm_log_analytics_workspace: "the logs in the workspace",
  // Deleting a resource group deletes everything in it, including what Terraform does not manage.
  azurerm_resource_group: "every resource in the group",
  azurerm_managed_disk: "the disk's data",
};
export { azureSpecProblems } from "./spec-problems";
export { azureForeignBuckets } from "./cluster-services";
