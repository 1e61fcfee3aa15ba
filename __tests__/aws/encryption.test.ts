/**
 * Every AWS resource that stores data is encrypted with one of the environment's
 * customer-managed keys (constructs/aws/keys.ts), which rotate: read from the synthesized infra
 * stacks of the default AWS environments. EBS volumes are the documented exception (README, "AWS
 * defaults"): node root volumes and the gp3-encrypted StorageClass use the AWS-managed aws/ebs key.
 */
import { describe, expect, it } from "vitest";
import { environments } from "../../environments";
import { synthInfra, type TfBlock } from "../support/synth";

/** Where each data-holding type names its key (aws provider 5.100.0 argument names). */
const KEY_ARGUMENTS: Readonly<Record<string, readonly string[]>> = {
  aws_db_instance: ["kms_key_id", "performance_insights_kms_key_id"],
  aws_secretsmanager_secret: ["kms_key_id"],
  aws_cloudwatch_log_group: ["kms_key_id"],
  aws_cloudtrail: ["kms_key_id"],
  aws_eks_cluster: ["encryption_config.provider.key_arn"],
};

const at = (block: TfBlock, path: string): unknown => path.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], block);
const isOwnKey = (value: unknown) => /^\$\{aws_kms_key\.[^.]+\.arn\}$/.test(String(value));

describe.each(environments.filter((env) => env.cloud === "aws").map((env) => [env.name, env] as const))("%s: customer-managed keys", (_, input) => {
  const stack = synthInfra(input);
  it("every key rotates", () => {
    expect(stack.all("aws_kms_key").map((key) => key.enable_key_rotation)).toEqual(stack.all("aws_kms_key").map(() => true));
  });
  it.each(Object.entries(KEY_ARGUMENTS))("every %s names one of the environment's keys", (type, paths) => {
    for (const resource of stack.all(type)) {
      for (const path of paths) expect(isOwnKey(at(resource, path))).toBe(true);
    }
  });
  it("every primary database's generated admin secret too", () => {
    const primaries = stack.all("aws_db_instance").filter((db) => db.replicate_source_db === undefined);
    expect(primaries.map((db) => isOwnKey(db.master_user_secret_kms_key_id))).toEqual(primaries.map(() => true));
  });
  it("every bucket defaults to SSE-KMS with one of them, bucket keys on", () => {
    const buckets = Object.keys(stack.resources("aws_s3_bucket"));
    const encryption = stack.all("aws_s3_bucket_server_side_encryption_configuration");
    for (const id of buckets) {
      const config = encryption.find((e) => e.bucket === `\${aws_s3_bucket.${id}.id}`);
      const rule = (config?.rule as TfBlock[] | undefined)?.[0];
      expect(rule?.bucket_key_enabled).toBe(true);
      expect((rule?.apply_server_side_encryption_by_default as TfBlock | undefined)?.sse_algorithm).toBe("aws:kms");
      expect(isOwnKey((rule?.apply_server_side_encryption_by_default as TfBlock | undefined)?.kms_master_key_id)).toBe(true);
    }
  });
  it("refuses what the rule exists for: a log group without a key is not one of them", () => {
    expect(isOwnKey(undefined)).toBe(false);
    expect(isOwnKey("alias/aws/logs")).toBe(false);
  });
});
