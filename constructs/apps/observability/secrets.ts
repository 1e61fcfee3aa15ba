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
 *
 * A missing credential degrades its channel only (`cloudSecretManifests`): the Secret exists from
 * the first install with an inert placeholder, and External Secrets merges the real value into it.
 */
import { WORKLOAD_ACCOUNTS } from "../../core/apps";
import { specSecretNamesFor } from "../../core/spec";
import type { Manifest } from "../helm";
import { ESO_API, workloadSecretStoreManifests } from "../wiring";
import type { ObservabilityContext } from "./index";

/** The namespaced SecretStore of the monitoring namespace. */
export const MONITORING_SECRET_STORE = "monitoring-secrets";
/** The Kubernetes service account that store authenticates as (its cloud identity reads the named secrets). */
export const MONITORING_SECRETS_ACCOUNT = WORKLOAD_ACCOUNTS["monitoring-secrets"];
/** How often External Secrets reads the cloud secret again: a rotated credential arrives within this. */
export const USER_SECRET_REFRESH = "15m";

/** The names of the cloud secrets the spec gives, which the monitoring identity may read. */
export function userSecretNames(ctx: ObservabilityContext): string[] {
  return specSecretNamesFor(ctx.env, "monitoring-secrets");
}

/**
 * The ServiceAccount and the SecretStore of the monitoring namespace, when the spec names a
 * secret (otherwise there is no cloud identity behind them, and nothing to sync). Included once
 * per environment by the observability layer.
 */
export function secretStoreManifests(ctx: ObservabilityContext): Manifest[] {
  if (userSecretNames(ctx).length === 0) return [];
  if (MONITORING_SECRETS_ACCOUNT.namespace !== ctx.namespace) throw new Error(`the monitoring-secrets identity is bound to namespace ${MONITORING_SECRETS_ACCOUNT.namespace}, not ${ctx.namespace}`);
  return workloadSecretStoreManifests(ctx.services, "monitoring-secrets", MONITORING_SECRET_STORE);
}

/**
 * Placeholders the Secrets hold until External Secrets has synced the real value: not
 * credentials, and inert where they are used.
 * - `url`: a URL (the prometheus-operator v0.93.0 validates Slack `apiURL` and webhook `urlSecret`
 *   as URLs before it configures Alertmanager: pkg/alertmanager/operator.go `checkSlackConfigs`,
 *   `checkWebhookConfigs` -> validation/validation.go `ValidateSecretURL`) under the reserved
 *   top-level domain `.invalid` (RFC 2606 section 2: never resolves), so a notification fails at
 *   the DNS lookup and its content goes nowhere;
 * - `password`: text no real password equals (the hub answers 401, the SMTP server refuses the login);
 * - `htpasswdLine`: a user line Traefik accepts (traefik v3.7.9 pkg/middlewares/auth/basic_auth.go
 *   `NewBasic` refuses a middleware with no user at all, "no users found") whose hash `!` is no
 *   hash of any scheme, so no password matches it (the same convention as a locked account in
 *   /etc/shadow): every sender is refused until the real users arrive.
 */
export const PLACEHOLDER = {
  url: "https://credential-not-synced.invalid/",
  password: "credential-not-synced",
  htpasswdLine: "credential-not-synced:!",
} as const;

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
  /**
   * Every key of the Secret -> its value until the real one is synced (`PLACEHOLDER`): inert,
   * and valid wherever the consumer validates it.
   */
  readonly placeholder: Readonly<Record<string, string>>;
}

/**
 * A Secret of the monitoring namespace holding the value of user-created cloud secrets, synced
 * through the namespace's SecretStore (see `secretStoreManifests`). The whole value of each cloud
 * secret becomes the key's value.
 *
 * Why a placeholder Secret, created by the release itself, that External Secrets merges into
 * (`creationPolicy: Merge`), rather than a Secret External Secrets creates: the prometheus-operator
 * v0.93.0 refuses to reconcile a Prometheus or an Alertmanager while a Secret it references is
 * missing (pkg/assets/store.go `GetSecretKey`: "unable to get secret", `optional` is not read
 * there; pkg/prometheus/server/operator.go: `AddRemoteWriteToStore` fails `createOrUpdateConfigurationSecret`
 * before the StatefulSet is built; pkg/alertmanager/operator.go: the configuration is
 * provisioned before the StatefulSet). Without the placeholder, a hub password or a Slack webhook
 * not yet created in the cloud would leave a new environment without Prometheus or Alertmanager,
 * and an existing one on its old configuration. With it, only that channel is inert
 * (`PLACEHOLDER`), and the failure shows:
 * - the ExternalSecret keeps failing (`deletionPolicy: Retain`: a missing cloud secret is an
 *   error, not skipped: external-secrets v2.9.0 pkg/controllers/externalsecret/externalsecret_controller_secret.go
 *   `GetProviderSecretData`), so `ExternalSecretNotSynced` fires for it;
 * - and the channel's own alert: `MetricsHubWriteFailing` (401) on a sender,
 *   `MetricsHubSenderSilent` at the hub, Alertmanager's failed notifications.
 * Merge semantics (v2.9.0 externalsecret_controller.go, `CreatePolicyMerge`: only updates an
 * existing Secret; externalsecret_controller_template.go `ApplyTemplate`: keeps the Secret's
 * other keys, the template's keys replace the placeholder's).
 *
 * What Helm does to it: nothing after the first install. The manifests chart renders an object
 * annotated `platform/create-once` only while `lookup` finds none in the cluster
 * (constructs/apps/manifests-chart/templates/manifests.yaml), and `helm.sh/resource-policy: keep`
 * stops Helm from deleting it when a later upgrade no longer renders it, or on uninstall (Helm
 * v3.18.4 pkg/action/upgrade.go and uninstall.go skip resources with that policy). Without this,
 * every upgrade's three-way patch would write the placeholder back over the synced value
 * (pkg/kube/client.go `createPatch`: a manifest's `stringData` is always sent), and a hub users
 * Secret whose sync fails (one sender's password missing) would lock every sender out.
 * A Secret deleted by hand gets its placeholder back on the next upgrade.
 *
 * @throws Error when a cloud secret is not among those the spec names (the store's identity may
 *   read those alone), or when the placeholder does not cover exactly the Secret's keys.
 */
/** The annotations of a Secret the manifests chart creates once and never writes again (see `cloudSecretManifests`). */
export const CREATE_ONCE: Readonly<Record<string, string>> = { "platform/create-once": "true", "helm.sh/resource-policy": "keep" };

export function cloudSecretManifests(ctx: ObservabilityContext, props: CloudSecretProps): Manifest[] {
  const allowed = userSecretNames(ctx);
  const entries = Object.entries(props.keys);
  if (entries.length === 0) throw new Error(`secret ${props.name}: no key to sync`);
  for (const [key, cloudName] of entries) {
    if (!allowed.includes(cloudName)) {
      throw new Error(`secret ${props.name}: key ${key} reads cloud secret ${cloudName}, which ${ctx.env.name}'s spec does not name (the monitoring identity may read ${allowed.join(", ") || "none"})`);
    }
  }
  const secretKeys = Object.keys((props.template?.data as Record<string, unknown> | undefined) ?? props.keys).sort();
  const placeholderKeys = Object.keys(props.placeholder).sort();
  if (JSON.stringify(secretKeys) !== JSON.stringify(placeholderKeys)) {
    throw new Error(`secret ${props.name}: the placeholder has keys ${placeholderKeys.join(", ")}, the Secret ${secretKeys.join(", ")}`);
  }
  const template = props.template === undefined && props.labels === undefined ? undefined : { ...(props.template ?? {}), ...(props.labels ? { metadata: { labels: { ...props.labels } } } : {}) };
  return [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: props.name,
        namespace: ctx.namespace,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: { ...CREATE_ONCE },
      },
      type: "Opaque",
      stringData: { ...props.placeholder },
    },
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: props.name, namespace: ctx.namespace },
      spec: {
        refreshInterval: USER_SECRET_REFRESH,
        secretStoreRef: { kind: "SecretStore", name: MONITORING_SECRET_STORE },
        target: { name: props.name, creationPolicy: "Merge", deletionPolicy: "Retain", ...(template ? { template } : {}) },
        data: entries.map(([secretKey, cloudName]) => ({ secretKey, remoteRef: { key: cloudName } })),
      },
    },
  ];
}
