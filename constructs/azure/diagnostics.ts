import type { Construct } from "constructs";
import { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import type { AzureContext } from "./context";

/**
 * The Log Analytics workspace the environment's resources send their logs to, kept
 * `cluster.logRetentionDays`: created by the AKS cluster (`<env>-cluster-logs`), or, in
 * `<env>-infra-azure` where no cluster is, on its own (`<env>-logs`).
 */
export function environmentLogWorkspace(scope: Construct, id: string, ctx: AzureContext, name = ctx.name("logs")): LogAnalyticsWorkspace {
  return new LogAnalyticsWorkspace(scope, id, {
    name,
    location: ctx.location,
    resourceGroupName: ctx.resourceGroupName,
    sku: "PerGB2018",
    retentionInDays: ctx.env.cluster.logRetentionDays,
  });
}

/**
 * The resource log categories the platform ships, per resource type, each a name Azure Monitor
 * publishes for that type (Microsoft Learn, "Supported logs for <type>" under Azure Monitor's
 * "Supported categories for Azure Monitor resource logs"):
 * - `Microsoft.KeyVault/vaults`: AuditEvent (every data-plane and management request, who and
 *   from where), the vault's audit log;
 * - `Microsoft.Storage/storageAccounts/blobServices`: StorageRead, StorageWrite, StorageDelete
 *   (the blob service's requests, to the resource-specific StorageBlobLogs table);
 * - `Microsoft.DBforPostgreSQL/flexibleServers`: PostgreSQLLogs (the server log: connections,
 *   errors, statements slower than `log_min_duration_statement`) and PostgreSQLFlexSessions
 *   (session snapshots); the query-store, table and transaction categories are performance data;
 * - `Microsoft.Network/virtualNetworkGateways`: GatewayDiagnosticLog (configuration and
 *   maintenance), TunnelDiagnosticLog (tunnels up and down), RouteDiagnosticLog (BGP and static
 *   route changes) and IKEDiagnosticLog (IKE negotiation); P2SDiagnosticLog is for point-to-site.
 * Azure refuses a diagnostic setting naming a category its target does not publish.
 */
export const RESOURCE_LOG_CATEGORIES = {
  keyVault: ["AuditEvent"],
  blobService: ["StorageRead", "StorageWrite", "StorageDelete"],
  postgresServer: ["PostgreSQLLogs", "PostgreSQLFlexSessions"],
  vpnGateway: ["GatewayDiagnosticLog", "TunnelDiagnosticLog", "RouteDiagnosticLog", "IKEDiagnosticLog"],
} as const;

/** The ARM id of a storage account's blob service, the target of its blob request logs. */
export function blobServiceId(accountId: string): string {
  return `${accountId}/blobServices/default`;
}

/**
 * One diagnostic setting, `platform-logs`, sending these categories of the target's resource logs
 * to the environment's Log Analytics workspace (the cluster's, kept `cluster.logRetentionDays`).
 * The destination table type is left to Azure (`log_analytics_destination_type` unset): Key Vault
 * and PostgreSQL write to AzureDiagnostics, blob logs always to StorageBlobLogs.
 */
export function sendResourceLogs(scope: Construct, id: string, props: { readonly targetResourceId: string; readonly workspaceId: string; readonly categories: readonly string[] }): MonitorDiagnosticSetting {
  return new MonitorDiagnosticSetting(scope, id, {
    name: "platform-logs",
    targetResourceId: props.targetResourceId,
    logAnalyticsWorkspaceId: props.workspaceId,
    enabledLog: props.categories.map((category) => ({ category })),
  });
}
