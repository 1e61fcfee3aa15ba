/**
 * Dashboards as code, provisioned into the bundled Grafana of kube-prometheus-stack as ConfigMaps
 * its dashboard sidecar loads into the "Data platform" folder. Only an environment whose
 * monitoring app has a host runs that Grafana (`renderGrafana` in ../monitoring.ts); elsewhere
 * nobody would read them, so none is rendered.
 *
 * The dashboards cover what the environment's Grafana sees: its own apps, or, in the hub that
 * receives other environments' metrics (`metrics.receiveFrom`), theirs too.
 */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import type { AppName } from "../../core/apps";
import { monitoringHost, type Environment } from "../../core/spec";
import type { Manifest } from "../helm";
import { DASHBOARD_SIDECAR } from "../monitoring";
import * as definitions from "./dashboards/definitions";
import type { ObservabilityContext } from "./index";

export { ENVIRONMENT_MATCHER, ENVIRONMENT_VARIABLE, PROMETHEUS_DATASOURCE } from "./dashboards/panels";

/** The Grafana folder of every platform dashboard (a relative path: a subfolder of the sidecar's). */
export const DASHBOARD_FOLDER = "Data platform";

/** What a Grafana watches: the apps whose metrics reach it, and whether any PostgreSQL server does. */
export interface Watched {
  readonly apps: ReadonlySet<AppName>;
  readonly databases: boolean;
}

/** Apps that have a dashboard of their own. */
const APP_DASHBOARDS: Partial<Record<AppName, () => Dashboard>> = {
  airflow: definitions.airflow,
  airbyte: definitions.airbyte,
  datahub: definitions.datahub,
};

/**
 * The dashboards for what a Grafana watches: the data-journey overview, one per app that has
 * metrics, the ingress (Traefik runs in every cluster), PostgreSQL where a server is watched,
 * and cluster resources.
 */
export function dashboardsFor(watched: Watched): Dashboard[] {
  const apps = Object.entries(APP_DASHBOARDS).flatMap(([app, render]) => (watched.apps.has(app as AppName) && render ? [render()] : []));
  return [
    definitions.dataJourney({ airflow: watched.apps.has("airflow"), airbyte: watched.apps.has("airbyte") }),
    ...apps,
    definitions.traefik(),
    ...(watched.databases ? [definitions.postgresql()] : []),
    definitions.cluster(),
  ];
}

/**
 * What the environment's Grafana watches: its own apps and databases, and in a hub those of every
 * environment it receives metrics from (`metrics.receiveFrom`).
 */
export function watchedBy(env: Environment, senders: readonly Environment[] = []): Watched {
  const envs = [env, ...senders];
  return { apps: new Set(envs.flatMap((one) => one.apps.map((app) => app.name))), databases: envs.some((one) => one.databases.length > 0) };
}

/** The ConfigMap the sidecar loads one dashboard from. */
export function dashboardConfigMap(board: Dashboard, namespace: string): Manifest {
  const uid = String(board.uid);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `grafana-dashboard-${uid}`,
      namespace,
      labels: { [DASHBOARD_SIDECAR.label]: DASHBOARD_SIDECAR.labelValue, "app.kubernetes.io/part-of": "data-platform" },
      annotations: { [DASHBOARD_SIDECAR.folderAnnotation]: DASHBOARD_FOLDER },
    },
    data: { [`${uid}.json`]: JSON.stringify(board) },
  };
}

export function dashboardManifests(ctx: ObservabilityContext): Manifest[] {
  const grafana = monitoringHost(ctx.env) !== undefined;
  if (!grafana) return [];
  return dashboardsFor(watchedBy(ctx.env, ctx.senders)).map((board) => dashboardConfigMap(board, ctx.namespace));
}
