/**
 * The metric catalogue: every metric name an alert rule or a dashboard of the observability
 * layer reads, with the component that exports it, its Prometheus type, the labels we use, and
 * where the name is defined at the version the platform pins. Tests refuse any rule or dashboard
 * query that selects a name that is not here (or recorded by one of our own rules), and any
 * entry here that no rule and no dashboard reads.
 *
 * Name rules per exporter, at the pinned versions:
 * - statsd_exporter v0.28.0 (the Airflow chart 1.19.0's `images.statsd`): a mapping's `name` is
 *   the Prometheus name as given (counters get no `_total`: pkg/registry/registry.go registers
 *   `CounterOpts{Name: metricName}`); an unmapped statsd name has `.` turned into `_`
 *   (pkg/mapper/escape.go); timers are summaries in seconds (`<name>`, `<name>_sum`, `<name>_count`).
 * - postgres_exporter v0.20.1: `pg_<subsystem>_<name>` (collector/collector.go `namespace = "pg"`),
 *   and for a query of the queries file `<query name>_<column>` (exporter/queries.go).
 * - OpenTelemetry collector contrib `prometheus` exporter with default naming: `.` to `_`, a
 *   unit suffix for a unit, `_total` for monotonic sums; resource attributes are not labels.
 */

/** Where a metric name is defined: repository, tag (or commit) and file. */
export interface MetricSource {
  readonly repo: string;
  readonly ref: string;
  readonly path: string;
}

export type MetricType = "counter" | "gauge" | "summary" | "histogram";

/** Components whose metrics rules and dashboards read; rules exist only where the component runs. */
export type MetricComponent =
  | "airflow"
  | "airbyte"
  | "data-quality"
  | "datahub"
  | "traefik"
  | "external-secrets"
  | "cert-manager"
  | "postgres"
  | "kube-state-metrics"
  | "node-exporter"
  | "cadvisor"
  | "kubelet"
  | "apiserver"
  | "prometheus";

export interface MetricDefinition {
  /** The Prometheus series name, as a selector names it (`_sum`/`_count` listed on their own). */
  readonly name: string;
  readonly component: MetricComponent;
  readonly type: MetricType;
  /** The labels our rules and dashboards read. */
  readonly labels: readonly string[];
  readonly source: MetricSource;
  readonly note?: string;
}

/** Label every series of an environment carries, locally and at the hub; also an external label, so alerts name it. */
export const ENVIRONMENT_LABEL = "environment";

/**
 * The label every postgres_exporter series carries naming the spec database (server) it was
 * scraped from. The exporter itself knows no such name: the ServiceMonitor of each exporter
 * (scrape.ts) sets it as a target label, one exporter per database server.
 */
export const DATABASE_SERVER_LABEL = "database_server";

/** How far back a series must have been absent to count as new (a restart or scrape gap is shorter). */
export const NEW_SERIES_LOOKBACK = "1h";

/**
 * How long an overdue alert remembers a pipeline's last success and its usual interval: the
 * 7-day interval stops existing once the pipeline has not succeeded for days (fewer than 3
 * successes in 7 days), and the alert must not resolve then. Capped by Prometheus' retention
 * (monitoring.ts: 30 days in production, 7 elsewhere).
 */
export const OVERDUE_MEMORY = "30d";

/**
 * Per `by` labels, 1 where the success counter `counter` (a selector) counted a success in the
 * last 5 minutes: its value changed, or its series is new. statsd_exporter creates a summary at
 * its first observation (v0.28.0 pkg/exporter/exporter.go `GetSummary`), so after each restart of
 * the exporter the next success of every DAG is a new series with value 1, which `changes()`
 * does not see. New means no sample in the hour before (a scrape gap is not a new series); a
 * false "new" only makes a success look more recent. Rules and dashboards share it.
 */
export function airflowSuccesses(counter: string, by: string): string {
  return `sum by (${by}) (changes(${counter}[5m]) > 0 or (${counter} unless last_over_time(${counter}[${NEW_SERIES_LOOKBACK}] offset 5m)))`;
}

/** The labels of every airbyte_connection_* gauge. */
export const AIRBYTE_CONNECTION_LABELS = "connection_id, connection_name";

/** How overdue an Airbyte connection must be, in its usual intervals, for AirbyteSyncOverdue and the dashboard's count. */
export const AIRBYTE_OVERDUE_FACTOR = 1.5;

/**
 * Connections overdue (AIRBYTE_OVERDUE_FACTOR times their usual interval, and at least an hour),
 * as the AirbyteSyncOverdue alert and the Airbyte dashboard both read it. The exporter reports
 * the interval as 0 with fewer than 3 successes in 7 days (AIRBYTE_CONNECTIONS_SQL), and a stall
 * itself stretches the 7-day interval, so the median of OVERDUE_MEMORY is used (the largest would
 * keep a stall's stretched interval for 30 days and delay every later alert); the last success is 0 after 8 days without one,
 * which keeps the alert firing. `matchers` are added to both selectors (a dashboard's environment).
 */
export function airbyteOverdue(matchers = ""): string {
  const by = `max by (${ENVIRONMENT_LABEL}, ${AIRBYTE_CONNECTION_LABELS})`;
  const m = matchers === "" ? "" : `{${matchers}}`;
  return `((time() - ${by} (airbyte_connection_last_success_timestamp_seconds${m})) > on (${ENVIRONMENT_LABEL}, ${AIRBYTE_CONNECTION_LABELS}) ${AIRBYTE_OVERDUE_FACTOR} * (${by} (quantile_over_time(0.5, airbyte_connection_mean_success_interval_seconds${m}[${OVERDUE_MEMORY}])) > 0)) > 3600`;
}

/**
 * The Airflow chart's statsd mappings. Checked for the names used here (dagrun.duration.success/
 * failed, scheduler_heartbeat, executor.running_tasks/queued_tasks, pool.starving_tasks) in the
 * stored copy of chart/files/statsd-mappings.yml at apache/airflow 08db54c738.
 */
const AIRFLOW_CHART_MAPPINGS: MetricSource = {
  repo: "apache/airflow",
  ref: "helm-chart/1.19.0 (commit f17d6ffb05cc0ffda638b7c0ef5b5d6d12f1c314)",
  path: "chart/files/statsd-mappings.yml",
};
const AIRFLOW_METRICS_DOC: MetricSource = {
  repo: "apache/airflow",
  ref: "3.1.x (main at the 3.1.0 release, 5a236d0593; emitted in airflow-core/src/airflow/models/dagrun.py and jobs/scheduler_job_runner.py)",
  path: "airflow-core/docs/administration-and-deployment/logging-monitoring/metrics.rst",
};
const DATA_QUALITY_CONTRACT: MetricSource = {
  repo: "this project",
  ref: "docs/data-quality.md",
  path: "constructs/apps/airflow.ts (statsd.extraMappings: DATA_QUALITY_STATSD_MAPPINGS)",
};
const AIRBYTE_JOBS_QUERY_SOURCE: MetricSource = {
  repo: "this project (tables: airbytehq/airbyte-platform db8783e5c1, 2026-08-10, the Airbyte 2.2.0 chart release day)",
  ref: "AIRBYTE_JOBS_QUERIES below; prometheus-community/postgres_exporter v0.20.1 exporter/queries.go names `<query>_<column>`",
  path: "airbyte-db/db-lib/src/main/resources/jobs_database/schema_dump.txt (jobs, attempts), configs_database/schema_dump.txt (connection)",
};
const TRAEFIK: MetricSource = { repo: "traefik/traefik", ref: "v3.7.9 (chart 41.3.0 ships v3.7.11; the metric set is unchanged within v3.7)", path: "pkg/observability/metrics/prometheus.go" };
const ESO: MetricSource = { repo: "external-secrets/external-secrets", ref: "v2.9.0", path: "pkg/controllers/externalsecret/esmetrics/esmetrics.go, pkg/controllers/metrics/labels.go" };
const CERT_MANAGER: MetricSource = { repo: "cert-manager/cert-manager", ref: "v1.21.1", path: "internal/collectors/certificate_collector.go" };
const pg = (path: string): MetricSource => ({ repo: "prometheus-community/postgres_exporter", ref: "v0.20.1", path });
/** kube-state-metrics v2.20.0: the appVersion of kube-prometheus-stack 88.5.3's kube-state-metrics 8.4.0 subchart (image tag `v` + appVersion). */
const ksm = (path: string): MetricSource => ({ repo: "kubernetes/kube-state-metrics", ref: "v2.20.0 (kube-prometheus-stack 88.5.3 subchart kube-state-metrics 8.4.0, appVersion 2.20.0)", path });
/** node-exporter v1.12.1: the appVersion of kube-prometheus-stack 88.5.3's prometheus-node-exporter 4.56.1 subchart. */
const nodeExporter = (path: string): MetricSource => ({ repo: "prometheus/node_exporter", ref: "v1.12.1 (kube-prometheus-stack 88.5.3 subchart prometheus-node-exporter 4.56.1, appVersion 1.12.1)", path });
/**
 * cAdvisor in the kubelet, scraped by kube-prometheus-stack's kubelet ServiceMonitor on
 * /metrics/cadvisor; its `cAdvisorMetricRelabelings` (values.yaml) drop neither name used here.
 */
const cadvisor = (name: string): MetricSource => ({ repo: "google/cadvisor (in the kubelet)", ref: "kubelet 1.31-1.33", path: `metrics/prometheus.go (${name})` });
const KUBELET_VOLUMES: MetricSource = { repo: "kubernetes/kubernetes", ref: "v1.31-v1.33", path: "pkg/kubelet/metrics/collectors/volume_stats.go (kubelet_volume_stats_*, labels namespace, persistentvolumeclaim)" };
/**
 * DataHub GMS v1.7.0 serves Spring Boot Actuator's Micrometer registry on /actuator/prometheus:
 * `management.endpoints.web.exposure.include: prometheus,...` and
 * `management.metrics.export.prometheus.enabled: true` in
 * metadata-service/configuration/src/main/resources/application.yaml (read at datahub-project/datahub
 * 00112498e5, the stored snapshot: the v1.7.0 tag itself could not be mirrored, the repository
 * is over the mirror's size limit). Micrometer's Prometheus naming turns the timer
 * `http.server.requests` into `http_server_requests_seconds_{count,sum}` (tags method, status,
 * outcome, uri, exception) and the gauge `jvm.memory.used` into `jvm_memory_used_bytes` (tags area, id).
 */
const DATAHUB_ACTUATOR: MetricSource = {
  repo: "datahub-project/datahub",
  ref: "v1.7.0 (configuration read at 00112498e5); names by micrometer-registry-prometheus",
  path: "metadata-service/configuration/src/main/resources/application.yaml (management.*); Spring Boot's WebMvcObservationAutoConfiguration, JvmMetricsAutoConfiguration",
};
const PROMETHEUS_REMOTE: MetricSource = { repo: "prometheus/prometheus", ref: "v3.14.0 (bundled by kube-prometheus-stack 88.5.3)", path: "storage/remote/queue_manager.go (newQueueManagerMetrics; namespace prometheus, subsystem remote_storage from storage/remote/storage.go)" };
const PROMETHEUS_SCRAPE: MetricSource = { repo: "prometheus/prometheus", ref: "v3.14.0", path: "scrape/scrape.go (the synthetic `up` series of every target)" };
const APISERVER_FILTERS: MetricSource = { repo: "kubernetes/kubernetes", ref: "v1.31-v1.33", path: "staging/src/k8s.io/apiserver/pkg/endpoints/filters/metrics.go" };

const AIRFLOW_STATSD_NOTE = "statsd timer (ms) mapped by the chart; statsd_exporter observes it in seconds as a summary";

export const METRICS: readonly MetricDefinition[] = [
  // Airflow 3.1.7 through the chart's statsd exporter.
  { name: "airflow_dagrun_duration_count", component: "airflow", type: "summary", labels: ["dag_id"], source: AIRFLOW_CHART_MAPPINGS, note: `dagrun.duration.success.<dag_id>: ${AIRFLOW_STATSD_NOTE}; one count per successful DAG run` },
  { name: "airflow_dagrun_duration_sum", component: "airflow", type: "summary", labels: ["dag_id"], source: AIRFLOW_CHART_MAPPINGS, note: "seconds of successful DAG runs" },
  { name: "airflow_dagrun_failed_count", component: "airflow", type: "summary", labels: ["dag_id"], source: AIRFLOW_CHART_MAPPINGS, note: `dagrun.duration.failed.<dag_id>: ${AIRFLOW_STATSD_NOTE}; one count per failed DAG run` },
  { name: "airflow_scheduler_heartbeat", component: "airflow", type: "counter", labels: [], source: AIRFLOW_CHART_MAPPINGS, note: "scheduler_heartbeat (jobs/scheduler_job_runner.py `Stats.incr(\"scheduler_heartbeat\")`)" },
  { name: "airflow_dagrun_duration", component: "airflow", type: "summary", labels: ["dag_id", "quantile"], source: AIRFLOW_CHART_MAPPINGS, note: "the summary's quantiles of dagrun.duration.success.<dag_id> (statsd_exporter's default quantiles 0.5, 0.9, 0.99 over 10 minutes)" },
  { name: "airflow_executor_running_tasks", component: "airflow", type: "gauge", labels: ["executor"], source: AIRFLOW_CHART_MAPPINGS, note: "executor.running_tasks.<executor>" },
  { name: "airflow_executor_queued_tasks", component: "airflow", type: "gauge", labels: ["executor"], source: AIRFLOW_CHART_MAPPINGS, note: "executor.queued_tasks.<executor>" },
  { name: "airflow_pool_starving_tasks", component: "airflow", type: "gauge", labels: ["pool"], source: AIRFLOW_CHART_MAPPINGS, note: "pool.starving_tasks.<pool>" },
  { name: "airflow_dag_processing_import_errors", component: "airflow", type: "gauge", labels: [], source: AIRFLOW_METRICS_DOC, note: "dag_processing.import_errors, unmapped: statsd_exporter escapes `.` to `_`" },

  // The data-quality contract (docs/data-quality.md), through statsd or OTLP.
  { name: "data_quality_check_runs_total", component: "data-quality", type: "counter", labels: ["pipeline", "check", "outcome"], source: DATA_QUALITY_CONTRACT, note: "one increment per check run; outcome pass | fail | error" },
  { name: "data_quality_score", component: "data-quality", type: "gauge", labels: ["pipeline", "check"], source: DATA_QUALITY_CONTRACT, note: "the measured score of the last run" },
  { name: "data_quality_threshold", component: "data-quality", type: "gauge", labels: ["pipeline", "check"], source: DATA_QUALITY_CONTRACT, note: "the lowest acceptable score" },

  // Airbyte 2.2.0 sync jobs, read from its own database (see AIRBYTE_JOBS_QUERIES for why).
  ...(
    [
      ["airbyte_connection_last_success_timestamp_seconds", "end of the last succeeded sync job (Unix seconds), 0 if none in 8 days"],
      ["airbyte_connection_last_job_failed", "1 when the latest finished sync job of the connection failed"],
      ["airbyte_connection_failed_attempts_1h", "sync attempts of the connection that failed in the last hour"],
      ["airbyte_connection_running_seconds", "age of the running sync job, 0 when none runs"],
      ["airbyte_connection_mean_success_duration_seconds", "mean duration of the succeeded sync jobs of the last 7 days, 0 without any"],
      ["airbyte_connection_mean_success_interval_seconds", "7 days divided by the succeeded sync jobs in them, 0 with fewer than 3"],
    ] as const
  ).map(([name, note]): MetricDefinition => ({ name, component: "airbyte", type: "gauge", labels: ["connection_id", "connection_name"], source: AIRBYTE_JOBS_QUERY_SOURCE, note })),

  // The Airbyte sync exporter's own health (postgres_exporter v0.20.1).
  { name: "pg_exporter_last_scrape_error", component: "airbyte", type: "gauge", labels: [ENVIRONMENT_LABEL], source: pg("exporter/postgres_exporter.go (namespace pg, subsystem exporter, `last_scrape_error`; set to 1 when a queries-file query fails, exporter/server.go Scrape)") },

  // DataHub GMS v1.7.0 (Spring Boot Actuator, Micrometer's Prometheus registry).
  { name: "http_server_requests_seconds_count", component: "datahub", type: "summary", labels: ["status", "uri"], source: DATAHUB_ACTUATOR, note: "requests answered, per status" },
  { name: "http_server_requests_seconds_sum", component: "datahub", type: "summary", labels: ["status", "uri"], source: DATAHUB_ACTUATOR, note: "seconds spent answering them" },
  { name: "jvm_memory_used_bytes", component: "datahub", type: "gauge", labels: ["area", "id"], source: DATAHUB_ACTUATOR, note: "area heap | nonheap" },

  // Traefik v3: entry point and service metrics are on by default (pkg/observability/types/metrics.go
  // Prometheus.SetDefaults: AddEntryPointsLabels and AddServicesLabels true; the chart does not change them).
  { name: "traefik_entrypoint_requests_total", component: "traefik", type: "counter", labels: ["code", "entrypoint"], source: TRAEFIK, note: "entryPointReqsTotalName" },
  { name: "traefik_service_requests_total", component: "traefik", type: "counter", labels: ["code", "service"], source: TRAEFIK, note: "serviceReqsTotalName; addServicesLabels defaults to true (chart 41.3.0 values.yaml metrics.prometheus)" },
  { name: "traefik_service_request_duration_seconds_bucket", component: "traefik", type: "histogram", labels: ["service", "le"], source: TRAEFIK, note: "serviceReqDurationName, default buckets 0.1, 0.3, 1.2, 5" },

  // External Secrets 2.9.0.
  { name: "externalsecret_status_condition", component: "external-secrets", type: "gauge", labels: ["name", "namespace", "condition", "status"], source: ESO },
  { name: "externalsecret_sync_calls_error", component: "external-secrets", type: "counter", labels: ["name", "namespace"], source: ESO, note: "no _total: the name is given as is" },

  // cert-manager v1.21.1.
  { name: "certmanager_certificate_expiration_timestamp_seconds", component: "cert-manager", type: "gauge", labels: ["name", "namespace"], source: CERT_MANAGER, note: "0 until the certificate is first issued (updateCertificateExpiry: `expiryTime := 0.0` unless status.notAfter is set): read it with `> 0`" },
  { name: "certmanager_certificate_ready_status", component: "cert-manager", type: "gauge", labels: ["name", "namespace", "condition"], source: CERT_MANAGER },

  // postgres_exporter v0.20.1, one per database server, labelled with DATABASE_SERVER_LABEL.
  { name: "pg_up", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL], source: pg("exporter/postgres_exporter.go (Name: \"up\", namespace pg)") },
  { name: "pg_database_size_bytes", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL, "datname"], source: pg("collector/pg_database.go (default on)") },
  { name: "pg_stat_activity_count", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL, "datname", "state", "usename", "application_name"], source: pg("collector/pg_stat_activity.go (default on)") },
  { name: "pg_stat_activity_max_tx_duration", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL, "datname", "state", "backend_type"], source: pg("collector/pg_stat_activity.go (default on)") },
  { name: "pg_settings_max_connections", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL], source: pg("collector/pg_setting.go (pg_settings_<name> per integer setting, default on)") },
  { name: "pg_stat_replication_pg_wal_lsn_diff", component: "postgres", type: "gauge", labels: [DATABASE_SERVER_LABEL, "application_name"], source: pg("collector/pg_stat_replication.go (default on, on the primary)") },

  // Kubernetes, through kube-prometheus-stack 88.5.3's own scrapes.
  { name: "kube_pod_container_resource_limits", component: "kube-state-metrics", type: "gauge", labels: ["namespace", "pod", "container", "resource", "unit"], source: ksm("internal/store/pod.go") },
  { name: "kube_pod_container_status_waiting_reason", component: "kube-state-metrics", type: "gauge", labels: ["namespace", "pod", "container", "reason"], source: ksm("internal/store/pod.go") },
  { name: "kube_node_status_condition", component: "kube-state-metrics", type: "gauge", labels: ["node", "condition", "status"], source: ksm("internal/store/node.go") },
  { name: "node_cpu_seconds_total", component: "node-exporter", type: "counter", labels: ["instance", "cpu", "mode"], source: nodeExporter("collector/cpu_linux.go (namespace node, subsystem cpu)") },
  { name: "node_memory_MemAvailable_bytes", component: "node-exporter", type: "gauge", labels: ["instance"], source: nodeExporter("collector/meminfo.go (node_memory_<field of /proc/meminfo>_bytes)") },
  { name: "node_memory_MemTotal_bytes", component: "node-exporter", type: "gauge", labels: ["instance"], source: nodeExporter("collector/meminfo.go (node_memory_<field of /proc/meminfo>_bytes)") },
  { name: "container_memory_working_set_bytes", component: "cadvisor", type: "gauge", labels: ["namespace", "pod", "container"], source: cadvisor("container_memory_working_set_bytes") },
  { name: "container_cpu_usage_seconds_total", component: "cadvisor", type: "counter", labels: ["namespace", "pod", "container"], source: cadvisor("container_cpu_usage_seconds_total") },
  { name: "kubelet_volume_stats_used_bytes", component: "kubelet", type: "gauge", labels: ["namespace", "persistentvolumeclaim"], source: KUBELET_VOLUMES },
  { name: "kubelet_volume_stats_capacity_bytes", component: "kubelet", type: "gauge", labels: ["namespace", "persistentvolumeclaim"], source: KUBELET_VOLUMES },
  { name: "authentication_attempts", component: "apiserver", type: "counter", labels: ["result"], source: APISERVER_FILTERS, note: "401s: apiserver_request_total never counts them (kubernetes/kubernetes#86063). result `error` when an authenticator errs (an expired or badly signed token: recordAuthenticationMetrics `case err != nil`, and request/union/union.go returns the aggregated error), `failure` when none accepts without error; with anonymous auth on, such requests become system:anonymous instead (pkg/kubeapiserver/authenticator/config.go), so 401s are nearly all `error`" },
  { name: "authorization_attempts_total", component: "apiserver", type: "counter", labels: ["result"], source: APISERVER_FILTERS, note: "403s: result denied (or no-opinion from every authorizer)" },
  // Prometheus itself: the link to the metrics hub (hub.ts).
  { name: "up", component: "prometheus", type: "gauge", labels: ["environment"], source: PROMETHEUS_SCRAPE },
  { name: "prometheus_remote_storage_samples_failed_total", component: "prometheus", type: "counter", labels: ["remote_name", "pod"], source: PROMETHEUS_REMOTE },
  { name: "prometheus_remote_storage_queue_highest_sent_timestamp_seconds", component: "prometheus", type: "gauge", labels: ["remote_name", "pod"], source: PROMETHEUS_REMOTE },
];

export const METRIC_NAMES: ReadonlySet<string> = new Set(METRICS.map((metric) => metric.name));

/**
 * statsd_exporter mappings (the Airflow chart's `statsd.extraMappings`) that turn the data-quality
 * contract's statsd names into the same series the OTLP path produces. Any client may send them
 * to the Airflow statsd exporter (`<release>-statsd.airflow:9125/UDP`), with or without Airflow's
 * own `airflow.` prefix (Airflow's `Stats` client adds it).
 * Checked against statsd_exporter v0.28.0 pkg/mapper/mapper.go (match, name and label rules).
 */
/**
 * How long statsd_exporter keeps a data-quality gauge without a new report (mapping `ttl`,
 * statsd_exporter v0.28.0 pkg/mapper/mapping.go; without it a gauge is kept forever,
 * `defaults.ttl` 0): a day and an hour, so a daily check's score stays until its next run and a
 * removed or renamed check stops alerting a day after its last report. The counter has none:
 * a counter that vanished and came back would look new. docs/data-quality.md states how the
 * OTLP path differs (the collector drops a gauge 5 minutes after its last report).
 */
export const DATA_QUALITY_STATSD_GAUGE_TTL = "25h";

export const DATA_QUALITY_STATSD_MAPPINGS: readonly Record<string, unknown>[] = ["", "airflow."].flatMap((prefix) => [
  {
    match: `${prefix}data_quality.check.*.*.*`,
    match_metric_type: "counter",
    name: "data_quality_check_runs_total",
    labels: { pipeline: "$1", check: "$2", outcome: "$3" },
  },
  { match: `${prefix}data_quality.score.*.*`, match_metric_type: "gauge", name: "data_quality_score", labels: { pipeline: "$1", check: "$2" }, ttl: DATA_QUALITY_STATSD_GAUGE_TTL },
  { match: `${prefix}data_quality.threshold.*.*`, match_metric_type: "gauge", name: "data_quality_threshold", labels: { pipeline: "$1", check: "$2" }, ttl: DATA_QUALITY_STATSD_GAUGE_TTL },
]);

/**
 * Why Airbyte's sync metrics come from its database. Airbyte 2.2.0 publishes metrics through
 * Micrometer (OTLP), but its `AirbyteMetricMeterFilter` DENIES every meter in the COMMUNITY
 * edition (airbytehq/airbyte-platform db8783e5c1
 * airbyte-metrics/metrics-lib/src/main/kotlin/io/airbyte/metrics/config/AirbyteMetricMeterFilter.kt,
 * `accept()`), which is what the chart deploys (`global.edition: community`). So `syncs_total`
 * and the other OssMetricsRegistry names never reach the collector. The jobs and attempts tables
 * hold the same facts per connection: this query turns them into one row per active connection.
 *
 * The monitoring role never reads those tables (they hold connector configuration, possibly
 * secrets): the query is the body of a SECURITY DEFINER function owned by Airbyte's role, the
 * only thing the monitoring role may execute there (postgres.ts, `airbyteMonitoringSql`).
 * Tables are Airbyte's, in schema `public` (airbyte-db/db-lib DatabaseInitializer.kt `hasTable`
 * and FlywayDatabaseMigrator.kt `SCHEMAS = setOf("public")`).
 */
export const AIRBYTE_CONNECTIONS_SQL = [
  "WITH syncs AS (",
  "  SELECT j.id, j.scope AS connection_id, j.status::text AS status, j.created_at, j.started_at, j.updated_at",
  "  FROM public.jobs j WHERE j.config_type = 'sync' AND j.created_at > now() - interval '8 days'",
  "), latest AS (",
  "  SELECT DISTINCT ON (connection_id) connection_id, status FROM syncs",
  "  WHERE status IN ('succeeded', 'failed', 'cancelled') ORDER BY connection_id, updated_at DESC",
  "), failed_attempts AS (",
  "  SELECT j.scope AS connection_id, count(*) AS n FROM public.attempts a JOIN public.jobs j ON j.id = a.job_id",
  "  WHERE j.config_type = 'sync' AND a.status::text = 'failed' AND a.updated_at > now() - interval '1 hour' GROUP BY j.scope",
  ")",
  "SELECT c.id::text AS connection_id, c.name AS connection_name,",
  "  COALESCE(EXTRACT(EPOCH FROM max(s.updated_at) FILTER (WHERE s.status = 'succeeded')), 0) AS last_success_timestamp_seconds,",
  "  CASE WHEN l.status = 'failed' THEN 1 ELSE 0 END AS last_job_failed,",
  "  COALESCE(max(f.n), 0) AS failed_attempts_1h,",
  "  COALESCE(EXTRACT(EPOCH FROM now() - min(s.started_at) FILTER (WHERE s.status = 'running')), 0) AS running_seconds,",
  "  COALESCE(avg(EXTRACT(EPOCH FROM s.updated_at - s.started_at)) FILTER (WHERE s.status = 'succeeded' AND s.created_at > now() - interval '7 days'), 0) AS mean_success_duration_seconds,",
  "  CASE WHEN count(*) FILTER (WHERE s.status = 'succeeded' AND s.created_at > now() - interval '7 days') >= 3",
  "    THEN 604800.0 / count(*) FILTER (WHERE s.status = 'succeeded' AND s.created_at > now() - interval '7 days') ELSE 0 END AS mean_success_interval_seconds",
  "FROM public.connection c",
  "LEFT JOIN syncs s ON s.connection_id = c.id::text",
  "LEFT JOIN latest l ON l.connection_id = c.id::text",
  "LEFT JOIN failed_attempts f ON f.connection_id = c.id::text",
  "WHERE c.status::text = 'active'",
  "GROUP BY c.id, c.name, l.status",
].join("\n");

/** Schema and function (in Airbyte's database) that return AIRBYTE_CONNECTIONS_SQL's rows; created by postgres.ts. */
export const AIRBYTE_MONITORING_FUNCTION = { schema: "platform_monitoring", name: "airbyte_connections" } as const;

/**
 * postgres_exporter's queries file (`--extend.query-path`; format: v0.20.1 exporter/queries.go
 * `UserQueries`, parsed with gopkg.in/yaml.v2): the query name `airbyte_connection` prefixes each
 * column, giving the `airbyte_connection_*` gauges above (exporter/postgres_exporter.go
 * makeDescMap, `<namespace>_<column>`); LABEL columns become labels of every gauge. `master`:
 * run on the database of the DSN (exporter/namespace.go, exporter/datasource.go).
 */
export const AIRBYTE_JOBS_QUERIES = {
  airbyte_connection: {
    master: true,
    cache_seconds: 60,
    query: `SELECT * FROM ${AIRBYTE_MONITORING_FUNCTION.schema}.${AIRBYTE_MONITORING_FUNCTION.name}()`,
    metrics: [
      { connection_id: { usage: "LABEL", description: "Airbyte connection id" } },
      { connection_name: { usage: "LABEL", description: "Airbyte connection name" } },
      { last_success_timestamp_seconds: { usage: "GAUGE", description: "End of the last succeeded sync job (Unix seconds)" } },
      { last_job_failed: { usage: "GAUGE", description: "1 when the latest finished sync job failed" } },
      { failed_attempts_1h: { usage: "GAUGE", description: "Sync attempts that failed in the last hour" } },
      { running_seconds: { usage: "GAUGE", description: "Age of the running sync job" } },
      { mean_success_duration_seconds: { usage: "GAUGE", description: "Mean duration of succeeded sync jobs, 7 days" } },
      { mean_success_interval_seconds: { usage: "GAUGE", description: "Mean interval between succeeded sync jobs, 7 days" } },
    ],
  },
} as const;
