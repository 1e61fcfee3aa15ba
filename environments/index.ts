import type { EnvironmentInput } from "../constructs/core/spec";
import { checkPoolAgainst } from "../constructs/core/fleet";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";
import { stagingGcp } from "./staging-gcp";
import { tenants } from "./tenants";

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

/** Fleets of tenants (constructs/core/fleet.ts), by file: each makes one environment per tenant, after the files'. */
export const fleetFiles = { "tenants.ts": tenants } as const;

const files = Object.keys(environmentFiles);
checkPoolAgainst(tenants, Object.values(environmentFiles).map((env, index) => ({ name: env.name, cidr: env.network.cidr, source: `environments/${files[index]}` })));

export const environments: readonly EnvironmentInput[] = [...Object.values(environmentFiles), ...tenants.environments];

/** The file the environment at `index` of `environments` is written in, for messages. */
export function environmentSource(index: number): string {
  const file = files[index];
  if (file !== undefined) return `environments/${file}`;
  const tenant = index - files.length;
  return tenant < tenants.environments.length ? tenants.sourceOf(tenant) : `environments/index.ts (entry ${index + 1})`;
}
