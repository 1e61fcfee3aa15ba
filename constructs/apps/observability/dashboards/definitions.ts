/**
 * The platform dashboards: few panels, the ones everyone reads. Every aggregation keeps
 * `environment` (`sum by (environment, ...)`) and every legend names it, so the ops Grafana shows
 * prod and staging side by side, never summed. Every metric name is one of the catalogue
 * (../metrics.ts), with where its exporter defines it at the pinned version.
 * `$__rate_interval` and `$__range` are Grafana's global variables, replaced before the query
 * reaches Prometheus.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { APP_CATALOGUE } from "../../../core/apps";
import { airbyteOverdue, AIRBYTE_OVERDUE_FACTOR, airflowSuccesses, DATABASE_SERVER_LABEL } from "../metrics";
import { dashboard, ENVIRONMENT_MATCHER, sel, stat, table, timeseries, type Section } from "./panels";

/**
 * A section several dashboards share, built on first use (its panels load the SDK: panels.ts
 * `sdk()`) and the same panel builders every use after, as a module constant would be.
 */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}


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
 * Seconds since the last success of each DAG, looking back 7 days: the same successes the
 * AirflowDagOverdue alert records (a change of the count, or a new count series, in each
 * 5-minute step of a subquery: the counter itself never says when it last changed).
 */
function sinceLastSuccess(counter: string, by: string): string {
  return `time() - max by (${by}) (max_over_time(timestamp(${airflowSuccesses(counter, by)})[7d:5m]))`;
}

const airflowJourney = once((): Section => ({
  title: "Airflow DAGs",
  panels: [
    table({
      title: "DAGs",
      description: "Per DAG: time since its last successful run (within 7 days), mean duration and number of successful and failed runs in the time range.",
      unit: "short",
      queries: [
        { expr: sinceLastSuccess(sel("airflow_dagrun_duration_count"), "environment, dag_id"), legend: "since last success", unit: "s" },
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
}));

/**
 * Airbyte 2.2.0 Community publishes no sync metric (metrics.ts, AIRBYTE_JOBS_QUERIES): the
 * `airbyte_connection_*` gauges come from its jobs database through the PostgreSQL exporter, one
 * series per active connection, labelled `connection_id` and `connection_name`.
 */
const connection = "environment, connection_name, connection_id";

/** One row per connection: last success, failures, whether one runs now, and what is usual. */
function connectionsTable(): ReturnType<typeof table> {
  const gauge = (name: string, ...matchers: string[]) => `max by (${connection}) (${sel(name, ...matchers)})`;
  return table({
    title: "Connections",
    description: "Per active connection: time since its last successful sync (within 8 days), whether its latest finished sync failed, failed attempts in the last hour, how long the running sync has run, and the usual duration and interval of its successful syncs (7 days).",
    unit: "s",
    queries: [
      { expr: `time() - max by (${connection}) (${sel("airbyte_connection_last_success_timestamp_seconds")} > 0)`, legend: "since last success" },
      { expr: gauge("airbyte_connection_last_job_failed"), legend: "latest failed", unit: "bool_yes_no" },
      { expr: gauge("airbyte_connection_failed_attempts_1h"), legend: "failed attempts (1h)", unit: "short" },
      { expr: gauge("airbyte_connection_running_seconds"), legend: "running for" },
      { expr: gauge("airbyte_connection_mean_success_duration_seconds"), legend: "usual duration" },
      { expr: gauge("airbyte_connection_mean_success_interval_seconds"), legend: "usual interval" },
    ],
  });
}

const failedAttempts = () =>
  timeseries({
    title: "Failed sync attempts (last hour)",
    description: "Sync attempts of each connection that failed in the hour before each point.",
    unit: "short",
    queries: [{ expr: `max by (${connection}) (${sel("airbyte_connection_failed_attempts_1h")}) > 0`, legend: "{{environment}} {{connection_name}}" }],
  });

const airbyteJourney = once((): Section => ({
  title: "Airbyte connections",
  panels: [
    connectionsTable(),
    failedAttempts(),
    timeseries({
      title: "Running syncs",
      description: "How long each running sync has run; compare with the connection's usual duration in the table.",
      unit: "s",
      queries: [{ expr: `max by (${connection}) (${sel("airbyte_connection_running_seconds")}) > 0`, legend: "{{environment}} {{connection_name}}" }],
    }),
  ],
}));

/** The data-quality contract (docs/data-quality.md): labels `pipeline` and `check` on every series. */
const quality = "environment, pipeline, check";

const dataQuality = once((): Section => ({
  title: "Data quality",
  panels: [
    table({
      title: "Failing checks",
      description: "Check runs that failed (outcome fail) or could not run (outcome error) in the time range, by pipeline and check.",
      unit: "short",
      queries: [
        { expr: `sum by (${quality}) (increase(${sel("data_quality_check_runs_total", 'outcome="fail"')}[$__range])) > 0`, legend: "failed runs" },
        { expr: `sum by (${quality}) (increase(${sel("data_quality_check_runs_total", 'outcome="error"')}[$__range])) > 0`, legend: "errored runs" },
      ],
    }),
    timeseries({
      title: "Quality score and threshold",
      description: "Each check's latest score and its threshold; the check fails below it.",
      unit: "percentunit",
      width: 24,
      queries: [
        { expr: `min by (${quality}) (${sel("data_quality_score")})`, legend: "{{environment}} {{pipeline}} {{check}} score" },
        { expr: `max by (${quality}) (${sel("data_quality_threshold")})`, legend: "{{environment}} {{pipeline}} {{check}} threshold" },
      ],
    }),
  ],
}));

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
    sections: [...(options.airflow ? [airflowJourney()] : []), ...(options.airbyte ? [airbyteJourney()] : []), dataQuality()],
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
              { expr: `sum by (environment, executor) (${sel("airflow_executor_running_tasks")})`, legend: "{{environment}} {{executor}} running" },
              { expr: `sum by (environment, executor) (${sel("airflow_executor_queued_tasks")})`, legend: "{{environment}} {{executor}} queued" },
            ],
          }),
          timeseries({ title: "Starving tasks", description: "Tasks waiting for a pool slot, by pool.", unit: "short", queries: [{ expr: `sum by (environment, pool) (${sel("airflow_pool_starving_tasks")})`, legend: "{{environment}} {{pool}}" }] }),
          timeseries({ title: "DAG run duration (p90)", description: "Duration of successful runs, by DAG.", unit: "s", width: 24, queries: [{ expr: `max by (environment, dag_id) (${sel("airflow_dagrun_duration", 'quantile="0.9"')})`, legend: "{{environment}} {{dag_id}}" }] }),
        ],
      },
    ],
  });
}

export function airbyte(): Dashboard {
  const perEnvironment = (name: string) => `sum by (environment) (${sel(name)})`;
  return dashboard({
    uid: DASHBOARD_UIDS.airbyte,
    title: "Airbyte",
    description: "Sync health per connection, from Airbyte's jobs database (Airbyte 2.2.0 Community publishes no sync metric).",
    sections: [
      {
        title: "Now",
        panels: [
          stat({ title: "Latest sync failed", description: "Connections whose latest finished sync failed.", unit: "short", queries: [{ expr: perEnvironment("airbyte_connection_last_job_failed"), legend: "{{environment}}" }] }),
          stat({ title: "Failed attempts (1h)", description: "Sync attempts that failed in the last hour, all connections.", unit: "short", queries: [{ expr: perEnvironment("airbyte_connection_failed_attempts_1h"), legend: "{{environment}}" }] }),
          stat({ title: "Syncs running", description: "Connections with a sync running now.", unit: "short", queries: [{ expr: `count by (environment) (${sel("airbyte_connection_running_seconds")} > 0)`, legend: "{{environment}}" }] }),
          stat({
            title: "Overdue connections",
            description: `Connections whose last success is older than ${AIRBYTE_OVERDUE_FACTOR} times their usual interval between successful syncs (and an hour): the AirbyteSyncOverdue alert's rule.`,
            unit: "short",
            queries: [{ expr: `count by (environment) (${airbyteOverdue(ENVIRONMENT_MATCHER)})`, legend: "{{environment}}" }],
          }),
        ],
      },
      { title: "Connections", panels: [connectionsTable()] },
      {
        title: "Over time",
        panels: [
          failedAttempts(),
          timeseries({
            title: "Since last success vs usual interval",
            description: "Time since each connection's last successful sync (solid) and its usual interval between successful syncs (7 days).",
            unit: "s",
            queries: [
              { expr: `time() - max by (${connection}) (${sel("airbyte_connection_last_success_timestamp_seconds")} > 0)`, legend: "{{environment}} {{connection_name}} since last success" },
              { expr: `max by (${connection}) (${sel("airbyte_connection_mean_success_interval_seconds")} > 0)`, legend: "{{environment}} {{connection_name}} usual interval" },
            ],
          }),
          timeseries({
            title: "Running time vs usual duration",
            description: "How long each running sync has run, and the connection's mean successful sync duration (7 days).",
            unit: "s",
            width: 24,
            queries: [
              { expr: `max by (${connection}) (${sel("airbyte_connection_running_seconds")}) > 0`, legend: "{{environment}} {{connection_name}} running" },
              { expr: `max by (${connection}) (${sel("airbyte_connection_mean_success_duration_seconds")} > 0)`, legend: "{{environment}} {{connection_name}} usual duration" },
            ],
          }),
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

/** Series of each spec database server carry its name (scrape.ts sets it on the exporter's target). */
const server = `environment, ${DATABASE_SERVER_LABEL}`;

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
            description: "Sessions connected to each server (every state) and its max_connections.",
            unit: "short",
            queries: [
              { expr: `sum by (${server}) (${sel("pg_stat_activity_count")})`, legend: "{{environment}} {{database_server}} connections" },
              { expr: `max by (${server}) (${sel("pg_settings_max_connections")})`, legend: "{{environment}} {{database_server}} max" },
            ],
          }),
          timeseries({
            title: "Replication lag",
            description: "WAL each read replica has still to replay, as its primary sees it (pg_stat_replication).",
            unit: "bytes",
            queries: [{ expr: `max by (${server}, application_name) (${sel("pg_stat_replication_pg_wal_lsn_diff")})`, legend: "{{environment}} {{database_server}} {{application_name}}" }],
          }),
          timeseries({ title: "Database size", description: "Disk used by each database.", unit: "bytes", queries: [{ expr: `max by (${server}, datname) (${sel("pg_database_size_bytes")})`, legend: "{{environment}} {{database_server}}/{{datname}}" }] }),
          timeseries({ title: "Longest transaction", description: "Age of the oldest open transaction of a client, by database (autovacuum and WAL senders left out).", unit: "s", queries: [{ expr: `max by (${server}, datname) (${sel("pg_stat_activity_max_tx_duration", 'backend_type="client backend"')})`, legend: "{{environment}} {{database_server}}/{{datname}}" }] }),
          timeseries({
            title: "Connections by client",
            description: "Sessions per application and user: who holds the connections.",
            unit: "short",
            queries: [{ expr: `sum by (${server}, application_name, usename) (${sel("pg_stat_activity_count")}) > 0`, legend: "{{environment}} {{database_server}} {{application_name}} {{usename}}" }],
          }),
          timeseries({ title: "Active sessions", description: "Sessions running a query, by database.", unit: "short", queries: [{ expr: `sum by (${server}, datname) (${sel("pg_stat_activity_count", 'state="active"')})`, legend: "{{environment}} {{database_server}}/{{datname}}" }] }),
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
    description: "Nodes, pods near their limits, volumes filling, secrets and certificates (kube-state-metrics, node-exporter, cAdvisor, kubelet, External Secrets, cert-manager).",
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
      {
        title: "Secrets and certificates",
        panels: [
          timeseries({
            title: "Secrets not synced",
            description: "ExternalSecrets whose Ready condition is False: the Kubernetes Secret no longer follows the cloud's secret store.",
            unit: "short",
            width: 8,
            queries: [{ expr: `max by (environment, namespace, name) (${sel("externalsecret_status_condition", 'condition="Ready"', 'status="False"')}) == 1`, legend: "{{environment}} {{namespace}}/{{name}}" }],
          }),
          timeseries({
            title: "Secret sync errors",
            description: "Failed syncs per hour, by ExternalSecret.",
            unit: "short",
            width: 8,
            queries: [{ expr: `sum by (environment, namespace, name) (increase(${sel("externalsecret_sync_calls_error")}[1h])) > 0`, legend: "{{environment}} {{namespace}}/{{name}}" }],
          }),
          timeseries({
            title: "Certificate lifetime left",
            description: "Time until each issued cert-manager certificate expires (one not issued yet reports 0 and is left out); cert-manager renews at two thirds of its lifetime.",
            unit: "s",
            width: 8,
            queries: [{ expr: `min by (environment, namespace, name) (${sel("certmanager_certificate_expiration_timestamp_seconds")} > 0) - time()`, legend: "{{environment}} {{namespace}}/{{name}}" }],
          }),
        ],
      },
    ],
  });
}
