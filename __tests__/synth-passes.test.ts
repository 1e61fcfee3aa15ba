import { App, TerraformOutput, TerraformResource, TerraformStack } from "cdktn";
import type { Construct } from "constructs";
import { Pet } from "@cdktf/provider-random/lib/pet";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { invokeAspects } from "cdktn/lib/synthesize/synthesizer";
import { describe, expect, it } from "vitest";
import { reportProblems } from "../stacks/app";
import { FRAMEWORK_CONTEXT } from "../stacks/backend";
import { enforcePolicies, frameworkValidationProblems, FrameworkValidations, synthesizedStacks } from "../stacks/policy";
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

/** A resource with a write-only argument, as cdktn-generated bindings write one (`markWriteOnlyAttribute`, lib/terraform-resource.js). */
class WriteOnlySecret extends TerraformResource {
  constructor(scope: Construct, id: string) {
    super(scope, id, { terraformResourceType: "random_password", terraformGeneratorMetadata: { providerName: "random" } });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { value_wo: this.markWriteOnlyAttribute("secret") };
  }
}

describe("cdktn's validations (stacks/policy.ts), before anything is written", () => {
  const appWith = (context: Record<string, unknown> | undefined) => {
    const app = new App({ outdir: tempDir("synth-validations"), ...(context === undefined ? {} : { context }) });
    const stack = new TerraformStack(app, "one");
    new RandomProvider(stack, "random");
    new WriteOnlySecret(stack, "secret");
    return { app, stack };
  };

  it("check features against the Terraform the stacks require: a write-only argument passes with FRAMEWORK_CONTEXT and is refused under cdktn's default targets", () => {
    const ours = appWith(FRAMEWORK_CONTEXT);
    const fallback = appWith(undefined);
    expect(frameworkValidationProblems(ours.app, synthesizedStacks(ours.app).keys())).toEqual([]);
    const refused = frameworkValidationProblems(fallback.app, synthesizedStacks(fallback.app).keys());
    expect(refused.join("\n")).toMatch(/^\[one\/secret\] write-only attributes/m);
  });

  it("are one line per problem with the construct's path, and make synth write nothing", () => {
    const { app, stack } = appWith(FRAMEWORK_CONTEXT);
    stack.node.addValidation({ validate: () => ["made to fail"] });
    expect(() => enforcePolicies(app, [])).toThrow(new FrameworkValidations(["[one] made to fail"]));
    const printed: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => printed.push(text) > 0) as unknown as typeof process.stderr.write;
    try {
      expect(reportProblems(new FrameworkValidations(["[one] made to fail"]), "nothing was written")).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(printed.join("")).toBe("validation: [one] made to fail\n1 cdktn validation failed; nothing was written\n");
  });
});
