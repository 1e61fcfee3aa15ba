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

/** Two tag keys that become one GCP label key: the spec's own tag, the other key, the label. */
export interface GcpLabelClash {
  readonly given: string;
  readonly other: string;
  readonly label: string;
}

/**
 * The tag keys that would silently replace another's label, for the spec check (see
 * spec-problems.ts): the spec's own tag is named, the platform's keys (owner, ...) come after it.
 */
export function gcpLabelClashes(env: Environment): GcpLabelClash[] {
  const sources: Record<string, string> = {};
  const clashes: GcpLabelClash[] = [];
  for (const key of Object.keys(environmentTags(env))) {
    const label = labelKey(key);
    const earlier = sources[label];
    if (earlier === undefined) sources[label] = key;
    else clashes.push(key in env.tags ? { given: key, other: earlier, label } : { given: earlier, other: key, label });
  }
  return clashes;
}

/**
 * The environment's tags (`environment`, `owner`, `cost-centre`, `managed-by` and the spec's
 * `tags`) as GCP labels: lowercased, every other character replaced by `_`, cut to 63
 * characters, keys prefixed with `tag-` when they do not start with a letter. Two keys that
 * become one label are refused by the spec check (`gcpLabelClashes`).
 */
export function gcpLabels(env: Environment): Record<string, string> {
  if (gcpLabelClashes(env).length > 0) throw new Error(`tags of ${env.name} clash as GCP labels (the spec check gcpSpecProblems should have caught this)`);
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(environmentTags(env))) labels[labelKey(key)] = labelValue(value);
  return labels;
}
