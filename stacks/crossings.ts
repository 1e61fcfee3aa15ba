import { TerraformOutput, TerraformVariable, Token, type TerraformStack } from "cdktn";
import type { Crossing, ReceiveList, Receive, StackKind } from "../constructs/core/crossings";
import type { Environment } from "../constructs/core/spec";
import { crossingsOf } from "../constructs/platform";
import { stackName } from "./backend";

/**
 * The crossings `stack` (the environment's `kind`) receives, as Terraform variables created on
 * first use: no default (but `[]` for a crossing a second apply receives), not nullable, sensitive
 * where the value is a secret, and a validation whose message names the producing stack and its
 * output. Only crossings `crossingsOf(env)` lists are accepted, so Terraform Cloud's gitops
 * workspace and `npm run deploy` pass every variable a stack declares.
 */
export function receiverOf(stack: TerraformStack, env: Environment, kind: StackKind): { receive: Receive; receiveList: ReceiveList } {
  const variable = (crossing: Crossing, type: Crossing["type"]): TerraformVariable => {
    const listed = crossingsOf(env).find((one) => one.name === crossing.name && one.to === kind);
    if (listed === undefined || listed.type !== type) throw new Error(`${stackName(env, kind)}: ${crossing.name} (${type}) is no crossing into this stack (crossingsOf)`);
    const existing = stack.node.tryFindChild(crossing.name);
    if (existing instanceof TerraformVariable) return existing;
    const producer = stackName(env, crossing.from);
    return new TerraformVariable(stack, crossing.name, {
      type: crossing.type,
      nullable: false,
      ...(crossing.secondApply ? { default: [] } : {}),
      ...(crossing.sensitive ? { sensitive: true } : {}),
      description: `${crossing.description}: the output ${crossing.name} of ${producer}`,
      validation: [
        {
          condition: `\${${crossing.condition}}`,
          // A second apply's value may be absent (its default), so a refusal is a malformed value, not an order.
          errorMessage: `${crossing.name}: needs ${crossing.accepted}, the output ${crossing.name} of ${producer}${crossing.secondApply ? "" : `; apply ${producer} first`} (README, "${crossing.readme ?? "Buckets on another cloud"}").`,
        },
      ],
    });
  };
  return {
    receive: (crossing) => variable(crossing, "string").stringValue,
    receiveList: (crossing) => Token.asList(variable(crossing, "list(string)").listValue),
  };
}

/**
 * Publishes what `stack` (the environment's `kind`) produces for other stacks: one non-sensitive
 * output per crossing `crossingsOf(env)` lists from it, with the value `values` gives under its
 * name (values no crossing takes are not published). A crossing without a value is a bug, not a
 * silent gap.
 */
export function publish(stack: TerraformStack, env: Environment, kind: StackKind, values: Readonly<Record<string, string | readonly string[] | undefined>>): void {
  for (const crossing of crossingsOf(env).filter((one) => one.from === kind)) {
    // An output of that name already there (a database's host) is the crossing's, if it is one and as secret as the crossing.
    const existing = stack.node.tryFindChild(crossing.name);
    if (existing !== undefined) {
      if (!(existing instanceof TerraformOutput) || (crossing.sensitive === true && existing.sensitive !== true)) throw new Error(`${stackName(env, kind)}: ${crossing.name} is taken by something that is not ${crossing.sensitive ? "a sensitive" : "an"} output`);
      continue;
    }
    const value = values[crossing.name];
    if (value === undefined) throw new Error(`${stackName(env, kind)}: ${crossing.name} is received by ${stackName(env, crossing.to)} but has no value here`);
    new TerraformOutput(stack, crossing.name, { value, description: `${crossing.description} (received by ${stackName(env, crossing.to)})`, ...(crossing.sensitive ? { sensitive: true } : {}) });
  }
}
