/**
 * The few building blocks every platform dashboard uses, on Grafana's Foundation SDK
 * (`@grafana/grafana-foundation-sdk` 0.0.21, required by deep path so synth loads only the
 * dashboard, Prometheus query and the three panel modules, not the whole SDK, and only when it
 * builds a dashboard: `sdk()`).
 *
 * The dashboards are the classic JSON model (`dashboard`, schemaVersion 42), not `dashboardv2`:
 * the bundled Grafana loads them through the file provisioner the dashboard sidecar feeds,
 * which reads the classic model (grafana-community/helm-charts grafana-12.11.1
 * charts/grafana/templates/_config.tpl, provider `type: file`).
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import type { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import type { PanelBuilder as TablePanelBuilder } from "@grafana/grafana-foundation-sdk/table";
import type { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

interface Sdk {
  readonly dashboard: typeof import("@grafana/grafana-foundation-sdk/dashboard");
  readonly common: typeof import("@grafana/grafana-foundation-sdk/common");
  readonly prometheus: typeof import("@grafana/grafana-foundation-sdk/prometheus");
  readonly stat: typeof import("@grafana/grafana-foundation-sdk/stat");
  readonly table: typeof import("@grafana/grafana-foundation-sdk/table");
  readonly timeseries: typeof import("@grafana/grafana-foundation-sdk/timeseries");
}

let loaded: Sdk | undefined;

/**
 * The SDK's modules (about 230 files), loaded when the first panel is built: only an environment
 * with Grafana (the `monitoring` app) builds dashboards, and a synth without one (`synth --only`
 * a sender) loads none of them. The SDK is CommonJS (dist/*.js, "use strict" + exports).
 */
function sdk(): Sdk {
  return (loaded ??= {
    dashboard: require("@grafana/grafana-foundation-sdk/dashboard") as Sdk["dashboard"],
    common: require("@grafana/grafana-foundation-sdk/common") as Sdk["common"],
    prometheus: require("@grafana/grafana-foundation-sdk/prometheus") as Sdk["prometheus"],
    stat: require("@grafana/grafana-foundation-sdk/stat") as Sdk["stat"],
    table: require("@grafana/grafana-foundation-sdk/table") as Sdk["table"],
    timeseries: require("@grafana/grafana-foundation-sdk/timeseries") as Sdk["timeseries"],
  });
}

/**
 * The default Prometheus datasource of the bundled Grafana: kube-prometheus-stack 88.5.3
 * provisions it with `uid: {{ .Values.grafana.sidecar.datasources.uid }}`
 * (templates/grafana/configmaps-datasources.yaml), default `prometheus` (values.yaml
 * `grafana.sidecar.datasources.uid`). monitoring.ts does not override it.
 */
export const PROMETHEUS_DATASOURCE = { type: "prometheus", uid: "prometheus" } as const;

/** The dashboard variable every query filters on; every series carries the `environment` label. */
export const ENVIRONMENT_VARIABLE = "environment";

/** The matcher every selector carries: the environments picked in the variable (a regex, so "All" and multi-select work). */
export const ENVIRONMENT_MATCHER = `${ENVIRONMENT_VARIABLE}=~"$${ENVIRONMENT_VARIABLE}"`;

/** Tag of every platform dashboard; the dashboards link to each other through it. */
export const DASHBOARD_TAG = "data-platform";

/** `metric{environment=~"$environment",<more>}`. */
export function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${[ENVIRONMENT_MATCHER, ...matchers].join(",")}}`;
}

/** One PromQL query of a panel, with the legend Grafana shows for it. */
export interface Query {
  readonly expr: string;
  readonly legend?: string;
  /** Unit of this query's column in a table, when it differs from the panel's. */
  readonly unit?: string;
}

/** Grafana's query ids: A, B, C... */
const refId = (index: number): string => String.fromCharCode(65 + index);

/**
 * How a panel asks Prometheus: a range query (time series), or an instant one, as one frame per
 * series (`time_series`: stat panels, titled by the legend) or one table frame (`table`: tables,
 * merged on their labels). Grafana's Prometheus table format has no legend, and a stat panel
 * reduces each numeric field of each frame to one value
 * (grafana packages/grafana-data/src/field/fieldDisplay.ts `getFieldDisplayValues`): a table
 * frame has one `Value` field, so a stat over it shows one environment's number only.
 */
type QueryKind = "range" | "instant-series" | "instant-table";

function target(query: Query, index: number, kind: QueryKind): DataqueryBuilder {
  const { DataqueryBuilder, PromQueryFormat } = sdk().prometheus;
  const builder = new DataqueryBuilder().datasource(PROMETHEUS_DATASOURCE).refId(refId(index)).expr(query.expr);
  if (query.legend !== undefined) builder.legendFormat(query.legend);
  if (kind === "range") return builder.range();
  return builder.instant().format(kind === "instant-table" ? PromQueryFormat.Table : PromQueryFormat.TimeSeries);
}

export interface PanelOptions {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Grid width (of 24). @default 12 */
  readonly width?: number;
}

export type Panel = TimeseriesPanelBuilder | StatPanelBuilder | TablePanelBuilder;

/**
 * A time series: how something evolved. The legend is shown as a table under the graph and the
 * tooltip lists every series (the SDK's defaults hide the legend and show one series), so the
 * lines of several pipelines and environments can be told apart without hovering each.
 */
export function timeseries(options: PanelOptions): TimeseriesPanelBuilder {
  const { VizLegendOptionsBuilder, LegendDisplayMode, LegendPlacement, VizTooltipOptionsBuilder, TooltipDisplayMode, SortOrder } = sdk().common;
  const panel = new (sdk().timeseries.PanelBuilder)()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS_DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 12)
    .height(8)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).calcs(["lastNotNull"]))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
  options.queries.forEach((query, index) => panel.withTarget(target(query, index, "range")));
  return panel;
}

/** One number per environment, now: one frame per series, each reduced to its last value and titled by its legend. */
export function stat(options: PanelOptions): StatPanelBuilder {
  const panel = new (sdk().stat.PanelBuilder)()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS_DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 6)
    .height(5)
    .reduceOptions(new (sdk().common.ReduceDataOptionsBuilder)().values(false).calcs(["lastNotNull"]));
  options.queries.forEach((query, index) => panel.withTarget(target(query, index, "instant-series")));
  return panel;
}

/**
 * A table of instant queries merged on their common labels (Grafana's `merge` transformation):
 * one row per pipeline, one column per query.
 */
export function table(options: PanelOptions): TablePanelBuilder {
  const panel = new (sdk().table.PanelBuilder)().title(options.title).description(options.description).datasource(PROMETHEUS_DATASOURCE).unit(options.unit).span(options.width ?? 24).height(9);
  options.queries.forEach((query, index) => {
    panel.withTarget(target(query, index, "instant-table"));
    // After `merge`, each instant query's value is the column `Value #<refId>`.
    const column = `Value #${refId(index)}`;
    panel.overrideByName(column, [{ id: "displayName", value: query.legend ?? column }, { id: "unit", value: query.unit ?? options.unit }]);
  });
  return panel
    .withTransformation({ id: "merge", options: {} })
    .withTransformation({ id: "organize", options: { excludeByName: { Time: true } } });
}

/** A titled group of panels. */
export interface Section {
  readonly title: string;
  readonly panels: readonly Panel[];
}

export interface DashboardOptions {
  /** Grafana uid: at most 40 letters, digits, `-` or `_`. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly sections: readonly Section[];
}

/**
 * A dashboard with the environment selector (multi-select, "All" as `.*` so it also matches
 * every environment the ops hub receives), read-only (it is provisioned from code), the last
 * six hours refreshed every minute, and links to the other platform dashboards.
 */
export function dashboard(options: DashboardOptions): Dashboard {
  const { QueryVariableBuilder, VariableRefresh, VariableSort, DashboardBuilder, DashboardCursorSync, DashboardLinkBuilder, DashboardLinkType, RowBuilder } = sdk().dashboard;
  const environments = new QueryVariableBuilder(ENVIRONMENT_VARIABLE)
    .label("Environment")
    .datasource(PROMETHEUS_DATASOURCE)
    .query(`label_values(up, ${ENVIRONMENT_VARIABLE})`)
    .definition(`label_values(up, ${ENVIRONMENT_VARIABLE})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*")
    .current({ selected: true, text: ["All"], value: ["$__all"] });
  const builder = new DashboardBuilder(options.title)
    .uid(options.uid)
    .description(options.description)
    .tags([DASHBOARD_TAG])
    .readonly()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: "now-6h", to: "now" })
    .refresh("1m")
    .timezone("browser")
    .withVariable(environments)
    .link(new DashboardLinkBuilder("Data platform").type(DashboardLinkType.Dashboards).tags([DASHBOARD_TAG]).asDropdown(true).includeVars(true).keepTime(true));
  let id = 0;
  for (const section of options.sections) {
    builder.withRow(new RowBuilder(section.title).id(++id));
    for (const panel of section.panels) builder.withPanel(panel.id(++id));
  }
  return builder.build();
}
