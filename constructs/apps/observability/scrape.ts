/** ServiceMonitors and PodMonitors of every app and add-on that exports metrics. */
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";

export function scrapeManifests(_ctx: ObservabilityContext): Manifest[] {
  return [];
}
