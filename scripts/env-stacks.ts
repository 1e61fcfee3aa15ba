/**
 * `npm run deploy -- <env>` and `npm run diff -- <env>`: `cdktn deploy` / `cdktn diff` of one
 * environment's stacks, one at a time in apply order (infra, infra-<cloud>, apps). A stack that
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
    const output = outputsOf(producer)[crossing.name];
    if (output === undefined) throw new Error(`${stackName(env, kind)} needs the output ${crossing.name} of ${producer}, which has none: deploy ${producer} first`);
    values[crossing.name] = output.value;
  }
  return values;
}

/** A stack's outputs, by `terraform output -json` in its synthesized directory (initialized by cdktn deploy). */
function terraformOutputs(stack: string): StackOutputs {
  const result = spawnSync("terraform", [`-chdir=${join(COMMITTED_OUTPUT_DIR, "stacks", stack)}`, "output", "-json"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`terraform output of ${stack} failed: ${result.stderr.trim().split("\n")[0]}; deploy ${stack} first`);
  return JSON.parse(result.stdout) as StackOutputs;
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
  "usage: npm run deploy -- <env> [cdktn options] | npm run diff -- <env> [cdktn options]",
  "",
  "`cdktn deploy` / `cdktn diff` of one environment's stacks, infra before apps (scripts/env-stacks.ts);",
  "options after <env> go to cdktn (cdktn-cli, Node 22.19 or newer). The pull-request gate",
  "(synthesized/ against a fresh synth) is `npm run stack-diff` (tsx main.ts diff --help).",
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
  // One stack at a time, so a stack's received values are read after its producer applied. The
  // var-file is the process's own (0600 in a 0700 directory), not `-var`, which `ps` shows.
  const varFiles = mkdtempSync(join(tmpdir(), "crossings-"));
  try {
    for (const kind of stackKindsOf(env)) {
      const stack = stackName(env, kind);
      let variables: Record<string, unknown>;
      try {
        variables = crossingVariables(env, kind, terraformOutputs);
      } catch (error) {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exit(1);
      }
      const varFile = join(varFiles, `${stack}.tfvars.json`);
      if (Object.keys(variables).length > 0) writeFileSync(varFile, JSON.stringify(variables), { mode: 0o600 });
      const withVars = Object.keys(variables).length > 0 ? [`--var-file=${varFile}`] : [];
      const result = spawnSync("npx", ["cdktn", command, stack, ...withVars, ...extra], { stdio: "inherit" });
      if (result.status !== 0) process.exit(result.status ?? 1);
    }
  } finally {
    rmSync(varFiles, { recursive: true, force: true });
  }
}
