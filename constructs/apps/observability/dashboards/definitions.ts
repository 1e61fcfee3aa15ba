/**
 * The platform dashboards: few panels, the ones everyone reads. Every query groups by
 * `environment` so the ops Grafana shows prod and staging side by side.
 * `$__rate_interval` and `$__range` are Grafana's global variables, replaced before the query
 * reaches Prometheus.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { APP_CATALOGUE } from "../../../core/apps";
import { DATA_QUALITY_METRICS as DQ } from "./metrics";
import { dashboard, sel, stat, table, timeseries, type Section } from "./panels";


/** Every dashboard's uid: alerts link to them (rules.ts), so they are named once, here. */
export const DASHBOARD_UIDS = {
  dataJourney: "dp-data-journey",
  airflow: "dp-airflow",
  airbyte: "dp-airbyte",
  datahub: "dp-datahub-gms",
  traefik: "dp-traefik",
  postgres: "dp-postgresql",
  cluster: "dp-cluster",
} as const;

/**
 * Seconds since the last 10-minute window in which `counter` grew, per `by` labels, looking
 * back 7 days (a subquery: the counter itself never says when it last changed).
 */
function sinceLastIncrease(counter: string, by: string): string {
  return `time() - max by (${by}) (max_over_time(timestamp(sum by (${by}) (increase(${counter}[10m])) > 0)[7d:5m]))`;
}

const airflowJourney: Section = {
  title: "Airflow DAGs",
  panels: [
    table({
      title: "DAGs",
      description: "Per DAG: time since its last successful run (within 7 days), mean duration and number of successful and failed runs in the time range.",
      unit: "short",
      queries: [
        { expr: sinceLastIncrease(sel("airflow_dagrun_duration_count"), "environment, dag_id"), legend: "since last success", unit: "s" },
        { expr: `sum by (environment, dag_id) (increase(${sel("airflow_dagrun_duration_sum")}[$__range])) / sum by (environment, dag_id) (increase(${sel("airflow_dagrun_duration_count")}[$__range]))`, legend: "mean duration", unit: "s" },
        { expr: `sum by (environment, dag_id) (increase(${sel("airflow_dagrun_duration_count")}[$__range]))`, legend: "succeeded" },
        { expr: `sum by (environment, dag_id) (increase(${sel("airflow_dagrun_failed_count")}[$__range]))`, legend: "failed" },
      ],
    }),
    timeseries({
      title: "Failed DAG runs",
      description: "Failed DAG runs per hour, by DAG.",
      unit: "short",
      queries: [{ expr: `sum by (environment, dag_id) (increase(${sel("airflow_dagrun_failed_count")}[1h])) > 0`, legend: "{{environment}} {{dag_id}}" }],
    }),
    timeseries({
      title: "DAG run duration (p90)",
      description: "90th percentile of successful runs' duration, by DAG (statsd-exporter summary over its last 10 minutes).",
      unit: "s",
      queries: [{ expr: `max by (environment, dag_id) (${sel("airflow_dagrun_duration", 'quantile="0.9"')})`, legend: "{{environment}} {{dag_id}}" }],
    }),
  ],
};

/**
 * Airbyte labels each sync's counter with its job and attempt, so every attempt is a series of
 * its own: counting the series seen in a window counts the attempts that finished in it.
 */
const airbyteJourney: Section = {
  title: "Airbyte connections",
  panels: [
    table({
      title: "Connections",
      description: "Per connection: time since its last successful sync (within 7 days), duration of its last sync and sync attempts that failed in the time range.",
      unit: "short",
      queries: [
        { expr: `time() - max by (environment, connection_id) (max_over_time(timestamp(${sel("syncs_total", 'status="success"')})[7d:5m]))`, legend: "since last success", unit: "s" },
        { expr: `max by (environment, connection_id) (last_over_time(${sel("syncs_duration")}[$__range]))`, legend: "last duration", unit: "s" },
        { expr: `count by (environment, connection_id) (last_over_time(${sel("syncs_total", 'status="failed"')}[$__range]))`, legend: "failed attempts" },
      ],
    }),
    timeseries({
      title: "Failed sync attempts",
      description: "Sync attempts that failed per hour, by connection.",
      unit: "short",
      queries: [{ expr: `count by (environment, connection_id) (last_over_time(${sel("syncs_total", 'status="failed"')}[1h]))`, legend: "{{environment}} {{connection_id}}" }],
    }),
    timeseries({
      title: "Sync duration",
      description: "Duration of each connection's latest sync.",
      unit: "s",
      queries: [{ expr: `max by (environment, connection_id) (${sel("syncs_duration")})`, legend: "{{environment}} {{connection_id}}" }],
    }),
  ],
};

const qualityLabels = `environment, ${DQ.labels.pipeline}, ${DQ.labels.check}`;

const dataQuality: Section = {
  title: "Data quality",
  panels: [
    table({
      title: "Failing checks",
      description: "Data-quality checks that failed in the time range, by pipeline and check.",
      unit: "short",
      queries: [{ expr: `sum by (${qualityLabels}) (increase(${sel(DQ.failures)}[$__range])) > 0`, legend: "failures" }],
    }),
    timeseries({
      title: "Quality score and threshold",
      description: "Each check's score; it fails below its threshold.",
      unit: "percentunit",
      width: 24,
      queries: [
        { expr: `min by (${qualityLabels}) (${sel(DQ.score)})`, legend: "{{environment}} {{pipeline}} {{check}} score" },
        { expr: `max by (${qualityLabels}) (${sel(DQ.threshold)})`, legend: "{{environment}} {{pipeline}} {{check}} threshold" },
      ],
    }),
  ],
};

/** Which pipelines the overview shows: Airflow DAGs and Airbyte connections where those run. */
export interface JourneyOptions {
  readonly airflow: boolean;
  readonly airbyte: boolean;
}

export function dataJourney(options: JourneyOptions): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.dataJourney,
    title: "Data journey",
    description: "Per pipeline: last success, duration, failures and data quality.",
    sections: [...(options.airflow ? [airflowJourney] : []), ...(options.airbyte ? [airbyteJourney] : []), dataQuality],
  });
}

export function airflow(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.airflow,
    title: "Airflow",
    description: "Scheduler liveness, DAG runs and task slots (statsd exporter).",
    sections: [
      {
        title: "Scheduler",
        panels: [
          stat({ title: "Scheduler heartbeats", description: "Heartbeats per minute; 0 means no scheduler is running.", unit: "short", queries: [{ expr: `sum by (environment) (rate(${sel("airflow_scheduler_heartbeat")}[5m])) * 60`, legend: "{{environment}}" }] }),
          timeseries({
            title: "DAG runs",
            description: "DAG runs that succeeded and failed per hour.",
            unit: "short",
            width: 18,
            queries: [
              { expr: `sum by (environment) (increase(${sel("airflow_dagrun_duration_count")}[1h]))`, legend: "{{environment}} succeeded" },
              { expr: `sum by (environment) (increase(${sel("airflow_dagrun_failed_count")}[1h]))`, legend: "{{environment}} failed" },
            ],
          }),
        ],
      },
      {
        title: "Work",
        panels: [
          timeseries({
            title: "Tasks",
            description: "Task instances the executors run and hold queued.",
            unit: "short",
            queries: [
              { expr: `sum by (environment) (${sel("airflow_executor_running_tasks")})`, legend: "{{environment}} running" },
              { expr: `sum by (environment) (${sel("airflow_executor_queued_tasks")})`, legend: "{{environment}} queued" },
            ],
          }),
          timeseries({ title: "Starving tasks", description: "Tasks waiting for a pool slot, by pool.", unit: "short", queries: [{ expr: `sum by (environment, pool) (${sel("airflow_pool_starving_tasks")})`, legend: "{{environment}} {{pool}}" }] }),
          timeseries({ title: "Scheduling delay (p90)", description: "Delay between a run's scheduled time and its start, by DAG.", unit: "s", queries: [{ expr: `max by (environment, dag_id) (${sel("airflow_dagrun_schedule_delay", 'quantile="0.9"')})`, legend: "{{environment}} {{dag_id}}" }] }),
          timeseries({ title: "DAG run duration (p90)", description: "Duration of successful runs, by DAG.", unit: "s", queries: [{ expr: `max by (environment, dag_id) (${sel("airflow_dagrun_duration", 'quantile="0.9"')})`, legend: "{{environment}} {{dag_id}}" }] }),
        ],
      },
    ],
  });
}

export function airbyte(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.airbyte,
    title: "Airbyte",
    description: "Sync attempts, their duration and volume (Airbyte metrics through the OpenTelemetry collector).",
    sections: [
      {
        title: "Syncs",
        panels: [
          timeseries({ title: "Sync attempts", description: "Sync attempts finished per hour, by status.", unit: "short", queries: [{ expr: `count by (environment, status) (last_over_time(${sel("syncs_total")}[1h]))`, legend: "{{environment}} {{status}}" }] }),
          timeseries({ title: "Sync duration", description: "Duration of each connection's latest sync.", unit: "s", queries: [{ expr: `max by (environment, connection_id) (${sel("syncs_duration")})`, legend: "{{environment}} {{connection_id}}" }] }),
          timeseries({ title: "Data moved", description: "Gigabytes moved by each connection's latest sync.", unit: "decgbytes", width: 24, queries: [{ expr: `max by (environment, connection_id) (${sel("gb_moved")})`, legend: "{{environment}} {{connection_id}}" }] }),
        ],
      },
    ],
  });
}

const datahubNamespace = `namespace="${APP_CATALOGUE.datahub.namespace}"`;

export function datahub(): Dashboard {
  const requests = (...matchers: string[]) => `sum by (environment) (rate(${sel("http_server_requests_seconds_count", datahubNamespace, ...matchers)}[$__rate_interval]))`;
  return dashboard({
    uid: DASHBOARD_UIDS.datahub,
    title: "DataHub GMS",
    description: "Requests, errors, latency and heap of DataHub's metadata service.",
    sections: [
      {
        title: "GMS",
        panels: [
          timeseries({ title: "Requests", description: "Requests per second, by status.", unit: "reqps", queries: [{ expr: `sum by (environment, status) (rate(${sel("http_server_requests_seconds_count", datahubNamespace)}[$__rate_interval]))`, legend: "{{environment}} {{status}}" }] }),
          timeseries({ title: "Server errors", description: "Share of requests answered with 5xx.", unit: "percentunit", queries: [{ expr: `${requests('status=~"5.."')} / ${requests()}`, legend: "{{environment}}" }] }),
          timeseries({
            title: "Mean latency",
            description: "Mean request duration.",
            unit: "s",
            queries: [{ expr: `sum by (environment) (rate(${sel("http_server_requests_seconds_sum", datahubNamespace)}[$__rate_interval])) / ${requests()}`, legend: "{{environment}}" }],
          }),
          timeseries({ title: "Heap used", description: "JVM heap in use, by pod.", unit: "bytes", queries: [{ expr: `sum by (environment, pod) (${sel("jvm_memory_used_bytes", datahubNamespace, 'area="heap"')})`, legend: "{{environment}} {{pod}}" }] }),
        ],
      },
    ],
  });
}

export function traefik(): Dashboard {
  const service = (...matchers: string[]) => `sum by (environment, service) (rate(${sel("traefik_service_requests_total", ...matchers)}[$__rate_interval]))`;
  return dashboard({
    uid: DASHBOARD_UIDS.traefik,
    title: "Ingress (Traefik)",
    description: "Requests, 5xx ratio and latency at the ingress.",
    sections: [
      {
        title: "Traffic",
        panels: [
          timeseries({ title: "Requests", description: "Requests per second, by entrypoint.", unit: "reqps", queries: [{ expr: `sum by (environment, entrypoint) (rate(${sel("traefik_entrypoint_requests_total")}[$__rate_interval]))`, legend: "{{environment}} {{entrypoint}}" }] }),
          timeseries({ title: "5xx ratio", description: "Share of requests each backend service answered with 5xx.", unit: "percentunit", queries: [{ expr: `${service('code=~"5.."')} / ${service()}`, legend: "{{environment}} {{service}}" }] }),
          timeseries({
            title: "Latency (p95)",
            description: "95th percentile of request duration, by backend service.",
            unit: "s",
            width: 24,
            queries: [{ expr: `histogram_quantile(0.95, sum by (environment, service, le) (rate(${sel("traefik_service_request_duration_seconds_bucket")}[$__rate_interval])))`, legend: "{{environment}} {{service}}" }],
          }),
        ],
      },
    ],
  });
}

export function postgresql(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.postgres,
    title: "PostgreSQL",
    description: "Managed PostgreSQL servers through postgres_exporter: connections, replication, size, long transactions.",
    sections: [
      {
        title: "Servers",
        panels: [
          timeseries({
            title: "Connections vs max",
            description: "Backends connected and the server's max_connections.",
            unit: "short",
            queries: [
              { expr: `sum by (environment, instance) (${sel("pg_stat_database_numbackends")})`, legend: "{{environment}} {{instance}} connections" },
              { expr: `max by (environment, instance) (${sel("pg_settings_max_connections")})`, legend: "{{environment}} {{instance}} max" },
            ],
          }),
          timeseries({
            title: "Replication lag",
            description: "How far each read replica is behind its primary.",
            unit: "s",
            queries: [{ expr: `max by (environment, instance) (${sel("pg_replication_lag_seconds")} and on (environment, instance) ${sel("pg_replication_is_replica")} == 1)`, legend: "{{environment}} {{instance}}" }],
          }),
          timeseries({ title: "Database size", description: "Disk used by each database.", unit: "bytes", queries: [{ expr: `max by (environment, instance, datname) (${sel("pg_database_size_bytes")})`, legend: "{{environment}} {{datname}}" }] }),
          timeseries({ title: "Longest transaction", description: "Age of the oldest open transaction, by database.", unit: "s", queries: [{ expr: `max by (environment, instance, datname) (${sel("pg_stat_activity_max_tx_duration")})`, legend: "{{environment}} {{datname}}" }] }),
          timeseries({ title: "Active sessions", description: "Sessions running a query, by database.", unit: "short", width: 24, queries: [{ expr: `sum by (environment, instance, datname) (${sel("pg_stat_activity_count", 'state="active"')})`, legend: "{{environment}} {{datname}}" }] }),
        ],
      },
    ],
  });
}

export function cluster(): Dashboard {
  const container = "environment, namespace, pod, container";
  return dashboard({
    uid: DASHBOARD_UIDS.cluster,
    title: "Cluster resources",
    description: "Nodes, pods near their limits and volumes filling (kube-state-metrics, node-exporter, cAdvisor, kubelet).",
    sections: [
      {
        title: "Nodes",
        panels: [
          stat({ title: "Nodes not ready", description: "Nodes whose Ready condition is not true.", unit: "short", queries: [{ expr: `sum by (environment) (${sel("kube_node_status_condition", 'condition="Ready"', 'status!="true"')})`, legend: "{{environment}}" }] }),
          timeseries({ title: "Node CPU", description: "CPU busy, by node.", unit: "percentunit", width: 9, queries: [{ expr: `1 - avg by (environment, instance) (rate(${sel("node_cpu_seconds_total", 'mode="idle"')}[$__rate_interval]))`, legend: "{{environment}} {{instance}}" }] }),
          timeseries({
            title: "Node memory",
            description: "Memory in use, by node.",
            unit: "percentunit",
            width: 9,
            queries: [{ expr: `1 - sum by (environment, instance) (${sel("node_memory_MemAvailable_bytes")}) / sum by (environment, instance) (${sel("node_memory_MemTotal_bytes")})`, legend: "{{environment}} {{instance}}" }],
          }),
        ],
      },
      {
        title: "Pods and volumes",
        panels: [
          table({
            title: "Containers near their limits",
            description: "Containers using more than 80% of their memory or CPU limit.",
            unit: "percentunit",
            queries: [
              { expr: `max by (${container}) (${sel("container_memory_working_set_bytes", 'container!=""')}) / max by (${container}) (${sel("kube_pod_container_resource_limits", 'resource="memory"')}) > 0.8`, legend: "memory" },
              { expr: `sum by (${container}) (rate(${sel("container_cpu_usage_seconds_total", 'container!=""')}[$__rate_interval])) / max by (${container}) (${sel("kube_pod_container_resource_limits", 'resource="cpu"')}) > 0.8`, legend: "cpu" },
            ],
          }),
          timeseries({
            title: "Volumes used",
            description: "Share of each persistent volume in use.",
            unit: "percentunit",
            queries: [
              { expr: `max by (environment, namespace, persistentvolumeclaim) (${sel("kubelet_volume_stats_used_bytes")}) / max by (environment, namespace, persistentvolumeclaim) (${sel("kubelet_volume_stats_capacity_bytes")})`, legend: "{{environment}} {{namespace}}/{{persistentvolumeclaim}}" },
            ],
          }),
          timeseries({ title: "Crash-looping containers", description: "Containers waiting in CrashLoopBackOff, by pod.", unit: "short", queries: [{ expr: `sum by (environment, namespace, pod) (${sel("kube_pod_container_status_waiting_reason", 'reason="CrashLoopBackOff"')}) > 0`, legend: "{{environment}} {{namespace}}/{{pod}}" }] }),
        ],
      },
    ],
  });
}
