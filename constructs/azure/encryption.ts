import { Construct } from "constructs";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import type { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import { StorageAccountCustomerManagedKeyA } from "@cdktf/provider-azurerm/lib/storage-account-customer-managed-key";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { AZURE_ROLES, type AzureContext } from "./context";
import type { AzureKeyVault, AzureKeyVaultKey } from "./key-vault";

/**
 * What a customer-managed key of the environment protects: one key and one identity each.
 * `postgres-geo`: the copy of geo-redundant PostgreSQL backups in the paired location, with a key
 * of the paired vault and an identity in that location.
 */
export type EncryptionPurpose = "storage" | "postgres" | "postgres-geo";

export interface AzureEncryptionKeyProps {
  readonly ctx: AzureContext;
  readonly vault: AzureKeyVault;
  readonly purpose: EncryptionPurpose;
}

/**
 * A customer-managed key of the environment's key vault for one purpose (`<env>-<purpose>`,
 * rotating: `AzureKeyVault.addKey`) and the user-assigned identity the service encrypting with it
 * acts as (`<env>-<purpose>-encryption`), holding "Key Vault Crypto Service Encryption User" on
 * that key alone (read the key, wrap and unwrap: what Azure Storage and PostgreSQL Flexible Server
 * ask for, Microsoft Learn "Customer-managed keys for Azure Storage encryption" and "Data
 * encryption with customer-managed keys in Azure Database for PostgreSQL"). A user-assigned
 * identity, not the service's system-assigned one: it and its role exist before the account or
 * server that uses it, so encryption is on from the first write.
 *
 * The services reach the vault as trusted Azure services (the vault's `network_acls.bypass =
 * "AzureServices"`, Microsoft Learn "Network security for Azure Key Vault", trusted services: Azure
 * Storage and Azure Database for PostgreSQL flexible server are listed for customer-managed keys).
 * The bypass holds with the vault's public network access disabled: the Key Vault ARM reference
 * (`KeyVaultProperties.publicNetworkAccess`): "If set to 'disabled' all traffic except private
 * endpoint traffic and that that originates from trusted services will be blocked". Not exercised
 * against Azure here.
 */
export class AzureEncryptionKey extends Construct {
  readonly key: AzureKeyVaultKey;
  readonly identity: UserAssignedIdentity;
  /** The identity's role on the key: whatever encrypts with the key depends on it. */
  readonly access: RoleAssignment;

  constructor(scope: Construct, id: string, props: AzureEncryptionKeyProps) {
    super(scope, id);
    const { ctx, vault, purpose } = props;
    this.key = vault.addKey(this, "key", ctx.name(purpose));
    this.identity = new UserAssignedIdentity(this, "identity", {
      name: ctx.name(purpose, "encryption"),
      // In the vault's location: the paired one for geo-redundant backups' key (PostgreSQL
      // requires the geo-backup identity there, azurerm v4.55.0 docs `geo_backup_user_assigned_identity_id`).
      location: vault.location,
      resourceGroupName: ctx.resourceGroupName,
    });
    this.access = new RoleAssignment(this, "key-access", {
      scope: this.key.armId,
      roleDefinitionName: AZURE_ROLES.keyVaultCryptoServiceEncryptionUser,
      principalId: this.identity.principalId,
      principalType: "ServicePrincipal",
      description: `${ctx.env.name}: ${purpose} encrypts with key ${this.key.name}`,
    });
  }
}

/**
 * Encrypts storage accounts with the environment's storage key (`AzureEncryptionKey`, purpose
 * `storage`), created with the first account:
 * - the account acts as the key's user-assigned identity (`identity`, not replace-forcing in
 *   azurerm 4.55.0: commonschema.SystemAssignedUserAssignedIdentityOptional);
 * - `azurerm_storage_account_customer_managed_key` with the vault's URI and the key's name and no
 *   version: Azure Storage then follows the key's newest version by itself, within a day of each
 *   rotation (Microsoft Learn, "Configure customer-managed keys ... automatic updating of the key
 *   version"). With `key_vault_uri` (ExactlyOneOf with `key_vault_id`) azurerm reads the vault
 *   through ARM only, never its private data plane (internal/services/storage/
 *   storage_account_customer_managed_key_resource.go at v4.55.0). Switching an existing account
 *   from Microsoft-managed keys to this key re-wraps the account key in place; nothing is replaced
 *   (`storage_account_id` is the resource's only ForceNew argument);
 * - the account's inline `customer_managed_key` is left to that resource (`ignore_changes`), as
 *   azurerm documents for using both.
 */
export class AzureStorageEncryption {
  private key?: AzureEncryptionKey;

  constructor(
    private readonly scope: Construct,
    private readonly props: Omit<AzureEncryptionKeyProps, "purpose">,
  ) {}

  encrypt(scope: Construct, id: string, account: StorageAccount): StorageAccountCustomerManagedKeyA {
    this.key ??= new AzureEncryptionKey(this.scope, "storage-encryption", { ...this.props, purpose: "storage" });
    const { key, identity, access } = this.key;
    account.putIdentity({ type: "UserAssigned", identityIds: [identity.id] });
    account.lifecycle = { ...account.lifecycle, ignoreChanges: ["customer_managed_key"] };
    return new StorageAccountCustomerManagedKeyA(scope, id, {
      storageAccountId: account.id,
      keyVaultUri: this.props.vault.uri,
      keyName: key.name,
      userAssignedIdentityId: identity.id,
      dependsOn: [access, key.resource],
    });
  }
}
