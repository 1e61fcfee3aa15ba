import type { EnvironmentInput } from "../constructs/core/spec";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";
import { stagingGcp } from "./staging-gcp";

/**
 * Every environment `npm run synth` builds. Add a file next to these, named after the
 * environment (`environments/<name>.ts`), and list it here.
 */
export const environments: readonly EnvironmentInput[] = [prod, staging, ops, stagingAzure, stagingGcp];

/** The file an environment is written in, for messages; a test holds every file to its name. */
export function environmentSource(index: number, name: string | undefined): string {
  return name === undefined ? `environments/index.ts (entry ${index + 1})` : `environments/${name}.ts`;
}
