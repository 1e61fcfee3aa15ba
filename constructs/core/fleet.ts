/**
 * Fleets of single-tenant environments: one template (`base`) and one line per tenant produce
 * one environment per tenant, each in the tenant's own cloud account (README, "Fleets of tenants").
 *
 * What a tenant line decides: name, cloud, account, region, size, apps, slot. Everything else is
 * the template's or derived by a fixed rule:
 * - network.cidr = cidrsubnet(pool, tenantPrefix - pool prefix, slot): Terraform's own function,
 *   over the tenant's explicit `slot`, so a tenant's range never moves when another tenant is
 *   added, removed or reordered (a changed cidr replaces the VPC and everything in it);
 * - dns.zone = <tenant>.<domain>; each app's host = <app>.<tenant>.<domain>;
 * - terraformCloud = { organization, project: <fleet>-<tenant> }: workspaces <tenant>-<stack>;
 * - tags: the template's plus `tenant: <tenant>`;
 * - cluster.nodePools and each database's size and storage: TENANT_SIZES[size].
 * Problems of the fleet itself (a slot used twice or outside the pool, a name or account used
 * twice, a region unknown for the tenant's cloud) are one FleetError listing them all, in the
 * spec message format; every generated environment then goes through the ordinary spec checks,
 * whose messages name `<fleet file> (tenant <name>)`.
 */
import { cidrSubnet, cidrsOverlap, formatCidr, isNetworkAligned, isPrivateRange, parseCidr, type Ipv4Cidr } from "./cidr";
import { describeValue, SpecError, type SpecIssue } from "./errors";
import { SUBNET_PLAN_LIMITS } from "./network-plan";
import { AWS_ZONE_LETTERS, AZURE_LOCATION_ZONES, GCP_ZONE_LETTERS } from "./regions";
import { RESERVED_ENVIRONMENT_NAMES, type EnvironmentInput } from "./spec";

type ClusterInput = EnvironmentInput["cluster"];
type NodePoolInput = ClusterInput["nodePools"][number];
type DatabaseInput = NonNullable<EnvironmentInput["databases"]>[number];
type AppInput = NonNullable<EnvironmentInput["apps"]>[number];
type AppName = AppInput["name"];

/**
 * What a tenant's `size` means: its node pools and the size and storage of each of its
 * databases. One table for the whole fleet; the neutral node and database sizes map to each
 * cloud's machines in constructs/<cloud>/sizes.ts (README, "Neutral sizes"). Changing a
 * tenant's size changes its databases in place (class, and storage grows: storage never shrinks,
 * so a size goes down only by a new tenant) and its pools' node counts; a pool whose node size
 * changes (`workers`, small <-> medium/large) is rotated in place on Azure and GCP but REPLACED
 * on AWS (`instance_types` forces a new EKS node group, scripts/provider-rules/aws-5.100.0.json,
 * destroyed first under its fixed name): the stack-diff gate lists it under Replaced (README,
 * "Fleets of tenants", checked by __tests__/fleet.test.ts against the provider tables).
 */
export const TENANT_SIZES = {
  small: {
    nodePools: [
      { name: "system", size: "medium", minNodes: 2, maxNodes: 3 },
      { name: "workers", size: "medium", minNodes: 1, maxNodes: 4 },
    ],
    database: { size: "small", storageGiB: 50 },
  },
  medium: {
    nodePools: [
      { name: "system", size: "medium", minNodes: 3, maxNodes: 4 },
      { name: "workers", size: "large", minNodes: 2, maxNodes: 8 },
    ],
    database: { size: "medium", storageGiB: 100 },
  },
  large: {
    nodePools: [
      { name: "system", size: "medium", minNodes: 3, maxNodes: 6 },
      { name: "workers", size: "large", minNodes: 3, maxNodes: 12 },
      { name: "batch", size: "large", minNodes: 0, maxNodes: 20, spot: true },
    ],
    database: { size: "large", storageGiB: 200 },
  },
} as const satisfies Record<string, { nodePools: readonly NodePoolInput[]; database: Pick<DatabaseInput, "size" | "storageGiB"> }>;
export type TenantSize = keyof typeof TENANT_SIZES;

/** The tenant's own cloud account: the one place it differs per cloud. */
export type TenantAccount =
  | { readonly cloud: "aws"; /** The 12-digit AWS account id. */ readonly account: string; readonly region: string }
  | {
      readonly cloud: "azure";
      /** The customer's subscription and Entra tenant, and the Entra group of their cluster admins (the bootstrapper must be in it). */
      readonly account: { readonly subscriptionId: string; readonly tenantId: string; readonly adminGroupObjectId: string };
      /** An Azure location with availability zones. */
      readonly region: string;
    }
  | { readonly cloud: "gcp"; /** The GCP project id. */ readonly account: string; readonly region: string };

/** One line of the fleet. */
export type Tenant = TenantAccount & {
  /** The tenant's environment name (and DNS label, Terraform Cloud project suffix, `tenant` tag). */
  readonly name: string;
  /** The tenant's network inside the pool: never change it, never reuse a removed tenant's slot while its network exists. */
  readonly slot: number;
  readonly size: TenantSize;
  /** Which of the template's apps the tenant runs. @default every app of the template */
  readonly apps?: readonly AppName[];
};

/** The template: an environment without what each tenant line decides or what the rule derives. */
export type TenantTemplate = Omit<EnvironmentInput, "name" | "cloud" | "accounts" | "network" | "cluster" | "dns" | "terraformCloud" | "metrics" | "databases" | "apps"> & {
  readonly network?: { readonly zones?: number };
  readonly cluster: Omit<ClusterInput, "nodePools" | "azure"> & { readonly azure?: Omit<NonNullable<ClusterInput["azure"]>, "adminGroupObjectIds" | "adminGroupName"> };
  readonly dns: { readonly acmeEmail: string };
  /** Databases without size and storage (those come from TENANT_SIZES). */
  readonly databases?: readonly Omit<DatabaseInput, "size" | "storageGiB">[];
  /** Apps without host (derived: <app>.<tenant>.<domain>). */
  readonly apps: readonly Omit<AppInput, "host">[];
};

export interface FleetInput {
  /** Short name: the Terraform Cloud project of each tenant is <name>-<tenant>. */
  readonly name: string;
  /** The file the fleet is written in, for messages (e.g. environments/tenants.ts). */
  readonly source: string;
  /** The private range every tenant's network is cut from; no other environment may overlap it. */
  readonly pool: string;
  /** The prefix length of each tenant's network (16 to 20: the subnet plan's limits). */
  readonly tenantPrefix: number;
  /** Each tenant's DNS zone is <tenant>.<domain>, delegated from this zone. */
  readonly domain: string;
  /** Terraform Cloud organization; omit for local state. */
  readonly terraformCloud?: { readonly organization: string };
  readonly base: TenantTemplate;
  readonly tenants: readonly Tenant[];
}

export interface Fleet {
  readonly name: string;
  readonly source: string;
  readonly pool: string;
  /** What the fleet was made from (to recompute it with tenants added or removed). */
  readonly input: FleetInput;
  /** One environment per tenant, in the order of `tenants`. */
  readonly environments: readonly EnvironmentInput[];
  /** Where the environment at `index` of `environments` is written, for messages. */
  sourceOf(index: number): string;
}

/** The problems of a fleet (not of one generated environment), each on a field of the fleet file. */
export class FleetError extends SpecError {
  constructor(fleet: string, issues: readonly SpecIssue[], source: string) {
    super(fleet, issues, source, "fleet");
    this.name = "FleetError";
  }
}

const KNOWN_REGIONS: Readonly<Record<TenantAccount["cloud"], { readonly noun: string; readonly names: readonly string[] }>> = {
  aws: { noun: "an AWS region the pinned AWS provider accepts (constructs/core/regions.ts)", names: Object.keys(AWS_ZONE_LETTERS) },
  azure: { noun: "an Azure location with availability zones (constructs/core/regions.ts)", names: Object.keys(AZURE_LOCATION_ZONES).filter((location) => AZURE_LOCATION_ZONES[location] > 0) },
  gcp: { noun: "a GCP region (constructs/core/regions.ts)", names: Object.keys(GCP_ZONE_LETTERS) },
};

const ACCOUNT_NOUN: Readonly<Record<TenantAccount["cloud"], string>> = { aws: "an AWS account", azure: "an Azure subscription", gcp: "a GCP project" };

function accountKey(tenant: Tenant): string {
  return tenant.cloud === "azure" ? tenant.account.subscriptionId : tenant.account;
}

/** The pool and tenant prefix, parsed, or the problems that stop every allocation. */
function checkPool(input: FleetInput, report: (path: string, given: unknown, accepted: string) => void): Ipv4Cidr | undefined {
  const pool = parseCidr(input.pool);
  if (!pool || !isNetworkAligned(pool) || !isPrivateRange(pool)) {
    report("pool", input.pool, "a private (RFC 1918) network address such as 10.64.0.0/12, with no host bits set");
    return undefined;
  }
  const { minPrefix, maxPrefix } = SUBNET_PLAN_LIMITS;
  if (!Number.isInteger(input.tenantPrefix) || input.tenantPrefix < Math.max(minPrefix, pool.prefix) || input.tenantPrefix > maxPrefix) {
    report("tenantPrefix", input.tenantPrefix, `a whole number from ${Math.max(minPrefix, pool.prefix)} to ${maxPrefix}: at least the pool's /${pool.prefix}, within the subnet plan's /${minPrefix} to /${maxPrefix} (constructs/core/network-plan.ts)`);
    return undefined;
  }
  return pool;
}

/** The fields of a tenant line; everything else is the template's (`base`) or derived. */
const TENANT_FIELDS = ["slot", "name", "cloud", "account", "region", "size", "apps"] as const;
const AZURE_ACCOUNT_FIELDS = ["subscriptionId", "tenantId", "adminGroupObjectId"] as const;

/** The spec's reserved names (constructs/core/spec.ts), refused here on the tenant's line. */
const RESERVED_TENANT_NAMES: readonly string[] = RESERVED_ENVIRONMENT_NAMES;

/**
 * A tenant line's shape, checked at runtime (a fleet file is TypeScript, but `validate` and
 * `synth` run it without the type checker): every problem at `tenants[i].<field>`.
 * @returns whether the line has the shape the other checks read
 */
function checkTenantShape(tenant: unknown, at: (field: string) => string, report: (path: string, given: unknown, accepted: string) => void, baseApps: readonly string[]): boolean {
  if (tenant === null || typeof tenant !== "object" || Array.isArray(tenant)) {
    report(at("").slice(0, -1), tenant, `a tenant line { ${TENANT_FIELDS.join(", ")} }`);
    return false;
  }
  const line = tenant as Record<string, unknown>;
  let ok = true;
  const refuse = (field: string, accepted: string) => {
    report(at(field), line[field], accepted);
    ok = false;
  };
  for (const key of Object.keys(line)) {
    if (!(TENANT_FIELDS as readonly string[]).includes(key)) refuse(key, `not a field of a tenant line; accepted: ${TENANT_FIELDS.join(", ")} (the rest comes from the fleet's template, base)`);
  }
  if (typeof line.name !== "string" || line.name === "") refuse("name", "the tenant's environment name (lowercase letters, digits and single '-')");
  else if (RESERVED_TENANT_NAMES.includes(line.name)) refuse("name", `a name other than ${RESERVED_TENANT_NAMES.join(", ")}: the Terraform Cloud workspaces' stack is named gitops`);
  if (typeof line.region !== "string") refuse("region", "the tenant's region or location, a string");
  if (line.apps !== undefined && (!Array.isArray(line.apps) || line.apps.some((app) => typeof app !== "string"))) refuse("apps", `a list of apps of the fleet's template: ${baseApps.join(", ")}`);
  const cloud = line.cloud;
  if (cloud === "aws" || cloud === "gcp") {
    if (typeof line.account !== "string") refuse("account", cloud === "aws" ? "the 12-digit AWS account id, a string" : "the GCP project id, a string");
  } else if (cloud === "azure") {
    const account = line.account;
    if (account === null || typeof account !== "object" || Array.isArray(account)) refuse("account", `{ ${AZURE_ACCOUNT_FIELDS.join(", ")} }: the customer's subscription, Entra tenant and cluster admin group`);
    else {
      const fields = account as Record<string, unknown>;
      for (const key of Object.keys(fields)) {
        if (!(AZURE_ACCOUNT_FIELDS as readonly string[]).includes(key)) {
          report(at(`account.${key}`), fields[key], `not a field of an Azure account; accepted: ${AZURE_ACCOUNT_FIELDS.join(", ")}`);
          ok = false;
        }
      }
      for (const key of AZURE_ACCOUNT_FIELDS) {
        if (typeof fields[key] !== "string") {
          report(at(`account.${key}`), fields[key], "a GUID, a string");
          ok = false;
        }
      }
    }
  } else refuse("cloud", "aws | azure | gcp");
  return ok;
}

/**
 * The environments of a fleet.
 * @throws FleetError listing every problem of the fleet's own fields
 */
export function fleet(input: FleetInput): Fleet {
  const issues: SpecIssue[] = [];
  const report = (path: string, given: unknown, accepted: string) => issues.push({ path, message: `given ${describeValue(given)}; accepted: ${accepted}` });
  // Each tenant's Terraform Cloud project is <name>-<tenant>, at most 40 characters (the spec's
  // terraformCloud.project) with a tenant name of up to 16 (the spec's environment name).
  const maxFleetName = 40 - 1 - 16;
  if (input.terraformCloud && !new RegExp(`^[A-Za-z0-9_-]{1,${maxFleetName}}$`).test(input.name)) {
    report("name", input.name, `letters, digits, _ and -, at most ${maxFleetName} characters: each tenant's Terraform Cloud project <name>-<tenant> (a tenant name has up to 16) is at most 40`);
  }
  const pool = checkPool(input, report);
  const slots = pool === undefined ? 0 : 2 ** (input.tenantPrefix - pool.prefix);
  const baseApps = input.base.apps.map((app) => app.name);
  const lines: readonly unknown[] = Array.isArray(input.tenants) ? input.tenants : [];
  if (!Array.isArray(input.tenants)) report("tenants", input.tenants, "a list of tenant lines");
  // Lines of the wrong shape are reported as such; the checks between lines read only the others.
  const shaped = lines.map((tenant, index) => checkTenantShape(tenant, (field) => `tenants[${index}].${field}`, report, baseApps));
  // Only the lines' list, never `input.tenants` itself: a `tenants` that is no list is reported above.
  const tenants = lines as readonly Tenant[];
  const firstWith = <T>(value: (tenant: Tenant) => T, index: number) => tenants.slice(0, index).findIndex((other, i) => shaped[i] && value(other) === value(tenants[index]));
  tenants.forEach((tenant, index) => {
    if (!shaped[index]) return;
    const at = (field: string) => `tenants[${index}].${field}`;
    const dupName = firstWith((t) => t.name, index);
    if (dupName >= 0) report(at("name"), tenant.name, `a name no other tenant uses (tenants[${dupName}] has it)`);
    if (pool !== undefined) {
      if (!Number.isInteger(tenant.slot) || tenant.slot < 0 || tenant.slot >= slots) {
        report(at("slot"), tenant.slot, `a whole number from 0 to ${slots - 1}: the pool ${input.pool} holds ${slots} /${input.tenantPrefix} networks`);
      } else {
        const dupSlot = firstWith((t) => t.slot, index);
        if (dupSlot >= 0) report(at("slot"), tenant.slot, `a slot no other tenant uses (${tenants[dupSlot].name} has it); free: ${freeSlots(tenants, slots)}`);
      }
    }
    const dupAccount = firstWith((t) => `${t.cloud}:${accountKey(t)}`, index);
    if (dupAccount >= 0) {
      const path = tenant.cloud === "azure" ? at("account.subscriptionId") : at("account");
      report(path, accountKey(tenant), `${ACCOUNT_NOUN[tenant.cloud]} no other tenant uses (${tenants[dupAccount].name} is in it): a single-tenant environment has its account to itself`);
    }
    const regions = KNOWN_REGIONS[tenant.cloud];
    if (!regions.names.includes(tenant.region)) report(at("region"), tenant.region, `${regions.noun} for cloud ${tenant.cloud}: ${regions.names.join(", ")}`);
    if (!(tenant.size in TENANT_SIZES)) report(at("size"), tenant.size, `${Object.keys(TENANT_SIZES).join(" | ")} (TENANT_SIZES in constructs/core/fleet.ts)`);
    (tenant.apps ?? []).forEach((app, appIndex) => {
      if (!baseApps.includes(app)) report(at(`apps[${appIndex}]`), app, `an app of the fleet's template: ${baseApps.join(", ")}`);
    });
  });
  if (issues.length > 0) throw new FleetError(input.name, issues, input.source);
  const environments = tenants.map((tenant) => tenantEnvironment(input, pool as Ipv4Cidr, tenant));
  return {
    name: input.name,
    source: input.source,
    pool: input.pool,
    input,
    environments,
    sourceOf: (index) => `${input.source} (tenant ${tenants[index]?.name ?? index + 1})`,
  };
}

function freeSlots(tenants: readonly Tenant[], slots: number): string {
  const used = new Set(tenants.map((t) => t.slot));
  const free = Array.from({ length: slots }, (_, slot) => slot).filter((slot) => !used.has(slot));
  return free.length === 0 ? "none" : free.length > 5 ? `${free.slice(0, 5).join(", ")}, ...` : free.join(", ");
}

function tenantEnvironment(input: FleetInput, pool: Ipv4Cidr, tenant: Tenant): EnvironmentInput {
  const { base } = input;
  const size = TENANT_SIZES[tenant.size];
  const zone = `${tenant.name}.${input.domain}`;
  const apps = tenant.apps ?? base.apps.map((app) => app.name);
  const { azure: clusterAzure, ...cluster } = base.cluster;
  const accounts: EnvironmentInput["accounts"] =
    tenant.cloud === "aws"
      ? { aws: { accountId: tenant.account, region: tenant.region } }
      : tenant.cloud === "azure"
        ? { azure: { subscriptionId: tenant.account.subscriptionId, tenantId: tenant.account.tenantId, location: tenant.region } }
        : { gcp: { projectId: tenant.account, region: tenant.region } };
  return {
    ...base,
    name: tenant.name,
    cloud: tenant.cloud,
    accounts,
    tags: { ...base.tags, tenant: tenant.name },
    ...(input.terraformCloud ? { terraformCloud: { organization: input.terraformCloud.organization, project: `${input.name}-${tenant.name}` } } : {}),
    network: { ...base.network, cidr: formatCidr(cidrSubnet(pool, input.tenantPrefix - pool.prefix, tenant.slot)) },
    cluster: {
      ...cluster,
      ...(tenant.cloud === "azure" ? { azure: { ...clusterAzure, adminGroupObjectIds: [tenant.account.adminGroupObjectId] } } : {}),
      nodePools: size.nodePools.map((pool) => ({ ...pool })),
    },
    dns: { ...base.dns, zone },
    databases: (base.databases ?? []).map((db) => ({ ...db, ...size.database })),
    apps: base.apps.filter((app) => apps.includes(app.name)).map((app) => ({ ...app, host: `${app.name}.${zone}` })),
  };
}

/**
 * A fleet's pool is the fleet's alone: no other environment's network may overlap it, so that
 * every slot, taken or not, stays free for its tenant.
 * @throws FleetError naming the first environment whose network is inside the pool
 */
export function checkPoolAgainst(fleetValue: Fleet, others: readonly { readonly name: string; readonly cidr: string; readonly source: string }[]): void {
  const pool = parseCidr(fleetValue.pool);
  if (pool === undefined) return;
  const issues: SpecIssue[] = [];
  for (const other of others) {
    const cidr = parseCidr(other.cidr);
    if (cidr !== undefined && cidrsOverlap(pool, cidr)) {
      issues.push({ path: "pool", message: `given ${describeValue(fleetValue.pool)}; accepted: a range no other environment uses (${other.name} (${other.source}) has ${other.cidr})` });
    }
  }
  if (issues.length > 0) throw new FleetError(fleetValue.name, issues, fleetValue.source);
}
