/**
 * The pods each pinned upstream chart creates, as its templates render them from the values Helm
 * receives: the fields Pod Security looks at, the tolerations, and whether the pod keeps state.
 *
 * Helm and the charts' templates do not run here, so each chart's templates are encoded below
 * from upstream at the pinned version (the file of each pod is named with it), and fed with the
 * values Helm would use: the chart's own defaults from the contract in `../shared/charts`, or,
 * for charts without a contract there, the defaults encoded from their values.yaml (line cited),
 * merged with the release's values. A chart version without a model here fails the suite.
 *
 * Encoded from (research notes of the review, read at these tags):
 * - kube-prometheus-stack-88.5.3 (prometheus-community/helm-charts ea930bae), with its subcharts
 *   prometheus-node-exporter 4.56.1, kube-state-metrics 8.4.0, grafana 12.11.1, and the
 *   prometheus-operator v0.93 container security contexts (pkg/prometheus/server/statefulset.go,
 *   pkg/alertmanager/statefulset.go, pkg/operator/config_reloader.go);
 * - apache/airflow chart/ at helm-chart 1.19.0; airbyte 2.2.0 (airbytehq/charts package,
 *   airbyte-platform charts/v2/airbyte); acryldata/datahub-helm datahub-1.1.0 and
 *   datahub-prerequisites-0.3.0 with opensearch-project/helm-charts opensearch-2.19.0 and
 *   bitnami/charts kafka/26.11.2; pmint93/helm-charts metabase-2.26.0; grafana-community
 *   grafana-12.11.1;
 * - external-secrets helm-chart-2.9.0, traefik-helm-chart v41.3.0, cert-manager v1.21.1,
 *   external-dns-helm-chart-1.21.1;
 * - open-telemetry/opentelemetry-helm-charts opentelemetry-collector-0.170.0;
 * - strimzi/strimzi-kafka-operator 1.2.0 (the operator's chart and the Pod Security providers
 *   the operator applies to the Kafka and entity-operator pods it creates).
 */
import type { Toleration } from "../../../constructs/apps/types";
import { loadChart, mergeValues } from "../chart-contract";
import { at, effectiveValues, isMap, list, type Values } from "../values";
import type { ChartRelease } from "../../../scripts/rendered-apps";
import type { Container, EnvVar, PodSecuritySubject } from "./pod-security";
import { admittedPod } from "./pod-security";

export interface ChartPod {
  /** Release and component, for messages. */
  readonly name: string;
  /** The upstream template that renders the pod. */
  readonly template: string;
  readonly namespace: string;
  /** Why the pod must stay on on-demand nodes (a volume, a quorum, a single loop, a webhook the API server waits on), or false. */
  readonly onDemandOnly: string | false;
  /** A DaemonSet: runs on every node, spot nodes included. */
  readonly daemon?: boolean;
  readonly pod: PodSecuritySubject;
  /** The pod's tolerations, or "none possible" where the chart offers no key for them. */
  readonly tolerations: readonly Toleration[] | "none possible";
}

type SecurityContext = NonNullable<Container["securityContext"]>;

const get = <T = unknown>(values: unknown, path: string): T => at(values, path) as T;
const sc = (value: unknown): SecurityContext | undefined => (isMap(value) && Object.keys(value).length > 0 ? (value as SecurityContext) : undefined);
/** Charts that render a security context only while its `enabled` key is true, without that key. */
const enabledSc = (value: unknown): SecurityContext | undefined => {
  if (!isMap(value) || value.enabled === false) return undefined;
  const { enabled: _enabled, ...rest } = value;
  return sc(rest);
};
const container = (name: string, securityContext: unknown, ports: Container["ports"] = []): Container => ({ name, securityContext: sc(securityContext), ports });
/** A chart whose template picks the component's list, or the chart-wide one when that is empty (`default`/`or`). */
const orFallback = (own: unknown, fallback: unknown): Toleration[] => (list<Toleration>(own).length > 0 ? list(own) : list(fallback));

interface Context {
  readonly release: ChartRelease;
  readonly values: Values;
}

type ChartModel = (context: Context) => ChartPod[];

function pod(context: Context, component: string, template: string, fields: Omit<ChartPod, "name" | "template" | "namespace"> & { namespace?: string }): ChartPod {
  return { name: `${context.release.name}/${component}`, template, namespace: fields.namespace ?? context.release.namespace, ...fields };
}

// ---------------------------------------------------------------------------------------------
// kube-prometheus-stack 88.5.3

/** prometheus-operator v0.93: the container security context it gives every container it builds. */
const OPERATOR_CONTAINER_SC: SecurityContext = { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/** grafana 12.11.1 templates/_pod.tpl: the grafana container, its sidecars and init-chown-data. */
function grafanaPods(context: Context, g: Values, component: string): ChartPod[] {
  if (g.enabled === false) return [];
  const sidecars = ["dashboards", "datasources", "alerts", "notifiers", "plugins"].filter((kind) => get(g, `sidecar.${kind}.enabled`) === true);
  const persistent = get(g, "persistence.enabled") === true;
  const volumes = list<Record<string, unknown>>(g.extraVolumes);
  return [
    pod(context, component, "grafana templates/_pod.tpl (deployment.yaml)", {
      onDemandOnly: persistent ? "persistence.enabled: a ReadWriteOnce volume" : false,
      tolerations: list(g.tolerations),
      pod: {
        securityContext: sc(g.securityContext),
        volumes,
        initContainers: persistent && get(g, "initChownData.enabled") === true ? [container("init-chown-data", get(g, "initChownData.securityContext"))] : [],
        containers: [container("grafana", g.containerSecurityContext), ...sidecars.map((kind) => container(`grafana-sc-${kind}`, get(g, "sidecar.securityContext")))],
      },
    }),
  ];
}

const kubePrometheusStack: ChartModel = (context) => {
  const { values } = context;
  const pods: ChartPod[] = [];
  const operator = values.prometheusOperator as Values;
  if (operator.enabled !== false) {
    pods.push(
      pod(context, "operator", "kube-prometheus-stack templates/prometheus-operator/deployment.yaml", {
        onDemandOnly: false,
        tolerations: list(operator.tolerations),
        pod: { hostNetwork: operator.hostNetwork === true, securityContext: sc(operator.securityContext), containers: [container("kube-prometheus-stack", operator.containerSecurityContext)] },
      }),
    );
    const webhooks = operator.admissionWebhooks as Values;
    if (webhooks.enabled !== false && get(webhooks, "patch.enabled") !== false && get(webhooks, "certManager.enabled") !== true) {
      for (const [job, key] of [["admission-create", "createSecretJob"], ["admission-patch", "patchWebhookJob"]] as const) {
        pods.push(
          pod(context, job, `kube-prometheus-stack templates/prometheus-operator/admission-webhooks/job-patch/job-${key === "createSecretJob" ? "createSecret" : "patchWebhook"}.yaml`, {
            onDemandOnly: false,
            tolerations: list(get(webhooks, "patch.tolerations")),
            pod: { securityContext: sc(get(webhooks, "patch.securityContext")), containers: [container(job, get(webhooks, `${key}.securityContext`))] },
          }),
        );
      }
    }
  }
  for (const [component, key, spec] of [["prometheus", "prometheus", "prometheusSpec"], ["alertmanager", "alertmanager", "alertmanagerSpec"]] as const) {
    const section = values[key] as Values;
    if (section.enabled === false) continue;
    const podSpec = section[spec] as Values;
    const storage = component === "prometheus" ? podSpec.storageSpec : podSpec.storage;
    pods.push(
      pod(context, component, `kube-prometheus-stack templates/${component}/${component}.yaml (StatefulSet built by the operator)`, {
        onDemandOnly: isMap(storage) && Object.keys(storage).length > 0 ? "a persistent volume per replica" : false,
        tolerations: list(podSpec.tolerations),
        pod: {
          hostNetwork: podSpec.hostNetwork === true,
          securityContext: sc(podSpec.securityContext),
          volumes: list(podSpec.volumes),
          initContainers: [{ name: "init-config-reloader", securityContext: OPERATOR_CONTAINER_SC }],
          containers: [component, "config-reloader"].map((name) => ({ name, securityContext: OPERATOR_CONTAINER_SC })),
        },
      }),
    );
  }
  if (get(values, "kubeStateMetrics.enabled") !== false) {
    const ksm = values["kube-state-metrics"] as Values;
    pods.push(
      pod(context, "kube-state-metrics", "kube-state-metrics templates/deployment.yaml", {
        onDemandOnly: false,
        tolerations: list(ksm.tolerations),
        pod: { hostNetwork: ksm.hostNetwork === true, securityContext: enabledSc(ksm.securityContext), containers: [container("kube-state-metrics", ksm.containerSecurityContext)] },
      }),
    );
  }
  if (get(values, "nodeExporter.enabled") !== false) {
    const exporter = values["prometheus-node-exporter"] as Values;
    const namespace = typeof exporter.namespaceOverride === "string" && exporter.namespaceOverride !== "" ? exporter.namespaceOverride : context.release.namespace;
    // /proc and /sys are mounted unconditionally, / with hostRootFsMount.enabled.
    const hostPaths = ["proc", "sys", ...(get(exporter, "hostRootFsMount.enabled") === true ? ["root"] : [])];
    pods.push(
      pod(context, "node-exporter", "prometheus-node-exporter templates/daemonset.yaml", {
        namespace,
        onDemandOnly: false,
        daemon: true,
        tolerations: list(exporter.tolerations),
        pod: admittedPod({
          hostNetwork: exporter.hostNetwork === true,
          hostPID: exporter.hostPID === true,
          hostIPC: exporter.hostIPC === true,
          securityContext: sc(exporter.securityContext),
          volumes: hostPaths.map((name) => ({ name, hostPath: { path: name === "root" ? "/" : `/${name}` } })),
          containers: [container("node-exporter", exporter.containerSecurityContext, [{ containerPort: get<number>(exporter, "service.port") }])],
        }),
      }),
    );
  }
  pods.push(...grafanaPods(context, values.grafana as Values, "grafana"));
  return pods;
};

// ---------------------------------------------------------------------------------------------
// airflow 1.19.0 (apache/airflow f17d6ffb, the commit the 1.19.0 package was built from):
// templates/_helpers.yaml L929-948 airflowPodSecurityContext (for each scope in order, its
// `securityContexts.pod`, else its `securityContext`; then `runAsUser: uid, fsGroup: gid`),
// L1044-1063 containerSecurityContext (each scope's `securityContexts.container`, else the
// global `securityContexts.containers`, else the default below), L963-971
// localPodSecurityContext and L1076-1084 externalContainerSecurityContext (statsd).

const AIRFLOW_DEFAULT_CONTAINER_SC: SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/**
 * The Secret-backed variables of `standard_airflow_environment` (_helpers.yaml L54-168) for the
 * KubernetesExecutor with Airflow 3 (`airflowVersion` 3.1.7; the Celery, Elasticsearch,
 * OpenSearch and KEDA ones need features the platform leaves off), each with its
 * `enableBuiltInSecretEnvVars` switch, the Secret's template (L415-437: the values key, else
 * `<release>-<suffix>`) and key.
 */
const AIRFLOW_BUILT_IN_SECRET_ENV: readonly { name: string; secret: string; fallback: string; key: string }[] = [
  { name: "AIRFLOW__CORE__FERNET_KEY", secret: "fernetKeySecretName", fallback: "fernet-key", key: "fernet-key" },
  { name: "AIRFLOW__CORE__SQL_ALCHEMY_CONN", secret: "data.metadataSecretName", fallback: "metadata", key: "connection" },
  { name: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", secret: "data.metadataSecretName", fallback: "metadata", key: "connection" },
  { name: "AIRFLOW_CONN_AIRFLOW_DB", secret: "data.metadataSecretName", fallback: "metadata", key: "connection" },
  { name: "AIRFLOW__API__SECRET_KEY", secret: "apiSecretKeySecretName", fallback: "api-secret-key", key: "api-secret-key" },
  { name: "AIRFLOW__API_AUTH__JWT_SECRET", secret: "jwtSecretName", fallback: "jwt-secret", key: "jwt-secret" },
];

/** A values `env` list (`container_extra_envs`, _helpers.yaml L1087-1104, or a raw `tpl`/toYaml list) as variables. */
const envList = (value: unknown): EnvVar[] =>
  list<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>(value).map((item) => ({
    name: item.name,
    ...(item.valueFrom?.secretKeyRef ? { secretKeyRef: { name: item.valueFrom.secretKeyRef.name, key: item.valueFrom.secretKeyRef.key } } : {}),
  }));

const airflow: ChartModel = (context) => {
  const { values } = context;
  const first = (...candidates: unknown[]) => candidates.map(sc).find((found) => found !== undefined);
  /** airflowPodSecurityContext over `(list <scopes...> .Values)`. */
  const podSc = (...scopes: string[]) =>
    first(...[...scopes.map((scope) => get(values, scope)), values].flatMap((scope) => [get(scope, "securityContexts.pod"), get(scope, "securityContext")])) ??
    ({ runAsUser: values.uid, fsGroup: values.gid } as SecurityContext);
  /** containerSecurityContext over `(list <scopes...> .Values)`. */
  const containerSc = (...scopes: string[]) =>
    first(...[...scopes.map((scope) => get(values, scope)), values].map((scope) => get(scope, "securityContexts.container")), get(values, "securityContexts.containers")) ??
    AIRFLOW_DEFAULT_CONTAINER_SC;
  /** `standard_airflow_environment`'s Secret-backed variables that `enableBuiltInSecretEnvVars` leaves on. */
  const builtInEnv: EnvVar[] = AIRFLOW_BUILT_IN_SECRET_ENV.filter(({ name }) => get(values, `enableBuiltInSecretEnvVars.${name}`) !== false).map(({ name, secret, fallback, key }) => ({
    name,
    secretKeyRef: { name: (get<string | undefined>(values, secret) || `${context.release.name}-${fallback}`) as string, key },
  }));
  /** `custom_airflow_environment` (_helpers.yaml L171-200): `.Values.env` (plain values) and `.Values.secret`. */
  const customEnv: EnvVar[] = [
    ...envList(values.env),
    ...list<{ envName: string; secretName: string; secretKey?: string }>(values.secret).map((item) => ({ name: item.envName, secretKeyRef: { name: item.secretName, key: item.secretKey ?? "value" } })),
  ];
  /**
   * Each component's containers: the main one gets custom + standard + `<component>.env`
   * (api-server-deployment.yaml L219-223, scheduler L206-208, triggerer L209-211, dag-processor
   * L183-185); the jobs the same with custom only under `applyCustomEnv` (create-user-job.yaml
   * L108-115, migrate-database-job.yaml L109-119, whose `env` is a raw list); wait-for-migrations
   * custom + standard + `<component>.waitForMigrations.env` (api-server-deployment.yaml L145-150).
   * The API server's pod template carries `airflowPodAnnotations` and `apiServer.podAnnotations`
   * besides the chart's own checksums (L84-98); its Deployment's own `apiServer.annotations`
   * (L46-47) are not on the pod.
   */
  const mainEnv = (component: string): EnvVar[] =>
    [
      ...(!component.endsWith("Job") || get(values, `${component}.applyCustomEnv`) === true ? customEnv : []),
      ...builtInEnv,
      ...envList(get(values, `${component}.env`)),
    ];
  const apiServerAnnotations = (): Record<string, string> => ({
    ...((values.airflowPodAnnotations ?? {}) as Record<string, string>),
    ...((get(values, "apiServer.podAnnotations") ?? {}) as Record<string, string>),
  });
  const airflowPod = (component: string, template: string, onDemandOnly: string | false, sidecars: string[] = []): ChartPod =>
    pod(context, component, `airflow ${template}`, {
      onDemandOnly,
      tolerations: orFallback(get(values, `${component}.tolerations`), values.tolerations),
      pod: {
        ...(component === "apiServer" ? { annotations: apiServerAnnotations() } : {}),
        securityContext: podSc(component),
        // Each template's volumes end with `.Values.volumes` and `<component>.extraVolumes` (api-server-deployment.yaml L241-246).
        volumes: [...list<Record<string, unknown>>(values.volumes), ...list<Record<string, unknown>>(get(values, `${component}.extraVolumes`))],
        initContainers:
          get(values, `${component}.waitForMigrations.enabled`) === true
            ? [{ name: "wait-for-airflow-migrations", securityContext: containerSc(`${component}.waitForMigrations`), env: [...customEnv, ...builtInEnv, ...envList(get(values, `${component}.waitForMigrations.env`))] }]
            : [],
        containers: [{ name: component, securityContext: containerSc(component), env: mainEnv(component) }, ...sidecars.map((name) => ({ name, securityContext: containerSc(`${component}.logGroomerSidecar`) }))],
      },
    });
  const groomer = (component: string) => (get(values, `${component}.logGroomerSidecar.enabled`) !== false ? [`${component}-log-groomer`] : []);
  // git-sync (_helpers.yaml L227-353 `git_sync_container`): its security context is
  // localContainerSecurityContext over dags.gitSync (L986-994: `securityContexts.container`, else
  // `securityContext`, else only `runAsUser: uid`). Without dags persistence, an init container
  // (`git-sync-init`) and a sidecar in the DAG processor (dag-processor-deployment.yaml L144-145,
  // L198-199: the sidecar whatever persistence says) and the triggerer (triggerer-deployment.yaml
  // L167-168, L230-231); in the scheduler only without a DAG processor (scheduler-deployment.yaml
  // L32-36, L183-184, L270-271: Airflow 3 enables it by default); an init container in each task
  // pod (pod-template-file.kubernetes-helm-yaml L50-51). The SSH key is a Secret volume
  // (`git_sync_ssh_key_volume`, L219-225).
  const gitSync = get(values, "dags.gitSync.enabled") === true;
  const dagPersistence = get(values, "dags.persistence.enabled") === true;
  const gitSyncSc = (): SecurityContext =>
    first(get(values, "dags.gitSync.securityContexts.container"), get(values, "dags.gitSync.securityContext")) ?? ({ runAsUser: get<number>(values, "dags.gitSync.uid") } as SecurityContext);
  const gitSyncContainer = (init: boolean): Container => ({ name: `${get<string>(values, "dags.gitSync.containerName")}${init ? "-init" : ""}`, securityContext: gitSyncSc() });
  const gitSyncVolumes = (): Record<string, unknown>[] =>
    gitSync && (get(values, "dags.gitSync.sshKeySecret") || get(values, "dags.gitSync.sshKey"))
      ? [{ name: "git-sync-ssh-key", secret: { secretName: get<string>(values, "dags.gitSync.sshKeySecret") || `${context.release.name}-ssh-secret` } }]
      : [];
  const dagProcessorOn = get(values, "dagProcessor.enabled") !== false;
  const withGitSync = (built: ChartPod, init: boolean, sidecar: boolean): ChartPod =>
    !gitSync
      ? built
      : {
          ...built,
          pod: {
            ...built.pod,
            volumes: [...(built.pod.volumes ?? []), ...gitSyncVolumes()],
            initContainers: [...(init ? [gitSyncContainer(true)] : []), ...(built.pod.initContainers ?? [])],
            containers: [...built.pod.containers, ...(sidecar ? [gitSyncContainer(false)] : [])],
          },
        };
  const pods = [
    withGitSync(airflowPod("scheduler", "templates/scheduler/scheduler-deployment.yaml", "a single scheduling loop: losing it stalls every DAG until a replacement starts", groomer("scheduler")), !dagProcessorOn, !dagProcessorOn),
    airflowPod("apiServer", "templates/api-server/api-server-deployment.yaml", false),
    withGitSync(airflowPod("triggerer", "templates/triggerer/triggerer-deployment.yaml", get(values, "triggerer.persistence.enabled") === true ? "a StatefulSet with a logs volume" : false, groomer("triggerer")), !dagPersistence, !dagPersistence),
    withGitSync(airflowPod("dagProcessor", "templates/dag-processor/dag-processor-deployment.yaml", false, groomer("dagProcessor")), !dagPersistence, true),
    airflowPod("migrateDatabaseJob", "templates/jobs/migrate-database-job.yaml", false),
    // templates/jobs/create-user-job.yaml L23: only with `createUserJob.enabled` (or the deprecated webserver.defaultUser.enabled).
    ...(get(values, "createUserJob.enabled") !== false || get(values, "webserver.defaultUser.enabled") === true ? [airflowPod("createUserJob", "templates/jobs/create-user-job.yaml", false)] : []),
  ];
  // KubernetesExecutor task pods: files/pod-template-file.kubernetes-helm-yaml, which the
  // executor starts each task from. The pod's context L24 and L224, the `base` container's L27
  // and L120, both over (workers.kubernetes, workers, the globals); no wait-for-migrations
  // container; init containers only for git-sync, Kerberos and `workers.extraInitContainers`
  // (L49-57); volumes L234-281.
  pods.push(
    withGitSync(pod(context, "workers", "airflow files/pod-template-file.kubernetes-helm-yaml", {
      onDemandOnly: false,
      tolerations: orFallback(get(values, "workers.tolerations"), values.tolerations),
      pod: {
        securityContext: podSc("workers.kubernetes", "workers"),
        volumes: [...list<Record<string, unknown>>(values.volumes), ...list<Record<string, unknown>>(get(values, "workers.extraVolumes"))],
        initContainers: list<Container>(get(values, "workers.extraInitContainers")),
        // The `base` container's env: standard, custom, then `workers.env` (L115-117).
        containers: [
          { name: "base", securityContext: containerSc("workers.kubernetes", "workers"), env: [...builtInEnv, ...customEnv, ...envList(get(values, "workers.env"))] },
          ...list<Container>(get(values, "workers.extraContainers")),
        ],
      },
    }), !dagPersistence, false),
  );
  if (get(values, "statsd.enabled") !== false) {
    pods.push(
      pod(context, "statsd", "airflow templates/statsd/statsd-deployment.yaml", {
        onDemandOnly: false,
        tolerations: orFallback(get(values, "statsd.tolerations"), values.tolerations),
        pod: {
          securityContext: first(get(values, "statsd.securityContexts.pod"), get(values, "statsd.securityContext")) ?? { runAsUser: get<number>(values, "statsd.uid") },
          containers: [{ name: "statsd", securityContext: sc(get(values, "statsd.securityContexts.container")) ?? AIRFLOW_DEFAULT_CONTAINER_SC }],
        },
      }),
    );
  }
  return pods;
};

// ---------------------------------------------------------------------------------------------
// airbyte 2.2.0 (v2 chart: every component renders <component>.podSecurityContext and .containerSecurityContext)

/** airbyte templates/minio.yaml: the StatefulSet and the bucket pod hard-code their security contexts. */
const AIRBYTE_MINIO_SC: SecurityContext = { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

/**
 * The connector pods the workload launcher creates at run time (not the chart), read from
 * airbytehq/airbyte-platform at 0ea3eee50c (main on 2.2.0's release day; these files are
 * unchanged since 7e3fb831 of February), airbyte-workload-launcher/src/main/kotlin/:
 * - context/WorkloadSecurityContextProvider.kt: with `airbyte.container.rootless-workload`
 *   (resources/application.yml L55: `${ROOTLESS_WORKLOAD:false}`), every container gets
 *   rootlessContainerSecurityContext (uid/gid 1000, runAsNonRoot, allowPrivilegeEscalation false,
 *   drop ALL, RuntimeDefault seccomp) and the pod defaultPodSecurityContext (fsGroup 1000);
 *   without it, none at all;
 * - pods/factories/ReplicationPodFactory.kt: the sync pod, an init container, orchestrator,
 *   source and destination (ReplicationContainerFactory.kt L47, L67, L88; InitContainerFactory.kt
 *   L52); the pod's context L122-129 and the reset pod's L200 (root only under the
 *   EnableAsyncProfiler feature flag, which the platform never turns on; socket mode: rootless);
 * - pods/factories/ConnectorPodFactory.kt: check, discover and spec pods, an init container, the
 *   sidecar and the connector (L97, L125, L145);
 * - pods/factories/VolumeFactory.kt: emptyDir and secret volumes only.
 * The launcher reads ROOTLESS_WORKLOAD from its environment: chart 2.2.0 sets it nowhere, so
 * only `workloadLauncher.extraEnv` can (templates/airbyte-workload-launcher/deployment.yaml L124-125).
 */
function airbyteJobPods(context: Context): ChartPod[] {
  const { values } = context;
  const env = list<{ name?: string; value?: unknown }>(get(values, "workloadLauncher.extraEnv"));
  const rootless = env.some(({ name, value }) => name === "ROOTLESS_WORKLOAD" && String(value).toLowerCase() === "true");
  const containerSc: SecurityContext | undefined = rootless
    ? { runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }
    : undefined;
  const podSc = rootless ? ({ fsGroup: 1000 } as SecurityContext) : undefined;
  const volumes = [{ name: "config", emptyDir: {} }, { name: "secrets", secret: {} }];
  const jobPod = (component: string, template: string, containers: string[]) =>
    pod(context, component, `airbyte-workload-launcher ${template}`, {
      onDemandOnly: false,
      tolerations: list(get(values, "global.jobs.kube.tolerations")),
      pod: { securityContext: podSc, volumes, initContainers: [{ name: "init", securityContext: containerSc }], containers: containers.map((name) => ({ name, securityContext: containerSc })) },
    });
  return [
    jobPod("sync-pods", "pods/factories/ReplicationPodFactory.kt", ["orchestrator", "source", "destination"]),
    jobPod("connector-pods", "pods/factories/ConnectorPodFactory.kt", ["connector-sidecar", "main"]),
  ];
}

const airbyte: ChartModel = (context) => {
  const { values } = context;
  const onDemand: Readonly<Record<string, string>> = { temporal: "Temporal's server keeps workflow state in flight; one replica" };
  const components = ["server", "worker", "workloadLauncher", "workloadApiServer", "cron", "manifestServer", "temporal", "airbyteBootloader", "webapp", "temporalUi", "metrics", "connectorRolloutWorker", "featureflagServer"];
  const pods = components
    .filter((component) => get(values, `${component}.enabled`) === true)
    .map((component) =>
      pod(context, component, `airbyte templates/airbyte-${component}/ (deployment.yaml, or pod.yaml for the bootloader)`, {
        onDemandOnly: onDemand[component] ?? false,
        tolerations: list(get(values, `${component}.tolerations`)),
        pod: { securityContext: sc(get(values, `${component}.podSecurityContext`)), containers: [container(component, get(values, `${component}.containerSecurityContext`))] },
      }),
    );
  if (get(values, "minio.enabled") === true && get(values, "global.storage.type") === "minio") {
    pods.push(
      pod(context, "minio", "airbyte templates/minio.yaml (StatefulSet, pre-install hook)", {
        onDemandOnly: "the bundled object store's volume",
        tolerations: list(get(values, "minio.tolerations")),
        pod: { securityContext: { runAsUser: 1000 }, containers: [{ name: "airbyte-minio", securityContext: AIRBYTE_MINIO_SC }] },
      }),
      pod(context, "minio-create-bucket", "airbyte templates/minio.yaml (Pod, post-install hook)", {
        onDemandOnly: false,
        tolerations: "none possible",
        pod: { containers: [{ name: "minio-mc", securityContext: AIRBYTE_MINIO_SC }] },
      }),
    );
  }
  pods.push(...airbyteJobPods(context));
  return pods;
};

// ---------------------------------------------------------------------------------------------
// datahub 1.1.0 (subcharts: tolerations `default .Values.global.tolerations .Values.tolerations`)

const datahub: ChartModel = (context) => {
  const { values } = context;
  const pods: ChartPod[] = [];
  // The consumer subcharts are dependencies with `condition: global.datahub_standalone_consumers_enabled` (Chart.yaml:21-28).
  const standalone = get(values, "global.datahub_standalone_consumers_enabled") === true;
  const components = ["datahub-gms", "datahub-frontend", "acryl-datahub-actions", ...(standalone ? ["datahub-mae-consumer", "datahub-mce-consumer"] : [])];
  for (const component of components) {
    const section = values[component] as Values;
    if (section.enabled === false) continue;
    pods.push(
      pod(context, component, `datahub subcharts/${component}/templates/deployment.yaml`, {
        onDemandOnly: false,
        tolerations: orFallback(section.tolerations, get(values, "global.tolerations")),
        pod: {
          securityContext: sc(section.podSecurityContext),
          volumes: list(section.extraVolumes),
          initContainers: list<Container>(section.extraInitContainers),
          containers: [container(component, section.securityContext)],
        },
      }),
    );
  }
  if (get(values, "global.datahub.systemUpdate.enabled") !== false) {
    const update = values.datahubSystemUpdate as Values;
    const jobs = ["system-update", ...(get(update, "nonblocking.enabled") === true ? ["system-update-nonblocking"] : [])];
    for (const job of jobs) {
      pods.push(
        pod(context, job, "datahub templates/datahub-upgrade/datahub-system-update-job.yml", {
          onDemandOnly: false,
          tolerations: orFallback(update.tolerations, get(values, "global.tolerations")),
          pod: { securityContext: sc(update.podSecurityContext), containers: [container(job, update.securityContext)] },
        }),
      );
    }
  }
  return pods;
};

// ---------------------------------------------------------------------------------------------
// datahub-prerequisites 0.3.0: its opensearch and kafka subcharts are not in the contract, so
// their defaults are encoded here, then the prerequisites' own values, then the release's.

/** opensearch-project/helm-charts opensearch-2.19.0 values.yaml (lines 105, 197-200, 283-284, 316-326, 476-481). */
const OPENSEARCH_DEFAULTS: Values = {
  enabled: true,
  podSecurityContext: { fsGroup: 1000, runAsUser: 1000 },
  securityContext: { capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 1000 },
  persistence: { enabled: true, enableInitChown: true },
  sysctl: { enabled: false },
  sysctlVmMaxMapCount: 262144,
  sysctlInit: { enabled: false },
  httpHostPort: "",
  transportHostPort: "",
  tolerations: [],
};

/** bitnami/charts kafka/26.11.2 values.yaml (lines 614-621, 638-646, 656-659, 1668): controller pods and the volume-permissions init container. */
const KAFKA_DEFAULTS: Values = {
  enabled: true,
  controller: {
    replicaCount: 3,
    hostNetwork: false,
    hostIPC: false,
    podSecurityContext: { enabled: true, fsGroupChangePolicy: "Always", sysctls: [], supplementalGroups: [], fsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } },
    containerSecurityContext: { enabled: true, runAsUser: 1001, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    persistence: { enabled: true },
    tolerations: [],
  },
  volumePermissions: { enabled: false },
};

const datahubPrerequisites: ChartModel = (context) => {
  const { values } = context;
  const pods: ChartPod[] = [];
  const search = mergeValues(OPENSEARCH_DEFAULTS, values.opensearch) as Values;
  if (search.enabled === true) {
    const persistent = get(search, "persistence.enabled") === true;
    const podSecurityContext = sc(search.podSecurityContext) ?? {};
    const hostPorts = [search.httpHostPort, search.transportHostPort].map(Number).filter((port) => port > 0);
    pods.push(
      pod(context, "opensearch", "opensearch templates/statefulset.yaml", {
        onDemandOnly: persistent ? "a data volume per node and the cluster's quorum" : false,
        tolerations: list(search.tolerations),
        pod: {
          securityContext: get(search, "sysctl.enabled") === true ? { ...podSecurityContext, sysctls: [{ name: "vm.max_map_count", value: String(search.sysctlVmMaxMapCount) }] } : podSecurityContext,
          initContainers: [
            ...(persistent && get(search, "persistence.enableInitChown") === true ? [container("fsgroup-volume", { runAsUser: 0 })] : []),
            ...(get(search, "sysctlInit.enabled") === true ? [container("sysctl", { runAsUser: 0, privileged: true })] : []),
            ...(isMap(search.config) && Object.keys(search.config).length > 0 ? [container("configfile", undefined)] : []),
          ],
          containers: [container("opensearch", search.securityContext, hostPorts.map((hostPort) => ({ containerPort: hostPort, hostPort })))],
        },
      }),
    );
  }
  const kafka = mergeValues(KAFKA_DEFAULTS, values.kafka) as Values;
  if (kafka.enabled === true && Number(get(kafka, "controller.replicaCount")) > 0) {
    const controller = kafka.controller as Values;
    const containerSecurityContext = enabledSc(controller.containerSecurityContext);
    pods.push(
      pod(context, "kafka-controller", "kafka templates/controller-eligible/statefulset.yaml", {
        onDemandOnly: get(controller, "persistence.enabled") === true ? "a log volume per broker and the KRaft quorum" : false,
        tolerations: list(controller.tolerations),
        pod: {
          hostNetwork: controller.hostNetwork === true,
          hostIPC: controller.hostIPC === true,
          securityContext: enabledSc(controller.podSecurityContext),
          initContainers: [
            ...(get(kafka, "volumePermissions.enabled") === true ? [container("volume-permissions", { runAsUser: 0 })] : []),
            { name: "kafka-init", securityContext: containerSecurityContext },
          ],
          containers: [{ name: "kafka", securityContext: containerSecurityContext }],
        },
      }),
    );
  }
  return pods;
};

// ---------------------------------------------------------------------------------------------
// metabase 2.26.0 and grafana 12.11.1

const metabase: ChartModel = (context) => {
  const { values } = context;
  return [
    pod(context, "metabase", "metabase templates/deployment.yaml", {
      onDemandOnly: get(values, "database.type") === "h2" ? "the embedded H2 database" : false,
      tolerations: list(values.tolerations),
      pod: {
        securityContext: sc(values.podSecurityContext),
        volumes: list(values.extraVolumes),
        initContainers: list<Container>(values.extraInitContainers),
        containers: [container("metabase", values.securityContext)],
      },
    }),
  ];
};

const grafana: ChartModel = (context) => grafanaPods(context, context.values, "grafana");

// ---------------------------------------------------------------------------------------------
// Add-ons, whose charts have no contract in ../shared/charts: defaults encoded from values.yaml.

/** external-secrets helm-chart-2.9.0 values.yaml L271-281 (and the same for webhook L728-744, certController L940-956). */
const ESO_CONTAINER_SC: SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  runAsNonRoot: true,
  runAsUser: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};

/** Validating webhooks registered with failurePolicy Fail: while down, the API server refuses their objects. */
const FAIL_CLOSED_WEBHOOK = "an admission webhook that fails closed (failurePolicy: Fail)";

const externalSecrets: ChartModel = (context) => {
  const { values } = context;
  const components: [string, string, string, boolean][] = [
    ["controller", "", "templates/deployment.yaml", values.createOperator !== false],
    ["webhook", "webhook.", "templates/webhook-deployment.yaml", get(values, "webhook.create") !== false],
    ["cert-controller", "certController.", "templates/cert-controller-deployment.yaml", get(values, "certController.create") !== false && get(values, "webhook.certManager.enabled") !== true],
  ];
  return components
    .filter(([, , , rendered]) => rendered)
    .map(([component, prefix, template]) =>
      pod(context, component, `external-secrets ${template}`, {
        onDemandOnly: component === "webhook" ? FAIL_CLOSED_WEBHOOK : false,
        tolerations: orFallback(get(values, `${prefix}tolerations`), get(values, "global.tolerations")),
        pod: {
          hostNetwork: get(values, `${prefix}hostNetwork`) === true,
          securityContext: enabledSc(get(values, `${prefix}podSecurityContext`)),
          containers: [{ name: component, securityContext: enabledSc(mergeValues({ enabled: true, ...ESO_CONTAINER_SC }, get(values, `${prefix}securityContext`))) }],
        },
      }),
    );
};

/** traefik v41.3.0 values.yaml L1256-1270 (securityContext, podSecurityContext) and its four default ports. */
const TRAEFIK_DEFAULTS: Values = {
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
  podSecurityContext: { runAsGroup: 65532, runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
  hostNetwork: false,
  ports: { metrics: { port: 9100 }, traefik: { port: 8080 }, web: { port: 8000 }, websecure: { port: 8443 } },
  tolerations: [],
};

const traefik: ChartModel = (context) => {
  const values = mergeValues(TRAEFIK_DEFAULTS, context.values) as Values;
  const ports = Object.values(values.ports as Record<string, Values>).map((port) => ({ containerPort: Number(port.port), hostPort: port.hostPort === undefined ? undefined : Number(port.hostPort) }));
  return [
    pod(context, "traefik", "traefik templates/_podtemplate.tpl", {
      onDemandOnly: false,
      tolerations: list(values.tolerations),
      pod: admittedPod({
        hostNetwork: values.hostNetwork === true,
        securityContext: sc(values.podSecurityContext),
        volumes: [{ name: "data", emptyDir: {} }, { name: "tmp", emptyDir: {} }],
        containers: [container("traefik", values.securityContext, ports)],
      }),
    }),
  ];
};

/** cert-manager v1.21.1 values.yaml: the same pod and container security contexts for each component (L424-438, L825-839, L1233-1247, L1541-1555). */
const CERT_MANAGER_POD_SC: SecurityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
const CERT_MANAGER_CONTAINER_SC: SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true };

const certManager: ChartModel = (context) => {
  const { values } = context;
  const components: [string, string, string, boolean][] = [
    ["controller", "", "templates/deployment.yaml", true],
    ["webhook", "webhook.", "templates/webhook-deployment.yaml", true],
    ["cainjector", "cainjector.", "templates/cainjector-deployment.yaml", get(values, "cainjector.enabled") !== false],
    ["startupapicheck", "startupapicheck.", "templates/startupapicheck-job.yaml", get(values, "startupapicheck.enabled") !== false],
  ];
  return components
    .filter(([, , , rendered]) => rendered)
    .map(([component, prefix, template]) =>
      pod(context, component, `cert-manager ${template}`, {
        onDemandOnly: component === "webhook" ? FAIL_CLOSED_WEBHOOK : false,
        tolerations: list(get(values, `${prefix}tolerations`)),
        pod: admittedPod({
          hostNetwork: get(values, `${prefix}hostNetwork`) === true,
          securityContext: sc(mergeValues(CERT_MANAGER_POD_SC, get(values, `${prefix}securityContext`))),
          containers: [container(component, mergeValues(CERT_MANAGER_CONTAINER_SC, get(values, `${prefix}containerSecurityContext`)))],
        }),
      }),
    );
};

/** external-dns 1.21.1 values.yaml L92-125. */
const EXTERNAL_DNS_DEFAULTS: Values = {
  podSecurityContext: { fsGroup: 65534, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  securityContext: { privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, capabilities: { drop: ["ALL"] } },
  tolerations: [],
};

const externalDns: ChartModel = (context) => {
  const values = mergeValues(EXTERNAL_DNS_DEFAULTS, context.values) as Values;
  return [
    pod(context, "external-dns", "external-dns templates/deployment.yaml", {
      onDemandOnly: false,
      tolerations: list(values.tolerations),
      pod: { securityContext: sc(values.podSecurityContext), volumes: list(values.extraVolumes), containers: [container("external-dns", values.securityContext)] },
    }),
  ];
};

// ---------------------------------------------------------------------------------------------
// strimzi-kafka-operator 1.2.0 (strimzi/strimzi-kafka-operator tag 1.2.0,
// helm-charts/helm3/strimzi-kafka-operator): templates/060-Deployment-strimzi-cluster-operator.yaml
// (pod securityContext = podSecurityContext, container's = securityContext, values.yaml defaults:
// allowPrivilegeEscalation false, runAsNonRoot, readOnlyRootFilesystem, drop ALL, seccomp
// RuntimeDefault; tolerations as given). The pods the operator creates in the watched namespace
// (the Kafka nodes and the entity operator) get their security contexts from its Pod Security
// provider: the restricted one when STRIMZI_POD_SECURITY_PROVIDER_CLASS=restricted
// (cluster-operator ClusterOperatorConfig.java:216,233; api/.../RestrictedPodSecurityProvider.java:
// containers allowPrivilegeEscalation false, runAsNonRoot, seccomp RuntimeDefault, drop ALL;
// BaselinePodSecurityProvider.java:64-79: the Kafka pod's fsGroup 0), otherwise the baseline one
// (no container security context).

const STRIMZI_DEFAULT_SC = { allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
const STRIMZI_RESTRICTED_SC = { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, capabilities: { drop: ["ALL"] } };

const strimzi: ChartModel = (context) => {
  const { values } = context;
  const restricted = list<{ name: string; value?: string }>(values.extraEnvs).some((env) => env.name === "STRIMZI_POD_SECURITY_PROVIDER_CLASS" && env.value === "restricted");
  const operandSc = restricted ? STRIMZI_RESTRICTED_SC : undefined;
  const watched = list<string>(values.watchNamespaces);
  return [
    pod(context, "cluster-operator", "strimzi-kafka-operator templates/060-Deployment-strimzi-cluster-operator.yaml", {
      onDemandOnly: false,
      tolerations: list(values.tolerations),
      pod: { securityContext: sc(values.podSecurityContext), containers: [container("strimzi-cluster-operator", values.securityContext ?? STRIMZI_DEFAULT_SC)] },
    }),
    ...watched.flatMap((namespace) => [
      pod(context, "kafka", "strimzi cluster-operator KafkaCluster (pods of the node pools)", {
        namespace,
        onDemandOnly: "the Kafka nodes' volumes and KRaft quorum",
        tolerations: [],
        pod: { containers: [container("kafka", operandSc)] },
      }),
      pod(context, "entity-operator", "strimzi cluster-operator EntityOperator (user operator)", {
        namespace,
        onDemandOnly: false,
        tolerations: "none possible",
        pod: { containers: [container("user-operator", operandSc)] },
      }),
    ]),
  ];
};

/**
 * Strimzi 1.2.0 on the network: the pods the operator and its operands run, with their labels,
 * and the NetworkPolicies the operator writes itself unless told not to. Derived from the
 * operator release and the Kafka and KafkaNodePool objects the stack applies, encoded from
 * strimzi/strimzi-kafka-operator at tag 1.2.0:
 * - operator pod: templates/060-Deployment-strimzi-cluster-operator.yaml:35-40 (`name`,
 *   `strimzi.io/kind: cluster-operator`, plus `values.labels`);
 * - Kafka node pods: cluster-operator/.../model/KafkaPool.java:101-114 (the pool's labels, then
 *   strimzi.io/kind (the Kafka's kind), strimzi.io/name `<cluster>-kafka`
 *   (KafkaResources.kafkaComponentName), strimzi.io/cluster, strimzi.io/component-type kafka,
 *   strimzi.io/pool-name, app.kubernetes.io/name kafka, instance `<cluster>`, part-of
 *   `strimzi-<cluster>` (Labels.withKubernetesPartOf), managed-by strimzi-cluster-operator) and
 *   KafkaCluster.java:1280 (strimzi.io/broker-role, strimzi.io/controller-role per node);
 * - entity operator pod: AbstractModel.java:119 → Labels.generateDefaultLabels (Labels.java:492-505)
 *   with component `<cluster>-entity-operator` (KafkaResources.entityOperatorDeploymentName) and
 *   type entity-operator (EntityOperator.java:58,115); it runs when `spec.entityOperator` names a
 *   user or topic operator;
 * - generated policies: KafkaCluster#generateNetworkPolicy (KafkaCluster.java:1752-1796: 9090 from
 *   the nodes and the operator, 9091 from the operator, nodes, entity operator, exporter and
 *   Cruise Control, 8443 from the operator, each listener from its `networkPolicyPeers` or, without,
 *   from every pod of every namespace), the operator peer's namespace selector
 *   (NetworkPolicyUtils.java:120-135: empty, i.e. every namespace, when the operator runs elsewhere
 *   and STRIMZI_OPERATOR_NAMESPACE_LABELS is unset), EntityOperator#generateNetworkPolicy
 *   (EntityOperator.java:349-369: 8081 for the User Operator, 8080 for the Topic Operator, from
 *   anywhere). The operator writes them unless STRIMZI_NETWORK_POLICY_GENERATION is false
 *   (ClusterOperatorConfig.java:154, default true; the chart's `generateNetworkPolicy`,
 *   values.yaml:221, default true, passed at 060-Deployment:175-178). The chart's own
 *   `operatorNetworkPolicy` (templates/052-NetworkPolicy-strimzi-cluster-operator.yaml, default
 *   off, values.yaml:94-114) is rendered too when on.
 */
export interface StrimziNetwork {
  readonly operator: { readonly namespace: string; readonly labels: Record<string, string> };
  readonly kafka: readonly { readonly namespace: string; readonly labels: Record<string, string> }[];
  readonly entityOperator: readonly { readonly namespace: string; readonly labels: Record<string, string> }[];
  /** The NetworkPolicies the operator and its chart create, as networking/v1 objects. */
  readonly policies: readonly { readonly metadata: { readonly name: string; readonly namespace: string }; readonly spec: Record<string, unknown> & { readonly podSelector: Record<string, unknown> } }[];
}

interface StrimziObject {
  readonly kind: string;
  readonly metadata: { readonly name?: unknown; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/**
 * Labels.fromResource (Labels.java:105-106,121-131,162-174): the resource's own labels but those
 * matching STRIMZI_LABELS_EXCLUSION_PATTERN's default (app.kubernetes.io/ except part-of, Flux's);
 * any strimzi.io/ label but strimzi.io/cluster is refused.
 */
function ownLabels(object: StrimziObject): Record<string, string> {
  const labels = Object.entries(object.metadata.labels ?? {});
  const refused = labels.filter(([key]) => key.startsWith("strimzi.io/") && !key.startsWith("strimzi.io/cluster")).map(([key]) => key);
  if (refused.length > 0) throw new Error(`${object.kind} ${String(object.metadata.name)}: labels ${refused.join(", ")} are not allowed in Strimzi custom resources`);
  return Object.fromEntries(labels.filter(([key]) => !/^app\.kubernetes\.io\/(?!part-of)|^kustomize\.toolkit\.fluxcd\.io/.test(key)));
}

export function strimziNetwork(release: ChartRelease, objects: readonly StrimziObject[]): StrimziNetwork {
  if (release.chart !== "strimzi-kafka-operator" || release.version !== "1.2.0") throw new Error(`${release.address}: the Strimzi network model is for strimzi-kafka-operator 1.2.0`);
  const values = release.values;
  const watched = list<string>(values.watchNamespaces);
  const inWatched = (kind: string) => objects.filter((object) => object.kind === kind && watched.includes(String(object.metadata.namespace)));
  const operator = { namespace: release.namespace, labels: { name: "strimzi-cluster-operator", "strimzi.io/kind": "cluster-operator", ...((values.labels as Record<string, string> | undefined) ?? {}) } };
  const kafka: { namespace: string; labels: Record<string, string> }[] = [];
  const entityOperator: { namespace: string; labels: Record<string, string> }[] = [];
  const policies: StrimziNetwork["policies"][number][] = [];
  const generate = values.generateNetworkPolicy !== false;
  for (const cluster of inWatched("Kafka")) {
    const name = String(cluster.metadata.name);
    const namespace = String(cluster.metadata.namespace);
    const common = { "strimzi.io/kind": cluster.kind, "strimzi.io/cluster": name, "app.kubernetes.io/instance": name, "app.kubernetes.io/part-of": `strimzi-${name}`, "app.kubernetes.io/managed-by": "strimzi-cluster-operator" };
    const pools = inWatched("KafkaNodePool").filter((pool) => pool.metadata.namespace === namespace && pool.metadata.labels?.["strimzi.io/cluster"] === name);
    for (const pool of pools) {
      const roles = list<string>(at(pool, "spec.roles"));
      kafka.push({
        namespace,
        labels: {
          ...ownLabels(pool),
          ...common,
          "strimzi.io/name": `${name}-kafka`,
          "strimzi.io/component-type": "kafka",
          "strimzi.io/pool-name": String(pool.metadata.name),
          "app.kubernetes.io/name": "kafka",
          "strimzi.io/broker-role": String(roles.includes("broker")),
          "strimzi.io/controller-role": String(roles.includes("controller")),
          "strimzi.io/pod-name": `${name}-${String(pool.metadata.name)}-0`,
        },
      });
    }
    const entity = at(cluster, "spec.entityOperator");
    const hasEntity = isMap(entity) && (at(entity, "userOperator") !== undefined || at(entity, "topicOperator") !== undefined);
    const entityLabels = { ...ownLabels(cluster), ...common, "strimzi.io/name": `${name}-entity-operator`, "strimzi.io/component-type": "entity-operator", "app.kubernetes.io/name": "entity-operator" };
    if (hasEntity) entityOperator.push({ namespace, labels: entityLabels });
    if (!generate) continue;
    const selector = (component: string) => ({ matchLabels: { "strimzi.io/cluster": name, "strimzi.io/name": component, "strimzi.io/kind": cluster.kind } });
    const operatorPeer = { podSelector: { matchLabels: { "strimzi.io/kind": "cluster-operator" } }, ...(release.namespace === namespace ? {} : { namespaceSelector: {} }) };
    const peer = (component: string) => ({ podSelector: { matchLabels: { "strimzi.io/name": component } } });
    const rule = (port: number, from: unknown[]) => ({ ports: [{ port, protocol: "TCP" }], from });
    const nodes = { podSelector: selector(`${name}-kafka`) };
    policies.push({
      metadata: { name: `${name}-network-policy-kafka`, namespace },
      spec: {
        podSelector: selector(`${name}-kafka`),
        ingress: [
          rule(9090, [nodes, operatorPeer]),
          rule(9091, [operatorPeer, nodes, peer(`${name}-entity-operator`), peer(`${name}-kafka-exporter`), peer(`${name}-cruise-control`)]),
          rule(8443, [operatorPeer]),
          ...list<Record<string, unknown>>(at(cluster, "spec.kafka.listeners")).map((listener) => rule(Number(listener.port), list(listener.networkPolicyPeers))),
        ],
      },
    });
    if (hasEntity) {
      policies.push({
        metadata: { name: `${name}-entity-operator`, namespace },
        spec: {
          podSelector: { matchLabels: { "strimzi.io/cluster": name, "strimzi.io/name": `${name}-entity-operator`, "strimzi.io/kind": cluster.kind } },
          ingress: [...(at(entity, "topicOperator") !== undefined ? [rule(8080, [])] : []), ...(at(entity, "userOperator") !== undefined ? [rule(8081, [])] : [])],
        },
      });
    }
  }
  const own = values.operatorNetworkPolicy;
  if (isMap(own) && own.enabled === true) {
    policies.push({
      metadata: { name: "strimzi-cluster-operator-network-policy", namespace: release.namespace },
      spec: { podSelector: { matchLabels: { name: "strimzi-cluster-operator" } }, policyTypes: ["Egress", "Ingress"], egress: list(own.egress ?? [{}]), ingress: list(own.ingress ?? [{ ports: [{ protocol: "TCP", port: "http" }] }]) },
    });
  }
  return { operator, kafka, entityOperator, policies };
}

// ---------------------------------------------------------------------------------------------
// opentelemetry-collector 0.170.0 (open-telemetry/opentelemetry-helm-charts, tag
// opentelemetry-collector-0.170.0): templates/deployment.yaml (hostNetwork, hostPID = hostPID or
// presets.profiling) and templates/_pod.tpl (pod securityContext = podSecurityContext; the
// container's = securityContext, replaced by root settings when it is empty and profiling or
// logsCollection.storeCheckpoints is on; host ports only for the agent (daemonset); hostPath
// volumes for the logsCollection, hostMetrics and profiling presets; tolerations as given).

const otelCollector: ChartModel = (context) => {
  const { values } = context;
  const mode = String(get(values, "mode"));
  if (mode !== "deployment") throw new Error(`opentelemetry-collector mode ${mode}: only the deployment mode is modelled`);
  const profiling = get(values, "presets.profiling.enabled") === true;
  const checkpoints = get(values, "presets.logsCollection.storeCheckpoints") === true;
  const own = sc(get(values, "securityContext"));
  const containerSc: SecurityContext | undefined =
    own === undefined && profiling ? { runAsUser: 0, privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["BPF", "PERFMON", "SYS_PTRACE"] } } : own === undefined && checkpoints ? { runAsUser: 0 } : own;
  const logs = get(values, "presets.logsCollection.enabled") === true || get(values, "presets.annotationDiscovery.logs.enabled") === true;
  const hostPaths = [
    ...(logs ? ["varlogpods", "varlibdockercontainers", ...(checkpoints ? ["varlibotelcol"] : [])] : []),
    ...(get(values, "presets.hostMetrics.enabled") === true ? ["hostfs"] : []),
    ...(profiling ? ["tracefs"] : []),
  ];
  const ports = Object.values((get(values, "ports") ?? {}) as Record<string, Values>)
    .filter((port) => port.enabled === true)
    .map((port) => ({ containerPort: Number(port.containerPort) }));
  return [
    pod(context, "collector", "opentelemetry-collector templates/deployment.yaml + _pod.tpl", {
      onDemandOnly: false,
      tolerations: list(get(values, "tolerations")),
      pod: admittedPod({
        hostNetwork: get(values, "hostNetwork") === true,
        hostPID: get(values, "hostPID") === true || profiling,
        securityContext: sc(get(values, "podSecurityContext")),
        volumes: [{ name: "opentelemetry-collector-configmap", configMap: {} }, ...hostPaths.map((name) => ({ name, hostPath: {} })), ...list<Record<string, unknown>>(get(values, "extraVolumes"))],
        containers: [{ name: "opentelemetry-collector", securityContext: containerSc, ports }],
      }),
    }),
  ];
};

/**
 * datahub 1.1.0: the `fail` calls of its templates that the values can reach (the others need IAM
 * authentication to Kafka and OpenSearch, or an OIDC provider, which the platform does not set).
 */
const datahubFailures = ({ values }: Context): string[] => {
  const strict = get(values, "global.strict_mode") === true;
  const managedIngestion = get(values, "global.datahub.managed_ingestion.enabled") === true;
  const standalone = get(values, "global.datahub_standalone_consumers_enabled") === true;
  const replicas = (component: string) => Number(get(values, `${component}.replicaCount`));
  return [
    ...(strict && managedIngestion && !standalone && replicas("datahub-gms") > 1
      ? ["subcharts/datahub-gms/templates/deployment.yaml:15-16: managed ingestion cannot run on several GMS replicas without standalone consumers"]
      : []),
    ...(strict && managedIngestion && standalone && replicas("datahub-mce-consumer") > 1
      ? ["subcharts/datahub-mce-consumer/templates/deployment.yaml:11-12: managed ingestion needs exactly one MCE consumer"]
      : []),
  ];
};

/** Each pinned chart: its model, the template `fail` conditions encoded, and its contract folder under shared/charts where there is one. */
const MODELS: Readonly<Record<string, { readonly model: ChartModel; readonly failures?: (context: Context) => string[]; readonly contract?: string }>> = {
  "kube-prometheus-stack@88.5.3": { model: kubePrometheusStack, contract: "kube-prometheus-stack" },
  "airflow@1.19.0": { model: airflow, contract: "airflow" },
  "airbyte@2.2.0": { model: airbyte, contract: "airbyte-v2" },
  "datahub@1.1.0": { model: datahub, failures: datahubFailures, contract: "datahub" },
  "datahub-prerequisites@0.3.0": { model: datahubPrerequisites, contract: "datahub-prerequisites" },
  "metabase@2.26.0": { model: metabase, contract: "metabase" },
  "grafana@12.11.1": { model: grafana, contract: "grafana" },
  "external-secrets@2.9.0": { model: externalSecrets },
  "traefik@41.3.0": { model: traefik },
  "cert-manager@v1.21.1": { model: certManager },
  "external-dns@1.21.1": { model: externalDns },
  "opentelemetry-collector@0.170.0": { model: otelCollector, contract: "opentelemetry-collector" },
  "strimzi-kafka-operator@1.2.0": { model: strimzi },
};

const contracts = new Map<string, ReturnType<typeof loadChart>>();

const announced = new Set<string>();

/**
 * A release's chart model, with the values Helm would use; throws for a chart without a model.
 * A version the spec's `chartVersion` raised above the pinned one is checked with the pinned
 * version's model, and says so once: its pods are the pinned templates' pods, which that version
 * may have changed (README, "Extra Helm values and chart versions").
 */
function modelled(release: ChartRelease): { entry: (typeof MODELS)[string]; context: Context } {
  const key = `${release.chart}@${release.version}`;
  const pinned = Object.keys(MODELS).find((candidate) => candidate.startsWith(`${release.chart}@`));
  const entry = MODELS[key] ?? (pinned === undefined ? undefined : MODELS[pinned]);
  if (!entry) throw new Error(`no pod model for chart ${key} (release ${release.address}): encode its pods from the chart's templates at that version`);
  if (MODELS[key] === undefined && !announced.has(key)) {
    announced.add(key);
    process.stdout.write(`chart pod model not encoded for ${key}: ${release.address} is checked with the ${pinned} model (its templates' pods), not that version's\n`);
  }
  let values = release.values;
  if (entry.contract) {
    const contract = contracts.get(entry.contract) ?? loadChart(entry.contract);
    contracts.set(entry.contract, contract);
    values = effectiveValues(contract, release.values);
  }
  return { entry, context: { release, values } };
}

/** The values Helm would use for a release: the chart's defaults (contract or encoded) merged with the release's. */
export function chartValues(release: ChartRelease): Values {
  return modelled(release).context.values;
}

/** The pods a release's chart creates, from the values Helm would use. */
export function chartPods(release: ChartRelease): ChartPod[] {
  const { entry, context } = modelled(release);
  return entry.model(context);
}

/** Why the chart's templates would refuse to render the release (their `fail` calls), or []. */
export function chartTemplateFailures(release: ChartRelease): string[] {
  const { entry, context } = modelled(release);
  return (entry.failures?.(context) ?? []).map((failure) => `${release.address} (${release.chart} ${release.version}): ${failure}`);
}
