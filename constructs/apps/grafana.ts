/**
 * Grafana for the data teams: standalone, its state in the app's PostgreSQL database, reading
 * the cluster's Prometheus (the monitoring release). The platform team's own view of the cluster
 * is the Grafana bundled with the monitoring release.
 */
import { PROMETHEUS_URL } from "./monitoring";
import { DATABASE_SECRET_KEYS, type AppContext, type AppDatabase, type AppRelease, type AppRenderer, type ChartRef, type GeneratedSecret, type Resources } from "./types";

/**
 * Grafana chart 12.11.1 (Grafana 13.2.0), from grafana-community: the chart moved there from
 * grafana/helm-charts, whose last release (10.5.15) gets no updates.
 */
export const GRAFANA_CHART: ChartRef = {
  repository: "https://grafana-community.github.io/helm-charts",
  chart: "grafana",
  version: "12.11.1",
};

/** Helm release name; also `fullnameOverride`, which the alerting peers' headless service is named after. */
export const GRAFANA_RELEASE = "grafana";

/**
 * Secret generated in the cluster: the admin password, and the key Grafana encrypts datasource
 * credentials with in its database (the built-in default is public; never change it once set).
 */
export const GRAFANA_SECRET: GeneratedSecret = {
  name: "grafana-secrets",
  keys: {
    "admin-password": { length: 32, encoding: "hex" },
    "secret-key": { length: 32, encoding: "hex" },
  },
};

/** The admin login name (not a secret); its password is in `GRAFANA_SECRET`. */
const ADMIN_USER = "admin";

/** Port Grafana's unified alerting peers gossip on (the chart's container port `gossip`). */
const GOSSIP_PORT = 9094;

/** Base resources (size `small`): Grafana is a light Go server; queries run in the datasources. */
const BASE_RESOURCES: Resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } };

function requireDatabase(ctx: AppContext): AppDatabase {
  if (!ctx.database) throw new Error(`grafana: no database in the context of environment "${ctx.env.name}"; Grafana keeps its state in PostgreSQL`);
  return ctx.database;
}

/**
 * `grafana.ini`, without any secret: the chart refuses literal passwords there
 * (`assertNoLeakedSecrets`); the database password and the secret key come in as `GF_*`
 * environment variables from Secrets, which Grafana applies over the file.
 */
function renderIni(ctx: AppContext, db: AppDatabase): Record<string, unknown> {
  const ini: Record<string, unknown> = {
    /** TLS is required by every platform database; `require` encrypts without a CA bundle in the image. */
    database: { type: "postgres", host: `${db.host}:${db.port}`, name: db.name, user: db.user, ssl_mode: "require" },
  };
  if (ctx.ingress) {
    ini.server = { root_url: `https://${ctx.ingress.host}/` };
    ini.security = { cookie_secure: true };
  }
  if (ctx.replicas > 1) {
    /**
     * With more than one replica, alert rules would be evaluated and notifications sent by each:
     * the replicas form one Alertmanager cluster through the headless service instead.
     */
    ini.unified_alerting = {
      enabled: true,
      ha_peers: `${GRAFANA_RELEASE}-headless:${GOSSIP_PORT}`,
      ha_listen_address: `\${POD_IP}:${GOSSIP_PORT}`,
      ha_advertise_address: `\${POD_IP}:${GOSSIP_PORT}`,
    };
  }
  return ini;
}

/** Grafana chart values. */
export const renderGrafana: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const db = requireDatabase(ctx);
  const ingress = ctx.ingress;
  const values: Record<string, unknown> = {
    fullnameOverride: GRAFANA_RELEASE,
    /** State lives in PostgreSQL, so replicas are interchangeable and need no volume. */
    replicas: ctx.replicas,
    persistence: { enabled: false },
    headlessService: ctx.replicas > 1,
    podDisruptionBudget: ctx.disruptionBudgets ? { minAvailable: 1 } : {},
    resources: ctx.resources(BASE_RESOURCES),
    podLabels: { ...ctx.podLabels },
    serviceAccount: { create: false, name: ctx.serviceAccount },
    /** No sidecars read the Kubernetes API, so no RBAC and no API token in the pod. */
    rbac: { create: false },
    automountServiceAccountToken: false,
    service: { type: "ClusterIP" },
    admin: { existingSecret: GRAFANA_SECRET.name, passwordKey: "admin-password" },
    env: { GF_SECURITY_ADMIN_USER: ADMIN_USER },
    envValueFrom: {
      GF_DATABASE_PASSWORD: { secretKeyRef: { name: db.secretName, key: DATABASE_SECRET_KEYS.password } },
      GF_SECURITY_SECRET_KEY: { secretKeyRef: { name: GRAFANA_SECRET.name, key: "secret-key" } },
    },
    "grafana.ini": renderIni(ctx, db),
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [{ name: "Prometheus", type: "prometheus", uid: "prometheus", access: "proxy", url: PROMETHEUS_URL, isDefault: true }],
      },
    },
    ingress: ingress
      ? {
          enabled: true,
          ingressClassName: ingress.className,
          annotations: { ...ingress.annotations },
          hosts: [ingress.host],
          path: "/",
          pathType: "Prefix",
          tls: [{ secretName: ingress.tlsSecretName, hosts: [ingress.host] }],
        }
      : { enabled: false },
    /** The `helm test` pod is not part of a GitOps-managed release. */
    testFramework: { enabled: false },
  };
  return [{ name: GRAFANA_RELEASE, chart: GRAFANA_CHART, contract: "grafana", values, generatedSecrets: [GRAFANA_SECRET] }];
};
