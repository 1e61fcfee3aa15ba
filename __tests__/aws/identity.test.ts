import { describe, expect, it } from "vitest";
import { baseSpec } from "../support/fixtures";
import { SynthesizedStack, synthInfra } from "../support/synth";

describe("AWS workload identity", () => {
  const spec = baseSpec();
  const stack = synthInfra({
    ...spec,
    buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data" }],
    apps: [
      { name: "airflow", database: "main", bucket: "logs" },
      { name: "airbyte", database: "main", bucket: "lake" },
      { name: "metabase", database: "main" },
    ],
  });

  it("gives each app a role only its own namespace's listed service accounts can assume", () => {
    const trust = SynthesizedStack.policy(stack.find("aws_iam_role", "identity-airflow"), "assume_role_policy").Statement[0];
    expect(trust).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity" });
    const conditions = (trust.Condition as { StringEquals: Record<string, string | string[]> }).StringEquals;
    const values = Object.entries(conditions).map(([key, value]) => [key.slice(key.lastIndexOf(":")), value]);
    // Airflow's task pods write their logs with the same role: exact names, StringEquals (a list is OR).
    expect(values).toEqual([
      [":aud", "sts.amazonaws.com"],
      [":sub", ["system:serviceaccount:airflow:airflow", "system:serviceaccount:airflow:airflow-tasks"]],
    ]);
    const airbyte = SynthesizedStack.policy(stack.find("aws_iam_role", "identity-airbyte"), "assume_role_policy").Statement[0];
    // Airbyte's job pods write state and logs to S3 themselves on AWS.
    expect(Object.values((airbyte.Condition as { StringEquals: Record<string, unknown> }).StringEquals)).toContainEqual(["system:serviceaccount:airbyte:airbyte", "system:serviceaccount:airbyte:airbyte-jobs"]);
    const metabase = SynthesizedStack.policy(stack.find("aws_iam_role", "identity-metabase"), "assume_role_policy").Statement[0];
    expect(Object.values((metabase.Condition as { StringEquals: Record<string, unknown> }).StringEquals)).toContain("system:serviceaccount:metabase:metabase");
    expect(String((trust.Principal as { Federated: string }).Federated)).toMatch(/aws_iam_openid_connect_provider\./);
  });

  it("grants each app read-write on its own bucket and nothing else", () => {
    const airflow = stack.find("aws_iam_role_policy", "identity-airflow");
    const resources = SynthesizedStack.policy(airflow).Statement.map((s) => String(s.Resource));
    expect(resources.filter((r) => r.includes("aws_s3_bucket."))).toEqual([
      expect.stringMatching(/platform_bucket-logs_[A-F0-9]+\.arn\}$/),
      expect.stringMatching(/platform_bucket-logs_[A-F0-9]+\.arn\}\/\*$/),
    ]);
    expect(JSON.stringify(SynthesizedStack.policy(stack.find("aws_iam_role_policy", "identity-airbyte")))).not.toContain("bucket-logs");
    expect(Object.keys(stack.resources("aws_iam_role_policy")).some((id) => id.includes("identity-metabase"))).toBe(false);
  });

  it("never attaches broad managed policies to app roles", () => {
    const attachments = stack.all("aws_iam_role_policy_attachment").map((a) => String(a.role));
    expect(attachments.some((role) => role.includes("identity-"))).toBe(false);
  });
});
