/**
 * `npm run deploy -- <env>` and `npm run diff -- <env>`: `cdktn deploy` / `cdktn diff` of one
 * environment's stacks, infra before apps. An unknown environment, or a Node the cdktn CLI does
 * not run on, is one clear error.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import semver = require("semver");
import { stackKindsOf, stackName } from "../stacks/backend";
import { findEnvironment } from "./find-environment";

/** The environment's stacks in dependency order. */
export function stacksOf(envName: string): string[] {
  const env = findEnvironment(envName);
  return stackKindsOf(env).map((kind) => stackName(env, kind));
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
  let stacks: string[];
  try {
    stacks = stacksOf(envName);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const nodeProblem = cliNodeProblem(process.versions.node);
  if (nodeProblem !== undefined) {
    process.stderr.write(`${nodeProblem}\n`);
    process.exit(2);
  }
  // cdktn diff takes one stack at a time; deploy takes them all and orders them itself.
  const runs = command === "deploy" ? [stacks] : stacks.map((stack) => [stack]);
  for (const run of runs) {
    const result = spawnSync("npx", ["cdktn", command, ...run, ...extra], { stdio: "inherit" });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
