/**
 * PrometheusRules: the alerts our users named, for the components that run in the environment.
 *
 * kube-prometheus-stack 88.5.3 already alerts on crash-looping pods (KubePodCrashLooping), nodes
 * (KubeNodeNotReady, NodeCPUHighUsage, NodeMemoryHighUtilization, NodeFilesystem*), CPU limits
 * (CPUThrottlingHigh) and volumes filling (KubePersistentVolumeFillingUp); those are not repeated
 * here (docs/alerts.md lists them with the chart file of each). What is added: the data journey
 * (Airflow, Airbyte, data quality), databases (storage, connections, load, long transactions,
 * replication), memory near limits, Traefik 5xx ratio, certificates, ExternalSecrets and API
 * server 401/403 bursts.
 *
 * Every alert carries `severity` (critical | warning: the routing reads it), and annotations
 * `summary` (with the environment and the pipeline, connection or database), `runbook` (the first
 * step) and `dashboard` (a link into Grafana when the environment has one). `environment` comes
 * from Prometheus' external labels; no expression relies on it.
 */
import type { DatabaseSpec, Environment } from "../../core/spec";
import { SIZE_SHAPES } from "../../core/sizes";
import type { Manifest } from "../helm";
import { DASHBOARD_UIDS } from "./dashboards/definitions";
import type { ObservabilityContext } from "./index";
import { AIRBYTE_CONNECTION_LABELS, airbyteOverdue, airflowSuccesses, DATABASE_SERVER_LABEL, ENVIRONMENT_LABEL, NEW_SERIES_LOOKBACK, OVERDUE_MEMORY } from "./metrics";
import { COMPONENT_LABEL } from "./scrape";

export type Severity = "critical" | "warning";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: Severity;
  /** What it means, for people (docs/alerts.md). */
  readonly meaning: string;
  /** One line: the first thing to do. */
  readonly runbook: string;
  /** Summary template; may use `{{ $labels.x }}`. The environment is prefixed. */
  readonly summary: string;
  /** Grafana path (after the base URL) of the dashboard to open. */
  readonly dashboard: string;
  /** Labels besides `severity` (an alert about another environment names it). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

/** Dashboard paths in Grafana (`d/<uid>`) of the dashboards dashboards.ts provisions. */
export const DASHBOARDS = {
  dataJourney: `d/${DASHBOARD_UIDS.dataJourney}`,
  airflow: `d/${DASHBOARD_UIDS.airflow}`,
  airbyte: `d/${DASHBOARD_UIDS.airbyte}`,
  postgres: `d/${DASHBOARD_UIDS.postgres}`,
  cluster: `d/${DASHBOARD_UIDS.cluster}`,
  ingress: `d/${DASHBOARD_UIDS.traefik}`,
} as const;

const DAY = 86400;
const GIB = 1024 ** 3;

/** Azure managed disks: autogrow never crosses this size (GiB). */
export const AZURE_AUTOGROW_BORDER_GIB = 4096;
/** Azure Flexible Server's largest disk: 32 TiB (33553408 MiB, constructs/azure/sizes.ts POSTGRES_STORAGE_MB). */
export const AZURE_LARGEST_DISK_GIB = 33553408 / 1024;

/**
 * The largest size a database's storage can reach before it fills: AWS RDS autoscales to
 * `maxAllocatedStorage` = min(4 x storageGiB, 65536) (constructs/aws/database.ts); GCP Cloud SQL
 * autoresizes to `diskAutoresizeLimit` with the same formula (constructs/gcp/database.ts).
 * Azure Flexible Server (constructs/azure/database.ts: Premium SSD, `auto_grow_enabled`, the
 * smallest allowed `storage_mb` holding storageGiB) grows a Premium SSD by doubling it, and
 * "when the disk size needs to cross the border of 4,096 GiB ... the automatic storage scaling
 * activity isn't triggered, even if storage autogrow setting is enabled" (Microsoft Learn,
 * "Configure storage autogrow", learn.microsoft.com/azure/postgresql/scale/how-to-auto-grow-storage):
 * a disk of at most 2 TiB doubles up to 4 TiB and stops there; the 4095 and 4096 GiB disks do not
 * grow at all; a larger disk doubles up to the largest, 32 TiB. A test compares these with the
 * infra stacks.
 */
export function storageCeilingGiB(cloud: Environment["cloud"], db: DatabaseSpec): number {
  switch (cloud) {
    case "aws":
    case "gcp":
      return Math.min(db.storageGiB * 4, 65536);
    case "azure": {
      if (db.storageGiB <= AZURE_AUTOGROW_BORDER_GIB / 2) return AZURE_AUTOGROW_BORDER_GIB;
      // Flexible Server's disks between 2 and 4 TiB: 4095 GiB (4193280 MiB) and 4096 GiB.
      if (db.storageGiB <= AZURE_AUTOGROW_BORDER_GIB) return db.storageGiB <= AZURE_AUTOGROW_BORDER_GIB - 1 ? AZURE_AUTOGROW_BORDER_GIB - 1 : AZURE_AUTOGROW_BORDER_GIB;
      return AZURE_LARGEST_DISK_GIB;
    }
  }
}

/**
 * vCPUs of a database server: the neutral size's shape, or what a per-cloud override names.
 * RDS classes: `large` 2, `xlarge` 4, `<n>xlarge` 4n; burstable `micro`/`small`/`medium` have 2.
 * Azure SKUs: the number after the family letter (`GP_Standard_D4ds_v5` 4, `B_Standard_B2s` 2).
 * Cloud SQL tiers: `db-custom-<vcpus>-<mb>`, `db-perf-optimized-N-<vcpus>`, `db-n1-*-<vcpus>`;
 * shared-core tiers count as 1. An override not of these forms keeps the size's count.
 */
export function databaseVcpus(cloud: Environment["cloud"], db: DatabaseSpec): number {
  const fallback = SIZE_SHAPES[db.size].vcpus;
  if (cloud === "aws" && db.aws?.instanceClass) {
    const suffix = db.aws.instanceClass.split(".")[2] ?? "";
    const multiple = /^(\d+)xlarge$/.exec(suffix);
    if (multiple) return 4 * Number(multiple[1]);
    if (suffix === "xlarge") return 4;
    if (["large", "medium", "small", "micro"].includes(suffix)) return 2;
    return fallback;
  }
  if (cloud === "azure" && db.azure?.skuName) {
    const match = /^[A-Z]+_Standard_[A-Z]+(\d+)/.exec(db.azure.skuName);
    return match ? Number(match[1]) : fallback;
  }
  if (cloud === "gcp" && db.gcp?.tier) {
    const tier = db.gcp.tier;
    const custom = /^db-custom-(\d+)-\d+$/.exec(tier) ?? /^db-perf-optimized-n-(\d+)$/i.exec(tier) ?? /^db-n1-(?:standard|highmem)-(\d+)$/.exec(tier);
    if (custom) return Number(custom[1]);
    if (tier === "db-f1-micro" || tier === "db-g1-small") return 1;
    return fallback;
  }
  return fallback;
}

/**
 * A failure counter that also fires on its first increment (a new series `increase` cannot see).
 * "New" is decided on the alert's own labels, aggregated first, and against a look-back window:
 * - aggregated, because the same counter reappears under another `pod`/`instance` when the
 *   statsd exporter or the OpenTelemetry collector restarts, or when an OTLP sender's connection
 *   moves to the collector's other replica, with its old cumulative value (a per-series `unless`
 *   would fire on every such move);
 * - `last_over_time(...[1h] offset <window>)` and not `x offset <window>`: an instant selector
 *   only looks back 5 minutes (Prometheus v3 lookback delta), so any scrape gap around
 *   `now - window` (a Prometheus restart, a node drain) made every existing series look new.
 * What this cannot see: the first failure of a pipeline after its exporter restarted, when the
 * pipeline already had a failure series in the hour before (docs/alerts.md).
 */
export const newOrIncreased = (metric: string, window: string, by: string) => {
  const labels = `${ENVIRONMENT_LABEL}, ${by}`;
  return `sum by (${labels}) (increase(${metric}[${window}])) > 0 or (sum by (${labels}) (${metric}) unless sum by (${labels}) (last_over_time(${metric}[${NEW_SERIES_LOOKBACK}] offset ${window})))`;
};


function airflowGroup(env: Environment): RuleGroup {
  const own = `${ENVIRONMENT_LABEL}="${env.name}"`;
  return {
    name: "airflow",
    rules: [
      {
        // A success is a change of the count, or a count series that is new: statsd_exporter
        // creates the summary at its first observation (v0.28.0 pkg/exporter/exporter.go
        // `GetSummary`), so after each restart of the exporter the next success of every DAG
        // is a new series with value 1, which `changes()` does not see.
        record: "airflow_dag:last_success_timestamp_seconds",
        expr: `timestamp(${airflowSuccesses("airflow_dagrun_duration_count", `${ENVIRONMENT_LABEL}, dag_id`)})`,
      },
      { record: "airflow_dag:success_interval_seconds:mean7d", expr: `${7 * DAY} / (sum by (${ENVIRONMENT_LABEL}, dag_id) (increase(airflow_dagrun_duration_count[7d])) >= 3)` },
      {
        record: "airflow_dag:run_duration_seconds:mean7d",
        expr: `sum by (${ENVIRONMENT_LABEL}, dag_id) (increase(airflow_dagrun_duration_sum[7d])) / (sum by (${ENVIRONMENT_LABEL}, dag_id) (increase(airflow_dagrun_duration_count[7d])) >= 3)`,
      },
      {
        alert: "AirflowDagRunFailed",
        expr: newOrIncreased("airflow_dagrun_failed_count", "15m", "dag_id"),
        severity: "critical",
        meaning: "A DAG run ended failed in the last 15 minutes.",
        runbook: "Open the DAG's failed run in the Airflow UI, read the log of its first failed task, fix and clear the task.",
        summary: "Airflow DAG {{ $labels.dag_id }} failed",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "AirflowDagOverdue",
        expr: `((time() - max_over_time(airflow_dag:last_success_timestamp_seconds[${OVERDUE_MEMORY}])) > on (${ENVIRONMENT_LABEL}, dag_id) 1.5 * quantile_over_time(0.5, airflow_dag:success_interval_seconds:mean7d[${OVERDUE_MEMORY}])) > 3600`,
        severity: "warning",
        meaning: "A DAG has not succeeded for 1.5 times its mean interval between successes over 7 days (and at least an hour). The longest interval learnt in 30 days is used (capped by retention), so the alert stays until the DAG succeeds instead of resolving days into a stall.",
        runbook: "Check in the Airflow UI whether the DAG is paused, queued, still running or failing; a stuck run shows in its Gantt view.",
        summary: "Airflow DAG {{ $labels.dag_id }} has not succeeded within its usual interval",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "AirflowDagRunSlow",
        expr: `((sum by (${ENVIRONMENT_LABEL}, dag_id) (increase(airflow_dagrun_duration_sum[1h])) / sum by (${ENVIRONMENT_LABEL}, dag_id) (increase(airflow_dagrun_duration_count[1h]) > 0)) > on (${ENVIRONMENT_LABEL}, dag_id) 2 * airflow_dag:run_duration_seconds:mean7d) > 300`,
        severity: "warning",
        meaning: "DAG runs that succeeded in the last hour took more than twice their 7-day mean (and over 5 minutes).",
        runbook: "Compare the run's task durations with earlier runs in the Airflow UI (Gantt): a slow source, more data or a starved pool.",
        summary: "Airflow DAG {{ $labels.dag_id }} runs longer than usual",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "AirflowSchedulerDown",
        expr: `sum by (${ENVIRONMENT_LABEL}) (rate(airflow_scheduler_heartbeat{${own}}[5m])) == 0 or absent_over_time(airflow_scheduler_heartbeat{${own}}[10m])`,
        for: "5m",
        severity: "critical",
        meaning: "No scheduler heartbeat for 5 minutes (or no Airflow metrics at all): no DAG runs start, and no DAG failure is reported.",
        runbook: "kubectl -n airflow get pods -l component=scheduler; read the scheduler's logs and the statsd exporter's.",
        summary: "Airflow scheduler sends no heartbeat",
        dashboard: DASHBOARDS.airflow,
      },
      {
        alert: "AirflowDagImportErrors",
        expr: `max by (${ENVIRONMENT_LABEL}) (airflow_dag_processing_import_errors) > 0`,
        for: "15m",
        severity: "warning",
        meaning: "DAG files fail to parse: their DAGs do not run.",
        runbook: "Open Browse > DAG import errors in the Airflow UI and fix the file it names.",
        summary: "Airflow has DAG files that fail to import",
        dashboard: DASHBOARDS.airflow,
      },
    ],
  };
}

const CONNECTION = AIRBYTE_CONNECTION_LABELS;

function airbyteGroup(env: Environment): RuleGroup {
  const exporter = `${COMPONENT_LABEL}="airbyte", ${ENVIRONMENT_LABEL}="${env.name}"`;
  return {
    name: "airbyte",
    rules: [
      {
        alert: "AirbyteSyncFailed",
        expr: `max by (${ENVIRONMENT_LABEL}, ${CONNECTION}) (airbyte_connection_last_job_failed) == 1`,
        severity: "critical",
        meaning: "The latest sync job of a connection failed (every attempt of it).",
        runbook: "Open the connection's Job History in Airbyte, read the failure reason of the last attempt, fix the source or destination and sync again.",
        summary: "Airbyte connection {{ $labels.connection_name }} failed its last sync",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "AirbyteAttemptsFailing",
        expr: `max by (${ENVIRONMENT_LABEL}, ${CONNECTION}) (airbyte_connection_failed_attempts_1h) > 0 unless on (${ENVIRONMENT_LABEL}, ${CONNECTION}) max by (${ENVIRONMENT_LABEL}, ${CONNECTION}) (airbyte_connection_last_job_failed) == 1`,
        severity: "warning",
        meaning: "Sync attempts of a connection failed in the last hour; Airbyte is retrying.",
        runbook: "Read the failed attempt's log in the connection's Job History; a failure that repeats becomes AirbyteSyncFailed.",
        summary: "Airbyte connection {{ $labels.connection_name }} has failing sync attempts",
        dashboard: DASHBOARDS.airbyte,
      },
      {
        alert: "AirbyteSyncOverdue",
        expr: airbyteOverdue(),
        severity: "warning",
        meaning: "A connection has not synced successfully for 1.5 times its mean interval between successes over 7 days (and at least an hour). The longest interval learnt in 30 days is used (capped by retention), so the alert stays until a sync succeeds instead of resolving days into a stall.",
        runbook: "Check in Airbyte whether the connection is disabled, its schedule changed, or its jobs fail or hang.",
        summary: "Airbyte connection {{ $labels.connection_name }} has not synced within its usual interval",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "AirbyteSyncRunningLong",
        expr: `(max by (${ENVIRONMENT_LABEL}, ${CONNECTION}) (airbyte_connection_running_seconds) > on (${ENVIRONMENT_LABEL}, ${CONNECTION}) 2 * (max by (${ENVIRONMENT_LABEL}, ${CONNECTION}) (airbyte_connection_mean_success_duration_seconds) > 0)) > 1800`,
        severity: "warning",
        meaning: "A running sync has taken more than twice the connection's 7-day mean duration (and over 30 minutes).",
        runbook: "Watch the running job's log in Airbyte: records still moving means more data; no progress means a stuck source, destination or pod.",
        summary: "Airbyte connection {{ $labels.connection_name }} sync runs longer than usual",
        dashboard: DASHBOARDS.airbyte,
      },
      {
        // postgres_exporter v0.20.1 sets last_scrape_error when a query of its queries file fails
        // (exporter/server.go Scrape returns the queryNamespaceMappings errors;
        // exporter/postgres_exporter.go counts them): the Airbyte alerts above would stay silent.
        alert: "AirbyteSyncMetricsMissing",
        expr: `max by (${ENVIRONMENT_LABEL}) (pg_exporter_last_scrape_error{${exporter}}) == 1 or absent(pg_exporter_last_scrape_error{${exporter}})`,
        for: "30m",
        severity: "warning",
        meaning: "The sync facts of Airbyte cannot be read from its database (the exporter's query fails, or it is not scraped): the other Airbyte alerts cannot fire.",
        runbook: "Read the airbyte-sync-exporter pod's log in the monitoring namespace; rerun the monitoring bootstrap job (helm upgrade of the observability release) if the function platform_monitoring.airbyte_connections is missing.",
        summary: "Airbyte sync metrics are missing",
        dashboard: DASHBOARDS.airbyte,
      },
    ],
  };
}

function dataQualityGroup(): RuleGroup {
  const by = "pipeline, check";
  return {
    name: "data-quality",
    rules: [
      {
        alert: "DataQualityCheckFailed",
        expr: newOrIncreased('data_quality_check_runs_total{outcome=~"fail|error"}', "15m", `${by}, outcome`),
        severity: "critical",
        meaning: "A data-quality check reported a failure (or could not run) in the last 15 minutes.",
        runbook: "Open the run of the pipeline that emitted the check and read the check's result (dbt test, Great Expectations report or SQL check output).",
        summary: "Data-quality check {{ $labels.check }} of {{ $labels.pipeline }}: {{ $labels.outcome }}",
        dashboard: DASHBOARDS.dataJourney,
      },
      {
        alert: "DataQualityScoreBelowThreshold",
        expr: `max by (${ENVIRONMENT_LABEL}, ${by}) (data_quality_score) < on (${ENVIRONMENT_LABEL}, ${by}) min by (${ENVIRONMENT_LABEL}, ${by}) (data_quality_threshold)`,
        severity: "warning",
        meaning: "The last score a check reported is below the threshold it declared.",
        runbook: "Look at the rows the check rejects in the pipeline's latest output and at what changed upstream.",
        summary: "Data-quality score of {{ $labels.check }} in {{ $labels.pipeline }} is {{ $value }}, below its threshold",
        dashboard: DASHBOARDS.dataJourney,
      },
    ],
  };
}

function databaseGroup(env: Environment, db: DatabaseSpec): RuleGroup {
  // Its own environment's server: a metrics hub also holds its senders' servers, which may share the name.
  const server = `${DATABASE_SERVER_LABEL}="${db.name}", ${ENVIRONMENT_LABEL}="${env.name}"`;
  const ceiling = storageCeilingGiB(env.cloud, db);
  const vcpus = databaseVcpus(env.cloud, db);
  const by = `sum by (${ENVIRONMENT_LABEL}, ${DATABASE_SERVER_LABEL})`;
  const storage = `${by} (pg_database_size_bytes{${server}}) / ${ceiling * GIB}`;
  const summary = (what: string) => `PostgreSQL ${db.name}: ${what}`;
  const rules: AlertRule[] = [
    {
      alert: "PostgresUnreachable",
      expr: `pg_up{${server}} == 0 or absent(pg_up{${server}})`,
      for: "5m",
      severity: "critical",
      meaning: "The exporter cannot reach the database server, or the server is not scraped at all.",
      runbook: "Check the server's status in the cloud console, then the postgres exporter pod's logs in the monitoring namespace.",
      summary: summary("unreachable or not scraped"),
      dashboard: DASHBOARDS.postgres,
    },
    {
      alert: "PostgresStorageFilling",
      expr: `${storage} > 0.8`,
      for: "15m",
      severity: "warning",
      meaning: "The databases use over 80% of the storage the server can grow to (data files only; WAL and temporary files come on top).",
      runbook: "Find the largest databases and tables on the PostgreSQL dashboard; drop what is not needed or raise storageGiB in the spec.",
      summary: summary(`storage over 80% of its ${ceiling} GiB ceiling`),
      dashboard: DASHBOARDS.postgres,
    },
    {
      alert: "PostgresStorageFull",
      expr: `${storage} > 0.9`,
      for: "5m",
      severity: "critical",
      meaning: "The databases use over 90% of the storage the server can grow to: writes stop when it is full.",
      runbook: "Raise storageGiB in the spec and apply the infra stack now; then find what grew on the PostgreSQL dashboard.",
      summary: summary(`storage over 90% of its ${ceiling} GiB ceiling`),
      dashboard: DASHBOARDS.postgres,
    },
    {
      alert: "PostgresConnectionsHigh",
      expr: `${by} (pg_stat_activity_count{${server}}) / on (${ENVIRONMENT_LABEL}, ${DATABASE_SERVER_LABEL}) max by (${ENVIRONMENT_LABEL}, ${DATABASE_SERVER_LABEL}) (pg_settings_max_connections{${server}}) > 0.8`,
      for: "10m",
      severity: "warning",
      meaning: "Over 80% of max_connections are in use: new connections will soon be refused.",
      runbook: "See which application and user hold the connections on the PostgreSQL dashboard; restart a leaking client or raise the database size.",
      summary: summary("connections over 80% of max_connections"),
      dashboard: DASHBOARDS.postgres,
    },
    {
      alert: "PostgresLoadHigh",
      expr: `${by} (pg_stat_activity_count{${server}, state="active"}) > ${vcpus}`,
      for: "15m",
      severity: "warning",
      meaning: "More sessions are active than the server has vCPUs for 15 minutes: the CPU is saturated (managed database CPU is not in Prometheus; active sessions stand in for it).",
      runbook: "Find the long or frequent queries of the active sessions (pg_stat_activity, the cloud's query insights) or raise the database size.",
      summary: summary(`more active sessions than its ${vcpus} vCPUs`),
      dashboard: DASHBOARDS.postgres,
    },
    {
      alert: "PostgresLongTransaction",
      expr: `max by (${ENVIRONMENT_LABEL}, ${DATABASE_SERVER_LABEL}, datname) (pg_stat_activity_max_tx_duration{${server}, backend_type="client backend"}) > 3600`,
      severity: "warning",
      meaning: "A client's transaction has been open for over an hour: it holds locks and stops vacuum from cleaning up (autovacuum workers and WAL senders are not counted).",
      runbook: "Find it in pg_stat_activity (oldest xact_start) and end it with pg_terminate_backend if its client is gone.",
      summary: "PostgreSQL {{ $labels.database_server }}: a transaction in {{ $labels.datname }} is open for over an hour",
      dashboard: DASHBOARDS.postgres,
    },
  ];
  if (db.readReplicas > 0) {
    rules.push({
      alert: "PostgresReplicaLagging",
      expr: `max by (${ENVIRONMENT_LABEL}, ${DATABASE_SERVER_LABEL}, application_name) (pg_stat_replication_pg_wal_lsn_diff{${server}}) > ${GIB}`,
      for: "15m",
      severity: "warning",
      meaning: "A read replica is over 1 GiB of WAL behind its primary: reads from it are stale.",
      runbook: "Check the replica's CPU and I/O in the cloud console; a replica that cannot catch up needs a larger size.",
      summary: summary("a read replica lags over 1 GiB of WAL"),
      dashboard: DASHBOARDS.postgres,
    });
  }
  return { name: `postgres-${db.name}`, rules };
}

function platformGroup(): RuleGroup {
  const rules: AlertRule[] = [
    {
      alert: "ContainerMemoryNearLimit",
      expr: `max by (${ENVIRONMENT_LABEL}, namespace, pod, container) (container_memory_working_set_bytes{container!=""}) / on (${ENVIRONMENT_LABEL}, namespace, pod, container) max by (${ENVIRONMENT_LABEL}, namespace, pod, container) (kube_pod_container_resource_limits{resource="memory"}) > 0.9`,
      for: "15m",
      severity: "warning",
      meaning: "A container uses over 90% of its memory limit: it is killed (OOMKilled) when it reaches it.",
      runbook: "See the container's memory on the cluster dashboard; raise the app's size in the spec or find what grew.",
      summary: "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} is near its memory limit",
      dashboard: DASHBOARDS.cluster,
    },
    {
      alert: "IngressErrorRatioHigh",
      expr: `sum by (${ENVIRONMENT_LABEL}, service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (${ENVIRONMENT_LABEL}, service) (rate(traefik_service_requests_total[5m]) ) > 0.05 and sum by (${ENVIRONMENT_LABEL}, service) (rate(traefik_service_requests_total[5m])) > 0.1`,
      for: "10m",
      severity: "warning",
      meaning: "Over 5% of the requests to an app through the ingress got a 5xx answer for 10 minutes.",
      runbook: "Find the failing app from the service name, then its pods' logs and readiness (kubectl get pods in its namespace).",
      summary: "{{ $labels.service }}: over 5% of requests fail with 5xx",
      dashboard: DASHBOARDS.ingress,
    },
    {
      alert: "ExternalSecretNotSynced",
      expr: `max by (${ENVIRONMENT_LABEL}, namespace, name) (externalsecret_status_condition{condition="Ready", status="False"}) == 1`,
      for: "10m",
      severity: "critical",
      meaning: "An ExternalSecret cannot sync from the cloud's secret store: its Secret is missing or stale (database credentials, alert webhooks).",
      runbook: "kubectl -n <namespace> describe externalsecret <name>: the event names the missing secret or the denied permission.",
      summary: "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not synced",
      dashboard: DASHBOARDS.cluster,
    },
    {
      alert: "ApiServerUnauthorizedBurst",
      expr: `sum by (${ENVIRONMENT_LABEL}) (rate(authentication_attempts{result=~"failure|error"}[5m])) > 0.2 and sum by (${ENVIRONMENT_LABEL}) (rate(authentication_attempts{result=~"failure|error"}[5m])) > 5 * sum by (${ENVIRONMENT_LABEL}) (rate(authentication_attempts{result=~"failure|error"}[1d]))`,
      for: "10m",
      severity: "warning",
      meaning: "Failed authentications (401, results failure and error) at the API server are 5 times their daily rate: an expired credential, or someone trying.",
      runbook: "Read the API server's audit log in the cloud's logs for the 401s' source address and user agent.",
      summary: "API server: burst of 401 Unauthorized",
      dashboard: DASHBOARDS.cluster,
    },
    {
      alert: "ApiServerForbiddenBurst",
      expr: `sum by (${ENVIRONMENT_LABEL}) (rate(authorization_attempts_total{result=~"denied|no-opinion"}[5m])) > 0.2 and sum by (${ENVIRONMENT_LABEL}) (rate(authorization_attempts_total{result=~"denied|no-opinion"}[5m])) > 5 * sum by (${ENVIRONMENT_LABEL}) (rate(authorization_attempts_total{result=~"denied|no-opinion"}[1d]))`,
      for: "10m",
      severity: "warning",
      meaning: "Refused requests (403) at the API server are 5 times their daily rate: a workload lost a permission, or someone probes.",
      runbook: "Read the API server's audit log for the denied user or service account and the verb and resource it asked for.",
      summary: "API server: burst of 403 Forbidden",
      dashboard: DASHBOARDS.cluster,
    },
  ];
  // cert-manager runs on every cluster: the UIs' certificates with `dns`, the apps' in-cluster ones always.
  rules.push(
    {
      alert: "CertificateExpiringSoon",
      expr: `min by (${ENVIRONMENT_LABEL}, namespace, name) (certmanager_certificate_expiration_timestamp_seconds > 0) - time() < ${21 * DAY}`,
      for: "1h",
      severity: "warning",
      meaning: "A certificate expires within 21 days: cert-manager renews 30 days ahead, so its renewal is failing.",
      runbook: "kubectl -n <namespace> describe certificate <name>, then its CertificateRequest and Order: the ACME challenge says why.",
      summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 21 days",
      dashboard: DASHBOARDS.cluster,
    },
    {
      alert: "CertificateExpiryImminent",
      expr: `min by (${ENVIRONMENT_LABEL}, namespace, name) (certmanager_certificate_expiration_timestamp_seconds > 0) - time() < ${7 * DAY}`,
      severity: "critical",
      meaning: "A certificate expires within 7 days; browsers will refuse the app after that.",
      runbook: "Fix the renewal now (kubectl describe certificate, CertificateRequest, Order); delete the Certificate's Secret to force a new issue once fixed.",
      summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 7 days",
      dashboard: DASHBOARDS.cluster,
    },
    {
      alert: "CertificateNotReady",
      expr: `max by (${ENVIRONMENT_LABEL}, namespace, name) (certmanager_certificate_ready_status{condition=~"False|Unknown"}) == 1`,
      for: "30m",
      severity: "warning",
      meaning: "A certificate has not been Ready for 30 minutes: its app may serve no or an old certificate.",
      runbook: "kubectl -n <namespace> describe certificate <name>; check its issuer: for an app host the ClusterIssuer and that the host's DNS points at the ingress, for an in-cluster certificate (DataHub's OpenSearch) the namespace's CA Issuer.",
      summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} is not ready",
      dashboard: DASHBOARDS.cluster,
    },
  );
  return { name: "platform", rules };
}

/** The rule groups of an environment: only for components that run in it. */
export function ruleGroups(env: Environment): RuleGroup[] {
  const apps = new Set(env.apps.map((app) => app.name));
  const groups: RuleGroup[] = [];
  if (apps.has("airflow")) groups.push(airflowGroup(env));
  if (apps.has("airbyte")) groups.push(airbyteGroup(env));
  if (apps.has("airflow") || apps.has("airbyte")) groups.push(dataQualityGroup());
  groups.push(...env.databases.map((db) => databaseGroup(env, db)));
  groups.push(platformGroup());
  return groups;
}

export const isAlert = (rule: AlertRule | RecordingRule): rule is AlertRule => "alert" in rule;

/** The rule as Prometheus reads it, with the environment and the dashboard link filled in. */
function renderRule(ctx: ObservabilityContext, rule: AlertRule | RecordingRule): Record<string, unknown> {
  if (!isAlert(rule)) return { record: rule.record, expr: rule.expr };
  const base = ctx.grafanaUrl === undefined ? undefined : ctx.grafanaUrl.replace(/\/+$/, "");
  return {
    alert: rule.alert,
    expr: rule.expr,
    ...(rule.for === undefined ? {} : { for: rule.for }),
    labels: { ...rule.labels, severity: rule.severity },
    annotations: {
      summary: `[${ctx.env.name}] ${rule.summary}`,
      description: rule.meaning,
      runbook: rule.runbook,
      ...(base === undefined ? {} : { dashboard: `${base}/${rule.dashboard}?var-environment=${ctx.env.name}` }),
    },
  };
}

/** One PrometheusRule per group, in the monitoring namespace (the Prometheus selects every rule). */
export function renderRuleGroups(ctx: ObservabilityContext, groups: readonly RuleGroup[]): Manifest[] {
  return groups.map((group) => ({
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: `platform-${group.name}`, namespace: ctx.namespace, labels: { "app.kubernetes.io/part-of": "platform-observability" } },
    spec: { groups: [{ name: group.name, rules: group.rules.map((rule) => renderRule(ctx, rule)) }] },
  }));
}

export function ruleManifests(ctx: ObservabilityContext): Manifest[] {
  return renderRuleGroups(ctx, ruleGroups(ctx.env));
}
