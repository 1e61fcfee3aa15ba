/**
 * Every metric name the platform dashboards query, with where it is defined at the version the
 * platform runs. The tests fail when a query uses a name missing here, or a name here is unused.
 */

/**
 * The data-quality metric contract (issue 10, item 3): names any check (dbt tests, Great
 * Expectations, Airflow SQL checks) emits through statsd or OTLP, labelled `pipeline` and `check`.
 * PLACEHOLDER NAMES until aligned with the contract the rules define: change them here only.
 */
export const DATA_QUALITY_METRICS = {
  /** Counter: failed evaluations of a check. */
  failures: "data_quality_check_failures_total",
  /** Gauge: the check's latest score (for example the share of rows passing). */
  score: "data_quality_score",
  /** Gauge: the score below which the check fails. */
  threshold: "data_quality_score_threshold",
  /** Labels every data-quality series carries besides `environment`. */
  labels: { pipeline: "pipeline", check: "check" },
} as const;

export interface DashboardMetric {
  readonly name: string;
  /** Component that exports it, at the version the platform pins. */
  readonly exporter: string;
  /** Where the name is defined: repository, tag or commit, file. */
  readonly source: string;
}

const AIRFLOW_MAPPINGS =
  "apache/airflow@f17d6ffb (helm-chart 1.19.0 release commit) chart/files/statsd-mappings.yml; emitted by airflow-core (3.1.7) as statsd timers/gauges, exported by statsd-exporter v0.28.0 (timers as summaries: <name>{quantile}, <name>_sum, <name>_count)";
const AIRBYTE_REGISTRY =
  "airbytehq/airbyte-platform@310e6cb6 (main 2026-08-21; chart 2.2.0 released 2026-08-10, no tag in the mirror) airbyte-metrics/metrics-lib/src/main/kotlin/io/airbyte/metrics/OssMetricsRegistry.kt, emitted in airbyte-container-orchestrator/.../ReplicationJobOrchestrator.kt (labels connection_id, status=success|failed); the collector's prometheus exporter appends _total to counters";
const TRAEFIK = "traefik/traefik@v3.7.9 pkg/observability/metrics/prometheus.go";
const POSTGRES = "prometheus-community/postgres_exporter@v0.20.1";
const KPS = "used by kube-prometheus-stack-88.5.3 charts/kube-prometheus-stack/templates";
const MICROMETER = "Micrometer's Prometheus naming of Spring Boot's http.server.requests and jvm.memory.used, served by DataHub v1.7.0 GMS on /actuator/prometheus (datahub chart 1.1.0 global.datahub.monitoring.metricsMode jmx_and_actuator)";

export const DASHBOARD_METRICS: readonly DashboardMetric[] = [
  { name: "airflow_dagrun_duration", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.dagrun.duration.success.*` },
  { name: "airflow_dagrun_duration_count", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.dagrun.duration.success.*` },
  { name: "airflow_dagrun_duration_sum", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.dagrun.duration.success.*` },
  { name: "airflow_dagrun_failed_count", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.dagrun.duration.failed.*` },
  { name: "airflow_dagrun_schedule_delay", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.dagrun.schedule_delay.*` },
  { name: "airflow_scheduler_heartbeat", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.scheduler_heartbeat` },
  { name: "airflow_executor_running_tasks", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.executor.running_tasks.*` },
  { name: "airflow_executor_queued_tasks", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.executor.queued_tasks.*` },
  { name: "airflow_pool_starving_tasks", exporter: "Airflow statsd exporter", source: `${AIRFLOW_MAPPINGS}: airflow.pool.starving_tasks.*` },
  { name: "syncs_total", exporter: "Airbyte via OTel collector", source: `${AIRBYTE_REGISTRY}: SYNC_STATUS "syncs"` },
  { name: "syncs_duration", exporter: "Airbyte via OTel collector", source: `${AIRBYTE_REGISTRY}: SYNC_DURATION "syncs_duration" (gauge, seconds)` },
  { name: "gb_moved", exporter: "Airbyte via OTel collector", source: `${AIRBYTE_REGISTRY}: SYNC_GB_MOVED "gb_moved" (gauge)` },
  { name: DATA_QUALITY_METRICS.failures, exporter: "data-quality checks", source: "data-quality metric contract (issue 10): placeholder, see DATA_QUALITY_METRICS" },
  { name: DATA_QUALITY_METRICS.score, exporter: "data-quality checks", source: "data-quality metric contract (issue 10): placeholder, see DATA_QUALITY_METRICS" },
  { name: DATA_QUALITY_METRICS.threshold, exporter: "data-quality checks", source: "data-quality metric contract (issue 10): placeholder, see DATA_QUALITY_METRICS" },
  { name: "http_server_requests_seconds_count", exporter: "DataHub GMS", source: MICROMETER },
  { name: "http_server_requests_seconds_sum", exporter: "DataHub GMS", source: MICROMETER },
  { name: "jvm_memory_used_bytes", exporter: "DataHub GMS", source: MICROMETER },
  { name: "traefik_entrypoint_requests_total", exporter: "Traefik", source: `${TRAEFIK}: entryPointReqsTotalName (code, method, protocol, entrypoint)` },
  { name: "traefik_service_requests_total", exporter: "Traefik", source: `${TRAEFIK}: serviceReqsTotalName (code, method, protocol, service)` },
  { name: "traefik_service_request_duration_seconds_bucket", exporter: "Traefik", source: `${TRAEFIK}: serviceReqDurationName (histogram)` },
  { name: "pg_stat_database_numbackends", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_stat_database.go` },
  { name: "pg_settings_max_connections", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_setting.go (pg_settings_<name>)` },
  { name: "pg_replication_lag_seconds", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_replication.go` },
  { name: "pg_replication_is_replica", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_replication.go` },
  { name: "pg_database_size_bytes", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_database.go` },
  { name: "pg_stat_activity_max_tx_duration", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_stat_activity.go` },
  { name: "pg_stat_activity_count", exporter: "postgres_exporter", source: `${POSTGRES} collector/pg_stat_activity.go` },
  { name: "kube_node_status_condition", exporter: "kube-state-metrics 2.20.0", source: `${KPS}/prometheus/rules-1.14/kubernetes-system-kubelet.yaml` },
  { name: "kube_pod_container_resource_limits", exporter: "kube-state-metrics 2.20.0", source: `${KPS}/grafana/dashboards-1.14/k8s-resources-cluster.yaml` },
  { name: "kube_pod_container_status_waiting_reason", exporter: "kube-state-metrics 2.20.0", source: `${KPS}/prometheus/rules-1.14/kubernetes-apps.yaml` },
  { name: "node_cpu_seconds_total", exporter: "node-exporter 1.12.1", source: `${KPS}/grafana/dashboards-1.14/nodes-aix.yaml` },
  { name: "node_memory_MemAvailable_bytes", exporter: "node-exporter 1.12.1", source: `${KPS}/grafana/dashboards-1.14/k8s-resources-cluster.yaml` },
  { name: "node_memory_MemTotal_bytes", exporter: "node-exporter 1.12.1", source: `${KPS}/grafana/dashboards-1.14/k8s-resources-cluster.yaml` },
  { name: "container_memory_working_set_bytes", exporter: "kubelet cAdvisor", source: `${KPS}/grafana/dashboards-1.14/k8s-resources-namespace.yaml` },
  { name: "container_cpu_usage_seconds_total", exporter: "kubelet cAdvisor", source: `${KPS}/grafana/dashboards-1.14/k8s-resources-cluster.yaml` },
  { name: "kubelet_volume_stats_used_bytes", exporter: "kubelet", source: `${KPS}/prometheus/rules-1.14/kubernetes-storage.yaml` },
  { name: "kubelet_volume_stats_capacity_bytes", exporter: "kubelet", source: `${KPS}/grafana/dashboards-1.14/persistentvolumesusage.yaml` },
  { name: "up", exporter: "Prometheus (every scrape target)", source: "prometheus/prometheus: the synthetic `up` series of every target (environment variable's values)" },
];
