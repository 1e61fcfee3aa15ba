/**
 * What a pull request does to each stack, and whether it may: resources created, updated in
 * place, destroyed, replaced, or of unknown effect. A destroy or replacement of a resource that
 * holds data (scripts/stateful.ts) is refused unless the PR has the `allow-stateful-replacement`
 * label.
 *
 * Per stack, the answer is the provider's when a plan is given (`--plans <dir>` with
 * `<stack>.json` from `terraform show -json`, e.g. Terraform Cloud's speculative plan fetched by
 * scripts/tfc-plan.ts). Otherwise it is computed offline from the synthesized JSON of the base and
 * the head:
 * - provider blocks: a change of where the provider points (AWS region or account, Azure
 *   subscription or tenant, Google project or region, the Kubernetes cluster, the Terraform Cloud
 *   organization) replaces every resource of that provider: the old ones are abandoned and new,
 *   empty ones created; a default tags/labels change updates every taggable resource in place;
 * - resources: a change of an attribute the provider's table (scripts/replace-rules.ts) lists as
 *   replace-forcing replaces the resource, also when the attribute only refers to a resource that
 *   is replaced (its id is new); other changes update in place; a type or provider version without
 *   a table is "unknown" (it may be replaced);
 * - addresses: a resource whose address changed is destroyed and created unless a `moved` block
 *   says otherwise; the summary says whether a moved block would help.
 *
 *   tsx scripts/stack-diff.ts <base synthesized dir> <head synthesized dir>
 *       [--plans <dir>] [--rules <dir>] [--allow-stateful]
 *
 * Updates of an AKS cluster are also checked (`clusterChangeChecks`): VNet Integration and KMS
 * turned on together is refused; a KMS key change gets the operator's steps. A Cloud NAT's address
 * change (`natChangeChecks`), and a replaced or destroyed piece of a site-to-site VPN, cluster or
 * public zone (`CAUTIONS`) get theirs too.
 *
 * Prints a Markdown summary (the pull request's job summary); exits 1 on a refused stateful change
 * or a refused cluster update.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { changesFromPlan, type Action, type Basis, type Change, type PlanJson } from "./plan-json";
import { loadRules, providerType, ruleKey, RULES_DIR, type ResourceRules, type RuleTables } from "./replace-rules";
import { droppedVolumes, helmValues, resourceTypeOf, statefulResources } from "./stateful";

export type { Action, Basis, Change } from "./plan-json";

type Json = Record<string, unknown>;
export type Resources = ReadonlyMap<string, Json>;

export interface StackConfig {
  readonly required: Readonly<Record<string, { readonly source: string; readonly version: string }>>;
  /** Provider blocks by `<local name>` or `<local name>.<alias>`. */
  readonly providers: ReadonlyMap<string, Json>;
  readonly resources: Resources;
  /** Data sources by `data.<type>.<name>`. */
  readonly data: Resources;
  readonly moved: readonly { readonly from: string; readonly to: string }[];
  /**
   * Every other block Terraform reads, by name (`output.<name>`, `ephemeral.<type>.<name>`,
   * `terraform.required_version`, `terraform.cloud`, `variable.<name>`, ...): the gate reports any
   * change to one, so nothing Terraform would do differently passes unseen.
   */
  readonly other: ReadonlyMap<string, unknown>;
  /** The framework's version stamp (`"//".metadata.version`), which Terraform ignores. */
  readonly stamp?: string;
}

export interface StackDiff {
  readonly stack: string;
  /** `plan`: the provider's answer; `config`: computed offline from the synthesized JSON. */
  readonly source: "plan" | "config";
  readonly changes: readonly Change[];
  readonly notes: readonly string[];
  /** `<base> → <head>` when the framework's stamp changed (a framework upgrade; Terraform ignores it). */
  readonly stamp?: string;
  readonly added: string[];
  readonly changed: string[];
  readonly destroyed: string[];
  /** `address (replaced (<basis>): why)` */
  readonly replaced: string[];
  /** `address (unknown: why)`: may be replaced. */
  readonly unknown: string[];
  /** Destroyed, replaced or possibly replaced resources that hold data: `address <what happens>: <what is lost>`. */
  readonly stateful: string[];
  /** Updates the gate refuses whatever the labels (`UPDATE_CHECKS`): `address: why and what to do instead`. */
  readonly refused: string[];
  /** What the operator must do around this apply (`UPDATE_CHECKS`, `CAUTIONS`): `address: what`. */
  readonly cautions: string[];
}

const META = new Set(["//", "depends_on", "lifecycle", "provider", "count", "for_each", "provisioner", "connection"]);

/**
 * Meta-arguments that destroy or replace without any attribute changing: `count` and `for_each`
 * decide which instances exist (a smaller count or set destroys the rest), and
 * `lifecycle.replace_triggered_by` replaces when what it names changes.
 */
function metaArgumentChange(before: Json, after: Json): string | undefined {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  for (const key of ["count", "for_each"]) {
    if (!same(before[key], after[key])) return `${key} changed (${JSON.stringify(before[key] ?? null)} → ${JSON.stringify(after[key] ?? null)}): instances may be destroyed`;
  }
  const trigger = (config: Json) => (isObject(config.lifecycle) ? config.lifecycle.replace_triggered_by : undefined);
  if (!same(trigger(before), trigger(after))) return "lifecycle.replace_triggered_by changed: it may replace the resource";
  return undefined;
}

function withoutMeta(config: Json): Json {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !META.has(key)));
}

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** A synthesized stack (cdk.tf.json text) as the parts the diff compares. */
export function parseStack(stackJson: string): StackConfig {
  const parsed = JSON.parse(stackJson) as {
    terraform?: { required_providers?: Record<string, { source: string; version: string }> };
    provider?: Record<string, Json[] | Json>;
    resource?: Record<string, Record<string, Json>>;
    data?: Record<string, Record<string, Json>>;
    moved?: { from: string; to: string }[];
  };
  const providers = new Map<string, Json>();
  for (const [name, blocks] of Object.entries(parsed.provider ?? {})) {
    for (const block of Array.isArray(blocks) ? blocks : [blocks]) {
      providers.set(typeof block.alias === "string" ? `${name}.${block.alias}` : name, block);
    }
  }
  const flatten = (blocks: Record<string, Record<string, Json>> | undefined, prefix: string) => {
    const out = new Map<string, Json>();
    for (const [type, byName] of Object.entries(blocks ?? {})) for (const [name, config] of Object.entries(byName)) out.set(`${prefix}${type}.${name}`, config);
    return out;
  };
  return {
    required: parsed.terraform?.required_providers ?? {},
    providers,
    resources: flatten(parsed.resource, ""),
    data: flatten(parsed.data, "data."),
    moved: parsed.moved ?? [],
    other: otherBlocks(parsed as Json),
    stamp: valueAt(parsed, "//.metadata.version") as string | undefined,
  };
}

/** The blocks `parseStack` does not take apart, by name; `"//"` is a comment Terraform ignores. */
function otherBlocks(parsed: Json): Map<string, unknown> {
  const analysed = new Set(["//", "resource", "data", "provider", "moved"]);
  const blocks = new Map<string, unknown>();
  for (const [key, value] of Object.entries(parsed)) {
    if (analysed.has(key)) continue;
    if (!isObject(value)) blocks.set(key, value);
    else if (key === "ephemeral") for (const [type, byName] of Object.entries(value)) for (const [name, config] of Object.entries(isObject(byName) ? byName : {})) blocks.set(`ephemeral.${type}.${name}`, config);
    else for (const [name, config] of Object.entries(value)) if (!(key === "terraform" && name === "required_providers")) blocks.set(`${key}.${name}`, config);
  }
  return blocks;
}

/** Notes on the other blocks that differ: added, removed or changed, with the values. */
function otherBlockNotes(base: StackConfig, head: StackConfig): string[] {
  const names = [...new Set([...base.other.keys(), ...head.other.keys()])].sort();
  return names.flatMap((name) => {
    const before = base.other.get(name);
    const after = head.other.get(name);
    if (JSON.stringify(before) === JSON.stringify(after)) return [];
    if (name === "import") return importNotes(before, after);
    const what = before === undefined ? "added" : after === undefined ? "removed" : `changed (${short(before)} → ${short(after)})`;
    return [`\`${name}\` ${what}`];
  });
}

/**
 * What the `import` blocks added or removed do: Terraform takes an existing object over at the
 * next apply (and fails the plan where it does not exist), and skips the import once the object
 * is in its state (terraform v1.11.4 internal/terraform/node_resource_plan.go, expandResourceImports),
 * so a removed block changes nothing.
 */
function importNotes(before: unknown, after: unknown): string[] {
  const entries = (side: unknown) => new Map((Array.isArray(side) ? side : []).filter(isObject).map((entry) => [`${String(entry.to)} ← ${String(entry.id)}`, entry]));
  const [base, head] = [entries(before), entries(after)];
  return [
    ...[...head.keys()].filter((key) => !base.has(key)).map((key) => `\`import\` ${key}: Terraform takes that existing object over, unless it is in the state already (the plan fails if the object does not exist yet)`),
    ...[...base.keys()].filter((key) => !head.has(key)).map((key) => `\`import\` ${key} removed: changes nothing once the object is in the state`),
  ];
}

/** Resources of a synthesized stack by Terraform address, without cdktn's metadata. */
export function resourcesOf(stackJson: string): Map<string, unknown> {
  return new Map([...parseStack(stackJson).resources].map(([address, config]) => [address, withoutMeta(config)]));
}

const EMPTY: StackConfig = { required: {}, providers: new Map(), resources: new Map(), data: new Map(), moved: [], other: new Map() };

// ---------------------------------------------------------------------------------------------
// Provider blocks

/**
 * Where each provider points: a change replaces every resource of that provider (the old objects
 * stay where they were, unmanaged; new, empty ones are created where the provider now points).
 * Argument names of the pinned providers' configuration (aws 5.100.0, azurerm 4.55.0, google
 * 6.50.0, kubernetes 2.38.0, helm 3.1.1 with its `kubernetes` object, tfe 0.71.0).
 */
export const PROVIDER_IDENTITY: Readonly<Record<string, readonly string[]>> = {
  aws: ["region", "allowed_account_ids", "forbidden_account_ids", "assume_role", "assume_role_with_web_identity", "profile", "endpoints"],
  azurerm: ["subscription_id", "tenant_id", "environment", "metadata_host"],
  azuread: ["tenant_id", "environment"],
  google: ["project", "region", "zone", "universe_domain"],
  "google-beta": ["project", "region", "zone", "universe_domain"],
  kubernetes: ["host", "config_path", "config_paths", "config_context", "config_context_cluster", "cluster_ca_certificate"],
  helm: ["kubernetes.host", "kubernetes.config_path", "kubernetes.config_paths", "kubernetes.config_context", "kubernetes.config_context_cluster", "kubernetes.cluster_ca_certificate"],
  tfe: ["organization", "hostname"],
  random: [],
  time: [],
  tls: [],
  null: [],
};

/** Provider arguments that add tags or labels to every resource that takes them. */
export const PROVIDER_TAGS: Readonly<Record<string, readonly string[]>> = {
  aws: ["default_tags", "ignore_tags"],
  google: ["default_labels", "add_terraform_attribution_label"],
  "google-beta": ["default_labels", "add_terraform_attribution_label"],
};

/**
 * AWS resource types with `tags_all` (so `default_tags` reaches them) and without, in
 * hashicorp/aws 5.100.0's schema (`terraform providers schema -json`; the test re-reads it).
 */
export const AWS_TAGGABLE: ReadonlySet<string> = new Set([
  "aws_cloudtrail", "aws_cloudwatch_log_group", "aws_db_instance", "aws_db_parameter_group", "aws_db_subnet_group", "aws_default_security_group", "aws_ecs_cluster", "aws_ecs_service",
  "aws_ecs_task_definition", "aws_eip", "aws_eks_access_entry",
  "aws_eks_addon", "aws_eks_cluster", "aws_eks_node_group", "aws_flow_log", "aws_iam_openid_connect_provider", "aws_iam_policy", "aws_iam_role", "aws_internet_gateway", "aws_kms_key",
  "aws_launch_template", "aws_nat_gateway", "aws_route53_zone", "aws_route_table", "aws_s3_bucket", "aws_secretsmanager_secret", "aws_security_group", "aws_subnet",
  "aws_vpc", "aws_vpc_endpoint", "aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule",
]);
export const AWS_UNTAGGABLE: ReadonlySet<string> = new Set([
  "aws_eks_access_policy_association", "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_kms_alias", "aws_route", "aws_route_table_association",
  "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy", "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
]);

// ---------------------------------------------------------------------------------------------
// Values and references

/** The value at a dotted path; a list (a nested block) is looked into element-wise. */
export function valueAt(config: unknown, path: string): unknown {
  let nodes: unknown[] = [config];
  for (const key of path.split(".")) {
    nodes = nodes.flatMap((node) => {
      if (Array.isArray(node)) return /^\d+$/.test(key) ? [node[Number(key)]] : node.map((item) => (isObject(item) ? item[key] : undefined));
      if (isObject(node)) return /^\d+$/.test(key) && !(key in node) ? [node] : [node[key]];
      return [undefined];
    });
  }
  const defined = nodes.filter((node) => node !== undefined);
  return defined.length === 0 ? undefined : defined.length === 1 ? defined[0] : defined;
}

interface Reference {
  /** `aws_vpc.main` or `data.aws_eks_cluster.this` */
  readonly address: string;
  /** First attribute after the address (`id`, `metadata`), if any. */
  readonly attribute?: string;
  /** The whole attribute path after the address, dotted (`metadata.0.name`), if any. */
  readonly path?: string;
}

const REFERENCE = /\b((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)((?:\[[^\]]*\])?)(?:\.([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*))?/g;

function references(value: unknown, known: (address: string) => boolean): Reference[] {
  if (typeof value === "string") {
    if (!value.includes("${")) return [];
    return [...value.matchAll(REFERENCE)]
      .filter((m) => known(m[1] ?? ""))
      .map((m) => ({ address: m[1] ?? "", attribute: m[3], path: m[3] === undefined ? undefined : `${m[3]}${(m[4] ?? "").replace(/\[(\d+)\]/g, ".$1")}` }));
  }
  if (Array.isArray(value)) return value.flatMap((item) => references(item, known));
  if (isObject(value)) return Object.values(value).flatMap((item) => references(item, known));
  return [];
}

type Delta = { readonly kind: "same" } | { readonly kind: "changed" | "maybe"; readonly why: string };
const SAME: Delta = { kind: "same" };

const short = (value: unknown) => {
  const text = value === undefined ? "(unset)" : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

interface Status {
  readonly action: "none" | Action;
  readonly basis: Basis;
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------------
// The offline analysis of one stack

class Analysis {
  private readonly statuses = new Map<string, Status | "pending">();
  private readonly providerChanges = new Map<string, { identity?: string; identityUnknown?: string; tags?: string; other?: string }>();

  constructor(
    readonly base: StackConfig,
    readonly head: StackConfig,
    readonly rules: RuleTables,
  ) {}

  private known = (address: string) => this.head.resources.has(address) || this.head.data.has(address);

  /** `aws` or `aws.alias` for a resource or data source config. */
  providerKey(address: string, config: Json): string {
    if (typeof config.provider === "string") return config.provider.replace(/^\$\{(.*)\}$/, "$1");
    return resourceTypeOf(address).split("_")[0] ?? "";
  }

  providerType(key: string, side: StackConfig = this.head): string {
    const local = key.split(".")[0] ?? key;
    const required = side.required[local];
    return required ? providerType(required.source) : local;
  }

  /** How a value changed from base to head, following references to resources and data sources. */
  delta(before: unknown, after: unknown): Delta {
    if (JSON.stringify(before) !== JSON.stringify(after)) return { kind: "changed", why: `${short(before)} → ${short(after)}` };
    let maybe: Delta | undefined;
    for (const reference of references(after, this.known)) {
      const d = this.referenceDelta(reference);
      if (d.kind === "changed") return d;
      if (d.kind === "maybe") maybe ??= d;
    }
    return maybe ?? SAME;
  }

  private referenceDelta({ address, attribute, path }: Reference): Delta {
    if (address.startsWith("data.")) {
      const before = this.base.data.get(address);
      const after = this.head.data.get(address) ?? {};
      if (before === undefined) return { kind: "changed", why: `refers to the new ${address}` };
      const provider = this.providerChange(this.providerKey(address, after));
      if (provider.identity) return { kind: "changed", why: `refers to ${address}, read through a provider that now points elsewhere (${provider.identity})` };
      const d = this.delta(withoutMeta(before), withoutMeta(after));
      return d.kind === "same" ? SAME : { kind: d.kind, why: `refers to ${address}, whose arguments changed (${d.why})` };
    }
    const status = this.status(address);
    const after = this.head.resources.get(address) ?? {};
    const before = this.base.resources.get(address) ?? {};
    const inConfig = attribute !== undefined && attribute in after;
    if (status.action === "none" || status.action === "create") return SAME;
    // Only the referenced value counts: a namespace's `metadata[0].name` stays when its labels change.
    if (inConfig) return this.delta(valueAt(before, path ?? attribute), valueAt(after, path ?? attribute));
    if (status.action === "replace") return { kind: "changed", why: `refers to ${address}${attribute ? `.${attribute}` : ""}, new once ${address} is replaced` };
    if (status.action === "unknown") return { kind: "maybe", why: `refers to ${address}, which may be replaced` };
    // An in-place update keeps computed attributes (ids, ARNs).
    return SAME;
  }

  /** What changed in a provider block between base and head. */
  providerChange(key: string): { identity?: string; identityUnknown?: string; tags?: string; other?: string } {
    const cached = this.providerChanges.get(key);
    if (cached) return cached;
    this.providerChanges.set(key, {});
    const before = this.base.providers.get(key) ?? {};
    const after = this.head.providers.get(key) ?? {};
    const type = this.providerType(key);
    const identityPaths = PROVIDER_IDENTITY[type];
    const tagPaths = PROVIDER_TAGS[type] ?? [];
    const result: { identity?: string; identityUnknown?: string; tags?: string; other?: string } = {};
    // `<key> <path>[, <path>]: <why>`, paths with the same cause together.
    const describe = (paths: readonly string[]) => {
      const byWhy = new Map<string, string[]>();
      for (const path of paths) {
        const d = this.delta(valueAt(before, path), valueAt(after, path));
        if (d.kind !== "same") byWhy.set(d.why, [...(byWhy.get(d.why) ?? []), path]);
      }
      return [...byWhy].map(([why, grouped]) => `${key} ${grouped.join(", ")}: ${why}`);
    };
    if (identityPaths === undefined) {
      const d = this.delta(before, after);
      if (d.kind !== "same") result.identityUnknown = `provider ${key} (${type}) changed and its effect is not known: ${d.why}`;
    } else {
      const identity = describe(identityPaths);
      if (identity.length > 0) result.identity = identity.join("; ");
      const tags = describe(tagPaths);
      if (tags.length > 0) result.tags = tags.join("; ");
      const rest = Object.keys({ ...before, ...after }).filter((k) => !identityPaths.some((p) => p.split(".")[0] === k) && !tagPaths.includes(k));
      const other = describe(rest);
      if (other.length > 0) result.other = other.join("; ");
    }
    const baseVersion = this.base.required[key.split(".")[0] ?? key]?.version;
    const headVersion = this.head.required[key.split(".")[0] ?? key]?.version;
    if (baseVersion && headVersion && baseVersion !== headVersion) result.other = [result.other, `${key} version ${baseVersion} → ${headVersion} (judged with ${headVersion}'s table)`].filter(Boolean).join("; ");
    this.providerChanges.set(key, result);
    return result;
  }

  rulesFor(address: string, config: Json): { rules?: ResourceRules; missing?: string } {
    const key = this.providerKey(address, config);
    const local = key.split(".")[0] ?? key;
    const required = this.head.required[local];
    const type = resourceTypeOf(address);
    if (!required) return { missing: `no required_providers entry for ${local}` };
    const table = this.rules.get(ruleKey(providerType(required.source), required.version));
    if (!table) return { missing: `no table for ${providerType(required.source)} ${required.version}` };
    const rules = table.replaceForcing[type];
    return rules ? { rules } : { missing: `the ${providerType(required.source)} ${required.version} table has no ${type}` };
  }

  /** What happens to a resource that exists in base (at `from`) and head (at `address`). */
  status(address: string, from: string = address): Status {
    const cached = this.statuses.get(address);
    if (cached === "pending") return { action: "none", basis: "table", reason: "" };
    if (cached) return cached;
    this.statuses.set(address, "pending");
    const result = this.computeStatus(address, from);
    this.statuses.set(address, result);
    return result;
  }

  /**
   * The Optional and Computed arguments (`ResourceRules.keptWhenRemoved`) the base sets and the
   * head leaves out, outermost first: the provider keeps their value, so the change the pull
   * request seems to make is not made.
   */
  keptWhenRemoved(address: string, from: string): string[] {
    const before = withoutMeta(this.base.resources.get(from) ?? {});
    const after = withoutMeta(this.head.resources.get(address) ?? {});
    const empty = (value: unknown) => value === undefined || value === null || (Array.isArray(value) && value.length === 0);
    // A block that is only Optional takes what is in it along when it goes (a bucket's lifecycle rule and its condition).
    const enclosingKept = (path: string) => !path.includes(".") || valueAt(after, path.slice(0, path.lastIndexOf("."))) !== undefined;
    const left = (this.rulesFor(address, this.head.resources.get(address) ?? {}).rules?.keptWhenRemoved ?? []).filter(
      (path) => valueAt(after, path) === undefined && !empty(valueAt(before, path)) && enclosingKept(path),
    );
    return left.filter((path) => !left.some((outer) => path.startsWith(`${outer}.`)));
  }

  private computeStatus(address: string, from: string): Status {
    if (!this.base.resources.has(from)) return { action: "create", basis: "table", reason: "" };
    const afterFull = this.head.resources.get(address) ?? {};
    const beforeFull = this.base.resources.get(from) ?? {};
    const key = this.providerKey(address, afterFull);
    const provider = this.providerChange(key);
    if (provider.identity) return { action: "replace", basis: "provider-config", reason: provider.identity };
    if (provider.identityUnknown) return { action: "unknown", basis: "provider-config", reason: provider.identityUnknown };
    const meta = metaArgumentChange(beforeFull, afterFull);
    if (meta) return { action: "unknown", basis: "table", reason: meta };
    const before = withoutMeta(beforeFull);
    const after = withoutMeta(afterFull);
    const { rules, missing } = this.rulesFor(address, afterFull);
    const whole = this.delta(before, after);
    if (rules === undefined) {
      if (whole.kind !== "same") return { action: "unknown", basis: "table", reason: `replace-forcing attributes unknown (${missing}); changed: ${this.changedKeys(before, after).join(", ")}` };
    } else {
      const forcing = rules.attributes.map((path) => [path, this.delta(valueAt(before, path), valueAt(after, path))] as const);
      const replaced = forcing.filter(([, d]) => d.kind === "changed");
      if (replaced.length > 0) return { action: "replace", basis: "table", reason: replaced.map(([path, d]) => `${path} ${d.kind === "same" ? "" : d.why}`).join("; ") };
      const unset = (value: unknown) => value === undefined || value === null || value === "";
      const conditional = (rules.conditional ?? [])
        .filter((c) => !(c.onlyFromSet === true && unset(valueAt(before, c.path))))
        .map((c) => [c, this.delta(valueAt(before, c.path), valueAt(after, c.path))] as const)
        .filter(([, d]) => d.kind !== "same");
      const maybe = forcing.filter(([, d]) => d.kind === "maybe");
      if (conditional.length + maybe.length > 0) {
        return {
          action: "unknown",
          basis: "table",
          reason: [...conditional.map(([c]) => `${c.path} changed, which replaces it ${typeof c.when === "string" ? c.when : `when ${JSON.stringify(c.when)}`}`), ...maybe.map(([path, d]) => `${path} ${d.kind === "same" ? "" : d.why}`)].join("; "),
        };
      }
      if (whole.kind !== "same") return { action: "update", basis: "table", reason: `in place: ${this.changedKeys(before, after).join(", ")}` };
    }
    if (provider.tags) {
      const providerKind = this.providerType(key);
      const type = resourceTypeOf(address);
      if (providerKind === "aws" && AWS_UNTAGGABLE.has(type)) return { action: "none", basis: "provider-config", reason: "" };
      const known = providerKind !== "aws" || AWS_TAGGABLE.has(type) ? "" : " (if the type takes tags)";
      return { action: "update", basis: "provider-config", reason: `in place${known}: ${provider.tags}` };
    }
    return { action: "none", basis: "table", reason: "" };
  }

  private changedKeys(before: Json, after: Json): string[] {
    return Object.keys({ ...before, ...after })
      .filter((key) => this.delta(before[key], after[key]).kind !== "same")
      .sort();
  }

  /** Advice for a resource whose address disappeared while others of its type appeared. */
  moveAdvice(removed: string, added: readonly string[]): string | undefined {
    const type = resourceTypeOf(removed);
    const candidates = added.filter((address) => resourceTypeOf(address) === type);
    if (candidates.length === 0) return undefined;
    const before = withoutMeta(this.base.resources.get(removed) ?? {});
    const { rules, missing } = this.rulesFor(candidates[0] ?? removed, this.head.resources.get(candidates[0] ?? "") ?? {});
    if (rules === undefined) return `address changed (now ${candidates.join(" or ")}?); whether a moved block avoids the replacement is unknown: ${missing}`;
    const differs = (after: Json, path: string) => JSON.stringify(valueAt(before, path)) !== JSON.stringify(valueAt(after, path));
    const compared = candidates.map((candidate) => {
      const after = withoutMeta(this.head.resources.get(candidate) ?? {});
      // A conditional path that changed replaces or not by its rule (`when`): no moved block is promised to help.
      const differing = [...rules.attributes, ...(rules.conditional ?? []).map((rule) => rule.path)].filter((path) => differs(after, path));
      return { candidate, differing };
    });
    const movable = compared.find((c) => c.differing.length === 0);
    if (movable) return `address changed to ${movable.candidate}: add \`moved { from = ${removed}, to = ${movable.candidate} }\` (or keep the construct id): its replace-forcing attributes are equal, so it becomes an update in place`;
    const closest = compared.sort((a, b) => a.differing.length - b.differing.length)[0];
    if (!closest) return undefined;
    const values = closest.differing.map((path) => `${path} ${short(valueAt(before, path))} → ${short(valueAt(withoutMeta(this.head.resources.get(closest.candidate) ?? {}), path))}`);
    return `address changed (now ${closest.candidate}?) and so did ${values.join(", ")}: a moved block will not help, it would still be replaced (or may be, by the provider's rule for that change)`;
  }
}

function summarize(stack: string, source: StackDiff["source"], changes: Change[], notes: string[], flagged: UpdateFlags = { refused: [], cautions: [] }, stamp?: string): StackDiff {
  const sorted = [...changes].sort((a, b) => a.address.localeCompare(b.address));
  const of = (action: Action) => sorted.filter((c) => c.action === action);
  const verbs: Partial<Record<Action, string>> = { delete: "destroyed", replace: "replaced", unknown: "may be replaced" };
  return {
    stack,
    source,
    changes: sorted,
    notes,
    ...(stamp === undefined ? {} : { stamp }),
    added: of("create").map((c) => c.address),
    changed: of("update").map((c) => c.address),
    destroyed: of("delete").map((c) => c.address),
    replaced: of("replace").map((c) => `${c.address} (replaced (${c.basis})${c.reason ? `: ${c.reason}` : ""})`),
    unknown: of("unknown").map((c) => `${c.address} (unknown: ${c.reason})`),
    stateful: [
      ...sorted.filter((c) => c.stateful !== undefined && verbs[c.action] !== undefined).map((c) => `${c.address} ${verbs[c.action]}: loses ${c.stateful}`),
      ...sorted.filter((c) => c.drops !== undefined).map((c) => `${c.address} updated: stops rendering, and so deletes, ${c.drops}`),
    ],
    refused: flagged.refused,
    cautions: [
      ...flagged.cautions,
      ...sorted.flatMap((c) => {
        const caution = CAUTIONS[resourceTypeOf(c.address)];
        return caution !== undefined && (c.action === "replace" || c.action === "delete") ? [`${c.address} ${verbs[c.action]}: ${caution}`] : [];
      }),
    ],
  };
}

const UNINSTALL_FIRST = "uninstall its apps first (npx cdktn destroy <env>-apps, from a checkout of the pull request's base; with Terraform Cloud, a destroy run of <env>-apps before merging)";
/**
 * What a cluster's Kubernetes controllers made outside Terraform: EKS leaves the load balancers and
 * security groups of its Services and the EBS volumes of its claims (ours are `reclaimPolicy:
 * Retain` in production, stacks/apps.ts); AKS deletes its node resource group with the cluster,
 * the claims' disks and the load balancer in it; GKE leaves the persistent disks of Retain claims.
 */
const CLUSTER_LEFTOVERS: Readonly<Record<string, string>> = {
  aws_eks_cluster: `${UNINSTALL_FIRST}: the load balancers and security groups of its Services are not Terraform's and outlive the cluster, as do, in production (reclaimPolicy Retain), the EBS volumes of its claims: delete them once their data is copied or not needed`,
  azurerm_kubernetes_cluster: `${UNINSTALL_FIRST}: its node resource group goes with it, with the disks of its claims and its load balancer, so copy first what the volumes hold`,
  google_container_cluster: `${UNINSTALL_FIRST}, so the load balancers of its Services go with them: in production (reclaimPolicy Retain) the persistent disks of its claims outlive the cluster; delete them once their data is copied or not needed`,
};
const ZONE_RECORDS =
  "delete its records other than NS and SOA first (the zone is not force-destroyed, and external-dns leaves the records it wrote), and point the parent's delegation at the new zone's name servers (the output dns_name_servers)";

/**
 * What the operator must do around a replaced or destroyed resource that the gate does not
 * refuse for itself (or refuses with the label alone), so the pull request says it: what a piece
 * of a site-to-site VPN takes down and what to apply after it (README, "Databases on another
 * cloud, over a site-to-site VPN"); what outlives a cluster, and what a public zone needs before
 * it can go (README, "Moving from one cloud to another in stages", stage 2).
 */
const CAUTIONS: Readonly<Record<string, string>> = {
  aws_vpn_gateway: "every tunnel of the VPC goes down: the databases on AWS are unreachable from the cluster until a gateway and its VPN connections are back and the cluster's stack applied again with their tunnels",
  aws_vpn_connection:
    "its two tunnels go down; a connection made anew has new outside addresses and keys, which the cluster's stack must apply (npm run deploy does it next; with Terraform Cloud, the run trigger through gitops)",
  azurerm_virtual_network_gateway:
    "the VPN gateway goes down, and a new one takes 30 to 45 minutes to create: the databases on the other cloud are unreachable meanwhile; if its public addresses change, apply the other cloud's stack and then this one again",
  azurerm_virtual_network_gateway_connection: "this tunnel goes down until it is created again; with every tunnel gone, the databases on the other cloud are unreachable",
  google_compute_ha_vpn_gateway:
    "every tunnel of the HA VPN gateway goes down: the databases on the other cloud are unreachable; a gateway made anew gets new public addresses from Google, which the other cloud's stack applies (its customer gateways) before this one applies the new tunnels",
  google_compute_vpn_tunnel: "this tunnel and its BGP session go down; with every tunnel gone, the databases on the other cloud are unreachable",
  ...CLUSTER_LEFTOVERS,
  // force_destroy is off (constructs/aws/dns.ts, constructs/gcp/dns.ts), and external-dns removes no record when it is uninstalled or its cluster goes.
  aws_route53_zone: ZONE_RECORDS,
  google_dns_managed_zone: ZONE_RECORDS,
};

const asConfig = (side: StackConfig | ReadonlyMap<string, unknown>): StackConfig =>
  side instanceof Map ? { ...EMPTY, resources: new Map([...side].map(([address, config]) => [address, (isObject(config) ? config : {}) as Json])) } : (side as StackConfig);

/** The offline answer for one stack: its resources and provider blocks before and after. */
export function diffStack(stack: string, baseSide: StackConfig | ReadonlyMap<string, unknown>, headSide: StackConfig | ReadonlyMap<string, unknown>, rules: RuleTables = loadRules()): StackDiff {
  const base = asConfig(baseSide);
  const head = asConfig(headSide);
  const analysis = new Analysis(base, head, rules);
  const moves = new Map(head.moved.filter((m) => base.resources.has(m.from) && head.resources.has(m.to)).map((m) => [m.to, m.from]));
  const movedFrom = new Set(moves.values());
  const stateful = statefulResources(new Map([...base.resources].map(([address, config]) => [address, withoutMeta(config)])));
  const headStateful = statefulResources(new Map([...head.resources].map(([address, config]) => [address, withoutMeta(config)])));
  const added = [...head.resources.keys()].filter((address) => !base.resources.has(address) && !moves.has(address));
  const removed = [...base.resources.keys()].filter((address) => !head.resources.has(address) && !movedFrom.has(address));
  const changes: Change[] = [];
  const notes: string[] = [];
  for (const address of head.resources.keys()) {
    if (added.includes(address)) {
      changes.push({ address, action: "create", basis: "table", reason: "" });
      continue;
    }
    const from = moves.get(address) ?? address;
    if (from !== address) notes.push(`${from} moved to ${address} (moved block)`);
    const status = analysis.status(address, from);
    if (status.action === "none") continue;
    const dropped = status.action === "update" ? droppedVolumes(resourceTypeOf(address), withoutMeta(base.resources.get(from) ?? {}), withoutMeta(head.resources.get(address) ?? {})) : [];
    changes.push({
      address,
      action: status.action,
      basis: status.basis,
      reason: status.reason,
      stateful: stateful.get(from) ?? headStateful.get(address),
      ...(dropped.length > 0 ? { drops: dropped.join(", ") } : {}),
    });
  }
  for (const address of removed) {
    const advice = analysis.moveAdvice(address, added);
    changes.push({ address, action: "delete", basis: advice ? "address" : "table", reason: advice ?? "no longer in the configuration", stateful: stateful.get(address) });
  }
  // Provider settings that change nothing Terraform plans (credentials, features, skip flags).
  for (const key of [...head.providers.keys()].filter((k) => base.providers.has(k)).sort()) {
    const change = analysis.providerChange(key);
    if (change.other) notes.push(`provider settings changed: ${change.other}`);
  }
  notes.push(...otherBlockNotes(base, head));
  const flagged = mergeFlags(
    changes.flatMap((c) => {
      if (c.action !== "update") return [];
      const from = moves.get(c.address) ?? c.address;
      const check = UPDATE_CHECKS[resourceTypeOf(c.address)];
      const kept = analysis.keptWhenRemoved(c.address, from);
      // An update the provider block causes (its default tags) changes tags_all, which the resource blocks do not show.
      const providerTags = c.basis === "provider-config" ? { tags_all: c.reason } : {};
      return [
        ...(check === undefined ? [] : [check(c.address, withoutMeta(base.resources.get(from) ?? {}), { ...withoutMeta(head.resources.get(c.address) ?? {}), ...providerTags })]),
        ...(kept.length === 0
          ? []
          : [{ refused: [], cautions: [`${c.address}: leaves out ${kept.join(", ")}, which the provider keeps as they are (Optional and Computed in its schema): set ${kept.length === 1 ? "it" : "them"} explicitly (an empty list clears a list)`] }]),
      ];
    }),
  );
  const bootstrapper = { refused: [], cautions: gcpBootstrapperCautions(changes, head.other.has("terraform.cloud")) };
  return summarize(stack, "config", changes, notes, mergeFlags([flagged, bootstrapper]), stampChange(base, head));
}

/** `<base> → <head>` when both sides carry a framework stamp and it differs. */
function stampChange(base: StackConfig, head: StackConfig): string | undefined {
  return base.stamp !== undefined && head.stamp !== undefined && base.stamp !== head.stamp ? `${base.stamp} → ${head.stamp}` : undefined;
}

/**
 * The provider's answer for one stack (its plan), plus what only the configurations show: a
 * provider that now points elsewhere replaces resources the plan may show only as created (a
 * refresh in the new region finds nothing) or not at all.
 */
export function diffStackFromPlan(stack: string, plan: PlanJson, base: StackConfig, head: StackConfig, rules: RuleTables = loadRules()): StackDiff {
  const offline = diffStack(stack, base, head, rules);
  if (plan.errored) return { ...offline, notes: [...offline.notes, "the plan errored: this is the offline answer"] };
  const { changes, notes } = changesFromPlan(plan);
  const planned = new Map(changes.map((c) => [c.address, c]));
  for (const change of offline.changes.filter((c) => c.basis === "provider-config" && c.action === "replace")) {
    const fromPlan = planned.get(change.address);
    if (fromPlan === undefined || fromPlan.action === "update" || fromPlan.action === "create") planned.set(change.address, change);
  }
  // Volumes a planned update stops rendering: the plan shows an update of the release, the configurations show what goes.
  for (const change of offline.changes.filter((c) => c.drops !== undefined)) {
    const fromPlan = planned.get(change.address);
    if (fromPlan?.action === "update") planned.set(change.address, { ...fromPlan, drops: change.drops });
  }
  // The cluster checks read the plan's values (a key rotation shows only there: the refreshed key
  // version); a cluster the plan does not update keeps the offline answer's checks.
  const checked = (plan.resource_changes ?? []).filter((rc) => rc.mode === "managed" && UPDATE_CHECKS[rc.type] !== undefined && rc.change.actions.join() === "update");
  const fromPlan = checked.map((rc) => UPDATE_CHECKS[rc.type](rc.address, rc.change.before, rc.change.after, rc.change.after_unknown));
  const planAddresses = new Set((plan.resource_changes ?? []).map((rc) => rc.address));
  const offlineOnly = (entry: string) => !planAddresses.has(entry.split(": ")[0] ?? "");
  const bootstrapper = { refused: [], cautions: gcpBootstrapperCautions([...planned.values()], head.other.has("terraform.cloud")) };
  const flagged = mergeFlags([...fromPlan, { refused: offline.refused.filter(offlineOnly), cautions: offline.cautions.filter(offlineOnly) }, bootstrapper]);
  return summarize(stack, "plan", [...planned.values()], [...notes, ...offline.notes.filter((note) => note.startsWith("provider settings changed")), ...otherBlockNotes(base, head)], flagged, offline.stamp);
}

// ---------------------------------------------------------------------------------------------
// Updates the gate refuses or flags (an AKS cluster's, a Cloud NAT's)

/** What the per-type update checks (`UPDATE_CHECKS`) say of one update: refused, or the operator's steps around it. */
export interface UpdateFlags {
  readonly refused: string[];
  readonly cautions: string[];
}

const mergeFlags = (flags: readonly UpdateFlags[]): UpdateFlags => ({ refused: flags.flatMap((f) => f.refused), cautions: flags.flatMap((f) => f.cautions) });

/**
 * An update of a Cloud NAT (google_compute_router_nat) the gate flags: a change of how it gets its
 * addresses (`nat_ip_allocate_option`). Google releases the addresses it allocated when the method
 * changes, and they cannot be drained first (`drain_nat_ips` takes only addresses that were in
 * `nat_ips`: google 6.50.0 resource_compute_router_nat.go, `resourceComputeRouterNatDrainNatIpsCustomDiff`;
 * Cloud NAT "IP addresses and ports", switching the assignment method), so every connection the
 * cluster has open through it drops, and its egress addresses change. A change of `nat_ips` is
 * flagged too: storage on another cloud admits the new addresses only once its stack applied them.
 */
export function natChangeChecks(address: string, before: unknown, after: unknown): UpdateFlags {
  const cautions: string[] = [];
  const option = (config: unknown) => String(valueAt(config, "nat_ip_allocate_option") ?? "AUTO_ONLY");
  if (option(before) !== option(after)) {
    cautions.push(
      `${address}: changes nat_ip_allocate_option ${option(before)} → ${option(after)}: Google releases the addresses it allocated, so every connection the cluster has open through the NAT drops and its egress addresses change. ` +
        "Apply in a maintenance window, and update any allowlist of the old addresses (README, Buckets on another cloud)",
    );
  } else if (JSON.stringify(valueAt(before, "nat_ips") ?? []) !== JSON.stringify(valueAt(after, "nat_ips") ?? [])) {
    cautions.push(`${address}: changes the NAT's addresses: storage on another cloud admits them only once its <env>-infra-<cloud> stack applied them; apply it right after this one`);
  }
  return { refused: [], cautions };
}

/**
 * An update of an RDS subnet group that removes subnets, as a change of `network.zones` does to
 * the VPC a moved cluster left its databases in: the group updates in place (aws 5.100.0
 * `subnet_ids` is not ForceNew), but RDS refuses to remove a subnet an instance uses
 * (ModifyDBSubnetGroup, `SubnetAlreadyInUse`), and the same plan destroys the subnet.
 */
export function subnetGroupChecks(address: string, before: unknown, after: unknown): UpdateFlags {
  const ids = (config: unknown) => {
    const value = valueAt(config, "subnet_ids");
    return Array.isArray(value) ? value.map(String) : [];
  };
  const kept = new Set(ids(after));
  const removed = ids(before).filter((id) => !kept.has(id));
  if (removed.length === 0) return { refused: [], cautions: [] };
  return {
    refused: [],
    cautions: [
      `${address}: removes ${removed.length} subnet(s) from a database's subnet group: RDS refuses to remove one its instances use (SubnetAlreadyInUse), and this plan destroys them. ` +
        "Keep network.zones as it was while a database lives in that network (README, Moving from one cloud to another in stages, stage 2)",
    ],
  };
}

/**
 * An ExternalSecret that renders its Secret from a template (not created once) whose template a
 * release update changes: External Secrets writes the Secret at once, but a container reads a
 * Secret it takes as environment variables only when it starts (Kubernetes, "Secrets": "Secrets
 * consumed as environment variables are not updated automatically"), so the workloads of that
 * namespace keep the old values until restarted. A database's new host, for one.
 */
export function renderedSecretChecks(address: string, before: unknown, after: unknown): UpdateFlags {
  const old = externalSecretTemplates(before, false);
  const cautions = [...externalSecretTemplates(after, false)]
    // A copy that gains its first template (this release's upgrade) renders the values it had: nothing to restart for.
    .filter(([secret, template]) => template !== null && (old.get(secret) ?? null) !== null && JSON.stringify(old.get(secret)) !== JSON.stringify(template))
    .map(([secret]) => {
      const [namespace, name] = secret.split("/");
      return `${address}: ExternalSecret ${secret} renders its Secret anew, which pods that read it at start do not see: once \`kubectl -n ${namespace} get secret ${name}\` shows the new value, restart them (\`kubectl -n ${namespace} rollout restart deployment,statefulset\`) unless their own release restarts them`;
    });
  return { refused: [], cautions };
}

/** The templates of a Helm release's ExternalSecrets, created once or not, by `<namespace>/<name>`. */
function externalSecretTemplates(config: unknown, createdOnce: boolean): Map<string, unknown> {
  const documents = isObject(config) ? helmValues(config) : [];
  const manifests = documents.flatMap((values) => (isObject(values) && Array.isArray(values.manifests) ? values.manifests : []));
  return new Map(
    manifests
      .filter((manifest): manifest is Json => isObject(manifest) && manifest.kind === "ExternalSecret" && (valueAt(manifest, "spec.refreshPolicy") === "CreatedOnce") === createdOnce)
      .map((manifest) => [`${String(valueAt(manifest, "metadata.namespace"))}/${String(valueAt(manifest, "metadata.name"))}`, valueAt(manifest, "spec.target.template") ?? null]),
  );
}

/** Both checks of a Helm release's manifests. */
const helmReleaseChecks = (address: string, before: unknown, after: unknown): UpdateFlags => mergeFlags([createdOnceChecks(address, before, after), renderedSecretChecks(address, before, after)]);

/** The updates the gate checks beyond replacement, by resource type. */
/**
 * An update of what only the bootstrapper may change on AWS (README, "Bootstrap, once";
 * constructs/aws/terraform-cloud.ts): the Terraform Cloud run role (its trust names
 * app.terraform.io) and its one policy (the only one with `NeverChangeItself`), which the policy
 * denies the role changing or tagging; its OpenID Connect provider for app.terraform.io; and the
 * workload boundary (`<env>-workload-boundary`, constructs/aws/boundary.ts, which
 * `NeverChangeTheBoundary` keeps the runs from changing: a new secret the spec names changes it).
 * A workspace added or gone, a new app's role, the cluster moving away, a tag: the workspace's
 * run fails on it, and the bootstrapper applies it.
 */
export function bootstrapperOwnedChecks(address: string, before: unknown, after: unknown): UpdateFlags {
  const runRole = String(valueAt(before, "assume_role_policy") ?? "").includes("app.terraform.io");
  const owned =
    runRole ||
    String(valueAt(before, "policy") ?? "").includes('"NeverChangeItself"') ||
    // A plan holds the provider's url without its scheme, as IAM returns it (aws 5.100.0 openid_connect_provider.go).
    String(valueAt(before, "url") ?? "").replace(/^https:\/\//, "") === "app.terraform.io" ||
    String(valueAt(before, "name") ?? "").endsWith("-workload-boundary");
  // The runs may tag the provider and the boundary (the policy's `Tags` statement), not the role
  // itself; where tags_all is known (a plan), it is what the tag calls follow. force_detach_policies
  // is Terraform's alone (no call).
  const tagsAllKnown = valueAt(before, "tags_all") !== undefined && valueAt(after, "tags_all") !== undefined;
  const ignored = ["//", "force_detach_policies", ...(runRole ? [] : ["tags", "tags_all"]), ...(tagsAllKnown ? ["tags"] : [])];
  const keys = [...new Set([...Object.keys(isObject(before) ? before : {}), ...Object.keys(isObject(after) ? after : {})])].filter((key) => !ignored.includes(key));
  const changed = keys.filter((key) => JSON.stringify(valueAt(before, key)) !== JSON.stringify(valueAt(after, key))).sort();
  if (!owned || changed.length === 0) return { refused: [], cautions: [] };
  return {
    refused: [],
    cautions: [
      `${address}: changes ${changed.join(", ")} of what the Terraform Cloud run role may not change (its own role and policy, its OIDC provider, the workload boundary): the workspace's run fails on it; apply this stack as the bootstrapper, with administrator credentials and the workspace in Local execution mode (README, "Bootstrap, once")`,
    ],
  };
}

/**
 * On GCP, what only the bootstrapper (a project owner) may change in a stack Terraform Cloud runs
 * (constructs/gcp/terraform-cloud.ts; README, "GCP run account: no path to owner"): the run
 * account's own trust (its pool, provider, account and every grant to it, the resources of
 * `terraform-cloud-trust`), a new service account (`iam.serviceAccounts.create` is a project
 * permission it lacks: a new app's identity) and the custom roles (no `iam.roles.create` or
 * `update`). The workspace's run fails on them; the bootstrapper applies the stack. A stack with
 * local state is applied by a person, who is the bootstrapper.
 */
export function gcpBootstrapperCautions(changes: readonly Change[], inTerraformCloud: boolean): string[] {
  if (!inTerraformCloud) return [];
  const verbs: Partial<Record<Action, string>> = { create: "created", update: "updated", replace: "replaced", delete: "destroyed" };
  return changes.flatMap((c) => {
    const type = resourceTypeOf(c.address);
    const verb = verbs[c.action];
    if (verb === undefined || !type.startsWith("google_")) return [];
    const why = c.address.includes("_terraform-cloud-trust_")
      ? "the run account's own trust or a grant to it"
      : type === "google_project_iam_custom_role"
        ? "a custom role, which the run account may not write (no iam.roles.create or update)"
        : type === "google_service_account" && (c.action === "create" || c.action === "replace")
          ? "a new service account, which the run account may not create (iam.serviceAccounts.create is a project permission it lacks)"
          : undefined;
    return why === undefined ? [] : [`${c.address} ${verb}: ${why}: the workspace's run fails on it; apply this stack as the bootstrapper (a project owner), with the workspace in Local execution mode (README, "Bootstrap, once")`];
  });
}

const UPDATE_CHECKS: Readonly<Record<string, (address: string, before: unknown, after: unknown, afterUnknown?: unknown) => UpdateFlags>> = {
  aws_db_subnet_group: subnetGroupChecks,
  aws_iam_openid_connect_provider: bootstrapperOwnedChecks,
  aws_iam_policy: bootstrapperOwnedChecks,
  aws_iam_role: bootstrapperOwnedChecks,
  aws_iam_role_policy: bootstrapperOwnedChecks,
  azurerm_kubernetes_cluster: clusterChangeChecks,
  google_compute_router_nat: natChangeChecks,
  helm_release: helmReleaseChecks,
};

/**
 * An ExternalSecret that External Secrets creates once (`refreshPolicy: CreatedOnce`: generated
 * credentials, constructs/apps/wiring.ts) and whose template a release update changes: the
 * controller does not write that Secret again from a changed template (external-secrets.io,
 * ExternalSecret, "Update behavior with 3 different refresh policies"), so a key added or
 * changed does not reach the app. Said as an operator step, since deleting the Secret regenerates
 * its values too. (A database's host is not in one: its app's copy renders it at every sync.)
 */
export function createdOnceChecks(address: string, before: unknown, after: unknown): UpdateFlags {
  const createdOnce = (config: unknown) => externalSecretTemplates(config, true);
  // A key added or changed does not reach the Secret; one removed stays in it, which changes nothing for its readers.
  const unreached = (base: unknown, head: unknown) => {
    const data = (template: unknown) => (isObject(valueAt(template, "data")) ? (valueAt(template, "data") as Json) : {});
    const rest = (template: unknown) => JSON.stringify(isObject(template) ? { ...template, data: undefined } : template);
    return rest(base) !== rest(head) || Object.entries(data(head)).some(([key, value]) => JSON.stringify(data(base)[key]) !== JSON.stringify(value));
  };
  const old = createdOnce(before);
  const cautions = [...createdOnce(after)]
    .filter(([secret, template]) => old.has(secret) && unreached(old.get(secret), template))
    .map(([secret]) => `${address}: ExternalSecret ${secret} is created once (refreshPolicy CreatedOnce), so its changed template does not reach the Secret it made; deleting that Secret makes External Secrets create it again from the new template but with newly generated values, which whatever used the old ones must then take (a database role's password, for one)`);
  return { refused: [], cautions };
}

/** What every KMS key change asks of the operator (MicrosoftDocs/azure-aks-docs articles/aks/use-kms-etcd-encryption.md at fb060ab, "Rotate existing keys in a private key vault"). */
export const SECRET_REWRITE = "kubectl get secrets -A -o json | kubectl replace -f -";

/**
 * An update of an existing AKS cluster (azurerm_kubernetes_cluster) the gate refuses or flags.
 * `before` and `after` are the synthesized configuration (offline) or the plan's values (blocks
 * are one-item lists there); `afterUnknown` is the plan's `after_unknown`.
 *
 * - Refused: turning API Server VNet Integration and KMS etcd encryption on in the same update.
 *   azurerm 4.55.0 sends both in one PUT (internal/services/containers/kubernetes_cluster_resource.go,
 *   `resourceKubernetesClusterUpdate`: `api_server_access_profile` and `key_management_service` go
 *   into the same managed-cluster model), while AKS puts the integration into effect on an
 *   existing cluster only after a stop/start (MicrosoftDocs/azure-aks-docs
 *   articles/aks/api-server-vnet-integration.md at fb060ab, "Manual restart required") and KMS
 *   with a private vault works only through it (use-kms-etcd-encryption.md: "it must use the API
 *   Server VNet Integration tunnel. Konnectivity isn't supported"). The way through is two applies
 *   with `cluster.azure.waivers.secretsEncryption` (constructs/azure/cluster.ts).
 * - Flagged: turning KMS on where the integration was already configured (apply 2: the stop/start
 *   must have happened), and any change of `key_management_service.key_vault_key_id` (a rotation
 *   reaches the cluster at the first apply after it, whatever the pull request is about): every
 *   Secret must be rewritten after the apply (use-kms-etcd-encryption.md: "Remember to update all
 *   secrets after key rotation"), and a second key change before that rewrite can leave the
 *   cluster stuck updating (Azure/kubernetes-kms#291, tracked as Azure/AKS#4648).
 * - Flagged, not refused: turning KMS OFF (`key_management_service` removed). The update itself
 *   completes on the cloud (a refusal here means "cannot complete as planned"), but
 *   MicrosoftDocs/azure-aks-docs at fb060ab use-kms-etcd-encryption.md: "After you turn off KMS,
 *   you can't delete or expire the keys. Such behaviors would cause the API server to stop
 *   working", and update-kms-key-vault.md: update all secrets after turning it off. The key's
 *   rotation policy gives every version an expiry (constructs/azure: CLUSTER_KEY_ROTATION), so the
 *   notice tells the operator to drop it, and that the waiver is for the conversion only.
 * - Flagged: turning VNet Integration on while KMS stays off (apply 1): the stop/start that puts
 *   it into effect (api-server-vnet-integration.md, "Manual restart required") is what apply 2 needs.
 */
export function clusterChangeChecks(address: string, before: unknown, after: unknown, afterUnknown?: unknown): UpdateFlags {
  const refused: string[] = [];
  const cautions: string[] = [];
  const set = (value: unknown) => value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0);
  // In a plan the subnet's id is unknown when the subnet is created in the same run (the upgrade's apply 1).
  const integration = (config: unknown, unknown?: unknown) =>
    valueAt(config, "api_server_access_profile.virtual_network_integration_enabled") === true && (set(valueAt(config, "api_server_access_profile.subnet_id")) || valueAt(unknown, "api_server_access_profile.subnet_id") === true);
  const keyId = (config: unknown) => valueAt(config, "key_management_service.key_vault_key_id");
  // `after_unknown` mirrors `after` with `true` where a value is known only after the apply (the whole block or the id).
  const keyUnknown = valueAt(afterUnknown, "key_management_service") === true || valueAt(afterUnknown, "key_management_service.key_vault_key_id") === true;
  const kmsBefore = set(keyId(before));
  const kmsAfter = set(keyId(after)) || keyUnknown;
  const rewrite = `rewrite every Secret right after this apply (\`${SECRET_REWRITE}\`), and do not let the key change again before that rewrite: a second key change before it can leave the cluster stuck updating (Azure/AKS#4648)`;
  if (!integration(before) && integration(after, afterUnknown) && !kmsBefore && kmsAfter) {
    refused.push(
      `${address}: turns on API Server VNet Integration and KMS etcd encryption with the private vault in one update of an existing cluster. ` +
        "AKS puts VNet Integration into effect only after a stop/start, and KMS with a private vault needs it in effect. " +
        "Apply first with cluster.azure.waivers.secretsEncryption (a reason), run `az aks stop` and `az aks start`, check `az aks show --query apiServerAccessProfile.enableVnetIntegration` is true, " +
        "then remove the waiver and apply again (README, Upgrade guide)",
    );
  } else if (!kmsBefore && kmsAfter) {
    cautions.push(
      `${address}: turns KMS etcd encryption on. Before applying, make sure the cluster was stopped and started after VNet Integration was turned on ` +
        `(\`az aks show --query apiServerAccessProfile.enableVnetIntegration\` is true); then ${rewrite}`,
    );
  } else if (kmsBefore && kmsAfter && (keyUnknown || JSON.stringify(keyId(before)) !== JSON.stringify(keyId(after)))) {
    const what = keyUnknown ? "(known after apply)" : `${short(keyId(before))} → ${short(keyId(after))}`;
    cautions.push(`${address}: changes key_management_service.key_vault_key_id ${what}, the KMS key that encrypts Kubernetes Secrets: ${rewrite}`);
  } else if (kmsBefore && !kmsAfter) {
    cautions.push(
      `${address}: turns KMS etcd encryption OFF on an existing cluster (key ${short(keyId(before))}). After KMS is off the key is still needed: it must never be deleted, disabled or expire, or the API server stops working. ` +
        "Before applying, take `expiryTime` out of the key's rotation policy (`az keyvault key rotation-policy update`) and remove or extend the expiry of its current versions (Key Vault: the key version's `exp` attribute); " +
        `right after the apply, rewrite every Secret (\`${SECRET_REWRITE}\`) so they are stored unencrypted by the key. cluster.azure.waivers.secretsEncryption is only for converting a cluster that never had KMS: remove it if that is not this cluster (README, Upgrade guide)`,
    );
  }
  // Apply 1 of the two-apply upgrade: the integration is configured, but is in effect only after a stop/start, which apply 2 (KMS on) needs.
  if (!integration(before) && integration(after, afterUnknown) && !kmsAfter) {
    cautions.push(
      `${address}: turns on API Server VNet Integration on an existing cluster. AKS puts it into effect only after a restart: right after this apply run \`az aks stop\` and \`az aks start\`, ` +
        "and check `az aks show --query apiServerAccessProfile.enableVnetIntegration` is true before the apply that turns KMS on (README, Upgrade guide)",
    );
  }
  return { refused, cautions };
}

// ---------------------------------------------------------------------------------------------
// Directories, summary, CLI

function stacksIn(dir: string): Map<string, StackConfig> {
  const stacksDir = join(dir, "stacks");
  const stacks = new Map<string, StackConfig>();
  if (!existsSync(stacksDir)) return stacks;
  for (const stack of readdirSync(stacksDir).sort()) {
    const file = join(stacksDir, stack, "cdk.tf.json");
    // Terraform reads every *.tf and *.tf.json (overrides included) in the directory: a file synth
    // did not write would change what is applied without showing here.
    const others = existsSync(join(stacksDir, stack)) ? readdirSync(join(stacksDir, stack)).filter((name) => /\.tf(\.json)?$/.test(name) && name !== "cdk.tf.json") : [];
    if (others.length > 0) throw new Error(`${join(stacksDir, stack)} holds Terraform files synth does not write (${others.join(", ")}): remove them, or make them part of the constructs`);
    if (existsSync(file)) stacks.set(stack, parseStack(readFileSync(file, "utf8")));
  }
  return stacks;
}

export interface DiffOptions {
  /** Directory of `<stack>.json` plans (`terraform show -json`); stacks without one get the offline answer. */
  readonly plansDir?: string;
  readonly rules?: RuleTables;
}

/** Diffs every stack of two synthesized directories; stacks only on one side count whole. */
export function diffDirectories(baseDir: string, headDir: string, options: DiffOptions = {}): StackDiff[] {
  const rules = options.rules ?? loadRules();
  const base = stacksIn(baseDir);
  const head = stacksIn(headDir);
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  const diffs = names.map((stack) => {
    const before = base.get(stack) ?? EMPTY;
    const after = head.get(stack) ?? EMPTY;
    const planFile = options.plansDir ? join(options.plansDir, `${stack}.json`) : undefined;
    if (planFile && existsSync(planFile)) return diffStackFromPlan(stack, JSON.parse(readFileSync(planFile, "utf8")) as PlanJson, before, after, rules);
    return diffStack(stack, before, after, rules);
  });
  const renamed = renamedStacks(base, head);
  return diffs.map((diff) => {
    const rename = renamed.get(diff.stack);
    return rename === undefined ? diff : { ...diff, refused: [...diff.refused, rename] };
  });
}

/**
 * Stacks that are gone while most of their resources reappear, at the same addresses, in another
 * stack that did not hold them: a stack renamed (a changed `home` or environment name). Its state
 * does not follow (a stack's state is its workspace or file), so the other stack would create
 * every resource again beside the ones the old state still holds, and no label makes that right.
 */
function renamedStacks(base: ReadonlyMap<string, StackConfig>, head: ReadonlyMap<string, StackConfig>): Map<string, string> {
  // Where a stack's resources live: the accounts its providers are bound to. Another account's stack (a tenant removed while another is added) holds other resources, whatever their addresses.
  const accountsOf = (config: StackConfig) => new Set([...config.providers.values()].flatMap((provider) => ["allowed_account_ids", "subscription_id", "project"].map((key) => JSON.stringify(provider[key] ?? null)).filter((value) => value !== "null")));
  const headAccounts = new Map([...head].map(([stack, config]) => [stack, accountsOf(config)]));
  const renamed = new Map<string, string>();
  for (const [stack, before] of base) {
    if (head.has(stack) || before.resources.size === 0) continue;
    const accounts = accountsOf(before);
    for (const [other, after] of head) {
      if (![...accounts].every((account) => headAccounts.get(other)?.has(account) === true)) continue;
      const held = base.get(other)?.resources;
      const reappearing = [...before.resources.keys()].filter((address) => after.resources.has(address) && held?.has(address) !== true);
      if (reappearing.length * 2 < before.resources.size) continue;
      renamed.set(
        stack,
        `gone, while ${reappearing.length} of its ${before.resources.size} resources reappear in ${other}: a stack's state does not follow its name, so ${other} would create them again beside what ${stack}'s state holds (a changed home or environment name; move the state first, or change it back)`,
      );
    }
  }
  return renamed;
}

const list = (items: readonly string[]) => items.map((item) => `- \`${item}\``);

export function renderSummary(diffs: readonly StackDiff[], allowStateful: boolean): string {
  const touched = diffs.filter((d) => d.changes.length > 0);
  const stateful = diffs.flatMap((d) => d.stateful.map((entry) => `${d.stack}: ${entry}`));
  const lines = ["## Terraform changes by stack", ""];
  if (touched.length === 0) lines.push("No resource changes.");
  else {
    const count = (d: StackDiff, action: Action, basis?: (b: Basis) => boolean) => d.changes.filter((c) => c.action === action && (basis === undefined || basis(c.basis))).length;
    lines.push("| stack | answer | added | changed | destroyed | replaced (provider) | replaced (table) | unknown |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const d of touched) {
      const answer = d.source === "plan" ? "provider (plan)" : "offline (config + tables)";
      lines.push(`| ${d.stack} | ${answer} | ${count(d, "create")} | ${count(d, "update")} | ${count(d, "delete")} | ${count(d, "replace", (b) => b === "provider")} | ${count(d, "replace", (b) => b !== "provider")} | ${count(d, "unknown")} |`);
    }
    lines.push(
      "",
      "replaced (provider): the plan says so. replaced (table): computed offline from the provider's replace-forcing table, the provider blocks (region, account...) and references to replaced resources. unknown: no table for that provider version or type, so it may be replaced.",
    );
  }
  // Stacks with notes (moved blocks, provider settings, outputs, the terraform block...) are listed even when no resource changes.
  for (const d of diffs.filter((t) => t.replaced.length + t.destroyed.length + t.unknown.length + t.notes.length > 0)) {
    lines.push("", `### ${d.stack}`);
    const destroyed = d.changes.filter((c) => c.action === "delete").map((c) => `${c.address}${c.reason ? ` (${c.reason})` : ""}`);
    if (d.replaced.length > 0) lines.push("", "Replaced:", ...list(d.replaced));
    if (destroyed.length > 0) lines.push("", "Destroyed:", ...list(destroyed));
    if (d.unknown.length > 0) lines.push("", "Unknown (may be replaced):", ...list(d.unknown));
    if (d.notes.length > 0) lines.push("", "Notes:", ...d.notes.map((note) => `- ${note}`));
  }
  const stamps = [...new Set(diffs.flatMap((d) => (d.stamp === undefined ? [] : [d.stamp])))];
  for (const stamp of stamps) {
    const count = diffs.filter((d) => d.stamp === stamp).length;
    lines.push("", `Framework stamp (\`"//".metadata.version\`, which Terraform ignores): ${stamp} in ${count} stack${count === 1 ? "" : "s"}.`);
  }
  const refused = diffs.flatMap((d) => d.refused.map((entry) => `${d.stack}: ${entry}`));
  const cautions = diffs.flatMap((d) => d.cautions.map((entry) => `${d.stack}: ${entry}`));
  if (refused.length > 0) lines.push("", "> [!CAUTION]", "> Refused (no label allows it): this update cannot complete on the cloud as planned:", ...refused.map((entry) => `> - ${entry}`));
  if (cautions.length > 0) lines.push("", "> [!IMPORTANT]", "> Operator steps around this apply:", ...cautions.map((entry) => `> - ${entry}`));
  if (stateful.length > 0) {
    lines.push(
      "",
      allowStateful ? "> [!WARNING]" : "> [!CAUTION]",
      `> ${allowStateful ? "Allowed by label" : "Refused"}: this change destroys or replaces resources that hold data (or may: unknown):`,
      ...stateful.map((entry) => `> - \`${entry}\``),
      ...(allowStateful ? [] : ["> Add the `allow-stateful-replacement` label if this is intended."]),
    );
  }
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args.splice(index, 2)[1] : undefined;
  };
  const plansDir = option("--plans");
  const rulesDir = option("--rules");
  const allowStateful = args.includes("--allow-stateful");
  const [baseDir, headDir] = args.filter((arg) => !arg.startsWith("--"));
  if (!baseDir || !headDir) {
    process.stderr.write("usage: tsx scripts/stack-diff.ts <base synthesized dir> <head synthesized dir> [--plans <dir>] [--rules <dir>] [--allow-stateful]\n");
    process.exit(2);
  }
  let diffs: StackDiff[];
  try {
    diffs = diffDirectories(baseDir, headDir, { plansDir, rules: loadRules(rulesDir ?? RULES_DIR) });
  } catch (error) {
    process.stderr.write(`stack-diff: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(renderSummary(diffs, allowStateful));
  if ((!allowStateful && diffs.some((d) => d.stateful.length > 0)) || diffs.some((d) => d.refused.length > 0)) process.exitCode = 1;
}
