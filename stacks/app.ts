import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "./commonjs-dependencies";
import "./synth-costs";
import { App } from "cdktn";
import { userValuesSpecProblems } from "../constructs/apps/user-values";
import { CLOUDS, eachKnown, parseEnvironments, SpecErrors, type Environment, type ExtraChecks, type SourceOf } from "../constructs/core/spec";
import { RULE_IDS } from "../constructs/policies";
import { enforcePolicies, FrameworkValidations, isRuleId, PolicyViolations } from "./policy";
import { cloudSpecProblems, placementProblems } from "../constructs/platform";
import { SpecError } from "../constructs/core/errors";
import { AppsStack } from "./apps";
import { FRAMEWORK_CONTEXT, stackKindsOf, stackName, type StackKind } from "./backend";
import { GitopsStack } from "./gitops";
import { ForeignInfraStack, InfraStack } from "./infra";
import { parseGitops } from "../constructs/core/gitops";

/**
 * The checks of each environment's cloud, run in the spec pass with the spec's own: a problem
 * only one cloud has is reported with the file and with every other problem, before any stack
 * is built.
 */
export const specChecks: ExtraChecks = (env, report) => {
  cloudSpecProblems(env, report, env.terraformCloud ? stackKindsOf(env).map((kind) => stackName(env, kind)) : []);
  placementProblems(env, report);
  eachKnown(env.apps, (app, index) => userValuesSpecProblems(app, ["apps", index], report));
  (env.policy?.suppressions ?? []).forEach((suppression, index) => {
    if (!isRuleId(suppression.rule)) report(["policy", "suppressions", index, "rule"], suppression.rule, `a rule id of the policy pack (README, Policy pack): ${RULE_IDS.join(", ")}`);
  });
};

/**
 * Builds the stacks of every environment into an app, and the gitops stack when environments
 * use Terraform Cloud and delivery settings are given; throws SpecError(s) on a bad spec.
 */
export function buildApp(inputs: readonly unknown[], outdir: string, gitopsInput?: unknown, sourceOf?: SourceOf): App {
  return buildStacks(inputs, outdir, gitopsInput, sourceOf).app;
}

/** The name of the stack of Terraform Cloud workspaces (stacks/gitops.ts), which `--only` may name. */
export const GITOPS_STACK = "gitops";

/** How much of the fleet a synth builds. */
export interface SynthOptions {
  /**
   * Environment names (and `gitops` for the workspaces' stack): only their stacks are built,
   * checked by the policy pack and written; every spec is still parsed and checked against the
   * others. The stacks of other environments stay as written; the gitops stack is rebuilt when
   * named or when a named environment is deployed by Terraform Cloud.
   */
  readonly only?: readonly string[];
  /** No summary line on stdout (`diff` writes Markdown there). */
  readonly quiet?: boolean;
}

/** An `only` name that is neither an environment nor the gitops stack: a usage error (exit 2). */
export class UnknownEnvironments extends Error {
  constructor(readonly unknown: readonly string[], accepted: readonly string[]) {
    super(`unknown environment${unknown.length === 1 ? "" : "s"} ${unknown.map((name) => `"${name}"`).join(", ")} in --only; accepted: ${accepted.join(", ")}`);
    this.name = "UnknownEnvironments";
  }
}

/** `buildApp`, also returning the parsed environments (in the order of `inputs`). */
export function buildStacks(inputs: readonly unknown[], outdir: string, gitopsInput?: unknown, sourceOf?: SourceOf, options: SynthOptions = {}): { app: App; envs: Environment[] } {
  const envs = parseEnvironments(inputs, sourceOf, specChecks);
  const gitops = gitopsInput === undefined ? undefined : parseGitops(gitopsInput);
  if (gitops !== undefined && envs.some((env) => env.terraformCloud) && !envs.find((env) => env.name === gitops.deployedFrom)?.terraformCloud) {
    throw new SpecError("gitops", [
      { path: "deployedFrom", message: `given "${gitops.deployedFrom}"; accepted: an environment with terraformCloud (${envs.filter((e) => e.terraformCloud).map((e) => e.name).join(", ")})` },
    ]);
  }
  const hasGitops = gitops !== undefined && envs.some((env) => env.terraformCloud);
  const only = options.only === undefined ? undefined : new Set(options.only);
  if (only !== undefined) {
    const accepted = [...envs.map((env) => env.name), ...(hasGitops ? [GITOPS_STACK] : [])];
    const unknown = [...only].filter((name) => !accepted.includes(name));
    if (unknown.length > 0) throw new UnknownEnvironments(unknown, accepted);
  }
  const app = new App({ outdir, context: FRAMEWORK_CONTEXT });
  for (const [index, env] of envs.entries()) {
    if (only !== undefined && !only.has(env.name)) continue;
    const infra = new InfraStack(app, env);
    const foreign = stackKindsOf(env).flatMap((kind) => (kind === "infra" || kind === "apps" ? [] : [new ForeignInfraStack(app, env, kind)]));
    for (const stack of foreign) stack.addDependency(infra);
    if (stackKindsOf(env).includes("apps")) {
      const apps = new AppsStack(app, env, { environments: envs, source: sourceOf?.(index) });
      for (const stack of [infra, ...foreign]) apps.addDependency(stack);
    }
  }
  // The workspaces of a named environment deployed by Terraform Cloud are in the gitops stack, so
  // it is rebuilt with it: a tenant added and synthesized alone gets its workspaces.
  const gitopsNamed = only === undefined || only.has(GITOPS_STACK) || envs.some((env) => only.has(env.name) && env.terraformCloud !== undefined);
  if (hasGitops && gitopsNamed) new GitopsStack(app, gitops, envs);
  return { app, envs };
}

/**
 * Validates every environment, builds the stacks, runs the policy pack over them and synthesizes
 * them. Returns the process exit code; a spec problem or a policy violation is printed as one
 * line per issue, without a stack trace, and nothing is written.
 */
export function synthesize(inputs: readonly unknown[], outdir: string, gitops?: unknown, sourceOf?: SourceOf, options: SynthOptions = {}): number {
  const outdirExisted = existsSync(outdir);
  try {
    const { app, envs } = buildStacks(inputs, outdir, gitops, sourceOf, options);
    enforcePolicies(app, envs, sourceOf);
    // Only what this synth writes: a stack of a renamed or removed environment, or a file left
    // beside a stack (an override Terraform would read), disappears and shows in git. With
    // `only`, that is the named environments' stacks (also a kind they no longer have); the
    // manifest keeps every other stack's entry, so it still lists the whole fleet.
    const stacksDir = join(outdir, "stacks");
    const built = app.node.children.map((child) => child.node.id);
    const kinds: StackKind[] = ["infra", ...CLOUDS.map((cloud): StackKind => `infra-${cloud}`), "apps"];
    const rebuilt = options.only === undefined ? undefined : new Set([...built, ...options.only.flatMap((name) => (name === GITOPS_STACK ? [name] : kinds.map((kind) => `${name}-${kind}`)))]);
    const kept = rebuilt === undefined ? {} : keptManifestEntries(outdir, rebuilt);
    if (existsSync(stacksDir)) {
      for (const entry of readdirSync(stacksDir)) if (rebuilt === undefined || rebuilt.has(entry)) rmSync(join(stacksDir, entry), { recursive: true, force: true });
    }
    Object.assign(app.manifest.stacks, kept);
    app.synth();
    if (!options.quiet) process.stdout.write(`synthesized ${built.length} stacks into ${outdir}: ${built.join(", ")}\n`);
    return 0;
  } catch (error) {
    // cdktn's App creates its outdir on construction; a spec error found while building the
    // stacks must not leave an empty one behind.
    if (!outdirExisted) rmSync(outdir, { recursive: true, force: true });
    return reportProblems(error, "nothing was written");
  }
}

/**
 * `validate`: everything `synthesize` checks (every spec, the checks across environments, the
 * policy pack over every stack), without writing. Returns 0, or 1 with one line per problem.
 */
export function validate(inputs: readonly unknown[], gitops?: unknown, sourceOf?: SourceOf): number {
  try {
    const { app, envs } = checkStacks(inputs, gitops, sourceOf);
    process.stdout.write(`valid: ${envs.length} environments, ${app.node.children.length} stacks, no spec problem or policy violation\n`);
    return 0;
  } catch (error) {
    return reportProblems(error, "nothing would be written");
  }
}

/** Builds the stacks in a temporary directory and runs the policy pack over them; throws what `synthesize` reports. */
export function checkStacks(inputs: readonly unknown[], gitops?: unknown, sourceOf?: SourceOf, options: SynthOptions = {}): { app: App; envs: Environment[] } {
  const outdir = mkdtempSync(join(tmpdir(), "validate-"));
  try {
    const built = buildStacks(inputs, outdir, gitops, sourceOf, options);
    enforcePolicies(built.app, built.envs, sourceOf);
    return built;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Prints a user's mistake as one line per problem (exit code 1, or 2 for a usage error); rethrows anything else. */
export function reportProblems(error: unknown, outcome: string): number {
  if (error instanceof UnknownEnvironments) {
    process.stderr.write(`synth: ${error.message}\n`);
    return 2;
  }
  if (!(error instanceof SpecErrors || error instanceof SpecError || error instanceof PolicyViolations || error instanceof FrameworkValidations)) throw error;
  if (error instanceof FrameworkValidations) {
    for (const problem of error.problems) process.stderr.write(`validation: ${problem}\n`);
    process.stderr.write(`${error.problems.length} cdktn validation${error.problems.length === 1 ? "" : "s"} failed; ${outcome}\n`);
  } else if (error instanceof PolicyViolations) {
    for (const line of error.message.split("\n")) process.stderr.write(`policy violation: ${line}\n`);
    process.stderr.write(`${error.violations.length} policy violation${error.violations.length === 1 ? "" : "s"}; ${outcome}\n`);
  } else process.stderr.write(`spec error: ${error.message}\n`);
  return 1;
}

/** The manifest entries of the stacks a synth with `only` does not rebuild, from the manifest already in `outdir`. */
function keptManifestEntries(outdir: string, rebuilt: ReadonlySet<string>): Record<string, unknown> {
  const file = join(outdir, "manifest.json");
  if (!existsSync(file)) return {};
  const stacks = (JSON.parse(readFileSync(file, "utf8")) as { stacks?: Record<string, unknown> }).stacks ?? {};
  return Object.fromEntries(Object.entries(stacks).filter(([name]) => !rebuilt.has(name) && existsSync(join(outdir, "stacks", name))));
}
