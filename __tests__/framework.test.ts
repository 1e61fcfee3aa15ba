/**
 * The framework under the project (issue 13): cdktn, one copy of it, which the prebuilt
 * @cdktf/provider-* bindings (generated for cdktf 0.21) load through compat/cdktf; an install
 * npm accepts as it is; the Node versions package.json names; and the cdktn CLI, on the Node its
 * own package.json says it needs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TerraformResource, TerraformStack, Testing } from "cdktn";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import semver = require("semver");
import { cliNodeProblem } from "../scripts/env-stacks";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { readTree, tempDir } from "./support/outdir";

const root = join(__dirname, "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; engines: { node: string }; overrides: Record<string, string> };
const bindings = Object.keys(manifest.dependencies).filter((name) => name.startsWith("@cdktf/provider-"));
const cli = JSON.parse(readFileSync(require.resolve("cdktn-cli/package.json"), "utf8")) as { version: string; engines: { node: string } };

describe("the framework", () => {
  it("is cdktn at the pinned version, and its CLI the same release", () => {
    expect((JSON.parse(readFileSync(require.resolve("cdktn/package.json"), "utf8")) as { version: string }).version).toBe(manifest.dependencies.cdktn);
    expect(cli.version).toBe(manifest.dependencies.cdktn);
    expect(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => /^cdktf(-cli)?$/.test(name))).toEqual(["cdktf"]);
    expect(manifest.dependencies.cdktf).toBe("file:compat/cdktf");
  });

  it("is one copy: every @cdktf/provider-* binding's `cdktf` is the project's cdktn", () => {
    expect(bindings.length).toBeGreaterThan(0);
    const cdktn = require("cdktn") as unknown;
    for (const binding of bindings) {
      const fromBinding = createRequire(require.resolve(`${binding}/package.json`));
      expect({ binding, sameCdktn: fromBinding("cdktf") === cdktn }).toEqual({ binding, sameCdktn: true });
    }
  });

  it("builds a binding's resource as a cdktn resource of a cdktn stack", () => {
    const stack = new TerraformStack(Testing.app(), "one");
    const bucket = new S3Bucket(stack, "data", { bucket: "b" });
    expect(bucket instanceof TerraformResource).toBe(true);
    expect((JSON.parse(Testing.synth(stack)) as { resource: Record<string, unknown> }).resource).toEqual({ aws_s3_bucket: { data: { bucket: "b" } } });
  });

  // What npm checks on every install: the bindings' peer `cdktf ^0.21.0` is met by the override
  // in package.json, not by a flag that turns peer checks off.
  it("installs as npm resolves it: npm ls finds no missing, invalid or extraneous package, and nothing turns peer checks off", () => {
    const ls = spawnSync("npm", ["ls", "--all"], { cwd: root, encoding: "utf8" });
    expect({ status: ls.status, stderr: ls.stderr }).toEqual({ status: 0, stderr: "" });
    expect(manifest.overrides).toEqual({ cdktf: "$cdktf" });
    const npmrc = existsSync(join(root, ".npmrc")) ? readFileSync(join(root, ".npmrc"), "utf8") : "";
    expect(npmrc).not.toMatch(/legacy-peer-deps|strict-peer-deps\s*=\s*false|force|engine-strict\s*=\s*false/);
    expect(readFileSync(join(root, ".ci", "run"), "utf8")).toMatch(/^npm ci && npm run synth/m);
  });
});

describe("Node", () => {
  it("runs the tests on a Node package.json's engines accepts", () => {
    expect({ node: process.versions.node, accepted: semver.satisfies(process.versions.node, manifest.engines.node) }).toEqual({ node: process.versions.node, accepted: true });
  });

  it("engines names Node 22 at the version cdktn-cli needs, and Node 20 only from 20.19 (require of ES modules, stacks/commonjs-dependencies.ts)", () => {
    const minimum = semver.minVersion(cli.engines.node)?.version ?? "";
    expect(semver.satisfies(minimum, manifest.engines.node)).toBe(true);
    expect(["20.18.3", "22.18.0", "18.20.0"].filter((version) => semver.satisfies(version, manifest.engines.node))).toEqual([]);
    expect(["20.19.0", "20.20.2", "22.19.0", "22.23.3"].every((version) => semver.satisfies(version, manifest.engines.node))).toBe(true);
  });

  it("npm run deploy / diff refuse a Node cdktn-cli does not run on, with one line naming both", () => {
    expect(cliNodeProblem("22.19.0")).toBeUndefined();
    expect(cliNodeProblem("20.20.2")).toBe(`cdktn-cli ${cli.version} needs Node ${cli.engines.node}; given Node 20.20.2. Run npm run deploy / diff with Node 22 (synth, validate and npm test also run on Node 20)`);
  });
});

const cliRuns = semver.satisfies(process.versions.node, cli.engines.node);
if (!cliRuns) console.warn(`cdktn synth through the CLI NOT RUN on Node ${process.versions.node}: cdktn-cli ${cli.version} needs Node ${cli.engines.node}; checked instead that it refuses to run here`);

describe("the cdktn CLI", () => {
  // On a Node its engines accept, `cdktn synth` runs cdktf.json's app and writes what npm run
  // synth commits; on any other it fails, which is why npm run deploy / diff check first.
  it("`cdktn synth` writes the committed stacks and manifest byte for byte where its engines accept this Node, and fails where they do not", () => {
    const outdir = join(tempDir("cdktn-cli"), "out");
    const run = spawnSync(join(root, "node_modules", ".bin", "cdktn"), ["synth", "--output", outdir], { cwd: root, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1" } });
    const differing = () => {
      const committed = readTree(join(root, COMMITTED_OUTPUT_DIR));
      const fresh = readTree(outdir);
      const paths = new Set([...fresh.keys(), ...[...committed.keys()].filter((path) => path.startsWith("stacks/") || path === "manifest.json")]);
      return [...paths].filter((path) => fresh.get(path) !== committed.get(path));
    };
    const outcome = { succeeded: run.status === 0, differing: run.status === 0 ? differing() : undefined };
    expect(outcome).toEqual(cliRuns ? { succeeded: true, differing: [] } : { succeeded: false, differing: undefined });
  }, 120_000);
});
