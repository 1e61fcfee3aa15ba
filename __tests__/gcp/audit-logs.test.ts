/**
 * Audit and flow logs on GCP, read from real synthesized infra stacks (every GCP environment of
 * `environments/` and a production spec), each rule with a case it must refuse.
 */
import { describe, expect, it } from "vitest";
import { environments } from "../../environments";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { specChecks } from "../../stacks/app";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec } from "./fixtures";

/** Log types Cloud Audit Logs accepts (google v6.50.0 google/tpgiamresource/resource_iam_audit_config.go, `log_type`). */
const LOG_TYPES = ["DATA_READ", "DATA_WRITE", "ADMIN_READ"];
/** The services whose data-plane reads must be audited: secrets and keys (who read or used which). */
const MUST_LOG_READS = ["secretmanager.googleapis.com", "cloudkms.googleapis.com"];
const MUST_LOG_ANY = ["sqladmin.googleapis.com", "storage.googleapis.com"];

function auditProblems(stack: SynthesizedStack, retentionDays: number): string[] {
  const problems: string[] = [];
  const configs = stack.all("google_project_iam_audit_config");
  for (const service of [...MUST_LOG_READS, ...MUST_LOG_ANY]) {
    const config = configs.find((c) => c.service === service);
    const types = ((config?.audit_log_config as TfBlock[] | undefined) ?? []).map((c) => String(c.log_type));
    if (!config) problems.push(`no Data Access audit logs for ${service}`);
    for (const type of types) if (!LOG_TYPES.includes(type)) problems.push(`${service}: log type ${type} is not one of ${LOG_TYPES.join(", ")}`);
    if (MUST_LOG_READS.includes(service) && !types.includes("DATA_READ")) problems.push(`${service}: reads are not logged (DATA_READ)`);
  }
  const sink = Object.values(stack.resources("google_logging_project_sink")).find((s) => String(s.filter).includes("data_access"));
  if (!sink) return [...problems, "no sink keeps the Data Access audit logs"];
  if (!String(sink.filter).includes('log_id("compute.googleapis.com/vpc_flows")')) problems.push("the VPC flow logs are not kept");
  const bucketRef = /\$\{google_logging_project_bucket_config\.([^.]+)\.id\}/.exec(String(sink.destination));
  const bucket = bucketRef ? stack.resources("google_logging_project_bucket_config")[bucketRef[1]] : undefined;
  if (bucket?.retention_days !== retentionDays) problems.push(`the audit log bucket keeps ${String(bucket?.retention_days)} days, not cluster.logRetentionDays (${retentionDays})`);
  const subnet = stack.one("google_compute_subnetwork");
  const flows = subnet.log_config as TfBlock | undefined;
  if (!flows || flows.flow_sampling !== 1 || flows.aggregation_interval !== "INTERVAL_1_MIN") problems.push("the node subnet's flow logs do not sample every flow each minute");
  return problems;
}

const stacks: [string, EnvironmentInput][] = [...environments.filter((env) => env.cloud === "gcp").map((env) => [env.name, env] as [string, EnvironmentInput]), ["production spec", gcpProductionSpec()]];

describe("GCP audit and flow logs", () => {
  it.each(stacks)("%s: Data Access audit logs for secrets, keys, Cloud SQL and Cloud Storage, kept with the flow logs for the spec's retention", (_, input) => {
    expect(auditProblems(synthInfra(input), parseEnvironment(input, specChecks).cluster.logRetentionDays)).toEqual([]);
  });

  it("the check refuses a missing service, an invalid log type, unlogged secret reads, a short retention, no flow logs", () => {
    const input = gcpProductionSpec();
    const base = synthInfra(input);
    const days = parseEnvironment(input, specChecks).cluster.logRetentionDays;
    const variant = (change: (r: Record<string, Record<string, TfBlock>>) => void) => {
      const copy = structuredClone(base.json);
      change(copy.resource ?? {});
      return auditProblems(new SynthesizedStack(JSON.stringify(copy)), days);
    };
    const config = (r: Record<string, Record<string, TfBlock>>, service: string) => Object.values(r.google_project_iam_audit_config ?? {}).find((c) => c.service === service) as TfBlock;
    expect(variant((r) => (config(r, "storage.googleapis.com").service = "compute.googleapis.com"))).toEqual(["no Data Access audit logs for storage.googleapis.com"]);
    expect(variant((r) => (config(r, "secretmanager.googleapis.com").audit_log_config = [{ log_type: "ADMIN_WRITE" }]))).toEqual([
      "secretmanager.googleapis.com: log type ADMIN_WRITE is not one of DATA_READ, DATA_WRITE, ADMIN_READ",
      "secretmanager.googleapis.com: reads are not logged (DATA_READ)",
    ]);
    expect(variant((r) => {
      for (const bucket of Object.values(r.google_logging_project_bucket_config ?? {})) bucket.retention_days = 30;
    })).toEqual([expect.stringContaining("keeps 30 days")]);
    expect(variant((r) => {
      for (const subnet of Object.values(r.google_compute_subnetwork ?? {})) delete subnet.log_config;
    })).toEqual(["the node subnet's flow logs do not sample every flow each minute"]);
  });
});
