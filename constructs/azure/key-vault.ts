import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { type ITerraformDependable, Token } from "cdktn";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { platformTags } from "../core/tags";
import { AzapiResource, type AzapiProvider } from "./azapi";
import type { AzureContext } from "./context";
import { RESOURCE_LOG_CATEGORIES, sendResourceLogs } from "./diagnostics";
import { type AzureNetwork, PRIVATE_LINK_ZONES } from "./network";

export interface AzureKeyVaultProps {
  readonly ctx: AzureContext;
  /**
   * The VNet its private endpoint goes in; none in `<env>-infra-azure`, where no VNet is and the
   * vault holds the storage key only. Not used with `pairedLocation`.
   */
  readonly network?: AzureNetwork;
  /** The azapi provider the secrets are written with. */
  readonly azapi: AzapiProvider;
  /** The environment's Log Analytics workspace id, for the vault's audit log. */
  readonly logWorkspaceId: string;
  /**
   * Makes this the environment's vault in its paired location (`AZURE_PAIRED_LOCATIONS`), for the
   * keys of geo-redundant backups: named `geoKeyVaultName`, in that location, without a private
   * endpoint (see `AzureKeyVault`). @default the environment's own vault, in its location
   */
  readonly pairedLocation?: string;
}

export interface AzureSecretProps {
  /** Secret name: letters, digits and '-'. */
  readonly name: string;
  /** The value, always a reference to a generated value (never a literal). */
  readonly value: string;
  readonly contentType: string;
  /** Non-secret facts that help a reader use the secret (login, host). @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /** Bump to push a new value of the same reference. @default 1 */
  readonly valueVersion?: number;
}

/**
 * The ARM resource type and api-version the secrets are written with. 2024-11-01 is GA and the
 * version azapi's own move test uses (internal/services/azapi_resource_test.go at v2.12.0,
 * `moveKeyVaultSecret*`).
 */
export const KEY_VAULT_SECRET_TYPE = "Microsoft.KeyVault/vaults/secrets@2024-11-01";

/**
 * The writable properties of `Microsoft.KeyVault/vaults/secrets@2024-11-01` (SecretCreateOrUpdateParameters,
 * azapi v2.12.0 internal/azure/generated/keyvault/microsoft.keyvault/2024-11-01/types.json): data
 * derived from the embedded schema azapi validates bodies against, for the tests.
 */
export const KEY_VAULT_SECRET_WRITABLE = {
  top: ["tags", "properties"],
  properties: ["value", "contentType", "attributes"],
  attributes: ["enabled", "nbf", "exp"],
} as const;

/**
 * What a secret the user fills (an alert webhook, a metrics-link password: `specSecretNames`)
 * holds from the infra apply that creates it until the user writes the value: fixed text, not a
 * credential.
 */
export const PENDING_USER_SECRET = "pending: write this secret's value through Azure Resource Manager (README, Alerts, Credentials)";

/**
 * The ARM type keys are created with. 2024-11-01 is GA and has `properties.rotationPolicy`
 * (azapi v2.12.0 internal/azure/generated/keyvault/microsoft.keyvault/2024-11-01/types.json,
 * `KeyProperties`, generated from Azure/azure-rest-api-specs). ARM creates a key's first version only: a PUT on
 * an existing key returns it unchanged ("Keys - Create If Not Exist", Microsoft.KeyVault REST
 * reference), so the rotation policy is the one the key was created with.
 */
export const KEY_VAULT_KEY_TYPE = "Microsoft.KeyVault/vaults/keys@2024-11-01";

/** The vault's SKU. Keys are software-protected (`RSA`) in a standard vault, HSM-protected (`RSA-HSM`) in a premium one. */
export const KEY_VAULT_SKU = "standard" as "standard" | "premium";

/** A key's rotation policy, ISO 8601 durations as Key Vault takes them. */
export interface KeyRotation {
  /** A new version this long after the current one was created (the `rotate` action). */
  readonly rotateAfterCreate: string;
  /** Each new version expires this long after its creation (`attributes.expiryTime`). */
  readonly expiryTime: string;
  /** Event Grid's "near expiry" event this long before the current version expires (the `notify` action). */
  readonly notifyBeforeExpiry: string;
}

/**
 * Every key rotates a year after its version was created and each version expires two years after
 * it, so the version a service still holds stays valid a year past the rotation; Event Grid gets a
 * "near expiry" event 30 days before. Enough for services that follow the key's newest version by
 * themselves (storage and PostgreSQL take the versionless id and re-wrap their data key within a
 * day of a rotation), not for AKS KMS: `CLUSTER_KEY_ROTATION`.
 */
export const KEY_ROTATION: KeyRotation = { rotateAfterCreate: "P365D", expiryTime: "P730D", notifyBeforeExpiry: "P30D" };

/**
 * The cluster-secrets key's policy: a rotation a year after each version, and each version valid
 * three years. AKS KMS needs the previous version valid until the key rotates again after the
 * cluster moved to the new one (MicrosoftDocs/azure-aks-docs articles/aks/use-kms-etcd-encryption.md
 * at fb060ab: "KMS uses two keys at the same time. After the first key rotation, you need to ensure
 * both the old and new keys are valid (not expired) until the next key rotation"). The cluster
 * moves only at the first infra apply after a rotation (its key id is the newest version at that
 * refresh, constructs/azure/cluster.ts), so version n, created at T, is still in use until the
 * first apply after T+2×365 days: an expiry at 2×365 days would leave it expired from that
 * rotation until the next apply. 1095 days leaves a year for that apply and the Secret rewrite
 * (the `cluster-secrets-encrypted` rule checks expiry ≥ 2 × rotation + 30 days). The `notify`
 * action never fires for this key (it rotates long before its version nears expiry); the
 * pull-request gate's notice on a key id change is the warning instead (scripts/stack-diff.ts).
 */
export const CLUSTER_KEY_ROTATION: KeyRotation = { rotateAfterCreate: "P365D", expiryTime: "P1095D", notifyBeforeExpiry: "P30D" };

/** RSA, 3072 bits: wrap and unwrap (what storage and PostgreSQL do with it), encrypt and decrypt. */
export const KEY_SIZE = 3072;
export const KEY_OPERATIONS = ["wrapKey", "unwrapKey", "encrypt", "decrypt"] as const;

/** The ARM body of a customer-managed key (`KEY_VAULT_KEY_TYPE`). */
export function keyBody(sku: "standard" | "premium", rotation: KeyRotation = KEY_ROTATION): Record<string, unknown> {
  return {
    properties: {
      kty: sku === "premium" ? "RSA-HSM" : "RSA",
      keySize: KEY_SIZE,
      keyOps: [...KEY_OPERATIONS],
      attributes: { enabled: true, exportable: false },
      rotationPolicy: {
        attributes: { expiryTime: rotation.expiryTime },
        lifetimeActions: [
          { trigger: { timeAfterCreate: rotation.rotateAfterCreate }, action: { type: "rotate" } },
          { trigger: { timeBeforeExpiry: rotation.notifyBeforeExpiry }, action: { type: "notify" } },
        ],
      },
    },
  };
}

/** A key of the vault (`AzureKeyVault.addKey`). */
export interface AzureKeyVaultKey {
  readonly resource: AzapiResource;
  readonly name: string;
  /** The key's ARM id (`<vault id>/keys/<name>`): the scope of role assignments on it. */
  readonly armId: string;
  /** The data-plane id without version (`https://<vault>.vault.azure.net/keys/<name>`): services follow its newest version. */
  readonly versionlessId: string;
  /**
   * With `exportVersion`: the newest version's data-plane id (`https://<vault>.vault.azure.net/keys/<name>/<version>`),
   * read from ARM at every refresh (`KEY_VERSION_EXPORT`), for services that take a versioned id only.
   */
  readonly versionedId?: string;
}

/**
 * The key property that holds its newest version's URI: `KeyProperties.keyUriWithVersion`, read-only
 * ("The URI to retrieve the specific version of the key", azapi v2.12.0
 * internal/azure/generated/keyvault/microsoft.keyvault/2024-11-01/types.json). Exported through
 * `response_export_values`: azapi's `Read` rebuilds `output` from the GET response at every refresh
 * (internal/services/azapi_resource.go at v2.12.0, `state.Output = output`), so after a rotation the
 * next plan sees the new version.
 */
export const KEY_VERSION_EXPORT = "properties.keyUriWithVersion";

/** A secret written into the vault. */
export interface AzureKeyVaultSecret {
  readonly resource: AzapiResource;
  readonly name: string;
  /** The secret's ARM id (`<vault id>/secrets/<name>`): the scope of role assignments on it. */
  readonly armId: string;
  /** The data-plane URI without version (`https://<vault>.vault.azure.net/secrets/<name>`). */
  readonly versionlessUri: string;
}

/**
 * The environment's key vault, for the secrets the platform generates (database admin passwords).
 * - Azure RBAC authorization, no access policies: access is role assignments, auditable like the
 *   rest. Nobody gets a role on the whole vault: readers get "Key Vault Secrets User" on one secret.
 * - Purge protection on and soft delete kept the maximum 90 days: a deleted vault or secret can
 *   be recovered, and nobody (not even an owner) can purge it early. The provider is configured
 *   never to purge on destroy.
 * - Network: public network access disabled; a private endpoint (privatelink.vaultcore.azure.net,
 *   linked to the VNet) is the only way to the data plane, which is how External Secrets in the
 *   cluster reads. Safe for Terraform, which never touches the data plane: azurerm 4.55.0's
 *   `azurerm_key_vault` creates, updates and deletes through ARM only, skips its data-plane
 *   readiness poll when public access is off, and ignores a failed certificate-contacts read then
 *   (internal/services/keyvault/key_vault_resource.go at v4.55.0: `isPublic`, `GetCertificateContacts`).
 * - Secrets are written through Azure Resource Manager (`Microsoft.KeyVault/vaults/secrets` PUT,
 *   azapi `azapi_resource`), the control plane, which the vault's network rules do not govern: so
 *   Terraform Cloud's hosted runners and the bootstrap machine can write them from anywhere, with
 *   only `Microsoft.KeyVault/vaults/secrets/write` (part of Contributor) and no Key Vault data
 *   role. The value goes in `sensitive_body`, a write-only argument: it is in neither the JSON
 *   nor the state (only `random_password` holds it). `sensitive_body_version` decides when it is
 *   sent; it changes with `valueVersion` and with any other property of the secret, so a PUT
 *   always carries the value. Sources: Microsoft's "Access Azure Key Vault behind a firewall"
 *   (learn.microsoft.com/azure/key-vault/general/access-behind-firewall: management goes to the
 *   Azure Resource Manager endpoints, data-plane access to `<vault>.vault.azure.net`) and the
 *   Microsoft.KeyVault REST reference "Secrets - Create Or Update" (ARM path
 *   `.../providers/Microsoft.KeyVault/vaults/{vault}/secrets/{secret}`, documented "for internal use
 *   in ARM deployments", i.e. what Bicep and ARM templates use). Not verified against Azure here.
 * - Secrets written by earlier versions as `azurerm_key_vault_secret` are moved, not recreated
 *   (a `moved` block; azapi converts the state).
 * - Its audit log (AuditEvent) to the environment's Log Analytics workspace (`sendResourceLogs`).
 * - `prevent_destroy` in production, on the vault and on each secret.
 *
 * With `pairedLocation`, the vault holding the keys of geo-redundant backups, in the location
 * Azure keeps them (PostgreSQL asks for the key and its identity in that region: azurerm v4.55.0
 * website/docs/r/postgresql_flexible_server.html.markdown, `geo_backup_key_vault_key_id`). Same
 * posture (RBAC, purge protection, 90-day soft delete, public network access disabled with the
 * firewall denying all but trusted services, audit log to the same workspace: a Log Analytics
 * destination may be in another region than the resource, Microsoft Learn "Diagnostic settings in
 * Azure Monitor", destinations), but no private endpoint: one in the VNet's region could target it
 * (Microsoft Learn "What is a private endpoint?": the private-link resource may be in another
 * region than the endpoint), yet nothing of the platform uses this vault's data plane (its keys
 * are created through ARM, PostgreSQL reaches it as a trusted service), so an endpoint would only
 * add a way in. It holds keys only, never secrets.
 */
export class AzureKeyVault extends Construct {
  readonly vault: KeyVault;
  /** The vault's name (`keyVaultName`, or `geoKeyVaultName` in the paired location). */
  readonly name: string;
  /** Where the vault is: the environment's location, or its pair. */
  readonly location: string;
  /**
   * What reaching the vault's data plane from the VNet takes (its private endpoint and the
   * privatelink zone's link to the VNet): a service that must reach it from its first start depends
   * on these. Empty for the paired vault, which has no endpoint.
   */
  readonly privateAccess: ITerraformDependable[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AzureKeyVaultProps,
  ) {
    super(scope, id);
    const { ctx, network } = props;
    this.name = props.pairedLocation === undefined ? ctx.keyVaultName : ctx.geoKeyVaultName;
    this.location = props.pairedLocation ?? ctx.location;
    this.vault = new KeyVault(this, "Resource", {
      name: this.name,
      location: this.location,
      resourceGroupName: ctx.resourceGroupName,
      tenantId: ctx.tenantId,
      skuName: KEY_VAULT_SKU,
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      publicNetworkAccessEnabled: false,
      // Kept explicit (the provider computes it otherwise): should public access ever be turned
      // back on, the firewall still denies everything but trusted Azure services.
      networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [] },
      lifecycle: { preventDestroy: ctx.env.production },
    });
    sendResourceLogs(this, "audit-logs", { targetResourceId: this.vault.id, workspaceId: props.logWorkspaceId, categories: RESOURCE_LOG_CATEGORIES.keyVault });
    if (props.pairedLocation !== undefined || network === undefined) return;
    const endpoint = network.privateEndpoint(this, "endpoint", {
      name: `${ctx.keyVaultName}-vault`,
      resourceId: this.vault.id,
      subresource: "vault",
      dnsZoneName: PRIVATE_LINK_ZONES.vault,
    });
    this.privateAccess.push(endpoint, network.privateDnsZone(PRIVATE_LINK_ZONES.vault).link);
  }

  /** The vault's data-plane URI, `https://<vault>.vault.azure.net/` (a literal). */
  get uri(): string {
    return `https://${this.name}.vault.azure.net/`;
  }

  /**
   * A customer-managed key, created through ARM like the secrets (`KEY_VAULT_KEY_TYPE`, control
   * plane, so the private vault does not stand in the way): RSA 3072, rotating by itself
   * (`KEY_ROTATION`), not exportable. Never destroyed by a plan in production (`prevent_destroy`):
   * data encrypted with a deleted key cannot be read; soft delete and purge protection keep a
   * deleted key recoverable for 90 days anyway. `exportVersion` exports the newest version's id
   * (`AzureKeyVaultKey.versionedId`); `rotation` replaces `KEY_ROTATION` (the cluster key's `CLUSTER_KEY_ROTATION`).
   */
  addKey(scope: Construct, id: string, name: string, options: { readonly exportVersion?: boolean; readonly rotation?: KeyRotation } = {}): AzureKeyVaultKey {
    const { ctx } = this.props;
    const resource = new AzapiResource(scope, id, {
      provider: this.props.azapi,
      type: KEY_VAULT_KEY_TYPE,
      name,
      parentId: this.vault.id,
      body: keyBody(KEY_VAULT_SKU, options.rotation),
      tags: platformTags(ctx.env),
      responseExportValues: options.exportVersion ? [KEY_VERSION_EXPORT] : undefined,
      lifecycle: { preventDestroy: ctx.env.production },
    });
    const versionedId = options.exportVersion ? resource.output(KEY_VERSION_EXPORT) : undefined;
    return { resource, name, armId: resource.id, versionlessId: `${this.uri}keys/${name}`, versionedId };
  }

  /**
   * Stores a generated value as a secret of this vault, under `scope`. The construct id `id` must
   * be the one the secret always had: it names the `azurerm_key_vault_secret` it is moved from.
   */
  addSecret(scope: Construct, id: string, props: AzureSecretProps): AzureKeyVaultSecret {
    this.refuseSecretsInPairedVault();
    const { ctx } = this.props;
    // Key Vault secrets take at most 15 tags: the platform's own, never the spec's extra tags.
    const tags = { ...platformTags(ctx.env), ...(props.tags ?? {}) };
    const body = { properties: { contentType: props.contentType, attributes: { enabled: true } } };
    const resource = new AzapiResource(scope, id, {
      provider: this.props.azapi,
      type: KEY_VAULT_SECRET_TYPE,
      name: props.name,
      parentId: this.vault.id,
      body,
      sensitiveBody: { properties: { value: props.value } },
      sensitiveBodyVersion: { "properties.value": valueVersion(props.valueVersion ?? 1, { name: props.name, body, tags }) },
      tags,
      // A replaced secret would be deleted first (soft-deleted, purge protection on) and its
      // re-creation refused while the deleted one exists: in production a plan that would do
      // that fails instead.
      lifecycle: { preventDestroy: ctx.env.production },
    });
    resource.moveFromId(`azurerm_key_vault_secret.${resource.friendlyUniqueId}`);
    return {
      resource,
      name: props.name,
      armId: resource.id,
      versionlessUri: `${this.uri}secrets/${props.name}`,
    };
  }

  /**
   * A secret the user fills, created in the same apply as the vault so that role assignments at
   * its scope can follow (the vault's data plane is private, and before this apply there is no
   * vault to write into). Like the Terraform Cloud agent's token:
   * - created through ARM with `PENDING_USER_SECRET` as a write-only value (never in plan, state
   *   or JSON), then never written by Terraform again (`ignore_changes = all`): the user's value
   *   is a new version that a later apply leaves alone;
   * - azapi v2.12.0 refuses to create over an existing resource ("Resource already exists",
   *   internal/services/azapi_resource.go `CreateUpdate`: GET before PUT for a new resource), so a
   *   secret the user created before is never overwritten: it is imported instead (README);
   * - disabled (`attributes.enabled: false`): reading a disabled secret's value is refused
   *   ("Operation get is not allowed on a disabled secret", Microsoft Learn, "Enable and disable a
   *   secret in Azure Key Vault with JavaScript"), so External Secrets fails to sync it and
   *   `ExternalSecretNotSynced` fires until the user writes the value with `enabled: true`, instead
   *   of the placeholder text being synced as if it were the credential.
   */
  addUserSecret(scope: Construct, id: string, name: string): AzureUserSecret {
    this.refuseSecretsInPairedVault();
    const { ctx } = this.props;
    const resource = new AzapiResource(scope, id, {
      provider: this.props.azapi,
      type: KEY_VAULT_SECRET_TYPE,
      name,
      parentId: this.vault.id,
      body: { properties: { contentType: "text/plain", attributes: { enabled: false } } },
      sensitiveBody: { properties: { value: PENDING_USER_SECRET } },
      sensitiveBodyVersion: { "properties.value": "pending" },
      tags: platformTags(ctx.env),
      lifecycle: { ignoreChanges: "all", preventDestroy: ctx.env.production },
    });
    return { resource, name, armId: resource.id };
  }

  /** A vault without a private endpoint (the paired one, or one without a VNet) holds keys only: nothing in a cluster could read a secret there. */
  private refuseSecretsInPairedVault(): void {
    if (this.props.pairedLocation !== undefined || this.props.network === undefined) throw new Error(`the key vault ${this.name} has no private endpoint and holds keys only: nothing in a cluster can read its secrets`);
  }
}

/**
 * A secret whose value the user writes (`AzureKeyVault.addUserSecret`).
 */
export interface AzureUserSecret {
  readonly resource: AzapiResource;
  readonly name: string;
  /** The secret's ARM id (`<vault id>/secrets/<name>`): the scope of role assignments on it. */
  readonly armId: string;
}

/**
 * `<valueVersion>-<hash of everything else the PUT sends>`. With `sensitive_body_version`, azapi
 * leaves the value out of a request whose version did not change (azapi v2.12.0
 * internal/services/resource.go `unmarshalSensitiveBody`), and a secret PUT without a value is
 * not something to rely on: tying the version to the rest of the body makes every PUT carry it.
 */
function valueVersion(version: number, rest: unknown): string {
  const text = JSON.stringify(rest);
  if (Token.isUnresolved(text)) throw new Error(`a Key Vault secret's name, body and tags must be literals (they version the value): ${text}`);
  return `${version}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}
