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
import { Lazy } from "cdktf";
import "../stacks/synth-costs";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { terraformUnavailable } from "./support/terraform";

const TSX = join("node_modules", ".bin", "tsx");
const committedStacks = readdirSync(join(COMMITTED_OUTPUT_DIR, "stacks")).sort();
const stackText = (outdir: string, stack: string) => readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8");

describe("synth without terraform", () => {
  it("spawns no terraform, needs none, and writes the committed output (stacks and manifest) byte for byte", () => {
    const dir = mkdtempSync(join(tmpdir(), "synth-costs-"));
    // A `terraform` first on PATH that records every call: cdktf's version check used to run it once per check.
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

  it("are recorded with CDKTF_TOKEN_STACK_TRACES=1, for debugging a token error", () => {
    const script = 'import "./stacks/synth-costs"; import { Lazy } from "cdktf"; process.stdout.write(String((Lazy.anyValue({ produce: () => 1 }) as any).creationStack.length));';
    const result = spawnSync(TSX, ["--eval", script], { encoding: "utf8", env: { ...process.env, CDKTF_TOKEN_STACK_TRACES: "1" } });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    expect(Number(result.stdout)).toBeGreaterThan(0);
  });
});
