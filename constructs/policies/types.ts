/**
 * The policy pack's vocabulary. A rule is a pure function over the SYNTHESIZED resources of a
 * stack (the JSON cdktn writes and Terraform reads), so it checks what Terraform will get, not
 * what a construct meant to produce. Modelled on cdk-nag: rules grouped in packs, each with a
 * fix, and a suppression needs a written reason (see constructs/core/spec.ts `policy`).
 */
import type { Cloud, Environment } from "../core/spec";

/** One resource block as it appears in the stack JSON. */
export type Block = Record<string, unknown>;

/** The parts of a synthesized stack the rules read. */
export interface StackJson {
  readonly "//"?: Record<string, unknown>;
  readonly resource?: Record<string, Record<string, Block>>;
  readonly [key: string]: unknown;
}

export type StackKind = "infra" | "apps" | "gitops";

export const PACKS = ["encryption", "network-exposure", "data-protection", "logging", "identity", "kubernetes", "reliability"] as const;
export type Pack = (typeof PACKS)[number];

/** What a check knows besides the resource: the whole stack, and whose stack it is. */
export interface PolicyContext {
  readonly stack: StackJson;
  readonly stackName: string;
  readonly kind: StackKind;
  /** The environment the stack belongs to (none for the gitops stack). */
  readonly env?: Environment;
  /** The cloud of the stack's resources: an `<env>-infra-<cloud>` stack's own. @default the environment's cloud */
  readonly cloud?: Cloud;
}

/**
 * One cloud's (or the cluster's) implementation of a rule: the resource types it reads and a
 * pure function returning what is wrong with one of them (empty when compliant).
 */
export interface RuleCheck {
  /** The cloud whose stacks it reads; "any" for the apps stacks on every cloud and the gitops stack. */
  readonly cloud: Cloud | "any";
  readonly kind: StackKind;
  readonly types: readonly string[];
  readonly check: (resource: Block, ctx: PolicyContext, id: string) => readonly string[];
  /**
   * Written but not enforced yet: the current output does not meet it (issue 11's findings,
   * fixed in parallel). The lead removes this after merging the fix; README lists it as pending.
   */
  readonly pending?: string;
}

export interface Rule {
  /** Stable id, used in suppressions and messages: kebab-case, the same on every cloud. */
  readonly id: string;
  readonly pack: Pack;
  readonly title: string;
  /** Only in production environments. */
  readonly productionOnly?: boolean;
  /** How to fix a violation, in one sentence. */
  readonly fix: string;
  /** Why a cloud has no check for this rule (shown in the README's table; a cloud without a check needs one). */
  readonly elsewhere?: Partial<Readonly<Record<Cloud, string>>>;
  /**
   * The spec waiver that exempts one database, bucket or the AKS cluster from this rule, with its written reason
   * (`databases[].waivers.<name>`, `buckets[].waivers.<name>`, `cluster.azure.waivers.<name>`): the pack then records the
   * resource's problems as waived instead of failing (constructs/policies/waivers.ts).
   */
  readonly waiver?: RuleWaiver;
  readonly checks: readonly RuleCheck[];
}

/** The spec's waiver names (constructs/core/spec.ts): `databases[].waivers`, `buckets[].waivers`, `cluster.azure.waivers`. */
type DatabaseWaiver = keyof Environment["databases"][number]["waivers"];
type BucketWaiver = keyof Environment["buckets"][number]["waivers"];
type ClusterWaiver = keyof NonNullable<NonNullable<Environment["cluster"]["azure"]>["waivers"]>;
export type RuleWaiver = (
  | { readonly of: "databases"; readonly name: DatabaseWaiver }
  | { readonly of: "buckets"; readonly name: BucketWaiver }
  | { readonly of: "cluster"; readonly name: ClusterWaiver }
) & {
  /** The problems the waiver covers (default: every problem of the rule on the resource). */
  readonly covers?: (problem: string) => boolean;
};

/** `a.b.c` (numbers index arrays; a one-item array is stepped into as the provider's block). */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const { key, index } of stepsOf(path)) {
    if (Array.isArray(current) && !index) current = current.length === 1 ? current[0] : undefined;
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * A path's keys, split once: the rules ask for a few hundred distinct paths millions of times
 * (splitting and testing each call was 0.19 s of a 60-tenant profile).
 */
function stepsOf(path: string): readonly { readonly key: string; readonly index: boolean }[] {
  let steps = pathSteps.get(path);
  if (steps === undefined) {
    steps = path.split(".").map((key) => ({ key, index: /^\d+$/.test(key) }));
    // Bounded, should a caller ever build paths from data.
    if (pathSteps.size >= 4096) pathSteps.clear();
    pathSteps.set(path, steps);
  }
  return steps;
}
const pathSteps = new Map<string, readonly { readonly key: string; readonly index: boolean }[]>();

/**
 * The contexts `checkStack` made for its run: their stack does not change while the run lasts, so
 * a value derived from the whole stack (every Kubernetes object of its releases, read by a rule
 * for each namespace, role or ingress it checks) is computed once per run with `perRun`. Any
 * other context (a test that edits a stack between two checks) computes it each time.
 */
const runMemos = new WeakMap<PolicyContext, Map<object, unknown>>();

export function startRun(ctx: PolicyContext): void {
  runMemos.set(ctx, new Map());
}

/** `compute()`, once per `checkStack` run and `key`; callers treat the result as read-only. */
export function perRun<T>(ctx: PolicyContext, key: object, compute: () => T): T {
  const memo = runMemos.get(ctx);
  if (memo === undefined) return compute();
  if (!memo.has(key)) memo.set(key, compute());
  return memo.get(key) as T;
}

/** The resources of a type in a stack, by logical id. */
export function resourcesOf(stack: StackJson, type: string): [string, Block][] {
  return Object.entries(stack.resource?.[type] ?? {});
}

/** Whether `value` (an attribute of another resource) references `<type>.<id>`. */
export function references(value: unknown, type: string, id: string): boolean {
  return JSON.stringify(value ?? null).includes(`${type}.${id}.`) || JSON.stringify(value ?? null).includes(`${type}.${id}"`);
}

/** The resources of `type` whose attribute `attribute` references `<ownType>.<id>`. */
export function companions(ctx: PolicyContext, type: string, attribute: string, ownType: string, id: string): Block[] {
  return resourcesOf(ctx.stack, type)
    .filter(([, block]) => references(at(block, attribute), ownType, id))
    .map(([, block]) => block);
}

/** A problem when `actual` is not `expected`, naming the attribute. */
export function expectValue(resource: Block, path: string, expected: unknown): string[] {
  const actual = at(resource, path);
  return actual === expected ? [] : [`${path} is ${JSON.stringify(actual) ?? "not set"}, needs ${JSON.stringify(expected)}`];
}

/** Several `expectValue`s at once. */
export function expectValues(resource: Block, expected: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(expected).flatMap(([path, value]) => expectValue(resource, path, value));
}

export const preventsDestroy = (resource: Block) => at(resource, "lifecycle.prevent_destroy") === true;

/** Parses a JSON policy document attribute; Terraform expressions inside stay text. */
export function policyDocument(value: unknown): { Statement?: Block[] } {
  if (typeof value !== "string") return {};
  try {
    return JSON.parse(quoteBareInterpolations(value)) as { Statement?: Block[] };
  } catch {
    return {};
  }
}

/**
 * `text` with each Terraform interpolation that stands as a JSON value on its own (a list only
 * Terraform knows, `"aws:SourceIp":${jsonencode(...)}`: constructs/aws/context.ts `policyDocument`)
 * made a JSON string, so the document parses and that value reads as its expression.
 */
function quoteBareInterpolations(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      out += char;
      if (char === "\\") out += text[++i] ?? "";
      else if (char === '"') inString = false;
    } else if (char === "$" && text[i + 1] === "{") {
      let depth = 0;
      let end = i + 1;
      for (; end < text.length; end++) {
        if (text[end] === "{") depth++;
        else if (text[end] === "}" && --depth === 0) break;
      }
      out += JSON.stringify(text.slice(i, end + 1));
      i = end;
    } else {
      inString = char === '"';
      out += char;
    }
  }
  return out;
}

export const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
