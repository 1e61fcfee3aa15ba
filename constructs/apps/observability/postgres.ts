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
import type { DatabaseSpec, Environment } from "../../core/spec";
import { tolerationOf } from "../common";
import type { Manifest } from "../helm";
import { credentialHandoverManifests, databaseBootstrapManifests, generatedCredentialManifests } from "../wiring";
import type { ObservabilityContext } from "./index";
import { AIRBYTE_CONNECTIONS_SQL, AIRBYTE_JOBS_QUERIES, AIRBYTE_MONITORING_FUNCTION } from "./metrics";

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

/**
 * Every collector registered `defaultEnabled` at v0.20.1 (collector/*.go `registerCollector`
 * calls); the Airbyte exporter switches all of them off.
 */
export const POSTGRES_EXPORTER_DEFAULT_COLLECTORS = [
  "database", "locks", "replication", "replication_slots", "roles", "settings", "stat_activity", "stat_archiver",
  "stat_bgwriter", "stat_database", "stat_progress_vacuum", "stat_replication", "stat_user_tables", "statio_user_tables", "wal",
] as const;

/** The system databases RDS, Azure Flexible Server and Cloud SQL keep for themselves. */
const MANAGED_SYSTEM_DATABASES = ["rdsadmin", "azure_maintenance", "cloudsqladmin"] as const;

export function exporterArgs(): string[] {
  return [
    ...POSTGRES_EXPORTER_COLLECTORS.enabled.map((name) => `--collector.${name}`),
    ...POSTGRES_EXPORTER_COLLECTORS.disabled.map((name) => `--no-collector.${name}`),
    // The legacy metric map now holds only pg_stat_database_conflicts (exporter/postgres_exporter.go builtinMetricMaps).
    "--disable-default-metrics",
    // The managed services' own databases: the `database` collector stops at the first database
    // whose size it cannot read (collector/pg_database.go v0.20.1 returns on the first error;
    // prometheus-community/postgres_exporter#681: `rdsadmin` on RDS), and every app database
    // comes after it. Names that do not exist on a server are ignored.
    `--exclude-databases=${MANAGED_SYSTEM_DATABASES.join(",")}`,
    "--log.format=json",
  ];
}

/**
 * Creates the monitoring role idempotently and (re)sets its password, as the server's admin:
 * LOGIN only, no database of its own, membership in `pg_monitor` (which brings
 * pg_read_all_settings, pg_read_all_stats and pg_stat_scan_tables). It connects to `postgres`
 * through PUBLIC's default CONNECT there (an admin who does not own `postgres` could not grant it:
 * GRANT would only warn); the app databases revoke CONNECT from PUBLIC, and pg_database_size of
 * them needs CONNECT or pg_read_all_stats, which pg_monitor has.
 *
 * Who may grant pg_monitor on each managed service (the admin is never a superuser; PostgreSQL 16
 * requires ADMIN OPTION on pg_monitor for it). Not found stated in the providers' documentation:
 * the first apply on each cloud shows it (the job fails, and the release with it, if not):
 * - RDS: the master user is in `rds_superuser`, which holds pg_monitor with ADMIN OPTION;
 * - Azure Flexible Server: the admin is in `azure_pg_admin`, which may grant pg_monitor;
 * - Cloud SQL: the built-in user is in `cloudsqlsuperuser`, which may grant pg_monitor.
 * A failed GRANT fails the job (ON_ERROR_STOP), and with it the release.
 */
function monitoringSql(connectionLimit: number): string[] {
  return [
    "SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\\gexec",
    // Only attributes a non-superuser admin may set: PostgreSQL refuses (NO)SUPERUSER,
    // (NO)REPLICATION and (NO)BYPASSRLS from anyone but a superuser (or a holder of that
    // attribute) in ALTER ROLE (src/backend/commands/user.c AlterRole, REL_15 and REL_16), and no
    // managed service's admin is one. A new role has none of them anyway.
    `ALTER ROLE :"role" WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT ${connectionLimit};`,
    // On its own: a failing statement is written to the server log with its text.
    `ALTER ROLE :"role" WITH PASSWORD :'role_password';`,
    'GRANT pg_monitor TO :"role";',
  ];
}

/**
 * Connections one exporter may hold at once (v0.20.1): the legacy exporter's one pooled
 * connection (exporter/server.go NewServer, SetMaxOpenConns(1)), plus one opened per scrape by
 * the collector package even when every collector is off (collector/collector.go Collect,
 * collector/instance.go setup: `SELECT version()`), and production runs two Prometheus replicas
 * that scrape independently (monitoring.ts); with headroom for scrapes Prometheus abandoned at its
 * timeout whose connection the exporter still holds (up to its 1-minute query timeout).
 */
const CONNECTIONS_PER_EXPORTER = 5;

/** Airbyte's database, and the role that owns it: stacks/apps.ts names both after the app. */
export const AIRBYTE_DATABASE = "airbyte";

/** The server that holds Airbyte's database, when the environment runs Airbyte. */
export function airbyteServer(env: Environment): DatabaseSpec | undefined {
  const app = env.apps.find((one) => one.name === "airbyte");
  return app?.database === undefined ? undefined : env.databases.find((db) => db.name === app.database);
}

/** PostgreSQL type of each column the function returns: LABEL columns are text, GAUGE columns numbers. */
function airbyteFunctionColumns(): [string, string][] {
  return AIRBYTE_JOBS_QUERIES.airbyte_connection.metrics.flatMap((entry) =>
    Object.entries(entry).map(([column, mapping]): [string, string] => [column, mapping.usage === "LABEL" ? "text" : "double precision"]),
  );
}

/**
 * Lets the monitoring role read Airbyte's sync facts WITHOUT reading Airbyte's tables, which hold
 * connector configuration and possibly secrets. Run by the admin on the server Airbyte uses,
 * after Airbyte's wiring created its database and role (the Observability release waits for it):
 *
 * - `SET ROLE airbyte`: the admin may, through `GRANT airbyte TO CURRENT_USER` in the app
 *   bootstrap (wiring.ts). PostgreSQL 15: any member may SET ROLE to the role (doc/src/sgml/ref/
 *   set_role.sgml, REL_15). 16 and 17: the grant needs the SET option, which GRANT gives by
 *   default ("This option defaults to TRUE", doc/src/sgml/ref/grant.sgml, REL_16_STABLE); the
 *   implicit grant a CREATEROLE user gets on a role it creates has SET FALSE, and granting the
 *   role back to oneself is the documented way to gain it (doc/src/sgml/user-manag.sgml,
 *   createrole_self_grant). The app bootstrap relies on the same right for CREATE DATABASE ... OWNER.
 * - Everything created as `airbyte` is owned by it: the schema, and the function, which runs
 *   with its owner's rights (SECURITY DEFINER) and a fixed search_path with pg_temp last
 *   (doc/src/sgml/ref/create_function.sgml, "Writing SECURITY DEFINER Functions Safely").
 * - The function is dropped and created in one transaction with its REVOKE FROM PUBLIC and its
 *   GRANT, so no session ever sees it executable by PUBLIC (functions are created with EXECUTE
 *   for PUBLIC), and a changed column list applies (CREATE OR REPLACE cannot change a
 *   function's result type). Idempotent: every run leaves the same state.
 * - PL/pgSQL resolves the tables only when the function first runs ("individual SQL expressions
 *   and SQL commands used in the function are not translated immediately", doc/src/sgml/
 *   plpgsql.sgml, Plan Caching; CREATE FUNCTION's validator checks syntax only), so it can be
 *   created before Airbyte's migrations; until they ran, the exporter's query fails and
 *   `pg_exporter_last_scrape_error` is 1.
 * - `#variable_conflict use_column` (plpgsql.sgml, Variable Substitution): the result columns
 *   are also PL/pgSQL variables, and the query names columns the same way.
 * - RETURN QUERY needs the result types exactly: each column is cast to its declared type.
 * - Tables are Airbyte's, in `public` (metrics.ts); a separate schema keeps Airbyte's Flyway
 *   migrations, which manage `public` only, unaffected.
 * The monitoring role gets CONNECT on the database, USAGE on the schema and EXECUTE on the
 * function: nothing else.
 */
export function airbyteMonitoringSql(): string[] {
  const { schema, name } = AIRBYTE_MONITORING_FUNCTION;
  const fn = `${schema}.${name}()`;
  const columns = airbyteFunctionColumns();
  const quote = `$${name}$`;
  return [
    `\\connect ${AIRBYTE_DATABASE}`,
    `SET ROLE ${AIRBYTE_DATABASE};`,
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    "BEGIN;",
    `DROP FUNCTION IF EXISTS ${fn};`,
    `CREATE FUNCTION ${fn}`,
    `  RETURNS TABLE (${columns.map(([column, type]) => `${column} ${type}`).join(", ")})`,
    "  LANGUAGE plpgsql STABLE SECURITY DEFINER",
    "  SET search_path = pg_catalog, public, pg_temp",
    `AS ${quote}`,
    "#variable_conflict use_column",
    "BEGIN",
    `  RETURN QUERY SELECT ${columns.map(([column, type]) => `q.${column}::${type}`).join(", ")} FROM (`,
    ...AIRBYTE_CONNECTIONS_SQL.split("\n").map((line) => `    ${line}`),
    "  ) AS q;",
    "END",
    `${quote};`,
    `REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${fn} TO :"role";`,
    "COMMIT;",
    `GRANT USAGE ON SCHEMA ${schema} TO :"role";`,
    `GRANT CONNECT ON DATABASE ${AIRBYTE_DATABASE} TO :"role";`,
    "RESET ROLE;",
    "\\connect postgres",
  ];
}

/**
 * The bootstrap script of one server: the monitoring role, and on Airbyte's server the function
 * its exporter calls. Kubernetes expands `$(VAR)` and turns `$$` into `$` in a container's
 * command (core/v1 Container.command), so the script uses neither (dollar quotes are named).
 */
export function monitoringScript(env: Environment, db: DatabaseSpec): string {
  const airbyte = airbyteServer(env)?.name === db.name;
  return [
    "set -eu",
    'psql -v ON_ERROR_STOP=1 -v role="$MONITOR_USER" -v role_password="$MONITOR_PASSWORD" <<\'SQL\'',
    ...monitoringSql(CONNECTIONS_PER_EXPORTER * (airbyte ? 2 : 1)),
    ...(airbyte ? airbyteMonitoringSql() : []),
    "SQL",
  ].join("\n");
}

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

/** One exporter Deployment and its Service. */
interface ExporterWorkload {
  readonly name: string;
  /** Selector labels of the pods and the Service (`app.kubernetes.io/part-of` is added). */
  readonly selector: Readonly<Record<string, string>>;
  readonly server: DatabaseSpec;
  /** The database the exporter connects to. */
  readonly database: string;
  readonly args: readonly string[];
  /** ConfigMap mounted read-only at `mountPath`. */
  readonly config?: { readonly configMap: string; readonly mountPath: string };
}

function exporterWorkloadManifests(ctx: ObservabilityContext, workload: ExporterWorkload): Manifest[] {
  const labels = { ...workload.selector, "app.kubernetes.io/part-of": "observability" };
  const host = ctx.services.databaseHost(workload.server);
  const probe = { httpGet: { path: "/", port: POSTGRES_EXPORTER_PORT.name }, periodSeconds: 30, timeoutSeconds: 5 };
  const config = workload.config;
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: workload.name, namespace: ctx.namespace, labels },
      spec: {
        // One scraper per database: a second copy would double the queries and the series.
        replicas: 1,
        selector: { matchLabels: { ...workload.selector } },
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
                args: [...workload.args],
                env: [
                  // TLS required, certificate not verified: the three services' CAs differ and the
                  // image ships none of them (same mode as the bootstrap job and the apps).
                  { name: "DATA_SOURCE_URI", value: `${host}:${PORT}/${workload.database}?sslmode=require` },
                  { name: "DATA_SOURCE_USER", value: MONITORING_ROLE },
                  { name: "DATA_SOURCE_PASS", valueFrom: { secretKeyRef: { name: exporterNames(workload.server).credential, key: "password" } } },
                ],
                ports: [{ name: POSTGRES_EXPORTER_PORT.name, containerPort: POSTGRES_EXPORTER_PORT.port, protocol: "TCP" }],
                ...(config ? { volumeMounts: [{ name: "config", mountPath: config.mountPath, readOnly: true }] } : {}),
                readinessProbe: probe,
                livenessProbe: { ...probe, failureThreshold: 5 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
                resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
              },
            ],
            ...(config ? { volumes: [{ name: "config", configMap: { name: config.configMap } }] } : {}),
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: workload.name, namespace: ctx.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector: { ...workload.selector },
        ports: [{ name: POSTGRES_EXPORTER_PORT.name, port: POSTGRES_EXPORTER_PORT.port, targetPort: POSTGRES_EXPORTER_PORT.name, protocol: "TCP" }],
      },
    },
  ];
}

function exporterManifests(ctx: ObservabilityContext, db: DatabaseSpec): Manifest[] {
  const labels = exporterLabels(db);
  return exporterWorkloadManifests(ctx, {
    name: exporterNames(db).exporter,
    selector: { "app.kubernetes.io/name": labels["app.kubernetes.io/name"], "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"] },
    server: db,
    database: "postgres",
    args: exporterArgs(),
  });
}

/**
 * The exporter of Airbyte's sync facts: a second postgres_exporter, on Airbyte's database as the
 * monitoring role, running only the queries file. Not named after the server (a spec database
 * may be called `airbyte`), and with its own `app.kubernetes.io/name` so no selector of a
 * server's exporter matches it.
 */
export const AIRBYTE_EXPORTER = {
  name: "airbyte-sync-exporter",
  selector: { "app.kubernetes.io/name": "airbyte-sync-exporter", "app.kubernetes.io/instance": "airbyte" },
  configMap: "airbyte-sync-exporter-queries",
  mountPath: "/etc/postgres-exporter",
  file: "queries.yaml",
} as const;

/**
 * Flags checked against postgres_exporter v0.20.1: `--no-collector.<name>` for every collector
 * on by default (collector/collector.go registerCollector: a kingpin bool flag per collector,
 * negatable), `--disable-default-metrics` (cmd/postgres_exporter/main.go: no builtin metric map,
 * no pg_static; exporter/postgres_exporter.go checkMapVersions), `--extend.query-path`
 * (cmd/postgres_exporter/main.go, marked DEPRECATED but read: exporter.WithUserQueriesPath, the
 * file is re-read on each server version change, errors in `pg_exporter_user_queries_load_error`).
 */
export function airbyteExporterArgs(): string[] {
  return [
    ...POSTGRES_EXPORTER_DEFAULT_COLLECTORS.map((name) => `--no-collector.${name}`),
    "--disable-default-metrics",
    `--extend.query-path=${AIRBYTE_EXPORTER.mountPath}/${AIRBYTE_EXPORTER.file}`,
    "--log.format=json",
  ];
}

/**
 * The queries file: JSON, which gopkg.in/yaml.v2 (exporter/queries.go parseUserQueries) reads as
 * YAML flow style; every string is double-quoted, so no YAML 1.1 implicit typing applies.
 */
export function airbyteQueriesFile(): string {
  return `${JSON.stringify(AIRBYTE_JOBS_QUERIES, null, 2)}\n`;
}

function airbyteExporterManifests(ctx: ObservabilityContext, server: DatabaseSpec): Manifest[] {
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: AIRBYTE_EXPORTER.configMap, namespace: ctx.namespace, labels: { ...AIRBYTE_EXPORTER.selector, "app.kubernetes.io/part-of": "observability" } },
      data: { [AIRBYTE_EXPORTER.file]: airbyteQueriesFile() },
    },
    ...exporterWorkloadManifests(ctx, {
      name: AIRBYTE_EXPORTER.name,
      selector: AIRBYTE_EXPORTER.selector,
      server,
      database: AIRBYTE_DATABASE,
      args: airbyteExporterArgs(),
      config: { configMap: AIRBYTE_EXPORTER.configMap, mountPath: AIRBYTE_EXPORTER.mountPath },
    }),
  ];
}

/**
 * Per server: the monitoring role's credential and its bootstrap job (bootstrap namespace), the
 * exporter (monitoring namespace); where Airbyte runs, its sync exporter; once: the handover of every role credential to the
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
        script: monitoringScript(ctx.env, db),
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
  const airbyte = airbyteServer(ctx.env);
  return [...perServer, ...(airbyte ? airbyteExporterManifests(ctx, airbyte) : []), ...handover];
}
