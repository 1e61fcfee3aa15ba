import { describe, expect, it } from "vitest";
import {
  KUBE_PROMETHEUS_STACK_CHART,
  MONITORING_GRAFANA_SECRET,
  MONITORING_NAMESPACE,
  MONITORING_RELEASE,
  PROMETHEUS_URL,
  renderMonitoring,
} from "../../constructs/apps/monitoring";
import type { AppContext, AppRelease } from "../../constructs/apps/types";
import type { Cloud } from "../../constructs/core/spec";
import { appContext } from "../support/app-context";
import { loadChart, mergeValues, schemaErrors, unknownPaths, type ChartContract } from "../support/chart-contract";

const CLOUDS: readonly Cloud[] = ["aws", "azure", "gcp"];
const CASES = CLOUDS.flatMap((cloud) => [true, false].map((production) => ({ cloud, production })));

type Values = Record<string, unknown>;
const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value);

const contracts = new Map<string, ChartContract>();
/** Chart contracts, loaded once per file. */
function contract(folder: string): ChartContract {
  const loaded = contracts.get(folder) ?? loadChart(folder);
  contracts.set(folder, loaded);
  return loaded;
}

/** The value at a dotted path (keys with dots are not used on these paths). */
function at(values: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isMap(node) ? node[key] : undefined), values);
}

/** Every leaf of a values tree with its key path. */
function leaves(value: unknown, path: readonly string[] = []): { path: readonly string[]; value: unknown }[] {
  if (isMap(value)) return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
  if (Array.isArray(value)) return value.flatMap((child, i) => leaves(child, [...path, String(i)]));
  return [{ path, value }];
}

/** Every map in a values tree with its key path. */
function maps(value: unknown, path: readonly string[] = []): { path: readonly string[]; value: Values }[] {
  const children = isMap(value) ? Object.entries(value) : Array.isArray(value) ? value.map((child, i) => [String(i), child] as const) : [];
  return [...(isMap(value) ? [{ path, value }] : []), ...children.flatMap(([key, child]) => maps(child, [...path, key]))];
}

const CREDENTIAL = /pass(word)?|secret|token|credential|salt|api_?key|private_?key|encryption_?key|signing_?key/i;
const REFERENCE = /^(name|key|secretRef|secretKey|secretName|existingSecret|passwordKey|userKey|existingSecret\w*Key)$/;

/** Literal strings under credential-like keys, except references to Secrets (names and keys). */
function credentialLiterals(values: Values): string[] {
  return leaves(values)
    .filter(({ path, value }) => typeof value === "string" && value !== "" && path.some((key) => CREDENTIAL.test(key)))
    .filter(({ path }) => !REFERENCE.test(path[path.length - 1]))
    .map(({ path }) => path.join("."));
}

/** Secret references the chart turns into `secretKeyRef`s: `{secretRef, secretKey}` and `secretKeyRef: {name, key}`. */
function secretRefs(values: Values): { name: string; key: string }[] {
  return maps(values).flatMap(({ path, value }) => {
    if (typeof value.secretRef === "string" && typeof value.secretKey === "string") return [{ name: value.secretRef, key: value.secretKey }];
    if (path[path.length - 1] === "secretKeyRef") return [{ name: String(value.name), key: String(value.key) }];
    return [];
  });
}

/** The values Helm would use, bundled subcharts included (their defaults, the parent's, ours). */
function effectiveValues(chart: ChartContract, values: Values): Values {
  const merged = mergeValues(chart.defaults, values) as Values;
  for (const [key, sub] of chart.subcharts) merged[key] = mergeValues(mergeValues(sub.defaults, chart.defaults[key]), values[key]);
  return merged;
}

function render(ctx: AppContext): AppRelease {
  const releases = renderMonitoring(ctx);
  expect(releases).toHaveLength(1);
  return releases[0];
}

describe.each(CASES)("monitoring on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("monitoring", cloud, production);
  const release = render(ctx);
  const values = release.values;
  const grafana = values.grafana as Values;

  it("is one pinned release named monitoring, with stable service names", () => {
    expect(ctx.database).toBeUndefined();
    expect(release.name).toBe("monitoring");
    expect(release.chart).toEqual({ repository: "https://prometheus-community.github.io/helm-charts", chart: "kube-prometheus-stack", version: "88.5.3" });
    expect(release.chart).toBe(KUBE_PROMETHEUS_STACK_CHART);
    expect(at(values, "fullnameOverride")).toBe(MONITORING_RELEASE);
    expect(ctx.namespace).toBe(MONITORING_NAMESPACE);
    expect(PROMETHEUS_URL).toBe(`http://${MONITORING_RELEASE}-prometheus.${MONITORING_NAMESPACE}.svc.cluster.local:9090`);
    expect(at(values, "crds.enabled")).toBe(true);
  });

  it("fits the chart contract", () => {
    expect(unknownPaths(contract(release.contract), values)).toEqual([]);
    expect(schemaErrors(contract(release.contract), values)).toEqual([]);
  });

  it("keeps Prometheus and Alertmanager data on persistent volumes with bounded retention", () => {
    const spec = at(values, "prometheus.prometheusSpec") as Values;
    expect(spec.retention).toBe(production ? "30d" : "7d");
    expect(spec.retentionSize).toBe(production ? "90GiB" : "18GiB");
    expect(at(spec, "storageSpec.volumeClaimTemplate.spec")).toEqual({
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: production ? "100Gi" : "20Gi" } },
    });
    expect(at(values, "alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage")).toBe("2Gi");
  });

  it("replicates Prometheus and Alertmanager with disruption budgets in production", () => {
    expect(at(values, "prometheus.prometheusSpec.replicas")).toBe(production ? 2 : 1);
    expect(at(values, "alertmanager.alertmanagerSpec.replicas")).toBe(production ? 2 : 1);
    expect(at(values, "prometheus.podDisruptionBudget")).toEqual({ enabled: production, minAvailable: 1 });
    expect(at(values, "alertmanager.podDisruptionBudget")).toEqual({ enabled: production, minAvailable: 1 });
  });

  it("sets resources on every component", () => {
    for (const path of [
      "prometheus.prometheusSpec.resources",
      "alertmanager.alertmanagerSpec.resources",
      "prometheusOperator.resources",
      "kube-state-metrics.resources",
      "prometheus-node-exporter.resources",
      "grafana.resources",
    ]) {
      expect({ path, resources: at(values, path) }).toMatchObject({
        path,
        resources: { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } },
      });
    }
    expect(at(values, "prometheus.prometheusSpec.resources")).toEqual(ctx.resources({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } }));
  });

  it("runs Prometheus, Alertmanager and Grafana as the platform's account; cluster agents keep their own", () => {
    const accounts = maps(values).filter(({ path }) => path[path.length - 1] === "serviceAccount");
    expect(accounts.map(({ path }) => path.join(".")).sort()).toEqual(["alertmanager.serviceAccount", "grafana.serviceAccount", "prometheus.serviceAccount"]);
    for (const { value } of accounts) expect(value).toEqual({ create: false, name: ctx.serviceAccount });
    expect(at(values, "prometheus.prometheusSpec.podMetadata.labels")).toEqual(ctx.podLabels);
    expect(at(values, "alertmanager.alertmanagerSpec.podMetadata.labels")).toEqual(ctx.podLabels);
    expect(at(values, "grafana.podLabels")).toEqual(ctx.podLabels);
    // Grafana's sidecars read this namespace only, not every ConfigMap and Secret in the cluster.
    expect(at(values, "grafana.rbac.namespaced")).toBe(true);
    expect(at(values, "grafana.sidecar.dashboards.searchNamespace")).toBe(ctx.namespace);
  });

  it("discovers monitors and rules from every release", () => {
    const spec = at(values, "prometheus.prometheusSpec") as Values;
    for (const kind of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"]) expect(spec[`${kind}SelectorNilUsesHelmValues`]).toBe(false);
  });

  it("does not scrape the managed control plane", () => {
    for (const component of ["kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy"]) expect(at(values, `${component}.enabled`)).toBe(false);
  });

  it("publishes only Grafana, through the TLS ingress, with the admin from a generated secret", () => {
    expect(grafana.enabled).toBe(true);
    expect(grafana.ingress).toEqual({
      enabled: true,
      ingressClassName: "traefik",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
      hosts: ["monitoring.data.example.com"],
      path: "/",
      pathType: "Prefix",
      tls: [{ secretName: "monitoring-tls", hosts: ["monitoring.data.example.com"] }],
    });
    expect(grafana.admin).toEqual({ existingSecret: MONITORING_GRAFANA_SECRET.name, passwordKey: "admin-password" });
    expect(at(grafana, "envValueFrom.GF_SECURITY_SECRET_KEY")).toEqual({ secretKeyRef: { name: MONITORING_GRAFANA_SECRET.name, key: "secret-key" } });
    expect(release.generatedSecrets).toEqual([MONITORING_GRAFANA_SECRET]);
    expect(at(values, "prometheus.ingress")).toBeUndefined();
    expect(at(values, "alertmanager.ingress")).toBeUndefined();
    const effective = effectiveValues(contract(release.contract), values);
    // Services of type LoadBalancer that would be rendered (the chart's thanosServiceExternal is one, disabled).
    const loadBalancers = maps(effective).filter(({ value }) => value.type === "LoadBalancer" && value.enabled !== false);
    expect(loadBalancers.map(({ path }) => path.join("."))).toEqual([]);
    expect(at(effective, "prometheus.thanosServiceExternal.enabled")).toBe(false);
  });

  it("contains no credential", () => {
    expect(credentialLiterals(values)).toEqual([]);
    const generated = Object.keys(MONITORING_GRAFANA_SECRET.keys);
    expect(secretRefs(values).filter(({ name, key }) => name !== MONITORING_GRAFANA_SECRET.name || !generated.includes(key))).toEqual([]);
  });
});

describe("monitoring edge cases", () => {
  it("leaves the bundled Grafana out, with no secret, when monitoring has no ingress", () => {
    const release = render({ ...appContext("monitoring", "aws", true), ingress: undefined });
    expect(release.values.grafana).toEqual({ enabled: false });
    expect(release.generatedSecrets).toEqual([]);
    expect(unknownPaths(contract(release.contract), release.values)).toEqual([]);
    expect(maps(release.values).filter(({ path }) => path[path.length - 1] === "serviceAccount")).toHaveLength(2);
  });

  it("the contract check catches a misspelt key", () => {
    const release = render(appContext("monitoring", "azure", true));
    const prometheus = release.values.prometheus as Values;
    const spec = prometheus.prometheusSpec as Values;
    const misspelt = { ...release.values, prometheus: { ...prometheus, prometheusSpec: { ...spec, retentionSise: "1GiB" } } };
    expect(unknownPaths(contract(release.contract), misspelt)).toEqual(["prometheus.prometheusSpec.retentionSise"]);
    const grafana = release.values.grafana as Values;
    const wrongSubchart = { ...release.values, grafana: { ...grafana, persistance: { enabled: true } } };
    expect(unknownPaths(contract(release.contract), wrongSubchart)).toEqual(["grafana.persistance"]);
  });

  it("the credential check catches a literal admin password", () => {
    const release = render(appContext("monitoring", "gcp", false));
    const grafana = release.values.grafana as Values;
    expect(credentialLiterals({ ...release.values, grafana: { ...grafana, adminPassword: "prom-operator" } })).toEqual(["grafana.adminPassword"]);
  });
});
