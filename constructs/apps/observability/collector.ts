/**
 * One OpenTelemetry Collector per cluster, in the monitoring namespace, in every environment: it
 * receives OTLP (gRPC and HTTP) metrics from Airbyte and from any workload that emits the
 * data-quality metric contract, and exposes them to Prometheus through its `prometheus` exporter.
 *
 * Chart: opentelemetry-collector 0.170.0 (open-telemetry/opentelemetry-helm-charts, tag
 * opentelemetry-collector-0.170.0, charts/opentelemetry-collector; app version 0.158.0), values
 * checked against ../shared/charts/opentelemetry-collector (values.schema.json and the paths its
 * templates read).
 */
import { APP_CATALOGUE } from "../../core/apps";
import type { ChartRef, Resources, Toleration } from "../types";

export const OTEL_COLLECTOR_CHART: ChartRef = {
  repository: "https://open-telemetry.github.io/opentelemetry-helm-charts",
  chart: "opentelemetry-collector",
  version: "0.170.0",
};

/** Folder of the chart's contract under shared/charts. */
export const OTEL_COLLECTOR_CHART_CONTRACT = "opentelemetry-collector";

/**
 * Release name, also `fullnameOverride`: the chart names its Deployment and Service after it
 * (templates/_helpers.tpl `opentelemetry-collector.fullname`).
 */
export const OTEL_COLLECTOR_RELEASE = "otel-collector";

/** The monitoring namespace (from the catalogue: monitoring.ts imports nothing from here). */
const NAMESPACE = APP_CATALOGUE.monitoring.namespace;

/**
 * The contrib distribution: the `prometheus` exporter is not in the core distribution's
 * manifest (opentelemetry-collector-releases, distributions/otelcol/manifest.yaml). Tag = the
 * chart's appVersion 0.158.0, pinned.
 */
export const OTEL_COLLECTOR_IMAGE = { repository: "otel/opentelemetry-collector-contrib", tag: "0.158.0" } as const;

/** Container and Service ports (the chart's `ports.<name>`; names are the Service's port names). */
export const OTEL_COLLECTOR_PORTS = {
  /** OTLP gRPC (chart default port `otlp`). */
  otlpGrpc: { name: "otlp", port: 4317 },
  /** OTLP HTTP (chart default port `otlp-http`). */
  otlpHttp: { name: "otlp-http", port: 4318 },
  /** The `prometheus` exporter: the received metrics, in Prometheus format. */
  exported: { name: "prom-exporter", port: 8889 },
  /** The collector's own telemetry (chart default port `metrics`, `service.telemetry.metrics`). */
  self: { name: "metrics", port: 8888 },
} as const;

const SERVICE_HOST = `${OTEL_COLLECTOR_RELEASE}.${NAMESPACE}.svc.cluster.local`;

/**
 * Where workloads in the cluster send OTLP. HTTP senders post metrics to `<http>/v1/metrics`
 * (OTLP/HTTP specification); `httpMetrics` is that full URL, as Micrometer's OTLP registry
 * (Airbyte) and `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` take it.
 */
export const OTLP_ENDPOINTS = {
  grpc: `http://${SERVICE_HOST}:${OTEL_COLLECTOR_PORTS.otlpGrpc.port}`,
  http: `http://${SERVICE_HOST}:${OTEL_COLLECTOR_PORTS.otlpHttp.port}`,
  httpMetrics: `http://${SERVICE_HOST}:${OTEL_COLLECTOR_PORTS.otlpHttp.port}/v1/metrics`,
} as const;

/** The collector's resources: memory_limiter refuses data at 80% of the limit, before the OOM killer. */
const RESOURCES: Resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } };

/** The contrib image's user (its Dockerfile: USER 10001). */
const COLLECTOR_UID = 10001;

export interface CollectorSettings {
  readonly production: boolean;
  readonly tolerations: readonly Toleration[];
}

/**
 * The chart's values. The pipeline:
 * otlp (gRPC 4317, HTTP 4318) -> memory_limiter -> batch -> prometheus exporter (8889).
 *
 * The `prometheus` exporter keeps its default naming (translation with suffixes: unit suffixes
 * and `_total` on monotonic sums; opentelemetry-collector-contrib exporter/prometheusexporter
 * config.go) and its default `resource_to_telemetry_conversion: false`: resource attributes do
 * not become labels (only `service.name`/`service.instance.id`, as `job`/`instance`, which the
 * ServiceMonitor keeps as `exported_job`/`exported_instance`), so series do not multiply by pod
 * names and SDK attributes. Traces and logs are not collected (no pipeline, no receiver).
 *
 * With 2 replicas each pod exposes what it received: one sender's series may sit on both pods
 * for up to `metric_expiration` (5m) after its connection moves. Rules aggregate with
 * `max without (instance, pod)`.
 */
export function collectorValues(settings: CollectorSettings): Record<string, unknown> {
  const replicas = settings.production ? 2 : 1;
  const disabled = { enabled: false };
  return {
    mode: "deployment",
    fullnameOverride: OTEL_COLLECTOR_RELEASE,
    image: { repository: OTEL_COLLECTOR_IMAGE.repository, tag: OTEL_COLLECTOR_IMAGE.tag },
    replicaCount: replicas,
    podDisruptionBudget: settings.production ? { enabled: true, minAvailable: 1 } : { enabled: false },
    resources: RESOURCES,
    tolerations: settings.tolerations.map((toleration) => ({ ...toleration })),
    /** The collector calls no Kubernetes API (no k8sattributes processor): no role, no token. */
    serviceAccount: { create: true, automountServiceAccountToken: false },
    clusterRole: { create: false },
    /** Pod Security `restricted`: non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp. */
    podSecurityContext: { runAsNonRoot: true, runAsUser: COLLECTOR_UID, runAsGroup: COLLECTOR_UID, seccompProfile: { type: "RuntimeDefault" } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    ports: {
      [OTEL_COLLECTOR_PORTS.otlpGrpc.name]: { enabled: true, containerPort: OTEL_COLLECTOR_PORTS.otlpGrpc.port, servicePort: OTEL_COLLECTOR_PORTS.otlpGrpc.port, protocol: "TCP", appProtocol: "grpc" },
      [OTEL_COLLECTOR_PORTS.otlpHttp.name]: { enabled: true, containerPort: OTEL_COLLECTOR_PORTS.otlpHttp.port, servicePort: OTEL_COLLECTOR_PORTS.otlpHttp.port, protocol: "TCP" },
      [OTEL_COLLECTOR_PORTS.exported.name]: { enabled: true, containerPort: OTEL_COLLECTOR_PORTS.exported.port, servicePort: OTEL_COLLECTOR_PORTS.exported.port, protocol: "TCP" },
      [OTEL_COLLECTOR_PORTS.self.name]: { enabled: true, containerPort: OTEL_COLLECTOR_PORTS.self.port, servicePort: OTEL_COLLECTOR_PORTS.self.port, protocol: "TCP" },
      "jaeger-compact": disabled,
      "jaeger-thrift": disabled,
      "jaeger-grpc": disabled,
      zipkin: disabled,
    },
    config: {
      // Helm deletes a key set to null from the chart's default config (values merge).
      receivers: {
        jaeger: null,
        zipkin: null,
        /** The chart's self-scrape of port 8888 into the pipeline: Prometheus scrapes 8888 directly. */
        prometheus: null,
        otlp: {
          // `$${` is Terraform's escape: the collector receives `${env:MY_POD_IP}` and expands it itself.
          protocols: {
            grpc: { endpoint: `$\${env:MY_POD_IP}:${OTEL_COLLECTOR_PORTS.otlpGrpc.port}` },
            http: { endpoint: `$\${env:MY_POD_IP}:${OTEL_COLLECTOR_PORTS.otlpHttp.port}` },
          },
        },
      },
      exporters: {
        debug: null,
        prometheus: { endpoint: `$\${env:MY_POD_IP}:${OTEL_COLLECTOR_PORTS.exported.port}` },
      },
      service: {
        pipelines: {
          traces: null,
          logs: null,
          metrics: { receivers: ["otlp"], processors: ["memory_limiter", "batch"], exporters: ["prometheus"] },
        },
      },
    },
  };
}
