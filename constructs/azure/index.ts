import { Construct } from "constructs";
import { Aspects } from "cdktf";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import type { WorkloadName } from "../core/apps";
import { ownHandle, type CloudPlatform, type ICluster, type INetwork, type ResourceTypeMap } from "../core/interfaces";
import type { BucketSpec, DatabaseSpec, Environment } from "../core/spec";
import { environmentTags } from "../core/tags";
import { AzureBucket, AzureStorageAccount } from "./bucket";
import { AzureCluster } from "./cluster";
import { AzureContext } from "./context";
import { AzureDatabase } from "./database";
import { AzureWorkloadIdentity } from "./identity";
import { AzureKeyVault } from "./key-vault";
import { AzureNetwork } from "./network";
import { AzureEnvironmentTags } from "./tags";

/**
 * The Azure implementation of the platform.
 * - The azurerm provider is pinned to the spec's subscription and tenant, uses Entra ID (not
 *   account keys) for storage, and configures storage through Azure Resource Manager only
 *   (`data_plane_available = false`), since the storage account has no public endpoint. A
 *   resource group is never deleted while it still holds resources Terraform does not know
 *   about; key vaults and their secrets are never purged on destroy (soft delete keeps them
 *   recoverable).
 * - The random provider generates database passwords.
 * - One resource group per environment (`<env>-rg`), `prevent_destroy` in production.
 * - azurerm has no provider default tags, so one Aspect puts the environment's tags on every
 *   taggable resource; a resource's own tags win on a key clash.
 * - The storage account and key vault are per environment, created with the first bucket and
 *   the first database; `network()` must come first, as `stacks/infra.ts` does.
 */
export class AzurePlatform extends Construct implements CloudPlatform {
  readonly cloud = "azure";
  readonly ctx: AzureContext;
  readonly resourceGroup: ResourceGroup;
  /** Who runs Terraform: gets the roles it needs to write secrets and install releases. */
  readonly applier: DataAzurermClientConfig;
  private networkCreated?: AzureNetwork;
  private storageAccount?: AzureStorageAccount;
  private keyVault?: AzureKeyVault;

  constructor(scope: Construct, id: string, env: Environment) {
    super(scope, id);
    const account = env.accounts.azure;
    if (!account) throw new Error(`environment ${env.name} has no Azure account (the spec check should have caught this)`);
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

    this.resourceGroup = new ResourceGroup(this, "resource-group", {
      name: `${env.name}-rg`,
      location: account.location,
      lifecycle: { preventDestroy: env.production },
    });
    this.ctx = new AzureContext(env, this.resourceGroup.name);
    this.applier = new DataAzurermClientConfig(this, "applier");
  }

  network(): AzureNetwork {
    this.networkCreated = new AzureNetwork(this, "network", { ctx: this.ctx });
    return this.networkCreated;
  }

  cluster(network: INetwork): AzureCluster {
    return new AzureCluster(this, "cluster", { ctx: this.ctx, network: ownHandle(network, AzureNetwork, "Azure", "network"), applier: this.applier });
  }

  bucket(spec: BucketSpec): AzureBucket {
    this.storageAccount ??= new AzureStorageAccount(this, "storage", { ctx: this.ctx, network: this.requireNetwork("bucket") });
    return this.storageAccount.addBucket(`bucket-${spec.name}`, spec);
  }

  database(spec: DatabaseSpec, network: INetwork, _cluster: ICluster): AzureDatabase {
    const azureNetwork = ownHandle(network, AzureNetwork, "Azure", "network");
    this.keyVault ??= new AzureKeyVault(this, "key-vault", { ctx: this.ctx, network: azureNetwork, applier: this.applier });
    return new AzureDatabase(this, `database-${spec.name}`, { ctx: this.ctx, spec, network: azureNetwork, vault: this.keyVault });
  }

  workloadIdentity(app: WorkloadName, cluster: ICluster): AzureWorkloadIdentity {
    return new AzureWorkloadIdentity(this, `identity-${app}`, {
      ctx: this.ctx,
      workload: app,
      oidcIssuerUrl: ownHandle(cluster, AzureCluster, "Azure", "cluster").oidcIssuerUrl,
    });
  }

  private requireNetwork(what: string): AzureNetwork {
    if (!this.networkCreated) throw new Error(`call network() before ${what}(): the Azure ${what} needs the VNet for its private endpoints`);
    return this.networkCreated;
  }
}

/** The Terraform resource types behind each neutral concept on Azure (checked by the parity test). */
export const AZURE_RESOURCE_TYPES: ResourceTypeMap = {
  // The resource group is where every other resource lives; it is listed with the network.
  network: ["azurerm_resource_group", "azurerm_virtual_network", "azurerm_subnet", "azurerm_private_dns_zone", "azurerm_private_dns_zone_virtual_network_link", "azurerm_private_endpoint"],
  egress: ["azurerm_nat_gateway", "azurerm_public_ip", "azurerm_nat_gateway_public_ip_association", "azurerm_subnet_nat_gateway_association"],
  cluster: ["azurerm_kubernetes_cluster", "azurerm_log_analytics_workspace", "azurerm_monitor_diagnostic_setting"],
  nodePool: ["azurerm_kubernetes_cluster_node_pool"],
  bucket: ["azurerm_storage_account", "azurerm_storage_container", "azurerm_storage_management_policy"],
  database: ["azurerm_postgresql_flexible_server", "azurerm_postgresql_flexible_server_configuration"],
  identity: ["azurerm_user_assigned_identity", "azurerm_federated_identity_credential", "azurerm_role_assignment"],
  secrets: ["azurerm_key_vault", "azurerm_key_vault_secret", "random_password"],
  // Microsoft-managed keys: infrastructure (double) encryption on the storage account; the
  // PostgreSQL servers and AKS disks are encrypted at rest with platform keys. No customer key yet.
  encryptionKey: ["azurerm_storage_account"],
};
