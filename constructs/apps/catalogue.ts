import type { AppName } from "../core/apps";
import { AIRBYTE_CHART, renderAirbyte } from "./airbyte";
import { AIRFLOW_CHART, renderAirflow } from "./airflow";
import { DATAHUB_CHART, DATAHUB_PREREQUISITES_CHART, renderDatahub } from "./datahub";
import { STRIMZI_CHART } from "./datahub-kafka";
import { GRAFANA_CHART, renderGrafana } from "./grafana";
import { METABASE_CHART, renderMetabase } from "./metabase";
import { KUBE_PROMETHEUS_STACK_CHART, renderMonitoring } from "./monitoring";
import type { AppRenderer, ChartRef } from "./types";

/** The renderer of every app the spec may name. */
export const APP_RENDERERS: Readonly<Record<AppName, AppRenderer>> = {
  airflow: renderAirflow,
  airbyte: renderAirbyte,
  datahub: renderDatahub,
  metabase: renderMetabase,
  grafana: renderGrafana,
  monitoring: renderMonitoring,
};

/**
 * The charts each app installs, at the versions the platform pins, by chart name: the keys of an
 * app's `values` and `chartVersion` in the spec. A test checks them against what each renderer
 * returns on every cloud.
 */
export const APP_CHARTS: Readonly<Record<AppName, readonly ChartRef[]>> = {
  airflow: [AIRFLOW_CHART],
  airbyte: [AIRBYTE_CHART],
  datahub: [STRIMZI_CHART, DATAHUB_PREREQUISITES_CHART, DATAHUB_CHART],
  metabase: [METABASE_CHART],
  grafana: [GRAFANA_CHART],
  monitoring: [KUBE_PROMETHEUS_STACK_CHART],
};
