/**
 * The replace-forcing tables in scripts/provider-rules/ (one per provider and pinned version),
 * which the pull-request gate uses where it cannot run the provider itself.
 *
 * - coverage: every resource type of every synthesized stack has an entry in the table of the
 *   provider and version that stack requires, so a new resource type or a provider bump without a
 *   new table fails here;
 * - versions: each table's version is the one the @cdktf/provider-* binding pins;
 * - spot checks of well-known upstream facts (source cited next to each).
 *
 * The aws table's cross-check against the real provider is in stack-diff.test.ts (see the end).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const RULES_DIR = join(ROOT, "scripts", "provider-rules");
const SYNTHESIZED = join(ROOT, "synthesized", "stacks");

interface TypeRules {
  attributes: string[];
  conditional: { path: string; when: string; at?: string }[];
  file: string | null;
}
interface RulesFile {
  provider: string;
  version: string;
  source: string;
  method: string;
  replaceForcing: Record<string, TypeRules>;
}

const ruleFiles = readdirSync(RULES_DIR).filter((name) => name.endsWith(".json"));
const tables = new Map<string, RulesFile>(ruleFiles.map((name) => [name, JSON.parse(readFileSync(join(RULES_DIR, name), "utf8")) as RulesFile]));

/** registry.terraform.io/<namespace>/<type>, lower case, as Terraform normalizes a source. */
function providerAddress(source: string): string {
  const parts = source.toLowerCase().split("/");
  if (parts.length === 1) return `registry.terraform.io/hashicorp/${parts[0]}`;
  if (parts.length === 2) return `registry.terraform.io/${parts[0]}/${parts[1]}`;
  return parts.join("/");
}

function tableFor(source: string, version: string): RulesFile | undefined {
  return tables.get(`${providerAddress(source).split("/")[2]}-${version}.json`);
}

function rules(type: string): TypeRules {
  for (const table of tables.values()) if (table.replaceForcing[type]) return table.replaceForcing[type];
  throw new Error(`no table lists ${type}`);
}

interface StackConfig {
  terraform: { required_providers?: Record<string, { source: string; version: string }> };
  resource?: Record<string, Record<string, { provider?: string }>>;
}

const stacks = readdirSync(SYNTHESIZED)
  .filter((name) => existsSync(join(SYNTHESIZED, name, "cdk.tf.json")))
  .map((name) => ({ name, config: JSON.parse(readFileSync(join(SYNTHESIZED, name, "cdk.tf.json"), "utf8")) as StackConfig }));

describe("replace-forcing tables: coverage of every synthesized resource type", () => {
  it("reads the synthesized stacks from synthesized/ and finds resources in them", () => {
    expect(stacks.length).toBeGreaterThan(0);
    expect(stacks.flatMap((s) => Object.keys(s.config.resource ?? {})).length).toBeGreaterThan(0);
  });

  it.each(stacks.map((s) => [s.name, s] as const))("%s: every resource type has an entry in the table of its provider and version", (_, { config }) => {
    const missing: string[] = [];
    for (const [type, byName] of Object.entries(config.resource ?? {})) {
      // The provider a resource belongs to: its provider meta-argument (local name, maybe an alias)
      // or, by Terraform's rule, the type's prefix up to the first underscore.
      const locals = new Set(Object.values(byName).map((r) => (r.provider ?? type.split("_")[0]).split(".")[0]));
      for (const local of locals) {
        const required = config.terraform.required_providers?.[local];
        if (!required) {
          missing.push(`${type}: provider ${local} is not in required_providers`);
          continue;
        }
        const table = tableFor(required.source, required.version);
        if (!table) missing.push(`${type}: no table ${providerAddress(required.source).split("/")[2]}-${required.version}.json for ${required.source} ${required.version}`);
        else if (!table.replaceForcing[type]) missing.push(`${type}: not in ${providerAddress(required.source).split("/")[2]}-${required.version}.json`);
        else if (table.provider !== providerAddress(required.source)) missing.push(`${type}: table is for ${table.provider}, stack requires ${required.source}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe("replace-forcing tables: versions and shape", () => {
  it("has one table per provider we pin, plus azapi", () => {
    expect([...tables.keys()].sort()).toEqual(["aws-5.100.0.json", "azapi-2.12.0.json", "azurerm-4.55.0.json", "google-6.50.0.json", "helm-3.1.1.json", "kubernetes-2.38.0.json", "random-3.7.2.json", "tfe-0.71.0.json"]);
  });

  it.each([...tables.entries()])("%s: version is the one the @cdktf binding (or, without one, every stack) pins", (name, table) => {
    const type = table.provider.split("/")[2];
    expect(name).toBe(`${type}-${table.version}.json`);
    const binding = join(ROOT, "node_modules", "@cdktf", `provider-${type}`, "package.json");
    // azapi has no binding: then every stack that requires the provider must require the table's version.
    const pinned: { name: string; version: string }[] = existsSync(binding)
      ? [JSON.parse(readFileSync(binding, "utf8")).cdktf.provider]
      : stacks.flatMap((s) => Object.values(s.config.terraform.required_providers ?? {})).map((p) => ({ name: providerAddress(p.source), version: p.version })).filter((p) => p.name === table.provider);
    expect(pinned.filter((p) => p.name !== table.provider || p.version !== table.version)).toEqual([]);
    expect(existsSync(binding) || type === "azapi").toBe(true);
  });

  it.each([...tables.entries()])("%s: sorted unique attribute paths, a cited file where read from source, a reason for every conditional case", (_, table) => {
    expect(table.source).toBe(`${table.source.split("/tree/")[0]}/tree/v${table.version}`);
    const problems: string[] = [];
    const fromSource = !table.provider.endsWith("/aws");
    for (const [type, r] of Object.entries(table.replaceForcing)) {
      if (JSON.stringify(r.attributes) !== JSON.stringify([...new Set(r.attributes)].sort())) problems.push(`${type}: attributes not sorted and unique`);
      for (const path of [...r.attributes, ...r.conditional.map((c) => c.path)]) if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(path)) problems.push(`${type}: bad path ${path}`);
      for (const c of r.conditional) if (c.when.length < 10) problems.push(`${type} ${c.path}: no reason given`);
      // Read from source: cite the file; observed from the binary (aws): no file to cite.
      if (fromSource ? !/\.go$/.test(r.file ?? "") : r.file !== null) problems.push(`${type}: file ${r.file}`);
    }
    expect(problems).toEqual([]);
  });
});

describe("replace-forcing tables: well-known facts that must hold", () => {
  const has = (type: string, path: string) => rules(type).attributes.includes(path);
  const conditional = (type: string, path: string) => rules(type).conditional.some((c) => c.path === path);

  it("azurerm 4.55.0 (internal/services/containers/kubernetes_cluster_resource.go, postgres/postgresql_flexible_server_resource.go)", () => {
    expect(has("azurerm_kubernetes_cluster", "private_cluster_enabled")).toBe(true);
    expect(has("azurerm_kubernetes_cluster", "network_profile.network_plugin")).toBe(true);
    expect(has("azurerm_kubernetes_cluster", "kubernetes_version")).toBe(false);
    expect(has("azurerm_postgresql_flexible_server", "name")).toBe(true);
    expect(conditional("azurerm_postgresql_flexible_server", "storage_mb")).toBe(true);
    expect(has("azurerm_storage_account", "account_tier")).toBe(true);
    expect(has("azurerm_key_vault_secret", "value")).toBe(false);
  });

  it("google 6.50.0 (google/services/sql/resource_sql_database_instance.go, container/resource_container_node_pool.go)", () => {
    expect(has("google_sql_database_instance", "name")).toBe(true);
    expect(has("google_sql_database_instance", "settings.tier")).toBe(false);
    expect(conditional("google_sql_database_instance", "settings.disk_size")).toBe(true);
    expect(has("google_container_node_pool", "node_config.machine_type")).toBe(false);
    expect(has("google_container_node_pool", "node_count")).toBe(false);
    expect(has("google_storage_bucket", "location")).toBe(true);
  });

  it("aws 5.100.0 (observed from the provider binary)", () => {
    expect(has("aws_s3_bucket", "bucket")).toBe(true);
    expect(has("aws_eks_node_group", "subnet_ids")).toBe(true);
    expect(has("aws_eks_node_group", "instance_types")).toBe(true);
    expect(has("aws_eks_node_group", "scaling_config.desired_size")).toBe(false);
    expect(has("aws_db_instance", "kms_key_id")).toBe(true);
    expect(has("aws_db_instance", "instance_class")).toBe(false);
    expect(has("aws_eks_cluster", "version")).toBe(false);
  });

  it("helm 3.1.1, kubernetes 2.38.0, random 3.7.2, tfe 0.71.0, azapi 2.12.0", () => {
    expect(has("helm_release", "name")).toBe(true);
    expect(has("helm_release", "namespace")).toBe(true);
    expect(has("helm_release", "version")).toBe(false);
    expect(has("kubernetes_namespace_v1", "metadata.name")).toBe(true);
    expect(has("kubernetes_namespace_v1", "metadata.labels")).toBe(false);
    expect(has("random_password", "length")).toBe(true);
    expect(conditional("random_password", "keepers")).toBe(true);
    expect(has("tfe_workspace", "organization")).toBe(true);
    expect(has("tfe_workspace", "name")).toBe(false);
    expect(has("azapi_resource", "parent_id")).toBe(true);
    expect(has("azapi_resource", "sensitive_body")).toBe(false);
  });

  it("the Terraform Cloud agent types (aws observed; google, azurerm, tfe, random from source at the tag)", () => {
    // aws 5.100.0: the ECS service and its task definition, the agent token's secret, the egress rule.
    expect(has("aws_secretsmanager_secret", "name")).toBe(true);
    expect(has("aws_secretsmanager_secret", "kms_key_id")).toBe(false);
    expect(has("aws_ecs_task_definition", "container_definitions")).toBe(true);
    expect(has("aws_ecs_service", "task_definition")).toBe(false);
    expect(has("aws_ecs_service", "desired_count")).toBe(false);
    expect(conditional("aws_ecs_service", "capacity_provider_strategy")).toBe(true);
    expect(has("aws_vpc_security_group_egress_rule", "cidr_ipv4")).toBe(false);
    expect(conditional("aws_vpc_security_group_egress_rule", "cidr_ipv4")).toBe(true);
    // google/services/compute/resource_compute_instance_template.go: immutable, and labels reach the
    // ForceNew effective_labels through tpgresource.SetLabelsDiff; resource_compute_region_instance_group_manager.go.
    expect(has("google_compute_instance_template", "metadata")).toBe(true);
    expect(has("google_compute_instance_template", "labels")).toBe(true);
    expect(conditional("google_compute_instance_template", "disk.source_image")).toBe(true);
    expect(has("google_compute_region_instance_group_manager", "target_size")).toBe(false);
    expect(has("google_compute_region_instance_group_manager", "version.instance_template")).toBe(false);
    expect(has("google_compute_firewall", "direction")).toBe(true);
    expect(has("google_compute_firewall", "destination_ranges")).toBe(false);
    // internal/provider/resource_tfe_agent_pool.go, resource_tfe_agent_pool_allowed_workspaces.go (tfe 0.71.0).
    expect(has("tfe_agent_pool", "name")).toBe(false);
    expect(has("tfe_agent_pool_allowed_workspaces", "agent_pool_id")).toBe(true);
    expect(has("tfe_agent_pool_allowed_workspaces", "allowed_workspace_ids")).toBe(false);
    // internal/provider/resource_id.go (random 3.7.2).
    expect(has("random_id", "byte_length")).toBe(true);
    expect(conditional("random_id", "keepers")).toBe(true);
    // azurerm 4.55.0: internal/services/containerapps/*_resource.go, containers/container_group_resource.go.
    expect(has("azurerm_container_app_environment", "infrastructure_subnet_id")).toBe(true);
    expect(has("azurerm_container_app_environment", "log_analytics_workspace_id")).toBe(false);
    expect(conditional("azurerm_container_app_environment", "workload_profile")).toBe(true);
    expect(has("azurerm_container_app", "container_app_environment_id")).toBe(true);
    expect(has("azurerm_container_app", "template.container.image")).toBe(false);
    expect(conditional("azurerm_container_app_job", "schedule_trigger_config")).toBe(true);
    expect(has("azurerm_container_group", "container.image")).toBe(true);
    expect(has("azurerm_container_group", "tags")).toBe(false);
  });
});

// The tables against the real provider: the aws table is re-checked against the mirrored
// hashicorp/aws 5.100.0 in __tests__/stack-diff.test.ts ("the provider's answer"): one offline plan
// of a one-attribute change for every attribute of a case of every type in the table, plus changes
// on each conditional path. A smaller check of 11 changes that lived here was folded into it.
