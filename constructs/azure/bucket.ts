import { Construct } from "constructs";
import { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import { StorageContainer } from "@cdktf/provider-azurerm/lib/storage-container";
import { StorageManagementPolicy, type StorageManagementPolicyRule } from "@cdktf/provider-azurerm/lib/storage-management-policy";
import type { IBucket, IWorkloadIdentity } from "../core/interfaces";
import type { BucketSpec } from "../core/spec";
import { AZURE_ROLES, type AzureContext } from "./context";
import { blobServiceId, RESOURCE_LOG_CATEGORIES, sendResourceLogs } from "./diagnostics";
import type { AzureStorageEncryption } from "./encryption";
import { AZURE_CONTAINER_NAME } from "./facts";
import { AzureWorkloadIdentity } from "./identity";
import { type AzureNetwork, PRIVATE_LINK_ZONES } from "./network";

/**
 * How the account is reached: through private endpoints in the VNet, or, for a cluster on another
 * cloud (`<env>-infra-azure`), on its public endpoint from the cluster's NAT addresses alone.
 */
export type StorageAccess = { readonly network: AzureNetwork; readonly allowedAddresses?: undefined } | { readonly network?: undefined; readonly allowedAddresses: readonly string[] };

export type AzureStorageAccountProps = StorageAccess & {
  readonly ctx: AzureContext;
  /** The environment's Log Analytics workspace id, for the blob service's request logs. */
  readonly logWorkspaceId: string;
  /** Encrypts the account with the environment's storage key (customer-managed, rotating). */
  readonly encryption: AzureStorageEncryption;
};

/**
 * The environment's one storage account; each spec bucket is a container in it. ADLS Gen2, the
 * posture every data lake needs:
 * - hierarchical namespace (`abfss://`, atomic directory renames for Spark/Airflow/Airbyte);
 * - Entra ID only: shared keys (and so account SAS) disabled, OAuth the portal default, local
 *   (SFTP) users off, no cross-tenant replication;
 * - TLS 1.2 minimum, HTTPS only, no anonymous blob access;
 * - public network access disabled, with default-deny network rules behind it: data is reached
 *   through private endpoints for `blob` and `dfs`, whose privatelink zones are linked to the
 *   VNet. The provider is told (`features.storage.data_plane_available = false`) to configure
 *   the account through Azure Resource Manager only, so a runner outside the VNet can apply it;
 * - encrypted with the environment's customer-managed storage key, rotating, followed by the
 *   account without a key version (`AzureStorageEncryption`), and infrastructure encryption: a
 *   second AES-256 layer beneath, with Microsoft-managed keys;
 * - zone-redundant (ZRS), geo-zone-redundant (GZRS) in production;
 * - blob and container soft delete: 30 days in production, 7 elsewhere. Blob versioning is not
 *   available on accounts with a hierarchical namespace, so the spec's `versioning` and
 *   `noncurrentVersionExpirationDays` have no effect on Azure: soft delete is the undo;
 * - lifecycle (one management policy per account): a rule per bucket with `expirationDays`,
 *   matching that container's prefix;
 * - the blob service's request logs (StorageRead, StorageWrite, StorageDelete) to the
 *   environment's Log Analytics workspace (`sendResourceLogs`);
 * - `prevent_destroy` in production.
 * The name (3–24 lowercase alphanumerics, global) is the environment name plus a hash of the
 * subscription id: deterministic, and distinct across organisations.
 */
/**
 * What every storage account of the platform shares: StorageV2 Standard in the environment's
 * region, ZRS (GZRS in production), TLS 1.2 and HTTPS only, no public blobs, no shared keys or
 * local users, no cross-tenant replication, infrastructure encryption, a Deny firewall that lets
 * Azure's trusted services through, blob and container soft delete (30 days in production, 7
 * elsewhere) and `prevent_destroy` in production.
 */
export function storageAccountPosture(ctx: AzureContext) {
  const production = ctx.env.production;
  const softDeleteDays = production ? 30 : 7;
  return {
    location: ctx.location,
    resourceGroupName: ctx.resourceGroupName,
    accountKind: "StorageV2",
    accountTier: "Standard",
    accountReplicationType: production ? "GZRS" : "ZRS",
    accessTier: "Hot",
    minTlsVersion: "TLS1_2",
    httpsTrafficOnlyEnabled: true,
    allowNestedItemsToBePublic: false,
    sharedAccessKeyEnabled: false,
    defaultToOauthAuthentication: true,
    localUserEnabled: false,
    crossTenantReplicationEnabled: false,
    infrastructureEncryptionEnabled: true,
    // ip_rules is Optional and Computed (azurerm 4.55.0 storage_account_resource.go): left out, the
    // addresses a foreign cluster's NAT had (stage 1 of a move) would stay; empty clears them.
    networkRules: { defaultAction: "Deny", bypass: ["AzureServices"], ipRules: [] as string[] },
    blobProperties: { deleteRetentionPolicy: { days: softDeleteDays }, containerDeleteRetentionPolicy: { days: softDeleteDays } },
    lifecycle: { preventDestroy: production },
  };
}

export class AzureStorageAccount extends Construct {
  readonly account: StorageAccount;
  private readonly ctx: AzureContext;
  private readonly lifecycleRules: StorageManagementPolicyRule[] = [];
  private lifecyclePolicy?: StorageManagementPolicy;

  constructor(scope: Construct, id: string, props: AzureStorageAccountProps) {
    super(scope, id);
    const { ctx, network } = props;
    this.ctx = ctx;

    const posture = storageAccountPosture(ctx);
    this.account = new StorageAccount(this, "Resource", {
      ...posture,
      name: ctx.storageAccountName,
      isHnsEnabled: true,
      sftpEnabled: false,
      // From another cloud's cluster: the public endpoint, its firewall admitting that cluster's
      // NAT addresses (bare IPs: azurerm 4.55.0 refuses /31 and /32 ranges in ip_rules).
      publicNetworkAccessEnabled: network === undefined,
      ...(network === undefined ? { networkRules: { ...posture.networkRules, ipRules: [...props.allowedAddresses] } } : {}),
      tags: { purpose: "data-lake" },
    });

    props.encryption.encrypt(this, "encryption", this.account);
    sendResourceLogs(this, "blob-logs", { targetResourceId: blobServiceId(this.account.id), workspaceId: props.logWorkspaceId, categories: RESOURCE_LOG_CATEGORIES.blobService });

    for (const subresource of ["blob", "dfs"] as const) {
      network?.privateEndpoint(this, `${subresource}-endpoint`, {
        name: `${ctx.storageAccountName}-${subresource}`,
        resourceId: this.account.id,
        subresource,
        dnsZoneName: PRIVATE_LINK_ZONES[subresource],
      });
    }
  }

  /** Adds one container for a spec bucket, with its lifecycle rule. */
  addBucket(id: string, spec: BucketSpec): AzureBucket {
    const bucket = new AzureBucket(this, id, { ctx: this.ctx, spec, account: this.account });
    if (spec.expirationDays !== undefined) {
      this.lifecycleRules.push({
        name: `expire-${spec.name}`,
        enabled: true,
        filters: { blobTypes: ["blockBlob", "appendBlob"], prefixMatch: [`${bucket.bucketName}/`] },
        actions: { baseBlob: { deleteAfterDaysSinceCreationGreaterThan: spec.expirationDays } },
      });
      this.lifecyclePolicy ??= new StorageManagementPolicy(this, "lifecycle", { storageAccountId: this.account.id });
      this.lifecyclePolicy.putRule([...this.lifecycleRules]);
    }
    return bucket;
  }
}

export interface AzureBucketProps {
  readonly ctx: AzureContext;
  readonly spec: BucketSpec;
  readonly account: StorageAccount;
}

/**
 * One spec bucket: a private container (ADLS Gen2 filesystem) in the environment's storage
 * account, created through Azure Resource Manager (`storage_account_id`), so no data-plane access
 * is needed to apply it. Access is granted per container, to workload identities only.
 */
export class AzureBucket extends Construct implements IBucket {
  readonly container: StorageContainer;
  readonly spec: BucketSpec;
  readonly bucketName: string;
  readonly url: string;

  constructor(scope: Construct, id: string, props: AzureBucketProps) {
    super(scope, id);
    const { ctx, spec } = props;
    this.spec = spec;
    this.bucketName = containerName(ctx, spec);
    this.container = new StorageContainer(this, "Resource", {
      name: this.bucketName,
      storageAccountId: props.account.id,
      containerAccessType: "private",
      metadata: { purpose: spec.purpose },
    });
    this.url = containerUrl(ctx, this.bucketName);
  }

  grantReadWrite(identity: IWorkloadIdentity): void {
    this.grant(identity, "read-write", AZURE_ROLES.blobDataContributor);
  }

  grantRead(identity: IWorkloadIdentity): void {
    this.grant(identity, "read", AZURE_ROLES.blobDataReader);
  }

  /** A role assignment scoped to this container only: the identity sees no other container. */
  private grant(identity: IWorkloadIdentity, access: string, role: string): void {
    if (!(identity instanceof AzureWorkloadIdentity)) {
      throw new TypeError(`an Azure storage container can only be granted to an Azure workload identity, not ${identity.workload}'s`);
    }
    identity.assignRole(`${this.spec.name}-${access}`, this.container.resourceManagerId, role);
  }
}

/**
 * Container names: 3–63 lowercase letters, digits and single hyphens; the spec name when it fits.
 * The apps stack names the container with this same function, so both stacks agree.
 */
export function containerName(ctx: AzureContext, spec: BucketSpec): string {
  if (AZURE_CONTAINER_NAME.test(spec.name)) return spec.name;
  throw new Error(`bucket ${spec.name} of ${ctx.env.name} is no container name (the spec check azureSpecProblems should have caught this)`);
}

/** The ADLS Gen2 URL of a container of the environment's storage account (`abfss://`, TLS). */
export function containerUrl(ctx: AzureContext, container: string): string {
  return `abfss://${container}@${ctx.storageAccountName}.dfs.core.windows.net`;
}
