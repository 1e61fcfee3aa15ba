import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { flowLogAccountName } from "../../constructs/azure/flow-logs";
import { AzureContext, resourceGroupNameOf } from "../../constructs/azure/context";
import { parseEnvironment } from "../../constructs/core/spec";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, ref } from "./fixtures";
import { flowLogProblems } from "./rules";

const staging = synthInfra(azureSpec());
const production = synthInfra(azureProductionSpec());

function edited(stack: SynthesizedStack, edit: (log: TfBlock, resource: Record<string, Record<string, TfBlock>>) => void): string[] {
  const json = JSON.parse(stack.text);
  const [logId] = Object.keys(json.resource.azurerm_network_watcher_flow_log);
  edit(json.resource.azurerm_network_watcher_flow_log[logId], json.resource);
  return flowLogProblems(new SynthesizedStack(JSON.stringify(json)));
}

describe("Azure VNet flow logs", () => {
  it("log every Azure environment's VNet in environments/, with traffic analytics into the cluster's workspace", () => {
    const azure = defaultEnvironments().filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) expect(flowLogProblems(new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env))))).toEqual([]);
  });

  it("go through the region's Network Watcher, kept the logs' retention, every 10 minutes in production", () => {
    expect(flowLogProblems(staging)).toEqual([]);
    expect(flowLogProblems(production)).toEqual([]);
    expect(staging.one("azurerm_network_watcher_flow_log")).toMatchObject({
      name: "test-vnet-flow-log",
      network_watcher_name: "NetworkWatcher_westeurope",
      resource_group_name: "NetworkWatcherRG",
      target_resource_id: expect.stringMatching(ref("azurerm_virtual_network", "id")),
      enabled: true,
      version: 2,
      retention_policy: { enabled: true, days: 30 },
      traffic_analytics: { enabled: true, interval_in_minutes: 60, workspace_resource_id: expect.stringMatching(ref("azurerm_log_analytics_workspace", "id", "control-plane-logs")) },
    });
    expect((production.one("azurerm_network_watcher_flow_log").traffic_analytics as TfBlock).interval_in_minutes).toBe(10);
  });

  it("write to an account of their own that admits only trusted Azure services", () => {
    const account = staging.find("azurerm_storage_account", "flow-logs");
    expect(account).toMatchObject({ account_tier: "Standard", location: "westeurope", public_network_access_enabled: true, network_rules: { default_action: "Deny", bypass: ["AzureServices"] }, min_tls_version: "TLS1_2", infrastructure_encryption_enabled: true });
    expect(account.name).toBe(flowLogAccountName(new AzureContext(parseEnvironment(azureSpec()), resourceGroupNameOf(parseEnvironment(azureSpec())))));
    const longest = synthInfra({ ...azureSpec(), name: "abcdefgh-ijklmno" }).find("azurerm_storage_account", "flow-logs").name as string;
    expect(longest).toMatch(/^[a-z0-9]{3,24}$/);
  });

  it("the rules reject what azurerm and Azure refuse, and a VNet without flow log", () => {
    expect(edited(staging, (log) => (log.name = "-flow"))).toEqual([expect.stringContaining("is no flow log name")]);
    expect(edited(staging, (log) => (log.target_resource_id = "${azurerm_network_security_group.x.id}"))).toEqual([expect.stringContaining("targets an NSG"), expect.stringContaining("has no enabled flow log")]);
    expect(edited(staging, (log) => ((log.retention_policy as TfBlock).days = 400))).toEqual([expect.stringContaining("retention 400 days")]);
    expect(edited(staging, (log) => ((log.traffic_analytics as TfBlock).interval_in_minutes = 30))).toEqual([expect.stringContaining("interval 30")]);
    expect(edited(staging, (log) => (log.network_watcher_name = "watcher"))).toEqual([expect.stringContaining("is not the one Azure creates")]);
    expect(edited(staging, (_log, r) => (Object.values(r.azurerm_storage_account).find((a) => a.name === staging.find("azurerm_storage_account", "flow-logs").name) as TfBlock).account_tier = "Premium")).toEqual([expect.stringContaining("must be Standard")]);
    expect(edited(staging, (log) => (log.enabled = false))).toEqual([expect.stringContaining("has no enabled flow log")]);
  });
});
