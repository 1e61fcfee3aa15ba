/**
 * Every default environment spec, synthesized on all three clouds, must give the same neutral
 * result (a cluster, every bucket, every database, an identity per app) and pass the same
 * security facts. The facts are read from each cloud's own resource attributes here, so a
 * platform cannot pass by describing itself.
 */
import { describe, expect, it } from "vitest";
import { AWS_RESOURCE_TYPES } from "../constructs/aws";
import { AZURE_RESOURCE_TYPES } from "../constructs/azure";
import { GCP_RESOURCE_TYPES } from "../constructs/gcp";
import type { ResourceTypeMap } from "../constructs/core/interfaces";
import { CLOUDS, parseEnvironment, specSecretNames, type Cloud, type Environment, type EnvironmentInput } from "../constructs/core/spec";
import { environments } from "../environments";
import { synthInfra, type SynthesizedStack, type TfBlock } from "./support/synth";
import { at } from "./support/values";

type Check = (stack: SynthesizedStack, env: Environment) => void;

interface CloudFacts {
  readonly resourceTypes: ResourceTypeMap;
  readonly counts: (stack: SynthesizedStack) => { clusters: number; buckets: number; databases: number; identities: number };
  readonly encryption: Check;
  readonly noPublicAccess: Check;
  readonly backups: Check;
  /** HA, deletion protection and destroy protection of stateful resources in production. */
  readonly productionProtection: Check;
}

const preventsDestroy = (block: TfBlock) => at(block, "lifecycle.prevent_destroy") === true;
const databaseFor = (env: Environment, index: number) => env.databases[index];

const AWS: CloudFacts = {
  resourceTypes: AWS_RESOURCE_TYPES,
  counts: (stack) => ({
    clusters: stack.all("aws_eks_cluster").length,
    // The spec's buckets: the CloudTrail trail's own bucket (audit-trail.ts) is not one of them.
    buckets: Object.keys(stack.resources("aws_s3_bucket")).filter((id) => !id.startsWith("platform_audit-trail_")).length,
    databases: stack.all("aws_db_instance").filter((db) => db.replicate_source_db === undefined).length,
    identities: Object.keys(stack.resources("aws_iam_role")).filter((id) => id.includes("identity-")).length,
  }),
  encryption: (stack) => {
    for (const sse of stack.all("aws_s3_bucket_server_side_encryption_configuration")) expect(at(sse, "rule")).toMatchObject([{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms" } }]);
    for (const db of stack.all("aws_db_instance")) expect(db.storage_encrypted).toBe(true);
    expect(at(stack.one("aws_eks_cluster"), "encryption_config.resources")).toEqual(["secrets"]);
  },
  noPublicAccess: (stack) => {
    expect(stack.all("aws_s3_bucket_public_access_block")).toHaveLength(stack.all("aws_s3_bucket").length);
    for (const block of stack.all("aws_s3_bucket_public_access_block")) {
      expect(block).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    }
    for (const db of stack.all("aws_db_instance")) expect(db.publicly_accessible).toBe(false);
    expect(at(stack.one("aws_eks_cluster"), "vpc_config.endpoint_public_access")).toBe(false);
  },
  backups: (stack, env) => {
    const primaries = stack.all("aws_db_instance").filter((db) => db.replicate_source_db === undefined);
    primaries.forEach((db, i) => expect(db.backup_retention_period).toBe(databaseFor(env, i).backupRetentionDays));
    for (const versioning of stack.all("aws_s3_bucket_versioning")) expect(at(versioning, "versioning_configuration.status")).toBe("Enabled");
  },
  productionProtection: (stack, env) => {
    const primaries = stack.all("aws_db_instance").filter((db) => db.replicate_source_db === undefined);
    primaries.forEach((db, i) => {
      expect(db.multi_az).toBe(databaseFor(env, i).highAvailability);
      expect(db.deletion_protection).toBe(true);
      expect(preventsDestroy(db)).toBe(true);
    });
    for (const stateful of [...stack.all("aws_s3_bucket"), stack.one("aws_eks_cluster"), ...stack.all("aws_kms_key")]) expect(preventsDestroy(stateful)).toBe(true);
  },
};

const azurePrimaries = (stack: SynthesizedStack) => stack.all("azurerm_postgresql_flexible_server").filter((db) => db.create_mode !== "Replica");

const AZURE: CloudFacts = {
  resourceTypes: AZURE_RESOURCE_TYPES,
  counts: (stack) => ({
    clusters: stack.all("azurerm_kubernetes_cluster").length,
    buckets: stack.all("azurerm_storage_container").length,
    databases: azurePrimaries(stack).length,
    identities: Object.keys(stack.resources("azurerm_federated_identity_credential")).filter((id) => id.includes("identity-")).length,
  }),
  encryption: (stack) => {
    for (const account of stack.all("azurerm_storage_account")) expect(account).toMatchObject({ infrastructure_encryption_enabled: true, min_tls_version: "TLS1_2", https_traffic_only_enabled: true });
    const tlsSettings = stack.all("azurerm_postgresql_flexible_server_configuration").filter((c) => c.name === "require_secure_transport");
    expect(tlsSettings).toHaveLength(stack.all("azurerm_postgresql_flexible_server").length);
    for (const setting of tlsSettings) expect(String(setting.value).toLowerCase()).toBe("on");
  },
  noPublicAccess: (stack) => {
    for (const account of stack.all("azurerm_storage_account")) {
      expect(account).toMatchObject({ public_network_access_enabled: false, allow_nested_items_to_be_public: false, shared_access_key_enabled: false });
    }
    for (const db of stack.all("azurerm_postgresql_flexible_server")) expect(db.public_network_access_enabled).toBe(false);
    expect(stack.one("azurerm_kubernetes_cluster").private_cluster_enabled).toBe(true);
    for (const vault of stack.all("azurerm_key_vault")) expect(at(vault, "network_acls.default_action")).toBe("Deny");
  },
  backups: (stack, env) => {
    azurePrimaries(stack).forEach((db, i) => expect(db.backup_retention_days).toBe(databaseFor(env, i).backupRetentionDays));
    for (const account of stack.all("azurerm_storage_account")) expect(Number(at(account, "blob_properties.delete_retention_policy.days"))).toBeGreaterThanOrEqual(7);
  },
  productionProtection: (stack, env) => {
    azurePrimaries(stack).forEach((db, i) => {
      expect(at(db, "high_availability.mode")).toBe(databaseFor(env, i).highAvailability ? "ZoneRedundant" : undefined);
      expect(db.geo_redundant_backup_enabled).toBe(true);
      expect(preventsDestroy(db)).toBe(true);
    });
    expect(stack.all("azurerm_management_lock").length).toBeGreaterThanOrEqual(azurePrimaries(stack).length);
    for (const stateful of [...stack.all("azurerm_storage_account"), stack.one("azurerm_kubernetes_cluster"), ...stack.all("azurerm_key_vault")]) expect(preventsDestroy(stateful)).toBe(true);
  },
};

const gcpPrimaries = (stack: SynthesizedStack) => stack.all("google_sql_database_instance").filter((db) => db.master_instance_name === undefined);

const GCP: CloudFacts = {
  resourceTypes: GCP_RESOURCE_TYPES,
  counts: (stack) => ({
    clusters: stack.all("google_container_cluster").length,
    buckets: stack.all("google_storage_bucket").length,
    databases: gcpPrimaries(stack).length,
    identities: Object.entries(stack.resources("google_service_account_iam_member")).filter(([id, m]) => id.includes("identity-") && m.role === "roles/iam.workloadIdentityUser").length,
  }),
  // At rest everything is encrypted with Google-managed keys (no switch to check); in transit
  // Cloud SQL only accepts TLS.
  encryption: (stack) => {
    for (const db of stack.all("google_sql_database_instance")) expect(at(db, "settings.ip_configuration.ssl_mode")).toBe("ENCRYPTED_ONLY");
  },
  noPublicAccess: (stack) => {
    for (const bucket of stack.all("google_storage_bucket")) expect(bucket).toMatchObject({ public_access_prevention: "enforced", uniform_bucket_level_access: true });
    for (const db of stack.all("google_sql_database_instance")) expect(at(db, "settings.ip_configuration.ipv4_enabled")).toBe(false);
    expect(at(stack.one("google_container_cluster"), "private_cluster_config")).toMatchObject({ enable_private_nodes: true, enable_private_endpoint: true });
  },
  backups: (stack, env) => {
    gcpPrimaries(stack).forEach((db, i) => {
      expect(at(db, "settings.backup_configuration")).toMatchObject({ enabled: true, point_in_time_recovery_enabled: true });
      expect(at(db, "settings.backup_configuration.backup_retention_settings.retained_backups")).toBe(databaseFor(env, i).backupRetentionDays);
    });
    for (const bucket of stack.all("google_storage_bucket")) expect(at(bucket, "versioning.enabled")).toBe(true);
  },
  productionProtection: (stack, env) => {
    gcpPrimaries(stack).forEach((db, i) => {
      expect(at(db, "settings.availability_type")).toBe(databaseFor(env, i).highAvailability ? "REGIONAL" : "ZONAL");
      expect(db.deletion_protection).toBe(true);
      expect(at(db, "settings.deletion_protection_enabled")).toBe(true);
      expect(preventsDestroy(db)).toBe(true);
    });
    const cluster = stack.one("google_container_cluster");
    expect(cluster.location).toBe(env.accounts.gcp?.region);
    expect(cluster.deletion_protection).toBe(true);
    for (const stateful of [...stack.all("google_storage_bucket"), cluster]) expect(preventsDestroy(stateful)).toBe(true);
  },
};

const FACTS: Readonly<Record<Cloud, CloudFacts>> = { aws: AWS, azure: AZURE, gcp: GCP };

// Each environment on every cloud it names an account for (an environment in one account is checked on that cloud).
const cases = environments.flatMap((input) =>
  CLOUDS.filter((cloud) => input.accounts?.[cloud] !== undefined).map((cloud) => [`${input.name} on ${cloud}`, cloud, { ...input, cloud } as EnvironmentInput] as const),
);
const synthesized = new Map(cases.map(([label, , input]) => [label, synthInfra(input)]));

describe.each(cases)("parity: %s", (label, cloud, input) => {
  const env = parseEnvironment(input);
  const stack = synthesized.get(label) as SynthesizedStack;
  const facts = FACTS[cloud];

  it("has a cluster, every bucket, every database and an identity per app (and per identity-using add-on)", () => {
    // External Secrets with apps, external-dns with a zone, the monitoring secret reader with a spec secret.
    const addons = (env.apps.length > 0 ? 1 : 0) + (env.dns?.zone === undefined ? 0 : 1) + (specSecretNames(env).length > 0 ? 1 : 0);
    expect(facts.counts(stack)).toEqual({ clusters: 1, buckets: env.buckets.length, databases: env.databases.length, identities: env.apps.length + addons });
  });

  // expect.hasAssertions(): a fact that finds no resource to check must fail, not pass.
  it("encrypts data", () => {
    expect.hasAssertions();
    facts.encryption(stack, env);
  });
  it("allows no public access", () => {
    expect.hasAssertions();
    facts.noPublicAccess(stack, env);
  });
  it("keeps backups", () => {
    expect.hasAssertions();
    facts.backups(stack, env);
  });
});

const productionCases = cases.filter(([, , input]) => input.production);

describe.each(productionCases)("parity in production: %s", (label, cloud, input) => {
  it("is highly available and protected from deletion", () => {
    expect.hasAssertions();
    FACTS[cloud].productionProtection(synthesized.get(label) as SynthesizedStack, parseEnvironment(input));
  });
});

describe("the parity table in docs/parity.md", () => {
  it.each(CLOUDS)("lists only resource types that the %s stacks contain", (cloud) => {
    const present = new Set(cases.filter(([, c]) => c === cloud).flatMap(([label]) => Object.keys((synthesized.get(label) as SynthesizedStack).json.resource ?? {})));
    const listed = Object.values(FACTS[cloud].resourceTypes).flat();
    expect(listed.filter((type) => !present.has(type))).toEqual([]);
  });
});
