/**
 * What `stacks/synth-costs.ts` takes out of synth, and what keeps the guarantees it replaces:
 * synth spawns no `terraform` and needs none, the output stays byte for byte the committed one,
 * Terraform itself refuses a version below the stacks' `required_version`, and tokens record no
 * creation stack unless asked to.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Fn, Lazy, TerraformElement, TerraformIterator, TerraformStack, TerraformVariable, Testing, Token } from "cdktn";
// `require` forms: cdktn's own modules, which stacks/resolve-costs.ts patches.
import encoding = require("cdktn/lib/tokens/private/encoding");
import tokenMapModule = require("cdktn/lib/tokens/private/token-map");
import "../stacks/synth-costs";
import { AppsStack } from "../stacks/apps";
import { InfraStack } from "../stacks/infra";
import { cdktnNextEscapeToken, cdktnResolve, plainResolve } from "../stacks/resolve-costs";
import { defaultEnvironments } from "./support/fixtures";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { terraformUnavailable } from "./support/terraform";

const TSX = join("node_modules", ".bin", "tsx");
const committedStacks = readdirSync(join(COMMITTED_OUTPUT_DIR, "stacks")).sort();
const stackText = (outdir: string, stack: string) => readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8");

describe("synth without terraform", () => {
  it("spawns no terraform, needs none, and writes the committed output (stacks and manifest) byte for byte", () => {
    const dir = mkdtempSync(join(tmpdir(), "synth-costs-"));
    // A `terraform` first on PATH that records every call: cdktn's version check used to run it once per check.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const calls = join(dir, "calls.log");
    writeFileSync(join(bin, "terraform"), `#!/bin/sh\necho "$*" >> ${calls}\necho "Terraform v1.11.4"\n`);
    chmodSync(join(bin, "terraform"), 0o755);
    const outdir = join(dir, "out");
    const result = spawnSync(TSX, ["main.ts", "synth"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CDKTF_OUTDIR: outdir } });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    expect(existsSync(calls) ? readFileSync(calls, "utf8") : "").toBe("");
    expect(readdirSync(join(outdir, "stacks")).sort()).toEqual(committedStacks);
    const texts = (root: string) => ({
      ...Object.fromEntries(committedStacks.map((stack) => [stack, stackText(root, stack)])),
      "manifest.json": readFileSync(join(root, "manifest.json"), "utf8"),
    });
    expect(texts(outdir)).toEqual(texts(COMMITTED_OUTPUT_DIR));
  });

  it("leaves the version check to Terraform: every stack pins required_version", () => {
    const required = committedStacks.map((stack) => (JSON.parse(stackText(COMMITTED_OUTPUT_DIR, stack)) as { terraform: { required_version?: string } }).terraform.required_version);
    expect(new Set(required)).toEqual(new Set([">= 1.11.0"]));
  });
});

const unavailable = terraformUnavailable();
if (unavailable) console.warn(`required_version check against terraform NOT RUN: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("terraform, the consumer of required_version", () => {
  it("enforces it at init: the constraint the stacks carry passes, one above the installed version is refused", () => {
    const init = (constraint: string) => {
      const dir = mkdtempSync(join(tmpdir(), "required-version-"));
      writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_version: constraint } }));
      return spawnSync("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" } });
    };
    expect(init(">= 1.11.0").status).toBe(0);
    // The consumer's refusal the stacks rely on: a Terraform older than the constraint stops at init.
    const refused = init(">= 99.0.0");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("Unsupported Terraform Core version");
  });
});

describe("token creation stacks", () => {
  it("are not recorded by default", () => {
    expect((Lazy.anyValue({ produce: () => 1 }) as unknown as { creationStack: string[] }).creationStack).toEqual([]);
  });

  it("are recorded with cdktn's own switch set to CDKTN_DISABLE_CREATION_STACK=0, for debugging a token error", () => {
    const script = 'import "./stacks/synth-costs"; import { Lazy } from "cdktn"; process.stdout.write(String((Lazy.anyValue({ produce: () => 1 }) as any).creationStack.length));';
    const result = spawnSync(TSX, ["--eval", script], { encoding: "utf8", env: { ...process.env, CDKTN_DISABLE_CREATION_STACK: "0" } });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    expect(Number(result.stdout)).toBeGreaterThan(0);
  });
});

/**
 * stacks/resolve-costs.ts against cdktn's own resolver (the reference: cdktn 0.24.0
 * lib/_tokens.js `resolve` with encoding.js's own `nextEscapeToken`), on every element of real
 * stacks and on values built to reach each branch of lib/tokens/private/resolve.js.
 */
describe("token resolver shortcuts", () => {
  const escapes = encoding.TokenString.prototype as unknown as { nextEscapeToken: unknown };
  const asCdktn = <T>(run: () => T): T => {
    const patched = escapes.nextEscapeToken;
    escapes.nextEscapeToken = cdktnNextEscapeToken;
    try {
      return run();
    } finally {
      escapes.nextEscapeToken = patched;
    }
  };
  const outcome = (run: () => unknown) => {
    try {
      return { value: run() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  // Both modes: synth resolves once with `preparing` on (stacks/policy.ts), tests and cdktn's second pass with it off.
  const bothAgree = (scope: TerraformStack, value: () => unknown) => {
    for (const preparing of [false, true]) {
      expect({ preparing, ...outcome(() => plainResolve(scope, value(), preparing)) }).toEqual({ preparing, ...asCdktn(() => outcome(() => cdktnResolve(scope, value(), preparing))) });
    }
  };

  it("resolve every element of an infra and an apps stack of each cloud's first default environment as cdktn does", () => {
    const envs = defaultEnvironments();
    const firstOfEachCloud = [...new Map(envs.map((env) => [env.cloud, env] as const)).values()];
    for (const env of firstOfEachCloud) {
      const app = Testing.app();
      const stacks = [new InfraStack(app, env), new AppsStack(app, env, { environments: envs })];
      for (const stack of stacks) {
        const elements = stack.node.findAll().filter((c): c is TerraformElement => c instanceof TerraformElement);
        expect(elements.length).toBeGreaterThan(0);
        for (const element of elements) bothAgree(stack, () => element.toTerraform());
      }
    }
  });

  it("resolve tokens, escapes, list, number and map tokens, undefined members and cdktn's errors as cdktn does", () => {
    const stack = new TerraformStack(Testing.app(), "shortcuts");
    const variable = new TerraformVariable(stack, "name", { type: "string" });
    const list = new TerraformVariable(stack, "list", { type: "list(string)" });
    const count = new TerraformVariable(stack, "count", { type: "number" });
    const lazy = Lazy.stringValue({ produce: () => `lazy-${variable.stringValue}` });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const values: Record<string, unknown> = {
      "plain object, array, undefined members": { a: [1, undefined, "x", [undefined, null, true]], b: undefined, c: { d: null, e: false, f: new Date(0) } },
      "a token in a long JSON string": JSON.stringify({ host: variable.stringValue, nested: { a: { b: "}" }, c: "${literal}" }, list: ["}", "{", "}}"] }, null, 2),
      "a token inside a literal escape": `\${upper(${variable.stringValue})} and } and \${ and ${lazy}`,
      "an escape with no token": "${env:MY_POD_IP} {{ $labels }} }",
      "a number token and a number-like string": [count.numberValue, `${Token.asString(count.numberValue)}x`, "1e5", "-e-", 1.5e300],
      "a list token": list.listValue,
      "a list token among strings": ["a", ...list.listValue],
      "a number list token": Token.asNumberList(list.listValue),
      "a map token": Token.asStringMap(variable.value),
      "a map token as a key": { [Object.keys(Token.asStringMap(variable.value))[0]]: "v" },
      "a token as a key": { [variable.stringValue]: "v" },
      "a resolvable": Lazy.anyValue({ produce: () => ({ list: [variable.stringValue, undefined], n: 1 }) }),
      "a class instance": new (class Holder {
        constructor(readonly held = variable.stringValue) {}
      })(),
      "a construct-like object": { _children: {}, _metadata: [] },
      "a function": () => 1,
      "a construct": stack,
      "a list token in a string": `x ${Token.asString(list.listValue)}`,
      "the string map marker": Token.STRING_MAP_TOKEN_VALUE,
      "the number map marker": Token.NUMBER_MAP_TOKEN_VALUE,
      "a circular object": circular,
      "a template directive and a function with an escape": [`%{ if ${variable.stringValue} != "" }x%{ endif }`, Fn.join(",", [variable.stringValue, "${literal}"]), Fn.lookup(Token.asAny(variable.value), "k", "${d}")],
      "an iterator": TerraformIterator.fromList(list.listValue).value,
      "a structure deeper than cdktn's limit": Array.from({ length: 210 }).reduce<unknown>((inner) => ({ inner }), "leaf"),
    };
    for (const [what, value] of Object.entries(values)) {
      bothAgree(stack, () => ({ [what]: value }));
      bothAgree(stack, () => value);
    }
    // The shortcut itself must not hide cdktn's errors.
    expect(outcome(() => plainResolve(stack, { f: () => 1 })).error).toContain("/f");
    expect(outcome(() => plainResolve(stack, circular)).error).toBeDefined();
  });

  it("split strings into the same fragments as cdktn's own escape scan", () => {
    const stack = new TerraformStack(Testing.app(), "fragments");
    const variable = new TerraformVariable(stack, "name", { type: "string" });
    const token = variable.stringValue;
    const lookup = (id: string) => tokenMapModule.TokenMap.instance().lookupToken(id);
    const strings = [
      `${token}`,
      `a}b\${c}${token}}\${\${${token}}}`,
      `${"}".repeat(50)}${token}\${x}${"}".repeat(50)}`,
      `\${${token}`,
      `}${token}\${`,
      JSON.stringify({ deep: { deeper: { deepest: token } }, after: "${not.a.token}", more: ["}", "${", token] }, null, 2),
    ];
    for (const text of strings) {
      const fragments = () => (encoding.TokenString.forString(text, true).split(lookup) as unknown as { fragments: unknown[] }).fragments;
      expect(fragments()).toEqual(asCdktn(fragments));
    }
  });
});
