/**
 * Observability of one environment, on top of its monitoring release (kube-prometheus-stack):
 * what is scraped, the alert rules, where alerts go, the link to the ops hub and the dashboards.
 * Each part renders plain Kubernetes objects (ServiceMonitors, PrometheusRules,
 * AlertmanagerConfig, ExternalSecrets, dashboard ConfigMaps) into one release installed after
 * the monitoring release, which brings their CRDs.
 */
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import type { ClusterServices } from "../../core/interfaces";
import { monitoringHost, type Environment, type MetricsHubLink } from "../../core/spec";
import { tolerationOf } from "../common";
import { HelmRelease, ManifestsRelease } from "../helm";
import { MONITORING_NAMESPACE } from "../monitoring";
import { collectorValues, OTEL_COLLECTOR_CHART, OTEL_COLLECTOR_RELEASE } from "./collector";
import { dashboardManifests } from "./dashboards";
import { hubManifests } from "./hub";
import { routingManifests } from "./routing";
import { ruleManifests } from "./rules";
import { scrapeManifests } from "./scrape";
import { secretStoreManifests } from "./secrets";

/** What every part of the observability layer may read. */
export interface ObservabilityContext {
  readonly env: Environment;
  readonly services: ClusterServices;
  /** Namespace of the monitoring release; every object here lives in it unless it must not. */
  readonly namespace: string;
  /**
   * Base URL (`https://host/`) of the Grafana the platform team reads this environment's
   * dashboards in (the monitoring app's host here, or the ops hub's), for links in alerts.
   */
  readonly grafanaUrl?: string;
  /** The hub this environment sends its metrics to (`metrics.sendTo`, resolved). */
  readonly hub?: MetricsHubLink;
  /** The environments whose metrics this one receives (`metrics.receiveFrom`), as specs. */
  readonly senders: readonly Environment[];
}

export interface ObservabilityProps {
  readonly env: Environment;
  readonly services: ClusterServices;
  readonly links: { readonly hub?: MetricsHubLink; readonly senders: readonly Environment[] };
  /** The monitoring release: its CRDs must exist before any object here. */
  readonly dependsOn: ITerraformDependable[];
  /**
   * The apps' wiring (their databases and roles): the monitoring bootstrap job of Airbyte's
   * server creates a function as Airbyte's role in Airbyte's database (postgres.ts), so the
   * manifests release installs after them.
   */
  readonly appsWiring?: ITerraformDependable[];
}

export class Observability extends Construct {
  readonly release: ManifestsRelease;
  /** The OpenTelemetry collector (collector.ts): Airbyte's metrics and any workload's OTLP. */
  readonly collector: HelmRelease;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    // Alerts link to the Grafana the platform team reads: this environment's, else its hub's.
    const host = monitoringHost(props.env) ?? props.links.hub?.host;
    const ctx: ObservabilityContext = {
      env: props.env,
      services: props.services,
      namespace: MONITORING_NAMESPACE,
      grafanaUrl: host === undefined ? undefined : `https://${host}/`,
      hub: props.links.hub,
      senders: props.links.senders,
    };
    const manifests = [...secretStoreManifests(ctx), ...scrapeManifests(ctx), ...ruleManifests(ctx), ...routingManifests(ctx), ...hubManifests(ctx), ...dashboardManifests(ctx)];
    this.release = new ManifestsRelease(this, "manifests", { name: "observability", namespace: ctx.namespace, manifests, dependsOn: [...new Set([...props.dependsOn, ...(props.appsWiring ?? [])])] });
    // Every environment runs the collector, with or without Airbyte: any workload may send OTLP.
    this.collector = new HelmRelease(this, "otel-collector", {
      name: OTEL_COLLECTOR_RELEASE,
      namespace: ctx.namespace,
      chart: OTEL_COLLECTOR_CHART,
      values: collectorValues({ production: props.env.production, tolerations: [tolerationOf(props.services.spotTaint)] }),
      dependsOn: props.dependsOn,
    });
  }
}
