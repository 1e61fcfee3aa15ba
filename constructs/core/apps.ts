/**
 * The apps the platform knows how to run, and what each needs from the environment. The Helm
 * releases live in `constructs/apps/`; this catalogue is what the spec and the cloud identity
 * layer need to know about them.
 */
export const APP_NAMES = ["airflow", "airbyte", "datahub", "metabase", "grafana", "monitoring"] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface AppNeeds {
  /** Kubernetes namespace the app's release is installed into. */
  readonly namespace: string;
  /** Kubernetes service account the app's pods run as; its cloud identity is bound to it alone. */
  readonly serviceAccount: string;
  /** The app keeps its metadata in PostgreSQL. */
  readonly database: boolean;
  /** What the app keeps in object storage, when it needs a bucket. */
  readonly bucket?: string;
  /**
   * Databases the app's chart uses on the same server besides its own. The platform creates them,
   * owned by the app's role, with the extensions their schemas need (only an admin may create
   * those, and Azure allows only extensions listed in the server's `azure.extensions`).
   */
  readonly companionDatabases?: readonly CompanionDatabase[];
}

export interface CompanionDatabase {
  readonly name: string;
  readonly extensions: readonly string[];
}

export const APP_CATALOGUE: Readonly<Record<AppName, AppNeeds>> = {
  airflow: { namespace: "airflow", serviceAccount: "airflow", database: true, bucket: "task logs" },
  airbyte: {
    namespace: "airbyte",
    serviceAccount: "airbyte",
    database: true,
    bucket: "state and logs",
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

/** The PostgreSQL extensions the apps on one database need, sorted. */
export function databaseExtensions(apps: readonly { readonly name: AppName; readonly database?: string }[], database: string): string[] {
  const needed = apps.filter((app) => app.database === database).flatMap((app) => (APP_CATALOGUE[app.name].companionDatabases ?? []).flatMap((companion) => companion.extensions));
  return [...new Set(needed)].sort();
}

/**
 * Platform add-ons that need a cloud identity of their own. `monitoring-secrets` is the identity
 * the monitoring namespace's SecretStore authenticates as: it reads exactly the secrets the spec
 * names (alert channels, metrics links), never a database admin credential. `sso-secrets` is the
 * identity of the `sso` namespace's SecretStore: it reads the SSO client secret alone
 * (constructs/apps/sso.ts).
 */
export const ADDON_NAMES = ["external-secrets", "external-dns", "monitoring-secrets", "sso-secrets"] as const;
export type AddonName = (typeof ADDON_NAMES)[number];

/** Anything that runs under its own cloud identity: an app or a platform add-on. */
export type WorkloadName = AppName | AddonName;

/** The Kubernetes service account of every workload; its cloud identity trusts it alone. */
export const WORKLOAD_ACCOUNTS: Readonly<Record<WorkloadName, { readonly namespace: string; readonly serviceAccount: string }>> = {
  ...APP_CATALOGUE,
  "external-secrets": { namespace: "external-secrets", serviceAccount: "external-secrets" },
  "external-dns": { namespace: "external-dns", serviceAccount: "external-dns" },
  "monitoring-secrets": { namespace: "monitoring", serviceAccount: "monitoring-secrets" },
  "sso-secrets": { namespace: "sso", serviceAccount: "sso-secrets" },
};
