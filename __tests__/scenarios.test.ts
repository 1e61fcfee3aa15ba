/**
 * Routine changes, proven rather than assumed (issue 9). Each scenario takes an environment from
 * `environments/`, changes one thing in its spec, and synthesizes the infra stack before and after.
 *
 * AWS: the provider itself answers. An offline `terraform plan` of the AFTER stack runs against a
 * state built from the BEFORE stack's plan (support/plan-changes.ts): per resource no-op, update,
 * create, delete, replace, or the plan is refused (validation, prevent_destroy).
 *
 * Azure and GCP: no provider here. The JSON changes are classified with replace-forcing rules
 * read from the provider source at the pinned version (cited per rule below); changed arguments
 * no rule covers are listed as unverified. README "Upgrade guide" summarizes every outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environments } from "../environments";
import { KUBERNETES_VERSIONS, POSTGRES_VERSIONS, type Cloud, type EnvironmentInput } from "../constructs/core/spec";
import { SpecError } from "../constructs/core/errors";
import { SIZES } from "../constructs/core/sizes";
import { AWS_STATEFUL_TYPES } from "../constructs/aws";
import { synthInfra, type SynthesizedStack } from "./support/synth";
import { providerAnswer, summarize, terraformTimings, type PlanOutcome, type ResourceChange } from "./support/plan-changes";
import { missingProviders, terraformUnavailable } from "./support/terraform";

type Spec = EnvironmentInput;

// ---------------------------------------------------------------------------------------------
// Spec changes

/** One step along an ordered list: [current, next], or [previous, current] at the list's end. */
function step<T>(list: readonly T[], current: T): [T, T] {
  const index = list.indexOf(current);
  if (index < 0) throw new Error(`${String(current)} is not in ${list.join(", ")}`);
  return index + 1 < list.length ? [current, list[index + 1]] : [list[index - 1], current];
}

function change(spec: Spec, edit: (copy: Spec) => void): Spec {
  const copy = structuredClone(spec);
  edit(copy);
  return copy;
}

const firstDatabase = (spec: Spec) => {
  const db = spec.databases?.[0];
  if (!db) throw new Error(`${spec.name} has no database`);
  return db;
};

/** A public range (TEST-NET-3) for the API endpoint scenarios. */
const PUBLIC_CIDR = "203.0.113.0/24";

/** Another private range of the same size, not overlapping the spec's. */
function otherNetwork(cidr: string): string {
  const prefix = cidr.split("/")[1];
  return cidr.startsWith("172.16.") ? `10.200.0.0/${prefix}` : `172.16.0.0/${prefix}`;
}

/** Another region of the same cloud. */
function otherRegion(spec: Spec): Spec {
  return change(spec, (s) => {
    if (s.cloud === "aws" && s.accounts.aws) s.accounts.aws.region = s.accounts.aws.region === "eu-central-1" ? "eu-west-1" : "eu-central-1";
    if (s.cloud === "azure" && s.accounts.azure) s.accounts.azure.location = s.accounts.azure.location === "northeurope" ? "westeurope" : "northeurope";
    if (s.cloud === "gcp" && s.accounts.gcp) s.accounts.gcp.region = s.accounts.gcp.region === "europe-west4" ? "europe-west1" : "europe-west4";
  });
}

/**
 * The changes every cloud gets, as (before, after) from one base spec. `older` is the base one
 * step back where a change needs something the base lacks: the previous Kubernetes version, two
 * zones, one public API range, no read replica.
 */
function neutralChanges(base: Spec): { name: string; key: string; before: Spec; after: Spec }[] {
  const db = firstDatabase(base);
  const [pgFrom, pgTo] = step(POSTGRES_VERSIONS, db.postgresVersion);
  const [k8sFrom, k8sTo] = step(KUBERNETES_VERSIONS, base.cluster.kubernetesVersion);
  const pool = base.cluster.nodePools[0];
  const [, biggerSize] = step(SIZES, pool.size);
  const current = change(base, (s) => {
    firstDatabase(s).postgresVersion = pgFrom;
  });
  const older = change(current, (s) => {
    s.cluster.kubernetesVersion = k8sFrom;
    s.cluster.publicAccessCidrs = [PUBLIC_CIDR];
    // On Azure a public API server is named, never derived from the ranges.
    if (s.cloud === "azure") s.cluster.azure = { ...s.cluster.azure, privateCluster: false };
    s.network.zones = 2;
    firstDatabase(s).readReplicas = 0;
  });
  const withReplica = change(current, (s) => {
    firstDatabase(s).readReplicas = Math.max(1, firstDatabase(s).readReplicas ?? 0);
  });
  const bumpPostgres = (s: Spec) => change(s, (c) => void (firstDatabase(c).postgresVersion = pgTo));
  return [
    { key: "postgres-replica", name: `postgresVersion ${pgFrom} -> ${pgTo} with a read replica`, before: withReplica, after: bumpPostgres(withReplica) },
    { key: "postgres", name: `postgresVersion ${pgFrom} -> ${pgTo} without a read replica`, before: older, after: bumpPostgres(older) },
    { key: "drop-replica", name: "readReplicas 1 -> 0 (first step of a major upgrade)", before: withReplica, after: change(withReplica, (s) => void (firstDatabase(s).readReplicas = 0)) },
    { key: "kubernetes", name: `kubernetesVersion ${k8sFrom} -> ${k8sTo}`, before: older, after: change(older, (s) => void (s.cluster.kubernetesVersion = k8sTo)) },
    { key: "public-cidr-add", name: "add the first publicAccessCidrs entry", before: current, after: change(current, (s) => void (s.cluster.publicAccessCidrs = [PUBLIC_CIDR])) },
    { key: "public-cidr-remove", name: "remove the last publicAccessCidrs entry", before: older, after: change(older, (s) => void (s.cluster.publicAccessCidrs = [])) },
    { key: "pool-size", name: `node pool ${pool.name}: size ${pool.size} -> ${biggerSize}`, before: current, after: change(current, (s) => void (s.cluster.nodePools[0].size = biggerSize)) },
    {
      key: "pool-min-max",
      name: `node pool ${pool.name}: minNodes and maxNodes + 1`,
      before: current,
      after: change(current, (s) => {
        s.cluster.nodePools[0].minNodes += 1;
        s.cluster.nodePools[0].maxNodes += 1;
      }),
    },
    { key: "zones", name: "network.zones 2 -> 3", before: older, after: change(older, (s) => void (s.network.zones = 3)) },
    { key: "replica-add", name: "add a read replica", before: current, after: change(current, (s) => void (firstDatabase(s).readReplicas = (firstDatabase(s).readReplicas ?? 0) + 1)) },
    { key: "tags", name: "add a spec tag", before: current, after: change(current, (s) => void (s.tags = { ...s.tags, "scenario-tag": "changed" })) },
    { key: "owner", name: "change owner", before: current, after: change(current, (s) => void (s.owner = `${s.owner}-next`)) },
    { key: "region", name: "change the region", before: current, after: otherRegion(current) },
    { key: "cidr", name: "change network.cidr", before: current, after: change(current, (s) => void (s.network.cidr = otherNetwork(s.network.cidr))) },
  ];
}

// ---------------------------------------------------------------------------------------------
// AWS: the provider's answer

const unavailable = terraformUnavailable();
const awsSpecs = environments.filter((env) => env.cloud === "aws");
const awsProduction = awsSpecs.find((env) => env.production);
const awsNonProduction = awsSpecs.find((env) => !env.production);

/** Types that hold data (stack-diff's list, plus the log groups): a routine change never deletes or replaces one. */
const STATEFUL_TYPES = new Set([...Object.keys(AWS_STATEFUL_TYPES), "aws_cloudwatch_log_group"]);

interface Planned {
  readonly changes: readonly ResourceChange[];
  readonly before: SynthesizedStack;
  readonly after: SynthesizedStack;
  readonly spec: Spec;
}

const addressesOf = (stack: SynthesizedStack, type?: string) =>
  Object.entries(stack.json.resource ?? {})
    .filter(([t]) => type === undefined || t === type)
    .flatMap(([t, byName]) => Object.keys(byName).map((name) => `${t}.${name}`))
    .sort();
const added = (p: Planned) => addressesOf(p.after).filter((a) => !addressesOf(p.before).includes(a));
const removed = (p: Planned) => addressesOf(p.before).filter((a) => !addressesOf(p.after).includes(a));
const withAction = (p: Planned, action: string) =>
  p.changes
    .filter((c) => c.action === action)
    .map((c) => c.address)
    .sort();
const lostStateful = (p: Planned) => p.changes.filter((c) => STATEFUL_TYPES.has(c.type) && (c.action === "delete" || c.action === "replace")).map((c) => c.address);
const find = (p: Planned, address: string) => p.changes.find((c) => c.address === address);
const nodeGroups = (p: Planned) => addressesOf(p.after, "aws_eks_node_group");
const databases = (p: Planned) => addressesOf(p.after, "aws_db_instance");
const cluster = (p: Planned) => addressesOf(p.after, "aws_eks_cluster");
/** The node group of the spec's first pool (the one the pool scenarios change). */
const firstPoolGroup = (p: Planned) => nodeGroups(p).filter((a) => a.includes(`_${p.spec.cluster.nodePools[0].name}-nodes_`));

/** What every routine change keeps: no resource that holds data is deleted or replaced. */
function expectRoutine(p: Planned): void {
  expect(lostStateful(p)).toEqual([]);
}

/** Asserts each AWS scenario from the principle it follows, not from a recorded plan. */
const awsChecks: Record<string, (p: Planned) => void> = {
  "postgres-replica": (p) => {
    expectRoutine(p);
    // The new family's group is created; the one the instances use now stays (RDS refuses to delete
    // a group in use, and in production the upgrade waits for the maintenance window).
    expect(withAction(p, "create")).toEqual(added(p));
    expect(added(p).every((a) => a.startsWith("aws_db_parameter_group."))).toBe(true);
    expect(withAction(p, "delete")).toEqual(removed(p));
    expect(withAction(p, "replace")).toEqual([]);
    expect(withAction(p, "update")).toEqual(databases(p));
    const [primary, ...replicas] = databases(p).sort((a, b) => a.length - b.length);
    expect(find(p, primary)?.changedAttributes).toEqual(expect.arrayContaining(["engine_version", "parameter_group_name"]));
    // The replica is told to use the new family's group while it still runs the old major version
    // (in production until the window): RDS refuses that, hence the two steps in the README.
    for (const replica of replicas) expect(find(p, replica)?.changedAttributes).toContain("parameter_group_name");
    expect(replicas.length).toBeGreaterThan(0);
  },
  postgres: (p) => {
    expectRoutine(p);
    expect(withAction(p, "create")).toEqual(added(p));
    expect(withAction(p, "delete")).toEqual(removed(p));
    expect([...added(p), ...removed(p)].every((a) => a.startsWith("aws_db_parameter_group."))).toBe(true);
    expect(withAction(p, "update")).toEqual(databases(p));
    expect(find(p, databases(p)[0])?.changedAttributes).toEqual(expect.arrayContaining(["engine_version", "parameter_group_name"]));
    // The deleted group is the family before the old one: no instance used it.
    const inUse = String(p.before.all("aws_db_instance")[0].parameter_group_name);
    for (const address of removed(p)) expect(inUse).not.toContain(address.split(".")[1]);
  },
  "drop-replica": (p) => {
    // A replica holds no data of its own; the primary is untouched.
    expect(withAction(p, "delete")).toEqual(removed(p));
    // The replica and the log groups of its exports (kept by the stack since issue 11): its logs go with it.
    expect(removed(p).every((a) => (a.startsWith("aws_db_instance.") || a.startsWith("aws_cloudwatch_log_group.")) && a.includes("replica"))).toBe(true);
    expect(removed(p).filter((a) => a.startsWith("aws_cloudwatch_log_group.")).length).toBe(2 * removed(p).filter((a) => a.startsWith("aws_db_instance.")).length);
    expect(p.changes.filter((c) => c.action !== "no-op" && c.action !== "delete")).toEqual([]);
  },
  kubernetes: (p) => {
    expectRoutine(p);
    // The control plane and the add-ons pinned per version move in place; nothing is created or replaced.
    const addonsChanged = addressesOf(p.after, "aws_eks_addon").filter((a) => {
      const name = a.split(".")[1];
      return p.before.resources("aws_eks_addon")[name]?.addon_version !== p.after.resources("aws_eks_addon")[name]?.addon_version;
    });
    // Node groups take the cluster's version by reference: each rolls to it in place, after the control plane.
    expect(withAction(p, "update")).toEqual([...cluster(p), ...addonsChanged, ...nodeGroups(p)].sort());
    expect(p.changes.filter((c) => !["no-op", "update"].includes(c.action))).toEqual([]);
  },
  "public-cidr-add": (p) => expect(summarize({ kind: "planned", changes: p.changes })).toEqual({ update: cluster(p) }),
  "public-cidr-remove": (p) => expect(summarize({ kind: "planned", changes: p.changes })).toEqual({ update: cluster(p) }),
  "pool-size": (p) => {
    expectRoutine(p);
    // Instance types force a new node group; nothing else changes.
    expect(firstPoolGroup(p)).toHaveLength(1);
    expect(summarize({ kind: "planned", changes: p.changes })).toEqual({ replace: firstPoolGroup(p) });
    expect(find(p, firstPoolGroup(p)[0])?.replacePaths).toContain("instance_types");
  },
  "pool-min-max": (p) => {
    expect(firstPoolGroup(p)).toHaveLength(1);
    expect(summarize({ kind: "planned", changes: p.changes })).toEqual({ update: firstPoolGroup(p) });
  },
  zones: (p) => {
    expectRoutine(p);
    // The new zone's subnets, NAT and routes are created; nothing is deleted. Node groups take
    // their subnets at creation only, so every one is replaced.
    expect(withAction(p, "create")).toEqual(added(p));
    expect(withAction(p, "delete")).toEqual([]);
    expect(withAction(p, "replace")).toEqual(nodeGroups(p));
    for (const group of nodeGroups(p)) expect(find(p, group)?.replacePaths).toContain("subnet_ids");
    expect(withAction(p, "update")).toEqual(expect.arrayContaining(cluster(p)));
  },
  "replica-add": (p) => {
    // The replica and, before it, the log groups of its two exports (postgresql, upgrade).
    expect(added(p).map((a) => a.split(".")[0]).sort()).toEqual(["aws_cloudwatch_log_group", "aws_cloudwatch_log_group", "aws_db_instance"]);
    expect(summarize({ kind: "planned", changes: p.changes })).toEqual({ create: added(p) });
  },
  tags: (p) => {
    expectRoutine(p);
    expect(p.changes.filter((c) => !["no-op", "update"].includes(c.action))).toEqual([]);
    expect(withAction(p, "update")).toEqual(expect.arrayContaining([...databases(p), ...addressesOf(p.after, "aws_s3_bucket"), ...cluster(p)]));
  },
  owner: (p) => {
    expectRoutine(p);
    expect(p.changes.filter((c) => !["no-op", "update"].includes(c.action))).toEqual([]);
    expect(withAction(p, "update")).toEqual(expect.arrayContaining([...databases(p), ...addressesOf(p.after, "aws_s3_bucket"), ...cluster(p)]));
  },
  region: (p) => {
    // The premise of the gate: the region lives in the provider block, which the plan cannot
    // compare (with -refresh=false the provider takes every resource as still there). What it
    // shows is harmless-looking: subnets in new zones, nothing stateful lost. In truth nothing
    // exists in the new region yet: a region change is a new environment.
    const region = (s: SynthesizedStack) => (s.json.provider?.aws?.[0] as { region?: string } | undefined)?.region;
    expect(region(p.before)).not.toEqual(region(p.after));
    expect(lostStateful(p)).toEqual([]);
    const subnets = addressesOf(p.after, "aws_subnet");
    expect(withAction(p, "replace")).toEqual(expect.arrayContaining(subnets));
    for (const subnet of subnets) expect(find(p, subnet)?.replacePaths).toContain("availability_zone");
  },
  cidr: (p) => {
    // The VPC is replaced; the provider plans to move the cluster and the databases to subnets of
    // the new VPC in place, which AWS refuses (see the README): a CIDR change is a new environment.
    const vpc = addressesOf(p.after, "aws_vpc");
    expect(withAction(p, "replace")).toEqual(expect.arrayContaining(vpc));
    expect(find(p, vpc[0])?.replacePaths).toContain("cidr_block");
    for (const address of [...cluster(p), ...databases(p)]) expect(find(p, address)?.action).toBe("update");
  },
};

interface AwsScenario {
  readonly title: string;
  readonly key: string;
  readonly before: Spec;
  readonly after: Spec;
}

const DETAILED = new Set(["postgres-replica", "postgres"]);
/** Changes that make a new environment: production refuses them at plan. */
const REFUSED_IN_PRODUCTION = new Set(["cidr"]);
const awsScenarios: AwsScenario[] = [];
if (awsProduction) {
  for (const s of neutralChanges(awsProduction)) awsScenarios.push({ title: `${awsProduction.name}: ${s.name}`, ...s });
}
if (awsNonProduction) {
  // Outside production: the changes that behave differently there (no prevent_destroy, apply_immediately).
  const keep = new Set(["postgres", "zones", "replica-add", "cidr"]);
  for (const s of neutralChanges(awsNonProduction).filter((c) => keep.has(c.key))) awsScenarios.push({ title: `${awsNonProduction.name}: ${s.name}`, ...s });
}

describe.skipIf(unavailable !== undefined || awsScenarios.length === 0)("routine changes on AWS: what the provider plans", () => {
  const results = new Map<string, { outcome: PlanOutcome; before: SynthesizedStack; after: SynthesizedStack; spec: Spec }>();
  let seconds = 0;

  beforeAll(async () => {
    const started = performance.now();
    await Promise.all(
      awsScenarios.map(async (s) => {
        const before = synthInfra(s.before);
        const after = synthInfra(s.after);
        const missing = missingProviders(JSON.parse(before.text));
        if (missing.length > 0) throw new Error(`${s.title}: providers not in the mirror: ${missing.join(", ")}`);
        results.set(s.title, { outcome: await providerAnswer(before.text, after.text, { details: DETAILED.has(s.key) }), before, after, spec: s.after });
      }),
    );
    seconds = Math.round((performance.now() - started) / 1000);
  }, 3_600_000);

  afterAll(() => {
    for (const s of awsScenarios) {
      const result = results.get(s.title);
      if (result) console.log(`${s.title}: ${JSON.stringify(summarize(result.outcome))}`);
    }
    console.log(`AWS scenarios: ${awsScenarios.length} plans against ${new Set(awsScenarios.map((s) => JSON.stringify(s.before))).size} baselines in ${seconds} s`, terraformTimings());
  });

  it.each(awsScenarios.map((s) => [s.title, s] as const))("%s", (title, scenario) => {
    const result = results.get(title);
    if (!result) throw new Error(`no plan for ${title}`);
    // A new network range replaces the VPC, which nothing inside can follow: production refuses
    // it at plan (prevent_destroy on the VPC). Every other routine change plans.
    const refusedBy = result.outcome.kind === "refused" ? result.outcome.by : undefined;
    expect(refusedBy).toBe(scenario.after.production && REFUSED_IN_PRODUCTION.has(scenario.key) ? "prevent_destroy" : undefined);
    if (result.outcome.kind !== "planned") return;
    awsChecks[scenario.key]({ changes: result.outcome.changes, before: result.before, after: result.after, spec: result.spec });
  });
});

// ---------------------------------------------------------------------------------------------
// Upgrading an existing AWS environment to this release (issue 11): the BEFORE stack is this
// release's with what it added taken away (the workload boundary and every role's
// permissions_boundary; the run role's AdministratorAccess back instead of its own policy; the
// RDS log groups, which RDS created itself), so the plan shows what the upgrade does to a live
// environment. The import of the RDS log groups (databases[].aws.importLogGroups) reads AWS, so it
// is planned as "already imported": the groups are in the BEFORE state as RDS made them.

type StackDoc = { resource: Record<string, Record<string, Record<string, unknown>>>; import?: unknown };

function previousRelease(after: SynthesizedStack, rdsGroupsImported: boolean): string {
  const doc = JSON.parse(after.text) as StackDoc;
  delete doc.import;
  delete doc.resource.aws_iam_policy;
  for (const role of Object.values(doc.resource.aws_iam_role)) delete role.permissions_boundary;
  for (const [id, policy] of Object.entries(doc.resource.aws_iam_role_policy)) {
    if (policy.name !== "deliver-environment") continue;
    delete doc.resource.aws_iam_role_policy[id];
    doc.resource.aws_iam_role_policy_attachment = { ...doc.resource.aws_iam_role_policy_attachment, "platform_terraform-cloud-trust_administrator_A1B2C3D4": { role: String(policy.role).replace(/\.id\}$/, ".name}"), policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" } };
  }
  for (const [id, group] of Object.entries(doc.resource.aws_cloudwatch_log_group)) {
    if (!String(group.name).startsWith("/aws/rds/")) continue;
    if (rdsGroupsImported) {
      // As RDS creates them: no key, no expiry.
      delete group.kms_key_id;
      delete group.retention_in_days;
    } else delete doc.resource.aws_cloudwatch_log_group[id];
  }
  for (const db of Object.values(doc.resource.aws_db_instance)) delete db.depends_on;
  // The CloudTrail trail, its bucket and the logs key's statements for CloudTrail.
  for (const [type, byName] of Object.entries(doc.resource)) {
    for (const id of Object.keys(byName)) if (id.startsWith("platform_audit-trail_")) delete byName[id];
    if (Object.keys(byName).length === 0) delete doc.resource[type];
  }
  for (const key of Object.values(doc.resource.aws_kms_key)) {
    const policy = JSON.parse(String(key.policy)) as { Statement: { Sid?: string }[] };
    policy.Statement = policy.Statement.filter((statement) => !statement.Sid?.startsWith("CloudTrail"));
    key.policy = JSON.stringify(policy);
  }
  return JSON.stringify(doc);
}

const upgradeSpec = awsProduction ?? awsNonProduction;

describe.skipIf(unavailable !== undefined || upgradeSpec === undefined)("upgrading an existing AWS environment to this release", () => {
  const withImport = (spec: Spec): Spec => ({ ...spec, databases: spec.databases?.map((db) => ({ ...db, aws: { ...db.aws, importLogGroups: true } })) });
  const after = synthInfra(withImport(upgradeSpec as Spec));
  let outcome: PlanOutcome | undefined;

  beforeAll(async () => {
    outcome = await providerAnswer(previousRelease(after, true), after.text, { details: true });
    console.log(`upgrade of ${upgradeSpec?.name}: ${JSON.stringify(outcome ? summarize(outcome) : undefined)}`);
  }, 1_800_000);

  const planned = () => {
    if (outcome?.kind !== "planned") throw new Error(`not planned: ${JSON.stringify(outcome)}`);
    return outcome.changes.filter((c) => c.action !== "no-op");
  };

  it("replaces nothing and deletes only the run role's AdministratorAccess attachment", () => {
    expect(planned().filter((c) => c.action === "replace").map((c) => c.address)).toEqual([]);
    expect(planned().filter((c) => c.action === "delete").map((c) => c.address)).toEqual(["aws_iam_role_policy_attachment.platform_terraform-cloud-trust_administrator_A1B2C3D4"]);
  });

  it("puts the boundary on every existing role in place (permissions_boundary only)", () => {
    const roles = Object.keys(after.resources("aws_iam_role")).filter((id) => after.resources("aws_iam_role")[id].permissions_boundary !== undefined);
    expect(roles.length).toBeGreaterThan(5);
    const changes = roles.map((id) => planned().find((c) => c.address === `aws_iam_role.${id}`));
    expect(changes.map((c) => [c?.action, c?.changedAttributes])).toEqual(roles.map(() => ["update", ["permissions_boundary"]]));
  });

  it("creates the boundary, the run role's own policy and the audit trail; adopts the RDS log groups, updating key and retention in place", () => {
    const created = planned().filter((c) => c.action === "create");
    expect(created.filter((c) => !c.address.includes("_audit-trail_")).map((c) => c.type).sort()).toEqual(["aws_iam_policy", "aws_iam_role_policy"]);
    expect(created.filter((c) => c.address.includes("_audit-trail_")).map((c) => c.type)).toContain("aws_cloudtrail");
    // The logs key admits CloudTrail: a policy update of the existing key, not a new key.
    expect(planned().filter((c) => c.type === "aws_kms_key").map((c) => [c.action, c.changedAttributes])).toEqual([["update", ["policy"]]]);
    const groups = planned().filter((c) => c.type === "aws_cloudwatch_log_group");
    expect(groups.length).toBe(Object.values(after.resources("aws_cloudwatch_log_group")).filter((g) => String(g.name).startsWith("/aws/rds/")).length);
    for (const group of groups) expect(group).toMatchObject({ action: "update", changedAttributes: ["kms_key_id", "retention_in_days"] });
  });
});

// ---------------------------------------------------------------------------------------------
// The machinery on a small stack: count, for_each, a data source, prevent_destroy, validation

describe.skipIf(unavailable !== undefined)("offline provider answers: the machinery", () => {
  const stack = (edit: (resources: Record<string, Record<string, Record<string, unknown>>>) => void = () => {}) => {
    const resources: Record<string, Record<string, Record<string, unknown>>> = {
      aws_cloudwatch_log_group: { counted: { count: 2, name: "offline-check-${count.index}", retention_in_days: 7 } },
      aws_sqs_queue: { each: { for_each: { a: "1", b: "2" }, name: "offline-check-${each.key}" } },
      aws_iam_role: { role: { name: "offline-check", assume_role_policy: "${data.aws_iam_policy_document.trust.json}" } },
      aws_s3_bucket: { kept: { bucket: "offline-check-kept", lifecycle: { prevent_destroy: true } } },
    };
    edit(resources);
    return JSON.stringify({
      terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } },
      provider: { aws: [{ region: "eu-west-1" }] },
      // Answered by the provider without calling AWS.
      data: { aws_iam_policy_document: { trust: { statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["ec2.amazonaws.com"] }] }] } } },
      resource: resources,
    });
  };
  const before = stack();
  const cases = {
    unchanged: before,
    shrunk: stack((r) => {
      r.aws_cloudwatch_log_group.counted.count = 1;
      r.aws_sqs_queue.each.for_each = { a: "1" };
    }),
    renamedRole: stack((r) => void (r.aws_iam_role.role.name = "offline-check-2")),
    renamedProtected: stack((r) => void (r.aws_s3_bucket.kept.bucket = "offline-check-kept-2")),
    invalid: stack((r) => void (r.aws_cloudwatch_log_group.counted.retention_in_days = 8)),
  };
  const outcomes = new Map<string, PlanOutcome>();

  beforeAll(async () => {
    await Promise.all(Object.entries(cases).map(async ([name, after]) => outcomes.set(name, await providerAnswer(before, after))));
  }, 1_800_000);

  it("plans nothing for the unchanged stack (the baseline is exactly the BEFORE stack, instances and data source included)", () => {
    expect(summarize(outcomes.get("unchanged") as PlanOutcome)).toEqual({});
  });

  it("deletes the instances a smaller count and for_each drop, by index key", () => {
    expect(summarize(outcomes.get("shrunk") as PlanOutcome)).toEqual({ delete: ['aws_cloudwatch_log_group.counted[1]', 'aws_sqs_queue.each["b"]'] });
  });

  it("replaces on a replace-forcing argument and names it", () => {
    const outcome = outcomes.get("renamedRole") as PlanOutcome;
    expect(summarize(outcome)).toEqual({ replace: ["aws_iam_role.role"] });
    expect(outcome.kind === "planned" && outcome.changes.find((c) => c.action === "replace")?.replacePaths).toEqual(["name"]);
  });

  it("reports a plan that would replace a prevent_destroy resource as refused by prevent_destroy", () => {
    const outcome = outcomes.get("renamedProtected") as PlanOutcome;
    expect(outcome.kind).toBe("refused");
    expect(outcome.kind === "refused" && outcome.by).toBe("prevent_destroy");
  });

  it("reports the provider's validation error as refused", () => {
    const outcome = outcomes.get("invalid") as PlanOutcome;
    expect(outcome.kind === "refused" && outcome.by).toBe("validation");
    expect(outcome.kind === "refused" && outcome.diagnostics.map((d) => d.summary).join(" ")).toMatch(/retention_in_days/);
  });
});

// ---------------------------------------------------------------------------------------------
// Azure and GCP: the JSON changes, classified with rules read at the pinned provider versions

/**
 * Whether a change of one argument makes the provider replace the resource, from its source at
 * the version the stacks pin. `replaces` may look at the old and new value.
 *
 * TODO(provider-rules): another change builds a replace-forcing table per provider under
 * scripts/provider-rules/. When it lands, classify every changed argument with it here and keep
 * only the conditional rules below that it does not cover.
 */
interface Rule {
  readonly type: string;
  /** A top-level argument, or `block.argument` one level down. */
  readonly path: string;
  readonly replaces: boolean | ((before: unknown, after: unknown) => boolean);
  readonly source: string;
}

const AZURERM = "terraform-provider-azurerm v4.55.0";
const GOOGLE = "terraform-provider-google v6.50.0";
const AKS = `${AZURERM} internal/services/containers/kubernetes_cluster_resource.go`;
const AKS_POOL = `${AZURERM} internal/services/containers/kubernetes_cluster_node_pool_resource.go (cycled through temporary_name_for_rotation, not replaced)`;
const AKS_DEFAULT_POOL = `${AZURERM} internal/services/containers/kubernetes_nodepool.go (default_node_pool, cycled through temporary_name_for_rotation)`;
const AZURE_LOCATION = `${AZURERM} vendor/github.com/hashicorp/go-azure-helpers/resourcemanager/commonschema/location.go (Location(): ForceNew)`;
const AZURE_TAGS = `${AZURERM} vendor/.../commonschema/tags.go (Tags(): not ForceNew; no resource type of these stacks uses TagsForceNew)`;
const GKE = `${GOOGLE} google/services/container/resource_container_cluster.go`;
const GKE_POOL = `${GOOGLE} google/services/container/resource_container_node_pool.go`;

const pgMajor = (value: unknown) => Number(String(value).replace(/\D+/g, ""));
/** google/services/compute/resource_compute_subnetwork.go IsShrinkageIpCidr: only an expansion is an update. */
function isExpansion(before: unknown, after: unknown): boolean {
  const range = (cidr: string) => {
    const [ip, prefix] = cidr.split("/");
    const start = ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
    return { start, end: start + 2 ** (32 - Number(prefix)) - 1 };
  };
  const old = range(String(before));
  const next = range(String(after));
  return next.start <= old.start && next.end >= old.end;
}

const RULES: readonly Rule[] = [
  { type: "azurerm_postgresql_flexible_server", path: "version", replaces: (b, a) => pgMajor(a) < pgMajor(b), source: `${AZURERM} internal/services/postgres/postgresql_flexible_server_resource.go (CustomizeDiff: ForceNew on a downgrade only)` },
  { type: "azurerm_kubernetes_cluster", path: "private_cluster_enabled", replaces: true, source: `${AKS} (private_cluster_enabled: ForceNew)` },
  { type: "azurerm_kubernetes_cluster", path: "api_server_access_profile", replaces: false, source: `${AKS} (updated through ApiServerAccessProfile)` },
  { type: "azurerm_kubernetes_cluster", path: "api_server_access_profile.authorized_ip_ranges", replaces: false, source: `${AKS} (updated through ApiServerAccessProfile)` },
  { type: "azurerm_kubernetes_cluster", path: "private_dns_zone_id", replaces: true, source: `${AKS} (private_dns_zone_id: ForceNew)` },
  { type: "azurerm_key_vault", path: "network_acls.ip_rules", replaces: false, source: `${AZURERM} internal/services/keyvault/key_vault_resource.go (network_acls updated in place)` },
  { type: "azurerm_kubernetes_cluster", path: "kubernetes_version", replaces: false, source: AKS },
  { type: "azurerm_kubernetes_cluster", path: "default_node_pool.orchestrator_version", replaces: false, source: AKS_DEFAULT_POOL },
  { type: "azurerm_kubernetes_cluster", path: "default_node_pool.vm_size", replaces: false, source: AKS_DEFAULT_POOL },
  { type: "azurerm_kubernetes_cluster", path: "default_node_pool.zones", replaces: false, source: AKS_DEFAULT_POOL },
  { type: "azurerm_kubernetes_cluster", path: "default_node_pool.min_count", replaces: false, source: AKS_DEFAULT_POOL },
  { type: "azurerm_kubernetes_cluster", path: "default_node_pool.max_count", replaces: false, source: AKS_DEFAULT_POOL },
  { type: "azurerm_kubernetes_cluster_node_pool", path: "orchestrator_version", replaces: false, source: AKS_POOL },
  { type: "azurerm_kubernetes_cluster_node_pool", path: "vm_size", replaces: false, source: AKS_POOL },
  { type: "azurerm_kubernetes_cluster_node_pool", path: "zones", replaces: false, source: AKS_POOL },
  { type: "azurerm_kubernetes_cluster_node_pool", path: "min_count", replaces: false, source: AKS_POOL },
  { type: "azurerm_kubernetes_cluster_node_pool", path: "max_count", replaces: false, source: AKS_POOL },
  { type: "azurerm_virtual_network", path: "address_space", replaces: false, source: `${AZURERM} internal/services/network/virtual_network_resource.go` },
  { type: "azurerm_subnet", path: "address_prefixes", replaces: false, source: `${AZURERM} internal/services/network/subnet_resource.go` },
  { type: "azurerm_*", path: "location", replaces: true, source: AZURE_LOCATION },
  { type: "azurerm_*", path: "tags", replaces: false, source: AZURE_TAGS },
  { type: "google_sql_database_instance", path: "database_version", replaces: false, source: `${GOOGLE} google/services/sql/resource_sql_database_instance.go (database_version: no ForceNew)` },
  { type: "google_sql_database_instance", path: "settings.user_labels", replaces: false, source: `${GOOGLE} google/services/sql/resource_sql_database_instance.go (settings.user_labels: no ForceNew)` },
  { type: "google_sql_database_instance", path: "region", replaces: true, source: `${GOOGLE} google/services/sql/resource_sql_database_instance.go (region: ForceNew)` },
  { type: "google_container_cluster", path: "min_master_version", replaces: false, source: GKE },
  { type: "google_container_cluster", path: "node_locations", replaces: false, source: GKE },
  { type: "google_container_cluster", path: "location", replaces: true, source: `${GKE} (location: ForceNew)` },
  { type: "google_container_cluster", path: "master_authorized_networks_config.cidr_blocks", replaces: false, source: GKE },
  { type: "google_container_cluster", path: "master_authorized_networks_config.gcp_public_cidrs_access_enabled", replaces: false, source: GKE },
  { type: "google_container_cluster", path: "private_cluster_config.enable_private_endpoint", replaces: false, source: `${GKE} (enable_private_endpoint: no ForceNew)` },
  { type: "google_container_cluster", path: "private_cluster_config.enable_private_nodes", replaces: true, source: `${GKE} (enable_private_nodes: ForceNew)` },
  { type: "google_container_node_pool", path: "node_config.machine_type", replaces: false, source: `${GOOGLE} google/services/container/node_config.go (machine_type, updated in resource_container_node_pool.go)` },
  { type: "google_container_node_pool", path: "autoscaling.total_min_node_count", replaces: false, source: GKE_POOL },
  { type: "google_container_node_pool", path: "autoscaling.total_max_node_count", replaces: false, source: GKE_POOL },
  { type: "google_container_node_pool", path: "initial_node_count", replaces: true, source: `${GKE_POOL} (initial_node_count: ForceNew; the stack ignores its changes)` },
  { type: "google_compute_subnetwork", path: "ip_cidr_range", replaces: (b, a) => !isExpansion(b, a), source: `${GOOGLE} google/services/compute/resource_compute_subnetwork.go (ForceNewIfChange ip_cidr_range, IsShrinkageIpCidr)` },
  { type: "google_compute_global_address", path: "address", replaces: true, source: `${GOOGLE} google/services/compute/resource_compute_global_address.go (address: ForceNew)` },
  { type: "google_storage_bucket", path: "location", replaces: true, source: `${GOOGLE} google/services/storage/resource_storage_bucket.go (location: ForceNew)` },
];

type Verdict = "replace" | "in place" | "unverified";

function ruleFor(type: string, path: string): Rule | undefined {
  return RULES.find((rule) => rule.path === path && (rule.type === type || (rule.type.endsWith("*") && type.startsWith(rule.type.slice(0, -1)))));
}

function verdictOf(type: string, path: string, before: unknown, after: unknown): Verdict {
  const rule = ruleFor(type, path);
  if (!rule) return "unverified";
  const replaces = typeof rule.replaces === "function" ? rule.replaces(before, after) : rule.replaces;
  return replaces ? "replace" : "in place";
}

type Json = Record<string, unknown>;
const single = (value: unknown): Json | undefined => (Array.isArray(value) && value.length === 1 && typeof value[0] === "object" ? (value[0] as Json) : value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined);

/** Changed arguments, one level into blocks, without cdktn metadata and without what `ignore_changes` lists. */
function changedPaths(before: Json, after: Json): { path: string; before: unknown; after: unknown }[] {
  const ignoreChanges = (after.lifecycle as { ignore_changes?: string[] | "all" } | undefined)?.ignore_changes ?? [];
  // `ignore_changes = all`: Terraform never updates the resource after creating it.
  if (ignoreChanges === "all") return [];
  const ignored = new Set(ignoreChanges.map((p) => p.replace(/\[\d+\]/g, "")));
  const out: { path: string; before: unknown; after: unknown }[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (["//", "lifecycle", "depends_on"].includes(key) || ignored.has(key) || JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    const b = single(before[key]);
    const a = single(after[key]);
    if (b && a && key !== "tags" && key !== "labels") {
      for (const sub of new Set([...Object.keys(b), ...Object.keys(a)])) {
        if (JSON.stringify(b[sub]) !== JSON.stringify(a[sub]) && !ignored.has(`${key}.${sub}`)) out.push({ path: `${key}.${sub}`, before: b[sub], after: a[sub] });
      }
    } else out.push({ path: key, before: before[key], after: after[key] });
  }
  return out;
}

interface JsonOutcome {
  readonly created: string[];
  readonly destroyed: string[];
  /** address -> verdict per changed argument */
  readonly changed: Record<string, Record<string, Verdict>>;
  readonly providerChanged: boolean;
  /** The spec check's message when the after spec is refused before anything is synthesized. */
  readonly refused?: string;
}

function jsonOutcome(before: SynthesizedStack, after: SynthesizedStack): JsonOutcome {
  const outcome: JsonOutcome = { created: [], destroyed: [], changed: {}, providerChanged: JSON.stringify(before.json.provider) !== JSON.stringify(after.json.provider) };
  const types = new Set([...Object.keys(before.json.resource ?? {}), ...Object.keys(after.json.resource ?? {})]);
  for (const type of types) {
    const b = before.resources(type);
    const a = after.resources(type);
    for (const name of new Set([...Object.keys(b), ...Object.keys(a)])) {
      const address = `${type}.${name}`;
      if (!b[name]) outcome.created.push(address);
      else if (!a[name]) outcome.destroyed.push(address);
      else {
        const paths = changedPaths(b[name], a[name]);
        if (paths.length > 0) outcome.changed[address] = Object.fromEntries(paths.map((p) => [p.path, verdictOf(type, p.path, p.before, p.after)]));
      }
    }
  }
  return outcome;
}

const replaced = (o: JsonOutcome) =>
  Object.entries(o.changed)
    .filter(([, verdicts]) => Object.values(verdicts).includes("replace"))
    .map(([address]) => address)
    .sort();
const unverified = (o: JsonOutcome) => Object.entries(o.changed).flatMap(([address, verdicts]) => Object.entries(verdicts).filter(([, v]) => v === "unverified").map(([path]) => `${address}: ${path}`));
const verdictsOfType = (o: JsonOutcome, type: string) => Object.entries(o.changed).filter(([address]) => address.startsWith(`${type}.`)).flatMap(([, verdicts]) => Object.entries(verdicts));

/** What each cloud's provider does per change, asserted on the verified rules only. */
const cloudChecks: Record<Exclude<Cloud, "aws">, Record<string, (o: JsonOutcome) => void>> = {
  azure: {
    postgres: (o) => expect(verdictsOfType(o, "azurerm_postgresql_flexible_server")).toContainEqual(["version", "in place"]),
    // The spec's version is the creation version: AKS's upgrade channel owns it afterwards (ignore_changes).
    kubernetes: (o) => expect(o.changed).toEqual({}),
    // AKS cannot switch a private cluster to a public one (private_cluster_enabled replaces it), so the
    // mode is named in the spec: ranges on a private cluster, or a public one without ranges, are refused.
    "public-cidr-add": (o) => expect(o.refused).toContain("REPLACES the AKS cluster"),
    "public-cidr-remove": (o) => expect(o.refused).toContain("cluster.azure.privateCluster"),
    "pool-size": (o) => {
      expect(replaced(o)).toEqual([]);
      expect(Object.values(o.changed).flatMap((v) => Object.entries(v))).toEqual(expect.arrayContaining([[expect.stringMatching(/vm_size$/), "in place"]]));
    },
    "pool-min-max": (o) => expect(replaced(o)).toEqual([]),
    zones: (o) => expect(replaced(o)).toEqual([]),
    "replica-add": (o) => expect(Object.keys(o.changed)).toEqual([]),
    tags: (o) => expect(replaced(o)).toEqual([]),
    owner: (o) => expect(replaced(o)).toEqual([]),
    region: (o) => expect(replaced(o).length).toBeGreaterThan(0),
    cidr: (o) => expect(replaced(o)).toEqual([]),
  },
  gcp: {
    postgres: (o) => expect(verdictsOfType(o, "google_sql_database_instance")).toContainEqual(["database_version", "in place"]),
    kubernetes: (o) => expect(verdictsOfType(o, "google_container_cluster")).toEqual([["min_master_version", "in place"]]),
    "public-cidr-add": (o) => {
      expect(replaced(o)).toEqual([]);
      expect(verdictsOfType(o, "google_container_cluster").map(([path]) => path)).not.toContain("private_cluster_config.enable_private_nodes");
    },
    "public-cidr-remove": (o) => expect(replaced(o)).toEqual([]),
    "pool-size": (o) => expect(verdictsOfType(o, "google_container_node_pool")).toEqual([["node_config.machine_type", "in place"]]),
    "pool-min-max": (o) => expect(replaced(o)).toEqual([]),
    zones: (o) => expect(replaced(o)).toEqual([]),
    "replica-add": (o) => expect(Object.keys(o.changed)).toEqual([]),
    tags: (o) => expect(o.providerChanged).toBe(true),
    owner: (o) => expect(o.providerChanged).toBe(true),
    region: (o) => expect(replaced(o).length).toBeGreaterThan(0),
    // The nodes' subnetwork moves to another range: not an expansion, so it is replaced.
    cidr: (o) => expect(verdictsOfType(o, "google_compute_subnetwork")).toContainEqual(["ip_cidr_range", "replace"]),
  },
};

describe("the verified replace rules reject what the providers replace", () => {
  it("a PostgreSQL Flexible Server downgrade is a replacement, an upgrade is not", () => {
    expect(verdictOf("azurerm_postgresql_flexible_server", "version", "17", "16")).toBe("replace");
    expect(verdictOf("azurerm_postgresql_flexible_server", "version", "16", "17")).toBe("in place");
  });
  it("a subnetwork range that does not contain the old one is a replacement, an expansion is not", () => {
    expect(verdictOf("google_compute_subnetwork", "ip_cidr_range", "10.20.0.0/20", "172.16.0.0/20")).toBe("replace");
    expect(verdictOf("google_compute_subnetwork", "ip_cidr_range", "10.20.0.0/19", "10.20.0.0/20")).toBe("replace");
    expect(verdictOf("google_compute_subnetwork", "ip_cidr_range", "10.20.16.0/20", "10.20.0.0/19")).toBe("in place");
  });
  it("an Azure location change is a replacement for every azurerm type; an argument no rule covers is unverified", () => {
    expect(verdictOf("azurerm_storage_account", "location", "westeurope", "northeurope")).toBe("replace");
    expect(verdictOf("azurerm_kubernetes_cluster", "private_cluster_enabled", true, false)).toBe("replace");
    expect(verdictOf("azurerm_key_vault", "network_acls.default_action", "Deny", "Allow")).toBe("unverified");
  });
  it("cites a pinned provider version for every rule", () => {
    for (const rule of RULES) expect(rule.source).toMatch(/^terraform-provider-(azurerm v4\.55\.0|google v6\.50\.0) /);
  });
});

for (const cloud of ["azure", "gcp"] as const) {
  const base = environments.find((env) => env.cloud === cloud);
  const scenarios = base ? neutralChanges(base).filter((s) => s.key in cloudChecks[cloud]) : [];

  describe.skipIf(scenarios.length === 0)(`routine changes on ${cloud}: the JSON changes, classified with the provider's rules`, () => {
    const outcomes = new Map<string, JsonOutcome>();

    beforeAll(() => {
      for (const s of scenarios) {
        const before = synthInfra(s.before);
        try {
          outcomes.set(s.key, jsonOutcome(before, synthInfra(s.after)));
        } catch (error) {
          if (!(error instanceof SpecError)) throw error;
          outcomes.set(s.key, { created: [], destroyed: [], changed: {}, providerChanged: false, refused: error.message });
        }
      }
    }, 600_000);

    afterAll(() => {
      for (const s of scenarios) {
        const o = outcomes.get(s.key);
        if (!o) continue;
        console.log(`${cloud} ${base?.name}: ${s.name}: created ${o.created.length}, destroyed ${o.destroyed.length}, replaced [${replaced(o).join(", ")}], unverified [${unverified(o).join("; ")}]${o.providerChanged ? ", provider block changed" : ""}`);
      }
    });

    it.each(scenarios.map((s) => [`${base?.name}: ${s.name}`, s.key] as const))("%s", (_title, key) => {
      const outcome = outcomes.get(key);
      expect(outcome).toBeDefined();
      if (!outcome) return;
      cloudChecks[cloud][key](outcome);
    });
  });
}
