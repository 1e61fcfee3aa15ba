import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { FLOW_LOG_TYPE, flowLogAccountName } from "../../constructs/azure/flow-logs";
import { AzureContext, resourceGroupNameOf } from "../../constructs/azure/context";
import { parseEnvironment } from "../../constructs/core/spec";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, ref, SUBSCRIPTION_ID } from "./fixtures";
import { flowLogProblems } from "./rules";

const staging = synthInfra(azureSpec());
const production = synthInfra(azureProductionSpec());

function flowLogOf(stack: SynthesizedStack): TfBlock {
  return stack.find("azapi_resource", "flow-logs_vnet");
}

/** The staging stack with its flow log (and the rest of its resources) edited, through the rules. */
function edited(edit: (log: TfBlock, resource: Record<string, Record<string, TfBlock>>) => void): string[] {
  const json = JSON.parse(staging.text);
  const logId = Object.keys(json.resource.azapi_resource).find((id) => id.includes("flow-logs_vnet")) as string;
  edit(json.resource.azapi_resource[logId], json.resource);
  return flowLogProblems(new SynthesizedStack(JSON.stringify(json)));
}

/** The one block whose logical id contains `fragment`. */
function byId(blocks: Record<string, TfBlock>, fragment: string): TfBlock {
  const found = Object.entries(blocks).find(([id]) => id.includes(fragment));
  if (!found) throw new Error(`no resource with ${fragment} in its id`);
  return found[1];
}

const props = (log: TfBlock) => (log.body as { properties: TfBlock }).properties;

describe("Azure VNet flow logs", () => {
  it("log every Azure environment's VNet in environments/, with traffic analytics into the cluster's workspace", () => {
    const azure = defaultEnvironments().filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) expect(flowLogProblems(new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env))))).toEqual([]);
  });

  it("go through the region's Network Watcher through ARM, kept the logs' retention, every 10 minutes in production", () => {
    expect(flowLogProblems(staging)).toEqual([]);
    expect(flowLogProblems(production)).toEqual([]);
    expect(flowLogOf(staging)).toMatchObject({
      type: FLOW_LOG_TYPE,
      name: "test-vnet-flow-log",
      parent_id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope`,
      location: "westeurope",
      body: {
        properties: {
          targetResourceId: expect.stringMatching(ref("azurerm_virtual_network", "id")),
          enabled: true,
          format: { type: "JSON", version: 2 },
          retentionPolicy: { enabled: true, days: 30 },
          flowAnalyticsConfiguration: {
            networkWatcherFlowAnalyticsConfiguration: { enabled: true, trafficAnalyticsInterval: 60, workspaceResourceId: expect.stringMatching(ref("azurerm_log_analytics_workspace", "id", "control-plane-logs")) },
          },
        },
      },
    });
    expect(props(flowLogOf(production)).flowAnalyticsConfiguration).toMatchObject({ networkWatcherFlowAnalyticsConfiguration: { trafficAnalyticsInterval: 10 } });
  });

  it("move the azurerm flow log earlier builds wrote instead of writing a second one", () => {
    const json = staging.json as { moved?: { from: string; to: string }[] };
    expect(json.moved).toContainEqual({ from: expect.stringMatching(/^azurerm_network_watcher_flow_log\..*flow-logs_vnet/), to: expect.stringMatching(/^azapi_resource\..*flow-logs_vnet/) });
  });

  it("write as their own user-assigned identity, the account's shared keys off", () => {
    const log = flowLogOf(staging);
    expect(log.identity).toEqual([{ type: "UserAssigned", identity_ids: [expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "flow-logs"))] }]);
    expect(staging.find("azurerm_user_assigned_identity", "flow-logs").name).toBe("test-flow-logs");
    expect(staging.find("azurerm_role_assignment", "flow-logs_blob-writer")).toMatchObject({
      role_definition_name: "Storage Blob Data Contributor",
      scope: expect.stringMatching(ref("azurerm_storage_account", "id", "flow-logs")),
      principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "flow-logs")),
    });
    expect(staging.find("azurerm_storage_account", "flow-logs").shared_access_key_enabled).toBe(false);
  });

  it("write to an account of their own that admits only trusted Azure services", () => {
    const account = staging.find("azurerm_storage_account", "flow-logs");
    expect(account).toMatchObject({ account_tier: "Standard", location: "westeurope", public_network_access_enabled: true, network_rules: { default_action: "Deny", bypass: ["AzureServices"] }, min_tls_version: "TLS1_2", infrastructure_encryption_enabled: true });
    expect(account.name).toBe(flowLogAccountName(new AzureContext(parseEnvironment(azureSpec()), resourceGroupNameOf(parseEnvironment(azureSpec())))));
    const longest = synthInfra({ ...azureSpec(), name: "abcdefgh-ijklmno" }).find("azurerm_storage_account", "flow-logs").name as string;
    expect(longest).toMatch(/^[a-z0-9]{3,24}$/);
  });

  it("the rules reject what ARM, azapi and Network Watcher refuse, and a VNet without flow log", () => {
    expect(edited((log) => (log.name = "-flow"))).toEqual([expect.stringContaining("is no flow log name")]);
    expect(edited((log) => (log.type = "Microsoft.Network/networkWatchers/flowLogs@2023-11-01"))).toEqual([expect.stringContaining("has no flow log identity")]);
    expect(edited((log) => delete props(log).storageId)).toEqual([expect.stringContaining("properties.storageId is required"), expect.stringContaining("not one of the stack")]);
    expect(edited((log) => (props(log).storageAccountId = props(log).storageId))).toEqual([expect.stringContaining("properties.storageAccountId is not a FlowLog property")]);
    expect(edited((log) => (props(log).targetResourceId = "${azurerm_network_security_group.x.id}"))).toEqual([expect.stringContaining("targets an NSG"), expect.stringContaining("has no enabled flow log")]);
    expect(edited((log) => (props(log).format = { type: "CSV", version: 2 }))).toEqual([expect.stringContaining("format CSV")]);
    expect(edited((log) => (props(log).format = { type: "JSON", version: 3 }))).toEqual([expect.stringContaining("version 3")]);
    expect(edited((log) => ((props(log).retentionPolicy as TfBlock).days = 400))).toEqual([expect.stringContaining("retention 400 days")]);
    expect(edited((log) => (((props(log).flowAnalyticsConfiguration as TfBlock).networkWatcherFlowAnalyticsConfiguration as TfBlock).trafficAnalyticsInterval = 30))).toEqual([expect.stringContaining("interval 30")]);
    expect(edited((log) => (log.parent_id = String(log.parent_id).replace("NetworkWatcher_westeurope", "watcher")))).toEqual([expect.stringContaining("is not the Network Watcher Azure creates")]);
    expect(edited((log) => (log.identity = [{ type: "Managed" }]))).toEqual([expect.stringContaining("identity type Managed"), expect.stringContaining("shared keys, which are off")]);
    expect(edited((log) => (log.identity = [{ type: "SystemAssigned" }]))).toEqual([expect.stringContaining("only as one user-assigned identity"), expect.stringContaining("shared keys, which are off")]);
    expect(edited((_log, r) => (byId(r.azurerm_role_assignment, "blob-writer").role_definition_name = "Storage Blob Data Reader"))).toEqual([
      expect.stringContaining("holds no Storage Blob Data Contributor on the account"),
    ]);
    expect(edited((log) => (log.depends_on = []))).toEqual([expect.stringContaining("before its identity's role on the account exists")]);
    expect(edited((_log, r) => (byId(r.azurerm_storage_account, "flow-logs").account_tier = "Premium"))).toEqual([expect.stringContaining("must be Standard")]);
    expect(edited((log) => (props(log).enabled = false))).toEqual([expect.stringContaining("has no enabled flow log")]);
  });
});
