/**
 * What Prometheus scrapes besides what kube-prometheus-stack brings (the API server, kubelets,
 * kube-state-metrics, node-exporter, itself): one ServiceMonitor per app or add-on that exports
 * metrics, and the PostgreSQL exporters (postgres.ts). All live in the monitoring namespace and
 * name the namespace they select in (prometheus-operator v0.93.1: a ServiceMonitor without
 * `namespaceSelector` selects only in its own namespace).
 *
 * Each selector is the Service the pinned chart renders (labels, port name, path), read from
 * its templates at the pinned version, cited on each target; the tests render those Services
 * from the same templates' rules and check every selector against them.
 *
 * Every series gets `platform_component` (which component it came from) and, for PostgreSQL,
 * `database` (the spec's database name), set by relabeling so rules can name them.
 */
import { WORKLOAD_ACCOUNTS } from "../../core/apps";
import { APP_CATALOGUE } from "../../core/apps";
import { CERT_MANAGER_NAMESPACE, INGRESS_NAMESPACE } from "../addons";
import { AIRFLOW_RELEASE } from "../airflow";
import { DATAHUB_RELEASE } from "../datahub";
import type { Manifest } from "../helm";
import { OTEL_COLLECTOR_PORTS, OTEL_COLLECTOR_RELEASE } from "./collector";
import type { ObservabilityContext } from "./index";
import { DATABASE_SERVER_LABEL } from "./metrics";
import { airbyteServer, AIRBYTE_EXPORTER, exporterLabels, POSTGRES_EXPORTER_NAME, POSTGRES_EXPORTER_PORT, postgresManifests } from "./postgres";

/** The label every scraped series carries with its component's name. */
export const COMPONENT_LABEL = "platform_component";

export interface ScrapeEndpoint {
  /** The Service's port name. */
  readonly port: string;
  readonly path: string;
}

/** One ServiceMonitor: the Services it selects and the endpoints it scrapes on each. */
export interface ScrapeTarget {
  /** The ServiceMonitor's name. */
  readonly name: string;
  /** Value of `platform_component` on its series. */
  readonly component: string;
  /** Namespace of the selected Services. */
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly endpoints: readonly ScrapeEndpoint[];
  /** `database` label value (PostgreSQL exporters). */
  readonly database?: string;
  /** Keep only the series whose name matches (a Prometheus regex, anchored), drop the rest. */
  readonly keepMetrics?: string;
  /**
   * Whether the exporter's own labels win over the target labels they collide with
   * (OPERATOR_TARGET_LABELS). Set where the exporter labels its series with one of those names
   * about the object it reports on: Traefik's `service` (its router's backend), External
   * Secrets' and cert-manager's `namespace` (the ExternalSecret's, the Certificate's). With
   * `false`, Prometheus renames the scraped label to `exported_<name>` and the target's value
   * (the metrics Service, the exporter's namespace) takes its place. @default false
   */
  readonly honorLabels?: boolean;
}

/**
 * The labels prometheus-operator gives every ServiceMonitor target (v0.93.0
 * pkg/prometheus/promcfg.go `generateServiceMonitorConfig`: `namespace`, `service`, `pod`,
 * `container` from the Kubernetes discovery meta labels, then `job`, `endpoint`), plus
 * Prometheus's own `instance`. A scraped label of one of these names collides: without
 * `honor_labels` it is kept as `exported_<name>` (Prometheus v3.14.0 scrape/target.go
 * `mutateSampleLabels`), with it the scraped value wins.
 */
export const OPERATOR_TARGET_LABELS = ["namespace", "service", "pod", "container", "job", "endpoint", "instance"] as const;

const hasApp = (ctx: ObservabilityContext, name: string) => ctx.env.apps.some((app) => app.name === name);

/** Every scrape target of the environment. */
export function scrapeTargets(ctx: ObservabilityContext): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  if (hasApp(ctx, "airflow")) {
    // apache/airflow chart 1.19.0 (f17d6ffb) templates/statsd/statsd-service.yaml: Service
    // `<fullname>-statsd` labelled tier=airflow, component=statsd, release=<release>, port
    // `statsd-scrape` (ports.statsdScrape 9102); the statsd exporter serves /metrics.
    targets.push({
      name: "airflow-statsd",
      component: "airflow",
      namespace: APP_CATALOGUE.airflow.namespace,
      selector: { tier: "airflow", component: "statsd", release: AIRFLOW_RELEASE },
      endpoints: [{ port: "statsd-scrape", path: "/metrics" }],
    });
  }
  if (hasApp(ctx, "datahub")) {
    // acryldata/datahub-helm datahub-1.1.0 charts/datahub/subcharts/datahub-gms/templates/
    // service.yaml and servicemonitor.yaml (metricsMode jmx_and_actuator): Service
    // `<release>-datahub-gms` labelled app.kubernetes.io/name=datahub-gms,
    // app.kubernetes.io/instance=<release>; port `jmx` (4318, JMX exporter, /metrics) and port
    // `prometheus` (4319, <basePath>/actuator/prometheus; no basePath here).
    targets.push({
      name: "datahub-gms",
      component: "datahub-gms",
      namespace: APP_CATALOGUE.datahub.namespace,
      selector: { "app.kubernetes.io/name": "datahub-gms", "app.kubernetes.io/instance": DATAHUB_RELEASE },
      endpoints: [
        { port: "jmx", path: "/metrics" },
        { port: "prometheus", path: "/actuator/prometheus" },
      ],
    });
  }
  // traefik/traefik-helm-chart v41.3.0 traefik/templates/service-metrics.yaml and
  // _service-metrics.tpl: Service `<fullname>-metrics` labelled app.kubernetes.io/name=traefik,
  // app.kubernetes.io/instance=<release>-<namespace>, app.kubernetes.io/component=metrics, port
  // `metrics` (entry point `metrics`, 9100); Traefik serves /metrics.
  targets.push({
    name: "traefik",
    component: "traefik",
    namespace: INGRESS_NAMESPACE,
    selector: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": `traefik-${INGRESS_NAMESPACE}`, "app.kubernetes.io/component": "metrics" },
    endpoints: [{ port: "metrics", path: "/metrics" }],
    // traefik_service_* carry `service` = the router's backend (pkg/observability/metrics/prometheus.go).
    honorLabels: true,
  });
  // external-secrets/external-secrets helm-chart-2.9.0 deploy/charts/external-secrets/templates/
  // service.yaml (with metrics.service.enabled): Service `<fullname>-metrics` labelled
  // app.kubernetes.io/name=external-secrets, app.kubernetes.io/instance=<release>, port `metrics`
  // (8080, controller-runtime /metrics). The webhook's Service is named external-secrets-webhook.
  targets.push({
    name: "external-secrets",
    component: "external-secrets",
    namespace: WORKLOAD_ACCOUNTS["external-secrets"].namespace,
    selector: { "app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "external-secrets" },
    endpoints: [{ port: "metrics", path: "/metrics" }],
    // externalsecret_* carry the ExternalSecret's `name` and `namespace` (esmetrics.go, metrics/labels.go).
    honorLabels: true,
  });
  // cert-manager is on every cluster (the apps' in-cluster certificates; Let's Encrypt with `dns`).
  // cert-manager/cert-manager v1.21.1 deploy/charts/cert-manager/templates/service.yaml
  // (prometheus.enabled, no PodMonitor): Service `<fullname>` labelled
  // app.kubernetes.io/name=cert-manager, app.kubernetes.io/instance=<release>,
  // app.kubernetes.io/component=controller, port `http-metrics` (9402, /metrics).
  targets.push({
    name: "cert-manager",
    component: "cert-manager",
    namespace: CERT_MANAGER_NAMESPACE,
    selector: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "controller" },
    endpoints: [{ port: "http-metrics", path: "/metrics" }],
    // certmanager_certificate_* carry the Certificate's `name` and `namespace` (certificate_collector.go).
    honorLabels: true,
  });
  // open-telemetry/opentelemetry-helm-charts opentelemetry-collector-0.170.0
  // charts/opentelemetry-collector/templates/service.yaml and _helpers.tpl: Service `<fullname>`
  // labelled app.kubernetes.io/name=opentelemetry-collector, app.kubernetes.io/instance=<release>,
  // component=standalone-collector (mode deployment); one port per enabled `ports.<name>`.
  targets.push({
    name: OTEL_COLLECTOR_RELEASE,
    component: "otel-collector",
    namespace: ctx.namespace,
    selector: { "app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": OTEL_COLLECTOR_RELEASE, component: "standalone-collector" },
    endpoints: [
      { port: OTEL_COLLECTOR_PORTS.exported.name, path: "/metrics" },
      { port: OTEL_COLLECTOR_PORTS.self.name, path: "/metrics" },
    ],
  });
  for (const db of ctx.env.databases) {
    const labels = exporterLabels(db);
    targets.push({
      name: `${POSTGRES_EXPORTER_NAME}-${db.name}`,
      component: "postgresql",
      namespace: ctx.namespace,
      selector: { "app.kubernetes.io/name": labels["app.kubernetes.io/name"], "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"] },
      endpoints: [{ port: POSTGRES_EXPORTER_PORT.name, path: "/metrics" }],
      database: db.name,
    });
  }
  const airbyte = airbyteServer(ctx.env);
  if (airbyte) {
    // The Airbyte sync exporter (postgres.ts) on Airbyte's database: the airbyte_connection_*
    // gauges of its queries file, and its own scrape-error gauges (exporter/postgres_exporter.go
    // v0.20.1, namespace pg, subsystem exporter). Its pg_up is dropped: it carries the server's
    // label and would otherwise count as a second `pg_up` of that server in the PostgreSQL rules.
    targets.push({
      name: AIRBYTE_EXPORTER.name,
      component: "airbyte",
      namespace: ctx.namespace,
      selector: AIRBYTE_EXPORTER.selector,
      endpoints: [{ port: POSTGRES_EXPORTER_PORT.name, path: "/metrics" }],
      database: airbyte.name,
      keepMetrics: "airbyte_connection_.+|pg_exporter_last_scrape_error|pg_exporter_user_queries_load_error",
    });
  }
  return targets;
}

function serviceMonitor(ctx: ObservabilityContext, target: ScrapeTarget): Manifest {
  const relabelings = [
    { action: "replace", targetLabel: COMPONENT_LABEL, replacement: target.component },
    ...(target.database === undefined ? [] : [{ action: "replace", targetLabel: DATABASE_SERVER_LABEL, replacement: target.database }]),
  ];
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: target.name, namespace: ctx.namespace, labels: { "app.kubernetes.io/part-of": "observability" } },
    spec: {
      namespaceSelector: { matchNames: [target.namespace] },
      selector: { matchLabels: { ...target.selector } },
      endpoints: target.endpoints.map((endpoint) => ({
        port: endpoint.port,
        path: endpoint.path,
        scheme: "http",
        // OPERATOR_TARGET_LABELS: the exporter's value wins where its labels name the object reported on;
        // elsewhere a clashing scraped label is kept as exported_<name> (the OTLP path's job/instance).
        honorLabels: target.honorLabels ?? false,
        relabelings,
        ...(target.keepMetrics === undefined ? {} : { metricRelabelings: [{ action: "keep", sourceLabels: ["__name__"], regex: target.keepMetrics }] }),
      })),
    },
  };
}

export function scrapeManifests(ctx: ObservabilityContext): Manifest[] {
  return [...postgresManifests(ctx), ...scrapeTargets(ctx).map((target) => serviceMonitor(ctx, target))];
}
