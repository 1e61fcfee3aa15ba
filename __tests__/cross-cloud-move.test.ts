/**
 * Moving lake from AWS to Azure after stage 1 (issue 14; README "Moving from one cloud to another
 * in stages"): stage 2, the cluster on Azure with the databases and the S3 bucket kept on AWS in
 * the VPC lake-infra had, reached over the VPN; stage 3, the databases restored on Azure and the
 * last AWS resources gone. Each stage is synthesized from environments/lake.ts; checked against
 * what consumes it: the pull-request gate between stages (what it refuses, the operator steps it
 * lists), the real AWS provider on lake-infra once the cluster left it, and the deploy order.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lake } from "../environments/lake";
import { stagingAzure } from "../environments/staging-azure";
import { parseEnvironment, placedOn, type EnvironmentInput } from "../constructs/core/spec";
import { specChecks } from "../stacks/app";
import { stackKindsOf, stackName } from "../stacks/backend";
import { applyOrder, runEnvironment } from "../scripts/env-stacks";
import { diffDirectories, renderSummary, valueAt, type StackDiff } from "../scripts/stack-diff";
import { readEnvironmentOutput, renderEnvironmentDiagram } from "../scripts/diagram";
import { flowchartProblems } from "../scripts/mermaid";
import { specIssues, synthAmongDefaults, synthSpecs } from "./support/cross-cloud";
import { describeKeptHomeWithAwsProvider, moveStages } from "./support/move-stages";
import { stackJson, stackNames, synthDefaults, tempDir } from "./support/outdir";
import { PLUGIN_MIRROR, terraformUnavailable } from "./support/terraform";
import { allows } from "./support/kubernetes/network-policy";
import { AIRFLOW_PODS, renderedPolicies } from "./support/rendered-policies";

type Block = Record<string, unknown>;
interface Stack {
  readonly resource: Record<string, Record<string, Block>>;
  readonly variable?: Record<string, Block & { default?: unknown }>;
  readonly output?: Record<string, Block>;
}

const STAGES = moveStages("azure");
const { stage1, stage2, stage3c } = STAGES;

/** What lake-infra-azure publishes at stage 2, of the shapes AKS and Azure give (README, "Values that cross"). */
const CROSSINGS: Record<string, unknown> = {
  vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"],
  cluster_issuer: "https://northeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/",
};

const issuesOf = (spec: unknown): string[] => specIssues([spec as EnvironmentInput]);

describe("the spec of each stage", () => {
  it("accepts every stage, and keeps what does not name a cloud on the home when the cluster moves", () => {
    expect(Object.entries(STAGES).filter(([, spec]) => issuesOf(spec).length > 0)).toEqual([]);
    const env = parseEnvironment(STAGES.stage2, specChecks);
    expect({ database: placedOn(env, env.databases[0]), bucket: placedOn(env, env.buckets[1]) }).toEqual({ database: "aws", bucket: "aws" });
  });

  it("asks for the kept network's range on home, wants a new range for the VNet rather than a changed kept one, and refuses a range the subnets do not fit", () => {
    expect(issuesOf({ ...stage2, networks: undefined })).toEqual([
      expect.stringMatching(/^home: given "aws"; accepted: the cloud the cluster moved away from \(stage 2 of a move\), with networks\.aws\.cidr: the range of the network lake-infra keeps there for the databases \(network\.cidr as it was\), or "azure" if the cluster never ran on aws/),
    ]);
    // network.cidr left as it was: the message is on it, since the kept range must not change (the VPC and RDS in it would be replaced).
    expect(issuesOf({ ...stage2, network: lake.network })).toEqual([
      expect.stringMatching(/^network\.cidr: given "10\.24\.0\.0\/16"; accepted: a new range for the cluster's azure network, outside aws's \(networks\.aws\.cidr is 10\.24\.0\.0\/16: the range lake-infra's network keeps/),
    ]);
    expect(issuesOf({ ...stage2, networks: { aws: { cidr: "10.24.0.0/26" } } })).toEqual([
      expect.stringMatching(/^networks\.aws\.cidr: given "10\.24\.0\.0\/26"; accepted: a prefix from \/\d+ to \/\d+, so that the kept network's private, public and database subnets for 2 zones fit/),
    ]);
  });

  it("answers a home typed by mistake with one message on home, not with what it would move", () => {
    // staging-azure names an AWS account: with home "aws", its databases and buckets would default there (metrics: its hub is another environment).
    expect(issuesOf({ ...stagingAzure, metrics: undefined, home: "aws" })).toEqual([expect.stringMatching(/^home: given "aws"; accepted: the cloud the cluster moved away from \(stage 2 of a move\), with networks\.aws\.cidr: .*or "azure" if the cluster never ran on aws/)]);
  });

  it("keeps the home's account named to the end, and refuses the moves that are not built", () => {
    expect(issuesOf({ ...stage3c, accounts: { azure: lake.accounts.azure } })).toEqual([
      'home: given "aws"; accepted: the cloud the cluster moved away from, with its account kept in accounts.aws (lake-infra holds that cloud\'s resources, to the end of the move), or "azure" if the cluster never ran on aws (every bucket and database that names no cloud lives on home)',
    ]);
    // Back from Azure to AWS: the cluster on AWS with lake-infra on Azure.
    const back = { ...stage2, home: "azure", cloud: "aws", networks: { azure: { cidr: "10.26.0.0/16" } }, network: lake.network };
    expect(issuesOf(back)).toEqual([expect.stringMatching(/^home: given "azure"; accepted: "aws", or for a cluster moved away from home, a move that is built \(from aws to azure; from aws to gcp\)/)]);
  });

  it("refuses Airbyte left on the S3 bucket (Terraform Cloud through the stages: cross-cloud-move-tfc.test.ts)", () => {
    expect(issuesOf({ ...stage2, apps: lake.apps })).toEqual([expect.stringMatching(/^apps\[1\]\.bucket: given "lake"; accepted: a bucket on azure, the cluster's cloud: airbyte's chart reaches object storage on another cloud only with a stored key/)]);
  });
});

describe("stage 2: the cluster on Azure, the database and the VPC kept on AWS", () => {
  let outdir: string;
  let aws: Stack;
  let azure: Stack;
  const env = parseEnvironment(STAGES.stage2, specChecks);
  beforeAll(() => {
    outdir = synthSpecs([STAGES.stage2], "cross-cloud-move");
    aws = JSON.parse(stackJson(outdir, "lake-infra")) as Stack;
    azure = JSON.parse(stackJson(outdir, "lake-infra-azure")) as Stack;
  });

  it("keeps lake-infra on AWS and builds the cluster in lake-infra-azure: stacks are named by their cloud, not by the cluster", () => {
    expect(stackNames(outdir)).toEqual(["lake-apps", "lake-infra", "lake-infra-azure"]);
    expect({ eks: Object.keys(aws.resource.aws_eks_cluster ?? {}), aks: Object.keys(azure.resource.azurerm_kubernetes_cluster ?? {}).length }).toEqual({ eks: [], aks: 1 });
    // No app uses the S3 bucket any more: the cluster's NAT addresses do not cross.
    expect(Object.keys(aws.variable ?? {}).sort()).toEqual(["cluster_issuer", "vpn_gateway_ips"]);
    expect(Object.keys(azure.variable ?? {}).sort()).toEqual(["vpn_preshared_keys", "vpn_tunnel_ips"]);
  });

  it("attaches the VPN to the VPC lake-infra had, propagating the cluster's routes to the database subnets, and admits the AKS nodes to RDS", () => {
    const [vpc] = Object.entries(aws.resource.aws_vpc);
    expect(vpc[1].cidr_block).toBe(lake.network.cidr);
    const [gateway] = Object.values(aws.resource.aws_vpn_gateway);
    expect(gateway.vpc_id).toBe(`\${aws_vpc.${vpc[0]}.id}`);
    const [propagation] = Object.values(aws.resource.aws_vpn_gateway_route_propagation);
    const databaseRoutes = Object.keys(aws.resource.aws_route_table).find((id) => id.startsWith("platform_network_database-routes_"));
    expect(propagation.route_table_id).toBe(`\${aws_route_table.${databaseRoutes}.id}`);
    const nodes = Object.values(azure.resource.azurerm_subnet).find((subnet) => subnet.name === "nodes");
    const rules = Object.values(aws.resource.aws_vpc_security_group_ingress_rule).filter((rule) => rule.from_port === 5432);
    expect(rules.map((rule) => rule.cidr_ipv4)).toEqual(nodes?.address_prefixes);
  });

  it("lets the apps and their bootstrap jobs reach PostgreSQL in every subnet of RDS's subnet group, under AKS's NetworkPolicies", () => {
    const subnets = aws.resource.aws_subnet;
    const [group] = Object.values(aws.resource.aws_db_subnet_group);
    const ranges = (group.subnet_ids as string[]).map((ref) => subnets[/^\$\{aws_subnet\.(.+)\.id\}$/.exec(ref)?.[1] ?? ""]?.cidr_block as string);
    expect(ranges).toHaveLength(2); // one per zone
    const policies = renderedPolicies(stackJson(outdir, "lake-apps"), "cilium");
    const job = { namespace: "db-bootstrap", labels: { "batch.kubernetes.io/job-name": "airflow-database-bootstrap" } };
    // The first usable address of each subnet: where RDS may put the instance.
    const hosts = ranges.map((range) => ({ ip: range.replace(/\.0\/\d+$/, ".10") }));
    expect(hosts.map((host) => [allows(policies, { from: AIRFLOW_PODS.scheduler, to: host, port: 5432 }), allows(policies, { from: job, to: host, port: 5432 }), allows(policies, { from: job, to: host, port: 22 })])).toEqual(hosts.map(() => [true, true, false]));
  });

  it("keeps the workspace lake-infra-azure had at stage 1 for the cluster's logs, so its logs stay", () => {
    const workspaces = Object.values(azure.resource.azurerm_log_analytics_workspace);
    expect(workspaces.map((workspace) => workspace.name)).toEqual(["lake-logs"]);
  });

  describeKeptHomeWithAwsProvider("azure", () => outdir, CROSSINGS);

  it("applies lake-infra-azure (the cluster and gateway), lake-infra (the VPN and databases), lake-infra-azure again (the tunnels), lake-apps", () => {
    expect(applyOrder(env, stackKindsOf(env)).map((kind) => stackName(env, kind))).toEqual(["lake-infra-azure", "lake-infra", "lake-infra-azure", "lake-apps"]);
    const calls: string[] = [];
    const written: string[] = [];
    const runner = { cdktn: (args: readonly string[]) => (calls.push(args[1]), 0), outputsOf: () => ({ cluster_issuer: { value: "https://x.example/" }, vpn_gateway_ips: { value: [] }, cluster_egress_ips: { value: [] } }), varFileDir: tempDir("move-var-files") };
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((text: string) => (written.push(text), true)) as typeof process.stdout.write;
    try {
      // --only names a stack by its name: infra is lake-infra, on AWS.
      expect(runEnvironment(env, "deploy", [], { only: "infra" }, runner)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect({ calls, written }).toEqual({ calls: ["lake-infra"], written: ["lake-infra-azure receives values from lake-infra on a second apply: run --only infra-azure next\n"] });
  });

  it("draws the mixed environment", () => {
    expect(flowchartProblems(renderEnvironmentDiagram(env, readEnvironmentOutput(outdir, env)))).toEqual([]);
  });
});

describe("the pull-request gate between the stages", () => {
  const dirs = Object.fromEntries(Object.entries(STAGES).map(([name, spec]) => [name, synthSpecs([spec], `cross-cloud-move-${name}`)]));
  const statefulOf = (diffs: readonly StackDiff[]) => diffs.flatMap((diff) => diff.stateful.map((entry) => `${diff.stack}: ${entry}`));
  const touched = (diffs: readonly StackDiff[], pattern: RegExp) =>
    diffs.flatMap((diff) => diff.changes.filter((change) => change.action !== "create" && change.action !== "update" && pattern.test(change.address)).map((change) => `${diff.stack}: ${change.action} ${change.address}`));

  it("stage 1 → 2 destroys the EKS cluster and what only it used, refused without the label, and nothing else that holds data on either cloud", () => {
    const diffs = diffDirectories(dirs.stage1, dirs.stage2);
    const infra = statefulOf(diffs).filter((entry) => !entry.startsWith("lake-apps: "));
    expect(infra).toEqual([
      expect.stringMatching(/^lake-infra: aws_cloudwatch_log_group\.platform_cluster_control-plane-logs_\w+ destroyed: loses the logs in the group$/),
      expect.stringMatching(/^lake-infra: aws_eks_cluster\.platform_cluster_\w+ destroyed: loses every Kubernetes object in the cluster/),
      expect.stringMatching(/^lake-infra: aws_kms_key\.platform_keys_cluster_\w+ destroyed: /),
      expect.stringMatching(/^lake-infra: aws_route53_zone\.platform_dns-zone_\w+ destroyed: /),
    ]);
    // The in-cluster volumes go with the old cluster (Prometheus, DataHub's search and Kafka, Airbyte's MinIO).
    expect(statefulOf(diffs).filter((entry) => entry.startsWith("lake-apps: ")).length).toBeGreaterThan(0);
    expect(touched(diffs, /^(aws_db_instance|aws_db_subnet_group|aws_s3_bucket|aws_vpc|aws_subnet|aws_kms_key\.platform_keys_data|azurerm_storage_account|azurerm_storage_container|azurerm_key_vault|azurerm_log_analytics_workspace)\./)).toEqual([]);
    expect(renderSummary(diffs, false)).toContain("Add the `allow-stateful-replacement` label if this is intended.");
    expect(diffs.flatMap((diff) => diff.cautions)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_eks_cluster\.\S+ destroyed: uninstall its apps first/), expect.stringMatching(/^aws_route53_zone\.\S+ destroyed: delete its records other than NS and SOA first/)]),
    );
    // The storage firewall's stage 1 addresses are cleared, not kept by azurerm as an Optional and Computed list left out.
    expect(diffs.flatMap((diff) => diff.cautions).filter((caution) => caution.includes("leaves out"))).toEqual([]);
    // RDS's rule from the EKS security group becomes one from the AKS nodes: another kind of source, which aws 5.100.0 replaces (no moved block helps).
    const rule = diffs.flatMap((diff) => diff.changes).find((change) => /^aws_vpc_security_group_ingress_rule\.platform_database-platform_from-cluster_/.test(change.address));
    expect(rule?.reason).toMatch(/a moved block will not help/);
  });

  it("stage 2 → 3a creates the database on Azure and changes nothing on AWS; 3a → 3b points the apps at it and destroys nothing", () => {
    const diffs = diffDirectories(dirs.stage2, dirs.stage3a);
    expect(statefulOf(diffs)).toEqual([]);
    expect(diffs.find((diff) => diff.stack === "lake-infra")?.changes).toEqual([]);
    // The apps stack only learns of the new server (its monitoring), in place.
    expect(diffs.find((diff) => diff.stack === "lake-apps")?.changes.filter((change) => change.action !== "update")).toEqual([]);
    expect(diffs.find((diff) => diff.stack === "lake-infra-azure")?.added).toEqual(expect.arrayContaining([expect.stringMatching(/^azurerm_postgresql_flexible_server\.platform_database-platform-azure_/)]));
    const pointed = diffDirectories(dirs.stage3a, dirs.stage3b);
    expect(statefulOf(pointed)).toEqual([]);
    // No Secret created once names the host: the apps' copies render the new one at once, with the password each app
    // had (which the bootstrap job sets on the new server). Pods read them at start: the pull request says to restart them.
    const cautions = pointed.flatMap((diff) => diff.cautions);
    expect(cautions.filter((caution) => caution.includes("created once"))).toEqual([]);
    expect(cautions.map((caution) => /ExternalSecret (\S+) renders its Secret anew/.exec(caution)?.[1]).sort()).toEqual(["airbyte/airbyte-database", "airflow/airflow-database", "datahub/datahub-database", "metabase/metabase-database"]);
    expect(pointed.filter((diff) => diff.stack !== "lake-apps").flatMap((diff) => diff.changes)).toEqual([]);
    const airflowCopy = (dir: string) => {
      const wiring = Object.values((JSON.parse(stackJson(dir, "lake-apps")) as Stack).resource.helm_release).find((release) => release.name === "airflow-wiring");
      const [values] = (wiring?.values ?? ["{}"]) as string[];
      const manifests = (JSON.parse(values) as { manifests?: Block[] }).manifests ?? [];
      const copy = manifests.find((m) => m.kind === "ExternalSecret" && (m.metadata as Block).name === "airflow-database" && (m.metadata as Block).namespace !== "db-bootstrap");
      return String(valueAt(copy, "spec.target.template.data.connection"));
    };
    const [server] = Object.values((JSON.parse(stackJson(dirs.stage3b, "lake-infra-azure")) as Stack).resource.azurerm_postgresql_flexible_server);
    expect([airflowCopy(dirs.stage3a), airflowCopy(dirs.stage3b)].map((connection) => connection.includes(String(server.name)))).toEqual([false, true]);
  });

  it("refuses, whatever the label, dropping home at the end: the cluster's stack would be renamed lake-infra, and its state would not follow", () => {
    const renamed = diffDirectories(dirs.stage3c, synthSpecs([{ ...STAGES.stage3c, home: undefined } as EnvironmentInput], "cross-cloud-move-home-dropped"));
    expect(renamed.flatMap((diff) => diff.refused.map((entry) => `${diff.stack}: ${entry}`))).toEqual([
      expect.stringMatching(/^lake-infra-azure: gone, while \d+ of its \d+ resources reappear in lake-infra: a stack's state does not follow its name/),
    ]);
  });

  it("calls a stack renamed only in the same accounts: a renamed environment is refused, another tenant in other accounts is not", () => {
    const refused = (spec: unknown, prefix: string) => diffDirectories(dirs.stage1, synthSpecs([spec as EnvironmentInput], prefix)).flatMap((diff) => diff.refused.map((entry) => `${diff.stack}: ${entry}`));
    expect(refused({ ...stage1, name: "lake2" }, "cross-cloud-move-renamed")).toEqual([
      expect.stringMatching(/^lake-apps: gone, while \d+ of its \d+ resources reappear in lake2-apps: a stack's state does not follow its name/),
      expect.stringMatching(/^lake-infra: gone, while \d+ of its \d+ resources reappear in lake2-infra:/),
      expect.stringMatching(/^lake-infra-azure: gone, while \d+ of its \d+ resources reappear in lake2-infra-azure:/),
    ]);
    const otherAccounts = { aws: { ...lake.accounts.aws, accountId: "111122224444" }, azure: { ...lake.accounts.azure, subscriptionId: "00000000-0000-4000-8000-000000000099" } };
    expect(refused({ ...stage1, name: "lake2", accounts: otherAccounts }, "cross-cloud-move-other-tenant")).toEqual([]);
  });

  it("refuses to drop Terraform Cloud without the label: the gitops workspace would delete lake's workspaces and their state", () => {
    const before = synthDefaults();
    const after = synthAmongDefaults(stage1, "move-gitops-after");
    const stateful = diffDirectories(before, after).flatMap((diff) => diff.stateful.map((entry) => `${diff.stack}: ${entry}`));
    expect(stateful).toEqual(expect.arrayContaining([expect.stringMatching(/^gitops: tfe_workspace\.\S*lake-infra\S* destroyed: loses the workspace's state/)]));
  });

  it("stage 3b → 3c destroys the RDS database and the S3 bucket (label), and says what the VPN's removal cuts", () => {
    const diffs = diffDirectories(dirs.stage3b, dirs.stage3c);
    expect(statefulOf(diffs)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^lake-infra: aws_db_instance\.platform_database-platform_\w+ destroyed: /), expect.stringMatching(/^lake-infra: aws_s3_bucket\.platform_bucket-lake_\w+ destroyed: /)]),
    );
    expect(statefulOf(diffs).filter((entry) => !entry.startsWith("lake-infra: "))).toEqual([]);
    expect(diffs.flatMap((diff) => diff.cautions)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_vpn_gateway\.\S+ destroyed: /), expect.stringMatching(/^azurerm_virtual_network_gateway\.\S+ destroyed: /)]),
    );
    // lake-infra is still synthesized, empty, so that its apply destroys what is left on AWS.
    expect((JSON.parse(stackJson(dirs.stage3c, "lake-infra")) as Partial<Stack>).resource).toBeUndefined();
  });

  it.skipIf(terraformUnavailable())("leaves an empty lake-infra that, once applied, plans nothing without AWS credentials", () => {
    const config = JSON.parse(stackJson(dirs.stage3c, "lake-infra")) as { terraform: Record<string, unknown> };
    config.terraform.backend = { local: { path: "terraform.tfstate" } };
    const dir = tempDir("move-empty-home");
    writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(config));
    writeFileSync(join(dir, "mirror.tfrc"), `provider_installation {\n  filesystem_mirror {\n    path = "${PLUGIN_MIRROR}"\n  }\n}\n`);
    // No credentials at all: the provider is declared but configures for nothing.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_")));
    const terraform = (...args: string[]) => spawnSync("terraform", args, { cwd: dir, encoding: "utf8", env: { ...env, TF_CLI_CONFIG_FILE: join(dir, "mirror.tfrc"), AWS_EC2_METADATA_DISABLED: "true", TF_IN_AUTOMATION: "1" } });
    expect(terraform("init", "-input=false", "-no-color").status).toBe(0);
    const plan = terraform("plan", "-input=false", "-no-color", "-detailed-exitcode");
    expect({ status: plan.status, says: plan.stdout.includes("No changes.") }).toEqual({ status: 0, says: true });
  });
});
