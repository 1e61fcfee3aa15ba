/**
 * The environment spec: one zod schema gives the static type (`EnvironmentInput` for authors,
 * `Environment` after defaults) and the runtime validation. `parseEnvironment` is the only way
 * from user data to an `Environment`; every problem it finds names its field path, what was
 * given and what is accepted.
 */
import { z } from "zod";
import { APP_NAMES, APP_CATALOGUE } from "./apps";
import { planSubnets, SUBNET_PLAN_LIMITS } from "./network-plan";
import { cidrsOverlap, isNetworkAligned, isPrivateRange, overlapsPrivateRange, parseCidr } from "./cidr";
import { describeValue, formatPath, SpecError, type SpecIssue } from "./errors";
import { SIZES } from "./sizes";

export const CLOUDS = ["aws", "azure", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];

/** Kubernetes minor versions with a pinned add-on set on every supported cloud. */
export const KUBERNETES_VERSIONS = ["1.31", "1.32", "1.33"] as const;
export const POSTGRES_VERSIONS = ["15", "16", "17"] as const;
export const BUCKET_PURPOSES = ["logs", "data", "artifacts", "backups"] as const;

/** Tag keys the platform sets itself on every resource; a spec may not override them. */
export const RESERVED_TAG_KEYS = ["environment", "owner", "cost-centre", "managed-by"] as const;

/** A production rule a spec may turn off only with a written reason. */
const waiverReason = z
  .string()
  .trim()
  .min(20, { error: "accepted: a written reason of at least 20 characters" });

function intRange(min: number, max: number, unit = "") {
  const accepted = `accepted: a whole number from ${min} to ${max}${unit}`;
  return z.number({ error: accepted }).int({ error: accepted }).min(min, { error: accepted }).max(max, { error: accepted });
}

function pattern(regex: RegExp, accepted: string) {
  const error = `accepted: ${accepted}`;
  return z.string({ error }).regex(regex, { error });
}

/**
 * Short lowercase names: they end up inside cloud resource names, which are length-limited, and
 * never hold `--` (RDS identifiers refuse two hyphens in a row).
 */
const shortName = (max: number) =>
  pattern(new RegExp(`^(?!.*--)[a-z][a-z0-9-]{0,${max - 2}}[a-z0-9]$`), `lowercase letters, digits and single '-', 2 to ${max} characters, starting with a letter`);

const size = z.enum(SIZES, { error: `accepted: ${SIZES.join(" | ")}` });

const cidrText = pattern(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.20.0.0/16");

const uuid = pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a lowercase GUID");

const accountsSchema = z.strictObject({
  /** Where the environment lives on AWS. */
  aws: z
    .strictObject({
      region: pattern(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as eu-west-1"),
      accountId: pattern(/^\d{12}$/, "a 12-digit AWS account id"),
    })
    .optional(),
  /** Where the environment lives on Azure. */
  azure: z
    .strictObject({
      location: pattern(/^[a-z]+[a-z0-9]*$/, "an Azure location name such as westeurope"),
      subscriptionId: uuid,
      tenantId: uuid,
    })
    .optional(),
  /** Where the environment lives on GCP. */
  gcp: z
    .strictObject({
      region: pattern(/^[a-z]+-[a-z]+\d+$/, "a GCP region such as europe-west1"),
      projectId: pattern(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id (6 to 30 lowercase letters, digits, '-')"),
    })
    .optional(),
});

const nodePoolSchema = z.strictObject({
  name: shortName(12),
  /** Neutral machine size, mapped per cloud in `constructs/<cloud>/sizes.ts`. */
  size,
  minNodes: intRange(0, 100),
  maxNodes: intRange(1, 100),
  /** Allow interruptible capacity (AWS Spot, Azure Spot, GCP Spot VMs). @default false */
  spot: z.boolean().default(false),
  /** Root disk per node. @default 50 */
  diskGiB: intRange(20, 1000, " GiB").default(50),
  aws: z
    .strictObject({
      instanceTypes: z.array(pattern(/^[a-z0-9-]+\.[a-z0-9]+$/, "an EC2 instance type such as m7i.xlarge")).min(1),
    })
    .optional(),
  azure: z.strictObject({ vmSize: pattern(/^Standard_[A-Za-z0-9_]+$/, "an Azure VM size such as Standard_D4s_v5") }).optional(),
  gcp: z.strictObject({ machineType: pattern(/^[a-z0-9]+-[a-z0-9-]+$/, "a GCE machine type such as n2-standard-4") }).optional(),
});

const clusterSchema = z.strictObject({
  kubernetesVersion: z.enum(KUBERNETES_VERSIONS, { error: `accepted: ${KUBERNETES_VERSIONS.join(" | ")}` }),
  /**
   * CIDRs allowed to reach the public API endpoint. Empty keeps the API private (reachable from
   * inside the network only). @default []
   */
  publicAccessCidrs: z.array(cidrText).default([]),
  /** Days to keep control-plane logs. @default 90 in production, 30 elsewhere */
  logRetentionDays: intRange(1, 3653, " days").optional(),
  nodePools: z.array(nodePoolSchema).min(1, { error: "accepted: at least one node pool" }),
  aws: z
    .strictObject({
      /** IAM principals (role or user ARNs) given cluster-admin through EKS access entries. */
      adminPrincipalArns: z
        .array(pattern(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, "an IAM role or user ARN"))
        .default([]),
    })
    .optional(),
  azure: z
    .strictObject({
      /** Entra ID groups given cluster-admin through Azure RBAC for Kubernetes. */
      adminGroupObjectIds: z.array(uuid).default([]),
    })
    .optional(),
});

const bucketSchema = z.strictObject({
  name: shortName(24),
  purpose: z.enum(BUCKET_PURPOSES, { error: `accepted: ${BUCKET_PURPOSES.join(" | ")}` }),
  /** Keep previous object versions. @default true */
  versioning: z.boolean().default(true),
  /** Delete current objects this many days after creation. @default never */
  expirationDays: intRange(1, 36500, " days").optional(),
  /** Delete superseded object versions this many days after they were replaced. @default 90 */
  noncurrentVersionExpirationDays: intRange(1, 36500, " days").default(90),
});

const databaseSchema = z.strictObject({
  name: shortName(20),
  /**
   * PostgreSQL major version. Raising it upgrades in place (in production in the next maintenance
   * window). With read replicas it takes steps: `readReplicas: 0`, the bump, then the replicas
   * back (README, "Upgrade guide").
   */
  postgresVersion: z.enum(POSTGRES_VERSIONS, { error: `accepted: ${POSTGRES_VERSIONS.join(" | ")}` }),
  size,
  storageGiB: intRange(20, 65536, " GiB"),
  /** Standby in a second zone with automatic failover. @default true in production */
  highAvailability: z.boolean().optional(),
  /** Refuse API deletes of the instance. @default true in production */
  deletionProtection: z.boolean().optional(),
  /** Days of automated backups (point-in-time recovery window). @default 14 in production, 7 elsewhere */
  backupRetentionDays: intRange(7, 35, " days").optional(),
  /**
   * Asynchronous read replicas. Set 0 before raising `postgresVersion` and add them back once the
   * upgrade ran: RDS upgrades replicas with the primary, and a replica's parameter group must be
   * of the version it runs. @default 0
   */
  readReplicas: intRange(0, 5).default(0),
  aws: z.strictObject({ instanceClass: pattern(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "an RDS instance class such as db.m7g.large") }).optional(),
  azure: z.strictObject({ skuName: pattern(/^(B|GP|MO)_[A-Za-z0-9_]+$/, "a Flexible Server SKU such as GP_Standard_D2ds_v5") }).optional(),
  gcp: z.strictObject({ tier: pattern(/^db-[a-z0-9-]+$/, "a Cloud SQL tier such as db-custom-2-8192") }).optional(),
  /** Production rules this database opts out of, each with the reason it is acceptable. */
  waivers: z
    .strictObject({
      highAvailability: waiverReason.optional(),
      deletionProtection: waiverReason.optional(),
      backupRetentionDays: waiverReason.optional(),
    })
    .default({}),
});

const hostName = pattern(
  /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
  "a lowercase DNS name such as airflow.data.example.com",
);

const appSchema = z.strictObject({
  name: z.enum(APP_NAMES, { error: `accepted: ${APP_NAMES.join(" | ")}` }),
  /** Host name of the app's UI, served over TLS. @default no ingress (reach it with kubectl port-forward) */
  host: hostName.optional(),
  /** Scales the app's resource requests and limits. @default medium in production, small elsewhere */
  size: size.optional(),
  /** Name of the spec database this app gets its own database and role on. */
  database: z.string().optional(),
  /** Name of the spec bucket this app reads and writes. */
  bucket: z.string().optional(),
});

const tagKey = pattern(/^[A-Za-z0-9 _.:/=+@-]{1,63}$/, "1 to 63 letters, digits, spaces or _.:/=+@-");

const environmentSchema = z.strictObject({
  name: shortName(16),
  /** Production turns on HA, deletion protection and longer retention, and enforces them. */
  production: z.boolean({ error: "accepted: true or false" }),
  cloud: z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` }),
  accounts: accountsSchema,
  /** Team or person answerable for the environment; becomes the `owner` tag. */
  owner: pattern(/^[A-Za-z0-9 _.@+-]{2,63}$/, "2 to 63 letters, digits, spaces or _.@+-"),
  /** Finance cost centre; becomes the `cost-centre` tag. */
  costCentre: pattern(/^[A-Za-z0-9_.-]{1,63}$/, "1 to 63 letters, digits or _.-"),
  /** Extra tags/labels for every taggable resource. @default {} */
  tags: z.record(tagKey, z.string().max(255, { error: "accepted: at most 255 characters" })).default({}),
  /** Terraform Cloud organization and project of the environment's workspaces. @default local state */
  terraformCloud: z
    .strictObject({
      organization: pattern(/^[A-Za-z0-9_-]{3,40}$/, "a Terraform Cloud organization name (letters, digits, _ and -)"),
      project: pattern(/^[A-Za-z0-9 _-]{3,40}$/, "a Terraform Cloud project name (letters, digits, spaces, _ and -)"),
      /**
       * `continuous`: workspaces follow the main branch and apply by themselves. `promoted`: they
       * follow the production branch (moved only after staging applied a commit) and wait for a
       * person to confirm each apply. @default promoted in production, continuous elsewhere
       */
      release: z.enum(["continuous", "promoted"], { error: "accepted: continuous | promoted" }).optional(),
    })
    .optional(),
  network: z.strictObject({
    /** The private address range of the environment's network. */
    cidr: cidrText,
    /** Availability zones to spread subnets, nodes and databases over. @default 3 in production, 2 elsewhere */
    zones: intRange(2, SUBNET_PLAN_LIMITS.maxZones).optional(),
  }),
  cluster: clusterSchema,
  /** Public DNS and TLS for app UIs. */
  dns: z
    .strictObject({
      /** Zone external-dns manages records in; every app host must be inside it. @default none: you create the records */
      zone: hostName.optional(),
      /** Contact for the Let's Encrypt account that issues the apps' TLS certificates. */
      acmeEmail: pattern(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/, "an email address"),
    })
    .optional(),
  buckets: z.array(bucketSchema).default([]),
  databases: z.array(databaseSchema).default([]),
  apps: z.array(appSchema).default([]),
});

/** What authors write in `environments/*.ts`. */
export type EnvironmentInput = z.input<typeof environmentSchema>;
type ParsedEnvironment = z.output<typeof environmentSchema>;

/** Fills the defaults that depend on whether the environment is production. */
function resolveDefaults(env: ParsedEnvironment) {
  const production = env.production;
  return {
    ...env,
    terraformCloud: env.terraformCloud && { ...env.terraformCloud, release: env.terraformCloud.release ?? (production ? "promoted" : "continuous") },
    network: { ...env.network, zones: env.network.zones ?? (production ? 3 : 2) },
    cluster: { ...env.cluster, logRetentionDays: env.cluster.logRetentionDays ?? (production ? 90 : 30) },
    apps: env.apps.map((app) => ({ ...app, size: app.size ?? (production ? "medium" : "small") })),
    databases: env.databases.map((db) => ({
      ...db,
      highAvailability: db.highAvailability ?? production,
      deletionProtection: db.deletionProtection ?? production,
      backupRetentionDays: db.backupRetentionDays ?? (production ? 14 : 7),
    })),
  };
}

export type Environment = ReturnType<typeof resolveDefaults>;
export type NodePoolSpec = Environment["cluster"]["nodePools"][number];
export type BucketSpec = Environment["buckets"][number];
export type DatabaseSpec = Environment["databases"][number];
export type AppSpec = Environment["apps"][number];

type Report = (path: PropertyKey[], given: unknown, accepted: string) => void;

function checkUnique(items: readonly { name: string }[], path: PropertyKey[], report: Report): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) report([...path, index, "name"], item.name, `a name not already used in ${formatPath(path)}`);
    seen.add(item.name);
  });
}

function checkNetwork(env: Environment, report: Report): void {
  const cidr = parseCidr(env.network.cidr);
  if (!cidr) {
    report(["network", "cidr"], env.network.cidr, "an IPv4 CIDR of four decimal parts without leading zeros, such as 10.20.0.0/16");
    return;
  }
  if (!isNetworkAligned(cidr)) {
    report(["network", "cidr"], env.network.cidr, "a network address with no host bits set, such as 10.20.0.0/16");
    return;
  }
  if (!isPrivateRange(cidr)) {
    report(["network", "cidr"], env.network.cidr, "a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
    return;
  }
  const { minPrefix, maxPrefix } = SUBNET_PLAN_LIMITS;
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) {
    report(
      ["network", "cidr"],
      env.network.cidr,
      `a prefix from /${minPrefix} to /${maxPrefix}, so that private, public and database subnets for ${env.network.zones} zones fit`,
    );
    return;
  }
  env.cluster.publicAccessCidrs.forEach((text, index) => {
    const allowed = parseCidr(text);
    const path = ["cluster", "publicAccessCidrs", index];
    if (!allowed || !isNetworkAligned(allowed)) report(path, text, "a network address with no host bits set, such as 203.0.113.0/24");
    else if (allowed.prefix < 8) report(path, text, "a range no wider than /8: list the addresses of your VPN, office or CI runners");
    // The environment's own network is private too, so this also keeps the list outside it.
    else if (overlapsPrivateRange(allowed)) report(path, text, "a public range: a public API endpoint never sees private (RFC 1918) source addresses");
  });
  // Throws only on a bug in the plan limits above; kept here so a bad plan can never reach synth.
  planSubnets(env.network.cidr, env.network.zones);
}

function checkReferences(env: Environment, report: Report): void {
  const hosts = new Map<string, string>();
  env.apps.forEach((app, index) => {
    if (app.host === undefined) return;
    const owner = hosts.get(app.host);
    if (owner !== undefined) report(["apps", index, "host"], app.host, `a host no other app uses (${owner} has it)`);
    hosts.set(app.host, app.name);
  });
  const buckets = env.buckets.map((b) => b.name);
  const databases = env.databases.map((d) => d.name);
  env.apps.forEach((app, index) => {
    if (app.database !== undefined && !databases.includes(app.database)) {
      report(["apps", index, "database"], app.database, `the name of a database in this spec (${databases.join(", ") || "none defined"})`);
    }
    if (app.bucket !== undefined && !buckets.includes(app.bucket)) {
      report(["apps", index, "bucket"], app.bucket, `the name of a bucket in this spec (${buckets.join(", ") || "none defined"})`);
    }
    if (app.host !== undefined && env.dns === undefined) {
      report(["apps", index, "host"], app.host, "a host only together with dns.acmeEmail, which TLS certificates are issued for");
    }
    const zone = env.dns?.zone;
    if (app.host !== undefined && zone !== undefined && !app.host.endsWith(`.${zone}`)) {
      report(["apps", index, "host"], app.host, `a name inside the DNS zone ${zone}, such as ${app.name}.${zone}`);
    }
    const needs = APP_CATALOGUE[app.name];
    if (needs.database && app.database === undefined) report(["apps", index, "database"], undefined, `a database: ${app.name} stores its metadata in PostgreSQL`);
    if (needs.bucket && app.bucket === undefined) report(["apps", index, "bucket"], undefined, `a bucket: ${app.name} keeps ${needs.bucket} in object storage`);
  });
}

function checkProductionRules(env: Environment, report: Report): void {
  if (!env.production) return;
  const hasSteadyPool = env.cluster.nodePools.some((pool) => !pool.spot && pool.minNodes >= 2);
  if (!hasSteadyPool) {
    report(["cluster", "nodePools"], env.cluster.nodePools.map((p) => p.name), "in production, at least one non-spot node pool with minNodes >= 2");
  }
  env.databases.forEach((db, index) => {
    if (!db.highAvailability && !db.waivers.highAvailability) {
      report(["databases", index, "highAvailability"], false, "true in production, or a reason in waivers.highAvailability");
    }
    if (!db.deletionProtection && !db.waivers.deletionProtection) {
      report(["databases", index, "deletionProtection"], false, "true in production, or a reason in waivers.deletionProtection");
    }
    if (db.backupRetentionDays < 14 && !db.waivers.backupRetentionDays) {
      report(["databases", index, "backupRetentionDays"], db.backupRetentionDays, "at least 14 in production, or a reason in waivers.backupRetentionDays");
    }
  });
}

/**
 * Stateful components (Kafka, OpenSearch, Prometheus, Temporal, the Airflow scheduler, ...) do not
 * tolerate the spot taint, so a cluster that runs apps needs on-demand capacity. (Production has
 * the stronger rule above.)
 */
function checkOnDemandCapacity(env: Environment, report: Report): void {
  if (env.production || env.apps.length === 0 || env.cluster.nodePools.some((pool) => !pool.spot)) return;
  report(["cluster", "nodePools"], env.cluster.nodePools.map((p) => p.name), "at least one non-spot node pool: stateful components of the apps run on on-demand nodes only");
}

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy; the aws provider validates the same list). */
const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Tags per resource the clouds allow (AWS and Azure: 50), less the platform's own and the most a
 * resource carries of its own (AWS private subnets: Name, tier and two Kubernetes tags). Azure
 * Key Vault secrets, which take at most 15, carry the platform's tags only.
 */
const MAX_SPEC_TAGS = 50 - RESERVED_TAG_KEYS.length - 4;

/**
 * Tag rules of every cloud, so the same spec works on each: AWS reserves the `aws:` prefix; Azure
 * refuses `<>%&\?/` in tag names and compares names without case, so `Owner` would be `owner`.
 */
function checkTags(env: Environment, report: Report): void {
  const keys = Object.keys(env.tags);
  const seen = new Map<string, string>((RESERVED_TAG_KEYS as readonly string[]).map((key) => [key, key]));
  for (const key of keys) {
    const path = ["tags", key];
    const folded = key.toLowerCase();
    const clash = seen.get(folded);
    if ((RESERVED_TAG_KEYS as readonly string[]).includes(folded)) report(path, env.tags[key], `a key other than ${RESERVED_TAG_KEYS.join(", ")} in any case: the platform sets those itself`);
    else if (clash !== undefined) report(path, env.tags[key], `a key that differs from "${clash}" in more than case (Azure tag names ignore case)`);
    else if (folded.startsWith("aws:")) report(path, env.tags[key], "a key without the aws: prefix, which AWS reserves");
    else if (/[<>%&\\?/]/.test(key)) report(path, env.tags[key], "a key without < > % & \\ ? or /, which Azure refuses in tag names");
    seen.set(folded, key);
  }
  if (keys.length > MAX_SPEC_TAGS) report(["tags"], `${keys.length} tags`, `at most ${MAX_SPEC_TAGS} tags: clouds allow 50 per resource and the platform sets up to 8`);
}

function checkEnvironment(env: Environment, report: Report): void {
  if (env.accounts[env.cloud] === undefined) {
    report(["accounts", env.cloud], undefined, `the ${env.cloud} account of this environment, because cloud is "${env.cloud}"`);
  }
  checkTags(env, report);
  if (env.cloud === "aws" && !CLOUDWATCH_RETENTION_DAYS.includes(env.cluster.logRetentionDays)) {
    report(["cluster", "logRetentionDays"], env.cluster.logRetentionDays, `on AWS one of the retentions CloudWatch Logs accepts: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`);
  }
  env.cluster.nodePools.forEach((pool, index) => {
    if (pool.minNodes > pool.maxNodes) report(["cluster", "nodePools", index, "minNodes"], pool.minNodes, `at most maxNodes (${pool.maxNodes})`);
  });
  checkUnique(env.cluster.nodePools, ["cluster", "nodePools"], report);
  checkUnique(env.buckets, ["buckets"], report);
  checkUnique(env.databases, ["databases"], report);
  checkUnique(env.apps, ["apps"], report);
  checkNetwork(env, report);
  checkReferences(env, report);
  checkProductionRules(env, report);
  checkOnDemandCapacity(env, report);
}

/** The field names the schema accepts at a path, for "unknown field" messages. */
function fieldsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  const unwrap = (n: z.core.$ZodType): z.core.$ZodType => {
    const def = n._zod.def as { innerType?: z.core.$ZodType };
    return def.innerType ? unwrap(def.innerType) : n;
  };
  for (const key of path) {
    if (!node) return [];
    const def = unwrap(node)._zod.def as { shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    node = typeof key === "number" ? def.element : def.shape?.[String(key)];
  }
  const shape = node ? (unwrap(node)._zod.def as { shape?: Record<string, unknown> }).shape : undefined;
  return shape ? Object.keys(shape) : [];
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function zodIssueToSpecIssue(input: unknown, issue: z.core.$ZodIssue): SpecIssue {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => formatPath([...issue.path, key]));
    return { path: keys.join(", "), message: `unknown field; accepted: ${fieldsAt(environmentSchema, issue.path).join(", ")}` };
  }
  const given = describeValue(valueAt(input, issue.path));
  const accepted = issue.message.startsWith("accepted:") ? issue.message : `accepted: ${issue.message}`;
  return { path: formatPath(issue.path) || "(spec)", message: `given ${given}; ${accepted}` };
}

/**
 * Validates user data and returns the environment with every default filled in.
 * @throws SpecError listing every problem found, each with its field path.
 */
export function parseEnvironment(input: unknown): Environment {
  const name = valueAt(input, ["name"]);
  const label = typeof name === "string" ? name : "(unnamed)";
  const parsed = environmentSchema.safeParse(input);
  if (!parsed.success) {
    throw new SpecError(label, parsed.error.issues.map((issue) => zodIssueToSpecIssue(input, issue)));
  }
  const env = resolveDefaults(parsed.data);
  const issues: SpecIssue[] = [];
  checkEnvironment(env, (path, given, accepted) =>
    issues.push({ path: formatPath(path), message: `given ${describeValue(given)}; accepted: ${accepted}` }),
  );
  if (issues.length > 0) throw new SpecError(label, issues);
  return env;
}

/** Parses several environments, reporting the problems of all of them at once. */
export function parseEnvironments(inputs: readonly unknown[]): Environment[] {
  const problems: SpecError[] = [];
  const envs: Environment[] = [];
  for (const input of inputs) {
    try {
      envs.push(parseEnvironment(input));
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      problems.push(error);
    }
  }
  const names = envs.map((env) => env.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    problems.push(new SpecError(duplicate, [{ path: "name", message: `given ${describeValue(duplicate)}; accepted: a name no other environment uses` }]));
  }
  problems.push(...crossEnvironmentProblems(envs));
  if (problems.length > 0) throw new SpecErrors(problems);
  return envs;
}

/**
 * What no single environment shows: two environments whose networks overlap (they could never be
 * peered or connected by VPN, and a move between clouds needs both at once), and two AWS
 * environments managed by Terraform Cloud in one account (each would create the account's one
 * OIDC provider for app.terraform.io).
 */
function crossEnvironmentProblems(envs: readonly Environment[]): SpecError[] {
  const problems: SpecError[] = [];
  envs.forEach((env, index) => {
    const network = parseCidr(env.network.cidr);
    const earlier = envs.slice(0, index);
    const overlapping = earlier.find((other) => {
      const otherNetwork = parseCidr(other.network.cidr);
      return network !== undefined && otherNetwork !== undefined && cidrsOverlap(network, otherNetwork);
    });
    if (overlapping) {
      problems.push(new SpecError(env.name, [{ path: "network.cidr", message: `given ${describeValue(env.network.cidr)}; accepted: a range no other environment uses (${overlapping.name} has ${overlapping.network.cidr})` }]));
    }
    // Only Terraform Cloud-managed environments create the account's one OIDC provider for it.
    const account = env.cloud === "aws" && env.terraformCloud ? env.accounts.aws?.accountId : undefined;
    const sharing = account === undefined ? undefined : earlier.find((other) => other.cloud === "aws" && other.terraformCloud && other.accounts.aws?.accountId === account);
    if (sharing) {
      problems.push(new SpecError(env.name, [{ path: "accounts.aws.accountId", message: `given ${describeValue(account)}; accepted: an AWS account no other environment uses (${sharing.name} is in it)` }]));
    }
  });
  return problems;
}

/** Every spec problem of every environment, for one report. */
export class SpecErrors extends Error {
  constructor(readonly errors: readonly SpecError[]) {
    super(errors.map((error) => error.message).join("\n"));
    this.name = "SpecErrors";
  }
}
