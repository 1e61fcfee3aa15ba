import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import "./synth-costs";
import { App } from "cdktf";
import { userValuesSpecProblems } from "../constructs/apps/user-values";
import { eachKnown, parseEnvironments, SpecErrors, type Environment, type ExtraChecks, type SourceOf } from "../constructs/core/spec";
import { RULE_IDS } from "../constructs/policies";
import { enforcePolicies, isRuleId, PolicyViolations } from "./policy";
import { cloudSpecProblems } from "../constructs/platform";
import { SpecError } from "../constructs/core/errors";
import { AppsStack } from "./apps";
import { stackKindsOf, stackName } from "./backend";
import { GitopsStack } from "./gitops";
import { InfraStack } from "./infra";
import { parseGitops } from "../constructs/core/gitops";

/**
 * The checks of each environment's cloud, run in the spec pass with the spec's own: a problem
 * only one cloud has is reported with the file and with every other problem, before any stack
 * is built.
 */
export const specChecks: ExtraChecks = (env, report) => {
  cloudSpecProblems(env, report, env.terraformCloud ? stackKindsOf(env).map((kind) => stackName(env, kind)) : []);
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

/** `buildApp`, also returning the parsed environments (in the order of `inputs`). */
export function buildStacks(inputs: readonly unknown[], outdir: string, gitopsInput?: unknown, sourceOf?: SourceOf): { app: App; envs: Environment[] } {
  const envs = parseEnvironments(inputs, sourceOf, specChecks);
  const gitops = gitopsInput === undefined ? undefined : parseGitops(gitopsInput);
  if (gitops !== undefined && envs.some((env) => env.terraformCloud) && !envs.find((env) => env.name === gitops.deployedFrom)?.terraformCloud) {
    throw new SpecError("gitops", [
      { path: "deployedFrom", message: `given "${gitops.deployedFrom}"; accepted: an environment with terraformCloud (${envs.filter((e) => e.terraformCloud).map((e) => e.name).join(", ")})` },
    ]);
  }
  const app = new App({ outdir });
  for (const [index, env] of envs.entries()) {
    const infra = new InfraStack(app, env);
    if (stackKindsOf(env).includes("apps")) new AppsStack(app, env, { environments: envs, source: sourceOf?.(index) }).addDependency(infra);
  }
  if (gitops !== undefined && envs.some((env) => env.terraformCloud)) new GitopsStack(app, gitops, envs);
  return { app, envs };
}

/**
 * Validates every environment, builds the stacks, runs the policy pack over them and synthesizes
 * them. Returns the process exit code; a spec problem or a policy violation is printed as one
 * line per issue, without a stack trace, and nothing is written.
 */
export function synthesize(inputs: readonly unknown[], outdir: string, gitops?: unknown, sourceOf?: SourceOf): number {
  const outdirExisted = existsSync(outdir);
  try {
    const { app, envs } = buildStacks(inputs, outdir, gitops, sourceOf);
    enforcePolicies(app, envs, sourceOf);
    // Only what this synth writes: a stack of a renamed or removed environment, or a file left
    // beside a stack (an override Terraform would read), disappears and shows in git.
    const stacksDir = join(outdir, "stacks");
    if (existsSync(stacksDir)) for (const entry of readdirSync(stacksDir)) rmSync(join(stacksDir, entry), { recursive: true, force: true });
    app.synth();
    const stacks = app.node.children.map((child) => child.node.id);
    process.stdout.write(`synthesized ${stacks.length} stacks into ${outdir}: ${stacks.join(", ")}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SpecErrors || error instanceof SpecError || error instanceof PolicyViolations)) throw error;
    // cdktf's App creates its outdir on construction; a spec error found while building the
    // stacks must not leave an empty one behind.
    if (!outdirExisted) rmSync(outdir, { recursive: true, force: true });
    if (error instanceof PolicyViolations) {
      for (const line of error.message.split("\n")) process.stderr.write(`policy violation: ${line}\n`);
      process.stderr.write(`${error.violations.length} policy violation${error.violations.length === 1 ? "" : "s"}; nothing was written\n`);
    } else process.stderr.write(`spec error: ${error.message}\n`);
    return 1;
  }
}
