/** Where alerts go: the Alertmanager configuration and the ExternalSecrets of its credentials. */
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";

export function routingManifests(_ctx: ObservabilityContext): Manifest[] {
  return [];
}
