/**
 * The alert rules as Prometheus and the exporters see them, read from REAL synthesized apps
 * stacks (every default environment and every app on every cloud):
 * - every expression parses with the Prometheus project's PromQL parser (@prometheus-io/lezer-promql);
 * - every metric it selects is in the catalogue (constructs/apps/observability/metrics.ts, where
 *   each name cites its definition at the pinned version) or recorded by a rule of the same stack;
 * - rules exist only for components that run in the environment;
 * - each alert has a routable severity, a summary naming the environment, a runbook line and,
 *   where Grafana has a host, a dashboard link; names are unique;
 * - the statsd mappings of the data-quality contract pass statsd_exporter v0.28.0's config rules;
 * - docs/alerts.md is the table the rules give.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { AWS_DATABASE_INSTANCE_CLASSES } from "../../constructs/aws/sizes";
import { AZURE_POSTGRES_SKUS } from "../../constructs/azure/sizes";
import { GCP_DATABASE_TIERS } from "../../constructs/gcp/sizes";
import { DATABASE_SERVER_LABEL, DATA_QUALITY_STATSD_MAPPINGS, METRICS, METRIC_NAMES, type MetricComponent } from "../../constructs/apps/observability/metrics";
import { databaseVcpus, isAlert, ruleGroups, storageCeilingGiB, type AlertRule } from "../../constructs/apps/observability/rules";
import { hubRules, senderRules } from "../../constructs/apps/observability/hub";
import { SIZES, SIZE_SHAPES } from "../../constructs/core/sizes";
import { CLOUDS, metricsLinks, monitoringHost, parseEnvironment, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments, everyAppSpec, synthApps } from "../support/fixtures";
import { objectProblems } from "../support/kubernetes/checks";
import { renderedApps, type KubeObject } from "../../scripts/rendered-apps";
import { durationSeconds, environmentProblems, meaningProblems, selectors, syntaxErrors } from "../support/promql";
import { newOrIncreased } from "../../constructs/apps/observability/rules";
import { OVERDUE_MEMORY } from "../../constructs/apps/observability/metrics";

interface RenderedRule {
  readonly group: string;
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface Case {
  readonly label: string;
  readonly env: Environment;
  readonly objects: ReturnType<typeof renderedApps>;
  readonly rules: readonly RenderedRule[];
  readonly airflowValues?: Record<string, unknown>;
  /** The Grafana alerts link to: the environment's own, else its metrics hub's. */
  readonly grafanaHost?: string;
}

function synthesizedCase(label: string, env: Environment, all: readonly Environment[] = [env]): Case {
  const objects = renderedApps(synthApps(env, all));
  const prometheusRules = objects.objects.map((located) => located.object).filter((object): object is KubeObject => object.kind === "PrometheusRule");
  const rules = prometheusRules.flatMap((object) =>
    ((object.spec as { groups: { name: string; rules: Omit<RenderedRule, "group">[] }[] }).groups ?? []).flatMap((group) => group.rules.map((rule) => ({ ...rule, group: group.name }))),
  );
  const airflow = objects.releases.find((release) => release.chart === "airflow");
  const grafanaHost = monitoringHost(env) ?? metricsLinks(env, all).hub?.host;
  return { label, env, objects, rules, airflowValues: airflow?.values, grafanaHost };
}

const everyApp = (cloud: (typeof CLOUDS)[number], production: boolean): EnvironmentInput => {
  const spec = everyAppSpec(cloud, production);
  // One database with a read replica, so the replica rule is exercised too.
  return { ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, readReplicas: 1 })) };
};

const defaults = defaultEnvironments();
const cases: Case[] = [
  ...defaults.map((env) => synthesizedCase(`${env.name} (environments/)`, env, defaults)),
  ...CLOUDS.flatMap((cloud) => [false, true].map((production) => synthesizedCase(`every app on ${cloud}${production ? " in production" : ""}`, parseEnvironment(everyApp(cloud, production))))),
];

/** Selectors whose name is neither catalogued nor recorded by a rule of the same stack. */
function unknownMetrics(expr: string, recorded: ReadonlySet<string>): string[] {
  return selectors(expr).flatMap((selector) => {
    if (selector.name === undefined) return [`${selector.text}: a selector without a metric name`];
    return METRIC_NAMES.has(selector.name) || recorded.has(selector.name) ? [] : [`${selector.name}: not in the metric catalogue`];
  });
}

const COMPONENT_OF = new Map(METRICS.map((metric) => [metric.name, metric.component]));

/** Whether a component runs in the environment (what the apps stack installs). */
function runs(env: Environment, component: MetricComponent): boolean {
  const apps = new Set(env.apps.map((app) => app.name));
  switch (component) {
    case "airflow":
      return apps.has("airflow");
    case "airbyte":
      return apps.has("airbyte");
    case "data-quality":
      return apps.has("airflow") || apps.has("airbyte");
    case "postgres":
      return env.databases.length > 0;
    default:
      return true;
  }
}

describe("the PromQL checks themselves", () => {
  it("reject a malformed expression", () => {
    expect(syntaxErrors("sum(rate(foo[5m])")).not.toEqual([]);
    expect(syntaxErrors("foo >")).not.toEqual([]);
    expect(syntaxErrors('sum by (a) (rate(foo{code=~"5.."}[5m])) > 1')).toEqual([]);
  });

  it("reject a metric name that is not catalogued, and a selector without a name", () => {
    expect(unknownMetrics("rate(airflow_dag_run_failures_total[5m])", new Set())).toEqual(["airflow_dag_run_failures_total: not in the metric catalogue"]);
    expect(unknownMetrics('{__name__="pg_up"}', new Set())).toHaveLength(1);
    expect(unknownMetrics("pg_up == 0", new Set())).toEqual([]);
    expect(unknownMetrics("my:recorded > 1", new Set(["my:recorded"]))).toEqual([]);
  });
});

describe.each(cases.map((c) => [c.label, c] as const))("rules of %s", (_, { env, objects, rules, grafanaHost }) => {
  const alerts = rules.filter((rule) => rule.alert !== undefined);
  const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));

  it("has rules, in PrometheusRules that fit the prometheus-operator v0.93.1 CRD", () => {
    expect(alerts.length).toBeGreaterThan(0);
    expect(objectProblems(objects).filter((problem) => problem.includes("PrometheusRule"))).toEqual([]);
  });

  it("parses every expression with the PromQL parser", () => {
    expect(rules.flatMap((rule) => syntaxErrors(rule.expr).map((error) => `${rule.alert ?? rule.record}: ${error}`))).toEqual([]);
  });

  it("selects only catalogued metrics (or its own recorded series)", () => {
    expect(rules.flatMap((rule) => unknownMetrics(rule.expr, recorded).map((problem) => `${rule.alert ?? rule.record}: ${problem}`))).toEqual([]);
  });

  it("has rules only for components that run here, and for every component that does", () => {
    const used = new Set(rules.flatMap((rule) => selectors(rule.expr).flatMap((selector) => (selector.name === undefined ? [] : [COMPONENT_OF.get(selector.name)].filter((component): component is MetricComponent => component !== undefined)))));
    expect([...used].filter((component) => !runs(env, component))).toEqual([]);
    const expected: MetricComponent[] = ["airflow", "airbyte", "data-quality", "cert-manager", "postgres"];
    expect(expected.filter((component) => runs(env, component) && !used.has(component))).toEqual([]);
    // Database rules name spec databases only, each of them.
    const servers = new Set(rules.flatMap((rule) => [...rule.expr.matchAll(new RegExp(`${DATABASE_SERVER_LABEL}="([^"]+)"`, "g"))].map((match) => match[1])));
    expect([...servers].sort()).toEqual(env.databases.map((db) => db.name).sort());
  });

  it("gives every alert a routable severity, a summary naming the environment, a one-line runbook and a dashboard link where Grafana has a host", () => {
    const host = grafanaHost;
    const problems = alerts.flatMap((rule) => {
      const found: string[] = [];
      if (!["critical", "warning"].includes(rule.labels?.severity ?? "")) found.push("severity is not critical or warning");
      if (!rule.annotations?.summary?.includes(env.name)) found.push("summary does not name the environment");
      const runbook = rule.annotations?.runbook ?? "";
      if (runbook.trim() === "" || runbook.includes("\n")) found.push("runbook is not one line");
      const dashboard = rule.annotations?.dashboard;
      if (host === undefined ? dashboard !== undefined : !dashboard?.startsWith(`https://${host}/`)) found.push(`dashboard link ${String(dashboard)} does not match the Grafana host ${String(host)}`);
      return found.map((problem) => `${rule.alert}: ${problem}`);
    });
    expect(problems).toEqual([]);
  });

  it("asks what it means: no instant offsets, aggregated `unless` in alerts, new series counted next to changes(), 0-until-issued expiries and `error` 401s, learnt intervals remembered through a stall", () => {
    const memorySeconds = durationSeconds(OVERDUE_MEMORY);
    expect(rules.flatMap((rule) => meaningProblems(rule.expr, { alert: rule.alert !== undefined, memorySeconds }).map((problem) => `${rule.alert ?? rule.record}: ${problem}`))).toEqual([]);
  });

  it("keeps every rule to its own environment, as a metrics hub that also holds its senders' series needs", () => {
    expect(rules.flatMap((rule) => environmentProblems(rule.expr))).toEqual([]);
  });

  it("names each alert once (per database for database alerts, per sender for the hub's)", () => {
    const keys = alerts.map((rule) => `${rule.alert}${/database_server="([^"]+)"/.exec(rule.expr)?.[0] ?? ""}${rule.labels?.sender ?? ""}`);
    expect(keys.filter((key, index) => keys.indexOf(key) !== index)).toEqual([]);
  });
});

describe("the environment rule rejects what would mix environments on a hub", () => {
  it.each([
    ["sum(rate(x[5m])) > 0", "aggregation without by/without"],
    ["sum by (dag_id) (x) > 0", "drops environment"],
    ["max without (environment) (x)", "drops environment"],
    ["a / on (server) b", "drops environment"],
    ["a / ignoring (environment) b", "drops environment"],
    ["absent(pg_up{database_server=\"main\"})", "does not name its environment"],
  ])("%s", (expr, problem) => {
    expect(environmentProblems(expr).join("; ")).toContain(problem);
  });

  it("accepts aggregations that keep the label", () => {
    expect(environmentProblems('sum by (environment, dag_id) (x) / on (environment, dag_id) max without (pod) (y) or absent(up{environment="prod"})')).toEqual([]);
  });
});

describe("the meaning checks reject the expressions the review found wrong", () => {
  const check = (expr: string, alert = true) => meaningProblems(expr, { alert, memorySeconds: 30 * 86400 }).join("; ");
  it.each([
    ["sum by (environment, dag_id) (increase(x[15m]) > 0 or (x unless x offset 15m))", "offset on an instant vector"],
    ["sum by (environment, dag_id) (increase(x[15m]) > 0 or (x unless last_over_time(x[1h] offset 15m)))", "unless over unaggregated"],
    ["timestamp(sum by (environment, dag_id) (changes(airflow_dagrun_duration_count[5m])) > 0)", "is not counted"],
    ["min by (environment, namespace, name) (certmanager_certificate_expiration_timestamp_seconds) - time() < 604800", "reads 0 until known"],
    ['sum by (environment) (rate(authentication_attempts{result="failure"}[5m])) > 0.2', 'result="error"'],
    ["(time() - max_over_time(airflow_dag:last_success_timestamp_seconds[8d])) > on (environment, dag_id) 1.5 * airflow_dag:success_interval_seconds:mean7d", "while the pipeline is stalled"],
    ["max by (environment, connection_id, connection_name) (airbyte_connection_mean_success_interval_seconds) > 0", "while the pipeline is stalled"],
    // The largest interval of the memory keeps a stall's stretched interval for 30 days (second review, R6 M1).
    ["1.5 * max_over_time(airflow_dag:success_interval_seconds:mean7d[30d])", "while the pipeline is stalled"],
  ])("%s", (expr, problem) => {
    expect(check(expr)).toContain(problem);
  });

  it("accepts the fixed forms", () => {
    expect(check(newOrIncreased('data_quality_check_runs_total{outcome=~"fail|error"}', "15m", "pipeline, check, outcome"))).toBe("");
    expect(check("min by (environment, namespace, name) (certmanager_certificate_expiration_timestamp_seconds > 0) - time() < 604800")).toBe("");
    expect(check('rate(authentication_attempts{result=~"failure|error"}[5m])')).toBe("");
    expect(check('rate(authentication_attempts{result="success"}[5m])')).toBe("");
    // A recording rule may count a new series per series: a false "new" only makes a success look recent.
    expect(check("sum by (environment, dag_id) (changes(x[5m]) > 0 or (x unless last_over_time(x[1h] offset 5m)))", false)).toBe("");
  });
});

describe("database thresholds", () => {
  it("count the vCPUs of every cloud's default database class as the neutral size says", () => {
    const db = (overrides: object) => ({ ...parseEnvironment(everyAppSpec("aws", false)).databases[0], ...overrides });
    for (const size of SIZES) {
      const vcpus = SIZE_SHAPES[size].vcpus;
      // An override of another size's class, so the size's own count cannot answer.
      const other = size === "small" ? "xlarge" : "small";
      expect(databaseVcpus("aws", db({ size: other, aws: { instanceClass: AWS_DATABASE_INSTANCE_CLASSES[size] } }))).toBe(vcpus);
      expect(databaseVcpus("azure", db({ size: other, azure: { skuName: AZURE_POSTGRES_SKUS[size] } }))).toBe(vcpus);
      expect(databaseVcpus("gcp", db({ size: other, gcp: { tier: GCP_DATABASE_TIERS[size] } }))).toBe(vcpus);
    }
    expect(databaseVcpus("aws", db({ aws: { instanceClass: "db.r7g.8xlarge" } }))).toBe(32);
    expect(databaseVcpus("gcp", db({ size: "large", gcp: { tier: "db-unknown-shape" } }))).toBe(SIZE_SHAPES.large.vcpus);
  });

  it("use the size Azure autogrow reaches: Premium SSD doubles, and never across 4096 GiB (Microsoft Learn, Configure storage autogrow)", () => {
    // Azure's rule applied to the infra stack's own server: storage_mb with auto_grow_enabled.
    const azureCeiling = (storageMb: number, autoGrow: boolean): number => {
      if (!autoGrow) return storageMb / 1024;
      const border = 4096 * 1024;
      let size = storageMb;
      while (size * 2 <= border) size *= 2;
      if (storageMb > border) size = 33553408; // beyond the border: doubling up to the largest disk, 32 TiB
      return size / 1024;
    };
    for (const storageGiB of [32, 100, 1024, 2048, 3000, 4096, 5000, 20000]) {
      const input = everyAppSpec("azure", true);
      const env = parseEnvironment({ ...input, databases: (input.databases ?? []).map((db) => ({ ...db, storageGiB })) });
      const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as { resource: Record<string, Record<string, Record<string, unknown>>> };
      const servers = Object.values(json.resource.azurerm_postgresql_flexible_server ?? {}).filter((block) => block.create_mode !== "Replica");
      expect(servers.length).toBeGreaterThan(0);
      for (const block of servers) {
        expect(block.storage_tier).toBeUndefined(); // Premium SSD, the tier autogrow works on
        expect(storageCeilingGiB("azure", env.databases[0])).toBe(azureCeiling(Number(block.storage_mb), block.auto_grow_enabled === true));
      }
    }
    expect(storageCeilingGiB("azure", { ...parseEnvironment(everyAppSpec("azure", true)).databases[0], storageGiB: 64 })).toBe(4096);
  });

  it("use the storage ceiling the infra stack gives the database (RDS max_allocated_storage, Cloud SQL disk_autoresize_limit)", () => {
    for (const [cloud, type, attribute] of [
      ["aws", "aws_db_instance", "max_allocated_storage"],
      ["gcp", "google_sql_database_instance", "disk_autoresize_limit"],
    ] as const) {
      const env = parseEnvironment(everyAppSpec(cloud, true));
      const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as { resource: Record<string, Record<string, Record<string, unknown>>> };
      const instances = Object.values(json.resource[type] ?? {}).filter((block) => !("replicate_source_db" in block) && !("master_instance_name" in block));
      expect(instances.length).toBeGreaterThan(0);
      for (const block of instances) {
        const limit = type === "aws_db_instance" ? block[attribute] : (block.settings as Record<string, unknown>[] | Record<string, unknown>);
        const value = Array.isArray(limit) ? limit[0][attribute] : typeof limit === "object" && limit !== null ? (limit as Record<string, unknown>)[attribute] : limit;
        expect(value).toBe(storageCeilingGiB(cloud, env.databases[0]));
      }
    }
  });
});

/**
 * statsd_exporter v0.28.0's rules for a mapping file (prometheus/statsd_exporter
 * pkg/mapper/mapper.go `InitFromYAMLString` and pkg/mapper/mapping.go `MetricMapping`).
 */
const STATSD_MAPPING_KEYS = new Set(["match", "name", "labels", "honor_labels", "observer_type", "timer_type", "buckets", "quantiles", "match_type", "help", "action", "match_metric_type", "ttl", "summary_options", "histogram_options", "scale"]);
const STATSD_GLOB_MATCH = /^(\*|[a-zA-Z_]([a-zA-Z0-9_-])*)(\.\*|\.[a-zA-Z0-9_]([a-zA-Z0-9_-])*)*$/;
const STATSD_NAME = /^([a-zA-Z_]|(\$\{?\d+\}?))([a-zA-Z0-9_]|(\$\{?\d+\}?))*$/;
const STATSD_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]+$/;
const STATSD_METRIC_TYPES = new Set(["counter", "gauge", "observer", ""]);

function statsdMappingProblems(mapping: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(mapping)) if (!STATSD_MAPPING_KEYS.has(key)) problems.push(`unknown field ${key}`);
  if (typeof mapping.name !== "string" || mapping.name === "") problems.push("no metric name");
  else if (!STATSD_NAME.test(mapping.name)) problems.push(`metric name ${mapping.name} is invalid`);
  if ((mapping.match_type ?? "glob") === "glob" && !STATSD_GLOB_MATCH.test(String(mapping.match))) problems.push(`invalid match ${String(mapping.match)}`);
  for (const label of Object.keys((mapping.labels as Record<string, string>) ?? {})) if (!STATSD_LABEL.test(label)) problems.push(`invalid label key ${label}`);
  if (!STATSD_METRIC_TYPES.has(String(mapping.match_metric_type ?? ""))) problems.push(`match_metric_type ${String(mapping.match_metric_type)}`);
  // `ttl` is a Go time.Duration read from YAML (time.ParseDuration: no `d` unit).
  if (mapping.ttl !== undefined && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(String(mapping.ttl))) problems.push(`ttl ${String(mapping.ttl)} is not a Go duration`);
  return problems;
}

describe("the data-quality contract through Airflow's statsd exporter", () => {
  it("the statsd_exporter checks reject what it refuses", () => {
    expect(statsdMappingProblems({ match: "a.*.b", name: "x" })).toEqual([]);
    expect(statsdMappingProblems({ match: "a..b", name: "x" })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x-y" })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x", labels: { "bad-key": "$1" } })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x", match_metric_type: "histogram" })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x", metric: "y" })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x", ttl: "1d" })).not.toEqual([]);
    expect(statsdMappingProblems({ match: "a.*", name: "x", ttl: "25h" })).toEqual([]);
  });

  it("installs the contract's mappings in every Airflow, valid for statsd_exporter, producing catalogued series with the catalogued labels", () => {
    const withAirflow = cases.filter((c) => c.airflowValues !== undefined);
    expect(withAirflow.length).toBeGreaterThan(0);
    for (const c of withAirflow) {
      const mappings = ((c.airflowValues?.statsd as Record<string, unknown> | undefined)?.extraMappings ?? []) as Record<string, unknown>[];
      expect(mappings).toEqual(DATA_QUALITY_STATSD_MAPPINGS);
      expect(mappings.flatMap((mapping) => statsdMappingProblems(mapping))).toEqual([]);
      for (const mapping of mappings) {
        const metric = METRICS.find((m) => m.name === mapping.name);
        expect(metric?.component).toBe("data-quality");
        expect(Object.keys(mapping.labels as object).sort()).toEqual([...(metric?.labels ?? [])].sort());
        // Each captured `*` fills one label.
        expect(String(mapping.match).split("*").length - 1).toBe(Object.keys(mapping.labels as object).length);
      }
    }
  });
});

/** The README's alert table: generated from the rules of an environment with every component, and of a metrics hub link. */
const README = join(__dirname, "..", "..", "README.md");

function alertsTable(): string {
  const env = parseEnvironment(everyApp("aws", true));
  const link = { environment: "ops", host: "monitoring.ops.example.com", passwordSecret: "metrics-hub-password" };
  const groups = [...ruleGroups(env), senderRules(link), hubRules({ ...env, name: "ops" }, [env])];
  const seen = new Set<string>();
  const rows = groups
    .flatMap((group) => group.rules.filter(isAlert).map((rule) => [group.name.startsWith("postgres-") ? "postgres (one set per spec database)" : group.name, rule] as const))
    .filter(([, rule]) => !seen.has(rule.alert) && Boolean(seen.add(rule.alert)));
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const line = ([group, rule]: readonly [string, AlertRule]) => `| ${group} | \`${rule.alert}\` | ${rule.severity} | ${cell(rule.meaning)} | ${cell(rule.runbook)} |`;
  return ["| group | alert | severity | meaning | first step |", "|---|---|---|---|---|", ...rows.map(line)].join("\n");
}

describe("the README's alert table", () => {
  it("holds every alert the rules define, with its meaning and first step (UPDATE_DOCS=1 regenerates it)", () => {
    const begin = "<!-- generated:alerts (UPDATE_DOCS=1 npx vitest run __tests__/observability/rules.test.ts) -->";
    const end = "<!-- /generated:alerts -->";
    const text = readFileSync(README, "utf8");
    const fresh = `${begin}\n${alertsTable()}\n${end}`;
    const current = text.slice(text.indexOf(begin), text.indexOf(end) + end.length);
    if (process.env.UPDATE_DOCS === "1" && current !== fresh) writeFileSync(README, text.replace(current, fresh));
    expect(readFileSync(README, "utf8")).toContain(fresh);
  });
});
