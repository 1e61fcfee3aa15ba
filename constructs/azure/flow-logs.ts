import { Construct } from "constructs";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { platformTags } from "../core/tags";
import { AzapiResource, type AzapiProvider } from "./azapi";
import type { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { AZURE_ROLES, type AzureContext } from "./context";
import { storageAccountPosture } from "./bucket";
import { blobServiceId, sendResourceLogs } from "./diagnostics";
import type { AzureNetwork } from "./network";
import type { AzureStorageEncryption } from "./encryption";

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

/**
 * The ARM type the flow log is written with. 2024-05-01 is the first GA api-version whose
 * FlowLog has `identity`, a ManagedServiceIdentity (read in azapi v2.12.0's embedded schema,
 * internal/azure/generated/network/microsoft.network/2024-05-01/types.json, which azapi validates
 * bodies against and which is generated from Azure/azure-rest-api-specs specification/network/
 * resource-manager/Microsoft.Network/stable/2024-05-01/networkWatcher.json). The first api-version
 * whose FlowLog has `identity` there is 2024-01-01 (`FLOW_LOG_SCHEMA.firstIdentityApiVersion`).
 */
export const FLOW_LOG_TYPE = "Microsoft.Network/networkWatchers/flowLogs@2024-05-01";

/**
 * What ARM and azapi v2.12.0 accept for the flow log's body (types.json above, `FlowLogPropertiesFormat`:
 * flags 1 = required), and what Network Watcher documents for the values (Microsoft, "Virtual network
 * flow logs" and "Traffic analytics": format version 1 or 2, retention 0 to 365 days, analytics every
 * 10 or 60 minutes). Data derived from the source, for the tests.
 */
export const FLOW_LOG_SCHEMA = {
  requiredProperties: ["targetResourceId", "storageId"],
  properties: ["targetResourceId", "storageId", "enabledFilteringCriteria", "enabled", "retentionPolicy", "format", "flowAnalyticsConfiguration"],
  formatTypes: ["JSON"],
  formatVersions: [1, 2],
  identityTypes: ["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"],
  trafficAnalyticsIntervals: [10, 60],
  maxRetentionDays: 365,
  /** The oldest api-version of azapi v2.12.0's schemas whose FlowLog has `identity` (2023-11-01 and older have none). */
  firstIdentityApiVersion: "2024-01-01",
} as const;

export interface AzureFlowLogsProps {
  readonly ctx: AzureContext;
  readonly network: AzureNetwork;
  readonly workspace: LogAnalyticsWorkspace;
  /** Writes the flow log through ARM (azurerm 4.55.0's flow log has no `identity`). */
  readonly azapi: AzapiProvider;
  /** Encrypts the account with the environment's storage key (customer-managed, rotating). */
  readonly encryption: AzureStorageEncryption;
}

/**
 * VNet flow logs of the environment's VNet (every subnet, every NSG verdict), through the
 * region's Network Watcher (`networkWatcherOf`):
 * - written through ARM (`FLOW_LOG_TYPE`, azapi): the VNet as target (Azure creates no new NSG flow
 *   logs since 30 June 2025), format JSON version 2, kept `flowLogRetentionDays` in the storage
 *   account; moved from the `azurerm_network_watcher_flow_log` earlier builds wrote (its id is the
 *   ARM id, which azapi v2.12.0 takes as is: internal/services/parse/azurerm_resource_id.go
 *   `AzurermIdToAzureId` falls through for this type);
 * - Network Watcher writes as a user-assigned identity of its own (`<env>-flow-logs`) holding
 *   "Storage Blob Data Contributor" on that account alone (Microsoft, "Managed identity for virtual
 *   network flow logs": user-assigned identities only, that role on the account), so the account's
 *   shared keys are off like the data account's;
 * - traffic analytics into the environment's Log Analytics workspace every 10 minutes in
 *   production, every 60 elsewhere;
 * - a storage account of their own (`flowLogAccountName`): StorageV2 Standard (Network Watcher
 *   takes no Premium account), in the VNet's region (required), ZRS (GZRS in production), TLS 1.2, HTTPS only, no
 *   public blob access, no shared keys, infrastructure encryption under a customer-managed key
 *   (`AzureStorageEncryption`); public network access only "from selected networks" with none
 *   selected and Azure's trusted services let through (Network Watcher writes as one; a disabled
 *   public endpoint would shut it out too). Blob soft delete like the data account, its readers
 *   and deleters logged (StorageRead, StorageDelete, not Network Watcher's own writes); nothing of
 *   the platform reads the account; `prevent_destroy` in production.
 */
export class AzureFlowLogs extends Construct {
  readonly account: StorageAccount;
  readonly identity: UserAssignedIdentity;
  readonly flowLog: AzapiResource;

  constructor(scope: Construct, id: string, props: AzureFlowLogsProps) {
    super(scope, id);
    const { ctx, network, workspace } = props;
    const production = ctx.env.production;
    this.account = new StorageAccount(this, "storage", {
      ...storageAccountPosture(ctx),
      name: flowLogAccountName(ctx),
      // "From selected networks" with none selected: Network Watcher writes as a trusted service.
      publicNetworkAccessEnabled: true,
      tags: { purpose: "flow-logs" },
    });
    props.encryption.encrypt(this, "encryption", this.account);
    sendResourceLogs(this, "blob-logs", { targetResourceId: blobServiceId(this.account.id), workspaceId: workspace.id, categories: ["StorageRead", "StorageDelete"] });

    this.identity = new UserAssignedIdentity(this, "identity", {
      name: ctx.name("flow-logs"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
    });
    const writer = new RoleAssignment(this, "blob-writer", {
      scope: this.account.id,
      roleDefinitionName: AZURE_ROLES.blobDataContributor,
      principalId: this.identity.principalId,
      principalType: "ServicePrincipal",
      description: `${ctx.env.name}: Network Watcher writes the VNet flow logs`,
    });

    const watcher = networkWatcherOf(ctx.location);
    this.flowLog = new AzapiResource(this, "vnet", {
      provider: props.azapi,
      type: FLOW_LOG_TYPE,
      name: ctx.name("vnet-flow-log"),
      parentId: `/subscriptions/${ctx.subscriptionId}/resourceGroups/${watcher.resourceGroupName}/providers/Microsoft.Network/networkWatchers/${watcher.name}`,
      location: ctx.location,
      userAssignedIdentityIds: [this.identity.id],
      body: {
        properties: {
          targetResourceId: network.vnet.id,
          storageId: this.account.id,
          enabled: true,
          format: { type: "JSON", version: 2 },
          retentionPolicy: { enabled: true, days: flowLogRetentionDays(ctx) },
          flowAnalyticsConfiguration: {
            networkWatcherFlowAnalyticsConfiguration: {
              enabled: true,
              workspaceId: workspace.workspaceId,
              workspaceRegion: ctx.location,
              workspaceResourceId: workspace.id,
              trafficAnalyticsInterval: production ? 10 : 60,
            },
          },
        },
      },
      tags: platformTags(ctx.env),
      // Network Watcher checks its access to the account when the flow log is written.
      dependsOn: [writer],
    });
    this.flowLog.moveFromId(`azurerm_network_watcher_flow_log.${this.flowLog.friendlyUniqueId}`);
  }
}
