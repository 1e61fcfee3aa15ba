import { App, TerraformOutput, TerraformStack } from "cdktn";
import { Pet } from "@cdktf/provider-random/lib/pet";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { invokeAspects } from "cdktn/lib/synthesize/synthesizer";
import { describe, expect, it } from "vitest";
import { synthesizedStacks } from "../stacks/policy";
import { tempDir } from "./support/outdir";

/** Two stacks, the second reading a resource of the first: the cross-stack reference cdktn's prepare pass exists for. */
function crossStackApp(): { app: App; stacks: TerraformStack[] } {
  const app = new App({ outdir: tempDir("synth-passes") });
  const origin = new TerraformStack(app, "origin");
  new RandomProvider(origin, "random");
  const pet = new Pet(origin, "pet", {});
  const reader = new TerraformStack(app, "reader");
  new TerraformOutput(reader, "name", { value: pet.id });
  return { app, stacks: [origin, reader] };
}

describe("synth in one resolve pass (stacks/policy.ts)", () => {
  it("falls back to cdktn's two passes when a stack refers to another's resource, and gives what cdktn gives", () => {
    const cdktn = crossStackApp();
    for (const stack of cdktn.stacks) stack.prepareStack();
    const expected = cdktn.stacks.map((stack) => {
      invokeAspects(stack);
      return stack.toTerraform() as unknown;
    });
    const ours = crossStackApp();
    const json = synthesizedStacks(ours.app);
    expect(ours.stacks.map((stack) => json.get(stack))).toEqual(expected);
    // The reference became an output of the origin and a remote state of the reader.
    expect(JSON.stringify(expected[0])).toContain("cross-stack-output-random_pet.pet.id");
    expect(JSON.stringify(expected[1])).toContain("terraform_remote_state");
  });
});
