/**
 * `npm run deploy -- <env>` and `npm run diff -- <env>`: `cdktn deploy` / `cdktn diff` of one
 * environment's stacks, one at a time in apply order (infra, infra-<cloud>, apps; infra again
 * right after an infra-<cloud> whose VPN tunnels it receives, `applyOrder`). A stack that
 * receives values from another (`crossingsOf`: an EKS issuer, NAT addresses, an Azure client id)
 * gets them in a `-var-file` read from the producer's `terraform output -json`. An unknown
 * environment, or a Node the cdktn CLI does not run on, is one clear error.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import semver = require("semver");
import type { StackKind } from "../constructs/core/crossings";
import type { Environment } from "../constructs/core/spec";
import { crossingsOf } from "../constructs/platform";
import { stackKindsOf, stackName } from "../stacks/backend";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { findEnvironment } from "./find-environment";

/** The environment's stacks in dependency order. */
export function stacksOf(envName: string): string[] {
  const env = findEnvironment(envName);
  return stackKindsOf(env).map((kind) => stackName(env, kind));
}

/** `terraform output -json` of a stack: each output's value under its name. */
export type StackOutputs = Readonly<Record<string, { readonly value: unknown }>>;

/**
 * The variables `kind` receives from the environment's other stacks, from their outputs: the
 * contents of its `-var-file`. A producer without the output has not applied yet: one message
 * naming it, instead of a plan that prompts for the value.
 */
export function crossingVariables(env: Environment, kind: StackKind, outputsOf: (stack: string) => StackOutputs): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const crossing of crossingsOf(env).filter((one) => one.to === kind)) {
    const producer = stackName(env, crossing.from);
    // A value a second apply receives (the VPN's tunnels) is left at its default `[]` while its
    // producer has no such output (never applied: `terraform output -json` prints `{}`); a failure
    // to read the producer's outputs fails the run, never empties the tunnels.
    const output = outputsOf(producer)[crossing.name];
    if (output === undefined && crossing.secondApply) continue;
    if (output === undefined) throw new Error(`${stackName(env, kind)} needs the output ${crossing.name} of ${producer}, which has none: deploy ${producer} first`);
    values[crossing.name] = output.value;
  }
  return values;
}

/**
 * The stacks a deploy applies, in order: `kinds`, each followed by the earlier ones that receive a
 * value from it (`Crossing.secondApply`: the cluster side of a VPN again, once the other side's
 * tunnels exist, before `<env>-apps`, whose database jobs go through them).
 */
export function applyOrder(env: Environment, kinds: readonly StackKind[]): StackKind[] {
  const secondApplies = crossingsOf(env).filter((crossing) => crossing.secondApply);
  const receivesFrom = (earlier: StackKind, kind: StackKind) => secondApplies.some((crossing) => crossing.to === earlier && crossing.from === kind);
  return kinds.flatMap((kind, index) => [kind, ...kinds.slice(0, index).filter((earlier) => receivesFrom(earlier, kind))]);
}

/**
 * A stack's outputs, by `terraform init` and `terraform output -json` in its synthesized directory
 * (each `cdktn deploy` synthesizes again and removes `.terraform`). With Terraform Cloud this reads
 * the workspace's state, which works for a VCS-driven workspace too (no run is started).
 */
function terraformOutputs(stack: string): StackOutputs {
  const dir = `-chdir=${join(COMMITTED_OUTPUT_DIR, "stacks", stack)}`;
  const init = spawnSync("terraform", [dir, "init", "-input=false", "-no-color"], { encoding: "utf8" });
  const result = init.status === 0 ? spawnSync("terraform", [dir, "output", "-json", "-no-color"], { encoding: "utf8" }) : init;
  if (result.status !== 0) {
    const error = result.stderr.split("\n").find((line) => line.includes("Error:")) ?? result.stderr.trim().split("\n")[0];
    throw new Error(`terraform output of ${stack} failed (${error.trim()})`);
  }
  return JSON.parse(result.stdout) as StackOutputs;
}

export interface StackRunner {
  /** Runs `npx cdktn <args>`; returns its exit status. */
  readonly cdktn: (args: readonly string[]) => number;
  /** A stack's outputs from its state: right after it ran here, or for a producer not run here. */
  readonly outputsOf: (stack: string) => StackOutputs;
  /** Where the var-files go (a private directory the caller removes). */
  readonly varFileDir: string;
}

/**
 * Which of the environment's stacks a run takes: all, the infra ones (`--infra`), or one (`--only
 * <stack>`, its name after `<env>-`: `infra`, `infra-<cloud>` or `apps`).
 */
export type StackSelection = { readonly infraOnly?: boolean; readonly only?: string };

/** What `--only` names a stack by: its name after `<env>-` (the kind, unless the cluster left its home: `stackName`). */
const onlyName = (env: Environment, kind: StackKind): string => stackName(env, kind).slice(env.name.length + 1);

/**
 * `cdktn <command>` on each stack of the environment in apply order, one at a time, so a stack's
 * received values (`crossingVariables`) are read after its producer applied. `infraOnly` stops
 * before `<env>-apps` (the Terraform Cloud bootstrap, README "Delivery", step 2); `only` runs one
 * stack, reading its producers' outputs from their state (the bootstrap of an `<env>-infra-<cloud>`
 * whose producer Terraform Cloud already runs). Each deploy names one stack, so cdktn-cli's check
 * that a stack's dependencies are in the same run is turned off (`--ignore-missing-stack-
 * dependencies`: they were deployed before). Returns the exit status: 0, or the first failure's.
 */
export function runEnvironment(env: Environment, command: "deploy" | "diff", extra: readonly string[], selection: StackSelection, runner: StackRunner): number {
  // Each producer's outputs, read right after its command ran or, for one not run here, from its state.
  const outputs = new Map<string, StackOutputs | Error>();
  const outputsOf = (producer: string): StackOutputs => {
    const read = outputs.get(producer) ?? readOutputs(producer);
    outputs.set(producer, read);
    if (read instanceof Error) throw read;
    return read;
  };
  const readOutputs = (stack: string): StackOutputs | Error => {
    try {
      return runner.outputsOf(stack);
    } catch (error) {
      return new Error(`${(error as Error).message}: deploy ${stack} first`);
    }
  };
  const kinds = stackKindsOf(env).filter((one) => (selection.only === undefined ? !selection.infraOnly || one !== "apps" : onlyName(env, one) === selection.only));
  if (kinds.length === 0) {
    process.stderr.write(`--only: given "${selection.only}"; accepted: ${stackKindsOf(env).map((kind) => onlyName(env, kind)).join(", ")} (the stacks of ${env.name})\n`);
    return 2;
  }
  for (const kind of command === "deploy" ? applyOrder(env, kinds) : kinds) {
    const stack = stackName(env, kind);
    let variables: Record<string, unknown>;
    try {
      variables = crossingVariables(env, kind, outputsOf);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 1;
    }
    const varFile = join(runner.varFileDir, `${stack}.tfvars.json`);
    const withVars = Object.keys(variables).length > 0 ? [`--var-file=${varFile}`] : [];
    if (withVars.length > 0) writeFileSync(varFile, JSON.stringify(variables), { mode: 0o600 });
    const status = runner.cdktn([command, stack, ...(command === "deploy" ? ["--ignore-missing-stack-dependencies"] : []), ...withVars, ...extra]);
    if (status !== 0) return status;
    if (crossingsOf(env).some((crossing) => crossing.from === kind)) outputs.set(stack, readOutputs(stack));
  }
  // One stack deployed alone whose values another receives on a second apply: say which to run next.
  const only = selection.only === undefined ? undefined : kinds[0];
  if (command === "deploy" && only !== undefined) {
    const receivers = new Set(crossingsOf(env).filter((crossing) => crossing.secondApply && crossing.from === only).map((crossing) => crossing.to));
    for (const kind of receivers) process.stdout.write(`${stackName(env, kind)} receives values from ${stackName(env, only)} on a second apply: run --only ${onlyName(env, kind)} next\n`);
  }
  return 0;
}

/**
 * Why the cdktn CLI cannot run on Node `version`, or undefined when it can. cdktn-cli declares the
 * Node it needs in its package.json `engines` (0.24.0: >=22.19.0); on Node 20 it stops before
 * doing anything with "markAsUncloneable is not a function" (its bundled undici calls a Node 22
 * API), so this says so first. Synth, validate and the tests run on Node 20 as well (README, Node).
 */
export function cliNodeProblem(version: string): string | undefined {
  const cli = JSON.parse(readFileSync(require.resolve("cdktn-cli/package.json"), "utf8")) as { version: string; engines: { node: string } };
  if (semver.satisfies(version, cli.engines.node)) return undefined;
  return `cdktn-cli ${cli.version} needs Node ${cli.engines.node}; given Node ${version}. Run npm run deploy / diff with Node 22 (synth, validate and npm test also run on Node 20)`;
}

const USAGE = [
  "usage: npm run deploy -- <env> [--infra | --only <stack>] [cdktn options] | npm run diff -- <env> [...]",
  "",
  "`cdktn deploy` / `cdktn diff` of one environment's stacks, one at a time in apply order (the",
  "cluster's, the other clouds', apps), each given the values it receives from the stacks before it",
  "in a -var-file (scripts/env-stacks.ts). --infra: the infra stacks only (the Terraform Cloud",
  "bootstrap); --only <stack>: one stack, by its name after <env>- (infra, infra-<cloud> or apps),",
  "its received values read from the state. Other options after <env> go to cdktn (cdktn-cli, Node",
  "22.19 or newer). The pull-request gate (synthesized/ against a fresh synth) is",
  "`npm run stack-diff` (tsx main.ts diff --help).",
  "",
].join("\n");

if (require.main === module) {
  const [command, envName, ...extra] = process.argv.slice(2);
  if (envName === "--help" || envName === "-h") {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if ((command !== "deploy" && command !== "diff") || envName === undefined || envName.startsWith("-")) {
    const given = envName === undefined ? "" : `error: the first argument is the environment; given "${envName}"\n`;
    process.stderr.write(`${given}${USAGE}`);
    process.exit(2);
  }
  let env: Environment;
  try {
    env = findEnvironment(envName);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const nodeProblem = cliNodeProblem(process.versions.node);
  if (nodeProblem !== undefined) {
    process.stderr.write(`${nodeProblem}\n`);
    process.exit(2);
  }
  // The var-files are the process's own (0600 in a 0700 directory), not `-var`, which `ps` shows.
  const varFileDir = mkdtempSync(join(tmpdir(), "crossings-"));
  try {
    const onlyAt = extra.indexOf("--only");
    const rest = extra.filter((arg, index) => arg !== "--infra" && (onlyAt < 0 || (index !== onlyAt && index !== onlyAt + 1)));
    process.exitCode = runEnvironment(env, command, rest, { infraOnly: extra.includes("--infra"), only: onlyAt >= 0 ? (extra[onlyAt + 1] ?? "") : undefined }, {
      cdktn: (args) => spawnSync("npx", ["cdktn", ...args], { stdio: "inherit" }).status ?? 1,
      outputsOf: terraformOutputs,
      varFileDir,
    });
  } finally {
    rmSync(varFileDir, { recursive: true, force: true });
  }
}
