import { describe, expect, it } from "vitest";
import { baseSpec, productionSpec } from "../support/fixtures";
import { SynthesizedStack, synthInfra } from "../support/synth";

describe("AWS identities of the platform add-ons", () => {
  const stack = synthInfra({ ...baseSpec(), dns: { zone: "data.example.com", acmeEmail: "platform@example.com" } });

  it("lets External Secrets read each database's RDS-managed admin secret and nothing else", () => {
    const trust = SynthesizedStack.policy(stack.find("aws_iam_role", "identity-external-secrets"), "assume_role_policy").Statement[0];
    expect(JSON.stringify(trust.Condition)).toContain("system:serviceaccount:external-secrets:external-secrets");
    const statements = SynthesizedStack.policy(stack.find("aws_iam_role_policy", "identity-external-secrets")).Statement;
    expect(statements[0]).toMatchObject({ Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"] });
    expect(String(statements[0].Resource)).toMatch(/aws_db_instance\.platform_database-main_[A-F0-9]+\.master_user_secret\[0\]\.secret_arn/);
    expect(statements[1]).toMatchObject({ Action: "kms:Decrypt", Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com" } } });
  });

  it("creates the DNS zone and lets external-dns change records in that zone only", () => {
    expect(stack.one("aws_route53_zone")).toMatchObject({ name: "data.example.com", force_destroy: false, lifecycle: { prevent_destroy: false } });
    const statements = SynthesizedStack.policy(stack.find("aws_iam_role_policy", "identity-external-dns")).Statement;
    expect(String(statements[0].Resource)).toMatch(/aws_route53_zone\..*\.arn/);
    expect(statements[0].Action).toContain("route53:ChangeResourceRecordSets");
    expect(JSON.stringify(statements[1].Action)).not.toContain("ChangeResourceRecordSets");
    expect(stack.json.output?.dns_name_servers).toBeDefined();
  });

  it("keeps the production zone from being destroyed", () => {
    const prod = synthInfra({ ...productionSpec(), dns: { zone: "data.example.com", acmeEmail: "platform@example.com" } });
    expect(prod.one("aws_route53_zone").lifecycle).toEqual({ prevent_destroy: true });
  });

  it("creates no add-on identity for an environment without apps or a zone", () => {
    const bare = synthInfra({ ...baseSpec(), apps: [] });
    expect(Object.keys(bare.resources("aws_iam_role")).some((id) => id.includes("external-"))).toBe(false);
  });
});
