/**
 * PromQL as Prometheus reads it, through the Prometheus project's own parser
 * (@prometheus-io/lezer-promql, the grammar of the Prometheus UI): the checks the alert rules
 * (rules.test.ts) and the dashboards (dashboards.test.ts) share.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** A node of the PromQL syntax tree (lezer's, as the parser types it). */
export type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/** Syntax errors of a PromQL expression, as the parser reports them. */
export function syntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
    },
  });
  return errors;
}

export interface Selector {
  /** The metric name, when the selector has one (`{__name__=...}` has none). */
  readonly name?: string;
  readonly text: string;
  readonly node: SyntaxNode;
}

/** Every vector selector of an expression, with its metric name. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.name !== "VectorSelector") return;
      const identifier = node.node.getChild("Identifier");
      found.push({ name: identifier ? expr.slice(identifier.from, identifier.to) : undefined, text: expr.slice(node.from, node.to), node: node.node });
    },
  });
  return found;
}

/** Metric names an expression reads (one per selector; a selector without a name gives a marker). */
export function metricNames(expr: string): string[] {
  return selectors(expr).map((selector) => selector.name ?? `<no metric name in ${selector.text}>`);
}

/**
 * What keeps an expression to its own environment when one Prometheus holds several
 * environments' series (a metrics hub; every series carries `environment`), so that alerts fire
 * per environment and the ops Grafana shows prod and staging side by side instead of summed:
 * aggregations and one-to-one matching keep the label (`by`/`on` name it, `without`/`ignoring`
 * do not drop it, no bare `sum(...)`), and `absent()` names the environment it expects series from.
 */
export function environmentProblems(expr: string): string[] {
  const problems: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name === "AggregateExpr" && node.node.getChild("AggregateModifier") === null) problems.push(`aggregation without by/without drops environment: ${text(node.from, node.to)}`);
      if (node.name === "AggregateModifier" || node.name === "MatchingModifierClause") {
        const labels = (node.node.getChild("GroupingLabels")?.getChildren("LabelName") ?? []).map((label) => text(label.from, label.to));
        const keeps = node.node.getChild("By") !== null || node.node.getChild("On") !== null;
        if (keeps !== labels.includes("environment")) problems.push(`${text(node.from, node.to)} drops environment`);
      }
      if (node.name === "FunctionCall" && /^absent(_over_time)?\(/.test(text(node.from, node.to)) && !/environment="[^"]+"/.test(text(node.from, node.to))) problems.push(`${text(node.from, node.to)} does not name its environment`);
    },
  });
  return problems;
}

// ---------------------------------------------------------------- what the series mean

/** A Prometheus duration in seconds (`1h`, `30d`, `1h30m`). */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  return [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)].reduce((total, [, n, unit]) => total + Number(n) * units[unit], 0);
}

/** The label matchers of a selector node: name, operator, unquoted value. */
function labelMatchers(expr: string, node: SyntaxNode): { name: string; op: string; value: string }[] {
  const slice = (child: SyntaxNode | null) => (child ? expr.slice(child.from, child.to) : "");
  return (node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []).map((matcher) => ({
    name: slice(matcher.getChild("LabelName")),
    op: slice(matcher.getChild("MatchOp")),
    value: JSON.parse(slice(matcher.getChild("StringLiteral")) || '""') as string,
  }));
}

/** Whether a selector's matchers accept a label value (Prometheus matchers are anchored). */
function accepts(matchers: readonly { name: string; op: string; value: string }[], label: string, value: string): boolean {
  return matchers
    .filter((m) => m.name === label)
    .every((m) => {
      const regex = new RegExp(`^(?:${m.value})$`);
      return m.op === "=" ? value === m.value : m.op === "!=" ? value !== m.value : m.op === "=~" ? regex.test(value) : !regex.test(value);
    });
}

/**
 * Gauges that read 0 until their object is known: every read must drop the 0 (`> 0`) first, or
 * `x - time()` turns "not known yet" into "long expired".
 */
export const ZERO_UNTIL_KNOWN: Readonly<Record<string, string>> = {
  certmanager_certificate_expiration_timestamp_seconds: "cert-manager v1.21.1 internal/collectors/certificate_collector.go updateCertificateExpiry: `expiryTime := 0.0` until status.notAfter is set (a Certificate not issued yet)",
};

/**
 * Learnt values that stop existing while a pipeline is stalled: the 7-day interval needs 3
 * successes in 7 days (rules.ts, metrics.ts AIRBYTE_CONNECTIONS_SQL), the last success is
 * recorded only at a success. An alert reading them directly resolves itself days into a stall;
 * it must read them through `max_over_time` over at least OVERDUE_MEMORY.
 */
export const FORGOTTEN_WHILE_STALLED: Readonly<Record<string, string>> = {
  // The last success: the latest one remembered.
  "airflow_dag:last_success_timestamp_seconds": "max_over_time(",
  // The usual interval: a stall stretches the 7-day mean (fewer successes in the window), so the
  // median of the memory (a stall shorter than half of it does not move it), never the largest
  // (which would keep a stall's stretched interval for the whole memory and delay every alert).
  "airflow_dag:success_interval_seconds:mean7d": "quantile_over_time(0.5, ",
  "airbyte_connection_mean_success_interval_seconds": "quantile_over_time(0.5, ",
};

/**
 * What the series of an expression mean, where a syntactically fine query still answers the
 * wrong question (each rule cites the upstream behaviour it encodes):
 * - `offset` on an instant selector looks back only the lookback delta (5 minutes, Prometheus
 *   v3.14.0 promql/engine.go `defaultLookbackDelta`): a scrape gap around that moment makes the
 *   series look absent. Offsets belong on range selectors (`last_over_time(x[1h] offset 15m)`);
 * - in an alert, both sides of `unless` are aggregated: the same counter reappears under another
 *   `pod`/`instance` when its exporter or collector restarts (statsd_exporter v0.28.0 and the
 *   OpenTelemetry collector keep cumulative values), and `unless` matches full label sets;
 * - `changes(x[...])` misses a series born with its first value: x must also be counted when new
 *   (`x unless last_over_time(x[...] offset ...)`, statsd_exporter creates a summary at its first
 *   observation);
 * - ZERO_UNTIL_KNOWN gauges are read through `> 0`;
 * - `authentication_attempts` failures include result `error`: kubernetes
 *   staging/src/k8s.io/apiserver/pkg/endpoints/filters/metrics.go recordAuthenticationMetrics
 *   records `error` when an authenticator returned an error (an expired or badly signed token;
 *   request/union/union.go aggregates them), `failure` only when none accepted without error;
 * - in an alert, FORGOTTEN_WHILE_STALLED series are read through their function over at least
 *   `memorySeconds`.
 */
export function meaningProblems(expr: string, options: { alert: boolean; memorySeconds: number }): string[] {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  const text = (node: { from: number; to: number }) => expr.slice(node.from, node.to);
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (node.name === "OffsetExpr") {
        const inner = node.firstChild;
        if (inner && inner.name !== "MatrixSelector" && inner.name !== "SubqueryExpr") problems.push(`${text(node)}: offset on an instant vector looks back only 5 minutes; use a range (last_over_time(x[1h] offset ...))`);
      }
      if (options.alert && node.name === "VectorSelector") {
        // Walk up to the nearest `unless`: an aggregation on the way makes the label set the alert's own.
        let aggregated = false;
        for (let up = node.parent; up; up = up.parent) {
          if (up.name === "AggregateExpr") aggregated = true;
          if (up.name === "BinaryExpr" && up.getChild("Unless")) {
            if (!aggregated) problems.push(`${text(up)}: unless over unaggregated ${text(node)} fires when the series moves to another pod or instance`);
            break;
          }
        }
      }
      if (node.name === "FunctionCall" && text(node).startsWith("changes(")) {
        const selector = node.getChild("FunctionCallBody")?.getChild("MatrixSelector")?.getChild("VectorSelector");
        if (selector && !expr.includes(`${text(selector)} unless last_over_time(${text(selector)}[`)) problems.push(`${text(node)}: a new series of ${text(selector)} (first value, no change) is not counted`);
      }
      if (node.name === "VectorSelector") {
        const identifier = node.getChild("Identifier");
        const name = identifier ? text(identifier) : "";
        if (name in ZERO_UNTIL_KNOWN && !/^\s*>\s*0(?![\d.])/.test(expr.slice(node.to))) problems.push(`${text(node)} reads 0 until known (${ZERO_UNTIL_KNOWN[name]}): filter it with > 0`);
        const matchers = labelMatchers(expr, node);
        if (name === "authentication_attempts" && accepts(matchers, "result", "failure") && !accepts(matchers, "result", "error")) problems.push(`${text(node)}: rejected tokens are counted as result="error"`);
        const reader = FORGOTTEN_WHILE_STALLED[name];
        if (options.alert && reader !== undefined) {
          const range = /^\[([0-9a-z]+)\]/.exec(expr.slice(node.to));
          if (!expr.slice(0, node.from).endsWith(reader) || !range || durationSeconds(range[1]) < options.memorySeconds) problems.push(`${text(node)} vanishes or stretches while the pipeline is stalled: read it with ${reader}...) over at least ${options.memorySeconds}s`);
        }
      }
    },
  });
  return problems;
}
