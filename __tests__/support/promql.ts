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
