import type { Environment } from "./spec";

/** The tags/labels every taggable resource of an environment carries, on every cloud. */
export function environmentTags(env: Environment): Record<string, string> {
  return { ...env.tags, ...platformTags(env) };
}

/** The platform's own tags alone (`RESERVED_TAG_KEYS`), for resources that take only a few tags. */
export function platformTags(env: Environment): Record<string, string> {
  return {
    environment: env.name,
    owner: env.owner,
    "cost-centre": env.costCentre,
    // Still "cdktf" on cdktn (issue 13): a new value would update the tags of every resource of
    // every environment, and the output of the switch was to change in the framework's stamp only.
    "managed-by": "cdktf",
  };
}
