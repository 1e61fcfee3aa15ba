/**
 * The region tables (constructs/core/regions.ts) against the systems that consume them: the pinned
 * AWS provider must accept every AWS region listed and refuse the ones left out; the spec must
 * refuse a region or a zone count the cloud does not have.
 */
import { describe, expect, it } from "vitest";
import { AWS_ZONE_LETTERS } from "../constructs/core/regions";
import { parseEnvironment } from "../constructs/core/spec";
import { SpecError } from "../constructs/core/errors";
import { baseSpec } from "./support/fixtures";
import { offlineWorkspace, terraformUnavailable } from "./support/terraform";

const unavailable = terraformUnavailable();
if (unavailable) process.stdout.write(`regions.test.ts: the AWS provider check is skipped: ${unavailable}\n`);

/**
 * `terraform plan` of one log group per region, each through a provider configured in that region,
 * in the offline workspace every terraform test uses (its copy adds the fake credentials).
 */
async function planInRegions(regions: readonly string[]): Promise<{ ok: boolean; output: string }> {
  const config = {
    terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } } },
    provider: { aws: regions.map((region) => ({ alias: region, region })) },
    resource: { aws_cloudwatch_log_group: Object.fromEntries(regions.map((region) => [region, { provider: `aws.${region}`, name: region }])) },
  };
  const { terraform } = offlineWorkspace(JSON.stringify(config), "tf-regions");
  await terraform("init", "-no-color", "-input=false");
  return terraform("plan", "-no-color", "-input=false", "-lock=false", "-refresh=false")
    .then((result) => ({ ok: true, output: result.stdout }))
    .catch((error: { stdout: string; stderr: string }) => ({ ok: false, output: `${error.stdout}${error.stderr}` }));
}

describe.skipIf(unavailable !== undefined)("the pinned AWS provider and the AWS region table", () => {
  it("accepts every region the table lists", { timeout: 600_000 }, async () => {
    const regions = Object.keys(AWS_ZONE_LETTERS);
    const result = await planInRegions(regions);
    expect(result.output).toContain(`Plan: ${regions.length} to add`);
  });

  it.each(["eu-wset-1", "ap-southeast-6"])("refuses %s, which the table leaves out", { timeout: 120_000 }, async (region) => {
    expect(AWS_ZONE_LETTERS[region]).toBeUndefined();
    const result = await planInRegions([region]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain(`invalid AWS Region: ${region}`);
  });
});

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseEnvironment(input);
    return [];
  } catch (error) {
    if (error instanceof SpecError) return [...error.issues];
    throw error;
  }
}

/** Azure environments need an admin group (AKS has no local accounts). */
const azureCluster = { ...baseSpec().cluster, azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"] } };

const accounts = {
  azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000002", tenantId: "00000000-0000-4000-8000-0000000000aa" },
  gcp: { region: "europe-west1", projectId: "acme-data-test" },
};

describe("regions and zones in the spec", () => {
  const cases: { problem: string; spec: Record<string, unknown>; path: string; says: string[] }[] = [
    { problem: "a misspelt AWS region", spec: { accounts: { aws: { region: "eu-wset-1", accountId: "123456789012" } } }, path: "accounts.aws.region", says: ['given "eu-wset-1"', "an AWS region the pinned AWS provider accepts", "eu-west-1"] },
    { problem: "more zones than an AWS region has", spec: { network: { cidr: "10.42.0.0/16", zones: 4 } }, path: "network.zones", says: ["given 4", "at most 3 in eu-central-1 (zones eu-central-1a, eu-central-1b, eu-central-1c)"] },
    { problem: "a region whose zone letters differ per account, without the account's list", spec: { accounts: { aws: { region: "us-west-1", accountId: "123456789012" } } }, path: "accounts.aws.availabilityZones", says: ["given nothing", "differ per account"] },
    {
      problem: "a listed zone of another region",
      spec: { accounts: { aws: { region: "us-west-1", accountId: "123456789012", availabilityZones: ["us-west-1b", "us-east-1c"] } } },
      path: "accounts.aws.availabilityZones[1]",
      says: ['given "us-east-1c"', "a zone of us-west-1"],
    },
    { problem: "an Azure location without zones", spec: { cloud: "azure", cluster: azureCluster, accounts: { azure: { ...accounts.azure, location: "ukwest" } } }, path: "accounts.azure.location", says: ['given "ukwest"', "a location with availability zones"] },
    { problem: "an unknown Azure location", spec: { cloud: "azure", cluster: azureCluster, accounts: { azure: { ...accounts.azure, location: "westeuropa" } } }, path: "accounts.azure.location", says: ['given "westeuropa"', "westeurope"] },
    { problem: "an unknown GCP region", spec: { cloud: "gcp", accounts: { gcp: { ...accounts.gcp, region: "europe-west5" } } }, path: "accounts.gcp.region", says: ['given "europe-west5"', "europe-west1"] },
    { problem: "more zones than a GCP region has", spec: { cloud: "gcp", accounts: { gcp: accounts.gcp }, network: { cidr: "10.42.0.0/16", zones: 4 } }, path: "network.zones", says: ["given 4", "at most 3 in europe-west1 (zones europe-west1-b"] },
  ];
  it.each(cases.map((c) => [c.problem, c] as const))("refuses %s", (_, c) => {
    const issues = issuesOf({ ...baseSpec(), ...c.spec });
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe(c.path);
    for (const fragment of c.says) expect(issues[0].message).toContain(fragment);
  });

  it("takes an account's own zone list where letters differ per account, and uses it", () => {
    const env = parseEnvironment({ ...baseSpec(), accounts: { aws: { region: "us-west-1", accountId: "123456789012", availabilityZones: ["us-west-1b", "us-west-1c"] } } });
    expect(env.accounts.aws?.availabilityZones).toEqual(["us-west-1b", "us-west-1c"]);
  });
});
