/**
 * What Prometheus scrapes, read from synthesized apps stacks on every cloud (every default
 * environment, and every app on each cloud, production and not):
 * - every ServiceMonitor endpoint selects, by the Prometheus Operator's rules, a port of a
 *   Service the pinned chart (or the project) really renders, on the path that port serves;
 * - the OpenTelemetry collector's values pass its chart contract, its pipeline is complete, and
 *   Airbyte sends to its OTLP/HTTP Service port;
 * - each managed PostgreSQL server has an exporter running exactly the collectors the alerts need
 *   (names as postgres_exporter v0.20.1 registers them), over TLS, as a pg_monitor-only role.
 * Each rule has a case it must reject.
 */
import { describe, expect, it } from "vitest";
import { OTLP_ENDPOINTS, OTEL_COLLECTOR_RELEASE } from "../../constructs/apps/observability/collector";
import { MONITORING_ROLE, POSTGRES_EXPORTER_COLLECTORS } from "../../constructs/apps/observability/postgres";
import { COMPONENT_LABEL } from "../../constructs/apps/observability/scrape";
import { DATABASE_SERVER_LABEL as DATABASE_LABEL } from "../../constructs/apps/observability/metrics";
import { CLOUDS, parseEnvironment, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { loadChart, mergeValues, schemaErrors, unknownPaths } from "../support/chart-contract";
import { defaultEnvironments, everyAppSpec, synthApps } from "../support/fixtures";
import { chartPods } from "../support/kubernetes/chart-pods";
import { serviceMonitorMatches, stackServices, type RenderedService } from "../support/kubernetes/chart-services";
import { renderedApps, type KubeObject, type RenderedApps } from "../support/kubernetes/objects";
import { podSecurityViolations } from "../support/kubernetes/pod-security";
import { at, list, type Values } from "../support/values";

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
      ...(env.dns ? ["cert-manager"] : []),
      OTEL_COLLECTOR_RELEASE,
      ...env.databases.map((db) => `postgres-exporter-${db.name}`),
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
        expect(endpoint.honorLabels).toBe(false);
      }
    }
    const databases = monitors.flatMap((m) => list<Values>(at(m, "spec.endpoints")).flatMap((e) => list<Values>(e.relabelings).filter((r) => r.targetLabel === DATABASE_LABEL).map((r) => r.replacement)));
    expect(databases.sort()).toEqual(env.databases.map((db) => db.name).sort());
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

  it("sends Airbyte's metrics to the collector over OTLP/HTTP", () => {
    const airbyte = release(apps, "airbyte");
    if (!airbyte) return;
    expect(at(airbyte.values, "global.metrics")).toEqual({ enabled: true, otlp: { enabled: true, collectorEndpoint: OTLP_ENDPOINTS.httpMetrics } });
    expect(at(airbyte.values, "metrics.enabled")).toBe(true);
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
    for (const job of jobs) {
      expect(job.metadata.namespace).toBe("db-bootstrap");
      const script = list<string>(at(list<Values>(at(job, "spec.template.spec.containers"))[0], "command")).join("\n");
      expect(script).not.toContain("CREATE DATABASE");
      const grants = script.split("\n").filter((line) => /^\s*GRANT /.test(line));
      expect(grants).toEqual(['GRANT pg_monitor TO :"role";', 'GRANT CONNECT ON DATABASE postgres TO :"role";']);
      expect(script).toMatch(/ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION /);
    }
    expect(MONITORING_ROLE).not.toMatch(/^pg_/);
    expect(text).not.toMatch(/"(DATA_SOURCE_PASS|MONITOR_PASSWORD)"\s*,\s*"value"/);
  });
});

describe("the scrape checks reject what Prometheus would not scrape", () => {
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
