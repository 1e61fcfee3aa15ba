import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { IBucket, IWorkloadIdentity } from "../core/interfaces";
import type { BucketSpec } from "../core/spec";
import { type AwsContext, policyDocument, type PolicyStatement } from "./context";
import { AwsWorkloadIdentity } from "./identity";

export interface AwsBucketProps {
  readonly ctx: AwsContext;
  readonly spec: BucketSpec;
  readonly key: KmsKey;
  /** Statements the bucket policy grants besides the TLS-only denial (a service writing to it). */
  readonly policyStatements?: (bucketArn: string) => PolicyStatement[];
}

/**
 * An S3 bucket with the posture every data bucket needs:
 * - all four public-access blocks on, and BucketOwnerEnforced (ACLs off);
 * - SSE-KMS with the environment's data key and S3 Bucket Keys (cuts KMS request costs ~99%);
 * - versioning (unless the spec turns it off), so an overwrite or delete can be undone;
 * - a bucket policy that denies any request not made over TLS;
 * - lifecycle rules from the spec, plus cleanup of abandoned multipart uploads after 7 days;
 * - never force_destroy, and `prevent_destroy` in production: a bucket with data is not
 *   deleted by a plan.
 */
/** S3 names are global: the account id keeps two organisations' "prod-logs" apart. */
export function s3BucketName(ctx: AwsContext, spec: BucketSpec): string {
  return ctx.name(spec.name, ctx.accountId);
}

export class AwsBucket extends Construct implements IBucket {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly url: string;
  readonly spec: BucketSpec;
  readonly policy: S3BucketPolicy;
  private readonly key: KmsKey;
  private readonly ctx: AwsContext;

  constructor(scope: Construct, id: string, props: AwsBucketProps) {
    super(scope, id);
    const { ctx, spec } = props;
    this.spec = spec;
    this.key = props.key;
    this.ctx = ctx;
    this.bucketName = s3BucketName(ctx, spec);
    this.bucket = new S3Bucket(this, "Resource", {
      bucket: this.bucketName,
      forceDestroy: false,
      tags: { purpose: spec.purpose },
      lifecycle: { preventDestroy: ctx.env.production },
    });
    this.url = `s3://${this.bucketName}`;
    const bucket = this.bucket.id;

    new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.key.arn },
          bucketKeyEnabled: true,
        },
      ],
    });
    new S3BucketVersioningA(this, "versioning", {
      bucket,
      versioningConfiguration: { status: spec.versioning ? "Enabled" : "Suspended" },
    });
    this.policy = new S3BucketPolicy(this, "policy", {
      bucket,
      policy: policyDocument(
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        ...(props.policyStatements?.(this.bucket.arn) ?? []),
      ),
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket,
      rule: [
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: spec.noncurrentVersionExpirationDays }],
        },
        ...(spec.expirationDays === undefined
          ? []
          : [{ id: "expire-objects", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: spec.expirationDays }] }]),
      ],
    });
  }

  grantReadWrite(identity: IWorkloadIdentity): void {
    this.grant(identity, "read-write", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]);
  }

  grantRead(identity: IWorkloadIdentity): void {
    this.grant(identity, "read", ["s3:GetObject"], ["kms:Decrypt"]);
  }

  private grant(identity: IWorkloadIdentity, access: string, objectActions: string[], keyActions: string[]): void {
    if (!(identity instanceof AwsWorkloadIdentity)) {
      throw new TypeError(`an S3 bucket can only be granted to an AWS workload identity, not ${identity.workload}'s`);
    }
    identity.allow(
      `${this.spec.name}-${access}`,
      { Sid: "ListBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: this.bucket.arn },
      { Sid: "Objects", Effect: "Allow", Action: objectActions, Resource: `${this.bucket.arn}/*` },
      {
        Sid: "BucketKey",
        Effect: "Allow",
        Action: keyActions,
        Resource: this.key.arn,
        Condition: { StringEquals: { "kms:ViaService": this.ctx.servicePrincipal(`s3.${this.ctx.region}`) } },
      },
    );
  }
}
