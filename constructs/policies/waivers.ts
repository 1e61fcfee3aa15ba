/**
 * Spec waivers: the one way a spec opts one database, bucket or the AKS cluster out of a rule, with a written
 * reason (`databases[].waivers.<name>`, `buckets[].waivers.<name>`, `cluster.azure.waivers.<name>`, at least 20 characters). A
 * rule names the waiver it honours (`Rule.waiver`); the constructs read the same field (a waived
 * database keeps the cloud's managed key, a waived bucket stays in its region), and the pack
 * records the resource's problems as waived in the stack's `"//"` policy metadata instead of
 * failing. A waiver covers the resource built from that spec entry only.
 */
import type { Environment } from "../core/spec";
import { at, type Block, type PolicyContext, type Rule, type StackJson } from "./types";

/** The resource types a spec database becomes (primary and replicas). */
const DATABASE_TYPES = new Set(["aws_db_instance", "azurerm_postgresql_flexible_server", "google_sql_database_instance"]);
/**
 * The resource types one spec bucket becomes on its own. Azure's storage account holds every bucket
 * of the environment (a container each), so no bucket's waiver can cover it; S3 has no geo-redundant
 * bucket to waive.
 */
const BUCKET_TYPES = new Set(["google_storage_bucket"]);

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The index of the spec database a database resource of `stack` was built from, by its labels or
 * its name `<env>-db-<name>` (also what the environment pictures draw an app's database by).
 */
export function specDatabaseIndex(resource: Block, env: Pick<Environment, "name" | "databases">, stack: StackJson): number {
  // A read replica belongs to its primary's spec entry (replicate_source_db, master_instance_name, source_server_id reference it).
  const source = /^\$\{(aws_db_instance|google_sql_database_instance|azurerm_postgresql_flexible_server)\.([^.}]+)\./.exec(String(resource.replicate_source_db ?? resource.master_instance_name ?? resource.source_server_id ?? ""));
  const primary = source === null ? undefined : stack.resource?.[source[1]]?.[source[2]];
  if (primary !== undefined && primary !== resource) return specDatabaseIndex(primary, env, stack);
  // GCP primaries carry a `database` label (their name has a random suffix or is `gcp.instanceName`).
  const labelled = at(resource, "settings.user_labels.database") ?? at(resource, "tags.database");
  const name = String(resource.identifier ?? resource.name ?? "");
  // AWS `<env>-db-<name>`, Azure `<env>-db-<name>-<hex suffix>`.
  return env.databases.findIndex((db) => db.name === labelled || new RegExp(`^${escaped(env.name)}-db-${escaped(db.name)}(-[0-9a-f]{6})?$`).test(name));
}

/** The index of the spec bucket a bucket resource was built from: GCS names are `<env>-<bucket>-<8 hex digits of the project>` (constructs/gcp/bucket.ts gcsBucketName). */
function specBucketIndex(resource: Block, ctx: PolicyContext): number {
  const env = ctx.env;
  if (env === undefined) return -1;
  const name = String(resource.name ?? "");
  return env.buckets.findIndex((bucket) => new RegExp(`^${escaped(env.name)}-${escaped(bucket.name)}-[0-9a-f]{8}$`).test(name));
}

export interface AppliedWaiver {
  /** The spec field, e.g. `databases[0].waivers.customerManagedKey`. */
  readonly waiver: string;
  readonly reason: string;
}

/** The waiver of `rule` the spec gives for this resource and problem (the waiver's `covers`), if any. */
export function waiverFor(rule: Rule, type: string, resource: Block, ctx: PolicyContext, problem: string): AppliedWaiver | undefined {
  const waiver = rule.waiver;
  if (waiver === undefined || ctx.env === undefined || waiver.covers?.(problem) === false) return undefined;
  if (waiver.of === "cluster") {
    // One cluster per environment: the waiver covers the AKS cluster resource only.
    const reason = type === "azurerm_kubernetes_cluster" ? ctx.env.cluster.azure?.waivers?.[waiver.name] : undefined;
    return reason === undefined ? undefined : { waiver: `cluster.azure.waivers.${waiver.name}`, reason };
  }
  if (waiver.of === "databases") {
    if (!DATABASE_TYPES.has(type)) return undefined;
    const index = specDatabaseIndex(resource, ctx.env, ctx.stack);
    const reason = ctx.env.databases[index]?.waivers[waiver.name];
    return reason === undefined ? undefined : { waiver: `databases[${index}].waivers.${waiver.name}`, reason };
  }
  if (!BUCKET_TYPES.has(type)) return undefined;
  const index = specBucketIndex(resource, ctx);
  const reason = ctx.env.buckets[index]?.waivers[waiver.name];
  return reason === undefined ? undefined : { waiver: `buckets[${index}].waivers.${waiver.name}`, reason };
}
