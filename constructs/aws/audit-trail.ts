import { Construct } from "constructs";
import { Cloudtrail } from "@cdktf/provider-aws/lib/cloudtrail";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AwsBucket } from "./bucket";
import type { AwsContext } from "./context";

/** The trail's name; its ARN is known before it exists, for the bucket policy's SourceArn condition. */
export function auditTrailName(ctx: AwsContext): string {
  return ctx.name("audit");
}

/** The trail's ARN, deterministic: the bucket policy and the logs key's policy name it before the trail exists. */
export function auditTrailArn(ctx: AwsContext): string {
  return `arn:${ctx.partition}:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${auditTrailName(ctx)}`;
}

/** Days the trail's files are kept: a year in production, 90 days elsewhere (as the flow logs). */
export function auditTrailRetentionDays(ctx: AwsContext): number {
  return ctx.env.production ? 365 : 90;
}

/**
 * A CloudTrail trail of the environment's account, unless an organization trail covers it
 * (`accounts.aws.organizationTrail`):
 * - every region's management events (multi-region, global service events) and the S3 data
 *   events (object reads and writes) of the environment's buckets, who touched which object;
 * - files encrypted with the logs key, with log file validation (a signed digest per hour, so a
 *   deleted or altered file shows), kept `auditTrailRetentionDays` in a bucket of the same
 *   posture as the data buckets (public access blocked, TLS only, versioned, `prevent_destroy` in
 *   production) that only CloudTrail, for this trail, may write to (CloudTrail User Guide,
 *   "Amazon S3 bucket policy for CloudTrail": GetBucketAcl and PutObject under
 *   AWSLogs/<account>/ with `aws:SourceArn` the trail, `s3:x-amz-acl` bucket-owner-full-control).
 */
export class AwsAuditTrail extends Construct {
  readonly trail: Cloudtrail;
  readonly bucket: AwsBucket;

  constructor(scope: Construct, id: string, ctx: AwsContext, logsKey: KmsKey, dataBucketArns: readonly string[]) {
    super(scope, id);
    const name = auditTrailName(ctx);
    const trailArn = auditTrailArn(ctx);
    const service = { Service: ctx.servicePrincipal("cloudtrail") };
    const fromThisTrail = { "aws:SourceArn": trailArn };
    this.bucket = new AwsBucket(this, "bucket", {
      ctx,
      key: logsKey,
      spec: { name: "cloudtrail", purpose: "logs", versioning: true, expirationDays: auditTrailRetentionDays(ctx), noncurrentVersionExpirationDays: 30, waivers: {} },
      policyStatements: (bucketArn) => [
        { Sid: "CloudTrailChecksTheAcl", Effect: "Allow", Principal: service, Action: "s3:GetBucketAcl", Resource: bucketArn, Condition: { StringEquals: fromThisTrail } },
        {
          Sid: "CloudTrailWritesThisAccountsFiles",
          Effect: "Allow",
          Principal: service,
          Action: "s3:PutObject",
          Resource: `${bucketArn}/AWSLogs/${ctx.accountId}/*`,
          Condition: { StringEquals: { ...fromThisTrail, "s3:x-amz-acl": "bucket-owner-full-control" } },
        },
      ],
    });
    this.trail = new Cloudtrail(this, "Resource", {
      name,
      s3BucketName: this.bucket.bucket.id,
      kmsKeyId: logsKey.arn,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      enableLogging: true,
      advancedEventSelector: [
        { name: "Management events", fieldSelector: [{ field: "eventCategory", equalTo: ["Management"] }] },
        ...(dataBucketArns.length === 0
          ? []
          : [
              {
                name: "Objects of the environment's data buckets",
                fieldSelector: [
                  { field: "eventCategory", equalTo: ["Data"] },
                  { field: "resources.type", equalTo: ["AWS::S3::Object"] },
                  { field: "resources.ARN", startsWith: dataBucketArns.map((arn) => `${arn}/`) },
                ],
              },
            ]),
      ],
      // CloudTrail checks the bucket policy when the trail is created.
      dependsOn: [this.bucket.policy],
    });
  }
}
