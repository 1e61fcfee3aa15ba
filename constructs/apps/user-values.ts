/**
 * The spec's escape hatches for an app's charts (`apps[].values`, `apps[].chartVersion`), applied
 * in ONE place: `withUserValues`, called by the apps stack on every release an app renders,
 * before anything else reads the release. There is no other way to change a release's values or
 * version: nothing in the project adds Terraform overrides to a helm_release.
 *
 * What is refused, and where:
 * - in the spec pass (`userValuesSpecProblems`, with the file, field path, given and accepted):
 *   values that are not JSON objects of JSON values, a chart the app does not install, a version
 *   that is not exact or is lower than the pinned one, and, wherever they appear, the keys that do
 *   more than tune a chart (REFUSED_KEYS: service accounts, security contexts and host access,
 *   extra objects, containers, commands, volumes, images, DAGs, NetworkPolicies, published
 *   Services, RBAC, Secret references), credential keys (`credentialKey`), a Service `type`
 *   LoadBalancer or NodePort, and env entries that are not a plain name and value;
 * - when the release is rendered (`withUserValues`): a value that changes or removes what wires
 *   the app to the platform (OWNED_NAMES: a service account, a Secret the platform creates or
 *   syncs, a reference to the infra stack);
 * - after the merge, by the policy pack (constructs/policies), which reads the merged values of
 *   every helm_release at synth: credentials, Kafka and OpenSearch security, sign-in, untrusted
 *   accounts, pinned versions. The pack reads only the platform's own manifests as objects, which
 *   is why keys that add objects are refused above rather than checked.
 * Unknown keys and wrong types are checked against the chart contracts (../shared/charts) by the
 * test suite, over every environment in `environments/` (__tests__/support/chart-contract.ts),
 * since the contracts are not shipped with the library.
 */
import type { AppName } from "../core/apps";
import { SpecError, describeValue, formatPath } from "../core/errors";
import { APPS_WITH_IMAGE, valueAt, type AppSpec, type Report } from "../core/spec";
import { APP_CHARTS } from "./catalogue";
import type { AppContext, AppManifest, AppRelease } from "./types";

type Values = Record<string, unknown>;
type Path = readonly (string | number)[];

const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

/**
 * Helm's merge of later values over earlier ones (helm v3 pkg/chartutil/coalesce.go, and the
 * pinned Helm provider's `mergeMaps` for several `values` documents): maps merge key by key,
 * lists and scalars replace. A `null` is kept, so Helm removes the chart's default there.
 */
export function mergeUserValues(base: Values, extra: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(extra)) merged[key] = isMap(merged[key]) && isMap(value) ? mergeUserValues(merged[key] as Values, value) : value;
  return merged;
}

/** Why a key is refused in user values, and what to use instead where the spec has a field for it. */
export interface Refusal {
  /** The README's category ("Extra Helm values and chart versions", the table of what is refused). */
  readonly category: "service account" | "pod security" | "objects" | "containers" | "volumes" | "images" | "DAGs" | "network" | "RBAC" | "secrets";
  readonly reason: string;
  /** The spec field to use instead, where there is one. */
  readonly instead?: string;
}

const ACCOUNT: Refusal = { category: "service account", reason: "the platform owns it (the platform's service account, bound to the app's cloud identity)" };
const POD_SECURITY: Refusal = { category: "pod security", reason: "the platform owns it (the security context Pod Security restricted admits)" };
const HOST: Refusal = { category: "pod security", reason: "the platform owns it (no host namespaces, ports or paths: Pod Security restricted)" };
const OBJECTS: Refusal = {
  category: "objects",
  reason: "it installs objects beside the chart's, which no policy rule reads (RBAC, NetworkPolicies, Namespaces, Pods); extra values tune a chart, they do not add objects",
};
const CONTAINERS: Refusal = {
  category: "containers",
  reason: "it adds or replaces what a pod runs (a container, an init container, a command, a pod spec); the platform sets the security context Pod Security restricted needs only on the chart's own containers",
};
const VOLUMES: Refusal = { category: "volumes", reason: "it mounts a volume the platform did not declare (a host path, a Secret, a ConfigMap); size the chart's own storage with its persistence keys" };
const IMAGES: Refusal = { category: "images", reason: "the image is the spec's: a version tag (never latest) or a digest, checked by the spec pass", instead: `apps[].image (${APPS_WITH_IMAGE.join(", ")})` };
const DAGS: Refusal = { category: "DAGs", reason: "the platform wires git-sync (known hosts, credential from the cloud secret store, egress to the repository's port)", instead: "apps[].dags" };
const NETWORK: Refusal = { category: "network", reason: "the platform writes every namespace's NetworkPolicies (default deny, one rule per peer); policies add up, so a chart's own can only open more" };
const PUBLISH: Refusal = { category: "network", reason: "it publishes a backend outside the cluster; only Traefik's Service is published, and every host goes through it" };
const LABELS: Refusal = { category: "network", reason: "NetworkPolicies admit peers and Services pick backends by pod label: a label could make a pod one of the peers another namespace admits" };
const RBAC: Refusal = { category: "RBAC", reason: "the platform grants each service account its rights (untrusted accounts none); a chart's own roles would give more" };
const SECRETS: Refusal = {
  category: "secrets",
  reason: "the platform creates or syncs every Secret (from the cloud secret store) and wires each reference to one; a credential in values lands in the synthesized JSON and the Terraform state",
};

/**
 * Keys refused in user values wherever they appear, matched case-sensitively as the charts
 * spell them (the derivation: every key of ../shared/charts/<chart>/template-refs.json that
 * adds objects, containers, volumes, images, network openings, roles or Secret references is
 * here, is a credential key (`credentialKey`), or is listed as tuning in
 * __tests__/user-values.test.ts, which fails on a new one). Extra values are for tuning a chart:
 * replicas, resources, config, annotations, feature flags, persistence sizes.
 * A string given for one of these keys (YAML the chart `tpl`s, e.g. kube-prometheus-stack 88.5.3
 * templates/extra-objects.yaml) is refused by the key, never parsed.
 */
export const REFUSED_KEYS: Readonly<Record<string, Refusal>> = {
  // Every pod runs as the account bound to the app's cloud identity, or the untrusted one.
  serviceAccount: ACCOUNT,
  serviceAccountName: ACCOUNT,
  appServiceAccount: ACCOUNT,
  automountServiceAccountToken: { category: "service account", reason: "the platform owns it (the platform's service account settings)" },
  // k8s.io/pod-security-admission policy checks: every app namespace enforces restricted.
  securityContext: POD_SECURITY,
  podSecurityContext: POD_SECURITY,
  containerSecurityContext: POD_SECURITY,
  securityContexts: POD_SECURITY,
  hostNetwork: HOST,
  hostPID: HOST,
  hostIPC: HOST,
  hostPort: HOST,
  enableHostPort: HOST,
  enableProxyEndpointsHostPort: HOST,
  // kube-prometheus-stack extraManifests (+ its kube-state-metrics and prometheus-node-exporter
  // subcharts, and opentelemetry-collector), grafana extraObjects, airflow extraDeploy,
  // extraConfigMaps; extraTemplates in other charts of the same family.
  extraManifests: OBJECTS,
  extraObjects: OBJECTS,
  extraDeploy: OBJECTS,
  extraTemplates: OBJECTS,
  extraConfigMaps: OBJECTS,
  // Containers and what they run (airflow: <component>.extraContainers/extraInitContainers,
  // podTemplate, extraPodSpec, kerberos*; datahub extraSidecars; kube-prometheus-stack
  // prometheusSpec.containers, kube-state-metrics.containers, permissionInitContainer).
  extraContainers: CONTAINERS,
  extraInitContainers: CONTAINERS,
  initContainers: CONTAINERS,
  containers: CONTAINERS,
  sidecars: CONTAINERS,
  extraSidecars: CONTAINERS,
  kerberosSidecar: CONTAINERS,
  kerberosInitContainer: CONTAINERS,
  permissionInitContainer: CONTAINERS,
  stiggSidecar: CONTAINERS,
  extraPodSpec: CONTAINERS,
  podTemplate: CONTAINERS,
  command: CONTAINERS,
  args: CONTAINERS,
  extraCommands: CONTAINERS,
  lifecycle: CONTAINERS,
  lifecycleHooks: CONTAINERS,
  containerLifecycleHooks: CONTAINERS,
  // Volumes.
  volumes: VOLUMES,
  volumeMounts: VOLUMES,
  extraVolumes: VOLUMES,
  extraVolumeMounts: VOLUMES,
  extraVolumeMount: VOLUMES,
  extraContainerVolumes: VOLUMES,
  extraConfigmapMounts: VOLUMES,
  extraEmptyDirMounts: VOLUMES,
  extraMounts: VOLUMES,
  extraHostVolumeMounts: VOLUMES,
  sidecarHostVolumeMounts: VOLUMES,
  sidecarVolumeMount: VOLUMES,
  hostPath: VOLUMES,
  hostRootFsMount: VOLUMES,
  hostProcFsMount: VOLUMES,
  hostSysFsMount: VOLUMES,
  localVolume: VOLUMES,
  workspaceDockerMount: VOLUMES,
  // Images: the chart's main image is apps[].image; the others stay the pinned chart's.
  image: IMAGES,
  images: IMAGES,
  imageRegistry: IMAGES,
  imageRenderer: { ...IMAGES, reason: "it adds Grafana's image renderer, a Deployment with its own image the platform does not run" },
  defaultAirflowRepository: IMAGES,
  defaultAirflowTag: IMAGES,
  defaultAirflowDigest: IMAGES,
  sidecarImage: IMAGES,
  sidecarImageTag: IMAGES,
  thanosImage: IMAGES,
  downloadDashboardsImage: IMAGES,
  prometheusDefaultBaseImage: IMAGES,
  prometheusDefaultBaseImageRegistry: IMAGES,
  alertmanagerDefaultBaseImage: IMAGES,
  alertmanagerDefaultBaseImageRegistry: IMAGES,
  connectorRegistry: IMAGES,
  dags: DAGS,
  // datahub global.python.extraIndex: another package index for the code DataHub's pods install.
  extraIndex: { ...CONTAINERS, reason: "it changes where a pod installs code from (another Python package index)" },
  // Network: airflow networkPolicies/<component>.networkPolicy/extraNetworkPolicies, grafana and
  // kube-prometheus-stack networkPolicy, opentelemetry-collector networkPolicy.extraIngressRules.
  labels: LABELS,
  podLabels: LABELS,
  extraLabels: LABELS,
  extraPodLabels: LABELS,
  commonLabels: LABELS,
  customLabels: LABELS,
  selectorLabels: LABELS,
  extraSelectorLabels: LABELS,
  deploymentLabels: LABELS,
  networkPolicies: NETWORK,
  networkPolicy: NETWORK,
  extraNetworkPolicies: NETWORK,
  extraIngressRules: NETWORK,
  extraIngressSelectors: NETWORK,
  extraPaths: PUBLISH,
  extraExposePorts: PUBLISH,
  externalIPs: PUBLISH,
  loadBalancerIP: PUBLISH,
  loadBalancerClass: PUBLISH,
  loadBalancerSourceRanges: PUBLISH,
  allocateLoadBalancerNodePorts: PUBLISH,
  nodePort: PUBLISH,
  nodePorts: PUBLISH,
  httpNodePort: PUBLISH,
  telemetryNodePort: PUBLISH,
  reloaderWebNodePort: PUBLISH,
  // RBAC: airflow rbac/multiNamespaceMode/allowPodLaunching/allowJobLaunching (the scheduler's
  // Role), grafana and kube-prometheus-stack extraClusterRoleRules/extraRoleRules, kube-state-metrics
  // rbac.extraRules, opentelemetry-collector clusterRole.
  rbac: RBAC,
  extraClusterRoleRules: RBAC,
  extraRoleRules: RBAC,
  createClusterRoleRules: RBAC,
  clusterRole: RBAC,
  clusterRoleBinding: RBAC,
  clusterRoleSelectors: RBAC,
  extraRules: RBAC,
  kubernetesObjects: RBAC,
  multiNamespaceMode: RBAC,
  allowPodLaunching: RBAC,
  allowJobLaunching: RBAC,
  // Whole environments from other objects (a Secret or a ConfigMap the platform does not own).
  envFrom: { ...SECRETS, reason: "it loads every key of another object into the environment" },
  extraEnvFrom: { ...SECRETS, reason: "it loads every key of another object into the environment" },
  extraEnvsFrom: { ...SECRETS, reason: "it loads every key of another object into the environment" },
  envFromConfigMaps: { ...SECRETS, reason: "it loads every key of another object into the environment" },
  extraEnvVarsCM: { ...SECRETS, reason: "it loads every key of another object into the environment" },
  envValueFrom: { ...SECRETS, reason: "it reads a value from another object; give env entries with a plain value" },
  valueFrom: { ...SECRETS, reason: "it reads a value from another object; give env entries with a plain value" },
};

/**
 * Credential keys, refused with any value but a boolean or a number (a flag such as Grafana's
 * `use_refresh_token: true` names no credential): a key whose words (camelCase, `_`, `-`, `.`)
 * hold pass, password, secret, token, fernet, jwt, credential, or api/private/encryption/access/signing
 * key. The Airflow chart 1.19.0 keys (values.yaml) `fernetKey`, `webserverSecretKey`,
 * `apiSecretKey`, `jwtSecret`, `data.metadataConnection.pass`, `registry.connection.pass`,
 * `extraSecrets`, `secret`, `enableBuiltInSecretEnvVars`, the `existingSecret`/`secretName` of
 * every chart, `secretKeyRef`/`secretRef` in env and envFrom, and Airflow config such as
 * `api_auth.jwt_secret` all match. A credential in values lands in the JSON and the state; a
 * reference to a Secret can read the platform's (airflow-keys holds the JWT signing key).
 */
export function credentialKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const single = new Set(["pass", "passwd", "password", "passwords", "passphrase", "secret", "secrets", "token", "tokens", "fernet", "fernetkey", "jwt", "credential", "credentials", "apikey", "privatekey"]);
  if (words.some((word) => single.has(word))) return true;
  return words.some((word, i) => word === "key" && ["api", "private", "encryption", "access", "signing"].includes(words[i - 1] ?? ""));
}

/** Env-list keys whose entries are checked one by one (a plain value only, no credential name), refused when given as a string. */
const ENV_LISTS = new Set(["env", "extraEnv", "extraEnvs", "extraEnvVars"]);

/** A refusal found in user values: the path, the key (or the value) and why. */
interface Refused {
  readonly path: Path;
  readonly key: string;
  readonly refusal: Refusal;
}

const EXACT_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** -1, 0 or 1 as `a` is lower, equal or higher than `b` (both exact MAJOR.MINOR.PATCH). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Where a value is not JSON (a function, undefined, a class instance, NaN or Infinity...), relative to `path`. */
function nonJson(value: unknown, path: Path): { path: Path; value: unknown }[] {
  if (value === null || typeof value === "string" || typeof value === "boolean") return [];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => nonJson(item, [...path, index]));
  if (isMap(value)) return Object.entries(value).flatMap(([key, child]) => nonJson(child, [...path, key]));
  return [{ path, value }];
}

/** How to name a value JSON cannot hold, in a message (JSON.stringify would show NaN as null and drop a function). */
function nonJsonName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return String(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "object" && value !== null) return `a ${value.constructor?.name ?? "object without prototype"}`;
  return `a ${typeof value}`;
}

/** Every refused key or value in user values, relative to `path`; below a refused key nothing more is reported. */
function refusedKeys(value: unknown, path: Path): Refused[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => refusedKeys(item, [...path, index]));
  if (!isMap(value)) return [];
  return Object.entries(value).flatMap(([key, child]): Refused[] => {
    const here = [...path, key];
    if (Object.hasOwn(REFUSED_KEYS, key)) return [{ path: here, key, refusal: REFUSED_KEYS[key] }];
    if (credentialKey(key) && typeof child !== "boolean" && typeof child !== "number") return [{ path: here, key, refusal: SECRETS }];
    // A Service type that publishes (LoadBalancer, NodePort), in every environment.
    if (key === "type" && (child === "LoadBalancer" || child === "NodePort")) return [{ path: here, key: `type ${child}`, refusal: PUBLISH }];
    if (ENV_LISTS.has(key) && typeof child === "string") return [{ path: here, key: `${key} as a string`, refusal: { ...SECRETS, reason: "YAML the chart renders is not read here; give a list of {name, value} entries" } }];
    if (ENV_LISTS.has(key) && Array.isArray(child)) {
      return child.flatMap((item, index): Refused[] =>
        isMap(item) && typeof item.name === "string" && credentialKey(item.name)
          ? [{ path: [...here, index, "name"], key: `environment variable ${item.name}`, refusal: SECRETS }]
          : refusedKeys(item, [...here, index]),
      );
    }
    return refusedKeys(child, here);
  });
}

/**
 * The problems of one app's `values` and `chartVersion` that the spec alone shows, reported at
 * `apps[index]`. Run in the spec pass (stacks/app.ts `specChecks`) and again by `withUserValues`.
 */
export function userValuesSpecProblems(app: Pick<AppSpec, "name" | "values" | "chartVersion">, at: Path, report: Report): void {
  const charts = APP_CHARTS[app.name as AppName];
  if (charts === undefined) return;
  const names = charts.map((chart) => chart.chart);
  const chartKeys = `the name of a chart ${app.name} installs: ${names.join(" | ")}`;
  for (const [chart, values] of Object.entries(app.values ?? {})) {
    const path = [...at, "values", chart];
    if (!names.includes(chart)) {
      report(path, chart, chartKeys);
      continue;
    }
    for (const bad of nonJson(values, path)) report(bad.path as PropertyKey[], nonJsonName(bad.value), "a JSON value: a string, a finite number, true, false, null, a list or a plain object");
    for (const bad of refusedKeys(values, path))
      report(bad.path as PropertyKey[], valueAt(values, bad.path.slice(path.length)), `no ${bad.key}: ${bad.refusal.reason}${bad.refusal.instead === undefined ? "" : `; use ${bad.refusal.instead} instead`}; README, "Extra Helm values and chart versions"`);
  }
  for (const [chart, version] of Object.entries(app.chartVersion ?? {})) {
    const path = [...at, "chartVersion", chart];
    const pinned = charts.find((c) => c.chart === chart);
    if (pinned === undefined) report(path, chart, chartKeys);
    else if (!EXACT_VERSION.test(version)) report(path, version, `an exact chart version MAJOR.MINOR.PATCH such as ${pinned.version} (no range, no v, no pre-release)`);
    else if (compareVersions(version, pinned.version) < 0) report(path, version, `${pinned.version} (the pinned version) or higher: the platform's values and checks are written for the pinned chart's templates, and a lower chart would downgrade the app over a database it already migrated`);
  }
}

/**
 * What the platform wires an app's release with, which a user value may not change: its service
 * accounts, the Secrets it creates or syncs for the app (database credentials, generated keys,
 * the TLS certificate, and every Secret its wiring and resources manifests produce), and the
 * app's bucket and database addresses from the infra stack.
 */
interface Owned {
  /** Whole values: service accounts and Secrets. */
  readonly names: ReadonlySet<string>;
  /** Parts of values: the app's bucket URL and database host, wherever a value embeds them. */
  readonly fragments: readonly string[];
}

function ownedNames(ctx: AppContext, releases: readonly AppRelease[], platformManifests: readonly AppManifest[]): Owned {
  const names = new Set<string>([ctx.serviceAccount]);
  if (ctx.untrustedAccount) names.add(ctx.untrustedAccount.serviceAccount);
  if (ctx.database) names.add(ctx.database.secretName);
  if (ctx.ingress) names.add(ctx.ingress.tlsSecretName);
  const manifests = [...platformManifests, ...releases.flatMap((release) => [...(release.wiring ?? []), ...(release.resources ?? [])])];
  for (const release of releases) for (const secret of release.generatedSecrets) names.add(secret.name);
  for (const manifest of manifests) {
    const name = String(manifest.metadata.name);
    const spec = (manifest.spec ?? {}) as Values;
    // External Secrets writes spec.target.name (default: its own name); cert-manager spec.secretName; Strimzi a Secret per KafkaUser.
    if (manifest.kind === "ExternalSecret") names.add(String(valueAt(spec, ["target", "name"]) ?? name));
    if (manifest.kind === "Certificate" && typeof spec.secretName === "string") names.add(spec.secretName);
    if (manifest.kind === "KafkaUser" || manifest.kind === "Secret") names.add(name);
  }
  return { names, fragments: [ctx.bucket?.url, ctx.database?.host].filter((fragment): fragment is string => fragment !== undefined && fragment.length > 0) };
}

/** A cdktn token (a reference to another resource, here the infra stack's: database host, bucket, identity), as it sits in values before synth. */
const TOKEN = /\$\{TfToken\[/;

/** Paths of the leaves of the platform's values that wire the app: an owned name, or a reference to the infra stack (a token). */
function wiredPaths(values: unknown, owned: Owned, path: Path = []): Path[] {
  if (Array.isArray(values)) return values.flatMap((item, index) => wiredPaths(item, owned, [...path, index]));
  if (values !== null && typeof values === "object") return Object.entries(values as Values).flatMap(([key, child]) => wiredPaths(child, owned, [...path, key]));
  return typeof values === "string" && (owned.names.has(values) || TOKEN.test(values) || owned.fragments.some((fragment) => values.includes(fragment))) ? [path] : [];
}

const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((key, i) => path[i] === key);

/** User value paths that change or remove a wired leaf of `base`: the first wired path each one hits. */
function wiringOverrides(base: Values, extra: Values, wired: readonly Path[], path: Path = []): { path: Path; wired: Path }[] {
  return Object.entries(extra).flatMap(([key, value]) => {
    const here = [...path, key];
    const hit = wired.find((w) => startsWith(w, here));
    if (hit === undefined) return [];
    if (isMap(value) && isMap(base[key])) return wiringOverrides(base[key] as Values, value, wired, here);
    return JSON.stringify(value) === JSON.stringify(base[key]) ? [] : [{ path: here, wired: hit }];
  });
}

/**
 * The app's releases with the spec's values merged last and its chart versions applied. Throws a
 * SpecError (environment, `apps[i].values...` path, given, accepted) for a value the spec pass
 * refuses (when the caller skipped it) and for one that changes the platform's wiring.
 * `platformManifests`: the objects the apps stack adds beside the releases (the DAG repository's
 * ExternalSecret `airflow-git-credentials`, the sign-in client handover), whose Secrets are owned
 * like the releases' own.
 */
export function withUserValues(
  ctx: AppContext,
  app: Pick<AppSpec, "name" | "values" | "chartVersion">,
  releases: readonly AppRelease[],
  source?: string,
  platformManifests: readonly AppManifest[] = [],
): readonly AppRelease[] {
  if (app.values === undefined && app.chartVersion === undefined) return releases;
  const at: Path = ["apps", ctx.env.apps.findIndex((listed) => listed === app)];
  const issues: { path: string; message: string }[] = [];
  const report: Report = (path, given, accepted) => issues.push({ path: formatPath(path), message: `given ${describeValue(given)}; accepted: ${accepted}` });
  userValuesSpecProblems(app, at, report);
  // One message per mistake: what the spec pass refuses is not reported again as wiring.
  if (issues.length > 0) throw new SpecError(ctx.env.name, issues, source);
  const names = ownedNames(ctx, releases, platformManifests);
  for (const release of releases) {
    const extra = app.values?.[release.chart.chart];
    if (extra === undefined) continue;
    for (const found of wiringOverrides(release.values, extra, wiredPaths(release.values, names))) {
      const given = valueAt(extra, found.path);
      const ours = describeValue(valueAt(release.values, found.wired)).replace(/\$\{TfToken\[[^\]]*\]\}/g, "<a reference to the infra stack>");
      report([...at, "values", release.chart.chart, ...found.path], given, `no change to ${found.wired.join(".")} (${ours}): the platform wires ${app.name} with it (a service account, a Secret it creates or syncs, or the infra stack); add keys beside it instead`);
    }
  }
  if (issues.length > 0) throw new SpecError(ctx.env.name, issues, source);
  return releases.map((release) => {
    const extra = app.values?.[release.chart.chart];
    const version = app.chartVersion?.[release.chart.chart];
    return {
      ...release,
      chart: version === undefined ? release.chart : { ...release.chart, version },
      values: extra === undefined ? release.values : mergeUserValues(release.values, extra),
    };
  });
}
