/**
 * What the provider itself says a change to a synthesized stack does, offline.
 *
 * 1. The BEFORE stack is planned from nothing (`plan -out`, `show -json`). Its planned values
 *    become a Terraform state (format 4): every value the plan left unknown (`after_unknown`) is
 *    filled with a fake of the right type from `terraform providers schema -json` (strings a
 *    stable `offline-<address>-<attribute>`, ARNs and URLs shaped so the provider's validators
 *    accept them, numbers 0, booleans false, maps {}, lists of primitives [], lists of objects one
 *    filled element, so that `x.identity[0].oidc[0].issuer` resolves). Where the configuration
 *    gives the value as a literal or as a pure reference (`${aws_kms_key.data.arn}`), that value
 *    is taken instead, the reference resolved in the state being built. The state also carries
 *    the plan's sensitive paths: without them Terraform plans an update for the marks alone.
 * 2. What is left (an argument built by a function, such as a policy document) differs from its
 *    fake. So the BEFORE stack is planned again against the state (without `prevent_destroy`,
 *    which a settling round may trip), the state takes the plan's values, keeping the fakes where
 *    the plan is unknown, and this repeats until the provider plans no change at all (typically
 *    one round): the baseline is then exactly what the BEFORE configuration describes.
 * 3. The AFTER stack is planned against the baseline with `-refresh=false`; per address the
 *    actions, `replace_paths` and `action_reason` (from `show -json`, run only when something is
 *    replaced or details are asked for; otherwise the plan's own `planned_change` messages). A
 *    plan that fails (the provider's validation, `prevent_destroy`) is an outcome too: refused,
 *    with the diagnostics.
 *
 * Data sources: Terraform reads them in every plan and keeps none of them in the state, so the
 * baseline skips them. One the provider answers locally (aws_iam_policy_document) just works
 * (tested). One that calls AWS cannot be read here (no network): the BEFORE plan fails and the
 * baseline throws with Terraform's diagnostic rather than guessing (not exercised by the tests:
 * the AWS SDK retries before it gives up). `count`/`for_each` instances keep their index keys.
 * `depends_on` is not written into the state: it orders apply, not what the plan decides. A
 * resource removed from the configuration is planned as a delete even under `prevent_destroy`
 * (Terraform only sees the lifecycle of resources still configured).
 *
 * Free of test-runner imports, so scripts can use it too.
 */
import { createHash, randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { offlineWorkspace, type OfflineWorkspace } from "./terraform";

// ---------------------------------------------------------------------------------------------
// Terraform's JSON formats (the parts read here)

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A cty type as `providers schema -json` writes it. */
type CtyType = string | [string, CtyType | Record<string, CtyType> | CtyType[], ...unknown[]];

interface SchemaAttribute {
  readonly type?: CtyType;
  readonly nested_type?: { readonly attributes: Record<string, SchemaAttribute>; readonly nesting_mode: string };
}

interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<string, { readonly nesting_mode: string; readonly block: SchemaBlock; readonly min_items?: number }>;
}

interface ProviderSchemasJson {
  readonly provider_schemas: Record<string, { readonly resource_schemas: Record<string, { readonly version: number; readonly block: SchemaBlock }> }>;
}

interface RawResourceChange {
  readonly address: string;
  readonly previous_address?: string;
  readonly module_address?: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly index?: string | number;
  readonly provider_name: string;
  readonly action_reason?: string;
  readonly change: {
    readonly actions: string[];
    readonly before?: JsonObject | null;
    readonly after: JsonObject | null;
    readonly after_unknown?: Json;
    readonly after_sensitive?: Json;
    readonly replace_paths?: (string | number)[][];
  };
}

interface ConfigResource {
  readonly address: string;
  readonly provider_config_key?: string;
  readonly expressions?: Record<string, { constant_value?: Json }>;
}

interface PlanJson {
  readonly terraform_version: string;
  readonly resource_changes?: RawResourceChange[];
  readonly configuration?: { readonly root_module?: { readonly resources?: ConfigResource[] } };
}

export interface Diagnostic {
  readonly severity: string;
  readonly summary: string;
  readonly detail?: string;
  readonly address?: string;
}

// ---------------------------------------------------------------------------------------------
// Running terraform: a bounded number at once, each timed

const CONCURRENCY = Math.max(1, Number(process.env.TF_PLAN_CONCURRENCY ?? 2));
let running = 0;
const waiting: (() => void)[] = [];

async function bounded<T>(work: () => Promise<T>): Promise<T> {
  while (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const timings = new Map<string, number[]>();

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  return bounded(async () => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      const list = timings.get(label) ?? [];
      list.push(performance.now() - start);
      timings.set(label, list);
    }
  });
}

/** Wall-clock seconds per terraform command run so far: count, total and mean. */
export function terraformTimings(): Record<string, { count: number; totalSeconds: number; meanSeconds: number }> {
  return Object.fromEntries(
    [...timings].map(([label, list]) => {
      const total = list.reduce((sum, ms) => sum + ms, 0) / 1000;
      return [label, { count: list.length, totalSeconds: round(total), meanSeconds: round(total / list.length) }];
    }),
  );
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;

interface Workspace extends OfflineWorkspace {
  readonly ready: Promise<void>;
}

function workspace(stackJson: string, prefix: string): Workspace {
  const ws = offlineWorkspace(stackJson, prefix);
  return { ...ws, ready: timed("init", () => ws.terraform("init", "-no-color", "-input=false")).then(() => undefined) };
}

/** One `planned_change` message of `plan -json`. */
interface StreamedChange {
  readonly address: string;
  readonly type: string;
  readonly action: string;
  readonly reason?: string;
  readonly movedFrom?: string;
}

interface PlanRun {
  /** Absent when the plan failed, or when `show` was not needed (see `planIn`). */
  readonly plan?: PlanJson;
  /** What the plan's own messages say, without values: enough unless a resource is replaced. */
  readonly streamed: StreamedChange[];
  /** Error diagnostics when the plan failed. */
  readonly errors: Diagnostic[];
}

/**
 * `plan -out`, then `show -json` for the values; with `-refresh=false` the state is taken as it
 * is. The show (a third of the time) runs only when `needShow` says so given the streamed changes.
 */
async function planIn(ws: Workspace, needShow: (streamed: readonly StreamedChange[]) => boolean): Promise<PlanRun> {
  await ws.ready;
  const args = ["plan", "-input=false", "-lock=false", "-refresh=false", "-no-color", "-json", "-out=plan.bin"];
  const result = await timed("plan", () =>
    ws.terraform(...args).then(
      (out) => ({ ok: true, stdout: out.stdout }),
      (error: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, stdout: error.stdout ?? "", stderr: error.stderr ?? error.message }),
    ),
  );
  if (!result.ok) {
    const errors = diagnosticsOf(result.stdout).filter((d) => d.severity === "error");
    if (errors.length === 0) throw new Error(`terraform plan failed without a diagnostic in ${ws.dir}: ${"stderr" in result ? result.stderr : ""}`);
    return { streamed: [], errors };
  }
  const streamed = streamedChangesOf(result.stdout);
  if (!needShow(streamed)) return { streamed, errors: [] };
  const shown = await timed("show", () => ws.terraform("show", "-json", "plan.bin"));
  return { plan: JSON.parse(shown.stdout) as PlanJson, streamed, errors: [] };
}

function streamedChangesOf(jsonLines: string): StreamedChange[] {
  const changes: StreamedChange[] = [];
  for (const line of jsonLines.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line) as {
      type?: string;
      change?: { resource: { addr: string; resource_type: string }; previous_resource?: { addr: string }; action: string; reason?: string };
    };
    if (message.type !== "planned_change" || !message.change) continue;
    const { resource, previous_resource: previous, action, reason } = message.change;
    changes.push({ address: resource.addr, type: resource.resource_type, action, ...(reason ? { reason } : {}), ...(previous ? { movedFrom: previous.addr } : {}) });
  }
  return changes;
}

function diagnosticsOf(jsonLines: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const line of jsonLines.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line) as { type?: string; diagnostic?: Diagnostic };
    if (message.type === "diagnostic" && message.diagnostic) diagnostics.push(message.diagnostic);
  }
  return diagnostics;
}

// ---------------------------------------------------------------------------------------------
// The provider's schema, once per provider set and run

const schemaCache = new Map<string, Promise<ProviderSchemasJson>>();

function schemasFor(ws: Workspace, stackJson: string): Promise<ProviderSchemasJson> {
  const providers = JSON.stringify((JSON.parse(stackJson) as { terraform?: { required_providers?: unknown } }).terraform?.required_providers ?? {});
  let cached = schemaCache.get(providers);
  if (!cached) {
    cached = ws.ready.then(() => timed("providers schema", () => ws.terraform("providers", "schema", "-json"))).then((out) => JSON.parse(out.stdout) as ProviderSchemasJson);
    schemaCache.set(providers, cached);
  }
  return cached;
}

// ---------------------------------------------------------------------------------------------
// Planned values -> state values

interface Fill {
  /** `aws_kms_key.data` or `aws_x.y[0]`, for the fake strings. */
  readonly address: string;
  readonly path: readonly (string | number)[];
  /** The synthesized configuration at this path (cdktn writes a block as an object or a list). */
  readonly config: Json | undefined;
  /** A value the configuration refers to, e.g. `aws_kms_key.data.arn`, from the state being built. */
  readonly resolve: (reference: string) => Json | undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * EC2 ids the provider's validators check the shape of (`launch_template.0.id` must match
 * ^lt-[0-9a-zA-Z]+$): a resource's own `id` gets its type's prefix and a hex suffix.
 */
const EC2_ID_PREFIXES: Readonly<Record<string, string>> = {
  aws_launch_template: "lt",
  aws_vpc: "vpc",
  aws_subnet: "subnet",
  aws_security_group: "sg",
  aws_default_security_group: "sg",
  aws_internet_gateway: "igw",
  aws_nat_gateway: "nat",
  aws_eip: "eipalloc",
  aws_route_table: "rtb",
  aws_vpc_endpoint: "vpce",
  aws_flow_log: "fl",
};

/**
 * A string the provider's validators accept, stable per address and attribute, and lowercase
 * (several attributes, e.g. aws_db_instance.engine, store their value lowercased).
 */
function fakeString(fill: Fill): string {
  const name = [...fill.path].reverse().find((step): step is string => typeof step === "string") ?? "value";
  const path = fill.path.join(".");
  const address = fill.address.toLowerCase().replace(/[^a-z0-9_.-]/g, "-");
  const prefix = EC2_ID_PREFIXES[fill.address.split(".")[0]];
  if (path === "id" && prefix) return `${prefix}-${digest(fill.address).slice(0, 17)}`;
  if (name === "arn" || name.endsWith("_arn")) return `arn:aws:iam::123456789012:offline/${address}/${path}`;
  if (/(url|issuer|endpoint)$/.test(name)) return `https://offline.example/${address}/${path}`;
  return `offline-${address}-${path}`;
}

const step = (fill: Fill, key: string | number): Fill => {
  const config = fill.config;
  // A block list item: cdktn writes a single block as an object, several as a list.
  const next = typeof key === "number" ? (Array.isArray(config) ? config[key] : key === 0 ? config : undefined) : isObject(config) ? (config[key] as Json) : undefined;
  return { ...fill, path: [...fill.path, key], config: next };
};

function fakeOfType(type: CtyType | undefined, fill: Fill): Json {
  if (type === "string") return fakeString(fill);
  if (type === "number") return 0;
  if (type === "bool") return false;
  if (!Array.isArray(type)) return null; // "dynamic"
  const [kind, inner] = type;
  if (kind === "list" || kind === "set") {
    // One element where it holds objects (a reference like identity[0].oidc[0] must resolve).
    const element = inner as CtyType;
    return Array.isArray(element) && element[0] === "object" ? [fakeOfType(element, step(fill, 0))] : [];
  }
  if (kind === "map") return {};
  if (kind === "object") {
    const attributes = inner as Record<string, CtyType>;
    return Object.fromEntries(Object.entries(attributes).map(([key, t]) => [key, fakeOfType(t, step(fill, key))]));
  }
  if (kind === "tuple") return (inner as CtyType[]).map((t, i) => fakeOfType(t, step(fill, i)));
  return null;
}

function fakeNested(nested: NonNullable<SchemaAttribute["nested_type"]>, fill: Fill): Json {
  const object = (f: Fill) => Object.fromEntries(Object.entries(nested.attributes).map(([key, a]) => [key, fakeAttribute(a, step(f, key))]));
  if (nested.nesting_mode === "single") return object(fill);
  if (nested.nesting_mode === "map") return {};
  return [object(step(fill, 0))];
}

function fakeAttribute(attribute: SchemaAttribute, fill: Fill): Json {
  return attribute.nested_type ? fakeNested(attribute.nested_type, fill) : fakeOfType(attribute.type, fill);
}

/** `${aws_x.y.attr[0].sub}` alone: a value another resource's state holds. */
const PURE_REFERENCE = /^\$\{([a-z][a-z0-9_]*\.[A-Za-z0-9_-]+(?:\[\d+\])?(?:\.[A-Za-z0-9_]+|\[\d+\])+)\}$/;

/**
 * What the configuration says an unknown value is: a literal as written, a pure reference (or a
 * list of them) as the referenced state value, anything else (a function call, an interpolation
 * inside text) undefined, for a fake that the next round corrects.
 */
function fromConfig(fill: Fill): Json | undefined {
  const config = fill.config;
  if (config === undefined) return undefined;
  if (typeof config === "string") {
    const reference = PURE_REFERENCE.exec(config);
    if (reference) return fill.resolve(reference[1]);
    return config.includes("${") ? undefined : config;
  }
  if (Array.isArray(config)) {
    const items = config.map((item) => fromConfig({ ...fill, config: item }));
    return items.every((item) => item !== undefined) ? (items as Json[]) : undefined;
  }
  return JSON.stringify(config).includes("${") ? undefined : config;
}

/**
 * The known planned value, with each unknown part taken from the previous state (a stable fake
 * from an earlier round), else from the configuration, else a fresh fake.
 */
function completeValue(value: Json | undefined, unknown: Json | undefined, previous: Json | undefined, fresh: () => Json): Json {
  if (unknown === true) return previous !== undefined ? previous : fresh();
  if (Array.isArray(unknown) && Array.isArray(value)) {
    return value.map((item, i) => completeValue(item, unknown[i], Array.isArray(previous) ? previous[i] : undefined, () => null));
  }
  if (isObject(unknown) && isObject(value)) {
    // An unknown key of an object is missing from the known value: the union keeps it.
    const keys = [...new Set([...Object.keys(value), ...Object.keys(unknown).filter((key) => unknown[key] === true)])];
    return Object.fromEntries(keys.map((key) => [key, completeValue(value[key], unknown[key], isObject(previous) ? previous[key] : undefined, () => null)]));
  }
  return value === undefined ? null : value;
}

function completeBlock(value: Json | undefined, unknown: Json | undefined, block: SchemaBlock, fill: Fill, previous: Json | undefined): JsonObject {
  const own = isObject(value) ? value : {};
  const unknownOwn = unknown === true ? true : isObject(unknown) ? unknown : {};
  const prior = isObject(previous) ? previous : {};
  const out: JsonObject = {};
  for (const [name, attribute] of Object.entries(block.attributes ?? {})) {
    const at = step(fill, name);
    const u = unknownOwn === true ? true : unknownOwn[name];
    out[name] = completeValue(own[name] as Json | undefined, u as Json | undefined, prior[name] as Json | undefined, () => fromConfig(at) ?? fakeAttribute(attribute, at));
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const at = step(fill, name);
    const u = unknownOwn === true ? true : unknownOwn[name];
    const v = own[name] as Json | undefined;
    const p = prior[name] as Json | undefined;
    const single = nested.nesting_mode === "single" || nested.nesting_mode === "group";
    if (u === true) {
      const fresh = () => completeBlock({}, true, nested.block, single ? at : step(at, 0), undefined);
      out[name] = p !== undefined ? p : single ? fresh() : (nested.min_items ?? 0) > 0 ? [fresh()] : [];
    } else if (single) {
      out[name] = v === null || v === undefined ? null : completeBlock(v, u, nested.block, at, p);
    } else if (nested.nesting_mode === "map") {
      const entries = isObject(v) ? Object.entries(v) : [];
      out[name] = Object.fromEntries(entries.map(([key, item]) => [key, completeBlock(item as Json, isObject(u) ? (u[key] as Json) : undefined, nested.block, step(at, key), isObject(p) ? (p[key] as Json) : undefined)]));
    } else {
      const items = Array.isArray(v) ? v : [];
      // A set's order in the plan need not be the configuration's: only a list keeps its config.
      out[name] = items.map((item, i) => completeBlock(item, Array.isArray(u) ? u[i] : undefined, nested.block, nested.nesting_mode === "list" ? step(at, i) : { ...step(at, i), config: undefined }, Array.isArray(p) ? p[i] : undefined));
    }
  }
  return out;
}

/** `aws_x.y["k"]` -> `aws_x.y`, the configuration's address of an instance. */
const configAddress = (change: RawResourceChange) => (change.index === undefined ? change.address : change.address.slice(0, change.address.lastIndexOf("[")));

type StateValues = Map<string, JsonObject>;

/** The synthesized resources by address, without cdktn's metadata. */
function configsOf(stackJson: string): Map<string, Json> {
  const parsed = JSON.parse(stackJson) as { resource?: Record<string, Record<string, JsonObject>> };
  const configs = new Map<string, Json>();
  for (const [type, byName] of Object.entries(parsed.resource ?? {})) {
    for (const [name, config] of Object.entries(byName)) configs.set(`${type}.${name}`, config);
  }
  return configs;
}

/** Follows `a.0.b` through a value. */
function walk(value: Json | undefined, path: readonly string[]): Json | undefined {
  let node = value;
  for (const key of path) {
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (isObject(node)) node = node[key] as Json;
    else return undefined;
  }
  return node;
}

/** The state values a plan describes, unknowns filled as above. */
function valuesFromPlan(plan: PlanJson, stackJson: string, schemas: ProviderSchemasJson, previous: StateValues): StateValues {
  const configs = configsOf(stackJson);
  const changes = new Map((plan.resource_changes ?? []).filter((c) => c.mode === "managed" && !(c.change.actions.length === 1 && c.change.actions[0] === "delete")).map((c) => [c.address, c]));
  const values: StateValues = new Map();
  const inProgress = new Set<string>();

  const valueOf = (address: string): JsonObject | undefined => {
    const known = values.get(address);
    if (known || inProgress.has(address)) return known;
    const change = changes.get(address);
    if (!change) return undefined;
    const schema = schemas.provider_schemas[change.provider_name]?.resource_schemas[change.type];
    if (!schema) throw new Error(`no schema for ${change.type} in ${change.provider_name}`);
    inProgress.add(address);
    const fill: Fill = { address, path: [], config: configs.get(configAddress(change)), resolve };
    const value = completeBlock(change.change.after, change.change.after_unknown, schema.block, fill, previous.get(address));
    inProgress.delete(address);
    values.set(address, value);
    return value;
  };

  function resolve(reference: string): Json | undefined {
    // aws_x.y.attr.sub or aws_x.y[0].attr
    const match = /^([a-z][a-z0-9_]*\.[A-Za-z0-9_-]+(?:\[\d+\])?)((?:\.[A-Za-z0-9_]+|\[\d+\])+)$/.exec(reference);
    if (!match) return undefined;
    const path = match[2].replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
    return walk(valueOf(match[1]), path);
  }

  for (const address of changes.keys()) valueOf(address);
  return values;
}

/**
 * The state's `sensitive_attributes`: the paths the plan marks sensitive (`after_sensitive`). A
 * state without them differs from the plan in its marks only, and Terraform plans an update.
 */
function sensitivePaths(marks: Json | undefined, path: JsonObject[] = []): JsonObject[][] {
  if (marks === true) return [path];
  if (Array.isArray(marks)) return marks.flatMap((mark, i) => sensitivePaths(mark, [...path, { type: "index", value: { value: i, type: "number" } }]));
  if (isObject(marks)) return Object.entries(marks).flatMap(([key, mark]) => sensitivePaths(mark as Json, [...path, { type: "get_attr", value: key }]));
  return [];
}

/** A Terraform state (format version 4) holding the values, for a plan to start from. */
function stateOf(plan: PlanJson, schemas: ProviderSchemasJson, values: StateValues, lineage: string, serial: number): JsonObject {
  const resources = new Map<string, { mode: string; module?: string; type: string; name: string; provider: string; instances: JsonObject[] }>();
  for (const change of plan.resource_changes ?? []) {
    const attributes = values.get(change.address);
    if (change.mode !== "managed" || !attributes) continue;
    const key = `${change.module_address ?? ""}|${configAddress(change)}`;
    const config = plan.configuration?.root_module?.resources?.find((r) => r.address === configAddress(change));
    const alias = config?.provider_config_key?.split(".")[1];
    const resource = resources.get(key) ?? {
      mode: "managed",
      ...(change.module_address ? { module: change.module_address } : {}),
      type: change.type,
      name: change.name,
      provider: `provider["${change.provider_name}"]${alias ? `.${alias}` : ""}`,
      instances: [],
    };
    resource.instances.push({
      ...(change.index !== undefined ? { index_key: change.index } : {}),
      schema_version: schemas.provider_schemas[change.provider_name].resource_schemas[change.type].version,
      attributes,
      sensitive_attributes: sensitivePaths(change.change.after_sensitive) as unknown as Json[],
    });
    resources.set(key, resource);
  }
  return { version: 4, terraform_version: plan.terraform_version, serial, lineage, outputs: {}, resources: [...resources.values()] as unknown as Json[] };
}

// ---------------------------------------------------------------------------------------------
// Outcomes

export type Action = "no-op" | "create" | "update" | "delete" | "replace" | "read";

export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  /** Terraform's own list: ["delete", "create"], or ["create", "delete"] under create_before_destroy. */
  readonly actions: readonly string[];
  /** Attribute paths that force the replacement, e.g. `vpc_config.0.subnet_ids`. */
  readonly replacePaths: readonly string[];
  /** Terraform's `action_reason`, e.g. `replace_because_cannot_update`. */
  readonly reason?: string;
  /** The address the resource had before, when a `moved` block moved it. */
  readonly movedFrom?: string;
  /** Top-level arguments whose planned value differs (unknown counts as different); only with details. */
  readonly changedAttributes?: readonly string[];
}

export type Refusal = "prevent_destroy" | "validation";

export type PlanOutcome =
  | { readonly kind: "planned"; readonly changes: readonly ResourceChange[] }
  | { readonly kind: "refused"; readonly by: Refusal; readonly diagnostics: readonly Diagnostic[] };

function actionOf(actions: readonly string[]): Action {
  if (actions.length === 2) return "replace";
  return actions[0] as Action;
}

function changedAttributesOf(change: RawResourceChange["change"]): string[] {
  const before = change.before ?? {};
  const after = change.after ?? {};
  const unknown = isObject(change.after_unknown) ? change.after_unknown : {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => unknown[key] === true || JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
}

function changesOf(plan: PlanJson): ResourceChange[] {
  return (plan.resource_changes ?? [])
    .filter((change) => change.mode === "managed")
    .map((change) => ({
      address: change.address,
      type: change.type,
      action: actionOf(change.change.actions),
      actions: change.change.actions,
      replacePaths: (change.change.replace_paths ?? []).map((path) => path.join(".")),
      ...(change.action_reason ? { reason: change.action_reason } : {}),
      ...(change.previous_address ? { movedFrom: change.previous_address } : {}),
      ...(change.change.actions.includes("update") ? { changedAttributes: changedAttributesOf(change.change) } : {}),
    }));
}

/** The streamed messages as changes: actions and reasons, no values (no replace among them). */
const STREAMED_ACTIONS: Readonly<Record<string, Action>> = { noop: "no-op", move: "no-op", create: "create", update: "update", delete: "delete", replace: "replace", read: "read" };

function changesStreamed(streamed: readonly StreamedChange[]): ResourceChange[] {
  return streamed.map((change) => {
    const action = STREAMED_ACTIONS[change.action];
    if (!action) throw new Error(`unexpected planned_change action ${change.action} for ${change.address}`);
    return {
      address: change.address,
      type: change.type,
      action,
      actions: [action],
      replacePaths: [],
      ...(change.reason ? { reason: change.reason } : {}),
      ...(change.movedFrom ? { movedFrom: change.movedFrom } : {}),
    };
  });
}

/** Addresses per action, sorted, without the no-ops: the shape assertions and reports read. */
export function summarize(outcome: PlanOutcome): Partial<Record<Action, string[]>> | { refused: Refusal; diagnostics: string[] } {
  if (outcome.kind === "refused") return { refused: outcome.by, diagnostics: outcome.diagnostics.map((d) => `${d.address ?? ""} ${d.summary}`.trim()) };
  const summary: Partial<Record<Action, string[]>> = {};
  for (const change of outcome.changes) {
    if (change.action === "no-op") continue;
    (summary[change.action] ??= []).push(change.address);
  }
  for (const list of Object.values(summary)) list.sort();
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Baseline and the change

export interface Baseline {
  /** The state the BEFORE stack plans no change against. */
  readonly state: JsonObject;
  /** Plans it took to reach it (the last one plans no change). */
  readonly rounds: number;
  readonly resources: number;
}

const MAX_ROUNDS = Number(process.env.PLAN_CHANGES_MAX_ROUNDS ?? 8);
const baselines = new Map<string, Promise<Baseline>>();

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

function failure(what: string, errors: readonly Diagnostic[]): Error {
  return new Error(`${what}:\n${errors.map((d) => `  ${d.address ?? ""} ${d.summary}: ${d.detail ?? ""}`).join("\n")}`);
}

/**
 * The BEFORE stack without `prevent_destroy`: while the fakes settle, a round may plan to replace
 * a protected resource (its fake key ARN differs from the real reference), which is no change
 * the BEFORE stack makes and must not stop the rounds. It decides nothing else in a plan.
 */
function withoutPreventDestroy(stackJson: string): string {
  const config = JSON.parse(stackJson) as { resource?: Record<string, Record<string, { lifecycle?: { prevent_destroy?: boolean } }>> };
  for (const byName of Object.values(config.resource ?? {})) {
    for (const resource of Object.values(byName)) delete resource.lifecycle?.prevent_destroy;
  }
  return JSON.stringify(config);
}

async function buildBaseline(stackJson: string): Promise<Baseline> {
  const ws = workspace(withoutPreventDestroy(stackJson), "tf-baseline");
  const schemas = await schemasFor(ws, stackJson);
  const first = await planIn(ws, () => true);
  if (!first.plan) throw failure("the BEFORE stack does not plan offline", first.errors);
  const lineage = randomUUID();
  let values = valuesFromPlan(first.plan, stackJson, schemas, new Map());
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const state = stateOf(first.plan, schemas, values, lineage, round);
    writeFileSync(join(ws.dir, "terraform.tfstate"), JSON.stringify(state));
    const next = await planIn(ws, (streamed) => streamed.some((c) => c.action !== "noop"));
    if (next.errors.length > 0) throw failure(`the BEFORE stack does not plan against its own state (round ${round})`, next.errors);
    if (!next.plan) {
      // Every resource planned no-op: the state is what the BEFORE stack describes.
      discard(ws);
      return { state, rounds: round + 1, resources: values.size };
    }
    const pending = changesOf(next.plan).filter((change) => change.action !== "no-op");
    if (pending.length === 0) {
      discard(ws);
      return { state, rounds: round + 1, resources: values.size };
    }
    if (process.env.PLAN_CHANGES_DEBUG) {
      writeFileSync(join(ws.dir, `round-${round}.json`), JSON.stringify(next.plan));
      console.log(`round ${round} (${ws.dir}):\n${pending.map((c) => `  ${c.address} ${c.action} [${c.replacePaths.join(",")}] ${(c.changedAttributes ?? []).join(",")}`).join("\n")}`);
    }
    if (round === MAX_ROUNDS) throw new Error(`no fixed point after ${MAX_ROUNDS} rounds; still changing: ${pending.map((c) => `${c.address} ${c.action} ${c.replacePaths.join(",")}`).join("; ")}`);
    values = valuesFromPlan(next.plan, stackJson, schemas, values);
  }
  throw new Error("unreachable");
}

/** The baseline of a BEFORE stack, built once per run however many changes start from it. */
export function baselineOf(beforeStackJson: string): Promise<Baseline> {
  const key = digest(beforeStackJson);
  let cached = baselines.get(key);
  if (!cached) {
    cached = buildBaseline(beforeStackJson);
    baselines.set(key, cached);
  }
  return cached;
}

/** Removes a workspace once read (PLAN_CHANGES_KEEP=1 keeps them for a look). */
function discard(ws: Workspace): void {
  if (!process.env.PLAN_CHANGES_KEEP) rmSync(ws.dir, { recursive: true, force: true });
}

/**
 * What the provider plans for the AFTER stack against the BEFORE stack's baseline. The values
 * (`show -json`) are read when a resource is replaced (for `replace_paths`) or `details` asks for
 * the changed arguments of updates.
 */
export async function providerAnswer(beforeStackJson: string, afterStackJson: string, options: { details?: boolean } = {}): Promise<PlanOutcome> {
  const baseline = await baselineOf(beforeStackJson);
  const ws = workspace(afterStackJson, "tf-after");
  writeFileSync(join(ws.dir, "terraform.tfstate"), JSON.stringify(baseline.state));
  const run = await planIn(ws, (streamed) => options.details === true || streamed.some((c) => c.action === "replace"));
  discard(ws);
  if (run.errors.length > 0) {
    const preventDestroy = run.errors.some((d) => /prevent_destroy/.test(`${d.summary} ${d.detail ?? ""}`));
    return { kind: "refused", by: preventDestroy ? "prevent_destroy" : "validation", diagnostics: run.errors };
  }
  return { kind: "planned", changes: run.plan ? changesOf(run.plan) : changesStreamed(run.streamed) };
}
