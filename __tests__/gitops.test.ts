import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseGitops } from "../constructs/core/gitops";
import { parseEnvironment, parseEnvironments, type Environment } from "../constructs/core/spec";
import { environments } from "../environments";
import { gitops } from "../environments/gitops";
import { commitState, workspacesOf } from "../scripts/promote";
import { buildApp } from "../stacks/app";
import { stackKindsOf, stackName } from "../stacks/backend";
import { crossingsOf } from "../constructs/platform";
import { AGENT_POOLS_OUTPUT, GitopsStack } from "../stacks/gitops";
import { gitopsAgentProblems } from "./support/agents";
import { baseSpec, productionSpec } from "./support/fixtures";
import { tempDir } from "./support/outdir";
import { SynthesizedStack, type TfBlock } from "./support/synth";

const stack = new SynthesizedStack(Testing.synth(new GitopsStack(Testing.app(), parseGitops(gitops), parseEnvironments(environments))));
const workspace = (name: string) => stack.all("tfe_workspace").find((w) => w.name === name) as TfBlock;
const settings = (name: string) => stack.find("tfe_workspace_settings", `${name}-settings`);

describe("the gitops stack", () => {
  it("is deployed from ops: its own state is the ops-gitops workspace", () => {
    expect(stack.json.terraform?.cloud).toEqual({ organization: "acme-data", workspaces: { name: "ops-gitops", project: "data-platform-ops" } });
  });

  it("has a project per Terraform Cloud environment and a workspace per stack", () => {
    const managed = parseEnvironments(environments).filter((env) => env.terraformCloud !== undefined);
    // One project per distinct name: Terraform Cloud refuses two projects of one name in an organization.
    const projectKeys = stack.all("tfe_project").map((p) => `${String(p.organization)}/${String(p.name)}`);
    expect(projectKeys.sort()).toEqual([...new Set(managed.map((env) => `${env.terraformCloud?.organization}/${env.terraformCloud?.project}`))].sort());
    expect(stack.all("tfe_workspace").map((w) => w.name).sort()).toEqual(managed.flatMap((env) => stackKindsOf(env).map((kind) => stackName(env, kind))).sort());
  });

  it("runs each workspace from its stack's committed directory, triggered only by it", () => {
    expect(workspace("prod-infra")).toMatchObject({
      working_directory: "synthesized/stacks/prod-infra",
      trigger_prefixes: ["synthesized/stacks/prod-infra"],
      file_triggers_enabled: true,
      terraform_version: "1.11.4",
      vcs_repo: { identifier: "acme/data-platform", branch: "production", github_app_installation_id: "ghain-example0000" },
    });
    expect(workspace("staging-apps").vcs_repo).toMatchObject({ branch: "main" });
  });

  it("auto-applies staging and ops, and waits for a person in production", () => {
    expect(settings("staging-infra").auto_apply).toBe(true);
    expect(settings("ops-apps").auto_apply).toBe(true);
    expect(settings("prod-infra").auto_apply).toBe(false);
    expect(settings("prod-apps").auto_apply).toBe(false);
  });

  it("shares state only from infra to the gitops workspace, and triggers apps after infra", () => {
    for (const settingsBlock of stack.all("tfe_workspace_settings")) expect(settingsBlock.global_remote_state).toBe(false);
    expect(String(settings("prod-infra").remote_state_consumer_ids)).toMatch(/data\.tfe_workspace\.gitops-workspace/);
    expect(settings("prod-apps").remote_state_consumer_ids).toEqual([]);
    const trigger = stack.find("tfe_run_trigger", "prod-infra-to-apps");
    expect(String(trigger.workspace_id)).toContain("tfe_workspace.prod-apps");
    expect(String(trigger.sourceable_id)).toContain("tfe_workspace.prod-infra");
  });

  it("gives every workspace its environment's dynamic-credential variables, read from the infra outputs", () => {
    const variables = stack.all("tfe_variable").filter((variable) => variable.category === "env");
    // One (for_each) variable per workspace: every stack of every environment Terraform Cloud deploys.
    expect(variables).toHaveLength(parseEnvironments(environments).filter((env) => env.terraformCloud).flatMap(stackKindsOf).length);
    // The rest carry the values that cross between an environment's stacks (__tests__/cross-cloud-azure.test.ts).
    expect(stack.all("tfe_variable").filter((variable) => variable.category !== "env")).toHaveLength(parseEnvironments(environments).filter((env) => env.terraformCloud).flatMap(crossingsOf).length);
    for (const variable of variables) {
      expect(variable).toMatchObject({ category: "env" });
      expect(String(variable.for_each)).toContain("terraform_cloud_variables");
      expect(variable).not.toHaveProperty("sensitive");
    }
  });

  it("leaves infra workspaces on hosted runners: they call cloud APIs only", () => {
    for (const env of parseEnvironments(environments).filter((e) => e.terraformCloud)) {
      expect(settings(`${env.name}-infra`)).toMatchObject({ execution_mode: "remote" });
      expect(settings(`${env.name}-infra`)).not.toHaveProperty("agent_pool_id");
    }
  });

  it("runs every apps workspace on an agent pool only that workspace may use", () => {
    const envs = parseEnvironments(environments);
    expect(gitopsAgentProblems(stack, envs)).toEqual([]);
    const appsWorkspaces = envs.filter((env) => env.terraformCloud && env.apps.length > 0).map((env) => `${env.name}-apps`);
    expect(appsWorkspaces.length).toBeGreaterThan(0);
    expect(stack.all("tfe_agent_pool").map((pool) => pool.name).sort()).toEqual([...appsWorkspaces].sort());
    expect(stack.find("tfe_agent_pool", "prod-apps-agent-pool")).toMatchObject({ name: "prod-apps", organization: "acme-data", organization_scoped: false });
    expect(settings("prod-apps")).toMatchObject({ execution_mode: "agent", agent_pool_id: "${tfe_agent_pool_allowed_workspaces.prod-apps-agent-pool-workspaces.id}" });
    expect(stack.find("tfe_agent_pool_allowed_workspaces", "prod-apps-agent-pool-workspaces")).toMatchObject({
      agent_pool_id: "${tfe_agent_pool.prod-apps-agent-pool.id}",
      allowed_workspace_ids: ["${tfe_workspace.prod-apps.id}"],
    });
    expect(Object.keys(stack.json.output?.[AGENT_POOLS_OUTPUT]?.value as Record<string, string>).sort()).toEqual([...appsWorkspaces].sort());
  });

  it("has agents for every pool in its environment's infra stack, as many as the spec asks", () => {
    const hosted = (env: Environment): number | undefined => {
      const infra = new SynthesizedStack(readFileSync(join(__dirname, "..", "synthesized", "stacks", `${env.name}-infra`, "cdk.tf.json"), "utf8"));
      const service = infra.all("aws_ecs_service").find((block) => String(block.name).endsWith("-terraform-cloud-agent"));
      const group = infra.all("google_compute_region_instance_group_manager").find((block) => String(block.name).endsWith("-tfc-agent"));
      const app = infra.all("azurerm_container_app").find((block) => String(block.name).endsWith("-tfc-agent"));
      const replicas = app && (app.template as TfBlock).min_replicas;
      return (service?.desired_count ?? group?.target_size ?? replicas) as number | undefined;
    };
    const pools = parseEnvironments(environments).filter((env) => env.terraformCloud && env.apps.length > 0);
    expect(pools.map((env) => env.cloud).sort()).toEqual(expect.arrayContaining(["aws", "azure", "gcp"]));
    for (const env of pools) expect({ env: env.name, agents: hosted(env) }).toEqual({ env: env.name, agents: env.terraformCloud?.agents });
  });

  describe("rejects", () => {
    const envs = parseEnvironments(environments);
    const edited = (edit: (resource: Record<string, Record<string, TfBlock>>) => void) => {
      const json = structuredClone(stack.json) as { resource: Record<string, Record<string, TfBlock>> };
      edit(json.resource);
      return new SynthesizedStack(JSON.stringify(json));
    };

    it("an apps workspace on hosted runners while its cluster API is private", () => {
      expect(envs.find((env) => env.name === "prod")?.cluster.publicAccessCidrs).toEqual([]);
      const hosted = edited((resource) => {
        resource.tfe_workspace_settings["prod-apps-settings"].execution_mode = "remote";
        delete resource.tfe_workspace_settings["prod-apps-settings"].agent_pool_id;
      });
      expect(gitopsAgentProblems(hosted, envs)).toEqual(['prod-apps: execution_mode "remote", but its cluster API is private: it must be "agent"']);
      const unset = edited((resource) => delete resource.tfe_workspace_settings["prod-apps-settings"]);
      expect(gitopsAgentProblems(unset, envs)).toEqual([expect.stringContaining("prod-apps: no tfe_workspace_settings")]);
      const noPool = edited((resource) => delete resource.tfe_workspace_settings["prod-apps-settings"].agent_pool_id);
      expect(gitopsAgentProblems(noPool, envs)).toEqual([expect.stringContaining("without agent_pool_id")]);
    });

    it("an apps workspace on hosted runners even with public CIDRs: hosted runs have no published range", () => {
      const open = envs.map((env) => (env.name === "prod" ? { ...env, cluster: { ...env.cluster, publicAccessCidrs: ["203.0.113.0/24"] } } : env));
      const hosted = edited((resource) => {
        resource.tfe_workspace_settings["prod-apps-settings"].execution_mode = "remote";
      });
      expect(gitopsAgentProblems(hosted, open)).toEqual([expect.stringContaining("hosted runners have no published range")]);
    });

    it("a pool not restricted to its workspace: organization-scoped, allowing another workspace, or none", () => {
      const scoped = edited((resource) => delete resource.tfe_agent_pool["prod-apps-agent-pool"].organization_scoped);
      expect(gitopsAgentProblems(scoped, envs)).toEqual([expect.stringContaining("is organization-scoped")]);
      const shared = edited((resource) => {
        resource.tfe_agent_pool_allowed_workspaces["prod-apps-agent-pool-workspaces"].allowed_workspace_ids = ["${tfe_workspace.prod-apps.id}", "${tfe_workspace.prod-infra.id}"];
      });
      expect(gitopsAgentProblems(shared, envs)).toEqual([expect.stringContaining("it must allow prod-apps and nothing else")]);
      const unrestricted = edited((resource) => {
        delete resource.tfe_agent_pool_allowed_workspaces["prod-apps-agent-pool-workspaces"];
        resource.tfe_workspace_settings["prod-apps-settings"].agent_pool_id = "${tfe_agent_pool.prod-apps-agent-pool.id}";
      });
      expect(gitopsAgentProblems(unrestricted, envs)).toEqual([expect.stringContaining("refers to the pool, not its allowance"), expect.stringContaining("allows no workspace")]);
    });

    it("an agent token in the gitops state", () => {
      const token = edited((resource) => {
        resource.tfe_agent_token = { "prod-apps": { agent_pool_id: "${tfe_agent_pool.prod-apps-agent-pool.id}", description: "prod" } };
      });
      expect(gitopsAgentProblems(token, envs)).toEqual(["a tfe_agent_token keeps an agent token in the gitops state"]);
    });
  });

  it("rejects delivery settings with both or no VCS connection", () => {
    expect(() => parseGitops({ ...gitops, oauthTokenId: "ot-abc" })).toThrow(/exactly one of githubAppInstallationId or oauthTokenId/);
  });

  it("rejects a gitops home without Terraform Cloud", () => {
    const local = { ...baseSpec(), name: "local" };
    const cloud = {
      ...baseSpec(),
      name: "cloud",
      network: { cidr: "10.43.0.0/16" },
      accounts: { aws: { region: "eu-central-1", accountId: "210987654321" } },
      terraformCloud: { organization: "acme-data", project: "data-platform" },
    };
    expect(() => buildApp([local, cloud], tempDir("gitops"), { ...gitops, deployedFrom: "local" })).toThrow(/deployedFrom: given "local"; accepted: an environment with terraformCloud \(cloud\)/);
  });
});

describe("terraformCloud.agents", () => {
  const terraformCloud = { organization: "acme-data", project: "data-platform" };

  it("defaults to two agents in production, one elsewhere", () => {
    expect(parseEnvironment({ ...productionSpec(), terraformCloud }).terraformCloud?.agents).toBe(2);
    expect(parseEnvironment({ ...baseSpec(), terraformCloud }).terraformCloud?.agents).toBe(1);
    expect(parseEnvironment({ ...baseSpec(), terraformCloud: { ...terraformCloud, agents: 4 } }).terraformCloud?.agents).toBe(4);
  });

  it.each([0, 11, 1.5])("refuses %s agents with one message naming the field", (agents) => {
    expect(() => parseEnvironment({ ...baseSpec(), terraformCloud: { ...terraformCloud, agents } })).toThrow(
      new RegExp(`terraformCloud\\.agents: given ${agents}; accepted: a whole number from 1 to 10`),
    );
  });
});

describe("AWS trust for Terraform Cloud runs (in <env>-infra)", () => {
  const infra = new SynthesizedStack(readFileSync(join(__dirname, "..", "synthesized", "stacks", "prod-infra", "cdk.tf.json"), "utf8"));

  it("lets only this environment's workspaces assume the role, through app.terraform.io's OIDC", () => {
    const provider = infra.all("aws_iam_openid_connect_provider").find((p) => p.url === "https://app.terraform.io");
    expect(provider).toMatchObject({ client_id_list: ["aws.workload.identity"] });
    const trust = SynthesizedStack.policy(infra.find("aws_iam_role", /^platform_terraform-cloud-trust_[A-F0-9]+$/), "assume_role_policy").Statement[0];
    expect(trust.Condition).toEqual({
      StringEquals: { "app.terraform.io:aud": "aws.workload.identity" },
      StringLike: {
        "app.terraform.io:sub": [
          "organization:acme-data:project:data-platform-prod:workspace:prod-infra:run_phase:*",
          "organization:acme-data:project:data-platform-prod:workspace:prod-apps:run_phase:*",
        ],
      },
    });
    expect(infra.json.output?.terraform_cloud_variables).toMatchObject({ value: { TFC_AWS_PROVIDER_AUTH: "true" } });
    expect(infra.text).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws_iam_access_key/);
  });
});

describe("promotion to production", () => {
  it("promotes a commit only once staging applied it, and never one that failed", () => {
    expect(commitState([{ status: "applied", commitSha: "abc" }], "abc")).toBe("applied");
    expect(commitState([{ status: "planned_and_finished", commitSha: "abc" }], "abc")).toBe("applied");
    expect(commitState([{ status: "planning", commitSha: "abc" }, { status: "applied", commitSha: "old" }], "abc")).toBe("pending");
    expect(commitState([{ status: "errored", commitSha: "abc" }], "abc")).toBe("failed");
    expect(commitState([], "abc")).toBe("pending");
  });

  it("waits for the staging workspaces named by the spec", () => {
    expect(workspacesOf("staging")).toEqual({ organization: "acme-data", workspaces: ["staging-infra", "staging-apps"] });
  });
});

describe("GitHub Actions workflows", () => {
  const dir = join(__dirname, "..", ".github", "workflows");
  const workflows = new Map(readdirSync(dir).map((file) => [file, parse(readFileSync(join(dir, file), "utf8")) as { on: Record<string, unknown>; jobs: Record<string, { steps: { run?: string; uses?: string; env?: Record<string, string> }[] }> }]));
  const runs = (file: string) => Object.values(workflows.get(file)?.jobs ?? {}).flatMap((job) => job.steps.map((step) => step.run ?? "")).join("\n");

  it("check a pull request: install, lint, synth, the stale-output check, test, and the per-stack diff", () => {
    const pr = runs("pull-request.yml");
    expect(Object.keys(workflows.get("pull-request.yml")?.on ?? {})).toEqual(["pull_request"]);
    for (const command of ["npm ci", "npm run lint", "npm run synth", "git diff --exit-code --stat -- synthesized", "npm test", "scripts/stack-diff.ts", "GITHUB_STEP_SUMMARY"]) {
      expect(pr).toContain(command);
    }
    const diffStep = Object.values(workflows.get("pull-request.yml")?.jobs ?? {}).flatMap((job) => job.steps).find((step) => step.run?.includes("stack-diff"));
    expect(diffStep?.env?.ALLOW_STATEFUL).toContain("allow-stateful-replacement");
  });

  it("never apply anything: Terraform Cloud does", () => {
    for (const file of workflows.keys()) expect(runs(file)).not.toMatch(/cdktn deploy|terraform apply|npm run deploy/);
  });

  it("promote production only after staging applied the commit, by fast-forward", () => {
    const promote = runs("promote-production.yml");
    expect(promote.indexOf("scripts/promote.ts wait --environment staging")).toBeGreaterThanOrEqual(0);
    expect(promote.indexOf("scripts/promote.ts wait")).toBeLessThan(promote.indexOf("refs/heads/production"));
    expect(promote).not.toContain("--force");
  });

  it("pin every action to a major version", () => {
    const actions = [...workflows.values()].flatMap((workflow) => Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.uses))).filter((uses) => uses !== undefined);
    expect(actions.length).toBeGreaterThan(0);
    for (const uses of actions) expect(uses).toMatch(/@v\d+$/);
  });
});
