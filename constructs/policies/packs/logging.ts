import { asList, at, companions, expectValue, expectValues, resourcesOf, references, type Block, type PolicyContext, type Rule } from "../types";

/** The shortest retention the README promises anywhere (control-plane logs outside production). */
const MIN_RETENTION_DAYS = 30;

const retention = (value: unknown, path: string) =>
  typeof value === "number" && value >= MIN_RETENTION_DAYS ? [] : [`${path} is ${value === undefined ? "not set" : String(value)}, needs at least ${MIN_RETENTION_DAYS} days${value === 0 || value === undefined ? " and a limit" : ""}`];

/** Who did what, kept long enough to look. */
/**
 * What each Azure resource type must send to Log Analytics, and the sub-resource that publishes
 * it (Microsoft Learn, Azure Monitor "Supported logs" per type): a key vault's AuditEvent (every
 * request, who and from where); a storage account's blob service (`<account>/blobServices/default`,
 * the account itself publishes no blob request logs) StorageRead and StorageDelete (who read and
 * who deleted; writes too on data buckets, not required of the flow-log account Network Watcher
 * writes to all day); a PostgreSQL flexible server's PostgreSQLLogs (the server log: connections,
 * errors, slow statements), replicas included (each is a server of its own).
 */
const DIAGNOSTIC_LOGS = [
  { type: "azurerm_key_vault", target: "", categories: ["AuditEvent"] },
  { type: "azurerm_storage_account", target: "/blobServices/default", categories: ["StorageRead", "StorageDelete"] },
  { type: "azurerm_postgresql_flexible_server", target: "", categories: ["PostgreSQLLogs"] },
] as const;

/**
 * Whether a CloudTrail advanced event selector has `field` with `equals` exactly `values`
 * (CloudTrail API Reference, AdvancedFieldSelector: Field, Equals, StartsWith, NotEquals, ...).
 */
const selectorField = (selector: unknown, field: string) => asList(at(selector, "field_selector")).find((f) => at(f, "field") === field);
const selects = (selector: unknown, field: string, value: string) => asList(at(selectorField(selector, field), "equals")).includes(value);

/**
 * What a trail misses of the README's promise (AWS defaults, CloudTrail): every region's
 * management events, reads and writes (an advanced selector on eventCategory Management with no
 * readOnly filter, or a basic event selector including management events for All), a signed
 * digest per hour (log file validation), files encrypted with a KMS key.
 */
function trailProblems(trail: Block): string[] {
  const advanced = asList(trail.advanced_event_selector);
  const basic = asList(trail.event_selector);
  const management =
    // Any other field selector (readOnly, eventSource NotEquals kms.amazonaws.com...) narrows the
    // management events recorded; so does a basic selector's exclude_management_event_sources
    // (hashicorp/aws 5.100.0 aws_cloudtrail event_selector).
    advanced.some((s) => selects(s, "eventCategory", "Management") && asList(at(s, "field_selector")).every((f) => at(f, "field") === "eventCategory")) ||
    (advanced.length === 0 && (basic.length === 0 || basic.some((s) => at(s, "include_management_events") !== false && (at(s, "read_write_type") ?? "All") === "All" && asList(at(s, "exclude_management_event_sources")).length === 0)));
  return [
    ...expectValues(trail, { enable_log_file_validation: true, is_multi_region_trail: true }),
    ...(trail.kms_key_id === undefined ? ["kms_key_id is not set (files only SSE-S3 encrypted)"] : []),
    ...(trail.enable_logging === false ? ["enable_logging is false"] : []),
    ...(trail.include_global_service_events === false ? ["include_global_service_events is false (IAM and STS calls are missed)"] : []),
    ...(management ? [] : ["no event selector records every management event (reads and writes)"]),
  ];
}

/** Whether a trail records the object reads and writes of the bucket `aws_s3_bucket.<id>` (all of S3's, or those under the bucket's ARN). */
function trailLogsObjects(trail: Block, id: string): boolean {
  const advanced = asList(trail.advanced_event_selector).some((s) => {
    if (!selects(s, "eventCategory", "Data") || !selects(s, "resources.type", "AWS::S3::Object") || selectorField(s, "readOnly") !== undefined) return false;
    const arns = selectorField(s, "resources.ARN");
    return arns === undefined || [...asList(at(arns, "starts_with")), ...asList(at(arns, "equals"))].some((arn) => references(arn, "aws_s3_bucket", id));
  });
  const basic = asList(trail.event_selector).some(
    (s) => (at(s, "read_write_type") ?? "All") === "All" && asList(at(s, "data_resource")).some((r) => at(r, "type") === "AWS::S3::Object" && asList(at(r, "values")).some((v) => v === "arn:aws:s3" || references(v, "aws_s3_bucket", id))),
  );
  return advanced || basic;
}

/**
 * The Data Access audit logs the README promises on GCP (GCP defaults, audit and flow logs), by
 * the resource type whose access they record (Cloud Audit Logs docs, "Data Access audit logs": off
 * by default except BigQuery; ADMIN_READ reads configuration, DATA_READ reads user data,
 * DATA_WRITE writes it): who read which secret, who used which key (Encrypt and Decrypt are
 * DATA_READ in Cloud KMS's audit logging page), Cloud SQL's Admin API reads and writes, Cloud
 * Storage's configuration reads and object writes.
 */
const GCP_DATA_ACCESS: readonly { readonly type: string; readonly service: string; readonly logTypes: readonly string[] }[] = [
  { type: "google_secret_manager_secret", service: "secretmanager.googleapis.com", logTypes: ["DATA_READ"] },
  { type: "google_kms_crypto_key", service: "cloudkms.googleapis.com", logTypes: ["DATA_READ"] },
  { type: "google_sql_database_instance", service: "sqladmin.googleapis.com", logTypes: ["ADMIN_READ", "DATA_READ", "DATA_WRITE"] },
  { type: "google_storage_bucket", service: "storage.googleapis.com", logTypes: ["ADMIN_READ", "DATA_WRITE"] },
];

/** The log types the project's audit configs turn on for `service` (its own config or allServices) for everyone: a type with exempted members does not count. */
function auditedLogTypes(ctx: PolicyContext, service: string): Set<string> {
  return new Set(
    resourcesOf(ctx.stack, "google_project_iam_audit_config")
      .filter(([, config]) => config.service === service || config.service === "allServices")
      .flatMap(([, config]) => asList(config.audit_log_config).filter((log) => asList(at(log, "exempted_members")).length === 0).map((log) => String(at(log, "log_type")))),
  );
}

export const LOGGING: readonly Rule[] = [
  {
    id: "flow-logs",
    pack: "logging",
    title: "Network flows are logged",
    fix: "log all flows of the network (VPC flow logs to the encrypted log group; subnet log_config on GCP; VNet flow logs on Azure)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_vpc"],
        check: (_vpc, ctx, id) => (companions(ctx, "aws_flow_log", "vpc_id", "aws_vpc", id).some((log) => log.traffic_type === "ALL") ? [] : ["no aws_flow_log with traffic_type ALL for this VPC"]),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_compute_subnetwork"],
        check: (subnet) => (subnet.log_config === undefined ? ["log_config is not set"] : Number(at(subnet, "log_config.flow_sampling") ?? 0.5) > 0 ? [] : ["log_config.flow_sampling is 0"]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_virtual_network"],
        // The flow log is an azapi resource (Microsoft.Network/networkWatchers/flowLogs, constructs/azure/flow-logs.ts).
        check: (_vnet, ctx, id) =>
          resourcesOf(ctx.stack, "azapi_resource").some(
            ([, log]) => String(log.type).startsWith("Microsoft.Network/networkWatchers/flowLogs@") && references(at(log, "body.properties.targetResourceId"), "azurerm_virtual_network", id) && at(log, "body.properties.enabled") === true,
          )
            ? []
            : ["no enabled VNet flow log (Microsoft.Network/networkWatchers/flowLogs) targets this network"],
      },
    ],
  },
  {
    id: "control-plane-logs",
    pack: "logging",
    title: "The Kubernetes API server and audit logs are kept",
    fix: "send the API server and audit logs to the environment's log store",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_eks_cluster"],
        check: (cluster) => {
          const types = asList(cluster.enabled_cluster_log_types);
          return ["api", "audit", "authenticator"].filter((t) => !types.includes(t)).map((t) => `enabled_cluster_log_types lacks ${t}`);
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster"],
        check: (_cluster, ctx, id) => {
          const categories = companions(ctx, "azurerm_monitor_diagnostic_setting", "target_resource_id", "azurerm_kubernetes_cluster", id).flatMap((setting) => asList(setting.enabled_log).map((log) => at(log, "category")));
          return [["kube-apiserver"], ["kube-audit", "kube-audit-admin"]].filter((any) => !any.some((c) => categories.includes(c))).map((any) => `no diagnostic setting sends ${any.join(" or ")}`);
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => (asList(at(cluster, "logging_config.enable_components")).includes("APISERVER") ? [] : ["logging_config.enable_components lacks APISERVER"]),
      },
    ],
  },
  {
    id: "log-retention",
    pack: "logging",
    title: `Logs are kept at least ${MIN_RETENTION_DAYS} days, and not forever`,
    fix: `set the log store's retention (cluster.logRetentionDays) to ${MIN_RETENTION_DAYS} days or more`,
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_cloudwatch_log_group"], check: (group) => retention(group.retention_in_days, "retention_in_days") },
      { cloud: "azure", kind: "infra", types: ["azurerm_log_analytics_workspace"], check: (workspace) => retention(workspace.retention_in_days, "retention_in_days") },
      { cloud: "gcp", kind: "infra", types: ["google_logging_project_bucket_config"], check: (bucket) => retention(bucket.retention_days, "retention_days") },
    ],
  },
  {
    id: "database-logs",
    pack: "logging",
    title: "Databases log connections and slow statements",
    fix: "set log_connections and log_min_duration_statement in the database's parameters",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_parameter_group"],
        check: (group) => {
          const names = asList(group.parameter).map((p) => at(p, "name"));
          return ["log_connections", "log_min_duration_statement"].filter((n) => !names.includes(n)).map((n) => `parameter ${n} is not set`);
        },
      },
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        check: (db) => (asList(db.enabled_cloudwatch_logs_exports).includes("postgresql") ? [] : ["enabled_cloudwatch_logs_exports lacks postgresql"]),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        check: (db) => {
          const flags = asList(at(db, "settings.database_flags")).map((f) => at(f, "name"));
          return ["log_connections", "log_min_duration_statement"].filter((n) => !flags.includes(n)).map((n) => `database flag ${n} is not set`);
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        // -1 (PostgreSQL's default) turns the slow-statement log off (PostgreSQL 16 docs,
        // runtime-config-logging: log_min_duration_statement), so the value must be a duration >= 0.
        check: (_db, ctx, id) => {
          const setting = companions(ctx, "azurerm_postgresql_flexible_server_configuration", "server_id", "azurerm_postgresql_flexible_server", id).find((c) => c.name === "log_min_duration_statement");
          if (setting === undefined) return ["no log_min_duration_statement configuration"];
          return /^\d+$/.test(String(setting.value)) ? [] : [`log_min_duration_statement is ${String(setting.value)}, needs a duration of 0 ms or more (-1 logs nothing)`];
        },
      },
    ],
  },
  {
    id: "database-log-group-managed",
    pack: "logging",
    title: "Database log exports land in a log group the stack manages (encrypted, with retention)",
    fix: "create /aws/rds/instance/<identifier>/<log> log groups with the logs key and retention before the instance",
    elsewhere: {
      azure: "PostgreSQL logs go through diagnostic settings (diagnostic-settings)",
      gcp: "Cloud SQL logs go to Cloud Logging, kept by its buckets",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        // The instance depends on its groups: otherwise RDS may export (and create the group) first,
        // and CloudWatch Logs then refuses the stack's CreateLogGroup (ResourceAlreadyExistsException).
        check: (db, ctx) => {
          const groups = resourcesOf(ctx.stack, "aws_cloudwatch_log_group");
          const dependsOn = asList(db.depends_on).map(String);
          return asList(db.enabled_cloudwatch_logs_exports).flatMap((log) => {
            const group = groups.find(([, block]) => block.name === `/aws/rds/instance/${String(db.identifier)}/${String(log)}`);
            if (group === undefined) return [`no managed log group for the ${String(log)} export (RDS creates one unencrypted, kept forever)`];
            return dependsOn.includes(`aws_cloudwatch_log_group.${group[0]}`) ? [] : [`the instance does not depend on the log group of the ${String(log)} export (RDS may create it first)`];
          });
        },
      },
    ],
  },
  {
    id: "diagnostic-settings",
    pack: "logging",
    title: "Key Vault, blob storage and PostgreSQL send their audit and server logs to Log Analytics",
    fix: "add an azurerm_monitor_diagnostic_setting for the resource to the environment's Log Analytics workspace",
    elsewhere: {
      aws: "CloudTrail records API calls and S3 object access (audit-logs); services log to CloudWatch through their own settings (control-plane-logs, database-logs)",
      gcp: "Data Access audit logs record secret, key, database and bucket access (audit-logs); Admin Activity audit logs are always on",
    },
    checks: DIAGNOSTIC_LOGS.map(({ type, target, categories }) => ({
      cloud: "azure" as const,
      kind: "infra" as const,
      types: [type],
      check: (_resource: Block, ctx: PolicyContext, id: string) => {
        const wanted = `\${${type}.${id}.id}${target}`;
        const settings = resourcesOf(ctx.stack, "azurerm_monitor_diagnostic_setting").filter(([, setting]) => setting.target_resource_id === wanted);
        if (settings.length === 0) return [`no diagnostic setting targets ${wanted}`];
        const shipped = new Set(settings.filter(([, setting]) => setting.log_analytics_workspace_id !== undefined).flatMap(([, setting]) => asList(setting.enabled_log).map((log) => String(at(log, "category")))));
        const missing = categories.filter((category) => !shipped.has(category));
        return missing.length === 0 ? [] : [`no diagnostic setting sends ${missing.join(", ")} of ${wanted} to a Log Analytics workspace`];
      },
    })),
  },
  {
    id: "nat-logs",
    pack: "logging",
    title: "NAT errors are logged",
    fix: "set log_config { enable = true } on the Cloud NAT",
    // AWS NAT gateways and Azure NAT gateways are covered by the VPC/VNet flow logs.
    elsewhere: {
      aws: "NAT gateway traffic is in the VPC flow logs (flow-logs)",
      azure: "NAT gateway traffic is in the VNet flow logs (flow-logs)",
    },
    checks: [{ cloud: "gcp", kind: "infra", types: ["google_compute_router_nat"], check: (nat) => expectValue(nat, "log_config.enable", true) }],
  },
  {
    id: "audit-logs",
    pack: "logging",
    title: "Who called which API, and who read which secret, key or object, is recorded",
    fix: "keep the environment's CloudTrail trail (multi-region, log file validation, the logs key, the S3 data events of every bucket) or set accounts.aws.organizationTrail when an organization trail records the account; on GCP, google_project_iam_audit_config for the service with the log types the README lists, no exempted members",
    elsewhere: {
      azure: "the Activity Log records every management call, always on; data-plane reads are in the diagnostic settings (diagnostic-settings)",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_vpc"],
        check: (_vpc, ctx) => (ctx.env?.accounts.aws?.organizationTrail === true || resourcesOf(ctx.stack, "aws_cloudtrail").length > 0 ? [] : ["no aws_cloudtrail records this environment's account, and accounts.aws.organizationTrail is not set"]),
      },
      { cloud: "aws", kind: "infra", types: ["aws_cloudtrail"], check: trailProblems },
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket"],
        // The trail's own bucket is not a data bucket: logging its writes would log the trail writing itself.
        check: (_bucket, ctx, id) => {
          const trails = resourcesOf(ctx.stack, "aws_cloudtrail").map(([, trail]) => trail);
          if (ctx.env?.accounts.aws?.organizationTrail === true || trails.some((trail) => references(trail.s3_bucket_name, "aws_s3_bucket", id))) return [];
          return trails.some((trail) => trailLogsObjects(trail, id)) ? [] : ["no trail records the bucket's object reads and writes (S3 data events)"];
        },
      },
      ...GCP_DATA_ACCESS.map(({ type, service, logTypes }) => ({
        cloud: "gcp" as const,
        kind: "infra" as const,
        types: [type],
        check: (_resource: Block, ctx: PolicyContext) => {
          const audited = auditedLogTypes(ctx, service);
          const missing = logTypes.filter((logType) => !audited.has(logType));
          return missing.length === 0 ? [] : [`no google_project_iam_audit_config turns on ${missing.join(", ")} for ${service} without exempted members`];
        },
      })),
    ],
  },
];
