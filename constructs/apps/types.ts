/**
 * What an app renderer gets and returns. Renderers are pure functions from neutral wiring to a
 * Helm release description: they never import a cloud folder and never see a credential.
 */
import type { AppName } from "../core/apps";
import type { Cloud, Environment, MetricsHubLink } from "../core/spec";
import type { Size } from "../core/sizes";

/** A Helm chart, pinned. */
export interface ChartRef {
  readonly repository: string;
  readonly chart: string;
  readonly version: string;
}

/** Keys of the database Secret the platform syncs into the app's namespace (External Secrets). */
export const DATABASE_SECRET_KEYS = {
  username: "username",
  password: "password",
  /** `postgresql://user:password@host:5432/db?sslmode=require` (the password is URL-safe). */
  connection: "connection",
  /** `jdbc:postgresql://host:5432/db?sslmode=require` (no credentials). */
  jdbcUrl: "jdbc-url",
} as const;

/** The app's own database and role on the environment's managed PostgreSQL. */
export interface AppDatabase {
  readonly host: string;
  readonly port: number;
  /** Database name; the role has the same name. */
  readonly name: string;
  readonly user: string;
  /** Kubernetes Secret in the app's namespace with the `DATABASE_SECRET_KEYS`. */
  readonly secretName: string;
}

/** The app's bucket, as each cloud's SDKs address it. */
export interface AppBucket {
  readonly cloud: Cloud;
  /** `s3://name`, `abfss://container@account.dfs.core.windows.net` or `gs://name`. */
  readonly url: string;
  /** S3 or GCS bucket name; on Azure the container name. */
  readonly name: string;
  /** AWS region (S3) or GCP region. */
  readonly region?: string;
  /** Azure storage account name. */
  readonly storageAccount?: string;
}

/**
 * What an app's pods need to reach a bucket on another cloud than the cluster's with federated
 * identity (docs/design/cross-cloud.md): the variables the cloud's SDKs read, and a projected
 * service-account token with that cloud's audience, which the cluster's own webhooks add only for
 * their own cloud.
 */
export interface PodCredentials {
  readonly env: Readonly<Record<string, string>>;
  readonly token: { readonly audience: string; readonly mountPath: string; readonly fileName: string; readonly expirationSeconds: number };
  /**
   * Files beside the token, by name, where the cloud's SDK reads its configuration from one (GCP's
   * `external_account` credential configuration, which names the token file). No secret in them:
   * they come from a ConfigMap.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** TLS ingress for the app's UI: cert-manager issues the certificate for `host`. */
export interface AppIngress {
  readonly host: string;
  readonly className: string;
  readonly tlsSecretName: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Kubernetes resource requests and limits. */
export interface Resources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu?: string; readonly memory: string };
}

/** A pod's toleration of a node taint. */
export interface Toleration {
  readonly key: string;
  readonly operator: "Equal";
  readonly value: string;
  readonly effect: string;
}

/** Everything a renderer may use. */
export interface AppContext {
  readonly env: Environment;
  readonly app: AppName;
  readonly size: Size;
  readonly namespace: string;
  /**
   * The service account every pod of the release must run as. The platform creates it with the
   * cloud identity's annotations, so charts must set `create: false` and use this name.
   */
  readonly serviceAccount: string;
  /** Labels pods need for the cloud identity (Azure: `azure.workload.identity/use`). */
  readonly podLabels: Readonly<Record<string, string>>;
  /**
   * The service account the app's untrusted pods (connectors, task code) must run as
   * (APP_CATALOGUE `untrusted`): the platform creates it with no Kubernetes rights and no
   * automounted token, so charts must never bind a Role to it. `podLabels` are what those pods
   * need for the cloud identity, empty where the account has none.
   */
  readonly untrustedAccount?: { readonly serviceAccount: string; readonly podLabels: Readonly<Record<string, string>> };
  readonly database?: AppDatabase;
  readonly bucket?: AppBucket;
  /** Set when the bucket lives on another cloud than the cluster's. */
  readonly bucketCredentials?: PodCredentials;
  readonly ingress?: AppIngress;
  /** At least 2 in production (stateless components), 1 elsewhere. */
  readonly replicas: number;
  /** Whether to render PodDisruptionBudgets (production). */
  readonly disruptionBudgets: boolean;
  /** Scales a component's base resources (given for size `small`) by the app's size. */
  readonly resources: (base: Resources) => Resources;
  /**
   * Tolerations of the cluster's spot taint. Placement is one rule on every cloud: stateless and
   * batch components get these and may run on spot nodes; stateful ones (volumes, quorums, a
   * single scheduler) get none and so run on on-demand nodes only.
   */
  readonly spotTolerations: readonly Toleration[];
  /**
   * The environment's metrics links (`metrics` in the spec, resolved among all environments):
   * the hub it remote-writes to, the senders it receives from. Only the monitoring renderer reads
   * it. @default no link
   */
  readonly metricsLinks?: { readonly hub?: MetricsHubLink; readonly senders: readonly Environment[] };
  /**
   * Single sign-on of the app's UI (`sso` in the spec, and the app has a host): `oidc` when the
   * app signs users in itself (its namespace holds the client secret), `proxy` when an
   * oauth2-proxy in the `sso` namespace serves the host and the app's own chart renders no
   * Ingress (constructs/apps/sso.ts). @default none: the app's own login
   */
  readonly sso?: AppSso;
}

/** How one app's UI signs users in through the environment's OIDC provider. */
export type AppSso =
  | {
      readonly mode: "oidc";
      readonly settings: SsoSettings;
      /** Secret in the app's namespace holding the client secret, and its key. */
      readonly clientSecret: { readonly name: string; readonly key: string };
    }
  | { readonly mode: "proxy"; readonly settings: SsoSettings };

/** The spec's `sso`, with the endpoints resolved. */
export interface SsoSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly allowedGroups: readonly string[];
  readonly allowedDomains: readonly string[];
  readonly adminGroup: string;
  readonly groupsClaim: string;
  readonly endpoints: { readonly authorization: string; readonly token: string; readonly userinfo: string };
}

/**
 * A secret the platform generates inside the cluster (External Secrets Password generator,
 * created once, never rotated by a sync), for keys a chart must not generate itself.
 */
export interface GeneratedSecret {
  readonly name: string;
  /** Secret key → generator settings. */
  readonly keys: Readonly<Record<string, { readonly length: number; readonly encoding?: "raw" | "base64" | "base64url" | "hex" }>>;
  /**
   * More keys rendered from the generated ones when the Secret is created (External Secrets
   * template engine v2, where `{{ .key }}` is a generated value and sprig functions such as
   * `bcrypt` apply: external-secrets v2.9.0 runtime/template/v2/sprig/functions.go). The
   * generated keys stay in the Secret beside them. @default none
   */
  readonly derived?: Readonly<Record<string, string>>;
}

/** A Kubernetes RBAC rule, granted to the app's service account in its own namespace. */
export interface NamespaceRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** A Pod Security Standards level, as a namespace enforces it. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * A namespace a release puts pods in besides the app's own, because those pods need a Pod
 * Security level the app's namespace does not allow. The reason is kept on the namespace
 * (annotation `platform/pod-security-reason`).
 */
export interface PrivilegedNamespace {
  readonly name: string;
  readonly podSecurity: PodSecurityLevel;
  readonly reason: string;
}

/**
 * The Pod Security level an app's own namespace enforces when a pod of the release cannot meet
 * `restricted`, and which pod and why (annotation `platform/pod-security-reason`). Without it the
 * namespace enforces `restricted`.
 */
export interface NamespacePodSecurity {
  readonly level: Exclude<PodSecurityLevel, "restricted">;
  readonly reason: string;
}
/** A Kubernetes object, as the project's manifests chart applies it. */
export type AppManifest = Record<string, unknown> & { readonly apiVersion: string; readonly kind: string; readonly metadata: Record<string, unknown> };

/** A rendered Helm release. */
export interface AppRelease {
  /** Helm release name, unique in the namespace. */
  readonly name: string;
  /** Namespace of the release when it is not the app's own (created by the wiring, Pod Security `restricted`). @default the app's */
  readonly namespace?: string;
  readonly chart: ChartRef;
  /** Folder of the chart's contract under shared/charts, for the values checks in tests. */
  readonly contract: string;
  readonly values: Record<string, unknown>;
  readonly generatedSecrets: readonly GeneratedSecret[];
  /** What the app's service account may do in its namespace (charts whose Role needs `create: true`). */
  readonly namespaceRules?: readonly NamespaceRule[];
  /** Namespaces the release places pods in besides the app's own. */
  readonly privilegedNamespaces?: readonly PrivilegedNamespace[];
  /** Less than `restricted` for the app's namespace, with the reason. @default restricted */
  readonly podSecurity?: NamespacePodSecurity;
  /**
   * Objects the app's wiring release applies before any of the app's releases (their CRDs come
   * with the platform add-ons: External Secrets, cert-manager). @default none
   */
  readonly wiring?: readonly AppManifest[];
  /**
   * Custom resources of this release's operator, applied (manifests chart, release
   * `<name>-resources` in the app's namespace) after it installs and before the next release. @default none
   */
  readonly resources?: readonly AppManifest[];
}

/** Renders an app's releases, in install order (e.g. DataHub's prerequisites first). */
export type AppRenderer = (ctx: AppContext) => readonly AppRelease[];
