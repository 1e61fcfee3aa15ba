import type { Construct } from "constructs";
import { type ITerraformDependable, TerraformProvider, TerraformResource, type TerraformResourceLifecycle } from "cdktn";

/**
 * The azapi provider (Azure/azapi), pinned exactly. 2.12.0 is the first release with everything
 * the Key Vault secrets rely on (Azure/terraform-provider-azapi, CHANGELOG.md at v2.12.0):
 * - 2.4.0: `azapi_resource.sensitive_body`, a write-only argument (never in plan or state);
 * - 2.5.0: `sensitive_body_version`, which decides when the write-only properties are sent;
 * - 2.7.0: `moved` from an `azurerm_key_vault_secret` (its ARM id read from `resource_versionless_id`);
 * - 2.9.0: `Microsoft.KeyVault/vaults/secrets@2026-02-01` and `@2026-03-01-preview`, which ARM does
 *   not serve, skipped when a move picks the api-version (internal/azure/loader.go `skipApiVersions`);
 * - 2.12.0: `moved` from azurerm sets the target's resource identity (GH-1175; 2.8.0 to 2.11.0 fail
 *   every such move with `attributes "id" and "type" are required`, issue GH-1173).
 * There are no prebuilt cdktf bindings for azapi: `AzapiProvider` and `AzapiResource` are thin
 * typed wrappers over cdktn's generic classes, with only the arguments the platform uses.
 */
export const AZAPI_PROVIDER = { source: "Azure/azapi", version: "2.12.0" } as const;

/**
 * The arguments of `azapi_resource` at v2.12.0 (internal/services/azapi_resource.go, `Schema`:
 * attributes and the `identity`/`timeouts` blocks). Data derived from the source, for the tests.
 */
export const AZAPI_RESOURCE_ARGUMENTS = [
  "name", "parent_id", "type", "location", "body", "sensitive_body", "sensitive_body_version", "ignore_body_changes",
  "replace_triggers_external_values", "replace_triggers_refs", "ignore_casing", "ignore_missing_property", "ignore_null_property",
  "list_unique_id_property", "ignore_other_items_in_list", "response_export_values", "locks", "schema_validation_enabled", "tags",
  "retry", "create_headers", "create_query_parameters", "update_headers", "update_query_parameters", "delete_headers",
  "delete_query_parameters", "read_headers", "read_query_parameters", "identity", "timeouts",
] as const;

/** `azapi_resource` arguments that are write-only at v2.12.0 (`WriteOnly: true`): never stored in plan or state. */
export const AZAPI_WRITE_ONLY_ARGUMENTS = ["sensitive_body", "ignore_body_changes"] as const;

/** The project synthesizes Terraform JSON (cdktf.json); the wrappers implement only that. */
const JSON_ONLY = "the azapi wrappers synthesize Terraform JSON only, not HCL";

export interface AzapiProviderConfig {
  readonly subscriptionId: string;
  readonly tenantId: string;
}

/**
 * The azapi provider block. Credentials come from the same environment as azurerm's: an Azure CLI
 * login, or in Terraform Cloud runs the `ARM_*` variables dynamic credentials set (azapi reads
 * `ARM_CLIENT_ID`, `ARM_TENANT_ID`, `ARM_USE_OIDC`, `ARM_OIDC_TOKEN` like azurerm does:
 * internal/provider/provider.go at v2.12.0).
 */
export class AzapiProvider extends TerraformProvider {
  constructor(
    scope: Construct,
    id: string,
    private readonly config: AzapiProviderConfig,
  ) {
    super(scope, id, {
      terraformResourceType: "azapi",
      terraformGeneratorMetadata: { providerName: "azapi", providerVersion: AZAPI_PROVIDER.version },
      terraformProviderSource: AZAPI_PROVIDER.source,
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { subscription_id: this.config.subscriptionId, tenant_id: this.config.tenantId };
  }

  override toHclTerraform(): never {
    throw new Error(JSON_ONLY);
  }
}

export interface AzapiResourceConfig {
  readonly provider: AzapiProvider;
  /** `<resource type>@<api-version>`, e.g. `Microsoft.KeyVault/vaults/secrets@2024-11-01`. */
  readonly type: string;
  readonly name: string;
  /** ARM id of the parent resource. */
  readonly parentId: string;
  /** The request body without write-only properties (stored in state; never a secret). */
  readonly body: Readonly<Record<string, unknown>>;
  /** Write-only properties, merged into the request body and never stored in plan or state. */
  readonly sensitiveBody?: Readonly<Record<string, unknown>>;
  /**
   * Path in `sensitiveBody` → version: a path is sent when its version changes, and left out of
   * the request otherwise (`sensitive_body_version`).
   */
  readonly sensitiveBodyVersion?: Readonly<Record<string, string>>;
  readonly tags?: Readonly<Record<string, string>>;
  /** The resource's region, for ARM resources that take one (top-level `location`). */
  readonly location?: string;
  /** User-assigned managed identities the resource acts as (the `identity` block, type `UserAssigned`). */
  readonly userAssignedIdentityIds?: readonly string[];
  /** Paths of the response body to export into `output` (`response_export_values`, list form), read again at every refresh. */
  readonly responseExportValues?: readonly string[];
  readonly lifecycle?: TerraformResourceLifecycle;
  readonly dependsOn?: ITerraformDependable[];
}

/** One `azapi_resource`: an ARM resource written through Azure Resource Manager (the control plane). */
export class AzapiResource extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    private readonly config: AzapiResourceConfig,
  ) {
    super(scope, id, {
      terraformResourceType: "azapi_resource",
      terraformGeneratorMetadata: { providerName: "azapi", providerVersion: AZAPI_PROVIDER.version },
      provider: config.provider,
      lifecycle: config.lifecycle,
      dependsOn: config.dependsOn,
    });
  }

  /** The resource's ARM id, `<parent_id>/<type segment>/<name>`. */
  get id(): string {
    return this.getStringAttribute("id");
  }

  /** A string exported by `responseExportValues` (a dotted path of the response body), as `output.<path>`. */
  output(path: string): string {
    if (!(this.config.responseExportValues ?? []).includes(path)) throw new Error(`${path} is not among the response_export_values of ${this.node.path}`);
    return this.getStringAttribute(`output.${path}`);
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    const { type, name, parentId, body, sensitiveBody, sensitiveBodyVersion, tags, location, userAssignedIdentityIds, responseExportValues } = this.config;
    return {
      type,
      name,
      parent_id: parentId,
      location,
      identity: userAssignedIdentityIds === undefined ? undefined : [{ type: "UserAssigned", identity_ids: userAssignedIdentityIds }],
      body,
      sensitive_body: sensitiveBody,
      sensitive_body_version: sensitiveBodyVersion,
      tags,
      response_export_values: responseExportValues,
    };
  }

  override toHclTerraform(): never {
    throw new Error(JSON_ONLY);
  }
}
