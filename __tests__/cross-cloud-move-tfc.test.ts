/**
 * Moving lake from AWS to Azure (and AWS to GCP) with Terraform Cloud (issue 14; README "Moving
 * from one cloud to another in stages", "With Terraform Cloud"): each stage synthesized among the
 * default environments, with the gitops stack, and checked against what consumes it: the
 * pull-request gate between stages (no workspace destroyed, the run identities changed in place),
 * the permission model of the AWS run role on the home the cluster left (IAM evaluated as AWS
 * does, with the issuer Terraform Cloud writes into the stack's variable, and a case it must
 * refuse), the real AWS provider on that stack, and the gitops stack's wiring of each workspace.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { lake } from "../environments/lake";
import { environments } from "../environments";
import { parseEnvironment, type EnvironmentInput } from "../constructs/core/spec";
import { specChecks } from "../stacks/app";
import { bootstrapperOwnedChecks, diffDirectories, type StackDiff } from "../scripts/stack-diff";
import { specIssues, synthAmongDefaults } from "./support/cross-cloud";
import { moveStages } from "./support/move-stages";
import { stackJson, synthDefaults } from "./support/outdir";
import { checkOffline, terraformUnavailable, type OfflineResult } from "./support/terraform";
import { awsFederatedTrustProblems, permissionProblems, type StackJson } from "./support/permissions";

type Block = Record<string, unknown>;
interface Stack {
  readonly resource: Record<string, Record<string, Block>>;
  readonly import?: { readonly to: string; readonly id: string }[];
  readonly data?: Record<string, Record<string, Block>>;
  readonly output?: Record<string, Block>;
}

const inTerraformCloud = (spec: EnvironmentInput, extra: Block = {}) => ({ ...spec, terraformCloud: { ...lake.terraformCloud, ...extra } }) as EnvironmentInput;
const AZURE = moveStages("azure");
const GCP = moveStages("gcp");
const STAGES = { stage2: inTerraformCloud(AZURE.stage2), stage3a: inTerraformCloud(AZURE.stage3a), stage3b: inTerraformCloud(AZURE.stage3b), stage3c: inTerraformCloud(AZURE.stage3c) };

/** An AKS issuer, as lake-infra-azure publishes it and gitops writes it into lake-infra's variable (README, "Values that cross"). */
const AKS_ISSUER = "https://northeurope.oic.prod-aks.azure.com/00000000-0000-4000-8000-0000000000aa/11111111-1111-1111-1111-111111111111/";
const CROSSINGS: Record<string, unknown> = { vpn_gateway_ips: ["20.54.1.2", "20.54.3.4"], cluster_issuer: AKS_ISSUER };

const read = (outdir: string, stack: string) => JSON.parse(stackJson(outdir, stack)) as Stack;
const resources = (stack: Stack, type: string) => Object.entries(stack.resource[type] ?? {});
const runRole = (stack: Stack) => resources(stack, "aws_iam_role").find(([, role]) => String(role.assume_role_policy).includes("app.terraform.io"));
const runPolicy = (stack: Stack) => {
  const [name] = runRole(stack) ?? [];
  const [, policy] = resources(stack, "aws_iam_role_policy").find(([, one]) => String(one.role).includes(`aws_iam_role.${name}.`)) ?? [];
  // A reference Terraform renders into the document holds quotes of its own: read as single ones here.
  return JSON.parse(String(policy?.policy).replace(/\$\{[^}]*\}/g, (reference) => reference.replace(/"/g, "'"))) as { Statement: { Sid: string; Action: string | string[]; Resource: string | string[] }[] };
};
const subjects = (stack: Stack) => {
  const [, role] = runRole(stack) ?? [];
  const trust = JSON.parse(String(role?.assume_role_policy)) as { Statement: { Condition: { StringLike: Record<string, string[]> } }[] };
  return trust.Statement[0].Condition.StringLike["app.terraform.io:sub"];
};
/** The permission model's problems with the home's stack, applied by its run role with what gitops writes into its variables. */
const homeProblems = (env: ReturnType<typeof parseEnvironment>, stack: Stack, variables: Record<string, string>) =>
  permissionProblems({ env, infra: stack as StackJson, foreign: { cloud: "aws", stack: "lake-infra", variables } }).map((problem) => `${problem.address}: ${problem.problem}`);
const statefulOf = (diffs: readonly StackDiff[]) => diffs.flatMap((diff) => diff.stateful.map((entry) => `${diff.stack}: ${entry}`));
const changesOf = (diffs: readonly StackDiff[], stack: string, pattern: RegExp) =>
  (diffs.find((diff) => diff.stack === stack)?.changes ?? []).filter((change) => pattern.test(change.address)).map((change) => `${change.action} ${change.address}`);

describe("the spec with Terraform Cloud, stage by stage", () => {
  it("accepts every stage of the move to Azure, and stage 2 of the move to GCP", () => {
    expect(Object.entries(STAGES).filter(([, spec]) => specIssues([spec]).length > 0)).toEqual([]);
    expect(specIssues([inTerraformCloud(GCP.stage2)])).toEqual([]);
  });

  it("lets bootstrapping name the cluster's cloud only while it runs away from home, and still refuses Cloud Storage for a cluster elsewhere", () => {
    expect(specIssues([inTerraformCloud(GCP.stage2, { bootstrapping: ["gcp"] })])).toEqual([]);
    // At home, the cluster's workspace is <env>-infra, bootstrapped like any environment's (README, "Bootstrap, once").
    expect(specIssues([inTerraformCloud(lake as EnvironmentInput, { bootstrapping: ["aws"] })])).toEqual([
      'terraformCloud.bootstrapping[0]: given "aws"; accepted: a cloud other than the cluster\'s that a bucket or database lives on (azure): only its lake-infra-<cloud> workspace is bootstrapped by hand',
    ]);
    expect(specIssues([inTerraformCloud(AZURE.stage2, { bootstrapping: ["gcp"] })])).toEqual([
      expect.stringMatching(/^terraformCloud\.bootstrapping\[0\]: given "gcp"; accepted: a cloud other than the cluster's that a bucket or database lives on \(aws\), or the cluster's, azure, whose new workspace lake-infra-azure holds it away from home/),
    ]);
    // The run account on GCP may not create workload identity pools: stage 1 of the move to GCP stays without Terraform Cloud.
    expect(specIssues([inTerraformCloud(GCP.stage1)])).toEqual([expect.stringMatching(/^terraformCloud: .*none while a bucket or database lives on gcp: the Terraform Cloud run identity of lake-infra-gcp is not built yet/)]);
  });
});

describe("stage 2 with Terraform Cloud: the home's run role without the cluster, the cluster's workspace with the apps' credentials and agents", () => {
  let stage1: string;
  let stage2: string;
  let home: Stack;
  let cluster: Stack;
  let gitops: Stack;
  const env = parseEnvironment(STAGES.stage2, specChecks);
  beforeAll(() => {
    stage1 = synthDefaults();
    stage2 = synthAmongDefaults(STAGES.stage2, "move-tfc-stage2");
    home = read(stage2, "lake-infra");
    cluster = read(stage2, "lake-infra-azure");
    gitops = read(stage2, "gitops");
  });

  it("trusts lake-infra alone on AWS, with no EKS or ECS left to manage, and the providers of AKS issuers of lake's tenant and location alone", () => {
    expect(subjects(home)).toEqual(["organization:acme-data:project:data-platform-lake:workspace:lake-infra:run_phase:*"]);
    const policy = runPolicy(home);
    const services = policy.Statement.find((statement) => statement.Sid === "EnvironmentServices")?.Action;
    expect(services).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(eks|ecs):/)]));
    // From the spec, not from the received issuer: a new AKS cluster changes no policy (which its runs could not apply).
    expect(policy.Statement.find((statement) => statement.Sid === "ClusterOidcProviders")?.Resource).toBe(
      "arn:aws:iam::555566667777:oidc-provider/northeurope.oic.prod-aks.azure.com/00000000-0000-4000-8000-0000000000aa/*",
    );
    // No agents stay on AWS: lake-apps reaches the AKS API from agents in the VNet.
    expect({ agents: Object.keys(home.resource).filter((type) => type.startsWith("aws_ecs_")), output: Object.keys(home.output ?? {}).filter((name) => name.includes("agent")) }).toEqual({ agents: [], output: [] });
  });

  it("lets the run role apply every resource of lake-infra with the issuer gitops writes, and refuses the stage 1 policy, which names EKS providers only", () => {
    expect(homeProblems(env, home, { cluster_issuer: AKS_ISSUER })).toEqual([]);
    // STS matches the trusts' condition keys by the provider's URL: they name it, trailing "/" included.
    const foreign = { cloud: "aws" as const, stack: "lake-infra", variables: { cluster_issuer: AKS_ISSUER } };
    expect(awsFederatedTrustProblems({ env, infra: home as StackJson, foreign })).toEqual([]);
    const trimmed = structuredClone(home);
    for (const [, provider] of resources(trimmed, "aws_iam_openid_connect_provider")) if (provider.url === "${var.cluster_issuer}") provider.url = '${trimsuffix(var.cluster_issuer, "/")}';
    expect(awsFederatedTrustProblems({ env, infra: trimmed as StackJson, foreign })).toEqual(
      expect.arrayContaining([expect.stringMatching(/external-secrets\S*: its trust's condition key northeurope\.oic\.prod-aks\.azure\.com\/\S+\/:aud does not name the provider northeurope\.oic\.prod-aks\.azure\.com\/\S+\/1{8}-1{4}-1{4}-1{4}-1{12},/)]),
    );
    const stage1Policy = runPolicy(read(stage1, "lake-infra"));
    const withStage1Policy = structuredClone(home);
    for (const [, policy] of resources(withStage1Policy, "aws_iam_role_policy")) if (String(policy.policy).includes("EnvironmentServices")) policy.policy = JSON.stringify(stage1Policy);
    expect(homeProblems(env, withStage1Policy, { cluster_issuer: AKS_ISSUER })).toEqual([
      expect.stringMatching(/^aws_iam_openid_connect_provider\.platform_cluster-issuer_\w+: the Terraform Cloud run role may not call iam:CreateOpenIDConnectProvider on arn:aws:iam::555566667777:oidc-provider\/northeurope\.oic\.prod-aks\.azure\.com\//),
    ]);
  });

  it("puts the AKS cluster's workspace and lake-apps on the Azure run identity, and the lake-apps agents in the VNet", () => {
    const credentials = resources(cluster, "azurerm_federated_identity_credential")
      .map(([, credential]) => String(credential.subject))
      .filter((subject) => subject.startsWith("organization:"))
      .sort();
    expect(credentials).toEqual(["lake-apps:run_phase:apply", "lake-apps:run_phase:plan", "lake-infra-azure:run_phase:apply", "lake-infra-azure:run_phase:plan"].map((tail) => `organization:acme-data:project:data-platform-lake:workspace:${tail}`));
    expect(Object.keys(cluster.resource).filter((type) => type === "azurerm_container_app")).toEqual(["azurerm_container_app"]);
    expect(Object.keys(cluster.output ?? {})).toEqual(expect.arrayContaining(["terraform_cloud_agent_token_secret", "terraform_cloud_variables"]));
  });

  it("has gitops give lake-apps the Azure credentials, queue it after lake-infra-azure, and pass the issuer and the VPN's values both ways", () => {
    const variables = resources(gitops, "tfe_variable");
    const credentialsOf = (name: string) => String(variables.find(([id]) => id === `${name}-credentials`)?.[1].for_each);
    expect(["lake-infra", "lake-infra-azure", "lake-apps"].map(credentialsOf)).toEqual([
      expect.stringContaining("data.tfe_outputs.lake-infra-outputs"),
      expect.stringContaining("data.tfe_outputs.lake-infra-azure-outputs"),
      expect.stringContaining("data.tfe_outputs.lake-infra-azure-outputs"),
    ]);
    const [, trigger] = resources(gitops, "tfe_run_trigger").find(([id]) => id === "lake-infra-to-apps") ?? [];
    expect({ workspace: trigger?.workspace_id, source: trigger?.sourceable_id }).toEqual({ workspace: "${tfe_workspace.lake-apps.id}", source: "${tfe_workspace.lake-infra-azure.id}" });
    const crossing = variables.filter(([, variable]) => variable.category === "terraform" && /lake-/.test(String(variable.workspace_id))).map(([id]) => id);
    expect(crossing).toEqual(expect.arrayContaining(["lake-infra-cluster_issuer", "lake-infra-vpn_gateway_ips", "lake-infra-azure-vpn_tunnel_ips", "lake-infra-azure-vpn_preshared_keys"]));
  });

  it("is a pull request that destroys no workspace, changes both run identities in place, and lists the old agents' token among what it destroys", () => {
    const diffs = diffDirectories(stage1, stage2);
    expect(statefulOf(diffs).filter((entry) => entry.startsWith("gitops: "))).toEqual([]);
    expect(changesOf(diffs, "gitops", /^tfe_(workspace|workspace_settings|agent_pool|agent_pool_allowed_workspaces|project)\./).filter((change) => !change.startsWith("update "))).toEqual([]);
    // Named by workspace, the credentials stay on their workspaces: none deleted while one of the same key is created on it.
    expect(changesOf(diffs, "gitops", /-credentials$/).filter((change) => /^(delete|replace|create) /.test(change))).toEqual([]);
    expect(changesOf(diffs, "lake-infra", /terraform-cloud-trust/).sort()).toEqual([
      expect.stringMatching(/^update aws_iam_role\.platform_terraform-cloud-trust_\w+$/),
      expect.stringMatching(/^update aws_iam_role_policy\.platform_terraform-cloud-trust_delivery_\w+$/),
    ]);
    expect(changesOf(diffs, "lake-infra-azure", /terraform-cloud-trust/)).toEqual([
      expect.stringMatching(/^create azurerm_federated_identity_credential\.platform_terraform-cloud-trust_credential-lake-apps-apply_\w+$/),
      expect.stringMatching(/^create azurerm_federated_identity_credential\.platform_terraform-cloud-trust_credential-lake-apps-plan_\w+$/),
    ]);
    // The run role may not change itself: the pull request says its stack is the bootstrapper's to apply; an app role's new trust is not.
    const cautions = diffs.flatMap((diff) => diff.cautions).filter((caution) => caution.includes("run role"));
    expect(cautions.map((caution) => caution.split(":")[0]).sort()).toEqual([expect.stringMatching(/^aws_iam_role\.platform_terraform-cloud-trust_\w+$/), expect.stringMatching(/^aws_iam_role_policy\.platform_terraform-cloud-trust_delivery_\w+$/)]);
    expect(changesOf(diffs, "lake-infra", /^aws_iam_role\.platform_identity-external-secrets_/)).toEqual([expect.stringMatching(/^update /)]);
    expect(statefulOf(diffs).filter((entry) => entry.startsWith("lake-infra: ") && entry.includes("terraform-cloud-agent"))).toEqual([
      expect.stringMatching(/^lake-infra: aws_cloudwatch_log_group\.platform_terraform-cloud-agent_logs_\w+ destroyed: /),
      expect.stringMatching(/^lake-infra: aws_secretsmanager_secret\.platform_terraform-cloud-agent_token_\w+ destroyed: /),
    ]);
  });

  it("says, too, when the provider's default tags or a new secret the spec names change what only the bootstrapper may", () => {
    const retagged = synthAmongDefaults({ ...STAGES.stage2, costCentre: "cc-2002" } as EnvironmentInput, "move-tfc-retagged");
    const cautions = diffDirectories(stage2, retagged)
      .filter((diff) => diff.stack === "lake-infra")
      .flatMap((diff) => diff.cautions)
      .filter((caution) => caution.includes("bootstrapper"));
    // The role carries the default tags, and may not tag itself; it may tag its provider and the boundary (the policy's Tags statement).
    expect(cautions.map((caution) => caution.split(":")[0])).toEqual([expect.stringMatching(/^aws_iam_role\.platform_terraform-cloud-trust_\w+$/)]);
    const [[boundary, config]] = resources(home, "aws_iam_policy").filter(([, policy]) => String(policy.name).endsWith("-workload-boundary"));
    expect(bootstrapperOwnedChecks(`aws_iam_policy.${boundary}`, config, { ...config, policy: `${String(config.policy)} ` }).cautions).toEqual([expect.stringMatching(/changes policy of what the Terraform Cloud run role may not change/)]);
    // As a plan holds them: the provider's url without its scheme (as IAM returns it), tags_all known; force_detach_policies calls nothing.
    const anchor = { url: "app.terraform.io", client_id_list: ["aws.workload.identity"], tags_all: { owner: "data-platform" } };
    expect(bootstrapperOwnedChecks("aws_iam_openid_connect_provider.anchor", anchor, { ...anchor, client_id_list: [...anchor.client_id_list, "other"] }).cautions).toEqual([expect.stringContaining("changes client_id_list")]);
    expect(bootstrapperOwnedChecks("aws_iam_openid_connect_provider.anchor", anchor, { ...anchor, tags_all: { owner: "someone" } }).cautions).toEqual([]);
    const [[runRoleId, runRoleConfig]] = resources(home, "aws_iam_role").filter(([, role]) => String(role.assume_role_policy).includes("app.terraform.io"));
    expect(bootstrapperOwnedChecks(`aws_iam_role.${runRoleId}`, runRoleConfig, { ...runRoleConfig, force_detach_policies: true }).cautions).toEqual([]);
    const [[appRole, appConfig]] = resources(home, "aws_iam_role").filter(([, role]) => String(role.name).endsWith("-app-external-secrets"));
    expect(bootstrapperOwnedChecks(`aws_iam_role.${appRole}`, appConfig, { ...appConfig, description: "changed" }).cautions).toEqual([]);
  });

  describe("with the real AWS provider", () => {
    const skip = terraformUnavailable();
    let result: OfflineResult;
    beforeAll(async () => {
      if (skip) return;
      result = await checkOffline(stackJson(stage2, "lake-infra"), CROSSINGS);
    }, 300_000);

    it.skipIf(skip)("validates and plans lake-infra with an issuer of lake's tenant and location", () => {
      expect(result.validate.diagnostics).toEqual([]);
      expect(result.planSummary).toMatch(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/);
    });

    it.skipIf(skip)("refuses at plan an issuer the run role may not trust, rather than failing mid-apply: another tenant, or a host differing only where a dot was", async () => {
      const refused = (issuer: string) =>
        checkOffline(stackJson(stage2, "lake-infra"), { ...CROSSINGS, cluster_issuer: issuer }).then(
          (result) => result.planSummary ?? "",
          (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
        );
      for (const issuer of [AKS_ISSUER.replace("0000000000aa", "0000000000bb"), AKS_ISSUER.replace("northeurope.oic", "northeuropexoic")]) {
        expect(await refused(issuer)).toMatch(/Resource precondition failed[\s\S]*not one the Terraform Cloud run role may trust/);
      }
    }, 600_000);
  });
});

describe("stage 3 with Terraform Cloud", () => {
  const dirs = Object.fromEntries((["stage3b", "stage3c"] as const).map((name) => [name, synthAmongDefaults(STAGES[name], `move-tfc-${name}`)]));

  it("leaves lake-infra with its run identity alone at 3c, naming no role, boundary or provider it no longer has, and lets the run role destroy the rest", () => {
    const home = read(dirs.stage3c, "lake-infra");
    expect(Object.fromEntries(Object.entries(home.resource).map(([type, byId]) => [type, Object.keys(byId).length]))).toEqual({ aws_iam_openid_connect_provider: 1, aws_iam_role: 1, aws_iam_role_policy: 1 });
    // Its runs plan nothing: the role reads, tags its own trust anchor (the provider's default tags), and keeps its denials.
    expect(runPolicy(home).Statement.map((statement) => statement.Sid)).toEqual(["ReadIam", "Tags", "NeverRemoveABoundary", "NeverChangeItself", "NeverUsersOrKeys"]);
    expect(runPolicy(home).Statement.find((statement) => statement.Sid === "Tags")?.Resource).toBe("arn:aws:iam::555566667777:oidc-provider/app.terraform.io");
    expect(homeProblems(parseEnvironment(STAGES.stage3c, specChecks), home, {})).toEqual([]);
    const diffs = diffDirectories(dirs.stage3b, dirs.stage3c);
    expect(statefulOf(diffs).filter((entry) => entry.startsWith("gitops: "))).toEqual([]);
    expect(changesOf(diffs, "lake-infra", /terraform-cloud-trust/)).toEqual([expect.stringMatching(/^update aws_iam_role_policy\.platform_terraform-cloud-trust_delivery_\w+$/)]);
  });

  it.skipIf(terraformUnavailable())("validates lake-infra at 3c with the real AWS provider: nothing dangles once the boundary is gone", async () => {
    const result = await checkOffline(stackJson(dirs.stage3c, "lake-infra"));
    expect(result.validate.diagnostics).toEqual([]);
  }, 300_000);
});

describe("stage 2 of the move to GCP with Terraform Cloud: the new cluster workspace bootstrapped by hand", () => {
  const bootstrappingDir = synthAmongDefaults(inTerraformCloud(GCP.stage2, { bootstrapping: ["gcp"] }), "move-tfc-gcp-bootstrapping");
  const bootstrapping = read(bootstrappingDir, "gitops");
  const wired = synthAmongDefaults(inTerraformCloud(GCP.stage2), "move-tfc-gcp");
  const lakeIds = (stack: Stack, type: string) => resources(stack, type).map(([id]) => id).filter((id) => id.startsWith("lake-")).sort();

  it("has gitops leave lake-infra-gcp, and lake-apps' credentials and trigger from it, alone until the bootstrap ends; lake-infra's databases still reach lake-apps", () => {
    expect({ workspaces: lakeIds(bootstrapping, "tfe_workspace"), outputs: Object.keys(bootstrapping.data?.tfe_outputs ?? {}).filter((id) => id.startsWith("lake-")), triggers: lakeIds(bootstrapping, "tfe_run_trigger") }).toEqual({
      workspaces: ["lake-apps", "lake-infra"],
      outputs: ["lake-infra-outputs"],
      // The database hosts: lake-infra, gitops, lake-apps.
      triggers: ["lake-infra-to-gitops"],
    });
    expect(lakeIds(bootstrapping, "tfe_variable")).toEqual(["lake-apps-database_platform_admin_secret", "lake-apps-database_platform_host", "lake-infra-credentials"]);
    const gitops = read(wired, "gitops");
    expect(lakeIds(gitops, "tfe_workspace")).toEqual(["lake-apps", "lake-infra", "lake-infra-gcp"]);
    // The pull request that drops bootstrapping takes the workspace made by hand over by an import block; <env>-apps is gitops' own.
    const imports = (stack: Stack) => (stack.import ?? []).filter((one) => one.to.includes(".lake-"));
    expect({ bootstrapping: imports(bootstrapping), wired: imports(gitops) }).toEqual({
      bootstrapping: [{ to: "tfe_workspace.lake-infra", id: "acme-data/lake-infra" }],
      wired: [
        { to: "tfe_workspace.lake-infra-gcp", id: "acme-data/lake-infra-gcp" },
        { to: "tfe_workspace.lake-infra", id: "acme-data/lake-infra" },
      ],
    });
    expect(diffDirectories(bootstrappingDir, wired).find((diff) => diff.stack === "gitops")?.notes.filter((note) => note.startsWith("`import`"))).toEqual([
      "`import` tfe_workspace.lake-infra-gcp ← acme-data/lake-infra-gcp: Terraform takes that existing object over, unless it is in the state already (the plan fails if the object does not exist yet)",
    ]);
    expect(lakeIds(gitops, "tfe_variable")).toEqual(expect.arrayContaining(["lake-apps-credentials", "lake-infra-credentials", "lake-infra-gcp-credentials", "lake-infra-vpn_gateway_ips", "lake-infra-gcp-vpn_tunnel_ips"]));
  });

  it("gives the home's run role the GKE issuer's provider, derived from the spec, and nothing else to federate", () => {
    const home = read(wired, "lake-infra");
    const resource = runPolicy(home).Statement.find((statement) => statement.Sid === "ClusterOidcProviders")?.Resource;
    expect(resource).toBe("arn:aws:iam::555566667777:oidc-provider/container.googleapis.com/v1/projects/acme-data-lake/locations/europe-west1-b/clusters/lake-cluster");
    expect(homeProblems(parseEnvironment(inTerraformCloud(GCP.stage2), specChecks), home, {})).toEqual([]);
  });
});

describe("on GCP, what only the bootstrapper may change", () => {
  it("is said of a new app's service account and its grant to the run account where Terraform Cloud runs the stack, and not with local state", () => {
    const stagingGcp = environments.find((env) => (env as { name: string }).name === "staging-gcp") as EnvironmentInput & { apps: { name: string }[] };
    const withoutMetabase = { ...stagingGcp, apps: stagingGcp.apps.filter((app) => app.name !== "metabase") } as EnvironmentInput;
    const cautions = diffDirectories(synthAmongDefaults(withoutMetabase, "gcp-bootstrapper-before"), synthDefaults())
      .filter((diff) => diff.stack === "staging-gcp-infra")
      .flatMap((diff) => diff.cautions)
      .filter((caution) => caution.includes("as the bootstrapper (a project owner)"));
    expect(cautions.map((caution) => caution.split(": ")[0]).sort()).toEqual([
      expect.stringMatching(/^google_service_account\.platform_identity-metabase_\w+ created$/),
      expect.stringMatching(/^google_service_account_iam_member\.platform_terraform-cloud-trust_manage-staging-gcp-metabase_\w+ created$/),
    ]);
    // The same change with local state: the person applying it is the bootstrapper.
    const local = (spec: EnvironmentInput, prefix: string) => synthAmongDefaults({ ...spec, terraformCloud: undefined } as EnvironmentInput, prefix);
    expect(
      diffDirectories(local(withoutMetabase, "gcp-local-before"), local(stagingGcp, "gcp-local-after"))
        .flatMap((diff) => diff.cautions)
        .filter((caution) => caution.includes("as the bootstrapper (a project owner)")),
    ).toEqual([]);
  });
});
