import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cidrsOverlap, formatCidr, parseCidr, type Ipv4Cidr } from "../constructs/core/cidr";
import { checkPoolAgainst, fleet, FleetError, TENANT_SIZES, type Fleet, type FleetInput, type Tenant, type TenantSize } from "../constructs/core/fleet";
import { parseEnvironments, RESERVED_ENVIRONMENT_NAMES, SpecErrors, type EnvironmentInput } from "../constructs/core/spec";
import { environmentFiles, environments, environmentSource, fleetFiles } from "../environments";
import { GITOPS_STACK, specChecks } from "../stacks/app";
import { tempDir } from "./support/outdir";

const shipped: readonly Fleet[] = Object.values(fleetFiles);

/** Every written environment (TypeScript files and YAML descriptors: not a fleet's), with the file messages name. */
const fleetEnvironments = new Set<EnvironmentInput>(shipped.flatMap((f) => f.environments));
const written = environments.flatMap((env, index) => (fleetEnvironments.has(env) ? [] : [{ env, source: environmentSource(index) }]));

/**
 * The test fleet: the shipped fleet's template with a pool and prefix of its own (the cases below
 * state their slots against it), in a pool no written environment overlaps.
 */
const TEST_PREFIX = 17;
const TEST_POOL_PREFIX = 11;
const testPool = (() => {
  const size = 2 ** (32 - TEST_POOL_PREFIX);
  for (let base = (parseCidr("10.0.0.0/8") as Ipv4Cidr).base; ; base += size) {
    const pool = { base, prefix: TEST_POOL_PREFIX };
    if (!written.some(({ env }) => cidrsOverlap(pool, parseCidr(env.network.cidr) as Ipv4Cidr))) return formatCidr(pool);
  }
})();
const TEST_SLOTS = 2 ** (TEST_PREFIX - TEST_POOL_PREFIX);
const testFleet: FleetInput = { ...fleetFiles["tenants.ts"].input, name: "testfleet", source: "environments/testfleet.ts", pool: testPool, tenantPrefix: TEST_PREFIX, tenants: [] };
const templateApps = testFleet.base.apps.map((app) => app.name);

/** The test fleet with these tenants (and fields), for the cases below. */
function withTenants(tenants: readonly Tenant[], changes: Partial<FleetInput> = {}): FleetInput {
  return { ...testFleet, ...changes, tenants };
}

const aws = (slot: number, name: string, account: string, size: TenantSize = "small"): Tenant => ({ slot, name, cloud: "aws", account, region: "eu-west-1", size });

/** The message of the FleetError the input throws. */
function fleetProblems(input: FleetInput): string {
  try {
    fleet(input);
  } catch (error) {
    if (error instanceof FleetError) return error.message;
    throw error;
  }
  throw new Error("the fleet was accepted");
}

function specProblems(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SpecErrors) return error.message;
    throw error;
  }
  throw new Error("the environments were accepted");
}

describe("fleet files", () => {
  it("are the files of environments/ that make a fleet, and each tenant's environment is reported in its file, under its tenant", async () => {
    const dir = join(__dirname, "..", "environments");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "index.ts" && f !== "gitops.ts")) {
      const exported = Object.values(await import(join(dir, file)));
      const isFleet = exported.length === 1 && typeof exported[0] === "object" && exported[0] !== null && "environments" in exported[0];
      expect({ file, listed: file in fleetFiles || file in environmentFiles }).toEqual({ file, listed: true });
      expect({ file, fleet: isFleet }).toEqual({ file, fleet: file in fleetFiles });
    }
    for (const [file, value] of Object.entries(fleetFiles)) {
      expect(value.source).toBe(`environments/${file}`);
      value.environments.forEach((env, index) => {
        expect(environments).toContain(env);
        expect(environmentSource(environments.indexOf(env))).toBe(`environments/${file} (tenant ${value.input.tenants[index].name})`);
      });
    }
  });
});

describe("network allocation", () => {
  it("is Terraform's cidrsubnet(pool, tenantPrefix - pool prefix, slot), as `terraform console` computes it", () => {
    for (const value of shipped) {
      const { pool, tenantPrefix, tenants } = value.input;
      const newBits = tenantPrefix - Number(pool.split("/")[1]);
      const run = spawnSync("terraform", ["console"], { cwd: tempDir("tf-console"), encoding: "utf8", input: `jsonencode([${tenants.map((t) => `cidrsubnet("${pool}", ${newBits}, ${t.slot})`).join(", ")}])\n` });
      expect({ status: run.status, error: run.status === 0 ? "" : run.stderr }).toEqual({ status: 0, error: "" });
      const fromTerraform = JSON.parse(JSON.parse(run.stdout.trim().split("\n")[0]) as string) as string[];
      expect(value.environments.map((env) => env.network.cidr)).toEqual(fromTerraform);
    }
  });

  it("keeps every tenant's network when another tenant is removed, or added in a free slot at the front", () => {
    for (const value of shipped) {
      const cidrOf = (f: Fleet) => Object.fromEntries(f.environments.map((env) => [env.name, env.network.cidr]));
      const before = cidrOf(value);
      value.input.tenants.forEach((_, removed) => {
        const after = cidrOf(fleet(withTenants(value.input.tenants.filter((__, i) => i !== removed), value.input)));
        for (const [name, cidr] of Object.entries(after)) expect({ name, cidr }).toEqual({ name, cidr: before[name] });
      });
      // Without its last tenant, a pool always has a free slot: the newcomer takes the first one.
      const kept = value.input.tenants.slice(0, -1);
      const used = new Set(kept.map((t) => t.slot));
      const slots = 2 ** (value.input.tenantPrefix - Number(value.input.pool.split("/")[1]));
      const free = Array.from({ length: slots }, (_, slot) => slot).find((slot) => !used.has(slot)) as number;
      const accounts = new Set(value.input.tenants.map((t) => JSON.stringify(t.account)));
      const account = Array.from({ length: 10 }, (_, n) => String(999988887770 + n)).find((id) => !accounts.has(JSON.stringify(id))) as string;
      const grown = cidrOf(fleet(withTenants([aws(free, "newcomer", account), ...kept], value.input)));
      for (const t of kept) expect({ name: t.name, cidr: grown[t.name] }).toEqual({ name: t.name, cidr: before[t.name] });
    }
  });

  it("refuses a pool that overlaps another environment's network, naming each (every written environment, TypeScript or YAML)", () => {
    const others = written.map(({ env, source }) => ({ name: env.name, cidr: env.network.cidr, source }));
    // The /11 around the first written environment's range.
    const first = parseCidr(others[0].cidr) as Ipv4Cidr;
    const size = 2 ** (32 - TEST_POOL_PREFIX);
    const pool = formatCidr({ base: Math.floor(first.base / size) * size, prefix: TEST_POOL_PREFIX });
    const value = fleet(withTenants([aws(0, "acme", "999988887777")], { pool }));
    const overlapping = others.filter((other) => cidrsOverlap(parseCidr(pool) as Ipv4Cidr, parseCidr(other.cidr) as Ipv4Cidr));
    const n = overlapping.length;
    expect(() => checkPoolAgainst(value, others)).toThrow(
      `environments/testfleet.ts: fleet "testfleet" has ${n} problem${n === 1 ? "" : "s"}:\n  - pool: given "${pool}"; accepted: a range no other environment uses (${overlapping[0].name} (${overlapping[0].source}) has ${overlapping[0].cidr})`,
    );
    for (const value of shipped) expect(() => checkPoolAgainst(value, others)).not.toThrow();
  });
});

describe("fleet problems, in the spec message format", () => {
  it.each([
    { problem: "a slot another tenant has", tenants: [aws(3, "acme", "111111111111"), aws(3, "beta", "222222222222")], says: "tenants[1].slot: given 3; accepted: a slot no other tenant uses (acme has it); free: 0, 1, 2, 4, 5, ..." },
    { problem: "a slot outside the pool", tenants: [aws(TEST_SLOTS, "acme", "111111111111")], says: `tenants[0].slot: given ${TEST_SLOTS}; accepted: a whole number from 0 to ${TEST_SLOTS - 1}: the pool ${testPool} holds ${TEST_SLOTS} /${TEST_PREFIX} networks` },
    { problem: "a negative slot", tenants: [aws(-1, "acme", "111111111111")], says: `tenants[0].slot: given -1; accepted: a whole number from 0 to ${TEST_SLOTS - 1}` },
    { problem: "a name used twice", tenants: [aws(0, "acme", "111111111111"), aws(1, "acme", "222222222222")], says: "tenants[1].name: given \"acme\"; accepted: a name no other tenant uses (tenants[0] has it)" },
    { problem: "an AWS account used twice", tenants: [aws(0, "acme", "111111111111"), aws(1, "beta", "111111111111")], says: "tenants[1].account: given \"111111111111\"; accepted: an AWS account no other tenant uses (acme is in it)" },
    {
      problem: "an Azure subscription used twice",
      tenants: [0, 1].map((slot): Tenant => ({ slot, name: `t${slot}x`, cloud: "azure", account: { subscriptionId: "00000000-0000-4000-8000-000000000101", tenantId: "00000000-0000-4000-8000-0000000001aa", adminGroupObjectId: "00000000-0000-4000-8000-0000000001ad" }, region: "westeurope", size: "small" })),
      says: "tenants[1].account.subscriptionId: given \"00000000-0000-4000-8000-000000000101\"; accepted: an Azure subscription no other tenant uses (t0x is in it)",
    },
    { problem: "an Azure location on AWS", tenants: [{ ...aws(0, "acme", "111111111111"), region: "westeurope" }], says: "tenants[0].region: given \"westeurope\"; accepted: an AWS region the pinned AWS provider accepts" },
    { problem: "an Azure location without zones", tenants: [{ slot: 0, name: "acme", cloud: "azure", account: { subscriptionId: "00000000-0000-4000-8000-000000000101", tenantId: "00000000-0000-4000-8000-0000000001aa", adminGroupObjectId: "00000000-0000-4000-8000-0000000001ad" }, region: "westus", size: "small" } as Tenant], says: "tenants[0].region: given \"westus\"; accepted: an Azure location with availability zones" },
    { problem: "an AWS region on GCP", tenants: [{ slot: 0, name: "acme", cloud: "gcp", account: "acme-tenant", region: "eu-west-1", size: "small" } as Tenant], says: "tenants[0].region: given \"eu-west-1\"; accepted: a GCP region" },
    { problem: "a size not in the table", tenants: [{ ...aws(0, "acme", "111111111111"), size: "huge" as TenantSize }], says: "tenants[0].size: given \"huge\"; accepted: small | medium | large" },
    { problem: "an app the template does not have", tenants: [{ ...aws(0, "acme", "111111111111"), apps: ["grafana"] } as Tenant], says: `tenants[0].apps[0]: given "grafana"; accepted: an app of the fleet's template: ${templateApps.join(", ")}` },
    { problem: "a tenant without a name", tenants: [{ slot: 0, cloud: "aws", account: "111111111111", region: "eu-west-1", size: "small" } as unknown as Tenant], says: "tenants[0].name: given nothing; accepted: the tenant's environment name" },
    { problem: "a tenant named gitops (the workspaces' stack)", tenants: [aws(0, GITOPS_STACK, "111111111111")], says: 'tenants[0].name: given "gitops"; accepted: a name other than gitops' },
    { problem: "apps given as a string", tenants: [{ ...aws(0, "acme", "111111111111"), apps: "airflow" } as unknown as Tenant], says: 'tenants[0].apps: given "airflow"; accepted: a list of apps of the fleet\'s template' },
    { problem: "an unknown field on a tenant line", tenants: [{ ...aws(0, "acme", "111111111111"), zone: "x" } as unknown as Tenant], says: 'tenants[0].zone: given "x"; accepted: not a field of a tenant line; accepted: slot, name, cloud, account, region, size, apps' },
    { problem: "a misspelt field (app for apps)", tenants: [{ ...aws(0, "acme", "111111111111"), app: ["airflow"] } as unknown as Tenant], says: "tenants[0].app: given [\"airflow\"]" },
    { problem: "an Azure account given as a string", tenants: [{ slot: 0, name: "acme", cloud: "azure", account: "00000000-0000-4000-8000-000000000101", region: "westeurope", size: "small" } as unknown as Tenant], says: 'tenants[0].account: given "00000000-0000-4000-8000-000000000101"; accepted: { subscriptionId, tenantId, adminGroupObjectId }' },
    { problem: "an Azure account without its admin group", tenants: [{ slot: 0, name: "acme", cloud: "azure", account: { subscriptionId: "00000000-0000-4000-8000-000000000101", tenantId: "00000000-0000-4000-8000-0000000001aa" }, region: "westeurope", size: "small" } as unknown as Tenant], says: "tenants[0].account.adminGroupObjectId: given nothing; accepted: a GUID" },
    { problem: "an unknown cloud", tenants: [{ ...aws(0, "acme", "111111111111"), cloud: "oracle" } as unknown as Tenant], says: 'tenants[0].cloud: given "oracle"; accepted: aws | azure | gcp' },
    { problem: "a line that is not an object", tenants: ["acme" as unknown as Tenant], says: 'tenants[0]: given "acme"; accepted: a tenant line' },
  ])("refuses $problem", ({ tenants, says }) => {
    const message = fleetProblems(withTenants(tenants));
    expect(message.startsWith('environments/testfleet.ts: fleet "testfleet" has ')).toBe(true);
    expect(message).toContain(says);
  });

  it.each([
    { problem: "a public pool", changes: { pool: "100.64.0.0/12" }, says: "pool: given \"100.64.0.0/12\"; accepted: a private (RFC 1918) network address" },
    { problem: "a pool with host bits", changes: { pool: "10.64.0.1/12" }, says: "pool: given \"10.64.0.1/12\"; accepted: a private (RFC 1918) network address" },
    { problem: "tenant networks larger than the subnet plan allows", changes: { tenantPrefix: 21 }, says: "tenantPrefix: given 21; accepted: a whole number from 16 to 20" },
    { problem: "tenant networks larger than the pool", changes: { pool: "10.64.0.0/20", tenantPrefix: 18 }, says: "tenantPrefix: given 18; accepted: a whole number from 20 to 20" },
    { problem: "a fleet name too long for its tenants' Terraform Cloud projects", changes: { name: "a".repeat(24) }, says: `name: given "${"a".repeat(24)}"; accepted: letters, digits, _ and -, at most 23 characters` },
  ])("refuses $problem", ({ changes, says }) => {
    expect(fleetProblems(withTenants([aws(0, "acme", "111111111111")], changes))).toContain(says);
  });

  it("refuses tenants that are not a list, in the fleet's message (not a TypeError)", () => {
    expect(fleetProblems({ ...testFleet, tenants: undefined as unknown as Tenant[] })).toContain("tenants: given nothing; accepted: a list of tenant lines");
  });
});

describe("generated environments", () => {
  /** Every size on every cloud, in one fleet. */
  const everyShape: Tenant[] = (Object.keys(TENANT_SIZES) as TenantSize[]).flatMap((size, s) => [
    aws(s * 3, `aws-${size}`, `10000000000${s}`, size),
    { slot: s * 3 + 1, name: `azure-${size}`, cloud: "azure", account: { subscriptionId: `00000000-0000-4000-8000-00000000020${s}`, tenantId: "00000000-0000-4000-8000-0000000002aa", adminGroupObjectId: "00000000-0000-4000-8000-0000000002ad" }, region: "westeurope", size } as Tenant,
    { slot: s * 3 + 2, name: `gcp-${size}`, cloud: "gcp", account: `tenant-gcp-${size}`, region: "europe-west1", size } as Tenant,
  ]);

  it("pass every spec check, with the default environments, for every size of the table on every cloud", () => {
    const value = fleet(withTenants(everyShape));
    const parsed = parseEnvironments([...written.map(({ env }) => env), ...value.environments], (i) => written[i]?.source ?? value.sourceOf(i - written.length), specChecks);
    expect(parsed.map((env) => env.name)).toContain("gcp-large");
    const large = parsed.find((env) => env.name === "aws-large");
    expect(large?.cluster.nodePools.map((p) => p.name)).toEqual(TENANT_SIZES.large.nodePools.map((p) => p.name));
    expect(large?.databases.map((db) => db.size)).toEqual(["large"]);
    expect(large?.apps.map((app) => app.host)).toEqual(templateApps.map((app) => `${app}.aws-large.${testFleet.domain}`));
    expect(large?.dns?.zone).toBe(`aws-large.${testFleet.domain}`);
    expect(large?.tags.tenant).toBe("aws-large");
    expect(large?.terraformCloud?.project).toBe("testfleet-aws-large");
  });

  it("are checked by the spec's rules under the tenant's name: a tenant in the account of a Terraform Cloud environment", () => {
    // The first written environment deployed by Terraform Cloud; the tenant goes in its account, on its cloud.
    const owner = written.find(({ env }) => env.terraformCloud !== undefined) as (typeof written)[number];
    const { env } = owner;
    const guid = "00000000-0000-4000-8000-0000000003ad";
    const line: Record<EnvironmentInput["cloud"], () => { tenant: Tenant; path: string; id: string }> = {
      aws: () => ({ tenant: aws(0, "acme", env.accounts.aws?.accountId as string), path: "accounts.aws.accountId", id: env.accounts.aws?.accountId as string }),
      gcp: () => ({ tenant: { slot: 0, name: "acme", cloud: "gcp", account: env.accounts.gcp?.projectId as string, region: env.accounts.gcp?.region as string, size: "small" }, path: "accounts.gcp.projectId", id: env.accounts.gcp?.projectId as string }),
      azure: () => ({
        tenant: { slot: 0, name: "acme", cloud: "azure", account: { subscriptionId: env.accounts.azure?.subscriptionId as string, tenantId: env.accounts.azure?.tenantId as string, adminGroupObjectId: guid }, region: env.accounts.azure?.location as string, size: "small" },
        path: "accounts.azure.subscriptionId",
        id: env.accounts.azure?.subscriptionId as string,
      }),
    };
    const { tenant, path, id } = line[env.cloud]();
    const value = fleet(withTenants([tenant]));
    // The earlier environment in that account is the one named (it may precede the owner).
    const first = written.find(({ env: other }) => other.cloud === env.cloud && JSON.stringify(other.accounts[env.cloud]).includes(`"${id}"`)) as (typeof written)[number];
    const message = specProblems(() => parseEnvironments([...written.map(({ env: e }) => e), ...value.environments], (i) => written[i]?.source ?? value.sourceOf(i - written.length), specChecks));
    expect(message).toContain(`environments/testfleet.ts (tenant acme): environment "acme" has 1 problem:\n  - ${path}: given "${id}"; accepted:`);
    expect(message).toContain(`(${first.env.name} (${first.source}) is in it`);
  });

  it("refuse the name gitops for any environment (the Terraform Cloud workspaces' stack is named so)", () => {
    expect(RESERVED_ENVIRONMENT_NAMES).toContain(GITOPS_STACK);
    const [{ env, source }] = written;
    const message = specProblems(() => parseEnvironments([{ ...env, name: GITOPS_STACK }], () => source, specChecks));
    expect(message).toContain(`  - name: given "gitops"; accepted: a name other than gitops`);
  });

  it("are checked by the spec's rules under the tenant's name: a template mistake is reported for each tenant", () => {
    const input = withTenants([aws(0, "acme", "111111111111"), aws(1, "beta", "222222222222")]);
    const value = fleet({ ...input, base: { ...input.base, costCentre: "cost centre!" } });
    const message = specProblems(() => parseEnvironments(value.environments, value.sourceOf, specChecks));
    expect(message).toContain('environments/testfleet.ts (tenant acme): environment "acme" has 1 problem:\n  - costCentre: given "cost centre!"');
    expect(message).toContain('environments/testfleet.ts (tenant beta): environment "beta" has 1 problem:');
  });
});

describe("README, Fleets of tenants", () => {
  it("says, per cloud, whether a size change replaces a pool, as the provider's replace-forcing table has it", () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    const rules = (file: string, resource: string) => (JSON.parse(readFileSync(join(__dirname, "..", "scripts", "provider-rules", file), "utf8")) as { replaceForcing: Record<string, { attributes: string[] }> }).replaceForcing[resource].attributes;
    // The pool's machine attribute on each cloud (constructs/<cloud>/cluster.ts).
    const pools = [
      { cloud: "AWS", forces: rules("aws-5.100.0.json", "aws_eks_node_group").includes("instance_types") },
      { cloud: "Azure", forces: rules("azurerm-4.55.0.json", "azurerm_kubernetes_cluster_node_pool").includes("vm_size") },
      { cloud: "GCP", forces: rules("google-6.50.0.json", "google_container_node_pool").includes("node_config.machine_type") },
    ];
    for (const { cloud, forces } of pools) {
      const row = new RegExp(`^\\| ${cloud} \\| (\\*\\*replaced\\*\\*|in place)`, "m").exec(readme)?.[1];
      expect({ cloud, row }).toEqual({ cloud, row: forces ? "**replaced**" : "in place" });
    }
    // What the table calls in place for databases is not replace-forcing on any cloud.
    expect(rules("aws-5.100.0.json", "aws_db_instance").filter((a) => ["instance_class", "allocated_storage"].includes(a))).toEqual([]);
    expect(rules("azurerm-4.55.0.json", "azurerm_postgresql_flexible_server").filter((a) => ["sku_name", "storage_mb"].includes(a))).toEqual([]);
    expect(rules("google-6.50.0.json", "google_sql_database_instance").filter((a) => ["settings.tier", "settings.disk_size"].includes(a))).toEqual([]);
    // The row is about a pool whose node size differs between sizes: it must still be so.
    const workers = new Set(Object.values(TENANT_SIZES).map((shape) => shape.nodePools.find((pool) => pool.name === "workers")?.size));
    expect(workers.size).toBeGreaterThan(1);
  });

  it("shows TENANT_SIZES as it is", () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    for (const [size, shape] of Object.entries(TENANT_SIZES)) {
      const pools = shape.nodePools.map((pool) => `${pool.name} ${pool.size}${"spot" in pool && pool.spot ? " spot" : ""} ${pool.minNodes}–${pool.maxNodes}`).join(", ");
      expect(readme).toContain(`| \`${size}\` | ${pools} | ${shape.database.size}, ${shape.database.storageGiB} GiB |`);
    }
  });
});
