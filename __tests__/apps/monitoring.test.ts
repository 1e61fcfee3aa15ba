import { describe, expect, it } from "vitest";
import {
  MONITORING_GRAFANA_SECRET,
  MONITORING_NAMESPACE,
  MONITORING_RELEASE,
  PROMETHEUS_URL,
  renderMonitoring,
} from "../../constructs/apps/monitoring";
import type { AppContext, AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, credentialLiterals, effectiveValues, maps, onlyRelease, REQUESTS_AND_MEMORY_LIMIT, secretRefs, type Values } from "../support/values";

const render = (ctx: AppContext): AppRelease => onlyRelease(renderMonitoring(ctx));

describe.each(CLOUD_CASES)("monitoring on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("monitoring", cloud, production);
  const release = render(ctx);
  const values = release.values;
  const grafana = values.grafana as Values;

  it("is one pinned release named monitoring, with stable service names", () => {
    expect(ctx.database).toBeUndefined();
    expect(release.name).toBe("monitoring");
    expect(release.chart).toEqual({ repository: "https://prometheus-community.github.io/helm-charts", chart: "kube-prometheus-stack", version: "88.5.3" });
    expect(at(values, "fullnameOverride")).toBe(MONITORING_RELEASE);
    expect(ctx.namespace).toBe(MONITORING_NAMESPACE);
    // The chart names Prometheus's service <fullnameOverride>-prometheus.
    expect(PROMETHEUS_URL).toBe("http://monitoring-prometheus.monitoring.svc.cluster.local:9090");
    expect(at(values, "crds.enabled")).toBe(true);
  });

  it("fits the chart contract", () => {
    expect(unknownPaths(chartContract(release.contract), values)).toEqual([]);
    expect(schemaErrors(chartContract(release.contract), values)).toEqual([]);
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
        resources: REQUESTS_AND_MEMORY_LIMIT,
      });
    }
    expect(at(values, "prometheus.prometheusSpec.resources")).toEqual(ctx.resources({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } }));
  });

  it("runs Prometheus and Alertmanager as the platform's account; Grafana and cluster agents keep their own", () => {
    const accounts = maps(values).filter(({ path }) => path[path.length - 1] === "serviceAccount");
    expect(accounts.map(({ path }) => path.join(".")).sort()).toEqual(["alertmanager.serviceAccount", "grafana.serviceAccount", "prometheus.serviceAccount"]);
    expect(at(values, "prometheus.serviceAccount")).toEqual({ create: false, name: ctx.serviceAccount });
    expect(at(values, "alertmanager.serviceAccount")).toEqual({ create: false, name: ctx.serviceAccount });
    // Grafana gets neither the cloud identity nor Prometheus's cluster-wide read access.
    expect(at(values, "grafana.serviceAccount")).toEqual({ create: true, name: "monitoring-grafana" });
    expect(at(values, "grafana.podLabels")).toBeUndefined();
    expect(at(values, "prometheus.prometheusSpec.podMetadata.labels")).toEqual(ctx.podLabels);
    expect(at(values, "alertmanager.alertmanagerSpec.podMetadata.labels")).toEqual(ctx.podLabels);
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
    const effective = effectiveValues(chartContract(release.contract), values);
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
    expect(unknownPaths(chartContract(release.contract), release.values)).toEqual([]);
    expect(maps(release.values).filter(({ path }) => path[path.length - 1] === "serviceAccount")).toHaveLength(2);
  });

  it("the contract check catches a misspelt key", () => {
    const release = render(appContext("monitoring", "azure", true));
    const prometheus = release.values.prometheus as Values;
    const spec = prometheus.prometheusSpec as Values;
    const misspelt = { ...release.values, prometheus: { ...prometheus, prometheusSpec: { ...spec, retentionSise: "1GiB" } } };
    expect(unknownPaths(chartContract(release.contract), misspelt)).toEqual(["prometheus.prometheusSpec.retentionSise"]);
    const grafana = release.values.grafana as Values;
    const wrongSubchart = { ...release.values, grafana: { ...grafana, persistance: { enabled: true } } };
    expect(unknownPaths(chartContract(release.contract), wrongSubchart)).toEqual(["grafana.persistance"]);
  });

  it("the credential check catches a literal admin password", () => {
    const release = render(appContext("monitoring", "gcp", false));
    const grafana = release.values.grafana as Values;
    expect(credentialLiterals({ ...release.values, grafana: { ...grafana, adminPassword: "prom-operator" } })).toEqual(["grafana.adminPassword"]);
  });
});
