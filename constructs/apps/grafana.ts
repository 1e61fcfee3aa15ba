/**
 * Grafana for the data teams: standalone, its state in the app's PostgreSQL database, reading
 * the cluster's Prometheus (the monitoring release). The platform team's own view of the cluster
 * is the Grafana bundled with the monitoring release.
 */
import { PROMETHEUS_URL } from "./monitoring";
import { DATABASE_SECRET_KEYS, type AppContext, type AppDatabase, type AppRelease, type AppRenderer, type ChartRef, type GeneratedSecret, type Resources } from "./types";
import {
  GRAFANA_ADMIN_USER,
  grafanaAdmin,
  grafanaIniBehindIngress,
  grafanaSecret,
  grafanaSecretKeyRef,
  grafanaSsoConfig,
  hostListIngress,
  identityPodLabels,
  platformServiceAccount,
  required,
  spotTolerations,
} from "./common";

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

/** Secret generated in the cluster with the admin password and the key Grafana encrypts datasource credentials with. */
export const GRAFANA_SECRET: GeneratedSecret = grafanaSecret("grafana-secrets");

/** Port Grafana's unified alerting peers gossip on (the chart's container port `gossip`). */
const GOSSIP_PORT = 9094;

/** Base resources (size `small`): Grafana is a light Go server; queries run in the datasources. */
const BASE_RESOURCES: Resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } };

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
  if (ctx.ingress) Object.assign(ini, grafanaIniBehindIngress(ctx.ingress), grafanaSsoConfig(ctx.sso).ini);
  if (ctx.replicas > 1) {
    /**
     * With more than one replica, alert rules would be evaluated and notifications sent by each:
     * the replicas form one Alertmanager cluster through the headless service instead.
     */
    ini.unified_alerting = {
      enabled: true,
      ha_peers: `${GRAFANA_RELEASE}-headless:${GOSSIP_PORT}`,
      // `$${` is Terraform's escape: Grafana receives `${POD_IP}` and expands it itself.
      ha_listen_address: `$\${POD_IP}:${GOSSIP_PORT}`,
      ha_advertise_address: `$\${POD_IP}:${GOSSIP_PORT}`,
    };
  }
  return ini;
}

/** Grafana chart values. */
export const renderGrafana: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const db = required(ctx.database, `grafana: no database in the context of environment "${ctx.env.name}"; Grafana keeps its state in PostgreSQL`);
  const values: Record<string, unknown> = {
    fullnameOverride: GRAFANA_RELEASE,
    /** State lives in PostgreSQL, so replicas are interchangeable and need no volume. */
    replicas: ctx.replicas,
    persistence: { enabled: false },
    headlessService: ctx.replicas > 1,
    podDisruptionBudget: ctx.disruptionBudgets ? { minAvailable: 1 } : {},
    resources: ctx.resources(BASE_RESOURCES),
    podLabels: identityPodLabels(ctx),
    /** Stateless (state is in PostgreSQL): may run on spot nodes. */
    tolerations: spotTolerations(ctx),
    serviceAccount: platformServiceAccount(ctx),
    /** No sidecars read the Kubernetes API, so no RBAC and no API token in the pod. */
    rbac: { create: false },
    automountServiceAccountToken: false,
    service: { type: "ClusterIP" },
    admin: grafanaAdmin(GRAFANA_SECRET),
    env: { GF_SECURITY_ADMIN_USER: GRAFANA_ADMIN_USER },
    envValueFrom: {
      GF_DATABASE_PASSWORD: { secretKeyRef: { name: db.secretName, key: DATABASE_SECRET_KEYS.password } },
      GF_SECURITY_SECRET_KEY: grafanaSecretKeyRef(GRAFANA_SECRET),
      ...grafanaSsoConfig(ctx.sso).envValueFrom,
    },
    "grafana.ini": renderIni(ctx, db),
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [{ name: "Prometheus", type: "prometheus", uid: "prometheus", access: "proxy", url: PROMETHEUS_URL, isDefault: true }],
      },
    },
    ingress: hostListIngress(ctx.ingress, "ingressClassName"),
    /** The `helm test` pod is not part of a GitOps-managed release. */
    testFramework: { enabled: false },
  };
  return [{ name: GRAFANA_RELEASE, chart: GRAFANA_CHART, contract: "grafana", values, generatedSecrets: [GRAFANA_SECRET] }];
};
