/**
 * Which Kubernetes service account each pod of a chart runs as, and which RoleBindings the chart
 * renders for which accounts, as the pinned charts' templates decide from the values Helm
 * receives (the chart's defaults from its contract in `../shared/charts`, merged with the
 * release's values). Encoded for the charts that run untrusted code (APP_CATALOGUE `untrusted`);
 * a release of another chart has no model here and the caller must not ask.
 *
 * Encoded from:
 * - apache/airflow chart/ at helm-chart 1.19.0 (commit f17d6ffb05cc0ffda638b7c0ef5b5d6d12f1c314):
 *   templates/_helpers.yaml `_serviceAccountName` and `worker.serviceAccountName`;
 *   files/pod-template-file.kubernetes-helm-yaml (task pods: `serviceAccountName: worker.serviceAccountName`,
 *   no automountServiceAccountToken); templates/rbac/*-rolebinding.yaml (their `if` and subjects).
 * - airbyte 2.2.0 (airbytehq/charts 02a32dc5, airbyte-2.2.0.tgz): templates/<component>/*.yaml
 *   `serviceAccountName: default .Values.global.serviceAccountName .Values.<component>.serviceAccountName`;
 *   templates/config/_jobs.tpl (JOB_KUBE_SERVICEACCOUNT = global.serviceAccountName);
 *   templates/serviceaccount.yaml (Role and RoleBinding with `serviceAccount.create`).
 * - airbyte-platform airbyte-workload-launcher (the 2.2.0 line, read at db8783e5c1, 2026-08-10):
 *   pods/factories/ReplicationPodFactory.kt builds replication and reset pods with
 *   `withServiceAccount(job.kubernetes.serviceAccount)` and, last, `withAutomountServiceAccountToken(false)`;
 *   ConnectorPodFactory.kt builds check, discover and spec pods with `withAutomountServiceAccountToken(true)`;
 *   application.yml: `job.kubernetes.serviceAccount: ${JOB_KUBE_SERVICEACCOUNT:airbyte-admin}`.
 */
import { loadChart } from "../chart-contract";
import { at, effectiveValues, isMap, type Values } from "../values";
import type { ChartRelease } from "../../../scripts/rendered-apps";

export interface ChartPodAccount {
  /** Release and component. */
  readonly pod: string;
  readonly serviceAccount: string;
  /** The pod runs third-party or user code (connectors, task code), which must not hold the platform's rights. */
  readonly untrusted: boolean;
  /** The pod's own `automountServiceAccountToken`, or undefined where the pod leaves it to the account. */
  readonly automountToken?: boolean;
}

export interface ChartBinding {
  /** The template and object name. */
  readonly name: string;
  readonly kind: "RoleBinding" | "ClusterRoleBinding";
  readonly subjects: readonly { readonly kind: "ServiceAccount"; readonly name: string; readonly namespace: string }[];
}

interface Model {
  readonly contract: string;
  readonly accounts: (release: ChartRelease, values: Values) => ChartPodAccount[];
  readonly bindings: (release: ChartRelease, values: Values) => ChartBinding[];
}

const get = (values: unknown, path: string): unknown => at(values, path);
const text = (value: unknown): string => (typeof value === "string" ? value : "");

// --- airflow 1.19.0 --------------------------------------------------------------------------

/** `_serviceAccountName`: `<fullname>-<suffix>` or the given name when the chart creates it, else the name or "default". */
function airflowAccount(release: ChartRelease, values: Values, key: string, suffix = key): string {
  const account = get(values, `${key}.serviceAccount`);
  const name = isMap(account) ? text(account.name) : "";
  if (isMap(account) && account.create === true) return name || `${release.name}-${suffix}`;
  return name || "default";
}

/** `worker.serviceAccountName`: the suffix is `worker` (or `worker-<name>` for a named worker set). */
function airflowWorkerAccount(release: ChartRelease, values: Values): string {
  const setName = text(get(values, "workers.name"));
  return airflowAccount(release, values, "workers", setName !== "" && setName !== "default" ? `worker-${setName}` : "worker");
}

const SCHEDULER_LAUNCH_EXECUTORS = ["LocalExecutor", "LocalKubernetesExecutor", "KubernetesExecutor", "CeleryKubernetesExecutor"];
const WORKER_LAUNCH_EXECUTORS = ["CeleryExecutor", "LocalKubernetesExecutor", "KubernetesExecutor", "CeleryKubernetesExecutor"];

const airflow: Model = {
  contract: "airflow",
  accounts: (release, values) => [
    ...["scheduler", "apiServer", "triggerer", "dagProcessor", "migrateDatabaseJob", "createUserJob", "statsd"].map((component) => ({
      pod: `${release.name}/${component}`,
      serviceAccount: airflowAccount(release, values, component),
      untrusted: false,
    })),
    { pod: `${release.name}/task pods (files/pod-template-file.kubernetes-helm-yaml)`, serviceAccount: airflowWorkerAccount(release, values), untrusted: true },
  ],
  bindings: (release, values) => {
    if (get(values, "rbac.create") !== true) return [];
    const kind = get(values, "multiNamespaceMode") === true ? "ClusterRoleBinding" : "RoleBinding";
    const executors = text(values.executor).split(",");
    const subject = (name: string) => ({ kind: "ServiceAccount" as const, name, namespace: release.namespace });
    const scheduler = executors.some((executor) => SCHEDULER_LAUNCH_EXECUTORS.includes(executor)) ? [subject(airflowAccount(release, values, "scheduler"))] : [];
    const worker = executors.some((executor) => WORKER_LAUNCH_EXECUTORS.includes(executor)) ? [subject(airflowWorkerAccount(release, values))] : [];
    const bindings: ChartBinding[] = [];
    if (get(values, "allowPodLaunching") === true) {
      const triggerer = get(values, "triggerer.enabled") !== false ? [subject(airflowAccount(release, values, "triggerer"))] : [];
      bindings.push({ name: "rbac/pod-launcher-rolebinding.yaml", kind, subjects: [...scheduler, ...worker, ...triggerer] });
    }
    if (get(values, "allowJobLaunching") === true) bindings.push({ name: "rbac/job-launcher-rolebinding.yaml", kind, subjects: [...scheduler, ...worker] });
    // Airflow 3 (airflowVersion 3.1.7): the API server reads pod logs.
    if (get(values, "apiServer.allowPodLogReading") === true) bindings.push({ name: "rbac/pod-log-reader-rolebinding.yaml", kind, subjects: [subject(airflowAccount(release, values, "apiServer"))] });
    if (get(values, "rbac.createSCCRoleBinding") === true) {
      bindings.push({
        name: "rbac/security-context-constraint-rolebinding.yaml",
        kind,
        subjects: [...worker, ...["scheduler", "apiServer", "triggerer", "migrateDatabaseJob", "createUserJob"].map((component) => subject(airflowAccount(release, values, component)))],
      });
    }
    if (get(values, "cleanup.enabled") === true) bindings.push({ name: "rbac/pod-cleanup-rolebinding.yaml", kind, subjects: [subject(airflowAccount(release, values, "cleanup"))] });
    if (get(values, "databaseCleanup.enabled") === true) bindings.push({ name: "rbac/pod-database-cleanup-rolebinding.yaml", kind, subjects: [subject(airflowAccount(release, values, "databaseCleanup"))] });
    return bindings;
  },
};

// --- airbyte 2.2.0 ---------------------------------------------------------------------------

/**
 * Every component the chart gives a `serviceAccountName` in its values (airbyte 2.2.0 values.yaml),
 * read from the values Helm would use rather than listed by hand.
 */
const airbyteComponents = (values: Record<string, unknown>) =>
  Object.entries(values)
    .filter(([key, value]) => key !== "global" && typeof value === "object" && value !== null && "serviceAccountName" in value)
    .map(([key]) => key);

const airbyte: Model = {
  contract: "airbyte-v2",
  accounts: (release, values) => {
    const global = text(get(values, "global.serviceAccountName"));
    // Helm's `default`: the component's own name unless it is empty.
    const components = airbyteComponents(values).filter((component) => component === "airbyteBootloader" || get(values, `${component}.enabled`) === true).map((component) => ({
      pod: `${release.name}/${component}`,
      serviceAccount: text(get(values, `${component}.serviceAccountName`)) || global,
      untrusted: false,
    }));
    return [
      ...components,
      { pod: `${release.name}/replication pods (ReplicationPodFactory)`, serviceAccount: global, untrusted: true, automountToken: false },
      { pod: `${release.name}/check, discover and spec pods (ConnectorPodFactory)`, serviceAccount: global, untrusted: true, automountToken: true },
    ];
  },
  bindings: (release, values) => {
    if (get(values, "serviceAccount.create") !== true) return [];
    const name = text(get(values, "serviceAccount.name")) || release.name;
    return [{ name: "serviceaccount.yaml (RoleBinding <account>-binding)", kind: "RoleBinding", subjects: [{ kind: "ServiceAccount", name, namespace: release.namespace }] }];
  },
};

const MODELS: Readonly<Record<string, Model>> = { "airflow@1.19.0": airflow, "airbyte@2.2.0": airbyte };

function modelled(release: ChartRelease): { model: Model; values: Values } {
  const model = MODELS[`${release.chart}@${release.version}`];
  if (!model) throw new Error(`no service account model for chart ${release.chart}@${release.version} (release ${release.address}): encode it from the chart's templates at that version`);
  return { model, values: effectiveValues(loadChart(model.contract), release.values) };
}

/** Whether the chart of a release has a service account model here. */
export function hasAccountModel(release: ChartRelease): boolean {
  return `${release.chart}@${release.version}` in MODELS;
}

/** The service account of every pod the release's chart (and the app's own pod launcher) creates. */
export function chartPodAccounts(release: ChartRelease): ChartPodAccount[] {
  const { model, values } = modelled(release);
  return model.accounts(release, values);
}

/** The RoleBindings and ClusterRoleBindings the release's chart renders. */
export function chartBindings(release: ChartRelease): ChartBinding[] {
  const { model, values } = modelled(release);
  return model.bindings(release, values);
}
