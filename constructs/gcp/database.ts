import { Construct } from "constructs";
import { Fn } from "cdktn";
import { SqlDatabaseInstance, type SqlDatabaseInstanceSettings } from "@cdktf/provider-google/lib/sql-database-instance";
import { SqlUser } from "@cdktf/provider-google/lib/sql-user";
import { SecretManagerSecret } from "@cdktf/provider-google/lib/secret-manager-secret";
import { SecretManagerSecretVersion } from "@cdktf/provider-google/lib/secret-manager-secret-version";
import { Id } from "@cdktf/provider-random/lib/id";
import { Password } from "@cdktf/provider-random/lib/password";
import { SecretManagerSecretIamMember } from "@cdktf/provider-google/lib/secret-manager-secret-iam-member";
import type { IDatabase, IWorkloadIdentity } from "../core/interfaces";
import type { DatabaseSpec } from "../core/spec";
import type { GcpContext } from "./context";
import type { GcpKeys } from "./kms";
import { GcpWorkloadIdentity } from "./identity";
import type { GcpNetwork } from "./network";
import { GCP_DATABASE_TIERS } from "./sizes";

const POSTGRES_PORT = 5432;
export const ADMIN_USER = "platform_admin";
/**
 * The Enterprise edition keeps at most 7 days of transaction logs, so point-in-time recovery
 * reaches back at most 7 days; daily backups are kept `backupRetentionDays`.
 */
const MAX_TRANSACTION_LOG_DAYS = 7;
/** SSD storage; a replace-forcing argument, so also a keeper of the name suffix. */
const DISK_TYPE = "PD_SSD";

/**
 * `<env>-db-<name>`: the stem of a database's Cloud SQL instance names and of its admin secret id.
 * At most 16 + 4 + 20 = 40 characters (spec limits of the environment and database names).
 */
export function cloudSqlBaseName(ctx: GcpContext, spec: DatabaseSpec): string {
  return ctx.name("db", spec.name);
}

/**
 * The Secret Manager secret id of a database's administrator credential, which holds the JSON
 * `{"username","password"}`; External Secrets reads it by this id. It does not follow the
 * instance's random suffix: the secret outlives a replaced instance and keeps its id.
 */
export function adminSecretId(ctx: GcpContext, spec: DatabaseSpec): string {
  return `${cloudSqlBaseName(ctx, spec)}-admin`;
}

/**
 * The user labels that tell a database's primary apart from every other Cloud SQL instance of the
 * project: the apps stack finds the primary by them (`GcpClusterServices.databaseHost`), since it
 * cannot know the random suffix of its name.
 */
export function databaseLabels(ctx: GcpContext, spec: DatabaseSpec): Readonly<Record<"environment" | "database", string>> {
  return { environment: ctx.labels.environment, database: spec.name };
}

/**
 * Bytes of the random instance-name suffix (`random_id.hex`: 4 hex digits, 65,536 values). Cloud
 * SQL keeps a deleted instance's name for up to a week; a new suffix on every new instance lets a
 * destroyed environment or database be created again at once.
 */
export const INSTANCE_SUFFIX_BYTES = 2;

/**
 * The arguments of `google_sql_database_instance` that force a new instance and that this
 * construct sets, with their values: the keepers of the name suffix. A new suffix comes exactly
 * when the instance is replaced anyway, so the replacement never asks for the name the old
 * instance still holds; any other change (tier, disk size, PostgreSQL version, which Cloud SQL
 * upgrades in place) keeps the name. ForceNew in hashicorp/terraform-provider-google v6.50.0,
 * google/services/sql/resource_sql_database_instance.go: `name` (lines 866-871), `region`
 * (178-183), `project` (881-886), `settings.disk_type` (455-460), and `master_instance_name`
 * through CustomizeDiff (165-168); `database_version` is not ForceNew (807-812).
 */
function suffixKeepers(ctx: GcpContext): Record<string, string> {
  return { project: ctx.projectId, region: ctx.region, disk_type: DISK_TYPE };
}

/**
 * Read access to a secret's versions (the value), on the one secret it is granted on. Not
 * `secretVersionManager` or `admin`: a reader never adds versions or changes the secret.
 */
export const SECRET_READ_ROLE = "roles/secretmanager.secretAccessor";

export interface GcpDatabaseProps {
  readonly ctx: GcpContext;
  readonly spec: DatabaseSpec;
  readonly network: GcpNetwork;
  /** The environment's keys: the instance and its replicas use the `cloudsql` key unless the spec keeps Google's. */
  readonly keys: GcpKeys;
}

/**
 * Cloud SQL for PostgreSQL:
 * - private IP only, in the environment's VPC through private service access (no public IPv4),
 *   and TLS required for every connection (`ssl_mode` ENCRYPTED_ONLY);
 * - Enterprise edition, explicitly: from PostgreSQL 16 Cloud SQL defaults to Enterprise Plus,
 *   which rejects the `db-custom-*` tiers of the size table;
 * - REGIONAL (a standby in a second zone with automatic failover) when `highAvailability`
 *   (default in production), ZONAL otherwise; the primary in zone 0, the standby in zone 1;
 * - SSD storage of `storageGiB` that grows automatically, up to 4x (like RDS storage autoscaling);
 * - daily backups kept `backupRetentionDays`, point-in-time recovery from transaction logs
 *   (at most 7 days on the Enterprise edition), backups kept when the instance is deleted;
 * - deletion protection from the spec, both in Terraform (`deletion_protection`) and in the
 *   Cloud SQL API (`deletion_protection_enabled`, which also stops console and gcloud deletes);
 *   `prevent_destroy` in production;
 * - encrypted with the environment's `cloudsql` Cloud KMS key (`encryption_key_name`, replicas
 *   too), which Cloud SQL's service agent holds before the instance is created;
 *   `waivers.customerManagedKey` (a written reason) keeps Google's key for an instance created
 *   before, since the key of an existing instance cannot change (ForceNew in the provider: a new,
 *   empty instance);
 * - Query Insights, slow-statement (> 1 s) and connection logging, IAM database authentication;
 * - maintenance on Sundays at 03:00 UTC;
 * - read replicas from the spec, in the other zones, with the same network, TLS and protection;
 * - named `<env>-db-<name>-<4 hex digits>` (replicas `<env>-db-<name>-replica-<n>-<4 hex digits>`)
 *   from `random_id`s, because Cloud SQL refuses a deleted instance's name for up to a week; an
 *   existing instance keeps its name through `gcp.instanceName` (its replicas keep
 *   `<instanceName>-replica-<n>`). Labels `environment` and `database` identify the primary to
 *   the apps stack, which cannot know the suffix (see `GcpClusterServices.databaseHost`).
 *
 * The admin user `platform_admin` gets a generated 32-character password (`random_password`),
 * kept in Secret Manager as `{"username", "password"}` in the environment's region. The password
 * never appears in the synthesized JSON or the plan, and it is handed to Cloud SQL and Secret
 * Manager through write-only arguments (Terraform >= 1.11) that are not stored; the
 * `random_password` resource itself, however, does keep it in Terraform state, so the state
 * must be treated as secret (Terraform Cloud encrypts it at rest). Unlike RDS, Cloud SQL has no
 * managed admin password to avoid that.
 */
export class GcpDatabase extends Construct implements IDatabase {
  readonly instance: SqlDatabaseInstance;
  readonly replicas: SqlDatabaseInstance[];
  readonly adminSecret: SecretManagerSecret;
  readonly spec: DatabaseSpec;
  readonly host: string;
  readonly port = POSTGRES_PORT;
  readonly adminSecretRef: string;
  /**
   * The primary's name: `gcp.instanceName`, or `<env>-db-<name>-<4 hex digits>` (a token until
   * apply). The apps stack does not derive it: it finds the primary by its labels.
   */
  readonly instanceName: string;

  constructor(scope: Construct, id: string, props: GcpDatabaseProps) {
    super(scope, id);
    const { ctx, spec, network } = props;
    this.spec = spec;
    const base = cloudSqlBaseName(ctx, spec);
    const kept = spec.gcp?.instanceName;
    const databaseVersion = `POSTGRES_${spec.postgresVersion}`;
    const cmek = spec.waivers.customerManagedKey === undefined ? props.keys.key("cloudsql") : undefined;
    // `encryption_key_name` forces a new instance (v6.50.0 resource_sql_database_instance.go): it
    // is a keeper of the name suffix too, so a key change also brings a fresh name.
    const keepers = cmek ? { ...suffixKeepers(ctx), encryption_key_name: cmek.key.id } : suffixKeepers(ctx);
    const encryption = cmek ? { encryptionKeyName: cmek.key.id } : {};
    const keyGrant = cmek ? [cmek.grant] : [];

    const shared: SqlDatabaseInstanceSettings = {
      tier: spec.gcp?.tier ?? GCP_DATABASE_TIERS[spec.size],
      edition: "ENTERPRISE",
      diskType: DISK_TYPE,
      diskSize: spec.storageGiB,
      diskAutoresize: true,
      diskAutoresizeLimit: Math.min(spec.storageGiB * 4, 65536),
      ipConfiguration: {
        ipv4Enabled: false,
        privateNetwork: network.network.id,
        allocatedIpRange: network.privateServiceRange.name,
        sslMode: "ENCRYPTED_ONLY",
      },
      databaseFlags: [
        { name: "cloudsql.iam_authentication", value: "on" },
        { name: "log_min_duration_statement", value: "1000" },
        { name: "log_connections", value: "on" },
        { name: "log_disconnections", value: "on" },
      ],
      insightsConfig: {
        queryInsightsEnabled: true,
        queryPlansPerMinute: 5,
        queryStringLength: 1024,
        recordApplicationTags: true,
        recordClientAddress: true,
      },
      maintenanceWindow: { day: 7, hour: 3, updateTrack: "stable" },
      deletionProtectionEnabled: spec.deletionProtection,
      // Provider default_labels do not reach Cloud SQL's user_labels; set the same labels here.
      userLabels: { ...ctx.labels, ...databaseLabels(ctx, spec) },
    };
    // Autoresize grows the disk past diskSize; without this a later plan would try to shrink it.
    const ignoreDiskSize = ["settings[0].disk_size"];
    const [primaryZone, standbyZone] = ctx.zones;

    // `name` forces a new instance (resource_sql_database_instance.go v6.50.0, lines 866-871), so
    // an existing instance is adopted under its own name (`gcp.instanceName`), never renamed.
    this.instanceName = kept ?? `${base}-${this.nameSuffix("instance-suffix", keepers)}`;
    this.instance = new SqlDatabaseInstance(this, "Resource", {
      name: this.instanceName,
      region: ctx.region,
      databaseVersion,
      ...encryption,
      deletionProtection: spec.deletionProtection,
      settings: {
        ...shared,
        availabilityType: spec.highAvailability ? "REGIONAL" : "ZONAL",
        locationPreference: { zone: primaryZone, secondaryZone: spec.highAvailability ? standbyZone : undefined },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          startTime: "02:00",
          transactionLogRetentionDays: Math.min(spec.backupRetentionDays, MAX_TRANSACTION_LOG_DAYS),
          backupRetentionSettings: { retainedBackups: spec.backupRetentionDays, retentionUnit: "COUNT" },
        },
        retainBackupsOnDelete: true,
      },
      lifecycle: { preventDestroy: ctx.env.production, ignoreChanges: ignoreDiskSize },
      dependsOn: [network.privateServiceAccess, ...ctx.apis.needed("sqlAdmin"), ...keyGrant],
    });
    this.host = this.instance.privateIpAddress;

    // A replica of a kept instance keeps its name too; a new replica gets its own suffix, renewed
    // when its primary is replaced (which replaces the replica: master_instance_name changes).
    const replicaName = (n: number) =>
      kept === undefined
        ? `${base}-replica-${n}-${this.nameSuffix(`replica-${n}-suffix`, { ...keepers, master_instance_name: this.instance.name })}`
        : `${kept}-replica-${n}`;
    this.replicas = Array.from({ length: spec.readReplicas }, (_, index) =>
      new SqlDatabaseInstance(this, `replica-${index + 1}`, {
        name: replicaName(index + 1),
        region: ctx.region,
        databaseVersion,
        masterInstanceName: this.instance.name,
        // A replica in the primary's region uses the same key (Cloud SQL: the key of each instance's region).
        ...encryption,
        deletionProtection: spec.deletionProtection,
        settings: {
          ...shared,
          availabilityType: "ZONAL",
          locationPreference: { zone: ctx.zones[(index + 1) % ctx.zones.length] },
        },
        lifecycle: { ignoreChanges: ignoreDiskSize },
        ...(cmek ? { dependsOn: keyGrant } : {}),
      }),
    );

    this.adminSecret = this.adminCredential(ctx);
    this.adminSecretRef = this.adminSecret.id;
  }

  /** A fresh `random_id` for an instance name, replaced (with a new value) when `keepers` change. */
  private nameSuffix(id: string, keepers: Record<string, string>): string {
    return new Id(this, id, { byteLength: INSTANCE_SUFFIX_BYTES, keepers }).hex;
  }

  /**
   * Lets the identity read the administrator credential (`secretAccessor` on this secret only,
   * never project-wide), e.g. External Secrets syncing it for a bootstrap job.
   * @throws TypeError for an identity of another cloud.
   */
  grantAdminSecretRead(identity: IWorkloadIdentity): void {
    if (!(identity instanceof GcpWorkloadIdentity)) {
      throw new TypeError(`a Secret Manager secret can only be granted to a GCP workload identity, not ${identity.workload}'s`);
    }
    new SecretManagerSecretIamMember(this, `${identity.workload}-admin-secret-read`, {
      secretId: this.adminSecret.id,
      role: SECRET_READ_ROLE,
      member: identity.member,
    });
  }

  private adminCredential(ctx: GcpContext): SecretManagerSecret {
    const password = new Password(this, "admin-password", {
      length: 32,
      // URL-safe specials only, so the password can go into a connection URI unescaped.
      special: true,
      overrideSpecial: "-_.~",
      minLower: 2,
      minUpper: 2,
      minNumeric: 2,
      minSpecial: 2,
    });
    new SqlUser(this, "admin-user", {
      instance: this.instance.name,
      name: ADMIN_USER,
      type: "BUILT_IN",
      passwordWo: password.result,
      passwordWoVersion: 1,
      // PostgreSQL refuses to drop a role that owns objects; the instance's deletion removes it.
      deletionPolicy: "ABANDON",
    });
    const secret = new SecretManagerSecret(this, "admin-secret", {
      secretId: adminSecretId(ctx, this.spec),
      // Kept in the database's own region: same data residency, and no region it outlives.
      replication: { userManaged: { replicas: [{ location: ctx.region }] } },
      labels: { database: this.spec.name },
      deletionProtection: this.spec.deletionProtection,
      dependsOn: ctx.apis.needed("secretManager"),
    });
    new SecretManagerSecretVersion(this, "admin-secret-version", {
      secret: secret.id,
      secretDataWo: Fn.jsonencode({ username: ADMIN_USER, password: password.result }),
      secretDataWoVersion: 1,
    });
    return secret;
  }
}
