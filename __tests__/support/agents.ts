/**
 * Who applies `<env>-apps`, and from where: checks of the synthesized gitops and infra stacks,
 * each rule with the upstream behaviour it encodes. Every check returns the problems it finds
 * (empty: none), so tests can show that a broken copy of a stack is rejected.
 */
import { cidrsOverlap, type Ipv4Cidr, parseCidr } from "../../constructs/core/cidr";
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

/** A nested block as Terraform JSON may hold it: an object, or a list of them. */
const blocks = (value: unknown): TfBlock[] => (Array.isArray(value) ? (value as TfBlock[]) : value !== null && typeof value === "object" ? [value as TfBlock] : []);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)]);

/** The container app environment and NSG rule arguments the Azure checks read, with their azurerm 4.55.0 rules. */
const NSG_PROTOCOLS = ["*", "Tcp", "Udp", "Icmp", "Ah", "Esp"];

/**
 * An NSG rule's outbound flow Microsoft documents as required for a Container Apps workload
 * profiles environment besides HTTPS ("Securing a custom VNET in Azure Container Apps with
 * Network Security Groups", outbound table: UDP 123 to NTP; any protocol within the subnet).
 */
function containerAppsPlatformFlow(rule: TfBlock, subnetCidr: string): boolean {
  const ports = strings(rule.destination_port_range ?? rule.destination_port_ranges);
  if (rule.protocol === "Udp" && ports.length === 1 && ports[0] === "123") return true;
  // Azure DNS out, and the load balancer's probes in (container-apps/firewall-integration.md).
  const destinations = strings(rule.destination_address_prefix ?? rule.destination_address_prefixes);
  if (rule.direction === "Outbound" && ports.join() === "53" && destinations.join() === "168.63.129.16") return true;
  const sources = strings(rule.source_address_prefix ?? rule.source_address_prefixes);
  if (rule.direction === "Inbound" && rule.access === "Allow" && sources.join() === "AzureLoadBalancer" && ports.join() === "30000-32767" && rule.protocol === "Tcp") return true;
  const onlySubnet = (prefixes: string[]) => prefixes.length > 0 && prefixes.every((prefix) => prefix === subnetCidr);
  return onlySubnet(strings(rule.source_address_prefix ?? rule.source_address_prefixes)) && onlySubnet(strings(rule.destination_address_prefix ?? rule.destination_address_prefixes));
}

/**
 * What azurerm 4.55.0 refuses in the agents' resources (no azurerm provider runs here, so these
 * stand in for its validation), each rule from hashicorp/terraform-provider-azurerm v4.55.0:
 * - internal/services/containerapps/container_app_resource.go and helpers/container_apps.go:
 *   `revision_mode` Single or Multiple; `template.min_replicas` 0–300, `max_replicas` 1–300,
 *   `termination_grace_period_seconds` 0–600; validate/validate.go `ContainerAppName` (lowercase
 *   letters, digits and '-', at most 32 characters, no '--') and `ContainerAppContainerName`;
 *   a Key Vault `secret` needs both `identity` and `key_vault_secret_id` (CustomizeDiff);
 * - container_app_environment_resource.go: `internal_load_balancer_enabled` and
 *   `zone_redundancy_enabled` RequiredWith `infrastructure_subnet_id`;
 *   `infrastructure_resource_group_name` RequiredWith `workload_profile`, ForceNew, its diff
 *   suppressed only when a non-Consumption profile exists, so with Consumption profiles alone it
 *   must be set or Azure's generated name replaces the environment on every plan; `logs_destination`
 *   log-analytics or azure-monitor, log-analytics with `log_analytics_workspace_id` (CustomizeDiff);
 *   helpers/container_app_environment.go: a Consumption profile is named `Consumption`;
 * - internal/services/network/network_security_rule_resource.go: `priority` 100–4096, `direction`
 *   Inbound or Outbound, `access` Allow or Deny, `protocol` one of *, Tcp, Udp, Icmp, Ah, Esp,
 *   exactly one of `source_address_prefix(es)` and of `destination_address_prefix(es)`; and
 *   Azure's own rule (Microsoft, "Network security groups", security rules): no two rules of one
 *   group with the same priority and direction.
 */
function azureAgentSchemaProblems(app: TfBlock, environment: TfBlock, rules: TfBlock[]): string[] {
  const problems: string[] = [];
  if (!["Single", "Multiple"].includes(String(app.revision_mode))) problems.push(`revision_mode ${String(app.revision_mode)}: Single or Multiple`);
  const name = String(app.name);
  // Go's `^([a-z]\z)|(^([a-z0-9])([a-z0-9-.]{0,30})([^A-Z\W]))$`; `[^A-Z\W]` is [a-z0-9_].
  if (!/^[a-z]$|^[a-z0-9][a-z0-9.-]{0,30}[a-z0-9_]$/.test(name) || name.includes("--")) problems.push(`container app name ${name}: lowercase letters, digits and '-', at most 32 characters`);
  const template = blocks(app.template)[0] ?? {};
  const min = Number(template.min_replicas ?? 0);
  const max = Number(template.max_replicas ?? 10);
  if (!Number.isInteger(min) || min < 0 || min > 300) problems.push(`template.min_replicas ${min}: 0 to 300`);
  if (!Number.isInteger(max) || max < 1 || max > 300) problems.push(`template.max_replicas ${max}: 1 to 300`);
  const grace = Number(template.termination_grace_period_seconds ?? 0);
  if (grace < 0 || grace > 600) problems.push(`template.termination_grace_period_seconds ${grace}: 0 to 600`);
  for (const container of blocks(template.container)) {
    // validate.go `ContainerAppContainerName`: `^([a-z0-9]\z)|(^([a-z0-9])([a-z0-9-.]{0,44})([^A-Z\W])$)`.
    if (!/^[a-z0-9]$|^[a-z0-9][a-z0-9.-]{0,44}[a-z0-9_]$/.test(String(container.name))) problems.push(`container name ${String(container.name)}: lowercase letters, digits, '-' and '.', at most 46 characters`);
  }
  for (const secret of blocks(app.secret)) {
    if ((secret.key_vault_secret_id === undefined) !== (secret.identity === undefined)) problems.push(`secret ${String(secret.name)}: identity and key_vault_secret_id go together`);
  }
  const hasSubnet = environment.infrastructure_subnet_id !== undefined;
  for (const field of ["internal_load_balancer_enabled", "zone_redundancy_enabled"]) {
    if (environment[field] !== undefined && !hasSubnet) problems.push(`${field} needs infrastructure_subnet_id`);
  }
  const profiles = blocks(environment.workload_profile);
  for (const profile of profiles) {
    if (profile.workload_profile_type === "Consumption" && profile.name !== "Consumption") problems.push(`workload profile ${String(profile.name)}: a Consumption profile is named Consumption`);
  }
  if (environment.infrastructure_resource_group_name !== undefined && profiles.length === 0) problems.push("infrastructure_resource_group_name needs a workload_profile");
  if (profiles.length > 0 && profiles.every((profile) => profile.workload_profile_type === "Consumption") && environment.infrastructure_resource_group_name === undefined) {
    problems.push("infrastructure_resource_group_name unset with Consumption profiles only: Azure names the group, and the ForceNew diff replaces the environment on every plan");
  }
  const destination = environment.logs_destination;
  if (destination !== undefined && !["log-analytics", "azure-monitor"].includes(String(destination))) problems.push(`logs_destination ${String(destination)}: log-analytics or azure-monitor`);
  if (destination === "log-analytics" && environment.log_analytics_workspace_id === undefined) problems.push("logs_destination log-analytics needs log_analytics_workspace_id");
  problems.push(...azureSecurityRuleProblems(rules));
  return problems;
}

/**
 * What azurerm 4.55.0 and Azure refuse in the rules of one network security group
 * (internal/services/network/network_security_rule_resource.go at v4.55.0: `priority` 100–4096,
 * `direction` Inbound or Outbound, `access` Allow or Deny, `protocol` one of `NSG_PROTOCOLS`,
 * exactly one of `source_address_prefix(es)` and of `destination_address_prefix(es)`; Microsoft,
 * "Network security groups": no two rules of one group with the same priority and direction).
 */
export function azureSecurityRuleProblems(rules: readonly TfBlock[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    const label = `security rule ${String(rule.name)}`;
    const priority = Number(rule.priority);
    if (!Number.isInteger(priority) || priority < 100 || priority > 4096) problems.push(`${label}: priority ${String(rule.priority)}, 100 to 4096`);
    if (!["Inbound", "Outbound"].includes(String(rule.direction))) problems.push(`${label}: direction Inbound or Outbound`);
    if (!["Allow", "Deny"].includes(String(rule.access))) problems.push(`${label}: access Allow or Deny`);
    if (!NSG_PROTOCOLS.includes(String(rule.protocol))) problems.push(`${label}: protocol ${String(rule.protocol)}, one of ${NSG_PROTOCOLS.join(", ")}`);
    for (const side of ["source", "destination"]) {
      const given = [`${side}_address_prefix`, `${side}_address_prefixes`, `${side}_application_security_group_ids`].filter((field) => rule[field] !== undefined);
      if (given.length !== 1) problems.push(`${label}: exactly one of ${side}_address_prefix, ${side}_address_prefixes and ${side}_application_security_group_ids`);
    }
    const key = `${String(rule.direction)} ${priority}`;
    if (seen.has(key)) problems.push(`${label}: another ${String(rule.direction)} rule has priority ${priority}`);
    seen.add(key);
  }
  return problems;
}

/**
 * The Azure agents of an infra stack that hosts them (a Container Apps app running hashicorp/tfc-agent):
 * - Reachability: the app's environment is in a subnet of this stack, inside the address space
 *   of the AKS cluster's VNet (a private cluster's AKS-managed DNS zone, `private_dns_zone_id =
 *   "System"`, is linked to the nodes' VNet only: Microsoft, "Create a private AKS cluster"),
 *   delegated to Microsoft.App/environments, without default outbound access and with the NAT
 *   gateway; a public API endpoint with authorized ranges would not admit the NAT's address.
 * - No public address: an internal environment (an external one gets a public ingress IP) and
 *   no ingress on the app.
 * - Egress: an NSG on the subnet whose outbound Allow rules are TCP 443, or the two flows
 *   Microsoft requires for the platform (UDP 123, Azure DNS at 168.63.129.16:53, within the
 *   subnet), followed by a deny-all (the default AllowInternetOutBound rule at 65001 applies
 *   otherwise); inbound only within the subnet and the load balancer's probes (30000-32767), the
 *   rest of the VNet denied (the default AllowVnetInBound at 65000 admits it otherwise).
 * - Token, and who may read it: never in the JSON (an environment variable, a container app
 *   secret value, a literal); read at start from a Key Vault secret of this stack that Terraform
 *   never writes again (`ignore_changes = all`, or a later apply would put the placeholder back),
 *   with the agents' own user-assigned identity, which holds "Key Vault Secrets User" on that
 *   secret and nothing else, and nobody else holds a role on it.
 * - The kubelogin the container installs is a versioned release checked against a pinned SHA-256
 *   before it is written (the check runs for real in the Azure agent test).
 */
export function azureAgentProblems(infra: SynthesizedStack): string[] {
  const problems: string[] = [];
  const apps = infra.all("azurerm_container_app").filter((app) => blocks(blocks(app.template)[0]?.container).some((container) => String(container.image).startsWith("hashicorp/tfc-agent:")));
  if (apps.length !== 1) return [`expected one container app running hashicorp/tfc-agent, found ${apps.length}`];
  const app = apps[0];
  const template = blocks(app.template)[0];
  const container = blocks(template.container).find((c) => String(c.image).startsWith("hashicorp/tfc-agent:")) as TfBlock;
  if (!/^hashicorp\/tfc-agent:\d+\.\d+\.\d+$/.test(String(container.image))) problems.push(`the agent image ${String(container.image)} is not pinned to a release`);
  if (app.ingress !== undefined) problems.push("the agents' container app has an ingress: agents only poll outwards");

  const envRef = reference(app.container_app_environment_id);
  const environment = envRef?.type === "azurerm_container_app_environment" ? infra.resources("azurerm_container_app_environment")[envRef.id] : undefined;
  if (!environment) return [...problems, "the agents' container app environment is not one of this stack"];
  if (environment.internal_load_balancer_enabled !== true) problems.push("the agents' environment is external: Azure gives it a public ingress address");
  const profiles = blocks(environment.workload_profile);
  if (profiles.length === 0) problems.push("the agents' environment is Consumption-only: it takes no NAT gateway, so egress leaves through platform-managed addresses");
  else if (!profiles.some((profile) => profile.name === app.workload_profile_name)) problems.push(`the agents run on workload profile ${String(app.workload_profile_name)}, which the environment does not have`);

  const securityRules = (groupId: string) => [
    ...blocks(infra.resources("azurerm_network_security_group")[groupId]?.security_rule),
    ...infra.all("azurerm_network_security_rule").filter((rule) => refersTo(rule.network_security_group_name, "azurerm_network_security_group", groupId)),
  ];
  const subnetRef = reference(environment.infrastructure_subnet_id);
  const subnet = subnetRef?.type === "azurerm_subnet" ? infra.resources("azurerm_subnet")[subnetRef.id] : undefined;
  if (!subnetRef || !subnet) {
    return [...problems, `the agents' environment is in ${String(environment.infrastructure_subnet_id)}, not a subnet of this stack`, ...azureAgentSchemaProblems(app, environment, [])];
  }
  const cluster = infra.all("azurerm_kubernetes_cluster")[0];
  const nodeSubnetRef = reference(blocks(cluster?.default_node_pool)[0]?.vnet_subnet_id);
  const nodeSubnet = nodeSubnetRef ? infra.resources("azurerm_subnet")[nodeSubnetRef.id] : undefined;
  const vnetId = reference(nodeSubnet?.virtual_network_name)?.id;
  const vnet = vnetId ? infra.resources("azurerm_virtual_network")[vnetId] : undefined;
  const subnetCidr = strings(subnet.address_prefixes)[0] ?? "";
  if (!cluster || !vnet) return [...problems, "no AKS cluster in a VNet of this stack for the agents to reach"];
  if (reference(subnet.virtual_network_name)?.id !== vnetId) {
    problems.push("the agents' subnet is not in the AKS cluster's VNet: the private API and its AKS-managed DNS zone (linked to the nodes' VNet only) are out of reach");
  } else {
    const inside = (cidr: string) => strings(vnet.address_space).some((space) => {
      const outer = parseCidr(space);
      const inner = parseCidr(cidr);
      return outer !== undefined && inner !== undefined && inner.prefix >= outer.prefix && cidrsOverlap(outer, inner);
    });
    for (const cidr of strings(subnet.address_prefixes)) if (!inside(cidr)) problems.push(`the agents' subnet ${cidr} lies outside the VNet's address space ${strings(vnet.address_space).join(", ")}`);
    for (const [otherId, other] of Object.entries(infra.resources("azurerm_subnet"))) {
      if (otherId === subnetRef.id || reference(other.virtual_network_name)?.id !== vnetId) continue;
      const overlaps = strings(other.address_prefixes).some((cidr) => strings(subnet.address_prefixes).some((mine) => cidrsOverlap(parseCidr(cidr) as Ipv4Cidr, parseCidr(mine) as Ipv4Cidr)));
      if (overlaps) problems.push(`the agents' subnet overlaps subnet ${String(other.name)}`);
    }
  }
  if (!blocks(subnet.delegation).some((delegation) => blocks(delegation.service_delegation).some((service) => service.name === "Microsoft.App/environments"))) {
    problems.push("the agents' subnet is not delegated to Microsoft.App/environments, which a workload profiles environment requires");
  }
  if (subnet.default_outbound_access_enabled !== false) problems.push("the agents' subnet keeps Azure's default outbound access: egress must leave through the NAT gateway only");
  if (!infra.all("azurerm_subnet_nat_gateway_association").some((association) => refersTo(association.subnet_id, "azurerm_subnet", subnetRef.id))) {
    problems.push("the agents' subnet has no NAT gateway: their egress has no fixed address");
  }
  if (cluster.private_cluster_enabled !== true) {
    problems.push("the AKS API is public and admits only its authorized ranges; the agents egress from the NAT gateway's address, which the stack does not add to them");
  } else if (cluster.private_dns_zone_id !== undefined && cluster.private_dns_zone_id !== "System") {
    problems.push(`the AKS API's private DNS zone is ${String(cluster.private_dns_zone_id)}, not the AKS-managed one linked to the VNet`);
  }

  const association = infra.all("azurerm_subnet_network_security_group_association").find((a) => refersTo(a.subnet_id, "azurerm_subnet", subnetRef.id));
  const groupRef = reference(association?.network_security_group_id);
  const rules = groupRef?.type === "azurerm_network_security_group" ? securityRules(groupRef.id) : [];
  if (!groupRef) problems.push("no network security group on the agents' subnet: the default rules let them send anything");
  else {
    const inbound = rules.filter((rule) => rule.direction === "Inbound");
    const inboundAllows = inbound.filter((rule) => rule.access === "Allow");
    for (const rule of inboundAllows) {
      const loadBalancerProbe = strings(rule.source_address_prefix ?? rule.source_address_prefixes).join() === "AzureLoadBalancer" && containerAppsPlatformFlow(rule, subnetCidr);
      if (!loadBalancerProbe && !containerAppsPlatformFlow({ ...rule, protocol: "*", destination_port_range: "*" }, subnetCidr)) {
        problems.push(`security rule ${String(rule.name)} admits ingress to the agents from ${strings(rule.source_address_prefix ?? rule.source_address_prefixes).join(", ")}: agents only poll outwards`);
      }
    }
    const lastInboundAllow = Math.max(0, ...inboundAllows.map((rule) => Number(rule.priority)));
    const vnetDenied = inbound.some(
      (rule) => rule.access === "Deny" && rule.protocol === "*" && ["VirtualNetwork", "*"].includes(String(rule.source_address_prefix)) && Number(rule.priority) > lastInboundAllow,
    );
    if (!vnetDenied) problems.push("no inbound rule denies the rest of the VNet after the subnet's own flows: the default AllowVnetInBound rule admits every host of the VNet");

    const outbound = rules.filter((rule) => rule.direction === "Outbound");
    const allows = outbound.filter((rule) => rule.access === "Allow");
    for (const rule of allows) {
      const ports = strings(rule.destination_port_range ?? rule.destination_port_ranges);
      const https = rule.protocol === "Tcp" && ports.length === 1 && ports[0] === "443";
      if (!https && !containerAppsPlatformFlow(rule, subnetCidr)) {
        problems.push(`security rule ${String(rule.name)} lets the agents send ${String(rule.protocol)} ${ports.join(",")}: only TCP 443 is needed (and the NTP and in-subnet flows Container Apps requires)`);
      }
    }
    const lastAllow = Math.max(0, ...allows.map((rule) => Number(rule.priority)));
    const denyAll = outbound.some(
      (rule) =>
        rule.access === "Deny" &&
        rule.protocol === "*" &&
        rule.destination_address_prefix === "*" &&
        strings(rule.destination_port_range ?? rule.destination_port_ranges).join() === "*" &&
        Number(rule.priority) > lastAllow,
    );
    if (!denyAll) problems.push("no deny-all outbound rule after the agents' allow rules: the default AllowInternetOutBound rule lets them send anything");
  }

  // Identity and token.
  const identityBlock = blocks(app.identity)[0];
  const identityIds = strings(identityBlock?.identity_ids);
  const identityRef = identityIds.length === 1 ? reference(identityIds[0]) : undefined;
  if (identityBlock?.type !== "UserAssigned" || identityRef?.type !== "azurerm_user_assigned_identity") {
    return [...problems, "the agents do not run as exactly one user-assigned identity of this stack", ...azureAgentSchemaProblems(app, environment, rules)];
  }
  const grants = infra.all("azurerm_role_assignment").filter((role) => refersTo(role.principal_id, "azurerm_user_assigned_identity", identityRef.id));
  const tokenRef = grants.length === 1 ? reference(grants[0].scope) : undefined;
  const tokenSecret = tokenRef?.type === "azapi_resource" ? infra.resources("azapi_resource")[tokenRef.id] : undefined;
  if (grants.length !== 1 || grants[0].role_definition_name !== "Key Vault Secrets User" || !tokenSecret || !String(tokenSecret.type).startsWith("Microsoft.KeyVault/vaults/secrets@")) {
    problems.push(`the agents' identity must hold "Key Vault Secrets User" on its token secret and nothing else; it holds ${grants.map((g) => `${String(g.role_definition_name)} on ${String(g.scope)}`).join("; ") || "nothing"}`);
  } else {
    const others = infra.all("azurerm_role_assignment").filter((role) => refersTo(role.scope, "azapi_resource", tokenRef?.id ?? "") && !refersTo(role.principal_id, "azurerm_user_assigned_identity", identityRef.id));
    if (others.length > 0) problems.push(`${others.length} other role assignment(s) on the agent token secret: only the agents may read it`);
    const vaultRef = reference(tokenSecret.parent_id);
    const vault = vaultRef?.type === "azurerm_key_vault" ? infra.resources("azurerm_key_vault")[vaultRef.id] : undefined;
    const uri = vault ? `https://${String(vault.name)}.vault.azure.net/secrets/${String(tokenSecret.name)}` : "(no vault of this stack)";
    const args = strings(container.args);
    if (args[0] !== uri) problems.push(`the agents read their token from ${String(args[0])}, not the secret their identity may read (${uri})`);
    if (!refersTo(args[1], "azurerm_user_assigned_identity", identityRef.id, "client_id")) problems.push("the agents ask the identity endpoint for another identity than their own");
    if ((tokenSecret.lifecycle as TfBlock | undefined)?.ignore_changes !== "all") {
      problems.push("the token secret is not ignore_changes = all: a later apply would write its placeholder back over the token the bootstrap put there");
    }
  }
  for (const variable of blocks(container.env)) {
    if (variable.name === "TFC_AGENT_TOKEN") problems.push(`TFC_AGENT_TOKEN is set in the container definition (${variable.secret_name === undefined ? "a plain value in the JSON" : "a container app secret, kept in the state"})`);
  }
  for (const secret of blocks(app.secret)) {
    if (secret.value !== undefined) problems.push(`container app secret ${String(secret.name)} holds a value: it is in the JSON and the state`);
  }
  if (/\.atlasv1\./.test(infra.text)) problems.push("a Terraform Cloud token (….atlasv1.…) is written in the JSON");

  // The kubelogin download the entrypoint makes.
  const command = strings(container.command);
  const script = command[0] === "python3" && command[1] === "-c" ? (command[2] ?? "") : "";
  const url = /^KUBELOGIN_URL = "([^"]*)"$/m.exec(script)?.[1];
  const sha = /^KUBELOGIN_SHA256 = "([^"]*)"$/m.exec(script)?.[1];
  if (url === undefined) problems.push("the agents' entrypoint installs no kubelogin: the apps stack's exec plugin would not run");
  else {
    if (!/^https:\/\/github\.com\/Azure\/kubelogin\/releases\/download\/v\d+\.\d+\.\d+\/kubelogin-linux-amd64\.zip$/.test(url)) problems.push(`kubelogin comes from ${url}, not a versioned Azure/kubelogin release`);
    const checked = script.indexOf("if digest != KUBELOGIN_SHA256:");
    const hashed = script.indexOf("digest = hashlib.sha256(archive).hexdigest()");
    const written = script.indexOf("out.write(binary)");
    if (!sha || !/^[0-9a-f]{64}$/.test(sha) || hashed < 0 || checked < hashed || written < checked) problems.push("the kubelogin download is not checked against a pinned SHA-256 before it is installed");
  }
  return [...problems, ...azureAgentSchemaProblems(app, environment, rules)];
}
