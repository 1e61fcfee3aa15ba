/**
 * The metrics hub, read from synthesized apps stacks of the default environments (ops the hub on
 * AWS; prod and staging on AWS, staging-azure and staging-gcp on their clouds), and of ops moved
 * to Azure and GCP. Each side is checked against the rules of what consumes it:
 * - the Prometheus values against the kube-prometheus-stack 88.5.3 contract, and the fields the
 *   chart copies into the Prometheus object against the prometheus-operator v0.93.1 CRD (fields
 *   encoded below from example/prometheus-operator-crd/monitoring.coreos.com_prometheuses.yaml,
 *   as bundled in the chart's charts/crds/crds/crd-prometheuses.yaml);
 * - Kubernetes objects against the API server's schemas (objectProblems: the Traefik Middleware
 *   against its CRD from traefik-helm-chart v41.3.0, encoded in support/kubernetes/encoded-crds.ts);
 * - Traefik's reading of the users Secret and the ingress annotations, ESO's template engine,
 *   PromQL with the Prometheus project's parser.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { HUB_AUTH_MIDDLEWARE, HUB_PROMETHEUS_SERVICE, HUB_USERS_SECRET, HUB_WRITE_DROP, HUB_WRITE_DROP_RECORDED, REMOTE_WRITE_PATH, SENDER_SECRET } from "../../constructs/apps/observability/hub";
import { MONITORING_NAMESPACE, MONITORING_RELEASE } from "../../constructs/apps/monitoring";
import { METRIC_NAMES } from "../../constructs/apps/observability/metrics";
import { CLOUDS, monitoringHost, parseEnvironments, type Cloud, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { specChecks } from "../../stacks/app";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { synthApps } from "../support/fixtures";
import { objectProblems } from "../support/kubernetes/checks";
import { customResourceViolations } from "../support/kubernetes/crds";
import { renderedApps, type KubeObject, type RenderedApps } from "../../scripts/rendered-apps";
import { metricNames, syntaxErrors } from "../support/promql";
import { at, chartContract, isMap, list, type Values } from "../support/values";

interface Synthesized {
  readonly env: Environment;
  readonly text: string;
  readonly apps: RenderedApps;
  readonly monitoring: Values;
}

function synthesizeAll(inputs: readonly EnvironmentInput[]): Map<string, Synthesized> {
  const envs = parseEnvironments(inputs, undefined, specChecks);
  return new Map(
    envs.map((env) => {
      const text = synthApps(env, envs);
      const apps = renderedApps(text);
      const monitoring = apps.releases.find((release) => release.name === MONITORING_RELEASE)?.values;
      if (!monitoring) throw new Error(`${env.name}: no monitoring release`);
      return [env.name, { env, text, apps, monitoring }];
    }),
  );
}

const defaults = synthesizeAll(environments);
/** ops moved to another cloud ("change `cloud` only", environments/ops.ts), the senders as they are. */
const opsOn = (cloud: Cloud) => synthesizeAll(environments.map((input) => (input.name === "ops" ? { ...input, cloud } : input)));

const objectsOf = (stack: Synthesized, kind: string): KubeObject[] => stack.apps.objects.map(({ object }) => object).filter((object) => object.kind === kind);
const named = (stack: Synthesized, kind: string, name: string): KubeObject | undefined => objectsOf(stack, kind).find((object) => object.metadata.name === name);
const prometheusSpec = (stack: Synthesized) => at(stack.monitoring, "prometheus.prometheusSpec") as Values;

const senders = [...defaults.values()].filter((stack) => stack.env.metrics?.sendTo);
const hubs = [...defaults.values()].filter((stack) => (stack.env.metrics?.receiveFrom ?? []).length > 0);

/**
 * The Prometheus CRD (prometheus-operator v0.93.1) for the fields the link sets, as JSON Schema:
 * `scrapeClasses[]` (required `name`, minLength 1; `default`; `relabelings[]` RelabelConfig with
 * `action` in the CRD's enum), `externalLabels` (string map), `remoteWrite[]` (required `url`
 * matching `^(http|https)://.+$`; `basicAuth.{username,password}` SecretKeySelector with
 * required `key`; `queueConfig` integers and durations; `metadataConfig`; `writeRelabelConfigs`),
 * `tsdb.outOfOrderTimeWindow` (duration), `enableRemoteWriteReceiver` (boolean). Fields the CRD
 * does not declare are refused (the API server would prune them silently).
 */
const DURATION = { type: "string", pattern: "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$" };
const RELABEL_ACTIONS = ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod", "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep", "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual", "dropequal", "DropEqual"];
const RELABEL = {
  type: "object",
  additionalProperties: false,
  properties: {
    action: { type: "string", enum: RELABEL_ACTIONS },
    modulus: { type: "integer", minimum: 0 },
    regex: { type: "string" },
    replacement: { type: "string" },
    separator: { type: "string" },
    sourceLabels: { type: "array", items: { type: "string" } },
    targetLabel: { type: "string" },
  },
};
const SECRET_KEY = { type: "object", additionalProperties: false, required: ["key"], properties: { key: { type: "string" }, name: { type: "string" }, optional: { type: "boolean" } } };
const PROMETHEUS_LINK_FIELDS = {
  type: "object",
  properties: {
    scrapeClasses: {
      type: "array",
      items: { type: "object", additionalProperties: false, required: ["name"], properties: { name: { type: "string", minLength: 1 }, default: { type: "boolean" }, relabelings: { type: "array", items: RELABEL }, metricRelabelings: { type: "array", items: RELABEL } } },
    },
    externalLabels: { type: "object", additionalProperties: { type: "string" } },
    enableRemoteWriteReceiver: { type: "boolean" },
    tsdb: { type: "object", additionalProperties: false, properties: { outOfOrderTimeWindow: DURATION } },
    remoteWrite: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["url"],
        properties: {
          name: { type: "string" },
          url: { type: "string", pattern: "^(http|https)://.+$" },
          basicAuth: { type: "object", additionalProperties: false, properties: { username: SECRET_KEY, password: SECRET_KEY } },
          remoteTimeout: DURATION,
          followRedirects: { type: "boolean" },
          queueConfig: {
            type: "object",
            additionalProperties: false,
            properties: {
              batchSendDeadline: DURATION,
              capacity: { type: "integer" },
              maxBackoff: DURATION,
              maxRetries: { type: "integer" },
              maxSamplesPerSend: { type: "integer" },
              maxShards: { type: "integer" },
              minBackoff: DURATION,
              minShards: { type: "integer" },
              retryOnRateLimit: { type: "boolean" },
              sampleAgeLimit: DURATION,
            },
          },
          metadataConfig: { type: "object", additionalProperties: false, properties: { maxSamplesPerSend: { type: "integer", minimum: -1 }, send: { type: "boolean" }, sendInterval: DURATION } },
          writeRelabelConfigs: { type: "array", items: RELABEL },
        },
      },
    },
  },
};
const validateLinkFields = new Ajv({ strict: false, allErrors: true }).compile(PROMETHEUS_LINK_FIELDS);
const LINK_FIELDS = ["scrapeClasses", "externalLabels", "enableRemoteWriteReceiver", "tsdb", "remoteWrite"] as const;
function linkFieldErrors(spec: Values): string[] {
  const fields = Object.fromEntries(LINK_FIELDS.filter((field) => field in spec).map((field) => [field, spec[field]]));
  return validateLinkFields(fields) ? [] : (validateLinkFields.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ""}`);
}

/** Prometheus anchors relabel regexes (model/relabel: `^(?s:<regex>)$`). */
const relabelMatches = (regex: string, value: string) => new RegExp(`^(?:${regex})$`, "s").test(value);

/** Applies a list of write relabel configs (drop and labeldrop, the actions used) to a label set. */
/**
 * The keys of a relabel_config in Prometheus's own configuration (prometheus v3.14.0
 * model/relabel/relabel.go `Config` yaml tags), which Prometheus parses strictly: a raw list
 * the operator copies into prometheus.yaml (`additionalAlertRelabelConfigs`,
 * `additionalScrapeConfigs`) must use them, not the CRD's camelCase (`sourceLabels`).
 */
const PROMETHEUS_RELABEL_KEYS = new Set(["source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"]);
function rawRelabelProblems(configs: readonly Values[]): string[] {
  return configs.flatMap((config) => Object.keys(config).filter((key) => !PROMETHEUS_RELABEL_KEYS.has(key)).map((key) => `unknown relabel_config field ${key}`));
}

function relabel(configs: readonly Values[], labels: Record<string, string>): Record<string, string> | undefined {
  let current = { ...labels };
  for (const config of configs) {
    const regex = String(config.regex);
    if (config.action === "drop") {
      const value = list<string>(config.sourceLabels ?? config.source_labels).map((name) => current[name] ?? "").join(typeof config.separator === "string" ? config.separator : ";");
      if (relabelMatches(regex, value)) return undefined;
    } else if (config.action === "labeldrop") {
      current = Object.fromEntries(Object.entries(current).filter(([name]) => !relabelMatches(regex, name)));
    } else {
      throw new Error(`relabel action ${String(config.action)} not simulated here`);
    }
  }
  return current;
}


interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
const rulesOf = (object: KubeObject | undefined): Rule[] => list<Values>(at(object, "spec.groups")).flatMap((group) => list<Rule>(group.rules));

/**
 * ESO 2.9.0's template engine (runtime/template/v2/template.go): Go text/template with
 * `missingkey=error` over the synced keys as strings; `.name` reads a key only when it is a Go
 * identifier, `index . "name"` any key; `htpasswd` takes (username, password, hashAlgorithm)
 * (runtime/template/v2/sprig/crypto.go) and a username with ':' yields an error text instead of
 * a line; `trim` is strings.TrimSpace (runtime/template/v2/sprig/functions.go `"trim"`), the
 * only pipe accepted here. Checks each action of a template against that.
 */
function templateProblems(template: string, keys: readonly string[]): string[] {
  const problems: string[] = [];
  // The key of the enclosing `with`, whose trimmed value is `.` inside it (text/template: `with`
  // runs its body only when the pipeline's value is not empty).
  let withKey: string | undefined;
  for (const [, action] of template.matchAll(/\{\{(.*?)\}\}/g)) {
    const body = action.trim();
    const field = /^\.(\S+?)(?: \| trim)?$/.exec(body);
    const guard = /^with index \. "([^"]*)" \| trim$/.exec(body);
    const guarded = /^htpasswd "([^"]*)" \. "(sha|bcrypt)"$/.exec(body);
    const call = /^htpasswd "([^"]*)" \(index \. "([^"]*)"(?: \| trim)?\) "(sha|bcrypt)"$/.exec(body);
    if (field) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field[1])) problems.push(`{{ ${body} }}: ${field[1]} is not a Go identifier (use index)`);
      else if (!keys.includes(field[1])) problems.push(`{{ ${body} }}: no key ${field[1]} (missingkey=error)`);
    } else if (guard) {
      if (!keys.includes(guard[1])) problems.push(`{{ ${body} }}: no key ${guard[1]} (missingkey=error)`);
      withKey = guard[1];
    } else if (guarded) {
      if (withKey === undefined) problems.push(`{{ ${body} }}: \`.\` is not a password outside a with`);
      if (guarded[1].includes(":")) problems.push(`{{ ${body} }}: htpasswd refuses a username with ':'`);
    } else if (body === "else" || body === "end") {
      if (body === "end") withKey = undefined;
    } else if (call) {
      problems.push(`{{ ${body} }}: an empty (or whitespace-only) password would become a login with an empty password; guard it with {{ with index . "${call[2]}" | trim }}`);
    } else {
      problems.push(`{{ ${body} }}: not a form checked here`);
    }
  }
  return problems;
}

describe("the metrics hub of the default environments", () => {
  it("has the senders and the hub the spec gives (prod and three staging environments send to ops)", () => {
    expect(senders.map((stack) => stack.env.name).sort()).toEqual(["prod", "staging", "staging-azure", "staging-gcp"]);
    expect(hubs.map((stack) => stack.env.name)).toEqual(["ops"]);
    expect(new Set(senders.map((stack) => stack.env.cloud))).toEqual(new Set(CLOUDS));
  });

  it.each(senders.map((stack) => [stack.env.name, stack] as const))("%s remote-writes to its hub's receiver over HTTPS, as the hub's ingress serves it", (_, sender) => {
    const hub = defaults.get(sender.env.metrics?.sendTo?.environment ?? "");
    const hubHost = hub && monitoringHost(hub.env);
    expect(hubHost).toBeDefined();
    const writes = list<Values>(prometheusSpec(sender).remoteWrite);
    expect(writes.map((write) => write.url)).toEqual([`https://${hubHost}${REMOTE_WRITE_PATH}`]);
    const ingress = hub && objectsOf(hub, "Ingress").find((object) => list<Values>(at(object, "spec.rules")).some((rule) => rule.host === hubHost));
    const paths = list<Values>(at(ingress, "spec.rules")).flatMap((rule) => list<Values>(at(rule, "http.paths")).map((path) => ({ host: rule.host, path: path.path, pathType: path.pathType })));
    expect(paths).toEqual([{ host: hubHost, path: new URL(String(writes[0]?.url)).pathname, pathType: "Exact" }]);
  });

  it.each(senders.map((stack) => [stack.env.name, stack] as const))("%s logs in as itself with the password secret the spec names", (_, sender) => {
    const basicAuth = at(list(prometheusSpec(sender).remoteWrite)[0], "basicAuth") as Values;
    const secret = named(sender, "ExternalSecret", SENDER_SECRET.name);
    expect(secret).toBeDefined();
    // Both keys the operator reads come from the Secret the ExternalSecret creates.
    expect(basicAuth).toEqual({ username: { name: at(secret, "spec.target.name"), key: "username" }, password: { name: at(secret, "spec.target.name"), key: "password" } });
    expect(list<Values>(at(secret, "spec.data")).map((entry) => at(entry, "remoteRef.key"))).toEqual([sender.env.metrics?.sendTo?.passwordSecret]);
    const template = at(secret, "spec.target.template.data") as Values;
    expect(Object.keys(template).sort()).toEqual(["password", "username"]);
    expect(template.username).toBe(sender.env.name);
    expect(templateProblems(String(template.password), list<Values>(at(secret, "spec.data")).map((entry) => String(entry.secretKey)))).toEqual([]);
  });

  it("the hub's users Secret has one htpasswd line per sender, from the password secret the hub's spec names for it", () => {
    for (const hub of hubs) {
      const secret = named(hub, "ExternalSecret", HUB_USERS_SECRET.name);
      const data = list<Values>(at(secret, "spec.data"));
      const links = hub.env.metrics?.receiveFrom ?? [];
      expect(data.map((entry) => [entry.secretKey, at(entry, "remoteRef.key")])).toEqual(links.map((link) => [link.environment, link.passwordSecret]));
      // Traefik reads a non-basic-auth Secret only with exactly one key (crd/kubernetes.go loadAuthCredentials).
      const template = at(secret, "spec.target.template") as Values;
      expect(template.engineVersion).toBe("v2");
      expect(Object.keys(template.data as Values)).toEqual([HUB_USERS_SECRET.key]);
      const users = String(at(template, `data.${HUB_USERS_SECRET.key}`));
      expect(templateProblems(users, data.map((entry) => String(entry.secretKey)))).toEqual([]);
      const usernames = [...users.matchAll(/htpasswd "([^"]*)"/g)].map((match) => match[1]);
      expect(usernames).toEqual(links.map((link) => link.environment));
      // Every sender's username is its own name (the sender's template).
      for (const sender of senders.filter((stack) => stack.env.metrics?.sendTo?.environment === hub.env.name)) {
        expect(usernames).toContain(at(named(sender, "ExternalSecret", SENDER_SECRET.name), "spec.target.template.data.username"));
      }
    }
  });

  it("the template check refuses what ESO's engine would (a key that is not a Go identifier, a missing key, a username with ':') and an unguarded password", () => {
    expect(templateProblems("{{ .staging-azure }}", ["staging-azure"])).toHaveLength(1);
    expect(templateProblems('{{ with index . "prd" | trim }}{{ htpasswd "prod" . "sha" }}{{ else }}prod:!{{ end }}', ["prod"])).toHaveLength(1);
    expect(templateProblems('{{ with index . "a:b" | trim }}{{ htpasswd "a:b" . "sha" }}{{ end }}', ["a:b"])).toHaveLength(1);
    // Unguarded: a whitespace-only password would become an empty one (second review, R5 m4).
    expect(templateProblems('{{ htpasswd "prod" (index . "prod" | trim) "sha" }}', ["prod"])).toHaveLength(1);
    expect(templateProblems('{{ with index . "prod" | trim }}{{ htpasswd "prod" . "sha" }}{{ else }}prod:!{{ end }}', ["prod"])).toEqual([]);
    expect(templateProblems('{{ htpasswd "prod" .prod }}', ["prod"])).toHaveLength(1);
    expect(templateProblems("{{ .password | trimAll }}", ["password"])).toHaveLength(1);
    expect(templateProblems('{{ htpasswd "prod" (index . "prod" | strip) "sha" }}', ["prod"])).toHaveLength(1);
  });

  it("serves the receiver on the hub only at its path, over TLS only, behind the basic-auth Middleware; the query API has no ingress", () => {
    for (const hub of hubs) {
      const host = monitoringHost(hub.env);
      const toPrometheus = objectsOf(hub, "Ingress").filter((ingress) =>
        list<Values>(at(ingress, "spec.rules")).some((rule) => list<Values>(at(rule, "http.paths")).some((path) => at(path, "backend.service.name") === HUB_PROMETHEUS_SERVICE.name)),
      );
      expect(toPrometheus).toHaveLength(1);
      const ingress = toPrometheus[0];
      expect(ingress.metadata.namespace).toBe(MONITORING_NAMESPACE);
      expect(at(ingress, "spec.rules")).toEqual([
        { host, http: { paths: [{ path: REMOTE_WRITE_PATH, pathType: "Exact", backend: { service: { name: `${MONITORING_RELEASE}-prometheus`, port: { number: at(hub.monitoring, "prometheus.service.port") ?? 9090 } } } }] } },
      ]);
      // The chart's own Prometheus ingress stays off (its default, kube-prometheus-stack values `prometheus.ingress.enabled: false`).
      expect(at(hub.monitoring, "prometheus.ingress.enabled")).not.toBe(true);
      // TLS: the certificate Secret of the host is the one the Grafana ingress has cert-manager issue.
      const grafanaIngress = at(hub.monitoring, "grafana.ingress") as Values;
      expect(at(grafanaIngress, "annotations")).toHaveProperty(["cert-manager.io/cluster-issuer"]);
      expect(at(ingress, "spec.tls")).toEqual([{ hosts: [host], secretName: at(list(grafanaIngress.tls)[0], "secretName") }]);
      expect(list<string>(at(list(grafanaIngress.tls)[0], "hosts"))).toContain(host);
      expect(at(ingress, "spec.ingressClassName")).toBe(grafanaIngress.ingressClassName);
      // Traefik: a router gets TLS from the annotation only, and listens only on websecure.
      const annotations = ingress.metadata.annotations ?? {};
      expect(annotations["traefik.ingress.kubernetes.io/router.tls"]).toBe("true");
      expect(annotations["traefik.ingress.kubernetes.io/router.entrypoints"]).toBe("websecure");
      // The Middleware reference resolves: <namespace>-<name>@kubernetescrd, to a basicAuth Middleware on the users Secret.
      const [id, provider] = String(annotations["traefik.ingress.kubernetes.io/router.middlewares"]).split("@");
      expect(provider).toBe("kubernetescrd");
      const middleware = objectsOf(hub, "Middleware").find((object) => `${object.metadata.namespace}-${String(object.metadata.name)}` === id);
      expect(middleware?.metadata.name).toBe(HUB_AUTH_MIDDLEWARE);
      expect(at(middleware, "spec.basicAuth.secret")).toBe(at(named(hub, "ExternalSecret", HUB_USERS_SECRET.name), "spec.target.name"));
      expect(middleware?.metadata.namespace).toBe(ingress.metadata.namespace);
    }
  });

  it("turns the receiver on at the hub only, with an out-of-order window and one receiving replica without a disruption budget", () => {
    for (const stack of defaults.values()) {
      const spec = prometheusSpec(stack);
      const receives = hubs.includes(stack);
      expect(spec.enableRemoteWriteReceiver === true).toBe(receives);
      if (!receives) continue;
      expect(at(spec, "tsdb.outOfOrderTimeWindow")).toMatch(/^\d+m$/);
      expect(spec.replicas).toBe(1);
      expect(at(stack.monitoring, "prometheus.podDisruptionBudget.enabled")).toBe(false);
    }
  });

  it("README states the hub's size as synthesized", () => {
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    for (const hub of hubs) {
      const spec = prometheusSpec(hub);
      const memoryGiB = Number(/^(\d+)Mi$/.exec(String(at(spec, "resources.limits.memory")))?.[1]) / 1024;
      const diskGiB = Number(/^(\d+)Gi$/.exec(String(at(spec, "storageSpec.volumeClaimTemplate.spec.resources.requests.storage")))?.[1]);
      expect(readme).toContain(`${memoryGiB} GiB of memory and ${diskGiB} GiB of disk`);
    }
  });

  it("labels every series with the environment, in the TSDB and as an external label, and aggregates the default rules by it", () => {
    for (const stack of defaults.values()) {
      const spec = prometheusSpec(stack);
      const classes = list<Values>(spec.scrapeClasses);
      expect(classes.filter((one) => one.default === true)).toHaveLength(1);
      expect(list(classes.find((one) => one.default === true)?.relabelings)).toEqual([{ action: "replace", targetLabel: "environment", replacement: stack.env.name }]);
      expect(spec.externalLabels).toEqual({ environment: stack.env.name });
      expect(at(stack.monitoring, "defaultRules.additionalAggregationLabels")).toContain("environment");
    }
  });

  it("fits the kube-prometheus-stack contract and, for the fields the chart copies into the Prometheus object, the v0.93.1 CRD", () => {
    const contract = chartContract("kube-prometheus-stack");
    for (const stack of defaults.values()) {
      expect(unknownPaths(contract, stack.monitoring)).toEqual([]);
      expect(schemaErrors(contract, stack.monitoring)).toEqual([]);
      expect(linkFieldErrors(prometheusSpec(stack))).toEqual([]);
    }
  });

  it("the CRD check refuses what the API server would: a URL without scheme, a literal password, an unknown queue field, a bad action or duration", () => {
    const write = list<Values>(prometheusSpec(senders[0]).remoteWrite)[0];
    const withWrite = (changed: Values) => linkFieldErrors({ remoteWrite: [{ ...write, ...changed }] });
    expect(withWrite({})).toEqual([]);
    expect(withWrite({ url: "ops.example.com/api/v1/write" })).not.toEqual([]);
    expect(withWrite({ basicAuth: { username: { name: "x", key: "username" }, password: "hunter2" } })).not.toEqual([]);
    expect(withWrite({ queueConfig: { max_shards: 10 } })).not.toEqual([]);
    expect(withWrite({ remoteTimeout: "30 seconds" })).not.toEqual([]);
    expect(withWrite({ writeRelabelConfigs: [{ action: "remove", regex: "x" }] })).not.toEqual([]);
    expect(linkFieldErrors({ tsdb: { outOfOrderTimeWindow: "half an hour" } })).not.toEqual([]);
    expect(linkFieldErrors({ scrapeClasses: [{ default: true }] })).not.toEqual([]);
  });

  it("writes a lean set: heavy control-plane histograms and recorded series stay home, ALERTS come from replica 0 only, the replica label is dropped", () => {
    for (const sender of senders) {
      const configs = list<Values>(list<Values>(prometheusSpec(sender).remoteWrite)[0]?.writeRelabelConfigs);
      const pod = (ordinal: number) => ({ prometheus_replica: `prometheus-${MONITORING_RELEASE}-prometheus-${ordinal}`, environment: sender.env.name });
      expect(relabel(configs, { __name__: "apiserver_request_duration_seconds_bucket", ...pod(0) })).toBeUndefined();
      expect(relabel(configs, { __name__: "apiserver_request_total", code: "403", ...pod(1) })).toEqual({ __name__: "apiserver_request_total", code: "403", environment: sender.env.name });
      expect(relabel(configs, { __name__: "up", ...pod(1) })).toEqual({ __name__: "up", environment: sender.env.name });
      expect(relabel(configs, { __name__: "namespace:container_memory_usage_bytes:sum", ...pod(1) })).toBeUndefined();
      // The hub records these itself from the raw series: the sender's copy would double them.
      expect(relabel(configs, { __name__: "namespace:container_memory_usage_bytes:sum", ...pod(0) })).toBeUndefined();
      expect(relabel(configs, { __name__: "airflow_dag:last_success_timestamp_seconds", dag_id: "x", ...pod(0) })).toBeUndefined();
      expect(relabel(configs, { __name__: "ALERTS", alertname: "X", ...pod(0) })).toEqual({ __name__: "ALERTS", alertname: "X", environment: sender.env.name });
      expect(relabel(configs, { __name__: "ALERTS", alertname: "X", ...pod(12) })).toBeUndefined();
      expect(relabel(configs, { __name__: "ALERTS_FOR_STATE", ...pod(0) })).toBeUndefined();
    }
  });

  it("drops no metric the hub's own rules and dashboards read", () => {
    for (const hub of hubs) {
      const exprs = [
        ...objectsOf(hub, "PrometheusRule").flatMap((rule) => rulesOf(rule).map((one) => one.expr)),
        // Dashboard JSON in ConfigMaps: every "expr" field of every panel target.
        ...objectsOf(hub, "ConfigMap").flatMap((map) =>
          Object.values(isMap(map.data) ? map.data : {}).flatMap((text) => [...String(text).matchAll(/"expr"\s*:\s*"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string)),
        ),
      ];
      expect(exprs.length).toBeGreaterThan(0);
      const dropped = [...new Set(exprs.flatMap(metricNames))].filter((name) => relabelMatches(HUB_WRITE_DROP, name));
      expect(dropped).toEqual([]);
      // A recorded series arrives from no sender: the hub must record each one it reads itself.
      const recorded = new Set(objectsOf(hub, "PrometheusRule").flatMap((rule) => rulesOf(rule).flatMap((one) => (one.record ? [one.record] : []))));
      const missing = [...new Set(exprs.flatMap(metricNames))].filter((name) => relabelMatches(HUB_WRITE_DROP_RECORDED, name) && !recorded.has(name));
      expect(missing).toEqual([]);
      expect(relabelMatches(HUB_WRITE_DROP_RECORDED, "airflow_dag:success_interval_seconds:mean7d")).toBe(true);
      expect(relabelMatches(HUB_WRITE_DROP_RECORDED, "airflow_dagrun_duration_count")).toBe(false);
    }
  });

  it("alerts on the link on both sides: senders when writing fails or lags, the hub per sender when its series stop; valid PromQL, known metrics, severity, summary and runbook", () => {
    for (const sender of senders) {
      const rules = rulesOf(named(sender, "PrometheusRule", "platform-metrics-hub-sender"));
      expect(rules.map((rule) => rule.alert)).toEqual(["MetricsHubWriteFailing", "MetricsHubWriteBehind"]);
      const queue = String(list<Values>(prometheusSpec(sender).remoteWrite)[0]?.name);
      for (const rule of rules) expect(rule.expr).toContain(`remote_name="${queue}"`);
    }
    for (const hub of hubs) {
      const rules = rulesOf(named(hub, "PrometheusRule", "platform-metrics-hub-senders"));
      const links = hub.env.metrics?.receiveFrom ?? [];
      expect(rules.map((rule) => rule.labels?.sender)).toEqual(links.map((link) => link.environment));
      // The hub drops alerts naming a sender (each sender alerts locally); these name the hub, so they pass.
      const dropSenders = list<Values>(prometheusSpec(hub).additionalAlertRelabelConfigs);
      expect(rawRelabelProblems(dropSenders)).toEqual([]);
      expect(rawRelabelProblems([{ sourceLabels: ["environment"], action: "drop" }])).toEqual(["unknown relabel_config field sourceLabels"]);
      for (const rule of rules) {
        expect(rule.labels?.environment).toBe(hub.env.name);
        expect(relabel(dropSenders, { environment: rule.labels?.environment ?? "" })).toBeDefined();
        expect(relabel(dropSenders, { environment: rule.labels?.sender ?? "" })).toBeUndefined();
      }
      expect(rules.find((rule) => rule.labels?.sender === "prod")?.labels?.severity).toBe("critical");
    }
    const all = [...senders.map((stack) => named(stack, "PrometheusRule", "platform-metrics-hub-sender")), ...hubs.map((stack) => named(stack, "PrometheusRule", "platform-metrics-hub-senders"))].flatMap(rulesOf);
    expect(all.length).toBe(senders.length * 2 + senders.length);
    for (const rule of all) {
      expect(syntaxErrors(rule.expr)).toEqual([]);
      expect(metricNames(rule.expr).filter((name) => !METRIC_NAMES.has(name))).toEqual([]);
      expect(["critical", "warning"]).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toMatch(/^\[[a-z][a-z0-9-]*\] /);
      expect(rule.annotations?.runbook).toBeTruthy();
    }
    expect(syntaxErrors("absent_over_time(up{environment=\"prod\"[10m])")).not.toEqual([]);
  });

  it("puts no credential in the synthesized stacks: passwords stay in the cloud secret stores", () => {
    for (const stack of defaults.values()) {
      expect(stack.text).not.toMatch(/\{SHA\}|\$2[aby]\$|\$apr1\$/);
      for (const write of list<Values>(prometheusSpec(stack).remoteWrite)) {
        expect(Object.values(write.basicAuth as Values).every((ref) => isMap(ref) && Object.keys(ref).sort().join() === "key,name")).toBe(true);
        expect(String(write.url)).not.toMatch(/@/);
      }
      for (const secret of objectsOf(stack, "ExternalSecret").filter((object) => String(object.metadata.name).startsWith("metrics-hub"))) {
        const template = JSON.stringify(at(secret, "spec.target.template.data"));
        // Only template actions and the username (the environment name) are literal.
        expect(template.replace(/\{\{.*?\}\}/g, "")).not.toMatch(/[A-Za-z0-9+/]{16,}/);
      }
    }
  });

  it("passes the API server's checks, the Middleware against Traefik's CRD", () => {
    for (const stack of [...senders, ...hubs]) expect(objectProblems(stack.apps)).toEqual([]);
  });

  it("the Middleware check refuses what Traefik's CRD does not declare, a wrong type and the retired API group", () => {
    const middleware = objectsOf(hubs[0], "Middleware")[0];
    const check = (object: Values) => customResourceViolations({ source: "test", object: object as unknown as KubeObject });
    expect(check(middleware)).toEqual([]);
    expect(check({ ...middleware, spec: { basicAuth: { ...(at(middleware, "spec.basicAuth") as Values), users: ["prod:{SHA}x"] } } })).not.toEqual([]);
    expect(check({ ...middleware, spec: { basicAuth: { secret: HUB_USERS_SECRET.name, removeHeader: "true" } } })).not.toEqual([]);
    expect(check({ ...middleware, apiVersion: "traefik.containo.us/v1alpha1" })).not.toEqual([]);
  });
});

describe.each(CLOUDS.filter((cloud) => cloud !== "aws"))("ops as the hub on %s, the senders unchanged", (cloud) => {
  const moved = opsOn(cloud);
  const ops = moved.get("ops");
  const host = ops && monitoringHost(ops.env);

  it("receives at the same public HTTPS endpoint: senders need no peering, only their way out to the hub's host", () => {
    expect(ops?.env.cloud).toBe(cloud);
    for (const sender of [...moved.values()].filter((stack) => stack.env.metrics?.sendTo)) {
      expect(list<Values>(prometheusSpec(sender).remoteWrite).map((write) => write.url)).toEqual([`https://${host}${REMOTE_WRITE_PATH}`]);
    }
    expect(ops && named(ops, "Ingress", "metrics-hub-write")).toBeDefined();
    expect(ops && named(ops, "ExternalSecret", HUB_USERS_SECRET.name)).toBeDefined();
    expect(ops && objectProblems(ops.apps)).toEqual([]);
  });
});
