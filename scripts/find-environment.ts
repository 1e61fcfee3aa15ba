import { environments } from "../environments";
import { parseEnvironments, type Environment } from "../constructs/core/spec";

/** A default environment by name; an unknown name is one clear error listing the accepted ones. */
export function findEnvironment(name: string): Environment {
  const envs = parseEnvironments(environments);
  const env = envs.find((candidate) => candidate.name === name);
  if (!env) throw new Error(`unknown environment "${name}"; accepted: ${envs.map((e) => e.name).join(", ")}`);
  return env;
}
