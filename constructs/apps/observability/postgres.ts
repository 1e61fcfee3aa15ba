/**
 * One PostgreSQL exporter per managed server of the spec (`env.databases`), in the monitoring
 * namespace, connecting over TLS as a least-privilege monitoring role that the bootstrap job
 * creates on that server.
 *
 * Exporter: prometheus-community/postgres_exporter v0.20.1 (cloud-neutral: plain SQL against
 * pg_stat_* views and pg_settings). Flags and metric names below are read from its source at tag
 * v0.20.1: cmd/postgres_exporter/main.go (flags), collector/collector.go (`--collector.<name>` /
 * `--no-collector.<name>`, namespace `pg`), exporter/datasource.go (DATA_SOURCE_URI,
 * DATA_SOURCE_USER, DATA_SOURCE_PASS) and the collector files named on each entry.
 */
import type { DatabaseSpec } from "../../core/spec";
import { tolerationOf } from "../common";
import type { Manifest } from "../helm";
import { credentialHandoverManifests, databaseBootstrapManifests, generatedCredentialManifests } from "../wiring";
import type { ObservabilityContext } from "./index";

/** The exporter image, pinned (Makefile DOCKER_REPO prometheuscommunity, image postgres-exporter; also on quay.io). */
export const POSTGRES_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.20.1";

/** Its listen port (Dockerfile EXPOSE 9187, flag `--web.listen-address` default `:9187`). */
export const POSTGRES_EXPORTER_PORT = { name: "metrics", port: 9187 } as const;

/** The image's user: `USER nobody` on quay.io/prometheus/busybox (uid and gid 65534). */
const NOBODY = 65534;

/** The monitoring role on every server. Not `pg_`-prefixed: PostgreSQL reserves those names. */
export const MONITORING_ROLE = "platform_monitor";

/** Shared by every exporter Service and ServiceMonitor. */
export const POSTGRES_EXPORTER_NAME = "postgres-exporter";

/**
 * Collectors switched on beyond the defaults, and default ones switched off, so the exporter runs
 * exactly the queries the alerts and dashboards need (v0.20.1 registerCollector defaults):
 * - `database` (default on, collector/pg_database.go): `pg_database_size_bytes{datname}`,
 *   `pg_database_connection_limit{datname}`;
 * - `settings` (default on, collector/pg_setting.go): `pg_settings_max_connections` and the
 *   other numeric settings;
 * - `stat_activity` (default on, collector/pg_stat_activity.go): `pg_stat_activity_count` and
 *   `pg_stat_activity_max_tx_duration` by datname, state, usename, application_name,
 *   backend_type, wait_event_type, wait_event (connections, active sessions);
 * - `stat_replication` (default on, collector/pg_stat_replication.go): on the primary, one
 *   series per connected replica, `pg_stat_replication_pg_wal_lsn_diff` (replay lag in bytes)
 *   by application_name, client_addr, state, slot_name;
 * - `replication` (default on, collector/pg_replication.go): `pg_replication_is_replica`,
 *   `pg_replication_lag_seconds` (0 on a primary);
 * - `long_running_transactions` (default OFF, enabled here, collector/pg_long_running_transactions.go):
 *   `pg_long_running_transactions`, `pg_long_running_transactions_oldest_timestamp_seconds`.
 * `pg_up` (exporter/postgres_exporter.go) is always exported.
 */
export const POSTGRES_EXPORTER_COLLECTORS = {
  enabled: ["database", "settings", "stat_activity", "stat_replication", "replication", "long_running_transactions"],
  disabled: ["locks", "replication_slots", "roles", "stat_bgwriter", "stat_database", "stat_user_tables", "statio_user_tables", "stat_archiver", "stat_progress_vacuum", "wal"],
} as const;

export function exporterArgs(): string[] {
  return [
    ...POSTGRES_EXPORTER_COLLECTORS.enabled.map((name) => `--collector.${name}`),
    ...POSTGRES_EXPORTER_COLLECTORS.disabled.map((name) => `--no-collector.${name}`),
    // The legacy metric map now holds only pg_stat_database_conflicts (exporter/postgres_exporter.go builtinMetricMaps).
    "--disable-default-metrics",
    "--log.format=json",
  ];
}

/**
 * Creates the monitoring role idempotently and (re)sets its password, as the server's admin:
 * LOGIN only, no database of its own, membership in `pg_monitor` (which brings
 * pg_read_all_settings, pg_read_all_stats and pg_stat_scan_tables), CONNECT on `postgres`
 * (the app databases revoke CONNECT from PUBLIC; pg_database_size of another database needs
 * CONNECT on it or pg_read_all_stats, which pg_monitor has).
 *
 * Who may grant pg_monitor on each managed service (the admin is never a superuser):
 * - RDS: the master user is in `rds_superuser`, which holds pg_monitor with ADMIN OPTION;
 * - Azure Flexible Server: the admin is in `azure_pg_admin`, which may grant pg_monitor;
 * - Cloud SQL: the built-in user is in `cloudsqlsuperuser`, which may grant pg_monitor.
 * A failed GRANT fails the job (ON_ERROR_STOP), and with it the release.
 */
const MONITORING_SQL = [
  "SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\\gexec",
  "ALTER ROLE :\"role\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT CONNECTION LIMIT 3 PASSWORD :'role_password';",
  "GRANT pg_monitor TO :\"role\";",
  "GRANT CONNECT ON DATABASE postgres TO :\"role\";",
].join("\n");

const monitoringScript = [
  "set -eu",
  'psql -v ON_ERROR_STOP=1 -v role="$MONITOR_USER" -v role_password="$MONITOR_PASSWORD" <<\'SQL\'',
  MONITORING_SQL,
  "SQL",
].join("\n");

/** Object names of one server's exporter. */
export function exporterNames(db: Pick<DatabaseSpec, "name">) {
  return {
    /** Deployment, Service and ServiceMonitor in the monitoring namespace. */
    exporter: `${POSTGRES_EXPORTER_NAME}-${db.name}`,
    /** The role's credential (bootstrap namespace, synced to the monitoring namespace). */
    credential: `postgres-monitor-${db.name}`,
    /** Prefix of the admin Secret and the bootstrap Job. */
    bootstrap: `postgres-monitor-${db.name}`,
  };
}

/** Labels of the exporter's pods and Service. */
export function exporterLabels(db: Pick<DatabaseSpec, "name">): Record<string, string> {
  return { "app.kubernetes.io/name": POSTGRES_EXPORTER_NAME, "app.kubernetes.io/instance": db.name, "app.kubernetes.io/part-of": "observability" };
}

const PORT = 5432;

function exporterManifests(ctx: ObservabilityContext, db: DatabaseSpec): Manifest[] {
  const names = exporterNames(db);
  const labels = exporterLabels(db);
  const host = ctx.services.databaseHost(db);
  const probe = { httpGet: { path: "/", port: POSTGRES_EXPORTER_PORT.name }, periodSeconds: 30, timeoutSeconds: 5 };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: names.exporter, namespace: ctx.namespace, labels },
      spec: {
        // One scraper per server: a second copy would double the queries and the series.
        replicas: 1,
        selector: { matchLabels: { "app.kubernetes.io/name": POSTGRES_EXPORTER_NAME, "app.kubernetes.io/instance": db.name } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // Stateless: may run on spot nodes.
            tolerations: [tolerationOf(ctx.services.spotTaint)],
            securityContext: { runAsNonRoot: true, runAsUser: NOBODY, runAsGroup: NOBODY, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "exporter",
                image: POSTGRES_EXPORTER_IMAGE,
                args: exporterArgs(),
                env: [
                  // TLS required, certificate not verified: the three services' CAs differ and the
                  // image ships none of them (same mode as the bootstrap job and the apps).
                  { name: "DATA_SOURCE_URI", value: `${host}:${PORT}/postgres?sslmode=require` },
                  { name: "DATA_SOURCE_USER", value: MONITORING_ROLE },
                  { name: "DATA_SOURCE_PASS", valueFrom: { secretKeyRef: { name: names.credential, key: "password" } } },
                ],
                ports: [{ name: POSTGRES_EXPORTER_PORT.name, containerPort: POSTGRES_EXPORTER_PORT.port, protocol: "TCP" }],
                readinessProbe: probe,
                livenessProbe: { ...probe, failureThreshold: 5 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
                resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: names.exporter, namespace: ctx.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector: { "app.kubernetes.io/name": POSTGRES_EXPORTER_NAME, "app.kubernetes.io/instance": db.name },
        ports: [{ name: POSTGRES_EXPORTER_PORT.name, port: POSTGRES_EXPORTER_PORT.port, targetPort: POSTGRES_EXPORTER_PORT.name, protocol: "TCP" }],
      },
    },
  ];
}

/**
 * Per server: the monitoring role's credential and its bootstrap job (bootstrap namespace), the
 * exporter (monitoring namespace); once: the handover of every role credential to the
 * monitoring namespace. The ServiceMonitors are in scrape.ts.
 */
export function postgresManifests(ctx: ObservabilityContext): Manifest[] {
  const databases = ctx.env.databases;
  if (databases.length === 0) return [];
  const tolerations = [tolerationOf(ctx.services.spotTaint)];
  const perServer = databases.flatMap((db) => {
    const names = exporterNames(db);
    return [
      ...generatedCredentialManifests(names.credential, { username: MONITORING_ROLE, password: "{{ .password }}" }),
      ...databaseBootstrapManifests({
        name: names.bootstrap,
        host: ctx.services.databaseHost(db),
        port: PORT,
        admin: ctx.services.adminCredentials(db),
        script: monitoringScript,
        env: [
          { name: "MONITOR_USER", value: MONITORING_ROLE },
          { name: "MONITOR_PASSWORD", valueFrom: { secretKeyRef: { name: names.credential, key: "password" } } },
        ],
        tolerations,
      }),
      ...exporterManifests(ctx, db),
    ];
  });
  const handover = credentialHandoverManifests(
    ctx.namespace,
    "postgres-monitor-credentials-reader",
    "postgres-monitor-credentials",
    databases.map((db) => exporterNames(db).credential),
  );
  return [...perServer, ...handover];
}
