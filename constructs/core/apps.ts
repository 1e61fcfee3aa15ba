/**
 * The apps the platform knows how to run, and what each needs from the environment. The Helm
 * releases live in `constructs/apps/`; this catalogue is what the spec and the cloud identity
 * layer need to know about them.
 */
import type { Cloud } from "./spec";

export const APP_NAMES = ["airflow", "airbyte", "datahub", "metabase", "grafana", "monitoring"] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface AppNeeds {
  /** Kubernetes namespace the app's release is installed into. */
  readonly namespace: string;
  /** Kubernetes service account the app's own pods run as; its cloud identity trusts it (and `untrusted` where listed). */
  readonly serviceAccount: string;
  /**
   * The service account the app's untrusted code runs under (third-party connectors, user task
   * code): created by the platform with no Kubernetes rights and no automounted API token. The
   * app's cloud identity also trusts it on the clouds in `cloudIdentityOn`, where that code must
   * reach the app's bucket itself; elsewhere it has no cloud identity at all.
   */
  readonly untrusted?: UntrustedAccount;
  /** The app keeps its metadata in PostgreSQL. */
  readonly database: boolean;
  /** What the app keeps in object storage, when it needs a bucket. */
  readonly bucket?: string;
  /**
   * Its chart reaches a bucket on another cloud than the cluster's with federated identity, no
   * stored key (docs/design/cross-cloud.md, with the upstream sources). @default false
   */
  readonly keylessForeignStorage?: boolean;
  /**
   * Databases the app's chart uses on the same server besides its own. The platform creates them,
   * owned by the app's role, with the extensions their schemas need (only an admin may create
   * those, and Azure allows only extensions listed in the server's `azure.extensions`).
   */
  readonly companionDatabases?: readonly CompanionDatabase[];
}

export interface UntrustedAccount {
  readonly serviceAccount: string;
  /** What runs under it, for messages and the README. */
  readonly runs: string;
  /** Clouds on which the untrusted pods write to the app's bucket with the app's cloud identity. */
  readonly cloudIdentityOn: readonly Cloud[];
}

export interface CompanionDatabase {
  readonly name: string;
  readonly extensions: readonly string[];
}

export const APP_CATALOGUE: Readonly<Record<AppName, AppNeeds>> = {
  airflow: {
    namespace: "airflow",
    serviceAccount: "airflow",
    database: true,
    bucket: "task logs",
    // The chart's env, volumes and volumeMounts reach every component and the task-pod template,
    // and each provider's log handler falls back to the SDK's default credentials (WasbHook:
    // DefaultAzureCredential; GCSHook: application default credentials; S3: boto3's chain).
    keylessForeignStorage: true,
    // Task pods upload their own logs to the bucket (remote logging) on every cloud.
    untrusted: { serviceAccount: "airflow-tasks", runs: "task pods (user DAG code)", cloudIdentityOn: ["aws", "azure", "gcp"] },
  },
  airbyte: {
    namespace: "airbyte",
    serviceAccount: "airbyte",
    database: true,
    bucket: "state and logs",
    // Replication and connector pods write logs, state and output to storage: S3 through the
    // identity on AWS; the bundled MinIO with a generated key on Azure and GCP (constructs/apps/airbyte.ts).
    untrusted: { serviceAccount: "airbyte-jobs", runs: "sync, check, discover and spec pods (third-party connectors)", cloudIdentityOn: ["aws"] },
    // Temporal's databases; its advanced-visibility schema creates btree_gin
    // (temporalio/temporal schema/postgresql/v12/visibility/versioned/v1.2/advanced_visibility.sql).
    companionDatabases: [
      { name: "temporal", extensions: [] },
      { name: "temporal_visibility", extensions: ["btree_gin"] },
    ],
  },
  datahub: { namespace: "datahub", serviceAccount: "datahub", database: true },
  metabase: { namespace: "metabase", serviceAccount: "metabase", database: true },
  grafana: { namespace: "grafana", serviceAccount: "grafana", database: true },
  monitoring: { namespace: "monitoring", serviceAccount: "prometheus", database: false },
};

/** The untrusted account of an app, or undefined; with `cloudIdentity` true where the app's identity trusts it on `cloud`. */
export function untrustedAccount(app: AppName, cloud: Cloud): (UntrustedAccount & { readonly namespace: string; readonly cloudIdentity: boolean }) | undefined {
  const { namespace, untrusted } = APP_CATALOGUE[app];
  return untrusted && { ...untrusted, namespace, cloudIdentity: untrusted.cloudIdentityOn.includes(cloud) };
}

/**
 * The PostgreSQL extensions the environment's apps need, sorted: on every server, not only the one
 * an app uses, so a server can take an app's restored dump before the app points at it (stage 3 of
 * a move, README "Moving from one cloud to another in stages").
 */
export function databaseExtensions(apps: readonly { readonly name: AppName }[]): string[] {
  const needed = apps.flatMap((app) => (APP_CATALOGUE[app.name].companionDatabases ?? []).flatMap((companion) => companion.extensions));
  return [...new Set(needed)].sort();
}

/**
 * Platform add-ons that need a cloud identity of their own. `monitoring-secrets` is the identity
 * the monitoring namespace's SecretStore authenticates as: it reads exactly the secrets the spec
 * names (alert channels, metrics links), never a database admin credential. `sso-secrets` is the
 * identity of the `sso` namespace's SecretStore: it reads the SSO client secret alone
 * (constructs/apps/sso.ts). `dags-secrets` is the identity of the airflow namespace's store for
 * the DAG repository's credential alone (constructs/apps/dags.ts): not Airflow's own identity,
 * which task pods (user code) share for their logs.
 */
export const ADDON_NAMES = ["external-secrets", "external-dns", "monitoring-secrets", "sso-secrets", "dags-secrets"] as const;
export type AddonName = (typeof ADDON_NAMES)[number];

/** Anything that runs under its own cloud identity: an app or a platform add-on. */
export type WorkloadName = AppName | AddonName;

/** The Kubernetes service account of every workload; its cloud identity trusts it (see {@link identitySubjects}). */
export const WORKLOAD_ACCOUNTS: Readonly<Record<WorkloadName, { readonly namespace: string; readonly serviceAccount: string }>> = {
  ...APP_CATALOGUE,
  "external-secrets": { namespace: "external-secrets", serviceAccount: "external-secrets" },
  "external-dns": { namespace: "external-dns", serviceAccount: "external-dns" },
  "monitoring-secrets": { namespace: "monitoring", serviceAccount: "monitoring-secrets" },
  "sso-secrets": { namespace: "sso", serviceAccount: "sso-secrets" },
  "dags-secrets": { namespace: "airflow", serviceAccount: "airflow-dags-secrets" },
};

/**
 * The Kubernetes service accounts (`system:serviceaccount:<namespace>:<name>`) a workload's cloud
 * identity trusts on `cloud`: its own, and its app's untrusted account where that needs the
 * identity. Exact names only, never a pattern; every cloud's identity trusts exactly these.
 */
export function identitySubjects(workload: WorkloadName, cloud: Cloud): string[] {
  const { namespace, serviceAccount } = WORKLOAD_ACCOUNTS[workload];
  const untrusted = workload in APP_CATALOGUE ? untrustedAccount(workload as AppName, cloud) : undefined;
  return [serviceAccount, ...(untrusted?.cloudIdentity ? [untrusted.serviceAccount] : [])].map((name) => serviceAccountSubject(namespace, name));
}

/** The subject of a Kubernetes service account's tokens. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}
