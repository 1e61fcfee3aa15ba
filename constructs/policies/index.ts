/**
 * The policy pack: every rule the README promises, as pure functions over the synthesized stack
 * JSON, run at synth over every stack (stacks/policy.ts). A violation fails synth; a spec may
 * suppress one rule for one resource with a written reason (spec `policy.suppressions`).
 */
import { DATA_PROTECTION } from "./packs/data-protection";
import { ENCRYPTION } from "./packs/encryption";
import { IDENTITY } from "./packs/identity";
import { KUBERNETES } from "./packs/kubernetes";
import { LOGGING } from "./packs/logging";
import { NETWORK_EXPOSURE } from "./packs/network-exposure";
import { RELIABILITY } from "./packs/reliability";
import { resourcesOf, startRun, type Block, type PolicyContext, type Rule, type RuleCheck, type StackJson } from "./types";
import { waiverFor, type AppliedWaiver } from "./waivers";

export * from "./types";
export { waiverFor, type AppliedWaiver } from "./waivers";

/** Every rule, pack by pack. */
export const RULES: readonly Rule[] = [...ENCRYPTION, ...NETWORK_EXPOSURE, ...DATA_PROTECTION, ...LOGGING, ...IDENTITY, ...KUBERNETES, ...RELIABILITY];

export const RULE_IDS: readonly string[] = RULES.map((rule) => rule.id);

/** A rule waived for one resource of one environment, with the reason (spec `policy.suppressions[]`). */
export interface Suppression {
  readonly rule: string;
  /**
   * The resource's Terraform address, `<type>.<logical id>`, as in the synthesized stack; or one
   * Kubernetes object of it, `<address>#<Kind>/<namespace>/<name>` (a release carries many).
   */
  readonly resource: string;
  readonly reason: string;
}

export interface Violation {
  readonly stack: string;
  readonly resource: string;
  readonly rule: Rule;
  readonly problem: string;
}

export interface StackResult {
  readonly violations: Violation[];
  /** Suppressions that silenced at least one problem, with what they silenced. */
  readonly suppressed: (Suppression & { readonly problems: readonly string[] })[];
  /** Spec waivers (`databases[].waivers`, `buckets[].waivers`) that exempted a resource, with what they exempted. */
  readonly waived: Waived[];
}

/** A rule a spec waiver exempted one resource from. */
export interface Waived extends AppliedWaiver {
  readonly rule: string;
  readonly resource: string;
  readonly problems: readonly string[];
}

export interface CheckOptions {
  /** Also run the checks marked pending (tests and the lead's enabling run). */
  readonly includePending?: boolean;
  /** Only these rules (tests). */
  readonly rules?: readonly Rule[];
}

/** Whether `check` of `rule` runs on a stack with this context. */
function runs(rule: Rule, check: RuleCheck, ctx: Omit<PolicyContext, "stack">, includePending: boolean): boolean {
  if (check.pending !== undefined && !includePending) return false;
  if (check.kind !== ctx.kind) return false;
  if (check.cloud !== "any" && check.cloud !== (ctx.cloud ?? ctx.env?.cloud)) return false;
  return !rule.productionOnly || ctx.env?.production === true;
}

/** Every problem of one check over one stack, by resource address. */
export function checkProblems(check: RuleCheck, ctx: PolicyContext): { resource: string; type: string; block: Block; problem: string }[] {
  return check.types.flatMap((type) =>
    resourcesOf(ctx.stack, type).flatMap(([id, block]) => check.check(block, ctx, id).map((problem) => ({ resource: `${type}.${id}`, type, block, problem }))),
  );
}

/**
 * Whether a suppression covers a problem of `resource`: the same address, or
 * `<address>#<Kind>/<namespace>/<name>` and a problem about that Kubernetes object (the rules name
 * the object first: `<Kind> <namespace>/<name>`).
 */
export function suppresses(suppression: Suppression, rule: string, resource: string, problem: string): boolean {
  const [address, object] = suppression.resource.split("#");
  if (suppression.rule !== rule || address !== resource) return false;
  if (object === undefined) return true;
  const [kind, namespace, ...name] = object.split("/");
  const subject = `${kind} ${namespace ?? ""}/${name.join("/")}`;
  return problem === subject || problem.startsWith(`${subject}:`) || problem.startsWith(`${subject} `);
}

/** Runs the pack over one synthesized stack; `suppressions` are its environment's. */
export function checkStack(stack: StackJson, context: Omit<PolicyContext, "stack">, suppressions: readonly Suppression[] = [], options: CheckOptions = {}): StackResult {
  const ctx: PolicyContext = { ...context, stack };
  startRun(ctx);
  const violations: Violation[] = [];
  const suppressed = new Map<Suppression, string[]>();
  const waived = new Map<string, Waived>();
  for (const rule of options.rules ?? RULES) {
    for (const check of rule.checks) {
      if (!runs(rule, check, context, options.includePending === true)) continue;
      for (const { resource, type, block, problem } of checkProblems(check, ctx)) {
        // A spec waiver first (the constructs read the same field, so the resource is as the spec asked), then a suppression.
        const waiver = waiverFor(rule, type, block, ctx, problem);
        const suppression = suppressions.find((s) => suppresses(s, rule.id, resource, problem));
        if (waiver) {
          const key = `${rule.id} ${resource}`;
          const before = waived.get(key);
          waived.set(key, { rule: rule.id, resource, ...waiver, problems: [...(before?.problems ?? []), problem] });
        } else if (suppression) suppressed.set(suppression, [...(suppressed.get(suppression) ?? []), problem]);
        else violations.push({ stack: context.stackName, resource, rule, problem });
      }
    }
  }
  return { violations, suppressed: [...suppressed].map(([suppression, problems]) => ({ ...suppression, problems })), waived: [...waived.values()] };
}

/** The Terraform addresses of a stack's resources. */
export function resourceAddresses(stack: StackJson): string[] {
  return Object.entries(stack.resource ?? {}).flatMap(([type, blocks]) => Object.keys(blocks).map((id) => `${type}.${id}`));
}

/** One line per violation: the stack, the resource, the rule and how to fix it. */
export function formatViolation(violation: Violation): string {
  return `${violation.stack}: ${violation.resource}: ${violation.rule.id} (${violation.rule.title}): ${violation.problem}. Fix: ${violation.rule.fix}; or suppress it for this resource in the spec's policy.suppressions with a reason.`;
}
