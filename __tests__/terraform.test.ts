import { beforeAll, describe, expect, it } from "vitest";
import { stackJson, stackNames, synthDefaults } from "./support/outdir";
import { Testing } from "cdktn";
import { parseEnvironment, parseEnvironments } from "../constructs/core/spec";
import { environments } from "../environments";
import { InfraStack } from "../stacks/infra";
import { baseSpec } from "./support/fixtures";
import { checkOffline, configurationErrors, missingProviders, plannableOffline, terraformUnavailable, type OfflineResult } from "./support/terraform";

const unavailable = terraformUnavailable();
const outdir = synthDefaults();
const stacks = stackNames(outdir).map((name) => ({ name, json: stackJson(outdir, name) }));
const checkable = stacks.filter((stack) => missingProviders(JSON.parse(stack.json)).length === 0);
const notCheckable = stacks.filter((stack) => !checkable.includes(stack));
// The same check on a stack whose state lives in Terraform Cloud: the test copy swaps the cloud
// block for local state, so the offline check needs no account either.
const cloudBacked = {
  name: "test-infra (Terraform Cloud backend)",
  json: Testing.synth(new InfraStack(Testing.app(), parseEnvironment({ ...baseSpec(), terraformCloud: { organization: "acme-data", project: "data-platform" } }))),
};
checkable.push(cloudBacked);
// Where every provider is mirrored (the pull-request workflow mirrors them all), every stack is
// validated; plan runs where it needs no network (plannableOffline: the AWS-only stacks).
const planned = checkable.filter((stack) => plannableOffline(JSON.parse(stack.json)));

if (unavailable) console.warn(`offline terraform check NOT RUN: ${unavailable}`);
for (const stack of notCheckable) {
  console.warn(`offline terraform check NOT RUN for ${stack.name}: providers not in the mirror: ${missingProviders(JSON.parse(stack.json)).join(", ")}`);
}

describe.skipIf(unavailable !== undefined)("offline terraform: init, validate and plan against the real provider", () => {
  const results = new Map<string, OfflineResult>();

  beforeAll(async () => {
    // One init per stack, all stacks at once.
    const checked = await Promise.all(checkable.map(async (stack) => [stack.name, await checkOffline(stack.json)] as const));
    for (const [name, result] of checked) results.set(name, result);
  });

  it("has every AWS infra stack checkable from the mirror, and planned", () => {
    const awsInfra = parseEnvironments(environments).filter((env) => env.cloud === "aws").map((env) => `${env.name}-infra`);
    expect(checkable.map((s) => s.name)).toEqual(expect.arrayContaining(awsInfra));
    expect(planned.map((s) => s.name).filter((name) => name.endsWith("-infra"))).toEqual(awsInfra.sort());
    expect(JSON.parse(cloudBacked.json).terraform.cloud).toBeDefined();
  });

  it.each(checkable.map((stack) => stack.name))("%s validates without errors or warnings", (name) => {
    const result = results.get(name);
    expect(result?.validate.diagnostics).toEqual([]);
    expect(result?.validate.valid).toBe(true);
  });

  it.each(planned.map((stack) => stack.name))("%s plans to create every synthesized resource", (name) => {
    const result = results.get(name);
    expect(result?.planSummary).toBe(`Plan: ${result?.resources} to add, 0 to change, 0 to destroy.`);
  });
});

describe.skipIf(unavailable !== undefined)("offline terraform: the stacks whose providers are not in the mirror still load", () => {
  it.each(notCheckable.map((stack) => [stack.name, stack] as const))("%s: Terraform loads its configuration without an error", async (_, stack) => {
    expect(await configurationErrors(stack.json)).toEqual([]);
  });

  it("refuses what it must: a replace_triggered_by written as a template, not a reference", async () => {
    const stack = { terraform: {}, resource: { terraform_data: { a: { input: 1 }, b: { input: 2, lifecycle: { replace_triggered_by: ["${terraform_data.a}"] } } } } };
    expect(await configurationErrors(JSON.stringify(stack))).toEqual([expect.stringMatching(/^Invalid (character|expression) \(cdk\.tf\.json line \d+\)$/), expect.stringMatching(/^Invalid expression/)]);
  });
});

/**
 * The AWS apps stacks need helm and kubernetes, which the mirror here lacks; the part only the
 * aws provider reads (the ephemeral EKS token the kubernetes and helm providers sign in with) is
 * cut out of each and validated and planned on its own.
 */
const awsAppsTokens = stacks
  .map((stack) => ({ name: stack.name, config: JSON.parse(stack.json) as { ephemeral?: Record<string, unknown>; provider?: Record<string, unknown[]>; terraform: { required_providers?: Record<string, unknown> } } }))
  .filter(({ config }) => config.ephemeral?.aws_eks_cluster_auth !== undefined)
  .map(({ name, config }) => ({
    name,
    json: JSON.stringify({
      terraform: { required_providers: { aws: config.terraform.required_providers?.aws } },
      provider: { aws: config.provider?.aws },
      ephemeral: config.ephemeral,
      locals: { token: `\${ephemeral.aws_eks_cluster_auth.${Object.keys(config.ephemeral?.aws_eks_cluster_auth as object)[0]}.token}` },
    }),
  }));

describe.skipIf(unavailable !== undefined)("offline terraform: the AWS apps stacks' ephemeral EKS token", () => {
  it("exists in every AWS apps stack", () => {
    const awsApps = parseEnvironments(environments).filter((env) => env.cloud === "aws" && env.apps.length > 0).map((env) => `${env.name}-apps`);
    expect(awsAppsTokens.map((t) => t.name).sort()).toEqual(awsApps.sort());
  });

  it.each(awsAppsTokens.map((t) => [t.name, t] as const))("%s: validates and plans against the pinned aws provider", async (_, token) => {
    const result = await checkOffline(token.json);
    expect(result.validate.diagnostics).toEqual([]);
    // The token is made at plan time too (a presigned STS request: no network call).
    expect(result.planSummary).toContain("ephemeral.aws_eks_cluster_auth.cluster_auth: Opening complete");
    expect(result.planSummary).toContain("No changes.");
  });
});
