import { createHash } from "node:crypto";
import type { Environment } from "../core/spec";

/**
 * Where an environment lives on Azure, with the naming helpers every Azure construct needs.
 * Nothing here calls an Azure API: names are derived from the spec, so synth is offline and
 * deterministic.
 */
export class AzureContext {
  readonly location: string;
  readonly subscriptionId: string;
  readonly tenantId: string;

  constructor(
    readonly env: Environment,
    /**
     * Name of the environment's resource group: in the infra stack a reference to the group (so
     * resources depend on it), in the apps stack the literal `resourceGroupNameOf(env)`.
     */
    readonly resourceGroupName: string,
  ) {
    const account = env.accounts.azure;
    if (!account) throw new Error(`environment ${env.name} has no Azure account (the spec check should have caught this)`);
    this.location = account.location;
    this.subscriptionId = account.subscriptionId;
    this.tenantId = account.tenantId;
  }

  /** Prefix for every resource name in this environment. */
  name(...parts: string[]): string {
    return [this.env.name, ...parts].join("-");
  }

  /**
   * A short, stable hex suffix for globally unique names (storage accounts, key vaults,
   * PostgreSQL servers). It hashes the subscription id, so two organisations' `prod` never
   * collide, and the raw environment name, so `my-env` and `myenv` in one subscription do not
   * either once their hyphens are stripped.
   */
  uniqueSuffix(length: number): string {
    return createHash("sha256").update(`${this.subscriptionId}/${this.env.name}`).digest("hex").slice(0, length);
  }

  /**
   * The environment's storage account name: 3–24 lowercase letters and digits, globally unique.
   * The environment name without hyphens (at most 16 characters) plus 8 hex characters of
   * `uniqueSuffix`.
   */
  get storageAccountName(): string {
    return `${this.env.name.replace(/-/g, "")}${this.uniqueSuffix(8)}`;
  }

  /**
   * The environment's key vault name: 3–24 letters, digits and single hyphens, globally unique:
   * `<env>-kv-<hash>`, the hash as long as fits (4 to 8 characters).
   */
  get keyVaultName(): string {
    return this.vaultName("kv");
  }

  /**
   * The name of the environment's vault in the paired location, for geo-redundant backups' keys
   * (`AzureKeyVault` with `pairedLocation`): `<env>-kg-<hash>`, the same rules and length as
   * `keyVaultName`.
   */
  get geoKeyVaultName(): string {
    return this.vaultName("kg");
  }

  /** `<env>-<tag>-<hash>` within Key Vault's 24 characters, the hash as long as fits (4 to 8). */
  private vaultName(tag: "kv" | "kg"): string {
    const base = this.env.name.replace(/-+/g, "-");
    return `${base}-${tag}-${this.uniqueSuffix(Math.min(8, 24 - base.length - 4))}`;
  }
}

/**
 * The environment's resource group name, `<env>-rg`. The infra stack creates the group with it;
 * the apps stack uses it literally to look things up, without the group being in its state.
 */
export function resourceGroupNameOf(env: Environment): string {
  return `${env.name}-rg`;
}

/** Built-in Azure role names used by the platform (role_definition_name in role assignments). */
export const AZURE_ROLES = {
  /** Lets the AKS control-plane identity join the node subnet and manage its load balancers. */
  networkContributor: "Network Contributor",
  /** Full Kubernetes access through Azure RBAC, for the identity that installs the apps. */
  kubernetesClusterAdmin: "Azure Kubernetes Service RBAC Cluster Admin",
  /**
   * Read, write and delete secrets in a key vault. No longer assigned (secrets are written through
   * ARM), but kept: its id stays in the runs' delegable roles, so a Terraform Cloud run can delete
   * the assignment earlier versions made, and the RBAC Administrator condition (ForceNew in
   * azurerm) does not change, which would replace the runs' own assignment.
   */
  keyVaultSecretsOfficer: "Key Vault Secrets Officer",
  /** Read the value of secrets; assigned on one secret, never on a whole vault. */
  keyVaultSecretsUser: "Key Vault Secrets User",
  /** Manage the record sets of a public DNS zone, not the zone's delegation or deletion locks. */
  dnsZoneContributor: "DNS Zone Contributor",
  /** Read-only view of resources (no data plane, no secrets). */
  reader: "Reader",
  blobDataContributor: "Storage Blob Data Contributor",
  blobDataReader: "Storage Blob Data Reader",
  /** Read a key and wrap/unwrap with it: what a storage account or PostgreSQL server needs of its customer-managed key. Assigned on one key. */
  keyVaultCryptoServiceEncryptionUser: "Key Vault Crypto Service Encryption User",
  /** Encrypt and decrypt with a key (and read it): what AKS's KMS plugin needs of the cluster's key. Assigned on one key. */
  keyVaultCryptoUser: "Key Vault Crypto User",
  /**
   * Manage a key vault through ARM, without data-plane access in an RBAC vault: AKS's control-plane
   * identity, to connect its own private endpoint to the private vault for KMS (see `AzureCluster`).
   */
  keyVaultContributor: "Key Vault Contributor",
} as const;

/**
 * The fixed ids of the built-in roles in `AZURE_ROLES` (the same in every tenant). Typed by its
 * keys, so a role added there fails to compile until its id is added here: the Terraform Cloud
 * run identity may assign exactly these roles (see `AzureTerraformCloudTrust`), so a role missing
 * here would be refused by Azure at apply time.
 */
export const AZURE_ROLE_IDS: Readonly<Record<keyof typeof AZURE_ROLES, string>> = {
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
  kubernetesClusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  keyVaultSecretsOfficer: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  dnsZoneContributor: "befefa01-2a29-4197-83a8-272ff33ce314",
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  blobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  blobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  // learn.microsoft.com/azure/role-based-access-control/built-in-roles/security: Key Vault Crypto User, Key Vault Contributor.
  keyVaultCryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
  keyVaultContributor: "f25e0fa2-a7c8-4377-a976-54943a77a395",
};
