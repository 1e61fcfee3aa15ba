import { describe, expect, it } from "vitest";
import { GRAFANA_CHART, GRAFANA_SECRET, renderGrafana } from "../../constructs/apps/grafana";
import { PROMETHEUS_URL } from "../../constructs/apps/monitoring";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, credentialLiterals, effectiveValues, leaves, maps, onlyRelease, secretRefs, type Values } from "../support/values";

const render = (ctx: AppContext): AppRelease => onlyRelease(renderGrafana(ctx));

/** Keys of grafana.ini the chart's `assertNoLeakedSecrets` refuses as literals (templates/_helpers.tpl). */
const SENSITIVE_INI_KEYS = [
  ["database", "password"],
  ["security", "secret_key"],
  ["security", "admin_password"],
  ["smtp", "password"],
] as const;

describe.each(CLOUD_CASES)("Grafana on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("grafana", cloud, production);
  const release = render(ctx);
  const values = release.values;
  const ini = values["grafana.ini"] as Values;
  const db = ctx.database as NonNullable<AppContext["database"]>;

  it("is one pinned release from grafana-community", () => {
    expect(release.name).toBe("grafana");
    expect(release.chart).toEqual({ repository: "https://grafana-community.github.io/helm-charts", chart: "grafana", version: "12.11.1" });
    expect(release.chart).toBe(GRAFANA_CHART);
  });

  it("fits the chart contract", () => {
    expect(unknownPaths(chartContract(release.contract), values)).toEqual([]);
    expect(schemaErrors(chartContract(release.contract), values)).toEqual([]);
  });

  it("keeps its state in the platform's PostgreSQL over TLS, the password from the database Secret", () => {
    expect(ini.database).toEqual({ type: "postgres", host: `${db.host}:5432`, name: db.name, user: db.user, ssl_mode: "require" });
    expect(at(values, "envValueFrom.GF_DATABASE_PASSWORD")).toEqual({ secretKeyRef: { name: db.secretName, key: DATABASE_SECRET_KEYS.password } });
    for (const [section, key] of SENSITIVE_INI_KEYS) expect(at(ini, `${section}.${key}`)).toBeUndefined();
    expect(at(values, "persistence.enabled")).toBe(false);
  });

  it("takes the admin password and the secret key from its generated secret", () => {
    expect(release.generatedSecrets).toEqual([GRAFANA_SECRET]);
    expect(at(values, "admin")).toEqual({ existingSecret: "grafana-secrets", passwordKey: "admin-password" });
    expect(at(values, "env.GF_SECURITY_ADMIN_USER")).toBe("admin");
    expect(at(values, "envValueFrom.GF_SECURITY_SECRET_KEY")).toEqual({ secretKeyRef: { name: "grafana-secrets", key: "secret-key" } });
    expect(Object.keys(GRAFANA_SECRET.keys).sort()).toEqual(["admin-password", "secret-key"]);
  });

  it("reads the monitoring release's Prometheus", () => {
    expect(PROMETHEUS_URL).toBe("http://monitoring-prometheus.monitoring.svc.cluster.local:9090");
    expect(at(values, "datasources")).toEqual({
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [{ name: "Prometheus", type: "prometheus", uid: "prometheus", access: "proxy", url: PROMETHEUS_URL, isDefault: true }],
      },
    });
  });

  it("runs as the platform's service account, without RBAC or an API token", () => {
    const accounts = maps(values).filter(({ path }) => path[path.length - 1] === "serviceAccount");
    expect(accounts.map(({ path }) => path.join("."))).toEqual(["serviceAccount"]);
    expect(at(values, "serviceAccount")).toEqual({ create: false, name: ctx.serviceAccount });
    expect(at(values, "rbac.create")).toBe(false);
    expect(at(values, "automountServiceAccountToken")).toBe(false);
    expect(at(values, "podLabels")).toEqual(ctx.podLabels);
    expect(at(values, "testFramework.enabled")).toBe(false);
  });

  it("publishes the UI through the TLS ingress only", () => {
    expect(at(values, "ingress")).toEqual({
      enabled: true,
      ingressClassName: "traefik",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
      hosts: ["grafana.data.example.com"],
      path: "/",
      pathType: "Prefix",
      tls: [{ secretName: "grafana-tls", hosts: ["grafana.data.example.com"] }],
    });
    expect(at(ini, "server.root_url")).toBe("https://grafana.data.example.com/");
    expect(at(ini, "security.cookie_secure")).toBe(true);
    const effective = effectiveValues(chartContract(release.contract), values);
    expect(at(effective, "service.type")).toBe("ClusterIP");
    expect(leaves(effective).filter(({ value }) => value === "LoadBalancer")).toEqual([]);
  });

  it("replicates with a disruption budget and one alerting cluster in production, and sets resources", () => {
    expect(at(values, "replicas")).toBe(production ? 2 : 1);
    expect(at(values, "podDisruptionBudget")).toEqual(production ? { minAvailable: 1 } : {});
    expect(at(values, "headlessService")).toBe(production);
    const alertingCluster = {
      enabled: true,
      ha_peers: "grafana-headless:9094",
      ha_listen_address: "$${POD_IP}:9094",
      ha_advertise_address: "$${POD_IP}:9094",
    };
    expect(ini.unified_alerting).toEqual(production ? alertingCluster : undefined);
    expect(at(values, "fullnameOverride")).toBe("grafana");
    expect(at(values, "resources")).toEqual(ctx.resources({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } }));
  });

  it("contains no credential", () => {
    expect(credentialLiterals(values)).toEqual([]);
    const generated = Object.keys(GRAFANA_SECRET.keys);
    const exists = ({ name, key }: { name: string; key: string }) =>
      name === db.secretName ? (Object.values(DATABASE_SECRET_KEYS) as string[]).includes(key) : name === GRAFANA_SECRET.name && generated.includes(key);
    expect(secretRefs(values).filter((ref) => !exists(ref))).toEqual([]);
  });
});

describe("Grafana edge cases", () => {
  it("has no ingress and no public URL when the environment gives it none", () => {
    const release = render({ ...appContext("grafana", "gcp", true), ingress: undefined });
    expect(at(release.values, "ingress")).toEqual({ enabled: false });
    expect(release.values["grafana.ini"]).not.toHaveProperty("server");
    expect(unknownPaths(chartContract(release.contract), release.values)).toEqual([]);
  });

  it("refuses a context without a database", () => {
    expect(() => renderGrafana({ ...appContext("grafana", "aws", true), database: undefined })).toThrow(/grafana: no database/);
  });

  it("the contract check catches a misspelt key", () => {
    const release = render(appContext("grafana", "azure", true));
    expect(unknownPaths(chartContract(release.contract), { ...release.values, replica: 2 })).toEqual(["replica"]);
    const ingress = at(release.values, "ingress") as Values;
    expect(unknownPaths(chartContract(release.contract), { ...release.values, ingress: { ...ingress, className: "traefik" } })).toEqual(["ingress.className"]);
  });

  it("the credential check catches a literal password in grafana.ini", () => {
    const release = render(appContext("grafana", "azure", true));
    const ini = release.values["grafana.ini"] as Values;
    const literal = { ...release.values, "grafana.ini": { ...ini, database: { ...(ini.database as Values), password: "hunter2" } } };
    expect(credentialLiterals(literal)).toEqual(["grafana.ini.database.password"]);
  });
});
