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
 * stacks/commonjs-dependencies.ts puts it in the place of the json-stable-stringify cdktf's
 * synthesizer requires, for that call only; everything else cdktf does is unchanged. This file
 * imports nothing, so that happens before cdktf loads.
 */

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
