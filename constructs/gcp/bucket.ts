import { Construct } from "constructs";
import { StorageBucket, type StorageBucketLifecycleRule } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import type { IBucket, IWorkloadIdentity } from "../core/interfaces";
import type { BucketSpec } from "../core/spec";
import type { GcpContext, GcpNaming } from "./context";
import { GCS_MULTI_REGIONS } from "./facts";
import type { GcpKeys } from "./kms";
import { GcpFederatedIdentity, GcpWorkloadIdentity } from "./identity";

/**
 * Read-write access: list, read, create, overwrite and delete objects. `objectUser` rather than
 * `objectAdmin`: objectAdmin also lets the holder change object IAM and retention settings,
 * which an app writing its logs and state never needs.
 */
export const BUCKET_READ_WRITE_ROLE = "roles/storage.objectUser";
/** Read access: list and read objects. */
export const BUCKET_READ_ROLE = "roles/storage.objectViewer";

/**
 * Where a bucket keeps its data: in production the multi-region of the environment's region
 * (objects stored redundantly in at least two regions of it, like Azure's GZRS in production),
 * unless the spec waives it (`waivers.geoRedundant` with a reason: a bucket created in its region
 * stays there) or the region has no multi-region (the spec check then asks for that waiver);
 * outside production the environment's region.
 */
export function gcsBucketLocation(ctx: GcpContext, spec: BucketSpec): { location: string; kmsLocation: string } {
  const multi = GCS_MULTI_REGIONS.find((m) => ctx.region.startsWith(m.prefix));
  const geoRedundant = ctx.env.production && spec.waivers.geoRedundant === undefined;
  return geoRedundant && multi ? { location: multi.location, kmsLocation: multi.kmsLocation } : { location: ctx.region, kmsLocation: ctx.region };
}

/**
 * The Cloud Storage name of a spec bucket, `<env>-<bucket>-<hash of the project id>`: bucket
 * names are global, and the project hash keeps two organisations' "prod-logs" apart. The apps
 * stack addresses the bucket by this same name.
 */
export function gcsBucketName(ctx: GcpNaming, spec: BucketSpec): string {
  return ctx.name(spec.name, ctx.projectHash);
}

export interface GcpBucketProps {
  readonly ctx: GcpContext;
  readonly spec: BucketSpec;
  /** The environment's keys: new objects are encrypted with the `storage` key. */
  readonly keys: GcpKeys;
}

/**
 * A Cloud Storage bucket with the posture every data bucket needs:
 * - a globally unique, deterministic name `<env>-<bucket>-<hash of the project id>` (at most 50
 *   characters), in production in the multi-region of the environment's region (`gcsBucketLocation`),
 *   elsewhere in the region;
 * - uniform bucket-level access (no object ACLs: IAM alone decides) and public access
 *   prevention `enforced`, so no binding can ever make it public;
 * - versioning from the spec (on by default), so an overwrite or delete can be undone;
 * - lifecycle rules from the spec (delete live objects after `expirationDays`, replaced versions
 *   `noncurrentVersionExpirationDays` after they were replaced) plus cleanup of abandoned
 *   multipart uploads after 7 days;
 * - new objects encrypted with the environment's `storage` Cloud KMS key (the bucket's default
 *   key, `encryption.default_kms_key_name`); set on an existing bucket in place (google v6.50.0
 *   google/services/storage/resource_storage_bucket.go: no ForceNew on `encryption`, updated by
 *   `HasChange("encryption")` at line 1064), where objects written before keep Google-managed
 *   keys until rewritten; soft delete keeps deleted objects 7 days (the Cloud Storage default);
 * - never force_destroy, and `prevent_destroy` in production: a bucket with data is not deleted
 *   by a plan.
 * Access is granted per bucket (`google_storage_bucket_iam_member`), never project-wide.
 */
export class GcpBucket extends Construct implements IBucket {
  readonly bucket: StorageBucket;
  readonly bucketName: string;
  readonly url: string;
  readonly spec: BucketSpec;

  constructor(scope: Construct, id: string, props: GcpBucketProps) {
    super(scope, id);
    const { ctx, spec } = props;
    this.spec = spec;
    const where = gcsBucketLocation(ctx, spec);
    const storageKey = props.keys.key("storage", where.kmsLocation);
    this.bucketName = gcsBucketName(ctx, spec);
    this.bucket = new StorageBucket(this, "Resource", {
      name: this.bucketName,
      location: where.location,
      storageClass: "STANDARD",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: spec.versioning },
      lifecycleRule: lifecycleRules(spec),
      labels: { purpose: spec.purpose },
      encryption: { defaultKmsKeyName: storageKey.key.id },
      forceDestroy: false,
      lifecycle: { preventDestroy: ctx.env.production },
      // Cloud Storage refuses a default key its service agent cannot use.
      dependsOn: [...ctx.apis.needed("storage"), storageKey.grant],
    });
    this.url = `gs://${this.bucketName}`;
  }

  grantReadWrite(identity: IWorkloadIdentity): void {
    this.grant(identity, "read-write", BUCKET_READ_WRITE_ROLE);
  }

  grantRead(identity: IWorkloadIdentity): void {
    this.grant(identity, "read", BUCKET_READ_ROLE);
  }

  private grant(identity: IWorkloadIdentity, access: string, role: string): void {
    if (!(identity instanceof GcpWorkloadIdentity || identity instanceof GcpFederatedIdentity)) {
      throw new TypeError(`a Cloud Storage bucket can only be granted to a GCP workload identity, not ${identity.workload}'s`);
    }
    // One member per principal; the first keeps the address a service account's grant always had.
    identity.members.forEach((member, index) => {
      new StorageBucketIamMember(this, index === 0 ? `${identity.workload}-${access}` : `${identity.workload}-${access}-${index + 1}`, { bucket: this.bucket.name, role, member });
    });
  }
}

function lifecycleRules(spec: BucketSpec): StorageBucketLifecycleRule[] {
  const rules: StorageBucketLifecycleRule[] = [
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 7 } },
    { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: spec.noncurrentVersionExpirationDays } },
  ];
  if (spec.expirationDays !== undefined) {
    // LIVE only, as S3's expiration: replaced versions follow the noncurrent rule above.
    rules.push({ action: { type: "Delete" }, condition: { age: spec.expirationDays, withState: "LIVE" } });
  }
  return rules;
}
