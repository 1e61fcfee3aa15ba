import { asList, at, companions, expectValue, expectValues, policyDocument, references, resourcesOf, type Rule, type StackJson } from "../types";

/** Whether `value` references a google_kms_crypto_key of the stack (`${google_kms_crypto_key.<id>.id}`). */
const kmsKeyReference = (value: unknown) => typeof value === "string" && /^\$\{google_kms_crypto_key\.[^.}]+\.id\}$/.test(value);

/** Whether `value` is the newest version of an azapi key of the stack (`${azapi_resource.<id>.output.properties.keyUriWithVersion}`). */
const azapiKeyVersion = (value: unknown) => typeof value === "string" && /^\$\{azapi_resource\.[^.}]+\.output\.properties\.keyUriWithVersion\}$/.test(value);

const DAY = 86400;

/** An ISO 8601 duration as Key Vault's rotation policy takes it (`P<n>Y<n>M<n>D`), in days (a year 365, a month 30); undefined otherwise. */
function isoDays(value: unknown): number | undefined {
  const match = typeof value === "string" ? /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$/.exec(value) : null;
  if (match === null || value === "P") return undefined;
  return Number(match[1] ?? 0) * 365 + Number(match[2] ?? 0) * 30 + Number(match[3] ?? 0);
}

/** Days a KMS key version must outlive twice the rotation period: the next infra apply and the Secret rewrite. */
const CLUSTER_KEY_SLACK_DAYS = 30;

/**
 * Whether the rotation policy of the key AKS KMS uses keeps the previous version valid until the
 * key rotates again after the cluster moved: MicrosoftDocs/azure-aks-docs
 * articles/aks/use-kms-etcd-encryption.md at fb060ab, "KMS uses two keys at the same time. After
 * the first key rotation, you need to ensure both the old and new keys are valid (not expired)
 * until the next key rotation". Version n (created at T) is in use until the cluster moves to
 * version n+2, which exists from T + 2 × rotation, and the move waits for an apply: so expiry ≥
 * 2 × rotation + slack.
 */
function clusterKeyLifetimeProblems(keyId: unknown, stack: StackJson): string[] {
  const id = /^\$\{azapi_resource\.([^.}]+)\./.exec(String(keyId))?.[1];
  const key = id === undefined ? undefined : stack.resource?.azapi_resource?.[id];
  if (key === undefined) return [];
  const policy = at(key, "body.properties.rotationPolicy");
  const expiry = isoDays(at(policy, "attributes.expiryTime"));
  const rotate = asList(at(policy, "lifetimeActions")).find((action) => at(action, "action.type") === "rotate");
  const afterCreate = isoDays(at(rotate, "trigger.timeAfterCreate"));
  const beforeExpiry = isoDays(at(rotate, "trigger.timeBeforeExpiry"));
  const rotation = afterCreate ?? (expiry !== undefined && beforeExpiry !== undefined ? expiry - beforeExpiry : undefined);
  if (expiry === undefined || rotation === undefined) return [`azapi_resource.${id}'s rotation policy has no expiryTime and rotate action in days: the previous key version's lifetime is unknown`];
  const needed = 2 * rotation + CLUSTER_KEY_SLACK_DAYS;
  return expiry >= needed ? [] : [`azapi_resource.${id} versions expire ${expiry} days after creation and rotate after ${rotation}: the version the cluster used before a rotation must stay valid until the next one and the apply after it, at least ${needed} days (2 × rotation + ${CLUSTER_KEY_SLACK_DAYS})`];
}
/** A duration in Google's `<seconds>s` form, in seconds. */
const seconds = (value: unknown) => (typeof value === "string" && /^\d+(\.\d+)?s$/.test(value) ? Number(value.slice(0, -1)) : undefined);

/** Encryption at rest (customer-managed keys where the README promises them) and in transit. */
export const ENCRYPTION: readonly Rule[] = [
  {
    id: "bucket-encrypted",
    pack: "encryption",
    title: "Buckets are encrypted with a customer-managed key",
    fix: "encrypt the bucket with the environment's data key (constructs/<cloud>/bucket.ts)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket"],
        check: (_bucket, ctx, id) => {
          const configs = companions(ctx, "aws_s3_bucket_server_side_encryption_configuration", "bucket", "aws_s3_bucket", id);
          if (configs.length === 0) return ["no aws_s3_bucket_server_side_encryption_configuration for this bucket"];
          return configs.flatMap((config) => {
            const rule = at(config, "rule.apply_server_side_encryption_by_default");
            return [
              ...expectValue({ rule }, "rule.sse_algorithm", "aws:kms"),
              ...(typeof at(rule, "kms_master_key_id") === "string" ? [] : ["rule.apply_server_side_encryption_by_default.kms_master_key_id is not set (an AWS-managed key)"]),
            ];
          });
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account) => expectValue(account, "infrastructure_encryption_enabled", true),
      },
      {
        // The account's key is set by azurerm_storage_account_customer_managed_key (constructs/azure/encryption.ts),
        // without a key version so the account follows the key's rotations.
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account, ctx, id) => {
          const keys = companions(ctx, "azurerm_storage_account_customer_managed_key", "storage_account_id", "azurerm_storage_account", id);
          if (keys.length === 0) return at(account, "customer_managed_key.key_vault_key_id") === undefined ? ["no customer-managed key (azurerm_storage_account_customer_managed_key): platform-managed keys only"] : [];
          return keys.flatMap((key) => (key.key_version === undefined ? [] : [`key_version ${String(key.key_version)} pins one version: the account does not follow the key's rotations`]));
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_storage_bucket"],
        // The environment's `storage` Cloud KMS key (constructs/gcp/bucket.ts), a reference to a google_kms_crypto_key.
        check: (bucket) => (kmsKeyReference(at(bucket, "encryption.default_kms_key_name")) ? [] : ["encryption.default_kms_key_name is not a Cloud KMS key of the stack (Google-managed keys only)"]),
      },
    ],
  },
  {
    id: "database-encrypted",
    pack: "encryption",
    title: "Databases are encrypted with a customer-managed key",
    fix: "encrypt the database with the environment's data key (constructs/<cloud>/database.ts), or keep an existing database's managed key with databases[].waivers.customerManagedKey and a reason",
    // An instance created before customer-managed keys keeps its key: changing it replaces the instance (kms_key_id, encryption_key_name force a new one).
    waiver: { of: "databases", name: "customerManagedKey" },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_instance"],
        check: (db) => [...expectValue(db, "storage_encrypted", true), ...(typeof db.kms_key_id === "string" ? [] : ["kms_key_id is not set (the AWS-managed RDS key)"])],
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        // A server whose spec waives the key (databases[].waivers.customerManagedKey) is exempted by
        // the rule's waiver. A server with geo-redundant backups also needs the key of the paired
        // region, or the backups' copy there stays on Microsoft-managed keys
        // (customer_managed_key.geo_backup_key_vault_key_id).
        check: (db) => {
          if (at(db, "customer_managed_key.key_vault_key_id") === undefined) return ["customer_managed_key is not set (platform-managed keys only)"];
          if (db.geo_redundant_backup_enabled === true && at(db, "customer_managed_key.geo_backup_key_vault_key_id") === undefined) {
            return ["customer_managed_key.geo_backup_key_vault_key_id is not set (the geo-redundant backups' copy is on platform-managed keys)"];
          }
          return [];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        // Replicas carry the primary's key too (constructs/gcp/database.ts).
        check: (db) => (kmsKeyReference(db.encryption_key_name) ? [] : ["encryption_key_name is not a Cloud KMS key of the stack (Google-managed keys only)"]),
      },
    ],
  },
  {
    id: "cluster-secrets-encrypted",
    pack: "encryption",
    title: "Kubernetes Secrets are envelope-encrypted with a customer-managed key",
    fix: "configure the cluster's secrets encryption with the cluster key (constructs/<cloud>/cluster.ts); an existing AKS cluster converting to API Server VNet Integration keeps KMS off for one apply with cluster.azure.waivers.secretsEncryption and a reason",
    // The first of the two applies that convert an existing AKS cluster (constructs/azure/cluster.ts secretsEncryptionWaived).
    // It waives KMS only: apply 1 is the one that turns VNet Integration on, so those lines stay enforced (review 12b m1).
    waiver: { of: "cluster", name: "secretsEncryption", covers: (problem) => problem.startsWith("key_management_service") },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_eks_cluster"],
        check: (cluster) => [
          ...(asList(at(cluster, "encryption_config.resources")).includes("secrets") ? [] : ["encryption_config.resources does not include secrets"]),
          ...(typeof at(cluster, "encryption_config.provider.key_arn") === "string" ? [] : ["encryption_config.provider.key_arn is not set"]),
        ],
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_kubernetes_cluster"],
        // KMS etcd encryption with the environment's private vault (constructs/azure/cluster.ts): Microsoft
        // Learn "Add KMS etcd encryption to an AKS cluster": a vault with public access disabled needs
        // `Private` network access, which works only with API Server VNet Integration; AKS does not
        // follow new key versions, so the id must be the key's newest version as ARM reports it, and
        // that key's versions must outlive two rotations (clusterKeyLifetimeProblems).
        check: (cluster, ctx) => {
          const keyId = at(cluster, "key_management_service.key_vault_key_id");
          return [
            ...(keyId === undefined
              ? ["key_management_service is not set (no KMS etcd encryption)"]
              : [
                  ...(azapiKeyVersion(keyId) ? clusterKeyLifetimeProblems(keyId, ctx.stack) : [`key_management_service.key_vault_key_id ${String(keyId)} is not the newest version of a key of the stack (output.properties.keyUriWithVersion of its azapi_resource): the cluster would not follow the key's rotations`]),
                  ...expectValue(cluster, "key_management_service.key_vault_network_access", "Private"),
                ]),
            ...expectValue(cluster, "api_server_access_profile.virtual_network_integration_enabled", true),
            ...(typeof at(cluster, "api_server_access_profile.subnet_id") === "string" ? [] : ["api_server_access_profile.subnet_id is not set (API Server VNet Integration needs the delegated subnet)"]),
          ];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_container_cluster"],
        check: (cluster) => [
          ...expectValue(cluster, "database_encryption.state", "ENCRYPTED"),
          ...(kmsKeyReference(at(cluster, "database_encryption.key_name")) ? [] : ["database_encryption.key_name is not a Cloud KMS key of the stack"]),
        ],
      },
    ],
  },
  {
    id: "database-tls-only",
    pack: "encryption",
    title: "Databases accept TLS connections only",
    fix: "require TLS in the database's parameters (rds.force_ssl, require_secure_transport, ssl_mode)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_db_parameter_group"],
        check: (group) => (asList(group.parameter).some((p) => at(p, "name") === "rds.force_ssl" && String(at(p, "value")) === "1") ? [] : ["parameter rds.force_ssl is not 1"]),
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_postgresql_flexible_server"],
        check: (_db, ctx, id) => {
          const settings = companions(ctx, "azurerm_postgresql_flexible_server_configuration", "server_id", "azurerm_postgresql_flexible_server", id);
          const tls = settings.find((setting) => setting.name === "require_secure_transport");
          return tls !== undefined && String(tls.value).toLowerCase() === "on" ? [] : ["no require_secure_transport = on configuration for this server"];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_sql_database_instance"],
        check: (db) => expectValue(db, "settings.ip_configuration.ssl_mode", "ENCRYPTED_ONLY"),
      },
    ],
  },
  {
    id: "storage-tls-only",
    pack: "encryption",
    title: "Object storage refuses plain HTTP",
    fix: "deny requests without TLS (bucket policy on AWS, https_traffic_only_enabled and TLS 1.2 on Azure)",
    elsewhere: {
      gcp: "GCS serves its APIs over HTTPS only; there is no switch",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_s3_bucket"],
        check: (_bucket, ctx, id) => {
          const denies = companions(ctx, "aws_s3_bucket_policy", "bucket", "aws_s3_bucket", id).flatMap((policy) =>
            (policyDocument(policy.policy).Statement ?? []).filter((s) => s.Effect === "Deny" && at(s, "Condition.Bool.aws:SecureTransport") === "false"),
          );
          return denies.length > 0 ? [] : ["no bucket policy statement denies aws:SecureTransport = false"];
        },
      },
      {
        cloud: "azure",
        kind: "infra",
        types: ["azurerm_storage_account"],
        check: (account) => expectValues(account, { https_traffic_only_enabled: true, min_tls_version: "TLS1_2" }),
      },
      // GCS serves its JSON and XML APIs over HTTPS only: there is no switch to check.
    ],
  },
  {
    id: "logs-encrypted",
    pack: "encryption",
    title: "Log groups are encrypted with the logs key",
    fix: "set kms_key_id to the environment's logs key",
    // Azure Log Analytics and Cloud Logging encrypt with platform keys; CMK there is a dedicated cluster (Azure) or a CMEK-enabled project setting (GCP).
    elsewhere: {
      azure: "Log Analytics encrypts with platform keys (CMK needs a dedicated cluster)",
      gcp: "Cloud Logging encrypts with Google-managed keys (CMEK is a project-level setting)",
    },
    checks: [{ cloud: "aws", kind: "infra", types: ["aws_cloudwatch_log_group"], check: (group) => (typeof group.kms_key_id === "string" ? [] : ["kms_key_id is not set"]) }],
  },
  {
    id: "secret-encrypted",
    pack: "encryption",
    title: "Secrets Manager secrets use the environment's data key",
    fix: "set kms_key_id to the environment's data key",
    // Key Vault and Secret Manager encrypt with platform keys.
    elsewhere: {
      azure: "Key Vault encrypts with HSM-backed platform keys",
      gcp: "Secret Manager encrypts with Google-managed keys (issue 11 puts CMEK on Kubernetes Secrets, buckets and databases; Secret Manager's per-replica CMEK is not set up)",
    },
    checks: [{ cloud: "aws", kind: "infra", types: ["aws_secretsmanager_secret"], check: (secret) => (typeof secret.kms_key_id === "string" ? [] : ["kms_key_id is not set (the AWS-managed key)"]) }],
  },
  {
    id: "key-rotation",
    pack: "encryption",
    title: "Customer-managed keys rotate and wait before deletion",
    fix: "set enable_key_rotation = true and a deletion window of at least 7 days (AWS); a rotation policy with a rotate action in a purge-protected vault (Azure); a rotation_period of at most 90 days and destroy_scheduled_duration of at least 7 days (Cloud KMS)",
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_kms_key"],
        check: (key) => [...expectValue(key, "enable_key_rotation", true), ...(Number(key.deletion_window_in_days ?? 30) >= 7 ? [] : [`deletion_window_in_days is ${String(key.deletion_window_in_days)}, needs at least 7`])],
      },
      {
        // Key Vault keys are azapi resources (Microsoft.KeyVault/vaults/keys, constructs/azure/key-vault.ts);
        // other azapi resources are skipped. Purge protection is Azure's deletion window: a deleted key
        // stays recoverable for the vault's soft-delete days.
        cloud: "azure",
        kind: "infra",
        types: ["azapi_resource"],
        check: (resource, ctx) => {
          if (!String(resource.type).startsWith("Microsoft.KeyVault/vaults/keys@")) return [];
          const rotates = asList(at(resource, "body.properties.rotationPolicy.lifetimeActions")).some((action) => at(action, "action.type") === "rotate");
          const vault = resourcesOf(ctx.stack, "azurerm_key_vault").find(([id]) => references(resource.parent_id, "azurerm_key_vault", id))?.[1];
          return [
            ...(rotates ? [] : ["body.properties.rotationPolicy has no rotate action"]),
            ...(vault === undefined ? ["its vault is not in this stack"] : vault.purge_protection_enabled === true ? [] : ["its vault has no purge protection"]),
          ];
        },
      },
      {
        cloud: "gcp",
        kind: "infra",
        types: ["google_kms_crypto_key"],
        // google v6.50.0 website/docs/r/kms_crypto_key.html.markdown: rotation_period is seconds with an
        // "s" suffix (at least 86400s); destroy_scheduled_duration defaults to 30 days when unset.
        check: (key) => {
          const rotation = seconds(key.rotation_period);
          const destroyWait = key.destroy_scheduled_duration === undefined ? 30 * DAY : seconds(key.destroy_scheduled_duration);
          return [
            ...(rotation !== undefined && rotation <= 90 * DAY ? [] : [`rotation_period is ${String(key.rotation_period ?? "not set")}, needs at most ${90 * DAY}s (90 days)`]),
            ...(destroyWait !== undefined && destroyWait >= 7 * DAY ? [] : [`destroy_scheduled_duration is ${String(key.destroy_scheduled_duration)}, needs at least ${7 * DAY}s (7 days)`]),
          ];
        },
      },
    ],
  },
  {
    id: "volume-encrypted",
    pack: "encryption",
    title: "Node and persistent volumes are encrypted",
    fix: "set encrypted = true on the launch template's root volume and the StorageClass",
    // Azure managed disks and GCE persistent disks are always encrypted at rest.
    elsewhere: {
      azure: "managed disks are always encrypted at rest",
      gcp: "persistent disks are always encrypted at rest",
    },
    checks: [
      {
        cloud: "aws",
        kind: "infra",
        types: ["aws_launch_template"],
        check: (template) => {
          const volumes = asList(template.block_device_mappings);
          return volumes.length > 0 && volumes.every((volume) => String(at(volume, "ebs.encrypted")) === "true") ? [] : ["a block device mapping is not encrypted"];
        },
      },
      {
        cloud: "aws",
        kind: "apps",
        types: ["kubernetes_storage_class_v1"],
        check: (storageClass) => (storageClass.storage_provisioner !== "ebs.csi.aws.com" || String(at(storageClass, "parameters.encrypted")) === "true" ? [] : ['parameters.encrypted is not "true"']),
      },
    ],
  },
];
