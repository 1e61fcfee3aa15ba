import { App, TerraformStack } from "cdktn";
// `require` form: the patch below must reach the module's own export, which terraform-stack.js reads at each call.
import tokens = require("cdktn/lib/_tokens");
import { invokeAspects } from "cdktn/lib/synthesize/synthesizer";
import type { IConstruct } from "constructs";
import { SpecError, type SpecIssue } from "../constructs/core/errors";
import type { Cloud, Environment, SourceOf } from "../constructs/core/spec";
import { checkStack, formatViolation, RULE_IDS, resourceAddresses, type StackJson, type StackKind, type StackResult, type Suppression, type Violation } from "../constructs/policies";
import { SpecErrors } from "../constructs/core/spec";

/**
 * cdktn's own validations of a synth (each construct's `node.validate()`, as
 * `TerraformStack.runAllValidations` and `App.synth` run them: lib/terraform-stack.js,
 * lib/app.js), found before anything is written: one line each, `[<construct path>] <message>`.
 */
export class FrameworkValidations extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "FrameworkValidations";
  }
}

/** What `app.synth()` would refuse in cdktn's validations, after the stacks were resolved (target-version checks read what resolving recorded). */
export function frameworkValidationProblems(app: App, stacks: Iterable<TerraformStack>): string[] {
  const ofNode = (node: IConstruct) => node.node.validate().map((message) => `[${node.node.path || "app"}] ${message}`);
  return [...[...stacks].flatMap((stack) => stack.node.findAll().flatMap(ofNode)), ...ofNode(app)];
}

/** Policy violations of a synth: one line each; nothing is written. */
export class PolicyViolations extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(violations.map(formatViolation).join("\n"));
    this.name = "PolicyViolations";
  }
}

/** The environment, kind and cloud of a stack of `buildApp` (the infra and apps stacks carry their environment, an `<env>-infra-<cloud>` stack its cloud). */
function ownerOf(stack: TerraformStack): { env?: Environment; kind: StackKind; cloud?: Cloud } {
  const { env, foreignCloud } = stack as TerraformStack & { env?: Environment; foreignCloud?: Cloud };
  const kind = env === undefined ? "gitops" : stack.node.id === `${env.name}-apps` ? "apps" : "infra";
  return { env, kind, ...(foreignCloud === undefined ? {} : { cloud: foreignCloud }) };
}

/**
 * The JSON of every stack in one resolve pass instead of cdktn's two, or undefined when a stack
 * refers to another's resource. cdktn 0.24's `prepareStack` (lib/terraform-stack.js) resolves
 * every element once in "preparing" mode and throws the result away; the only thing that mode
 * does (lib/tfExpression.js, `Reference.resolve`: the one reader of `context.preparing`) is to
 * turn a reference to another stack's resource into an output there and a remote state here
 * (`App.crossStackReference`); `toTerraform` then resolves every element again. Our stacks make
 * no such reference (each reads the others through data sources), so `toTerraform` resolves in
 * preparing mode directly, after the backend and aspects `prepareStack` and `app.synth()` would
 * apply: the same JSON for the third of synth time the first pass cost (issue 12, "Speed"). If
 * a cross-stack reference is made anyway, the result is dropped: cdktn's two passes run as before
 * (registering a reference twice returns the same output and remote state). cdktn also records,
 * during that resolve, the Terraform functions each stack renders, for its target-version checks
 * (`_runPreparingResolve` clears the record first, then resolves; tfExpression.js records in any
 * mode): the stacks here are fresh, so the one pass leaves the same record the two would.
 */
function inOnePass(stacks: readonly TerraformStack[]): Map<TerraformStack, StackJson> | undefined {
  const { resolve } = tokens;
  const { crossStackReference } = App.prototype;
  let crossed = false;
  tokens.resolve = (scope, obj) => resolve(scope, obj, true);
  App.prototype.crossStackReference = function (this: App, ...args: Parameters<App["crossStackReference"]>) {
    crossed = true;
    return crossStackReference.apply(this, args);
  };
  try {
    const json = new Map(
      stacks.map((stack) => {
        stack.ensureBackendExists();
        invokeAspects(stack);
        return [stack, stack.toTerraform() as StackJson];
      }),
    );
    return crossed ? undefined : json;
  } finally {
    tokens.resolve = resolve;
    App.prototype.crossStackReference = crossStackReference;
  }
}

/** The synthesized JSON of every stack of `app`, computed as `app.synth()` would (backends, aspects). */
export function synthesizedStacks(app: App): Map<TerraformStack, StackJson> {
  // Every stack `app.synth()` writes (cdktn lib/app.js: `node.findAll()`), nested ones included.
  const stacks = app.node.findAll().filter((node: IConstruct): node is TerraformStack => TerraformStack.isStack(node));
  const fast = inOnePass(stacks);
  if (fast !== undefined) return fast;
  for (const stack of stacks) stack.prepareStack();
  return new Map(
    stacks.map((stack) => {
      invokeAspects(stack);
      return [stack, stack.toTerraform() as StackJson];
    }),
  );
}

/** The spec's suppressions that do not hold: an address not in the environment's stacks, or a rule that passes there. */
function suppressionIssues(env: Environment, stacks: readonly StackJson[], applied: readonly Suppression[]): SpecIssue[] {
  const addresses = new Set(stacks.flatMap(resourceAddresses));
  return (env.policy?.suppressions ?? []).flatMap((suppression, index) => {
    if (applied.includes(suppression)) return [];
    const path = `policy.suppressions[${index}]`;
    if (!addresses.has(suppression.resource.split("#")[0])) {
      const type = suppression.resource.split(".")[0];
      const sameType = [...addresses].filter((address) => address.startsWith(`${type}.`));
      const accepted = sameType.length > 0 ? `one of ${sameType.slice(0, 5).join(", ")}${sameType.length > 5 ? ", ..." : ""}` : "the address of a resource in this environment's synthesized stacks";
      return [{ path: `${path}.resource`, message: `given ${JSON.stringify(suppression.resource)}; accepted: ${accepted}` }];
    }
    return [{ path, message: `given rule ${suppression.rule} for ${suppression.resource}, which passes it; accepted: a suppression only where the rule fails (remove this one)` }];
  });
}

/**
 * Runs cdktn's validations and the policy pack over every stack of `app` before anything is
 * written. Throws FrameworkValidations, PolicyViolations (one line per violation) or SpecErrors
 * (a suppression that does not hold);
 * otherwise records the applied suppressions and spec waivers in each stack's `"//"` metadata (Terraform ignores
 * it; reviewers see it in the pull request) and makes `app.synth()` write the JSON checked here.
 */
export function enforcePolicies(app: App, envs: readonly Environment[], sourceOf: SourceOf = () => undefined): void {
  const synthesized = synthesizedStacks(app);
  const invalid = frameworkValidationProblems(app, synthesized.keys());
  if (invalid.length > 0) throw new FrameworkValidations(invalid);
  const results = new Map<TerraformStack, StackResult>();
  for (const [stack, json] of synthesized) {
    const { env, kind, cloud } = ownerOf(stack);
    results.set(stack, checkStack(json, { stackName: stack.node.id, kind, env, ...(cloud === undefined ? {} : { cloud }) }, env?.policy?.suppressions ?? []));
  }
  const specProblems = envs.flatMap((env, index) => {
    const own = [...synthesized.keys()].filter((stack) => ownerOf(stack).env === env);
    // An environment not built here (`synth --only` another) is checked when it is built.
    if (own.length === 0) return [];
    const applied = own.flatMap((stack) => results.get(stack)?.suppressed ?? []).map(({ rule, resource }) => env.policy?.suppressions.find((s) => s.rule === rule && s.resource === resource) as Suppression);
    const issues = suppressionIssues(env, own.map((stack) => synthesized.get(stack) as StackJson), applied);
    return issues.length === 0 ? [] : [new SpecError(env.name, issues, sourceOf(index))];
  });
  if (specProblems.length > 0) throw new SpecErrors(specProblems);
  const violations = [...results.values()].flatMap((result) => result.violations);
  if (violations.length > 0) throw new PolicyViolations(violations);
  for (const [stack, json] of synthesized) {
    const suppressed = results.get(stack)?.suppressed ?? [];
    const waived = results.get(stack)?.waived ?? [];
    const policy = {
      ...(suppressed.length === 0 ? {} : { suppressed: suppressed.map(({ rule, resource, reason, problems }) => ({ rule, resource, reason, problems })) }),
      ...(waived.length === 0 ? {} : { waived: waived.map(({ rule, resource, waiver, reason, problems }) => ({ rule, resource, waiver, reason, problems })) }),
    };
    const recorded: StackJson = Object.keys(policy).length === 0 ? json : { ...json, "//": { ...json["//"], policy } };
    // app.synth() would prepare the stack and compute the same JSON again: it writes the one
    // checked here (the stack was prepared above; preparing adds cross-stack outputs once).
    stack.toTerraform = () => recorded;
    stack.prepareStack = () => undefined;
  }
}

/** Whether a rule id exists (for the spec check of `policy.suppressions[].rule`). */
export const isRuleId = (id: string) => RULE_IDS.includes(id);
