import { execFile, execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentInput } from "../constructs/core/spec";
import { synthesize } from "../stacks/app";
import { AWS_TAGGABLE, AWS_UNTAGGABLE, createdOnceChecks, diffDirectories, renderedSecretChecks, diffStack, diffStackFromPlan, parseStack, renderSummary, SECRET_REWRITE, type StackDiff } from "../scripts/stack-diff";
import type { PlanJson } from "../scripts/plan-json";
import { loadRules, RULES_DIR, type RuleTables } from "../scripts/replace-rules";
import { CHART_DEFAULT_VOLUMES, statefulResources } from "../scripts/stateful";
import { archive, changedStacks, planChangedStacks, type Http } from "../scripts/tfc-plan";
import { requiredProviders } from "../scripts/provider-mirror";
import { baseSpec, everyAppSpec } from "./support/fixtures";
import { synthInfra } from "./support/synth";
import { ADMIN_GROUP, azureSpec } from "./azure/fixtures";
import { tempDir } from "./support/outdir";
import { PLUGIN_MIRROR, terraformUnavailable } from "./support/terraform";

const run = promisify(execFile);
type Json = Record<string, unknown>;

/** The project's replace-forcing tables (scripts/provider-rules/), as the gate reads them. */
const RULES = loadRules(RULES_DIR);
const NO_RULES: RuleTables = new Map();

function synthTo(spec: EnvironmentInput): string {
  const outdir = join(tempDir("diff"), "synthesized");
  expect(synthesize([spec], outdir)).toBe(0);
  return outdir;
}

const base = synthTo(baseSpec());
const stackOf = (baseDir: string, headDir: string, stack = "test-infra"): StackDiff => {
  const diff = diffDirectories(baseDir, headDir, { rules: RULES }).find((d) => d.stack === stack);
  if (!diff) throw new Error(`no ${stack}`);
  return diff;
};
const change = (diff: StackDiff, address: RegExp) => diff.changes.filter((c) => address.test(c.address));

describe("offline answer: the synthesized JSON, provider blocks and the replace-forcing table", () => {
  it("reports nothing for an unchanged spec", () => {
    const diffs = diffDirectories(base, synthTo(baseSpec()), { rules: RULES });
    expect(diffs.flatMap((d) => d.changes)).toEqual([]);
    expect(renderSummary(diffs, false)).toContain("No resource changes.");
  });

  // Review of issue 13: only resources, data sources, providers and moved blocks were compared, so
  // an output, the terraform block, an ephemeral resource or the framework's stamp changed unseen.
  it("reports every other block Terraform reads that changed, and a framework stamp change once, even with no resource change", () => {
    const head = join(tempDir("diff-blocks"), "synthesized");
    cpSync(base, head, { recursive: true });
    const file = join(head, "stacks", "test-infra", "cdk.tf.json");
    const json = JSON.parse(readFileSync(file, "utf8")) as { "//": { metadata: { version: string } }; terraform: Json; output?: Json; ephemeral?: Json; variable?: Json };
    const before = json["//"].metadata.version;
    const [firstOutput] = Object.keys(json.output ?? {});
    json.terraform.required_version = ">= 1.12.0";
    json.output = { ...json.output, [firstOutput]: { value: "changed" } };
    json.ephemeral = { aws_eks_cluster_auth: { cluster_auth: { name: "other" } } };
    json.variable = { region: { type: "string" } };
    json["//"].metadata.version = "9.9.9";
    writeFileSync(file, JSON.stringify(json));
    const diffs = diffDirectories(base, head, { rules: RULES });
    const infra = diffs.find((d) => d.stack === "test-infra");
    expect(infra?.changes).toEqual([]);
    expect(infra?.notes.map((note) => note.replace(/changed \(.* → /, "changed (… → "))).toEqual([
      "`ephemeral.aws_eks_cluster_auth.cluster_auth` added",
      `\`output.${firstOutput}\` changed (… → {"value":"changed"})`,
      '`terraform.required_version` changed (… → ">= 1.12.0")',
      "`variable.region` added",
    ]);
    expect(infra?.notes[2]).toBe('`terraform.required_version` changed (">= 1.11.0" → ">= 1.12.0")');
    const summary = renderSummary(diffs, false);
    expect(summary).toContain("No resource changes.");
    expect(summary).toContain("### test-infra");
    expect(summary).toContain(`Framework stamp (\`"//".metadata.version\`, which Terraform ignores): ${before} → 9.9.9 in 1 stack.`);
    expect(renderSummary(diffDirectories(base, base, { rules: RULES }), false)).not.toContain("Framework stamp");
  });

  it("counts an in-place change and allows it", () => {
    const diff = stackOf(base, synthTo({ ...baseSpec(), buckets: [{ name: "logs", purpose: "logs", expirationDays: 60 }] }));
    expect(diff.changes).toEqual([expect.objectContaining({ address: expect.stringMatching(/^aws_s3_bucket_lifecycle_configuration\.platform_bucket-logs_lifecycle_/), action: "update", basis: "table" })]);
    expect(diff.stateful).toEqual([]);
  });

  it("a region change replaces every resource of the stack and refuses the stateful ones", () => {
    const head = synthTo({ ...baseSpec(), accounts: { aws: { region: "eu-west-1", accountId: "123456789012" } } });
    const infra = stackOf(base, head);
    const resources = parseStack(readFileSync(join(head, "stacks", "test-infra", "cdk.tf.json"), "utf8")).resources.size;
    expect(infra.changes.filter((c) => c.action === "replace" && c.basis === "provider-config")).toHaveLength(resources);
    expect(infra.replaced[0]).toContain("aws region: \"eu-central-1\" → \"eu-west-1\"");
    for (const type of ["aws_db_instance", "aws_s3_bucket", "aws_eks_cluster", "aws_kms_key", "aws_cloudwatch_log_group", "aws_route53_zone"].filter((t) => infra.changes.some((c) => c.address.startsWith(`${t}.`)))) {
      expect(infra.stateful).toContainEqual(expect.stringMatching(new RegExp(`^${type}\\..* replaced: loses `)));
    }
    // The apps stack reads its cluster through the AWS provider: its Kubernetes objects move to
    // whatever cluster the new region has.
    const apps = stackOf(base, head, "test-apps");
    expect(apps.changes.filter((c) => c.address.startsWith("helm_release.")).every((c) => c.action === "replace" && c.reason.includes("data.aws_eks_cluster"))).toBe(true);
    expect(renderSummary([infra, apps], false)).toContain("> [!CAUTION]");
  });

  it("an account change replaces every resource too", () => {
    const infra = stackOf(base, synthTo({ ...baseSpec(), accounts: { aws: { region: "eu-central-1", accountId: "210987654321" } } }));
    expect(infra.changes.every((c) => c.action === "replace" && c.basis === "provider-config" && c.reason.includes("allowed_account_ids"))).toBe(true);
    expect(infra.stateful).toContainEqual(expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+ replaced: loses every object in the bucket$/));
  });

  it("an owner change updates every taggable resource in place (default_tags), and nothing else", () => {
    const infra = stackOf(base, synthTo({ ...baseSpec(), owner: "analytics-team" }));
    expect(infra.changes.length).toBeGreaterThan(20);
    expect(infra.changes.every((c) => c.action === "update" && c.basis === "provider-config" && c.reason.includes("default_tags"))).toBe(true);
    expect(change(infra, /^aws_vpc\./)).toHaveLength(1);
    expect(change(infra, /^aws_route_table_association\./)).toEqual([]);
    expect(infra.stateful).toEqual([]);
    expect(renderSummary([infra], false)).not.toContain("No resource changes");
  });

  it("a CIDR change replaces the network and what sits in it, not as 'changed'", () => {
    const infra = stackOf(base, synthTo({ ...baseSpec(), network: { cidr: "10.43.0.0/16" } }));
    const replaced = (pattern: RegExp) => change(infra, pattern).filter((c) => c.action === "replace" && c.basis === "table");
    expect(replaced(/^aws_vpc\./)[0]?.reason).toMatch(/^cidr_block "10\.42\.0\.0\/16" → "10\.43\.0\.0\/16"/);
    const subnets = change(infra, /^aws_subnet\./);
    expect(subnets.length).toBeGreaterThanOrEqual(6);
    expect(subnets.every((c) => c.action === "replace" && c.reason.includes("cidr_block"))).toBe(true);
    // Replaced only because what they point at is new:
    expect(replaced(/^aws_route_table_association\./).map((c) => c.reason)).toContainEqual(expect.stringMatching(/^subnet_id refers to aws_subnet\..*\.id, new once aws_subnet\..* is replaced/));
    expect(replaced(/^aws_eks_node_group\./)[0]?.reason).toContain("subnet_ids");
    expect(replaced(/^aws_security_group\./)[0]?.reason).toContain("vpc_id refers to aws_vpc.");
    expect(infra.replaced.length).toBeGreaterThan(20);
    expect(infra.unknown).toEqual([]);
    expect(renderSummary([infra], false)).toMatch(/\| test-infra \| offline \(config \+ tables\) \| 0 \| \d+ \| 0 \| 0 \| [2-9]\d \| 0 \|/);
  });

  it("a node pool size change replaces the node group (instance_types), and says so", () => {
    const spec = baseSpec();
    const infra = stackOf(base, synthTo({ ...spec, cluster: { ...spec.cluster, nodePools: [{ name: "system", size: "large", minNodes: 2, maxNodes: 4 }] } }));
    const nodeGroups = change(infra, /^aws_eks_node_group\./);
    expect(nodeGroups).toEqual([expect.objectContaining({ action: "replace", basis: "table", reason: expect.stringMatching(/^instance_types /) })]);
    expect(infra.stateful).toEqual([]);
  });

  it("a zone count change replaces the node group (subnet_ids)", () => {
    const spec = baseSpec();
    const infra = stackOf(base, synthTo({ ...spec, network: { cidr: "10.42.0.0/16", zones: 3 } }));
    expect(change(infra, /^aws_eks_node_group\./)).toEqual([expect.objectContaining({ action: "replace", reason: expect.stringMatching(/^subnet_ids /) })]);
    expect(change(infra, /^aws_subnet\./).filter((c) => c.action === "create").length).toBeGreaterThanOrEqual(3);
  });

  it("refuses a renamed bucket, and says a moved block will not help (the bucket name changed too)", () => {
    const head = synthTo({ ...baseSpec(), buckets: [{ name: "audit", purpose: "logs", expirationDays: 30 }], apps: [{ name: "airflow", database: "main", bucket: "audit" }] });
    const diff = stackOf(base, head);
    const bucket = change(diff, /^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+$/)[0];
    expect(bucket).toMatchObject({ action: "delete", basis: "address", stateful: "every object in the bucket" });
    expect(bucket?.reason).toMatch(/now aws_s3_bucket\.platform_bucket-audit_[A-F0-9]+\?\) and so did bucket "test-logs-123456789012" → "test-audit-123456789012": a moved block will not help/);
    expect(diff.stateful).toContainEqual(expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+ destroyed: loses every object in the bucket$/));
    const summary = renderSummary(diffDirectories(base, head, { rules: RULES }), false);
    expect(summary).toContain("> [!CAUTION]");
    expect(summary).toContain("allow-stateful-replacement");
    expect(renderSummary(diffDirectories(base, head, { rules: RULES }), true)).toContain("Allowed by label");
  });
});

/** A stack's JSON, AWS provider in eu-west-1 with default tags, as the synthesized stacks have it. */
function awsStack(resources: Record<string, Record<string, Json>>, extra: Json = {}, provider: Json = {}): Json {
  return {
    terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } },
    provider: {
      aws: [
        {
          region: "eu-west-1",
          access_key: "offline-check",
          secret_key: "offline-check",
          skip_credentials_validation: true,
          skip_requesting_account_id: true,
          skip_metadata_api_check: true,
          default_tags: [{ tags: { owner: "data-platform" } }],
          ...provider,
        },
      ],
    },
    resource: resources,
    ...extra,
  };
}
const cfg = (stack: Json) => parseStack(JSON.stringify(stack));

describe("offline answer: hand-made cases", () => {
  it("refuses count, for_each and replace_triggered_by changes on data, which destroy without any attribute changing", () => {
    const bucket = { bucket: "prod-lake-111122223333" };
    const before = awsStack({ aws_s3_bucket: { lake: bucket }, aws_db_instance: { db: { identifier: "prod-db-platform", engine: "postgres" } } });
    const counted = awsStack({ aws_s3_bucket: { lake: { ...bucket, count: 0 } }, aws_db_instance: { db: { identifier: "prod-db-platform", engine: "postgres", for_each: "${toset([])}" } } });
    const diff = diffStack("s", cfg(before), cfg(counted), RULES);
    expect(diff.stateful).toEqual([expect.stringMatching(/^aws_db_instance\.db may be replaced/), expect.stringMatching(/^aws_s3_bucket\.lake may be replaced/)]);
    expect(diff.unknown.join("\n")).toMatch(/aws_db_instance\.db .*for_each changed[\s\S]*aws_s3_bucket\.lake .*count changed/);
    const triggered = awsStack({ aws_s3_bucket: { lake: bucket }, aws_db_instance: { db: { identifier: "prod-db-platform", engine: "postgres", lifecycle: { replace_triggered_by: ["aws_s3_bucket.lake"] } } } });
    const retriggered = diffStack("s", cfg(before), cfg(triggered), RULES);
    expect(retriggered.stateful).toEqual([expect.stringMatching(/^aws_db_instance\.db may be replaced/)]);
    expect(retriggered.unknown.join("\n")).toContain("replace_triggered_by changed");
  });

  it("refuses a stack directory holding a Terraform file synth does not write (an override would change what is applied unseen)", () => {
    const base = tempDir("gate-base");
    const head = tempDir("gate-head");
    for (const dir of [base, head]) {
      mkdirSync(join(dir, "stacks", "s"), { recursive: true });
      writeFileSync(join(dir, "stacks", "s", "cdk.tf.json"), JSON.stringify(awsStack({})));
    }
    writeFileSync(join(head, "stacks", "s", "zz_override.tf.json"), "{}");
    expect(() => diffDirectories(base, head, { rules: RULES })).toThrow(/holds Terraform files synth does not write \(zz_override\.tf\.json\)/);
  });

  it("replaces a resource whose replace-forcing attribute refers to another resource's value only when that value changes, not when the rest of that resource does", () => {
    const kubernetesStack = (labels: Json, name: string): Json => ({
      terraform: { required_providers: { kubernetes: { source: "hashicorp/kubernetes", version: "2.38.0" } } },
      provider: { kubernetes: [{}] },
      resource: {
        kubernetes_namespace_v1: { ns: { metadata: { name, labels } } },
        kubernetes_service_account_v1: { sa: { metadata: { name: "external-dns", namespace: "${kubernetes_namespace_v1.ns.metadata[0].name}" } } },
      },
    });
    const before = kubernetesStack({ "pod-security.kubernetes.io/enforce": "baseline" }, "external-dns");
    const relabelled = diffStack("s", cfg(before), cfg(kubernetesStack({ "pod-security.kubernetes.io/enforce": "restricted" }, "external-dns")), RULES);
    expect(relabelled.changes.map((c) => `${c.address} ${c.action}`)).toEqual(["kubernetes_namespace_v1.ns update"]);
    const renamed = diffStack("s", cfg(before), cfg(kubernetesStack({ "pod-security.kubernetes.io/enforce": "baseline" }, "dns")), RULES);
    expect(renamed.changes.map((c) => `${c.address} ${c.action}`).sort()).toEqual(["kubernetes_namespace_v1.ns replace", "kubernetes_service_account_v1.sa replace"]);
  });

  it("refuses the deletion of a log group, a secret and a key", () => {
    const before = awsStack({
      aws_cloudwatch_log_group: { lg: { name: "/aws/eks/c/cluster" } },
      aws_secretsmanager_secret: { sec: { name: "db-admin" } },
      aws_kms_key: { k: { description: "k" } },
      aws_iam_role: { r: { name: "r", assume_role_policy: "{}" } },
    });
    const after = awsStack({ aws_iam_role: { r: { name: "r", assume_role_policy: "{}" } } });
    const diff = diffStack("s", cfg(before), cfg(after), RULES);
    expect(diff.stateful).toEqual([
      "aws_cloudwatch_log_group.lg destroyed: loses the logs in the group",
      "aws_kms_key.k destroyed: loses the key: data encrypted with it (database, cluster secrets, logs) cannot be decrypted once it is deleted",
      "aws_secretsmanager_secret.sec destroyed: loses every version of the secret's value",
    ]);
  });

  it("advises a moved block only when the replace-forcing attributes are equal", () => {
    const before = awsStack({ aws_s3_bucket: { old_id: { bucket: "acme-lake" } } });
    const same = diffStack("s", cfg(before), cfg(awsStack({ aws_s3_bucket: { new_id: { bucket: "acme-lake" } } })), RULES);
    expect(same.changes.find((c) => c.action === "delete")?.reason).toBe(
      "address changed to aws_s3_bucket.new_id: add `moved { from = aws_s3_bucket.old_id, to = aws_s3_bucket.new_id }` (or keep the construct id): its replace-forcing attributes are equal, so it becomes an update in place",
    );
    const renamed = diffStack("s", cfg(before), cfg(awsStack({ aws_s3_bucket: { new_id: { bucket: "acme-lake-2" } } })), RULES);
    expect(renamed.changes.find((c) => c.action === "delete")?.reason).toContain("a moved block will not help");
    // With the moved block, the same bucket is an unchanged resource at its new address.
    const moved = diffStack("s", cfg(before), cfg(awsStack({ aws_s3_bucket: { new_id: { bucket: "acme-lake" } } }, { moved: [{ from: "aws_s3_bucket.old_id", to: "aws_s3_bucket.new_id" }] })), RULES);
    expect(moved.changes).toEqual([]);
    expect(moved.notes).toContain("aws_s3_bucket.old_id moved to aws_s3_bucket.new_id (moved block)");
  });

  it("calls a change unknown, never 'changed', when the table lacks the provider version or the type", () => {
    const before = awsStack({ aws_db_instance: { db: { identifier: "db", instance_class: "db.t4g.micro" } } });
    const after = awsStack({ aws_db_instance: { db: { identifier: "db", instance_class: "db.t4g.small" } } });
    const noTable = diffStack("s", cfg(before), cfg(after), NO_RULES);
    expect(noTable.unknown).toEqual(["aws_db_instance.db (unknown: replace-forcing attributes unknown (no table for aws 5.100.0); changed: instance_class)"]);
    expect(noTable.stateful).toEqual(["aws_db_instance.db may be replaced: loses the database and its automated backups"]);
    const otherType = diffStack("s", cfg(awsStack({ aws_ebs_volume: { v: { availability_zone: "eu-west-1a", size: 10 } } })), cfg(awsStack({ aws_ebs_volume: { v: { availability_zone: "eu-west-1a", size: 20 } } })), RULES);
    expect(otherType.unknown[0]).toContain("the aws 5.100.0 table has no aws_ebs_volume");
    expect(otherType.stateful).toEqual(["aws_ebs_volume.v may be replaced: loses the volume's data"]);
    // With the table, the same instance class change is an update in place.
    expect(diffStack("s", cfg(before), cfg(after), RULES).changes).toEqual([expect.objectContaining({ action: "update", reason: "in place: instance_class" })]);
  });

  it("loads a table only from the file named for its provider and version", () => {
    const dir = tempDir("rules");
    writeFileSync(join(dir, "sources.json"), JSON.stringify({ note: "not a table" }));
    writeFileSync(join(dir, "aws-5.100.0.json"), JSON.stringify({ provider: "hashicorp/aws", version: "5.100.0", source: "t", replaceForcing: {} }));
    expect([...loadRules(dir).keys()]).toEqual(["aws@5.100.0"]);
    writeFileSync(join(dir, "aws-5.99.0.json"), JSON.stringify({ provider: "hashicorp/aws", version: "5.100.0", source: "t", replaceForcing: {} }));
    expect(() => loadRules(dir)).toThrow("aws-5.99.0.json: provider hashicorp/aws 5.100.0 belongs in aws-5.100.0.json");
  });

  it("reports a conditional replace-forcing change as unknown, with the condition", () => {
    const rules: RuleTables = new Map([["aws@5.100.0", { provider: "hashicorp/aws", version: "5.100.0", source: "test", replaceForcing: { aws_db_instance: { attributes: ["username"], conditional: [{ path: "engine_version", when: "when it is a downgrade" }] } } }]]);
    const diff = diffStack("s", cfg(awsStack({ aws_db_instance: { db: { engine_version: "16.4" } } })), cfg(awsStack({ aws_db_instance: { db: { engine_version: "16.3" } } })), rules);
    expect(diff.unknown).toEqual(["aws_db_instance.db (unknown: engine_version changed, which replaces it when it is a downgrade)"]);
  });

  it("reads a condition that needs a set old value (ForceNewIfChange with old != \"\") as in place when the path was unset", () => {
    // azurerm 4.55.0 kubernetes_cluster_resource.go:83: api_server_access_profile.0.subnet_id replaces
    // only when `old != "" && new == ""`; the vendored SDK passes GetChange's values as they are
    // (vendor/github.com/hashicorp/terraform-plugin-sdk/v2/helper/customdiff/force_new.go).
    const rules = loadRules();
    const stack = (profile?: Record<string, unknown>) => ({
      terraform: { required_providers: { azurerm: { source: "azurerm", version: "4.55.0" } } },
      provider: { azurerm: [{ features: [{}], subscription_id: "s", tenant_id: "t" }] },
      resource: { azurerm_kubernetes_cluster: { aks: { name: "c", api_server_access_profile: profile } } },
    });
    const integrated = { virtual_network_integration_enabled: true, subnet_id: "${azurerm_subnet.api.id}" };
    const added = diffStack("s", cfg(stack()), cfg(stack(integrated)), rules);
    expect([added.unknown, added.replaced, added.stateful]).toEqual([[], [], []]);
    expect(added.changed).toEqual([expect.stringContaining("azurerm_kubernetes_cluster.aks")]);
    // Removing the subnet is the case the provider replaces on: still reported.
    expect(diffStack("s", cfg(stack(integrated)), cfg(stack({ virtual_network_integration_enabled: true })), rules).unknown).toEqual([expect.stringContaining("api_server_access_profile.subnet_id changed, which replaces it changed from a set value to empty")]);
  });

  it("says when a created-once ExternalSecret's template gains or changes a key, which External Secrets will not write, and not when it loses one", () => {
    // external-secrets.io, ExternalSecret, "Update behavior with 3 different refresh policies": CreatedOnce never writes the Secret again.
    const release = (data: Record<string, string>) => ({
      values: [JSON.stringify({ manifests: [{ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "app-database", namespace: "db-bootstrap" }, spec: { refreshPolicy: "CreatedOnce", target: { name: "app-database", template: { data } } } }] })],
    });
    const base = release({ username: "app", password: "{{ .password }}", connection: "postgresql://app:{{ .password }}@old:5432/app" });
    const cautions = (data: Record<string, string>) => createdOnceChecks("helm_release.w", base, release(data)).cautions.length;
    expect([
      cautions({ username: "app", password: "{{ .password }}", connection: "postgresql://app:{{ .password }}@new:5432/app" }),
      cautions({ username: "app", password: "{{ .password }}", connection: "postgresql://app:{{ .password }}@old:5432/app", extra: "x" }),
      cautions({ username: "app", password: "{{ .password }}" }),
      cautions({ username: "app", password: "{{ .password }}", connection: "postgresql://app:{{ .password }}@old:5432/app" }),
    ]).toEqual([1, 1, 0, 0]);
  });

  it("says when a rendered Secret's template changes: External Secrets writes it at once, but pods read it at start", () => {
    // Kubernetes, "Secrets": Secrets consumed as environment variables are not updated automatically.
    const release = (host: string, refreshPolicy?: string) => ({
      values: [JSON.stringify({ manifests: [{ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "app-database", namespace: "app" }, spec: { ...(refreshPolicy ? { refreshPolicy } : {}), target: { name: "app-database", template: { data: { connection: `postgresql://app:{{ .password }}@${host}:5432/app` } } } } }] })],
    });
    const renders = (base: object, head: object) => renderedSecretChecks("helm_release.w", base, head).cautions;
    expect(renders(release("old"), release("new"))).toEqual([expect.stringMatching(/^helm_release\.w: ExternalSecret app\/app-database renders its Secret anew, which pods that read it at start do not see: .*rollout restart/)]);
    const copied = { values: [JSON.stringify({ manifests: [{ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "app-database", namespace: "app" }, spec: { target: { name: "app-database" } } }] })] };
    // Unchanged; created once (createdOnceChecks' case); a plain copy that gains its template (the upgrade to this release: same values).
    expect([renders(release("old"), release("old")), renders(release("old", "CreatedOnce"), release("new", "CreatedOnce")), renders(copied, release("old"))]).toEqual([[], [], []]);
  });

  it("says when a pull request leaves out an argument the provider keeps (Optional and Computed in its schema), and not for one it resets", () => {
    // google 6.50.0 resource_compute_router_nat.go:370-373: nat_ips is Optional and Computed; max_ports_per_vm is Optional only.
    const google = (nat: Record<string, unknown>) => ({
      terraform: { required_providers: { google: { source: "google", version: "6.50.0" } } },
      provider: { google: [{ project: "p", region: "europe-west1" }] },
      resource: { google_compute_router_nat: { nat: { name: "n", router: "r", source_subnetwork_ip_ranges_to_nat: "ALL_SUBNETWORKS_ALL_IP_RANGES", ...nat } } },
    });
    const manual = google({ nat_ip_allocate_option: "MANUAL_ONLY", nat_ips: ["a", "b"], max_ports_per_vm: 4096 });
    const cautions = (head: Record<string, unknown>) => diffStack("s", cfg(manual), cfg(google(head)), RULES).cautions.filter((caution) => caution.includes("leaves out"));
    expect(cautions({ nat_ip_allocate_option: "AUTO_ONLY" })).toEqual(["google_compute_router_nat.nat: leaves out nat_ips, which the provider keeps as they are (Optional and Computed in its schema): set it explicitly (an empty list clears a list)"]);
    expect(cautions({ nat_ip_allocate_option: "AUTO_ONLY", nat_ips: [] })).toEqual([]);
    expect(cautions({ nat_ip_allocate_option: "MANUAL_ONLY", nat_ips: ["a", "b"] })).toEqual([]);
    // azurerm 4.55.0 storage_account_resource.go:380-401: network_rules and its ip_rules are Optional and Computed; the outermost is named.
    const azurerm = (account: Record<string, unknown>) => ({
      terraform: { required_providers: { azurerm: { source: "azurerm", version: "4.55.0" } } },
      provider: { azurerm: [{ features: [{}], subscription_id: "s", tenant_id: "t" }] },
      resource: { azurerm_storage_account: { sa: { name: "sa", ...account } } },
    });
    // google 6.50.0 resource_storage_bucket.go:186-189: lifecycle_rule is only Optional, so its condition goes with it.
    const bucket = (rules: unknown[]) => ({
      terraform: { required_providers: { google: { source: "google", version: "6.50.0" } } },
      provider: { google: [{ project: "p", region: "europe-west1" }] },
      resource: { google_storage_bucket: { b: { name: "b", location: "EU", lifecycle_rule: rules } } },
    });
    const rule = { action: { type: "Delete" }, condition: { age: 30, with_state: "LIVE" } };
    expect(diffStack("s", cfg(bucket([rule])), cfg(bucket([])), RULES).cautions).toEqual([]);
    const firewalled = azurerm({ network_rules: { default_action: "Deny", ip_rules: ["20.1.2.3"] } });
    const left = (head: Record<string, unknown>) => diffStack("s", cfg(firewalled), cfg(azurerm(head)), RULES).cautions.filter((caution) => caution.includes("leaves out"));
    expect([left({ network_rules: { default_action: "Deny" } }), left({ public_network_access_enabled: false }), left({ network_rules: { default_action: "Deny", ip_rules: [] } })]).toEqual([
      [expect.stringContaining("azurerm_storage_account.sa: leaves out network_rules.ip_rules,")],
      [expect.stringContaining("azurerm_storage_account.sa: leaves out network_rules,")],
      [],
    ]);
  });

  it("replaces what follows a provider that points elsewhere, on every cloud", () => {
    const azurerm = (subscription: string) => ({
      terraform: { required_providers: { azurerm: { source: "azurerm", version: "4.55.0" } } },
      provider: { azurerm: [{ features: [{}], subscription_id: subscription, tenant_id: "t" }] },
      resource: { azurerm_key_vault: { kv: { name: "kv" } } },
    });
    expect(diffStack("s", cfg(azurerm("a")), cfg(azurerm("b")), NO_RULES).stateful).toEqual(["azurerm_key_vault.kv replaced: loses every secret and key in the vault"]);
    const google = (project: string) => ({
      terraform: { required_providers: { google: { source: "google", version: "6.50.0" } } },
      provider: { google: [{ project, region: "europe-west1" }] },
      resource: { google_storage_bucket: { b: { name: "b", location: "EU" } } },
    });
    expect(diffStack("s", cfg(google("p1")), cfg(google("p2")), NO_RULES).changes).toEqual([expect.objectContaining({ action: "replace", basis: "provider-config", reason: 'google project: "p1" → "p2"' })]);
    const tfe = (organization: string) => ({
      terraform: { required_providers: { tfe: { source: "hashicorp/tfe", version: "0.71.0" } } },
      provider: { tfe: [{ organization }] },
      resource: { tfe_workspace: { w: { name: "w" } } },
    });
    expect(diffStack("s", cfg(tfe("a")), cfg(tfe("b")), NO_RULES).changes[0]?.action).toBe("replace");
    const kubernetes = (cluster: string) => ({
      terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" }, kubernetes: { source: "kubernetes", version: "2.38.0" } } },
      provider: { aws: [{ region: "eu-west-1" }], kubernetes: [{ host: "${data.aws_eks_cluster.c.endpoint}" }] },
      data: { aws_eks_cluster: { c: { name: cluster } } },
      resource: { kubernetes_persistent_volume_claim_v1: { pvc: { metadata: { name: "data" } } } },
    });
    expect(diffStack("s", cfg(kubernetes("a")), cfg(kubernetes("b")), NO_RULES).stateful).toEqual(["kubernetes_persistent_volume_claim_v1.pvc replaced: loses the claim's volume"]);
    const unknownProvider = (endpoint: string) => ({ terraform: { required_providers: { foo: { source: "acme/foo", version: "1.0.0" } } }, provider: { foo: [{ endpoint }] }, resource: { foo_thing: { t: {} } } });
    expect(diffStack("s", cfg(unknownProvider("a")), cfg(unknownProvider("b")), NO_RULES).changes[0]).toMatchObject({ action: "unknown", basis: "provider-config" });
  });
});

describe("what holds data in the apps stacks", () => {
  const apps = parseStack(readFileSync(join(synthTo(everyAppSpec("aws", false)), "stacks", "test-apps", "cdk.tf.json"), "utf8"));
  const stateful = statefulResources(apps.resources);
  const releases = (pattern: RegExp) => [...apps.resources.keys()].filter((address) => address.startsWith("helm_release.") && pattern.test(address));

  it("holds the releases whose charts claim volumes with our values, and their namespaces", () => {
    for (const address of [...releases(/monitoring-monitoring/), ...releases(/datahub-prerequisites/)]) expect(stateful.get(address)).toMatch(/persistent volumes/);
    expect(stateful.get(releases(/monitoring-monitoring/)[0] ?? "")).toContain("values: prometheus.prometheusSpec.storageSpec.volumeClaimTemplate");
    expect(stateful.get(releases(/datahub-prerequisites/)[0] ?? "")).toContain("the opensearch volumes (chart default)");
    expect(stateful.get(releases(/datahub-prerequisites/)[0] ?? "")).not.toContain("kafka");
    // DataHub's Kafka: the Strimzi node pool in the operator's resources release.
    expect(stateful.get(releases(/datahub-strimzi-resources/)[0] ?? "")).toMatch(/the volumes of KafkaNodePool dual-role/);
    expect(stateful.get(releases(/datahub-strimzi_/)[0] ?? "")).toBeUndefined();
    // Our values turn the Airflow and Airbyte chart volumes off (Kubernetes executor, no Redis or
    // triggerer volume; external PostgreSQL, S3 instead of MinIO).
    for (const address of [...releases(/airflow-airflow/), ...releases(/airbyte-airbyte/), ...releases(/metabase-metabase/)]) expect(stateful.get(address)).toBeUndefined();
    const namespaces = [...stateful.keys()].filter((address) => address.startsWith("kubernetes_namespace_v1."));
    expect(namespaces.length).toBeGreaterThanOrEqual(2);
    expect([...apps.resources.keys()].filter((a) => a.startsWith("kubernetes_storage_class_v1.")).every((a) => !stateful.has(a))).toBe(true);
  });

  it("flags an update that stops rendering volumes: the Bitnami Kafka turned off in the prerequisites (the Strimzi move)", () => {
    const address = releases(/datahub-prerequisites/)[0] ?? "";
    const head = apps.resources.get(address) as Json;
    const headValues = JSON.parse(String((head.values as string[])[0])) as Json;
    const before = { ...head, values: [JSON.stringify({ ...headValues, kafka: { enabled: true, controller: { persistence: { enabled: true, size: "10Gi" } } } })] };
    const only = (config: Json) => ({ ...apps, resources: new Map([[address, config]]) });
    const diff = diffStack("test-apps", only(before), only(head));
    expect(diff.changes).toEqual([expect.objectContaining({ address, action: "update", drops: "the kafka volumes (chart default), values: kafka.controller.persistence" })]);
    expect(diff.stateful).toEqual([`${address} updated: stops rendering, and so deletes, the kafka volumes (chart default), values: kafka.controller.persistence`]);
    // An update that keeps every volume (a size change) is not flagged.
    const resized = { ...head, values: [JSON.stringify({ ...headValues, opensearch: { ...(headValues.opensearch as Json), replicas: 5 } })] };
    expect(diffStack("test-apps", only(head), only(resized)).stateful).toEqual([]);
  });

  const charts = join(__dirname, "..", "..", "shared", "charts");
  it.skipIf(!existsSync(charts))("knows the chart defaults that create volumes (the charts' own values.yaml)", () => {
    const defaults = (chart: string) => parseYaml(readFileSync(join(charts, chart, "values.yaml"), "utf8")) as Json;
    expect(CHART_DEFAULT_VOLUMES.airflow?.map((v) => v.creates(defaults("airflow")))).toEqual([true, true, true]);
    expect(CHART_DEFAULT_VOLUMES.airbyte?.map((v) => v.creates(defaults("airbyte-v2")))).toEqual([true, true]);
    expect(CHART_DEFAULT_VOLUMES["datahub-prerequisites"]?.map((v) => [v.what, v.creates(defaults("datahub-prerequisites"))])).toEqual([
      ["the opensearch volumes", true],
      ["the mysql volumes", true],
      ["the kafka volumes", true],
      ["the elasticsearch volumes", false],
      ["the neo4j volumes", false],
      ["the postgresql volumes", false],
    ]);
  });
});

describe("AKS updates: VNet Integration and KMS in one update refused, a KMS key change flagged (clusterChangeChecks)", () => {
  const waiver = { secretsEncryption: "created before VNet Integration: converted, stopped and started first" };
  /** Apply 2's configuration: VNet Integration and KMS (every new environment's). */
  const full = synthInfra(azureSpec()).json as Json;
  /** Apply 1's: VNet Integration, the key and its roles, KMS off. */
  const waived = synthInfra({ ...azureSpec(), cluster: { ...azureSpec().cluster, azure: { adminGroupObjectIds: [ADMIN_GROUP], waivers: waiver } } }).json as Json;
  /** A cluster of the release before: no VNet Integration, no KMS (the rest of the stack as today). */
  const before = structuredClone(waived) as { resource: Record<string, Record<string, Json>> };
  const [address, cluster] = Object.entries(before.resource.azurerm_kubernetes_cluster)[0];
  delete cluster.api_server_access_profile;
  const clusterAddress = `azurerm_kubernetes_cluster.${address}`;
  const diff = (from: Json, to: Json) => diffStack("test-infra", cfg(from), cfg(to), RULES);

  it("refuses turning both on in one update of an existing cluster, naming the waiver and the stop/start", () => {
    const oneStep = diff(before, full);
    expect(oneStep.changed).toContain(clusterAddress);
    expect(oneStep.refused).toEqual([expect.stringMatching(new RegExp(`^${clusterAddress}: turns on API Server VNet Integration and KMS .*cluster\\.azure\\.waivers\\.secretsEncryption.*az aks stop.*az aks start`))]);
    expect(oneStep.cautions).toEqual([]);
  });

  it("lets the two applies through: apply 1 with the waiver and the stop/start reminder, apply 2 with the stop/start check and the Secret rewrite", () => {
    const first = diff(before, waived);
    expect(first.changed).toContain(clusterAddress);
    expect(first.refused).toEqual([]);
    expect(first.cautions).toEqual([expect.stringMatching(new RegExp(`^${clusterAddress}: turns on API Server VNet Integration on an existing cluster.*az aks stop.*az aks start.*enableVnetIntegration`))]);
    // An update that leaves the integration as it was reminds of nothing.
    expect(diff(waived, waived).cautions).toEqual([]);
    const second = diff(waived, full);
    expect(second.changed).toEqual([clusterAddress]);
    expect(second.refused).toEqual([]);
    expect(second.cautions).toEqual([expect.stringContaining("enableVnetIntegration")]);
    expect(second.cautions[0]).toContain(SECRET_REWRITE);
    // A new cluster gets both from the first apply: nothing to refuse.
    expect([diff({}, full).refused, diff({}, full).cautions]).toEqual([[], []]);
  });

  const plan = (change: Json): PlanJson => ({ format_version: "1.2", terraform_version: "1.11.4", resource_changes: [{ address: clusterAddress, mode: "managed", type: "azurerm_kubernetes_cluster", name: address, change }] }) as unknown as PlanJson;
  const kms = (version: string) => [{ key_vault_key_id: `https://test-kv.vault.azure.net/keys/test-cluster-secrets/${version}`, key_vault_network_access: "Private" }];
  const access = [{ subnet_id: "/subscriptions/x/subnets/apiserver", virtual_network_integration_enabled: true, authorized_ip_ranges: [] }];

  it("flags a key version change only the refreshed plan shows (a rotation reaching the cluster), with the rewrite and the double-change risk", () => {
    const rotated = diffStackFromPlan("test-infra", plan({ actions: ["update"], before: { api_server_access_profile: access, key_management_service: kms("1111") }, after: { api_server_access_profile: access, key_management_service: kms("2222") } }), cfg(full), cfg(full), RULES);
    expect(rotated.refused).toEqual([]);
    expect(rotated.cautions).toEqual([expect.stringContaining("changes key_management_service.key_vault_key_id")]);
    expect(rotated.cautions[0]).toContain(SECRET_REWRITE);
    expect(rotated.cautions[0]).toContain("Azure/AKS#4648");
    expect(SECRET_REWRITE).toBe("kubectl get secrets -A -o json | kubectl replace -f -");
    // A key id known only after the apply is flagged too; an update that keeps the key is not.
    const unknownKey = diffStackFromPlan("test-infra", plan({ actions: ["update"], before: { key_management_service: kms("1111") }, after: { key_management_service: [{ key_vault_network_access: "Private" }] }, after_unknown: { key_management_service: [{ key_vault_key_id: true }] } }), cfg(full), cfg(full), RULES);
    expect(unknownKey.cautions).toEqual([expect.stringContaining("(known after apply)")]);
    const same = diffStackFromPlan("test-infra", plan({ actions: ["update"], before: { key_management_service: kms("1111"), sku_tier: "Free" }, after: { key_management_service: kms("1111"), sku_tier: "Standard" }, after_unknown: { key_management_service: [{}] } }), cfg(full), cfg(full), RULES);
    expect([same.refused, same.cautions]).toEqual([[], []]);
  });

  it("flags KMS turned OFF on an existing cluster (the waiver added back, or the block removed): keep the key, drop its expiry, rewrite the Secrets", () => {
    // From the real apply-2 configuration, one change: the waiver set again.
    const off = diff(full, waived);
    expect(off.changed).toEqual([clusterAddress]);
    expect(off.refused).toEqual([]);
    expect(off.cautions).toEqual([expect.stringMatching(new RegExp(`^${clusterAddress}: turns KMS etcd encryption OFF.*never be deleted, disabled or expire.*rotation-policy update`))]);
    expect(off.cautions[0]).toContain(SECRET_REWRITE);
    expect(off.cautions[0]).toContain("cluster.azure.waivers.secretsEncryption");
    // The same from a plan: key_management_service gone from `after`.
    const planned = diffStackFromPlan("test-infra", plan({ actions: ["update"], before: { api_server_access_profile: access, key_management_service: kms("1111") }, after: { api_server_access_profile: access, key_management_service: [] } }), cfg(full), cfg(waived), RULES);
    expect(planned.cautions).toEqual([expect.stringContaining("turns KMS etcd encryption OFF")]);
  });

  it("reads the plan's values when the plan has the cluster: both turned on there is refused, whatever the configurations say", () => {
    const both = diffStackFromPlan("test-infra", plan({ actions: ["update"], before: { api_server_access_profile: [], key_management_service: [] }, after: { api_server_access_profile: access, key_management_service: kms("1111") } }), cfg(waived), cfg(full), RULES);
    expect(both.refused).toEqual([expect.stringContaining("in one update of an existing cluster")]);
    expect(both.cautions).toEqual([]);
    // As the upgrade's plan shows it: the API server subnet is created in the same run, so its id and the key's version are known only after the apply.
    const planned = plan({
      actions: ["update"],
      before: { api_server_access_profile: [], key_management_service: [] },
      after: { api_server_access_profile: [{ virtual_network_integration_enabled: true }], key_management_service: [{ key_vault_network_access: "Private" }] },
      after_unknown: { api_server_access_profile: [{ subnet_id: true }], key_management_service: [{ key_vault_key_id: true }] },
    });
    expect(diffStackFromPlan("test-infra", planned, cfg(before), cfg(full), RULES).refused).toEqual([expect.stringContaining("in one update of an existing cluster")]);
  });

  it("the command exits 1 on the refusal even with --allow-stateful, and 0 with the notice only", () => {
    const tsx = join(__dirname, "..", "node_modules", ".bin", "tsx");
    const script = join(__dirname, "..", "scripts", "stack-diff.ts");
    const dirOf = (json: Json) => {
      const dir = tempDir("aks-gate");
      mkdirSync(join(dir, "stacks", "test-infra"), { recursive: true });
      writeFileSync(join(dir, "stacks", "test-infra", "cdk.tf.json"), JSON.stringify(json));
      return dir;
    };
    const [old, first, second] = [dirOf(before), dirOf(waived), dirOf(full)];
    const refused = spawnSync(tsx, [script, old, second, "--rules", RULES_DIR, "--allow-stateful"], { encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain("Refused (no label allows it)");
    const noticed = spawnSync(tsx, [script, first, second, "--rules", RULES_DIR], { encoding: "utf8" });
    expect(noticed.stdout).toContain("> [!IMPORTANT]");
    expect(noticed.stdout).toContain(SECRET_REWRITE);
    expect(noticed.status).toBe(0);
  });
});

describe("the command", () => {
  const tsx = join(__dirname, "..", "node_modules", ".bin", "tsx");
  const script = join(__dirname, "..", "scripts", "stack-diff.ts");
  it("exits 1 on a refused stateful change, 0 with the label", () => {
    const head = synthTo({ ...baseSpec(), buckets: [{ name: "audit", purpose: "logs", expirationDays: 30 }], apps: [{ name: "airflow", database: "main", bucket: "audit" }] });
    const refused = spawnSync(tsx, [script, base, head, "--rules", RULES_DIR], { encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain("Refused");
    const allowed = spawnSync(tsx, [script, base, head, "--rules", RULES_DIR, "--allow-stateful"], { encoding: "utf8" });
    expect(allowed.status).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The provider's answer: real plans of the mirrored AWS provider. This is also the project's one
// cross-check of the aws table (scripts/provider-rules/aws-5.100.0.json) against the real provider:
// provider-rules.test.ts had a second, smaller one (11 changes on 5 types), folded into this one.

const unavailable = terraformUnavailable();

interface Pair {
  readonly before: Json;
  readonly after: Json;
}
interface ProviderSchema {
  provider_schemas: Record<string, { resource_schemas: Record<string, { block: { attributes?: Record<string, unknown> } }> }>;
}

/**
 * Plans several before/after pairs of stacks (each made with awsStack) in one offline run of the
 * mirrored provider: `before` is planned, its planned values become the state (each with a
 * synthetic id), then `after` is planned against it with -refresh=false. Each pair's resources
 * are named `<key>__<name>` and use their own provider configuration (alias `<key>`), so a pair's
 * provider change (region, default_tags) stays within it; each pair gets its plan back with the
 * prefix removed. Every terraform command loads the 13 MB provider schema, so one run (init, two
 * plans, two shows; the schema read while the first plan runs) instead of one per pair.
 */
async function planTogether(pairs: Readonly<Record<string, Pair>>): Promise<{ plans: Record<string, PlanJson>; schema: ProviderSchema }> {
  const dir = tempDir("gate-plan");
  const cliConfig = join(dir, "mirror.tfrc");
  writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path = "${PLUGIN_MIRROR}"\n  }\n}\n`);
  const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" };
  const terraform = (cwd: string, ...args: string[]) => run("terraform", args, { cwd, env, maxBuffer: 256 * 1024 * 1024 });
  const merged = (side: keyof Pair): Json => {
    const resource: Record<string, Record<string, Json>> = {};
    const providers: Json[] = [];
    for (const [key, pair] of Object.entries(pairs)) {
      const stack = pair[side] as { provider: { aws: Json[] }; resource?: Record<string, Record<string, Json>> };
      providers.push({ ...stack.provider.aws[0], alias: key });
      for (const [type, byName] of Object.entries(stack.resource ?? {})) {
        for (const [name, body] of Object.entries(byName)) (resource[type] ??= {})[`${key}__${name}`] = { ...body, provider: `aws.${key}` };
      }
    }
    return { terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "5.100.0" } } }, provider: { aws: providers }, resource };
  };
  const [b, a] = [join(dir, "before"), join(dir, "after")];
  mkdirSync(b);
  writeFileSync(join(b, "main.tf.json"), JSON.stringify(merged("before"), null, 1));
  await terraform(b, "init", "-no-color", "-input=false");
  const [schemaOut] = await Promise.all([terraform(b, "providers", "schema", "-json"), terraform(b, "plan", "-no-color", "-input=false", "-lock=false", "-refresh=false", "-out=plan")]);
  const planned = JSON.parse((await terraform(b, "show", "-json", "plan")).stdout) as { planned_values: { root_module: { resources?: { type: string; name: string; schema_version?: number; values: Json }[] } } };
  const resources = (planned.planned_values.root_module.resources ?? []).map((r) => ({
    mode: "managed",
    type: r.type,
    name: r.name,
    provider: `provider["registry.terraform.io/hashicorp/aws"].${r.name.split("__")[0]}`,
    instances: [{ schema_version: r.schema_version ?? 0, attributes: { ...r.values, id: `synthetic-${r.type}-${r.name}` }, sensitive_attributes: [] }],
  }));
  mkdirSync(a);
  cpSync(join(b, ".terraform"), join(a, ".terraform"), { recursive: true });
  cpSync(join(b, ".terraform.lock.hcl"), join(a, ".terraform.lock.hcl"));
  writeFileSync(join(a, "terraform.tfstate"), JSON.stringify({ version: 4, terraform_version: "1.11.4", serial: 1, lineage: "00000000-0000-4000-8000-000000000000", outputs: {}, resources }));
  writeFileSync(join(a, "main.tf.json"), JSON.stringify(merged("after"), null, 1));
  await terraform(a, "plan", "-no-color", "-input=false", "-lock=false", "-refresh=false", "-out=plan");
  const plan = JSON.parse((await terraform(a, "show", "-json", "plan")).stdout) as PlanJson;
  const plans: Record<string, PlanJson> = {};
  for (const key of Object.keys(pairs)) {
    const own = (plan.resource_changes ?? []).filter((rc) => rc.address.split(".")[1]?.startsWith(`${key}__`));
    plans[key] = { ...plan, resource_changes: own.map((rc) => ({ ...rc, address: rc.address.replace(`.${key}__`, ".") })) };
  }
  return { plans, schema: JSON.parse(schemaOut.stdout) as ProviderSchema };
}

/**
 * One-attribute changes per aws type: `base` is planned into the state, then each attribute of
 * `changes` is set (or, where only in `base`, removed) on its own. The fixture file holds the
 * types of the first stacks; the agent types (Terraform Cloud agents on Fargate) follow here.
 */
const ROLE = "arn:aws:iam::123456789012:role/r";
const CONTAINERS = (image: string) => JSON.stringify([{ name: "agent", image, essential: true }]);
/** `fixed`: required attributes with a single valid value, so neither changed nor removed on their own. */
const CASES: Record<string, { base: Json; changes: Json; fixed?: readonly string[] }> = {
  ...(JSON.parse(readFileSync(join(__dirname, "fixtures", "aws-replace-cases.json"), "utf8")) as Record<string, { base: Json; changes: Json }>),
  aws_iam_policy: {
    base: { name: "p", description: "d", path: "/", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] }) },
    changes: { name: "p2", description: "d2", path: "/x/", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:PutObject", Resource: "*" }] }), tags: { a: "b" } },
  },
  // The site-to-site VPN's types (issue 14).
  aws_vpn_gateway: { base: { vpc_id: "vpc-1", amazon_side_asn: "64512" }, changes: { vpc_id: "vpc-2", amazon_side_asn: "64513", availability_zone: "eu-west-1a", tags: { a: "b" } } },
  // A customer gateway's `type` takes `ipsec.1` alone (the provider refuses any other value).
  aws_customer_gateway: { base: { bgp_asn: "65000", ip_address: "20.1.1.1", type: "ipsec.1" }, changes: { bgp_asn: "65001", ip_address: "20.1.1.2", device_name: "azure", tags: { a: "b" } }, fixed: ["type"] },
  aws_vpn_connection: {
    base: { customer_gateway_id: "cgw-1", vpn_gateway_id: "vgw-1", type: "ipsec.1", static_routes_only: false, tunnel1_inside_cidr: "169.254.21.0/30" },
    changes: {
      type: "ipsec.1-aes256",
      customer_gateway_id: "cgw-2",
      vpn_gateway_id: "vgw-2",
      static_routes_only: true,
      tunnel1_inside_cidr: "169.254.21.4/30",
      tunnel1_startup_action: "start",
      tunnel1_dpd_timeout_action: "restart",
      tunnel1_phase1_dh_group_numbers: [14],
      tags: { a: "b" },
    },
  },
  aws_vpn_gateway_route_propagation: { base: { vpn_gateway_id: "vgw-1", route_table_id: "rtb-1" }, changes: { vpn_gateway_id: "vgw-2", route_table_id: "rtb-2" } },
  aws_cloudtrail: {
    base: { name: "trail", s3_bucket_name: "b", enable_log_file_validation: true, is_multi_region_trail: true, include_global_service_events: true },
    changes: { name: "trail2", s3_bucket_name: "b2", s3_key_prefix: "p", enable_log_file_validation: false, is_multi_region_trail: false, include_global_service_events: false, tags: { a: "b" } },
  },
  aws_ecs_cluster: {
    base: { name: "c", setting: { name: "containerInsights", value: "enabled" } },
    changes: { name: "c2", setting: { name: "containerInsights", value: "disabled" }, service_connect_defaults: { namespace: "arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1111111111111111" }, tags: { a: "b" } },
  },
  aws_ecs_service: {
    base: { name: "s", cluster: "c", task_definition: "t:1", desired_count: 1, launch_type: "FARGATE", platform_version: "1.4.0", propagate_tags: "SERVICE", availability_zone_rebalancing: "ENABLED", network_configuration: { subnets: ["subnet-1"], security_groups: ["sg-1"], assign_public_ip: false }, deployment_circuit_breaker: { enable: true, rollback: true } },
    changes: {
      name: "s2",
      cluster: "c2",
      task_definition: "t:2",
      desired_count: 2,
      launch_type: "EC2",
      platform_version: "LATEST",
      propagate_tags: "TASK_DEFINITION",
      availability_zone_rebalancing: "DISABLED",
      network_configuration: { subnets: ["subnet-2"], security_groups: ["sg-2"], assign_public_ip: false },
      deployment_circuit_breaker: { enable: false, rollback: false },
      scheduling_strategy: "DAEMON",
      deployment_controller: { type: "CODE_DEPLOY" },
      iam_role: `${ROLE}2`,
      capacity_provider_strategy: { capacity_provider: "FARGATE_SPOT", weight: 1 },
      wait_for_steady_state: true,
      enable_execute_command: true,
      tags: { a: "b" },
    },
  },
  aws_ecs_task_definition: {
    base: { family: "f", container_definitions: CONTAINERS("hashicorp/tfc-agent:1.32.0"), cpu: "256", memory: "512", network_mode: "awsvpc", requires_compatibilities: ["FARGATE"], execution_role_arn: ROLE, runtime_platform: { cpu_architecture: "X86_64", operating_system_family: "LINUX" } },
    changes: {
      family: "f2",
      container_definitions: CONTAINERS("hashicorp/tfc-agent:1.33.0"),
      cpu: "512",
      memory: "1024",
      network_mode: "bridge",
      requires_compatibilities: ["EC2"],
      execution_role_arn: `${ROLE}2`,
      runtime_platform: { cpu_architecture: "ARM64", operating_system_family: "LINUX" },
      task_role_arn: `${ROLE}2`,
      ephemeral_storage: { size_in_gib: 30 },
      track_latest: true,
      skip_destroy: true,
      tags: { a: "b" },
    },
  },
  aws_vpc_security_group_egress_rule: {
    base: { security_group_id: "sg-1", ip_protocol: "tcp", from_port: 443, to_port: 443, cidr_ipv4: "0.0.0.0/0", description: "d" },
    changes: { security_group_id: "sg-2", ip_protocol: "udp", from_port: 80, to_port: 8443, cidr_ipv4: "10.0.0.0/8", description: "d2", tags: { a: "b" } },
  },
};

/** Changes on a path the table lists as conditional: the provider must replace exactly in the case its `when` names. */
const rule = { security_group_id: "sg-1", ip_protocol: "tcp", from_port: 443, to_port: 443 };
const service = { name: "s", cluster: "c", task_definition: "t:1", network_configuration: { subnets: ["subnet-1"] } };
const CONDITIONAL_PROBES: readonly { type: string; path: string; before: Json; after: Json; replaces: boolean }[] = [
  { type: "aws_vpc_security_group_ingress_rule", path: "cidr_ipv4", before: { ...rule, cidr_ipv4: "10.0.0.0/16" }, after: { ...rule, referenced_security_group_id: "sg-9" }, replaces: true },
  { type: "aws_vpc_security_group_ingress_rule", path: "cidr_ipv4", before: { ...rule, cidr_ipv4: "10.0.0.0/16" }, after: { ...rule, cidr_ipv4: "10.1.0.0/16" }, replaces: false },
  { type: "aws_vpc_security_group_egress_rule", path: "cidr_ipv4", before: { ...rule, cidr_ipv4: "0.0.0.0/0" }, after: { ...rule, prefix_list_id: "pl-1" }, replaces: true },
  { type: "aws_vpc_security_group_egress_rule", path: "cidr_ipv6", before: { ...rule, cidr_ipv6: "::/0" }, after: { ...rule, cidr_ipv6: "2001:db8::/32" }, replaces: false },
  { type: "aws_ecs_service", path: "capacity_provider_strategy", before: { ...service, capacity_provider_strategy: { capacity_provider: "FARGATE", weight: 1 } }, after: { ...service, capacity_provider_strategy: { capacity_provider: "FARGATE_SPOT", weight: 1 } }, replaces: true },
  { type: "aws_ecs_service", path: "capacity_provider_strategy", before: { ...service, force_new_deployment: true, capacity_provider_strategy: { capacity_provider: "FARGATE", weight: 1 } }, after: { ...service, force_new_deployment: true, capacity_provider_strategy: { capacity_provider: "FARGATE_SPOT", weight: 1 } }, replaces: false },
  { type: "aws_ecs_service", path: "capacity_provider_strategy", before: { ...service, force_new_deployment: true, launch_type: "FARGATE" }, after: { ...service, force_new_deployment: true, capacity_provider_strategy: { capacity_provider: "FARGATE", weight: 1 } }, replaces: true },
  { type: "aws_vpc", path: "instance_tenancy", before: { cidr_block: "10.0.0.0/16", instance_tenancy: "default" }, after: { cidr_block: "10.0.0.0/16", instance_tenancy: "dedicated" }, replaces: true },
  { type: "aws_vpc", path: "instance_tenancy", before: { cidr_block: "10.0.0.0/16", instance_tenancy: "dedicated" }, after: { cidr_block: "10.0.0.0/16", instance_tenancy: "default" }, replaces: false },
  { type: "aws_ecs_task_definition", path: "ephemeral_storage", before: { family: "f", container_definitions: CONTAINERS("a:1"), cpu: "256", memory: "512", network_mode: "awsvpc", requires_compatibilities: ["FARGATE"] }, after: { family: "f", container_definitions: CONTAINERS("a:1"), cpu: "256", memory: "512", network_mode: "awsvpc", requires_compatibilities: ["FARGATE"], ephemeral_storage: { size_in_gib: 30 } }, replaces: true },
];

/** What the aws table says a change of one top-level attribute does: a listed path at or below it replaces, a conditional one may. */
function tableVerdict(type: string, attribute: string): "replace" | "may" | "update" {
  const rules = RULES.get("aws@5.100.0")?.replaceForcing[type];
  const at = (path: string) => path === attribute || path.startsWith(`${attribute}.`);
  if (rules?.attributes.some(at)) return "replace";
  if (rules?.conditional?.some((c) => at(c.path))) return "may";
  return "update";
}

describe.skipIf(unavailable !== undefined)("the provider's answer (hashicorp/aws 5.100.0 from the mirror)", () => {
  // One resource per (type, attribute): `before` is the case's base, `after` changes that attribute only.
  const verification = { before: {} as Record<string, Record<string, Json>>, after: {} as Record<string, Record<string, Json>> };
  for (const [type, { base: config, changes, fixed = [] }] of Object.entries(CASES)) {
    for (const attribute of Object.keys({ ...config, ...changes }).filter((name) => !fixed.includes(name))) {
      const after = { ...config };
      if (attribute in changes) after[attribute] = changes[attribute];
      else delete after[attribute];
      (verification.before[type] ??= {})[attribute] = config;
      (verification.after[type] ??= {})[attribute] = after;
    }
  }
  const conditional = { before: {} as Record<string, Record<string, Json>>, after: {} as Record<string, Record<string, Json>> };
  CONDITIONAL_PROBES.forEach((probe, i) => {
    (conditional.before[probe.type] ??= {})[`p${i}`] = probe.before;
    (conditional.after[probe.type] ??= {})[`p${i}`] = probe.after;
  });
  const scenarioBefore = awsStack({
    aws_eks_node_group: { ng: { cluster_name: "c", node_group_name: "general", node_role_arn: "arn:aws:iam::123456789012:role/n", subnet_ids: ["subnet-1"], instance_types: ["m6i.large"], scaling_config: { desired_size: 1, min_size: 1, max_size: 2 } } },
    aws_s3_bucket: { logs: { bucket: "acme-logs" } },
    aws_cloudwatch_log_group: { lg: { name: "/aws/eks/c/cluster" } },
    aws_secretsmanager_secret: { sec: { name: "db-admin" } },
    aws_kms_key: { k: { description: "k" } },
  });
  const scenarioAfter = awsStack(
    {
      aws_eks_node_group: { ng: { cluster_name: "c", node_group_name: "general", node_role_arn: "arn:aws:iam::123456789012:role/n", subnet_ids: ["subnet-1"], instance_types: ["m6i.xlarge"], scaling_config: { desired_size: 1, min_size: 1, max_size: 2 } } },
      aws_s3_bucket: { audit: { bucket: "acme-audit" } },
      aws_kms_key: { k: { description: "k" } },
    },
    {},
    { default_tags: [{ tags: { owner: "analytics" } }] },
  );
  const regionBefore = awsStack({ aws_s3_bucket: { logs: { bucket: "acme-logs" } }, aws_vpc: { v: { cidr_block: "10.0.0.0/16" } } });
  const regionAfter = awsStack({ aws_s3_bucket: { logs: { bucket: "acme-logs" } }, aws_vpc: { v: { cidr_block: "10.0.0.0/16" } } }, {}, { region: "eu-central-1" });
  let plans: Record<string, PlanJson>;
  let schema: ProviderSchema;

  beforeAll(async () => {
    ({ plans, schema } = await planTogether({
      verification: { before: awsStack(verification.before), after: awsStack(verification.after) },
      conditional: { before: awsStack(conditional.before), after: awsStack(conditional.after) },
      scenario: { before: scenarioBefore, after: scenarioAfter },
      region: { before: regionBefore, after: regionAfter },
    }));
  }, 180_000);

  it("re-checks the aws table on every one-attribute change: the provider replaces exactly when a listed path is at or below the attribute", () => {
    const disagreements: string[] = [];
    const conditionalOnly: string[] = [];
    for (const rc of plans.verification?.resource_changes ?? []) {
      const attribute = rc.address.split(".")[1] ?? "";
      const byProvider = rc.change.actions.includes("delete") && (rc.change.replace_paths ?? []).some((path) => path[0] === attribute);
      const byTable = tableVerdict(rc.type, attribute);
      if (byTable === "may") conditionalOnly.push(`${rc.type}.${attribute}`);
      else if (byProvider !== (byTable === "replace")) disagreements.push(`${rc.address}: provider ${byProvider ? "replaces" : "updates"}, table says ${byTable}`);
    }
    expect(disagreements).toEqual([]);
    expect((plans.verification?.resource_changes ?? []).length).toBe(Object.values(verification.after).reduce((n, byName) => n + Object.keys(byName).length, 0));
    // Changes the table can only call "may replace"; each is pinned down by a conditional probe below.
    expect(conditionalOnly.sort()).toEqual(["aws_ecs_service.capacity_provider_strategy", "aws_vpc_security_group_egress_rule.cidr_ipv4", "aws_vpc_security_group_ingress_rule.cidr_ipv4"]);
    for (const path of conditionalOnly) expect(CONDITIONAL_PROBES.some((p) => `${p.type}.${p.path}` === path)).toBe(true);
  });

  it("has a case for every type of the aws table, and both outcomes in each table of changes", () => {
    const table = RULES.get("aws@5.100.0");
    expect(Object.keys(table?.replaceForcing ?? {}).filter((type) => !(type in CASES))).toEqual([]);
    const verdicts = Object.entries(CASES).flatMap(([type, c]) => Object.keys({ ...c.base, ...c.changes }).map((attribute) => tableVerdict(type, attribute)));
    expect(verdicts).toContain("replace");
    expect(verdicts).toContain("update");
  });

  it.each(CONDITIONAL_PROBES.map((p, i) => [`${p.type} ${p.path} #${i}`, p, i] as const))("conditional %s: the provider replaces exactly in the case the table's condition names", (_, probe, i) => {
    expect(RULES.get("aws@5.100.0")?.replaceForcing[probe.type]?.conditional?.map((c) => c.path)).toContain(probe.path);
    const rc = (plans.conditional?.resource_changes ?? []).find((c) => c.address === `${probe.type}.p${i}`);
    expect(rc?.change.actions).toEqual(probe.replaces ? ["delete", "create"] : ["update"]);
  });

  it("reads a plan that replaces a node group, renames a bucket, deletes a log group and a secret, and retags", () => {
    const scenarioPlan = plans.scenario as PlanJson;
    const diff = diffStackFromPlan("s", scenarioPlan, cfg(scenarioBefore), cfg(scenarioAfter), RULES);
    expect(diff.source).toBe("plan");
    expect(diff.replaced).toEqual(["aws_eks_node_group.ng (replaced (provider): the provider cannot update it in place: instance_types)"]);
    expect(diff.added).toEqual(["aws_s3_bucket.audit"]);
    expect(diff.destroyed).toEqual(["aws_cloudwatch_log_group.lg", "aws_s3_bucket.logs", "aws_secretsmanager_secret.sec"]);
    expect(diff.changed).toEqual(["aws_kms_key.k"]); // tags_all: the owner tag
    expect(diff.stateful).toEqual([
      "aws_cloudwatch_log_group.lg destroyed: loses the logs in the group",
      "aws_s3_bucket.logs destroyed: loses every object in the bucket",
      "aws_secretsmanager_secret.sec destroyed: loses every version of the secret's value",
    ]);
    // The offline answer agrees with the provider on every resource.
    const offline = diffStack("s", cfg(scenarioBefore), cfg(scenarioAfter), RULES);
    expect(offline.changes.map((c) => [c.address, c.action])).toEqual(diff.changes.map((c) => [c.address, c.action]));
    expect(renderSummary([diff], false)).toContain("| s | provider (plan) | 1 | 1 | 3 | 1 | 0 | 0 |");
  });

  it("a region change the plan does not show (no refresh) is still a replacement of everything", () => {
    const regionPlan = plans.region as PlanJson;
    expect((regionPlan.resource_changes ?? []).map((rc) => rc.change.actions.join())).toEqual(["no-op", "no-op"]);
    const diff = diffStackFromPlan("s", regionPlan, cfg(regionBefore), cfg(regionAfter), RULES);
    expect(diff.stateful).toEqual(['aws_s3_bucket.logs replaced: loses every object in the bucket']);
    expect(diff.replaced).toContainEqual('aws_vpc.v (replaced (provider-config): aws region: "eu-west-1" → "eu-central-1")');
  });

  it("knows which AWS types take default_tags (the provider schema's tags_all)", () => {
    const resources = schema.provider_schemas["registry.terraform.io/hashicorp/aws"]?.resource_schemas ?? {};
    for (const type of AWS_TAGGABLE) expect([type, "tags_all" in (resources[type]?.block.attributes ?? {})]).toEqual([type, true]);
    for (const type of AWS_UNTAGGABLE) expect([type, type in resources && !("tags_all" in (resources[type]?.block.attributes ?? {}))]).toEqual([type, true]);
    const synthesized = new Set(requiredTypes(join(__dirname, "..", "synthesized")).filter((type) => type.startsWith("aws_")));
    expect([...synthesized].filter((type) => !AWS_TAGGABLE.has(type) && !AWS_UNTAGGABLE.has(type))).toEqual([]);
  });
});

function requiredTypes(synthesizedDir: string): string[] {
  const types = new Set<string>();
  for (const stack of readdirSync(join(synthesizedDir, "stacks"))) {
    const config = JSON.parse(readFileSync(join(synthesizedDir, "stacks", stack, "cdk.tf.json"), "utf8")) as { resource?: Record<string, unknown> };
    for (const type of Object.keys(config.resource ?? {})) types.add(type);
  }
  return [...types];
}

describe("plan JSON cases only a refreshed plan shows (shaped as Terraform's JSON output format)", () => {
  const plan = (resource_changes: Json[], extra: Json = {}): PlanJson => ({ format_version: "1.2", terraform_version: "1.11.4", resource_changes, ...extra }) as unknown as PlanJson;
  const bucket = { address: "aws_s3_bucket.logs", mode: "managed", type: "aws_s3_bucket", name: "logs" };

  it("a stateful object not found at refresh and created again is a replacement", () => {
    const p = plan([{ ...bucket, change: { actions: ["create"], before: null, after: { bucket: "acme-logs" } } }], { resource_drift: [{ ...bucket, change: { actions: ["delete"], before: { bucket: "acme-logs" }, after: null } }] });
    const diff = diffStackFromPlan("s", p, cfg(awsStack({ aws_s3_bucket: { logs: { bucket: "acme-logs" } } })), cfg(awsStack({ aws_s3_bucket: { logs: { bucket: "acme-logs" } } })), RULES);
    expect(diff.stateful).toEqual(["aws_s3_bucket.logs replaced: loses every object in the bucket"]);
    expect(diff.replaced[0]).toContain("the refresh did not find it");
  });

  it("create-before-destroy, forget and an errored plan", () => {
    const cbd = diffStackFromPlan("s", plan([{ ...bucket, action_reason: "replace_because_cannot_update", change: { actions: ["create", "delete"], replace_paths: [["bucket"]], before: { bucket: "a" }, after: { bucket: "b" } } }]), cfg(awsStack({})), cfg(awsStack({})), RULES);
    expect(cbd.replaced).toEqual(["aws_s3_bucket.logs (replaced (provider): the provider cannot update it in place: bucket (create before destroy))"]);
    const forget = diffStackFromPlan("s", plan([{ ...bucket, change: { actions: ["forget"], before: { bucket: "a" }, after: null } }]), cfg(awsStack({})), cfg(awsStack({})), RULES);
    expect(forget.stateful).toEqual([]);
    expect(forget.notes).toContain("aws_s3_bucket.logs is removed from the state and left in place (not destroyed)");
    const errored = diffStackFromPlan("s", plan([], { errored: true }), cfg(awsStack({ aws_s3_bucket: { logs: { bucket: "a" } } })), cfg(awsStack({})), RULES);
    expect(errored.source).toBe("config");
    expect(errored.stateful).toEqual(["aws_s3_bucket.logs destroyed: loses every object in the bucket"]);
  });

  it("takes plans from a directory per stack", () => {
    const head = synthTo({ ...baseSpec(), owner: "analytics-team" });
    const plans = tempDir("plans");
    writeFileSync(join(plans, "test-infra.json"), JSON.stringify(plan([{ ...bucket, change: { actions: ["update"], before: {}, after: {} } }])));
    const diffs = diffDirectories(base, head, { rules: RULES, plansDir: plans });
    expect(diffs.find((d) => d.stack === "test-infra")).toMatchObject({ source: "plan", changed: ["aws_s3_bucket.logs"] });
    expect(diffs.find((d) => d.stack === "test-apps")?.source).toBe("config");
  });
});

// ---------------------------------------------------------------------------------------------
// Terraform Cloud speculative plans, against responses shaped as the HCP Terraform API docs show

interface Call {
  method: string;
  url: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Replays responses per `METHOD url` in order; records every call. */
function recorded(responses: Record<string, { status: number; body?: unknown; location?: string }[]>): { http: Http; calls: Call[] } {
  const calls: Call[] = [];
  const http: Http = async (url, init = {}) => {
    const method = init.method ?? "GET";
    calls.push({ method, url, body: init.body, headers: init.headers });
    const queue = responses[`${method} ${url}`];
    const response = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    if (!response) throw new Error(`unexpected ${method} ${url}`);
    return {
      status: response.status,
      headers: { get: (name: string) => (name.toLowerCase() === "location" ? (response.location ?? null) : null) },
      text: async () => (typeof response.body === "string" ? response.body : response.body === undefined ? "" : JSON.stringify(response.body)),
    };
  };
  return { http, calls };
}

describe("Terraform Cloud speculative plans (scripts/tfc-plan.ts, replayed API responses)", () => {
  const api = "https://app.terraform.io/api/v2";
  const planText = JSON.stringify({ format_version: "1.2", resource_changes: [] });
  // Response bodies trimmed to the fields used, with the docs' sample ids and shapes:
  // workspaces.mdx "Show workspace", configuration-versions.mdx "Create/Show a Configuration
  // Version", run.mdx "Create a Run"/"Get run details", plans.mdx "Retrieve the JSON execution plan".
  const happy = () => ({
    "GET https://app.terraform.io/api/v2/organizations/acme-data/workspaces/test-infra": [{ status: 200, body: { data: { id: "ws-2Qhk7LHgbMrm3grF", type: "workspaces", attributes: { name: "test-infra", "working-directory": "synthesized/stacks/test-infra" } } } }],
    "POST https://app.terraform.io/api/v2/workspaces/ws-2Qhk7LHgbMrm3grF/configuration-versions": [{ status: 201, body: { data: { id: "cv-UYwHEakurukz85nW", type: "configuration-versions", attributes: { "auto-queue-runs": false, error: null, "error-message": null, source: "tfe-api", speculative: true, status: "pending", "status-timestamps": {}, "upload-url": "https://archivist.terraform.io/v1/object/9224c6b3-2e14-4cd7-adff-ed484d7294c2" } } } }],
    "PUT https://archivist.terraform.io/v1/object/9224c6b3-2e14-4cd7-adff-ed484d7294c2": [{ status: 200 }],
    "GET https://app.terraform.io/api/v2/configuration-versions/cv-UYwHEakurukz85nW": [
      { status: 200, body: { data: { id: "cv-UYwHEakurukz85nW", type: "configuration-versions", attributes: { status: "pending" } } } },
      { status: 200, body: { data: { id: "cv-UYwHEakurukz85nW", type: "configuration-versions", attributes: { status: "uploaded" } } } },
    ],
    "POST https://app.terraform.io/api/v2/runs": [{ status: 201, body: { data: { id: "run-CZcmD7eagjhyX0vN", type: "runs", attributes: { "plan-only": true, status: "pending" } } } }],
    "GET https://app.terraform.io/api/v2/runs/run-CZcmD7eagjhyX0vN": [
      { status: 200, body: { data: { id: "run-CZcmD7eagjhyX0vN", type: "runs", attributes: { status: "planning" } } } },
      { status: 200, body: { data: { id: "run-CZcmD7eagjhyX0vN", type: "runs", attributes: { status: "planned_and_finished" } } } },
    ],
    "GET https://app.terraform.io/api/v2/runs/run-CZcmD7eagjhyX0vN/plan/json-output": [{ status: 204 }, { status: 307, location: "https://archivist.terraform.io/v1/object/plan-json" }],
    "GET https://archivist.terraform.io/v1/object/plan-json": [{ status: 200, body: planText }],
  });
  const dirs = () => {
    const baseDir = synthTo(baseSpec());
    const headDir = synthTo({ ...baseSpec(), owner: "analytics-team", terraformCloud: { organization: "acme-data", project: "data-platform" } });
    return { baseDir, headDir };
  };
  const { baseDir, headDir } = dirs();

  it("plans each changed stack with a workspace, and saves the JSON plan for stack-diff", async () => {
    const { http, calls } = recorded({
      ...happy(),
      "GET https://app.terraform.io/api/v2/organizations/acme-data/workspaces/test-apps": [{ status: 404, body: { errors: [{ status: "404", title: "not found" }] } }],
    });
    const out = tempDir("tfc-out");
    const outcome = await planChangedStacks(baseDir, headDir, out, { token: "t0ken", http, sleep: async () => {}, log: () => {} });
    expect(Object.fromEntries(outcome)).toEqual({
      "test-apps": "workspace acme-data/test-apps does not exist yet: offline answer",
      "test-infra": "speculative plan run-CZcmD7eagjhyX0vN in acme-data/test-infra",
    });
    expect(readFileSync(join(out, "test-infra.json"), "utf8")).toBe(planText);
    const cv = calls.find((c) => c.method === "POST" && c.url.endsWith("/configuration-versions"));
    expect(JSON.parse(String(cv?.body))).toEqual({ data: { type: "configuration-versions", attributes: { "auto-queue-runs": false, speculative: true } } });
    const runCall = calls.find((c) => c.method === "POST" && c.url === `${api}/runs`);
    expect(JSON.parse(String(runCall?.body))).toEqual({
      data: {
        type: "runs",
        attributes: { "plan-only": true, message: "pull request check of test-infra" },
        relationships: { workspace: { data: { type: "workspaces", id: "ws-2Qhk7LHgbMrm3grF" } }, "configuration-version": { data: { type: "configuration-versions", id: "cv-UYwHEakurukz85nW" } } },
      },
    });
    expect(calls.filter((c) => c.url.startsWith(api)).every((c) => c.headers?.Authorization === "Bearer t0ken" && c.headers?.["Content-Type"] === "application/vnd.api+json")).toBe(true);
    // The temporary URLs are not sent the token.
    expect(calls.filter((c) => c.url.startsWith("https://archivist")).every((c) => c.headers?.Authorization === undefined)).toBe(true);
    // The archive holds the stack at the workspace's working directory.
    const upload = calls.find((c) => c.method === "PUT");
    const file = join(tempDir("tfc-archive"), "upload.tar.gz");
    writeFileSync(file, upload?.body as Uint8Array);
    expect(execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n")).toContain("./synthesized/stacks/test-infra/cdk.tf.json");
  });

  it("falls back to the offline answer when a run errors or the API refuses", async () => {
    const responses = happy();
    responses["GET https://app.terraform.io/api/v2/runs/run-CZcmD7eagjhyX0vN"] = [{ status: 200, body: { data: { id: "run-CZcmD7eagjhyX0vN", type: "runs", attributes: { status: "errored" } } } }];
    const { http } = recorded({ ...responses, "GET https://app.terraform.io/api/v2/organizations/acme-data/workspaces/test-apps": [{ status: 401, body: { errors: [{ status: "401", title: "unauthorized" }] } }] });
    const out = tempDir("tfc-out");
    const outcome = await planChangedStacks(baseDir, headDir, out, { token: "t", http, sleep: async () => {}, log: () => {} });
    expect(outcome.get("test-infra")).toBe("Terraform Cloud failed (run run-CZcmD7eagjhyX0vN ended errored): offline answer");
    expect(outcome.get("test-apps")).toBe("Terraform Cloud failed (GET /organizations/acme-data/workspaces/test-apps: HTTP 401 (unauthorized)): offline answer");
    expect(existsSync(join(out, "test-infra.json"))).toBe(false);
  });

  it("plans only stacks whose directory changed, and archives at the root without a working directory", () => {
    expect(changedStacks(baseDir, baseDir)).toEqual([]);
    expect(changedStacks(baseDir, headDir)).toEqual(["test-apps", "test-infra"]);
    const file = join(tempDir("tfc-archive"), "root.tar.gz");
    writeFileSync(file, archive(join(headDir, "stacks", "test-infra"), ""));
    expect(execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n")).toContain("./cdk.tf.json");
  });
});

describe("the provider mirror of the pull-request workflow", () => {
  it("covers every provider version of every synthesized stack", () => {
    expect(requiredProviders(join(__dirname, "..", "synthesized")).map((p) => `${p.source} ${p.version}`)).toEqual([
      "Azure/azapi 2.12.0",
      "hashicorp/aws 5.100.0",
      "hashicorp/azurerm 4.55.0",
      "hashicorp/google 6.50.0",
      "hashicorp/helm 3.1.1",
      "hashicorp/kubernetes 2.38.0",
      "hashicorp/random 3.7.2",
      "hashicorp/tfe 0.71.0",
    ]);
  });
});
