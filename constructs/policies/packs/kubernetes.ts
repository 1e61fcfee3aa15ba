import { parse as parseYaml } from "yaml";
import { PLACEHOLDER } from "../../apps/observability/secrets";
import { APP_CATALOGUE } from "../../core/apps";
import { providerValues, setEntryValues } from "./helm-set";
import { asList, at, perRun, references, resourcesOf, type Block, type PolicyContext, type Rule } from "../types";

/** Pod Security Standards levels and the enforce label (k8s.io/pod-security-admission v0.31.0 api/constants.go: Level*, EnforceLevelLabel). */
const LEVELS = ["privileged", "baseline", "restricted"];
const ENFORCE = "pod-security.kubernetes.io/enforce";
/** Why a namespace runs privileged pods; the platform's own annotation, required with `privileged`. */
const PRIVILEGED_REASON = "platform/pod-security-reason";

/**
 * A chart version Helm resolves to exactly one release: `1.2.3`. Helm treats `version` as a semver
 * constraint (helm v3.19.5 pkg/repo/index.go `IndexFile.Get`: `semver.NewConstraint(version)`,
 * "*" when empty), so `^1.2`, `~1.2.3` or nothing install whatever is newest.
 */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Keys whose value is the credential itself (not the name of a Secret or a key in one). */
const CREDENTIAL_VALUE_KEY = /^(password|passwd|token|api_?key|api_?token|client_?secret|access_?key|secret_?access_?key|webhook_?url|private_?key)$/i;
const CREDENTIAL_ENV_NAME = /PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_?KEY/i;
/** Shapes of credentials wherever they appear. */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  [/:\/\/[^/\s:@{}$]+:[^/\s@{}$]+@/, "a URL with a password"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bgh[pousr]_[A-Za-z0-9]{36}\b/, "a GitHub token"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/hooks\.slack\.com\/services\/T/, "a Slack webhook URL"],
];
/**
 * Any of the shapes, in one scan of a string: each shape is tested only where this matches
 * (six scans of each of the 240,000 strings of 60 tenants' releases were half the walk below).
 * The shapes carry no flags, so their alternation matches exactly where one of them does.
 */
const ANY_CREDENTIAL_SHAPE = new RegExp(
  CREDENTIAL_SHAPES.map(([shape]) => {
    if (shape.flags !== "") throw new Error(`credential shape ${String(shape)}: flags would be lost in ANY_CREDENTIAL_SHAPE`);
    return `(?:${shape.source})`;
  }).join("|"),
);
/**
 * A variable that names the file a credential is read from, not the credential: `*_FILE` with an
 * absolute path under /var/run/secrets/, where Kubernetes mounts projected tokens
 * (AWS_WEB_IDENTITY_TOKEN_FILE, AZURE_FEDERATED_TOKEN_FILE: a token the kubelet writes and
 * rotates). The value is still scanned for credential shapes.
 */
const isFileReference = (name: string, value: string) => /_FILE$/.test(name) && /^\/var\/run\/secrets\/[A-Za-z0-9._/-]+$/.test(value);

/** Values that stand for "filled in later": templates, Kubernetes `$(VAR)` references, the observability placeholders. */
const notLiteral = (value: string) => value === "" || value.includes("{{") || /^\$\([A-Z_][A-Z0-9_]*\)$/.test(value) || (Object.values(PLACEHOLDER) as string[]).includes(value);

/**
 * Dotted paths in a release's values where a credential sits as a literal. One walk that appends
 * to `found` and copies the path only where it reports: every string of every release is visited
 * (a path copy per node was a fifth of the pack's time at 60 tenants).
 */
export function credentialLiterals(values: unknown): string[] {
  const found: string[] = [];
  const at: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") {
      const key = at[at.length - 1] ?? "";
      if (ANY_CREDENTIAL_SHAPE.test(value)) for (const [shape, what] of CREDENTIAL_SHAPES) if (shape.test(value)) found.push(`${at.join(".")} holds ${what}`);
      if (CREDENTIAL_VALUE_KEY.test(key) && !notLiteral(value)) found.push(`${at.join(".")} is a literal`);
      return;
    }
    if (value === null || typeof value !== "object") return;
    // Indexed loops, no [key, item] pairs: this walk visits every node of every release.
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        at.push(String(index));
        walk(value[index]);
        at.pop();
      }
      return;
    }
    const map = value as Record<string, unknown>;
    if (typeof map.name === "string" && CREDENTIAL_ENV_NAME.test(map.name) && typeof map.value === "string" && !notLiteral(map.value) && !isFileReference(map.name, map.value)) found.push(`${at.join(".")} (env ${map.name}) is a literal`);
    for (const key of Object.keys(map)) {
      at.push(key);
      walk(map[key]);
      at.pop();
    }
  };
  walk(values);
  return found;
}

/**
 * The values documents of a helm_release, parsed (they are JSON, as synthesized). Parsed once per
 * values array (the credential rule and `mergedValues` read the same documents); callers treat
 * the result as read-only (`providerValues` clones before it merges).
 */
export function releaseValues(release: Block): unknown[] {
  const key = typeof release.values === "object" && release.values !== null ? release.values : undefined;
  const cached = key === undefined ? undefined : releaseValuesCache.get(key);
  if (cached !== undefined) return cached;
  const parsed = asList(release.values).map((text) => {
    try {
      return JSON.parse(String(text)) as unknown;
    } catch {
      return text;
    }
  });
  if (key !== undefined) releaseValuesCache.set(key, parsed);
  return parsed;
}

const releaseValuesCache = new WeakMap<object, unknown[]>();

/**
 * A release's values as Helm receives them: the values documents merged in order (later documents
 * win, maps merge key by key, lists and scalars are replaced: helm v3.19.5 pkg/cli/values/options.go
 * `mergeMaps`), then the `set`, `set_list`, `set_sensitive` and `set_wo` entries written over them
 * as the pinned Helm provider does (./helm-set.ts). Every rule that reads chart values reads this.
 */
function mergedValues(release: Block): Block {
  const key = (typeof release.values === "object" && release.values !== null ? release.values : release) as object;
  const inputs = [release.set, release.set_list, release.set_sensitive, release.set_wo, release.set_wo_revision];
  const cached = mergedValuesCache.get(key);
  if (cached !== undefined && cached.inputs.every((input, index) => input === inputs[index])) return cached.values;
  const values = providerValues(release, releaseValues(release)) as Block;
  mergedValuesCache.set(key, { inputs, values });
  return values;
}

/**
 * Many rules read every release of a stack for each resource they check; parsing and merging the
 * values once per values array (a new array whenever they change) keeps the pack's cost linear.
 * Callers treat the result as read-only.
 */
const mergedValuesCache = new WeakMap<object, { readonly inputs: readonly unknown[]; readonly values: Block }>();

/** The name of the namespace a resource of the apps stack is in, resolving a reference to a namespace resource. */
function namespaceName(ctx: PolicyContext, value: unknown): string | undefined {
  const ref = /kubernetes_namespace_v1\.([^.]+)\./.exec(String(value));
  if (!ref) return typeof value === "string" ? value : undefined;
  return String(at(ctx.stack.resource?.kubernetes_namespace_v1?.[ref[1]], "metadata.name"));
}

/** IPv4 CIDR containment: whether `inner` lies within `outer`. */
function ipv4Within(inner: string, outer: string): boolean {
  const parse = (cidr: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
    return m === null ? undefined : { address: ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0, bits: +m[5] };
  };
  const a = parse(inner);
  const b = parse(outer);
  if (a === undefined || b === undefined || b.bits > a.bits) return false;
  const mask = b.bits === 0 ? 0 : (0xffffffff << (32 - b.bits)) >>> 0;
  return (a.address & mask) >>> 0 === (b.address & mask) >>> 0;
}

/**
 * The ranges pods, Services and node-local endpoints use on the three clouds' clusters (RFC 1918,
 * RFC 6598 100.64/10, RFC 3927 link-local with the instance metadata endpoint; IPv6 unique local
 * fc00::/7 and link-local fe80::/10): an ipBlock of every address that excepts all of them admits
 * the internet only; one that does not admits the cluster's pods too (whether pod IPs are matched
 * by ipBlock is up to the CNI: Kubernetes docs, "Network Policies", ipBlock).
 */
const CLUSTER_RANGES_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];
const CLUSTER_RANGES_V6 = ["fc00::/7", "fe80::/10"];

/**
 * Whether a NetworkPolicy peer admits every pod or every address (k8s.io/api networking/v1
 * NetworkPolicyPeer: "namespaceSelector ... selects all Pods in the Namespaces selected by
 * namespaceSelector" when podSelector is absent; LabelSelector: "An empty label selector matches
 * all objects"): `namespaceSelector: {}` with no or an empty podSelector, or an ipBlock of
 * 0.0.0.0/0 (::/0) whose `except` leaves the cluster's ranges in. Manifest (camelCase) and
 * kubernetes_network_policy_v1 (namespace_selector, pod_selector, ip_block) forms.
 */
function admitsAll(peer: unknown): boolean {
  const emptySelector = (selector: unknown) => {
    const one = asList(selector)[0];
    return one === undefined || one === null || (typeof one === "object" && Object.values(one as Block).every((v) => v === undefined || v === null || asList(v).length === 0 || (typeof v === "object" && Object.keys(v as Block).length === 0)));
  };
  const namespaces = at(peer, "namespaceSelector") ?? at(peer, "namespace_selector");
  const pods = at(peer, "podSelector") ?? at(peer, "pod_selector");
  if (namespaces !== undefined && emptySelector(namespaces) && (pods === undefined || emptySelector(pods))) return true;
  const block = asList(at(peer, "ipBlock") ?? at(peer, "ip_block"))[0];
  if (block === undefined) return false;
  const cidr = String(at(block, "cidr")).trim();
  const except = asList(at(block, "except")).map(String);
  if (cidr === "0.0.0.0/0") return !CLUSTER_RANGES_V4.every((range) => except.some((e) => ipv4Within(range, e)));
  if (cidr === "::/0") return !CLUSTER_RANGES_V6.every((range) => except.map((e) => e.toLowerCase()).includes(range));
  return false;
}

/**
 * What is wrong with a namespace's default deny. Kubernetes docs, "Network Policies": policies are
 * additive (a pod is allowed what any policy selecting it allows); a rule with neither peers
 * (`from`/`to`) nor `ports` allows every source or destination on every port, so `ingress: [{}]`
 * or `egress: [{}]` is "allow all" (the docs' own example). The deny is a policy of every pod
 * (empty podSelector) with both policyTypes and no rules at all, and no policy in the namespace
 * beside it allows all of a direction. Openings with ports but no peers (the ingress controller's
 * entry points, the webhooks' 10250) are the intended shape and pass.
 */
function defaultDenyProblems(ctx: PolicyContext, namespace: string): string[] {
  const empty = (value: unknown) => value === undefined || value === null || (typeof value === "object" && Object.keys(value).length === 0);
  // A rule with no ports allows all when it has no peers, or a peer that admits every pod or address (`admitsAll`).
  const allowsAll = (rules: unknown, peers: string) => asList(rules).some((rule) => asList(at(rule, "ports")).length === 0 && (asList(at(rule, peers)).length === 0 || asList(at(rule, peers)).some(admitsAll)));
  const manifests = stackManifests(ctx)
    .filter((m) => at(m, "kind") === "NetworkPolicy" && at(m, "metadata.namespace") === namespace)
    .map((m) => ({ name: `NetworkPolicy ${String(at(m, "metadata.name"))}`, selectsAll: empty(at(m, "spec.podSelector")) && at(m, "spec.podSelector") !== undefined, types: asList(at(m, "spec.policyTypes")), ingress: at(m, "spec.ingress"), egress: at(m, "spec.egress"), from: "from", to: "to" }));
  // hashicorp/kubernetes kubernetes_network_policy_v1: spec.pod_selector {match_labels, match_expressions}, spec.ingress[].from/ports, spec.egress[].to/ports.
  const resources = resourcesOf(ctx.stack, "kubernetes_network_policy_v1")
    .filter(([, policy]) => namespaceName(ctx, at(policy, "metadata.namespace")) === namespace)
    .map(([id, policy]) => ({
      name: `kubernetes_network_policy_v1.${id}`,
      selectsAll: at(policy, "spec.pod_selector") !== undefined && empty(at(policy, "spec.pod_selector.match_labels")) && asList(at(policy, "spec.pod_selector.match_expressions")).length === 0,
      types: asList(at(policy, "spec.policy_types")),
      ingress: at(policy, "spec.ingress"),
      egress: at(policy, "spec.egress"),
      from: "from",
      to: "to",
    }));
  // An unset policyTypes is Ingress, plus Egress when egress rules are given (NetworkPolicySpec.policyTypes, k8s.io/api networking/v1 types.go).
  const policies = [...manifests, ...resources].map((p) => ({ ...p, types: p.types.length > 0 ? p.types : ["Ingress", ...(p.egress === undefined ? [] : ["Egress"])] }));
  const denies = policies.filter((p) => p.selectsAll && ["Ingress", "Egress"].every((t) => p.types.includes(t)) && asList(p.ingress).length === 0 && asList(p.egress).length === 0);
  const allowAll = policies.flatMap((p) => [
    ...(p.types.includes("Ingress") && allowsAll(p.ingress, p.from) ? [`${p.name} allows all ingress (a rule without ports whose from is empty or admits every pod or address)`] : []),
    ...(p.types.includes("Egress") && allowsAll(p.egress, p.to) ? [`${p.name} allows all egress (a rule without ports whose to is empty or admits every pod or address)`] : []),
  ]);
  return [...(denies.length === 0 ? ["no default-deny NetworkPolicy in the namespace (empty podSelector, policyTypes Ingress and Egress, no rules)"] : []), ...allowAll];
}

/** The Kubernetes objects a resource of the apps stack puts on the cluster: a manifests release's `manifests`, a kubernetes_manifest's `manifest`. */
export function manifestsOf(resource: Block): Block[] {
  if (resource.manifest !== undefined) return [resource.manifest as Block];
  return asList(at(mergedValues(resource), "manifests")) as Block[];
}

/** Every Kubernetes object of the stack's manifests releases and kubernetes_manifest resources. */
const stackManifests = (ctx: PolicyContext): readonly Block[] =>
  perRun(ctx, stackManifests, () => ["helm_release", "kubernetes_manifest"].flatMap((type) => resourcesOf(ctx.stack, type).flatMap(([, resource]) => manifestsOf(resource))));

const objectName = (object: Block) => `${String(at(object, "kind"))} ${String(at(object, "metadata.namespace") ?? "")}/${String(at(object, "metadata.name"))}`;

/**
 * What Strimzi accepts, at the pinned operator (strimzi/strimzi-kafka-operator 1.2.0
 * packaging/helm-charts/helm3/strimzi-kafka-operator/crds/040-Crd-kafka.yaml and
 * 044-Crd-kafkauser.yaml): a listener's `type` (internal and cluster-ip stay in the cluster;
 * route, tlsroute, loadbalancer, nodeport and ingress publish it), `tls`, `authentication.type`
 * (tls, scram-sha-512, custom); `spec.kafka.authorization.type` (simple, custom); a KafkaUser's
 * `authentication.type` (tls, tls-external, scram-sha-512) and `authorization.type` (simple).
 * Kafka's `allow.everyone.if.no.acl.found` (Kafka docs, StandardAuthorizer) would let every
 * principal do what no ACL names, undoing the authorization.
 */
const KAFKA_IN_CLUSTER_LISTENERS = ["internal", "cluster-ip"];
const KAFKA_LISTENER_AUTHENTICATION = ["tls", "scram-sha-512", "custom"];
const KAFKA_AUTHORIZATION = ["simple", "custom"];
const KAFKA_USER_AUTHENTICATION = ["tls", "tls-external", "scram-sha-512"];

/** What is wrong with one Strimzi object: a listener without TLS or authentication, or published outside the cluster; a cluster or user without authorization. */
function kafkaProblems(object: Block): string[] {
  if (!String(at(object, "apiVersion")).startsWith("kafka.strimzi.io/")) return [];
  const name = objectName(object);
  if (object.kind === "Kafka") {
    const listeners = asList(at(object, "spec.kafka.listeners")) as Block[];
    const everyone = at(object, "spec.kafka.config") as Block | undefined;
    return [
      ...listeners.flatMap((listener) => [
        ...(listener.tls === true ? [] : [`${name}: listener ${String(listener.name)} has tls ${JSON.stringify(listener.tls) ?? "unset"}, needs true`]),
        ...(KAFKA_LISTENER_AUTHENTICATION.includes(String(at(listener, "authentication.type"))) ? [] : [`${name}: listener ${String(listener.name)} has no authentication`]),
        ...(KAFKA_IN_CLUSTER_LISTENERS.includes(String(listener.type)) ? [] : [`${name}: listener ${String(listener.name)} of type ${String(listener.type)} is reachable from outside the cluster`]),
      ]),
      ...(KAFKA_AUTHORIZATION.includes(String(at(object, "spec.kafka.authorization.type"))) ? [] : [`${name}: spec.kafka.authorization is not set (every authenticated client may do anything)`]),
      ...(String(everyone?.["allow.everyone.if.no.acl.found"]) === "true" ? [`${name}: spec.kafka.config allow.everyone.if.no.acl.found is true`] : []),
    ];
  }
  if (object.kind === "KafkaUser") {
    return [
      ...(KAFKA_USER_AUTHENTICATION.includes(String(at(object, "spec.authentication.type"))) ? [] : [`${name}: spec.authentication is not set`]),
      ...(at(object, "spec.authorization.type") === "simple" ? [] : [`${name}: spec.authorization is not simple (the user's ACLs)`]),
    ];
  }
  return [];
}

/**
 * Kafka brokers not run by the Strimzi operator. acryldata/datahub-helm datahub-prerequisites-0.3.0
 * charts/prerequisites/values.yaml (../shared/charts/datahub-prerequisites/values.yaml): `kafka`
 * (Bitnami, `bitnamilegacy/kafka`, PLAINTEXT client and inter-broker listeners) is enabled by
 * default (absent is on), `cp-helm-charts` (Confluent, plain listeners) is off by default. Either
 * brings back an unauthenticated Kafka beside the Strimzi one; so does the Bitnami or Confluent
 * chart installed on its own.
 */
const OTHER_KAFKA_CHARTS = ["kafka", "cp-helm-charts", "cp-kafka"];
function kafkaChartProblems(resource: Block): string[] {
  if (OTHER_KAFKA_CHARTS.includes(String(resource.chart))) return [`chart ${String(resource.chart)} runs a Kafka the Strimzi operator does not manage (plain listeners by default)`];
  if (resource.chart !== "datahub-prerequisites") return [];
  const values = mergedValues(resource);
  return [
    ...(at(values, "kafka.enabled") === false ? [] : [`kafka.enabled is ${JSON.stringify(at(values, "kafka.enabled")) ?? "unset (the chart's true)"}: the Bitnami Kafka listens in PLAINTEXT`]),
    ...(at(values, "cp-helm-charts.enabled") === true ? ["cp-helm-charts.enabled is true: the Confluent Kafka has no TLS or authentication"] : []),
  ];
}

/**
 * The settings of an opensearch.yml, flattened to OpenSearch's dotted names: nested
 * `plugins: security: disabled: true` and flat `plugins.security.disabled: true` give the same
 * key, as OpenSearch reads them (its Settings loader flattens maps). Lists stay as given.
 */
function openSearchSettings(text: string): Map<string, unknown> {
  const settings = new Map<string, unknown>();
  const flatten = (value: unknown, prefix: string): void => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) flatten(inner, prefix === "" ? key : `${prefix}.${key}`);
    } else if (prefix !== "") settings.set(prefix, value);
  };
  flatten(parseYaml(text), "");
  return settings;
}

const envValue = (env: unknown, name: string) => (asList(env).find((entry) => at(entry, "name") === name) as Block | undefined)?.value;

/**
 * What is wrong with an OpenSearch chart's values (opensearch-project/helm-charts opensearch-2.19.0,
 * the datahub-prerequisites subchart: `config` is written as the node's config files,
 * `securityConfig.enabled` mounts the security plugin's users and roles, `protocol` is how the
 * chart's probes and clients speak to it, `extraEnvs` reach the image's entrypoint). The image's
 * entrypoint (opensearch-project/opensearch-build docker/release/config/opensearch/
 * opensearch-docker-entrypoint-2.x.sh at 4372bf7) turns the plugin off on
 * DISABLE_SECURITY_PLUGIN=true and otherwise installs the demo configuration (demo certificates,
 * well-known users) unless DISABLE_INSTALL_DEMO_CONFIG=true.
 */
function openSearchProblems(values: Block): string[] {
  const yml = at(values, "config") as Block | undefined;
  const settings = openSearchSettings(String(yml?.["opensearch.yml"] ?? ""));
  const env = values.extraEnvs;
  // The entrypoint's runOpensearch passes every variable named like a setting
  // (`^[a-z0-9_]+\.[a-z0-9_]+`, non-empty) as -E<name>=<value>, which wins over opensearch.yml.
  for (const entry of asList(env)) {
    const name = String(at(entry, "name"));
    const value = at(entry, "value");
    if (/^[a-z0-9_]+\.[a-z0-9_]+/.test(name) && value !== undefined && value !== "") settings.set(name, value);
  }
  return [
    ...(String(settings.get("plugins.security.disabled")) === "true" || envValue(env, "DISABLE_SECURITY_PLUGIN") === "true" ? ["the security plugin is disabled"] : []),
    // opensearch-project/security 2.13.0.0 ConfigConstants.java: SECURITY_SSL_ONLY, SECURITY_CONFIG_SSL_DUAL_MODE_ENABLED;
    // OpenSearchSecurityPlugin.java: "run in ssl only mode. No authentication or authorization is performed".
    ...(String(settings.get("plugins.security.ssl_only")) === "true" ? ["plugins.security.ssl_only is true: TLS without authentication or authorization"] : []),
    ...(String(settings.get("plugins.security_config.ssl_dual_mode_enabled")) === "true" ? ["plugins.security_config.ssl_dual_mode_enabled is true: plain-text transport connections are accepted"] : []),
    ...(at(values, "securityConfig.enabled") === false ? ["securityConfig.enabled is false (no users or roles of ours)"] : []),
    ...(envValue(env, "DISABLE_INSTALL_DEMO_CONFIG") === "true" ? [] : ["DISABLE_INSTALL_DEMO_CONFIG is not true: the image installs the demo certificates and users"]),
    ...(String(settings.get("plugins.security.ssl.http.enabled")) === "true" ? [] : ["plugins.security.ssl.http.enabled is not true in opensearch.yml (REST API over plain HTTP)"]),
    ...(settings.has("plugins.security.ssl.transport.pemcert_filepath") || settings.has("plugins.security.ssl.transport.keystore_filepath") ? [] : ["no transport TLS certificate in opensearch.yml"]),
    ...((values.protocol ?? "https") === "https" ? [] : [`protocol is ${String(values.protocol)}, needs https`]),
  ];
}

/**
 * The chart keys that render an Ingress (or Gateway route) with a host, per chart at the pinned
 * version (../shared/charts/<chart>/template-refs.json, derived from the chart's templates:
 * metabase-2.26.0, airflow-1.19.0, airbyte 1.9.2 and 2.2.0, datahub-1.1.0, grafana 12.11.1,
 * kube-prometheus-stack 88.5.3; each defaults to off in its values.yaml), and the key that puts
 * the app behind the provider when that route is on (the app's own OIDC). A route with no such
 * key serves the app without sign-in: with `sso` it must be off, and the sso proxy serve the host.
 */
const GRAFANA_OIDC = (prefix: string) => (values: unknown) => [
  ...(at(values, `${prefix}grafana.ini.auth.generic_oauth.enabled`) === true ? [] : [`${prefix}grafana.ini.auth.generic_oauth.enabled is not true`]),
  ...(at(values, `${prefix}grafana.ini.auth.disable_login_form`) === true ? [] : [`${prefix}grafana.ini.auth.disable_login_form is not true (the password form stays)`]),
];

/**
 * Airflow signed in by FAB's OAuth, and nothing else:
 * - the API server's webserver_config.py (chart 1.19.0 `apiServer.apiServerConfig`, or
 *   `webserver.webserverConfig` of Airflow 2) sets AUTH_TYPE to AUTH_OAUTH (Flask-AppBuilder
 *   flask_appbuilder/const.py; written bare or as `<module>.AUTH_OAUTH`), read as Python does: the
 *   last assignment at the start of a line wins;
 * - `config.core.auth_manager` is unset (the chart's and Airflow 3's default under the FAB
 *   provider) or FAB's: another auth manager never reads webserver_config.py;
 * - no password user: apache/airflow chart 1.19.0 values.yaml `createUserJob.enabled: true`
 *   creates `defaultUser` admin/admin, and providers/fab fab_auth_manager.py `create_token`
 *   (apache/airflow f17d6ffb) calls `auth_user_db(username, password)` for every AUTH_TYPE but
 *   LDAP, so `POST /auth/token` trades that password for a JWT past the provider. The key must
 *   be false explicitly (absent is the chart's true).
 */
const FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager";
function airflowOidc(values: unknown): string[] {
  const config = String(at(values, "apiServer.apiServerConfig") ?? at(values, "webserver.webserverConfig") ?? "");
  const assignments = [...config.matchAll(/^AUTH_TYPE\s*=\s*(.*)$/gm)].map((m) => m[1].trim());
  const last = assignments[assignments.length - 1];
  const manager = at(values, "config.core.auth_manager");
  return [
    ...(last !== undefined && /^(?:[\w.]+\.)?AUTH_OAUTH\b/.test(last) ? [] : [`webserver_config.py sets AUTH_TYPE to ${last ?? "nothing"}, needs AUTH_OAUTH`]),
    ...(manager === undefined || manager === FAB_AUTH_MANAGER ? [] : [`config.core.auth_manager is ${String(manager)}, not FAB's (webserver_config.py is not read)`]),
    ...(at(values, "createUserJob.enabled") === false ? [] : [`createUserJob.enabled is ${JSON.stringify(at(values, "createUserJob.enabled")) ?? "unset (the chart's true)"}: a password user gets API tokens at /auth/token past the provider`]),
  ];
}

/**
 * DataHub's password endpoints, at the DataHub version of chart datahub-1.1.0
 * (datahub-project/datahub datahub-frontend/conf/routes: `POST /logIn` (JAAS and native users),
 * `POST /signUp` and `POST /resetNativeUserCredentials` (native users' invite and reset links)).
 */
export const DATAHUB_PASSWORD_PATHS = ["/logIn", "/signUp", "/resetNativeUserCredentials"] as const;
/** DataHub's frontend signs in with OIDC (datahub-1.1.0 datahub-frontend `oidcAuthentication`). */
const datahubOidc = (values: unknown) => (at(values, "datahub-frontend.oidcAuthentication.enabled") === true ? [] : ["datahub-frontend.oidcAuthentication.enabled is not true"]);

/**
 * With `sso`, DataHub's password login is not on its public host. DataHub docs
 * (datahub-project/datahub docs/authentication/guides/sso/configure-oidc-react.md): "enabling OIDC
 * will not disable the dummy JAAS authentication path ... specify AUTH_JAAS_ENABLED=false"; native
 * (invited) users likewise (datahub-frontend/conf/application.conf `auth.native.enabled =
 * ${?AUTH_NATIVE_ENABLED}`). Either both are "false" in the frontend's env, or every password
 * endpoint is refused on every frontend host (`refusedOnHost`).
 */
function datahubPasswordLogin(release: Block, ctx: PolicyContext): string[] {
  const values = mergedValues(release);
  if (ctx.env?.sso === undefined || release.chart !== "datahub" || at(values, "datahub-frontend.ingress.enabled") !== true) return [];
  const env = at(values, "datahub-frontend.extraEnvs");
  const off = (name: string) => String(envValue(env, name)) === "false";
  if (off("AUTH_JAAS_ENABLED") && off("AUTH_NATIVE_ENABLED")) return [];
  const hosts = asList(at(values, "datahub-frontend.ingress.hosts")).map((h) => String(at(h, "host")));
  const open = DATAHUB_PASSWORD_PATHS.filter((path) => !hosts.every((host) => refusedOnHost(ctx, host, path)));
  return open.length === 0 ? [] : [`DataHub's password login (AUTH_JAAS_ENABLED and AUTH_NATIVE_ENABLED not both false) is reachable on ${hosts.join(", ")} at ${open.join(", ")}`];
}

/**
 * Whether Traefik refuses every client a request to `host` + `path`: an Ingress of the stack
 * routes that host and path (pathType Exact, or Prefix on a path segment boundary: Kubernetes
 * Ingress semantics) through a Middleware (annotation `traefik.ingress.kubernetes.io/router.middlewares`,
 * traefik v3.7.9 pkg/provider/kubernetes/ingress/annotations.go; the CRD provider names a Middleware
 * `<namespace>-<name>`, pkg/provider/kubernetes/crd/kubernetes.go `makeID`, `@kubernetescrd` its provider)
 * that is an ipAllowList admitting no client: traefik v3.7.9 pkg/middlewares/ipallowlist/ip_allowlist.go
 * rejects every client IP outside `sourceRange`, taken from the connection (RemoteAddrStrategy)
 * unless `ipStrategy` reads X-Forwarded-For (pkg/config/dynamic/middlewares.go `IPStrategy.Get`),
 * which a client writes itself. Only the unspecified addresses (0.0.0.0, ::) are no TCP peer's
 * address (loopback is: a process in Traefik's own pod).
 * Traefik orders routers by rule length (traefik v3.7.9 pkg/muxer/http/mux.go `GetRulePriority`:
 * `len(rule)`), so this Ingress's `Host && Path` rule precedes the chart's `Host && PathPrefix(/)`.
 * (The pinned chart traefik-41.3.0 ships Traefik v3.7.11; v3.7.9 is the nearest tag read.)
 */
const NO_CLIENT = new Set(["0.0.0.0", "0.0.0.0/32", "::", "::/128"]);
/**
 * Whether Traefik refuses every request of an Ingress: its routers name Middlewares of the stack
 * (every one must exist: a router naming a missing one is dropped, and its requests go to the
 * next router) and one is an ipAllowList admitting no client (see `refusedOnHost`).
 */
function refusesEveryone(all: readonly Block[], ingress: Block): boolean {
  // The key has dots: read from the annotations map, not through `at`.
  const names = String((at(ingress, "metadata.annotations") as Block | undefined)?.["traefik.ingress.kubernetes.io/router.middlewares"] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const middlewares = names.map((name) => all.find((m) => m.kind === "Middleware" && String(at(m, "apiVersion")).startsWith("traefik.io/") && `${String(at(m, "metadata.namespace"))}-${String(at(m, "metadata.name"))}@kubernetescrd` === name));
  return (
    names.length > 0 &&
    middlewares.every((m) => m !== undefined) &&
    middlewares.some((m) => {
      const list = at(m, "spec.ipAllowList") as Block | undefined;
      const ranges = asList(list?.sourceRange).map(String);
      return list !== undefined && list.ipStrategy === undefined && ranges.length > 0 && ranges.every((r) => NO_CLIENT.has(r));
    })
  );
}

function refusedOnHost(ctx: PolicyContext, host: string, path: string): boolean {
  const all = stackManifests(ctx);
  return all.some(
    (ingress) =>
      ingress.kind === "Ingress" &&
      refusesEveryone(all, ingress) &&
      asList(at(ingress, "spec.rules")).some(
        (rule) =>
          at(rule, "host") === host &&
          asList(at(rule, "http.paths")).some((p) => {
            const given = String(at(p, "path"));
            const type = at(p, "pathType");
            return type === "Exact" ? given === path : type === "Prefix" && (path === given || path.startsWith(given.endsWith("/") ? given : `${given}/`)) && given !== "/";
          }),
      ),
  );
}

type RouteCheck = { readonly path: string; readonly oidc?: (values: unknown, ctx: PolicyContext) => string[] };
/**
 * The chart keys that render an Ingress (or Gateway route) with a host, per chart at the pinned
 * version (../shared/charts/<chart>/template-refs.json, derived from the chart's templates:
 * metabase-2.26.0, airflow-1.19.0, airbyte 1.9.2 and 2.2.0, datahub-1.1.0, grafana 12.11.1,
 * kube-prometheus-stack 88.5.3, traefik 41.3.0; each defaults to off in its values.yaml), and what
 * puts the app behind the provider when that route is on (the app's own OIDC, and its password
 * login off): the problems it finds. A route with no such check serves the app without sign-in:
 * with `sso` it must be off, and the sso proxy serve the host.
 */
const CHART_ROUTES: Readonly<Record<string, readonly RouteCheck[]>> = {
  metabase: [{ path: "ingress.enabled" }],
  airflow: ["apiServer", "web", "flower", "pgbouncer", "statsd"]
    .map((name): RouteCheck => ({ path: `ingress.${name}.enabled`, oidc: name === "apiServer" || name === "web" ? airflowOidc : undefined }))
    .concat([{ path: "ingress.enabled" }]),
  airbyte: [{ path: "ingress.enabled" }, { path: "webapp.ingress.enabled" }],
  datahub: [
    { path: "datahub-frontend.ingress.enabled", oidc: datahubOidc },
    { path: "datahub-frontend.ingress.httproute.enabled", oidc: datahubOidc },
    { path: "datahub-gms.ingress.enabled" },
    { path: "datahub-mae-consumer.ingress.enabled" },
    { path: "datahub-mce-consumer.ingress.enabled" },
  ],
  grafana: [{ path: "ingress.enabled", oidc: GRAFANA_OIDC("") }],
  "kube-prometheus-stack": [
    { path: "grafana.ingress.enabled", oidc: GRAFANA_OIDC("grafana.") },
    ...["alertmanager.ingress", "alertmanager.ingressPerReplica", "prometheus.ingress", "prometheus.ingressPerReplica", "prometheus.thanosIngress", "thanosRuler.ingress"].map((key) => ({ path: `${key}.enabled` })),
  ],
  // traefik-helm-chart v41.3.0 traefik/values.yaml `ingressRoute.dashboard.enabled` (and
  // `healthcheck`): IngressRoutes to Traefik's own API and dashboard.
  traefik: [{ path: "ingressRoute.dashboard.enabled" }],
};

/** The sign-in proxy image: a Deployment running it in front of a Service is a signed-in route. */
const SSO_PROXY_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:";

/** Whether the Service `namespace/name` of the stack's manifests selects pods that run the sign-in proxy. */
function proxiedService(manifests: readonly Block[], namespace: string, name: string): boolean {
  const service = manifests.find((m) => m.kind === "Service" && at(m, "metadata.namespace") === namespace && at(m, "metadata.name") === name);
  const selector = Object.entries((at(service, "spec.selector") ?? {}) as Record<string, unknown>);
  if (service === undefined || selector.length === 0) return false;
  return manifests.some((m) => {
    if (!["Deployment", "StatefulSet", "DaemonSet"].includes(String(m.kind)) || at(m, "metadata.namespace") !== namespace) return false;
    const labels = (at(m, "spec.template.metadata.labels") ?? {}) as Record<string, unknown>;
    return selector.every(([key, value]) => labels[key] === value) && asList(at(m, "spec.template.spec.containers")).every((c) => String(at(c, "image")).startsWith(SSO_PROXY_IMAGE));
  });
}

/** Service types that publish a Service beside the ingress controller (Kubernetes docs, "Service", type NodePort and LoadBalancer). */
const PUBLISHING_SERVICE_TYPES = ["LoadBalancer", "NodePort"];
/**
 * The service-type keys each chart's templates read (../shared/charts/<chart>/template-refs.json)
 * whose default at the pinned version publishes the Service (its values.yaml, subcharts' under
 * subcharts/): datahub-1.1.0 subcharts datahub-frontend and datahub-gms values.yaml
 * `service.type: LoadBalancer`; airbyte 1.9.2 subchart connector-builder-server `service.type:
 * NodePort`; kube-prometheus-stack 88.5.3 `prometheus.thanosServiceExternal.type: LoadBalancer`
 * (rendered only with `prometheus.thanosServiceExternal.enabled`). __tests__/policies.test.ts
 * derives this table from those files. The key unset is the default.
 */
export const PUBLISHED_BY_DEFAULT: Readonly<Record<string, readonly { readonly key: string; readonly when?: string }[]>> = {
  datahub: [{ key: "datahub-frontend.service.type" }, { key: "datahub-gms.service.type" }],
  airbyte: [{ key: "connector-builder-server.service.type", when: "connector-builder-server.enabled" }],
  "kube-prometheus-stack": [{ key: "prometheus.thanosServiceExternal.type", when: "prometheus.thanosServiceExternal.enabled" }],
};

/** Paths in chart values of a service `type` (under a key naming a service) that publishes it. */
function publishedServiceTypes(values: unknown, path: readonly string[] = []): string[] {
  if (values === null || typeof values !== "object") return [];
  if (Array.isArray(values)) return values.flatMap((item, index) => publishedServiceTypes(item, [...path, String(index)]));
  return Object.entries(values as Block).flatMap(([key, value]) =>
    key === "type" && /service/i.test(path[path.length - 1] ?? "") && PUBLISHING_SERVICE_TYPES.includes(String(value)) ? [`${[...path, key].join(".")} is ${String(value)}`] : publishedServiceTypes(value, [...path, key]),
  );
}

/** The Services a route object sends to: Ingress backends, Traefik IngressRoute services, Gateway API backendRefs. */
function routeBackends(object: Block): { readonly name: string; readonly namespace: string }[] {
  const namespace = String(at(object, "metadata.namespace") ?? "default");
  if (object.kind === "Ingress") {
    return [at(object, "spec.defaultBackend"), ...asList(at(object, "spec.rules")).flatMap((rule) => asList(at(rule, "http.paths")).map((path) => at(path, "backend")))]
      .filter((b) => b !== undefined)
      .map((b) => ({ name: String(at(b, "service.name") ?? "a non-Service backend"), namespace }));
  }
  // traefik-helm-chart v41.3.0 crds traefik.io_ingressroutes.yaml (and TCP/UDP): spec.routes[].services[].{name, namespace, kind}.
  if (/^traefik\.(io|containo\.us)\//.test(String(object.apiVersion)) && /^IngressRoute(TCP|UDP)?$/.test(String(object.kind))) {
    return asList(at(object, "spec.routes")).flatMap((route) => asList(at(route, "services")).map((service) => ({ name: String(at(service, "name")), namespace: String(at(service, "namespace") ?? namespace) })));
  }
  // Gateway API v1 HTTPRoute (and GRPC/TLS/TCP/UDP routes): spec.rules[].backendRefs[].{name, namespace}.
  if (String(object.apiVersion).startsWith("gateway.networking.k8s.io/") && /Route$/.test(String(object.kind))) {
    return asList(at(object, "spec.rules")).flatMap((rule) => asList(at(rule, "backendRefs")).map((ref) => ({ name: String(at(ref, "name")), namespace: String(at(ref, "namespace") ?? namespace) })));
  }
  return [];
}

/** With `sso`, the route objects and published Services among `objects` that do not lead to the sign-in proxy. */
function objectBypasses(objects: readonly Block[], ctx: PolicyContext): string[] {
  if (ctx.env?.sso === undefined) return [];
  const all = stackManifests(ctx);
  return objects.flatMap((object) => {
    if (object.kind === "Service" && PUBLISHING_SERVICE_TYPES.includes(String(at(object, "spec.type")))) return [`${objectName(object)} is of type ${String(at(object, "spec.type"))}: published beside the ingress controller`];
    // Kubernetes API ServiceSpec.externalIPs: "IP addresses for which nodes in the cluster will also accept traffic for this service", whatever the type.
    if (object.kind === "Service" && asList(at(object, "spec.externalIPs")).length > 0) return [`${objectName(object)} has spec.externalIPs ${asList(at(object, "spec.externalIPs")).join(", ")}: published on the nodes beside the ingress controller`];
    // A route whose router refuses every client (DataHub's password paths) forwards nothing.
    if (object.kind === "Ingress" && refusesEveryone(all, object)) return [];
    const bare = routeBackends(object).filter((b) => !proxiedService(all, b.namespace, b.name));
    const hosts = object.kind === "Ingress" ? ` (${asList(at(object, "spec.rules")).map((rule) => String(at(rule, "host"))).join(", ")})` : "";
    return bare.length === 0 ? [] : [`${objectName(object)}${hosts} sends requests to ${[...new Set(bare.map((b) => b.name))].join(", ")}, not the sign-in proxy`];
  });
}

/** kubernetes_ingress_v1 as the provider writes it (hashicorp/kubernetes v2 schema: spec.default_backend, spec.rule[].http.path[].backend.service.name). */
const ingressResourceObject = (ingress: Block, ctx: PolicyContext): Block => ({
  kind: "Ingress",
  metadata: { name: at(ingress, "metadata.name"), namespace: namespaceName(ctx, at(ingress, "metadata.namespace")) },
  spec: {
    defaultBackend: at(ingress, "spec.default_backend"),
    rules: asList(at(ingress, "spec.rule")).map((rule) => ({ host: at(rule, "host"), http: { paths: asList(at(rule, "http.path")).map((path) => ({ backend: at(path, "backend") })) } })),
  },
});

/** With `sso`, what a release publishes without sign-in: a chart route with no OIDC, an Ingress not in front of the proxy. */
function ssoBypasses(release: Block, ctx: PolicyContext): string[] {
  if (ctx.env?.sso === undefined) return [];
  const values = mergedValues(release);
  const routes = CHART_ROUTES[String(release.chart)] ?? [{ path: "ingress.enabled" }];
  const charted = routes
    .filter((route) => at(values, route.path) === true)
    .flatMap((route) => {
      const missing = route.oidc === undefined ? ["the chart has no OIDC sign-in of its own"] : route.oidc(values, ctx);
      return missing.length === 0 ? [] : [`${route.path} is true without the app's own OIDC sign-in: ${missing.join("; ")}`];
    });
  const services =
    release.chart === "traefik"
      ? []
      : [
          ...publishedServiceTypes(values),
          ...(PUBLISHED_BY_DEFAULT[String(release.chart)] ?? []).filter((d) => at(values, d.key) === undefined && (d.when === undefined || at(values, d.when) === true)).map((d) => `${d.key} is unset: the chart's default publishes the Service`),
        ];
  return [...charted, ...services.map((problem) => `${problem} (published beside the ingress controller)`), ...objectBypasses(manifestsOf(release), ctx)];
}

/** The untrusted service accounts of the environment's apps (APP_CATALOGUE[app].untrusted): Airflow's task pods, Airbyte's connector pods. */
const untrustedAccounts = (ctx: PolicyContext) =>
  (ctx.env?.apps ?? []).flatMap((app) => {
    const { namespace, untrusted } = APP_CATALOGUE[app.name];
    return untrusted === undefined ? [] : [{ namespace, name: untrusted.serviceAccount }];
  });

/**
 * The bindings that give a service account Kubernetes rights: a RoleBinding or ClusterRoleBinding
 * naming it, or a group it belongs to (`system:serviceaccounts`, `system:serviceaccounts:<namespace>`:
 * Kubernetes docs, "Using RBAC Authorization", referring to subjects), or the User the account
 * authenticates as (`system:serviceaccount:<namespace>:<name>`: k8s.io/apiserver
 * pkg/authentication/serviceaccount/util.go `MakeUsername`; kubernetes pkg/registry/rbac/validation/rule.go
 * `appliesToUser` matches a User subject by that name). A ServiceAccount subject without a
 * namespace is in the binding's namespace. Charts that bind it themselves count too
 * (`chartBindings`).
 */
function bindingsOf(ctx: PolicyContext, namespace: string, name: string): string[] {
  const groups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
  const names = (subject: unknown, bindingNamespace: unknown) =>
    (at(subject, "kind") === "ServiceAccount" && at(subject, "name") === name && (at(subject, "namespace") ?? bindingNamespace) === namespace) ||
    (at(subject, "kind") === "Group" && groups.includes(String(at(subject, "name")))) ||
    (at(subject, "kind") === "User" && at(subject, "name") === `system:serviceaccount:${namespace}:${name}`);
  const fromManifests = stackManifests(ctx)
    .filter((m) => (m.kind === "RoleBinding" || m.kind === "ClusterRoleBinding") && asList(m.subjects).some((subject) => names(subject, at(m, "metadata.namespace"))))
    .map(objectName);
  const fromResources = ["kubernetes_role_binding_v1", "kubernetes_cluster_role_binding_v1", "kubernetes_role_binding", "kubernetes_cluster_role_binding"].flatMap((type) =>
    resourcesOf(ctx.stack, type)
      .filter(([, binding]) => asList(binding.subject).some((subject) => names(subject, namespaceName(ctx, at(binding, "metadata.namespace")))))
      .map(([id]) => `${type}.${id}`),
  );
  return [...fromManifests, ...fromResources, ...chartBindings(ctx, namespace, name)];
}

/**
 * Bindings a chart renders for an account. apache/airflow chart/templates/rbac/pod-launcher-rolebinding.yaml
 * (chart 1.19.0 at f17d6ffb, as review 12 quotes it; read here at 4ff4f33): `if and
 * .Values.rbac.create .Values.allowPodLaunching` (both true by default in values.yaml), and with
 * an executor of `$workerLaunchExecutors` (Celery, Kubernetes, LocalKubernetes,
 * CeleryKubernetes) among `executor` its subjects are the scheduler's, the workers' (the account
 * task pods run as, `workers.serviceAccount.name`, or the dedicated celery/kubernetes ones) and
 * the triggerer's accounts: pods create/delete and exec. The release keeps an untrusted account
 * out only with `rbac.create: false`, written (absent is the chart's true).
 */
const AIRFLOW_BOUND_ACCOUNTS = ["workers.serviceAccount.name", "workers.kubernetes.serviceAccount.name", "workers.celery.serviceAccount.name", "scheduler.serviceAccount.name", "triggerer.serviceAccount.name"];
function chartBindings(ctx: PolicyContext, namespace: string, name: string): string[] {
  return resourcesOf(ctx.stack, "helm_release")
    .filter(([, release]) => release.chart === "airflow" && release.namespace === namespace)
    .flatMap(([id, release]) => {
      const values = mergedValues(release);
      return AIRFLOW_BOUND_ACCOUNTS.some((key) => at(values, key) === name) && at(values, "rbac.create") !== false
        ? [`helm_release.${id} (airflow chart) with rbac.create ${JSON.stringify(at(values, "rbac.create")) ?? "unset (the chart's true)"}: its pod-launcher RoleBinding`]
        : [];
    });
}

/**
 * The chart keys that name the account an app's untrusted pods run as, per chart at the pinned
 * version; the account must be the catalogue's `untrusted.serviceAccount` (a powerless account
 * protects nothing if the pods run as another):
 * - airflow 1.19.0 (apache/airflow f17d6ffb chart/files/pod-template-file.kubernetes-helm-yaml,
 *   the KubernetesExecutor's task pods: `serviceAccountName: {{ include "worker.serviceAccountName" . }}`;
 *   chart/templates/_helpers.yaml `_serviceAccountName`: with `workers.serviceAccount.create` the
 *   chart makes and names its own `<release>-worker` account, else `workers.serviceAccount.name`,
 *   "default" when empty). The top-level `podTemplate` (values.yaml, `~` by default) replaces that
 *   file entirely, so the account it names cannot be read from the values: it must stay unset.
 * - airbyte 2.2.0 (templates/config/_jobs.tpl "airbyte.jobs.kube.serviceAccount", as
 *   constructs/apps/airbyte.ts cites it): `global.serviceAccountName` becomes JOB_KUBE_SERVICEACCOUNT,
 *   the account the workload launcher gives every connector pod; an `extraEnv` of the launcher
 *   with that name would win over it (an explicit `env` entry over `envFrom`: Kubernetes API,
 *   Container.envFrom "Values defined by an Env with a duplicate key will take precedence").
 */
const UNTRUSTED_POD_ACCOUNT: Readonly<Record<string, (values: Block, account: string) => string[]>> = {
  airflow: (values, account) => [
    ...(at(values, "workers.serviceAccount.create") === false ? [] : [`workers.serviceAccount.create is ${JSON.stringify(at(values, "workers.serviceAccount.create")) ?? "unset (the chart's true)"}: task pods run as the chart's own worker account, not ${account}`]),
    ...(at(values, "workers.serviceAccount.name") === account ? [] : [`workers.serviceAccount.name is ${JSON.stringify(at(values, "workers.serviceAccount.name")) ?? "unset"}: task pods do not run as ${account}`]),
    ...(at(values, "podTemplate") === undefined || at(values, "podTemplate") === null ? [] : [`podTemplate is set: it replaces the chart's pod template, and the task pods' account is not ${account} by the chart's keys`]),
  ],
  airbyte: (values, account) => {
    const launcherEnv = envValue(at(values, "workloadLauncher.extraEnv"), "JOB_KUBE_SERVICEACCOUNT");
    return [
      ...(at(values, "global.serviceAccountName") === account ? [] : [`global.serviceAccountName is ${JSON.stringify(at(values, "global.serviceAccountName")) ?? "unset"}: connector pods do not run as ${account}`]),
      ...(launcherEnv === undefined || launcherEnv === account ? [] : [`workloadLauncher.extraEnv JOB_KUBE_SERVICEACCOUNT is ${JSON.stringify(launcherEnv)}: connector pods do not run as ${account}`]),
    ];
  },
};

/** What is wrong with the account a release's untrusted pods run as (the app's chart, in an environment that runs the app). */
function untrustedPodAccountProblems(release: Block, ctx: PolicyContext): string[] {
  const check = UNTRUSTED_POD_ACCOUNT[String(release.chart)];
  const app = (ctx.env?.apps ?? []).find((a) => a.name === release.chart);
  const account = app === undefined ? undefined : APP_CATALOGUE[app.name].untrusted?.serviceAccount;
  return check === undefined || account === undefined ? [] : check(mergedValues(release), account);
}

/** Network policy engines AKS enforces NetworkPolicy with (terraform-provider-azurerm v4.55.0 internal/services/containers/kubernetes_cluster_resource.go `network_policy`: calico, azure, cilium; unset is none). */
const AKS_NETWORK_POLICIES = ["calico", "azure", "cilium"];

/**
 * Whether the clusters enforce the NetworkPolicies the apps stacks write (a NetworkPolicy without
 * an enforcing network plugin does nothing: Kubernetes docs, "Network Policies", prerequisites).
 * - EKS: the VPC CNI enforces them only when its configuration says so (aws/amazon-vpc-cni-k8s
 *   v1.23.0 charts/aws-vpc-cni/values.yaml `enableNetworkPolicy: "false"`, the add-on's schema),
 *   set on the aws_eks_addon vpc-cni's configuration_values.
 * - AKS: network_profile.network_policy one of AKS_NETWORK_POLICIES.
 * - GKE: Dataplane V2 (terraform-provider-google v6.50.0 resource_container_cluster.go
 *   `datapath_provider` ADVANCED_DATAPATH; the default is the iptables kube-proxy datapath) or the
 *   Calico network policy add-on (`network_policy.enabled`).
 */
function vpcCniProblems(_cluster: Block, ctx: PolicyContext, id: string): string[] {
  const addons = resourcesOf(ctx.stack, "aws_eks_addon").filter(([, addon]) => addon.addon_name === "vpc-cni" && references(addon.cluster_name, "aws_eks_cluster", id));
  if (addons.length === 0) return ["no aws_eks_addon vpc-cni for the cluster: the self-managed CNI does not enforce NetworkPolicy unless configured"];
  return addons.flatMap(([addonId, addon]) => {
    let config: unknown;
    try {
      config = JSON.parse(String(addon.configuration_values ?? "{}"));
    } catch {
      config = undefined;
    }
    return String(at(config, "enableNetworkPolicy")) === "true" ? [] : [`aws_eks_addon.${addonId} configuration_values enableNetworkPolicy is ${JSON.stringify(at(config, "enableNetworkPolicy")) ?? "unset (the add-on's \"false\")"}, needs "true"`];
  });
}

/** What the apps stacks put on the cluster, on every cloud. */
export const KUBERNETES: readonly Rule[] = [
  {
    id: "network-policy-enforced",
    pack: "kubernetes",
    title: "The cluster enforces NetworkPolicy (the namespaces' default deny does nothing otherwise)",
    fix: 'EKS: configuration_values {"enableNetworkPolicy": "true"} on the vpc-cni add-on; AKS: network_profile.network_policy cilium (or azure, calico); GKE: datapath_provider ADVANCED_DATAPATH (or network_policy.enabled)',
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_eks_cluster"], check: vpcCniProblems },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster"],
        check: (cluster) => (AKS_NETWORK_POLICIES.includes(String(at(cluster, "network_profile.network_policy"))) ? [] : [`network_profile.network_policy is ${JSON.stringify(at(cluster, "network_profile.network_policy")) ?? "not set"}, needs one of ${AKS_NETWORK_POLICIES.join(", ")}`]),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => (cluster.datapath_provider === "ADVANCED_DATAPATH" || at(cluster, "network_policy.enabled") === true ? [] : [`datapath_provider is ${JSON.stringify(cluster.datapath_provider) ?? "not set"} and network_policy is not enabled: nothing enforces NetworkPolicy`]),
      },
    ],
  },
  {
    id: "namespace-pod-security",
    pack: "kubernetes",
    title: "Every namespace enforces a Pod Security level; privileged only with a written reason",
    fix: `declare every namespace as kubernetes_namespace_v1 and label it ${ENFORCE} (restricted where the workloads allow, else baseline); privileged needs the ${PRIVILEGED_REASON} annotation`,
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace) => {
          const level = at(namespace, `metadata.labels`) as Record<string, unknown> | undefined;
          const enforce = level?.[ENFORCE];
          if (!LEVELS.includes(String(enforce))) return [`label ${ENFORCE} is ${JSON.stringify(enforce) ?? "not set"}, needs one of ${LEVELS.join(", ")}`];
          const annotations = (at(namespace, "metadata.annotations") ?? {}) as Record<string, unknown>;
          return enforce === "privileged" && typeof annotations[PRIVILEGED_REASON] !== "string" ? [`privileged without the ${PRIVILEGED_REASON} annotation`] : [];
        },
      },
      {
        // The namespace rules (Pod Security, default deny, untrusted accounts) read kubernetes_namespace_v1:
        // a namespace made any other way (helm_release create_namespace, a Namespace object, the
        // deprecated kubernetes_namespace) would escape them.
        cloud: "any",
        kind: "apps",
        types: ["helm_release", "kubernetes_manifest", "kubernetes_namespace"],
        check: (resource) => [
          ...(resource.create_namespace === true ? [`create_namespace is true: namespace ${String(resource.namespace)} is made outside kubernetes_namespace_v1 (no Pod Security label, no default deny)`] : []),
          ...manifestsOf(resource)
            .filter((m) => m.kind === "Namespace")
            .map((m) => `Namespace ${String(at(m, "metadata.name"))} is made outside kubernetes_namespace_v1 (no Pod Security label, no default deny)`),
          ...(resource.chart === undefined && resource.manifest === undefined && resource.metadata !== undefined ? [`kubernetes_namespace ${String(at(resource, "metadata.name"))}: declare it as kubernetes_namespace_v1`] : []),
        ],
      },
    ],
  },
  {
    id: "namespace-pod-security-restricted",
    pack: "kubernetes",
    title: "Every namespace enforces the restricted Pod Security level, or says which pod needs less and why",
    fix: `label the namespace ${ENFORCE}: restricted; where a pod cannot meet it, annotate the namespace ${PRIVILEGED_REASON} with the pod and the reason`,
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace) => {
          const enforce = (at(namespace, "metadata.labels") as Record<string, unknown> | undefined)?.[ENFORCE];
          const reason = ((at(namespace, "metadata.annotations") ?? {}) as Record<string, unknown>)[PRIVILEGED_REASON];
          return enforce === "restricted" || (typeof reason === "string" && reason.trim().length > 0) ? [] : [`label ${ENFORCE} is ${JSON.stringify(enforce) ?? "not set"}, not restricted, without the ${PRIVILEGED_REASON} annotation`];
        },
      },
    ],
  },
  {
    id: "chart-pinned",
    pack: "kubernetes",
    title: "Every Helm release pins an exact chart version from an HTTPS or OCI repository",
    fix: "set the chart's exact version (no range) and an https:// or oci:// repository",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        check: (release) => [
          ...(EXACT_VERSION.test(String(release.version ?? "")) ? [] : [`version is ${JSON.stringify(release.version) ?? "not set"}, needs an exact version`]),
          ...(release.repository === undefined || /^(https|oci):\/\//.test(String(release.repository)) ? [] : [`repository ${String(release.repository)} is not https:// or oci://`]),
        ],
      },
    ],
  },
  {
    id: "no-credential-in-values",
    pack: "kubernetes",
    title: "No credential in Helm values (they are in the plan, the state and the release Secret)",
    fix: "reference a Kubernetes Secret filled by External Secrets instead of writing the value",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        // Every values document and every set/set_list/set_sensitive/set_wo entry is in the configuration (set_wo too: the synthesized JSON carries it).
        check: (release) => [...releaseValues(release).flatMap((values) => credentialLiterals(values)), ...credentialLiterals(setEntryValues(release)).map((p) => `set entry ${p}`), ...(release.set_sensitive === undefined ? [] : ["set_sensitive puts a credential in the configuration"])],
      },
    ],
  },
  {
    id: "namespace-default-deny",
    pack: "kubernetes",
    title: "Every namespace has a default-deny NetworkPolicy, and no policy beside it allows everything",
    fix: "add a NetworkPolicy with an empty podSelector, policyTypes Ingress and Egress and no rules, then allow only the app's flows (each rule with peers or ports)",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace, ctx) => defaultDenyProblems(ctx, String(at(namespace, "metadata.name"))),
      },
    ],
  },
  {
    id: "https-redirect",
    pack: "kubernetes",
    title: "The ingress controller redirects HTTP to HTTPS",
    fix: "redirect Traefik's web entry point to websecure (ports.web.http.redirections.entryPoint: { to: websecure, scheme: https, permanent: true })",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        // traefik-helm-chart v41.3.0 traefik/templates/_podtemplate.tpl: `with $config.http` ->
        // `with (.redirections).entryPoint` renders --entryPoints.web.http.redirections.entryPoint.to
        // from ports.web.http.redirections.entryPoint.to (an entry point key of `ports`), and
        // fails the chart when the target has TLS and `scheme` is set to anything but https.
        check: (release) => {
          if (release.chart !== "traefik") return [];
          const redirect = at(mergedValues(release), "ports.web.http.redirections.entryPoint");
          if (at(redirect, "to") !== "websecure") return ["ports.web.http.redirections.entryPoint.to is not websecure"];
          const scheme = at(redirect, "scheme");
          return scheme === undefined || scheme === "https" ? [] : [`ports.web.http.redirections.entryPoint.scheme is ${String(scheme)}`];
        },
      },
    ],
  },
  {
    id: "kafka-authenticated",
    pack: "kubernetes",
    title: "Kafka serves TLS listeners inside the cluster only, with authentication and ACLs",
    fix: "run Kafka only through Strimzi (datahub-prerequisites kafka.enabled: false, no cp-helm-charts); give every listener of the Strimzi Kafka tls: true, an authentication type and an in-cluster type (internal), set spec.kafka.authorization (simple), and give every KafkaUser an authentication and simple authorization (its ACLs)",
    checks: [{ cloud: "any", kind: "apps", types: ["helm_release", "kubernetes_manifest"], check: (resource) => [...manifestsOf(resource).flatMap(kafkaProblems), ...kafkaChartProblems(resource)] }],
  },
  {
    id: "opensearch-secured",
    pack: "kubernetes",
    title: "OpenSearch runs its security plugin with TLS, and DataHub signs in to it over TLS",
    fix: "keep the security plugin on with our users and roles (securityConfig), DISABLE_INSTALL_DEMO_CONFIG=true, TLS on the transport and the REST API (plugins.security.ssl.*) and protocol https; set DataHub's global.elasticsearch.useSSL and auth.username",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        check: (release) =>
          [mergedValues(release)].flatMap((values) => {
            if (release.chart === "opensearch") return openSearchProblems(values as Block);
            // datahub-prerequisites-0.3.0 values.yaml: `elasticsearch` (Elastic's 7.17.3 chart, no security settings of ours) is off by default.
            if (release.chart === "datahub-prerequisites" && at(values, "elasticsearch.enabled") === true) return ["elasticsearch.enabled is true: an Elasticsearch without the security checks of OpenSearch"];
            if (at(values, "opensearch.enabled") === true) return openSearchProblems(at(values, "opensearch") as Block);
            // The client: DataHub's charts connect to the search store with global.elasticsearch (datahub-helm datahub-1.1.0 values.yaml).
            if (release.chart === "datahub" && at(values, "global.elasticsearch.host") !== undefined) {
              return [
                ...(String(at(values, "global.elasticsearch.useSSL")) === "true" ? [] : ["global.elasticsearch.useSSL is not true"]),
                ...(at(values, "global.elasticsearch.auth.username") === undefined ? ["global.elasticsearch.auth.username is not set"] : []),
                // acryldata/datahub-helm datahub-1.1.0 charts/datahub/templates/_helpers.tpl maps it to ELASTICSEARCH_INSECURE (certificates not verified; VALUES_REFERENCE.md: "Should be disabled in production").
                ...(String(at(values, "global.elasticsearch.insecure")) === "true" ? ["global.elasticsearch.insecure is true (the search store's certificate is not verified)"] : []),
              ];
            }
            return [];
          }),
      },
    ],
  },
  {
    id: "sso-every-host",
    pack: "kubernetes",
    title: "With sso, every app host is behind sign-in: the app's own OIDC or the sign-in proxy",
    fix: "turn the chart's own route off and serve the host through the sso proxy (constructs/apps/sso.ts), or turn on the app's OIDC sign-in with its password login off: Airflow createUserJob.enabled false under FAB, Grafana disable_login_form, DataHub AUTH_JAAS_ENABLED and AUTH_NATIVE_ENABLED false or its password paths refused on the public host",
    checks: [
      { cloud: "any", kind: "apps", types: ["helm_release"], check: ssoBypasses },
      // The same routes written as Terraform resources (kubernetes_manifest, kubernetes_ingress_v1, kubernetes_service_v1).
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_manifest", "kubernetes_ingress_v1", "kubernetes_service_v1"],
        check: (resource, ctx) =>
          resource.manifest !== undefined
            ? objectBypasses(manifestsOf(resource), ctx)
            : at(resource, "spec.rule") !== undefined || at(resource, "spec.default_backend") !== undefined
              ? objectBypasses([ingressResourceObject(resource, ctx)], ctx)
              : objectBypasses([{ kind: "Service", metadata: { name: at(resource, "metadata.name"), namespace: namespaceName(ctx, at(resource, "metadata.namespace")) }, spec: { type: at(resource, "spec.type"), externalIPs: at(resource, "spec.external_ips") } }], ctx),
      },
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        check: datahubPasswordLogin,
      },
    ],
  },
  {
    id: "untrusted-accounts-powerless",
    pack: "kubernetes",
    title: "Untrusted workloads (Airflow tasks, Airbyte connectors) run under accounts with no token and no Kubernetes rights",
    fix: "set automount_service_account_token = false on the account and bind no Role or ClusterRole to it (nor to system:serviceaccounts groups, nor to its User system:serviceaccount:<ns>:<name>); set the Airflow chart's rbac.create: false; run the untrusted pods as that account (Airflow workers.serviceAccount {create: false, name}, no podTemplate; Airbyte global.serviceAccountName)",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_service_account_v1"],
        check: (account, ctx) => {
          const namespace = String(at(account, "metadata.namespace"));
          const name = String(at(account, "metadata.name"));
          if (!untrustedAccounts(ctx).some((a) => a.namespace === namespace && a.name === name)) return [];
          return [...(account.automount_service_account_token === false ? [] : ["automount_service_account_token is not false"]), ...bindingsOf(ctx, namespace, name).map((binding) => `${binding} gives it Kubernetes rights`)];
        },
      },
      { cloud: "any", kind: "apps", types: ["helm_release"], check: untrustedPodAccountProblems },
      {
        // The account exists wherever the app runs: without it the app's untrusted pods fall back to another account.
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace, ctx) =>
          untrustedAccounts(ctx)
            .filter((a) => a.namespace === at(namespace, "metadata.name"))
            .filter((a) => !resourcesOf(ctx.stack, "kubernetes_service_account_v1").some(([, sa]) => at(sa, "metadata.name") === a.name && namespaceName(ctx, at(sa, "metadata.namespace")) === a.namespace))
            .map((a) => `no kubernetes_service_account_v1 ${a.namespace}/${a.name} for the app's untrusted pods`),
      },
    ],
  },
];
