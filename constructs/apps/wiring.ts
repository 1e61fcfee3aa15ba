import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { APP_CATALOGUE, WORKLOAD_ACCOUNTS, type AppName, type CompanionDatabase, type WorkloadName } from "../core/apps";
import type { AdminCredentialRefs, ClusterServices, SecretRef, WorkloadBinding } from "../core/interfaces";
import { CLOUD_SECRET_STORE, DATABASE_BOOTSTRAP_NAMESPACE, namespaceLabels, POD_SECURITY_REASON_ANNOTATION } from "./addons";
import { ManifestsRelease, type Manifest } from "./helm";
import { DATABASE_SECRET_KEYS, type AppDatabase, type AppRelease, type GeneratedSecret, type NamespacePodSecurity, type NamespaceRule, type PrivilegedNamespace, type Toleration } from "./types";

const GENERATOR_API = "generators.external-secrets.io/v1alpha1";
/** The External Secrets API group and version (the 2.9.0 CRDs serve v1). */
export const ESO_API = "external-secrets.io/v1";
/** Client for the bootstrap job; its major version works against PostgreSQL 15 to 17 servers. */
export const BOOTSTRAP_IMAGE = "postgres:17.6-alpine";

/**
 * Creates the app's role and database idempotently, then (re)sets the role's password to the
 * generated one. Safe to run any number of times; runs after every install and upgrade.
 * Variables reach psql with -v and are quoted by psql (:'x' literal, :"x" identifier).
 */
const BOOTSTRAP_SQL = [
  "SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app')\\gexec",
  // No app creates databases itself: the platform creates every database an app uses.
  "ALTER ROLE :\"app\" WITH LOGIN NOCREATEDB;",
  // On its own: a statement that fails is written to the server log with its text.
  "ALTER ROLE :\"app\" WITH PASSWORD :'app_password';",
  // Managed PostgreSQL admins are not superusers: membership lets them create a database owned by the role.
  "GRANT :\"app\" TO CURRENT_USER;",
  "SELECT format('CREATE DATABASE %I OWNER %I', :'app', :'app') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app')\\gexec",
  "REVOKE ALL ON DATABASE :\"app\" FROM PUBLIC;",
].join("\n");

/**
 * The app's companion databases (APP_CATALOGUE), created like its own and owned by its role, then
 * each one's extensions, created by the admin inside it. Names are the catalogue's constants.
 */
function companionSql(companions: readonly CompanionDatabase[]): string[] {
  return companions.flatMap(({ name, extensions }) => [
    `SELECT format('CREATE DATABASE %I OWNER %I', '${name}', :'app') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${name}')\\gexec`,
    `REVOKE ALL ON DATABASE ${name} FROM PUBLIC;`,
    ...(extensions.length > 0 ? [`\\connect ${name}`, ...extensions.map((extension) => `CREATE EXTENSION IF NOT EXISTS ${extension};`), "\\connect postgres"] : []),
  ]);
}

function bootstrapScript(app: AppName): string {
  return [
    "set -eu",
    'psql -v ON_ERROR_STOP=1 -v app="$APP_USER" -v app_password="$APP_PASSWORD" <<\'SQL\'',
    BOOTSTRAP_SQL,
    ...companionSql(APP_CATALOGUE[app].companionDatabases ?? []),
    "SQL",
  ].join("\n");
}


export interface AppWiringProps {
  readonly app: AppName;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly binding: WorkloadBinding;
  /**
   * The account of the app's untrusted pods (APP_CATALOGUE `untrusted`), with the cloud identity's
   * binding where it has one. No Role names it, and its token is not automounted.
   */
  readonly untrustedAccount?: { readonly name: string; readonly binding: WorkloadBinding };
  /** The app's database, and where the admin credential of its server is kept. */
  readonly database?: AppDatabase & { readonly admin: { readonly username: SecretRef | string; readonly password: SecretRef } };
  readonly generatedSecrets: readonly GeneratedSecret[];
  /** The releases' own wiring objects (AppRelease.wiring). @default none */
  readonly manifests?: readonly Manifest[];
  readonly namespaceRules: readonly NamespaceRule[];
  readonly privilegedNamespaces: readonly PrivilegedNamespace[];
  /** Less than `restricted` for the app's namespace, with the reason. @default restricted */
  readonly podSecurity?: NamespacePodSecurity;
  readonly dependsOn: ITerraformDependable[];
  /** Tolerations of the spot taint: the bootstrap job is batch work and may run on spot nodes. */
  readonly spotTolerations: readonly Toleration[];
  /** Objects the app's namespace needs besides these (the SSO client secret's handover, constructs/apps/sso.ts). @default none */
  readonly extraManifests?: readonly Manifest[];
}

/**
 * The level an app's namespace enforces: the weakest any of its releases needs (each with the
 * pod and reason), or `restricted` (undefined) when none needs less.
 */
export function weakestPodSecurity(releases: readonly AppRelease[]): NamespacePodSecurity | undefined {
  const needs = releases.flatMap((release) => (release.podSecurity ? [release.podSecurity] : []));
  if (needs.length === 0) return undefined;
  const level = needs.some((need) => need.level === "privileged") ? "privileged" : "baseline";
  return { level, reason: needs.map((need) => need.reason).join(" ") };
}

/**
 * Everything an app's chart expects to exist before it installs, without a credential in
 * Terraform: its namespace, its service account bound to its cloud identity, and its secrets.
 *
 * Database credentials: a Password generator in the bootstrap namespace creates the app's
 * password once; a bootstrap job there (with the admin credential synced from the cloud's
 * secret store, which only that namespace may read) creates the role and database. The app's
 * namespace receives only its own credential, through a SecretStore whose reader may get that
 * one Secret by name.
 */
export class AppWiring extends Construct {
  readonly namespace: NamespaceV1;
  readonly ready: ITerraformDependable[];
  readonly manifests: readonly Manifest[];

  constructor(scope: Construct, id: string, props: AppWiringProps) {
    super(scope, id);
    const { app, namespace } = props;
    const podSecurity = props.podSecurity;
    this.namespace = new NamespaceV1(this, "namespace", {
      metadata: {
        name: namespace,
        labels: namespaceLabels(podSecurity?.level),
        ...(podSecurity ? { annotations: { [POD_SECURITY_REASON_ANNOTATION]: podSecurity.reason } } : {}),
      },
    });
    const account = new ServiceAccountV1(this, "service-account", {
      metadata: {
        name: props.serviceAccount,
        namespace,
        annotations: { ...props.binding.serviceAccountAnnotations },
        labels: { ...props.binding.podLabels },
      },
      dependsOn: [this.namespace],
    });
    const untrusted = props.untrustedAccount;
    const untrustedAccount =
      untrusted &&
      new ServiceAccountV1(this, "untrusted-service-account", {
        metadata: {
          name: untrusted.name,
          namespace,
          annotations: { ...untrusted.binding.serviceAccountAnnotations },
          labels: { ...untrusted.binding.podLabels },
        },
        // Connector and task code never calls the Kubernetes API; the cloud identity's token comes
        // from the identity webhook's own projected volume (EKS, AKS) or GKE's metadata server.
        automountServiceAccountToken: false,
        dependsOn: [this.namespace],
      });
    const accounts = untrustedAccount ? [account, untrustedAccount] : [account];
    this.manifests = [
      ...props.generatedSecrets.flatMap((secret) => generatedSecretManifests(namespace, secret)),
      ...(props.manifests ?? []),
      ...(props.database ? databaseManifests(app, namespace, props.database, props.spotTolerations) : []),
      ...(props.namespaceRules.length > 0 ? namespaceRoleManifests(app, namespace, props.serviceAccount, props.namespaceRules) : []),
      ...(props.extraManifests ?? []),
    ];
    const privileged = props.privilegedNamespaces.map(
      (extra) =>
        new NamespaceV1(this, `namespace-${extra.name}`, {
          metadata: { name: extra.name, labels: namespaceLabels(extra.podSecurity), annotations: { [POD_SECURITY_REASON_ANNOTATION]: extra.reason } },
        }),
    );
    // Without manifests of its own, the app still waits for what the wiring would have waited for.
    this.ready = this.manifests.length > 0 ? [...accounts, ...privileged] : [...accounts, ...privileged, ...props.dependsOn];
    if (this.manifests.length > 0) {
      const wiring = new ManifestsRelease(this, "wiring", {
        name: `${app}-wiring`,
        namespace,
        manifests: this.manifests,
        dependsOn: [...props.dependsOn, this.namespace],
      });
      this.ready.push(wiring.release);
    }
  }
}

function passwordGenerator(name: string, namespace: string, length: number, encoding?: string): Manifest {
  return {
    apiVersion: GENERATOR_API,
    kind: "Password",
    metadata: { name, namespace },
    // Letters and digits only: the password sits inside connection URLs without escaping.
    spec: { length, digits: Math.floor(length / 4), symbols: 0, noUpper: false, allowRepeat: true, ...(encoding ? { encoding } : {}) },
  };
}

/**
 * Name of the Password generator behind one key of a generated Secret. Secret keys may hold `_`
 * and capitals (`system_client_secret`, `AWS_ACCESS_KEY_ID`); object names may not: they must be
 * DNS-1123 subdomains, and the ExternalSecret CRD enforces the same pattern on `generatorRef.name`.
 */
function generatorName(secret: GeneratedSecret, key: string): string {
  return `${secret.name}-${key.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
}

/** One Password generator per key, joined into one Secret that is created once and never rotated by a sync. */
export function generatedSecretManifests(namespace: string, secret: GeneratedSecret): Manifest[] {
  const keys = Object.keys(secret.keys);
  const names = keys.map((key) => generatorName(secret, key));
  const clash = names.find((name, index) => names.indexOf(name) !== index);
  if (clash !== undefined) throw new Error(`generated secret ${secret.name}: two keys map to the generator name ${clash}; rename one key`);
  const generators = Object.entries(secret.keys).map(([key, settings]) => passwordGenerator(generatorName(secret, key), namespace, settings.length, settings.encoding));
  return [
    ...generators,
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: secret.name, namespace },
      spec: {
        refreshPolicy: "CreatedOnce",
        target: {
          name: secret.name,
          creationPolicy: "Owner",
          deletionPolicy: "Retain",
          // With derived keys, the generated ones are templated through unchanged beside them.
          ...(secret.derived ? { template: { engineVersion: "v2", data: { ...Object.fromEntries(keys.map((key) => [key, `{{ .${key} }}`])), ...secret.derived } } } : {}),
        },
        dataFrom: keys.map((key) => ({
          sourceRef: { generatorRef: { apiVersion: GENERATOR_API, kind: "Password", name: generatorName(secret, key) } },
          rewrite: [{ regexp: { source: "^password$", target: key } }],
        })),
      },
    },
  ];
}

/** The Role a chart would have created for its own service account, bound to the platform's. */
function namespaceRoleManifests(app: AppName, namespace: string, serviceAccount: string, rules: readonly NamespaceRule[]): Manifest[] {
  const name = `${app}-workloads`;
  return [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name, namespace }, rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
    },
  ];
}

function remoteRef(ref: SecretRef): Record<string, string> {
  return ref.property === undefined ? { key: ref.key } : { key: ref.key, property: ref.property };
}


/**
 * A job in the bootstrap namespace that runs `script` (psql) as the server's administrator, and
 * the ExternalSecret that brings the administrator credential there from the cloud's secret store
 * (only that namespace may read through the ClusterSecretStore). Shared by the apps' database
 * bootstrap and the monitoring role of each server (observability/postgres.ts).
 */
export interface DatabaseBootstrap {
  /** Names the objects: `<name>-admin` (the admin Secret) and `<name>-database-bootstrap` (the Job). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Where the server's administrator credential is kept (`ClusterServices.adminCredentials`). */
  readonly admin: AdminCredentialRefs;
  /** psql script, run with `sh -c`; variables reach it through `env`. */
  readonly script: string;
  /** Environment of the job besides the admin connection (PG* variables). */
  readonly env: readonly Record<string, unknown>[];
  readonly tolerations: readonly Toleration[];
}

export function databaseBootstrapManifests(job: DatabaseBootstrap): Manifest[] {
  const adminSecret = `${job.name}-admin`;
  const adminData = [
    ...(typeof job.admin.username === "string" ? [] : [{ secretKey: "username", remoteRef: remoteRef(job.admin.username) }]),
    { secretKey: "password", remoteRef: remoteRef(job.admin.password) },
  ];
  return [
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: adminSecret, namespace: DATABASE_BOOTSTRAP_NAMESPACE },
      spec: {
        refreshInterval: "1h",
        secretStoreRef: { kind: "ClusterSecretStore", name: job.admin.store ?? CLOUD_SECRET_STORE },
        target: {
          name: adminSecret,
          creationPolicy: "Owner",
          ...(typeof job.admin.username === "string" ? { template: { mergePolicy: "Merge", data: { username: job.admin.username } } } : {}),
        },
        data: adminData,
      },
    },
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: `${job.name}-database-bootstrap`,
        namespace: DATABASE_BOOTSTRAP_NAMESPACE,
        annotations: { "helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation" },
      },
      spec: {
        backoffLimit: 10,
        activeDeadlineSeconds: 900,
        ttlSecondsAfterFinished: 86400,
        template: {
          spec: {
            restartPolicy: "OnFailure",
            tolerations: job.tolerations.map((toleration) => ({ ...toleration })),
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "bootstrap",
                image: BOOTSTRAP_IMAGE,
                command: ["/bin/sh", "-c", job.script],
                env: [
                  { name: "PGHOST", value: job.host },
                  { name: "PGPORT", value: String(job.port) },
                  { name: "PGDATABASE", value: "postgres" },
                  { name: "PGSSLMODE", value: "require" },
                  { name: "PGUSER", valueFrom: { secretKeyRef: { name: adminSecret, key: "username" } } },
                  { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: adminSecret, key: "password" } } },
                  ...job.env,
                ],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
              },
            ],
          },
        },
      },
    },
  ];
}

/**
 * A role's credential, generated once in the bootstrap namespace (a Password generator and an
 * ExternalSecret that is created once and never rotated by a sync), with `data` rendered from
 * the template (`{{ .password }}` is the generated password).
 */
export function generatedCredentialManifests(secretName: string, data: Readonly<Record<string, string>>): Manifest[] {
  return [
    passwordGenerator(`${secretName}-password`, DATABASE_BOOTSTRAP_NAMESPACE, 32),
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: secretName, namespace: DATABASE_BOOTSTRAP_NAMESPACE },
      spec: {
        refreshPolicy: "CreatedOnce",
        target: { name: secretName, creationPolicy: "Owner", deletionPolicy: "Retain", template: { data: { ...data } } },
        dataFrom: [{ sourceRef: { generatorRef: { apiVersion: GENERATOR_API, kind: "Password", name: `${secretName}-password` } } }],
      },
    },
  ];
}

/**
 * A SecretStore in `namespace` that reads `source` as a service account of its own, which may
 * `get` exactly `secretNames` there (External Secrets' Kubernetes provider).
 */
export function secretReaderManifests(namespace: string, reader: string, store: string, secretNames: readonly string[], source: string): Manifest[] {
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: reader, namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: reader, namespace: source },
      rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [...secretNames], verbs: ["get"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: reader, namespace: source },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: reader },
      subjects: [{ kind: "ServiceAccount", name: reader, namespace }],
    },
    {
      apiVersion: ESO_API,
      kind: "SecretStore",
      metadata: { name: store, namespace },
      spec: {
        provider: {
          kubernetes: {
            remoteNamespace: source,
            server: { caProvider: { type: "ConfigMap", name: "kube-root-ca.crt", key: "ca.crt" } },
            auth: { serviceAccount: { name: reader } },
          },
        },
      },
    },
  ];
}

/**
 * Hands credentials kept in the bootstrap namespace (or `source`) to one other namespace: a
 * service account there that may get exactly those Secrets by name, a SecretStore reading the
 * source namespace as that account, and one ExternalSecret per credential, copying it, or
 * rendering `templates[name]` from its keys (`{{ .password }}`) at every sync.
 */
export function credentialHandoverManifests(
  namespace: string,
  reader: string,
  store: string,
  secretNames: readonly string[],
  source: string = DATABASE_BOOTSTRAP_NAMESPACE,
  templates: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Manifest[] {
  return [
    ...secretReaderManifests(namespace, reader, store, secretNames, source),
    ...secretNames.map((secretName) => ({
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: secretName, namespace },
      spec: {
        refreshInterval: "1h",
        secretStoreRef: { kind: "SecretStore", name: store },
        target: { name: secretName, creationPolicy: "Owner", ...(templates[secretName] === undefined ? {} : { template: { data: { ...templates[secretName] } } }) },
        dataFrom: [{ extract: { key: secretName } }],
      },
    })),
  ];
}

function databaseManifests(app: AppName, namespace: string, db: NonNullable<AppWiringProps["database"]>, tolerations: readonly Toleration[]): Manifest[] {
  const address = `${db.host}:${db.port}/${db.name}?sslmode=require`;
  // The generated password is kept in the bootstrap namespace, created once; the rest is rendered
  // in the app's namespace at every sync, so a database that moved (a new host) reaches the app's
  // Secret with the password it had (pods that read it at start still need a restart: the gate
  // says so). A Secret created before this kept its other keys, which nothing reads any more (a
  // CreatedOnce Secret is never written again).
  const [generator, credential] = generatedCredentialManifests(db.secretName, { [DATABASE_SECRET_KEYS.password]: "{{ .password }}" });
  const [adminSecret, job] = databaseBootstrapManifests({
    name: app,
    host: db.host,
    port: db.port,
    admin: db.admin,
    script: bootstrapScript(app),
    env: [
      { name: "APP_USER", value: db.user },
      { name: "APP_PASSWORD", valueFrom: { secretKeyRef: { name: db.secretName, key: DATABASE_SECRET_KEYS.password } } },
    ],
    tolerations,
  });
  // The app's namespace may read exactly its own credential from the bootstrap namespace.
  const rendered = {
    [DATABASE_SECRET_KEYS.username]: db.user,
    [DATABASE_SECRET_KEYS.password]: "{{ .password }}",
    [DATABASE_SECRET_KEYS.connection]: `postgresql://${db.user}:{{ .password }}@${address}`,
    [DATABASE_SECRET_KEYS.jdbcUrl]: `jdbc:postgresql://${address}`,
  };
  return [generator, credential, adminSecret, job, ...credentialHandoverManifests(namespace, `${app}-credentials-reader`, "database-credentials", [db.secretName], undefined, { [db.secretName]: rendered })];
}

/**
 * The ServiceAccount of a platform workload that reads the cloud secret store (its cloud identity
 * bound through the account's annotations and labels) and the namespaced SecretStore that
 * authenticates as it, in the workload's namespace (`WORKLOAD_ACCOUNTS`).
 */
export function workloadSecretStoreManifests(services: ClusterServices, workload: WorkloadName, storeName: string): Manifest[] {
  const { namespace, serviceAccount } = WORKLOAD_ACCOUNTS[workload];
  const binding = services.workloadBinding(workload);
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: serviceAccount, namespace, annotations: { ...binding.serviceAccountAnnotations }, labels: { ...binding.podLabels } },
      // No pod runs as it: External Secrets requests short-lived tokens for it (TokenRequest).
      automountServiceAccountToken: false,
    },
    { apiVersion: ESO_API, kind: "SecretStore", metadata: { name: storeName, namespace }, spec: { provider: services.secretStoreProvider(serviceAccount) } },
  ];
}

/**
 * A workload's service account and SecretStore (`workloadSecretStoreManifests`, the store named
 * after the account) and one ExternalSecret through it, writing the Secret `name` from `data`.
 */
export function workloadExternalSecretManifests(services: ClusterServices, workload: WorkloadName, secret: { name: string; refreshInterval: string; data: readonly unknown[] }): Manifest[] {
  const { namespace, serviceAccount } = WORKLOAD_ACCOUNTS[workload];
  return [
    ...workloadSecretStoreManifests(services, workload, serviceAccount),
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: secret.name, namespace },
      spec: {
        refreshInterval: secret.refreshInterval,
        secretStoreRef: { kind: "SecretStore", name: serviceAccount },
        target: { name: secret.name, creationPolicy: "Owner", deletionPolicy: "Retain" },
        data: secret.data,
      },
    },
  ];
}
