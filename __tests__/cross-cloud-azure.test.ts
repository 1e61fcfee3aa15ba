/**
 * AWS compute with Azure storage: the default environment `lake`, at stage 1 of a move from AWS to
 * Azure (issue 14; docs/design/cross-cloud.md). Checked against what consumes the output: Terraform
 * itself for the variables that carry values between stacks (their validations, the -var-file
 * `npm run deploy` writes from a real `terraform output -json`), the real AWS provider for the
 * stack that produces them, azurerm's and Entra ID's rules for the storage firewall and the
 * federated credentials, the Airflow chart's contract, the NetworkPolicies under the CNI, the
 * policy pack, Terraform Cloud's gitops wiring and the pull-request gate between the stages.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { environments } from "../environments";
import { parseEnvironment, parseEnvironments, type EnvironmentInput } from "../constructs/core/spec";
import { crossingsOf } from "../constructs/platform";
import { checkStack, RULES, type StackJson } from "../constructs/policies";
import { crossingVariables, runEnvironment, type StackOutputs } from "../scripts/env-stacks";
import { diffDirectories, renderSummary } from "../scripts/stack-diff";
import { releaseContracts } from "./support/chart-contract";
import { allows } from "./support/kubernetes/network-policy";
import { AIRFLOW_PODS, renderedPolicies } from "./support/rendered-policies";
import { synthesize } from "../stacks/app";
import { specIssues, synthSpecs } from "./support/cross-cloud";
import { stackJson, stackNames, synthDefaults, tempDir } from "./support/outdir";
import { checkOffline, planVariables, terraformUnavailable } from "./support/terraform";
import { lake } from "../environments/lake";
import { gitops as gitopsConfig } from "../environments/gitops";

type Block = Record<string, unknown>;
interface Stack {
  readonly provider: Record<string, unknown>;
  readonly variable?: Record<string, Block>;
  readonly output?: Record<string, { value: unknown }>;
  readonly resource: Record<string, Record<string, Block>>;
}

const resources = (stack: Stack, type: string): Block[] => Object.values(stack.resource[type] ?? {});

/** `lake` without Terraform Cloud, with `changes`: a stage of the move, synthesized on its own. */
function stage(changes: Partial<Record<keyof typeof lake, unknown>>): EnvironmentInput {
  return { ...lake, terraformCloud: undefined, ...changes } as unknown as EnvironmentInput;
}

const synth = (specs: EnvironmentInput[]): string => synthSpecs(specs, "cross-cloud-azure");

const issuesOf = (specs: EnvironmentInput[]): string[] => specIssues(specs);

const EKS_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

describe("lake: compute on AWS, Airflow's logs in Azure storage (stage 1, the default example)", () => {
  const env = parseEnvironments(environments).find((one) => one.name === "lake");
  const outdir = synth([stage({})]);
  const read = (name: string) => JSON.parse(stackJson(outdir, name)) as Stack;
  const home = read("lake-infra");
  const foreign = read("lake-infra-azure");
  const apps = read("lake-apps");

  it("is a default environment, with an Azure stack between infra and apps on azurerm (and azapi for its key) alone", () => {
    expect(env?.cloud).toBe("aws");
    expect(stackNames(outdir)).toEqual(["lake-apps", "lake-infra", "lake-infra-azure"]);
    expect(Object.keys(foreign.provider).sort()).toEqual(["azapi", "azurerm", "random"]);
    expect(resources(home, "aws_s3_bucket").map((bucket) => bucket.bucket)).toEqual(["lake-cloudtrail-555566667777", "lake-lake-555566667777"]);
    expect(resources(foreign, "azurerm_storage_container").map((container) => container.name)).toEqual(["logs"]);
  });

  it("reaches the storage account on its public endpoint from the cluster's NAT addresses alone, every other control kept", () => {
    const [account] = resources(foreign, "azurerm_storage_account");
    expect(account).toMatchObject({
      public_network_access_enabled: true,
      network_rules: { default_action: "Deny", bypass: ["AzureServices"], ip_rules: "${var.cluster_egress_ips}" },
      shared_access_key_enabled: false,
      min_tls_version: "TLS1_2",
      https_traffic_only_enabled: true,
      allow_nested_items_to_be_public: false,
      infrastructure_encryption_enabled: true,
      is_hns_enabled: true,
    });
    // No VNet on this side: no private endpoint, and the vault holding the storage key has none either.
    expect(foreign.resource.azurerm_private_endpoint).toBeUndefined();
    expect(resources(foreign, "azurerm_storage_account_customer_managed_key")).toHaveLength(1);
    expect(resources(foreign, "azurerm_key_vault")).toMatchObject([{ public_network_access_enabled: false, purge_protection_enabled: true }]);
    // Its request logs go to a workspace of its own, as the cluster's would on AKS.
    expect(resources(foreign, "azurerm_log_analytics_workspace").map((workspace) => workspace.name)).toEqual(["lake-logs"]);
  });

  it("gives Airflow an identity trusting the EKS issuer for its two service accounts, with the audience Entra ID takes, granted that container only", () => {
    const credentials = resources(foreign, "azurerm_federated_identity_credential");
    expect(credentials.map(({ issuer, subject, audience, name }) => ({ issuer, subject, audience, name }))).toEqual([
      { issuer: "${var.cluster_issuer}", subject: "system:serviceaccount:airflow:airflow-tasks", audience: ["api://AzureADTokenExchange"], name: "lake-aws-cluster-airflow-airflow-tasks" },
      { issuer: "${var.cluster_issuer}", subject: "system:serviceaccount:airflow:airflow", audience: ["api://AzureADTokenExchange"], name: "lake-aws-cluster-airflow-airflow" },
    ]);
    // azurerm 4.55.0 validates a credential's name: 3-120 characters, letters, digits, '-' and '_', starting with a letter or digit
    // (internal/services/managedidentity/validate/federated_identity_credential_name.go).
    for (const { name } of credentials) expect(String(name)).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/);
    const grants = resources(foreign, "azurerm_role_assignment").filter((grant) => String(grant.description).startsWith("airflow"));
    expect(grants.map(({ role_definition_name, scope }) => ({ role_definition_name, scope }))).toEqual([
      { role_definition_name: "Storage Blob Data Contributor", scope: expect.stringMatching(/^\$\{azurerm_storage_container\.platform_storage_bucket-logs_[0-9A-F]+\.resource_manager_id\}$/) },
    ]);
  });

  it("publishes the EKS issuer and NAT addresses from lake-infra, and Airflow's client id from lake-infra-azure, as outputs", () => {
    expect(crossingsOf(parseEnvironment(stage({}))).map(({ name, from, to }) => `${from} → ${to}: ${name}`)).toEqual([
      "infra → infra-azure: cluster_issuer",
      "infra → infra-azure: cluster_egress_ips",
      "infra-azure → apps: airflow_azure_client_id",
    ]);
    expect(home.output?.cluster_issuer.value).toMatch(/^\$\{aws_eks_cluster\.platform_cluster_[0-9A-F]+\.identity\[0\]\.oidc\[0\]\.issuer\}$/);
    expect(home.output?.cluster_egress_ips.value).toEqual([expect.stringMatching(/^\$\{aws_eip\.platform_network_nat-0-address_[0-9A-F]+\.public_ip\}$/)]);
    expect(foreign.output?.airflow_azure_client_id.value).toMatch(/^\$\{azurerm_user_assigned_identity\.platform_identity-airflow_[0-9A-F]+\.client_id\}$/);
    expect(Object.keys(foreign.variable ?? {}).sort()).toEqual(["cluster_egress_ips", "cluster_issuer"]);
    expect(Object.keys(apps.variable ?? {})).toEqual(["airflow_azure_client_id"]);
  });

  it.skipIf(terraformUnavailable() !== undefined)("lake-infra plans with the real AWS provider, its outputs the EKS issuer and the NAT's address", async () => {
    const result = await checkOffline(stackJson(outdir, "lake-infra"));
    expect(result.validate).toMatchObject({ valid: true });
    expect(result.planSummary).toMatch(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/);
  }, 300_000);

  describe.skipIf(terraformUnavailable() !== undefined)("the variables that receive them, run by Terraform", () => {
    // Public addresses next to the private ranges: 172.32.0.1 and 100.128.0.1 are public.
    const good = { cluster_issuer: EKS_ISSUER, cluster_egress_ips: ["52.16.10.20", "34.240.1.2", "172.32.0.1", "100.128.0.1", "11.0.0.1"] };

    it("accept what EKS, AKS and GKE issue and NAT addresses", () => {
      for (const issuer of [EKS_ISSUER, "https://northeurope.oic.prod-aks.azure.com/00000000-0000-4000-8000-0000000000aa/3f2a1e9c-0b7d-4e53-9d1a-2c4b6a8e0f11/", "https://container.googleapis.com/v1/projects/acme/locations/europe-west1/clusters/lake-cluster"]) {
        expect(planVariables(foreign.variable ?? {}, { ...good, cluster_issuer: issuer }).status).toBe(0);
      }
      expect(planVariables(apps.variable ?? {}, { airflow_azure_client_id: "3f2a1e9c-0b7d-4e53-9d1a-2c4b6a8e0f11" }).status).toBe(0);
    }, 120_000);

    it.each([
      ["an empty issuer (the producer has not applied: gitops writes an empty value)", { cluster_issuer: "" }, "cluster_issuer: needs an https URL (the cluster's OIDC issuer), the output cluster_issuer of lake-infra; apply lake-infra first"],
      ["a plain-http issuer", { cluster_issuer: "http://oidc.eks.eu-west-1.amazonaws.com/id/X" }, "cluster_issuer: needs an https URL"],
      ["no NAT address", { cluster_egress_ips: [] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      ["a range instead of an address (azurerm refuses /32 in ip_rules)", { cluster_egress_ips: ["52.16.10.20/32"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      ["an address out of range", { cluster_egress_ips: ["52.16.10.300"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      // azurerm 4.55.0 internal/services/storage/validate/storage_account_ip_rule.go refuses these three ranges ("must be public ip address").
      ["a private address (10/8)", { cluster_egress_ips: ["52.16.10.20", "10.1.2.3"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      ["a private address (172.16/12)", { cluster_egress_ips: ["172.31.255.1"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      ["a private address (192.168/16)", { cluster_egress_ips: ["192.168.0.1"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
      ["a link-local address", { cluster_egress_ips: ["169.254.169.254"] }, "cluster_egress_ips: needs one or more bare public IPv4 addresses"],
    ])("refuse %s, naming the producing stack", (_case, change, message) => {
      const result = planVariables(foreign.variable ?? {}, { ...good, ...change });
      expect(result.status).toBe(1);
      expect(result.output).toContain(message);
    }, 120_000);

    it("refuse a client id that is no GUID", () => {
      const result = planVariables(apps.variable ?? {}, { airflow_azure_client_id: "" });
      expect(result.output).toContain("airflow_azure_client_id: needs a lowercase GUID (the identity's client id), the output airflow_azure_client_id of lake-infra-azure");
    }, 120_000);

    it("take the -var-file npm run deploy writes from the producer's real terraform output -json", () => {
      // A producer with lake-infra's output names and values of the shapes EKS and the NAT give, applied locally.
      const producer = tempDir("crossing-producer");
      const outputs = { cluster_issuer: { value: EKS_ISSUER }, cluster_egress_ips: { value: ["52.16.10.20"] }, cluster_name: { value: "lake-cluster" } };
      writeFileSync(join(producer, "main.tf.json"), JSON.stringify({ output: outputs }));
      const run = (...args: string[]) => spawnSync("terraform", args, { cwd: producer, encoding: "utf8" });
      expect(run("init", "-input=false").status).toBe(0);
      expect(run("apply", "-input=false", "-auto-approve").status).toBe(0);
      const produced = JSON.parse(run("output", "-json").stdout) as StackOutputs;
      const lakeEnv = parseEnvironment(stage({}));
      const values = crossingVariables(lakeEnv, "infra-azure", (stack) => (stack === "lake-infra" ? produced : {}));
      expect(values).toEqual({ cluster_issuer: EKS_ISSUER, cluster_egress_ips: ["52.16.10.20"] });
      expect(planVariables(foreign.variable ?? {}, values).status).toBe(0);
      // Before lake-infra-azure applied, the apps stack's value is missing: one message naming it.
      expect(() => crossingVariables(lakeEnv, "apps", () => ({}))).toThrow("lake-apps needs the output airflow_azure_client_id of lake-infra-azure, which has none: deploy lake-infra-azure first");

      // npm run deploy: one cdktn deploy per stack in apply order, each consumer with the var-file of what its producers just output.
      const calls: { args: readonly string[]; varFile?: unknown }[] = [];
      const clientId = { airflow_azure_client_id: { value: "3f2a1e9c-0b7d-4e53-9d1a-2c4b6a8e0f11" } };
      const runner = {
        cdktn: (args: readonly string[]) => {
          const file = args.find((arg) => arg.startsWith("--var-file="))?.slice("--var-file=".length);
          calls.push({ args, varFile: file === undefined ? undefined : JSON.parse(readFileSync(file, "utf8")) });
          return 0;
        },
        outputsOf: (stack: string) => (stack === "lake-infra" ? produced : clientId),
        varFileDir: tempDir("crossing-var-files"),
      };
      expect(runEnvironment(lakeEnv, "deploy", ["--auto-approve"], {}, runner)).toBe(0);
      expect(calls.map(({ args }) => args.filter((arg) => !arg.startsWith("--var-file=")).join(" "))).toEqual([
        "deploy lake-infra --ignore-missing-stack-dependencies --auto-approve",
        "deploy lake-infra-azure --ignore-missing-stack-dependencies --auto-approve",
        "deploy lake-apps --ignore-missing-stack-dependencies --auto-approve",
      ]);
      expect(calls.map(({ varFile }) => varFile)).toEqual([undefined, values, { airflow_azure_client_id: "3f2a1e9c-0b7d-4e53-9d1a-2c4b6a8e0f11" }]);
      expect(planVariables(apps.variable ?? {}, calls[2].varFile as Record<string, unknown>).status).toBe(0);
      // The bootstrap (--infra) stops before the apps stack; a failed stack stops the run with its status.
      calls.length = 0;
      expect(runEnvironment(lakeEnv, "deploy", [], { infraOnly: true }, runner)).toBe(0);
      expect(calls.map(({ args }) => args[1])).toEqual(["lake-infra", "lake-infra-azure"]);
      calls.length = 0;
      expect(runEnvironment(lakeEnv, "deploy", [], {}, { ...runner, cdktn: (args) => (calls.push({ args }), 3) })).toBe(3);
      expect(calls).toHaveLength(1);
      // --only infra-azure (bootstrapping it while Terraform Cloud runs lake-infra): lake-infra's outputs come from its state.
      calls.length = 0;
      expect(runEnvironment(lakeEnv, "deploy", [], { only: "infra-azure" }, runner)).toBe(0);
      expect(calls.map(({ args, varFile }) => ({ stack: args[1], varFile }))).toEqual([{ stack: "lake-infra-azure", varFile: values }]);
      expect(runEnvironment(lakeEnv, "deploy", [], { only: "infra-gcp" }, runner)).toBe(2);
    }, 120_000);

    it("cdktn-cli 0.24.0 has the flag that lets one stack deploy without its dependencies in the same run", () => {
      // cdktn-cli refuses a deploy whose stacks' dependencies are not all named unless this flag is given
      // (bundle/bin/cmds/handlers.js checkIfAllDependenciesAreIncluded); its yargs options declare it (bundle/bin/cdktn.js).
      const cli = dirname(require.resolve("cdktn-cli/package.json"));
      expect(readFileSync(join(cli, "bundle/bin/cdktn.js"), "utf8")).toContain('"ignore-missing-stack-dependencies"');
      expect(readFileSync(join(cli, "bundle/bin/cmds/handlers.js"), "utf8")).toMatch(/ignoreMissingStackDependencies\|\|\(0,\w+\.checkIfAllDependenciesAreIncluded\)/);
    });
  });

  it("points Airflow's remote logs at the container, its pods (task pods too) at Azure's token exchange, within the chart's contract", () => {
    const [, release] = Object.entries(apps.resource.helm_release).find(([id]) => id.startsWith("airflow-airflow")) ?? [];
    const values = JSON.parse((release?.values as string[] | undefined)?.[0] ?? "{}") as { env: { name: string; value: string }[]; volumes: unknown; volumeMounts: unknown; config: { logging: Record<string, string>; azure_remote_logging: Record<string, string> }; secret: unknown };
    expect(values.env).toEqual(
      expect.arrayContaining([
        { name: "AZURE_CLIENT_ID", value: "${var.airflow_azure_client_id}" },
        { name: "AZURE_TENANT_ID", value: "00000000-0000-4000-8000-0000000000aa" },
        { name: "AZURE_FEDERATED_TOKEN_FILE", value: "/var/run/secrets/azure/wi/token/azure-identity-token" },
        { name: "AZURE_AUTHORITY_HOST", value: "https://login.microsoftonline.com/" },
      ]),
    );
    expect(values.volumes).toEqual([{ name: "bucket-cloud-token", projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", expirationSeconds: 3600, path: "token/azure-identity-token" } }] } }]);
    expect(values.volumeMounts).toEqual([{ name: "bucket-cloud-token", mountPath: "/var/run/secrets/azure/wi", readOnly: true }]);
    expect(values.config.logging).toMatchObject({ remote_base_log_folder: "wasb-airflow-logs", remote_log_conn_id: "wasb_default" });
    expect(values.config.azure_remote_logging).toEqual({ remote_wasb_log_container: "logs" });
    // The connection names the account lake-infra-azure creates: only the account URL, no key, so the WasbHook uses the token.
    const [account] = resources(foreign, "azurerm_storage_account");
    expect(values.env).toContainEqual({ name: "AIRFLOW_CONN_WASB_DEFAULT", value: JSON.stringify({ conn_type: "wasb", host: `https://${String(account.name)}.blob.core.windows.net` }) });
    expect(releaseContracts(stackJson(outdir, "lake-apps")).problems).toEqual([]);
  });

  it("lets Airflow's scheduler and task pods reach Entra ID and the storage endpoint on 443 under the NetworkPolicies", () => {
    const cluster = renderedPolicies(stackJson(outdir, "lake-apps"), "vpc-cni");
    // login.microsoftonline.com and <account>.blob.core.windows.net answer on public addresses (Entra ID's 20.190.128.0/18, Azure Storage's 20.60.0.0/16).
    const reached = (ip: string, port: number) => ({ scheduler: allows(cluster, { from: AIRFLOW_PODS.scheduler, to: { ip }, port }), task: allows(cluster, { from: AIRFLOW_PODS.task, to: { ip }, port }) });
    // Task pods (user code) reach the Internet on any port by design (constructs/apps/network-policies.ts); the scheduler on 443 alone.
    expect({ entra: reached("20.190.160.1", 443), storage: reached("20.60.40.4", 443), storageOn80: reached("20.60.40.4", 80) }).toEqual({
      entra: { scheduler: true, task: true },
      storage: { scheduler: true, task: true },
      storageOn80: { scheduler: false, task: true },
    });
  });

  it("passes the policy pack, which refuses any other address rule on the storage firewall", () => {
    const [rule] = RULES.filter((one) => one.id === "bucket-not-public");
    const check = (stack: Stack) => checkStack(stack as unknown as StackJson, { stackName: "lake-infra-azure", kind: "infra", env: parseEnvironment(stage({})), cloud: "azure" }, [], { rules: [rule] }).violations.map((violation) => violation.problem);
    expect(checkStack(foreign as unknown as StackJson, { stackName: "lake-infra-azure", kind: "infra", env: parseEnvironment(stage({})), cloud: "azure" }).violations).toEqual([]);
    const [id] = Object.keys(foreign.resource.azurerm_storage_account);
    const opened = structuredClone(foreign);
    Object.assign(opened.resource.azurerm_storage_account[id].network_rules as Block, { ip_rules: ["${var.cluster_egress_ips}", "0.0.0.0"] });
    const refused = ["public_network_access_enabled is not false and the firewall admits more than the Deny default and the cluster's NAT addresses (var.cluster_egress_ips)"];
    expect(check(opened)).toEqual(refused);
    Object.assign(opened.resource.azurerm_storage_account[id].network_rules as Block, { ip_rules: ["198.51.100.7"] });
    expect(check(opened)).toEqual(refused);
    // The variable's reference passes only while the variable admits bare public addresses alone and has no default.
    Object.assign(opened.resource.azurerm_storage_account[id].network_rules as Block, { ip_rules: "${var.cluster_egress_ips}" });
    expect(check(opened)).toEqual([]);
    const variable = opened.variable?.cluster_egress_ips as Block;
    expect(check({ ...opened, variable: { cluster_egress_ips: { ...variable, default: ["0.0.0.0"] } } })).toEqual(refused);
    expect(check({ ...opened, variable: { cluster_egress_ips: { ...variable, validation: [{ condition: "${true}", error_message: "x" }] } } })).toEqual(refused);
  });
});

describe("the EKS NAT addresses lake-infra-azure's firewall admits", () => {
  it("are kept in production (prevent_destroy), and only where they are published", () => {
    const eips = (spec: EnvironmentInput) => resources(JSON.parse(stackJson(synth([spec]), "lake-infra")) as Stack, "aws_eip").map((eip) => eip.lifecycle ?? {});
    // A NAT gateway per zone in production (3), one elsewhere.
    expect(eips(stage({ production: true }))).toEqual(Array(3).fill({ prevent_destroy: true }));
    expect(eips(stage({}))).toEqual([{}]);
    const logsOnAws = (lake.buckets as { name: string; cloud?: string }[]).map((bucket) => ({ ...bucket, cloud: undefined }));
    expect(eips(stage({ production: true, home: undefined, buckets: logsOnAws }))).toEqual(Array(3).fill({}));
  });
});

describe("lake in Terraform Cloud (environments/lake.ts as written)", () => {
  const outdir = synthDefaults();
  const gitops = JSON.parse(stackJson(outdir, "gitops")) as Stack & { data: Record<string, Record<string, Block>> };
  const read = (name: string) => JSON.parse(stackJson(outdir, name)) as Stack;

  it("gives each workspace its own cloud's dynamic credentials, and each cloud's trust names its own workspaces only", () => {
    const variables = gitops.resource.tfe_variable;
    expect(variables["lake-infra-azure-credentials"]).toMatchObject({ workspace_id: "${tfe_workspace.lake-infra-azure.id}", for_each: '${lookup(data.tfe_outputs.lake-infra-azure-outputs.nonsensitive_values, "terraform_cloud_variables", {})}' });
    expect(variables["lake-apps-credentials"]).toMatchObject({ for_each: '${lookup(data.tfe_outputs.lake-infra-outputs.nonsensitive_values, "terraform_cloud_variables", {})}' });
    const azureSubjects = resources(read("lake-infra-azure"), "azurerm_federated_identity_credential").filter((one) => one.issuer === "https://app.terraform.io").map((one) => one.subject);
    expect(azureSubjects.sort()).toEqual([
      "organization:acme-data:project:data-platform-lake:workspace:lake-infra-azure:run_phase:apply",
      "organization:acme-data:project:data-platform-lake:workspace:lake-infra-azure:run_phase:plan",
    ]);
    const [runRole] = resources(read("lake-infra"), "aws_iam_role").filter((role) => role.name === "lake-terraform-cloud");
    const trust = JSON.stringify(runRole?.assume_role_policy);
    expect(trust).toContain("workspace:lake-infra:run_phase:*");
    expect(trust).toContain("workspace:lake-apps:run_phase:*");
    expect(trust).not.toContain("lake-infra-azure");
  });

  it("writes each crossing into its consumer's workspace from its producer's outputs, and runs producer, gitops, consumer in order", () => {
    const variables = gitops.resource.tfe_variable;
    expect(variables["lake-infra-azure-cluster_issuer"]).toMatchObject({ key: "cluster_issuer", category: "terraform", workspace_id: "${tfe_workspace.lake-infra-azure.id}", value: '${try(data.tfe_outputs.lake-infra-outputs.nonsensitive_values.cluster_issuer, "")}' });
    expect(variables["lake-infra-azure-cluster_egress_ips"]).toMatchObject({ key: "cluster_egress_ips", hcl: true, value: "${jsonencode(try(data.tfe_outputs.lake-infra-outputs.nonsensitive_values.cluster_egress_ips, []))}" });
    expect(variables["lake-apps-airflow_azure_client_id"]).toMatchObject({ workspace_id: "${tfe_workspace.lake-apps.id}", value: '${try(data.tfe_outputs.lake-infra-azure-outputs.nonsensitive_values.airflow_azure_client_id, "")}' });
    const triggers = Object.entries(gitops.resource.tfe_run_trigger).filter(([id]) => id.includes("lake")).map(([id, trigger]) => `${id}: ${String(trigger.sourceable_id)} → ${String(trigger.workspace_id)}`);
    expect(triggers.sort()).toEqual([
      "gitops-to-lake-apps: ${data.tfe_workspace.gitops-workspace.id} → ${tfe_workspace.lake-apps.id}",
      "gitops-to-lake-infra-azure: ${data.tfe_workspace.gitops-workspace.id} → ${tfe_workspace.lake-infra-azure.id}",
      "lake-infra-azure-to-gitops: ${tfe_workspace.lake-infra-azure.id} → ${data.tfe_workspace.gitops-workspace.id}",
      "lake-infra-to-apps: ${tfe_workspace.lake-infra.id} → ${tfe_workspace.lake-apps.id}",
      "lake-infra-to-gitops: ${tfe_workspace.lake-infra.id} → ${data.tfe_workspace.gitops-workspace.id}",
    ]);
    // A run queued by a trigger applies by itself only with auto_apply_run_trigger (tfe 0.71.0, default false): as auto_apply, on every workspace.
    for (const [id, workspace] of Object.entries(gitops.resource.tfe_workspace)) {
      expect({ id, trigger: workspace.auto_apply_run_trigger }).toEqual({ id, trigger: gitops.resource.tfe_workspace_settings[`${id}-settings`].auto_apply });
    }
    // Both infra workspaces share their state with the gitops workspace alone; apps with no one.
    expect(gitops.resource.tfe_workspace_settings["lake-infra-azure-settings"].remote_state_consumer_ids).toEqual(["${data.tfe_workspace.gitops-workspace.id}"]);
    expect(gitops.resource.tfe_workspace_settings["lake-apps-settings"].remote_state_consumer_ids).toEqual([]);
  });

  it("leaves lake-infra-azure to its bootstrap while terraformCloud.bootstrapping names azure, and refuses an app on a bucket there meanwhile", () => {
    // The pull request before the bootstrap: the Azure bucket exists, no app uses it yet.
    const before = { ...lake, terraformCloud: { ...lake.terraformCloud, bootstrapping: ["azure"] }, apps: lake.apps.map((app) => (app.name === "airflow" ? { ...app, bucket: "lake" } : app)) };
    const dir = join(tempDir("bootstrapping"), "out");
    expect(synthesize(environments.map((env) => (env.name === "lake" ? before : env)) as EnvironmentInput[], dir, gitopsConfig)).toBe(0);
    const pending = JSON.parse(stackJson(dir, "gitops")) as Stack & { data: Record<string, Record<string, Block>> };
    const lakeIds = (type: Record<string, unknown>) => Object.keys(type).filter((id) => id.startsWith("lake-") || id.includes("-lake-"));
    expect({
      workspaces: lakeIds(pending.resource.tfe_workspace),
      outputs: lakeIds(pending.data.tfe_outputs),
      variables: lakeIds(pending.resource.tfe_variable),
      triggers: Object.keys(pending.resource.tfe_run_trigger).filter((id) => id.includes("lake")),
    }).toEqual({ workspaces: ["lake-apps", "lake-infra"], outputs: ["lake-infra-outputs"], variables: ["lake-apps-credentials", "lake-infra-credentials"], triggers: ["lake-infra-to-apps"] });
    // lake-infra already publishes what lake-infra-azure receives; that stack is synthesized for its deploy by hand.
    // The NAT's addresses only once an app uses the bucket (1c): until then the storage firewall admits no address.
    const outputs = Object.keys((JSON.parse(stackJson(dir, "lake-infra")) as Stack).output ?? {});
    expect({ issuer: outputs.includes("cluster_issuer"), egress: outputs.includes("cluster_egress_ips") }).toEqual({ issuer: true, egress: false });
    const [account] = Object.values((JSON.parse(stackJson(dir, "lake-infra-azure")) as Stack).resource.azurerm_storage_account);
    expect(account.network_rules).toEqual(expect.objectContaining({ default_action: "Deny", ip_rules: [] }));
    expect(stackNames(dir)).toContain("lake-infra-azure");
    expect(issuesOf([{ ...before, apps: lake.apps } as unknown as EnvironmentInput])).toEqual([
      'apps[0].bucket: given "logs"; accepted: a bucket not on azure while terraformCloud.bootstrapping names it: airflow\'s identity there comes from lake-infra-azure, which Terraform Cloud does not run yet (point airflow at it in the pull request that ends the bootstrap)',
    ]);
    expect(issuesOf([{ ...before, terraformCloud: { ...lake.terraformCloud, bootstrapping: ["gcp"] } } as unknown as EnvironmentInput])).toEqual([
      'terraformCloud.bootstrapping[0]: given "gcp"; accepted: a cloud other than the cluster\'s that a bucket or database lives on (azure): only its lake-infra-<cloud> workspace is bootstrapped by hand',
    ]);
  });

  it("refuses a Terraform Cloud environment sharing lake's Azure subscription, since lake-infra-azure's run identity is Contributor on it", () => {
    const other = { ...lake, name: "lake-copy", network: { cidr: "10.25.0.0/16" }, accounts: { ...lake.accounts, aws: { region: "eu-west-1", accountId: "666677778888" } }, dns: { zone: "copy.data.example.com", acmeEmail: "a@example.com" }, apps: lake.apps.map((app) => ({ ...app, host: `${app.name}.copy.data.example.com` })) };
    expect(issuesOf([lake, other] as unknown as EnvironmentInput[])).toEqual([expect.stringMatching(/^accounts\.azure\.subscriptionId: .*an Azure subscription no other environment uses \(lake.* is in it/)]);
  });
});

describe("the stages of the move, through the pull-request gate", () => {
  /** Stage 0: everything on AWS (no `home` yet, as before the move). */
  const stage0 = stage({ home: undefined, accounts: { aws: lake.accounts.aws }, buckets: [{ ...lake.buckets[0], cloud: undefined }, lake.buckets[1]] });
  /** Stage 1a: the Azure bucket added under a new name and Airflow pointed at it; the S3 bucket stays for the copy. */
  const stage1a = stage({ buckets: [{ ...lake.buckets[0], cloud: undefined }, { ...lake.buckets[0], name: "logs-azure" }, lake.buckets[1]], apps: lake.apps.map((app) => (app.name === "airflow" ? { ...app, bucket: "logs-azure" } : app)) });
  /** Stage 1b: the copied S3 bucket leaves the spec. */
  const stage1b = stage({ buckets: [{ ...lake.buckets[0], name: "logs-azure" }, lake.buckets[1]], apps: lake.apps.map((app) => (app.name === "airflow" ? { ...app, bucket: "logs-azure" } : app)) });
  const dirs = [stage0, stage1a, stage1b].map((spec) => synth([spec]));
  const gate = (from: number, to: number) => diffDirectories(dirs[from], dirs[to]);

  it("stage 0 → 1a adds lake-infra-azure and destroys nothing that holds data", () => {
    const diffs = gate(0, 1);
    expect(diffs.flatMap((diff) => diff.stateful)).toEqual([]);
    expect(diffs.find((diff) => diff.stack === "lake-infra-azure")?.added).toEqual(expect.arrayContaining([expect.stringMatching(/^azurerm_storage_account\./), expect.stringMatching(/^azurerm_storage_container\./)]));
    expect(diffs.find((diff) => diff.stack === "lake-infra")?.replaced).toEqual([]);
  });

  it("stage 1a → 1b destroys the S3 bucket: refused without the label, and the summary says what is lost", () => {
    const diffs = gate(1, 2);
    const stateful = diffs.flatMap((diff) => diff.stateful.map((entry) => `${diff.stack}: ${entry}`));
    expect(stateful).toEqual([expect.stringMatching(/^lake-infra: aws_s3_bucket\.platform_bucket-logs_[0-9A-F]+ destroyed: loses every object in the bucket$/)]);
    expect(renderSummary(diffs, false)).toContain("Add the `allow-stateful-replacement` label if this is intended.");
    expect(diffs.find((diff) => diff.stack === "lake-infra-azure")?.changes.filter((change) => change.action !== "update")).toEqual([]);
  });

  it("moving a bucket's cloud in one step (straight to lake as written) is the same destruction, refused the same way", () => {
    const direct = diffDirectories(dirs[0], synth([stage({})]));
    expect(direct.flatMap((diff) => diff.stateful)).toEqual([expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[0-9A-F]+ destroyed: /)]);
  });

  it("names the account a database on another cloud needs (stages 2 and 3: __tests__/cross-cloud-move.test.ts)", () => {
    expect(issuesOf([stage({ databases: lake.databases.map((database) => ({ ...database, cloud: "gcp" })) })])).toEqual(
      expect.arrayContaining(['accounts.gcp: given nothing; accepted: the gcp account of this environment, because databases[0].cloud is "gcp"']),
    );
  });
});
