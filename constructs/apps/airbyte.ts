/**
 * Airbyte on its v2 chart (the v1 chart is no longer published upstream).
 *
 * Shape of the release:
 * - Config, jobs and Temporal data in the environment's managed PostgreSQL, through the
 *   platform's database Secret; the chart's bundled PostgreSQL is off.
 * - State, logs and workload output: on AWS in the app's S3 bucket with the pod's IAM role (IRSA,
 *   no key). On Azure and GCP in the chart's bundled MinIO, inside the cluster: Airbyte 2.2 reaches
 *   GCS only with a service-account key file and Azure Blob only with a connection string (shared
 *   key), and the platform issues neither (the Azure account has shared keys disabled). Until
 *   upstream supports Workload Identity there, Airbyte's state and logs stay in the cluster on
 *   those clouds, on one MinIO volume.
 * - Two Kubernetes service accounts, created by the platform: the platform's (`ctx.serviceAccount`,
 *   with the chart's Role) for Airbyte's own services, and the untrusted one
 *   (`ctx.untrustedAccount`) for the job pods the workload launcher starts (replication, check,
 *   discover, spec), which run third-party connector images: no Kubernetes rights, no automounted
 *   token, and the bucket identity only on AWS, where those pods write to S3 themselves.
 */
import type {
  AppBucket,
  AppContext,
  AppDatabase,
  AppIngress,
  AppRelease,
  AppRenderer,
  ChartRef,
  GeneratedSecret,
  NamespaceRule,
  Resources,
} from "./types";
import { DATABASE_SECRET_KEYS } from "./types";
import { chartIngress, identityPodLabels, ingressTls, ingressValues, platformServiceAccount, required, spotTolerations } from "./common";
import { OTLP_ENDPOINTS } from "./observability/collector";

/** The v2 chart, pinned. 2.2.0 deploys Airbyte 2.2.0. */
export const AIRBYTE_CHART: ChartRef = { repository: "https://airbytehq.github.io/charts", chart: "airbyte", version: "2.2.0" };

/** Folder of the chart's contract under shared/charts. */
export const AIRBYTE_CHART_CONTRACT = "airbyte-v2";

/** Helm release name; the chart prefixes its objects with it. */
export const AIRBYTE_RELEASE = "airbyte";

/**
 * Secret the bootloader keeps the instance admin credentials, the JWT signing key and the data
 * plane credentials in (keys `instance-admin-password`, `instance-admin-client-id`,
 * `instance-admin-client-secret`, `jwt-signature-secret`, `dataplane-client-id`,
 * `dataplane-client-secret`). Named explicitly so the platform's RBAC can name it.
 */
export const AIRBYTE_AUTH_SECRET = "airbyte-auth-secrets";

/** Secret with the MinIO root credentials, on clouds where Airbyte uses the bundled MinIO. */
export const AIRBYTE_MINIO_SECRET = `${AIRBYTE_RELEASE}-minio-credentials`;

/** Bucket name inside the bundled MinIO, for every kind of document. */
const MINIO_BUCKET = "airbyte-storage";

/**
 * MinIO root credentials, under the key names the chart reads for both the MinIO server
 * (`MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD`) and Airbyte's S3 client. Hex only: a `/` or `,` in an
 * access key breaks SigV4 headers. 20 and 40 characters fit MinIO's historical limits (access
 * key 3–20, secret key 8–40).
 */
const MINIO_CREDENTIALS: GeneratedSecret = {
  name: AIRBYTE_MINIO_SECRET,
  keys: {
    AWS_ACCESS_KEY_ID: { length: 10, encoding: "hex" },
    AWS_SECRET_ACCESS_KEY: { length: 20, encoding: "hex" },
  },
};

/**
 * Base resources (size `small`), scaled with `ctx.resources`. Memory limits only for the JVM
 * services; MinIO's template needs a CPU limit, so it has one.
 */
const BASE_RESOURCES = {
  /** API and UI server (JVM). */
  server: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
  /** Temporal workflow worker (JVM). */
  worker: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "2Gi" } },
  /** Starts the sync job pods (JVM). */
  workloadLauncher: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Queue of workloads between control plane and launcher (JVM). */
  workloadApiServer: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Scheduled housekeeping (JVM). */
  cron: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Temporal server, all services in one process. */
  temporal: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Connector Builder's manifest runner (Python). */
  manifestServer: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Database migrations at install and upgrade. */
  airbyteBootloader: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Metrics reporter: database-derived gauges (pending and running jobs, their ages) every minute (JVM). */
  metrics: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Bundled MinIO (Azure, GCP). */
  minio: { requests: { cpu: "250m", memory: "1Gi" }, limits: { cpu: "1", memory: "2Gi" } },
} as const satisfies Record<string, Resources>;

/**
 * Every component with a `serviceAccountName` in the chart's values, enabled or not: each is
 * pinned to the platform's service account so enabling one later cannot pick another.
 */
const ALL_COMPONENTS = [
  "webapp",
  "server",
  "worker",
  "workloadLauncher",
  "connectorRolloutWorker",
  "metrics",
  "airbyteBootloader",
  "temporal",
  "temporalUi",
  "cron",
  "keycloak",
  "keycloakSetup",
  "manifestServer",
  "workloadApiServer",
  "featureflagServer",
  "stiggSidecar",
] as const;

/** Stateless services that run `ctx.replicas` copies. */
const REPLICATED_COMPONENTS = ["server", "worker", "workloadLauncher", "workloadApiServer", "manifestServer"] as const;

/**
 * Services that stay at one replica: `cron` runs scheduled cleanups that must not run twice,
 * and `temporal` is Temporal's auto-setup image (schema setup at start, one process for all
 * Temporal services), which is not meant to be scaled out.
 */
const SINGLE_REPLICA_COMPONENTS = ["cron", "temporal", "metrics"] as const;

/**
 * Components that may run on spot nodes: the stateless services and the bootloader (a job that
 * is rerun on the next upgrade). Temporal (workflow state in flight) and MinIO (a volume) stay
 * on on-demand nodes; sync job pods are placed by `global.jobs.kube.tolerations`.
 */
const SPOT_COMPONENTS = [...REPLICATED_COMPONENTS, "cron", "metrics", "airbyteBootloader"] as const;

/** Persistent volume of the bundled MinIO. Install-time only: grow an existing PVC directly. */
const MINIO_VOLUME = { production: "50Gi", other: "20Gi" } as const;

/** The error message for a context without `what`. */
const missing = (what: string) => `airbyte: the app context has no ${what}; Airbyte needs one (see APP_CATALOGUE).`;

/**
 * `global.storage` and `minio` per cloud: S3 with IRSA on AWS, the bundled MinIO elsewhere.
 * With MinIO, the server and Airbyte's clients both read the generated root credentials from
 * `global.storage.secretName`; the chart still writes its placeholder `minio`/`minio123` into its
 * own release Secret, which nothing reads then. Airbyte creates its bucket on first use.
 */
function storage(ctx: AppContext, bucket: AppBucket): { global: Record<string, unknown>; minio: Record<string, unknown> } {
  const everyDocument = (name: string) => ({ log: name, state: name, workloadOutput: name, activityPayload: name, auditLogging: name });
  if (bucket.cloud === "aws") {
    return {
      global: {
        type: "s3",
        bucket: everyDocument(bucket.name),
        // Without keys Airbyte's S3 client uses the SDK's default chain, i.e. the IRSA web
        // identity token; the chart's empty AWS_ACCESS_KEY_ID is skipped by that chain.
        s3: { region: required(bucket.region, missing("AWS region on the bucket")), authenticationType: "instanceProfile" },
      },
      minio: { enabled: false },
    };
  }
  return {
    global: { type: "minio", secretName: AIRBYTE_MINIO_SECRET, bucket: everyDocument(MINIO_BUCKET) },
    minio: {
      enabled: true,
      storage: { volumeClaimValue: ctx.env.production ? MINIO_VOLUME.production : MINIO_VOLUME.other },
      resources: ctx.resources(BASE_RESOURCES.minio),
    },
  };
}

/** The server serves the web app and the APIs; "server" is the only backend the chart accepts. */
const serverRouting = (ingress: AppIngress) => ({
  hosts: [{ host: ingress.host, paths: [{ path: "/", pathType: "Prefix", backend: "server" }] }],
  tls: ingressTls(ingress),
});

function renderValues(ctx: AppContext, database: AppDatabase, bucket: AppBucket): Record<string, unknown> {
  const { global: globalStorage, minio } = storage(ctx, bucket);
  const untrusted = required(ctx.untrustedAccount, missing("untrusted service account for job pods"));
  const components: Record<string, Record<string, unknown>> = {};
  for (const name of ALL_COMPONENTS) components[name] = { serviceAccountName: ctx.serviceAccount };
  const running = (name: keyof typeof BASE_RESOURCES) => ({ podLabels: identityPodLabels(ctx), resources: ctx.resources(BASE_RESOURCES[name]) });
  for (const name of REPLICATED_COMPONENTS) Object.assign(components[name], running(name), { replicaCount: ctx.replicas });
  for (const name of SINGLE_REPLICA_COMPONENTS) Object.assign(components[name], running(name), { replicaCount: 1 });
  Object.assign(components.airbyteBootloader, running("airbyteBootloader"));
  for (const name of SPOT_COMPONENTS) components[name].tolerations = spotTolerations(ctx);
  // The platform creates Temporal's databases (APP_CATALOGUE.airbyte.companionDatabases), so its
  // auto-setup skips CREATE DATABASE and Airbyte's role needs no CREATEDB.
  components.temporal.extraEnv = [{ name: "SKIP_DB_CREATE", value: "true" }];
  // Connector pods (sync, check, discover, spec) are built by the workload launcher at run time,
  // not by the chart. Only with ROOTLESS_WORKLOAD does it give them a security context Pod
  // Security `restricted` admits: uid/gid 1000, runAsNonRoot, no privilege escalation, drop ALL,
  // RuntimeDefault seccomp, on every container (airbyte-platform 2.2.0
  // airbyte-workload-launcher/src/main/kotlin/context/WorkloadSecurityContextProvider.kt,
  // rootlessContainerSecurityContext; application.yml `rootless-workload: ${ROOTLESS_WORKLOAD:false}`).
  // Chart 2.2.0 never sets it, so the launcher gets it here.
  components.workloadLauncher.extraEnv = [{ name: "ROOTLESS_WORKLOAD", value: "true" }];
  // The metrics reporter (templates/airbyte-metrics/deployment.yaml renders only with it): one
  // copy, as its gauges are read from the database and a second would report them twice.
  components.metrics.enabled = true;

  return {
    global: {
      /**
       * Only the job pods' account: every component above names its own, which the templates
       * prefer (`default .Values.global.serviceAccountName .Values.<component>.serviceAccountName`),
       * and the chart writes this value, and nothing else, into JOB_KUBE_SERVICEACCOUNT
       * (airbyte 2.2.0 package, templates/config/_jobs.tpl "airbyte.jobs.kube.serviceAccount"),
       * which the workload launcher gives every pod it creates (airbyte-platform
       * airbyte-workload-launcher/src/main/resources/application.yml
       * `airbyte.worker.job.kubernetes.serviceAccount: ${JOB_KUBE_SERVICEACCOUNT}`, used by
       * pods/factories/ReplicationPodFactory.kt and ConnectorPodFactory.kt).
       */
      serviceAccountName: untrusted.serviceAccount,
      ...(ctx.ingress ? { airbyteUrl: `https://${ctx.ingress.host}` } : {}),
      /**
       * The platform's database and role. Temporal's auto-setup also creates the databases
       * `temporal` and `temporal_visibility` on the same server, so the role needs CREATEDB (or
       * those two databases must exist, owned by it).
       */
      database: {
        type: "external",
        host: database.host,
        port: database.port,
        name: database.name,
        secretName: database.secretName,
        userSecretKey: DATABASE_SECRET_KEYS.username,
        passwordSecretKey: DATABASE_SECRET_KEYS.password,
        // Without these the chart looks for CONFIG_DATABASE_REPLICA_* keys; the primary serves reads.
        // The chart's JDBC URL has no sslmode: pgjdbc's default (prefer) uses TLS, which the managed
        // servers offer; Temporal gets TLS from `type: external`.
        replica: { userSecretKey: DATABASE_SECRET_KEYS.username, passwordSecretKey: DATABASE_SECRET_KEYS.password },
      },
      storage: globalStorage,
      /**
       * The bootloader creates the admin credentials and JWT key once in this Secret and reuses
       * them on every upgrade; it then adds the data plane credentials to the same Secret. That
       * second write is why this is not a platform-generated Secret: External Secrets treats a
       * Secret whose data changed as out of sync and regenerates it, which would rotate the
       * admin password and drop the data plane credentials.
       */
      auth: { managedSecretName: AIRBYTE_AUTH_SECRET, secretCreationEnabled: true },
      /**
       * Job pods: the untrusted account (set above) and the labels its identity needs (none where
       * it has no identity); batch work Airbyte retries, so spot is fine.
       */
      jobs: { kube: { labels: { ...untrusted.podLabels }, tolerations: spotTolerations(ctx) } },
      /** No usage analytics sent to Airbyte (Segment) from a company's data platform. */
      tracking: { enabled: false },
      /**
       * Metrics through the cluster's OpenTelemetry collector (observability/collector.ts). The
       * chart writes these into its env ConfigMap (templates/config/_metrics.tpl):
       * `enabled` -> MICROMETER_METRICS_ENABLED, `otlp.enabled` -> MICROMETER_METRICS_OTLP_ENABLED,
       * `otlp.collectorEndpoint` -> OTEL_COLLECTOR_ENDPOINT, which Airbyte 2.2's services read as
       * `micronaut.metrics.enabled` and `micronaut.metrics.export.otlp.{enabled,url}`
       * (airbyte-platform, e.g. airbyte-server/src/main/resources/application.yml; default
       * url `http://localhost:4318/v1/metrics`): Micrometer's OTLP registry posts OTLP/HTTP to
       * that full URL, with cumulative temporality.
       */
      metrics: { enabled: true, otlp: { enabled: true, collectorEndpoint: OTLP_ENDPOINTS.httpMetrics } },
    },
    /**
     * The platform creates the service account. `create: false` also drops the chart's Role and
     * RoleBinding, so the platform must grant this account, in the release namespace:
     * configmaps, endpoints, jobs, pods, pods/log, pods/exec, pods/attach and secrets, with get,
     * list, watch, create, update, patch, delete (the chart's own Role; pods for sync jobs,
     * secrets for the bootloader's auth Secret and the jobs' connector configuration). It grants
     * them to the platform's account only: never to the job pods' account.
     */
    serviceAccount: platformServiceAccount(ctx),
    postgresql: { enabled: false },
    minio,
    /** With SSO the proxy in the sso namespace serves the host (constructs/apps/sso.ts). */
    ingress: ingressValues(chartIngress(ctx), "className", serverRouting),
    ...components,
  };
}

/** The chart's own Role, which `serviceAccount.create: false` drops: sync-job pods, their logs and secrets. */
const AIRBYTE_NAMESPACE_RULES: readonly NamespaceRule[] = [
  {
    apiGroups: ["", "batch"],
    resources: ["configmaps", "endpoints", "jobs", "pods", "pods/log", "pods/exec", "pods/attach", "secrets"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
  },
];

/**
 * Airbyte's release. Requirements on the platform: the database Secret and, on Azure and GCP,
 * the MinIO Secret exist before the release installs (the bootloader and MinIO are pre-install
 * hooks); the RBAC described on `serviceAccount`; on AWS, the service account's IAM role can read
 * and write the bucket. The chart has no PodDisruptionBudgets: replicas are what keeps the
 * stateless services up through a node drain.
 */
export const renderAirbyte: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const database = required(ctx.database, missing("database"));
  const bucket = required(ctx.bucket, missing("bucket"));
  return [
    {
      name: AIRBYTE_RELEASE,
      chart: AIRBYTE_CHART,
      contract: AIRBYTE_CHART_CONTRACT,
      values: renderValues(ctx, database, bucket),
      generatedSecrets: bucket.cloud === "aws" ? [] : [MINIO_CREDENTIALS],
      namespaceRules: AIRBYTE_NAMESPACE_RULES,
    },
  ];
};
