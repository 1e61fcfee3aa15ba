import { Construct } from "constructs";
import { NetworkWatcherFlowLog } from "@cdktf/provider-azurerm/lib/network-watcher-flow-log";
import { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import type { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import type { AzureContext } from "./context";
import { blobServiceId, sendResourceLogs } from "./diagnostics";
import type { AzureNetwork } from "./network";

/**
 * The Network Watcher Azure creates by itself in a region when the first VNet of a subscription
 * appears there: `NetworkWatcher_<location>` in the resource group `NetworkWatcherRG` (Microsoft,
 * "Enable or disable Azure Network Watcher": enabled automatically, one per region and
 * subscription). A subscription holds at most one watcher per region, so the stack references
 * that one instead of creating its own, which would fail wherever Azure already made it (and
 * several environments of one subscription and region share it: each flow log has its own name).
 */
export function networkWatcherOf(location: string): { name: string; resourceGroupName: string } {
  return { name: `NetworkWatcher_${location}`, resourceGroupName: "NetworkWatcherRG" };
}

/** Days Network Watcher keeps flow log blobs: 1 to 365 (0 would mean forever). */
export function flowLogRetentionDays(ctx: AzureContext): number {
  return Math.min(365, ctx.env.cluster.logRetentionDays);
}

/** The flow-log storage account's name: the environment name without hyphens, `fl` and 6 hex characters (at most 24). */
export function flowLogAccountName(ctx: AzureContext): string {
  return `${ctx.env.name.replace(/-/g, "")}fl${ctx.uniqueSuffix(6)}`;
}

export interface AzureFlowLogsProps {
  readonly ctx: AzureContext;
  readonly network: AzureNetwork;
  readonly workspace: LogAnalyticsWorkspace;
}

/**
 * VNet flow logs of the environment's VNet (every subnet, every NSG verdict), through the
 * region's Network Watcher (`networkWatcherOf`):
 * - `azurerm_network_watcher_flow_log` with `target_resource_id` = the VNet (azurerm 4.55.0 refuses
 *   new NSG flow logs, which Azure stopped creating on 30 June 2025: network_watcher_flow_log_resource.go
 *   CustomizeDiff), format version 2, kept `flowLogRetentionDays` in the storage account;
 * - traffic analytics into the environment's Log Analytics workspace every 10 minutes in
 *   production, every 60 elsewhere (the two intervals azurerm accepts);
 * - a storage account of their own (`flowLogAccountName`): StorageV2 Standard (Network Watcher
 *   takes no Premium account), in the VNet's region (required), ZRS, TLS 1.2, HTTPS only, no
 *   public blob access, infrastructure encryption; public network access only "from selected
 *   networks" with none selected and Azure's trusted services let through (Network Watcher
 *   writes as one; a disabled public endpoint would shut it out too). Shared keys stay on:
 *   Network Watcher writes flow logs with the account's keys unless the flow log carries a
 *   managed identity, which azurerm 4.55.0's flow log cannot set (its schema has no `identity`).
 *   (Microsoft, "Virtual network flow logs", considerations: rotating the account's keys stops
 *   the flow logs until they are re-enabled.) The ARM API's flow log takes a managed identity
 *   (`identity`, api-version 2024-05-01 and later), the way to turn shared keys off once the
 *   provider exposes it. Blob soft delete like the data account, its readers and deleters
 *   logged (StorageRead, StorageDelete, not Network Watcher's own writes); nothing of the
 *   platform reads the account; `prevent_destroy` in production.
 */
export class AzureFlowLogs extends Construct {
  readonly account: StorageAccount;
  readonly flowLog: NetworkWatcherFlowLog;

  constructor(scope: Construct, id: string, props: AzureFlowLogsProps) {
    super(scope, id);
    const { ctx, network, workspace } = props;
    const production = ctx.env.production;
    this.account = new StorageAccount(this, "storage", {
      name: flowLogAccountName(ctx),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      accountKind: "StorageV2",
      accountTier: "Standard",
      // Production keeps its flow logs geo-redundant like its data (policy rule storage-zone-redundant).
      accountReplicationType: production ? "GZRS" : "ZRS",
      accessTier: "Hot",
      minTlsVersion: "TLS1_2",
      httpsTrafficOnlyEnabled: true,
      allowNestedItemsToBePublic: false,
      crossTenantReplicationEnabled: false,
      infrastructureEncryptionEnabled: true,
      localUserEnabled: false,
      publicNetworkAccessEnabled: true,
      networkRules: { defaultAction: "Deny", bypass: ["AzureServices"] },
      blobProperties: { deleteRetentionPolicy: { days: production ? 30 : 7 }, containerDeleteRetentionPolicy: { days: production ? 30 : 7 } },
      tags: { purpose: "flow-logs" },
      lifecycle: { preventDestroy: production },
    });
    sendResourceLogs(this, "blob-logs", { targetResourceId: blobServiceId(this.account.id), workspaceId: workspace.id, categories: ["StorageRead", "StorageDelete"] });
    const watcher = networkWatcherOf(ctx.location);
    this.flowLog = new NetworkWatcherFlowLog(this, "vnet", {
      name: ctx.name("vnet-flow-log"),
      networkWatcherName: watcher.name,
      resourceGroupName: watcher.resourceGroupName,
      location: ctx.location,
      targetResourceId: network.vnet.id,
      storageAccountId: this.account.id,
      enabled: true,
      version: 2,
      retentionPolicy: { enabled: true, days: flowLogRetentionDays(ctx) },
      trafficAnalytics: {
        enabled: true,
        workspaceId: workspace.workspaceId,
        workspaceRegion: ctx.location,
        workspaceResourceId: workspace.id,
        intervalInMinutes: production ? 10 : 60,
      },
    });
  }
}
