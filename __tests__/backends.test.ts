import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "../constructs/core/spec";
import { buildApp } from "../stacks/app";
import { baseSpec } from "./support/fixtures";
import { tempDir } from "./support/outdir";

const withCloud = { ...baseSpec(), terraformCloud: { organization: "acme-data", project: "data-platform-test" } };

/** The `terraform` block of every stack of an app built from one spec. */
function terraformBlocks(spec: unknown): Map<string, Record<string, unknown>> {
  const app = buildApp([spec], tempDir("backends"));
  return new Map(
    app.node.children.map((stack) => [stack.node.id, JSON.parse(Testing.synth(stack as Parameters<typeof Testing.synth>[0])).terraform as Record<string, unknown>]),
  );
}

describe("state backends", () => {
  it("puts every stack of an environment with terraformCloud in its own <env>-<stack> workspace of that project", () => {
    const blocks = terraformBlocks(withCloud);
    expect([...blocks.keys()]).toEqual(["test-infra", "test-apps"]);
    for (const [stack, block] of blocks) {
      expect(block.cloud).toEqual({ organization: "acme-data", workspaces: { name: stack, project: "data-platform-test" } });
      expect(block).not.toHaveProperty("backend");
    }
  });

  it("keeps local state, relative to the stack, without terraformCloud", () => {
    for (const [stack, block] of terraformBlocks(baseSpec())) {
      expect(block.backend).toEqual({ local: { path: `../../../state/${stack}.tfstate` } });
      expect(block).not.toHaveProperty("cloud");
    }
  });

  it("rejects a malformed organization with a spec error naming the field", () => {
    expect(() => parseEnvironment({ ...withCloud, terraformCloud: { organization: "a b", project: "data-platform" } })).toThrow(
      /terraformCloud\.organization: given "a b"; accepted: a Terraform Cloud organization name/,
    );
  });
});
