import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadDescriptor } from "../constructs/core/descriptor";
import type { EnvironmentInput } from "../constructs/core/spec";
import { checkPoolAgainst } from "../constructs/core/fleet";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";
import { tenants } from "./tenants";
import { lake } from "./lake";

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
  "lake.ts": lake,
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

/** Fleets of tenants (constructs/core/fleet.ts), by file: each makes one environment per tenant, after the files'. */
export const fleetFiles = { "tenants.ts": tenants } as const;

const files = [...Object.keys(environmentFiles), ...Object.keys(descriptorFiles)];
const written: readonly unknown[] = [...Object.values(environmentFiles), ...Object.values(descriptorFiles)];

/** A written environment's name and range, where they are strings (the schema checks the rest later). */
function rangeOf(env: unknown, index: number): { name: string; cidr: string; source: string } | undefined {
  const spec = env as { name?: unknown; network?: { cidr?: unknown } } | undefined;
  const cidr = spec?.network?.cidr;
  return typeof cidr === "string" ? { name: String(spec?.name), cidr, source: `environments/${files[index]}` } : undefined;
}
const fleets = Object.values(fleetFiles);

/** The check each fleet's pool gets against the environments written beside it: no overlap. */
export function checkFleetPools(others: readonly { readonly name: string; readonly cidr: string; readonly source: string }[]): void {
  for (const fleet of fleets) checkPoolAgainst(fleet, others);
}
checkFleetPools(written.flatMap((env, index) => rangeOf(env, index) ?? []));

export const environments: readonly EnvironmentInput[] = [...(written as EnvironmentInput[]), ...fleets.flatMap((fleet) => fleet.environments)];

/** The file the environment at `index` of `environments` is written in, for messages. */
export function environmentSource(index: number): string {
  const file = files[index];
  if (file !== undefined) return `environments/${file}`;
  let tenant = index - files.length;
  for (const fleet of fleets) {
    if (tenant < fleet.environments.length) return fleet.sourceOf(tenant);
    tenant -= fleet.environments.length;
  }
  return `environments/index.ts (entry ${index + 1})`;
}
