/**
 * `tsx main.ts new-env <name> [--from <env>] [--cloud <cloud>] [--account <id>]`: writes
 * environments/<name>.yaml, a YAML descriptor copied from an existing environment's spec with
 * what must differ per environment changed:
 * - `name`, and the DNS zone and app hosts under the new name (two environments serving one
 *   host are refused by the checks across environments);
 * - `network.cidr`: the first block of the template's size in 10.0.0.0/8 that overlaps no
 *   environment's range (the cross-environment rule in constructs/core/spec.ts) and no fleet's
 *   pool (a pool is its fleet's alone, free slots included: constructs/core/fleet.ts);
 * - what only an existing environment may keep is dropped: `databases[].gcp.instanceName` (the
 *   name of an instance created before names had a suffix) and
 *   `databases[].waivers.customerManagedKey` (README, Upgrade guide); metrics links, which both
 *   sides must list, are left for the user to add.
 * A fleet's tenant is refused as `--from`: its spec carries the customer's Terraform Cloud project
 * (`<fleet>-<tenant>`, where access is granted per customer) and `tenant` tag, and a new tenant
 * is a new line in the fleet's file, not a descriptor.
 * The file is written only when every environment, the new one included, passes the spec checks
 * and the new environment's stacks pass the policy pack.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { cidrsOverlap, formatCidr, parseCidr, type Ipv4Cidr } from "../constructs/core/cidr";
import { parseDescriptor } from "../constructs/core/descriptor";
import { CLOUDS, type Cloud } from "../constructs/core/spec";

export const ENVIRONMENTS_DIR = join(__dirname, "..", "environments");

/** Where each cloud's account id is in `accounts`. */
const ACCOUNT_FIELD: Readonly<Record<Cloud, string>> = { aws: "accountId", azure: "subscriptionId", gcp: "projectId" };

const PRIVATE_10 = parseCidr("10.0.0.0/8") as Ipv4Cidr;

/** The first block of `/prefix` in 10.0.0.0/8 that overlaps none of `used`, or undefined. */
export function freeRange(prefix: number, used: readonly Ipv4Cidr[]): string | undefined {
  const size = 2 ** (32 - prefix);
  for (let base = PRIVATE_10.base; base < PRIVATE_10.base + 2 ** 24; base += size) {
    const candidate = { base, prefix };
    if (!used.some((range) => cidrsOverlap(range, candidate))) return formatCidr(candidate);
  }
  return undefined;
}

type Json = Record<string, unknown>;

/** What a new environment's range must not overlap: every environment's range and every fleet's whole pool (its free slots are its tenants' to come). */
export function takenRanges(environments: readonly { readonly network?: { readonly cidr?: unknown } }[], fleets: readonly { readonly pool: string }[]): Ipv4Cidr[] {
  return [...environments.map((env) => env.network?.cidr), ...fleets.map((f) => f.pool)].flatMap((cidr) => {
    const range = parseCidr(String(cidr));
    return range === undefined ? [] : [range];
  });
}

/** The new environment's spec: the template's, with the per-environment fields changed (see the file's comment). */
export function specFrom(template: Json, name: string, cidr: string, cloud: Cloud, account?: string): Json {
  const spec = structuredClone(template);
  const fromName = String(template.name);
  spec.name = name;
  spec.cloud = cloud;
  spec.network = { ...(spec.network as Json), cidr };
  if (account !== undefined) {
    const accounts = (spec.accounts ?? {}) as Json;
    accounts[cloud] = { ...(accounts[cloud] as Json), [ACCOUNT_FIELD[cloud]]: account };
    spec.accounts = accounts;
  }
  const dns = spec.dns as Json | undefined;
  const oldZone = typeof dns?.zone === "string" ? dns.zone : undefined;
  const zone = oldZone === undefined ? undefined : oldZone.startsWith(`${fromName}.`) ? `${name}.${oldZone.slice(fromName.length + 1)}` : `${name}.${oldZone}`;
  if (dns && zone) dns.zone = zone;
  for (const app of (spec.apps ?? []) as Json[]) {
    if (typeof app.host === "string" && oldZone && zone && app.host.endsWith(`.${oldZone}`)) app.host = `${app.host.slice(0, -oldZone.length)}${zone}`;
  }
  for (const db of (spec.databases ?? []) as Json[]) {
    const gcp = db.gcp as Json | undefined;
    if (gcp) {
      delete gcp.instanceName;
      if (Object.keys(gcp).length === 0) delete db.gcp;
    }
    const waivers = db.waivers as Json | undefined;
    if (waivers) {
      delete waivers.customerManagedKey;
      if (Object.keys(waivers).length === 0) delete db.waivers;
    }
  }
  delete spec.metrics;
  return spec;
}

/** The descriptor's text: the schema line for editors, where it came from, then the spec. */
export function descriptorText(spec: Json, from: string): string {
  return [
    "# yaml-language-server: $schema=../schema/environment.schema.json",
    "#",
    `# Written by \`tsx main.ts new-env\` from ${from}: replace the accounts with this environment's own.`,
    "# Metrics: to send to a hub, add metrics.sendTo here and list this environment in the hub's metrics.receiveFrom.",
    stringify(spec, { lineWidth: 0 }),
  ].join("\n");
}

export interface NewEnvironmentOptions {
  readonly from?: string;
  readonly cloud?: string;
  readonly account?: string;
}

/** Runs `new-env`; returns the exit code (1: refused, nothing written; 2: a usage error). */
export async function newEnvironment(name: string, options: NewEnvironmentOptions): Promise<number> {
  const fail = (code: number, message: string) => {
    process.stderr.write(`new-env: ${message}\n`);
    return code;
  };
  const { environments, environmentSource, fleetFiles, checkFleetPools } = require("../environments/index") as typeof import("../environments/index");
  const { gitops } = require("../environments/gitops") as typeof import("../environments/gitops");
  const names = environments.map((env) => (env as Json).name);
  const fromName = options.from ?? "staging";
  const template = environments.find((env) => env.name === fromName) as Json | undefined;
  const fleets = Object.values(fleetFiles);
  const tenantOf = fleets.find((f) => f.environments.some((env) => env.name === fromName));
  const written = environments.filter((env) => !fleets.some((f) => f.environments.includes(env))).map((env) => env.name);
  if (template === undefined || tenantOf !== undefined) {
    const why = tenantOf === undefined ? "" : `, a tenant of fleet "${tenantOf.name}" (${tenantOf.source}: its spec is the customer's, with their Terraform Cloud project and tenant tag; a new tenant is a new line there)`;
    return fail(2, `--from: given "${fromName}"${why}; accepted: ${written.join(", ")}`);
  }
  if (options.cloud !== undefined && !(CLOUDS as readonly string[]).includes(options.cloud)) return fail(2, `--cloud: given "${options.cloud}"; accepted: ${CLOUDS.join(" | ")}`);
  const cloud = (options.cloud ?? template.cloud) as Cloud;
  if (names.includes(name)) return fail(1, `an environment named "${name}" exists (${environmentSource(names.indexOf(name))}); accepted: a new name`);
  const file = join(ENVIRONMENTS_DIR, `${name}.yaml`);
  const taken = [".yaml", ".ts"].find((ext) => existsSync(join(ENVIRONMENTS_DIR, `${name}${ext}`)));
  if (taken !== undefined) return fail(1, `environments/${name}${taken} exists; accepted: a name without a file`);
  const templateRange = parseCidr(String((template.network as Json | undefined)?.cidr));
  const cidr = freeRange(templateRange?.prefix ?? 16, takenRanges(environments, fleets));
  if (cidr === undefined) return fail(1, `no free /${templateRange?.prefix ?? 16} left in 10.0.0.0/8 outside the environments' ranges and the fleets' pools`);
  const source = `environments/${name}.yaml`;
  const text = descriptorText(specFrom(template, name, cidr, cloud, options.account), `environments/${fromName}`);
  // Checked as it will be read: the written text, parsed back with its lines.
  const spec = parseDescriptor(text, source);
  const { checkStacks, reportProblems } = require("../stacks/app") as typeof import("../stacks/app");
  const sourceOf = (index: number) => (index === environments.length ? source : environmentSource(index));
  try {
    // What environments/index.ts checks at load, with the new file among the written ones.
    checkFleetPools([{ name, cidr, source }]);
    checkStacks([...environments, spec], gitops, sourceOf, { only: [name] });
  } catch (error) {
    reportProblems(error, `${source} was not written`);
    process.stderr.write(`new-env: ${source} was not written (the lines are those of the file it would be); --account gives it an account of its own, --from another template\n`);
    return 1;
  }
  writeFileSync(file, text);
  process.stdout.write(`wrote ${source} (from ${fromName}, ${cloud}, network ${cidr}); \`tsx main.ts synth --only ${name}\` synthesizes it\n`);
  return 0;
}
