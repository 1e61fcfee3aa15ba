/**
 * Monitoring: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager,
 * kube-state-metrics, node-exporter, the default rules and dashboards) in every environment that
 * runs apps. Its bundled Grafana is the platform team's view of the cluster; the data teams get
 * their own Grafana (`grafana.ts`), which reads this Prometheus through `PROMETHEUS_URL`.
 */
import { APP_CATALOGUE } from "../core/apps";
import type { AppContext, AppRelease, AppRenderer, ChartRef, GeneratedSecret, PrivilegedNamespace, Resources } from "./types";
import { mebibytes, millicores } from "./scale";
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
  spotTolerations,
} from "./common";
import { environmentLabelValues, hubPrometheusValues, hubSizing, remoteWriteSpec } from "./observability/hub";

/** kube-prometheus-stack 88.5.3 (Prometheus Operator v0.93.1, bundles Grafana chart 12.11.1). */
export const KUBE_PROMETHEUS_STACK_CHART: ChartRef = {
  repository: "https://prometheus-community.github.io/helm-charts",
  chart: "kube-prometheus-stack",
  version: "88.5.3",
};

/** Helm release name; also the `fullnameOverride`, so service names do not depend on the chart name. */
export const MONITORING_RELEASE = "monitoring";

/**
 * Namespace of the monitoring release. Other apps' renderers need it before they see the
 * monitoring context (the standalone Grafana's datasource), so it comes from the catalogue.
 */
export const MONITORING_NAMESPACE = APP_CATALOGUE.monitoring.namespace;

/**
 * In-cluster URL of Prometheus: the chart's service `<fullname>-prometheus` on port 9090.
 * With two Prometheus replicas the service balances queries between two independent scrapers;
 * their data differs only by scrape timing (add Thanos or remote write for one deduplicated view).
 */
export const PROMETHEUS_URL = `http://${MONITORING_RELEASE}-prometheus.${MONITORING_NAMESPACE}.svc.cluster.local:9090`;

/**
 * node-exporter reads the host's metrics from the host itself: the chart's DaemonSet runs with
 * hostNetwork, hostPID, a hostPort and hostPath mounts of `/`, `/proc` and `/sys`
 * (prometheus-node-exporter chart bundled with kube-prometheus-stack 88.5.3, values
 * `hostNetwork`, `hostPID`, `hostRootFsMount`; templates/daemonset.yaml). Pod Security `baseline`
 * forbids each of those, so it runs alone in a namespace that enforces `privileged`, and the
 * monitoring namespace keeps `baseline`.
 */
export const NODE_EXPORTER_NAMESPACE: PrivilegedNamespace = {
  name: "node-exporter",
  podSecurity: "privileged",
  reason: "node-exporter reads host metrics through hostNetwork, hostPID, a hostPort and read-only hostPath mounts of /, /proc and /sys",
};

/** Secret generated in the cluster for the bundled Grafana: its admin password and the key it encrypts datasource secrets with. */
export const MONITORING_GRAFANA_SECRET: GeneratedSecret = grafanaSecret("monitoring-grafana-secrets");

/**
 * Prometheus storage and retention. `retentionSize` stays about 10% under the volume so the
 * TSDB deletes old blocks before the disk fills (WAL and compaction need headroom).
 */
interface PrometheusStorage {
  readonly retentionDays: number;
  readonly volumeGiB: number;
}

/** Production keeps 30 days on 100 GiB; other environments 7 days on 20 GiB. A metrics hub adds what its senders need. */
const PROMETHEUS_STORAGE: Readonly<Record<"production" | "other", PrometheusStorage>> = {
  production: { retentionDays: 30, volumeGiB: 100 },
  other: { retentionDays: 7, volumeGiB: 20 },
};

/** `retentionSize` 10% under the volume (rounded down to whole GiB). */
const retentionSize = (volumeGiB: number) => `${Math.floor(volumeGiB * 0.9)}GiB`;

/** Prometheus resources grown by what a metrics hub receives (request and limit alike: memory is not overcommitted). */
function withHubLoad(base: Resources, memoryMiB: number, cpuMillis: number): Resources {
  const memory = `${mebibytes(base.limits.memory) + memoryMiB}Mi`;
  return {
    requests: { cpu: `${millicores(base.requests.cpu) + cpuMillis}m`, memory },
    limits: { ...(base.limits.cpu === undefined ? {} : { cpu: `${millicores(base.limits.cpu) + cpuMillis}m` }), memory },
  };
}
/**
 * The AlertmanagerConfig (in the monitoring namespace) that is Alertmanager's whole configuration:
 * receivers, routes and inhibition from the spec's `alerts` (observability/routing.ts).
 */
export const ALERTMANAGER_CONFIG_NAME = "platform-alerts";

/** Alertmanager keeps only silences and the notification log: 2 GiB is plenty. */
const ALERTMANAGER_VOLUME = "2Gi";

/** The bundled Grafana keeps users, API keys and UI-made dashboards in SQLite on this volume. */
const GRAFANA_VOLUME = "10Gi";

/** Base resources (size `small`); `ctx.resources` scales them by the app's size. */
const BASE_RESOURCES = {
  /** Prometheus memory grows with active series; 2 GiB holds a small cluster with headroom. */
  prometheus: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } },
  alertmanager: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  operator: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  kubeStateMetrics: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  nodeExporter: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
  grafana: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
} satisfies Record<string, Resources>;

const persistentVolume = (size: string) => ({
  volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } },
});

/**
 * The bundled Grafana, only when the environment gives monitoring an ingress (it is of no use
 * without one). It runs as a service account of its own with namespaced RBAC: its sidecars read
 * the dashboards and datasources kube-prometheus-stack ships as ConfigMaps in this namespace.
 * It needs no cloud identity, and the platform's account carries Prometheus's cluster-wide read
 * access, which a web UI should not hold.
 */
/**
 * How the bundled Grafana's dashboard sidecar (kiwigrid/k8s-sidecar 2.10.1, grafana chart 12.11.1)
 * finds dashboards: ConfigMaps in the monitoring namespace labelled `grafana_dashboard: "1"`,
 * kube-prometheus-stack 88.5.3's default `grafana.sidecar.dashboards.label`/`labelValue`
 * (values.yaml), which its own dashboard ConfigMaps carry too. `folderAnnotation` is passed to
 * the sidecar as FOLDER_ANNOTATION (grafana chart templates/_pod.tpl); the sidecar writes a
 * ConfigMap annotated with a relative folder into that subfolder of its dashboards directory
 * (k8s-sidecar 2.10.1 src/resources.py `_get_destination_folder`), and with
 * `provider.foldersFromFilesStructure` Grafana makes each subfolder a dashboard folder
 * (grafana chart templates/_config.tpl).
 */
export const DASHBOARD_SIDECAR = { label: "grafana_dashboard", labelValue: "1", folderAnnotation: "grafana_folder" } as const;

/** The bundled Grafana's own service account. */
export const MONITORING_GRAFANA_ACCOUNT = "monitoring-grafana";

function renderGrafana(ctx: AppContext): Record<string, unknown> {
  const ingress = ctx.ingress;
  if (!ingress) return { enabled: false };
  return {
    enabled: true,
    serviceAccount: { create: true, name: MONITORING_GRAFANA_ACCOUNT },
    rbac: { namespaced: true },
    /** SQLite on a ReadWriteOnce volume: one replica, replaced rather than rolled. */
    replicas: 1,
    deploymentStrategy: { type: "Recreate" },
    persistence: { enabled: true, size: GRAFANA_VOLUME },
    /** fsGroup 472 (the chart's pod securityContext) already gives Grafana the volume; the chart's chown init container would run as root. */
    initChownData: { enabled: false },
    resources: ctx.resources(BASE_RESOURCES.grafana),
    /** The admin name is fixed; the chart then reads only the password from the secret. */
    admin: grafanaAdmin(MONITORING_GRAFANA_SECRET),
    env: { GF_SECURITY_ADMIN_USER: GRAFANA_ADMIN_USER },
    envValueFrom: {
      GF_SECURITY_SECRET_KEY: grafanaSecretKeyRef(MONITORING_GRAFANA_SECRET),
      ...grafanaSsoConfig(ctx.sso).envValueFrom,
    },
    sidecar: {
      /**
       * The chart gives sidecars the admin name only from the secret; with a fixed name, say it here.
       * The dashboard sidecar keeps the label kube-prometheus-stack's own dashboards carry
       * (`DASHBOARD_SIDECAR`) and files each ConfigMap under the folder its annotation names;
       * Grafana then creates the folders from that file structure.
       */
      dashboards: {
        searchNamespace: ctx.namespace,
        env: { REQ_USERNAME: GRAFANA_ADMIN_USER },
        folderAnnotation: DASHBOARD_SIDECAR.folderAnnotation,
        provider: { foldersFromFilesStructure: true },
      },
      datasources: { env: { REQ_USERNAME: GRAFANA_ADMIN_USER } },
    },
    "grafana.ini": { ...grafanaIniBehindIngress(ingress), ...grafanaSsoConfig(ctx.sso).ini },
    ingress: hostListIngress(ingress, "ingressClassName"),
    testFramework: { enabled: false },
  };
}

/**
 * kube-prometheus-stack values.
 *
 * Service accounts: Prometheus, Alertmanager and Grafana run as the platform's account
 * (`create: false`). The operator, kube-state-metrics, node-exporter and the admission-webhook
 * jobs keep the accounts the chart creates: each needs its own cluster-wide RBAC (the operator
 * manages StatefulSets and Secrets in every namespace) and none needs the cloud identity, so
 * binding all of it to the one account that carries the identity would only widen what that
 * identity's pods may do.
 */
export const renderMonitoring: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const storage = PROMETHEUS_STORAGE[ctx.env.production ? "production" : "other"];
  const platformAccount = platformServiceAccount(ctx);
  // The metrics hub link (observability/hub.ts): every environment labels its series with its
  // name; a sender remote-writes to its hub; a hub receives, sized for its senders.
  const links = ctx.metricsLinks ?? { senders: [] };
  const receives = links.senders.length > 0;
  const hubLoad = hubSizing(links.senders, storage.retentionDays);
  const volumeGiB = storage.volumeGiB + hubLoad.volumeGiB;
  const labelled = environmentLabelValues(ctx.env);
  const values: Record<string, unknown> = {
    fullnameOverride: MONITORING_RELEASE,
    /** The chart installs the Prometheus Operator CRDs; nothing else in the platform does. */
    crds: { enabled: true },
    /**
     * EKS, AKS and GKE run the control plane out of reach: etcd, the scheduler and the
     * controller manager cannot be scraped, and kube-proxy binds its metrics to localhost (or is
     * replaced by the CNI). Their ServiceMonitors and rules would only fire TargetDown forever.
     */
    kubeEtcd: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeProxy: { enabled: false },
    defaultRules: labelled.defaultRules,
    prometheus: {
      serviceAccount: platformAccount,
      // A hub runs one receiving replica (hubPrometheusValues): a budget of one would block every drain.
      podDisruptionBudget: { enabled: ctx.disruptionBudgets && !receives, minAvailable: 1 },
      prometheusSpec: {
        replicas: ctx.replicas,
        retention: `${storage.retentionDays}d`,
        retentionSize: retentionSize(volumeGiB),
        storageSpec: persistentVolume(`${volumeGiB}Gi`),
        resources: receives ? withHubLoad(ctx.resources(BASE_RESOURCES.prometheus), hubLoad.memoryMiB, hubLoad.cpuMillis) : ctx.resources(BASE_RESOURCES.prometheus),
        podMetadata: { labels: identityPodLabels(ctx) },
        ...labelled.prometheusSpec,
        ...(links.hub ? { remoteWrite: [remoteWriteSpec(links.hub)] } : {}),
        ...(receives ? hubPrometheusValues(links.senders) : {}),
        /**
         * Pick up ServiceMonitors, PodMonitors, rules, probes and scrape configs from every
         * release in the cluster, not only those labelled with this release's name, so apps
         * can ship their own monitoring.
         */
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
      },
    },
    alertmanager: {
      serviceAccount: platformAccount,
      podDisruptionBudget: { enabled: ctx.disruptionBudgets, minAvailable: 1 },
      alertmanagerSpec: {
        /** Alertmanager replicas form a gossip cluster and deduplicate notifications. */
        replicas: ctx.replicas,
        storage: persistentVolume(ALERTMANAGER_VOLUME),
        resources: ctx.resources(BASE_RESOURCES.alertmanager),
        podMetadata: { labels: identityPodLabels(ctx) },
        /**
         * The top-level configuration is the AlertmanagerConfig the observability release
         * renders (routes per severity to Slack and email, the Watchdog heartbeat); the chart's
         * `alertmanager.config` Secret is then ignored by the operator (prometheus-operator
         * v0.93 pkg/alertmanager/operator.go `provisionAlertmanagerConfiguration`). Other
         * AlertmanagerConfigs (the chart's default selector: every one, in every namespace) are
         * still merged below it, each limited to its own namespace's alerts.
         */
        alertmanagerConfiguration: { name: ALERTMANAGER_CONFIG_NAME },
      },
    },
    /**
     * The operator, kube-state-metrics and the webhook certificate jobs hold no state and may run
     * on spot nodes; Prometheus, Alertmanager and the bundled Grafana keep volumes and do not.
     */
    prometheusOperator: {
      resources: ctx.resources(BASE_RESOURCES.operator),
      tolerations: spotTolerations(ctx),
      admissionWebhooks: { patch: { tolerations: spotTolerations(ctx) } },
    },
    "kube-state-metrics": { resources: ctx.resources(BASE_RESOURCES.kubeStateMetrics), tolerations: spotTolerations(ctx) },
    /** Its own privileged namespace; the chart's default tolerations already put it on every node. */
    "prometheus-node-exporter": { namespaceOverride: NODE_EXPORTER_NAMESPACE.name, resources: ctx.resources(BASE_RESOURCES.nodeExporter) },
    grafana: renderGrafana(ctx),
  };
  return [
    {
      name: MONITORING_RELEASE,
      chart: KUBE_PROMETHEUS_STACK_CHART,
      contract: "kube-prometheus-stack",
      values,
      generatedSecrets: ctx.ingress ? [MONITORING_GRAFANA_SECRET] : [],
      privilegedNamespaces: [NODE_EXPORTER_NAMESPACE],
    },
  ];
};
