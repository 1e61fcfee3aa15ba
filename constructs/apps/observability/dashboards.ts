/** Dashboards as code, provisioned into the platform Grafana. */
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";

export function dashboardManifests(_ctx: ObservabilityContext): Manifest[] {
  return [];
}
