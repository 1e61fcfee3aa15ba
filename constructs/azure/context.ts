import { createHash } from "node:crypto";
import { SpecError } from "../core/errors";
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
    const base = this.env.name.replace(/-+/g, "-");
    return `${base}-kv-${this.uniqueSuffix(Math.min(8, 24 - base.length - 4))}`;
  }

  /** A user-fixable problem at a spec field, reported like every other spec error. */
  specError(path: string, given: string, accepted: string): SpecError {
    return new SpecError(this.env.name, [{ path, message: `given ${JSON.stringify(given)}; accepted: ${accepted}` }]);
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
  /** Read, write and delete secrets in a key vault, nothing on keys or certificates. */
  keyVaultSecretsOfficer: "Key Vault Secrets Officer",
  /** Read the value of secrets; assigned on one secret, never on a whole vault. */
  keyVaultSecretsUser: "Key Vault Secrets User",
  /** Manage the record sets of a public DNS zone, not the zone's delegation or deletion locks. */
  dnsZoneContributor: "DNS Zone Contributor",
  /** Read-only view of resources (no data plane, no secrets). */
  reader: "Reader",
  blobDataContributor: "Storage Blob Data Contributor",
  blobDataReader: "Storage Blob Data Reader",
} as const;
