/**
 * `npm run deploy -- <env>` and `npm run diff -- <env>`: `cdktf deploy` / `cdktf diff` of one
 * environment's stacks, infra before apps. An unknown environment is one clear error.
 */
import { spawnSync } from "node:child_process";
import { stackKindsOf, stackName } from "../stacks/backend";
import { findEnvironment } from "./find-environment";

/** The environment's stacks in dependency order. */
export function stacksOf(envName: string): string[] {
  const env = findEnvironment(envName);
  return stackKindsOf(env).map((kind) => stackName(env, kind));
}

if (require.main === module) {
  const [command, envName, ...extra] = process.argv.slice(2);
  if ((command !== "deploy" && command !== "diff") || envName === undefined) {
    process.stderr.write("usage: npm run deploy -- <env> | npm run diff -- <env>\n");
    process.exit(2);
  }
  let stacks: string[];
  try {
    stacks = stacksOf(envName);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  // cdktf diff takes one stack at a time; deploy takes them all and orders them itself.
  const runs = command === "deploy" ? [stacks] : stacks.map((stack) => [stack]);
  for (const run of runs) {
    const result = spawnSync("npx", ["cdktf", command, ...run, ...extra], { stdio: "inherit" });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
