/**
 * Rules of the systems that consume the Azure stacks, encoded from their source at the pinned
 * versions (no azurerm or azapi provider can run here), for the tests to apply to every
 * synthesized Azure stack and to a case each rule must reject.
 */
import { FLOW_LOG_SCHEMA } from "../../constructs/azure/flow-logs";
import { AZURE_PAIRED_LOCATIONS } from "../../constructs/core/regions";
import type { SynthesizedStack, TfBlock } from "../support/synth";

/**
 * azurerm 4.55.0 resources and data sources that call a key vault's data plane
 * (`https://<vault>.vault.azure.net`), so that the vault's network rules apply to whoever runs
 * Terraform: every resource of hashicorp/terraform-provider-azurerm v4.55.0
 * internal/services/keyvault/registration.go whose file uses the data-plane client
 * (`KeyVault.ManagementClient`, package `kermit/sdk/keyvault/7.4/keyvault`), and the data sources
 * reading secrets, keys and certificates. `azurerm_key_vault` itself goes through ARM, except a
 * certificate-contacts read whose failure it ignores when public access is off (checked apart).
 */
export const KEY_VAULT_DATA_PLANE_TYPES = {
  resource: [
    "azurerm_key_vault_secret",
    "azurerm_key_vault_key",
    "azurerm_key_vault_certificate",
    "azurerm_key_vault_certificate_contacts",
    "azurerm_key_vault_certificate_issuer",
    "azurerm_key_vault_managed_storage_account",
    "azurerm_key_vault_managed_storage_account_sas_token_definition",
  ],
  data: [
    "azurerm_key_vault_secret",
    "azurerm_key_vault_secrets",
    "azurerm_key_vault_key",
    "azurerm_key_vault_certificate",
    "azurerm_key_vault_certificates",
    "azurerm_key_vault_certificate_data",
    "azurerm_key_vault_certificate_issuer",
    "azurerm_key_vault_encrypted_value",
  ],
} as const;

/** Addresses in the stack that need a network path to a key vault's data plane. */
export function keyVaultDataPlaneUsers(stack: SynthesizedStack): string[] {
  const data = (stack.json as { data?: Record<string, Record<string, unknown>> }).data ?? {};
  return [
    ...KEY_VAULT_DATA_PLANE_TYPES.resource.flatMap((type) => Object.keys(stack.resources(type)).map((name) => `${type}.${name}`)),
    ...KEY_VAULT_DATA_PLANE_TYPES.data.flatMap((type) => Object.keys(data[type] ?? {}).map((name) => `data.${type}.${name}`)),
  ];
}

/**
 * A role assignment's principal is deterministic when it is a managed identity this stack creates
 * (`${azurerm_user_assigned_identity.<x>.principal_id}`) or a literal object id of a group. Anything
 * read at plan time from the caller (`data.azurerm_client_config`, an environment variable) changes
 * with who applies, and azurerm 4.55.0 marks `principal_id` ForceNew
 * (internal/services/authorization/role_assignment_resource.go), so the assignment would be
 * destroyed and recreated on every apply by someone else.
 */
export function nonDeterministicPrincipals(stack: SynthesizedStack): string[] {
  const managedIdentity = /^\$\{azurerm_user_assigned_identity\.[^.}]+\.principal_id\}$/;
  const literalGroup = (role: TfBlock) => role.principal_type === "Group" && /^[0-9a-f-]{36}$/.test(String(role.principal_id));
  return Object.entries(stack.resources("azurerm_role_assignment"))
    .filter(([, role]) => !managedIdentity.test(String(role.principal_id)) && !literalGroup(role))
    .map(([name, role]) => `azurerm_role_assignment.${name} (principal_id ${String(role.principal_id)})`);
}

/**
 * Arguments of `azurerm_kubernetes_cluster` whose change forces a new cluster in azurerm 4.55.0
 * (internal/services/containers/kubernetes_cluster_resource.go: `ForceNew: true` on name,
 * location, resource_group_name, dns_prefix, private_cluster_enabled, private_dns_zone_id;
 * `network_profile.*` plugin settings), compared top-level here.
 */
export const AKS_REPLACING_ARGUMENTS = ["name", "location", "resource_group_name", "dns_prefix", "private_cluster_enabled", "private_dns_zone_id", "network_profile"] as const;

/** The AKS arguments that differ between two syntheses and would replace the cluster. */
export function aksReplacement(before: SynthesizedStack, after: SynthesizedStack): string[] {
  const a = before.one("azurerm_kubernetes_cluster");
  const b = after.one("azurerm_kubernetes_cluster");
  return AKS_REPLACING_ARGUMENTS.filter((argument) => JSON.stringify(a[argument]) !== JSON.stringify(b[argument]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Entra authentication on the PostgreSQL servers, by the rules of azurerm v4.55.0:
 * - internal/services/postgres/postgresql_flexible_server_resource.go: `authentication.tenant_id`
 *   is a UUID, RequiredWith `active_directory_auth_enabled`;
 * - internal/services/postgres/postgresql_flexible_server_active_directory_administrator_resource.go:
 *   `object_id` and `tenant_id` UUIDs, `principal_name` not empty, `principal_type` one of Group,
 *   ServicePrincipal, User;
 * and the platform's own rule: a server with Entra authentication on has an Entra administrator
 * (without one, nobody can create Entra roles, so the switch only widens the attack surface).
 */
export function entraAuthProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const admins = Object.entries(stack.resources("azurerm_postgresql_flexible_server_active_directory_administrator"));
  for (const [id, server] of Object.entries(stack.resources("azurerm_postgresql_flexible_server"))) {
    if (server.create_mode === "Replica") continue;
    // A MaxItems-1 block: an object in cdktn's JSON, a one-element list in Terraform's.
    const auth: TfBlock = ([] as TfBlock[]).concat((server.authentication as TfBlock | TfBlock[] | undefined) ?? [])[0] ?? {};
    if (auth.active_directory_auth_enabled !== true) continue;
    if (!UUID.test(String(auth.tenant_id))) problems.push(`${id}: authentication.tenant_id ${String(auth.tenant_id)} is required with Entra authentication and must be a UUID`);
    if (!admins.some(([, admin]) => String(admin.server_name) === `\${azurerm_postgresql_flexible_server.${id}.name}`)) problems.push(`${id}: Entra authentication is on with no Entra administrator`);
  }
  for (const [id, admin] of admins) {
    for (const field of ["object_id", "tenant_id"]) if (!UUID.test(String(admin[field]))) problems.push(`${id}: ${field} ${String(admin[field])} is not a UUID`);
    if (!["Group", "ServicePrincipal", "User"].includes(String(admin.principal_type))) problems.push(`${id}: principal_type ${String(admin.principal_type)}, one of Group, ServicePrincipal, User`);
    if (String(admin.principal_name ?? "") === "") problems.push(`${id}: principal_name is empty`);
  }
  return problems;
}

/**
 * Resource log categories Azure Monitor publishes per target type (Microsoft Learn, Azure Monitor
 * reference, "Supported logs for Microsoft.KeyVault/vaults", "…Microsoft.Storage/storageAccounts/
 * blobServices", "…Microsoft.DBforPostgreSQL/flexibleServers", "…Microsoft.ContainerService/
 * managedClusters"); Azure refuses a diagnostic setting naming another category.
 */
export const PUBLISHED_LOG_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  azurerm_key_vault: ["AuditEvent", "AzurePolicyEvaluationDetails"],
  blobService: ["StorageRead", "StorageWrite", "StorageDelete"],
  azurerm_postgresql_flexible_server: ["PostgreSQLLogs", "PostgreSQLFlexSessions", "PostgreSQLFlexQueryStoreRuntime", "PostgreSQLFlexQueryStoreWaitStats", "PostgreSQLFlexTableStats", "PostgreSQLFlexDatabaseXacts", "PostgreSQLFlexPGBouncer"],
  azurerm_kubernetes_cluster: ["kube-apiserver", "kube-audit", "kube-audit-admin", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler", "cloud-controller-manager", "guard", "csi-azuredisk-controller", "csi-azurefile-controller", "csi-snapshot-controller"],
};

/**
 * Which resources of an Azure infra stack send logs where, and what azurerm v4.55.0 and Azure
 * refuse in the settings (internal/services/monitor/monitor_diagnostic_setting_resource.go and
 * validate/monitor_diagnostic_setting.go: a name of 1–260 characters without `<>*%&:\?+/`; at
 * least one destination; at least one `enabled_log` or `enabled_metric`; each log names exactly
 * one of `category` and `category_group`; a category the target type publishes).
 * Required: every key vault, every storage account's blob service and every PostgreSQL server
 * sends logs to a Log Analytics workspace of the stack.
 */
export function diagnosticProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const settings = Object.entries(stack.resources("azurerm_monitor_diagnostic_setting"));
  const targetOf = (value: unknown): { type: string; id: string } | undefined => {
    const match = /^\$\{(azurerm_[a-z_]+)\.([^.}]+)\.id\}(\/blobServices\/default)?$/.exec(String(value));
    return match ? { type: match[3] ? "blobService" : match[1], id: `${match[1]}.${match[2]}` } : undefined;
  };
  for (const [id, setting] of settings) {
    const name = String(setting.name ?? "");
    if (name.length < 1 || name.length > 260 || /[<>*%&:\\?+/]/.test(name)) problems.push(`${id}: name ${name}: 1 to 260 characters, none of <>*%&:\\?+/`);
    if (!["eventhub_authorization_rule_id", "log_analytics_workspace_id", "storage_account_id", "partner_solution_id"].some((field) => setting[field] !== undefined)) problems.push(`${id}: no destination`);
    const logs = ([] as TfBlock[]).concat((setting.enabled_log as TfBlock[] | undefined) ?? []);
    if (logs.length === 0 && setting.enabled_metric === undefined) problems.push(`${id}: neither enabled_log nor enabled_metric`);
    const target = targetOf(setting.target_resource_id);
    const published = target ? PUBLISHED_LOG_CATEGORIES[target.type] : undefined;
    for (const log of logs) {
      if ((log.category === undefined) === (log.category_group === undefined)) problems.push(`${id}: a log names exactly one of category and category_group`);
      if (log.category !== undefined && published && !published.includes(String(log.category))) problems.push(`${id}: ${String(log.category)} is no log category of ${target?.type}`);
    }
  }
  const workspaces = new Set(Object.keys(stack.resources("azurerm_log_analytics_workspace")).map((id) => `\${azurerm_log_analytics_workspace.${id}.id}`));
  const logged = (type: string, id: string, blob = false) =>
    settings.some(([, setting]) => {
      const target = targetOf(setting.target_resource_id);
      return target?.id === `${type}.${id}` && (target.type === "blobService") === blob && workspaces.has(String(setting.log_analytics_workspace_id)) && setting.enabled_log !== undefined;
    });
  for (const id of Object.keys(stack.resources("azurerm_key_vault"))) if (!logged("azurerm_key_vault", id)) problems.push(`key vault ${id} sends no audit log to a workspace`);
  for (const id of Object.keys(stack.resources("azurerm_storage_account"))) if (!logged("azurerm_storage_account", id, true)) problems.push(`storage account ${id} sends no blob request log to a workspace`);
  for (const id of Object.keys(stack.resources("azurerm_postgresql_flexible_server"))) if (!logged("azurerm_postgresql_flexible_server", id)) problems.push(`PostgreSQL server ${id} sends no log to a workspace`);
  return problems;
}

/**
 * VNet flow logs, written through ARM by azapi (`FLOW_LOG_TYPE`), against what ARM and azapi
 * v2.12.0 accept (`FLOW_LOG_SCHEMA`, from internal/azure/generated/network/microsoft.network/
 * 2024-05-01/types.json: required and known properties, enums) and what Network Watcher needs
 * (Microsoft Learn, "Virtual network flow logs", "Managed identity for virtual network flow logs"):
 * the region's watcher as parent, a Standard account in the VNet's region, written as a
 * user-assigned identity that holds "Storage Blob Data Contributor" on that account before the
 * flow log is written, so the account needs no shared keys. Every VNet has one, enabled, with
 * traffic analytics into a workspace of the stack. The name rule is azurerm v4.55.0's
 * (internal/services/network/validate/network_watcher_flow_log_name.go).
 */
export function flowLogProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const vnets = Object.keys(stack.resources("azurerm_virtual_network"));
  const logs = Object.entries(stack.resources("azapi_resource")).filter(([, r]) => String(r.type).startsWith("Microsoft.Network/networkWatchers/flowLogs@"));
  const properties = (log: TfBlock) => ((log.body as TfBlock | undefined)?.properties ?? {}) as TfBlock;
  const identities = stack.resources("azurerm_user_assigned_identity");
  const roles = Object.entries(stack.resources("azurerm_role_assignment"));
  for (const [id, log] of logs) {
    const props = properties(log);
    const apiVersion = String(log.type).split("@")[1] ?? "";
    if (apiVersion < FLOW_LOG_SCHEMA.firstIdentityApiVersion) problems.push(`${id}: api-version ${apiVersion} has no flow log identity (${FLOW_LOG_SCHEMA.firstIdentityApiVersion} or later)`);
    const name = String(log.name);
    if (!/^[^\W_]$|^[^\W_][\w.-]{0,78}\w$/.test(name)) problems.push(`${id}: name ${name} is no flow log name`);
    for (const key of FLOW_LOG_SCHEMA.requiredProperties) if (props[key] === undefined) problems.push(`${id}: properties.${key} is required`);
    for (const key of Object.keys(props)) if (!(FLOW_LOG_SCHEMA.properties as readonly string[]).includes(key)) problems.push(`${id}: properties.${key} is not a FlowLog property`);
    if (/^\$\{azurerm_network_security_group\./.test(String(props.targetResourceId))) problems.push(`${id}: targets an NSG: Azure creates no new NSG flow logs`);
    const format = (props.format ?? {}) as TfBlock;
    if (!(FLOW_LOG_SCHEMA.formatTypes as readonly string[]).includes(String(format.type)) || !(FLOW_LOG_SCHEMA.formatVersions as readonly number[]).includes(Number(format.version))) {
      problems.push(`${id}: format ${String(format.type)} version ${String(format.version)}, JSON 1 or 2`);
    }
    const retention = props.retentionPolicy as TfBlock | undefined;
    const days = Number(retention?.days);
    if (retention?.enabled !== true || !Number.isInteger(days) || days < 1 || days > FLOW_LOG_SCHEMA.maxRetentionDays) problems.push(`${id}: retention ${String(retention?.days)} days, 1 to 365 and enabled`);
    const analytics = (props.flowAnalyticsConfiguration as TfBlock | undefined)?.networkWatcherFlowAnalyticsConfiguration as TfBlock | undefined;
    if (analytics !== undefined && !(FLOW_LOG_SCHEMA.trafficAnalyticsIntervals as readonly number[]).includes(Number(analytics.trafficAnalyticsInterval))) {
      problems.push(`${id}: traffic analytics interval ${String(analytics.trafficAnalyticsInterval)}, 10 or 60`);
    }
    const watcher = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/NetworkWatcherRG\/providers\/Microsoft\.Network\/networkWatchers\/NetworkWatcher_([a-z0-9]+)$/.exec(String(log.parent_id));
    if (!watcher || watcher[1] !== log.location) problems.push(`${id}: parent ${String(log.parent_id)} is not the Network Watcher Azure creates for ${String(log.location)}`);
    const account = Object.entries(stack.resources("azurerm_storage_account")).find(([accountId]) => props.storageId === `\${azurerm_storage_account.${accountId}.id}`);
    if (!account) {
      problems.push(`${id}: its storage account is not one of the stack`);
      continue;
    }
    const [accountId, accountBlock] = account;
    if (accountBlock.location !== log.location || accountBlock.account_tier !== "Standard") problems.push(`${id}: the storage account must be Standard, in ${String(log.location)}`);
    const identity = asBlocks(log.identity)[0];
    const identityIds = (identity?.identity_ids ?? []) as string[];
    if (identity === undefined || !(FLOW_LOG_SCHEMA.identityTypes as readonly string[]).includes(String(identity.type))) problems.push(`${id}: identity type ${String(identity?.type)} is none of ${FLOW_LOG_SCHEMA.identityTypes.join(", ")}`);
    else if (identity.type !== "UserAssigned" || identityIds.length !== 1) problems.push(`${id}: Network Watcher writes only as one user-assigned identity (type UserAssigned, one id)`);
    for (const identityId of identityIds) {
      const name = /^\$\{azurerm_user_assigned_identity\.([^.}]+)\.id\}$/.exec(identityId)?.[1];
      if (name === undefined || identities[name] === undefined) {
        problems.push(`${id}: identity ${identityId} is not one of the stack`);
        continue;
      }
      const writer = roles.find(([, role]) => role.principal_id === `\${azurerm_user_assigned_identity.${name}.principal_id}` && role.scope === `\${azurerm_storage_account.${accountId}.id}` && role.role_definition_name === "Storage Blob Data Contributor");
      if (!writer) problems.push(`${id}: identity ${name} holds no Storage Blob Data Contributor on the account`);
      else if (!asStrings(log.depends_on).includes(`azurerm_role_assignment.${writer[0]}`)) problems.push(`${id}: is written before its identity's role on the account exists (depends_on)`);
    }
    if (identityIds.length === 0 && accountBlock.shared_access_key_enabled === false) problems.push(`${id}: without an identity Network Watcher writes with the account's shared keys, which are off`);
  }
  for (const vnet of vnets) {
    const log = logs.find(([, l]) => properties(l).targetResourceId === `\${azurerm_virtual_network.${vnet}.id}`)?.[1];
    const analytics = log ? ((properties(log).flowAnalyticsConfiguration as TfBlock | undefined)?.networkWatcherFlowAnalyticsConfiguration as TfBlock | undefined) : undefined;
    if (!log || properties(log).enabled !== true) problems.push(`VNet ${vnet} has no enabled flow log`);
    else if (analytics?.enabled !== true || !/^\$\{azurerm_log_analytics_workspace\.[^.]+\.id\}$/.test(String(analytics.workspaceResourceId))) problems.push(`VNet ${vnet}: no traffic analytics into a workspace of the stack`);
  }
  return problems;
}

function asBlocks(value: unknown): TfBlock[] {
  if (Array.isArray(value)) return value as TfBlock[];
  return value !== null && typeof value === "object" ? [value as TfBlock] : [];
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Days of an ISO 8601 duration in days, months or years (`P30D`, `P18M`, `P2Y`), as Key Vault rotation policies take them. */
export function durationDays(duration: string): number | undefined {
  const match = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/.exec(duration);
  if (!match || duration === "P") return undefined;
  return Number(match[1] ?? 0) * 365 + Number(match[2] ?? 0) * 30 + Number(match[3] ?? 0);
}

/**
 * Customer-managed keys (`Microsoft.KeyVault/vaults/keys`, azapi) against what ARM accepts (azapi
 * v2.12.0 internal/azure/generated/keyvault/microsoft.keyvault/2024-11-01/types.json: name pattern,
 * `kty`, `keyOps`, `action.type` enums) and the rotation policy's limits as azurerm 4.55.0 encodes
 * them from Key Vault's (internal/services/keyvault/key_vault_key_resource.go `rotation_policy`:
 * expiry P28D to P100Y, notification P7D and more before expiry, one trigger per action; Microsoft
 * Learn "Configure cryptographic key auto-rotation in Azure Key Vault": rotation at least 7 days
 * after creation and 7 days before expiry); HSM key types only in a premium vault; RSA keys of
 * 2048, 3072 or 4096 bits; the vault purge-protected (required for customer-managed keys by Azure
 * Storage and PostgreSQL).
 */
export function keyProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const vaults = stack.resources("azurerm_key_vault");
  const keys = Object.entries(stack.resources("azapi_resource")).filter(([, r]) => String(r.type).startsWith("Microsoft.KeyVault/vaults/keys@"));
  for (const [id, key] of keys) {
    const props = ((key.body as TfBlock | undefined)?.properties ?? {}) as TfBlock;
    if (!/^[a-zA-Z0-9-]{1,127}$/.test(String(key.name))) problems.push(`${id}: name ${String(key.name)} is no key name (letters, digits, '-', at most 127)`);
    const vaultName = /^\$\{azurerm_key_vault\.([^.}]+)\.id\}$/.exec(String(key.parent_id))?.[1];
    const vault = vaultName === undefined ? undefined : vaults[vaultName];
    if (!vault) problems.push(`${id}: parent ${String(key.parent_id)} is not a vault of the stack`);
    else if (vault.purge_protection_enabled !== true) problems.push(`${id}: vault ${vaultName} has no purge protection, which customer-managed keys require`);
    const kty = String(props.kty);
    if (!["EC", "EC-HSM", "RSA", "RSA-HSM"].includes(kty)) problems.push(`${id}: kty ${kty} is none of EC, EC-HSM, RSA, RSA-HSM`);
    else if (kty.endsWith("-HSM") && vault?.sku_name !== "premium") problems.push(`${id}: kty ${kty} needs a premium vault, not ${String(vault?.sku_name)}`);
    if (kty.startsWith("RSA") && ![2048, 3072, 4096].includes(Number(props.keySize))) problems.push(`${id}: RSA key size ${String(props.keySize)}, 2048, 3072 or 4096`);
    const ops = asStrings(props.keyOps);
    for (const op of ops) if (!["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "release"].includes(op)) problems.push(`${id}: key operation ${op} is unknown`);
    if (!ops.includes("wrapKey") || !ops.includes("unwrapKey")) problems.push(`${id}: customer-managed keys need wrapKey and unwrapKey`);
    const policy = props.rotationPolicy as TfBlock | undefined;
    if (policy === undefined) {
      problems.push(`${id}: no rotation policy`);
      continue;
    }
    const expiry = durationDays(String((policy.attributes as TfBlock | undefined)?.expiryTime));
    if (expiry === undefined || expiry < 28 || expiry > 36500) problems.push(`${id}: expiry ${String((policy.attributes as TfBlock | undefined)?.expiryTime)}, P28D to P100Y`);
    const actions = asBlocks(policy.lifetimeActions);
    for (const action of actions) {
      const trigger = (action.trigger ?? {}) as TfBlock;
      const type = String((action.action as TfBlock | undefined)?.type);
      if (!["rotate", "notify"].includes(type)) problems.push(`${id}: lifetime action ${type} is neither rotate nor notify`);
      if ((trigger.timeAfterCreate === undefined) === (trigger.timeBeforeExpiry === undefined)) problems.push(`${id}: a ${type} action needs exactly one of timeAfterCreate and timeBeforeExpiry`);
      const after = trigger.timeAfterCreate === undefined ? undefined : durationDays(String(trigger.timeAfterCreate));
      const before = trigger.timeBeforeExpiry === undefined ? undefined : durationDays(String(trigger.timeBeforeExpiry));
      if (type === "rotate" && after !== undefined && (after < 7 || (expiry !== undefined && after > expiry - 7))) problems.push(`${id}: rotation ${String(trigger.timeAfterCreate)} after creation, at least P7D and 7 days before expiry`);
      if (before !== undefined && (before < 7 || (expiry !== undefined && before > expiry - 7))) problems.push(`${id}: ${type} ${String(trigger.timeBeforeExpiry)} before expiry, at least P7D and 7 days after creation`);
    }
    if (!actions.some((action) => (action.action as TfBlock | undefined)?.type === "rotate")) problems.push(`${id}: the rotation policy never rotates`);
  }
  return problems;
}

/**
 * PostgreSQL Flexible Server customer-managed keys against what azurerm and Azure accept.
 * azurerm v4.55.0 internal/services/postgres/postgresql_flexible_server_resource.go
 * (`customer_managed_key`): `key_vault_key_id` RequiredWith `identity` and
 * `primary_user_assigned_identity_id`; `geo_backup_key_vault_key_id` RequiredWith `identity` and
 * `geo_backup_user_assigned_identity_id`; key ids are Key Vault nested-item ids, versioned or not
 * (`keyvault.ValidateNestedItemID(VersionTypeAny, ...)`: `https://<vault>.vault.azure.net/keys/<name>[/<version>]`).
 * website/docs/r/postgresql_flexible_server.html.markdown at v4.55.0: each identity must be in
 * `identity.identity_ids`; the geo-backup identity is not the primary one, and it and the geo-backup
 * key's vault are in the region of the geo-redundant backup (the location's pair,
 * `AZURE_PAIRED_LOCATIONS`). Microsoft Learn, "Data encryption with customer-managed keys in Azure
 * Database for PostgreSQL": a server with geo-redundant backups and a customer-managed key needs
 * the geo-backup key and identity too, and each identity needs wrap/unwrap and get on its key
 * ("Key Vault Crypto Service Encryption User" on the key: checked against the stack's role
 * assignments), the vault purge-protected (`keyProblems`).
 */
export function postgresKeyProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const vaults = Object.entries(stack.resources("azurerm_key_vault"));
  const identities = stack.resources("azurerm_user_assigned_identity");
  const roles = stack.all("azurerm_role_assignment");
  const keys = Object.entries(stack.resources("azapi_resource")).filter(([, r]) => String(r.type).startsWith("Microsoft.KeyVault/vaults/keys@"));
  for (const [id, server] of Object.entries(stack.resources("azurerm_postgresql_flexible_server"))) {
    const cmk = asBlocks(server.customer_managed_key)[0];
    if (cmk === undefined) continue;
    const identityBlock = asBlocks(server.identity)[0];
    const identityIds = asStrings(identityBlock?.identity_ids);
    const keyed = (keyField: string, identityField: string, location: string): void => {
      const keyId = cmk[keyField];
      const identity = cmk[identityField];
      if (keyId === undefined) return;
      if (identityBlock === undefined) problems.push(`${id}: ${keyField} without an identity block (RequiredWith)`);
      if (identity === undefined) problems.push(`${id}: ${keyField} without ${identityField} (RequiredWith)`);
      const identityName = /^\$\{azurerm_user_assigned_identity\.([^.}]+)\.id\}$/.exec(String(identity))?.[1];
      if (identity !== undefined) {
        if (!identityIds.includes(String(identity))) problems.push(`${id}: ${identityField} is not in identity.identity_ids`);
        const uai = identityName === undefined ? undefined : identities[identityName];
        if (uai === undefined) problems.push(`${id}: ${identityField} ${String(identity)} is no user-assigned identity of the stack`);
        else if (uai.location !== location) problems.push(`${id}: ${identityField} is in ${String(uai.location)}, not ${location}`);
      }
      const parts = /^https:\/\/([a-zA-Z0-9-]{3,24})\.vault\.azure\.net\/keys\/([a-zA-Z0-9-]{1,127})(?:\/[0-9a-fA-F]{32})?$/.exec(String(keyId));
      if (!parts) {
        problems.push(`${id}: ${keyField} ${String(keyId)} is no Key Vault key id`);
        return;
      }
      const [vaultId, vault] = vaults.find(([, v]) => v.name === parts[1]) ?? [];
      if (vault === undefined) {
        problems.push(`${id}: ${keyField}: vault ${parts[1]} is not in the stack`);
        return;
      }
      if (vault.location !== location) problems.push(`${id}: ${keyField}: vault ${parts[1]} is in ${String(vault.location)}, not ${location}`);
      const key = keys.find(([, k]) => k.name === parts[2] && k.parent_id === `\${azurerm_key_vault.${vaultId}.id}`);
      if (key === undefined) problems.push(`${id}: ${keyField}: no key ${parts[2]} in vault ${parts[1]}`);
      else if (!roles.some((r) => r.scope === `\${azapi_resource.${key[0]}.id}` && r.role_definition_name === "Key Vault Crypto Service Encryption User" && r.principal_id === `\${azurerm_user_assigned_identity.${identityName}.principal_id}`)) {
        problems.push(`${id}: ${identityField} holds no "Key Vault Crypto Service Encryption User" on key ${parts[2]}`);
      }
    };
    const location = String(server.location);
    keyed("key_vault_key_id", "primary_user_assigned_identity_id", location);
    if (server.geo_redundant_backup_enabled !== true) continue;
    const paired = AZURE_PAIRED_LOCATIONS[location];
    if (cmk.geo_backup_key_vault_key_id === undefined) problems.push(`${id}: geo-redundant backups with a customer-managed key need geo_backup_key_vault_key_id`);
    else if (paired === undefined) problems.push(`${id}: ${location} has no paired region for geo-redundant backups' key`);
    else keyed("geo_backup_key_vault_key_id", "geo_backup_user_assigned_identity_id", paired.location);
    if (cmk.geo_backup_user_assigned_identity_id !== undefined && cmk.geo_backup_user_assigned_identity_id === cmk.primary_user_assigned_identity_id) {
      problems.push(`${id}: geo_backup_user_assigned_identity_id is the primary identity`);
    }
  }
  return problems;
}
