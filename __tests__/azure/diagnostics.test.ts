import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { RESOURCE_LOG_CATEGORIES } from "../../constructs/azure/diagnostics";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec } from "./fixtures";
import { diagnosticProblems } from "./rules";

const production = synthInfra({ ...azureProductionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, readReplicas: 1 }] });

/** A copy of the stack with its resources edited. */
function edited(stack: SynthesizedStack, edit: (resource: Record<string, Record<string, TfBlock>>) => void): SynthesizedStack {
  const json = JSON.parse(stack.text);
  edit(json.resource);
  return new SynthesizedStack(JSON.stringify(json));
}
const settingId = (stack: SynthesizedStack, fragment: string) => Object.keys(stack.resources("azurerm_monitor_diagnostic_setting")).find((id) => id.includes(fragment)) as string;

describe("Azure diagnostic settings", () => {
  it("every key vault, blob service and PostgreSQL server of every Azure environment in environments/ logs to the cluster's workspace", () => {
    const azure = defaultEnvironments().filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) {
      const stack = new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env)));
      expect(diagnosticProblems(stack)).toEqual([]);
      expect(stack.all("azurerm_log_analytics_workspace").find((w) => String(w.name).endsWith("-cluster-logs"))?.retention_in_days).toBe(env.cluster.logRetentionDays);
    }
  });

  it("covers the replicas too, with the categories Azure publishes for each type", () => {
    expect(diagnosticProblems(production)).toEqual([]);
    const categories = (fragment: string) => (production.resources("azurerm_monitor_diagnostic_setting")[settingId(production, fragment)].enabled_log as TfBlock[]).map((log) => log.category);
    expect(categories("key-vault_audit-logs")).toEqual([...RESOURCE_LOG_CATEGORIES.keyVault]);
    expect(categories("storage_blob-logs")).toEqual([...RESOURCE_LOG_CATEGORIES.blobService]);
    expect(categories("database-main_logs")).toEqual([...RESOURCE_LOG_CATEGORIES.postgresServer]);
    expect(categories("database-main_replica-1-logs")).toEqual([...RESOURCE_LOG_CATEGORIES.postgresServer]);
    expect(production.resources("azurerm_monitor_diagnostic_setting")[settingId(production, "storage_blob-logs")].target_resource_id).toMatch(/^\$\{azurerm_storage_account\.[^.]+\.id\}\/blobServices\/default$/);
  });

  it("the rules reject a missing setting, an unpublished category and what azurerm refuses", () => {
    const without = (fragment: string) => diagnosticProblems(edited(production, (r) => delete r.azurerm_monitor_diagnostic_setting[settingId(production, fragment)]));
    expect(without("key-vault_audit-logs")).toEqual([expect.stringContaining("sends no audit log")]);
    expect(without("storage_blob-logs")).toEqual([expect.stringContaining("sends no blob request log")]);
    expect(without("replica-1-logs")).toEqual([expect.stringContaining("PostgreSQL server")]);
    const setting = (edit: (s: TfBlock) => void) => diagnosticProblems(edited(production, (r) => edit(r.azurerm_monitor_diagnostic_setting[settingId(production, "key-vault_audit-logs")])));
    expect(setting((s) => (s.enabled_log = [{ category: "StorageRead" }]))).toEqual([expect.stringContaining("StorageRead is no log category of azurerm_key_vault")]);
    expect(setting((s) => (s.enabled_log = [{ category: "AuditEvent", category_group: "audit" }]))).toEqual([expect.stringContaining("exactly one of category and category_group")]);
    expect(setting((s) => (s.name = "logs/audit"))).toEqual([expect.stringContaining("none of")]);
    expect(setting((s) => delete s.log_analytics_workspace_id)).toEqual([expect.stringContaining("no destination"), expect.stringContaining("sends no audit log")]);
  });
});
