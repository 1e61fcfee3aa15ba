import { Construct } from "constructs";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import type { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import type { PrivateEndpoint } from "@cdktf/provider-azurerm/lib/private-endpoint";
import { AZURE_ROLES, type AzureContext } from "./context";
import { type AzureNetwork, PRIVATE_LINK_ZONES } from "./network";

export interface AzureKeyVaultProps {
  readonly ctx: AzureContext;
  readonly network: AzureNetwork;
  /** The identity Terraform runs as: it writes the generated secrets. */
  readonly applier: DataAzurermClientConfig;
}

export interface AzureSecretProps {
  /** Secret name: letters, digits and '-'. */
  readonly name: string;
  /** The value, always a reference to a generated value (never a literal). */
  readonly value: string;
  readonly contentType: string;
  /** Non-secret facts that help a reader use the secret (login, host). @default none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Key Vault IP rules take a bare address for a single host; a /32 would show as a diff forever. */
function keyVaultIpRule(cidr: string): string {
  return cidr.endsWith("/32") ? cidr.slice(0, -3) : cidr;
}

/**
 * The environment's key vault, for the secrets the platform generates (database admin passwords).
 * - Azure RBAC authorization, no access policies: access is role assignments, auditable like the
 *   rest. The identity applying Terraform gets "Key Vault Secrets Officer" on this vault only, so
 *   it can write the secrets it generates; it gets nothing on keys or certificates.
 * - Purge protection on and soft delete kept the maximum 90 days: a deleted vault or secret can
 *   be recovered, and nobody (not even an owner) can purge it early. The provider is configured
 *   never to purge on destroy.
 * - Network: a private endpoint (privatelink.vaultcore.azure.net, linked to the VNet) for
 *   everything inside the environment; the public endpoint denies by default, letting through
 *   trusted Azure services and only `cluster.publicAccessCidrs`, the ranges of the runners that
 *   apply Terraform. Limit: with no public CIDRs (a private cluster), Terraform must run from
 *   inside the VNet or a peered network (for example a Terraform Cloud agent) to write secrets.
 * - Secrets are written with write-only arguments (`value_wo`): the value is in neither the
 *   synthesized JSON nor the secret's state. Bump `value_wo_version` to push a new value.
 * - `prevent_destroy` in production.
 */
export class AzureKeyVault extends Construct {
  readonly vault: KeyVault;
  /** Writing a secret must wait for the applier's role and the private endpoint. */
  private readonly writePrerequisites: [RoleAssignment, PrivateEndpoint];

  constructor(scope: Construct, id: string, props: AzureKeyVaultProps) {
    super(scope, id);
    const { ctx, network } = props;
    this.vault = new KeyVault(this, "Resource", {
      name: ctx.keyVaultName,
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      tenantId: ctx.tenantId,
      skuName: "standard",
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      publicNetworkAccessEnabled: true,
      networkAcls: {
        defaultAction: "Deny",
        bypass: "AzureServices",
        ipRules: ctx.env.cluster.publicAccessCidrs.map(keyVaultIpRule),
      },
      lifecycle: { preventDestroy: ctx.env.production },
    });
    const endpoint = network.privateEndpoint(this, "endpoint", {
      name: `${ctx.keyVaultName}-vault`,
      resourceId: this.vault.id,
      subresource: "vault",
      dnsZoneName: PRIVATE_LINK_ZONES.vault,
    });
    const writer = new RoleAssignment(this, "applier-secrets-officer", {
      scope: this.vault.id,
      roleDefinitionName: AZURE_ROLES.keyVaultSecretsOfficer,
      principalId: props.applier.objectId,
      description: `${ctx.keyVaultName}: the identity applying Terraform writes the generated secrets`,
    });
    this.writePrerequisites = [writer, endpoint];
  }

  /** Stores a generated value as a secret of this vault, under `scope`. */
  addSecret(scope: Construct, id: string, props: AzureSecretProps): KeyVaultSecret {
    return new KeyVaultSecret(scope, id, {
      name: props.name,
      keyVaultId: this.vault.id,
      contentType: props.contentType,
      tags: props.tags === undefined ? undefined : { ...props.tags },
      valueWo: props.value,
      valueWoVersion: 1,
      dependsOn: this.writePrerequisites,
    });
  }
}
