import { Construct } from "constructs";
import { LoggingProjectBucketConfig } from "@cdktf/provider-google/lib/logging-project-bucket-config";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { ProjectIamAuditConfig } from "@cdktf/provider-google/lib/project-iam-audit-config";
import type { GcpContext } from "./context";

/**
 * The Data Access audit logs the environment turns on, per service (Cloud Audit Logs docs, "Data
 * Access audit logs": off by default except BigQuery; `ADMIN_READ` reads of configuration,
 * `DATA_READ` reads of user data, `DATA_WRITE` writes of it). Secret Manager and Cloud KMS log
 * every read (who read which secret, who used which key); Cloud SQL logs its Admin API reads and
 * writes (queries are in the instance's own logs); Cloud Storage logs configuration reads and
 * object writes, not every object read (Airflow and Airbyte read objects all day).
 * Admin Activity audit logs (every configuration change) need no setting: they are always on,
 * kept 400 days in the `_Required` bucket.
 */
export const DATA_ACCESS_AUDIT_LOGS: Readonly<Record<string, readonly ("ADMIN_READ" | "DATA_READ" | "DATA_WRITE")[]>> = {
  "secretmanager.googleapis.com": ["ADMIN_READ", "DATA_READ", "DATA_WRITE"],
  "cloudkms.googleapis.com": ["ADMIN_READ", "DATA_READ", "DATA_WRITE"],
  "sqladmin.googleapis.com": ["ADMIN_READ", "DATA_READ", "DATA_WRITE"],
  "storage.googleapis.com": ["ADMIN_READ", "DATA_WRITE"],
};

/**
 * Data Access audit logs for the services that hold the environment's data and secrets, and a
 * log bucket that keeps them and the VPC flow logs `cluster.logRetentionDays` (Cloud Logging's
 * `_Default` bucket keeps 30 days). `google_project_iam_audit_config` edits the project's IAM
 * policy (its `auditConfigs`), so the applier needs `resourcemanager.projects.setIamPolicy`: the
 * Terraform Cloud run account holds it only under a condition on `modifiedGrantsByRole`, which an
 * audit-config change leaves empty (it changes no grant), so the condition admits it.
 * `services` narrows the audit configs to the services a stack uses (all by default).
 */
export class GcpAuditLogs extends Construct {
  constructor(scope: Construct, id: string, ctx: GcpContext, services: readonly string[] = Object.keys(DATA_ACCESS_AUDIT_LOGS)) {
    super(scope, id);
    for (const [service, types] of Object.entries(DATA_ACCESS_AUDIT_LOGS).filter(([name]) => services.includes(name))) {
      new ProjectIamAuditConfig(this, service.split(".")[0], {
        project: ctx.projectId,
        service,
        auditLogConfig: types.map((logType) => ({ logType })),
        dependsOn: ctx.apis.needed("resourceManager"),
      });
    }
    const bucket = new LoggingProjectBucketConfig(this, "bucket", {
      project: ctx.projectId,
      location: ctx.region,
      bucketId: ctx.name("audit-and-flows"),
      description: `${ctx.env.name}: Data Access audit logs and VPC flow logs`,
      retentionDays: ctx.env.cluster.logRetentionDays,
      dependsOn: ctx.apis.needed("logging"),
    });
    // A sink into a log bucket of the same project needs no IAM grant for its writer identity.
    new LoggingProjectSink(this, "sink", {
      project: ctx.projectId,
      name: ctx.name("audit-and-flows"),
      description: `${ctx.env.name}: keeps Data Access audit logs and VPC flow logs for cluster.logRetentionDays`,
      destination: `logging.googleapis.com/${bucket.id}`,
      filter: `log_id("cloudaudit.googleapis.com/data_access") OR log_id("compute.googleapis.com/vpc_flows")`,
      uniqueWriterIdentity: true,
    });
  }
}
