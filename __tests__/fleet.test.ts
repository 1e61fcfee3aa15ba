import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPoolAgainst, fleet, FleetError, TENANT_SIZES, type Fleet, type FleetInput, type Tenant, type TenantSize } from "../constructs/core/fleet";
import { parseEnvironments, SpecErrors } from "../constructs/core/spec";
import { environmentFiles, environments, environmentSource, fleetFiles } from "../environments";
import { specChecks } from "../stacks/app";
import { tempDir } from "./support/outdir";

const shipped: readonly Fleet[] = Object.values(fleetFiles);

/** A fleet like the shipped one with other tenants (and fields), for the cases below. */
function withTenants(tenants: readonly Tenant[], changes: Partial<FleetInput> = {}): FleetInput {
  return { ...fleetFiles["tenants.ts"].input, ...changes, tenants };
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
      const used = new Set(value.input.tenants.map((t) => t.slot));
      const free = Array.from({ length: 64 }, (_, slot) => slot).find((slot) => !used.has(slot)) as number;
      const grown = cidrOf(fleet(withTenants([aws(free, "newcomer", "999988887777"), ...value.input.tenants], value.input)));
      for (const [name, cidr] of Object.entries(before)) expect({ name, cidr: grown[name] }).toEqual({ name, cidr });
    }
  });

  it("refuses a pool that overlaps another environment's network", () => {
    const value = fleet(withTenants([aws(0, "acme", "999988887777")], { pool: "10.0.0.0/11" }));
    const others = Object.entries(environmentFiles).map(([file, env]) => ({ name: env.name, cidr: env.network.cidr, source: `environments/${file}` }));
    expect(() => checkPoolAgainst(value, others)).toThrow('environments/tenants.ts: fleet "tenants" has 5 problems:\n  - pool: given "10.0.0.0/11"; accepted: a range no other environment uses (prod (environments/prod.ts) has 10.10.0.0/16)');
    expect(() => checkPoolAgainst(fleetFiles["tenants.ts"], others)).not.toThrow();
  });
});

describe("fleet problems, in the spec message format", () => {
  it.each([
    { problem: "a slot another tenant has", tenants: [aws(3, "acme", "111111111111"), aws(3, "beta", "222222222222")], says: "tenants[1].slot: given 3; accepted: a slot no other tenant uses (acme has it); free: 0, 1, 2, 4, 5, ..." },
    { problem: "a slot outside the pool", tenants: [aws(64, "acme", "111111111111")], says: "tenants[0].slot: given 64; accepted: a whole number from 0 to 63: the pool 10.64.0.0/11 holds 64 /17 networks" },
    { problem: "a negative slot", tenants: [aws(-1, "acme", "111111111111")], says: "tenants[0].slot: given -1; accepted: a whole number from 0 to 63" },
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
    { problem: "an app the template does not have", tenants: [{ ...aws(0, "acme", "111111111111"), apps: ["grafana"] } as Tenant], says: "tenants[0].apps[0]: given \"grafana\"; accepted: an app of the fleet's template: airflow, airbyte, datahub, metabase" },
    { problem: "a name too long for its Terraform Cloud project", tenants: [aws(0, "a".repeat(33), "111111111111")], says: "accepted: at most 32 characters: the Terraform Cloud project tenants-<tenant> is at most 40" },
  ])("refuses $problem", ({ tenants, says }) => {
    const message = fleetProblems(withTenants(tenants));
    expect(message.startsWith('environments/tenants.ts: fleet "tenants" has ')).toBe(true);
    expect(message).toContain(says);
  });

  it.each([
    { problem: "a public pool", changes: { pool: "100.64.0.0/12" }, says: "pool: given \"100.64.0.0/12\"; accepted: a private (RFC 1918) network address" },
    { problem: "a pool with host bits", changes: { pool: "10.64.0.1/12" }, says: "pool: given \"10.64.0.1/12\"; accepted: a private (RFC 1918) network address" },
    { problem: "tenant networks larger than the subnet plan allows", changes: { tenantPrefix: 21 }, says: "tenantPrefix: given 21; accepted: a whole number from 16 to 20" },
    { problem: "tenant networks larger than the pool", changes: { pool: "10.64.0.0/20", tenantPrefix: 18 }, says: "tenantPrefix: given 18; accepted: a whole number from 20 to 20" },
  ])("refuses $problem", ({ changes, says }) => {
    expect(fleetProblems(withTenants([aws(0, "acme", "111111111111")], changes))).toContain(says);
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
    const parsed = parseEnvironments([...Object.values(environmentFiles), ...value.environments], undefined, specChecks);
    expect(parsed.map((env) => env.name)).toContain("gcp-large");
    const large = parsed.find((env) => env.name === "aws-large");
    expect(large?.cluster.nodePools.map((p) => p.name)).toEqual(TENANT_SIZES.large.nodePools.map((p) => p.name));
    expect(large?.databases.map((db) => db.size)).toEqual(["large"]);
    expect(large?.apps.map((app) => app.host)).toEqual(["airflow", "airbyte", "datahub", "metabase"].map((app) => `${app}.aws-large.tenants.data.example.com`));
    expect(large?.dns?.zone).toBe("aws-large.tenants.data.example.com");
    expect(large?.tags.tenant).toBe("aws-large");
    expect(large?.terraformCloud?.project).toBe("tenants-aws-large");
  });

  it("are checked by the spec's rules under the tenant's name: a tenant in the account of a Terraform Cloud environment", () => {
    const value = fleet(withTenants([aws(0, "acme", "111122223333")]));
    const files = Object.keys(environmentFiles);
    const message = specProblems(() =>
      parseEnvironments([...Object.values(environmentFiles), ...value.environments], (i) => (i < files.length ? `environments/${files[i]}` : value.sourceOf(i - files.length)), specChecks),
    );
    expect(message).toContain('environments/tenants.ts (tenant acme): environment "acme" has 1 problem:\n  - accounts.aws.accountId: given "111122223333"; accepted: an AWS account no other environment uses (prod (environments/prod.ts) is in it');
  });

  it("are checked by the spec's rules under the tenant's name: a template mistake is reported for each tenant", () => {
    const input = withTenants([aws(0, "acme", "111111111111"), aws(1, "beta", "222222222222")]);
    const value = fleet({ ...input, base: { ...input.base, costCentre: "cost centre!" } });
    const message = specProblems(() => parseEnvironments(value.environments, value.sourceOf, specChecks));
    expect(message).toContain('environments/tenants.ts (tenant acme): environment "acme" has 1 problem:\n  - costCentre: given "cost centre!"');
    expect(message).toContain('environments/tenants.ts (tenant beta): environment "beta" has 1 problem:');
  });
});

describe("README, Fleets of tenants", () => {
  it("shows TENANT_SIZES as it is", () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    for (const [size, shape] of Object.entries(TENANT_SIZES)) {
      const pools = shape.nodePools.map((pool) => `${pool.name} ${pool.size}${"spot" in pool && pool.spot ? " spot" : ""} ${pool.minNodes}–${pool.maxNodes}`).join(", ");
      expect(readme).toContain(`| \`${size}\` | ${pools} | ${shape.database.size}, ${shape.database.storageGiB} GiB |`);
    }
  });
});
