/**
 * Metabase, its application database on the environment's managed PostgreSQL.
 */
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease, type AppRenderer, type ChartRef, type GeneratedSecret, type Resources } from "./types";
import { imageValues } from "./dags";
import { chartIngress, hostListIngress, identityPodLabels, platformServiceAccount, required, restrictedContainerSecurityContext, restrictedPodSecurityContext, spotTolerations } from "./common";

/** pmint93/metabase 2.26.0 (Metabase v0.59.6): the community chart; Metabase publishes none. */
export const METABASE_CHART: ChartRef = {
  repository: "https://pmint93.github.io/helm-charts",
  chart: "metabase",
  version: "2.26.0",
};

/** Helm release name. */
export const METABASE_RELEASE = "metabase";

/**
 * Secret generated in the cluster with `MB_ENCRYPTION_SECRET_KEY`, which encrypts the
 * connection details of the databases users add. The chart can read that key only from the
 * database Secret (`database.existingSecretEncryptionKeyKey`), which the platform syncs with fixed
 * keys, so the pod gets it through `extraEnv` from this secret instead. Never change it once set:
 * stored connection details could not be decrypted.
 */
export const METABASE_SECRET: GeneratedSecret = {
  name: "metabase-secrets",
  keys: { "encryption-key": { length: 32, encoding: "hex" } },
};

/** Base resources (size `small`): Metabase is a JVM app; 2 GiB is its documented comfortable minimum. */
const BASE_RESOURCES: Resources = { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } };

/** The user the Metabase image's entrypoint would switch to (run_metabase.sh, MUID and MGID default to 2000). */
const METABASE_UID = 2000;

/** Metabase chart values. */
export const renderMetabase: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const db = required(ctx.database, `metabase: no database in the context of environment "${ctx.env.name}"; Metabase keeps its state in PostgreSQL`);
  const ingress = ctx.ingress;
  const spec = ctx.env.apps.find((app) => app.name === ctx.app);
  const values: Record<string, unknown> = {
    /** Metabase instances share state through the database (Quartz jobs are clustered there). */
    replicaCount: ctx.replicas,
    pdb: { create: ctx.disruptionBudgets, minAvailable: 1 },
    resources: ctx.resources(BASE_RESOURCES),
    /** The JVM default heap is a quarter of the container's memory; Metabase needs most of it. */
    javaOpts: "-XX:MaxRAMPercentage=75.0",
    podLabels: identityPodLabels(ctx),
    /** Stateless (state is in PostgreSQL): may run on spot nodes. */
    tolerations: spotTolerations(ctx),
    serviceAccount: platformServiceAccount(ctx),
    /**
     * Pod Security `restricted`. The image's entrypoint runs Metabase straight away when started
     * as a non-root user and only creates and switches to `metabase` (2000:2000) when started as
     * root (metabase/metabase bin/docker/run_metabase.sh), so the pod starts as that user. Chart
     * 2.26.0 renders these as the pod's and the container's security context
     * (templates/deployment.yaml L325-327, L242-244).
     */
    podSecurityContext: restrictedPodSecurityContext(METABASE_UID),
    securityContext: restrictedContainerSecurityContext(),
    /** Metabase never calls the Kubernetes API. */
    automountServiceAccountToken: false,
    service: { type: "ClusterIP" },
    database: {
      type: "postgres",
      /**
       * Everything comes from the platform's database Secret: the JDBC URL (host, port,
       * database, `sslmode=require`, no credentials) as `MB_DB_CONNECTION_URI`, and the user and
       * password as `MB_DB_USER` / `MB_DB_PASS` (Metabase >= 0.43 combines them). The chart then
       * ignores `host`, `port` and `dbname`, which could not ask for TLS.
       */
      existingSecret: db.secretName,
      existingSecretConnectionURIKey: DATABASE_SECRET_KEYS.jdbcUrl,
      existingSecretUsernameKey: DATABASE_SECRET_KEYS.username,
      existingSecretPasswordKey: DATABASE_SECRET_KEYS.password,
    },
    extraEnv: [
      { name: "MB_ENCRYPTION_SECRET_KEY", valueFrom: { secretKeyRef: { name: METABASE_SECRET.name, key: "encryption-key" } } },
    ],
    ...(ingress ? { siteUrl: `https://${ingress.host}` } : {}),
    /** With SSO the proxy in the sso namespace serves the host (constructs/apps/sso.ts). */
    ingress: hostListIngress(chartIngress(ctx), "className"),
    /**
     * The team's own image (chart 2.26.0 templates/deployment.yaml: `image.repository:image.tag`).
     * It must keep the upstream image's entrypoint and user rules (the pod starts as 2000).
     */
    ...(spec?.image ? { image: imageValues(spec.image) } : {}),
  };
  return [{ name: METABASE_RELEASE, chart: METABASE_CHART, contract: "metabase", values, generatedSecrets: [METABASE_SECRET] }];
};
