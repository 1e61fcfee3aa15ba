import { describe, expect, it } from "vitest";
import { stacksOf } from "../scripts/env-stacks";
import { environments } from "../environments";
import { parseEnvironments } from "../constructs/core/spec";
import { promoteDiff, specDifferences } from "../scripts/promote-diff";

describe("npm run deploy / diff", () => {
  it("deploys an environment's stacks infra first", () => {
    expect(stacksOf("staging")).toEqual(["staging-infra", "staging-apps"]);
  });

  it("names the accepted environments when given an unknown one", () => {
    const names = parseEnvironments(environments).map((env) => env.name);
    expect(names).not.toContain("qa");
    expect(() => stacksOf("qa")).toThrow(`unknown environment "qa"; accepted: ${names.join(", ")}`);
  });
});

describe("npm run promote-diff", () => {
  it("lists the spec leaves that differ", () => {
    expect(specDifferences({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: true })).toEqual(["b.c[1]: 2 → 3", "d: undefined → true"]);
  });

  it("shows what production gains over staging, per spec field and per stack", () => {
    const report = promoteDiff("staging", "prod");
    expect(report).toContain("- production: false → true");
    expect(report).toContain("- network.zones: 2 → 3");
    // Production's third zone brings NAT gateways staging does not have.
    expect(report).toMatch(/only in prod: [^\n]*aws_nat_gateway\.platform_network_nat-1_/);
    expect(report).toContain("## apps stack");
  });
});
