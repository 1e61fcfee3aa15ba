import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { placedOn, otherClouds, parseEnvironment, parseEnvironments, SpecErrors, type EnvironmentInput } from "../constructs/core/spec";
import { SpecError } from "../constructs/core/errors";
import { environmentFiles, environments, environmentSource, fleetFiles } from "../environments";
import { specChecks } from "../stacks/app";
import { baseSpec, everyAppSpec, productionSpec, specProblems } from "./support/fixtures";

/** Parses a spec that must fail and returns its issues. */
function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseEnvironment(input);
  } catch (error) {
    if (error instanceof SpecError) return [...error.issues];
    throw error;
  }
  throw new Error("the spec was accepted");
}

type Changes = Readonly<Record<string, unknown>>;

const AZURE_ACCOUNT = { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000001", tenantId: "00000000-0000-4000-8000-0000000000aa" };

/** Deep copy of a spec with values set at dotted paths (`databases[0].size`); undefined deletes. */
function withChanges(changes: Changes, base: () => EnvironmentInput = baseSpec): unknown {
  const spec: unknown = structuredClone(base());
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split(/\.|\[|\]\.?/).filter(Boolean);
    const last = keys.pop() as string;
    const parent = keys.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], spec) as Record<string, unknown>;
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return spec;
}

describe("parseEnvironment defaults", () => {
  it("fills production defaults: 3 zones, HA, deletion protection, 14 days of backups, 90 days of logs", () => {
    const env = parseEnvironment(productionSpec());
    expect(env.network.zones).toBe(3);
    expect(env.cluster.logRetentionDays).toBe(90);
    expect(env.databases[0]).toMatchObject({ highAvailability: true, deletionProtection: true, backupRetentionDays: 14, readReplicas: 0 });
  });

  it("fills non-production defaults: 2 zones, single instance, 7 days of backups", () => {
    const env = parseEnvironment(baseSpec());
    expect(env.network.zones).toBe(2);
    expect(env.databases[0]).toMatchObject({ highAvailability: false, deletionProtection: false, backupRetentionDays: 7 });
    expect(env.buckets[0]).toMatchObject({ versioning: true, noncurrentVersionExpirationDays: 90 });
    expect(env.cluster.nodePools[0]).toMatchObject({ spot: false, diskGiB: 50 });
  });

  it("accepts every default environment", () => {
    expect(parseEnvironments(environments).map((env) => env.name)).toEqual(environments.map((input) => input.name));
  });

  it("accepts Airflow's bucket on another cloud, with that cloud's account and home, and lists that cloud", () => {
    const env = parseEnvironment(withChanges({ "buckets[0].cloud": "azure", "accounts.azure": AZURE_ACCOUNT, home: "aws" }));
    expect({ bucket: placedOn(env, env.buckets[0]), others: otherClouds(env) }).toEqual({ bucket: "azure", others: ["azure"] });
    expect(otherClouds(parseEnvironment(baseSpec()))).toEqual([]);
  });

  it("accepts a production waiver with a written reason", () => {
    const spec = withChanges(
      {
        "databases[0].highAvailability": false,
        "databases[0].waivers": { highAvailability: "Reporting replica only, rebuilt from the lake in an hour." },
      },
      productionSpec,
    );
    expect(parseEnvironment(spec).databases[0].highAvailability).toBe(false);
  });
});

interface BadSpec {
  readonly problem: string;
  readonly changes: Changes;
  readonly base?: () => EnvironmentInput;
  readonly path: string;
  /** Fragments the one message must contain: what was given and what is accepted. */
  readonly says: readonly string[];
}

const badSpecs: BadSpec[] = [
  { problem: "an unknown cloud", changes: { cloud: "ibm" }, path: "cloud", says: ['given "ibm"', "aws | azure | gcp"] },
  { problem: "a misspelt field", changes: { netwrok: { cidr: "10.42.0.0/16" } }, path: "netwrok", says: ["unknown field", "network"] },
  { problem: "a missing owner", changes: { owner: undefined }, path: "owner", says: ["given nothing", "accepted:"] },
  { problem: "an environment name with capitals", changes: { name: "Prod" }, path: "name", says: ['given "Prod"', "lowercase"] },
  { problem: "a malformed account id", changes: { "accounts.aws.accountId": "1234" }, path: "accounts.aws.accountId", says: ['given "1234"', "12-digit"] },
  { problem: "no account for the chosen cloud", changes: { cloud: "gcp" }, path: "accounts.gcp", says: ["given nothing", 'cloud is "gcp"'] },
  { problem: "a CIDR that is not a CIDR", changes: { "network.cidr": "10.0.0/16" }, path: "network.cidr", says: ['given "10.0.0/16"', "IPv4 CIDR"] },
  { problem: "a CIDR with host bits set", changes: { "network.cidr": "10.42.3.0/16" }, path: "network.cidr", says: ['given "10.42.3.0/16"', "no host bits"] },
  { problem: "a public CIDR for the network", changes: { "network.cidr": "8.8.0.0/16" }, path: "network.cidr", says: ['given "8.8.0.0/16"', "10.0.0.0/8"] },
  { problem: "a network too small for the subnets", changes: { "network.cidr": "10.42.0.0/24" }, path: "network.cidr", says: ['given "10.42.0.0/24"', "/16 to /20"] },
  { problem: "too many zones", changes: { "network.zones": 6 }, path: "network.zones", says: ["given 6", "2 to 4"] },
  { problem: "a public API range overlapping the network", changes: { "cluster.publicAccessCidrs": ["10.42.0.0/24"] }, path: "cluster.publicAccessCidrs[0]", says: ['given "10.42.0.0/24"', "never sees private"] },
  { problem: "the API open to the whole internet", changes: { "cluster.publicAccessCidrs": ["0.0.0.0/0"] }, path: "cluster.publicAccessCidrs[0]", says: ['given "0.0.0.0/0"', "no wider than /8"] },
  { problem: "an unsupported Kubernetes version", changes: { "cluster.kubernetesVersion": "1.25" }, path: "cluster.kubernetesVersion", says: ['given "1.25"', "1.31 | 1.32 | 1.33"] },
  { problem: "an unknown size", changes: { "cluster.nodePools[0].size": "huge" }, path: "cluster.nodePools[0].size", says: ['given "huge"', "small | medium | large | xlarge"] },
  { problem: "minNodes above maxNodes", changes: { "cluster.nodePools[0].minNodes": 5 }, path: "cluster.nodePools[0].minNodes", says: ["given 5", "at most maxNodes (4)"] },
  { problem: "a fractional node count", changes: { "cluster.nodePools[0].maxNodes": 2.5 }, path: "cluster.nodePools[0].maxNodes", says: ["given 2.5", "whole number from 1 to 100"] },
  { problem: "duplicate bucket names", changes: { "buckets[1]": { name: "logs", purpose: "data" } }, path: "buckets[1].name", says: ['given "logs"', "not already used"] },
  { problem: "a database too small", changes: { "databases[0].storageGiB": 5 }, path: "databases[0].storageGiB", says: ["given 5", "20 to 65536 GiB"] },
  { problem: "backups shorter than a week", changes: { "databases[0].backupRetentionDays": 3 }, path: "databases[0].backupRetentionDays", says: ["given 3", "7 to 35 days"] },
  { problem: "an unknown app", changes: { "apps[1]": { name: "superset" } }, path: "apps[1].name", says: ['given "superset"', "airflow | airbyte"] },
  { problem: "a bucket on a cloud without its account", changes: { "buckets[0].cloud": "azure", home: "aws" }, path: "accounts.azure", says: ["given nothing", 'buckets[0].cloud is "azure"'] },
  { problem: "a bucket on another cloud without home", changes: { "buckets[0].cloud": "azure", "accounts.azure": AZURE_ACCOUNT }, path: "home", says: ["given nothing", '"aws": the cloud whose resources stay in test-infra', "resources live on aws and azure"] },
  { problem: "home naming a cloud without resources or account", changes: { home: "gcp" }, path: "home", says: ['given "gcp"', 'the cloud the cluster moved away from, with its account kept in accounts.gcp', 'or "aws" if the cluster never ran on gcp'] },
  {
    problem: "Airbyte's bucket on another cloud than the cluster's",
    changes: { "accounts.azure": AZURE_ACCOUNT, home: "aws", "buckets[1]": { name: "state", purpose: "data", cloud: "azure" }, "apps[1]": { name: "airbyte", database: "main", bucket: "state" } },
    path: "apps[1].bucket",
    says: ['given "state"', "a bucket on aws, the cluster's cloud", "only with a stored key"],
  },
  { problem: "an app naming a bucket that does not exist", changes: { "apps[0].bucket": "lake" }, path: "apps[0].bucket", says: ['given "lake"', "a bucket in this spec (logs)"] },
  { problem: "an app without the database it needs", changes: { "apps[0].database": undefined }, path: "apps[0].database", says: ["given nothing", "airflow stores its metadata in PostgreSQL"] },
  {
    problem: "an app host outside the DNS zone",
    changes: { dns: { zone: "data.example.com", acmeEmail: "ops@example.com" }, "apps[0].host": "airflow.example.org" },
    path: "apps[0].host",
    says: ['given "airflow.example.org"', "inside the DNS zone data.example.com"],
  },
  { problem: "an app host without TLS settings", changes: { "apps[0].host": "airflow.example.com" }, path: "apps[0].host", says: ['given "airflow.example.com"', "dns.acmeEmail"] },
  {
    problem: "two apps on one host",
    changes: { dns: { acmeEmail: "ops@example.com" }, "apps[0].host": "data.example.com", "apps[1]": { name: "metabase", database: "main", host: "data.example.com" } },
    path: "apps[1].host",
    says: ['given "data.example.com"', "airflow has it"],
  },
  { problem: "a host name that is not a DNS name", changes: { dns: { acmeEmail: "ops@example.com" }, "apps[0].host": "Airflow_UI" }, path: "apps[0].host", says: ['given "Airflow_UI"', "lowercase DNS name"] },
  { problem: "a tag overriding a platform tag", changes: { tags: { owner: "someone-else" } }, path: "tags.owner", says: ['given "someone-else"', "the platform sets those itself"] },
  { problem: "a platform tag in other case (Azure ignores case)", changes: { tags: { Owner: "someone-else" } }, path: "tags.Owner", says: ['given "someone-else"', "in any case"] },
  { problem: "two tags differing only in case", changes: { tags: { team: "a", Team: "b" } }, path: "tags.Team", says: ['given "b"', 'differs from "team" in more than case'] },
  { problem: "a tag in AWS's reserved prefix", changes: { tags: { "aws:team": "data" } }, path: "tags.aws:team", says: ['given "data"', "aws: prefix"] },
  { problem: "a tag name Azure refuses", changes: { tags: { "team/lead": "x" } }, path: "tags.team/lead", says: ['given "x"', "which Azure refuses"] },
  { problem: "a tag name with a space (Azure DNS zones refuse it)", changes: { tags: { "cost owner": "x" } }, path: "tags.cost owner", says: ['given "x"', "without spaces", "Azure DNS zones"] },
  { problem: "a tag name with ':' (Azure private DNS zones never apply it)", changes: { tags: { "team:lead": "x" } }, path: "tags.team:lead", says: ['given "x"', "or ':'"] },
  { problem: "a tag name starting with a digit", changes: { tags: { "2fa": "x" } }, path: "tags.2fa", says: ['given "x"', "does not start with a digit"] },
  {
    problem: "more tags than a resource may carry",
    changes: { tags: Object.fromEntries(Array.from({ length: 43 }, (_, i) => [`tag${i}`, "x"])) },
    path: "tags",
    says: ['given "43 tags"', "at most 42 tags"],
  },
  { problem: "a CIDR with a leading zero (Terraform refuses it)", changes: { "network.cidr": "10.020.0.0/16" }, path: "network.cidr", says: ['given "10.020.0.0/16"', "without leading zeros"] },
  { problem: "a CIDR prefix with a leading zero", changes: { "network.cidr": "10.20.0.0/08" }, path: "network.cidr", says: ['given "10.20.0.0/08"', "without leading zeros"] },
  { problem: "a private range for the public API endpoint", changes: { "cluster.publicAccessCidrs": ["192.168.10.0/24"] }, path: "cluster.publicAccessCidrs[0]", says: ['given "192.168.10.0/24"', "never sees private"] },
  { problem: "two hyphens in a row in a name (RDS refuses them)", changes: { "databases[0].name": "main--db", "apps[0].database": "main--db" }, path: "databases[0].name", says: ['given "main--db"', "single '-'"] },
  { problem: "a log retention CloudWatch does not offer", changes: { "cluster.logRetentionDays": 45 }, path: "cluster.logRetentionDays", says: ["given 45", "one of the retentions CloudWatch Logs accepts", "30, 60"] },
  {
    problem: "production without HA",
    base: productionSpec,
    changes: { "databases[0].highAvailability": false },
    path: "databases[0].highAvailability",
    says: ["given false", "waivers.highAvailability"],
  },
  {
    problem: "production without deletion protection",
    base: productionSpec,
    changes: { "databases[0].deletionProtection": false },
    path: "databases[0].deletionProtection",
    says: ["given false", "waivers.deletionProtection"],
  },
  {
    problem: "production with a week of backups",
    base: productionSpec,
    changes: { "databases[0].backupRetentionDays": 7 },
    path: "databases[0].backupRetentionDays",
    says: ["given 7", "at least 14 in production"],
  },
  {
    problem: "a waiver without a real reason",
    base: productionSpec,
    changes: { "databases[0].highAvailability": false, "databases[0].waivers": { highAvailability: "because" } },
    path: "databases[0].waivers.highAvailability",
    says: ['given "because"', "at least 20 characters"],
  },
  {
    problem: "a customer-managed key waiver without a real reason",
    changes: { "databases[0].waivers": { customerManagedKey: "old" } },
    path: "databases[0].waivers.customerManagedKey",
    says: ['given "old"', "at least 20 characters"],
  },
  {
    problem: "an unknown bucket waiver",
    changes: { "buckets[0].waivers": { multiRegion: "created in its region before" } },
    path: "buckets[0].waivers.multiRegion",
    says: ["unknown field", "accepted: geoRedundant"],
  },
  {
    problem: "production on spot nodes only",
    base: productionSpec,
    changes: { "cluster.nodePools[0].spot": true },
    path: "cluster.nodePools",
    says: ['given ["system"]', "non-spot node pool with minNodes >= 2"],
  },
  {
    problem: "apps on spot nodes only",
    changes: { "cluster.nodePools[0].spot": true },
    path: "cluster.nodePools",
    says: ['given ["system"]', "at least one non-spot node pool", "on-demand nodes only"],
  },
];

describe("environment files", () => {
  it("are each listed in environments/index.ts under their own file name, so messages name the file to edit", async () => {
    const dir = join(__dirname, "..", "environments");
    // A fleet file (constructs/core/fleet.ts) makes many environments: fleet.test.ts checks those.
    const files = readdirSync(dir).filter((file) => file.endsWith(".ts") && file !== "index.ts" && file !== "gitops.ts" && !(file in fleetFiles));
    expect(Object.keys(environmentFiles).sort()).toEqual([...files].sort());
    for (const file of files) {
      const exported = Object.values(await import(join(dir, file))) as EnvironmentInput[];
      expect({ file, exports: exported.length }).toEqual({ file, exports: 1 });
      expect(environmentFiles[file as keyof typeof environmentFiles], `${file} is listed under its name`).toBe(exported[0]);
      // The default environments also follow the convention of a file named after the environment.
      expect(`${exported[0].name}.ts`).toBe(file);
      expect(environmentSource(environments.indexOf(exported[0]))).toBe(`environments/${file}`);
    }
  });
});

describe("environments listed by file", () => {
  const files = ["environments/prod.ts", "environments/dev.ts"];
  const messageOf = (inputs: unknown[], sources: readonly string[]) => {
    try {
      parseEnvironments(inputs, (index) => sources[index]);
      return "";
    } catch (caught) {
      return (caught as SpecErrors).message;
    }
  };

  it("blames the copy that kept another file's name, wherever it is listed, and names both files", () => {
    const prod = { ...baseSpec(), name: "prod" };
    const copy = { ...prod, network: { cidr: "10.43.0.0/16" } };
    for (const [inputs, sources] of [
      [[prod, copy], files],
      [[copy, prod], [...files].reverse()],
    ] as const) {
      const message = messageOf([...inputs], sources);
      expect(message).toContain('environments/dev.ts: environment "prod" has 1 problem:\n  - name: given "prod"; accepted: a name no other environment uses (prod (environments/prod.ts) has it)');
      expect(message).not.toContain("environments/prod.ts: environment");
    }
  });

  it("names the file a spec is in, not the file its name would suggest", () => {
    const message = messageOf([{ ...baseSpec(), name: "prdo", owner: "" }], ["environments/prod.ts"]);
    expect(message).toContain('environments/prod.ts: environment "prdo" has 1 problem:');
    expect(messageOf([{ ...baseSpec(), name: "Prod" }], ["environments/prod.ts"])).toContain('environments/prod.ts: environment "Prod" has 1 problem:');
  });

  it("reports one spec listed twice as one problem, not as clashes with itself", () => {
    const spec = baseSpec();
    const message = messageOf([spec, spec], ["environments/prod.ts", "environments/dev.ts"]);
    expect(message).toBe('environments/dev.ts: environment "test" has 1 problem:\n  - (spec): given the spec of entry 1 (environments/prod.ts) again; accepted: each environment listed once in environments/index.ts');
  });
});

describe("bad specs: one clear message per problem", () => {
  it.each(badSpecs.map((bad) => [bad.problem, bad] as const))("%s", (_, bad) => {
    const issues = issuesOf(withChanges(bad.changes, bad.base));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe(bad.path);
    for (const fragment of bad.says) expect(issues[0].message).toContain(fragment);
  });

  it("reports every problem of a spec at once", () => {
    const issues = issuesOf(withChanges({ cloud: "ibm", owner: "", "databases[0].size": "tiny" }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(["cloud", "databases[0].size", "owner"]);
  });

  it("runs the checks of every section that parsed when another section did not", () => {
    const issues = issuesOf(withChanges({ owner: "", "network.cidr": "10.42.0.1/16", "databases[0].backupRetentionDays": 3, tags: { Owner: "x" } }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(["databases[0].backupRetentionDays", "network.cidr", "owner", "tags.Owner"]);
  });

  it("runs every check that reads no refused field, however deep the refused field is (review f03)", () => {
    const spec = withChanges(
      {
        "cluster.kubernetesVersion": "1.34",
        "cluster.logRetentionDays": 45,
        "cluster.publicAccessCidrs": ["10.0.0.0/8"],
        "cluster.nodePools": [
          { name: "system", size: "medium", minNodes: 5, maxNodes: 4, spot: true },
          { name: "system", size: "medium", minNodes: 1, maxNodes: 4 },
        ],
      },
      productionSpec,
    );
    expect(issuesOf(spec).map((issue) => issue.path).sort()).toEqual([
      "cluster.kubernetesVersion",
      "cluster.logRetentionDays",
      "cluster.nodePools",
      "cluster.nodePools[0].minNodes",
      "cluster.nodePools[1].name",
      "cluster.publicAccessCidrs[0]",
    ]);
  });

  it("checks references, production rules and the other items of a list beside a refused item (review f04, f06, f01, j17)", () => {
    const apps = withChanges(
      { "databases[0].storageGiB": 10, "apps[0].size": "huge", apps: [{ name: "airflow", database: "Main", bucket: "logs", size: "huge" }] },
      productionSpec,
    );
    expect(issuesOf(apps).map((issue) => issue.path).sort()).toEqual(["apps[0].database", "apps[0].size", "databases[0].storageGiB"]);
    const database = withChanges({ "databases[0].backupRetentionDays": 3, "databases[0].highAvailability": false }, productionSpec);
    expect(issuesOf(database).map((issue) => issue.path).sort()).toEqual(["databases[0].backupRetentionDays", "databases[0].highAvailability"]);
    const cidrs = withChanges({ "cluster.publicAccessCidrs": ["0.0.0.0/0", "203.0.113.7"] });
    expect(issuesOf(cidrs).map((issue) => issue.path).sort()).toEqual(["cluster.publicAccessCidrs[0]", "cluster.publicAccessCidrs[1]"]);
  });

  it("keeps checks that do not need a refused production flag, and never reports one a repaired value would cause (review k01)", () => {
    const spec = withChanges({ production: "yes", "network.cidr": "8.8.0.0/16", "network.zones": 2, "accounts.aws.region": "eu-wset-1", "cluster.logRetentionDays": 45 });
    expect(issuesOf(spec).map((issue) => issue.path).sort()).toEqual(["accounts.aws.region", "cluster.logRetentionDays", "network.cidr", "production"]);
    // Without zones or log retention given, their defaults depend on production: no check of them runs.
    const defaults = withChanges({ production: "yes", "accounts.aws.region": "eu-wset-1" });
    expect(issuesOf(defaults).map((issue) => issue.path).sort()).toEqual(["accounts.aws.region", "production"]);
    // A pool whose name is refused is not counted as missing or duplicated.
    const pools = withChanges({ "cluster.nodePools": [{ name: "System", size: "medium", minNodes: 2, maxNodes: 4 }] }, productionSpec);
    expect(issuesOf(pools).map((issue) => issue.path)).toEqual(["cluster.nodePools[0].name"]);
  });

  it("compares a network with the other environments' when only another field of it was refused (review f05)", () => {
    const message = (() => {
      try {
        parseEnvironments([baseSpec(), withChanges({ name: "other", "network.cidr": "10.42.0.0/20", "network.zones": 1 })]);
        return "";
      } catch (caught) {
        return (caught as SpecErrors).message;
      }
    })();
    expect(message).toContain("network.zones: given 1");
    expect(message).toContain('network.cidr: given "10.42.0.0/20"; accepted: a range no other environment uses (test has 10.42.0.0/16)');
  });

  it("names the file of each environment with problems, and still compares the parts that parsed", () => {
    const broken = { ...baseSpec(), name: "other", owner: "", network: { cidr: "10.42.0.0/16" } };
    const message = (() => {
      try {
        parseEnvironments([baseSpec(), broken], (index) => ["environments/test.ts", "environments/other.ts"][index]);
        return "";
      } catch (caught) {
        return (caught as SpecErrors).message;
      }
    })();
    expect(message).toContain('environments/other.ts: environment "other" has 2 problems:');
    expect(message).toContain('owner: given ""');
    expect(message).toContain('network.cidr: given "10.42.0.0/16"; accepted: a range no other environment uses (test (environments/test.ts) has 10.42.0.0/16)');
  });

  it("reports problems of several environments together, and duplicate environment names", () => {
    const broken = withChanges({ "network.cidr": "10.0.0.0/8" });
    expect(() => parseEnvironments([baseSpec(), baseSpec(), broken])).toThrow(SpecErrors);
    const message = (() => {
      try {
        parseEnvironments([baseSpec(), baseSpec(), broken]);
        return "";
      } catch (caught) {
        return (caught as SpecErrors).message;
      }
    })();
    expect(message).toContain('network.cidr: given "10.0.0.0/8"');
    expect(message).toContain('name: given "test"; accepted: a name no other environment uses');
  });

  it("compares environments with each other: overlapping networks, two AWS environments in one account", () => {
    const cloud = { organization: "acme-data", project: "data-platform" };
    const other = { ...baseSpec(), name: "other", network: { cidr: "10.42.128.0/20" }, terraformCloud: cloud };
    const message = (() => {
      try {
        parseEnvironments([{ ...baseSpec(), terraformCloud: cloud }, other]);
        return "";
      } catch (caught) {
        return (caught as SpecErrors).message;
      }
    })();
    expect(message).toContain('network.cidr: given "10.42.128.0/20"; accepted: a range no other environment uses (test has 10.42.0.0/16)');
    expect(message).toContain('accounts.aws.accountId: given "123456789012"; accepted: an AWS account no other environment uses (test is in it, and test is deployed by Terraform Cloud');
    const separate = { ...other, network: { cidr: "10.43.0.0/16" }, accounts: { aws: { region: "eu-central-1", accountId: "210987654321" } } };
    expect(parseEnvironments([baseSpec(), separate]).map((env) => env.name)).toEqual(["test", "other"]);
    // One Terraform Cloud-managed environment beside one deployed by hand is refused too: the run
    // role's and the boundary's `<env>-*`, `rds!*` and key/* patterns would reach the other's data.
    const local = { ...baseSpec(), name: "test-eu", network: { cidr: "10.43.0.0/16" } };
    expect(() => parseEnvironments([{ ...baseSpec(), terraformCloud: cloud }, local])).toThrow("accounts.aws.accountId: given \"123456789012\"; accepted: an AWS account no other environment uses (test");
    // Environments deployed by hand (by an account administrator anyway) may share an account.
    expect(parseEnvironments([baseSpec(), local]).map((env) => env.name)).toEqual(["test", "test-eu"]);
  });

  it("refuses an Azure subscription or a GCP project shared with an environment deployed by Terraform Cloud, of that cloud only", () => {
    const cloud = { organization: "acme-data", project: "data-platform" };
    const on = (which: "azure" | "gcp", name: string, cidr: string, terraformCloud?: typeof cloud) => {
      const spec = everyAppSpec(which, false);
      // Hosts of their own, so only the account is shared.
      const zone = `${name}.example.com`;
      const apps = (spec.apps ?? []).map((app) => ({ ...app, host: `${app.name}.${zone}` }));
      return { ...spec, name, network: { cidr }, dns: { zone, acmeEmail: "platform@example.com" }, apps, ...(terraformCloud ? { terraformCloud } : {}) };
    };
    const refusal = (inputs: unknown[]) => {
      try {
        parseEnvironments(inputs);
        return "";
      } catch (caught) {
        return (caught as SpecErrors).message;
      }
    };
    expect(refusal([on("azure", "one", "10.50.0.0/16", cloud), on("azure", "two", "10.51.0.0/16")])).toContain(
      'accounts.azure.subscriptionId: given "00000000-0000-4000-8000-000000000001"; accepted: an Azure subscription no other environment uses (one is in it, and one is deployed by Terraform Cloud, whose run identity is Contributor on the whole subscription)',
    );
    expect(refusal([on("gcp", "one", "10.50.0.0/16"), on("gcp", "two", "10.51.0.0/16", cloud)])).toContain(
      'accounts.gcp.projectId: given "acme-data-test"; accepted: a GCP project no other environment uses (one is in it, and two is deployed by Terraform Cloud',
    );
    // By hand, or on another cloud (an AWS environment naming the same subscription among its accounts), they may share.
    expect(parseEnvironments([on("azure", "one", "10.50.0.0/16"), on("azure", "two", "10.51.0.0/16")])).toHaveLength(2);
    const awsWithAzureAccount = { ...baseSpec(), network: { cidr: "10.52.0.0/16" }, accounts: { ...baseSpec().accounts, ...on("azure", "x", "10.0.0.0/16").accounts }, terraformCloud: cloud };
    expect(parseEnvironments([on("azure", "one", "10.50.0.0/16", cloud), awsWithAzureAccount])).toHaveLength(2);
  });

  it("says what is accepted in its own words where zod would print its default text (review F6)", () => {
    const messages = (changes: Changes) => issuesOf(withChanges(changes)).map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages({ cluster: undefined })).toEqual([
      "cluster: given nothing; accepted: an object with fields kubernetesVersion, publicAccessCidrs, logRetentionDays, nodePools, aws, azure (required)",
    ]);
    expect(messages({ "cluster.nodePools[0].aws": { instanceTypes: [] } })).toEqual([
      "cluster.nodePools[0].aws.instanceTypes: given []; accepted: at least one EC2 instance type, or leave aws out to use the size table",
    ]);
    expect(messages({ "buckets[0]": undefined, buckets: "logs" })).toEqual(['buckets: given "logs"; accepted: a list']);
    expect(issuesOf(undefined)).toEqual([
      {
        path: "(spec)",
        message: expect.stringMatching(/^given nothing; accepted: an environment spec: an object with fields name, production, .* \(an entry of environments\/index\.ts is undefined when it imports a name its file does not export\)$/),
      },
    ]);
    for (const issue of [...issuesOf(withChanges({ network: undefined, databases: [{}] })), ...issuesOf(undefined)]) expect(issue.message).not.toMatch(/Invalid input|Too small|expected \w+, received/);
  });

  it("names the type when a number is given where a string is accepted (review F7)", () => {
    const messages = issuesOf(withChanges({ "cluster.kubernetesVersion": 1.33, "databases[0].postgresVersion": 16, "accounts.aws.accountId": 111122223333, tags: { "cost-code": 1234 } }));
    expect(messages.map((issue) => `${issue.path}: ${issue.message}`).sort()).toEqual([
      'accounts.aws.accountId: given the number 111122223333; accepted: a 12-digit AWS account id, written as a string in quotes, e.g. "111122223333"',
      'cluster.kubernetesVersion: given the number 1.33; accepted: one of the strings "1.31" | "1.32" | "1.33" (in quotes)',
      'databases[0].postgresVersion: given the number 16; accepted: one of the strings "15" | "16" | "17" (in quotes)',
      'tags.cost-code: given the number 1234; accepted: a string of at most 255 characters, written as a string in quotes, e.g. "1234"',
    ]);
  });

  it("rejects input that is not an object at all", () => {
    expect(issuesOf("prod")[0]).toMatchObject({ path: "(spec)" });
  });
});

describe("cloud rules in the spec pass (review F2)", () => {
  it("reports every cloud's own problems with the file, together with the spec's, before any stack is built", () => {
    const azure = everyAppSpec("azure", false);
    const azureBad = {
      ...azure,
      name: "azure-env",
      network: { cidr: "10.21.0.0/16" },
      buckets: [{ name: "logs", purpose: "logs" }, { name: "lake", purpose: "data" }, { name: "db", purpose: "data" }],
      databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 40000, highAvailability: true, azure: { skuName: "B_Standard_B2ms" } }],
      cluster: { ...azure.cluster, nodePools: [{ name: "workers", size: "medium", minNodes: 2, maxNodes: 4 }, { name: "work-ers", size: "medium", minNodes: 1, maxNodes: 2 }, { name: "critical", size: "small", minNodes: 1, maxNodes: 2 }] },
    };
    const gcp = everyAppSpec("gcp", false);
    const gcpBad = {
      ...gcp,
      name: "gcp-env",
      network: { cidr: "10.22.0.0/20" },
      tags: { "team.name": "a", team_name: "b" },
      // Its own hosts: one host in two environments is a problem of its own (tested below).
      apps: (gcp.apps ?? []).map((app) => ({ ...app, host: app.host?.replace(/^([a-z]+)\./, "$1-gcp.") })),
      terraformCloud: { organization: "acme-corporation-data-engineering", project: "data platform staging environment" },
    };
    const awsBad = { ...baseSpec(), name: "aws-env", network: { cidr: "10.23.0.0/16", zones: 4 } };
    const sources = ["environments/azure-env.ts", "environments/gcp-env.ts", "environments/aws-env.ts"];
    let message = "";
    try {
      parseEnvironments([azureBad, gcpBad, awsBad], (index) => sources[index], specChecks);
    } catch (caught) {
      message = (caught as SpecErrors).message;
    }
    const lines = message.split("\n");
    expect(lines.filter((line) => line.startsWith("environments/"))).toEqual([
      'environments/azure-env.ts: environment "azure-env" has 5 problems:',
      'environments/gcp-env.ts: environment "gcp-env" has 3 problems:',
      'environments/aws-env.ts: environment "aws-env" has 1 problem:',
    ]);
    for (const fragment of [
      'buckets[2].name: given "db"; accepted: on Azure, at least 3 characters',
      'databases[0].azure.skuName: given "B_Standard_B2ms"; accepted: a General Purpose (GP_) or Memory Optimized (MO_) SKU',
      "databases[0].storageGiB: given 40000; accepted: on Azure, at most 32767 GiB",
      'cluster.nodePools[1].name: given "work-ers"; accepted: on Azure, a name that is still unique without \'-\'',
      'cluster.nodePools[2].name: given "critical"; accepted: on Azure',
      'tags.team_name: given "team_name"; accepted: a key that stays distinct from "team.name" as a GCP label',
      "cluster.nodePools: given {",
      "terraformCloud: given {",
      "network.zones: given 4",
    ]) {
      expect(message).toContain(fragment);
    }
  });

  it("refuses what a cloud would refuse at apply: Graviton types with the x86_64 node image, a log retention Azure or GCP cannot keep", () => {
    const problems = specProblems;
    const graviton = { ...baseSpec(), cluster: { ...baseSpec().cluster, nodePools: [{ name: "system", size: "medium", minNodes: 2, maxNodes: 4, aws: { instanceTypes: ["m7i.xlarge", "m7g.xlarge"] } }] } };
    expect(problems(graviton)).toEqual([expect.stringMatching(/^cluster\.nodePools\[0\]\.aws\.instanceTypes\[1\]: given "m7g\.xlarge"; accepted: an x86_64 instance type .*AL2023_x86_64_STANDARD/)]);
    // GPU families carry the g before the digit: x86_64, accepted.
    expect(problems({ ...graviton, cluster: { ...graviton.cluster, nodePools: [{ ...graviton.cluster.nodePools[0], aws: { instanceTypes: ["g5.xlarge"] } }] } })).toEqual([]);
    const azure = everyAppSpec("azure", false);
    expect(problems({ ...azure, cluster: { ...azure.cluster, logRetentionDays: 7 } })).toEqual(["cluster.logRetentionDays: given 7; accepted: on Azure 30 to 730 days, the retention a Log Analytics workspace takes"]);
    expect(problems({ ...azure, cluster: { ...azure.cluster, logRetentionDays: 2555 } })).toHaveLength(1);
    const gcp = everyAppSpec("gcp", false);
    expect(problems({ ...gcp, cluster: { ...gcp.cluster, logRetentionDays: 3653 } })).toEqual(["cluster.logRetentionDays: given 3653; accepted: on GCP at most 3650 days, the most a Cloud Logging bucket keeps"]);
  });

  it("refuses one app host in two environments", () => {
    const first = { ...baseSpec(), dns: { acmeEmail: "ops@example.com" }, apps: [{ name: "metabase", database: "main", host: "bi.example.com" }] };
    const second = { ...first, name: "other", network: { cidr: "10.43.0.0/16" } };
    let message = "";
    try {
      parseEnvironments([first, second]);
    } catch (caught) {
      message = (caught as SpecErrors).message;
    }
    expect(message).toContain('apps[0].host: given "bi.example.com"; accepted: a host no other environment serves (test');
  });

  it("runs a cloud's rules on the fields that parsed, and never on another cloud", () => {
    const azure = { ...everyAppSpec("azure", false), owner: "", buckets: [{ name: "db", purpose: "data" }], apps: [] };
    expect(() => parseEnvironment(azure, specChecks)).toThrow(/buckets\[0\]\.name: given "db"; accepted: on Azure/);
    expect(parseEnvironment({ ...baseSpec(), buckets: [{ name: "db", purpose: "data" }], apps: [] }, specChecks).buckets[0].name).toBe("db");
  });
});
