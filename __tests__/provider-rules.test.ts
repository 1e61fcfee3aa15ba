/**
 * The replace-forcing tables in scripts/provider-rules/ (one per provider and pinned version),
 * which the pull-request gate uses where it cannot run the provider itself.
 *
 * - coverage: every resource type of every synthesized stack has an entry in the table of the
 *   provider and version that stack requires, so a new resource type or a provider bump without a
 *   new table fails here;
 * - versions: each table's version is the one the @cdktf/provider-* binding pins;
 * - spot checks of well-known upstream facts (source cited next to each);
 * - AWS: the table agrees with the real provider 5.100.0 from the local mirror on a known change
 *   of a listed attribute (must replace) and of an unlisted one (must update in place).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/outdir";
import { PLUGIN_MIRROR, terraformUnavailable } from "./support/terraform";

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
});

/** Known changes to check against the provider: state value → config value of one attribute. */
interface Probe {
  type: string;
  schemaVersion: number;
  config: Record<string, unknown>;
  state: Record<string, unknown>;
  path: string;
}

const ROLE = "arn:aws:iam::123456789012:role/nodes";
const KEY = "arn:aws:kms:eu-central-1:123456789012:key/0b0c0d0e-1111-2222-3333-444455556666";
const nodeGroup = { cluster_name: "c", node_group_name: "ng", node_role_arn: ROLE, subnet_ids: ["subnet-1"], instance_types: ["m6i.large"], scaling_config: [{ desired_size: 2, max_size: 4, min_size: 1 }] };
const db = { identifier: "db", instance_class: "db.t3.micro", engine: "postgres", allocated_storage: 20, username: "app", storage_encrypted: true, kms_key_id: KEY, skip_final_snapshot: true };
const cluster = { name: "c", role_arn: ROLE, version: "1.32", vpc_config: [{ subnet_ids: ["subnet-1", "subnet-2"] }] };
const PROBES: Probe[] = [
  { type: "aws_s3_bucket", schemaVersion: 0, path: "bucket", config: { bucket: "data-logs-2" }, state: { id: "data-logs", bucket: "data-logs" } },
  { type: "aws_s3_bucket", schemaVersion: 0, path: "force_destroy", config: { bucket: "data-logs", force_destroy: true }, state: { id: "data-logs", bucket: "data-logs", force_destroy: false } },
  { type: "aws_eks_node_group", schemaVersion: 0, path: "instance_types", config: { ...nodeGroup, instance_types: ["m6i.xlarge"] }, state: { id: "c:ng", ...nodeGroup } },
  { type: "aws_eks_node_group", schemaVersion: 0, path: "subnet_ids", config: { ...nodeGroup, subnet_ids: ["subnet-2"] }, state: { id: "c:ng", ...nodeGroup } },
  { type: "aws_eks_node_group", schemaVersion: 0, path: "scaling_config.max_size", config: { ...nodeGroup, scaling_config: [{ desired_size: 2, max_size: 6, min_size: 1 }] }, state: { id: "c:ng", ...nodeGroup } },
  { type: "aws_db_instance", schemaVersion: 2, path: "username", config: { ...db, username: "admin2" }, state: { id: "db-1", ...db } },
  { type: "aws_db_instance", schemaVersion: 2, path: "instance_class", config: { ...db, instance_class: "db.t3.small" }, state: { id: "db-1", ...db } },
  { type: "aws_vpc", schemaVersion: 1, path: "cidr_block", config: { cidr_block: "10.1.0.0/16" }, state: { id: "vpc-1", cidr_block: "10.0.0.0/16", instance_tenancy: "default" } },
  { type: "aws_vpc", schemaVersion: 1, path: "enable_dns_hostnames", config: { cidr_block: "10.0.0.0/16", enable_dns_hostnames: true }, state: { id: "vpc-1", cidr_block: "10.0.0.0/16", instance_tenancy: "default", enable_dns_hostnames: false } },
  { type: "aws_eks_cluster", schemaVersion: 1, path: "name", config: { ...cluster, name: "c2" }, state: { id: "c", ...cluster, bootstrap_self_managed_addons: true } },
  { type: "aws_eks_cluster", schemaVersion: 1, path: "version", config: { ...cluster, version: "1.33" }, state: { id: "c", ...cluster, bootstrap_self_managed_addons: true } },
];

const unavailable = terraformUnavailable() ?? (existsSync(join(PLUGIN_MIRROR, "registry.terraform.io/hashicorp/aws/5.100.0")) ? undefined : "the mirror has no aws 5.100.0");
if (unavailable) console.warn(`AWS table cross-check against the real provider NOT RUN: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("aws 5.100.0 table against the real provider (offline plan on a hand-written state)", () => {
  const planned = new Map<string, { actions: string[]; replacePaths: string[] }>();

  beforeAll(async () => {
    const dir = tempDir("provider-rules");
    const resource: Record<string, Record<string, unknown>> = {};
    PROBES.forEach((p, i) => ((resource[p.type] ??= {})[`p${i}`] = p.config));
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({
      terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } }, backend: { local: { path: "terraform.tfstate" } } },
      provider: { aws: [{ region: "eu-central-1", access_key: "offline-check", secret_key: "offline-check", skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true }] },
      resource,
    }));
    writeFileSync(join(dir, "terraform.tfstate"), JSON.stringify({
      version: 4, terraform_version: "1.11.4", serial: 1, lineage: "provider-rules-test", outputs: {},
      resources: PROBES.map((p, i) => ({ mode: "managed", type: p.type, name: `p${i}`, provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: p.schemaVersion, attributes: p.state }] })),
    }));
    writeFileSync(join(dir, "mirror.tfrc"), `provider_installation {\n  filesystem_mirror {\n    path = "${PLUGIN_MIRROR}"\n  }\n}\n`);
    const env = { ...process.env, TF_CLI_CONFIG_FILE: join(dir, "mirror.tfrc"), TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" };
    const terraform = (...args: string[]) => promisify(execFile)("terraform", args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 });
    await terraform("init", "-no-color", "-input=false");
    await terraform("plan", "-no-color", "-input=false", "-lock=false", "-refresh=false", "-out=plan.bin");
    const plan = JSON.parse((await terraform("show", "-json", "plan.bin")).stdout) as { resource_changes: { name: string; change: { actions: string[]; replace_paths?: (string | number)[][] } }[] };
    for (const rc of plan.resource_changes) {
      planned.set(rc.name, { actions: rc.change.actions, replacePaths: (rc.change.replace_paths ?? []).map((p) => p.filter((s) => typeof s === "string").join(".")) });
    }
  }, 300_000);

  it.each(PROBES.map((p, i) => [`${p.type} ${p.path}`, p, i] as const))("%s: replaces exactly when the table lists it", (_, probe, i) => {
    const listed = rules(probe.type).attributes.includes(probe.path);
    const result = planned.get(`p${i}`);
    expect(result).toBeDefined();
    // Only the probed attribute differs between state and config, so it alone may force replacement.
    expect(result?.replacePaths).toEqual(listed ? [probe.path] : []);
    expect(result?.actions).toEqual(listed ? ["delete", "create"] : ["update"]);
  });

  it("covers both outcomes: some probes replace, some update in place", () => {
    const listed = PROBES.map((p) => rules(p.type).attributes.includes(p.path));
    expect(listed).toContain(true);
    expect(listed).toContain(false);
  });
});
