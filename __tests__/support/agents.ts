/**
 * Who applies `<env>-apps`, and from where: checks of the synthesized gitops and infra stacks,
 * each rule with the upstream behaviour it encodes. Every check returns the problems it finds
 * (empty: none), so tests can show that a broken copy of a stack is rejected.
 */
import type { Environment } from "../../constructs/core/spec";
import type { SynthesizedStack, TfBlock } from "./synth";

/** `${type.id.attribute}` references in the synthesized JSON, resolved to their parts. */
export function reference(value: unknown): { type: string; id: string; attribute: string } | undefined {
  const match = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_[\].]+)\}$/.exec(String(value));
  return match ? { type: match[1], id: match[2], attribute: match[3] } : undefined;
}

/** Whether a value is a reference to `type.id` (its `attribute`, or any attribute when not given). */
const refersTo = (value: unknown, type: string, id: string, attribute?: string) => {
  const ref = reference(value);
  return ref?.type === type && ref.id === id && (attribute === undefined || ref.attribute === attribute);
};

/**
 * The `<env>-apps` workspace of every Terraform Cloud environment must run on an agent pool only
 * it may use:
 * - Its runs call the cluster API. With `publicAccessCidrs` empty the endpoint is private
 *   (reachable from inside the network only); with CIDRs, hosted runners still cannot be listed,
 *   since `/api/meta/ip-ranges` publishes api, notifications, sentinel and vcs ranges and no range
 *   for runs (developer.hashicorp.com/terraform/cloud-docs/architectural-details/ip-ranges).
 * - tfe v0.71.0, internal/provider/resource_tfe_workspace_settings.go: `execution_mode` is one of
 *   agent, local, remote; "agent" needs `agent_pool_id`.
 * - tfe v0.71.0, internal/provider/resource_tfe_agent_pool.go: `organization_scoped` defaults to
 *   true (every workspace of the organization may use the pool), so it must be set to false, and
 *   resource_tfe_agent_pool_allowed_workspaces.go names the workspaces that may.
 * - website/docs/r/agent_pool_allowed_workspaces.html.markdown: the settings take the pool id from
 *   the allowance, so the workspace is allowed before it is put on the pool.
 * - No `tfe_agent_token`: its `token` would sit in the gitops state (resource_tfe_agent_token.go
 *   keeps it, computed and sensitive); the bootstrap issues it straight into the cloud's secret store.
 */
export function gitopsAgentProblems(gitops: SynthesizedStack, envs: readonly Environment[]): string[] {
  const problems: string[] = [];
  if (Object.keys(gitops.resources("tfe_agent_token")).length > 0) problems.push("a tfe_agent_token keeps an agent token in the gitops state");
  for (const env of envs) {
    if (env.terraformCloud === undefined || env.apps.length === 0) continue;
    const workspace = `${env.name}-apps`;
    const why = env.cluster.publicAccessCidrs.length === 0 ? "its cluster API is private" : "hosted runners have no published range to allow";
    const settings = Object.values(gitops.resources("tfe_workspace_settings")).find((block) => refersTo(block.workspace_id, "tfe_workspace", workspace));
    if (!settings) {
      problems.push(`${workspace}: no tfe_workspace_settings, so it runs on hosted runners, but ${why}`);
      continue;
    }
    if (settings.execution_mode !== "agent") {
      problems.push(`${workspace}: execution_mode ${JSON.stringify(settings.execution_mode ?? "(organization default)")}, but ${why}: it must be "agent"`);
      continue;
    }
    const poolRef = reference(settings.agent_pool_id);
    if (!poolRef) {
      problems.push(`${workspace}: execution_mode "agent" without agent_pool_id (the tfe provider refuses it)`);
      continue;
    }
    let poolId = poolRef.id;
    if (poolRef.type === "tfe_agent_pool_allowed_workspaces") {
      const allowance = gitops.resources("tfe_agent_pool_allowed_workspaces")[poolRef.id];
      poolId = reference(allowance?.agent_pool_id)?.id ?? "";
    } else if (poolRef.type === "tfe_agent_pool") {
      problems.push(`${workspace}: agent_pool_id refers to the pool, not its allowance: the workspace may be put on the pool before it is allowed to use it`);
    } else {
      problems.push(`${workspace}: agent_pool_id refers to ${poolRef.type}, not an agent pool of this stack`);
      continue;
    }
    const pool = gitops.resources("tfe_agent_pool")[poolId];
    if (!pool) {
      problems.push(`${workspace}: agent_pool_id refers to no tfe_agent_pool of this stack`);
      continue;
    }
    if (pool.organization_scoped !== false) {
      problems.push(`${workspace}: agent pool ${String(pool.name)} is organization-scoped (organization_scoped defaults to true): every workspace of the organization could run on the agents that reach the cluster`);
    }
    const allowances = Object.values(gitops.resources("tfe_agent_pool_allowed_workspaces")).filter((block) => refersTo(block.agent_pool_id, "tfe_agent_pool", poolId));
    const allowed = allowances.flatMap((block) => (block.allowed_workspace_ids as unknown[] | undefined) ?? []);
    if (allowed.length !== 1 || !refersTo(allowed[0], "tfe_workspace", workspace)) {
      problems.push(`${workspace}: agent pool ${String(pool.name)} allows ${allowed.map(String).join(", ") || "no workspace"}: it must allow ${workspace} and nothing else`);
    }
  }
  return problems;
}

/** Blocks of a type whose attribute refers to `target` (any of its attributes). */
function referring(stack: SynthesizedStack, type: string, attribute: string, target: { type: string; id: string }): TfBlock[] {
  return stack.all(type).filter((block) => refersTo(block[attribute], target.type, target.id));
}

interface ContainerDefinition {
  readonly name: string;
  readonly environment?: { name: string; value: string }[];
  readonly secrets?: { name: string; valueFrom: string }[];
}

/**
 * The AWS agents of an infra stack that hosts them (one ECS service running hashicorp/tfc-agent):
 * - Reachability: in the private subnets without a public address; their security group admits
 *   nothing and sends TCP 443 only (a new security group in a VPC loses AWS's allow-all egress rule
 *   when Terraform creates it: the aws provider's security_group documentation, "NOTE on Egress
 *   rules"); the EKS cluster security group, which guards the private endpoint, admits 443 from it.
 * - The token: never in the JSON (in an environment variable, a secret version or a literal); the
 *   task reads it from a Secrets Manager secret of this stack through ECS `secrets`, which the
 *   execution role resolves; the container gets no task role, so no AWS credentials.
 */
export function awsAgentProblems(infra: SynthesizedStack): string[] {
  const problems: string[] = [];
  const services = Object.entries(infra.resources("aws_ecs_service"));
  if (services.length !== 1) return [`expected one ECS service for the agents, found ${services.length}`];
  const [, service] = services[0];
  const network = service.network_configuration as { subnets: unknown[]; security_groups: unknown[]; assign_public_ip?: boolean };
  if (network.assign_public_ip !== false) problems.push("the agents get a public address (assign_public_ip is not false)");
  for (const subnet of network.subnets) {
    const ref = reference(subnet);
    const block = ref?.type === "aws_subnet" ? infra.resources("aws_subnet")[ref.id] : undefined;
    if ((block?.tags as Record<string, string> | undefined)?.tier !== "private") problems.push(`the agents run in ${String(subnet)}, not a private subnet`);
  }
  if (network.security_groups.length !== 1) problems.push(`the agents have ${network.security_groups.length} security groups, not their own one`);
  const groupRef = reference(network.security_groups[0]);
  if (groupRef?.type !== "aws_security_group") return [...problems, "the agents' security group is not one of this stack"];
  const group = infra.resources("aws_security_group")[groupRef.id];
  const ingress = [
    ...((group.ingress as unknown[] | undefined) ?? []),
    ...referring(infra, "aws_vpc_security_group_ingress_rule", "security_group_id", groupRef),
    ...referring(infra, "aws_security_group_rule", "security_group_id", groupRef).filter((rule) => rule.type === "ingress"),
  ];
  if (ingress.length > 0) problems.push(`the agents' security group admits ${ingress.length} ingress rule(s): agents only poll outwards`);
  const egress: TfBlock[] = [
    ...((group.egress as TfBlock[] | undefined) ?? []).map((rule) => ({ ...rule, ip_protocol: rule.protocol })),
    ...referring(infra, "aws_vpc_security_group_egress_rule", "security_group_id", groupRef),
    ...referring(infra, "aws_security_group_rule", "security_group_id", groupRef).filter((rule) => rule.type === "egress").map((rule) => ({ ...rule, ip_protocol: rule.protocol })),
  ];
  for (const rule of egress) {
    if (rule.ip_protocol !== "tcp" || rule.from_port !== 443 || rule.to_port !== 443) {
      problems.push(`the agents' security group sends ${String(rule.ip_protocol)} ${String(rule.from_port)}-${String(rule.to_port)}: only TCP 443 is needed`);
    }
  }
  const toCluster = infra
    .all("aws_vpc_security_group_ingress_rule")
    .filter((rule) => reference(rule.security_group_id)?.type === "aws_eks_cluster" && refersTo(rule.referenced_security_group_id, "aws_security_group", groupRef.id));
  if (!toCluster.some((rule) => rule.ip_protocol === "tcp" && rule.from_port === 443 && rule.to_port === 443)) {
    problems.push("the EKS cluster security group does not admit 443 from the agents: the private API is out of reach");
  }

  const taskRef = reference(service.task_definition);
  const task = taskRef?.type === "aws_ecs_task_definition" ? infra.resources("aws_ecs_task_definition")[taskRef.id] : undefined;
  if (!task) return [...problems, "the agents' task definition is not one of this stack"];
  if (task.task_role_arn !== undefined) problems.push("the agents' task has a task role: runs must act with their workspace's dynamic credentials only");
  const containers = JSON.parse(String(task.container_definitions)) as ContainerDefinition[];
  for (const container of containers) {
    if (container.environment?.some((variable) => variable.name === "TFC_AGENT_TOKEN")) problems.push(`${container.name}: TFC_AGENT_TOKEN is a plain environment variable in the task definition`);
    const token = container.secrets?.find((secret) => secret.name === "TFC_AGENT_TOKEN");
    const secretRef = reference(token?.valueFrom);
    if (secretRef?.type !== "aws_secretsmanager_secret" || !infra.resources("aws_secretsmanager_secret")[secretRef.id]) {
      problems.push(`${container.name}: TFC_AGENT_TOKEN does not come from a Secrets Manager secret of this stack`);
    } else if (referring(infra, "aws_secretsmanager_secret_version", "secret_id", secretRef).length > 0) {
      problems.push(`${container.name}: the token secret has a version in the stack, so its value is in the JSON and the state`);
    }
  }
  if (/\.atlasv1\./.test(infra.text)) problems.push("a Terraform Cloud token (….atlasv1.…) is written in the JSON");
  return problems;
}

/**
 * The GCP agents of an infra stack that hosts them (a regional managed instance group):
 * - Reachability: VMs without an external address (no `access_config`) in the subnet of the GKE
 *   cluster, whose primary range GKE always lets reach the private control-plane endpoint; no
 *   firewall rule admits ingress to them (a rule without targets applies to every VM of the
 *   network); egress is TCP 443 only, enforced by a deny-all egress rule of lower precedence
 *   (higher number) than the allow rules and of higher precedence than the implied allow-egress
 *   rule at 65535 (VPC firewall rules: the lowest number wins). The google provider v6.50.0
 *   (google/services/compute/resource_compute_firewall.go) documents `direction` as INGRESS and
 *   `priority` as 1000 when unset, takes `allow` or `deny` (ExactlyOneOf), and `disabled` rules
 *   enforce nothing.
 * - Identity: the VMs' service account holds the token secret's accessor role and the log writer
 *   role, nothing else.
 * - The token: never in the JSON (a secret version of the token secret, a literal in the VM
 *   metadata); the VM reads it from Secret Manager at start.
 */
export function gcpAgentProblems(infra: SynthesizedStack): string[] {
  const problems: string[] = [];
  const groups = infra.all("google_compute_region_instance_group_manager");
  if (groups.length !== 1) return [`expected one regional instance group for the agents, found ${groups.length}`];
  const version = (groups[0].version as TfBlock[])[0];
  const templateRef = reference(version.instance_template);
  const template = templateRef?.type === "google_compute_instance_template" ? infra.resources("google_compute_instance_template")[templateRef.id] : undefined;
  if (!template) return ["the agents' instance template is not one of this stack"];

  problems.push(...gcpAgentSchemaProblems(groups[0], template, infra.all("google_compute_firewall")));

  const clusterSubnets = infra.all("google_container_cluster").map((cluster) => reference(cluster.subnetwork)?.id);
  for (const nic of template.network_interface as TfBlock[]) {
    if (nic.access_config !== undefined) problems.push("the agent VMs get an external address (access_config)");
    if (!clusterSubnets.includes(reference(nic.subnetwork)?.id)) problems.push(`the agent VMs are in ${String(nic.subnetwork)}, not the GKE cluster's subnet: the private control plane does not admit them`);
  }
  const accountRef = reference((template.service_account as TfBlock).email);
  if (accountRef?.type !== "google_service_account") return [...problems, "the agent VMs do not run as a service account of this stack"];
  const targetsAgents = (rule: TfBlock) => ((rule.target_service_accounts as unknown[] | undefined) ?? []).some((email) => refersTo(email, "google_service_account", accountRef.id));
  const untargeted = (rule: TfBlock) => rule.target_service_accounts === undefined && rule.target_tags === undefined;
  const rules = infra.all("google_compute_firewall").filter((rule) => targetsAgents(rule) || untargeted(rule));
  for (const rule of rules.filter((r) => (r.direction ?? "INGRESS") === "INGRESS" && r.allow !== undefined && r.disabled !== true)) {
    problems.push(`firewall rule ${String(rule.name)} admits ingress to the agent VMs: agents only poll outwards`);
  }
  const egress = rules.filter((rule) => rule.direction === "EGRESS");
  const allows = egress.filter((rule) => rule.allow !== undefined);
  for (const rule of allows) {
    for (const allow of rule.allow as TfBlock[]) {
      const ports = (allow.ports as string[] | undefined) ?? [];
      if (allow.protocol !== "tcp" || ports.length !== 1 || ports[0] !== "443") problems.push(`firewall rule ${String(rule.name)} lets the agents send ${String(allow.protocol)} ${ports.join(",") || "(all ports)"}: only TCP 443 is needed`);
    }
  }
  const highestAllow = Math.max(...allows.map((rule) => Number(rule.priority ?? 1000)));
  const denyAll = egress.filter(
    (rule) =>
      rule.disabled !== true &&
      (rule.deny as TfBlock[] | undefined)?.some((deny) => deny.protocol === "all") === true &&
      ((rule.destination_ranges as string[] | undefined) ?? []).includes("0.0.0.0/0"),
  );
  if (!denyAll.some((rule) => Number(rule.priority ?? 1000) > highestAllow && Number(rule.priority ?? 1000) < 65535)) {
    problems.push("no deny-all egress rule between the agents' allow rules and the implied allow-egress rule: the agents may send anything");
  }

  const member = (block: TfBlock) => refersTo(block.member, "google_service_account", accountRef.id);
  const secretGrants = infra.all("google_secret_manager_secret_iam_member").filter(member);
  const tokenSecrets = secretGrants.map((grant) => reference(grant.secret_id)?.id);
  if (secretGrants.length !== 1 || secretGrants[0].role !== "roles/secretmanager.secretAccessor") problems.push("the agents' service account must read exactly one secret, its token");
  for (const grant of infra.all("google_project_iam_member").filter(member)) {
    if (grant.role !== "roles/logging.logWriter") problems.push(`the agents' service account holds ${String(grant.role)} on the project: runs on the VM could use it`);
  }
  for (const type of ["google_service_account_iam_member", "google_storage_bucket_iam_member"]) {
    if (infra.all(type).some(member)) problems.push(`the agents' service account holds a ${type} grant`);
  }
  const versioned = infra.all("google_secret_manager_secret_version").filter((v) => tokenSecrets.includes(reference(v.secret)?.id));
  if (versioned.length > 0) problems.push("the token secret has a version in the stack, so its value is in the JSON and the state");
  if (/TFC_AGENT_TOKEN=(?!%s)/.test(String((template.metadata as TfBlock)["user-data"]))) problems.push("TFC_AGENT_TOKEN is written into the VM metadata");
  if (/\.atlasv1\./.test(infra.text)) problems.push("a Terraform Cloud token (….atlasv1.…) is written in the JSON");
  return problems;
}

/**
 * What the google provider v6.50.0 and the Compute API refuse in the agents' resources (no google
 * provider in the offline mirror, so these stand in for its validation):
 * - google/services/compute/resource_compute_region_instance_group_manager.go: `update_policy.type`
 *   is OPPORTUNISTIC or PROACTIVE, `minimal_action` NONE, REFRESH, RESTART or REPLACE;
 * - the Compute API reference (InstanceGroupManagerUpdatePolicy.maxSurge): at least one of
 *   `maxSurge` and `maxUnavailable` is above 0, and a regional group's default surge is its number
 *   of zones; that a fixed value must be 0 or at least the number of zones is from Google's MIG
 *   update guide, not re-read for this check;
 * - google/services/compute/resource_compute_instance_template.go: `name_prefix` at most 54 characters;
 * - google/services/compute/resource_compute_firewall.go: `direction` INGRESS or EGRESS, `priority`
 *   0 to 65535, exactly one of `allow` and `deny`.
 */
function gcpAgentSchemaProblems(group: TfBlock, template: TfBlock, firewalls: TfBlock[]): string[] {
  const problems: string[] = [];
  const policy = (group.update_policy ?? {}) as TfBlock;
  if (!["OPPORTUNISTIC", "PROACTIVE"].includes(String(policy.type))) problems.push(`update_policy.type ${String(policy.type)}: OPPORTUNISTIC or PROACTIVE`);
  if (!["NONE", "REFRESH", "RESTART", "REPLACE"].includes(String(policy.minimal_action))) problems.push(`update_policy.minimal_action ${String(policy.minimal_action)}: NONE, REFRESH, RESTART or REPLACE`);
  const zones = ((group.distribution_policy_zones as unknown[] | undefined) ?? []).length;
  const surge = Number(policy.max_surge_fixed ?? 0);
  const unavailable = Number(policy.max_unavailable_fixed ?? 0);
  for (const [field, value] of [["max_surge_fixed", surge], ["max_unavailable_fixed", unavailable]] as const) {
    if (value !== 0 && value < zones) problems.push(`update_policy.${field} ${value}: 0 or at least the group's ${zones} zones`);
  }
  if (surge === 0 && unavailable === 0) problems.push("update_policy: max_surge_fixed and max_unavailable_fixed are both 0, so no VM can ever be replaced");
  if (String(template.name_prefix ?? "").length > 54) problems.push(`name_prefix ${String(template.name_prefix)}: at most 54 characters`);
  for (const rule of firewalls) {
    if (rule.direction !== undefined && !["INGRESS", "EGRESS"].includes(String(rule.direction))) problems.push(`firewall ${String(rule.name)}: direction INGRESS or EGRESS`);
    const priority = Number(rule.priority ?? 1000);
    if (!Number.isInteger(priority) || priority < 0 || priority > 65535) problems.push(`firewall ${String(rule.name)}: priority 0 to 65535`);
    if ((rule.allow === undefined) === (rule.deny === undefined)) problems.push(`firewall ${String(rule.name)}: exactly one of allow and deny`);
  }
  return problems;
}
