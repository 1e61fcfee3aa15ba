/**
 * Binary Authorization on GKE, read from real synthesized infra stacks (every GCP environment of
 * `environments/` and a production spec), against the google provider 6.50.0's validation and
 * update rules (hashicorp/terraform-provider-google v6.50.0), each with a case it must refuse.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environments } from "../../environments";
import type { EnvironmentInput } from "../../constructs/core/spec";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec } from "./fixtures";

/**
 * Enum validation of google v6.50.0: resource_container_cluster.go `binary_authorization.evaluation_mode`
 * (line 928: DISABLED, PROJECT_SINGLETON_POLICY_ENFORCE); binaryauthorization/resource_binary_authorization_policy.go
 * `enforcement_mode` (87), `evaluation_mode` (93), `global_policy_evaluation_mode` (220).
 */
const ENUMS = {
  clusterEvaluation: ["DISABLED", "PROJECT_SINGLETON_POLICY_ENFORCE"],
  enforcement: ["ENFORCED_BLOCK_AND_AUDIT_LOG", "DRYRUN_AUDIT_LOG_ONLY"],
  evaluation: ["ALWAYS_ALLOW", "REQUIRE_ATTESTATION", "ALWAYS_DENY"],
  global: ["ENABLE", "DISABLE", ""],
};

function admissionProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const cluster = stack.one("google_container_cluster");
  const mode = (cluster.binary_authorization as { evaluation_mode?: string } | undefined)?.evaluation_mode;
  if (mode === undefined || !ENUMS.clusterEvaluation.includes(mode)) problems.push(`the cluster's binary_authorization.evaluation_mode ${String(mode)} is not one of ${ENUMS.clusterEvaluation.join(", ")}`);
  else if (mode !== "PROJECT_SINGLETON_POLICY_ENFORCE") problems.push("the cluster does not evaluate the project policy");
  const policies = Object.entries(stack.json.resource?.google_binary_authorization_policy ?? {});
  if (policies.length !== 1) return [...problems, `${policies.length} Binary Authorization policies (one per project)`];
  const [name, policy] = policies[0];
  const rule = (policy.default_admission_rule ?? {}) as TfBlock;
  if (!ENUMS.enforcement.includes(String(rule.enforcement_mode))) problems.push(`enforcement_mode ${String(rule.enforcement_mode)} is not one of ${ENUMS.enforcement.join(", ")}`);
  if (!ENUMS.evaluation.includes(String(rule.evaluation_mode))) problems.push(`evaluation_mode ${String(rule.evaluation_mode)} is not one of ${ENUMS.evaluation.join(", ")}`);
  if (!ENUMS.global.includes(String(policy.global_policy_evaluation_mode ?? ""))) problems.push(`global_policy_evaluation_mode ${String(policy.global_policy_evaluation_mode)} is not valid`);
  // An ALWAYS_ALLOW default logs nothing: the dry run must judge every non-Google image.
  if (rule.evaluation_mode === "ALWAYS_ALLOW") problems.push("the default rule allows every image, so the dry run records nothing");
  // Without the global policy, GKE's own system images would be judged too (and denied once enforced).
  if (policy.global_policy_evaluation_mode !== "ENABLE") problems.push("Google's system images are not admitted by the global policy");
  if (!((cluster.depends_on as string[] | undefined) ?? []).includes(`google_binary_authorization_policy.${name}`)) problems.push("the cluster does not wait for the policy");
  return problems;
}

const stacks: [string, EnvironmentInput][] = [...environments.filter((env) => env.cloud === "gcp").map((env) => [env.name, env] as [string, EnvironmentInput]), ["production spec", gcpProductionSpec()]];

describe("GKE Binary Authorization (dry run)", () => {
  it.each(stacks)("%s: the cluster evaluates the project policy, which logs every non-Google image it would deny", (_, input) => {
    const stack = synthInfra(input);
    expect(admissionProblems(stack)).toEqual([]);
    expect((stack.one("google_binary_authorization_policy").default_admission_rule as TfBlock).enforcement_mode).toBe("DRYRUN_AUDIT_LOG_ONLY");
  });

  it("the check refuses values the provider rejects, and policies that record nothing", () => {
    const base = synthInfra(gcpProductionSpec());
    const variant = (change: (resources: Record<string, Record<string, TfBlock>>) => void) => {
      const copy = structuredClone(base.json);
      change(copy.resource ?? {});
      return admissionProblems(new SynthesizedStack(JSON.stringify(copy)));
    };
    const first = (r: Record<string, Record<string, TfBlock>>, type: string) => Object.values(r[type] ?? {})[0];
    expect(variant((r) => (first(r, "google_container_cluster").binary_authorization = { evaluation_mode: "ENFORCE" }))).toEqual([expect.stringContaining("is not one of DISABLED, PROJECT_SINGLETON_POLICY_ENFORCE")]);
    expect(variant((r) => ((first(r, "google_binary_authorization_policy").default_admission_rule as TfBlock).enforcement_mode = "DRYRUN"))).toEqual([expect.stringContaining("enforcement_mode DRYRUN is not one of")]);
    expect(variant((r) => ((first(r, "google_binary_authorization_policy").default_admission_rule as TfBlock).evaluation_mode = "ALWAYS_ALLOW"))).toEqual(["the default rule allows every image, so the dry run records nothing"]);
    expect(variant((r) => (first(r, "google_binary_authorization_policy").global_policy_evaluation_mode = "DISABLE"))).toEqual(["Google's system images are not admitted by the global policy"]);
  });

  it("turning it on for an existing cluster updates it in place (replace-forcing table from google v6.50.0 source)", () => {
    const table = JSON.parse(readFileSync(join(__dirname, "../../scripts/provider-rules/google-6.50.0.json"), "utf8")) as { replaceForcing: Record<string, { attributes: string[]; conditional: { path: string }[] }> };
    const cluster = table.replaceForcing.google_container_cluster;
    expect([...cluster.attributes, ...cluster.conditional.map((rule) => rule.path)].filter((path) => path.startsWith("binary_authorization"))).toEqual([]);
    expect(table.replaceForcing.google_binary_authorization_policy.attributes).toEqual(["project"]);
  });
});
