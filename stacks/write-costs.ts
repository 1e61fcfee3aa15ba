/**
 * Writing the stack JSON (issue 12, "Speed"). cdktf 0.21 writes each stack's `cdk.tf.json` with
 * json-stable-stringify 1.3.0 (lib/synthesize/synthesizer.js `StackSynthesizer.synthesize`:
 * `stringify(jsonTfConfig, { space: 2 })`), whose generic per-node work (a replacer call, the
 * indent rebuilt character by character, a linear scan of the open objects, `join` per
 * container) was 0.9 s of the 13.9 s CPU profile of 60 tenants (`stringify` and `groupOutput`).
 * `stableJson` writes the same text, as that function does with `{ space: 2 }` and no other
 * option: `toJSON` applied, keys in `Array.prototype.sort` order, an undefined or function member
 * left out of an object and `null` in an array, an empty container as `{`/`[`, newline, indent,
 * `}`/`]`, and a cycle refused (synth-costs.test.ts compares both on every stack and edge case).
 * `StackSynthesizer.synthesize` still runs whole (aspects, validations, annotations, custom
 * synthesis, the folder); only the stack file is written here instead.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
// `require` form: the patch must reach the class every stack's `synthesizer` is made from.
import synthesizer = require("cdktf/lib/synthesize/synthesizer");

const SPACE = "  ";
const indents: string[] = [];
const indentOf = (level: number): string => (indents[level] ??= `\n${SPACE.repeat(level)}`);

/** json-stable-stringify 1.3.0 with `{ space: 2 }`: the same text. */
export function stableJson(value: unknown): string | undefined {
  const open = new Set<object>();
  const write = (input: unknown, level: number): string | undefined => {
    let node = input;
    if (node && typeof (node as { toJSON?: unknown }).toJSON === "function") node = (node as { toJSON: () => unknown }).toJSON();
    if (node === undefined) return undefined;
    if (typeof node !== "object" || node === null) return JSON.stringify(node) as string | undefined;
    const inner = indentOf(level + 1);
    if (Array.isArray(node)) {
      let out = "[";
      for (let i = 0; i < node.length; i++) out += `${i === 0 ? "" : ","}${inner}${write(node[i], level + 1) || "null"}`;
      return `${out}${indentOf(level)}]`;
    }
    if (open.has(node)) throw new TypeError("Converting circular structure to JSON");
    open.add(node);
    const map = node as Record<string, unknown>;
    let out = "{";
    let first = true;
    for (const key of Object.keys(map).sort()) {
      const item = write(map[key], level + 1);
      if (!item) continue;
      out += `${first ? "" : ","}${inner}${JSON.stringify(key)}: ${item}`;
      first = false;
    }
    open.delete(node);
    return `${out}${indentOf(level)}}`;
  };
  return write(value, 0);
}

interface Session {
  readonly outdir: string;
  readonly manifest: { forStack(stack: TerraformStack): { readonly synthesizedStackPath: string } };
}
interface Synthesizer {
  readonly stack: TerraformStack;
  readonly hclOutput: boolean;
  synthesize(session: Session): void;
}

const INSTALLED = Symbol.for("oss-data-platform:stable-json-writer");

/** Makes every stack's synthesis write its JSON with `stableJson`; the rest of cdktf's synthesis unchanged. */
export function installStableJsonWriter(): void {
  const prototype = synthesizer.StackSynthesizer.prototype as unknown as Synthesizer & { [INSTALLED]?: true };
  if (prototype[INSTALLED]) return;
  prototype[INSTALLED] = true;
  const { synthesize } = prototype;
  prototype.synthesize = function (this: Synthesizer, session: Session) {
    if (this.hclOutput) return synthesize.call(this, session);
    const stack = this.stack;
    const own = Object.prototype.hasOwnProperty.call(stack, "toTerraform");
    const toTerraform = stack.toTerraform;
    let json: unknown;
    // cdktf's synthesize writes the (empty) stand-in; the stack's real JSON is written below.
    stack.toTerraform = () => {
      json = toTerraform.call(stack);
      return {};
    };
    try {
      synthesize.call(this, session);
    } finally {
      if (own) stack.toTerraform = toTerraform;
      else delete (stack as { toTerraform?: unknown }).toTerraform;
    }
    writeFileSync(join(session.outdir, session.manifest.forStack(stack).synthesizedStackPath), stableJson(json) as string);
  };
}
