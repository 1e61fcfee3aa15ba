/**
 * What Prometheus scrapes, read from synthesized apps stacks on every cloud (every default
 * environment, and every app on each cloud, production and not):
 * - every ServiceMonitor endpoint selects, by the Prometheus Operator's rules, a port of a
 *   Service the pinned chart (or the project) really renders, on the path that port serves;
 * - the OpenTelemetry collector's values pass its chart contract, its pipeline is complete, and
 *   Airbyte sends to its OTLP/HTTP Service port;
 * - each managed PostgreSQL server has an exporter running exactly the collectors the alerts need
 *   (names as postgres_exporter v0.20.1 registers them), over TLS, as a pg_monitor-only role;
 * - where Airbyte runs, a second exporter reads Airbyte's sync facts through one SECURITY DEFINER
 *   function (the monitoring role may CONNECT, USE the schema and EXECUTE the function, nothing
 *   else), its queries file passes postgres_exporter's rules and yields exactly the catalogue's
 *   airbyte_connection_* names, and the function is created after Airbyte's database exists.
 * Each rule has a case it must reject.
 */
import { describe, expect, it } from "vitest";
import { OTLP_ENDPOINTS, OTEL_COLLECTOR_RELEASE } from "../../constructs/apps/observability/collector";
import { AIRBYTE_EXPORTER, MONITORING_ROLE, POSTGRES_EXPORTER_COLLECTORS } from "../../constructs/apps/observability/postgres";
import { AIRBYTE_MONITORING_FUNCTION, METRICS, type MetricComponent } from "../../constructs/apps/observability/metrics";
import { COMPONENT_LABEL, OPERATOR_TARGET_LABELS } from "../../constructs/apps/observability/scrape";
import { DATABASE_SERVER_LABEL as DATABASE_LABEL } from "../../constructs/apps/observability/metrics";
import { CLOUDS, parseEnvironment, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { loadChart, mergeValues, schemaErrors, unknownPaths } from "../support/chart-contract";
import { defaultEnvironments, everyAppSpec, synthApps } from "../support/fixtures";
import { chartPods } from "../support/kubernetes/chart-pods";
import { serviceMonitorMatches, stackServices, type RenderedService } from "../support/kubernetes/chart-services";
import { renderedApps, type KubeObject, type RenderedApps } from "../../scripts/rendered-apps";
import { podSecurityViolations } from "../support/kubernetes/pod-security";
import { at, list, type Values } from "../support/values";
import { grantsOf, heredocSql, psqlStatements, queriesFileProblems, userQueries, userQueryMetricNames, type Grant , roleStatementProblems } from "../support/postgres-exporter";

interface Case {
  readonly label: string;
  readonly input: EnvironmentInput;
  readonly env: ReturnType<typeof parseEnvironment>;
  readonly text: string;
  readonly apps: RenderedApps;
}

function synth(label: string, input: EnvironmentInput, all?: readonly Environment[]): Case {
  const env = all?.find((one) => one.name === input.name) ?? parseEnvironment(input);
  const text = synthApps(env, all);
  return { label, input, env, text, apps: renderedApps(text) };
}

const defaults = defaultEnvironments();
const cases: Case[] = [
  ...environments.map((input) => synth(input.name, input, defaults)),
  ...CLOUDS.flatMap((cloud) => [false, true].map((production) => synth(`every app on ${cloud}${production ? " in production" : ""}`, everyAppSpec(cloud, production)))),
];

const monitorsOf = (apps: RenderedApps): KubeObject[] => apps.objects.map(({ object }) => object).filter((object) => object.kind === "ServiceMonitor");
const release = (apps: RenderedApps, name: string) => apps.releases.find((r) => r.name === name);
const objects = (apps: RenderedApps, kind: string) => apps.objects.map(({ object }) => object).filter((object) => object.kind === kind);

/** Collector names and default states at postgres_exporter v0.20.1 (collector/*.go registerCollector calls). */
const EXPORTER_COLLECTORS: Readonly<Record<string, boolean>> = {
  database: true,
  database_wraparound: false,
  locks: true,
  long_running_transactions: false,
  postmaster: false,
  process_idle: false,
  replication: true,
  replication_slots: true,
  roles: true,
  settings: true,
  stat_activity: true,
  stat_activity_autovacuum: false,
  stat_archiver: true,
  stat_bgwriter: true,
  stat_checkpointer: false,
  stat_database: true,
  stat_progress_vacuum: true,
  stat_replication: true,
  stat_statements: false,
  stat_user_tables: true,
  stat_wal_receiver: false,
  statio_user_indexes: false,
  statio_user_tables: true,
  buffercache_summary: false,
  wal: true,
  xlog_location: false,
};

/** The collectors the args leave running, or the flags that name no collector. */
function runningCollectors(args: readonly string[]): { running: Set<string>; unknown: string[] } {
  const running = new Set(Object.entries(EXPORTER_COLLECTORS).filter(([, on]) => on).map(([name]) => name));
  const unknown: string[] = [];
  for (const arg of args) {
    const match = /^--(no-)?collector\.([a-z_]+)$/.exec(arg);
    if (!match) continue;
    if (!(match[2] in EXPORTER_COLLECTORS)) unknown.push(arg);
    else if (match[1]) running.delete(match[2]);
    else running.add(match[2]);
  }
  return { running, unknown };
}

/** Metrics the alerts need, and the collector that exports each (postgres_exporter v0.20.1). */
const NEEDED_METRICS: Readonly<Record<string, string>> = {
  pg_stat_activity_count: "stat_activity",
  pg_settings_max_connections: "settings",
  pg_stat_replication_pg_wal_lsn_diff: "stat_replication",
  pg_database_size_bytes: "database",
  pg_long_running_transactions_oldest_timestamp_seconds: "long_running_transactions",
  pg_stat_activity_max_tx_duration: "stat_activity",
};

const MONITOR = ':"role"';
const FUNCTION = `${AIRBYTE_MONITORING_FUNCTION.schema}.${AIRBYTE_MONITORING_FUNCTION.name}()`;

/** What the monitoring role may be granted: pg_monitor, CONNECT on a database, USAGE on the function's schema, EXECUTE on the function. */
function allowedForMonitor(grant: Grant): boolean {
  if (grant.kind === "membership") return grant.roles.every((role) => role === "pg_monitor");
  const only = (privilege: string) => grant.privileges.every((p) => p === privilege);
  return (
    (grant.objectType === "DATABASE" && only("CONNECT")) ||
    (grant.objectType === "SCHEMA" && grant.object === AIRBYTE_MONITORING_FUNCTION.schema && only("USAGE")) ||
    (grant.objectType === "FUNCTION" && grant.object === FUNCTION && only("EXECUTE"))
  );
}

/**
 * Least privilege of a monitoring bootstrap script (the SQL psql receives): every GRANT to the
 * monitoring role is one allowed above, nothing is granted to PUBLIC or by default privileges, and
 * the function (where there is one) is a SECURITY DEFINER owned by Airbyte's role with a safe
 * search_path, made unexecutable by PUBLIC in the transaction that creates it, whose body only reads.
 */
function monitoringSqlProblems(sql: string): string[] {
  const statements = psqlStatements(sql);
  const problems: string[] = [];
  for (const grant of grantsOf(statements)) {
    if (grant.grantees.some((grantee) => grantee.toUpperCase() === "PUBLIC")) problems.push(`grants to PUBLIC: ${grant.text}`);
    if (grant.grantees.includes(MONITOR) && !allowedForMonitor(grant)) problems.push(`grants the monitoring role more than it needs: ${grant.text}`);
  }
  for (const statement of statements) if (/^ALTER DEFAULT PRIVILEGES/i.test(statement.text)) problems.push(`changes default privileges: ${statement.text}`);
  const index = (test: (text: string) => boolean) => statements.findIndex((statement) => test(statement.text));
  const create = index((text) => /^CREATE (OR REPLACE )?FUNCTION /i.test(text));
  if (create === -1) return problems;
  const definition = statements[create].text;
  if (!/\bSECURITY DEFINER\b/i.test(definition)) problems.push("the function is not SECURITY DEFINER");
  if (!/\bSET search_path = pg_catalog, public, pg_temp\b/.test(definition)) problems.push("the function does not pin search_path with pg_temp last");
  const body = /\$([A-Za-z_]\w*)\$([\s\S]*)\$\1\$/.exec(definition)?.[2] ?? "";
  const writes = /\b(GRANT|REVOKE|EXECUTE|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|ALTER|CREATE|DROP|SET ROLE)\b/i.exec(body);
  if (writes) problems.push(`the function body does more than read: ${writes[0]}`);
  const connect = index((text) => text === "\\connect airbyte");
  const setRole = index((text) => text === "SET ROLE airbyte;");
  if (!(connect !== -1 && connect < setRole && setRole < create)) problems.push("the function is not created as Airbyte's role in Airbyte's database");
  const begin = statements.slice(0, create).map((s) => s.text).lastIndexOf("BEGIN;");
  const revoke = index((text) => text === `REVOKE ALL ON FUNCTION ${FUNCTION} FROM PUBLIC;`);
  const commit = statements.findIndex((s, i) => i > create && s.text === "COMMIT;");
  if (!(begin !== -1 && begin < create && create < revoke && revoke < commit)) problems.push("PUBLIC's EXECUTE is not revoked in the transaction that creates the function");
  return problems;
}

/** Kubernetes expands `$(VAR)` and turns `$$` into `$` in a container's command (core/v1 Container.command). */
const commandProblems = (script: string) => [...(script.includes("$$") ? ["$$ becomes $"] : []), ...(script.includes("$(") ? ["$(...) is expanded by Kubernetes"] : [])];

/** The depends_on closure of a resource of a synthesized stack. */
function dependsOnClosure(stackText: string, address: string): Set<string> {
  const resources = (JSON.parse(stackText) as { resource: Record<string, Record<string, { depends_on?: string[] }>> }).resource;
  const blocks = new Map(Object.entries(resources).flatMap(([type, byId]) => Object.entries(byId).map(([id, block]): [string, { depends_on?: string[] }] => [`${type}.${id}`, block])));
  const seen = new Set<string>();
  const stack = [address];
  while (stack.length > 0) {
    for (const next of blocks.get(stack.pop() as string)?.depends_on ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(next);
    }
  }
  return seen;
}

/** Wiring releases of apps with a database the observability release does not wait for. */
function unorderedWirings(stackText: string): string[] {
  const releases = Object.entries((JSON.parse(stackText) as { resource: { helm_release: Record<string, { name: string }> } }).resource.helm_release).map(([id, block]) => ({ address: `helm_release.${id}`, name: block.name }));
  const observability = releases.find((release) => release.name === "observability");
  if (!observability) return ["no observability release"];
  const before = dependsOnClosure(stackText, observability.address);
  return releases.filter((release) => release.name.endsWith("-wiring") && !before.has(release.address)).map((release) => release.name);
}

/**
 * The catalogue components each ServiceMonitor's `platform_component` brings (the OTLP collector
 * and Airflow's statsd exporter also carry the data-quality contract's series).
 */
const CATALOGUE_COMPONENTS: Readonly<Record<string, readonly MetricComponent[]>> = {
  airflow: ["airflow", "data-quality"],
  "otel-collector": ["data-quality"],
  "datahub-gms": ["datahub"],
  traefik: ["traefik"],
  "external-secrets": ["external-secrets"],
  "cert-manager": ["cert-manager"],
  postgresql: ["postgres"],
  airbyte: ["airbyte"],
};

/**
 * Prometheus's rule for a scraped label that has a target label's name (OPERATOR_TARGET_LABELS:
 * prometheus-operator v0.93.0 pkg/prometheus/promcfg.go generateServiceMonitorConfig sets
 * namespace, service, pod, container, job, endpoint on every ServiceMonitor target; Prometheus
 * v3.14.0 scrape/target.go mutateSampleLabels): without honor_labels the scraped value moves to
 * `exported_<name>` and the target's value replaces it. So a catalogued label that rules and
 * dashboards read under such a name needs `honorLabels: true` on the endpoint that scrapes it,
 * and the operator must not override it (`overrideHonorLabels` forces every honor_labels to
 * false: promcfg.go AddHonorLabels).
 */
function honorLabelProblems(monitor: KubeObject): string[] {
  return list<Values>(at(monitor, "spec.endpoints")).flatMap((endpoint, index) => {
    const component = list<Values>(endpoint.relabelings).find((r) => r.targetLabel === COMPONENT_LABEL)?.replacement;
    const components = CATALOGUE_COMPONENTS[String(component)];
    if (components === undefined) return [`${String(monitor.metadata.name)}: component ${String(component)} has no catalogue entry`];
    const clashing = METRICS.filter((metric) => components.includes(metric.component)).flatMap((metric) =>
      metric.labels.filter((label) => (OPERATOR_TARGET_LABELS as readonly string[]).includes(label)).map((label) => `${metric.name}{${label}}`),
    );
    return clashing.length > 0 && endpoint.honorLabels !== true ? [`${String(monitor.metadata.name)} endpoint ${index}: honorLabels false turns ${clashing.join(", ")} into exported_*`] : [];
  });
}

const airbyteGauges = METRICS.filter((metric) => metric.name.startsWith("airbyte_connection_"));
const scriptOf = (job: KubeObject) => list<string>(at(list<Values>(at(job, "spec.template.spec.containers"))[0], "command")).join("\n");
const prometheusRegex = (regex: string) => new RegExp(`^(?:${regex})$`);

describe.each(cases.map((c) => [c.label, c] as const))("%s: scraping", (_, { env, apps, text }) => {
  const services = stackServices(apps);
  const monitors = monitorsOf(apps);

  it("has a ServiceMonitor per component that exports metrics, each in the monitoring namespace", () => {
    const names = monitors.map((m) => String(m.metadata.name)).sort();
    const expected = [
      ...(env.apps.some((a) => a.name === "airflow") ? ["airflow-statsd"] : []),
      ...(env.apps.some((a) => a.name === "datahub") ? ["datahub-gms"] : []),
      "traefik",
      "external-secrets",
      "cert-manager",
      OTEL_COLLECTOR_RELEASE,
      ...env.databases.map((db) => `postgres-exporter-${db.name}`),
      ...(env.apps.some((a) => a.name === "airbyte") ? [AIRBYTE_EXPORTER.name] : []),
    ].sort();
    expect(names).toEqual(expected);
    expect(monitors.every((m) => m.metadata.namespace === "monitoring")).toBe(true);
  });

  it("selects, for every endpoint, exactly one port of a Service the chart or the project renders, on the path that port serves", () => {
    const problems = monitors.flatMap((monitor) =>
      serviceMonitorMatches(monitor, services).flatMap((matches, index) => {
        const where = `${String(monitor.metadata.name)} endpoint ${index}`;
        if (matches.length !== 1) return [`${where}: ${matches.length} targets (${matches.map((m) => `${m.service.name}:${m.port.name}`).join(", ")})`];
        const [{ port, path, service }] = matches;
        return port.metricsPath === path ? [] : [`${where}: ${service.name}:${port.name} serves metrics on ${port.metricsPath ?? "no path"}, not ${path}`];
      }),
    );
    expect(problems).toEqual([]);
  });

  it("labels every series with its component, and PostgreSQL series with the spec's database name", () => {
    for (const monitor of monitors) {
      for (const endpoint of list<Values>(at(monitor, "spec.endpoints"))) {
        const relabelings = list<Values>(endpoint.relabelings);
        expect(relabelings.filter((r) => r.targetLabel === COMPONENT_LABEL && r.action === "replace" && typeof r.replacement === "string")).toHaveLength(1);
        expect(typeof endpoint.honorLabels).toBe("boolean");
      }
    }
    const databases = monitors.flatMap((m) => list<Values>(at(m, "spec.endpoints")).flatMap((e) => list<Values>(e.relabelings).filter((r) => r.targetLabel === DATABASE_LABEL).map((r) => r.replacement)));
    const airbyteServer = env.apps.find((a) => a.name === "airbyte")?.database;
    expect(databases.sort()).toEqual([...env.databases.map((db) => db.name), ...(airbyteServer ? [airbyteServer] : [])].sort());
  });

  it("keeps the exporters' own labels where rules and dashboards read a name the operator also sets on the target (Traefik's service, ESO's and cert-manager's namespace)", () => {
    expect(monitors.flatMap(honorLabelProblems)).toEqual([]);
    const honoring = monitors.filter((monitor) => list<Values>(at(monitor, "spec.endpoints")).some((endpoint) => endpoint.honorLabels === true)).map((monitor) => String(monitor.metadata.name));
    expect(honoring.sort()).toEqual(["traefik", "external-secrets", "cert-manager"].sort());
    const prometheusSpec = at(release(apps, "monitoring")?.values ?? {}, "prometheus.prometheusSpec") as Values | undefined;
    expect(prometheusSpec).toBeDefined();
    expect(prometheusSpec?.overrideHonorLabels ?? false).toBe(false);
  });

  it("installs one OpenTelemetry collector in the monitoring namespace whose values pass the chart contract, 2 replicas in production", () => {
    const collector = release(apps, OTEL_COLLECTOR_RELEASE);
    expect(collector?.namespace).toBe("monitoring");
    expect(collector?.version).toBe("0.170.0");
    const chart = loadChart("opentelemetry-collector");
    expect(unknownPaths(chart, collector?.values ?? {})).toEqual([]);
    expect(schemaErrors(chart, collector?.values ?? {})).toEqual([]);
    expect(at(collector?.values, "replicaCount")).toBe(env.production ? 2 : 1);
    expect(at(collector?.values, "resources.limits.memory")).toBeDefined();
  });

  it("runs the collector pipeline OTLP -> prometheus exporter with default naming, nothing else", () => {
    const chart = loadChart("opentelemetry-collector");
    const config = mergeValues(chart.defaults.config, at(release(apps, OTEL_COLLECTOR_RELEASE)?.values, "config")) as Values;
    const pipelines = at(config, "service.pipelines") as Record<string, Values>;
    expect(Object.keys(pipelines)).toEqual(["metrics"]);
    const defined = (kind: string, ids: unknown) => list<string>(ids).filter((id) => !isDefined(at(config, kind) as Values, id));
    const isDefined = (section: Values, id: string) => section !== undefined && id in section;
    expect(defined("receivers", pipelines.metrics.receivers)).toEqual([]);
    expect(defined("processors", pipelines.metrics.processors)).toEqual([]);
    expect(defined("exporters", pipelines.metrics.exporters)).toEqual([]);
    expect(pipelines.metrics.receivers).toEqual(["otlp"]);
    expect(pipelines.metrics.exporters).toEqual(["prometheus"]);
    expect(Object.keys(at(config, "receivers") as Values)).toEqual(["otlp"]);
    expect(Object.keys(at(config, "receivers.otlp.protocols") as Values).sort()).toEqual(["grpc", "http"]);
    // Default translation (suffixes, `_total`) and no resource attributes as labels.
    expect(Object.keys(at(config, "exporters.prometheus") as Values)).toEqual(["endpoint"]);
  });

  it("runs the collector under Pod Security restricted", () => {
    const collector = release(apps, OTEL_COLLECTOR_RELEASE);
    const pods = collector ? chartPods(collector) : [];
    expect(pods).toHaveLength(1);
    expect(podSecurityViolations(pods[0].pod, "restricted")).toEqual([]);
  });

  it("publishes OTLP endpoints that are ports of the collector's Service", () => {
    const service = services.find((s) => s.name === OTEL_COLLECTOR_RELEASE && s.namespace === "monitoring") as RenderedService;
    for (const [url, portName] of [
      [OTLP_ENDPOINTS.grpc, "otlp"],
      [OTLP_ENDPOINTS.http, "otlp-http"],
      [OTLP_ENDPOINTS.httpMetrics, "otlp-http"],
    ] as const) {
      const parsed = new URL(url);
      expect(parsed.hostname).toBe(`${service.name}.${service.namespace}.svc.cluster.local`);
      expect(service.ports.find((p) => p.name === portName)?.port).toBe(Number(parsed.port));
    }
    expect(new URL(OTLP_ENDPOINTS.httpMetrics).pathname).toBe("/v1/metrics");
  });

  it("sends Airbyte's metrics, where Airbyte runs, to the collector over OTLP/HTTP", () => {
    const airbyte = release(apps, "airbyte");
    expect(airbyte !== undefined).toBe(env.apps.some((app) => app.name === "airbyte"));
    const metrics = airbyte && { global: at(airbyte.values, "global.metrics"), enabled: at(airbyte.values, "metrics.enabled") };
    expect(metrics).toEqual(airbyte && { global: { enabled: true, otlp: { enabled: true, collectorEndpoint: OTLP_ENDPOINTS.httpMetrics } }, enabled: true });
  });

  it("runs one PostgreSQL exporter per server, over TLS, as the monitoring role, restricted and without a service account token", () => {
    const deployments = objects(apps, "Deployment").filter((d) => String(d.metadata.name).startsWith("postgres-exporter-"));
    expect(deployments.map((d) => String(d.metadata.name)).sort()).toEqual(env.databases.map((db) => `postgres-exporter-${db.name}`).sort());
    for (const deployment of deployments) {
      const pod = at(deployment, "spec.template.spec") as Values;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(podSecurityViolations(pod as never, "restricted")).toEqual([]);
      const container = list<Values>(pod.containers)[0];
      expect(at(container, "securityContext.readOnlyRootFilesystem")).toBe(true);
      expect(container.image).toMatch(/^quay\.io\/prometheuscommunity\/postgres-exporter:v\d+\.\d+\.\d+$/);
      const envs = Object.fromEntries(list<Values>(container.env).map((e) => [e.name, e]));
      expect(String(at(envs.DATA_SOURCE_URI, "value"))).toMatch(/:5432\/postgres\?sslmode=require$/);
      expect(at(envs.DATA_SOURCE_USER, "value")).toBe(MONITORING_ROLE);
      expect(at(envs.DATA_SOURCE_PASS, "valueFrom.secretKeyRef.key")).toBe("password");
      const { running, unknown } = runningCollectors(list<string>(container.args));
      expect(unknown).toEqual([]);
      expect([...running].sort()).toEqual([...POSTGRES_EXPORTER_COLLECTORS.enabled].sort());
      for (const collector of Object.values(NEEDED_METRICS)) expect(running.has(collector)).toBe(true);
    }
  });

  it("creates the monitoring role with pg_monitor only, no database, in a bootstrap job reading the admin credential in the bootstrap namespace", () => {
    const jobs = objects(apps, "Job").filter((j) => String(j.metadata.name).startsWith("postgres-monitor-"));
    expect(jobs).toHaveLength(env.databases.length);
    const airbyteServer = env.apps.find((a) => a.name === "airbyte")?.database;
    for (const job of jobs) {
      expect(job.metadata.namespace).toBe("db-bootstrap");
      const script = scriptOf(job);
      expect(commandProblems(script)).toEqual([]);
      const sql = heredocSql(script);
      expect(sql).not.toContain("CREATE DATABASE");
      expect(monitoringSqlProblems(sql)).toEqual([]);
      const granted = grantsOf(psqlStatements(sql)).filter((grant) => grant.grantees.includes(MONITOR)).map((grant) => grant.text);
      const airbyte = String(job.metadata.name) === `postgres-monitor-${airbyteServer}-database-bootstrap`;
      expect(granted).toEqual([
        'GRANT pg_monitor TO :"role"',
        ...(airbyte ? [`GRANT EXECUTE ON FUNCTION ${FUNCTION} TO :"role"`, `GRANT USAGE ON SCHEMA ${AIRBYTE_MONITORING_FUNCTION.schema} TO :"role"`, 'GRANT CONNECT ON DATABASE airbyte TO :"role"'] : []),
      ]);
      expect(sql.includes(FUNCTION)).toBe(airbyte);
      expect(roleStatementProblems(sql)).toEqual([]);
      // Connections: 5 per exporter (postgres.ts CONNECTIONS_PER_EXPORTER), one or two exporters on the server.
      expect(sql).toContain(`CONNECTION LIMIT ${airbyte ? 10 : 5};`);
    }
    expect(MONITORING_ROLE).not.toMatch(/^pg_/);
    expect(text).not.toMatch(/"(DATA_SOURCE_PASS|MONITOR_PASSWORD)"\s*,\s*"value"/);
  });

  const airbyte = env.apps.find((a) => a.name === "airbyte");
  const airbyteExporters = objects(apps, "Deployment").filter((d) => d.metadata.name === AIRBYTE_EXPORTER.name);

  it("runs the Airbyte sync exporter exactly where Airbyte runs, restricted, on Airbyte's database as the monitoring role, with every built-in collector off", () => {
    expect(airbyteExporters).toHaveLength(airbyte ? 1 : 0);
    if (!airbyte) return;
    const pod = at(airbyteExporters[0], "spec.template.spec") as Values;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(podSecurityViolations(pod as never, "restricted")).toEqual([]);
    const container = list<Values>(pod.containers)[0];
    expect(at(container, "securityContext.readOnlyRootFilesystem")).toBe(true);
    const envs = Object.fromEntries(list<Values>(container.env).map((e) => [e.name, e]));
    // The same server and credential as that server's own exporter, database `airbyte`.
    const serverExporter = objects(apps, "Deployment").find((d) => d.metadata.name === `postgres-exporter-${airbyte.database}`) as KubeObject;
    const serverEnv = Object.fromEntries(list<Values>(at(list<Values>(at(serverExporter, "spec.template.spec.containers"))[0], "env")).map((e) => [e.name, e]));
    expect(at(envs.DATA_SOURCE_URI, "value")).toBe(String(at(serverEnv.DATA_SOURCE_URI, "value")).replace(/\/postgres\?/, "/airbyte?"));
    expect(at(envs.DATA_SOURCE_USER, "value")).toBe(MONITORING_ROLE);
    expect(at(envs.DATA_SOURCE_PASS, "valueFrom")).toEqual(at(serverEnv.DATA_SOURCE_PASS, "valueFrom"));
    const args = list<string>(container.args);
    const { running, unknown } = runningCollectors(args);
    expect(unknown).toEqual([]);
    expect([...running]).toEqual([]);
    expect(args).toContain("--disable-default-metrics");
  });

  it("mounts a queries file that postgres_exporter reads as written, calling only the monitoring function, with exactly the catalogue's airbyte_connection_* gauges", () => {
    expect(airbyteExporters).toHaveLength(airbyte ? 1 : 0);
    if (!airbyte) return;
    const pod = at(airbyteExporters[0], "spec.template.spec") as Values;
    const container = list<Values>(pod.containers)[0];
    const path = list<string>(container.args).find((arg) => arg.startsWith("--extend.query-path="))?.slice("--extend.query-path=".length) ?? "";
    const mount = list<Values>(container.volumeMounts).find((m) => path.startsWith(`${String(m.mountPath)}/`)) as Values;
    const volume = list<Values>(pod.volumes).find((v) => v.name === mount?.name) as Values;
    const configMap = objects(apps, "ConfigMap").find((c) => c.metadata.name === at(volume, "configMap.name") && c.metadata.namespace === "monitoring") as KubeObject;
    const file = (configMap.data as Record<string, string>)[path.slice(String(mount.mountPath).length + 1)];
    expect(typeof file).toBe("string");
    expect(queriesFileProblems(file)).toEqual([]);
    expect(userQueryMetricNames(file).sort()).toEqual(airbyteGauges.map((metric) => metric.name).sort());
    const queries = userQueries(file);
    expect(queries.map((q) => q.query)).toEqual([`SELECT * FROM ${FUNCTION}`]);
    const labels = queries[0].columns.filter((c) => c.usage === "LABEL").map((c) => c.column);
    for (const metric of airbyteGauges) expect([...labels].sort()).toEqual([...metric.labels].sort());
    // The function returns exactly the columns the file names (an unnamed one would become an untyped metric).
    const job = objects(apps, "Job").find((j) => j.metadata.name === `postgres-monitor-${airbyte.database}-database-bootstrap`) as KubeObject;
    const returns = /RETURNS TABLE \((.*)\)\n/.exec(heredocSql(scriptOf(job)))?.[1] ?? "";
    expect(returns.split(", ").map((column) => column.split(" ")[0])).toEqual(queries[0].columns.map((c) => c.column));
  });

  it("scrapes the Airbyte exporter as component airbyte on Airbyte's server, keeping only its gauges and scrape errors", () => {
    const monitor = monitors.find((m) => m.metadata.name === AIRBYTE_EXPORTER.name);
    expect(monitor !== undefined).toBe(airbyte !== undefined);
    if (!monitor || !airbyte) return;
    const [endpoint] = list<Values>(at(monitor, "spec.endpoints"));
    const relabel = (label: string) => list<Values>(endpoint.relabelings).find((r) => r.targetLabel === label)?.replacement;
    expect(relabel(COMPONENT_LABEL)).toBe("airbyte");
    expect(relabel(DATABASE_LABEL)).toBe(airbyte.database);
    const [keep] = list<Values>(endpoint.metricRelabelings);
    expect(keep).toMatchObject({ action: "keep", sourceLabels: ["__name__"] });
    const kept = prometheusRegex(String(keep.regex));
    for (const metric of airbyteGauges) expect(kept.test(metric.name)).toBe(true);
    expect(kept.test("pg_exporter_last_scrape_error")).toBe(true);
    // Its pg_up carries the server's label: kept, it would count as the server's in the PostgreSQL rules.
    expect(kept.test("pg_up")).toBe(false);
  });

  it("installs the observability release (the function's bootstrap job) after every app's wiring (databases and roles)", () => {
    expect(unorderedWirings(text)).toEqual([]);
  });
});

describe("role statements: what a managed service's admin may run", () => {
  it("holds for every bootstrap job of every stack, the apps' and the monitoring role's", () => {
    const jobs = cases.flatMap((c) => objects(c.apps, "Job").filter((job) => job.metadata.namespace === "db-bootstrap"));
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.flatMap((job) => roleStatementProblems(heredocSql(scriptOf(job))))).toEqual([]);
  });

  it.each([
    ['ALTER ROLE :"role" WITH LOGIN NOSUPERUSER;', "NOSUPERUSER"],
    ['ALTER ROLE :"role" WITH NOREPLICATION;', "NOREPLICATION"],
    ['CREATE ROLE x BYPASSRLS;', "BYPASSRLS"],
    [`ALTER ROLE :"role" WITH LOGIN PASSWORD :'p';`, "password together"],
  ])("rejects %s", (statement, problem) => {
    expect(roleStatementProblems(statement).join()).toContain(problem);
  });
});

describe("the Airbyte exporter checks reject what postgres_exporter, psql or Kubernetes would get wrong", () => {
  const everyApp = cases.find((c) => c.label === "every app on gcp in production") as Case;
  const job = objects(everyApp.apps, "Job").find((j) => j.metadata.name === "postgres-monitor-main-database-bootstrap") as KubeObject;
  const sql = heredocSql(scriptOf(job));
  const file = ((objects(everyApp.apps, "ConfigMap").find((c) => c.metadata.name === AIRBYTE_EXPORTER.configMap) as KubeObject).data as Record<string, string>)[AIRBYTE_EXPORTER.file];

  it("a GRANT SELECT, a membership in Airbyte's role or EXECUTE on every function is more than the monitoring role may have", () => {
    expect(monitoringSqlProblems(sql)).toEqual([]);
    for (const extra of ['GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"role";', 'GRANT SELECT ON jobs TO :"role";', 'GRANT airbyte TO :"role";', 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO :"role";', 'GRANT ALL ON SCHEMA platform_monitoring TO :"role";']) {
      expect(monitoringSqlProblems(`${sql}\n${extra}`)).toHaveLength(1);
    }
    expect(monitoringSqlProblems(`${sql}\nGRANT EXECUTE ON FUNCTION ${FUNCTION} TO PUBLIC;`).join()).toMatch(/PUBLIC/);
    expect(monitoringSqlProblems(`${sql}\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO :"role";`)).toHaveLength(1);
  });

  it("statements are split by psql's rules: a GRANT after a dollar-quoted body or a \\gexec line is a statement of its own, a ';' inside quotes is not", () => {
    const parsed = psqlStatements("SELECT 1\\gexec\nGRANT SELECT ON t TO :\"role\";\nCREATE FUNCTION f() AS $b$ SELECT ';'; $b$;\nGRANT pg_monitor TO :\"role\";");
    expect(parsed.map((s) => s.text)).toEqual(["SELECT 1", "\\gexec", 'GRANT SELECT ON t TO :"role";', "CREATE FUNCTION f() AS $b$ SELECT ';'; $b$;", 'GRANT pg_monitor TO :"role";']);
    expect(grantsOf(parsed).map((g) => (g.kind === "privileges" ? g.privileges : g.roles))).toEqual([["SELECT"], ["pg_monitor"]]);
  });

  it("a function without SECURITY DEFINER, without a pinned search_path, writing in its body or executable by PUBLIC until later is reported", () => {
    expect(monitoringSqlProblems(sql.replace(" SECURITY DEFINER", ""))).toEqual(["the function is not SECURITY DEFINER"]);
    expect(monitoringSqlProblems(sql.replace("SET search_path = pg_catalog, public, pg_temp", "SET search_path = public"))).toHaveLength(1);
    expect(monitoringSqlProblems(sql.replace("RETURN QUERY", "EXECUTE 'GRANT SELECT ON jobs TO platform_monitor'; RETURN QUERY"))).toHaveLength(1);
    const revoke = `REVOKE ALL ON FUNCTION ${FUNCTION} FROM PUBLIC;`;
    expect(monitoringSqlProblems(`${sql.replace(revoke, "")}\n${revoke}`)).toHaveLength(1);
    expect(monitoringSqlProblems(sql.replace("SET ROLE airbyte;", ""))).toHaveLength(1);
  });

  it("a $$ dollar quote or $(...) in the job's command is reported (Kubernetes rewrites both)", () => {
    expect(commandProblems(scriptOf(job))).toEqual([]);
    expect(commandProblems("psql <<'SQL'\nCREATE FUNCTION f() AS $$ SELECT 1 $$;\nSQL")).toHaveLength(1);
  });

  it("an unknown usage (read as DISCARD), a misspelt key (ignored by yaml.v2) or a query without metrics is reported", () => {
    expect(queriesFileProblems(file)).toEqual([]);
    expect(queriesFileProblems(file.replace('"usage": "GAUGE"', '"usage": "GAUGES"'))).toEqual([expect.stringMatching(/usage GAUGES is unknown/)]);
    expect(queriesFileProblems(file.replace('"cache_seconds"', '"cache_second"'))).toEqual(["airbyte_connection: unknown key cache_second (yaml.v2 ignores it)"]);
    expect(queriesFileProblems('{"q": {"query": "SELECT 1", "metrics": []}}')).toEqual(["q: no metrics"]);
    // A misnamed column changes the metric name: the catalogue comparison catches it.
    expect(userQueryMetricNames(file.replace('"last_job_failed"', '"last_job_failure"'))).toContain("airbyte_connection_last_job_failure");
  });

  it("an observability release that does not wait for Airbyte's wiring is reported", () => {
    expect(unorderedWirings(everyApp.text)).toEqual([]);
    const stack = JSON.parse(everyApp.text) as { resource: { helm_release: Record<string, { name: string; depends_on?: string[] }> } };
    for (const release of Object.values(stack.resource.helm_release)) if (release.name === "observability") release.depends_on = (release.depends_on ?? []).filter((d) => !d.includes("airbyte-wiring"));
    expect(unorderedWirings(JSON.stringify(stack))).toEqual(["airbyte-wiring"]);
  });
});

describe("the scrape checks reject what Prometheus would not scrape", () => {
  it("honorLabels false on an exporter whose catalogued labels the operator's target labels overwrite", () => {
    const monitors = monitorsOf(cases[0].apps);
    const traefik = monitors.find((monitor) => monitor.metadata.name === "traefik");
    expect(traefik).toBeDefined();
    const flipped = { ...traefik, spec: { ...(traefik?.spec as Values), endpoints: list<Values>(at(traefik, "spec.endpoints")).map((endpoint) => ({ ...endpoint, honorLabels: false })) } } as KubeObject;
    expect(honorLabelProblems(flipped).join("; ")).toContain("traefik_service_requests_total{service}");
    const statsd = cases.flatMap((c) => monitorsOf(c.apps)).find((monitor) => monitor.metadata.name === "airflow-statsd");
    expect(statsd).toBeDefined();
    expect(honorLabelProblems(statsd as KubeObject)).toEqual([]);
  });

  const everyApp = cases.find((c) => c.label === "every app on aws in production") as Case;
  const services = stackServices(everyApp.apps);
  const monitor = (name: string) => monitorsOf(everyApp.apps).find((m) => m.metadata.name === name) as KubeObject;
  const withSpec = (base: KubeObject, spec: Values): KubeObject => ({ ...base, spec: { ...(base.spec as Values), ...spec } });
  const count = (m: KubeObject) => serviceMonitorMatches(m, services).map((matches) => matches.length);

  it("a wrong port name selects nothing", () => {
    const traefik = monitor("traefik");
    expect(count(traefik)).toEqual([1]);
    expect(count(withSpec(traefik, { endpoints: [{ port: "web", path: "/metrics" }] }))).toEqual([0]);
    expect(count(withSpec(monitor("airflow-statsd"), { endpoints: [{ port: "statsd-ingest" }] }))[0]).toBe(1);
    // ...but that port serves no metrics:
    const [[ingest]] = serviceMonitorMatches(withSpec(monitor("airflow-statsd"), { endpoints: [{ port: "statsd-ingest" }] }), services);
    expect(ingest.port.metricsPath).toBeUndefined();
  });

  it("without a namespaceSelector a ServiceMonitor selects only in its own namespace", () => {
    expect(count(withSpec(monitor("external-secrets"), { namespaceSelector: undefined }))).toEqual([0]);
    expect(count(withSpec(monitor("external-secrets"), { namespaceSelector: { any: true } }))).toEqual([1]);
  });

  it("a label the Service lacks selects nothing; a selector too loose selects the webhook too", () => {
    const certManager = monitor("cert-manager");
    expect(count(withSpec(certManager, { selector: { matchLabels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "cainjector" } } }))).toEqual([0]);
    expect(count(withSpec(certManager, { selector: { matchLabels: { "app.kubernetes.io/instance": "cert-manager" } }, endpoints: [{ port: "metrics" }] }))).toEqual([1]);
  });

  it("a wrong path is reported against the path the port serves", () => {
    const [, [actuator]] = serviceMonitorMatches(withSpec(monitor("datahub-gms"), { endpoints: [{ port: "jmx" }, { port: "prometheus", path: "/metrics" }] }), services);
    expect(actuator.port.metricsPath).toBe("/actuator/prometheus");
    expect(actuator.path).not.toBe(actuator.port.metricsPath);
  });

  it("without the chart's metrics Service (the chart default) there is nothing to select", () => {
    const traefikRelease = release(everyApp.apps, "traefik");
    const metrics = (traefikRelease?.values.metrics ?? {}) as Values;
    expect(metrics).toEqual({ prometheus: { service: { enabled: true } } });
    const without = stackServices({ ...everyApp.apps, releases: everyApp.apps.releases.map((r) => (r.name === "traefik" ? { ...r, values: { ...r.values, metrics: {} } } : r)) });
    expect(serviceMonitorMatches(monitor("traefik"), without).map((m) => m.length)).toEqual([0]);
  });

  it("an unknown or renamed exporter collector flag is reported (replication_slot became replication_slots in 0.20.0)", () => {
    expect(runningCollectors(["--collector.replication_slot"]).unknown).toEqual(["--collector.replication_slot"]);
    expect(runningCollectors(["--no-collector.database"]).running.has("database")).toBe(false);
  });

  it("the collector contract check reports a misspelt key and the pod check a root collector", () => {
    const collector = release(everyApp.apps, OTEL_COLLECTOR_RELEASE);
    const chart = loadChart("opentelemetry-collector");
    expect(unknownPaths(chart, { ...collector?.values, replicas: 2 })).toEqual(["replicas"]);
    const rootPod = chartPods({ ...(collector as NonNullable<typeof collector>), values: { ...collector?.values, podSecurityContext: {}, securityContext: {} } })[0];
    expect(podSecurityViolations(rootPod.pod, "restricted").length).toBeGreaterThan(0);
  });
});
