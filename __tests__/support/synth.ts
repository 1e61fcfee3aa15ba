import { Testing } from "cdktn";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { specChecks } from "../../stacks/app";
import { InfraStack } from "../../stacks/infra";

export type TfBlock = Record<string, unknown>;

/** The synthesized Terraform JSON of one stack, with typed lookups for assertions. */
export class SynthesizedStack {
  readonly json: { resource?: Record<string, Record<string, TfBlock>>; provider?: Record<string, TfBlock[]>; terraform?: TfBlock; output?: Record<string, TfBlock> };

  constructor(readonly text: string) {
    this.json = JSON.parse(text);
  }

  /** Every resource of a type, keyed by logical id. */
  resources(type: string): Record<string, TfBlock> {
    return this.json.resource?.[type] ?? {};
  }

  /** The resources of a type as a list. */
  all(type: string): TfBlock[] {
    return Object.values(this.resources(type));
  }

  /** The only resource of a type; fails when there is not exactly one. */
  one(type: string): TfBlock {
    const found = this.all(type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
  }

  /** The resource of a type whose logical id contains `fragment` (or matches it). */
  find(type: string, fragment: string | RegExp): TfBlock {
    const matches = Object.entries(this.resources(type)).filter(([id]) => (typeof fragment === "string" ? id.includes(fragment) : fragment.test(id)));
    if (matches.length !== 1) throw new Error(`expected one ${type} matching "${fragment}", found ${matches.map(([id]) => id).join(", ") || "none"}`);
    return matches[0][1];
  }

  /**
   * Parses a JSON-encoded attribute such as an IAM policy. Terraform expressions inside it
   * (`${replace(x, "https://", "")}`) keep their text, with their quotes made single.
   */
  static policy(block: TfBlock, attribute = "policy"): { Statement: TfBlock[] } {
    return JSON.parse(String(block[attribute]).replace(/\$\{[^}]*\}/g, (expression) => expression.replace(/"/g, "'")));
  }
}

/** Synthesizes the infra stack of a spec, as `npm run synth` would. */
export function synthInfra(input: EnvironmentInput): SynthesizedStack {
  const app = Testing.app();
  const stack = new InfraStack(app, parseEnvironment(input, specChecks));
  return new SynthesizedStack(Testing.synth(stack));
}
