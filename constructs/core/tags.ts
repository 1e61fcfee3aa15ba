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
    "managed-by": "cdktf",
  };
}
