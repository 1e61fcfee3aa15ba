/**
 * Apache Airflow 3 on the official Apache Airflow chart.
 *
 * Shape of the release:
 * - KubernetesExecutor: every task runs in its own pod, so there is no Celery broker, no Redis and
 *   no long-running worker to operate.
 * - Metadata in the environment's managed PostgreSQL, through the platform's database Secret; the
 *   chart's bundled PostgreSQL and PgBouncer are off.
 * - Task logs in the app's bucket (S3, GCS or Azure Blob), written with the pod's cloud identity:
 *   no storage key anywhere.
 * - Two Kubernetes service accounts, created by the platform with the cloud identity's annotations:
 *   the platform's (`ctx.serviceAccount`) for Airflow's own pods (scheduler, API server, triggerer,
 *   DAG processor, jobs, statsd), with the chart's pod-launcher and log-reader rights; and the
 *   untrusted one (`ctx.untrustedAccount`) for task pods, which run user code: no Kubernetes
 *   rights, no API token, only the identity's bucket access for their logs.
 * - The Fernet key, API secret key and JWT secret come from secrets the platform generates once in
 *   the cluster, never from the chart (which would put them in the release and could change them).
 *
 * - How DAGs reach the pods and which image runs: `apps[].dags` and `apps[].image` (dags.ts).
 *   Without either, the DAG processor reads the chart image's own, empty `dags/` folder.
 */
import { podCredentialValues } from "./credentials";
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
import { DATA_QUALITY_STATSD_MAPPINGS } from "./observability/metrics";
import { airflowSsoConfig, airflowSsoValues } from "./airflow-sso";
import { airflowDagsValues } from "./dags";
import { chartIngress, identityPodLabels, ingressValues, platformServiceAccount, required, restrictedPodSecurityContext, spotTolerations } from "./common";

/** The official chart, pinned. 1.19.0 deploys Airflow 3.1.7. */
export const AIRFLOW_CHART: ChartRef = { repository: "https://airflow.apache.org", chart: "airflow", version: "1.19.0" };

/** Folder of the chart's contract under shared/charts. */
export const AIRFLOW_CHART_CONTRACT = "airflow";

/** Helm release name; the chart prefixes its objects with it. */
export const AIRFLOW_RELEASE = "airflow";

/**
 * Secret holding the keys the chart would otherwise generate itself. One Secret, three keys, each
 * under the key name the chart reads (`fernet-key`, `api-secret-key`, `jwt-secret`).
 */
export const AIRFLOW_KEYS_SECRET = `${AIRFLOW_RELEASE}-keys`;

/** Secret holding the generated password of the initial `admin` user (key `password`). */
export const AIRFLOW_ADMIN_SECRET = `${AIRFLOW_RELEASE}-admin`;

/** User name of the initial admin account, whose password is in {@link AIRFLOW_ADMIN_SECRET}. */
export const AIRFLOW_ADMIN_USER = "admin";

/** Environment variable the create-user job reads the admin password from. */
const ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD";

/**
 * Keys made by the External Secrets Password generator: `length` random characters (the platform
 * asks for letters and digits), then encoded (`base64url` is Go's padded `base64.URLEncoding`).
 */
const AIRFLOW_GENERATED_KEYS: GeneratedSecret = {
  name: AIRFLOW_KEYS_SECRET,
  keys: {
    /**
     * Fernet needs 32 bytes, url-safe base64 encoded: 32 characters as padded base64url are 44
     * characters that decode to exactly 32 bytes, which `cryptography.fernet.Fernet` checks. As
     * the bytes are letters and digits, each 16-byte half (signing key, AES key) carries about
     * 95 bits of entropy rather than 128: still far beyond brute force.
     */
    "fernet-key": { length: 32, encoding: "base64url" },
    /**
     * Flask session secret of the API server. Hex, so no character needs escaping in an
     * environment variable or in airflow.cfg interpolation.
     */
    "api-secret-key": { length: 32, encoding: "hex" },
    /** HMAC key signing the API's JWTs: 32 random characters (about 190 bits) as 64 hex characters. */
    "jwt-secret": { length: 32, encoding: "hex" },
  },
};

/**
 * The two signing keys only Airflow's own processes use, kept out of task pods, which run user
 * code. Chart 1.19.0 puts every key of `standard_airflow_environment` (templates/_helpers.yaml
 * L54-168) into every Airflow container, task pods included (files/pod-template-file.
 * kubernetes-helm-yaml L115), unless `enableBuiltInSecretEnvVars.<NAME>` is false (values.yaml
 * L409-423); these two are given back through `<component>.env` (`container_extra_envs`,
 * _helpers.yaml L1087, rendered in the main container of api-server-deployment.yaml L223,
 * scheduler-deployment.yaml L208, triggerer-deployment.yaml L211, dag-processor-deployment.yaml
 * L185), which task pods do not read (they read `workers.env`).
 * - `[api_auth] jwt_secret` signs the JWTs of the UI, the REST API and the Execution API
 *   (airflow-core api_fastapi/auth/tokens.py L560-584 at 5f609bdcfa); with it, task code could
 *   sign an Admin token for `/api/v2` (a token names only the user id: providers/fab
 *   fab_auth_manager.py L266-270). A task does not need it: the scheduler's executor signs the
 *   task's own token and passes it in the workload (base_executor.py L166-167), which the task
 *   pod's `execute_workload` hands to the supervisor (task-sdk execution_time/
 *   execute_workload.py); nothing in the task SDK reads the key.
 * - `[api] secret_key` signs the FAB session and the log-server tokens (core_api/app.py L165,
 *   providers/fab www/app.py L58, utils/serve_logs/log_server.py L146, file_task_handler.py
 *   L170); KubernetesExecutor task pods serve no logs (the API server reads a running pod's log
 *   from Kubernetes), so they need it neither.
 * The wait-for-migrations init containers lose both too: `airflow db check-migrations` reads the
 * database only. The Fernet key and the database URL stay built in (see the README, "Network
 * isolation"): the Fernet key is read in task pods (task-sdk crypto.py `get_fernet`, by the
 * deltalake and iceberg XCom serializers), and `<component>.waitForMigrations.env` accepts no
 * `valueFrom` (values.schema.json: `name` and `value` only), so the init containers could not get
 * the URL from its Secret.
 */
const SIGNING_KEYS_ENV = [
  { name: "AIRFLOW__API_AUTH__JWT_SECRET", valueFrom: { secretKeyRef: { name: AIRFLOW_KEYS_SECRET, key: "jwt-secret" } } },
  { name: "AIRFLOW__API__SECRET_KEY", valueFrom: { secretKeyRef: { name: AIRFLOW_KEYS_SECRET, key: "api-secret-key" } } },
] as const;

/** 20 generated characters as 40 hex characters: typed once from the Secret, then changed in the UI. */
const AIRFLOW_ADMIN_PASSWORD: GeneratedSecret = {
  name: AIRFLOW_ADMIN_SECRET,
  keys: { password: { length: 20, encoding: "hex" } },
};

/**
 * Base resources (size `small`), scaled with `ctx.resources`. Memory limits only: CPU requests
 * reserve the share each component needs, and a CPU limit would only throttle the scheduler loop
 * and the API server in bursts.
 */
const BASE_RESOURCES = {
  /** Serves the UI, the REST API and the Execution API every task pod reports to. */
  apiServer: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "2Gi" } },
  /** One scheduling loop; memory grows with the number of DAGs and task instances. */
  scheduler: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
  /** Runs deferred triggers in an asyncio loop; light until many sensors defer. */
  triggerer: { requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Parses DAG files in subprocesses; memory follows the size of the DAG folder. */
  dagProcessor: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "2Gi" } },
  /** Each task pod of the KubernetesExecutor; heavy tasks override it with `executor_config`. */
  workers: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** `airflow db migrate` at install and upgrade. */
  migrateDatabaseJob: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** `airflow users create` at install and upgrade. */
  createUserJob: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Prometheus statsd exporter. */
  statsd: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
  /** Sidecar deleting local log files older than its retention. */
  logGroomer: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
} as const satisfies Record<string, Resources>;

/** Airflow reads boolean options as the strings `True` / `False`. */
const TRUE = "True";

/** Where task logs go, and how Airflow reaches them with the pod's cloud identity. */
interface RemoteLogging {
  /** `[logging]` options. */
  readonly logging: Record<string, string>;
  /** Extra airflow.cfg sections (Azure's container name). */
  readonly sections: Record<string, Record<string, string>>;
  /** The connection the log handler uses, as an `AIRFLOW_CONN_*` variable holding no credential. */
  readonly connection: { readonly name: string; readonly value: string };
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

/**
 * Remote task logging per cloud. The log handler is picked by the prefix of
 * `remote_base_log_folder` (`s3://`, `gs://`, `wasb`); each connection holds only where to go,
 * so the SDK's default credential chain uses the pod's identity (IRSA, GKE Workload Identity,
 * Azure Workload Identity).
 */
function remoteLogging(bucket: AppBucket): RemoteLogging {
  switch (bucket.cloud) {
    case "aws":
      return {
        logging: { remote_base_log_folder: `${withoutTrailingSlash(bucket.url)}/airflow/logs`, remote_log_conn_id: "aws_default" },
        sections: {},
        // No keys in the connection: boto3 falls back to the web identity token of IRSA.
        connection: {
          name: "AIRFLOW_CONN_AWS_DEFAULT",
          value: JSON.stringify({ conn_type: "aws", ...(bucket.region ? { extra: { region_name: bucket.region } } : {}) }),
        },
      };
    case "gcp":
      return {
        logging: { remote_base_log_folder: `${withoutTrailingSlash(bucket.url)}/airflow/logs`, remote_log_conn_id: "google_cloud_default" },
        sections: {},
        // No key file: google.auth.default() uses GKE Workload Identity.
        connection: { name: "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", value: JSON.stringify({ conn_type: "google_cloud_platform" }) },
      };
    case "azure": {
      if (!bucket.storageAccount) throw new Error(`airflow: the Azure bucket ${bucket.url} has no storage account name.`);
      return {
        // Airflow picks the Blob handler for folders starting with "wasb" (`abfs://` is not a
        // remote-logging prefix); the folder becomes the blob name prefix inside the container.
        logging: { remote_base_log_folder: "wasb-airflow-logs", remote_log_conn_id: "wasb_default" },
        sections: { azure_remote_logging: { remote_wasb_log_container: bucket.name } },
        // Only the account URL: with no key, SAS or connection string the WasbHook falls back to
        // DefaultAzureCredential, i.e. Azure Workload Identity (the account has shared keys off).
        connection: {
          name: "AIRFLOW_CONN_WASB_DEFAULT",
          value: JSON.stringify({ conn_type: "wasb", host: `https://${bucket.storageAccount}.blob.core.windows.net` }),
        },
      };
    }
  }
}

/** The error message for a context without `what`. */
const missing = (what: string) => `airflow: the app context has no ${what}; Airflow needs one (see APP_CATALOGUE).`;

/**
 * The chart's Roles, which `rbac.create: false` drops, granted by the platform to the platform's
 * account alone. The chart cannot keep task pods out of them: with the KubernetesExecutor its
 * pod-launcher RoleBinding names the scheduler's, the triggerer's AND the workers' service account
 * (apache/airflow helm-chart 1.19.0 chart/templates/rbac/pod-launcher-rolebinding.yaml,
 * `$workerLaunchExecutors` includes KubernetesExecutor), and a task pod is a worker. Rules copied
 * from chart/templates/rbac/pod-launcher-role.yaml (scheduler, triggerer: start, watch and delete
 * task pods, read their logs and events) and pod-log-reader-role.yaml (API server: task logs of
 * running pods); job-launcher-role.yaml is off by default (`allowJobLaunching: false`).
 */
const AIRFLOW_NAMESPACE_RULES: readonly NamespaceRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["create", "list", "get", "patch", "watch", "delete"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get", "list"] },
  { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
  { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
];

/** `ingress.apiServer`: the Airflow 3 UI and REST API are served by the API server. */
const apiServerRouting = (ingress: AppIngress) => ({
  path: "/",
  pathType: "Prefix",
  hosts: [{ name: ingress.host, tls: { enabled: true, secretName: ingress.tlsSecretName } }],
});

/** The Airflow image's user and group (chart 1.19.0 values.yaml `uid`, `gid`). */
const AIRFLOW_UID = 50000;
const AIRFLOW_GID = 0;
/** The statsd exporter's user (chart 1.19.0 values.yaml `statsd.uid`: nobody). */
const STATSD_UID = 65534;

/** Whether Airflow keeps its generated `admin` password login: not when it signs users in through the SSO provider. */
const hasPasswordLogin = (ctx: AppContext): boolean => !(ctx.sso?.mode === "oidc" && ctx.ingress !== undefined);

function renderValues(ctx: AppContext, database: AppDatabase, bucket: AppBucket): Record<string, unknown> {
  const logs = remoteLogging(bucket);
  const passwordLogin = hasPasswordLogin(ctx);
  const untrusted = required(ctx.untrustedAccount, missing("untrusted service account for task pods"));
  /** Every pod runs as the platform's service account; the chart creates none. */
  const serviceAccount = platformServiceAccount(ctx);
  const foreign = podCredentialValues(ctx.bucketCredentials);
  const resources = (component: keyof typeof BASE_RESOURCES) => ctx.resources(BASE_RESOURCES[component]);
  /** Long-running components: `ctx.replicas` copies, and a PDB in production so a drain keeps one. */
  const highlyAvailable = (component: "apiServer" | "scheduler" | "triggerer" | "dagProcessor") => ({
    serviceAccount,
    replicas: ctx.replicas,
    podDisruptionBudget: { enabled: ctx.disruptionBudgets, config: { maxUnavailable: 1 } },
    resources: resources(component),
    env: SIGNING_KEYS_ENV,
  });
  /**
   * Everything but the scheduler may run on spot nodes: the API server, triggerer and DAG
   * processor are replicated and stateless, task pods and jobs are batch work Airflow retries.
   * The scheduler stays on on-demand nodes: losing it stalls every DAG until a replacement starts.
   */
  const tolerations = spotTolerations(ctx);
  const logGroomerSidecar = { resources: resources("logGroomer") };

  return {
    executor: "KubernetesExecutor",
    /** The platform grants the chart's Roles to the platform's account only (AIRFLOW_NAMESPACE_RULES). */
    rbac: { create: false },
    /** Labels on every object and pod, task pods included (Azure Workload Identity needs one). */
    labels: identityPodLabels(ctx),

    postgresql: { enabled: false },
    /** The chart's PgBouncer would need the database password in its own config Secret. */
    pgbouncer: { enabled: false, serviceAccount },
    /** Only Celery needs a broker. */
    redis: { enabled: false, serviceAccount },
    flower: { enabled: false, serviceAccount },
    /** The chart reads the SQLAlchemy URL from key `connection` of this Secret (`DATABASE_SECRET_KEYS.connection`). */
    data: { metadataSecretName: database.secretName },

    fernetKeySecretName: AIRFLOW_KEYS_SECRET,
    apiSecretKeySecretName: AIRFLOW_KEYS_SECRET,
    jwtSecretName: AIRFLOW_KEYS_SECRET,
    /** Not in every container: the signing keys go to Airflow's own processes only (SIGNING_KEYS_ENV). */
    enableBuiltInSecretEnvVars: { AIRFLOW__API_AUTH__JWT_SECRET: false, AIRFLOW__API__SECRET_KEY: false },

    /**
     * Pod Security `restricted` for every Airflow pod, task pods included. Chart 1.19.0 gives each
     * pod `<component>.securityContexts.pod`, else this (templates/_helpers.yaml L929-948,
     * airflowPodSecurityContext; files/pod-template-file.kubernetes-helm-yaml L24 for task pods);
     * each container keeps the chart's default, allowPrivilegeEscalation false and drop ALL
     * (_helpers.yaml L1044-1063). The image's user is `airflow`, uid 50000 in group 0 (the
     * chart's `uid` and `gid`).
     */
    securityContexts: { pod: restrictedPodSecurityContext(AIRFLOW_UID, AIRFLOW_GID) },

    /**
     * With `sso`, the API server (where Airflow 3 runs the FAB app) signs users in through the
     * provider: its webserver_config.py and the client secret's file (airflow-sso.ts).
     */
    apiServer: { ...highlyAvailable("apiServer"), tolerations, ...(ctx.ingress ? airflowSsoValues(ctx.sso) : {}) },
    scheduler: { ...highlyAvailable("scheduler"), logGroomerSidecar },
    /**
     * Task logs live in the bucket, so the triggerer needs no 100 GiB volume per replica and
     * runs as a Deployment instead of a StatefulSet.
     */
    triggerer: { ...highlyAvailable("triggerer"), logGroomerSidecar, persistence: { enabled: false }, tolerations },
    dagProcessor: { ...highlyAvailable("dagProcessor"), logGroomerSidecar, tolerations },
    /**
     * With the KubernetesExecutor these settings shape each task pod. Task pods run user code, so
     * they run as the untrusted account (files/pod-template-file.kubernetes-helm-yaml:
     * `serviceAccountName: worker.serviceAccountName`, i.e. `workers.serviceAccount.name` with
     * `create: false`); the template sets no automountServiceAccountToken, so the account's `false` holds.
     */
    workers: { serviceAccount: { create: false, name: untrusted.serviceAccount }, resources: resources("workers"), tolerations },
    /** Airflow 2's web server: not deployed for Airflow 3, set so no account is ever created. */
    webserver: { serviceAccount },
    /**
     * The chart's statsd exporter, plus the mappings of the data-quality contract
     * (docs/data-quality.md): appended after the chart's own mappings (chart/templates/configmaps/
     * statsd-configmap.yaml at 1.19.0), whose patterns never match `data_quality.*`.
     */
    statsd: {
      serviceAccount,
      resources: resources("statsd"),
      tolerations,
      extraMappings: DATA_QUALITY_STATSD_MAPPINGS,
      /**
       * statsd reads only its own `securityContexts.pod` (localPodSecurityContext, _helpers.yaml
       * L963-971, else `runAsUser: statsd.uid`); the exporter image runs as nobody (65534).
       */
      securityContexts: { pod: restrictedPodSecurityContext(STATSD_UID) },
    },
    /**
     * Plain Jobs, not Helm hooks: the platform installs with Helm's wait, and Helm runs
     * post-install hooks only after the pods are ready, while the pods wait for the migrations
     * (the chart's documented settings for Terraform, Argo CD and `--wait`). Without the custom
     * environment the Jobs' pod templates stay the same between releases (Job templates are
     * immutable).
     */
    migrateDatabaseJob: { serviceAccount, useHelmHooks: false, applyCustomEnv: false, resources: resources("migrateDatabaseJob"), tolerations },
    /**
     * The chart's user job would create admin/admin. It creates `admin` with the generated
     * password instead: Kubernetes substitutes `$(AIRFLOW_ADMIN_PASSWORD)` in the job's
     * arguments from the env entry below, so the password is in neither the values nor the pod
     * spec. On upgrades the command finds the user and leaves it (and a changed password) alone.
     * A plain Job without the custom environment, like the migration job.
     *
     * With `sso` there is no password user: the sign-in form is gone (AUTH_OAUTH), and FAB's
     * `/auth/token` would still trade a database user's password for an API token
     * (providers/fab fab_auth_manager.py `create_token` falls back to `auth_user_db` whatever
     * AUTH_TYPE is), a way in past the provider. Break-glass is the `airflow` CLI in an API server
     * pod (README, "Single sign-on").
     */
    createUserJob: passwordLogin
      ? {
          serviceAccount,
          useHelmHooks: false,
          applyCustomEnv: false,
          defaultUser: {
            role: "Admin",
            username: AIRFLOW_ADMIN_USER,
            email: `${AIRFLOW_ADMIN_USER}@${ctx.ingress?.host ?? "airflow.invalid"}`,
            firstName: "Airflow",
            lastName: "Admin",
            password: `$(${ADMIN_PASSWORD_ENV})`,
          },
          env: [{ name: ADMIN_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: AIRFLOW_ADMIN_SECRET, key: "password" } } }],
          resources: resources("createUserJob"),
          tolerations,
        }
      : { enabled: false, serviceAccount },
    /** Off (the KubernetesExecutor deletes finished task pods itself), but never with a chart-made account. */
    cleanup: { serviceAccount },
    databaseCleanup: { serviceAccount },

    /**
     * The remote-logging connection, in every Airflow component's container and task pods; with
     * the bucket on another cloud, also that cloud's credentials (chart 1.19.0: the top-level env,
     * volumes and volumeMounts reach the components and the task-pod template,
     * pod-template-file.kubernetes-helm-yaml; the migration and user jobs, which never touch the
     * bucket, get the volume but not the env, `applyCustomEnv: false`).
     */
    env: [logs.connection, ...foreign.env],
    ...(foreign.volumes.length > 0 ? { volumes: foreign.volumes, volumeMounts: foreign.volumeMounts } : {}),
    ...(Object.keys(foreign.configMaps).length > 0 ? { extraConfigMaps: foreign.configMaps } : {}),
    config: {
      core: { remote_logging: TRUE },
      logging: { remote_logging: TRUE, delete_local_logs: TRUE, ...logs.logging },
      ...logs.sections,
      /** Links and redirects of the UI behind the ingress. */
      ...(ctx.ingress ? { api: { base_url: `https://${ctx.ingress.host}/` } } : {}),
      /** With `sso`: secure session cookie, bounded session and JWT lifetimes (airflow-sso.ts). */
      ...(passwordLogin ? {} : airflowSsoConfig()),
    },

    /** With SSO the app still serves its own host: it signs users in itself (airflow-sso.ts). */
    ingress: { apiServer: ingressValues(chartIngress(ctx), "ingressClassName", apiServerRouting) },
    /** The team's DAGs (git-sync) and image, when the spec gives them (dags.ts). */
    ...airflowDagsValues(ctx.env.apps.find((app) => app.name === ctx.app)),
  };
}

/**
 * Airflow's release. Requirements on the platform:
 * - the database Secret `ctx.database.secretName` (key `connection`) and the generated secrets
 *   exist before the release installs (the pods and the migration and user Jobs read them at
 *   start);
 * - the release is installed with Helm's wait for Jobs, so it completes only once the
 *   migrations have run;
 * - the service account's cloud identity can read and write the bucket.
 * - the untrusted account `ctx.untrustedAccount` exists, with no Role bound to it and the
 *   identity's annotations (task logs go to the bucket);
 * - the chart's pod-launcher and log-reader rights (AIRFLOW_NAMESPACE_RULES) are granted to the
 *   platform's account, since the chart's own RBAC is off.
 */
export const renderAirflow: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const database = required(ctx.database, missing("database"));
  const bucket = required(ctx.bucket, missing("bucket"));
  return [
    {
      name: AIRFLOW_RELEASE,
      chart: AIRFLOW_CHART,
      contract: AIRFLOW_CHART_CONTRACT,
      values: renderValues(ctx, database, bucket),
      generatedSecrets: hasPasswordLogin(ctx) ? [AIRFLOW_GENERATED_KEYS, AIRFLOW_ADMIN_PASSWORD] : [AIRFLOW_GENERATED_KEYS],
      namespaceRules: AIRFLOW_NAMESPACE_RULES,
    },
  ];
};
