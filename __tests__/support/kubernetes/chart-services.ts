/**
 * The Services the pinned charts render (name, namespace, labels, port names), and which path
 * serves metrics behind each port, encoded from the templates at the pinned versions (the file of
 * each is named) and fed with the values Helm would use. With the project's own Services, this
 * is what a ServiceMonitor can select; `serviceMonitorMatches` applies the Prometheus Operator's
 * selection rules to them.
 *
 * Encoded from:
 * - apache/airflow chart 1.19.0 (f17d6ffb): templates/statsd/statsd-service.yaml, _helpers.yaml
 *   (`airflow.fullname`); statsd_exporter serves /metrics (its `--web.telemetry-path` default);
 * - acryldata/datahub-helm datahub-1.1.0: charts/datahub/subcharts/datahub-gms/templates/
 *   service.yaml, _helpers.tpl (fullname, labels, monitoring.* helpers), servicemonitor.yaml (paths);
 * - traefik/traefik-helm-chart v41.3.0: traefik/templates/service-metrics.yaml,
 *   _service-metrics.tpl, _helpers.tpl, _service.tpl (`traefik.service-name`);
 * - external-secrets/external-secrets helm-chart-2.9.0: deploy/charts/external-secrets/templates/
 *   service.yaml, webhook-service.yaml, _helpers.tpl;
 * - cert-manager/cert-manager v1.21.1: deploy/charts/cert-manager/templates/service.yaml,
 *   webhook-service.yaml;
 * - open-telemetry/opentelemetry-helm-charts opentelemetry-collector-0.170.0:
 *   charts/opentelemetry-collector/templates/service.yaml, _helpers.tpl, _config.tpl
 *   (`servicePortsConfig`); the prometheus exporter and the collector's own telemetry serve /metrics;
 * - prometheus-operator v0.93.1 pkg/prometheus/promcfg.go (generateServiceMonitorConfig: keep
 *   relabelings on `__meta_kubernetes_service_label_<name>` for the selector and on
 *   `__meta_kubernetes_endpoint_port_name` for `port`; `path` defaults to /metrics) and
 *   pkg/prometheus/resource_selector.go / promcfg.go getNamespacesFromNamespaceSelector (`any`:
 *   every namespace; `matchNames`: those; neither: the ServiceMonitor's own namespace).
 */
import { loadChart } from "../chart-contract";
import { at, effectiveValues, isMap, list, type Values } from "../values";
import type { ChartRelease, KubeObject, Located, RenderedApps } from "../../../scripts/rendered-apps";
import { namespaceOf } from "../../../scripts/rendered-apps";

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** The path the process behind this port serves metrics on, if it serves metrics there. */
  readonly metricsPath?: string;
}

export interface RenderedService {
  /** Where it came from, for messages. */
  readonly source: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
}

const get = (values: unknown, path: string): unknown => at(values, path);
const str = (value: unknown, fallback: string): string => (typeof value === "string" && value !== "" ? value : fallback);
/** The `<chart>.fullname` helper most charts share: fullnameOverride, else the release name if it contains the chart name, else `<release>-<chart>`. */
const fullname = (values: unknown, release: string, chart: string): string => {
  const override = get(values, "fullnameOverride");
  if (typeof override === "string" && override !== "") return override.slice(0, 63).replace(/-$/, "");
  const name = str(get(values, "nameOverride"), chart);
  return (release.includes(name) ? release : `${release}-${name}`).slice(0, 63).replace(/-$/, "");
};

const contracts = new Map<string, ReturnType<typeof loadChart>>();
const withContract = (folder: string, values: Values): Values => {
  const contract = contracts.get(folder) ?? loadChart(folder);
  contracts.set(folder, contract);
  return effectiveValues(contract, values);
};

type Model = (release: ChartRelease) => RenderedService[];

const airflow: Model = (release) => {
  const values = withContract("airflow", release.values);
  if (get(values, "statsd.enabled") !== true) return [];
  const labels = { tier: "airflow", component: "statsd", release: release.name, chart: "airflow-1.19.0", heritage: "Helm", ...((get(values, "labels") ?? {}) as Record<string, string>) };
  return [
    {
      source: `${release.address} templates/statsd/statsd-service.yaml`,
      name: `${fullname(values, release.name, "airflow")}-statsd`,
      namespace: release.namespace,
      labels,
      ports: [
        { name: "statsd-ingest", port: Number(get(values, "ports.statsdIngest")) },
        { name: "statsd-scrape", port: Number(get(values, "ports.statsdScrape")), metricsPath: "/metrics" },
      ],
    },
  ];
};

const datahub: Model = (release) => {
  const values = withContract("datahub", release.values);
  const gms = (get(values, "datahub-gms") ?? {}) as Values;
  if (gms.enabled === false) return [];
  const monitoring = (get(values, "global.datahub.monitoring") ?? {}) as Values;
  const mode = str(monitoring.metricsMode, "jmx_and_actuator").trim();
  const basePath = get(values, "global.basePath.enabled") === true && get(values, "global.basePath.gms") !== "/" ? String(get(values, "global.basePath.gms")) : "";
  const ports: ServicePort[] = [{ name: str(get(gms, "service.name"), "http"), port: Number(get(gms, "service.port") ?? 8080), ...(mode === "legacy" ? { metricsPath: `${basePath}/actuator/prometheus` } : {}) }];
  if (monitoring.enablePrometheus === true) {
    if (mode === "legacy" || mode === "jmx_and_actuator") {
      ports.push({ name: String(monitoring.portName), port: Number(monitoring.jmxPort ?? 4318), metricsPath: str(at(monitoring, "jmxExporter.metricsPath"), "/metrics") });
    }
    if (mode === "jmx_and_actuator" || mode === "actuator_only") {
      ports.push({ name: "prometheus", port: Number(monitoring.actuatorPrometheusPort ?? 4319), metricsPath: `${basePath}/actuator/prometheus` });
    }
  }
  const name = str(gms.nameOverride, "datahub-gms");
  return [
    {
      source: `${release.address} subcharts/datahub-gms/templates/service.yaml`,
      name: fullname(gms, release.name, "datahub-gms"),
      namespace: release.namespace,
      labels: { "helm.sh/chart": "datahub-gms-1.1.0", "app.kubernetes.io/name": name, "app.kubernetes.io/instance": release.name, "app.kubernetes.io/managed-by": "Helm" },
      ports,
    },
  ];
};

const traefik: Model = (release) => {
  const values = release.values;
  const prometheus = get(values, "metrics.prometheus");
  // values.yaml L674-694: prometheus is on by default; `metrics.prometheus.service.enabled` defaults to false.
  if (prometheus === null || get(values, "metrics.prometheus.service.enabled") !== true) return [];
  const name = str(get(values, "nameOverride"), "traefik");
  const instance = str(get(values, "instanceLabelOverride"), `${release.name}-${release.namespace}`);
  return [
    {
      source: `${release.address} traefik/templates/service-metrics.yaml`,
      name: `${fullname(values, release.name, "traefik")}-metrics`,
      namespace: release.namespace,
      labels: {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": "metrics",
        "helm.sh/chart": "traefik-41.3.0",
        "app.kubernetes.io/managed-by": "Helm",
        ...((get(values, "metrics.prometheus.service.labels") ?? {}) as Record<string, string>),
      },
      // values.yaml L1095-1098: ports.metrics.port 9100; Traefik's Prometheus handler serves /metrics.
      ports: [{ name: "metrics", port: Number(get(values, "ports.metrics.port") ?? 9100), metricsPath: "/metrics" }],
    },
  ];
};

const externalSecrets: Model = (release) => {
  const values = release.values;
  const name = str(get(values, "nameOverride"), "external-secrets");
  const base = fullname(values, release.name, "external-secrets");
  const common = { "helm.sh/chart": "external-secrets-2.9.0", "app.kubernetes.io/version": "v2.9.0", "app.kubernetes.io/managed-by": "Helm" };
  const services: RenderedService[] = [];
  // values.yaml L361-365: metrics.service.enabled false, port 8080.
  if (get(values, "metrics.service.enabled") === true || get(values, "serviceMonitor.enabled") === true) {
    services.push({
      source: `${release.address} templates/service.yaml`,
      name: `${base}-metrics`,
      namespace: release.namespace,
      labels: { ...common, "app.kubernetes.io/name": name, "app.kubernetes.io/instance": release.name },
      ports: [{ name: "metrics", port: Number(get(values, "metrics.service.port") ?? 8080), metricsPath: "/metrics" }],
    });
  }
  if (get(values, "webhook.create") !== false) {
    services.push({
      source: `${release.address} templates/webhook-service.yaml`,
      name: `${base}-webhook`,
      namespace: release.namespace,
      labels: { ...common, "app.kubernetes.io/name": `${name}-webhook`, "app.kubernetes.io/instance": release.name, "external-secrets.io/component": "webhook" },
      ports: [{ name: "webhook", port: 443 }],
    });
  }
  return services;
};

const certManager: Model = (release) => {
  const values = release.values;
  const common = { "app.kubernetes.io/version": "v1.21.1", "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "cert-manager-v1.21.1" };
  const services: RenderedService[] = [];
  // values.yaml L649-662: prometheus.enabled true; the Service exists unless the PodMonitor is chosen.
  if (get(values, "prometheus.enabled") !== false && get(values, "prometheus.podmonitor.enabled") !== true) {
    services.push({
      source: `${release.address} templates/service.yaml`,
      name: fullname(values, release.name, "cert-manager"),
      namespace: release.namespace,
      labels: { ...common, app: "cert-manager", "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": release.name, "app.kubernetes.io/component": "controller" },
      ports: [{ name: "http-metrics", port: 9402, metricsPath: "/metrics" }],
    });
  }
  services.push({
    source: `${release.address} templates/webhook-service.yaml`,
    name: `${fullname(values, release.name, "cert-manager")}-webhook`,
    namespace: release.namespace,
    labels: { ...common, app: "webhook", "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": release.name, "app.kubernetes.io/component": "webhook" },
    ports: [{ name: "https", port: 443 }, { name: "metrics", port: 9402, metricsPath: "/metrics" }],
  });
  return services;
};

/** The port of an `<host>:<port>` listen address. */
const portOf = (endpoint: unknown): number | undefined => {
  const match = /:(\d+)$/.exec(String(endpoint ?? ""));
  return match ? Number(match[1]) : undefined;
};

const otelCollector: Model = (release) => {
  const values = withContract("opentelemetry-collector", release.values);
  if (get(values, "service.enabled") === false) return [];
  const mode = String(get(values, "mode"));
  const component = { deployment: "standalone-collector", daemonset: "agent-collector", statefulset: "statefulset-collector" }[mode] ?? "";
  // Ports that serve metrics: the prometheus exporter's listen port, and the collector's own
  // telemetry (`service.telemetry.metrics.readers[].pull.exporter.prometheus.port`).
  const exporters = (get(values, "config.exporters") ?? {}) as Values;
  const metricsPorts = new Set<number>();
  for (const [id, exporter] of Object.entries(exporters)) if (id.split("/")[0] === "prometheus" && isMap(exporter)) metricsPorts.add(portOf(exporter.endpoint) ?? 8889);
  for (const reader of list<Values>(get(values, "config.service.telemetry.metrics.readers"))) {
    const port = at(reader, "pull.exporter.prometheus.port");
    if (port !== undefined) metricsPorts.add(Number(port));
  }
  const ports = Object.entries((get(values, "ports") ?? {}) as Record<string, Values>)
    .filter(([, port]) => port.enabled === true)
    .map(([name, port]) => ({ name, port: Number(port.servicePort), ...(metricsPorts.has(Number(port.containerPort)) ? { metricsPath: "/metrics" } : {}) }));
  return [
    {
      source: `${release.address} templates/service.yaml`,
      name: fullname(values, release.name, "opentelemetry-collector"),
      namespace: str(get(values, "namespaceOverride"), release.namespace),
      labels: {
        "helm.sh/chart": "opentelemetry-collector-0.170.0",
        "app.kubernetes.io/name": str(get(values, "nameOverride"), "opentelemetry-collector"),
        "app.kubernetes.io/instance": release.name,
        "app.kubernetes.io/version": "0.158.0",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "opentelemetry-collector",
        "app.kubernetes.io/component": component,
        component,
        ...((get(values, "additionalLabels") ?? {}) as Record<string, string>),
      },
      ports,
    },
  ];
};

const MODELS: Readonly<Record<string, Model>> = {
  "airflow@1.19.0": airflow,
  "datahub@1.1.0": datahub,
  "traefik@41.3.0": traefik,
  "external-secrets@2.9.0": externalSecrets,
  "cert-manager@v1.21.1": certManager,
  "opentelemetry-collector@0.170.0": otelCollector,
};

/** The Services of one chart release that matter for scraping ([] for charts without a model). */
export function chartServices(release: ChartRelease): RenderedService[] {
  return MODELS[`${release.chart}@${release.version}`]?.(release) ?? [];
}

/**
 * postgres_exporter v0.20.1 serves /metrics (`--web.telemetry-path` default) on `:9187`
 * (`--web.listen-address` default) unless its args change them.
 */
function projectMetricsPath(object: KubeObject, port: Values, workloads: readonly KubeObject[]): string | undefined {
  const selector = (object.spec as { selector?: Record<string, string> }).selector ?? {};
  const selected = workloads.filter((workload) => {
    const labels = (at(workload, "spec.template.metadata.labels") ?? {}) as Record<string, string>;
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
  });
  for (const workload of selected) {
    for (const container of list<Values>(at(workload, "spec.template.spec.containers"))) {
      if (!String(container.image).startsWith("quay.io/prometheuscommunity/postgres-exporter:")) continue;
      const args = list<string>(container.args);
      if (args.some((arg) => arg.startsWith("--web.listen-address") || arg.startsWith("--web.telemetry-path"))) continue;
      const containerPort = list<Values>(container.ports).find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
      if (containerPort?.containerPort === 9187) return "/metrics";
    }
  }
  return undefined;
}

/** Every Service of a rendered stack: the charts' (modelled) and the project's own. */
export function stackServices(rendered: RenderedApps): RenderedService[] {
  const workloads = rendered.objects.map(({ object }) => object).filter((object) => object.kind === "Deployment");
  const own = rendered.objects
    .filter(({ object }) => object.kind === "Service")
    .map((located: Located<KubeObject>) => {
      const { object } = located;
      const ports = list<Values>((object.spec as Values).ports).map((port) => {
        const path = projectMetricsPath(object, port, workloads);
        return { name: String(port.name), port: Number(port.port), ...(path ? { metricsPath: path } : {}) };
      });
      return { source: located.source, name: String(object.metadata.name), namespace: namespaceOf(located) ?? "default", labels: object.metadata.labels ?? {}, ports };
    });
  return [...rendered.releases.flatMap((release) => chartServices(release)), ...own];
}

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: string[] }[];
}

/** k8s.io/apimachinery labels.SelectorFromSet / LabelSelectorAsSelector semantics. */
export function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const matchExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case "In":
        return key in labels && values.includes(labels[key]);
      case "NotIn":
        return !(key in labels) || !values.includes(labels[key]);
      case "Exists":
        return key in labels;
      case "DoesNotExist":
        return !(key in labels);
      default:
        return false;
    }
  });
  return matchLabels && matchExpressions;
}

export interface EndpointMatch {
  readonly service: RenderedService;
  readonly port: ServicePort;
  /** The endpoint's path (default /metrics). */
  readonly path: string;
}

/** For each endpoint of a ServiceMonitor, the (Service, port) pairs Prometheus would scrape. */
export function serviceMonitorMatches(monitor: KubeObject, services: readonly RenderedService[]): EndpointMatch[][] {
  const spec = monitor.spec as {
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    selector: LabelSelector;
    endpoints: { port?: string; path?: string }[];
  };
  const own = monitor.metadata.namespace;
  const inNamespace = (namespace: string) =>
    spec.namespaceSelector?.any === true ? true : (spec.namespaceSelector?.matchNames ?? []).length > 0 ? (spec.namespaceSelector?.matchNames ?? []).includes(namespace) : namespace === own;
  const selected = services.filter((service) => inNamespace(service.namespace) && selects(spec.selector, service.labels));
  return spec.endpoints.map((endpoint) =>
    selected.flatMap((service) => service.ports.filter((port) => port.name === endpoint.port).map((port) => ({ service, port, path: endpoint.path ?? "/metrics" }))),
  );
}
