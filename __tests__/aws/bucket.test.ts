import { describe, expect, it } from "vitest";
import { baseSpec, productionSpec } from "../support/fixtures";
import { SynthesizedStack, synthInfra } from "../support/synth";

/** The spec's one bucket alone: an organization trail, so no CloudTrail bucket (audit-trail.test.ts) beside it. */
const withoutOwnTrail = (spec: ReturnType<typeof baseSpec>) => ({ ...spec, accounts: { aws: { region: "eu-central-1", accountId: "123456789012", organizationTrail: true } } });

describe("AWS S3 bucket", () => {
  const staging = synthInfra(withoutOwnTrail(baseSpec()));
  const prod = synthInfra(withoutOwnTrail(productionSpec()));

  it("is named per environment and account, never force-destroyed, and protected in production", () => {
    expect(staging.one("aws_s3_bucket")).toMatchObject({ bucket: "test-logs-123456789012", force_destroy: false, lifecycle: { prevent_destroy: false } });
    expect(prod.one("aws_s3_bucket").lifecycle).toEqual({ prevent_destroy: true });
  });

  it("blocks every kind of public access and disables ACLs", () => {
    expect(staging.one("aws_s3_bucket_public_access_block")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(staging.one("aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  it("encrypts with SSE-KMS under the environment's data key, and versions objects", () => {
    const rule = (staging.one("aws_s3_bucket_server_side_encryption_configuration").rule as Record<string, unknown>[])[0];
    expect(rule).toMatchObject({ bucket_key_enabled: true, apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms" } });
    expect(JSON.stringify(rule)).toMatch(/aws_kms_key\.platform_keys_data_[A-F0-9]+\.arn/);
    expect(staging.one("aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
  });

  it("denies every request that is not over TLS", () => {
    const statement = SynthesizedStack.policy(staging.one("aws_s3_bucket_policy")).Statement[0];
    expect(statement).toMatchObject({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  it("applies the spec's lifecycle rules", () => {
    const rules = staging.one("aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[];
    expect(rules.map((r) => r.id)).toEqual(["abort-incomplete-multipart-uploads", "expire-noncurrent-versions", "expire-objects"]);
    expect(rules[1].noncurrent_version_expiration).toEqual([{ noncurrent_days: 90 }]);
    expect(rules[2].expiration).toEqual([{ days: 30 }]);
    const keepForever = synthInfra(withoutOwnTrail({ ...baseSpec(), buckets: [{ name: "logs", purpose: "logs" }] }));
    expect((keepForever.one("aws_s3_bucket_lifecycle_configuration").rule as unknown[]).length).toBe(2);
  });
});
