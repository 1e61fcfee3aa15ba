/**
 * The platform dashboards, read back from synthesized apps stacks (every default environment,
 * and every app on every cloud) and checked the way their consumers check them:
 * - Prometheus: every query parses (the Prometheus project's own PromQL parser,
 *   @prometheus-io/lezer-promql 0.315.0), after Grafana replaced its variables, and reads only
 *   catalogued metric names (constructs/apps/observability/metrics.ts, one catalogue with the
 *   rules, each name citing its exporter at the pinned version); every catalogue entry is read by
 *   some rule or dashboard;
 * - the ops view: every aggregation keeps `environment` and every legend names it, so prod and
 *   staging show side by side, never summed (the rule the alerts keep too);
 * - alerts link to a dashboard uid provisioned in the Grafana they point at (their own, or
 *   their metrics hub's), with the environment selected;
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
import { describe, expect, it } from "vitest";
import { DASHBOARD_FOLDER, dashboardsFor, watchedBy } from "../../constructs/apps/observability/dashboards";
import { METRICS, METRIC_NAMES } from "../../constructs/apps/observability/metrics";
import { MONITORING_NAMESPACE } from "../../constructs/apps/monitoring";
import { CLOUDS, metricsLinks, monitoringHost, parseEnvironment, type Environment } from "../../constructs/core/spec";
import { defaultEnvironments, everyAppSpec, synthApps } from "../support/fixtures";
import { renderedApps, type KubeObject, type Located, type RenderedApps } from "../../scripts/rendered-apps";
import { stackJson, stackNames, synthDefaults } from "../support/outdir";
import { durationSeconds, environmentProblems, meaningProblems, metricNames as promqlMetricNames, selectors, syntaxErrors, type SyntaxNode } from "../support/promql";
import { OVERDUE_MEMORY } from "../../constructs/apps/observability/metrics";
import { at, chartContract, effectiveValues, isMap, list, type Values } from "../support/values";

// ---------------------------------------------------------------- Grafana and Prometheus rules

/**
 * Grafana's global variables the queries use, replaced as Grafana does before a query reaches
 * Prometheus (Grafana docs, "Global variables": `$__rate_interval`, `$__range` are durations).
 * `$environment` stays: it only appears inside a regex string.
 */
const GRAFANA_DURATIONS: Readonly<Record<string, string>> = { $__rate_interval: "1m", $__range: "6h" };
const ENVIRONMENT_VARIABLE_REF = "$environment";

/** The query as Prometheus receives it. */
const interpolated = (expr: string) => Object.entries(GRAFANA_DURATIONS).reduce((text, [name, value]) => text.split(name).join(value), expr);

/** Problems of one query: Grafana variables we do not define, and PromQL syntax errors. */
function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const unknown = [...expr.matchAll(/\$\w+/g)].map((m) => m[0]).filter((name) => !(name in GRAFANA_DURATIONS) && name !== ENVIRONMENT_VARIABLE_REF);
  for (const name of new Set(unknown)) problems.push(`${expr}: variable ${name} is neither the environment variable nor a Grafana duration`);
  return [...problems, ...syntaxErrors(interpolated(expr)).map((error) => `${expr}: PromQL ${error}`)];
}

/** Every selector of a query must keep only the environments picked: `environment=~"$environment"`. */
function environmentFilterProblems(expr: string): string[] {
  const replaced = interpolated(expr);
  return selectors(replaced).flatMap(({ text, node }) => {
    const matchers = node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? [];
    const filtered = matchers.some((matcher) => {
      const slice = (child: SyntaxNode | null) => (child ? replaced.slice(child.from, child.to) : undefined);
      return slice(matcher.getChild("LabelName")) === "environment" && slice(matcher.getChild("MatchOp")) === "=~" && slice(matcher.getChild("StringLiteral")) === `"${ENVIRONMENT_VARIABLE_REF}"`;
    });
    return filtered ? [] : [`${expr}: selector ${text} does not filter on environment=~"${ENVIRONMENT_VARIABLE_REF}"`];
  });
}

/** Metric names a query reads (the identifier of each selector). */
const metricNames = (expr: string): string[] => promqlMetricNames(interpolated(expr));

function unknownMetricProblems(expr: string): string[] {
  return metricNames(expr)
    .filter((name) => !METRIC_NAMES.has(name))
    .map((name) => `${expr}: metric ${name} is not in the metric catalogue (metrics.ts METRICS, with where it is defined)`);
}

/**
 * Side by side: with "All" environments picked, an aggregation that drops `environment` would
 * sum prod and staging into one line (the same rule the alerts keep on a hub).
 */
const sideBySideProblems = (expr: string): string[] => environmentProblems(interpolated(expr)).map((problem) => `${expr}: ${problem}`);

/** A time series or stat legend names the environment, or two environments' lines look alike. */
function legendProblems(panel: GrafanaPanel, target: Target): string[] {
  if (panel.type === "table") return []; // a table shows `environment` as a column of its own
  return target.legendFormat?.includes("{{environment}}") ? [] : [`"${panel.title}": legend ${String(target.legendFormat)} does not name {{environment}}`];
}

/**
 * What Grafana shows of a panel's frames:
 * - a stat panel reduces each numeric field of each frame to one value unless
 *   `reduceOptions.values` is on (grafana packages/grafana-data/src/field/fieldDisplay.ts
 *   getFieldDisplayValues; calcs default to `last`), and the Prometheus `table` format returns
 *   ONE frame with one `Value` field for all series (and ignores the legend): a stat over a table
 *   shows one environment's number. Stat queries must be `time_series` (one frame per series);
 * - a time series with several lines needs its legend shown and a tooltip listing every line
 *   (the SDK's defaults: legend hidden, tooltip `single`), or the lines cannot be told apart.
 */
function panelDisplayProblems(panel: GrafanaPanel): string[] {
  const problems: string[] = [];
  if (panel.type === "stat") {
    const values = at(panel.options ?? {}, "reduceOptions.values") === true;
    for (const target of panel.targets ?? []) if (!values && target.format !== "time_series") problems.push(`"${panel.title}": stat query in format ${String(target.format)} is reduced to one value for every environment`);
  }
  if (panel.type === "timeseries") {
    if (at(panel.options ?? {}, "legend.showLegend") !== true) problems.push(`"${panel.title}": legend hidden`);
    if (at(panel.options ?? {}, "tooltip.mode") !== "multi") problems.push(`"${panel.title}": tooltip shows one series`);
  }
  return problems;
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
  readonly legendFormat?: string;
  readonly datasource?: { uid?: string; type?: string };
  readonly format?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
}
interface GrafanaPanel {
  readonly type: string;
  readonly title?: string;
  readonly datasource?: { uid?: string; type?: string };
  readonly targets?: readonly Target[];
  readonly options?: Values;
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
    problems.push(...panelDisplayProblems(panel).map((problem) => `${board.uid} ${problem}`));
  }
  for (const { panel, target } of targetsOf(board)) {
    if (target.datasource?.uid !== datasourceUid) problems.push(`${board.uid} "${panel.title}": query datasource ${String(target.datasource?.uid)}`);
    problems.push(...promqlProblems(target.expr), ...environmentFilterProblems(target.expr), ...unknownMetricProblems(target.expr), ...sideBySideProblems(target.expr));
    problems.push(...meaningProblems(interpolated(target.expr), { alert: false, memorySeconds: durationSeconds(OVERDUE_MEMORY) }).map((problem) => `${board.uid} "${panel.title}": ${problem}`));
    problems.push(...legendProblems(panel, target).map((problem) => `${board.uid} ${problem}`));
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
  readonly env: Environment;
  /** The Grafana its alerts link to: its own monitoring host, else its metrics hub's. */
  readonly linkedGrafana?: string;
}


const outdir = synthDefaults();
const defaultEnvs = defaultEnvironments();
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
      env,
      linkedGrafana: monitoringHost(env) ?? metricsLinks(env, defaultEnvs).hub?.host,
    };
  });
const everyAppCases: StackCase[] = CLOUDS.map((cloud) => {
  const env = parseEnvironment(everyAppSpec(cloud, true));
  return { label: `every app on ${cloud}`, apps: renderedApps(synthApps(env)), grafana: true, appNames: env.apps.map((a) => a.name), env, linkedGrafana: monitoringHost(env) };
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

  it("counts overdue Airbyte connections by the AirbyteSyncOverdue alert's own expression", () => {
    const alert = apps.objects
      .map(({ object }) => object)
      .filter((object) => object.kind === "PrometheusRule")
      .flatMap((object) => list<Values>(at(object, "spec.groups")).flatMap((group) => list<Values>(group.rules)))
      .find((rule) => rule.alert === "AirbyteSyncOverdue");
    const stat = boards.flatMap(({ board }) => board.panels).find((panel) => panel.title === "Overdue connections");
    expect(stat === undefined).toBe(!appNames.includes("airbyte"));
    if (stat === undefined || alert === undefined) return;
    const unfiltered = (stat.targets ?? [])[0]?.expr.split('{environment=~"$environment"}').join("");
    expect(unfiltered).toContain(String(alert.expr));
  });

  it("uses uids Grafana accepts, unique in this Grafana; each ConfigMap fits Kubernetes' 1 MiB and carries nothing Terraform would interpolate", () => {
    expect(uidProblems(boards.map((p) => p.board.uid))).toEqual([]);
    expect(boards.flatMap(({ located, data }) => [...configMapSizeProblems(String(located.object.metadata.name), data), ...Object.values(data).flatMap((text) => terraformTemplateProblems(String(located.object.metadata.name), text))])).toEqual([]);
  });
});

// ---------------------------------------------------------------- one catalogue, alert links

interface RenderedAlert {
  readonly alert: string;
  readonly expr: string;
  readonly annotations?: Record<string, string>;
}

/** The alert and recording rules of a stack's PrometheusRules. */
function renderedRules(apps: RenderedApps): (RenderedAlert | { record: string; expr: string })[] {
  return apps.objects
    .map(({ object }) => object)
    .filter((object) => object.kind === "PrometheusRule")
    .flatMap((object) => list<Values>(at(object, "spec.groups")).flatMap((group) => list<RenderedAlert>(group.rules)));
}

/** The uids of the platform dashboards each Grafana (by host) provisions. */
type Grafanas = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Whether an alert's dashboard link opens a dashboard: Grafana serves a dashboard at
 * `/d/<uid>[/<slug>]` (grafana/grafana pkg/api/api.go `r.Get("/d/:uid/:slug", ...)`,
 * `r.Get("/d/:uid", ...)`) and selects a variable from the `var-<name>` query parameter. The link
 * must point at the Grafana the environment links to, provision that uid there, and select the
 * environment the alert fired in.
 */
function alertLinkProblems(alert: string, link: string | undefined, env: string, expectedHost: string | undefined, grafanas: Grafanas): string[] {
  if (link === undefined) return expectedHost === undefined ? [] : [`${alert}: no dashboard link, though ${expectedHost} runs its Grafana`];
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return [`${alert}: dashboard link ${link} is not a URL`];
  }
  const problems: string[] = [];
  if (url.protocol !== "https:") problems.push(`${alert}: ${link} is not https`);
  if (url.host !== expectedHost) problems.push(`${alert}: ${link} points at ${url.host}, the environment's Grafana is ${String(expectedHost)}`);
  const uid = /^\/d\/([^/]+)(\/[^/]+)?$/.exec(url.pathname)?.[1];
  const provisioned = grafanas.get(url.host);
  if (uid === undefined) problems.push(`${alert}: ${link} is not a Grafana dashboard path /d/<uid>`);
  else if (provisioned === undefined) problems.push(`${alert}: ${url.host} provisions no platform dashboard`);
  else if (!provisioned.has(uid)) problems.push(`${alert}: dashboard ${uid} is not provisioned in the Grafana at ${url.host} (${[...provisioned].join(", ")})`);
  if (url.searchParams.get("var-environment") !== env) problems.push(`${alert}: ${link} does not select var-environment=${env}`);
  return problems;
}

const grafanaOf = (c: StackCase): [string, Set<string>][] => {
  const host = monitoringHost(c.env);
  return c.grafana && host !== undefined ? [[host, new Set(provisioned(c.apps).map((p) => p.board.uid))]] : [];
};

describe("alerts link to dashboards", () => {
  // The default environments link to each other's Grafana (a sender to its hub's); every-app
  // stacks each stand alone.
  const defaultGrafanas: Grafanas = new Map(defaultCases.flatMap(grafanaOf));

  it.each(cases.map((c) => [c.label, c] as const))("%s: every alert's dashboard link opens a dashboard provisioned in the Grafana it points at, for its environment", (_, c) => {
    const grafanas = defaultCases.includes(c) ? defaultGrafanas : new Map(grafanaOf(c));
    const alerts = renderedRules(c.apps).filter((rule): rule is RenderedAlert => "alert" in rule);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.flatMap((rule) => alertLinkProblems(rule.alert, rule.annotations?.dashboard, c.env.name, c.linkedGrafana, grafanas))).toEqual([]);
  });

  it("has a sender among the default environments whose alerts link into its hub's Grafana", () => {
    const sender = defaultCases.find((c) => c.env.metrics?.sendTo !== undefined && !c.grafana && c.linkedGrafana !== undefined);
    if (sender === undefined) return console.log("skipped: no default environment sends its metrics to a hub without a Grafana of its own");
    expect(defaultGrafanas.has(String(sender.linkedGrafana))).toBe(true);
  });

  it("rejects a link to another Grafana, to a uid that Grafana does not provision, without the environment, or not a dashboard path", () => {
    const grafanas: Grafanas = new Map([["ops.example.com", new Set(["dp-cluster"])]]);
    const check = (link: string | undefined, expected: string | undefined = "ops.example.com") => alertLinkProblems("A", link, "prod", expected, grafanas);
    expect(check("https://ops.example.com/d/dp-cluster?var-environment=prod")).toEqual([]);
    expect(check("https://ops.example.com/d/dp-cluster/cluster-resources?var-environment=prod")).toEqual([]);
    expect(alertLinkProblems("A", undefined, "prod", undefined, grafanas)).toEqual([]);
    expect(check(undefined)).not.toEqual([]);
    expect(check("https://ops.example.com/d/dp-airflow?var-environment=prod")).not.toEqual([]);
    expect(check("https://prod.example.com/d/dp-cluster?var-environment=prod")).not.toEqual([]);
    expect(check("https://prod.example.com/d/dp-cluster?var-environment=prod", "prod.example.com")).not.toEqual([]);
    expect(check("https://ops.example.com/d/dp-cluster")).not.toEqual([]);
    expect(check("https://ops.example.com/d/dp-cluster?var-environment=staging")).not.toEqual([]);
    expect(check("https://ops.example.com/dashboards/dp-cluster?var-environment=prod")).not.toEqual([]);
    expect(check("http://ops.example.com/d/dp-cluster?var-environment=prod")).not.toEqual([]);
  });
});

describe("one metric catalogue for rules and dashboards", () => {
  /** Names read by the rules of every synthesized stack and by every dashboard, with every app and database watched. */
  function readNames(): Set<string> {
    const rules = cases.flatMap((c) => renderedRules(c.apps)).flatMap((rule) => promqlMetricNames(rule.expr));
    const boards = dashboardsFor({ apps: new Set(["airflow", "airbyte", "datahub"]), databases: true }) as unknown as GrafanaDashboard[];
    const queries = boards.flatMap((board) => [
      ...targetsOf(board).map(({ target }) => target.expr),
      ...list<Values>(board.templating.list).map((v) => String(v.query).replace(/^label_values\((.+), environment\)$/, "$1")),
    ]);
    return new Set([...rules, ...queries.flatMap(metricNames)]);
  }

  /** Catalogue entries nothing reads: a name kept "just in case" is a name nobody checks. */
  const unusedEntries = (catalogue: readonly { name: string }[], read: ReadonlySet<string>) => catalogue.map((m) => m.name).filter((name) => !read.has(name));

  it("has no entry that no rule and no dashboard reads", () => {
    expect(unusedEntries(METRICS, readNames())).toEqual([]);
  });

  it("the check rejects an entry nothing reads", () => {
    expect(unusedEntries([...METRICS, { name: "airflow_dag_runs_total" }], readNames())).toEqual(["airflow_dag_runs_total"]);
  });
});

describe("dashboard rules reject what their consumers reject", () => {
  const sidecar: Sidecar = { label: "grafana_dashboard", labelValue: "1", searchNamespace: MONITORING_NAMESPACE, folderAnnotation: "grafana_folder", foldersFromFilesStructure: true, datasourceUid: "prometheus" };
  const good = `sum by (environment) (rate(up{environment=~"$environment"}[$__rate_interval]))`;

  it("accepts a well-formed filtered query", () => {
    expect([...promqlProblems(good), ...environmentFilterProblems(good), ...unknownMetricProblems(good)]).toEqual([]);
  });

  it("rejects a stat panel over a table-format query, a hidden legend and a single-series tooltip, and a 0-until-issued expiry read as is", () => {
    const target = { expr: good, legendFormat: "{{environment}}" };
    expect(panelDisplayProblems({ type: "stat", title: "s", targets: [{ ...target, instant: true, format: "table" }] })).not.toEqual([]);
    expect(panelDisplayProblems({ type: "stat", title: "s", targets: [{ ...target, instant: true, format: "time_series" }] })).toEqual([]);
    expect(panelDisplayProblems({ type: "timeseries", title: "t", targets: [target], options: { legend: { showLegend: false }, tooltip: { mode: "multi" } } })).not.toEqual([]);
    expect(panelDisplayProblems({ type: "timeseries", title: "t", targets: [target], options: { legend: { showLegend: true }, tooltip: { mode: "single" } } })).not.toEqual([]);
    expect(meaningProblems('min by (environment, namespace, name) (certmanager_certificate_expiration_timestamp_seconds{environment=~"$environment"}) - time()', { alert: false, memorySeconds: 1 })).not.toEqual([]);
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

  it("rejects an aggregation that would sum environments together, and a legend that does not name the environment", () => {
    const sel = `x{environment=~"$environment"}`;
    expect(sideBySideProblems(`sum(rate(${sel}[$__rate_interval]))`)).not.toEqual([]);
    expect(sideBySideProblems(`sum by (dag_id) (${sel})`)).not.toEqual([]);
    expect(sideBySideProblems(`max without (environment) (${sel})`)).not.toEqual([]);
    expect(sideBySideProblems(`${sel} / on (pod) ${sel}`)).not.toEqual([]);
    expect(sideBySideProblems(`count by (environment, pod) (${sel}) / on (environment, pod) max by (environment, pod) (${sel})`)).toEqual([]);
    const panel = (type: string): GrafanaPanel => ({ type, title: "p" });
    expect(legendProblems(panel("timeseries"), { expr: sel, legendFormat: "{{dag_id}}" })).not.toEqual([]);
    expect(legendProblems(panel("stat"), { expr: sel })).not.toEqual([]);
    expect(legendProblems(panel("timeseries"), { expr: sel, legendFormat: "{{environment}} {{dag_id}}" })).toEqual([]);
    expect(legendProblems(panel("table"), { expr: sel, legendFormat: "failed" })).toEqual([]);
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
    const envs = defaultEnvironments();
    const ops = envs.find((env) => env.name === "ops");
    if (ops === undefined) return console.log("skipped: no default environment named ops");
    const uids = (watched: ReturnType<typeof watchedBy>) => dashboardsFor(watched).map((board) => board.uid);
    expect(uids(watchedBy(ops))).not.toContain("dp-airflow");
    const senders = metricsLinks(ops, envs).senders;
    const senderApps = new Set(senders.flatMap((env) => env.apps.map((app) => app.name)));
    const expected = [...(["airflow", "airbyte"] as const).filter((app) => senderApps.has(app)).map((app) => `dp-${app}`), ...(senderApps.has("datahub") ? ["dp-datahub-gms"] : [])];
    expect(uids(watchedBy(ops, senders))).toEqual(expect.arrayContaining(expected));
  });

});
