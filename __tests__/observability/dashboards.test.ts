/**
 * The platform dashboards, read back from synthesized apps stacks (every default environment,
 * and every app on every cloud) and checked the way their consumers check them:
 * - Prometheus: every query parses (the Prometheus project's own PromQL parser,
 *   @prometheus-io/lezer-promql 0.315.0), after Grafana replaced its variables;
 * - Grafana: dashboard uids (at most 40 letters, digits, `-`, `_`: grafana/grafana
 *   pkg/util/shortid_generator.go IsShortUIDTooLong `len(uid) > 40`, IsValidShortUID
 *   `^[a-zA-Z0-9\-\_]*$`), unique per Grafana; the datasource uid the chart provisions;
 * - the dashboard sidecar: the label, namespace and folder annotation it is configured with,
 *   read from the monitoring release's effective values (ours over kube-prometheus-stack 88.5.3's
 *   defaults over its grafana 12.11.1 subchart's);
 * - Kubernetes: a ConfigMap's data at most 1 MiB (kubernetes/kubernetes
 *   pkg/apis/core/validation/validation.go ValidateConfigMap: `totalSize > core.MaxSecretSize`,
 *   1048576 bytes, counted over keys and values);
 * - Terraform: Helm values are a Terraform string, so `${` or `%{` in a dashboard would be
 *   interpolated (Terraform language docs, "Strings and Templates").
 * Each rule has a case it must reject.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { DASHBOARD_FOLDER, DASHBOARD_METRICS, dashboardsFor, watchedBy } from "../../constructs/apps/observability/dashboards";
import { MONITORING_NAMESPACE } from "../../constructs/apps/monitoring";
import { CLOUDS, metricsLinks, parseEnvironment, parseEnvironments } from "../../constructs/core/spec";
import { specChecks } from "../../stacks/app";
import { environments } from "../../environments";
import { AppsStack } from "../../stacks/apps";
import { everyAppSpec } from "../support/fixtures";
import { renderedApps, type KubeObject, type Located, type RenderedApps } from "../support/kubernetes/objects";
import { stackJson, stackNames, synthDefaults } from "../support/outdir";
import { at, chartContract, effectiveValues, isMap, list, type Values } from "../support/values";

// ---------------------------------------------------------------- Grafana and Prometheus rules

/** A node of the PromQL syntax tree (lezer's, as the parser types it). */
type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/**
 * Grafana's global variables the queries use, replaced as Grafana does before a query reaches
 * Prometheus (Grafana docs, "Global variables": `$__rate_interval`, `$__range` are durations).
 * `$environment` stays: it only appears inside a regex string.
 */
const GRAFANA_DURATIONS: Readonly<Record<string, string>> = { $__rate_interval: "1m", $__range: "6h" };
const ENVIRONMENT_VARIABLE_REF = "$environment";

/** Problems of one query: Grafana variables we do not define, and PromQL syntax errors. */
function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const unknown = [...expr.matchAll(/\$\w+/g)].map((m) => m[0]).filter((name) => !(name in GRAFANA_DURATIONS) && name !== ENVIRONMENT_VARIABLE_REF);
  for (const name of new Set(unknown)) problems.push(`${expr}: variable ${name} is neither the environment variable nor a Grafana duration`);
  const replaced = Object.entries(GRAFANA_DURATIONS).reduce((text, [name, value]) => text.split(name).join(value), expr);
  const tree = parser.parse(replaced);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) problems.push(`${expr}: PromQL syntax error at ${node.from}: ${JSON.stringify(replaced.slice(Math.max(0, node.from - 15), node.from + 15))}`);
    },
  });
  return problems;
}

function vectorSelectors(expr: string): { text: string; node: SyntaxNode }[] {
  const replaced = Object.entries(GRAFANA_DURATIONS).reduce((text, [name, value]) => text.split(name).join(value), expr);
  const found: { text: string; node: SyntaxNode }[] = [];
  parser.parse(replaced).iterate({
    enter: (node) => {
      if (node.name === "VectorSelector") found.push({ text: replaced.slice(node.from, node.to), node: node.node });
    },
  });
  return found;
}

/** Every selector of a query must keep only the environments picked: `environment=~"$environment"`. */
function environmentFilterProblems(expr: string): string[] {
  const replaced = Object.entries(GRAFANA_DURATIONS).reduce((text, [name, value]) => text.split(name).join(value), expr);
  return vectorSelectors(expr).flatMap(({ text, node }) => {
    const matchers = node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? [];
    const filtered = matchers.some((matcher) => {
      const slice = (child: SyntaxNode | null) => (child ? replaced.slice(child.from, child.to) : undefined);
      return slice(matcher.getChild("LabelName")) === "environment" && slice(matcher.getChild("MatchOp")) === "=~" && slice(matcher.getChild("StringLiteral")) === `"${ENVIRONMENT_VARIABLE_REF}"`;
    });
    return filtered ? [] : [`${expr}: selector ${text} does not filter on environment=~"${ENVIRONMENT_VARIABLE_REF}"`];
  });
}

/** Metric names a query reads (the identifier of each selector). */
function metricNames(expr: string): string[] {
  const replaced = Object.entries(GRAFANA_DURATIONS).reduce((text, [name, value]) => text.split(name).join(value), expr);
  return vectorSelectors(expr).map(({ node, text }) => {
    const identifier = node.getChild("Identifier");
    return identifier ? replaced.slice(identifier.from, identifier.to) : `<no metric name in ${text}>`;
  });
}

const KNOWN_METRICS = new Set(DASHBOARD_METRICS.map((metric) => metric.name));

function unknownMetricProblems(expr: string): string[] {
  return metricNames(expr)
    .filter((name) => !KNOWN_METRICS.has(name))
    .map((name) => `${expr}: metric ${name} is not in DASHBOARD_METRICS (with where it is defined)`);
}

/** Grafana dashboard uid rules (grafana/grafana pkg/util/shortid_generator.go). */
function uidProblems(uids: readonly string[]): string[] {
  const problems = uids.filter((uid) => uid.length === 0 || uid.length > 40 || !/^[a-zA-Z0-9_-]*$/.test(uid)).map((uid) => `uid ${uid}: Grafana takes 1 to 40 letters, digits, '-' or '_'`);
  const duplicates = uids.filter((uid, index) => uids.indexOf(uid) !== index);
  return [...problems, ...duplicates.map((uid) => `uid ${uid} twice in one Grafana`)];
}

/** Kubernetes' ConfigMap size limit: keys and values together (core.MaxSecretSize). */
const CONFIG_MAP_LIMIT = 1024 * 1024;
function configMapSizeProblems(name: string, data: Readonly<Record<string, string>>): string[] {
  const size = Object.entries(data).reduce((total, [key, value]) => total + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  return size > CONFIG_MAP_LIMIT ? [`ConfigMap ${name}: ${size} bytes, over Kubernetes' ${CONFIG_MAP_LIMIT}`] : [];
}

/** Terraform interpolates `${` and `%{` in the Helm values string (escape: `$${`, `%%{`). */
function terraformTemplateProblems(name: string, text: string): string[] {
  return /(?<![$%])[$%]\{/.test(text) ? [`ConfigMap ${name}: contains a Terraform template sequence`] : [];
}

// ---------------------------------------------------------------- reading dashboards

interface Target {
  readonly expr: string;
  readonly datasource?: { uid?: string; type?: string };
}
interface GrafanaPanel {
  readonly type: string;
  readonly title?: string;
  readonly datasource?: { uid?: string; type?: string };
  readonly targets?: readonly Target[];
}
interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { readonly list: readonly Values[] };
}

/** The sidecar's configuration as Helm renders it: ours over the parent chart's over the subchart's. */
interface Sidecar {
  readonly label: string;
  readonly labelValue: string;
  readonly searchNamespace: unknown;
  readonly folderAnnotation?: string;
  readonly foldersFromFilesStructure: boolean;
  readonly datasourceUid: string;
}

function sidecarOf(apps: RenderedApps): Sidecar | undefined {
  const release = apps.releases.find((r) => r.chart === "kube-prometheus-stack");
  if (!release) return undefined;
  const values = effectiveValues(chartContract("kube-prometheus-stack"), release.values);
  if (at(values, "grafana.enabled") !== true || at(values, "grafana.sidecar.dashboards.enabled") !== true) return undefined;
  return {
    label: String(at(values, "grafana.sidecar.dashboards.label")),
    labelValue: String(at(values, "grafana.sidecar.dashboards.labelValue")),
    searchNamespace: at(values, "grafana.sidecar.dashboards.searchNamespace"),
    folderAnnotation: at(values, "grafana.sidecar.dashboards.folderAnnotation") as string | undefined,
    foldersFromFilesStructure: at(values, "grafana.sidecar.dashboards.provider.foldersFromFilesStructure") === true,
    datasourceUid: String(at(values, "grafana.sidecar.datasources.uid")),
  };
}

/** Whether the sidecar picks a ConfigMap up and files it under the platform folder. */
function sidecarProblems(sidecar: Sidecar, object: KubeObject, namespace: string | undefined): string[] {
  const name = String(object.metadata.name);
  const problems: string[] = [];
  if (object.metadata.labels?.[sidecar.label] !== sidecar.labelValue) problems.push(`${name}: no label ${sidecar.label}: "${sidecar.labelValue}", the sidecar ignores it`);
  const searched = sidecar.searchNamespace === "ALL" || String(sidecar.searchNamespace).split(",").includes(String(namespace));
  if (!searched) problems.push(`${name}: in namespace ${namespace}, the sidecar searches ${String(sidecar.searchNamespace)}`);
  const folder = sidecar.folderAnnotation === undefined ? undefined : object.metadata.annotations?.[sidecar.folderAnnotation];
  if (!sidecar.foldersFromFilesStructure || folder !== DASHBOARD_FOLDER) problems.push(`${name}: not filed under the folder "${DASHBOARD_FOLDER}" (annotation ${String(sidecar.folderAnnotation)}, foldersFromFilesStructure ${sidecar.foldersFromFilesStructure})`);
  return problems;
}

/** The environment variable every dashboard needs for the ops view of several environments. */
function variableProblems(board: GrafanaDashboard, datasourceUid: string): string[] {
  const variable = board.templating.list.find((v) => v.name === "environment");
  if (!variable) return [`${board.uid}: no environment variable`];
  const problems: string[] = [];
  if (variable.type !== "query" || variable.multi !== true || variable.includeAll !== true) problems.push(`${board.uid}: environment is not a multi-select query variable with "All"`);
  if (at(variable, "datasource.uid") !== datasourceUid) problems.push(`${board.uid}: environment variable reads datasource ${String(at(variable, "datasource.uid"))}`);
  const query = /^label_values\((.+), environment\)$/.exec(String(variable.query));
  if (!query) problems.push(`${board.uid}: environment variable query ${String(variable.query)} is not label_values(<selector>, environment)`);
  else problems.push(...promqlProblems(query[1]), ...unknownMetricProblems(query[1]));
  return problems;
}

function targetsOf(board: GrafanaDashboard): { panel: GrafanaPanel; target: Target }[] {
  return board.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
}

/** Every problem of one dashboard: its variable, datasource, queries and metric names. */
function dashboardProblems(board: GrafanaDashboard, datasourceUid: string): string[] {
  const problems = [...variableProblems(board, datasourceUid)];
  for (const panel of board.panels.filter((p) => p.type !== "row")) {
    if (panel.datasource?.uid !== datasourceUid) problems.push(`${board.uid} "${panel.title}": datasource ${String(panel.datasource?.uid)}, the bundled Grafana's Prometheus is ${datasourceUid}`);
    if ((panel.targets ?? []).length === 0) problems.push(`${board.uid} "${panel.title}": no query`);
  }
  for (const { panel, target } of targetsOf(board)) {
    if (target.datasource?.uid !== datasourceUid) problems.push(`${board.uid} "${panel.title}": query datasource ${String(target.datasource?.uid)}`);
    problems.push(...promqlProblems(target.expr), ...environmentFilterProblems(target.expr), ...unknownMetricProblems(target.expr));
  }
  return problems;
}

interface Provisioned {
  readonly located: Located<KubeObject>;
  readonly board: GrafanaDashboard;
  readonly data: Readonly<Record<string, string>>;
}

/** A ConfigMap entry that is a Grafana dashboard: a JSON object with panels and a uid. */
function asDashboard(text: string): GrafanaDashboard | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isMap(parsed) && Array.isArray(parsed.panels) && "uid" in parsed ? (parsed as unknown as GrafanaDashboard) : undefined;
  } catch {
    return undefined;
  }
}

/** Every ConfigMap of the stack that holds a dashboard, whatever its labels (those are checked). */
function provisioned(apps: RenderedApps): Provisioned[] {
  return apps.objects.flatMap((located) => {
    const { object } = located;
    if (object.kind !== "ConfigMap" || !isMap(object.data)) return [];
    const data = object.data as Record<string, string>;
    return Object.values(data).flatMap((text) => {
      const board = asDashboard(text);
      return board ? [{ located, board, data }] : [];
    });
  });
}

// ---------------------------------------------------------------- the stacks

interface StackCase {
  readonly label: string;
  readonly apps: RenderedApps;
  /** The environment's bundled Grafana exists: its monitoring app has a host. */
  readonly grafana: boolean;
  readonly appNames: readonly string[];
}

const outdir = synthDefaults();
const defaultEnvs = parseEnvironments(environments, undefined, specChecks);
const defaultCases: StackCase[] = defaultEnvs
  .filter((env) => stackNames(outdir).includes(`${env.name}-apps`))
  .map((env) => {
    // A hub watches the apps of the environments it receives metrics from, too.
    const watched = [env, ...metricsLinks(env, defaultEnvs).senders];
    return {
      label: `${env.name}-apps`,
      apps: renderedApps(stackJson(outdir, `${env.name}-apps`)),
      grafana: env.apps.some((a) => a.name === "monitoring" && a.host !== undefined),
      appNames: watched.flatMap((one) => one.apps.map((a) => a.name)),
    };
  });
const everyAppCases: StackCase[] = CLOUDS.map((cloud) => {
  const env = parseEnvironment(everyAppSpec(cloud, true));
  return { label: `every app on ${cloud}`, apps: renderedApps(Testing.synth(new AppsStack(Testing.app(), env))), grafana: true, appNames: env.apps.map((a) => a.name) };
});
const cases = [...defaultCases, ...everyAppCases];

describe.each(cases.map((c) => [c.label, c] as const))("%s: dashboards", (_, { apps, grafana }) => {
  const boards = provisioned(apps);
  const sidecar = sidecarOf(apps);

  it("provisions dashboards exactly where the bundled Grafana and its sidecar run", () => {
    expect(sidecar !== undefined).toBe(grafana);
    // Without the bundled Grafana, no dashboard; with it, at least journey, ingress and cluster.
    expect(boards.length === 0).toBe(!grafana);
    expect(boards.length).toBeGreaterThanOrEqual(grafana ? 3 : 0);
  });

});

describe.each(cases.filter((c) => c.grafana).map((c) => [c.label, c] as const))("%s: dashboards in its Grafana", (_, { apps, appNames }) => {
  const boards = provisioned(apps);
  const sidecar = sidecarOf(apps);

  it("has the data journey, cluster, ingress and PostgreSQL dashboards, and one per app that runs here (none for an app that does not)", () => {
    const uids = boards.map((p) => p.board.uid);
    expect(uids).toEqual(expect.arrayContaining(["dp-data-journey", "dp-traefik", "dp-cluster"]));
    for (const [app, uid] of [["airflow", "dp-airflow"], ["airbyte", "dp-airbyte"], ["datahub", "dp-datahub-gms"]] as const) expect(uids.includes(uid)).toBe(appNames.includes(app));
  });

  it("labels, places and files every dashboard ConfigMap as the sidecar is configured (label, namespace, folder annotation)", () => {
    if (!sidecar) throw new Error("no sidecar");
    expect(boards.flatMap(({ located }) => sidecarProblems(sidecar, located.object, located.object.metadata.namespace ?? located.releaseNamespace))).toEqual([]);
  });

  it("gives every dashboard the environment variable, the provisioned Prometheus datasource, and queries that parse, filter on the environment and read only catalogued metrics", () => {
    if (!sidecar) throw new Error("no sidecar");
    expect(boards.flatMap(({ board }) => dashboardProblems(board, sidecar.datasourceUid))).toEqual([]);
  });

  it("uses uids Grafana accepts, unique in this Grafana; each ConfigMap fits Kubernetes' 1 MiB and carries nothing Terraform would interpolate", () => {
    expect(uidProblems(boards.map((p) => p.board.uid))).toEqual([]);
    expect(boards.flatMap(({ located, data }) => [...configMapSizeProblems(String(located.object.metadata.name), data), ...Object.values(data).flatMap((text) => terraformTemplateProblems(String(located.object.metadata.name), text))])).toEqual([]);
  });
});

describe("dashboard rules reject what their consumers reject", () => {
  const sidecar: Sidecar = { label: "grafana_dashboard", labelValue: "1", searchNamespace: MONITORING_NAMESPACE, folderAnnotation: "grafana_folder", foldersFromFilesStructure: true, datasourceUid: "prometheus" };
  const good = `sum by (environment) (rate(up{environment=~"$environment"}[$__rate_interval]))`;

  it("accepts a well-formed filtered query", () => {
    expect([...promqlProblems(good), ...environmentFilterProblems(good), ...unknownMetricProblems(good)]).toEqual([]);
  });

  it("rejects malformed PromQL and unknown Grafana variables", () => {
    expect(promqlProblems(`sum(rate(up{environment=~"$environment"}[5m])`)).not.toEqual([]);
    expect(promqlProblems(`rate(up{environment=~"$environment"}[5m]) +`)).not.toEqual([]);
    expect(promqlProblems(`rate(up{environment=~"$enviroment"}[$__rate_interval])`)).not.toEqual([]);
  });

  it("rejects a selector that does not filter on the environment variable", () => {
    expect(environmentFilterProblems(`sum(up)`)).not.toEqual([]);
    expect(environmentFilterProblems(`up{environment="prod"}`)).not.toEqual([]);
    expect(environmentFilterProblems(`up{environment=~"$environment"} / on () foo`)).not.toEqual([]);
  });

  it("rejects a metric name that is not catalogued", () => {
    expect(unknownMetricProblems(`airflow_dag_runs_total{environment=~"$environment"}`)).not.toEqual([]);
  });

  it("rejects over-long, malformed and duplicate uids", () => {
    expect(uidProblems(["a".repeat(40)])).toEqual([]);
    expect(uidProblems(["a".repeat(41)])).not.toEqual([]);
    expect(uidProblems(["data platform"])).not.toEqual([]);
    expect(uidProblems(["dp-cluster", "dp-cluster"])).not.toEqual([]);
  });

  it("rejects a ConfigMap over 1 MiB and a Terraform template sequence", () => {
    expect(configMapSizeProblems("x", { "a.json": "x".repeat(CONFIG_MAP_LIMIT - 6) })).toEqual([]);
    expect(configMapSizeProblems("x", { "a.json": "x".repeat(CONFIG_MAP_LIMIT) })).not.toEqual([]);
    expect(terraformTemplateProblems("x", `{"legendFormat":"\${environment}"}`)).not.toEqual([]);
    expect(terraformTemplateProblems("x", `{"expr":"up{environment=~\\"$environment\\"}"}`)).toEqual([]);
  });

  it("rejects a ConfigMap the sidecar would not pick up or would file elsewhere", () => {
    const configMap = (labels: Record<string, string>, annotations: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "d", labels, annotations } });
    expect(sidecarProblems(sidecar, configMap({ grafana_dashboard: "1" }, { grafana_folder: DASHBOARD_FOLDER }), MONITORING_NAMESPACE)).toEqual([]);
    expect(sidecarProblems(sidecar, configMap({ grafana_dashboard: "true" }, { grafana_folder: DASHBOARD_FOLDER }), MONITORING_NAMESPACE)).not.toEqual([]);
    expect(sidecarProblems(sidecar, configMap({ grafana_dashboard: "1" }, { grafana_folder: DASHBOARD_FOLDER }), "default")).not.toEqual([]);
    expect(sidecarProblems(sidecar, configMap({ grafana_dashboard: "1" }, {}), MONITORING_NAMESPACE)).not.toEqual([]);
  });

  it("rejects a dashboard without the environment variable, or reading another datasource", () => {
    const [board] = dashboardsFor({ apps: new Set(), databases: false }) as unknown as GrafanaDashboard[];
    expect(dashboardProblems(board, "prometheus")).toEqual([]);
    expect(dashboardProblems({ ...board, templating: { list: [] } }, "prometheus")).not.toEqual([]);
    expect(dashboardProblems(board, "Prometheus")).not.toEqual([]);
  });

  it("watches its own apps, and in a hub that receives other environments' metrics (metrics.receiveFrom) theirs too", () => {
    const envs = parseEnvironments(environments, undefined, specChecks);
    const ops = envs.find((env) => env.name === "ops");
    if (ops === undefined) return console.log("skipped: no default environment named ops");
    const uids = (watched: ReturnType<typeof watchedBy>) => dashboardsFor(watched).map((board) => board.uid);
    expect(uids(watchedBy(ops))).not.toContain("dp-airflow");
    const senders = metricsLinks(ops, envs).senders;
    const senderApps = new Set(senders.flatMap((env) => env.apps.map((app) => app.name)));
    const expected = [...(["airflow", "airbyte"] as const).filter((app) => senderApps.has(app)).map((app) => `dp-${app}`), ...(senderApps.has("datahub") ? ["dp-datahub-gms"] : [])];
    expect(uids(watchedBy(ops, senders))).toEqual(expect.arrayContaining(expected));
  });

  it("lists only metric names some dashboard reads", () => {
    const all = dashboardsFor({ apps: new Set(["airflow", "airbyte", "datahub"]), databases: true }) as unknown as GrafanaDashboard[];
    const used = new Set(all.flatMap((board) => [...targetsOf(board).flatMap(({ target }) => metricNames(target.expr)), ...list<Values>(board.templating.list).flatMap((v) => metricNames(String(v.query).replace(/^label_values\((.+), environment\)$/, "$1")))]));
    expect(DASHBOARD_METRICS.map((m) => m.name).filter((name) => !used.has(name))).toEqual([]);
  });
});
