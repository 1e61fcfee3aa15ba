import { SpecError } from "../core/errors";
import type { Environment } from "../core/spec";
import { environmentTags } from "../core/tags";

/** GCP label keys and values: lowercase letters, digits, `_` and `-`, at most 63 characters. */
const LABEL_MAX_LENGTH = 63;
const NOT_ALLOWED_IN_LABEL = /[^a-z0-9_-]/g;

function labelValue(text: string): string {
  return text.toLowerCase().replace(NOT_ALLOWED_IN_LABEL, "_").slice(0, LABEL_MAX_LENGTH);
}

/** Label keys must also start with a lowercase letter. */
function labelKey(text: string): string {
  const value = labelValue(text);
  return (/^[a-z]/.test(value) ? value : `tag-${value}`).slice(0, LABEL_MAX_LENGTH);
}

/**
 * The environment's tags (`environment`, `owner`, `cost-centre`, `managed-by` and the spec's
 * `tags`) as GCP labels: lowercased, every other character replaced by `_`, cut to 63
 * characters, keys prefixed with `tag-` when they do not start with a letter.
 * @throws SpecError when two spec tag keys become the same label key, so neither is silently lost.
 */
export function gcpLabels(env: Environment): Record<string, string> {
  const labels: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const [key, value] of Object.entries(environmentTags(env))) {
    const label = labelKey(key);
    const earlier = sources[label];
    if (earlier !== undefined) {
      // Name the spec's own tag: the platform's keys (owner, ...) come after the spec's.
      const [given, other] = key in env.tags ? [key, earlier] : [earlier, key];
      throw new SpecError(env.name, [
        {
          path: `tags.${given}`,
          message: `given ${JSON.stringify(given)}; accepted: a key that stays distinct from "${other}" as a GCP label (lowercase letters, digits, _ and -): both become "${label}"`,
        },
      ]);
    }
    sources[label] = key;
    labels[label] = labelValue(value);
  }
  return labels;
}
