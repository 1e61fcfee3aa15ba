/**
 * The account's CloudTrail trail (constructs/aws/audit-trail.ts), read from synthesized infra
 * stacks of the default AWS environments. The rules are CloudTrail's (User Guide: "Amazon S3
 * bucket policy for CloudTrail", "Configure AWS KMS key policies for CloudTrail", "Logging data
 * events" with advanced event selectors, "Validating CloudTrail log file integrity").
 */
import { describe, expect, it } from "vitest";
import { environments } from "../../environments";
import { SynthesizedStack, synthInfra } from "../support/synth";
import { iamMatches } from "../support/permissions";
import { SpecError } from "../../constructs/core/errors";

const awsEnvs = environments.filter((env) => env.cloud === "aws");
type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[]>> };

describe.each(awsEnvs.map((env) => [env.name, env] as const))("%s: the audit trail", (_, input) => {
  const stack = synthInfra(input);
  const trail = stack.one("aws_cloudtrail");
  const [bucketId, bucket] = Object.entries(stack.resources("aws_s3_bucket")).find(([, b]) => String(b.bucket).includes("-cloudtrail-")) ?? [];
  const account = input.accounts.aws?.accountId ?? "";
  const trailArn = `arn:aws:cloudtrail:${input.accounts.aws?.region}:${account}:trail/${String(trail.name)}`;

  it("records every region's management events, validates its files and encrypts them with the logs key", () => {
    expect(trail).toMatchObject({ is_multi_region_trail: true, include_global_service_events: true, enable_log_file_validation: true, enable_logging: true });
    const logsKey = Object.entries(stack.resources("aws_kms_key")).find(([, key]) => String(key.description).endsWith("CloudWatch log groups"));
    expect(trail.kms_key_id).toBe(`\${aws_kms_key.${logsKey?.[0]}.arn}`);
    expect((trail.advanced_event_selector as { field_selector: unknown[] }[])[0].field_selector).toEqual([{ field: "eventCategory", equals: ["Management"] }]);
  });

  it("records object reads and writes of every data bucket of the spec, and of no other bucket", () => {
    const dataBuckets = Object.entries(stack.resources("aws_s3_bucket")).filter(([id]) => id !== bucketId).map(([id]) => `\${aws_s3_bucket.${id}.arn}/`);
    // The spec's buckets on AWS: one on another cloud is recorded there (its own stack's trail, or Azure's blob logs).
    expect(dataBuckets.length).toBe((input.buckets ?? []).filter((spec) => (spec.cloud ?? input.cloud) === "aws").length);
    const data = (trail.advanced_event_selector as { field_selector: { field: string; equals?: string[]; starts_with?: string[] }[] }[]).find((s) => s.field_selector.some((f) => f.equals?.includes("Data")));
    expect(data?.field_selector).toEqual(
      expect.arrayContaining([{ field: "resources.type", equals: ["AWS::S3::Object"] }, { field: "resources.ARN", starts_with: expect.arrayContaining(dataBuckets) }]),
    );
    expect(data?.field_selector.find((f) => f.field === "resources.ARN")?.starts_with).toHaveLength(dataBuckets.length);
  });

  it("its bucket admits CloudTrail for this trail only, under AWSLogs/<account>/, and expires files after the retention", () => {
    expect(bucket).toMatchObject({ force_destroy: false });
    const policy = Object.values(stack.resources("aws_s3_bucket_policy")).find((p) => String(p.bucket).includes(`aws_s3_bucket.${bucketId}.`));
    const statements = SynthesizedStack.policy(policy ?? {}).Statement as unknown as Statement[];
    const write = statements.find((s) => s.Action === "s3:PutObject");
    expect(write?.Principal).toEqual({ Service: "cloudtrail.amazonaws.com" });
    expect(write?.Condition?.StringEquals["aws:SourceArn"]).toBe(trailArn);
    // The trail writes AWSLogs/<account>/CloudTrail/<region>/...: admitted; another account's prefix is not.
    const resource = String(write?.Resource).replace(/^\$\{aws_s3_bucket\.[^}]+\.arn\}/, "arn:aws:s3:::b");
    expect(iamMatches(resource, `arn:aws:s3:::b/AWSLogs/${account}/CloudTrail/eu-west-1/2026/01/01/x.json.gz`)).toBe(true);
    expect(iamMatches(resource, "arn:aws:s3:::b/AWSLogs/999999999999/CloudTrail/x.json.gz")).toBe(false);
    expect(statements.find((s) => s.Sid === "DenyInsecureTransport")).toBeDefined();
    const lifecycle = Object.values(stack.resources("aws_s3_bucket_lifecycle_configuration")).find((l) => String(l.bucket).includes(`aws_s3_bucket.${bucketId}.`));
    expect(JSON.stringify(lifecycle?.rule)).toContain(`"days":${input.production ? 365 : 90}`);
    expect(trail.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_policy\./)]);
  });

  it("the logs key lets CloudTrail use it for this environment's trail only (aws:SourceArn, as the CloudTrail key policy page recommends): another trail of the account, or another account's, does not match", () => {
    const logsKey = Object.values(stack.resources("aws_kms_key")).find((key) => String(key.description).endsWith("CloudWatch log groups"));
    const statements = (SynthesizedStack.policy(logsKey ?? {}).Statement as unknown as Statement[]).filter((s) => JSON.stringify(s.Principal).includes("cloudtrail"));
    expect(statements.map((s) => s.Action).sort()).toEqual(["kms:DescribeKey", "kms:GenerateDataKey*"]);
    for (const statement of statements) {
      const source = String(statement.Condition?.StringEquals["aws:SourceArn"]);
      expect(source).toBe(trailArn);
      for (const other of [trailArn.replace(account, "999999999999"), trailArn.replace(/trail\/.*$/, "trail/another-trail")]) expect(iamMatches(source, other)).toBe(false);
    }
    const write = statements.find((s) => s.Action === "kms:GenerateDataKey*");
    expect(write?.Condition?.StringEquals["kms:EncryptionContext:aws:cloudtrail:arn"]).toBe(trailArn);
  });
});

describe("AWS audit trail: switches", () => {
  const input = awsEnvs[0];
  it("an organization trail in the spec: no trail, no trail bucket, no CloudTrail grant on the logs key", () => {
    const stack = synthInfra({ ...input, accounts: { aws: { ...input.accounts.aws, organizationTrail: true } as NonNullable<typeof input.accounts.aws> } });
    expect(stack.all("aws_cloudtrail")).toEqual([]);
    expect(stack.all("aws_s3_bucket").map((b) => String(b.bucket))).not.toContainEqual(expect.stringContaining("-cloudtrail-"));
    expect(stack.text).not.toContain("cloudtrail.amazonaws.com");
  });
  it("refuses a spec bucket named like the trail's bucket", () => {
    expect(() => synthInfra({ ...input, buckets: [...(input.buckets ?? []), { name: "cloudtrail", purpose: "logs" }] })).toThrow(SpecError);
    expect(() => synthInfra({ ...input, buckets: [...(input.buckets ?? []), { name: "cloudtrail", purpose: "logs" }] })).toThrow(/buckets\[\d+\]\.name.*CloudTrail/s);
  });
});
