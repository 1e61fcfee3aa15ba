/**
 * Rules of the google provider 6.50.0 (pinned by @cdktf/provider-google 16.12.1) and of Cloud SQL
 * that the synthesized GCP stacks must keep. The provider cannot run here (not in the plugin
 * mirror, no network), so its rules are encoded from its source, hashicorp/terraform-provider-google
 * at tag v6.50.0, and each checker is tested with cases it must reject.
 */
import type { SynthesizedStack, TfBlock } from "../support/synth";

/**
 * The `node_config` attributes with `ForceNew: true` in google/services/container/node_config.go,
 * `schemaNodeConfig` (block at lines 136-145, itself ForceNew): guest_accelerator 164,
 * local_ssd_count 262, ephemeral_storage_local_ssd_config 273, local_nvme_ssd_block_config 299,
 * secondary_boot_disks 318, metadata 367, min_cpu_platform 376, oauth_scopes 384, preemptible 400,
 * reservation_affinity 407, spot 440, service_account 448, shielded_instance_config 470,
 * boot_disk_kms_key 566, node_group 857, advanced_machine_features 864, sole_tenant_config 893,
 * host_maintenance_policy 939, enable_confidential_storage 1001, local_ssd_encryption_mode 1007,
 * max_run_duration 1014, flex_start 1020. On `google_container_cluster` (resource_container_cluster.go
 * line 1439 uses the same schema) a change to one of them replaces the cluster.
 */
export const NODE_CONFIG_FORCE_NEW: readonly string[] = [
  "guest_accelerator",
  "local_ssd_count",
  "ephemeral_storage_local_ssd_config",
  "local_nvme_ssd_block_config",
  "secondary_boot_disks",
  "metadata",
  "min_cpu_platform",
  "oauth_scopes",
  "preemptible",
  "reservation_affinity",
  "spot",
  "service_account",
  "shielded_instance_config",
  "boot_disk_kms_key",
  "node_group",
  "advanced_machine_features",
  "sole_tenant_config",
  "host_maintenance_policy",
  "enable_confidential_storage",
  "local_ssd_encryption_mode",
  "max_run_duration",
  "flex_start",
];

/** What the transient default pool must share with every real pool (the node hardening). */
export const NODE_HARDENING: readonly string[] = ["service_account", "oauth_scopes", "workload_metadata_config", "shielded_instance_config", "metadata", "image_type"];

const ignored = (block: TfBlock): string[] => ((block.lifecycle as TfBlock | undefined)?.ignore_changes as string[] | undefined) ?? [];

/**
 * Problems of a stack's GKE default node pool:
 * - without `node_config.service_account` GKE runs the default pool as the Compute Engine default
 *   service account (typically Editor on the project), and it must be the platform's own account
 *   with the same hardening as the stack's `google_container_node_pool`s;
 * - with `remove_default_node_pool` (deleted right after creation, resource_container_cluster.go
 *   lines 2806-2825) every configured `node_config` attribute must be ignored: a ForceNew one
 *   (above) replaces the cluster, any other is updated on the deleted `default-pool`
 *   (resource_container_cluster.go lines 4164-4175, which calls nodePoolNodeConfigUpdate for
 *   "default-pool"), and the API reports the first remaining pool's config as the cluster's.
 */
export function defaultNodePoolProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const cluster = stack.one("google_container_cluster");
  const config = (cluster.node_config as TfBlock | undefined) ?? {};
  const account = config.service_account;
  if (typeof account !== "string" || !/^\$\{google_service_account\.[^.]+\.email\}$/.test(account)) {
    problems.push(`node_config.service_account is ${JSON.stringify(account)}: the default pool would run as the Compute Engine default service account, not the platform's`);
  }
  for (const pool of stack.all("google_container_node_pool")) {
    const poolConfig = (pool.node_config as TfBlock | undefined) ?? {};
    for (const key of NODE_HARDENING) {
      if (JSON.stringify(config[key]) !== JSON.stringify(poolConfig[key])) {
        problems.push(`node_config.${key} is ${JSON.stringify(config[key])}, the ${String(pool.name)} pool has ${JSON.stringify(poolConfig[key])}`);
      }
    }
  }
  if (cluster.remove_default_node_pool === true) {
    const ignoredChanges = ignored(cluster);
    const exposed = Object.keys(config).filter((key) => !ignoredChanges.includes("node_config") && !ignoredChanges.includes(`node_config[0].${key}`));
    const replacing = exposed.filter((key) => NODE_CONFIG_FORCE_NEW.includes(key));
    const updating = exposed.filter((key) => !NODE_CONFIG_FORCE_NEW.includes(key));
    if (replacing.length > 0) problems.push(`node_config ${replacing.join(", ")} not in lifecycle.ignore_changes: a change replaces the cluster`);
    if (updating.length > 0) problems.push(`node_config ${updating.join(", ")} not in lifecycle.ignore_changes: a change is applied to the deleted default-pool and fails`);
  }
  return problems;
}

/**
 * Arguments of `google_sql_database_instance` that force a new instance, by the key a name
 * suffix's keepers use for them (google/services/sql/resource_sql_database_instance.go v6.50.0):
 * region 178-183, encryption_key_name 814-819, project 881-886 (set from the provider by
 * CustomizeDiff DefaultProviderProject), settings.collation 415-420, settings.disk_type 455-460,
 * and master_instance_name through CustomizeDiff ForceNewIf (165-168). `name` (866-871) is the
 * name itself. Not ForceNew, so never a keeper: database_version (807-812, upgraded in place),
 * tier, disk size, flags.
 */
const INSTANCE_FORCE_NEW: Readonly<Record<string, (instance: TfBlock, project: string) => unknown>> = {
  region: (instance) => instance.region,
  encryption_key_name: (instance) => instance.encryption_key_name,
  project: (instance, project) => instance.project ?? project,
  collation: (instance) => (instance.settings as TfBlock).collation,
  disk_type: (instance) => (instance.settings as TfBlock).disk_type,
  master_instance_name: (instance) => instance.master_instance_name,
};

/**
 * Cloud SQL instance ids: lowercase letters, digits and hyphens, starting with a letter, at most 98
 * characters with the project id (Cloud SQL "About instance settings", Instance ID; Admin API
 * `instance` parameter).
 */
export const CLOUD_SQL_INSTANCE_ID = /^[a-z][a-z0-9-]*$/;
export const CLOUD_SQL_MAX_ID = 98;

/**
 * Problems of a stack's Cloud SQL instance names: every name must be a valid instance id, and a
 * name with a `random_id` suffix must renew the suffix exactly when the instance is replaced
 * anyway: its keepers hold every replace-forcing argument the instance has, with the instance's
 * values, and nothing else (an extra keeper, such as database_version, would turn an in-place
 * change into a replacement of the database).
 */
export function instanceNameProblems(stack: SynthesizedStack, project: string): string[] {
  const problems: string[] = [];
  for (const [id, instance] of Object.entries(stack.resources("google_sql_database_instance"))) {
    const name = String(instance.name);
    const suffixed = /^(.*)\$\{random_id\.([^.]+)\.hex\}$/.exec(name);
    const literal = suffixed ? suffixed[1] : name;
    const suffix = suffixed ? stack.resources("random_id")[suffixed[2]] : undefined;
    const length = literal.length + (suffix ? 2 * Number(suffix.byte_length) : 0);
    if (!CLOUD_SQL_INSTANCE_ID.test(suffixed ? `${literal}0` : literal) || literal.includes("${")) problems.push(`${id}: name ${name} is not a Cloud SQL instance id`);
    if (project.length + 1 + length > CLOUD_SQL_MAX_ID) problems.push(`${id}: name ${name} takes ${length} characters, more than ${CLOUD_SQL_MAX_ID} with project ${project}`);
    if (suffixed && !suffix) problems.push(`${id}: name suffix random_id.${suffixed[2]} is not in the stack`);
    if (!suffix) continue;
    const keepers = (suffix.keepers as Record<string, unknown> | undefined) ?? {};
    const forcing = Object.entries(INSTANCE_FORCE_NEW)
      .map(([key, read]) => [key, read(instance, project)] as const)
      .filter(([, value]) => value !== undefined);
    for (const [key, value] of forcing) {
      if (JSON.stringify(keepers[key]) !== JSON.stringify(value)) {
        problems.push(`${id}: keeper ${key} is ${JSON.stringify(keepers[key])}, the instance has ${JSON.stringify(value)}: a replacement would ask for the name it still holds`);
      }
    }
    for (const key of Object.keys(keepers).filter((k) => !forcing.some(([f]) => f === k))) {
      problems.push(`${id}: keeper ${key} does not force a new instance: changing it would rename, so replace, the database`);
    }
  }
  return problems;
}
