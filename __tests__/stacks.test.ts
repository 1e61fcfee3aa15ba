import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnvironments } from "../constructs/core/spec";
import { environments } from "../environments";
import { stackKindsOf, stackName } from "../stacks/backend";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { DIAGRAMS_DIR } from "../scripts/diagram";
import { readTree, stackJson, stackNames, synthDefaults, withoutFrameworkStamp } from "./support/outdir";

describe("default environments", () => {
  const outdir = synthDefaults();

  it("synthesize an infra stack per environment, an apps stack per environment that runs apps, and gitops", () => {
    const expected = parseEnvironments(environments).flatMap((env) => stackKindsOf(env).map((kind) => stackName(env, kind)));
    expect(stackNames(outdir)).toEqual([...expected, "gitops"].sort());
  });

  // One reviewable file per stack: a changed resource address in its diff means a replaced resource.
  it.each(stackNames(outdir))("%s matches its snapshot", async (stack) => {
    await expect(stackJson(outdir, stack)).toMatchFileSnapshot(`__snapshots__/${stack}.tf.json`);
  });

  it("synthesize byte-identically on every run and in any directory", () => {
    const first = readTree(outdir);
    const second = readTree(synthDefaults());
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [path, content] of first) expect({ path, content: second.get(path) }).toEqual({ path, content });
    for (const content of first.values()) {
      expect(content).not.toContain(outdir);
      expect(content).not.toContain(process.cwd());
    }
  });

  it("match the committed output in synthesized/ (run `npm run synth` and commit it when this fails)", () => {
    // synthesized/diagrams is `npm run docs`'s, drawn from this output (docs.test.ts checks it).
    const committed = new Map([...readTree(join(__dirname, "..", COMMITTED_OUTPUT_DIR))].filter(([path]) => !path.startsWith(`${DIAGRAMS_DIR}/`)));
    const fresh = readTree(outdir);
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, content] of fresh) expect({ path, content: committed.get(path) }).toEqual({ path, content });
  });

  // A framework upgrade (issue 13: cdktf 0.21.0 to cdktn 0.24.0) rewrites every file's stamp and
  // may reformat the JSON; as Terraform reads it, nothing else may change.
  it("match the committed output as JSON, the framework's version stamp set aside", () => {
    const committedDir = join(__dirname, "..", COMMITTED_OUTPUT_DIR);
    const files = [...stackNames(outdir).map((stack) => join("stacks", stack, "cdk.tf.json")), "manifest.json"];
    for (const file of files) {
      expect({ file, json: withoutFrameworkStamp(readFileSync(join(outdir, file), "utf8")) }).toEqual({ file, json: withoutFrameworkStamp(readFileSync(join(committedDir, file), "utf8")) });
    }
  });

  it("the stamp-blind comparison still sees a changed value, a renamed resource and other metadata", () => {
    const text = stackJson(outdir, stackNames(outdir)[0]);
    const json = JSON.parse(text) as { "//": { metadata: Record<string, unknown> }; resource: Record<string, Record<string, Record<string, unknown>>> };
    const [type, byName] = Object.entries(json.resource)[0];
    const [name, block] = Object.entries(byName)[0];
    const changed = structuredClone(json);
    changed.resource[type][name] = { ...block, count: 2 };
    const renamed = structuredClone(json);
    renamed.resource[type] = { ...byName, [`${name}_x`]: block };
    delete renamed.resource[type][name];
    const restamped = structuredClone(json);
    restamped["//"].metadata.version = "9.9.9";
    const relabelled = structuredClone(json);
    relabelled["//"].metadata.stackName = "other";
    const seen = (variant: unknown) => JSON.stringify(withoutFrameworkStamp(JSON.stringify(variant))) !== JSON.stringify(withoutFrameworkStamp(text));
    expect({ changed: seen(changed), renamed: seen(renamed), relabelled: seen(relabelled), restamped: seen(restamped), reformatted: seen(JSON.parse(text)) }).toEqual({ changed: true, renamed: true, relabelled: true, restamped: false, reformatted: false });
    // The manifest: its version is the stamp; a stack entry is not.
    const manifestText = readFileSync(join(outdir, "manifest.json"), "utf8");
    const manifest = JSON.parse(manifestText) as { version: string; stacks: Record<string, { name: string }> };
    const sameManifest = (variant: unknown) => JSON.stringify(withoutFrameworkStamp(JSON.stringify(variant, null, 4))) === JSON.stringify(withoutFrameworkStamp(manifestText));
    const [first] = Object.keys(manifest.stacks);
    expect({ restamped: sameManifest({ ...manifest, version: "9.9.9" }), stackRenamed: sameManifest({ ...manifest, stacks: { ...manifest.stacks, [first]: { ...manifest.stacks[first], name: "other" } } }) }).toEqual({ restamped: true, stackRenamed: false });
  });

  it("contain no accidental Terraform template: every ${...} is a reference or a function call", () => {
    // Terraform reads ${...} in any JSON string; app configuration that means its own variables
    // must escape it as $${...}.
    const expression = /^(data|ephemeral|var|local|each)\.|^[a-z][a-z0-9]*_[a-z0-9_]+\.|^[a-z][a-z0-9_]*\(/;
    const offending = [...readTree(outdir)].flatMap(([path, content]) =>
      [...content.matchAll(/(?<!\$)\$\{([^}]*)/g)].map((match) => match[1]).filter((inner) => !expression.test(inner)).map((inner) => `${path}: \${${inner}}`),
    );
    expect(offending).toEqual([]);
  });

  it("keep each stack's state in its own Terraform Cloud workspace <env>-<stack>, or locally for an environment without terraformCloud", () => {
    const envs = parseEnvironments(environments);
    const expected = (stack: string) => {
      if (stack === "gitops") return "ops-gitops";
      const env = envs.find((candidate) => stackKindsOf(candidate).some((kind) => stackName(candidate, kind) === stack));
      return env?.terraformCloud === undefined ? undefined : stack;
    };
    const workspaces = stackNames(outdir).map((stack) => JSON.parse(stackJson(outdir, stack)).terraform.cloud?.workspaces.name);
    expect(workspaces).toEqual(stackNames(outdir).map(expected));
  });
});
