import type { AppName } from "../core/apps";
import { renderAirbyte } from "./airbyte";
import { renderAirflow } from "./airflow";
import { renderDatahub } from "./datahub";
import { renderGrafana } from "./grafana";
import { renderMetabase } from "./metabase";
import { renderMonitoring } from "./monitoring";
import type { AppRenderer } from "./types";

/** The renderer of every app the spec may name. */
export const APP_RENDERERS: Readonly<Record<AppName, AppRenderer>> = {
  airflow: renderAirflow,
  airbyte: renderAirbyte,
  datahub: renderDatahub,
  metabase: renderMetabase,
  grafana: renderGrafana,
  monitoring: renderMonitoring,
};
