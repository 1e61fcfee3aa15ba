/**
 * The permission model of an environment, read from its synthesized stacks: which identity applies
 * which stack, from where, and whether it holds everything each resource of that stack needs. The
 * cloud rules below (what a built-in role or managed policy allows, what a resource type needs,
 * what is reachable from Terraform Cloud's hosted runners) are encoded from the clouds' own
 * documentation, cited at each table; the grants themselves are read from the synthesized JSON, so
 * a grant our code forgets, or a resource it adds that no grant covers, fails.
 *
 * Who applies what (README, "Bootstrap, once"): with `terraformCloud`, the bootstrapper (an owner
 * of the account, subscription or project) applies `<env>-infra` once; from then on the
 * environment's Terraform Cloud run identity applies both stacks, `<env>-apps` after `<env>-infra`.
 * Without it, a person applies both with `npm run deploy` and needs what the run identity would.
 */
import type { Environment } from "../../constructs/core/spec";
import { awsAgentProblems, azureAgentProblems, gcpAgentProblems } from "./agents";
import { SynthesizedStack } from "./synth";
import { at, isMap, list } from "./values";

type Json = Record<string, unknown>;
export interface StackJson {
  resource?: Record<string, Record<string, Json>>;
  data?: Record<string, Record<string, Json>>;
}

export interface PermissionProblem {
  readonly stack: string;
  readonly address: string;
  /** What the resource needs that its applier lacks, and why it matters. */
  readonly problem: string;
}

export interface EnvironmentStacks {
  readonly env: Environment;
  readonly infra: StackJson;
  readonly apps?: StackJson;
  readonly gitops?: StackJson;
  /**
   * The infra stack's cloud and name when it is not the cluster's: a stack on another cloud (or
   * the home a cluster moved away from), checked alone, with the values Terraform Cloud writes
   * into its crossing variables (`variables`).
   */
  readonly foreign?: { readonly cloud: Environment["cloud"]; readonly stack: string; readonly variables: Readonly<Record<string, string>> };
}

/**
 * `text` with the stack's input variables put in, where Terraform would: `${var.x}` and the
 * functions the stacks wrap them in (`trimprefix`, `trimsuffix`), innermost first. A variable
 * left inside another function is a function the model does not know: refused, not guessed.
 */
function withVariables(text: string, variables: Readonly<Record<string, string>>): string {
  const literal = (value: string) => JSON.stringify(value);
  const splice = (whole: string, at: number, by: string, within: string) => within.slice(0, at) + by + within.slice(at + whole.length);
  let out = text.replace(/\bvar\.([A-Za-z0-9_]+)/g, (whole: string, name: string) => (name in variables ? literal(variables[name]) : whole));
  const call = /(trimprefix|trimsuffix)\(("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")\)/;
  for (let match = call.exec(out); match !== null; match = call.exec(out)) {
    const [whole, fn, value, affix] = match;
    const [v, a] = [JSON.parse(value) as string, JSON.parse(affix) as string];
    const result = fn === "trimprefix" ? (v.startsWith(a) ? v.slice(a.length) : v) : v.endsWith(a) ? v.slice(0, v.length - a.length) : v;
    out = splice(whole, match.index, literal(result), out);
  }
  const inline = /\$\{("(?:[^"\\]|\\.)*")\}/;
  for (let match = inline.exec(out); match !== null; match = inline.exec(out)) out = splice(match[0], match.index, JSON.parse(match[1]) as string, out);
  const unknown = /\$\{[^}]*"[^}]*\}/.exec(out);
  if (unknown !== null && Object.keys(variables).some((name) => text.includes(`var.${name}`))) throw new Error(`the permission model cannot evaluate ${unknown[0]}: teach withVariables its function`);
  return out;
}

/** Where the identity that applies a stack runs, which decides what it can reach. */
type RunsFrom =
  /** Terraform Cloud's hosted runners: the internet, with no published, fixed source range. */
  | "terraform-cloud-hosted"
  /** A Terraform Cloud agent the environment's infra stack runs inside its own network. */
  | "agent-in-network"
  /** A person's machine: the internet, from a range we cannot know. */
  | "person";

interface Resource {
  readonly type: string;
  readonly name: string;
  readonly address: string;
  readonly config: Json;
}

function resourcesOf(stack: StackJson | undefined): Resource[] {
  return Object.entries(stack?.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, config]) => ({ type, name, address: `${type}.${name}`, config })),
  );
}

const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value ?? null));

/** Does `config` mention `${<address>` (a Terraform reference to that resource)? */
const references = (value: unknown, address: string): boolean => text(value).includes(`\${${address}.`);

/**
 * How the `<env>-apps` stack is run: by Terraform Cloud's hosted runners unless the gitops stack
 * puts its workspace on an agent pool, and by a person without Terraform Cloud.
 */
function appsRunFrom(stacks: EnvironmentStacks): RunsFrom {
  if (!stacks.env.terraformCloud) return "person";
  const settings = resourcesOf(stacks.gitops).find((r) => r.type === "tfe_workspace_settings" && references(r.config.workspace_id, `tfe_workspace.${stacks.env.name}-apps`));
  if (settings?.config.execution_mode !== "agent") return "terraform-cloud-hosted";
  return agentHostedInNetwork(stacks) ? "agent-in-network" : "terraform-cloud-hosted";
}

/**
 * The infra stack runs Terraform Cloud agents inside the network, reaching the private API
 * endpoint (the checks of `support/agents.ts`: private subnets, the cluster's own subnet, the
 * cluster security group admitting them, the VNet on Azure).
 */
function agentHostedInNetwork(stacks: EnvironmentStacks): boolean {
  const infra = new SynthesizedStack(JSON.stringify(stacks.infra));
  if (stacks.env.cloud === "aws") return awsAgentProblems(infra).length === 0;
  if (stacks.env.cloud === "gcp") return gcpAgentProblems(infra).length === 0;
  return azureAgentProblems(infra).length === 0;
}

/**
 * Can an applier running from `from` reach the cluster's API server, read from the infra stack?
 * Terraform Cloud's hosted runs have no fixed source range (HashiCorp, "IP Ranges": the ranges
 * `/api/meta/ip-ranges` lists are for API, notifications, sentinel and VCS, not for run egress),
 * and a spec never lists `0.0.0.0/0`, so from the internet only a person inside
 * `publicAccessCidrs` gets through; an agent in the network reaches the private endpoint.
 */
function clusterApiReachable(stacks: EnvironmentStacks, from: RunsFrom): string | undefined {
  if (from === "agent-in-network") return undefined;
  const open = publicApiRanges(stacks.infra);
  if (from === "person") return open.length > 0 ? undefined : "a person outside the network cannot reach a private API endpoint (list your range in cluster.publicAccessCidrs or run from inside the network)";
  return open.includes("0.0.0.0/0")
    ? undefined
    : `Terraform Cloud's hosted runners have no fixed source range, and the API endpoint admits ${open.length === 0 ? "no public range at all" : open.join(", ")}: run the workspace on an agent inside the network`;
}

/** The public ranges the cluster's API endpoint admits (empty: private only). */
function publicApiRanges(infra: StackJson): string[] {
  for (const r of resourcesOf(infra)) {
    if (r.type === "aws_eks_cluster") {
      const vpc = r.config.vpc_config as Json;
      return vpc.endpoint_public_access === true ? (list(vpc.public_access_cidrs) as string[]) : [];
    }
    if (r.type === "azurerm_kubernetes_cluster") {
      if (r.config.private_cluster_enabled === true) return [];
      const profile = r.config.api_server_access_profile as Json | undefined;
      return profile ? (list(profile.authorized_ip_ranges) as string[]) : ["0.0.0.0/0"];
    }
    if (r.type === "google_container_cluster") {
      const privateConfig = r.config.private_cluster_config as Json | undefined;
      if (privateConfig?.enable_private_endpoint === true) return [];
      const authorized = (r.config.master_authorized_networks_config as Json | undefined)?.cidr_blocks;
      return authorized === undefined ? ["0.0.0.0/0"] : list(authorized).map((block) => text((block as Json).cidr_block));
    }
  }
  return [];
}

/** `stacks` with a foreign stack's variables put in its every string (`withVariables`). */
function withForeignVariables(stacks: EnvironmentStacks): EnvironmentStacks {
  const variables = stacks.foreign?.variables;
  if (variables === undefined) return stacks;
  const put = (value: unknown): unknown =>
    typeof value === "string"
      ? withVariables(value, variables)
      : Array.isArray(value)
        ? value.map(put)
        : // Lifecycle conditions ask nothing of the applier.
          isMap(value)
          ? Object.fromEntries(Object.entries(value).map(([key, one]) => [put(key), key === "lifecycle" ? one : put(one)]))
          : value;
  // Resources alone: a variable's own validation is no request of the applier's.
  return { ...stacks, infra: { ...stacks.infra, resource: put(stacks.infra.resource) as StackJson["resource"] } };
}

/** The problems of one environment: every resource of every stack against its applier. */
export function permissionProblems(given: EnvironmentStacks): PermissionProblem[] {
  const stacks = withForeignVariables(given);
  const rules = CLOUD_RULES[stacks.foreign?.cloud ?? stacks.env.cloud];
  const problems: PermissionProblem[] = [];
  const infraName = stacks.foreign?.stack ?? `${stacks.env.name}-infra`;
  const appsName = `${stacks.env.name}-apps`;
  const runIdentity = stacks.env.terraformCloud ? rules.runIdentity(stacks.infra) : undefined;
  if (stacks.env.terraformCloud && runIdentity === undefined) {
    problems.push({ stack: infraName, address: "(run identity)", problem: "the environment uses Terraform Cloud but its infra stack creates no run identity" });
    return problems;
  }
  for (const resource of resourcesOf(stacks.infra)) {
    for (const problem of rules.infraNeeds(resource, stacks, runIdentity)) problems.push({ stack: infraName, address: resource.address, problem });
  }
  if ((stacks.foreign?.cloud ?? stacks.env.cloud) === "gcp" && runIdentity !== undefined) {
    for (const problem of gcpEscalationProblems(stacks, runIdentity)) problems.push({ stack: infraName, address: "(run identity)", problem });
  }
  if (stacks.apps) {
    const from = appsRunFrom(stacks);
    const reach = clusterApiReachable(stacks, from);
    if (reach) problems.push({ stack: appsName, address: "(kubernetes and helm providers)", problem: reach });
    const admin = rules.kubernetesAdmin(stacks, runIdentity);
    if (admin) problems.push({ stack: appsName, address: "(kubernetes and helm providers)", problem: admin });
  }
  return problems;
}

interface CloudRules {
  /** The address of the Terraform Cloud run identity in the infra stack. */
  runIdentity(infra: StackJson): string | undefined;
  /** What the run identity (or the person without Terraform Cloud) lacks for one infra resource. */
  infraNeeds(resource: Resource, stacks: EnvironmentStacks, runIdentity: string | undefined): string[];
  /** Why the apps stack's applier is not a Kubernetes cluster admin, or undefined. */
  kubernetesAdmin(stacks: EnvironmentStacks, runIdentity: string | undefined): string | undefined;
}

// --- AWS -----------------------------------------------------------------------------------------

/**
 * IAM policy evaluation, as the IAM User Guide describes it ("Policy evaluation logic"): an
 * explicit Deny in any applicable policy wins; otherwise a request is allowed only when an
 * identity policy allows it AND, for a role with a permissions boundary, the boundary allows it
 * too ("Permissions boundaries for IAM entities": the effective permissions are the
 * intersection). Actions match case-insensitively with `*` and `?`; resources case-sensitively
 * ("IAM JSON policy elements: Action / Resource"). Conditions ("Condition operators"): every key
 * of a statement's condition must hold, any one value of a key suffices; a key missing from the
 * request fails a positive operator and satisfies a negated one (`StringNotEquals`, ...).
 */
export interface IamStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request (`iam:PermissionsBoundary`, `iam:AWSServiceName`, ...). */
  readonly context?: Readonly<Record<string, string>>;
}

const actionMatches = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`, "i").test(action);

const CONDITION_OPERATORS: Readonly<Record<string, { negated: boolean; test: (pattern: string, value: string) => boolean }>> = {
  StringEquals: { negated: false, test: (p, v) => p === v },
  StringNotEquals: { negated: true, test: (p, v) => p === v },
  StringLike: { negated: false, test: iamMatches },
  StringNotLike: { negated: true, test: iamMatches },
  ArnEquals: { negated: false, test: (p, v) => p === v },
  ArnLike: { negated: false, test: iamMatches },
  ArnNotLike: { negated: true, test: iamMatches },
};

function conditionHolds(condition: IamStatement["Condition"], context: Readonly<Record<string, string>>): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) => {
    const rule = CONDITION_OPERATORS[operator];
    if (!rule) throw new Error(`condition operator ${operator} is not modelled: add it to CONDITION_OPERATORS`);
    return Object.entries(keys).every(([key, values]) => {
      const value = context[key];
      if (value === undefined) return rule.negated;
      const matched = oneOrMany(values).some((pattern) => rule.test(text(pattern), value));
      return rule.negated ? !matched : matched;
    });
  });
}

function statementApplies(statement: IamStatement, request: IamRequest): boolean {
  const action = statement.Action !== undefined ? oneOrMany(statement.Action).some((p) => actionMatches(text(p), request.action)) : !oneOrMany(statement.NotAction).some((p) => actionMatches(text(p), request.action));
  const resource = statement.Resource !== undefined ? oneOrMany(statement.Resource).some((p) => iamMatches(text(p), request.resource)) : !oneOrMany(statement.NotResource).some((p) => iamMatches(text(p), request.resource));
  return action && resource && conditionHolds(statement.Condition, request.context ?? {});
}

/** One policy set's answer: an explicit deny, an allow, or nothing (an implicit deny). */
export function iamDecision(statements: readonly IamStatement[], request: IamRequest): "deny" | "allow" | "none" {
  const applying = statements.filter((s) => statementApplies(s, request));
  if (applying.some((s) => s.Effect === "Deny")) return "deny";
  return applying.some((s) => s.Effect === "Allow") ? "allow" : "none";
}

/** Identity policies, and the boundary when the role has one: both must allow, neither deny. */
export function iamAllows(identity: readonly IamStatement[], boundary: readonly IamStatement[] | undefined, request: IamRequest): boolean {
  return iamDecision(identity, request) === "allow" && (boundary === undefined || iamDecision(boundary, request) === "allow");
}

/**
 * AWS managed policies the stacks attach, by what they allow (AWS Managed Policy Reference,
 * docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html, the default version
 * there: AmazonEKSClusterPolicy v8; the EC2 and load-balancing actions of the cluster, CNI and
 * EBS CSI policies are many and summed up as `ec2:*` / `elasticloadbalancing:*`, which is what the
 * boundary must cover for them). AdministratorAccess is `*`; PowerUserAccess everything but IAM,
 * Organizations and Account.
 */
export const AWS_MANAGED_POLICIES: Readonly<Record<string, readonly IamStatement[]>> = {
  AdministratorAccess: [{ Effect: "Allow", Action: "*", Resource: "*" }],
  PowerUserAccess: [{ Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" }],
  AmazonEKSClusterPolicy: [
    { Effect: "Allow", Action: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup", "ec2:*", "elasticloadbalancing:*", "kms:CreateGrant", "kms:DescribeKey"], Resource: "*" },
    { Effect: "Allow", Action: "iam:CreateServiceLinkedRole", Resource: "*", Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } } },
  ],
  AmazonEKSWorkerNodePolicy: [{ Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes", "ec2:DescribeVpcs", "eks:DescribeCluster", "eks-auth:AssumeRoleForPodIdentity"], Resource: "*" }],
  AmazonEC2ContainerRegistryPullOnly: [{ Effect: "Allow", Action: ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage"], Resource: "*" }],
  AmazonSSMManagedInstanceCore: [
    {
      Effect: "Allow",
      Action: [
        "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
        "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus",
        "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply",
      ],
      Resource: "*",
    },
  ],
  AmazonEKS_CNI_Policy: [{ Effect: "Allow", Action: ["ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses", "ec2:CreateTags"], Resource: "*" }],
  "service-role/AmazonEBSCSIDriverPolicy": [{ Effect: "Allow", Action: ["ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:CreateSnapshot", "ec2:ModifyVolume", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:CreateVolume", "ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:CreateTags", "ec2:DeleteTags"], Resource: "*" }],
  "service-role/AmazonRDSEnhancedMonitoringRole": [
    { Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:PutRetentionPolicy"], Resource: "arn:*:logs:*:*:log-group:RDS*" },
    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"], Resource: "arn:*:logs:*:*:log-group:RDS*:log-stream:*" },
  ],
};

/**
 * The further calls a create makes in the caller's name, by what the resource's configuration
 * asks: a VPN gateway given a VPC is attached to it (aws 5.100.0 internal/service/ec2/vpnsite_gateway.go,
 * AttachVpnGateway); a VPN connection logging its tunnels to CloudWatch Logs sets up a log
 * delivery, which CloudWatch Logs authorizes on the caller (CloudWatch Logs User Guide, "Enabling
 * logging from AWS services", logs sent to CloudWatch Logs).
 */
const AWS_ALSO_CALLS: Readonly<Record<string, (config: Json) => string[]>> = {
  aws_vpn_gateway: (config) => (config.vpc_id === undefined ? [] : ["ec2:AttachVpnGateway"]),
  aws_vpn_connection: (config) =>
    [1, 2].some((tunnel) => at(config, `tunnel${tunnel}_log_options.cloudwatch_log_options.log_enabled`) === true)
      ? ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
      : [],
};

const managedPolicyName = (arn: string): string | undefined => /^arn:[^:]+:iam::aws:policy\/(.+)$/.exec(arn)?.[1];

/**
 * The API call that creates each resource type, in the caller's name (Service Authorization
 * Reference, the service's "Actions defined by ..." table; the provider calls that API in its
 * Create). IAM types are built per resource (`awsRequestsOf`), with their condition keys.
 */
const AWS_CREATE_ACTIONS: Readonly<Record<string, string>> = {
  aws_vpc: "ec2:CreateVpc",
  aws_subnet: "ec2:CreateSubnet",
  aws_route_table: "ec2:CreateRouteTable",
  aws_route: "ec2:CreateRoute",
  aws_route_table_association: "ec2:AssociateRouteTable",
  aws_internet_gateway: "ec2:CreateInternetGateway",
  aws_nat_gateway: "ec2:CreateNatGateway",
  aws_eip: "ec2:AllocateAddress",
  aws_vpc_endpoint: "ec2:CreateVpcEndpoint",
  aws_flow_log: "ec2:CreateFlowLogs",
  aws_security_group: "ec2:CreateSecurityGroup",
  aws_default_security_group: "ec2:RevokeSecurityGroupIngress",
  aws_vpc_security_group_ingress_rule: "ec2:AuthorizeSecurityGroupIngress",
  aws_vpc_security_group_egress_rule: "ec2:AuthorizeSecurityGroupEgress",
  aws_launch_template: "ec2:CreateLaunchTemplate",
  // Site-to-site VPN (aws 5.100.0 internal/service/ec2/vpnsite_*.go: CreateCustomerGateway,
  // CreateVpnGateway, CreateVpnConnection, EnableVgwRoutePropagation).
  aws_customer_gateway: "ec2:CreateCustomerGateway",
  aws_vpn_gateway: "ec2:CreateVpnGateway",
  aws_vpn_connection: "ec2:CreateVpnConnection",
  aws_vpn_gateway_route_propagation: "ec2:EnableVgwRoutePropagation",
  aws_eks_cluster: "eks:CreateCluster",
  aws_eks_node_group: "eks:CreateNodegroup",
  aws_eks_addon: "eks:CreateAddon",
  aws_eks_access_entry: "eks:CreateAccessEntry",
  aws_eks_access_policy_association: "eks:AssociateAccessPolicy",
  aws_kms_key: "kms:CreateKey",
  aws_kms_alias: "kms:CreateAlias",
  aws_s3_bucket: "s3:CreateBucket",
  aws_s3_bucket_lifecycle_configuration: "s3:PutLifecycleConfiguration",
  aws_s3_bucket_ownership_controls: "s3:PutBucketOwnershipControls",
  aws_s3_bucket_policy: "s3:PutBucketPolicy",
  aws_s3_bucket_public_access_block: "s3:PutBucketPublicAccessBlock",
  aws_s3_bucket_server_side_encryption_configuration: "s3:PutEncryptionConfiguration",
  aws_s3_bucket_versioning: "s3:PutBucketVersioning",
  aws_s3_bucket_logging: "s3:PutBucketLogging",
  aws_db_instance: "rds:CreateDBInstance",
  aws_db_parameter_group: "rds:CreateDBParameterGroup",
  aws_db_subnet_group: "rds:CreateDBSubnetGroup",
  aws_route53_zone: "route53:CreateHostedZone",
  aws_secretsmanager_secret: "secretsmanager:CreateSecret",
  aws_cloudwatch_log_group: "logs:CreateLogGroup",
  aws_ecs_cluster: "ecs:CreateCluster",
  aws_ecs_service: "ecs:CreateService",
  aws_ecs_task_definition: "ecs:RegisterTaskDefinition",
  aws_cloudtrail: "cloudtrail:CreateTrail",
};

/** Attributes that hand a role to a service: the caller needs iam:PassRole on it (IAM User Guide, "Granting a user permissions to pass a role to an AWS service"). */
const AWS_PASSED_ROLE_ATTRIBUTES = ["role_arn", "node_role_arn", "service_account_role_arn", "monitoring_role_arn", "iam_role_arn", "execution_role_arn", "task_role_arn", "cloud_watch_logs_role_arn"];

/**
 * The service a resource type passes its role to: the `iam:PassedToService` of its PassRole
 * check (Service Authorization Reference for IAM, PassRole; each service's "service role" page).
 * The node group's is taken as eks (EKS receives the node role and launches the instances with
 * it); which of eks and ec2 the check carries is not documented on the CreateNodegroup page, and
 * the run role admits both. A type missing here passes no service, which a
 * PassedToService-conditioned policy refuses.
 */
const AWS_PASSED_TO_SERVICE: Readonly<Record<string, string>> = {
  aws_eks_cluster: "eks",
  aws_eks_node_group: "eks",
  aws_eks_addon: "eks",
  aws_flow_log: "vpc-flow-logs",
  aws_db_instance: "monitoring.rds",
  aws_ecs_task_definition: "ecs-tasks",
};

const partitionOf = (env: Environment): string => {
  const region = env.accounts.aws?.region ?? "";
  return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
};

/** The IAM facts of an AWS infra stack: ARNs for its references, each role's policies and boundary. */
class AwsIam {
  readonly resources: Resource[];
  private readonly iamPrefix: string;

  constructor(readonly stacks: EnvironmentStacks) {
    this.resources = resourcesOf(stacks.infra);
    this.iamPrefix = `arn:${partitionOf(stacks.env)}:iam::${stacks.env.accounts.aws?.accountId ?? ""}:`;
  }

  /** Replaces references to IAM roles and policies of the stack with their ARNs and names. */
  resolve(value: unknown): string {
    return text(value).replace(/\$\{(aws_iam_role|aws_iam_policy)\.([^.}]+)\.(arn|name|id)\}/g, (whole, type: string, name: string, attribute: string) => {
      const target = this.resources.find((r) => r.type === type && r.name === name);
      if (!target) return whole;
      const ownName = text(target.config.name);
      if (attribute !== "arn") return ownName;
      return `${this.iamPrefix}${type === "aws_iam_role" ? "role" : "policy"}/${ownName}`;
    });
  }

  roleArn(name: string): string {
    return `${this.iamPrefix}role/${name}`;
  }

  /**
   * Replaces references to the stack's data resources with their ARNs as AWS forms them
   * (bucket, secret, log group ARNs from their names; a key's id is random, so its construct name
   * stands in; Secrets Manager appends `-` and six characters; an RDS-managed master secret is
   * `rds!db-<uuid>`: RDS User Guide, "Password management with Secrets Manager").
   */
  resolveData(value: string): string {
    const { region, accountId } = this.stacks.env.accounts.aws ?? { region: "", accountId: "" };
    const partition = partitionOf(this.stacks.env);
    return this.resolve(value).replace(/\$\{(aws_s3_bucket|aws_kms_key|aws_secretsmanager_secret|aws_cloudwatch_log_group|aws_db_instance)\.([^.}]+)\.([^}]+)\}/g, (whole, type: string, name: string, attribute: string) => {
      const target = this.resources.find((r) => r.type === type && r.name === name);
      if (!target) return whole;
      if (type === "aws_s3_bucket" && attribute === "arn") return `arn:${partition}:s3:::${text(target.config.bucket)}`;
      if (type === "aws_kms_key" && attribute === "arn") return `arn:${partition}:kms:${region}:${accountId}:key/${name}`;
      if (type === "aws_secretsmanager_secret" && attribute === "arn") return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${text(target.config.name)}-AbC123`;
      if (type === "aws_cloudwatch_log_group" && attribute === "arn") return `arn:${partition}:logs:${region}:${accountId}:log-group:${text(target.config.name)}`;
      if (type === "aws_db_instance" && attribute === "master_user_secret[0].secret_arn") return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-AbC123`;
      return whole;
    });
  }

  /**
   * What a managed policy's `Resource: "*"` reaches at run time for the data services, which the
   * boundary limits to the environment: the stack's own keys (the cluster policy's grants on the
   * secrets key, the CSI driver's on volume keys); AWS's public SSM parameters (what the SSM
   * agent reads is not documented per parameter: the model takes the public ones, the EKS AMI ids).
   */
  runTimeResources(action: string): string[] | undefined {
    const { region } = this.stacks.env.accounts.aws ?? { region: "" };
    const service = action.split(":")[0].toLowerCase();
    if (service === "kms") return this.resources.filter((r) => r.type === "aws_kms_key").map((r) => this.resolveData(`\${aws_kms_key.${r.name}.arn}`));
    if (service === "ssm") return [`arn:${partitionOf(this.stacks.env)}:ssm:${region}::parameter/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id`];
    return undefined;
  }

  policyArn(name: string): string {
    return `${this.iamPrefix}policy/${name}`;
  }

  /** The role a policy or attachment names (`role = aws_iam_role.x.name|id`). */
  roleOf(resource: Resource): Resource | undefined {
    return this.resources.find((r) => r.type === "aws_iam_role" && references(resource.config.role, r.address));
  }

  /** The boundary ARN a role carries, resolved; undefined without one. */
  boundaryOf(role: Resource | undefined): string | undefined {
    return role?.config.permissions_boundary === undefined ? undefined : this.resolve(role.config.permissions_boundary);
  }

  /** The statements of a customer managed policy of the stack, by ARN. */
  customerPolicy(arn: string): IamStatement[] | undefined {
    const policy = this.resources.find((r) => r.type === "aws_iam_policy" && this.policyArn(text(r.config.name)) === arn);
    return policy ? (statementsOf(this.resolve(policy.config.policy)) as unknown as IamStatement[]) : undefined;
  }

  /** Every identity policy statement of a role: inline policies and attached managed policies. */
  identityOf(role: Resource): { statements: IamStatement[]; unknown: string[] } {
    const statements: IamStatement[] = [];
    const unknown: string[] = [];
    for (const r of this.resources) {
      if (r.type === "aws_iam_role_policy" && references(r.config.role, role.address)) statements.push(...(statementsOf(this.resolve(r.config.policy)) as unknown as IamStatement[]));
      if (r.type === "aws_iam_role_policy_attachment" && references(r.config.role, role.address)) {
        const arn = this.resolve(r.config.policy_arn);
        const managed = AWS_MANAGED_POLICIES[managedPolicyName(arn) ?? ""] ?? this.customerPolicy(arn);
        if (managed) statements.push(...managed);
        else unknown.push(arn);
      }
    }
    return { statements, unknown };
  }

  /** What applying one resource asks of the caller. */
  requestsOf(resource: Resource): IamRequest[] | undefined {
    const config = resource.config;
    const boundaryContext = (role: Resource | undefined): Record<string, string> => {
      const boundary = this.boundaryOf(role);
      return boundary === undefined ? {} : { "iam:PermissionsBoundary": boundary };
    };
    let own: IamRequest[];
    if (resource.type === "aws_iam_role") {
      own = ["iam:CreateRole", "iam:TagRole"].map((action) => ({ action, resource: this.roleArn(text(config.name)), context: boundaryContext(resource) }));
    } else if (resource.type === "aws_iam_role_policy" || resource.type === "aws_iam_role_policy_attachment") {
      const role = this.roleOf(resource);
      const action = resource.type === "aws_iam_role_policy" ? "iam:PutRolePolicy" : "iam:AttachRolePolicy";
      const context = { ...boundaryContext(role), ...(resource.type === "aws_iam_role_policy_attachment" ? { "iam:PolicyARN": this.resolve(config.policy_arn) } : {}) };
      own = [{ action, resource: role ? this.roleArn(text(role.config.name)) : this.resolve(config.role), context }];
    } else if (resource.type === "aws_iam_openid_connect_provider") {
      const url = text(config.url);
      const host = url.includes("aws_eks_cluster.") ? `oidc.eks.${this.stacks.env.accounts.aws?.region ?? ""}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF` : url.replace(/^https:\/\//, "");
      // The provider's default_tags go with the create (aws 5.100.0 openid_connect_provider.go sends Tags).
      own = ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"].map((action) => ({ action, resource: `${this.iamPrefix}oidc-provider/${host}` }));
    } else if (resource.type === "aws_iam_policy") {
      own = [{ action: "iam:CreatePolicy", resource: this.policyArn(text(config.name)) }];
    } else {
      const action = AWS_CREATE_ACTIONS[resource.type];
      if (action === undefined) return undefined;
      own = [action, ...(AWS_ALSO_CALLS[resource.type]?.(config) ?? [])].map((one) => ({ action: one, resource: "*" }));
    }
    const passed = AWS_PASSED_ROLE_ATTRIBUTES.flatMap((attribute): IamRequest[] => {
      const value = this.resolve(at(config, attribute));
      if (!value.startsWith(`${this.iamPrefix}role/`)) return [];
      const service = AWS_PASSED_TO_SERVICE[resource.type];
      return [{ action: "iam:PassRole", resource: value, context: service ? { "iam:PassedToService": `${service}.amazonaws.com` } : undefined }];
    });
    return [...own, ...passed];
  }

  /** What reading (refreshing) a resource the bootstrapper owns asks of the caller. */
  readRequestOf(resource: Resource): IamRequest {
    if (resource.type === "aws_iam_policy") return { action: "iam:GetPolicyVersion", resource: this.policyArn(text(resource.config.name)) };
    if (resource.type === "aws_iam_openid_connect_provider") return { action: "iam:GetOpenIDConnectProvider", resource: `${this.iamPrefix}oidc-provider/${text(resource.config.url).replace(/^https:\/\//, "")}` };
    const role = resource.type === "aws_iam_role" ? resource : this.roleOf(resource);
    return { action: resource.type === "aws_iam_role" ? "iam:GetRole" : "iam:GetRolePolicy", resource: this.roleArn(text(role?.config.name)) };
  }
}

/**
 * Resources only the bootstrapper (an administrator of the account) creates and changes: the run
 * role, its policies, its OIDC provider, and the boundary every other role carries. Runs only
 * read them; a change to them is applied by the bootstrapper (README, "Bootstrap, once").
 */
function awsBootstrapOwned(iam: AwsIam, runIdentity: string): Set<string> {
  const owned = new Set<string>([runIdentity]);
  const run = iam.resources.find((r) => r.address === runIdentity);
  for (const r of iam.resources) {
    if ((r.type === "aws_iam_role_policy" || r.type === "aws_iam_role_policy_attachment") && references(r.config.role, runIdentity)) owned.add(r.address);
    if (r.type === "aws_iam_openid_connect_provider" && run && references(run.config.assume_role_policy, r.address)) owned.add(r.address);
    if (r.type === "aws_iam_policy" && iam.resources.some((role) => role.type === "aws_iam_role" && references(role.config.permissions_boundary, r.address))) owned.add(r.address);
  }
  return owned;
}

/**
 * Requests with which the run role could give itself or anything it creates more than the
 * workload boundary, or leave a credential behind: each must be refused (IAM User Guide,
 * "Permissions boundaries for IAM entities", the delegation example's statements).
 */
function awsEscalationProbes(iam: AwsIam, runIdentity: string): { probe: string; request: IamRequest }[] {
  const run = iam.resources.find((r) => r.address === runIdentity);
  const runArn = iam.roleArn(text(run?.config.name));
  const env = iam.stacks.env.name;
  const bounded = iam.resources.find((r) => r.type === "aws_iam_role" && r.address !== runIdentity && r.config.permissions_boundary !== undefined);
  const boundary = iam.boundaryOf(bounded) ?? iam.policyArn(`${env}-workload-boundary`);
  const admin = `arn:${partitionOf(iam.stacks.env)}:iam::aws:policy/AdministratorAccess`;
  const probeRole = iam.roleArn(`${env}-probe`);
  return [
    { probe: "create a role without a permissions boundary", request: { action: "iam:CreateRole", resource: probeRole } },
    { probe: "create a role with AdministratorAccess as its boundary", request: { action: "iam:CreateRole", resource: probeRole, context: { "iam:PermissionsBoundary": admin } } },
    { probe: "attach AdministratorAccess to itself", request: { action: "iam:AttachRolePolicy", resource: runArn, context: { "iam:PolicyARN": admin } } },
    { probe: "put an inline policy on itself once it carried the boundary", request: { action: "iam:PutRolePolicy", resource: runArn, context: { "iam:PermissionsBoundary": boundary } } },
    { probe: "put the boundary on itself (the first step of the above)", request: { action: "iam:PutRolePermissionsBoundary", resource: runArn, context: { "iam:PermissionsBoundary": boundary } } },
    { probe: "let others assume it (change its trust policy)", request: { action: "iam:UpdateAssumeRolePolicy", resource: runArn } },
    { probe: "pass itself to a service", request: { action: "iam:PassRole", resource: runArn } },
    { probe: "change the boundary policy", request: { action: "iam:CreatePolicyVersion", resource: boundary } },
    { probe: "make another version of the boundary the default", request: { action: "iam:SetDefaultPolicyVersion", resource: boundary } },
    { probe: "delete the boundary policy", request: { action: "iam:DeletePolicy", resource: boundary } },
    { probe: "remove a role's boundary", request: { action: "iam:DeleteRolePermissionsBoundary", resource: bounded ? iam.roleArn(text(bounded.config.name)) : probeRole } },
    { probe: "attach a policy to a role outside the environment", request: { action: "iam:AttachRolePolicy", resource: iam.roleArn("other-team-role"), context: { "iam:PermissionsBoundary": boundary, "iam:PolicyARN": admin } } },
    { probe: "create an IAM user", request: { action: "iam:CreateUser", resource: `${runArn.replace(/role\/.*$/, "")}user/probe` } },
    { probe: "create an access key", request: { action: "iam:CreateAccessKey", resource: `${runArn.replace(/role\/.*$/, "")}user/probe` } },
    { probe: "create a console password", request: { action: "iam:CreateLoginProfile", resource: `${runArn.replace(/role\/.*$/, "")}user/probe` } },
    { probe: "change its own OIDC provider", request: { action: "iam:AddClientIDToOpenIDConnectProvider", resource: `${runArn.replace(/role\/.*$/, "")}oidc-provider/app.terraform.io` } },
    { probe: "create a policy of its own", request: { action: "iam:CreatePolicy", resource: iam.policyArn(`${env}-probe`) } },
    // A role of the account the stacks did not create, named like the environment's (made by hand,
    // or another environment's `<env>-eu-*`): it may hold anything, and no condition key limits
    // these actions to bounded roles (Service Authorization Reference: iam:PermissionsBoundary is
    // not a key of UpdateAssumeRolePolicy nor PassRole).
    { probe: `re-trust ${env}-admin, a role the stacks did not create`, request: { action: "iam:UpdateAssumeRolePolicy", resource: iam.roleArn(`${env}-admin`) } },
    { probe: `pass ${env}-admin, a role the stacks did not create, to EC2`, request: { action: "iam:PassRole", resource: iam.roleArn(`${env}-admin`), context: { "iam:PassedToService": "ec2.amazonaws.com" } } },
    { probe: `delete ${env}-eu-admin, another environment's role`, request: { action: "iam:DeleteRole", resource: iam.roleArn(`${env}-eu-admin`) } },
    ...(bounded
      ? [{ probe: "pass an environment role to a service the stacks never hand it to (Lambda)", request: { action: "iam:PassRole", resource: iam.roleArn(text(bounded.config.name)), context: { "iam:PassedToService": "lambda.amazonaws.com" } } }]
      : []),
  ];
}

const AWS_RULES: CloudRules = {
  runIdentity(infra) {
    const provider = resourcesOf(infra).find((r) => r.type === "aws_iam_openid_connect_provider" && r.config.url === "https://app.terraform.io");
    if (!provider) return undefined;
    return resourcesOf(infra).find((r) => r.type === "aws_iam_role" && references(r.config.assume_role_policy, provider.address))?.address;
  },
  infraNeeds(resource, stacks, runIdentity) {
    if (runIdentity === undefined) return [];
    const iam = new AwsIam(stacks);
    const run = iam.resources.find((r) => r.address === runIdentity);
    if (!run) return [];
    const { statements, unknown } = iam.identityOf(run);
    const problems = unknown.map((arn) => `the run role has ${arn} attached, which the model does not know: add it to AWS_MANAGED_POLICIES`);
    const describe = (request: IamRequest) => `${request.action} on ${request.resource}${request.context && Object.keys(request.context).length > 0 ? ` with ${JSON.stringify(request.context)}` : ""}`;
    if (resource.address === runIdentity) {
      for (const { probe, request } of awsEscalationProbes(iam, runIdentity)) {
        if (iamAllows(statements, iam.boundaryOf(run) === undefined ? undefined : iam.customerPolicy(iam.boundaryOf(run) ?? ""), request)) problems.push(`the run role could ${probe} (${describe(request)})`);
      }
    }
    const requests = awsBootstrapOwned(iam, runIdentity).has(resource.address) ? [iam.readRequestOf(resource)] : iam.requestsOf(resource);
    if (requests === undefined) return [...problems, `no create action is known for ${resource.type}: add it to AWS_CREATE_ACTIONS`];
    for (const request of requests) {
      if (!iamAllows(statements, undefined, request)) problems.push(`the Terraform Cloud run role may not call ${describe(request)}`);
    }
    return problems;
  },
  kubernetesAdmin(stacks, runIdentity) {
    const infra = resourcesOf(stacks.infra);
    const cluster = infra.find((r) => r.type === "aws_eks_cluster");
    if (!cluster) return "the infra stack has no EKS cluster";
    if (runIdentity === undefined) {
      // Without Terraform Cloud, the person who created the cluster applies the apps stack.
      return (cluster.config.access_config as Json).bootstrap_cluster_creator_admin_permissions === true ? undefined : "the cluster creator is not a cluster admin";
    }
    const entry = infra.find((r) => r.type === "aws_eks_access_entry" && references(r.config.principal_arn, runIdentity));
    if (!entry) return "the Terraform Cloud run role has no EKS access entry: the API refuses every call of the apps stack";
    const association = infra.find(
      (r) =>
        r.type === "aws_eks_access_policy_association" &&
        references(r.config.principal_arn, entry.address) &&
        r.config.policy_arn === "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" &&
        (r.config.access_scope as Json).type === "cluster",
    );
    return association ? undefined : "the run role's access entry is not associated with AmazonEKSClusterAdminPolicy on the whole cluster";
  },
};

/**
 * Roles trusting an IAM OpenID Connect provider of the stack (a cluster's issuer): STS reads the
 * token's claims under condition keys named by the provider's URL without `https://` (IAM User
 * Guide, "Available keys for AWS web identity federation": `<provider>:aud`, `<provider>:sub`),
 * so a key naming anything else never matches and the role cannot be assumed. Checked where the
 * URL is known from the stack and its variables (an issuer received or derived from the spec).
 */
export function awsFederatedTrustProblems(given: EnvironmentStacks): string[] {
  const stacks = withForeignVariables(given);
  const resources = resourcesOf(stacks.infra);
  return resources
    .filter((r) => r.type === "aws_iam_role")
    .flatMap((role) =>
      statementsOf(role.config.assume_role_policy).flatMap((statement) => {
        const federated = text(at(statement, "Principal.Federated"));
        const provider = resources.find((r) => r.type === "aws_iam_openid_connect_provider" && federated.includes(`\${${r.address}.arn}`));
        const url = text(provider?.config.url);
        if (provider === undefined || url.includes("${")) return [];
        const host = url.replace(/^https:\/\//, "");
        const keys = ["StringEquals", "StringLike"].flatMap((operator) => Object.keys((at(statement, `Condition.${operator}`) as Json | undefined) ?? {}));
        return keys.filter((key) => !key.startsWith(`${host}:`)).map((key) => `${role.address}: its trust's condition key ${key} does not name the provider ${host}, so STS never matches it`);
      }),
    );
}

/**
 * What each role of an AWS infra stack may really do: its identity policies cut by its
 * permissions boundary. Every role but the Terraform Cloud run role must carry the boundary the
 * stack creates, and that boundary must allow every action its policies grant (else the
 * workload is refused at run time: a bucket write, a secret read, a node joining).
 */
export function awsBoundaryProblems(stacks: EnvironmentStacks): string[] {
  const iam = new AwsIam(stacks);
  const runIdentity = AWS_RULES.runIdentity(stacks.infra);
  const problems: string[] = [];
  for (const role of iam.resources.filter((r) => r.type === "aws_iam_role" && r.address !== runIdentity)) {
    const arn = iam.boundaryOf(role);
    const boundary = arn === undefined ? undefined : iam.customerPolicy(arn);
    if (boundary === undefined) {
      problems.push(`${role.address}: ${arn === undefined ? "no permissions boundary" : `its boundary ${arn} is not a policy of the stack`}`);
      continue;
    }
    const { statements, unknown } = iam.identityOf(role);
    for (const policy of unknown) problems.push(`${role.address}: ${policy} attached, which the model does not know: add it to AWS_MANAGED_POLICIES`);
    for (const statement of statements.filter((s) => s.Effect === "Allow")) {
      const context = Object.fromEntries(Object.entries(statement.Condition?.StringEquals ?? {}).map(([key, values]) => [key, text(oneOrMany(values)[0])]));
      for (const action of oneOrMany(statement.Action).map(text)) {
        for (const resource of oneOrMany(statement.Resource ?? "*").map(text)) {
          const reached = resource === "*" ? (iam.runTimeResources(action) ?? ["*"]) : [iam.resolveData(resource)];
          for (const target of reached) {
            if (iamDecision(boundary, { action, resource: target, context }) !== "allow") problems.push(`${role.address}: its policies grant ${action} on ${resource}, which its boundary cuts`);
          }
        }
      }
    }
    problems.push(...awsBoundaryReachProblems(iam, arn, boundary));
  }
  return [...new Set(problems)];
}

/**
 * The boundary's ceiling on data: a role created with it and any policy (a run may create one,
 * with any trust policy) must not reach another environment's objects, secrets or keys, nor any
 * secret of the account the environment does not use (README, "AWS defaults, and why").
 */
function awsBoundaryReachProblems(iam: AwsIam, boundaryArn: string | undefined, boundary: readonly IamStatement[]): string[] {
  const { region, accountId } = iam.stacks.env.accounts.aws ?? { region: "", accountId: "" };
  const partition = partitionOf(iam.stacks.env);
  const outside: IamRequest[] = [
    { action: "s3:GetObject", resource: `arn:${partition}:s3:::another-team-bucket/key` },
    { action: "s3:PutObject", resource: `arn:${partition}:s3:::${accountId}-backups/key` },
    { action: "secretsmanager:GetSecretValue", resource: `arn:${partition}:secretsmanager:${region}:${accountId}:secret:another-team-admin-password-AbC123` },
    { action: "kms:Decrypt", resource: `arn:${partition}:kms:${region}:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab` },
    { action: "ssm:GetParameter", resource: `arn:${partition}:ssm:${region}:${accountId}:parameter/prod/database/password` },
  ];
  return outside.filter((request) => iamDecision(boundary, request) === "allow").map((request) => `the boundary ${boundaryArn} allows ${request.action} on ${request.resource}, outside the environment`);
}

/** Whether a role of the infra stack may make a request: identity policies ∩ its boundary. */
export function awsRoleMay(stacks: EnvironmentStacks, roleName: string, request: IamRequest): boolean {
  const iam = new AwsIam(stacks);
  const role = iam.resources.find((r) => r.type === "aws_iam_role" && r.config.name === roleName);
  if (!role) throw new Error(`no role ${roleName}`);
  const arn = iam.boundaryOf(role);
  const resolve = (statements: readonly IamStatement[]) => statements.map((statement) => (statement.Resource === undefined ? statement : { ...statement, Resource: oneOrMany(statement.Resource).map((r) => iam.resolveData(text(r))) }));
  return iamAllows(resolve(iam.identityOf(role).statements), arn === undefined ? undefined : (iam.customerPolicy(arn) ?? []), { ...request, resource: iam.resolveData(request.resource) });
}

// --- Azure ---------------------------------------------------------------------------------------

interface AzureRole {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
}

/**
 * Built-in roles the stacks use, by name (learn.microsoft.com/azure/role-based-access-control/
 * built-in-roles: Contributor is `*` less Microsoft.Authorization writes and deletes among others;
 * Role Based Access Control Administrator writes role assignments, limited by its condition;
 * Azure Kubernetes Service RBAC Cluster Admin is every Kubernetes data action).
 */
const AZURE_BUILT_IN_ROLES: Readonly<Record<string, AzureRole>> = {
  Contributor: {
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action",
      "Microsoft.Purview/consents/write",
      "Microsoft.Purview/consents/delete",
      "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
      "Microsoft.Subscription/cancel/action",
      "Microsoft.Subscription/enable/action",
    ],
    dataActions: [],
  },
  "Role Based Access Control Administrator": {
    actions: ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"],
    notActions: [],
    dataActions: [],
  },
  "Azure Kubernetes Service RBAC Cluster Admin": { actions: ["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/read"], notActions: [], dataActions: ["Microsoft.ContainerService/managedClusters/*"] },
  "Key Vault Secrets Officer": { actions: ["Microsoft.KeyVault/vaults/*/read"], notActions: [], dataActions: ["Microsoft.KeyVault/vaults/secrets/*"] },
};

/** Azure's action matching: `*` within a pattern matches any characters; case-insensitive. */
function azureMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`, "i");
  return regex.test(action);
}

function azureAllows(role: AzureRole, action: string, data: boolean): boolean {
  if (data) return role.dataActions.some((pattern) => azureMatches(pattern, action));
  return role.actions.some((pattern) => azureMatches(pattern, action)) && !role.notActions.some((pattern) => azureMatches(pattern, action));
}

/** The ARM operations a resource type needs beyond Contributor's reach (Microsoft.Authorization). */
const AZURE_AUTHORIZATION_ACTIONS: Readonly<Record<string, string>> = {
  azurerm_management_lock: "Microsoft.Authorization/locks/write",
  azurerm_role_assignment: "Microsoft.Authorization/roleAssignments/write",
  azurerm_role_definition: "Microsoft.Authorization/roleDefinitions/write",
};

/**
 * Resources only the bootstrapper (an Owner) writes: runs may not create role definitions, nor
 * the run identity's own role assignments (outside the RBAC Administrator condition, on purpose).
 * A later change to one needs one more apply with Owner credentials (README).
 */
const AZURE_BOOTSTRAP_ONLY = new Set(["azurerm_role_definition"]);

/** Azure role assignments granted to an identity, with their roles resolved. */
function azureRolesOf(stacks: EnvironmentStacks, identity: string): { address: string; role: AzureRole | undefined; name: string; condition: unknown; scope: unknown }[] {
  const infra = resourcesOf(stacks.infra);
  return infra
    .filter((r) => r.type === "azurerm_role_assignment" && references(r.config.principal_id, identity))
    .map((r) => {
      const custom = infra.find((d) => d.type === "azurerm_role_definition" && references(r.config.role_definition_id, d.address));
      const permissions = custom ? (list(custom.config.permissions)[0] as Json) : undefined;
      const role = custom
        ? { actions: list(permissions?.actions) as string[], notActions: list(permissions?.not_actions) as string[], dataActions: list(permissions?.data_actions) as string[] }
        : AZURE_BUILT_IN_ROLES[text(r.config.role_definition_name)];
      return { address: r.address, role, name: custom ? text(custom.config.name) : text(r.config.role_definition_name), condition: r.config.condition, scope: r.config.scope };
    });
}

const AZURE_RULES: CloudRules = {
  runIdentity(infra) {
    const credential = resourcesOf(infra).find((r) => r.type === "azurerm_federated_identity_credential" && r.config.issuer === "https://app.terraform.io");
    const identity = credential && /\$\{(azurerm_user_assigned_identity\.[^.]+)\.id\}/.exec(text(credential.config.parent_id));
    return identity?.[1];
  },
  infraNeeds(resource, stacks, runIdentity) {
    const problems: string[] = [];
    // A principal read from azurerm_client_config is whoever runs Terraform: principal_id forces
    // replacement, so the assignment flips between the bootstrapper and the run identity.
    if (resource.type === "azurerm_role_assignment" && text(resource.config.principal_id).includes("data.azurerm_client_config.")) {
      problems.push("assigned to whoever runs Terraform (azurerm_client_config): replaced on every run by another identity; assign it to a deterministic identity");
    }
    if (resource.type === "azurerm_key_vault_secret") problems.push(...azureVaultDataPlane(resource, stacks));
    if (runIdentity === undefined || AZURE_BOOTSTRAP_ONLY.has(resource.type)) return problems;
    // The run identity's own grants are the bootstrapper's to make: a run never re-grants itself.
    if (resource.type === "azurerm_role_assignment" && references(resource.config.principal_id, runIdentity) && resource.address.includes("terraform-cloud-trust")) return problems;
    // azapi_resource names its ARM type (`Microsoft.KeyVault/vaults/secrets@2024-11-01`).
    const armType = resource.type === "azapi_resource" ? text(resource.config.type).split("@")[0] : undefined;
    const action = AZURE_AUTHORIZATION_ACTIONS[resource.type] ?? (armType ? `${armType}/write` : `Microsoft.Resources/${resource.type}/write`);
    const grants = azureRolesOf(stacks, runIdentity).filter((grant) => grant.role && azureAllows(grant.role, action, false));
    if (grants.length === 0) problems.push(`the Terraform Cloud run identity holds no role allowing ${action}`);
    else if (resource.type === "azurerm_role_assignment") {
      const roleName = text(resource.config.role_definition_name);
      const allowed = grants.some((grant) => grant.condition === undefined || text(grant.condition).includes(AZURE_ROLE_IDS_BY_NAME[roleName] ?? "(custom role)"));
      if (!allowed) problems.push(`the run identity's role assignment condition does not allow assigning ${resource.config.role_definition_name === undefined ? "a custom role" : roleName}`);
    }
    return problems;
  },
  kubernetesAdmin(stacks, runIdentity) {
    if (runIdentity === undefined) {
      const groups = stacks.env.cluster.azure?.adminGroupObjectIds ?? [];
      return groups.length > 0 ? undefined : "no Entra group is a cluster admin (cluster.azure.adminGroupObjectIds): the person applying the apps stack is refused";
    }
    const admin = azureRolesOf(stacks, runIdentity).some((grant) => grant.role && azureAllows(grant.role, "Microsoft.ContainerService/managedClusters/apps/deployments/write", true));
    return admin ? undefined : "the Terraform Cloud run identity is not an AKS RBAC cluster admin: the API refuses every call of the apps stack";
  },
};

/** The built-in role ids (the same in every tenant), for reading role assignment conditions. */
const AZURE_ROLE_IDS_BY_NAME: Readonly<Record<string, string>> = {
  "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
  "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "DNS Zone Contributor": "befefa01-2a29-4197-83a8-272ff33ce314",
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  // learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
  "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  // learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-user and #key-vault-contributor
  "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
  "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
};

/**
 * A key vault secret is written through the vault's data plane: the vault's firewall must admit
 * the applier (Key Vault network security: with `default_action = Deny`, only `ip_rules`, virtual
 * network rules and trusted Azure services pass; Terraform Cloud's hosted runners are none of these).
 */
function azureVaultDataPlane(secret: Resource, stacks: EnvironmentStacks): string[] {
  const vault = resourcesOf(stacks.infra).find((r) => r.type === "azurerm_key_vault" && references(secret.config.key_vault_id, r.address));
  const acls = vault && (list(vault.config.network_acls)[0] ?? vault.config.network_acls);
  if (!vault || !isMap(acls) || acls.default_action !== "Deny") return [];
  const from = stacks.env.terraformCloud ? "Terraform Cloud's hosted runners" : "the person applying it";
  return [`written through the vault's data plane, whose firewall denies by default: ${from} cannot reach it (write it through ARM instead)`];
}

// --- GCP -----------------------------------------------------------------------------------------

/**
 * What each resource type's create and update calls need, as IAM permissions (each service's REST
 * reference, "IAM Permissions", and docs.cloud.google.com/iam/docs/roles-permissions/<service>).
 * The node pools, the agents' instance template and group run as service accounts of the stack:
 * `iam.serviceAccounts.actAs` (GKE docs, "Use least privilege service accounts"; Compute docs,
 * "Service accounts": acting as the VM's account).
 */
const GCP_TYPE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  google_project_service: ["serviceusage.services.enable", "serviceusage.services.get"],
  google_compute_network: ["compute.networks.create", "compute.networks.get"],
  google_compute_subnetwork: ["compute.subnetworks.create", "compute.subnetworks.get"],
  google_compute_firewall: ["compute.firewalls.create", "compute.firewalls.update", "compute.networks.updatePolicy"],
  google_compute_global_address: ["compute.globalAddresses.create", "compute.globalAddresses.get"],
  google_compute_router: ["compute.routers.create", "compute.routers.get"],
  google_compute_router_nat: ["compute.routers.update", "compute.routers.get"],
  google_service_networking_connection: ["servicenetworking.services.addPeering", "compute.networks.get"],
  google_compute_instance_template: ["compute.instanceTemplates.create", "iam.serviceAccounts.actAs"],
  google_compute_region_instance_group_manager: ["compute.instanceGroupManagers.create", "compute.instances.create", "iam.serviceAccounts.actAs"],
  google_container_cluster: ["container.clusters.create", "container.clusters.update", "iam.serviceAccounts.actAs"],
  google_container_node_pool: ["container.clusters.update", "container.nodes.create", "iam.serviceAccounts.actAs"],
  google_sql_database_instance: ["cloudsql.instances.create", "cloudsql.instances.update"],
  google_sql_user: ["cloudsql.users.create", "cloudsql.users.update"],
  google_storage_bucket: ["storage.buckets.create", "storage.buckets.update"],
  google_storage_bucket_iam_member: ["storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"],
  google_secret_manager_secret: ["secretmanager.secrets.create", "secretmanager.secrets.update"],
  google_secret_manager_secret_version: ["secretmanager.versions.add"],
  google_secret_manager_secret_iam_member: ["secretmanager.secrets.getIamPolicy", "secretmanager.secrets.setIamPolicy"],
  google_dns_managed_zone: ["dns.managedZones.create", "dns.managedZones.update"],
  google_dns_managed_zone_iam_member: ["dns.managedZones.getIamPolicy", "dns.managedZones.setIamPolicy"],
  google_kms_key_ring: ["cloudkms.keyRings.create", "cloudkms.keyRings.get"],
  google_kms_crypto_key: ["cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.update"],
  google_kms_crypto_key_iam_member: ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"],
  google_logging_project_bucket_config: ["logging.buckets.create", "logging.buckets.update"],
  google_logging_project_sink: ["logging.sinks.create", "logging.sinks.update"],
  google_binary_authorization_policy: ["binaryauthorization.policy.get", "binaryauthorization.policy.update"],
  // On the account itself (see `gcpServiceAccountNeeds`): creating one is the bootstrapper's.
  google_service_account: ["iam.serviceAccounts.get", "iam.serviceAccounts.update"],
  google_service_account_iam_member: ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"],
  // The run account's trust anchor, the bootstrapper's: the runs only refresh it.
  google_iam_workload_identity_pool: ["iam.workloadIdentityPools.get"],
  google_iam_workload_identity_pool_provider: ["iam.workloadIdentityPoolProviders.get"],
  // The bootstrapper's (a project owner's apply): the runs only refresh it, and a change fails in them.
  google_project_iam_custom_role: ["iam.roles.get"],
  // Changes the policy's auditConfigs, no grant: under a modifiedGrantsByRole condition the attribute is empty (IAM docs, "Set limits on granting roles").
  google_project_iam_audit_config: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
  // Checked against the grant condition in `GCP_RULES.infraNeeds`.
  google_project_iam_member: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
  random_id: [],
  random_password: [],
};

/**
 * The permissions of the predefined roles the model knows, as IAM permission patterns (`*` any
 * run of characters): the part of each role our resources use, and every permission that lets a
 * principal change IAM policy on the project or edit roles. From the roles reference,
 * docs.cloud.google.com/iam/docs/roles-permissions/<service> (compute, container, cloudsql, storage,
 * secretmanager, dns, cloudkms, logging, binaryauthorization, servicenetworking, serviceusage, iam, resourcemanager) and
 * docs.cloud.google.com/iam/docs/roles-overview (basic roles: Editor holds every service's
 * create/update/delete but no setIamPolicy; Owner holds everything).
 */
export const GCP_ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  "roles/owner": ["*"],
  "roles/editor": ["compute.*", "container.*", "cloudsql.*", "storage.buckets.create", "storage.buckets.update", "secretmanager.secrets.create", "secretmanager.secrets.update", "secretmanager.versions.*", "dns.managedZones.create", "dns.managedZones.update", "cloudkms.keyRings.*", "cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.update", "logging.*", "servicenetworking.*", "serviceusage.*", "iam.serviceAccounts.create", "iam.serviceAccounts.update", "iam.serviceAccounts.actAs", "iam.roles.get", "resourcemanager.projects.getIamPolicy"],
  "roles/iam.securityAdmin": ["*.getIamPolicy", "*.setIamPolicy", "iam.roles.get", "iam.roles.list"],
  "roles/iam.roleAdmin": ["iam.roles.*"],
  "roles/resourcemanager.projectIamAdmin": ["resourcemanager.projects.get", "resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
  "roles/compute.networkAdmin": ["compute.networks.*", "compute.subnetworks.*", "compute.globalAddresses.*", "compute.routers.*", "compute.addresses.*", "compute.firewalls.get", "compute.firewalls.list"],
  "roles/compute.securityAdmin": ["compute.firewalls.*", "compute.networks.updatePolicy", "compute.networks.get", "compute.securityPolicies.*", "compute.sslCertificates.*"],
  "roles/compute.instanceAdmin.v1": ["compute.instanceTemplates.*", "compute.instanceGroupManagers.*", "compute.instanceGroups.*", "compute.instances.*", "compute.disks.*"],
  "roles/container.admin": ["container.*"],
  "roles/cloudsql.admin": ["cloudsql.*"],
  "roles/storage.admin": ["storage.*"],
  "roles/secretmanager.admin": ["secretmanager.*"],
  "roles/dns.admin": ["dns.*"],
  "roles/cloudkms.admin": ["cloudkms.keyRings.*", "cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.list", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "cloudkms.cryptoKeyVersions.destroy", "cloudkms.cryptoKeyVersions.get", "cloudkms.cryptoKeyVersions.list"],
  "roles/logging.configWriter": ["logging.buckets.*", "logging.sinks.*", "logging.views.*", "logging.exclusions.*"],
  "roles/binaryauthorization.policyEditor": ["binaryauthorization.policy.get", "binaryauthorization.policy.update"],
  "roles/servicenetworking.networksAdmin": ["servicenetworking.*", "compute.networks.get"],
  "roles/serviceusage.serviceUsageAdmin": ["serviceusage.*"],
  "roles/iam.serviceAccountAdmin": ["iam.serviceAccounts.create", "iam.serviceAccounts.delete", "iam.serviceAccounts.get", "iam.serviceAccounts.list", "iam.serviceAccounts.update", "iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.disable", "iam.serviceAccounts.enable", "iam.serviceAccounts.undelete"],
  "roles/iam.serviceAccountUser": ["iam.serviceAccounts.actAs", "iam.serviceAccounts.get", "iam.serviceAccounts.list"],
  "roles/iam.serviceAccountTokenCreator": ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.implicitDelegation", "iam.serviceAccounts.signBlob", "iam.serviceAccounts.signJwt", "iam.serviceAccounts.get"],
  "roles/iam.workloadIdentityPoolViewer": ["iam.workloadIdentityPools.get", "iam.workloadIdentityPools.list", "iam.workloadIdentityPoolProviders.get", "iam.workloadIdentityPoolProviders.list"],
  "roles/iam.workloadIdentityPoolAdmin": ["iam.workloadIdentityPools.*", "iam.workloadIdentityPoolProviders.*"],
  "roles/iam.roleViewer": ["iam.roles.get", "iam.roles.list"],
};

/**
 * Permissions that let a principal reach any role on the project: setting the project's IAM
 * policy (grant itself anything) or editing a role (add any permission to one it holds).
 */
const GCP_ESCALATION_PERMISSIONS = ["resourcemanager.projects.setIamPolicy", "iam.roles.create", "iam.roles.update"];

/**
 * Permissions on a service account that give its roles to the holder: acting as it (attaching it
 * to a VM or node the holder controls), minting its tokens or keys, or setting its IAM policy
 * (granting itself any of those). Held on the project, they reach every service account of the
 * project, ones the stacks did not create included (IAM docs, "Service account permissions" and
 * "Roles for service account authentication"; CIS GCP Benchmark 1.6).
 */
const GCP_SERVICE_ACCOUNT_TAKEOVER = [
  "iam.serviceAccounts.actAs",
  "iam.serviceAccounts.setIamPolicy",
  "iam.serviceAccounts.getAccessToken",
  "iam.serviceAccounts.signBlob",
  "iam.serviceAccounts.signJwt",
  "iam.serviceAccounts.implicitDelegation",
  "iam.serviceAccountKeys.create",
];

/** Permissions that change who may become the run account: its pool and provider (IAM docs, "Manage workload identity pools and providers"). */
const GCP_TRUST_ANCHOR_WRITES = ["iam.workloadIdentityPools.create", "iam.workloadIdentityPools.update", "iam.workloadIdentityPools.undelete", "iam.workloadIdentityPoolProviders.create", "iam.workloadIdentityPoolProviders.update", "iam.workloadIdentityPoolProviders.undelete"];

/** Roles the run account must never hold nor be able to grant (the issue's "no path to owner"). */
export const GCP_FORBIDDEN_ROLES = ["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/iam.roleAdmin"];

const permissionMatches = (pattern: string, permission: string): boolean =>
  new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`).test(permission);

/**
 * Does the role (by the table) hold the permission? Unknown roles hold nothing. A custom role of
 * the stack (`${google_project_iam_custom_role.<name>.name|id}`) holds the permissions it lists.
 */
const gcpRoleHolds = (role: string, permission: string, stacks?: EnvironmentStacks): boolean =>
  (GCP_ROLE_PERMISSIONS[role] ?? gcpCustomRolePermissions(stacks, role) ?? []).some((pattern) => permissionMatches(pattern, permission));

function gcpCustomRolePermissions(stacks: EnvironmentStacks | undefined, role: string): string[] | undefined {
  const reference = /^\$\{(google_project_iam_custom_role\.[^.]+)\.(name|id)\}$/.exec(role);
  if (!reference || !stacks) return undefined;
  const custom = resourcesOf(stacks.infra).find((r) => r.address === reference[1]);
  return custom ? list(custom.config.permissions).map(text) : undefined;
}

/** The documented delegation condition: `...modifiedGrantsByRole', []).hasOnly(['a', 'b'])`, parsed; undefined for any other expression. */
export function gcpGrantableRoles(expression: string): string[] | undefined {
  const match = /^api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\(\[((?:'[^']+'(?:, )?)*)\]\)$/.exec(expression.trim());
  return match ? [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]) : undefined;
}

interface GcpGrant {
  readonly address: string;
  readonly role: string;
  /** The service account (its address in the stack) a grant on one service account is on; undefined on the project. */
  readonly on?: string;
  /** The roles a conditioned grant may modify (`hasOnly`), undefined when unconditioned. */
  readonly grantable?: readonly string[];
  /** A condition the model does not understand: treated as no condition. */
  readonly condition?: string;
}

/** The service account (address) a `google_service_account_iam_member` is on. */
const gcpAccountOf = (resource: Resource): string | undefined => /\$\{(google_service_account\.[^.]+)\.(name|id)\}/.exec(text(resource.config.service_account_id))?.[1];

/** The identity's grants: on the project (`google_project_iam_member`) and on single service accounts. */
function gcpGrantsOf(stacks: EnvironmentStacks, identity: string): GcpGrant[] {
  return resourcesOf(stacks.infra)
    .filter((r) => (r.type === "google_project_iam_member" || r.type === "google_service_account_iam_member") && references(r.config.member, identity))
    .map((r) => {
      const condition = (list(r.config.condition)[0] ?? r.config.condition) as Json | undefined;
      const expression = condition ? text(condition.expression) : undefined;
      const on = r.type === "google_service_account_iam_member" ? (gcpAccountOf(r) ?? text(r.config.service_account_id)) : undefined;
      return { address: r.address, role: text(r.config.role), on, grantable: expression === undefined ? undefined : gcpGrantableRoles(expression), condition: expression };
    });
}

/** The unconditioned project roles of the identity (a condition the model cannot read counts as none). */
const gcpPlainRoles = (grants: readonly GcpGrant[]) => grants.filter((g) => g.on === undefined && (g.condition === undefined || g.grantable === undefined)).map((g) => g.role);

/** The project roles `identity` may grant: any role when it holds setIamPolicy unconditioned, else the union of its conditions. */
function gcpMayGrant(grants: readonly GcpGrant[], role: string): boolean {
  if (gcpPlainRoles(grants).some((held) => gcpRoleHolds(held, "resourcemanager.projects.setIamPolicy"))) return true;
  return grants.some((g) => g.grantable?.includes(role) && gcpRoleHolds(g.role, "resourcemanager.projects.setIamPolicy"));
}

/**
 * Paths to owner: every way the run identity could grant itself, or edit, a role beyond its set.
 * - an unconditioned role holding `GCP_ESCALATION_PERMISSIONS` (securityAdmin, projectIamAdmin,
 *   roleAdmin, owner), or any forbidden role;
 * - a grant condition naming a forbidden role, a role holding those permissions, or a custom role
 *   while the identity may edit roles (`iam.roles.update`);
 * - a role the model does not know (it cannot prove that role safe).
 */
export function gcpEscalationProblems(stacks: EnvironmentStacks, identity: string): string[] {
  const grants = gcpGrantsOf(stacks, identity);
  const plain = gcpPlainRoles(grants);
  const problems: string[] = [];
  const editsRoles = plain.some((role) => gcpRoleHolds(role, "iam.roles.update", stacks));
  for (const grant of grants) {
    const unconditioned = grant.condition === undefined || grant.grantable === undefined;
    if (grant.on !== undefined) {
      // On one service account: never on itself (it could let anyone act as it, or mint its tokens).
      const takeover = GCP_SERVICE_ACCOUNT_TAKEOVER.filter((permission) => gcpRoleHolds(grant.role, permission, stacks));
      if (grant.on === identity && takeover.length > 0) problems.push(`${grant.address}: ${grant.role} on the run account itself allows ${takeover.join(", ")}: it could let any principal become it`);
      if (GCP_ROLE_PERMISSIONS[grant.role] === undefined && gcpCustomRolePermissions(stacks, grant.role) === undefined) problems.push(`${grant.address}: ${grant.role} is not in the model's role table`);
      continue;
    }
    if (unconditioned) {
      const takeover = GCP_SERVICE_ACCOUNT_TAKEOVER.filter((permission) => gcpRoleHolds(grant.role, permission, stacks));
      if (takeover.length > 0) problems.push(`${grant.address}: ${grant.role} on the project allows ${takeover.join(", ")} on every service account of the project, ones the stacks did not create included: a path to any of their roles`);
      const anchor = GCP_TRUST_ANCHOR_WRITES.filter((permission) => gcpRoleHolds(grant.role, permission, stacks));
      if (anchor.length > 0) problems.push(`${grant.address}: ${grant.role} allows ${anchor.join(", ")}: the run account could rewrite its own trust anchor (a wider attribute condition, another provider) and let other identities become it`);
    }
    if (unconditioned && GCP_ROLE_PERMISSIONS[grant.role] === undefined && gcpCustomRolePermissions(stacks, grant.role) === undefined) problems.push(`${grant.address}: ${grant.role} is not in the model's role table, so it cannot be shown to leave no path to owner`);
    if (GCP_FORBIDDEN_ROLES.includes(grant.role)) problems.push(`${grant.address}: holds ${grant.role}`);
    const escalates = GCP_ESCALATION_PERMISSIONS.filter((permission) => gcpRoleHolds(grant.role, permission, stacks));
    if (unconditioned && escalates.length > 0) problems.push(`${grant.address}: ${grant.role} without a grant condition allows ${escalates.join(", ")}: the run account can grant itself roles/owner`);
    for (const role of grant.grantable ?? []) {
      if (GCP_FORBIDDEN_ROLES.includes(role) || GCP_ESCALATION_PERMISSIONS.some((permission) => gcpRoleHolds(role, permission))) problems.push(`${grant.address}: its condition lets the run account grant ${role}, a path to owner`);
      else if (/^projects\/[^/]+\/roles\//.test(role)) {
        if (editsRoles) problems.push(`${grant.address}: its condition lets the run account grant the custom role ${role}, which it may also edit (iam.roles.update)`);
      } else if (GCP_ROLE_PERMISSIONS[role] === undefined && !/^roles\//.test(role)) problems.push(`${grant.address}: its condition names ${role}, not a role`);
    }
  }
  return problems;
}

/** The Kubernetes RBAC objects of the charts need `container.clusterRoles.create` and `.clusterRoleBindings.create` (GKE docs, "Create IAM policies"). */
const GCP_KUBERNETES_ADMIN_PERMISSIONS = ["container.clusterRoles.create", "container.clusterRoleBindings.create"];

const GCP_RULES: CloudRules = {
  runIdentity(infra) {
    const binding = resourcesOf(infra).find((r) => r.type === "google_service_account_iam_member" && /attribute\.terraform_workspace_name/.test(text(r.config.member)));
    const account = binding && /\$\{(google_service_account\.[^.]+)\.name\}/.exec(text(binding.config.service_account_id));
    return account?.[1];
  },
  infraNeeds(resource, stacks, runIdentity) {
    if (runIdentity === undefined) return [];
    const grants = gcpGrantsOf(stacks, runIdentity);
    const roles = gcpPlainRoles(grants);
    const needed = GCP_TYPE_PERMISSIONS[resource.type];
    if (needed === undefined) return [`no IAM permissions are known for ${resource.type}: add it to GCP_TYPE_PERMISSIONS`];
    const problems: string[] = [];
    // Project roles reach every resource; a grant on one service account reaches that account only.
    const held = (permission: string, on?: string) =>
      [...roles, ...grants.filter((g) => g.on === undefined && g.grantable !== undefined).map((g) => g.role), ...grants.filter((g) => on !== undefined && g.on === on).map((g) => g.role)].some((role) =>
        gcpRoleHolds(role, permission, stacks),
      );
    const account = resource.type === "google_service_account" ? resource.address : resource.type === "google_service_account_iam_member" ? gcpAccountOf(resource) : undefined;
    // The run account's own IAM policy, and every grant to it, are the bootstrapper's: the runs only read them.
    const bootstrapOwned = resource.address === runIdentity || (resource.type === "google_service_account_iam_member" && (account === runIdentity || references(resource.config.member, runIdentity)));
    const wanted = bootstrapOwned ? needed.filter((permission) => /\.get(IamPolicy)?$/.test(permission)) : needed;
    const onAccount = wanted.filter((permission) => permission.startsWith("iam.serviceAccounts.") && permission !== "iam.serviceAccounts.actAs");
    const missing = wanted.filter((permission) => !onAccount.includes(permission) && permission !== "iam.serviceAccounts.actAs" && !held(permission));
    const missingOnAccount = onAccount.filter((permission) => !held(permission, account));
    if (missing.length > 0) problems.push(`the Terraform Cloud service account (${roles.join(", ") || "no role"}) lacks ${missing.join(", ")}`);
    if (missingOnAccount.length > 0) problems.push(`the Terraform Cloud service account lacks ${missingOnAccount.join(", ")} on ${account ?? text(resource.config.service_account_id)}`);
    if (needed.includes("iam.serviceAccounts.actAs")) {
      // Acting as each service account the resource runs as (node pools, instance templates).
      const runsAs = [...new Set([...text(resource.config).matchAll(/\$\{(google_service_account\.[^.]+)\.email\}/g)].map((m) => m[1]))];
      for (const attached of runsAs) {
        if (!held("iam.serviceAccounts.actAs", attached)) problems.push(`the Terraform Cloud service account lacks iam.serviceAccounts.actAs on ${attached}, which it runs as`);
      }
    }
    if (resource.type === "google_project_iam_member") {
      const role = text(resource.config.role);
      // Its own project grants are the bootstrapper's: a change to them needs a project owner's apply.
      const own = references(resource.config.member, runIdentity);
      const custom = /^\$\{(google_project_iam_custom_role\.[^.]+)\.name\}$/.exec(role);
      const asGranted = custom ? `projects/${stacks.env.accounts.gcp?.projectId}/roles/${text(resourcesOf(stacks.infra).find((r) => r.address === custom[1])?.config.role_id)}` : role;
      if (!own && !gcpMayGrant(grants, asGranted)) problems.push(`the Terraform Cloud service account may not grant ${asGranted} on the project (not in its grant condition)`);
    }
    return problems;
  },
  kubernetesAdmin(stacks, runIdentity) {
    if (runIdentity === undefined) return undefined;
    const roles = gcpPlainRoles(gcpGrantsOf(stacks, runIdentity));
    const lacks = GCP_KUBERNETES_ADMIN_PERMISSIONS.filter((permission) => !roles.some((role) => gcpRoleHolds(role, permission)));
    return lacks.length === 0 ? undefined : `the Terraform Cloud service account cannot create the charts' ClusterRoles (lacks ${lacks.join(", ")}): it needs roles/container.admin`;
  },
};

const CLOUD_RULES: Readonly<Record<Environment["cloud"], CloudRules>> = { aws: AWS_RULES, azure: AZURE_RULES, gcp: GCP_RULES };

// --- Who reads the user's secrets ------------------------------------------------------------------

/** A Kubernetes service account whose cloud identity reads spec secrets (`monitoring/monitoring-secrets`, `sso/sso-secrets`). */
export interface SecretReader {
  readonly namespace: string;
  readonly serviceAccount: string;
}
const MONITORING_SECRET_READER: SecretReader = { namespace: "monitoring", serviceAccount: "monitoring-secrets" };

/**
 * IAM's wildcard match of a resource pattern (IAM User Guide, "IAM JSON policy elements:
 * Resource": `*` matches any run of characters, `?` exactly one; case-sensitive).
 */
export function iamMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`);
  return regex.test(arn);
}

/** Policy statements of a policy document JSON string. */
function statementsOf(policy: unknown): Json[] {
  try {
    const parsed = JSON.parse(text(policy)) as Json;
    return list(parsed.Statement) as Json[];
  } catch {
    return [];
  }
}

/** A policy element that may be one value or a list. */
const oneOrMany = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:*", "*"];

/**
 * Azure: a role assignment needs its scope to exist (azurerm v4.55.0
 * internal/services/authorization/role_assignment_resource.go lists the role definitions at the
 * scope, then PUTs the assignment there), and the vault is created by the same apply, so the
 * secret a user fills must be created by the stack before its assignment:
 * - an `azapi_resource` `Microsoft.KeyVault/vaults/secrets` of that name in that vault, which the
 *   assignment depends on (Terraform orders by references and `depends_on` only);
 * - never written again by Terraform (`ignore_changes = all`), or an apply would put the
 *   placeholder back over the user's value;
 * - disabled, so its placeholder is never read as the credential (Key Vault refuses to get a
 *   disabled secret: "Operation get is not allowed on a disabled secret");
 * - its value write-only (`sensitive_body`), so not even the placeholder is in the state.
 */
function userSecretScopeProblems(infra: readonly Resource[], assignment: string, vault: string, name: string): string[] {
  const secret = infra.find((r) => r.type === "azapi_resource" && text(r.config.type).startsWith("Microsoft.KeyVault/vaults/secrets@") && text(r.config.name) === name && references(r.config.parent_id, vault));
  if (!secret) return [`${assignment}: no azapi_resource creates the secret ${name} in ${vault}: the first apply fails on the assignment's scope`];
  const problems: string[] = [];
  const assignmentConfig = infra.find((r) => r.address === assignment)?.config;
  if (!list(assignmentConfig?.depends_on).map(text).includes(secret.address)) problems.push(`${assignment}: does not depend on ${secret.address}, so it may run before the secret exists`);
  const lifecycle = (secret.config.lifecycle ?? {}) as Json;
  if (lifecycle.ignore_changes !== "all") problems.push(`${secret.address}: without ignore_changes = all, an apply writes the placeholder over the user's value`);
  if (at(secret.config, "body.properties.attributes.enabled") !== false) problems.push(`${secret.address}: enabled, so its placeholder would be synced as the credential`);
  if (at(secret.config, "body.properties.value") !== undefined) problems.push(`${secret.address}: a value in body, which is stored in the state (use sensitive_body)`);
  return problems;
}

/**
 * What the secret reader of the monitoring namespace may read, and what it must not, read from
 * the infra stack: every secret the spec names (`specNames`) and nothing else; no database admin
 * secret. The rules are the clouds' own: AWS IAM resource patterns (Secrets Manager ARNs end in
 * `-` and six random characters: Secrets Manager User Guide, "Permissions to AWS Secrets Manager
 * secrets"); Azure role assignment scopes ("Key Vault Secrets User" at a secret's scope reads that
 * secret alone; at the vault's, every secret: Key Vault "Azure RBAC for Key Vault data plane");
 * GCP IAM conditions on `resource.name` (`projects/<number>/secrets/<id>[/versions/<v>]`).
 */
export function userSecretReadProblems(stacks: EnvironmentStacks, specNames: readonly string[], reader: SecretReader = MONITORING_SECRET_READER): string[] {
  const SECRET_READER_SUBJECT = `system:serviceaccount:${reader.namespace}:${reader.serviceAccount}`;
  const infra = resourcesOf(stacks.infra);
  const want = [...new Set(specNames)].sort();
  const problems: string[] = [];
  const compare = (granted: readonly string[]) => {
    const got = [...new Set(granted)].sort();
    for (const name of want) if (!got.includes(name)) problems.push(`the secret reader cannot read ${name}, which the spec names`);
    for (const name of got) if (!want.includes(name)) problems.push(`the secret reader may read ${name}, which the spec does not name`);
  };
  if (stacks.env.cloud === "aws") {
    const role = infra.find((r) => r.type === "aws_iam_role" && text(r.config.assume_role_policy).includes(`"${SECRET_READER_SUBJECT}"`));
    if (!role) return want.length > 0 ? [`no IAM role trusts the ${reader.namespace} namespace's secret reader`] : [];
    const { accountId, region } = stacks.env.accounts.aws ?? { accountId: "", region: "" };
    const arnOf = (name: string, suffix = "AbC123") => `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
    const patterns = infra
      .filter((r) => r.type === "aws_iam_role_policy" && references(r.config.role, role.address))
      .flatMap((r) => statementsOf(r.config.policy))
      .filter((s) => s.Effect === "Allow" && oneOrMany(s.Action).some((a) => SECRET_READ_ACTIONS.includes(text(a))))
      .flatMap((s) => oneOrMany(s.Resource).map(text));
    if (infra.some((r) => r.type === "aws_iam_role_policy_attachment" && references(r.config.role, role.address))) problems.push("the secret reader has a managed policy attached");
    for (const pattern of patterns) {
      // A reference to a resource of the stack (an RDS-managed secret) is an admin secret.
      if (pattern.includes("${")) problems.push(`the secret reader may read ${pattern}, a secret the stack creates`);
      // An RDS-managed master secret is named `rds!db-<uuid>` (RDS User Guide, "Password management with Secrets Manager").
      if (iamMatches(pattern, arnOf("rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"))) problems.push(`the secret reader's pattern ${pattern} matches an RDS-managed admin secret`);
    }
    const readable = want.filter((name) => patterns.some((p) => iamMatches(p, arnOf(name))));
    const beyond = patterns.filter((p) => !want.some((name) => iamMatches(p, arnOf(name))) || want.some((name) => iamMatches(p, arnOf(`${name}-x`)) || iamMatches(p, arnOf(`x${name}`))));
    for (const pattern of beyond) problems.push(`the secret reader's pattern ${pattern} matches a secret the spec does not name`);
    compare(readable);
    return problems;
  }
  if (stacks.env.cloud === "azure") {
    const identity = infra.find((r) => r.type === "azurerm_user_assigned_identity" && infra.some((c) => c.type === "azurerm_federated_identity_credential" && references(c.config.parent_id, r.address) && text(c.config.subject) === SECRET_READER_SUBJECT));
    if (!identity) return want.length > 0 ? [`no managed identity federates the ${reader.namespace} namespace's secret reader`] : [];
    const names: string[] = [];
    for (const grant of azureRolesOf(stacks, identity.address)) {
      const reads = grant.role ? azureAllows(grant.role, "Microsoft.KeyVault/vaults/secrets/getSecret/action", true) : grant.name === "Key Vault Secrets User" || grant.name === "Key Vault Secrets Officer" || grant.name === "Key Vault Administrator" || grant.name === "Owner";
      if (!reads) continue;
      const scope = text(grant.scope);
      const match = /^\$\{(azurerm_key_vault\.[^.}]+)\.id\}\/secrets\/([A-Za-z0-9-]+)$/.exec(scope);
      if (!match) {
        problems.push(`the secret reader holds ${grant.name} at ${scope}, not at one secret of the environment's vault`);
        continue;
      }
      names.push(match[2]);
      problems.push(...userSecretScopeProblems(infra, grant.address, match[1], match[2]));
    }
    compare(names);
    return problems;
  }
  const account = infra.find((r) => r.type === "google_service_account" && infra.some((b) => b.type === "google_service_account_iam_member" && references(b.config.service_account_id, r.address) && text(b.config.member).endsWith(`[${reader.namespace}/${reader.serviceAccount}]`)));
  if (!account) return want.length > 0 ? [`no Google service account is bound to the ${reader.namespace} namespace's secret reader`] : [];
  const names: string[] = [];
  for (const binding of infra.filter((r) => /^google_.*_iam_member$/.test(r.type) && references(r.config.member, account.address))) {
    if (binding.type === "google_service_account_iam_member") continue;
    if (!["roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner", "roles/editor"].includes(text(binding.config.role))) continue;
    if (binding.type !== "google_project_iam_member") {
      problems.push(`the secret reader holds ${text(binding.config.role)} on ${text(binding.config.secret_id)} (${binding.type}), beyond the condition on the spec's names`);
      continue;
    }
    const condition = (list(binding.config.condition)[0] ?? binding.config.condition) as Json | undefined;
    const expression = condition ? text(condition.expression) : "";
    if (!expression) {
      problems.push(`the secret reader holds ${text(binding.config.role)} on the whole project, without a condition`);
      continue;
    }
    // Each disjunct must name one whole secret: `resource.name == ".../secrets/<id>"` or its versions.
    for (const part of expression.split(" || ")) {
      const exact = /^resource\.name == "projects\/[^/"]+\/secrets\/([A-Za-z0-9_-]+)"$/.exec(part);
      const versions = /^resource\.name\.startsWith\("projects\/[^/"]+\/secrets\/([A-Za-z0-9_-]+)\/versions\/"\)$/.exec(part);
      if (exact) names.push(exact[1]);
      else if (versions) names.push(versions[1]);
      else problems.push(`the secret reader's condition part ${part} does not name one whole secret`);
    }
  }
  compare(names);
  return problems;
}
