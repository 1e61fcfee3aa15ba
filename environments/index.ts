import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadDescriptor } from "../constructs/core/descriptor";
import type { EnvironmentInput } from "../constructs/core/spec";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";

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
} as const satisfies Readonly<Record<string, EnvironmentInput>>;

/**
 * The YAML descriptors (`environments/<name>.yaml`, README "Descriptors (YAML)"): found without
 * being listed, by file name order, after the TypeScript files. Unchecked data until the schema
 * parses it with the others (`parseEnvironments`).
 */
export const descriptorFiles: Readonly<Record<string, unknown>> = Object.fromEntries(
  readdirSync(__dirname)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => [file, loadDescriptor(join(__dirname, file), `environments/${file}`)]),
);

export const environments: readonly EnvironmentInput[] = [...Object.values(environmentFiles), ...(Object.values(descriptorFiles) as EnvironmentInput[])];

/** The file the environment at `index` of `environments` is written in, for messages. */
export function environmentSource(index: number): string {
  const file = [...Object.keys(environmentFiles), ...Object.keys(descriptorFiles)][index];
  return file === undefined ? `environments/index.ts (entry ${index + 1})` : `environments/${file}`;
}
