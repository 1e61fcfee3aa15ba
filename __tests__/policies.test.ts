/**
 * The policy pack (constructs/policies) on real synthesized output: every default environment on
 * every cloud it names an account for passes every enabled rule; every check of every rule
 * rejects a real resource with one attribute broken (and a pending check accepts one with the
 * attribute fixed, and rejects today's output); synth fails on a violation and writes nothing;
 * a suppression is recorded and silences one rule on one resource only.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktn";
import { describe, expect, it, vi } from "vitest";
import { checkProblems, checkStack, RULES, type Block, type PolicyContext, type Rule, type RuleCheck, type StackJson } from "../constructs/policies";
import { strvalsInto } from "../constructs/policies/packs/helm-set";
import { credentialLiterals, DATAHUB_PASSWORD_PATHS, manifestsOf, PUBLISHED_BY_DEFAULT } from "../constructs/policies/packs/kubernetes";
import { CHARTS_DIR } from "./support/chart-contract";
import { parse as parseYaml } from "yaml";
import { asList, at } from "../constructs/policies/types";
import { CLOUDS, parseEnvironment, parseEnvironments, type Cloud, type Environment, type EnvironmentInput } from "../constructs/core/spec";
import { environments, environmentSource } from "../environments";
import { AppsStack } from "../stacks/apps";
import { GitopsStack } from "../stacks/gitops";
import { parseGitops } from "../constructs/core/gitops";
import { gitops } from "../environments/gitops";
import { InfraStack } from "../stacks/infra";
import { specChecks, synthesize } from "../stacks/app";
import { onCloud, productionSpec } from "./support/fixtures";

interface Case {
  readonly label: string;
  readonly cloud: Cloud;
  readonly env: Environment;
  readonly stacks: { readonly kind: "infra" | "apps"; readonly name: string; readonly json: StackJson }[];
}

// Each environment on every cloud it names an account for (as parity.test.ts does), its apps
// stack among the other default environments (metrics links resolve across them).
const defaults = parseEnvironments(environments, environmentSource, specChecks);
const cases: Case[] = CLOUDS.flatMap((cloud) =>
  environments
    .filter((input) => input.accounts?.[cloud] !== undefined)
    .map((input) => {
      const env = parseEnvironment(onCloud(input, cloud), specChecks);
      const all = defaults.map((other) => (other.name === env.name ? env : other));
      const infra = { kind: "infra" as const, name: `${env.name}-infra`, json: JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson };
      const apps = env.apps.length > 0 ? [{ kind: "apps" as const, name: `${env.name}-apps`, json: JSON.parse(Testing.synth(new AppsStack(Testing.app(), env, { environments: all }))) as StackJson }] : [];
      return { label: `${env.name} on ${cloud}`, cloud, env, stacks: [infra, ...apps] };
    }),
);

// The gitops stack of the default environments, as `npm run synth` builds it.
const gitopsJson = JSON.parse(Testing.synth(new GitopsStack(Testing.app(), parseGitops(gitops), defaults))) as StackJson;

describe("the policy pack on the gitops stack", () => {
  it("passes every enabled rule", () => {
    expect(checkStack(gitopsJson, { stackName: "gitops", kind: "gitops" }).violations.map((v) => `${v.resource}: ${v.rule.id}: ${v.problem}`)).toEqual([]);
  });
});

describe.each(cases.map((c) => [c.label, c] as const))("the policy pack on %s", (_label, { env, stacks }) => {
  it.each(stacks.map((s) => [s.name, s] as const))("%s passes every enabled rule", (_name, stack) => {
    const { violations } = checkStack(stack.json, { stackName: stack.name, kind: stack.kind, env });
    expect(violations.map((v) => `${v.resource}: ${v.rule.id}: ${v.problem}`)).toEqual([]);
  });
});

/** Sets `path` (dotted; a one-item array is stepped into, as the provider's block) to `value`. */
function set(block: Block, path: string, value: unknown): void {
  const keys = path.split(".");
  let current: Record<string, unknown> = block;
  for (const key of keys.slice(0, -1)) {
    let next = current[key];
    if (Array.isArray(next)) next = next[0];
    if (next === null || typeof next !== "object") current[key] = next = {};
    current = next as Record<string, unknown>;
  }
  current[keys[keys.length - 1]] = value;
}

/** The resource of `type` in `stack` whose attribute references `<ownType>.<id>`. */
function companion(stack: StackJson, type: string, ownType: string, id: string): Block {
  const found = Object.values(stack.resource?.[type] ?? {}).find((block) => JSON.stringify(block).includes(`${ownType}.${id}.`));
  if (!found) throw new Error(`no ${type} references ${ownType}.${id}`);
  return found;
}

interface Change {
  /** The type of the resource the check reports on (default: the check's first type). */
  readonly type?: string;
  /** Which resource of that type (default: the first). */
  readonly pick?: (block: Block, id: string) => boolean;
  /** The one change: it breaks an enabled check's resource, or fixes a pending check's. */
  readonly change: (block: Block, stack: StackJson, id: string) => void;
}

const primary = (db: Block) => db.replicate_source_db === undefined && db.master_instance_name === undefined && db.create_mode !== "Replica";
const addResource = (type: string, body: Block) => (_block: Block, stack: StackJson) => {
  const resource = (stack.resource ?? {}) as Record<string, Record<string, Block>>;
  resource[type] = { ...(resource[type] ?? {}), added: body };
};

/** Rewrites the Kubernetes objects of a manifests release (its values' `manifests`). */
const editManifests = (release: Block, edit: (manifest: Block) => void) => {
  release.values = asList(release.values).map((text) => {
    const values = JSON.parse(String(text)) as { manifests?: Block[] };
    for (const manifest of values.manifests ?? []) edit(manifest);
    return JSON.stringify(values);
  });
};
/** Rewrites the values documents of a chart release. */
const editValues = (release: Block, edit: (values: Block) => void) => {
  release.values = asList(release.values).map((text) => {
    const values = JSON.parse(String(text)) as Block;
    edit(values);
    return JSON.stringify(values);
  });
};
const hasManifest = (kind: string) => (b: Block) => asList(b.values).some((text) => asList((JSON.parse(String(text)) as Block).manifests).some((m) => at(m, "kind") === kind));
const valuesAt = (b: Block, path: string) => asList(b.values).map((text) => at(JSON.parse(String(text)), path));
/** DataHub's frontend hosts of a datahub release. */
const datahubHosts = (b: Block) => valuesAt(b, "datahub-frontend.ingress.hosts").flatMap((hosts) => asList(hosts).map((h) => String(at(h, "host"))));
/** The Middleware and Ingress that refuse DataHub's password paths on its public hosts (the shape FIX-DH adds), in DataHub's wiring release. */
const datahubBlock = (hosts: readonly string[], paths: readonly string[] = DATAHUB_PASSWORD_PATHS, sourceRange: readonly string[] = ["0.0.0.0/32"]): Block[] => [
  { apiVersion: "traefik.io/v1alpha1", kind: "Middleware", metadata: { name: "refuse-everyone", namespace: "datahub" }, spec: { ipAllowList: { sourceRange } } },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "password-refusal", namespace: "datahub", annotations: { "traefik.ingress.kubernetes.io/router.middlewares": "datahub-refuse-everyone@kubernetescrd" } },
    spec: { ingressClassName: "traefik", rules: hosts.map((host) => ({ host, http: { paths: paths.map((path) => ({ path, pathType: "Exact", backend: { service: { name: "datahub-datahub-frontend", port: { number: 9002 } } } })) } })) },
  },
];
const addDatahubBlock = (datahub: Block, stack: StackJson, objects: Block[] = datahubBlock(datahubHosts(datahub))) => {
  const wiring = Object.values(stack.resource?.helm_release ?? {}).find((r) => r.namespace === "datahub" && hasManifest("Role")(r)) ?? Object.values(stack.resource?.helm_release ?? {}).find((r) => r.namespace === "datahub" && asList(r.values).some((t) => (JSON.parse(String(t)) as Block).manifests !== undefined));
  if (wiring === undefined) throw new Error("no manifests release in datahub");
  wiring.values = asList(wiring.values).map((text) => {
    const values = JSON.parse(String(text)) as { manifests?: Block[] };
    return JSON.stringify({ ...values, manifests: [...(values.manifests ?? []), ...objects] });
  });
};
/** The project's audit config of a GCP service. */
const auditConfig = (stack: StackJson, service: string) => Object.values(stack.resource?.google_project_iam_audit_config ?? {}).find((c) => c.service === service) as Block;

/**
 * One change per check, keyed `<rule id>#<index of the check>`. Enabled checks: the change
 * breaks one attribute of a real resource, and the check must report that resource. Pending
 * checks: today's resource must be reported, and the change (the fix its helper is making)
 * must satisfy the check.
 */
const CHANGES: Readonly<Record<string, Change>> = {
  "bucket-encrypted#0": { change: (_b, s, id) => set(companion(s, "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket", id), "rule.apply_server_side_encryption_by_default.sse_algorithm", "AES256") },
  "bucket-encrypted#1": { change: (b) => set(b, "infrastructure_encryption_enabled", false) },
  "bucket-encrypted#2": {
    // The account's customer-managed key goes: back to Microsoft-managed keys.
    change: (_b, s, id) => {
      const keys = s.resource?.azurerm_storage_account_customer_managed_key ?? {};
      for (const [name, key] of Object.entries(keys)) if (JSON.stringify(key).includes(`azurerm_storage_account.${id}.`)) delete keys[name];
    },
  },
  "bucket-encrypted#3": { change: (b) => delete b.encryption },
  "database-encrypted#0": { change: (b) => set(b, "storage_encrypted", false) },
  // A production server on Azure: its geo-redundant backups' key in the paired region goes.
  "database-encrypted#1": {
    pick: (b) => primary(b) && b.geo_redundant_backup_enabled === true && b.customer_managed_key !== undefined,
    change: (b) => {
      const key = b.customer_managed_key as Block;
      delete key.geo_backup_key_vault_key_id;
      delete key.geo_backup_user_assigned_identity_id;
    },
  },
  // An instance the spec does not waive (staging-gcp's keeps Google's key under databases[].waivers.customerManagedKey).
  "database-encrypted#2": { pick: (b) => b.encryption_key_name !== undefined, change: (b) => delete b.encryption_key_name },
  "cluster-secrets-encrypted#0": { change: (b) => set(b, "encryption_config.resources", []) },
  // KMS in public mode: AKS refuses the environment's vault (public access disabled) without Private.
  "cluster-secrets-encrypted#1": { change: (b) => set(b, "key_management_service.key_vault_network_access", "Public") },
  "cluster-secrets-encrypted#2": { change: (b) => set(b, "database_encryption.state", "DECRYPTED") },
  "database-tls-only#0": { change: (b) => set(b, "parameter", (b.parameter as Block[]).map((p) => (p.name === "rds.force_ssl" ? { ...p, value: "0" } : p))) },
  "database-tls-only#1": { change: (_b, s, id) => set(Object.values(s.resource?.azurerm_postgresql_flexible_server_configuration ?? {}).find((c) => c.name === "require_secure_transport" && JSON.stringify(c).includes(id)) as Block, "value", "off") },
  "database-tls-only#2": { change: (b) => set(b, "settings.ip_configuration.ssl_mode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED") },
  "storage-tls-only#0": { change: (_b, s, id) => set(companion(s, "aws_s3_bucket_policy", "aws_s3_bucket", id), "policy", JSON.stringify({ Statement: [] })) },
  "storage-tls-only#1": { change: (b) => set(b, "min_tls_version", "TLS1_0") },
  "logs-encrypted#0": { change: (b) => delete b.kms_key_id },
  "secret-encrypted#0": { change: (b) => delete b.kms_key_id },
  "key-rotation#0": { change: (b) => set(b, "enable_key_rotation", false) },
  "key-rotation#1": {
    pick: (b) => String(b.type).startsWith("Microsoft.KeyVault/vaults/keys@"),
    change: (b) => set(b, "body.properties.rotationPolicy.lifetimeActions", [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "notify" } }]),
  },
  "key-rotation#2": { change: (b) => set(b, "rotation_period", "31536000s") },
  "volume-encrypted#0": { change: (b) => set(b, "block_device_mappings.ebs.encrypted", "false") },
  "volume-encrypted#1": { change: (b) => set(b, "parameters.encrypted", "false") },
  "bucket-not-public#0": { change: (_b, s, id) => set(companion(s, "aws_s3_bucket_public_access_block", "aws_s3_bucket", id), "restrict_public_buckets", false) },
  "bucket-not-public#1": { change: (b) => set(b, "allow_nested_items_to_be_public", true) },
  "bucket-not-public#2": { change: (b) => set(b, "public_access_prevention", "inherited") },
  "bucket-not-public#3": { change: (b) => set(b, "member", "allUsers") },
  "database-not-public#0": { change: (b) => set(b, "publicly_accessible", true) },
  "database-not-public#1": { change: (b) => set(b, "public_network_access_enabled", true) },
  "database-not-public#2": { change: (b) => set(b, "settings.ip_configuration.ipv4_enabled", true) },
  "cluster-api-private#0": { change: (b) => set(b, "vpc_config.endpoint_public_access", true) },
  "cluster-api-private#1": { change: (b) => set(b, "private_cluster_enabled", false) },
  "cluster-api-private#2": { change: (b) => set(b, "private_cluster_config.enable_private_endpoint", false) },
  "nodes-private#0": { change: (b, s) => set(s.resource?.aws_subnet?.[/aws_subnet\.([^.]+)\./.exec(String((b.subnet_ids as string[])[0]))?.[1] ?? ""] as Block, "map_public_ip_on_launch", true) },
  "nodes-private#1": { type: "azurerm_kubernetes_cluster_node_pool", change: (b) => set(b, "node_public_ip_enabled", true) },
  "nodes-private#2": { change: (b) => set(b, "private_cluster_config.enable_private_nodes", false) },
  "no-ingress-from-anywhere#0": { change: (b) => set(b, "cidr_ipv4", "0.0.0.0/0") },
  "no-ingress-from-anywhere#1": { change: (b) => Object.assign(b, { direction: "Inbound", access: "Allow", source_address_prefix: "Internet", destination_port_range: "22", destination_port_ranges: undefined }) },
  "no-ingress-from-anywhere#2": { change: (b) => Object.assign(b, { direction: "INGRESS", allow: [{ protocol: "tcp", ports: ["22"] }], deny: undefined, source_ranges: ["0.0.0.0/0"], destination_ranges: undefined }) },
  "default-security-group-closed#0": { change: (_b, s, id) => set(companion(s, "aws_default_security_group", "aws_vpc", id), "egress", [{ cidr_blocks: ["0.0.0.0/0"], from_port: 0, to_port: 0, protocol: "-1" }]) },
  "secret-store-private#0": { change: (b) => set(b, "network_acls.default_action", "Allow") },
  "instance-metadata-protected#0": { change: (b) => set(b, "metadata_options.http_tokens", "optional") },
  "instance-metadata-protected#1": { change: (b) => set(b, "node_config.workload_metadata_config.mode", "GCE_METADATA") },
  // The subnet's group loses its inbound deny of the VNet: Azure's AllowVnetInBound admits every VNet flow again.
  "subnet-has-nsg#0": {
    change: (_b, s, id) => {
      const group = /azurerm_network_security_group\.([^.]+)\./.exec(String(companion(s, "azurerm_subnet_network_security_group_association", "azurerm_subnet", id).network_security_group_id))?.[1] as string;
      const rules = s.resource?.azurerm_network_security_rule ?? {};
      for (const [name, rule] of Object.entries(rules)) if (String(rule.network_security_group_name).includes(`azurerm_network_security_group.${group}.`) && rule.access === "Deny" && rule.direction === "Inbound") delete rules[name];
    },
  },
  // A subnet declared inline in the VNet (review 12 m4).
  "subnet-has-nsg#1": { change: (b) => set(b, "subnet", [{ name: "inline", address_prefixes: ["10.21.250.0/24"] }]) },
  "bucket-recoverable#0": { change: (_b, s, id) => set(companion(s, "aws_s3_bucket_versioning", "aws_s3_bucket", id), "versioning_configuration.status", "Suspended") },
  "bucket-recoverable#1": { change: (b) => set(b, "blob_properties.container_delete_retention_policy.days", 1) },
  "bucket-recoverable#2": { change: (b) => set(b, "versioning.enabled", false) },
  "bucket-no-force-destroy#0": { change: (b) => set(b, "force_destroy", true) },
  "bucket-no-force-destroy#1": { change: (b) => set(b, "force_destroy", true) },
  "database-backups#0": { pick: primary, change: (b) => set(b, "backup_retention_period", 1) },
  "database-backups#1": { pick: primary, change: (b) => set(b, "backup_retention_days", 1) },
  "database-backups#2": { pick: primary, change: (b) => set(b, "settings.backup_configuration.point_in_time_recovery_enabled", false) },
  "database-final-snapshot#0": { pick: primary, change: (b) => set(b, "skip_final_snapshot", true) },
  "database-deletion-protection#0": { pick: primary, change: (b) => set(b, "deletion_protection", false) },
  "database-deletion-protection#1": { pick: primary, change: (_b, s, id) => set(companion(s, "azurerm_management_lock", "azurerm_postgresql_flexible_server", id), "lock_level", "ReadOnly") },
  "database-deletion-protection#2": { pick: primary, change: (b) => set(b, "settings.deletion_protection_enabled", false) },
  "prevent-destroy#0": { change: (b) => set(b, "lifecycle.prevent_destroy", false) },
  "prevent-destroy#1": { change: (b) => set(b, "lifecycle.prevent_destroy", false) },
  "prevent-destroy#2": { change: (b) => set(b, "lifecycle.prevent_destroy", false) },
  "key-recoverable#0": { change: (b) => set(b, "purge_protection_enabled", false) },
  "cluster-deletion-protection#0": { change: (b) => set(b, "deletion_protection", false) },
  "volumes-retained#0": { change: (b) => set(b, "reclaim_policy", "Delete") },
  "flow-logs#0": { change: (_b, s, id) => set(companion(s, "aws_flow_log", "aws_vpc", id), "traffic_type", "REJECT") },
  "flow-logs#1": { change: (b) => delete b.log_config },
  "flow-logs#2": { change: (_b, s, id) => set(companion(s, "azapi_resource", "azurerm_virtual_network", id), "body.properties.enabled", false) },
  "control-plane-logs#0": { change: (b) => set(b, "enabled_cluster_log_types", ["api"]) },
  "control-plane-logs#1": { change: (_b, s, id) => set(companion(s, "azurerm_monitor_diagnostic_setting", "azurerm_kubernetes_cluster", id), "enabled_log", [{ category: "kube-apiserver" }]) },
  "control-plane-logs#2": { change: (b) => set(b, "logging_config.enable_components", ["SYSTEM_COMPONENTS"]) },
  "log-retention#0": { change: (b) => set(b, "retention_in_days", 0) },
  "log-retention#1": { change: (b) => set(b, "retention_in_days", 7) },
  "log-retention#2": { change: (b) => set(b, "retention_days", 1) },
  "database-logs#0": { change: (b) => set(b, "parameter", (b.parameter as Block[]).filter((p) => p.name !== "log_connections")) },
  "database-logs#1": { change: (b) => set(b, "enabled_cloudwatch_logs_exports", ["upgrade"]) },
  "database-logs#2": { change: (b) => set(b, "settings.database_flags", []) },
  "database-logs#3": { change: (_b, s, id) => set(Object.values(s.resource?.azurerm_postgresql_flexible_server_configuration ?? {}).find((c) => c.name === "log_min_duration_statement" && JSON.stringify(c).includes(id)) as Block, "name", "work_mem") },
  // The instance's postgresql log group goes: RDS would create it, unencrypted and kept forever.
  "database-log-group-managed#0": {
    pick: primary,
    change: (b, s) => {
      const groups = s.resource?.aws_cloudwatch_log_group as Record<string, Block>;
      for (const [id, group] of Object.entries(groups)) if (group.name === `/aws/rds/instance/${String(b.identifier)}/postgresql`) delete groups[id];
    },
  },
  // The vault's setting keeps only its metrics: no AuditEvent reaches the workspace.
  "diagnostic-settings#0": { change: (_b, s, id) => set(companion(s, "azurerm_monitor_diagnostic_setting", "azurerm_key_vault", id), "enabled_log", []) },
  // The blob logs' setting targets the account instead of its blob service (which alone publishes StorageRead/Write/Delete).
  "diagnostic-settings#1": { change: (_b, s, id) => set(companion(s, "azurerm_monitor_diagnostic_setting", "azurerm_storage_account", id), "target_resource_id", `\${azurerm_storage_account.${id}.id}`) },
  // The server's setting ships only session snapshots, not the server log.
  "diagnostic-settings#2": { pick: primary, change: (_b, s, id) => set(companion(s, "azurerm_monitor_diagnostic_setting", "azurerm_postgresql_flexible_server", id), "enabled_log", [{ category: "PostgreSQLFlexSessions" }]) },
  "nat-logs#0": { change: (b) => set(b, "log_config.enable", false) },
  // The environment's trail goes (and accounts.aws.organizationTrail is not set).
  "audit-logs#0": { change: (_b, s) => delete (s.resource as Record<string, unknown>).aws_cloudtrail },
  "audit-logs#1": { change: (b) => set(b, "enable_log_file_validation", false) },
  // A data bucket's ARN leaves the trail's S3 data-event selector: its object reads and writes go unrecorded.
  "audit-logs#2": {
    pick: (b) => !/-cloudtrail-/.test(String(b.bucket)),
    change: (_b, s, id) => {
      for (const trail of Object.values(s.resource?.aws_cloudtrail ?? {}))
        for (const selector of asList(trail.advanced_event_selector))
          for (const field of asList(at(selector, "field_selector")) as Block[]) if (field.starts_with !== undefined) field.starts_with = asList(field.starts_with).filter((arn) => !String(arn).includes(`aws_s3_bucket.${id}.`));
    },
  },
  // Secret Manager logs configuration reads only: who read which secret goes unrecorded.
  "audit-logs#3": { change: (_b, s) => set(auditConfig(s, "secretmanager.googleapis.com"), "audit_log_config", [{ log_type: "ADMIN_READ" }]) },
  // Cloud KMS exempts one member from every log type: its key use goes unrecorded.
  "audit-logs#4": { change: (_b, s) => set(auditConfig(s, "cloudkms.googleapis.com"), "audit_log_config", asList(auditConfig(s, "cloudkms.googleapis.com").audit_log_config).map((log) => ({ ...(log as Block), exempted_members: ["serviceAccount:quiet@acme-data-staging.iam.gserviceaccount.com"] }))) },
  "audit-logs#5": {
    change: (_b, s) => {
      const configs = s.resource?.google_project_iam_audit_config ?? {};
      for (const [id, config] of Object.entries(configs)) if (config.service === "sqladmin.googleapis.com") delete configs[id];
    },
  },
  "audit-logs#6": { change: (_b, s) => set(auditConfig(s, "storage.googleapis.com"), "audit_log_config", [{ log_type: "ADMIN_READ" }]) },
  "no-static-credentials#0": { type: "aws_iam_access_key", change: addResource("aws_iam_access_key", { user: "deploy" }) },
  "no-static-credentials#1": { change: (b) => set(b, "shared_access_key_enabled", true) },
  "no-static-credentials#2": { change: (b) => set(b, "local_account_disabled", false) },
  "no-static-credentials#3": { type: "google_service_account_key", change: addResource("google_service_account_key", { service_account_id: "deploy" }) },
  "federated-trust-scoped#0": {
    pick: (b) => String(b.assume_role_policy).includes("system:serviceaccount"),
    change: (b) => set(b, "assume_role_policy", String(b.assume_role_policy).replace(/system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+/, "system:serviceaccount:*:*").replace("StringEquals", "StringLike")),
  },
  "federated-trust-scoped#1": { change: (b) => set(b, "subject", "system:serviceaccount:*:default") },
  "federated-trust-scoped#2": { pick: (b) => String(b.member).includes("svc.id.goog"), change: (b) => set(b, "member", String(b.member).replace(/\[.*\]/, "[*/*]")) },
  "no-wildcard-permissions#0": { change: (b) => set(b, "policy", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] })) },
  "no-wildcard-permissions#1": { change: (b) => set(b, "permissions.actions", ["*"]) },
  "no-owner-grants#0": { pick: (b) => b.condition !== undefined, change: (b) => delete b.condition },
  // The run account's IAM administration loses the condition limiting the roles it may grant.
  "no-owner-grants#1": { pick: (b) => b.role === "roles/resourcemanager.projectIamAdmin", change: (b) => delete b.condition },
  "no-owner-grants#2": { pick: (b) => b.permissions_boundary !== undefined, change: (b) => delete b.permissions_boundary },
  "cluster-sso-only#0": { change: (b) => set(b, "access_config.authentication_mode", "API_AND_CONFIG_MAP") },
  "cluster-sso-only#1": { change: (b) => set(b, "azure_active_directory_role_based_access_control.azure_rbac_enabled", false) },
  "cluster-sso-only#2": { change: (b) => set(b, "master_auth", { client_certificate_config: { issue_client_certificate: true } }) },
  "database-identity-auth#0": { pick: primary, change: (b) => set(b, "iam_database_authentication_enabled", false) },
  "database-identity-auth#1": { change: (b) => set(b, "settings.database_flags", []) },
  // A server with Entra authentication on loses its Entra administrator: nobody can sign in with Entra.
  "database-identity-auth#2": {
    pick: (b) => primary(b) && at(b, "authentication.active_directory_auth_enabled") === true,
    change: (_b, s, id) => {
      const admins = s.resource?.azurerm_postgresql_flexible_server_active_directory_administrator ?? {};
      for (const [name, admin] of Object.entries(admins)) if (String(admin.server_name).includes(`azurerm_postgresql_flexible_server.${id}.`)) delete admins[name];
    },
  },
  "namespace-pod-security#0": { pick: (b) => JSON.stringify(b).includes('"privileged"'), change: (b) => set(b, "metadata.annotations", {}) },
  // A release that makes its own namespace (review 12 m6).
  "namespace-pod-security#1": { pick: (b) => b.chart === "metabase", change: (b) => set(b, "create_namespace", true) },
  "chart-pinned#0": { pick: (b) => b.repository !== undefined, change: (b) => set(b, "version", "^1.0.0") },
  "no-credential-in-values#0": { pick: (b) => b.chart === "metabase", change: (b) => set(b, "values", [JSON.stringify({ ...JSON.parse(String((b.values as string[])[0])), database: { password: "hunter2-hunter2" } })]) },
  // The namespace's default deny (network-policies.ts) loses its Egress type: it no longer isolates both directions.
  "namespace-default-deny#0": {
    change: (b, s) => {
      const name = at(b, "metadata.name");
      for (const release of Object.values(s.resource?.helm_release ?? {})) {
        release.values = asList(release.values).map((text) => {
          const values = JSON.parse(String(text)) as { manifests?: Block[] };
          for (const manifest of values.manifests ?? []) {
            if (manifest.kind === "NetworkPolicy" && at(manifest, "metadata.namespace") === name && at(manifest, "metadata.name") === "default-deny") set(manifest, "spec.policyTypes", ["Ingress"]);
          }
          return JSON.stringify(values);
        });
      }
    },
  },
  "namespace-pod-security-restricted#0": { pick: (b) => JSON.stringify(b).includes('"restricted"'), change: (b) => set(b, "metadata.labels", { ...(at(b, "metadata.labels") as Block), "pod-security.kubernetes.io/enforce": "baseline" }) },
  // Traefik's web entry point stops redirecting (the values addons.ts gives it, without ports.web.http).
  // Each cloud's cluster stops enforcing NetworkPolicy (review 12 M8's probes).
  "network-policy-enforced#0": { change: (_b, s) => Object.values(s.resource?.aws_eks_addon ?? {}).forEach((addon) => addon.addon_name === "vpc-cni" && (addon.configuration_values = JSON.stringify({ enableNetworkPolicy: "false" }))) },
  "network-policy-enforced#1": { change: (b) => delete (at(b, "network_profile") as Block).network_policy },
  "network-policy-enforced#2": { change: (b) => set(b, "datapath_provider", "LEGACY_DATAPATH") },
  "https-redirect#0": {
    pick: (b) => b.chart === "traefik",
    change: (b) =>
      set(
        b,
        "values",
        asList(b.values).map((text) => {
          const values = JSON.parse(String(text)) as Block;
          const web = at(values, "ports.web") as Block | undefined;
          if (web !== undefined) delete web.http;
          return JSON.stringify(values);
        }),
      ),
  },
  "database-ha#0": { pick: primary, change: (b) => set(b, "multi_az", false) },
  "database-ha#1": { pick: primary, change: (b) => delete b.high_availability },
  "database-ha#2": { pick: primary, change: (b) => set(b, "settings.availability_type", "ZONAL") },
  "database-storage-autoscaling#0": { pick: primary, change: (b) => set(b, "max_allocated_storage", b.allocated_storage) },
  "database-storage-autoscaling#1": { change: (b) => set(b, "auto_grow_enabled", false) },
  "database-storage-autoscaling#2": { change: (b) => set(b, "settings.disk_autoresize", false) },
  "nodes-zone-spread#0": { change: (b) => set(b, "subnet_ids", (b.subnet_ids as string[]).slice(0, 1)) },
  "nodes-zone-spread#1": { type: "azurerm_kubernetes_cluster_node_pool", change: (b) => set(b, "zones", ["1"]) },
  "nodes-zone-spread#2": { change: (b) => Object.assign(b, { location: "europe-west1-b", node_locations: [] }) },
  "control-plane-ha#0": { change: (b) => set(b, "sku_tier", "Free") },
  "control-plane-ha#1": { change: (b) => set(b, "location", "europe-west1-b") },
  "nat-per-zone#0": { change: (_b, s) => set(s.resource as Block, "aws_nat_gateway", Object.fromEntries(Object.entries(s.resource?.aws_nat_gateway ?? {}).slice(0, 1))) },
  "nat-per-zone#1": {
    change: (_b, s) => {
      const nats = s.resource?.azurerm_nat_gateway as Record<string, Block>;
      [1, 2, 3].forEach((zone) => (nats[`nat-${zone}`] = { zones: [String(zone)] }));
    },
  },
  "storage-zone-redundant#0": { change: (b) => set(b, "account_replication_type", "LRS") },
  "storage-zone-redundant#1": { change: (b) => set(b, "location", "europe-west1") },
  "helm-release-recoverable#0": { change: (b) => set(b, "cleanup_on_fail", false) },
  // The Strimzi Kafka's listener drops TLS (PLAINTEXT inside the cluster again).
  "kafka-authenticated#0": { pick: hasManifest("Kafka"), change: (b) => editManifests(b, (m) => m.kind === "Kafka" && asList(at(m, "spec.kafka.listeners")).forEach((l) => ((l as Block).tls = false))) },
  // OpenSearch's security plugin turned off through the image's entrypoint.
  "opensearch-secured#0": {
    pick: (b) => b.chart === "datahub-prerequisites",
    change: (b) => editValues(b, (v) => set(v, "opensearch.extraEnvs", [...asList(at(v, "opensearch.extraEnvs")), { name: "DISABLE_SECURITY_PLUGIN", value: "true" }])),
  },
  // With sso (the proxy serves Metabase's host), the chart's own Ingress comes back: the host is served without sign-in.
  "sso-every-host#0": { pick: (b) => b.chart === "metabase" && valuesAt(b, "ingress.enabled").includes(false), change: (b) => editValues(b, (v) => set(v, "ingress.enabled", true)) },
  // The pending DataHub check: FIX-DH's fix, modelled on its output shape: an Ingress of ours on
  // DataHub's host for the password paths, through a Traefik ipAllowList admitting no client.
  // With sso, an Ingress to Metabase's own Service applied as a kubernetes_manifest (review 12 M5's probe).
  "sso-every-host#1": {
    type: "kubernetes_manifest",
    change: (_b, s) =>
      addResource("kubernetes_manifest", {
        manifest: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "mb", namespace: "metabase" }, spec: { rules: [{ host: "metabase.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "metabase", port: { number: 80 } } } }] } }] } },
      })({}, s),
  },
  "sso-every-host#2": {
    pick: (b) => b.chart === "datahub" && valuesAt(b, "datahub-frontend.oidcAuthentication.enabled").includes(true),
    // The refusal of the password paths opened to every client.
    change: (_b, s) => Object.values(s.resource?.helm_release ?? {}).forEach((r) => editManifests(r, (m) => m.kind === "Middleware" && set(m, "spec.ipAllowList.sourceRange", ["0.0.0.0/0"]))),
  },
  "untrusted-accounts-powerless#0": { pick: (b) => at(b, "metadata.name") === "airflow-tasks", change: (b) => set(b, "automount_service_account_token", true) },
  // Review 12b M2: Airflow's task pods pointed at the platform's account.
  "untrusted-accounts-powerless#1": { pick: (b) => b.chart === "airflow", change: (b) => editValues(b, (v) => v.workers !== undefined && set(v, "workers.serviceAccount.name", "airflow")) },
  // Airflow's namespace loses its task account: task pods would run under another.
  "untrusted-accounts-powerless#2": {
    pick: (b) => at(b, "metadata.name") === "airflow",
    change: (_b, s) => {
      const accounts = s.resource?.kubernetes_service_account_v1 ?? {};
      for (const [id, account] of Object.entries(accounts)) if (at(account, "metadata.name") === "airflow-tasks") delete accounts[id];
    },
  },
  "terraform-cloud-scoped#0": { change: (b) => set(b, "organization_scoped", true) },
  "terraform-cloud-scoped#1": { change: (b) => set(b, "global_remote_state", true) },
  "workspace-protected#0": { change: (b) => delete b.lifecycle },
};

const keyOf = (rule: Rule, index: number) => `${rule.id}#${index}`;
const allChecks = RULES.flatMap((rule) => rule.checks.map((check, index) => ({ rule, check, key: keyOf(rule, index) })));

/** The first case and stack where `check` runs and a resource of `type` exists (for a forbidden type: any stack the check reads). */
function targetFor(rule: Rule, check: RuleCheck, change: Change): { ctx: PolicyContext; type: string; id: string } {
  const type = change.type ?? check.types[0];
  if (check.kind === "gitops") {
    const ctx: PolicyContext = { stack: structuredClone(gitopsJson) as StackJson, stackName: "gitops", kind: "gitops" };
    const found = Object.entries(ctx.stack.resource?.[type] ?? {}).find(([id, block]) => change.pick?.(block, id) ?? true);
    if (found) return { ctx, type, id: found[0] };
  }
  for (const c of cases) {
    if (check.cloud !== "any" && check.cloud !== c.cloud) continue;
    if (rule.productionOnly && !c.env.production) continue;
    for (const stack of c.stacks.filter((s) => s.kind === check.kind)) {
      const json = structuredClone(stack.json) as StackJson;
      const ctx: PolicyContext = { stack: json, stackName: stack.name, kind: stack.kind, env: c.env };
      const found = Object.entries(json.resource?.[type] ?? {}).find(([id, block]) => change.pick?.(block, id) ?? true);
      if (found) return { ctx, type, id: found[0] };
      if (!check.types.some((t) => json.resource?.[t] !== undefined) && change.type !== undefined && !check.pending) {
        // A type the platform never creates (static keys): the change adds one.
        return { ctx, type, id: "added" };
      }
    }
  }
  throw new Error(`no default environment has a ${type} for ${rule.id}`);
}

describe("every check of every rule", () => {
  it("has exactly one change in this file", () => {
    expect(Object.keys(CHANGES).sort()).toEqual(allChecks.map((c) => c.key).sort());
  });

  it.each(allChecks.filter((c) => !c.check.pending).map((c) => [c.key, c] as const))("%s accepts the real resource and rejects it with one attribute broken", (_key, { rule, check, key }) => {
    const change = CHANGES[key];
    const { ctx, type, id } = targetFor(rule, check, change);
    const address = `${type}.${id}`;
    const problemsAt = () => checkProblems(check, ctx).filter((p) => p.resource === address);
    expect(problemsAt()).toEqual([]);
    change.change((ctx.stack.resource?.[type] ?? {})[id], ctx.stack, id);
    expect(problemsAt().length).toBeGreaterThan(0);
  });

  it.each(allChecks.filter((c) => c.check.pending).map((c) => [c.key, c] as const))("%s (pending) rejects today's resource and accepts it fixed", (_key, { rule, check, key }) => {
    const change = CHANGES[key];
    const { ctx, type, id } = targetFor(rule, check, change);
    const address = `${type}.${id}`;
    const problemsAt = () => checkProblems(check, ctx).filter((p) => p.resource === address);
    expect(problemsAt().length).toBeGreaterThan(0);
    change.change((ctx.stack.resource?.[type] ?? {})[id], ctx.stack, id);
    expect(problemsAt()).toEqual([]);
  });
});

describe("rule metadata", () => {
  it("gives every rule a unique kebab-case id, a title, a fix and at least one check", () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const rule of RULES) {
      expect(rule.id).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.fix.length).toBeGreaterThan(10);
      expect(rule.checks.length).toBeGreaterThan(0);
    }
  });

  it("refuses a Traefik redirect to websecure over plain http (the chart fails on it at v41.3.0)", () => {
    const check = RULES.find((r) => r.id === "https-redirect")?.checks[0] as RuleCheck;
    const release = { chart: "traefik", values: [JSON.stringify({ ports: { web: { http: { redirections: { entryPoint: { to: "websecure", scheme: "http" } } } } } })] };
    expect(check.check(release, {} as PolicyContext, "t")).toEqual(["ports.web.http.redirections.entryPoint.scheme is http"]);
    // The key without `http.` is not read by the chart's template.
    expect(check.check({ chart: "traefik", values: [JSON.stringify({ ports: { web: { redirections: { entryPoint: { to: "websecure" } } } } })] }, {} as PolicyContext, "t")).toHaveLength(1);
  });

  it("admits the Internet on Azure only to the ingress ports, and a storage account with public network access only behind a Deny firewall", () => {
    const ruleCheck = (id: string, cloud: string) => RULES.find((r) => r.id === id)?.checks.find((c) => c.cloud === cloud) as RuleCheck;
    const nsg = ruleCheck("no-ingress-from-anywhere", "azure");
    const azure = cases.find((c) => c.cloud === "azure") as Case;
    const ctx: PolicyContext = { stack: azure.stacks[0].json, stackName: azure.stacks[0].name, kind: "infra", env: azure.env };
    // The web rule of the real output is in the node subnet's group.
    const web = Object.values(ctx.stack.resource?.azurerm_network_security_rule ?? {}).find((r) => r.source_address_prefix === "Internet" && r.direction === "Inbound") as Block;
    const inbound = { ...web, direction: "Inbound", access: "Allow", source_address_prefix: "Internet", destination_port_range: undefined };
    expect(nsg.check({ ...inbound, destination_port_ranges: ["80", "443"] }, ctx, "t")).toEqual([]);
    expect(nsg.check({ ...inbound, destination_port_ranges: ["443", "22"] }, ctx, "t")).toHaveLength(1);
    expect(nsg.check({ ...inbound, destination_port_ranges: undefined, destination_port_range: "*" }, ctx, "t")).toHaveLength(1);
    // The same opening in a group of a subnet without nodes (PostgreSQL's) admits the Internet where no ingress controller runs.
    const postgresGroup = Object.keys(ctx.stack.resource?.azurerm_network_security_group ?? {}).find((g) => g.includes("postgres")) as string;
    expect(nsg.check({ ...inbound, destination_port_ranges: ["80", "443"], network_security_group_name: `\${azurerm_network_security_group.${postgresGroup}.name}` }, ctx, "t")).toEqual([
      "admits the Internet on 80/443 to a subnet that runs no AKS nodes (only the node subnet serves the ingress controller)",
    ]);
    const bucket = ruleCheck("bucket-not-public", "azure");
    const account = { allow_nested_items_to_be_public: false, public_network_access_enabled: true };
    expect(bucket.check({ ...account, network_rules: { default_action: "Deny", bypass: ["AzureServices"] } }, {} as PolicyContext, "t")).toEqual([]);
    expect(bucket.check({ ...account, network_rules: { default_action: "Allow" } }, {} as PolicyContext, "t")).toHaveLength(1);
    expect(bucket.check({ ...account, network_rules: { default_action: "Deny", ip_rules: ["203.0.113.0/24"] } }, {} as PolicyContext, "t")).toHaveLength(1);
  });

  it("asks Azure PostgreSQL for Entra authentication with an administrator exactly when the spec names the admin group, and never of a replica", () => {
    const check = RULES.find((r) => r.id === "database-identity-auth")?.checks.find((c) => c.cloud === "azure") as RuleCheck;
    // Environments at step 1 of the two-apply upgrade (the waiver) have no KMS yet: the waiver test covers them.
  const azure = cases.filter((c) => c.cloud === "azure" && c.env.cluster.azure?.waivers?.secretsEncryption === undefined);
    const named = azure.find((c) => c.env.cluster.azure?.adminGroupName !== undefined) as Case;
    const unnamed = azure.find((c) => c.env.cluster.azure?.adminGroupName === undefined) as Case;
    const server = (c: Case) => {
      const stack = structuredClone(c.stacks[0].json);
      const [id, block] = Object.entries(stack.resource?.azurerm_postgresql_flexible_server ?? {}).find(([, b]) => primary(b)) as [string, Block];
      return { ctx: { stack, stackName: c.stacks[0].name, kind: "infra" as const, env: c.env }, id, block };
    };
    // No admin group named: Entra off is the documented default; turned on, it has no administrator.
    const off = server(unnamed);
    expect(check.check(off.block, off.ctx, off.id)).toEqual([]);
    expect(check.check({ ...off.block, authentication: [{ active_directory_auth_enabled: true }] }, off.ctx, off.id)).toEqual(["Entra authentication is on with no Entra administrator for this server"]);
    // The spec names the group: Entra must be on.
    const on = server(named);
    expect(check.check(on.block, on.ctx, on.id)).toEqual([]);
    expect(check.check({ ...on.block, authentication: [{ active_directory_auth_enabled: false }] }, on.ctx, on.id)).toHaveLength(1);
    // The slow-statement log turned off by its value (-1), not its absence.
    const logs = RULES.find((r) => r.id === "database-logs")?.checks.find((c) => c.cloud === "azure") as RuleCheck;
    expect(logs.check(on.block, on.ctx, on.id)).toEqual([]);
    const slow = Object.values(on.ctx.stack.resource?.azurerm_postgresql_flexible_server_configuration ?? {}).find((c) => c.name === "log_min_duration_statement" && String(c.server_id).includes(`.${on.id}.`)) as Block;
    slow.value = "-1";
    expect(logs.check(on.block, on.ctx, on.id)).toEqual(["log_min_duration_statement is -1, needs a duration of 0 ms or more (-1 logs nothing)"]);
    // A replica has no authentication block of its own.
    expect(check.check({ create_mode: "Replica", source_server_id: `\${azurerm_postgresql_flexible_server.${on.id}.id}` }, on.ctx, "replica")).toEqual([]);
  });

  it("refuses Azure owner power by role id and through a custom role that may write role assignments", () => {
    const check = RULES.find((r) => r.id === "no-owner-grants")?.checks.find((c) => c.cloud === "azure") as RuleCheck;
    const c = cases.find((k) => k.cloud === "azure" && Object.keys(k.stacks[0].json.resource?.azurerm_role_definition ?? {}).length > 0) as Case;
    const stack = structuredClone(c.stacks[0].json);
    const ctx: PolicyContext = { stack, stackName: c.stacks[0].name, kind: "infra", env: c.env };
    const [definitionId, definition] = Object.entries(stack.resource?.azurerm_role_definition ?? {})[0];
    const custom = Object.values(stack.resource?.azurerm_role_assignment ?? {}).find((a) => String(a.role_definition_id).includes(`azurerm_role_definition.${definitionId}.`)) as Block;
    expect(check.check(custom, ctx, "a")).toEqual([]);
    const builtIn = (guid: string) => ({ principal_id: "p", scope: "/subscriptions/s", role_definition_id: `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${guid}` });
    expect(check.check(builtIn("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), ctx, "a")).toEqual(["the Owner role"]);
    expect(check.check(builtIn("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"), ctx, "a")).toHaveLength(1);
    expect(check.check(builtIn("acdd72a7-3385-48ef-bd42-f606fba81ae7"), ctx, "a")).toEqual([]); // Reader
    for (const action of ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/*", "Microsoft.Authorization/*/Write"]) {
      set(definition, "permissions.actions", [...asList(at(definition, "permissions.actions")), action]);
      expect(check.check(custom, ctx, "a")).toHaveLength(1);
      set(definition, "permissions.actions", asList(at(definition, "permissions.actions")).slice(0, -1));
    }
  });

  it("holds each cloud-specific rule on every cloud, or says why a cloud has no check", () => {
    const gaps = RULES.filter((rule) => rule.checks.every((check) => check.cloud !== "any")).flatMap((rule) =>
      CLOUDS.filter((cloud) => !rule.checks.some((check) => check.cloud === cloud) && rule.elsewhere?.[cloud] === undefined).map((cloud) => `${rule.id} on ${cloud}`),
    );
    expect(gaps).toEqual([]);
    // A reason for a cloud that has a check would be stale.
    expect(RULES.flatMap((rule) => Object.keys(rule.elsewhere ?? {}).filter((cloud) => rule.checks.some((check) => check.cloud === cloud)).map((cloud) => `${rule.id} on ${cloud}`))).toEqual([]);
  });

  it("checks the credential-literal shapes it names, and not Secret references", () => {
    expect(credentialLiterals({ a: { password: "hunter2" }, b: { url: "postgres://u:p@h/db" }, env: [{ name: "API_TOKEN", value: "abc" }] })).toHaveLength(3);
    expect(credentialLiterals({ passwordKey: "password", existingSecret: "x", password: "{{ .password }}", env: [{ name: "PASSWORD", value: "$(DB_PASSWORD)" }] })).toEqual([]);
  });

  it("finds every credential shape anywhere in a value, and each only where it is", () => {
    const shaped = {
      pem: "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc",
      aws: ["id AKIAABCDEFGHIJKLMNOP here"],
      github: { t: `ghp_${"a".repeat(36)}` },
      slack: "xoxb-1234567890-abcdef",
      hook: "https://hooks.slack.com/services/T0000/B0000/xyz",
      url: "redis://user:secret@cache:6379",
      none: ["AKIA-not-a-key", `ghp_${"a".repeat(35)}`, "xoxb-short", "https://hooks.slack.com/other", "-----BEGIN CERTIFICATE-----", "postgres://host/db"],
    };
    expect(credentialLiterals(shaped).sort()).toEqual(
      [
        "pem holds a PEM private key",
        "aws.0 holds an AWS access key id",
        "github.t holds a GitHub token",
        "slack holds a Slack token",
        "hook holds a Slack webhook URL",
        "url holds a URL with a password",
      ].sort(),
    );
  });
});

describe("a database's production waivers", () => {
  it("exempt that database from the rule they name, and no other database", () => {
    const base = productionSpec();
    const waived = { name: "scratch", postgresVersion: "16", size: "small", storageGiB: 50, highAvailability: false, waivers: { highAvailability: "a scratch copy rebuilt nightly from the lake" } } as const;
    const env = parseEnvironment({ ...base, databases: [...(base.databases ?? []), waived] }, specChecks);
    const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson;
    const rules = RULES.filter((r) => r.id === "database-ha");
    const ctx = { stackName: `${env.name}-infra`, kind: "infra" as const, env };
    const instances = Object.entries(json.resource?.aws_db_instance ?? {});
    expect(instances.map(([, db]) => db.multi_az)).toEqual([true, false]);
    expect(checkStack(json, ctx, [], { rules }).violations).toEqual([]);
    // The other database loses its HA: the scratch database's waiver does not cover it.
    instances[0][1].multi_az = false;
    expect(checkStack(json, ctx, [], { rules }).violations.map((v) => v.resource)).toEqual([`aws_db_instance.${instances[0][0]}`]);
  });
});

describe("spec waivers of customer-managed keys and geo-redundancy", () => {
  // A production GCP environment with two databases and two buckets, one of each waived.
  const base = { ...productionSpec(), cloud: "gcp" as const, accounts: { gcp: { region: "europe-west1", projectId: "acme-data-test" } } };
  const input: EnvironmentInput = {
    ...base,
    databases: [...(base.databases ?? []), { name: "legacy", postgresVersion: "16", size: "small", storageGiB: 50, readReplicas: 1, waivers: { customerManagedKey: "created with Google's key before customer-managed keys" } }],
    buckets: [...(base.buckets ?? []), { name: "archive", purpose: "backups", waivers: { geoRedundant: "created in europe-west1 before multi-region buckets" } }],
  };
  const env = parseEnvironment(input, specChecks);
  const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson;
  const ctx = { stackName: `${env.name}-infra`, kind: "infra" as const, env };
  const rules = RULES.filter((r) => ["database-encrypted", "storage-zone-redundant"].includes(r.id));
  const byName = (type: string, name: RegExp) => Object.entries(json.resource?.[type] ?? {}).find(([, block]) => name.test(String(block.name))) as [string, Block];

  it("keep the waived database on Google's key and the waived bucket in its region, and the pack records both with the spec field and reason", () => {
    // The primary and its replica (master_instance_name references the primary).
    const legacy = Object.entries(json.resource?.google_sql_database_instance ?? {})
      .filter(([, block]) => block.encryption_key_name === undefined)
      .map(([id]) => id);
    expect(legacy).toHaveLength(2);
    const [archive] = byName("google_storage_bucket", /-archive-/);
    const result = checkStack(json, ctx, [], { rules });
    expect(result.violations).toEqual([]);
    expect(result.waived).toEqual([
      ...legacy.map((id) => ({ rule: "database-encrypted", resource: `google_sql_database_instance.${id}`, waiver: "databases[1].waivers.customerManagedKey", reason: "created with Google's key before customer-managed keys", problems: [expect.stringContaining("encryption_key_name")] })),
      { rule: "storage-zone-redundant", resource: `google_storage_bucket.${archive}`, waiver: "buckets[1].waivers.geoRedundant", reason: "created in europe-west1 before multi-region buckets", problems: ["location europe-west1 is a single region"] },
    ]);
  });

  it("cover that resource only: the other database and bucket losing their key and multi-region fail", () => {
    const copy = structuredClone(json);
    const [main] = byName("google_sql_database_instance", /-db-main-/);
    const [logs] = byName("google_storage_bucket", /-logs-/);
    const mine = copy.resource as Record<string, Record<string, Block>>;
    delete mine.google_sql_database_instance[main].encryption_key_name;
    mine.google_storage_bucket[logs].location = "europe-west1";
    expect(checkStack(copy, ctx, [], { rules }).violations.map((v) => `${v.rule.id} ${v.resource}`)).toEqual([`database-encrypted google_sql_database_instance.${main}`, `storage-zone-redundant google_storage_bucket.${logs}`]);
  });

  it("keep an AWS database and its replica on RDS's managed key (kms_key_id unset: optional and computed in aws 5.100.0's schema, the provider keeps the key it reads)", () => {
    const waiver = { customerManagedKey: "created with the aws/rds key before customer-managed keys" };
    const aws = parseEnvironment({ ...productionSpec(), databases: (productionSpec().databases ?? []).map((db) => ({ ...db, readReplicas: 1, waivers: waiver })) }, specChecks);
    const awsJson = JSON.parse(Testing.synth(new InfraStack(Testing.app(), aws))) as StackJson;
    const instances = Object.entries(awsJson.resource?.aws_db_instance ?? {});
    expect(instances.map(([, db]) => [db.kms_key_id, db.storage_encrypted])).toEqual([
      [undefined, true],
      [undefined, true],
    ]);
    // The replica is its primary's spec entry (replicate_source_db), so the waiver covers it too.
    const result = checkStack(awsJson, { stackName: "live-infra", kind: "infra", env: aws }, [], { rules });
    expect(result.violations).toEqual([]);
    expect(result.waived.map((w) => `${w.rule} ${w.resource} ${w.waiver}`)).toEqual(instances.map(([id]) => `database-encrypted aws_db_instance.${id} databases[0].waivers.customerManagedKey`));
  });
});

describe("cluster-secrets-encrypted on Azure beyond one attribute", () => {
  const check = RULES.find((r) => r.id === "cluster-secrets-encrypted")?.checks.find((c) => c.cloud === "azure") as RuleCheck;
  // Environments at step 1 of the two-apply upgrade (the waiver) have no KMS yet: the waiver test covers them.
  const azure = cases.filter((c) => c.cloud === "azure" && c.env.cluster.azure?.waivers?.secretsEncryption === undefined);

  it("accepts every Azure environment's cluster and rejects each way KMS with the private vault breaks", () => {
    expect(azure.length).toBeGreaterThan(0);
    for (const c of azure) {
      const json = c.stacks[0].json;
      const [id, cluster] = Object.entries(json.resource?.azurerm_kubernetes_cluster ?? {})[0];
      const ctx = { stack: json, stackName: "x", kind: "infra" as const, env: c.env };
      expect(check.check(cluster, ctx, id), `${c.label}`).toEqual([]);
      const broken = (change: (b: Block) => void) => {
        const copy = structuredClone(cluster);
        change(copy);
        return check.check(copy, ctx, id);
      };
      // No KMS at all, VNet integration off (AKS supports a private vault only through it), no
      // delegated subnet, a fixed key version (the cluster would stay on it after a rotation) and a
      // versionless id (azurerm's NestedItemId refuses it).
      expect(broken((b) => delete b.key_management_service)).toEqual(["key_management_service is not set (no KMS etcd encryption)"]);
      expect(broken((b) => set(b, "api_server_access_profile.virtual_network_integration_enabled", false))).toEqual([expect.stringContaining("virtual_network_integration_enabled is false")]);
      expect(broken((b) => delete (at(b, "api_server_access_profile") as Block).subnet_id)).toEqual([expect.stringContaining("subnet_id is not set")]);
      expect(broken((b) => set(b, "key_management_service.key_vault_key_id", "https://v.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef"))).toEqual([expect.stringContaining("would not follow the key's rotations")]);
      expect(broken((b) => set(b, "key_management_service.key_vault_key_id", "${azapi_resource.k.output.properties.keyUri}"))).toHaveLength(1);
    }
  });

  it("rejects a cluster key whose versions expire before the one the cluster left has outlived the next rotation (expiry < 2 × rotation + 30 days)", () => {
    for (const c of azure) {
      const json = structuredClone(c.stacks[0].json);
      const [id, cluster] = Object.entries(json.resource?.azurerm_kubernetes_cluster ?? {})[0];
      const keyId = /azapi_resource\.([^.]+)\./.exec(String(at(cluster, "key_management_service.key_vault_key_id")))?.[1] as string;
      const policy = at(json.resource?.azapi_resource?.[keyId], "body.properties.rotationPolicy") as Block;
      const ctx = { stack: json, stackName: "x", kind: "infra" as const, env: c.env };
      // The policy every key had before (a year, two years): the version left at the first apply after a rotation expires at the next one.
      set(policy, "attributes.expiryTime", "P730D");
      expect(check.check(cluster, ctx, id)).toEqual([expect.stringContaining("at least 760 days (2 × rotation + 30)")]);
      set(policy, "attributes.expiryTime", "P2Y1M");
      expect(check.check(cluster, ctx, id)).toEqual([]);
      // Rotation counted back from the expiry: P1095D less P365D rotates at day 730, too late for a P1095D expiry.
      set(policy, "attributes.expiryTime", "P1095D");
      policy.lifetimeActions = [{ trigger: { timeBeforeExpiry: "P365D" }, action: { type: "rotate" } }];
      expect(check.check(cluster, ctx, id)).toEqual([expect.stringContaining("rotate after 730")]);
      policy.lifetimeActions = [];
      expect(check.check(cluster, ctx, id)).toEqual([expect.stringContaining("lifetime is unknown")]);
    }
  });

  it("records cluster.azure.waivers.secretsEncryption (the first of an existing cluster's two applies) instead of failing, and only with the waiver", () => {
    const reason = "created before VNet Integration: converted, stopped and started first";
    for (const c of azure) {
      const input = environments.find((e) => e.name === c.env.name) as EnvironmentInput;
      const env = parseEnvironment({ ...onCloud(input, "azure"), cluster: { ...input.cluster, azure: { ...input.cluster.azure, adminGroupObjectIds: input.cluster.azure?.adminGroupObjectIds ?? [], waivers: { secretsEncryption: reason } } } } as EnvironmentInput, specChecks);
      const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson;
      const [id] = Object.keys(json.resource?.azurerm_kubernetes_cluster ?? {});
      const rules = RULES.filter((r) => r.id === "cluster-secrets-encrypted");
      const result = checkStack(json, { stackName: "x", kind: "infra", env }, [], { rules });
      expect(result.violations).toEqual([]);
      expect(result.waived).toEqual([{ rule: "cluster-secrets-encrypted", resource: `azurerm_kubernetes_cluster.${id}`, waiver: "cluster.azure.waivers.secretsEncryption", reason, problems: ["key_management_service is not set (no KMS etcd encryption)"] }]);
      // The same output without the waiver in the spec fails.
      expect(checkStack(json, { stackName: "x", kind: "infra", env: c.env }, [], { rules }).violations.map((v) => v.problem)).toEqual(["key_management_service is not set (no KMS etcd encryption)"]);
      // Review 12b m1: the waiver covers KMS only; apply 1's VNet Integration is still required.
      const cluster = (json.resource?.azurerm_kubernetes_cluster ?? {})[id];
      set(cluster, "api_server_access_profile.virtual_network_integration_enabled", false);
      const withoutIntegration = checkStack(json, { stackName: "x", kind: "infra", env }, [], { rules });
      expect(withoutIntegration.violations.map((v) => v.problem)).toEqual([expect.stringContaining("api_server_access_profile.virtual_network_integration_enabled")]);
      expect(withoutIntegration.waived.map((w) => w.problems)).toEqual([["key_management_service is not set (no KMS etcd encryption)"]]);
    }
  });
});

describe("no-owner-grants beyond one attribute", () => {
  const ruleCheck = (cloud: string) => RULES.find((r) => r.id === "no-owner-grants")?.checks.find((c) => c.cloud === cloud) as RuleCheck;
  const gcpCase = cases.find((c) => c.cloud === "gcp") as Case;
  const aws = cases.find((c) => c.cloud === "aws") as Case;

  it("GCP: IAM administration whose condition lets it grant owner or an IAM role, or with another condition, fails", () => {
    const json = gcpCase.stacks[0].json;
    const [, grant] = Object.entries(json.resource?.google_project_iam_member ?? {}).find(([, b]) => b.role === "roles/resourcemanager.projectIamAdmin") as [string, Block];
    const check = ruleCheck("gcp");
    const ctx = { stack: json, stackName: "x", kind: "infra" as const, env: gcpCase.env };
    const withExpression = (expression: string) => ({ ...grant, condition: { ...(grant.condition as Block), expression } });
    const expression = String(at(grant, "condition.expression"));
    expect(check.check(grant, ctx, "g")).toEqual([]);
    expect(check.check(withExpression(expression.replace("hasOnly([", "hasOnly(['roles/owner', ")), ctx, "g")).toEqual(["role roles/resourcemanager.projectIamAdmin may grant roles/owner"]);
    expect(check.check(withExpression(expression.replace("hasOnly([", "hasOnly(['roles/iam.serviceAccountTokenCreator', ")), ctx, "g")).toHaveLength(1);
    expect(check.check(withExpression("request.time < timestamp('2030-01-01T00:00:00Z')"), ctx, "g")).toEqual([expect.stringContaining("without a condition limiting the roles it may grant")]);
    expect(check.check({ ...grant, role: "roles/iam.securityAdmin", condition: undefined }, ctx, "g")).toEqual(["role roles/iam.securityAdmin"]);
  });

  it("AWS: the Terraform Cloud run role may create roles only with the boundary and never remove one", () => {
    const json = structuredClone(aws.stacks[0].json);
    const [runRole] = Object.entries(json.resource?.aws_iam_role ?? {}).find(([, role]) => role.permissions_boundary === undefined) as [string, Block];
    const check = ruleCheck("aws");
    const ctx = { stack: json, stackName: "x", kind: "infra" as const, env: aws.env };
    const role = (json.resource?.aws_iam_role ?? {})[runRole];
    expect(check.check(role, ctx, runRole)).toEqual([]);
    const policy = companion(json, "aws_iam_role_policy", "aws_iam_role", runRole);
    const original = String(policy.policy);
    const edit = (change: (statements: Block[]) => Block[]) => {
      const document = JSON.parse(original) as { Statement: Block[] };
      policy.policy = JSON.stringify({ ...document, Statement: change(document.Statement) });
      return check.check(role, ctx, runRole);
    };
    expect(edit((st) => st.map((s) => (asList(s.Action).includes("iam:CreateRole") ? { ...s, Condition: undefined } : s)))).toEqual([expect.stringMatching(/allows iam:CreateRole, .* without an iam:PermissionsBoundary condition/)]);
    expect(edit((st) => [...st, { Effect: "Allow", Action: "iam:*", Resource: "*" }])).toEqual(
      expect.arrayContaining(["statement  allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:AttachRolePolicy, iam:PutRolePolicy without an iam:PermissionsBoundary condition", expect.stringContaining("allows iam:PassRole on *")]),
    );
    expect(edit((st) => st.filter((s) => !asList(s.Action).includes("iam:DeleteRolePermissionsBoundary")))).toEqual(["no statement denies iam:DeleteRolePermissionsBoundary on every role (Resource *)"]);
    // Review 12b m4: a Deny of one role only leaves every other boundary removable.
    expect(edit((st) => st.map((s) => (asList(s.Action).includes("iam:DeleteRolePermissionsBoundary") ? { ...s, Resource: "arn:aws:iam::111122223333:role/none" } : s)))).toEqual(["no statement denies iam:DeleteRolePermissionsBoundary on every role (Resource *)"]);
    // Review 12b M3: users and keys (no boundary applies to them), PassRole beyond the stack's roles, AssumeRole of any role, changes to itself.
    const usersDeny = (s: Block) => s.Effect === "Deny" && asList(s.Action).includes("iam:CreateUser");
    expect(edit((st) => [...st.filter((s) => !usersDeny(s)), { Sid: "Users", Effect: "Allow", Action: ["iam:CreateUser", "iam:AttachUserPolicy", "iam:CreateAccessKey"], Resource: "*" }])).toEqual([
      "statement Users allows iam:CreateUser, iam:CreateAccessKey, iam:AttachUserPolicy: users and keys carry no boundary",
      expect.stringMatching(/^no statement denies iam:CreateUser, iam:CreateAccessKey, .* on every resource$/),
    ]);
    expect(edit((st) => st.filter((s) => !usersDeny(s)))).toHaveLength(1);
    expect(edit((st) => [...st, { Sid: "Glob", Effect: "Allow", Action: ["iam:*AccessKey*"], Resource: "arn:aws:iam::111122223333:user/*" }])).toEqual(["statement Glob allows iam:CreateAccessKey: users and keys carry no boundary"]);
    const passRole = (s: Block) => s.Effect === "Allow" && asList(s.Action).includes("iam:PassRole");
    expect(edit((st) => st.map((s) => (passRole(s) ? { ...s, Resource: "*" } : s)))).toEqual(["statement PassEnvironmentRolesToTheirServices allows iam:PassRole on *, not one of the stack's own roles"]);
    expect(edit((st) => st.map((s) => (passRole(s) ? { ...s, Resource: [...asList(s.Resource), "arn:aws:iam::111122223333:role/prod-*"] } : s)))).toHaveLength(1);
    expect(edit((st) => st.map((s) => (passRole(s) ? { ...s, Condition: undefined } : s)))).toEqual(["statement PassEnvironmentRolesToTheirServices allows iam:PassRole without an iam:PassedToService condition"]);
    expect(edit((st) => [...st, { Sid: "Assume", Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }])).toEqual(["statement Assume allows sts:AssumeRole on every role"]);
    const selfDeny = (s: Block) => s.Effect === "Deny" && asList(s.Action).includes("iam:UpdateAssumeRolePolicy");
    expect(edit((st) => st.filter((s) => !selfDeny(s)))).toEqual([expect.stringMatching(/^no statement denies iam:AttachRolePolicy, .*iam:PassRole on the run role itself \(arn:aws:iam::\d{12}:role\/.+\)$/)]);
    expect(edit((st) => st.map((s) => (selfDeny(s) ? { ...s, Action: asList(s.Action).filter((a) => a !== "iam:DeleteRolePolicy") } : s)))).toEqual([expect.stringMatching(/^no statement denies iam:DeleteRolePolicy on the run role itself/)]);
    // Review 12 M9: IAM's wildcard patterns (case-insensitive globs) and NotAction grant the same writes.
    expect(edit((st) => [...st, { Sid: "Glob", Effect: "Allow", Action: ["iam:*Role*"], Resource: "*" }])).toEqual([
      "statement Glob allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:AttachRolePolicy, iam:PutRolePolicy without an iam:PermissionsBoundary condition",
      "statement Glob allows iam:PassRole on *, not one of the stack's own roles",
      "statement Glob allows iam:PassRole without an iam:PassedToService condition",
    ]);
    expect(edit((st) => [...st, { Sid: "Glob", Effect: "Allow", Action: ["IAM:createrol?"], Resource: "*" }])).toEqual(["statement Glob allows iam:CreateRole without an iam:PermissionsBoundary condition"]);
    expect(edit((st) => [...st, { Sid: "Not", Effect: "Allow", NotAction: ["iam:DeleteUser"], Resource: "*" }])).toEqual(expect.arrayContaining([expect.stringContaining("without an iam:PermissionsBoundary condition")]));
    expect(edit((st) => [...st, { Sid: "Reads", Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" }])).toEqual([]);
    // The deny that keeps a run from rewriting the boundary policy itself, and a Deny on another resource instead.
    const boundaryDeny = (s: Block) => asList(s.Action).includes("iam:CreatePolicyVersion") && s.Effect === "Deny";
    expect(edit((st) => st.filter((s) => !boundaryDeny(s)))).toEqual([expect.stringMatching(/^no statement denies iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion, iam:DeletePolicy, iam:DeletePolicyVersion on the boundary policy \$\{aws_iam_policy\.\S+\.arn\} \(a run could widen every bounded role\)$/)]);
    expect(edit((st) => st.map((s) => (boundaryDeny(s) ? { ...s, Resource: "arn:aws:iam::111122223333:policy/other" } : s)))).toHaveLength(1);
    expect(edit((st) => st.map((s) => (boundaryDeny(s) ? { ...s, Action: ["iam:*Policy*"] } : s)))).toEqual([]);
    policy.policy = original;
    addResource("aws_iam_role_policy_attachment", { role: `\${aws_iam_role.${runRole}.name}`, policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" })(role, json);
    expect(check.check(role, ctx, runRole)).toEqual(["the run role has AdministratorAccess attached"]);
    // A workload role without the boundary is not the run role: no exemption.
    expect(check.check({ assume_role_policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }, ctx, "w")).toEqual(["no permissions_boundary"]);
  });
});

describe("issue 11's promises beyond one attribute", () => {
  const ruleCheck = (id: string, cloud: string, index = 0) => (RULES.find((r) => r.id === id)?.checks.filter((c) => c.cloud === cloud) ?? [])[index] as RuleCheck;
  const ctxOf = (c: Case, kind: "infra" | "apps"): PolicyContext => {
    const stack = c.stacks.find((s) => s.kind === kind) as Case["stacks"][number];
    return { stack: structuredClone(stack.json), stackName: stack.name, kind, env: c.env };
  };
  const ssoCase = cases.find((c) => c.env.sso !== undefined) as Case;
  const plainCase = cases.find((c) => c.env.sso === undefined && c.env.apps.some((a) => a.name === "metabase")) as Case;
  const release = (ctx: PolicyContext, match: (b: Block) => boolean) => Object.entries(ctx.stack.resource?.helm_release ?? {}).find(([, b]) => match(b)) as [string, Block];

  it("Azure: each subnet's group ends both ways with a deny of every port to and from the VNet, after its Allow rules", () => {
    const azure = cases.find((c) => c.cloud === "azure") as Case;
    const check = ruleCheck("subnet-has-nsg", "azure");
    for (const subnet of Object.keys(azure.stacks[0].json.resource?.azurerm_subnet ?? {})) {
      const edited = (edit: (rule: Block) => void) => {
        const ctx = ctxOf(azure, "infra");
        const group = /azurerm_network_security_group\.([^.]+)\./.exec(String(companion(ctx.stack, "azurerm_subnet_network_security_group_association", "azurerm_subnet", subnet).network_security_group_id))?.[1] as string;
        for (const rule of Object.values(ctx.stack.resource?.azurerm_network_security_rule ?? {})) if (String(rule.network_security_group_name).includes(`azurerm_network_security_group.${group}.`)) edit(rule);
        return check.check({}, ctx, subnet);
      };
      expect(edited(() => undefined)).toEqual([]);
      // The inbound deny numbered before the Allow rules: it shadows them, and no longer ends the group.
      expect(edited((r) => r.access === "Deny" && r.direction === "Inbound" && (r.priority = 99))).toEqual([expect.stringContaining("does not end inbound")]);
      // A deny of one port leaves every other VNet flow admitted.
      expect(edited((r) => r.access === "Deny" && r.direction === "Inbound" && (r.destination_port_range = "22"))).toEqual([expect.stringContaining("does not end inbound")]);
      // (Where that deny was to `*`, the Allow it becomes admits every port to the whole VNet too: review 12 m4.)
      expect(edited((r) => r.access === "Deny" && r.direction === "Outbound" && (r.access = "Allow"))).toEqual(expect.arrayContaining([expect.stringContaining("does not end outbound")]));
    }
  });

  it("AWS: no trail of its own with accounts.aws.organizationTrail; otherwise the trail records management events of every kind, and an all-objects selector covers every bucket", () => {
    const input = productionSpec();
    const env = parseEnvironment({ ...input, accounts: { aws: { ...(input.accounts?.aws as NonNullable<NonNullable<typeof input.accounts>["aws"]>), organizationTrail: true } } }, specChecks);
    const json = JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson;
    const rules = RULES.filter((r) => r.id === "audit-logs");
    expect(json.resource?.aws_cloudtrail).toBeUndefined();
    expect(checkStack(json, { stackName: "live-infra", kind: "infra", env }, [], { rules }).violations).toEqual([]);
    const aws = cases.find((c) => c.cloud === "aws") as Case;
    const ctx = ctxOf(aws, "infra");
    const [trailId, trail] = Object.entries(ctx.stack.resource?.aws_cloudtrail ?? {})[0];
    const trailCheck = ruleCheck("audit-logs", "aws", 1);
    const selectors = asList(trail.advanced_event_selector) as Block[];
    // Management events of writes only (readOnly false) miss who read what.
    expect(trailCheck.check({ ...trail, advanced_event_selector: [{ ...selectors[0], field_selector: [...asList(selectors[0].field_selector), { field: "readOnly", equals: ["false"] }] }, ...selectors.slice(1)] }, ctx, trailId)).toEqual(["no event selector records every management event (reads and writes)"]);
    // Review 12 m7: any other field selector narrows the management events (KMS calls left out here).
    expect(trailCheck.check({ ...trail, advanced_event_selector: [{ ...selectors[0], field_selector: [...asList(selectors[0].field_selector), { field: "eventSource", not_equals: ["kms.amazonaws.com"] }] }, ...selectors.slice(1)] }, ctx, trailId)).toEqual(["no event selector records every management event (reads and writes)"]);
    expect(trailCheck.check({ ...trail, advanced_event_selector: undefined, event_selector: [{ read_write_type: "All", include_management_events: true, exclude_management_event_sources: ["kms.amazonaws.com"] }] }, ctx, trailId)).toHaveLength(1);
    expect(trailCheck.check({ ...trail, advanced_event_selector: undefined, event_selector: [{ read_write_type: "All", include_management_events: true }] }, ctx, trailId)).toEqual([]);
    expect(trailCheck.check({ ...trail, kms_key_id: undefined, is_multi_region_trail: false }, ctx, trailId)).toHaveLength(2);
    const bucketCheck = ruleCheck("audit-logs", "aws", 2);
    const [bucketId] = Object.entries(ctx.stack.resource?.aws_s3_bucket ?? {}).find(([, b]) => !/-cloudtrail-/.test(String(b.bucket))) as [string, Block];
    const allObjects = { name: "every object", field_selector: [{ field: "eventCategory", equals: ["Data"] }, { field: "resources.type", equals: ["AWS::S3::Object"] }] };
    set(trail, "advanced_event_selector", [selectors[0], allObjects]);
    expect(bucketCheck.check({}, ctx, bucketId)).toEqual([]);
    set(trail, "advanced_event_selector", [selectors[0], { ...allObjects, field_selector: [...allObjects.field_selector, { field: "readOnly", equals: ["true"] }] }]);
    expect(bucketCheck.check({}, ctx, bucketId)).toEqual(["no trail records the bucket's object reads and writes (S3 data events)"]);
  });

  it("GCP: service-account roles on the whole project and custom roles with escalating permissions fail; on one service account they pass", () => {
    const gcpCase = cases.find((c) => c.cloud === "gcp") as Case;
    const ctx = ctxOf(gcpCase, "infra");
    const check = ruleCheck("no-owner-grants", "gcp");
    const member = "serviceAccount:x@acme-data-staging.iam.gserviceaccount.com";
    for (const role of ["roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser"]) expect(check.check({ role, member }, ctx, "g")).toHaveLength(1);
    const [customId, custom] = Object.entries(ctx.stack.resource?.google_project_iam_custom_role ?? {})[0];
    const grant = { role: `\${google_project_iam_custom_role.${customId}.name}`, member };
    expect(check.check(grant, ctx, "g")).toEqual([]);
    set(custom, "permissions", [...asList(custom.permissions), "iam.serviceAccounts.actAs"]);
    expect(check.check(grant, ctx, "g")).toEqual([`custom role ${customId} holds iam.serviceAccounts.actAs on the whole project`]);
    // Review 12 m2: a literal custom role name, an authoritative binding, a folder grant and a whole policy are read too.
    const roleId = String(custom.role_id);
    expect(check.check({ role: `projects/acme/roles/${roleId}`, member }, ctx, "g")).toEqual([`custom role ${customId} holds iam.serviceAccounts.actAs on the whole project`]);
    expect(check.check({ role: "roles/owner", members: [member], project: "p" }, ctx, "g")).toEqual(["role roles/owner"]);
    expect(check.check({ role: "roles/editor", member, folder: "folders/1" }, ctx, "g")).toEqual(["role roles/editor"]);
    expect(check.check({ project: "p", policy_data: JSON.stringify({ bindings: [{ role: "roles/owner", members: [member] }] }) }, ctx, "g")).toEqual(["role roles/owner"]);
    (ctx.stack as Record<string, unknown>).data = { google_iam_policy: { admin: { binding: [{ role: "roles/owner", members: [member] }] } } };
    expect(check.check({ project: "p", policy_data: "${data.google_iam_policy.admin.policy_data}" }, ctx, "g")).toEqual(["role roles/owner"]);
    expect(check.check({ project: "p", policy_data: "${data.google_iam_policy.elsewhere.policy_data}" }, ctx, "g")).toHaveLength(1);
    // The real per-account grants (google_service_account_iam_member) are not project grants.
    expect(Object.values(ctx.stack.resource?.google_service_account_iam_member ?? {}).some((m) => m.role === "roles/iam.serviceAccountAdmin")).toBe(true);
  });

  it("Kafka: every listener and user is checked against Strimzi 1.2.0's CRD fields", () => {
    const c = cases.find((k) => k.stacks.some((s) => s.kind === "apps" && JSON.stringify(s.json).includes("kafka.strimzi.io"))) as Case;
    const ctx = ctxOf(c, "apps");
    const [id, strimzi] = release(ctx, hasManifest("Kafka"));
    const check = ruleCheck("kafka-authenticated", "any");
    const broken = (edit: (m: Block) => void) => {
      const copy = structuredClone(strimzi);
      editManifests(copy, edit);
      return check.check(copy, ctx, id);
    };
    expect(check.check(strimzi, ctx, id)).toEqual([]);
    const listener = (edit: (l: Block) => void) => (m: Block) => m.kind === "Kafka" && asList(at(m, "spec.kafka.listeners")).forEach((l) => edit(l as Block));
    expect(broken(listener((l) => delete l.authentication))).toEqual([expect.stringMatching(/^Kafka datahub\/datahub-kafka: listener \S+ has no authentication$/)]);
    expect(broken(listener((l) => (l.type = "loadbalancer")))).toEqual([expect.stringContaining("is reachable from outside the cluster")]);
    expect(broken((m) => m.kind === "Kafka" && delete (at(m, "spec.kafka") as Block).authorization)).toEqual([expect.stringContaining("spec.kafka.authorization is not set")]);
    expect(broken((m) => m.kind === "Kafka" && ((at(m, "spec.kafka.config") as Block)["allow.everyone.if.no.acl.found"] = true))).toEqual([expect.stringContaining("allow.everyone.if.no.acl.found is true")]);
    expect(broken((m) => m.kind === "KafkaUser" && delete (m.spec as Block).authorization)).toEqual([expect.stringContaining("KafkaUser datahub/datahub: spec.authorization is not simple")]);
    // The same object applied as a kubernetes_manifest is read too.
    const kafka = manifestsOf(strimzi).find((m) => m.kind === "Kafka") as Block;
    expect(check.check({ manifest: kafka }, ctx, "m")).toEqual([]);
    expect(check.check({ manifest: { ...kafka, spec: { ...(kafka.spec as Block), kafka: { ...(at(kafka, "spec.kafka") as Block), authorization: undefined } } } }, ctx, "m")).toHaveLength(1);
  });

  it("OpenSearch: the plugin, the demo configuration, TLS in opensearch.yml (nested or flat keys) and DataHub's client are checked", () => {
    const ctx = ctxOf(ssoCase, "apps");
    const check = ruleCheck("opensearch-secured", "any");
    const [id, prerequisites] = release(ctx, (b) => b.chart === "datahub-prerequisites");
    const broken = (target: Block, edit: (v: Block) => void) => {
      const copy = structuredClone(target);
      editValues(copy, edit);
      return check.check(copy, ctx, id);
    };
    expect(check.check(prerequisites, ctx, id)).toEqual([]);
    const yml = (v: Block) => at(v, "opensearch.config") as Block;
    expect(broken(prerequisites, (v) => (yml(v)["opensearch.yml"] = `plugins.security.disabled: true\n${String(yml(v)["opensearch.yml"])}`))).toEqual(["the security plugin is disabled"]);
    expect(broken(prerequisites, (v) => (yml(v)["opensearch.yml"] = String(yml(v)["opensearch.yml"]).replace(/(\n {6}http:\n {8}enabled: )true/, "$1false")))).toEqual([expect.stringContaining("plugins.security.ssl.http.enabled is not true")]);
    expect(broken(prerequisites, (v) => set(v, "opensearch.extraEnvs", []))).toEqual([expect.stringContaining("DISABLE_INSTALL_DEMO_CONFIG is not true")]);
    expect(broken(prerequisites, (v) => set(v, "opensearch.protocol", "http"))).toEqual(["protocol is http, needs https"]);
    const [datahubId, datahub] = release(ctx, (b) => b.chart === "datahub");
    expect(check.check(datahub, ctx, datahubId)).toEqual([]);
    expect(broken(datahub, (v) => set(v, "global.elasticsearch.useSSL", "false"))).toEqual(["global.elasticsearch.useSSL is not true"]);
  });

  it("Kafka and search beside Strimzi and OpenSearch (review 12 M1, M2, m3): the prerequisites' Bitnami Kafka, Confluent, Elasticsearch, ssl_only, dotted env settings and an insecure client fail", () => {
    const ctx = ctxOf(ssoCase, "apps");
    const [id, prerequisites] = release(ctx, (b) => b.chart === "datahub-prerequisites");
    const broken = (target: Block, rule: string, edit: (v: Block) => void) => {
      const copy = structuredClone(target);
      editValues(copy, edit);
      return ruleCheck(rule, "any").check(copy, ctx, id);
    };
    const kafka = ruleCheck("kafka-authenticated", "any");
    expect(kafka.check(prerequisites, ctx, id)).toEqual([]);
    expect(broken(prerequisites, "kafka-authenticated", (v) => set(v, "kafka.enabled", true))).toEqual(["kafka.enabled is true: the Bitnami Kafka listens in PLAINTEXT"]);
    // Dropping the key is the chart's default: on.
    expect(broken(prerequisites, "kafka-authenticated", (v) => delete v.kafka)).toEqual(["kafka.enabled is unset (the chart's true): the Bitnami Kafka listens in PLAINTEXT"]);
    expect(broken(prerequisites, "kafka-authenticated", (v) => set(v, "cp-helm-charts.enabled", true))).toEqual(["cp-helm-charts.enabled is true: the Confluent Kafka has no TLS or authentication"]);
    expect(kafka.check({ chart: "kafka", repository: "oci://registry-1.docker.io/bitnamicharts", version: "32.4.3", values: ["{}"] }, ctx, "k")).toHaveLength(1);
    const search = ruleCheck("opensearch-secured", "any");
    expect(search.check(prerequisites, ctx, id)).toEqual([]);
    const yml = (v: Block) => at(v, "opensearch.config") as Block;
    expect(broken(prerequisites, "opensearch-secured", (v) => (yml(v)["opensearch.yml"] = `${String(yml(v)["opensearch.yml"])}\nplugins.security.ssl_only: true\n`))).toEqual(["plugins.security.ssl_only is true: TLS without authentication or authorization"]);
    expect(broken(prerequisites, "opensearch-secured", (v) => (yml(v)["opensearch.yml"] = `${String(yml(v)["opensearch.yml"])}\nplugins.security_config.ssl_dual_mode_enabled: true\n`))).toHaveLength(1);
    const env = (entry: Block) => (v: Block) => set(v, "opensearch.extraEnvs", [...asList(at(v, "opensearch.extraEnvs")), entry]);
    expect(broken(prerequisites, "opensearch-secured", env({ name: "plugins.security.disabled", value: "true" }))).toEqual(["the security plugin is disabled"]);
    expect(broken(prerequisites, "opensearch-secured", env({ name: "plugins.security.ssl.http.enabled", value: "false" }))).toEqual([expect.stringContaining("plugins.security.ssl.http.enabled is not true")]);
    // Upper case is not a setting for the entrypoint (its pattern is ^[a-z0-9_]+\.[a-z0-9_]+), nor an empty value.
    expect(broken(prerequisites, "opensearch-secured", env({ name: "PLUGINS.SECURITY.DISABLED", value: "true" }))).toEqual([]);
    expect(broken(prerequisites, "opensearch-secured", env({ name: "plugins.security.ssl.http.enabled", value: "" }))).toEqual([]);
    expect(broken(prerequisites, "opensearch-secured", (v) => set(v, "elasticsearch.enabled", true))).toEqual([expect.stringContaining("elasticsearch.enabled is true")]);
    const [datahubId, datahub] = release(ctx, (b) => b.chart === "datahub");
    const copy = structuredClone(datahub);
    editValues(copy, (v) => set(v, "global.elasticsearch.insecure", "true"));
    expect(search.check(copy, ctx, datahubId)).toEqual(["global.elasticsearch.insecure is true (the search store's certificate is not verified)"]);
  });

  it("SSO: reads the mode from the output: a proxy Ingress sending to the app, or an OIDC app with OIDC off, is a bypass; without sso nothing is asked", () => {
    const check = ruleCheck("sso-every-host", "any");
    const ctx = ctxOf(ssoCase, "apps");
    const [ssoId, sso] = release(ctx, (b) => manifestsOf(b).some((m) => m.kind === "Ingress" && at(m, "metadata.namespace") === "sso"));
    expect(check.check(sso, ctx, ssoId)).toEqual([]);
    // The proxy's Ingress sends straight to Metabase's Service instead of the proxy.
    const direct = structuredClone(sso);
    editManifests(direct, (m) => m.kind === "Ingress" && String(at(m, "metadata.name")).startsWith("metabase") && set(m, "spec.rules", asList(at(m, "spec.rules")).map((r) => ({ ...(r as Block), http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "metabase", port: { number: 80 } } } }] } }))));
    expect(check.check(direct, ctx, ssoId)).toEqual([expect.stringMatching(/^Ingress sso\/metabase-proxy \(metabase\.\S+\) sends requests to metabase, not the sign-in proxy$/)]);
    const [datahubId, datahub] = release(ctx, (b) => b.chart === "datahub");
    expect(check.check(datahub, ctx, datahubId)).toEqual([]);
    // DataHub's password block (an Ingress on its host whose Middleware admits no client) sends
    // nothing to the app; with the Middleware gone, opened to a real range or reading a
    // client-written header, its Ingress is a route to the frontend past the provider.
    const [wiringId, wiring] = release(ctx, (b) => manifestsOf(b).some((m) => m.kind === "Ingress" && at(m, "metadata.name") === "datahub-password-login"));
    expect(check.check(wiring, ctx, wiringId)).toEqual([]);
    const weakened = (change: (middleware: Block) => void) => {
      const copy = structuredClone(ctx);
      const target = (copy.stack.resource?.helm_release ?? {})[wiringId];
      editManifests(target, (m) => m.kind === "Middleware" && change(m));
      return check.check(target, copy, wiringId);
    };
    const bypass = [expect.stringMatching(/^Ingress datahub\/datahub-password-login \(datahub\.\S+\) sends requests to datahub-datahub-frontend/)];
    expect(weakened((m) => set(m, "metadata.name", "another"))).toEqual(bypass);
    expect(weakened((m) => set(m, "spec.ipAllowList.sourceRange", ["10.0.0.0/8"]))).toEqual(bypass);
    expect(weakened((m) => set(m, "spec.ipAllowList.ipStrategy", { depth: 1 }))).toEqual(bypass);
    const noOidc = structuredClone(datahub);
    editValues(noOidc, (v) => set(v, "datahub-frontend.oidcAuthentication.enabled", false));
    expect(check.check(noOidc, ctx, datahubId)).toEqual(["datahub-frontend.ingress.enabled is true without the app's own OIDC sign-in: datahub-frontend.oidcAuthentication.enabled is not true"]);
    // Prometheus published by its chart: no OIDC of its own.
    const [monitoringId, monitoring] = release(ctx, (b) => b.chart === "kube-prometheus-stack");
    const published = structuredClone(monitoring);
    editValues(published, (v) => set(v, "prometheus.ingress.enabled", true));
    expect(check.check(published, ctx, monitoringId)).toEqual(["prometheus.ingress.enabled is true without the app's own OIDC sign-in: the chart has no OIDC sign-in of its own"]);
    // Airflow serves its host through its own API server Ingress, signed in by FAB's OAuth
    // (its webserver_config); the same Ingress with a password login is a bypass.
    const [airflowId, airflow] = release(ctx, (b) => b.chart === "airflow");
    expect(valuesAt(airflow, "ingress.apiServer.enabled")).toContain(true);
    expect(check.check(airflow, ctx, airflowId)).toEqual([]);
    const passwordLogin = structuredClone(airflow);
    editValues(passwordLogin, (v) => set(v, "apiServer.apiServerConfig", "# AUTH_TYPE = AUTH_OAUTH\nAUTH_TYPE = AUTH_DB\n"));
    expect(check.check(passwordLogin, ctx, airflowId)).toEqual(["ingress.apiServer.enabled is true without the app's own OIDC sign-in: webserver_config.py sets AUTH_TYPE to AUTH_DB, needs AUTH_OAUTH"]);
    editValues(passwordLogin, (v) => set(v, "apiServer.apiServerConfig", undefined));
    expect(check.check(passwordLogin, ctx, airflowId)).toEqual(["ingress.apiServer.enabled is true without the app's own OIDC sign-in: webserver_config.py sets AUTH_TYPE to nothing, needs AUTH_OAUTH"]);
    // Without sso, the chart's own Ingress is the documented default.
    const plain = ctxOf(plainCase, "apps");
    const [metabaseId, metabase] = release(plain, (b) => b.chart === "metabase");
    expect(valuesAt(metabase, "ingress.enabled")).toContain(true);
    expect(check.check(metabase, plain, metabaseId)).toEqual([]);
  });

  it("SSO, Airflow (review 12 M3): FAB's OAuth counts only with no password user, FAB as the auth manager and AUTH_OAUTH as the last assignment", () => {
    const check = ruleCheck("sso-every-host", "any");
    const ctx = ctxOf(ssoCase, "apps");
    const [id, airflow] = release(ctx, (b) => b.chart === "airflow");
    expect(check.check(airflow, ctx, id)).toEqual([]);
    const broken = (edit: (v: Block) => void) => {
      const copy = structuredClone(airflow);
      editValues(copy, edit);
      return check.check(copy, ctx, id);
    };
    // The chart's user job back on: admin/admin (chart 1.19.0 defaultUser) trades its password for a JWT at /auth/token.
    expect(broken((v) => set(v, "createUserJob.enabled", true))).toEqual([expect.stringContaining("createUserJob.enabled is true: a password user gets API tokens")]);
    // Absent is the chart's default (true).
    expect(broken((v) => delete (v.createUserJob as Block).enabled)).toEqual([expect.stringContaining("createUserJob.enabled is unset (the chart's true)")]);
    expect(broken((v) => set(v, "apiServer.apiServerConfig", `${String(at(v, "apiServer.apiServerConfig"))}\nAUTH_TYPE = fab_const.AUTH_DB\n`))).toEqual([expect.stringContaining("sets AUTH_TYPE to fab_const.AUTH_DB")]);
    expect(broken((v) => set(v, "config.core.auth_manager", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"))).toEqual([expect.stringContaining("config.core.auth_manager is airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager, not FAB's")]);
    // A second values document turning the job back on wins (Helm merges documents in order).
    const twoDocuments = structuredClone(airflow);
    twoDocuments.values = [...asList(twoDocuments.values), JSON.stringify({ createUserJob: { enabled: true } })];
    expect(check.check(twoDocuments, ctx, id)).toHaveLength(1);
  });

  it("SSO, DataHub (review 12 M4): with OIDC, the password login is off (JAAS and native) or every password path is refused on the public host", () => {
    const check = ruleCheck("sso-every-host", "any", 2);
    const ctx = ctxOf(ssoCase, "apps");
    // Without any Traefik Middleware (the refusal FIX-DH adds names one; missing, its router is dropped): the password login open.
    for (const r of Object.values(ctx.stack.resource?.helm_release ?? {})) if (hasManifest("Middleware")(r)) r.values = asList(r.values).map((text) => JSON.stringify({ ...(JSON.parse(String(text)) as Block), manifests: asList((JSON.parse(String(text)) as Block).manifests).filter((m) => at(m, "kind") !== "Middleware") }));
    const [id, datahub] = release(ctx, (b) => b.chart === "datahub");
    const hosts = datahubHosts(datahub);
    expect(hosts.length).toBeGreaterThan(0);
    const withEnv = (env: Block[]) => {
      const copy = structuredClone(datahub);
      editValues(copy, (v) => set(v, "datahub-frontend.extraEnvs", [...asList(at(v, "datahub-frontend.extraEnvs")).filter((e) => !/^AUTH_(JAAS|NATIVE)_ENABLED$/.test(String(at(e, "name")))), ...env]));
      return check.check(copy, ctx, id);
    };
    // JAAS on, nothing refused.
    expect(withEnv([])).toEqual([`DataHub's password login (AUTH_JAAS_ENABLED and AUTH_NATIVE_ENABLED not both false) is reachable on ${hosts.join(", ")} at /logIn, /signUp, /resetNativeUserCredentials`]);
    expect(withEnv([{ name: "AUTH_JAAS_ENABLED", value: "false" }, { name: "AUTH_NATIVE_ENABLED", value: "false" }])).toEqual([]);
    // JAAS off alone leaves native users' /logIn, /signUp and reset.
    expect(withEnv([{ name: "AUTH_JAAS_ENABLED", value: "false" }])).toHaveLength(1);
    const blocked = (objects: Block[]) => {
      const copy = structuredClone(ctx);
      addDatahubBlock(datahub, copy.stack, objects);
      return check.check(datahub, copy, id);
    };
    expect(blocked(datahubBlock(hosts))).toEqual([]);
    // The refusing Ingress sends to the frontend's own Service, yet forwards nothing: not a route around sign-in.
    const withBlock = ctxOf(ssoCase, "apps");
    addDatahubBlock(datahub, withBlock.stack);
    const [wiringId, wiring] = Object.entries(withBlock.stack.resource?.helm_release ?? {}).find(([, r]) => manifestsOf(r).some((m) => at(m, "metadata.name") === "password-refusal")) as [string, Block];
    const aboutRefusal = () => ruleCheck("sso-every-host", "any").check(wiring, withBlock, wiringId).filter((p) => p.includes("datahub/password-refusal"));
    expect(aboutRefusal()).toEqual([]);
    editManifests(wiring, (m) => m.kind === "Middleware" && at(m, "metadata.name") === "refuse-everyone" && set(m, "spec.ipAllowList.sourceRange", ["0.0.0.0/0"]));
    expect(aboutRefusal()).toEqual([expect.stringContaining("sends requests to datahub-datahub-frontend, not the sign-in proxy")]);
    // One path left out, another host, a client range, a client-written IP (X-Forwarded-For), or no middleware: reachable.
    expect(blocked(datahubBlock(hosts, ["/logIn", "/signUp"]))).toEqual([expect.stringMatching(/ at \/resetNativeUserCredentials$/)]);
    expect(blocked(datahubBlock(["other.example.com"]))).toHaveLength(1);
    expect(blocked(datahubBlock(hosts, DATAHUB_PASSWORD_PATHS, ["10.0.0.0/8"]))).toHaveLength(1);
    // Loopback is a peer's address (a process in Traefik's pod); a middleware named but missing drops the router.
    expect(blocked(datahubBlock(hosts, DATAHUB_PASSWORD_PATHS, ["127.0.0.1/32"]))).toHaveLength(1);
    const [refuse, block] = datahubBlock(hosts);
    expect(blocked([refuse, { ...block, metadata: { ...(block.metadata as Block), annotations: { "traefik.ingress.kubernetes.io/router.middlewares": "datahub-refuse-everyone@kubernetescrd,datahub-missing@kubernetescrd" } } }])).toHaveLength(1);
    const [middleware, ingress] = datahubBlock(hosts);
    expect(blocked([{ ...middleware, spec: { ipAllowList: { sourceRange: ["127.0.0.1/32"], ipStrategy: { depth: 1 } } } }, ingress])).toHaveLength(1);
    expect(blocked([middleware, { ...ingress, metadata: { ...(ingress.metadata as Block), annotations: {} } }])).toHaveLength(1);
    // A Prefix path of "/" is the chart's own route, not a refusal.
    expect(blocked([middleware, { ...ingress, spec: { rules: hosts.map((host) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: {} }] } })) } }])).toHaveLength(1);
    // Without sso the check asks nothing.
    expect(check.check(datahub, { ...ctx, env: { ...(ctx.env as Environment), sso: undefined } }, id)).toEqual([]);
  });

  it("SSO, other routes (review 12 M5): Ingress resources and manifests, Traefik IngressRoutes, Gateway routes and published Services to an app fail; Traefik's own LoadBalancer passes", () => {
    const check = ruleCheck("sso-every-host", "any");
    const resources = ruleCheck("sso-every-host", "any", 1);
    const ctx = ctxOf(ssoCase, "apps");
    const [ssoId, sso] = release(ctx, (b) => b.namespace === "sso" && hasManifest("Ingress")(b));
    const host = String(at(manifestsOf(sso).find((m) => m.kind === "Ingress" && String(at(m, "metadata.name")).startsWith("metabase")), "spec.rules.0.host"));
    const added = (object: Block) => {
      const copy = structuredClone(sso);
      copy.values = asList(copy.values).map((text) => JSON.stringify({ ...(JSON.parse(String(text)) as Block), manifests: [...asList((JSON.parse(String(text)) as Block).manifests), object] }));
      return check.check(copy, ctx, ssoId);
    };
    expect(added({ apiVersion: "traefik.io/v1alpha1", kind: "IngressRoute", metadata: { name: "mb", namespace: "metabase" }, spec: { entryPoints: ["websecure"], routes: [{ match: `Host(\`${host}\`)`, kind: "Rule", services: [{ name: "metabase", port: 80 }] }] } })).toEqual([
      "IngressRoute metabase/mb sends requests to metabase, not the sign-in proxy",
    ]);
    expect(added({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "mb", namespace: "metabase" }, spec: { hostnames: [host], rules: [{ backendRefs: [{ name: "metabase", port: 80 }] }] } })).toHaveLength(1);
    expect(added({ apiVersion: "v1", kind: "Service", metadata: { name: "mb-lb", namespace: "metabase" }, spec: { type: "LoadBalancer", selector: { app: "metabase" }, ports: [{ port: 80 }] } })).toEqual(["Service metabase/mb-lb is of type LoadBalancer: published beside the ingress controller"]);
    // Review 12b m6: a ClusterIP Service with externalIPs is published on the nodes too.
    expect(added({ apiVersion: "v1", kind: "Service", metadata: { name: "mb-ext", namespace: "metabase" }, spec: { type: "ClusterIP", externalIPs: ["203.0.113.10"], selector: { app: "metabase" }, ports: [{ port: 80 }] } })).toEqual(["Service metabase/mb-ext has spec.externalIPs 203.0.113.10: published on the nodes beside the ingress controller"]);
    // The proxy's own IngressRoute to the proxy Service passes.
    const proxied = manifestsOf(sso).find((m) => m.kind === "Ingress" && String(at(m, "metadata.name")).startsWith("metabase")) as Block;
    const proxyService = at(proxied, "spec.rules.0.http.paths.0.backend.service.name");
    expect(added({ apiVersion: "traefik.io/v1alpha1", kind: "IngressRoute", metadata: { name: "mb", namespace: "sso" }, spec: { routes: [{ match: `Host(\`${host}\`)`, kind: "Rule", services: [{ name: proxyService, port: 80 }] }] } })).toEqual([]);
    // Chart values: Metabase's Service published, DataHub's frontend type dropped (the chart's default is LoadBalancer).
    const chart = (match: (b: Block) => boolean, edit: (v: Block) => void) => {
      const [id, target] = release(ctx, match);
      const copy = structuredClone(target);
      editValues(copy, edit);
      return check.check(copy, ctx, id);
    };
    expect(chart((b) => b.chart === "metabase", (v) => set(v, "service.type", "LoadBalancer"))).toEqual(["service.type is LoadBalancer (published beside the ingress controller)"]);
    expect(chart((b) => b.chart === "datahub", (v) => delete (at(v, "datahub-frontend.service") as Block).type)).toEqual(["datahub-frontend.service.type is unset: the chart's default publishes the Service (published beside the ingress controller)"]);
    expect(chart((b) => b.chart === "traefik", (v) => set(v, "ingressRoute.dashboard.enabled", true))).toEqual([expect.stringContaining("ingressRoute.dashboard.enabled is true")]);
    const [traefikId, traefik] = release(ctx, (b) => b.chart === "traefik");
    expect(valuesAt(traefik, "service.spec.type")).toContain("LoadBalancer");
    expect(check.check(traefik, ctx, traefikId)).toEqual([]);
    // Terraform resources: kubernetes_ingress_v1 to the app, kubernetes_service_v1 of type NodePort; nothing without sso.
    const ingress = { metadata: { name: "mb", namespace: "metabase" }, spec: { rule: [{ host, http: { path: [{ path: "/", backend: { service: { name: "metabase", port: { number: 80 } } } }] } }] } };
    expect(resources.check(ingress, ctx, "i")).toEqual([`Ingress metabase/mb (${host}) sends requests to metabase, not the sign-in proxy`]);
    expect(resources.check({ metadata: { name: "mb", namespace: "metabase" }, spec: { type: "NodePort", port: [{ port: 80 }] } }, ctx, "s")).toHaveLength(1);
    expect(resources.check({ metadata: { name: "mb", namespace: "metabase" }, spec: { type: "ClusterIP", port: [{ port: 80 }] } }, ctx, "s")).toEqual([]);
    expect(resources.check(ingress, { ...ctx, env: { ...(ctx.env as Environment), sso: undefined } }, "i")).toEqual([]);
  });

  it("SSO: the chart service types published by default are those of the pinned charts' values (../shared/charts)", () => {
    const lookup = (values: unknown, keys: readonly string[]) => keys.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Block)[k] : undefined), values);
    const derived: Record<string, string[]> = {};
    for (const chart of readdirSync(CHARTS_DIR).filter((c) => existsSync(join(CHARTS_DIR, c, "template-refs.json")))) {
      const refs = (JSON.parse(readFileSync(join(CHARTS_DIR, chart, "template-refs.json"), "utf8")) as { referenced: string[][] }).referenced;
      const values = parseYaml(readFileSync(join(CHARTS_DIR, chart, "values.yaml"), "utf8")) as unknown;
      for (const ref of refs.filter((r) => r[r.length - 1] === "type" && /service/i.test(r[r.length - 2] ?? ""))) {
        const sub = join(CHARTS_DIR, chart, "subcharts", ref[0], "values.yaml");
        const value = lookup(values, ref) ?? (existsSync(sub) ? lookup(parseYaml(readFileSync(sub, "utf8")), ref.slice(1)) : undefined);
        if (value === "LoadBalancer" || value === "NodePort") derived[chart] = [...(derived[chart] ?? []), ref.join(".")];
      }
    }
    expect(Object.fromEntries(Object.entries(PUBLISHED_BY_DEFAULT).map(([chart, keys]) => [chart, keys.map((k) => k.key)]))).toEqual(derived);
  });

  it("untrusted accounts: a RoleBinding naming the account (its namespace implied), a group binding, or a binding resource fails", () => {
    const ctx = ctxOf(ssoCase, "apps");
    const check = ruleCheck("untrusted-accounts-powerless", "any");
    const [accountId, account] = Object.entries(ctx.stack.resource?.kubernetes_service_account_v1 ?? {}).find(([, a]) => at(a, "metadata.name") === "airbyte-jobs") as [string, Block];
    expect(check.check(account, ctx, accountId)).toEqual([]);
    const [wiringId] = release(ctx, (b) => hasManifest("RoleBinding")(b) && b.namespace === "airbyte");
    const bind = (subject: Block) => {
      const copy = structuredClone(ctx);
      const wiring = (copy.stack.resource?.helm_release ?? {})[wiringId];
      wiring.values = asList(wiring.values).map((text) => {
        const values = JSON.parse(String(text)) as { manifests?: Block[] };
        return JSON.stringify({ ...values, manifests: [...(values.manifests ?? []), { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "extra", namespace: "airbyte" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "airbyte-workloads" }, subjects: [subject] }] });
      });
      return check.check(account, copy, accountId);
    };
    expect(bind({ kind: "ServiceAccount", name: "airbyte-jobs" })).toEqual(["RoleBinding airbyte/extra gives it Kubernetes rights"]);
    expect(bind({ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccounts:airbyte" })).toHaveLength(1);
    expect(bind({ kind: "ServiceAccount", name: "airbyte-jobs", namespace: "other" })).toEqual([]);
    // The User an account authenticates as (review 12 M6); another account's User name does not count.
    expect(bind({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccount:airbyte:airbyte-jobs" })).toHaveLength(1);
    expect(bind({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:serviceaccount:other:airbyte-jobs" })).toEqual([]);
    const withResource = structuredClone(ctx);
    addResource("kubernetes_role_binding_v1", { metadata: { name: "extra", namespace: "airbyte" }, role_ref: { kind: "Role", name: "x", api_group: "rbac.authorization.k8s.io" }, subject: [{ kind: "ServiceAccount", name: "airbyte-jobs", namespace: "airbyte" }] })({}, withResource.stack);
    expect(check.check(account, withResource, accountId)).toEqual(["kubernetes_role_binding_v1.added gives it Kubernetes rights"]);
  });
});

describe("untrusted-accounts-powerless and the charts' own bindings (review 12 M6)", () => {
  it("fails Airflow's task account when the chart's rbac.create is not false (its pod-launcher RoleBinding names the workers' account)", () => {
    const check = RULES.find((r) => r.id === "untrusted-accounts-powerless")?.checks[0] as RuleCheck;
    const c = cases.find((k) => k.env.apps.some((a) => a.name === "airflow")) as Case;
    const stack = c.stacks.find((s) => s.kind === "apps") as Case["stacks"][number];
    const ctx: PolicyContext = { stack: structuredClone(stack.json), stackName: stack.name, kind: "apps", env: c.env };
    const [accountId, account] = Object.entries(ctx.stack.resource?.kubernetes_service_account_v1 ?? {}).find(([, a]) => at(a, "metadata.name") === "airflow-tasks") as [string, Block];
    const [airflowId, airflow] = Object.entries(ctx.stack.resource?.helm_release ?? {}).find(([, b]) => b.chart === "airflow") as [string, Block];
    expect(valuesAt(airflow, "workers.serviceAccount.name")).toContain("airflow-tasks");
    expect(check.check(account, ctx, accountId)).toEqual([]);
    editValues(airflow, (v) => set(v, "rbac.create", true));
    expect(check.check(account, ctx, accountId)).toEqual([`helm_release.${airflowId} (airflow chart) with rbac.create true: its pod-launcher RoleBinding gives it Kubernetes rights`]);
    editValues(airflow, (v) => delete v.rbac);
    expect(check.check(account, ctx, accountId)).toEqual([expect.stringContaining("rbac.create unset (the chart's true)")]);
  });
});

describe("namespace-default-deny beyond the deny's shape (review 12 M7)", () => {
  it("fails a deny with rules, an allow-all policy beside it (manifest or resource), and a resource deny with match_expressions", () => {
    const check = RULES.find((r) => r.id === "namespace-default-deny")?.checks[0] as RuleCheck;
    const c = cases.find((k) => k.env.apps.some((a) => a.name === "airflow")) as Case;
    const stack = c.stacks.find((s) => s.kind === "apps") as Case["stacks"][number];
    const fresh = (): PolicyContext => ({ stack: structuredClone(stack.json), stackName: stack.name, kind: "apps", env: c.env });
    const namespaceOf = (ctx: PolicyContext) => Object.entries(ctx.stack.resource?.kubernetes_namespace_v1 ?? {}).find(([, n]) => at(n, "metadata.name") === "airflow") as [string, Block];
    const run = (edit: (ctx: PolicyContext, policies: Block) => void) => {
      const ctx = fresh();
      const [policiesId] = Object.entries(ctx.stack.resource?.helm_release ?? {}).find(([, r]) => r.namespace === "airflow" && JSON.stringify(r.values).includes("default-deny")) as [string, Block];
      edit(ctx, (ctx.stack.resource?.helm_release ?? {})[policiesId]);
      const [id, namespace] = namespaceOf(ctx);
      return check.check(namespace, ctx, id);
    };
    expect(run(() => undefined)).toEqual([]);
    const deny = (m: Block) => m.kind === "NetworkPolicy" && at(m, "metadata.name") === "default-deny";
    expect(run((_c, p) => editManifests(p, (m) => deny(m) && Object.assign(m.spec as Block, { egress: [{}], ingress: [{}] })))).toEqual([
      "no default-deny NetworkPolicy in the namespace (empty podSelector, policyTypes Ingress and Egress, no rules)",
      "NetworkPolicy default-deny allows all ingress (a rule without ports whose from is empty or admits every pod or address)",
      "NetworkPolicy default-deny allows all egress (a rule without ports whose to is empty or admits every pod or address)",
    ]);
    const allowAll = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-all", namespace: "airflow" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{}] } };
    const addPolicy = (policy: Block) => (_c: PolicyContext, p: Block) => {
      p.values = asList(p.values).map((text) => JSON.stringify({ ...(JSON.parse(String(text)) as Block), manifests: [...asList((JSON.parse(String(text)) as Block).manifests), policy] }));
    };
    expect(run(addPolicy(allowAll))).toHaveLength(2);
    // Unset policyTypes with only egress given: both directions, egress open to all.
    expect(run(addPolicy({ ...allowAll, spec: { podSelector: { matchLabels: { a: "b" } }, egress: [{ ports: [] }] } }))).toEqual(["NetworkPolicy allow-all allows all egress (a rule without ports whose to is empty or admits every pod or address)"]);
    // An opening on a port with no peers (the shape of the ingress controller's) passes.
    expect(run(addPolicy({ ...allowAll, spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: 8443, protocol: "TCP" }] }] } }))).toEqual([]);
    // The same as Terraform resources: an allow-all policy, and a deny replaced by one selecting by expression.
    const resource = (spec: Block) => (ctx: PolicyContext) => addResource("kubernetes_network_policy_v1", { metadata: { name: "x", namespace: "airflow" }, spec })({}, ctx.stack);
    expect(run(resource({ pod_selector: {}, policy_types: ["Ingress"], ingress: [{}] }))).toEqual(["kubernetes_network_policy_v1.added allows all ingress (a rule without ports whose from is empty or admits every pod or address)"]);
    expect(
      run((ctx, p) => {
        editManifests(p, (m) => deny(m) && ((m.metadata as Block).namespace = "elsewhere"));
        resource({ pod_selector: { match_expressions: [{ key: "a", operator: "Exists" }] }, policy_types: ["Ingress", "Egress"] })(ctx);
      }),
    ).toEqual(["no default-deny NetworkPolicy in the namespace (empty podSelector, policyTypes Ingress and Egress, no rules)"]);
    expect(
      run((ctx, p) => {
        editManifests(p, (m) => deny(m) && ((m.metadata as Block).namespace = "elsewhere"));
        resource({ pod_selector: {}, policy_types: ["Ingress", "Egress"] })(ctx);
      }),
    ).toEqual([]);
  });
});

describe("network-policy-enforced beyond one attribute (review 12 M8)", () => {
  const checkOf = (cloud: Cloud) => RULES.find((r) => r.id === "network-policy-enforced")?.checks.find((c) => c.cloud === cloud) as RuleCheck;
  const infraOf = (cloud: Cloud): PolicyContext => {
    const c = cases.find((k) => k.cloud === cloud) as Case;
    return { stack: structuredClone(c.stacks[0].json), stackName: c.stacks[0].name, kind: "infra", env: c.env };
  };
  it("AWS: no vpc-cni add-on, or one without enableNetworkPolicy, fails", () => {
    const ctx = infraOf("aws");
    const [id, cluster] = Object.entries(ctx.stack.resource?.aws_eks_cluster ?? {})[0];
    expect(checkOf("aws").check(cluster, ctx, id)).toEqual([]);
    for (const addon of Object.values(ctx.stack.resource?.aws_eks_addon ?? {})) if (addon.addon_name === "vpc-cni") addon.configuration_values = "{}";
    expect(checkOf("aws").check(cluster, ctx, id)).toEqual([expect.stringContaining('enableNetworkPolicy is unset (the add-on\'s "false"), needs "true"')]);
    (ctx.stack.resource as Record<string, Record<string, Block>>).aws_eks_addon = {};
    expect(checkOf("aws").check(cluster, ctx, id)).toEqual([expect.stringContaining("no aws_eks_addon vpc-cni for the cluster")]);
  });
  it("Azure and GCP: the other enforcing engines pass, none fails", () => {
    const azure = infraOf("azure");
    const aks = Object.values(azure.stack.resource?.azurerm_kubernetes_cluster ?? {})[0];
    expect(checkOf("azure").check({ ...aks, network_profile: { ...(at(aks, "network_profile") as Block), network_policy: "calico" } }, azure, "c")).toEqual([]);
    expect(checkOf("azure").check({ ...aks, network_profile: { ...(at(aks, "network_profile") as Block), network_policy: "none" } }, azure, "c")).toHaveLength(1);
    const gcp = infraOf("gcp");
    const gke = Object.values(gcp.stack.resource?.google_container_cluster ?? {})[0];
    expect(checkOf("gcp").check({ ...gke, datapath_provider: undefined, network_policy: { enabled: true, provider: "CALICO" } }, gcp, "c")).toEqual([]);
    expect(checkOf("gcp").check({ ...gke, datapath_provider: undefined }, gcp, "c")).toHaveLength(1);
  });
});

describe("no-wildcard-permissions beyond Action * (review 12 M9)", () => {
  it("fails a wildcard service pattern and NotAction with Allow on every resource; service-wide patterns of the real policies pass", () => {
    const check = RULES.find((r) => r.id === "no-wildcard-permissions")?.checks.find((c) => c.cloud === "aws") as RuleCheck;
    const document = (statement: Block) => ({ policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) });
    expect(check.check(document({ Sid: "A", Effect: "Allow", Action: ["*:*"], Resource: "*" }), {} as PolicyContext, "p")).toEqual(["statement A allows every action on every resource"]);
    expect(check.check(document({ Sid: "A", Effect: "Allow", Action: ["*"], Resource: "*" }), {} as PolicyContext, "p")).toHaveLength(1);
    expect(check.check(document({ Sid: "N", Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }), {} as PolicyContext, "p")).toEqual(["statement N allows every action but iam:* on every resource (NotAction with Allow)"]);
    expect(check.check(document({ Sid: "S", Effect: "Allow", Action: ["ec2:*", "s3:*"], Resource: "*" }), {} as PolicyContext, "p")).toEqual([]);
    expect(check.check(document({ Sid: "N", Effect: "Deny", NotAction: ["iam:*"], Resource: "*" }), {} as PolicyContext, "p")).toEqual([]);
  });
});

describe("no-ingress-from-anywhere in the other resource shapes (review 12 m1)", () => {
  it("AWS aws_security_group_rule of type ingress, and Azure rules inline in the group, are read", () => {
    const rule = RULES.find((r) => r.id === "no-ingress-from-anywhere") as Rule;
    const aws = rule.checks.find((c) => c.cloud === "aws") as RuleCheck;
    expect(aws.check({ type: "ingress", from_port: 22, to_port: 22, protocol: "tcp", cidr_blocks: ["0.0.0.0/0"] }, {} as PolicyContext, "r")).toEqual(["admits 0.0.0.0/0 or ::/0"]);
    expect(aws.check({ type: "ingress", from_port: 22, to_port: 22, protocol: "tcp", ipv6_cidr_blocks: ["::/0"] }, {} as PolicyContext, "r")).toHaveLength(1);
    expect(aws.check({ type: "egress", from_port: 0, to_port: 0, protocol: "-1", cidr_blocks: ["0.0.0.0/0"] }, {} as PolicyContext, "r")).toEqual([]);
    const azure = rule.checks.find((c) => c.cloud === "azure") as RuleCheck;
    const c = cases.find((k) => k.cloud === "azure") as Case;
    const ctx: PolicyContext = { stack: structuredClone(c.stacks[0].json), stackName: c.stacks[0].name, kind: "infra", env: c.env };
    const [groupId, group] = Object.entries(ctx.stack.resource?.azurerm_network_security_group ?? {})[0];
    expect(azure.check(group, ctx, groupId)).toEqual([]);
    const ssh = { name: "ssh", priority: 100, direction: "Inbound", access: "Allow", protocol: "Tcp", source_address_prefix: "Internet", source_port_range: "*", destination_address_prefix: "*", destination_port_range: "22" };
    expect(azure.check({ ...group, security_rule: [ssh] }, ctx, groupId)).toEqual(["security_rule ssh: source Internet is anywhere, ports 22"]);
  });
});

describe("namespaces made outside kubernetes_namespace_v1 (review 12 m6)", () => {
  it("fail as a Namespace object in a manifests release, a kubernetes_manifest or a kubernetes_namespace", () => {
    const check = RULES.find((r) => r.id === "namespace-pod-security")?.checks[1] as RuleCheck;
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "extra" } };
    expect(check.check({ chart: "./assets/platform-manifests-chart/x", namespace: "x", values: [JSON.stringify({ manifests: [namespace] })] }, {} as PolicyContext, "r")).toEqual(["Namespace extra is made outside kubernetes_namespace_v1 (no Pod Security label, no default deny)"]);
    expect(check.check({ manifest: namespace }, {} as PolicyContext, "m")).toHaveLength(1);
    expect(check.check({ metadata: { name: "extra" } }, {} as PolicyContext, "n")).toEqual(["kubernetes_namespace extra: declare it as kubernetes_namespace_v1"]);
    expect(check.check({ chart: "metabase", namespace: "metabase", values: ["{}"] }, {} as PolicyContext, "r")).toEqual([]);
  });
});

describe("subnet-has-nsg's closing deny and the groups it reads (review 12 m4)", () => {
  it("fails a deny to one address, a VNet-wide Allow before the deny, and a group it cannot resolve", () => {
    const check = RULES.find((r) => r.id === "subnet-has-nsg")?.checks[0] as RuleCheck;
    const c = cases.find((k) => k.cloud === "azure") as Case;
    const fresh = (): PolicyContext => ({ stack: structuredClone(c.stacks[0].json), stackName: c.stacks[0].name, kind: "infra", env: c.env });
    const run = (edit: (ctx: PolicyContext, group: string) => void) => {
      const ctx = fresh();
      const [subnetId] = Object.entries(ctx.stack.resource?.azurerm_subnet ?? {}).find(([id]) => id.includes("nodes")) as [string, Block];
      const group = /azurerm_network_security_group\.([^.]+)\./.exec(String(companion(ctx.stack, "azurerm_subnet_network_security_group_association", "azurerm_subnet", subnetId).network_security_group_id))?.[1] as string;
      edit(ctx, group);
      return check.check({}, ctx, subnetId);
    };
    const rulesOf = (ctx: PolicyContext, group: string) => Object.values(ctx.stack.resource?.azurerm_network_security_rule ?? {}).filter((r) => String(r.network_security_group_name).includes(`azurerm_network_security_group.${group}.`));
    expect(run(() => undefined)).toEqual([]);
    expect(run((ctx, group) => rulesOf(ctx, group).filter((r) => r.access === "Deny" && r.direction === "Inbound").forEach((r) => (r.destination_address_prefix = "10.21.0.4")))).toEqual([expect.stringContaining("does not end inbound with a Deny")]);
    expect(run((ctx, group) => addResource("azurerm_network_security_rule", { name: "vnet-all", network_security_group_name: `\${azurerm_network_security_group.${group}.name}`, direction: "Inbound", access: "Allow", priority: 200, protocol: "*", source_address_prefix: "VirtualNetwork", destination_address_prefix: "*", destination_port_range: "*", source_port_range: "*" })({}, ctx.stack))).toEqual([
      "rule vnet-all allows every port from the whole VNet",
    ]);
    expect(run((ctx) => Object.values(ctx.stack.resource?.azurerm_subnet_network_security_group_association ?? {}).forEach((a) => (a.network_security_group_id = "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/networkSecurityGroups/z")))).toEqual([expect.stringContaining("is not a group of this stack")]);
  });

  it("wants no group on a VPN gateway's GatewaySubnet, which Azure does not support, and still one on any other subnet", () => {
    const check = RULES.find((r) => r.id === "subnet-has-nsg")?.checks[0] as RuleCheck;
    const c = cases.find((k) => k.cloud === "azure") as Case;
    const ctx: PolicyContext = { stack: structuredClone(c.stacks[0].json), stackName: c.stacks[0].name, kind: "infra", env: c.env };
    const [subnetId, nodes] = Object.entries(ctx.stack.resource?.azurerm_subnet ?? {}).find(([id]) => id.includes("nodes")) as [string, Block];
    // The nodes' subnet, group and all, renamed: a GatewaySubnet with a group is refused.
    expect(check.check({ ...nodes, name: "GatewaySubnet" }, ctx, subnetId)).toEqual(["GatewaySubnet has a network security group, which Azure does not support on a VPN gateway's subnet"]);
    for (const [id, association] of Object.entries(ctx.stack.resource?.azurerm_subnet_network_security_group_association ?? {})) if (String(association.subnet_id).includes(subnetId)) delete ctx.stack.resource?.azurerm_subnet_network_security_group_association?.[id];
    expect(check.check({ ...nodes, name: "GatewaySubnet" }, ctx, subnetId)).toEqual([]);
    expect(check.check(nodes, ctx, subnetId)).toEqual(["no network security group association"]);
  });
});

describe("a suppression of one Kubernetes object (review 12 m5)", () => {
  it("silences the problems of that object of a release only, and the spec accepts the address", () => {
    const c = cases.find((k) => k.stacks.some((s) => s.kind === "apps" && JSON.stringify(s.json).includes("kafka.strimzi.io"))) as Case;
    const stack = c.stacks.find((s) => s.kind === "apps") as Case["stacks"][number];
    const json = structuredClone(stack.json);
    const [id, strimzi] = Object.entries(json.resource?.helm_release ?? {}).find(([, b]) => hasManifest("Kafka")(b)) as [string, Block];
    editManifests(strimzi, (m) => {
      if (m.kind === "KafkaUser") delete (m.spec as Block).authorization;
      if (m.kind === "Kafka") delete (at(m, "spec.kafka") as Block).authorization;
    });
    const rules = RULES.filter((r) => r.id === "kafka-authenticated");
    const user = manifestsOf(strimzi).find((m) => m.kind === "KafkaUser") as Block;
    const object = `helm_release.${id}#KafkaUser/${String(at(user, "metadata.namespace"))}/${String(at(user, "metadata.name"))}`;
    const reason = "the test's written reason for one object";
    const result = checkStack(json, { stackName: stack.name, kind: "apps", env: c.env }, [{ rule: "kafka-authenticated", resource: object, reason }], { rules });
    expect(result.suppressed.map((s) => s.problems)).toEqual([[expect.stringMatching(/^KafkaUser \S+: spec.authorization is not simple/)]]);
    expect(result.violations.map((v) => v.problem)).toEqual([expect.stringMatching(/^Kafka \S+: spec.kafka.authorization is not set/)]);
    // Another object's name silences nothing.
    expect(checkStack(json, { stackName: stack.name, kind: "apps", env: c.env }, [{ rule: "kafka-authenticated", resource: `helm_release.${id}#KafkaUser/datahub/other`, reason }], { rules }).violations).toHaveLength(2);
    const input = environments.find((e) => e.name === c.env.name) as EnvironmentInput;
    expect(parseEnvironment({ ...input, policy: { suppressions: [{ rule: "kafka-authenticated", resource: object, reason }] } }, specChecks).policy?.suppressions[0].resource).toBe(object);
  });
});

describe("synth with the policy pack", () => {
  const prodIndex = environments.findIndex((e) => e.production && e.apps?.some((a) => a.name === "metabase"));
  const withSuppressions = (suppressions: unknown) => environments.map((e, i) => (i === prodIndex ? { ...e, policy: { suppressions } } : e));
  const run = (inputs: readonly unknown[]) => {
    const outdir = join(mkdtempSync(join(tmpdir(), "policy-")), "out");
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (stderr.push(String(chunk)), true));
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      return { code: synthesize(inputs, outdir, undefined, environmentSource), stderr: stderr.join(""), outdir };
    } finally {
      spy.mockRestore();
      stdout.mockRestore();
    }
  };
  const prod = environments[prodIndex];
  const dbAddress = () => {
    const json = cases.find((c) => c.env.name === prod.name && c.cloud === prod.cloud)?.stacks[0].json as StackJson;
    const [id] = Object.entries(json.resource?.aws_db_instance ?? {}).find(([, db]) => primary(db)) as [string, Block];
    return `aws_db_instance.${id}`;
  };

  it("fails on a violation with the stack, the resource, the rule and the fix, and writes nothing", () => {
    // A spec the schema accepts whose output breaks a rule: one-day log retention (CloudWatch offers it).
    const inputs = environments.map((e, i) => (i === prodIndex ? { ...e, cluster: { ...e.cluster, logRetentionDays: 1 } } : e));
    const result = run(inputs);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`policy violation: ${prod.name}-infra: aws_cloudwatch_log_group\\.\\S+: log-retention \\(Logs are kept at least 30 days, and not forever\\): retention_in_days is 1, needs at least 30 days\\. Fix: `));
    expect(existsSync(result.outdir)).toBe(false);
  });

  it("records a suppression in the stack's metadata, for that resource only", () => {
    const inputs = environments.map((e, i) => (i === prodIndex ? { ...e, cluster: { ...e.cluster, logRetentionDays: 1 } } : e));
    // The log groups that take cluster.logRetentionDays fail; suppressing one leaves the others failing.
    const failing = [...run(inputs).stderr.matchAll(/ (aws_cloudwatch_log_group\.\S+): log-retention /g)].map((m) => m[1]);
    expect(failing.length).toBeGreaterThan(1);
    const reason = "kept one day: the test's written reason";
    const scoped = run(inputs.map((e, i) => (i === prodIndex ? { ...e, policy: { suppressions: [{ rule: "log-retention", resource: failing[0], reason }] } } : e)));
    expect(scoped.code).toBe(1);
    expect(scoped.stderr).not.toContain(`${failing[0]}: log-retention`);
    for (const other of failing.slice(1)) expect(scoped.stderr).toContain(`${other}: log-retention`);

    const all = failing.map((resource) => ({ rule: "log-retention", resource, reason }));
    const ok = run(inputs.map((e, i) => (i === prodIndex ? { ...e, policy: { suppressions: all } } : e)));
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const json = JSON.parse(readFileSync(join(ok.outdir, "stacks", `${prod.name}-infra`, "cdk.tf.json"), "utf8"));
    expect(json["//"].policy.suppressed).toEqual(all.map((s) => ({ ...s, problems: ["retention_in_days is 1, needs at least 30 days"] })));
  });

  it("records the spec's waivers in the stack's metadata (staging-gcp's database keeps Google's key)", () => {
    const ok = run(environments);
    expect(ok.code).toBe(0);
    const index = environments.findIndex((e) => e.cloud === "gcp" && (e.databases ?? []).some((db) => db.waivers?.customerManagedKey !== undefined));
    const name = environments[index].name;
    const json = JSON.parse(readFileSync(join(ok.outdir, "stacks", `${name}-infra`, "cdk.tf.json"), "utf8"));
    expect(json["//"].policy.waived).toEqual([
      expect.objectContaining({ rule: "database-encrypted", resource: expect.stringMatching(/^google_sql_database_instance\./), waiver: "databases[0].waivers.customerManagedKey", reason: environments[index].databases?.[0].waivers?.customerManagedKey }),
    ]);
  });

  it("refuses an unknown rule, an address not in the environment's stacks, a suppression of a passing rule, and a short reason", () => {
    const reason = "a reason long enough to be accepted";
    const unknown = run(withSuppressions([{ rule: "no-such-rule", resource: dbAddress(), reason }]));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/policy\.suppressions\[0\]\.rule: given "no-such-rule"; accepted: a rule id of the policy pack \(README, Policy pack\): bucket-encrypted, /);
    expect(unknown.stderr).toContain(environmentSource(prodIndex));
    const missing = run(withSuppressions([{ rule: "database-ha", resource: "aws_db_instance.nope", reason }]));
    expect(missing.stderr).toMatch(/policy\.suppressions\[0\]\.resource: given "aws_db_instance\.nope"; accepted: one of aws_db_instance\./);
    const passing = run(withSuppressions([{ rule: "database-ha", resource: dbAddress(), reason }]));
    expect(passing.stderr).toContain(`policy.suppressions[0]: given rule database-ha for ${dbAddress()}, which passes it; accepted: a suppression only where the rule fails (remove this one)`);
    const short = run(withSuppressions([{ rule: "database-ha", resource: dbAddress(), reason: "because" }]));
    expect(short.stderr).toMatch(/policy\.suppressions\[0\]\.reason: given "because"; accepted: a written reason of at least 20 characters/);
    for (const r of [unknown, missing, passing, short]) expect([r.code, existsSync(r.outdir)]).toEqual([1, false]);
  });
});

/** The README's rule table: one row per rule, what each cloud's check reads, pending checks marked. */
function policyTable(): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const where = (rule: Rule, cloud: Cloud | "any") =>
    rule.checks
      .filter((check) => check.cloud === cloud)
      .map((check) => `${check.types.map((t) => `\`${t}\``).join(", ")}${check.pending === undefined ? "" : " (pending)"}`)
      .join("; ") || (cloud === "any" ? "–" : `– (${rule.elsewhere?.[cloud] ?? "none"})`);
  const rows = RULES.map((rule) => `| ${rule.pack} | \`${rule.id}\` | ${cell(rule.title)}${rule.productionOnly ? " (production)" : ""} | ${where(rule, "aws")} | ${where(rule, "azure")} | ${where(rule, "gcp")} | ${where(rule, "any")} | ${cell(rule.fix)} |`);
  return ["| pack | rule | what it asks | AWS | Azure | GCP | apps and gitops stacks (every cloud) | fix |", "|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}

describe("the README's policy table", () => {
  it("lists every rule with what it reads on each cloud (UPDATE_DOCS=1 regenerates it)", () => {
    const README = join(__dirname, "..", "README.md");
    const begin = "<!-- generated:policies (UPDATE_DOCS=1 npx vitest run __tests__/policies.test.ts) -->";
    const end = "<!-- /generated:policies -->";
    const text = readFileSync(README, "utf8");
    const fresh = `${begin}\n${policyTable()}\n${end}`;
    const current = text.slice(text.indexOf(begin), text.indexOf(end) + end.length);
    if (process.env.UPDATE_DOCS === "1" && current !== fresh) writeFileSync(README, text.replace(current, fresh));
    expect(readFileSync(README, "utf8")).toContain(fresh);
  });
});

describe("review 12b: chart values as the Helm provider applies them (set, set_list, set_sensitive, set_wo over values)", () => {
  const appsOf = (pick: (c: Case) => boolean) => {
    const c = cases.find(pick) as Case;
    const stack = c.stacks.find((s) => s.kind === "apps") as Case["stacks"][number];
    return { c, ctx: (): PolicyContext => ({ stack: structuredClone(stack.json), stackName: stack.name, kind: "apps", env: c.env }) };
  };
  const releaseOf = (ctx: PolicyContext, chart: string) => Object.entries(ctx.stack.resource?.helm_release ?? {}).find(([, b]) => b.chart === chart) as [string, Block];
  const problemsOf = (rule: string, ctx: PolicyContext) => checkStack(ctx.stack, ctx).violations.filter((v) => v.rule.id === rule).map((v) => v.problem);

  it("parses set names and values as helm v2.17.0 strvals does (the provider's ParseInto): dotted paths, escaped dots, indexes, typed values, string type, lists", () => {
    const base: Record<string, unknown> = { a: { keep: 1, b: "old" } };
    strvalsInto(base, "a.b=true");
    strvalsInto(base, "x\\.y.z=0");
    strvalsInto(base, "list[1].name=n,other=007");
    strvalsInto(base, "n=-12");
    strvalsInto(base, "s=true", true);
    strvalsInto(base, "l={a,1,false}");
    expect(base).toEqual({ a: { keep: 1, b: true }, "x.y": { z: 0 }, list: [null, { name: "n" }], other: "007", n: -12, s: "true", l: ["a", 1, false] });
    expect(() => strvalsInto({}, "a.b")).toThrow('key "b" has no value');
  });

  it("M1: rbac.create, kafka.enabled and createUserJob.enabled written by set, set_list, set_sensitive or set_wo fail as in values; set_wo without a revision is not applied", () => {
    const { ctx } = appsOf((c) => c.env.apps.some((a) => a.name === "airflow") && c.env.apps.some((a) => a.name === "datahub") && c.env.sso !== undefined);
    expect(problemsOf("untrusted-accounts-powerless", ctx())).toEqual([]);
    const withEntry = (chart: string, attribute: string, entry: Block, extra: Block = {}) => {
      const copy = ctx();
      Object.assign(releaseOf(copy, chart)[1], { [attribute]: [entry], ...extra });
      return copy;
    };
    // The Airflow chart's pod-launcher RoleBinding for the task account.
    expect(problemsOf("untrusted-accounts-powerless", withEntry("airflow", "set", { name: "rbac.create", value: "true" }))).toEqual([expect.stringContaining("with rbac.create true: its pod-launcher RoleBinding")]);
    expect(problemsOf("untrusted-accounts-powerless", withEntry("airflow", "set_wo", { name: "rbac.create", value: "true" }, { set_wo_revision: 1 }))).toHaveLength(1);
    expect(problemsOf("untrusted-accounts-powerless", withEntry("airflow", "set_wo", { name: "rbac.create", value: "true" }))).toEqual([]);
    // `type: string` keeps "true" a string: the chart's `if` is then true too, and the pack reads it as not false.
    expect(problemsOf("untrusted-accounts-powerless", withEntry("airflow", "set", { name: "rbac.create", value: "true", type: "string" }))).toHaveLength(1);
    // The prerequisites' Bitnami Kafka (PLAINTEXT).
    expect(problemsOf("kafka-authenticated", withEntry("datahub-prerequisites", "set", { name: "kafka.enabled", value: "true" }))).toEqual([expect.stringContaining("kafka.enabled is true")]);
    expect(problemsOf("kafka-authenticated", withEntry("datahub-prerequisites", "set_sensitive", { name: "kafka.enabled", value: "null" }))).toEqual([expect.stringContaining("kafka.enabled is null")]);
    // Airflow's admin/admin user.
    expect(problemsOf("sso-every-host", withEntry("airflow", "set", { name: "createUserJob.enabled", value: "true" }))).toEqual([expect.stringContaining("createUserJob.enabled is true")]);
    // A list by set_list replaces the value: the task pods' account becomes a list, not airflow-tasks.
    expect(problemsOf("untrusted-accounts-powerless", withEntry("airflow", "set_list", { name: "workers.serviceAccount.name", value: ["airflow"] }))).toEqual(['workers.serviceAccount.name is ["airflow"]: task pods do not run as airflow-tasks']);
    // A credential written by set fails no-credential-in-values.
    expect(problemsOf("no-credential-in-values", withEntry("airflow", "set", { name: "webserver.defaultUser.password", value: "hunter2" }))).toEqual(["set entry webserver.defaultUser.password is a literal"]);
  });

  it("M2: the untrusted pods must run as the catalogue's account: Airflow workers.serviceAccount {create: false, name}, no podTemplate; Airbyte global.serviceAccountName and no launcher override", () => {
    const { ctx } = appsOf((c) => c.env.apps.some((a) => a.name === "airflow") && c.env.apps.some((a) => a.name === "airbyte"));
    expect(problemsOf("untrusted-accounts-powerless", ctx())).toEqual([]);
    const edited = (chart: string, edit: (values: Block) => void) => {
      const copy = ctx();
      editValues(releaseOf(copy, chart)[1], (v) => at(v, "workers") !== undefined || at(v, "global.serviceAccountName") !== undefined ? edit(v) : undefined);
      return problemsOf("untrusted-accounts-powerless", copy);
    };
    expect(edited("airflow", (v) => set(v, "workers.serviceAccount.name", "airflow"))).toEqual(['workers.serviceAccount.name is "airflow": task pods do not run as airflow-tasks']);
    expect(edited("airflow", (v) => set(v, "workers.serviceAccount.create", true))).toEqual([expect.stringContaining("workers.serviceAccount.create is true")]);
    expect(edited("airflow", (v) => set(v, "podTemplate", "apiVersion: v1\nkind: Pod\n"))).toEqual([expect.stringContaining("podTemplate is set")]);
    expect(edited("airbyte", (v) => set(v, "global.serviceAccountName", "airbyte"))).toEqual(['global.serviceAccountName is "airbyte": connector pods do not run as airbyte-jobs']);
    expect(edited("airbyte", (v) => set(v, "workloadLauncher.extraEnv", [...asList(at(v, "workloadLauncher.extraEnv")), { name: "JOB_KUBE_SERVICEACCOUNT", value: "airbyte" }]))).toHaveLength(1);
    // By set, over the values (M1).
    const copy = ctx();
    releaseOf(copy, "airflow")[1].set = [{ name: "workers.serviceAccount.name", value: "airflow" }];
    expect(problemsOf("untrusted-accounts-powerless", copy)).toHaveLength(1);
  });

  it("M4: namespace-default-deny counts a port-less rule whose peer is every namespace or every address as allow-all; the real internet egress (private ranges excepted) passes", () => {
    const check = RULES.find((r) => r.id === "namespace-default-deny")?.checks[0] as RuleCheck;
    const { ctx } = appsOf((c) => c.env.apps.some((a) => a.name === "airflow"));
    const run = (namespaceName: string, edit: (policy: Block) => void) => {
      const copy = ctx();
      const [, policies] = Object.entries(copy.stack.resource?.helm_release ?? {}).find(([, r]) => r.namespace === namespaceName && JSON.stringify(r.values).includes("default-deny")) as [string, Block];
      editManifests(policies, (m) => m.kind === "NetworkPolicy" && at(m, "metadata.name") !== "default-deny" && edit(m));
      const [id, namespace] = Object.entries(copy.stack.resource?.kubernetes_namespace_v1 ?? {}).find(([, n]) => at(n, "metadata.name") === namespaceName) as [string, Block];
      return check.check(namespace, copy, id);
    };
    expect(run("airflow", () => undefined)).toEqual([]);
    // One ingress policy of the namespace: its rules' peers replaced, its ports removed.
    let done = false;
    const firstIngress = (peers: Block[]) => (m: Block) => {
      if (done || asList(at(m, "spec.ingress")).length === 0) return;
      done = true;
      (m.spec as Block).ingress = [{ from: peers }];
    };
    const once = (peers: Block[]) => {
      done = false;
      return run("airflow", firstIngress(peers));
    };
    expect(once([{ namespaceSelector: {} }])).toEqual([expect.stringContaining("allows all ingress")]);
    expect(once([{ namespaceSelector: {}, podSelector: {} }])).toHaveLength(1);
    expect(once([{ ipBlock: { cidr: "0.0.0.0/0" } }])).toHaveLength(1);
    expect(once([{ ipBlock: { cidr: "::/0" } }])).toHaveLength(1);
    expect(once([{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }])).toHaveLength(1);
    // Selecting something is not all.
    expect(once([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } }])).toEqual([]);
    expect(once([{ namespaceSelector: {}, podSelector: { matchLabels: { app: "x" } } }])).toEqual([]);
    expect(once([{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"] } }])).toEqual([]);
    // The resource form.
    const copy = ctx();
    addResource("kubernetes_network_policy_v1", { metadata: { name: "x", namespace: "airflow" }, spec: { pod_selector: {}, policy_types: ["Egress"], egress: [{ to: [{ namespace_selector: {} }] }] } })({}, copy.stack);
    const [id, namespace] = Object.entries(copy.stack.resource?.kubernetes_namespace_v1 ?? {}).find(([, n]) => at(n, "metadata.name") === "airflow") as [string, Block];
    expect(check.check(namespace, copy, id)).toEqual([expect.stringContaining("kubernetes_network_policy_v1.added allows all egress")]);
  });
});
