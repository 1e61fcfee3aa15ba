/**
 * The framework under the project (issue 13): cdktn, one copy of it, which the prebuilt
 * @cdktf/provider-* bindings (generated for cdktf 0.21) load through compat/cdktf; an install
 * npm accepts as it is; the Node versions package.json names; and the cdktn CLI, on the Node its
 * own package.json says it needs.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
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
  it("is cdktn at the pinned version, its CLI the same release, and compat/cdktf pinned to it (a cdktn bump that forgets the shim is an npm conflict)", () => {
    expect((JSON.parse(readFileSync(require.resolve("cdktn/package.json"), "utf8")) as { version: string }).version).toBe(manifest.dependencies.cdktn);
    expect(cli.version).toBe(manifest.dependencies.cdktn);
    const shim = JSON.parse(readFileSync(join(root, "compat", "cdktf", "package.json"), "utf8")) as { version: string; peerDependencies: Record<string, string> };
    expect({ version: shim.version, peer: shim.peerDependencies.cdktn }).toEqual({ version: manifest.dependencies.cdktn, peer: manifest.dependencies.cdktn });
  });

  it("is one copy: every @cdktf/provider-* binding's `cdktf` is the project's cdktn, and its `constructs` the project's", () => {
    expect(bindings.length).toBeGreaterThan(0);
    const cdktn = require("cdktn") as unknown;
    const constructs = require("constructs") as unknown;
    for (const binding of bindings) {
      const fromBinding = createRequire(require.resolve(`${binding}/package.json`));
      expect({ binding, sameCdktn: fromBinding("cdktf") === cdktn, sameConstructs: fromBinding("constructs") === constructs }).toEqual({ binding, sameCdktn: true, sameConstructs: true });
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
  it("installs as npm resolves it: npm ls finds no missing, invalid or extraneous package, with peer checks on", () => {
    const ls = spawnSync("npm", ["ls", "--all"], { cwd: root, encoding: "utf8" });
    expect({ status: ls.status, stderr: ls.stderr }).toEqual({ status: 0, stderr: "" });
    // npm's effective settings here (project .npmrc, user and global config, npm_config_* variables).
    const setting = (name: string) => spawnSync("npm", ["config", "get", name], { cwd: root, encoding: "utf8" }).stdout.trim();
    expect({ legacyPeerDeps: setting("legacy-peer-deps"), force: setting("force") }).toEqual({ legacyPeerDeps: "false", force: "false" });
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
  const committedFiles = () => new Map([...readTree(join(root, COMMITTED_OUTPUT_DIR))].filter(([path]) => path.startsWith("stacks/") || path === "manifest.json"));
  const differing = (outdir: string) => {
    const committed = committedFiles();
    const fresh = readTree(outdir);
    return [...new Set([...fresh.keys(), ...committed.keys()])].filter((path) => fresh.get(path) !== committed.get(path));
  };

  it("runs cdktf.json's app as the CLI does (CDKTF_OUTDIR set), which writes the committed stacks and manifest byte for byte", () => {
    const config = JSON.parse(readFileSync(join(root, "cdktf.json"), "utf8")) as { app: string; output: string };
    expect(config.output).toBe(COMMITTED_OUTPUT_DIR);
    const outdir = join(tempDir("cdktf-json-app"), "out");
    const run = spawnSync("sh", ["-c", config.app], { cwd: root, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: outdir } });
    expect(run.status).toBe(0);
    expect(differing(outdir)).toEqual([]);
  });

  // On a Node its engines accept, `cdktn synth` writes what npm run synth commits; on Node 20 it
  // stops in its bundled undici (util.markAsUncloneable, Node 22), which is why npm run deploy /
  // diff check first.
  it("`cdktn synth` writes the committed output where its engines accept this Node, and fails for want of Node 22 where they do not", () => {
    const outdir = join(tempDir("cdktn-cli"), "out");
    const run = spawnSync(join(root, "node_modules", ".bin", "cdktn"), ["synth", "--output", outdir], { cwd: root, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1" } });
    const outcome = { succeeded: run.status === 0, differing: run.status === 0 ? differing(outdir) : undefined, missingNode22Api: run.stderr.includes("markAsUncloneable is not a function") };
    expect(outcome).toEqual(cliRuns ? { succeeded: true, differing: [], missingNode22Api: false } : { succeeded: false, differing: undefined, missingNode22Api: true });
  }, 120_000);
});
