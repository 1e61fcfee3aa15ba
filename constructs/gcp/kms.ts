import { Construct } from "constructs";
import { DataGoogleProject } from "@cdktf/provider-google/lib/data-google-project";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { DataGoogleStorageProjectServiceAccount } from "@cdktf/provider-google/lib/data-google-storage-project-service-account";
import type { GcpContext } from "./context";

/**
 * How often Cloud KMS makes a new primary version of each key: 90 days, the period Google's CMEK
 * guidance and the CIS GCP benchmark (1.10) name. The google provider refuses periods under one day
 * (v6.50.0 google/services/kms/kms_utils.go, `validateKmsCryptoKeyRotationPeriod`: `^([0-9.]*\d)s$`,
 * at least 86400 s, at most 9 fractional digits); `__tests__/gcp/kms.test.ts` encodes that rule.
 */
export const KEY_ROTATION_PERIOD = "7776000s";

/** The role a Google service agent needs on a key to encrypt and decrypt with it (Cloud KMS docs, "Using CMEK"). */
export const KEY_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter";

/** What each key of the environment protects; one key per purpose, so revoking one stops one service. */
export type GcpKeyPurpose = "gke-secrets" | "storage" | "cloudsql";

/**
 * GKE's service agent, by the address Google documents (GKE docs, "Encrypt secrets at the
 * application layer": `service-<project number>@container-engine-robot.iam.gserviceaccount.com`).
 */
export function gkeServiceAgent(projectNumber: string): string {
  return `serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`;
}

/**
 * Cloud SQL's service agent, by the address Google documents (Cloud SQL docs, "Use
 * customer-managed encryption keys": `service-<project number>@gcp-sa-cloud-sql.iam.gserviceaccount.com`).
 * Cloud SQL creates it on demand only: the google provider's GA release has no resource that
 * creates it (`google_project_service_identity` is google-beta only), so a new project needs
 * `gcloud beta services identity create --service=sqladmin.googleapis.com` once before the
 * first apply (README, "Bootstrap, once"); without it the key grant fails, naming the account.
 */
export function cloudSqlServiceAgent(projectNumber: string): string {
  return `serviceAccount:service-${projectNumber}@gcp-sa-cloud-sql.iam.gserviceaccount.com`;
}

/** The project, read once per stack (`data.google_project`): its number names the service agents. */
export function projectData(scope: Construct, ctx: GcpContext): DataGoogleProject {
  const existing = scope.node.tryFindChild("project");
  return existing instanceof DataGoogleProject ? existing : new DataGoogleProject(scope, "project", { projectId: ctx.projectId });
}

/**
 * The environment's customer-managed keys (Cloud KMS):
 * - one key ring `<env>-keys` in the environment's region (and one in the multi-region of
 *   production buckets, whose keys must be there). Cloud KMS never deletes a key ring:
 *   destroying it only forgets it (google v6.50.0 resource_kms_key_ring.go, delete removes it from
 *   state), and the name stays taken in the project, so an environment created again under the
 *   same name must import its ring (`terraform import`) before its first apply;
 * - per purpose a symmetric key (`ENCRYPT_DECRYPT`, software protection) rotated every 90 days,
 *   `prevent_destroy` in production (destroying a key schedules its versions' destruction, after
 *   which data encrypted with it is lost);
 * - `gke-secrets` encrypts Kubernetes Secrets in etcd (GKE), `storage` is the default key of every
 *   bucket (Cloud Storage), `cloudsql` encrypts the Cloud SQL instances and replicas (all in the
 *   environment's region, where Cloud SQL needs the key of each instance);
 * - the key's one user: the service agent of the service that encrypts with it, holding
 *   `cryptoKeyEncrypterDecrypter` on that key only (never on the ring or project).
 */
export class GcpKeys extends Construct {
  private readonly rings = new Map<string, KmsKeyRing>();
  private storageAgent?: DataGoogleStorageProjectServiceAccount;
  private readonly keys = new Map<string, { key: KmsCryptoKey; grant: KmsCryptoKeyIamMember }>();

  constructor(scope: Construct, id: string, private readonly ctx: GcpContext, private readonly project: DataGoogleProject) {
    super(scope, id);
    // The region's ring first, whatever is keyed later: its place in the stack stays the same.
    this.ring(ctx.region);
  }

  /** The key ring `<env>-keys` in `location` (key ring names are unique per location). */
  private ring(location: string): KmsKeyRing {
    const existing = this.rings.get(location);
    if (existing) return existing;
    // Construct ids as `key` names keys: the region's plain (its address predates other locations).
    const ring = new KmsKeyRing(this, location === this.ctx.region ? "ring" : `ring-${location}`, { name: this.ctx.name("keys"), location, dependsOn: this.ctx.apis.needed("cloudKms") });
    this.rings.set(location, ring);
    return ring;
  }

  /**
   * The key of `purpose` in `location` (the environment's region by default; a service encrypts
   * only with keys of its data's location), with the grant its service agent needs.
   */
  key(purpose: GcpKeyPurpose, location: string = this.ctx.region): { key: KmsCryptoKey; grant: KmsCryptoKeyIamMember } {
    const id = location === this.ctx.region ? purpose : `${purpose}-${location}`;
    const existing = this.keys.get(id);
    if (existing) return existing;
    const key = new KmsCryptoKey(this, id, {
      name: purpose,
      keyRing: this.ring(location).id,
      purpose: "ENCRYPT_DECRYPT",
      rotationPeriod: KEY_ROTATION_PERIOD,
      versionTemplate: { algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", protectionLevel: "SOFTWARE" },
      lifecycle: { preventDestroy: this.ctx.env.production },
    });
    const grant = new KmsCryptoKeyIamMember(this, `${id}-user`, {
      cryptoKeyId: key.id,
      role: KEY_USER_ROLE,
      member: this.serviceAgent(purpose),
      // GKE's agent exists once the Kubernetes Engine API is on, which may be in this same apply
      // (a stack that held storage alone, at stage 2 of a move): IAM refuses a member that does not exist.
      dependsOn: purpose === "gke-secrets" ? this.ctx.apis.needed("container") : undefined,
    });
    const made = { key, grant };
    this.keys.set(id, made);
    return made;
  }

  /**
   * The service agent that encrypts with the key of `purpose`: GKE's by its documented address;
   * Cloud Storage's read with `google_storage_project_service_account`, which also creates it on
   * a project that has none yet (google v6.50.0
   * google/services/storage/data_source_google_storage_project_service_account.go calls
   * `projects.serviceAccount.get`; Cloud Storage docs, "Use customer-managed encryption keys").
   */
  private serviceAgent(purpose: GcpKeyPurpose): string {
    switch (purpose) {
      case "gke-secrets":
        return gkeServiceAgent(this.project.number);
      case "storage":
        this.storageAgent ??= new DataGoogleStorageProjectServiceAccount(this, "storage-agent", { dependsOn: this.ctx.apis.needed("storage") });
        return this.storageAgent.member;
      case "cloudsql":
        return cloudSqlServiceAgent(this.project.number);
    }
  }
}
