/**
 * Credentials the user keeps in the environment's cloud secret store (Slack webhook, SMTP
 * password, heartbeat URL, metrics-link passwords), synced into the monitoring namespace.
 *
 * Least privilege, on every cloud:
 * - the cluster-wide store `cloud-secrets` keeps serving the bootstrap namespace alone, through
 *   External Secrets' own identity, which reads the database admin secrets and nothing else;
 * - the monitoring namespace gets a namespaced SecretStore (no other namespace can reference it)
 *   that authenticates as the service account `monitoring/monitoring-secrets`, whose cloud
 *   identity (`monitoring-secrets`, created by `<env>-infra` when the spec names a secret) may read
 *   exactly the secrets `specSecretNames(env)` lists: IAM on `<name>-??????` (AWS), "Key Vault
 *   Secrets User" on each secret (Azure), `secretAccessor` conditioned on the names (GCP);
 * - `cloudSecretManifests` refuses a cloud secret the spec does not name, so nothing here asks
 *   the store for a secret its identity could not (and must not) read.
 * The values live only in the cloud and in the Kubernetes Secret: never in the spec, the
 * synthesized JSON or the Terraform state (the ExternalSecret names the secret, not its value).
 */
import { WORKLOAD_ACCOUNTS } from "../../core/apps";
import { specSecretNames } from "../../core/spec";
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";

const ESO_API = "external-secrets.io/v1";
/** The namespaced SecretStore of the monitoring namespace. */
export const MONITORING_SECRET_STORE = "monitoring-secrets";
/** The Kubernetes service account that store authenticates as (its cloud identity reads the named secrets). */
export const MONITORING_SECRETS_ACCOUNT = WORKLOAD_ACCOUNTS["monitoring-secrets"];
/** How often External Secrets reads the cloud secret again: a rotated credential arrives within this. */
export const USER_SECRET_REFRESH = "15m";

/** The names of the cloud secrets the spec gives, which the monitoring identity may read. */
export function userSecretNames(ctx: ObservabilityContext): string[] {
  return [...new Set(specSecretNames(ctx.env).map((secret) => secret.name))];
}

/**
 * The ServiceAccount and the SecretStore of the monitoring namespace, when the spec names a
 * secret (otherwise there is no cloud identity behind them, and nothing to sync). Included once
 * per environment by the observability layer.
 */
export function secretStoreManifests(ctx: ObservabilityContext): Manifest[] {
  if (userSecretNames(ctx).length === 0) return [];
  if (MONITORING_SECRETS_ACCOUNT.namespace !== ctx.namespace) throw new Error(`the monitoring-secrets identity is bound to namespace ${MONITORING_SECRETS_ACCOUNT.namespace}, not ${ctx.namespace}`);
  const binding = ctx.services.workloadBinding("monitoring-secrets");
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: MONITORING_SECRETS_ACCOUNT.serviceAccount,
        namespace: ctx.namespace,
        annotations: { ...binding.serviceAccountAnnotations },
        labels: { ...binding.podLabels },
      },
      // No pod runs as it: External Secrets requests short-lived tokens for it (TokenRequest).
      automountServiceAccountToken: false,
    },
    {
      apiVersion: ESO_API,
      kind: "SecretStore",
      metadata: { name: MONITORING_SECRET_STORE, namespace: ctx.namespace },
      spec: { provider: ctx.services.secretStoreProvider(MONITORING_SECRETS_ACCOUNT.serviceAccount) },
    },
  ];
}

export interface CloudSecretProps {
  /** Name of the Kubernetes Secret to create in the monitoring namespace. */
  readonly name: string;
  /** Key of the Kubernetes Secret -> name of the cloud secret (one the spec names) whose value it holds. */
  readonly keys: Readonly<Record<string, string>>;
  /**
   * External Secrets target template (`spec.target.template`), to shape the Secret from the
   * values (`{{ .<key> }}`), e.g. an htpasswd line. @default the keys as they are
   */
  readonly template?: Record<string, unknown>;
  /** Labels of the created Secret (e.g. for a component that selects its secrets by label). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An ExternalSecret that syncs user-created cloud secrets into a Secret of the monitoring
 * namespace through its SecretStore (see `secretStoreManifests`). The whole value of each cloud
 * secret becomes the key's value.
 * @throws Error when a cloud secret is not among those the spec names: the store's identity may
 *   read those alone.
 */
export function cloudSecretManifests(ctx: ObservabilityContext, props: CloudSecretProps): Manifest[] {
  const allowed = userSecretNames(ctx);
  const entries = Object.entries(props.keys);
  if (entries.length === 0) throw new Error(`secret ${props.name}: no key to sync`);
  for (const [key, cloudName] of entries) {
    if (!allowed.includes(cloudName)) {
      throw new Error(`secret ${props.name}: key ${key} reads cloud secret ${cloudName}, which ${ctx.env.name}'s spec does not name (the monitoring identity may read ${allowed.join(", ") || "none"})`);
    }
  }
  const template = props.template === undefined && props.labels === undefined ? undefined : { ...(props.template ?? {}), ...(props.labels ? { metadata: { labels: { ...props.labels } } } : {}) };
  return [
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: props.name, namespace: ctx.namespace },
      spec: {
        refreshInterval: USER_SECRET_REFRESH,
        secretStoreRef: { kind: "SecretStore", name: MONITORING_SECRET_STORE },
        target: { name: props.name, creationPolicy: "Owner", deletionPolicy: "Retain", ...(template ? { template } : {}) },
        data: entries.map(([secretKey, cloudName]) => ({ secretKey, remoteRef: { key: cloudName } })),
      },
    },
  ];
}
