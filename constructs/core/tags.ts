import type { Environment } from "./spec";

/** The tags/labels every taggable resource of an environment carries, on every cloud. */
export function environmentTags(env: Environment): Record<string, string> {
  return {
    ...env.tags,
    environment: env.name,
    owner: env.owner,
    "cost-centre": env.costCentre,
    "managed-by": "cdktf",
  };
}
