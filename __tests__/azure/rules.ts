/**
 * Rules of the systems that consume the Azure stacks, encoded from their source at the pinned
 * versions (no azurerm or azapi provider can run here), for the tests to apply to every
 * synthesized Azure stack and to a case each rule must reject.
 */
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
    // A MaxItems-1 block: an object in cdktf's JSON, a one-element list in Terraform's.
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
 * VNet flow logs by the rules of azurerm v4.55.0 (internal/services/network/
 * network_watcher_flow_log_resource.go and validate/network_watcher_flow_log_name.go: a name of
 * up to 80 word characters, '.', '-', '_', starting with a word character and ending with one or
 * '_'; new flow logs on an NSG refused (CustomizeDiff: Azure stopped creating them on 30 June
 * 2025); `version` 1 or 2; `traffic_analytics.interval_in_minutes` 10 or 60) and of Azure
 * (Microsoft, "Virtual network flow logs": the storage account in the target's region, Standard
 * tier; retention 0–365 days; one Network Watcher per region, Azure's own `NetworkWatcher_<region>`
 * in `NetworkWatcherRG`). Required: the stack's VNet has an enabled flow log with traffic analytics
 * into a workspace of the stack.
 */
export function flowLogProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const vnets = Object.keys(stack.resources("azurerm_virtual_network"));
  const logs = Object.entries(stack.resources("azurerm_network_watcher_flow_log"));
  for (const [id, log] of logs) {
    const name = String(log.name);
    if (!/^[^\W_]$|^[^\W_][\w.-]{0,78}\w$/.test(name)) problems.push(`${id}: name ${name} is no flow log name`);
    if (/^\$\{azurerm_network_security_group\./.test(String(log.target_resource_id))) problems.push(`${id}: targets an NSG: Azure creates no new NSG flow logs`);
    if (![1, 2].includes(Number(log.version ?? 1))) problems.push(`${id}: version ${String(log.version)}, 1 or 2`);
    const retention = log.retention_policy as TfBlock | undefined;
    const days = Number(retention?.days);
    if (retention?.enabled !== true || !Number.isInteger(days) || days < 1 || days > 365) problems.push(`${id}: retention ${String(retention?.days)} days, 1 to 365 and enabled`);
    const analytics = log.traffic_analytics as TfBlock | undefined;
    if (analytics !== undefined && ![10, 60].includes(Number(analytics.interval_in_minutes ?? 60))) problems.push(`${id}: traffic analytics interval ${String(analytics.interval_in_minutes)}, 10 or 60`);
    if (log.network_watcher_name !== `NetworkWatcher_${String(log.location)}` || log.resource_group_name !== "NetworkWatcherRG") {
      problems.push(`${id}: Network Watcher ${String(log.resource_group_name)}/${String(log.network_watcher_name)} is not the one Azure creates for ${String(log.location)}`);
    }
    const account = Object.entries(stack.resources("azurerm_storage_account")).find(([accountId]) => log.storage_account_id === `\${azurerm_storage_account.${accountId}.id}`)?.[1];
    if (!account) problems.push(`${id}: its storage account is not one of the stack`);
    else if (account.location !== log.location || account.account_tier !== "Standard") problems.push(`${id}: the storage account must be Standard, in ${String(log.location)}`);
  }
  for (const vnet of vnets) {
    const log = logs.find(([, l]) => l.target_resource_id === `\${azurerm_virtual_network.${vnet}.id}`)?.[1];
    const analytics = log?.traffic_analytics as TfBlock | undefined;
    if (!log || log.enabled !== true) problems.push(`VNet ${vnet} has no enabled flow log`);
    else if (analytics?.enabled !== true || !/^\$\{azurerm_log_analytics_workspace\.[^.]+\.id\}$/.test(String(analytics.workspace_resource_id))) problems.push(`VNet ${vnet}: no traffic analytics into a workspace of the stack`);
  }
  return problems;
}
