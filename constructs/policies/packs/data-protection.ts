import { at, companions, expectValue, expectValues, preventsDestroy, references, resourcesOf, type Block, type Rule } from "../types";

const MIN_BACKUP_DAYS = 7;

const isReplica = (db: Block) => db.replicate_source_db !== undefined || db.master_instance_name !== undefined || db.create_mode === "Replica";

/** Undo, backups and protection from deletion. */
export const DATA_PROTECTION: readonly Rule[] = [
  {
    id: "bucket-recoverable",
    pack: "data-protection",
    title: "Deleted or overwritten objects can be recovered",
    fix: "enable versioning (S3, GCS) or blob and container soft delete of at least 7 days (Azure)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket"],
        check: (_bucket, ctx, id) => (companions(ctx, "aws_s3_bucket_versioning", "bucket", "aws_s3_bucket", id).some((v) => at(v, "versioning_configuration.status") === "Enabled") ? [] : ["versioning is not Enabled"]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account) =>
          ["blob_properties.delete_retention_policy.days", "blob_properties.container_delete_retention_policy.days"].flatMap((path) =>
            Number(at(account, path) ?? 0) >= 7 ? [] : [`${path} is ${String(at(account, path) ?? "not set")}, needs at least 7`],
          ),
      },
      { cloud: "gcp", kind: "infra", types: ["google_storage_bucket"], check: (bucket) => expectValue(bucket, "versioning.enabled", true) },
    ],
  },
  {
    id: "bucket-no-force-destroy",
    pack: "data-protection",
    title: "Buckets are never emptied by Terraform",
    fix: "remove force_destroy (a destroy then fails while the bucket holds objects)",
    // Azure: the provider refuses to delete a storage account's containers' data only with the account; there is no force switch.
    elsewhere: {
      azure: "azurerm has no force switch for a storage account",
    },
    checks: [
      { cloud: "aws", kind: "infra", types: ["aws_s3_bucket"], check: (bucket) => (bucket.force_destroy === true ? ["force_destroy is true"] : []) },
      { cloud: "gcp", kind: "infra", types: ["google_storage_bucket"], check: (bucket) => (bucket.force_destroy === true ? ["force_destroy is true"] : []) },
    ],
  },
  {
    id: "database-backups",
    pack: "data-protection",
    title: "Databases keep automated backups for at least 7 days",
    fix: `set databases[].backupRetentionDays to ${MIN_BACKUP_DAYS} or more`,
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        check: (db) => (isReplica(db) || Number(db.backup_retention_period ?? 0) >= MIN_BACKUP_DAYS ? [] : [`backup_retention_period is ${String(db.backup_retention_period ?? "not set")}`]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        check: (db) => (isReplica(db) || Number(db.backup_retention_days ?? 0) >= MIN_BACKUP_DAYS ? [] : [`backup_retention_days is ${String(db.backup_retention_days ?? "not set")}`]),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        check: (db) =>
          isReplica(db)
            ? []
            : [
                ...expectValues(db, { "settings.backup_configuration.enabled": true, "settings.backup_configuration.point_in_time_recovery_enabled": true }),
                ...(Number(at(db, "settings.backup_configuration.backup_retention_settings.retained_backups") ?? 0) >= MIN_BACKUP_DAYS ? [] : ["fewer than 7 retained backups"]),
              ],
      },
    ],
  },
  {
    id: "database-final-snapshot",
    pack: "data-protection",
    title: "Deleting a database leaves a final snapshot and its automated backups",
    fix: "set skip_final_snapshot = false, a final_snapshot_identifier and delete_automated_backups = false",
    // AWS only: a deleted Azure Flexible Server stays restorable for 5 days; Cloud SQL's deletion protections (production) stand in for it on GCP.
    elsewhere: {
      azure: "a deleted Flexible Server stays restorable for 5 days",
      gcp: "Cloud SQL's two deletion protections stand in for it (database-deletion-protection)",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        check: (db) => (isReplica(db) ? [] : [...expectValues(db, { skip_final_snapshot: false, delete_automated_backups: false }), ...(typeof db.final_snapshot_identifier === "string" ? [] : ["final_snapshot_identifier is not set"])]),
      },
    ],
  },
  {
    id: "database-deletion-protection",
    pack: "data-protection",
    title: "Production databases are protected from deletion",
    productionOnly: true,
    fix: "keep databases[].deletionProtection on, or waive it in databases[].waivers.deletionProtection with a reason",
    waiver: { of: "databases", name: "deletionProtection" },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        // A read replica is a copy of its primary: deleting it loses nothing.
        check: (db) => (isReplica(db) ? [] : expectValue(db, "deletion_protection", true)),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        check: (db, ctx, id) =>
          isReplica(db) || resourcesOf(ctx.stack, "azurerm_management_lock").some(([, lock]) => lock.lock_level === "CanNotDelete" && references(lock.scope, "azurerm_postgresql_flexible_server", id))
            ? []
            : ["no CanNotDelete management lock on the server"],
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        check: (db) => (isReplica(db) ? [] : expectValues(db, { deletion_protection: true, "settings.deletion_protection_enabled": true })),
      },
    ],
  },
  {
    id: "prevent-destroy",
    pack: "data-protection",
    title: "Production state-holding resources carry prevent_destroy",
    productionOnly: true,
    fix: "set lifecycle.prevent_destroy = true (production environments); a destroy must be a reviewed code change",
    // A database whose deletion protection the spec waives may be destroyed too (its waiver covers this rule).
    waiver: { of: "databases", name: "deletionProtection" },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket", "aws_db_instance", "aws_eks_cluster", "aws_kms_key"],
        check: (resource) => (preventsDestroy(resource) || isReplica(resource) ? [] : ["lifecycle.prevent_destroy is not true"]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account", "azurerm_postgresql_flexible_server", "azurerm_kubernetes_cluster", "azurerm_key_vault"],
        check: (resource) => (preventsDestroy(resource) || isReplica(resource) ? [] : ["lifecycle.prevent_destroy is not true"]),
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_storage_bucket", "google_sql_database_instance", "google_container_cluster"],
        check: (resource) => (preventsDestroy(resource) || isReplica(resource) ? [] : ["lifecycle.prevent_destroy is not true"]),
      },
    ],
  },
  {
    id: "key-recoverable",
    pack: "data-protection",
    title: "Key stores can be recovered after deletion",
    fix: "enable purge protection and soft delete of at least 7 days (Azure Key Vault); a deletion window of at least 7 days (AWS KMS, see key-rotation)",
    elsewhere: {
      aws: "KMS keys wait their deletion window (key-rotation)",
      gcp: "Cloud KMS never deletes a key, and its versions wait destroy_scheduled_duration before destruction (key-rotation)",
    },
    checks: [{ cloud: "azure", kind: "infra", types: ["azurerm_key_vault"], check: (vault) => [...expectValue(vault, "purge_protection_enabled", true), ...(Number(vault.soft_delete_retention_days ?? 90) >= 7 ? [] : ["soft_delete_retention_days is below 7"])] }],
  },
  {
    id: "cluster-deletion-protection",
    pack: "data-protection",
    title: "The GKE cluster refuses deletion",
    fix: "set deletion_protection = true on the cluster",
    // EKS and AKS have no such flag; prevent-destroy covers them in production.
    elsewhere: {
      aws: "EKS has no such flag; prevent-destroy covers it in production",
      azure: "AKS has no such flag; prevent-destroy covers it in production",
    },
    checks: [{ cloud: "gcp", kind: "infra", types: ["google_container_cluster"], check: (cluster) => expectValue(cluster, "deletion_protection", true) }],
  },
  {
    id: "volumes-retained",
    pack: "data-protection",
    title: "Production persistent volumes outlive their claims",
    productionOnly: true,
    fix: "set reclaim_policy = Retain on the apps stack's StorageClass in production",
    // AWS only: on AKS and GKE the apps stack creates no StorageClass (the clusters' built-in default classes are used).
    elsewhere: {
      azure: "the apps stack creates no StorageClass on AKS (the cluster's default class)",
      gcp: "the apps stack creates no StorageClass on GKE (the cluster's default class)",
    },
    checks: [{ cloud: "aws", kind: "apps", types: ["kubernetes_storage_class_v1"], check: (storageClass) => expectValue(storageClass, "reclaim_policy", "Retain") }],
  },
  {
    id: "workspace-protected",
    pack: "data-protection",
    title: "Terraform Cloud workspaces, which hold the state, carry prevent_destroy",
    fix: "set lifecycle.prevent_destroy = true on the tfe_workspace",
    checks: [{ cloud: "any", kind: "gitops", types: ["tfe_workspace"], check: (workspace) => (preventsDestroy(workspace) ? [] : ["lifecycle.prevent_destroy is not true"]) }],
  },
];
