import type { Construct } from "constructs";
import { Fn, TerraformIterator, TerraformOutput, TerraformStack, Token } from "cdktn";
import { TfeProvider } from "@cdktf/provider-tfe/lib/provider";
import { Project } from "@cdktf/provider-tfe/lib/project";
import { AgentPool } from "@cdktf/provider-tfe/lib/agent-pool";
import { AgentPoolAllowedWorkspaces } from "@cdktf/provider-tfe/lib/agent-pool-allowed-workspaces";
import { Workspace } from "@cdktf/provider-tfe/lib/workspace";
import { WorkspaceSettings } from "@cdktf/provider-tfe/lib/workspace-settings";
import { RunTrigger } from "@cdktf/provider-tfe/lib/run-trigger";
import { Variable } from "@cdktf/provider-tfe/lib/variable";
import { DataTfeOutputs } from "@cdktf/provider-tfe/lib/data-tfe-outputs";
import { DataTfeWorkspace } from "@cdktf/provider-tfe/lib/data-tfe-workspace";
import type { Gitops } from "../constructs/core/gitops";
import type { Environment } from "../constructs/core/spec";
import { COMMITTED_OUTPUT_DIR } from "./output";
import { configureTerraform, foreignCloudOf, isBootstrapping, stackKindsOf, stackName, type StackKind } from "./backend";
import { crossingsOf } from "../constructs/platform";
import { TERRAFORM_CLOUD_VARIABLES_OUTPUT } from "./infra";


/**
 * `gitops`: Terraform Cloud itself, managed from the environment named in `gitops.deployedFrom`.
 * For every environment with `terraformCloud`:
 * - a project per distinct `terraformCloud.project` (Terraform Cloud refuses two projects of one
 *   name in an organization; environments naming the same project share it), and a workspace per stack (`<env>-infra`, `<env>-apps`), VCS-driven, running in the
 *   stack's committed directory and triggered only by changes under it;
 * - `promoted` environments (production) follow the production branch and wait for a person to
 *   confirm each apply; `continuous` ones (staging, ops) follow main and apply by themselves;
 * - state is shared with no one except that `<env>-infra` shares with this workspace, which reads
 *   its dynamic-credential variables; `<env>-apps` finds the infra by names, not state, and a run
 *   trigger queues it after every infra apply;
 * - each workspace gets its environment's dynamic-credential variables (OIDC; no static key);
 * - `<env>-apps` runs on agents: its runs reach the cluster's private API, and Terraform Cloud's
 *   hosted runners come from addresses it does not publish. Per environment an agent pool named
 *   like the workspace (`<env>-apps`), usable by that workspace only; the environment's infra
 *   stack runs the agents inside its network. `<env>-infra` stays on hosted runners: it calls
 *   cloud APIs only.
 */
/** Output of this stack: agent pool id per pool name, for the bootstrap that issues the pools' tokens. */
export const AGENT_POOLS_OUTPUT = "agent_pools";

export class GitopsStack extends TerraformStack {
  private readonly self?: DataTfeWorkspace;

  constructor(scope: Construct, gitops: Gitops, envs: readonly Environment[]) {
    super(scope, "gitops");
    const home = envs.find((env) => env.name === gitops.deployedFrom);
    if (!home) throw new Error(`gitops.deployedFrom names "${gitops.deployedFrom}", which is not an environment (the spec check should have caught this)`);
    // Its workspace, `<home>-gitops`, is created by hand once (see the README's bootstrap).
    configureTerraform(this, home, "gitops");
    // The token comes from TFE_TOKEN: a team token of the gitops workspace, set as a sensitive variable.
    new TfeProvider(this, "tfe", {});

    const self = home.terraformCloud
      ? new DataTfeWorkspace(this, "gitops-workspace", { name: `${home.name}-gitops`, organization: home.terraformCloud.organization })
      : undefined;
    this.self = self;

    // Keyed by organization and name; the construct id is that of the first environment naming it.
    const projects = new Map<string, Project>();
    for (const env of envs) {
      const cloud = env.terraformCloud;
      if (cloud === undefined) continue;
      const projectKey = `${cloud.organization}/${cloud.project}`;
      const project = projects.get(projectKey) ?? new Project(this, `${env.name}-project`, { organization: cloud.organization, name: cloud.project });
      projects.set(projectKey, project);
      // A workspace on another cloud being bootstrapped by hand is left alone until it is imported.
      const kinds = stackKindsOf(env).filter((kind) => !isBootstrapping(env, kind));
      const workspaces = kinds.map((kind) => {
        const name = stackName(env, kind);
        const directory = `${COMMITTED_OUTPUT_DIR}/stacks/${name}`;
        const workspace = new Workspace(this, name, {
          name,
          organization: cloud.organization,
          projectId: project.id,
          description: `${kind} of ${env.name}, from ${directory}`,
          workingDirectory: directory,
          fileTriggersEnabled: true,
          triggerPrefixes: [directory],
          queueAllRuns: false,
          // A run queued by a run trigger (infra to apps; producer, gitops, consumer) applies by
          // itself only with this setting, whatever autoApply says (tfe 0.71.0
          // resource_tfe_workspace.go `auto_apply_run_trigger`, default false): as autoApply.
          autoApplyRunTrigger: cloud.release === "continuous",
          terraformVersion: gitops.terraformVersion,
          vcsRepo: {
            identifier: gitops.repository,
            branch: cloud.release === "promoted" ? gitops.productionBranch : gitops.mainBranch,
            githubAppInstallationId: gitops.githubAppInstallationId,
            oauthTokenId: gitops.oauthTokenId,
          },
          lifecycle: { preventDestroy: true },
        });
        // Every workspace but <env>-apps is created by hand and applied once before gitops reads its
        // outputs (README, "Bootstrap, once"): gitops takes it over by this import, which Terraform
        // skips once the workspace is in state (terraform v1.11.4 internal/terraform/node_resource_plan.go,
        // expandResourceImports). The id is <organization>/<name> (tfe v0.71.0 resource_tfe_workspace.go, resourceTFEWorkspaceImporter).
        if (kind !== "apps") workspace.importFrom(`${cloud.organization}/${name}`);
        new WorkspaceSettings(this, `${name}-settings`, {
          workspaceId: workspace.id,
          ...(kind === "apps" ? { executionMode: "agent", agentPoolId: this.agentPool(name, cloud.organization, workspace).id } : { executionMode: "remote" }),
          autoApply: cloud.release === "continuous",
          globalRemoteState: false,
          remoteStateConsumerIds: kind !== "apps" && self ? [self.id] : [],
        });
        return workspace;
      });
      const workspaceOf = (kind: StackKind) => workspaces[kinds.indexOf(kind)];
      // The cluster's workspace may be bootstrapped by hand (its new cloud at stage 2 of a move): the apps' wiring from it waits.
      const clusterWorkspace = kinds.includes("infra");
      if (kinds.includes("apps") && clusterWorkspace) new RunTrigger(this, `${env.name}-infra-to-apps`, { workspaceId: workspaceOf("apps").id, sourceableId: workspaceOf("infra").id });

      // Every infra workspace's outputs (it shares its state with this workspace alone): its
      // cloud's dynamic credentials, and the values it publishes for other stacks.
      const outputs = new Map<StackKind, DataTfeOutputs>();
      const outputsOf = (kind: StackKind) => {
        const existing = outputs.get(kind);
        if (existing !== undefined) return existing;
        // The first keeps the construct id it always had.
        const created = new DataTfeOutputs(this, `${stackName(env, kind)}-outputs`, { organization: cloud.organization, workspace: stackName(env, kind) });
        outputs.set(kind, created);
        return created;
      };
      workspaces.forEach((workspace, index) => {
        // A workspace on another cloud than the cluster's gets that cloud's credentials, from its own stack.
        const credentialsFrom: StackKind = foreignCloudOf(kinds[index]) === undefined ? "infra" : kinds[index];
        if (!kinds.includes(credentialsFrom)) return;
        const variables = TerraformIterator.fromMap(
          Fn.lookup(outputsOf(credentialsFrom).nonsensitiveValues, TERRAFORM_CLOUD_VARIABLES_OUTPUT, {}) as unknown as Record<string, string>,
        );
        // By the workspace's name, not its kind: when the cluster moves (stage 2), <env>-infra stays the
        // same workspace with the same credentials, and no variable is deleted from one workspace while
        // one of the same key is created on it.
        new Variable(this, `${stackName(env, kinds[index])}-credentials`, {
          forEach: variables,
          workspaceId: workspace.id,
          category: "env",
          key: variables.key,
          value: variables.value,
          description: credentialsFrom === "infra" ? "Dynamic provider credentials (OIDC), from the environment's infra outputs" : `Dynamic provider credentials (OIDC), from the outputs of ${stackName(env, credentialsFrom)}`,
        });
      });
      this.crossings(env, workspaceOf, outputsOf);
    }
    new TerraformOutput(this, AGENT_POOLS_OUTPUT, {
      value: Object.fromEntries([...this.pools].map(([name, pool]) => [name, pool.id])),
      description: "Agent pool id per pool (named like the one workspace that may use it), for issuing agent tokens",
    });
  }

  private readonly pools = new Map<string, AgentPool>();

  /**
   * The values that cross between the environment's stacks (`crossingsOf`): each is written into
   * its consumer's workspace as a Terraform variable from its producer's outputs (empty until the
   * producer has applied, which the consumer's validation then names). A changed variable queues
   * no run, so the producer's applies trigger this workspace and this workspace's applies trigger
   * the consumer: producer, gitops, consumer, in that order.
   */
  private crossings(env: Environment, workspaceOf: (kind: StackKind) => Workspace, outputsOf: (kind: StackKind) => DataTfeOutputs): void {
    const crossings = crossingsOf(env).filter((crossing) => !isBootstrapping(env, crossing.from) && !isBootstrapping(env, crossing.to));
    for (const crossing of crossings) {
      // `try`, not `lookup`: cdktn renders a lookup with a falsy default ("") as a plain attribute access.
      // A secret (the VPN's pre-shared keys) is among the sensitive `values` (tfe 0.71.0 data_source_outputs.go) and goes on as a sensitive variable.
      const outputs = crossing.sensitive ? outputsOf(crossing.from).values : outputsOf(crossing.from).nonsensitiveValues;
      const produced = Fn.try([Fn.lookupNested(outputs, [crossing.name]), crossing.type === "string" ? "" : []]);
      new Variable(this, `${stackName(env, crossing.to)}-${crossing.name}`, {
        workspaceId: workspaceOf(crossing.to).id,
        category: "terraform",
        key: crossing.name,
        ...(crossing.sensitive ? { sensitive: true } : {}),
        // A list goes as HCL: its JSON encoding is a valid HCL tuple of strings.
        ...(crossing.type === "string" ? { value: Token.asString(produced) } : { value: Fn.jsonencode(produced), hcl: true }),
        description: `${crossing.description}: the output ${crossing.name} of ${stackName(env, crossing.from)}`,
      });
    }
    if (this.self === undefined) return;
    const triggered = new Set<string>();
    const trigger = (id: string, workspaceId: string, sourceableId: string) => {
      if (triggered.has(id)) return;
      triggered.add(id);
      new RunTrigger(this, id, { workspaceId, sourceableId });
    };
    for (const crossing of crossings) {
      trigger(`${stackName(env, crossing.from)}-to-gitops`, this.self.id, workspaceOf(crossing.from).id);
      trigger(`gitops-to-${stackName(env, crossing.to)}`, workspaceOf(crossing.to).id, this.self.id);
    }
  }

  /**
   * An agent pool only `workspace` may use: not organization-scoped, and that workspace allowed.
   * Returns the allowance, whose id is the pool's (tfe v0.71.0
   * internal/provider/resource_tfe_agent_pool_allowed_workspaces.go sets it with `d.SetId(apID)`):
   * settings that reference it are applied after the workspace is allowed, as the provider's
   * documentation of that resource (website/docs/r/agent_pool_allowed_workspaces.html.markdown) asks.
   */
  private agentPool(name: string, organization: string, workspace: Workspace): AgentPoolAllowedWorkspaces {
    const pool = new AgentPool(this, `${name}-agent-pool`, { name, organization, organizationScoped: false });
    this.pools.set(name, pool);
    return new AgentPoolAllowedWorkspaces(this, `${name}-agent-pool-workspaces`, { agentPoolId: pool.id, allowedWorkspaceIds: [workspace.id] });
  }
}
