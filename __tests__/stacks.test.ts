import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { parseEnvironments } from "../constructs/core/spec";
import { environments } from "../environments";
import { stackKindsOf, stackName } from "../stacks/backend";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { DIAGRAMS_DIR } from "../scripts/diagram";
import { readTree, stackJson, stackNames, synthDefaults } from "./support/outdir";

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
