/** The link to the ops hub: remote write of this environment's metrics, or the receiver in ops. */
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";

export function hubManifests(_ctx: ObservabilityContext): Manifest[] {
  return [];
}
