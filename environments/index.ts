import type { EnvironmentInput } from "../constructs/core/spec";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";
import { stagingGcp } from "./staging-gcp";

/**
 * Every environment `npm run synth` builds, by the file it is written in. Add a file next to
 * these and list it here under its file name: messages name that file, whatever the spec's
 * `name` says (a copied file whose `name` was not changed is reported where it is).
 */
export const environmentFiles = {
  "prod.ts": prod,
  "staging.ts": staging,
  "ops.ts": ops,
  "staging-azure.ts": stagingAzure,
  "staging-gcp.ts": stagingGcp,
} as const satisfies Readonly<Record<string, EnvironmentInput>>;

export const environments: readonly EnvironmentInput[] = Object.values(environmentFiles);

/** The file the environment at `index` of `environments` is written in, for messages. */
export function environmentSource(index: number): string {
  const file = Object.keys(environmentFiles)[index];
  return file === undefined ? `environments/index.ts (entry ${index + 1})` : `environments/${file}`;
}
