import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsService } from "@cdktf/provider-aws/lib/ecs-service";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import type { ITerraformCloudAgent, TerraformCloudAgentTarget } from "../core/interfaces";
import { type AwsContext, policyDocument, serviceTrustPolicy } from "./context";
import type { AwsCluster } from "./cluster";
import type { AwsNetwork } from "./network";

/**
 * The agent image, pinned. 1.32.0 is the newest release in HashiCorp's agent changelog
 * (hashicorp/web-unified-docs, content/terraform-docs-agents/v1.32.x/docs/cloud-docs/agents/changelog.mdx);
 * dynamic provider credentials need 1.7.0 or newer. Auto-update is off, so this is what runs.
 */
export const TFC_AGENT_IMAGE = "hashicorp/tfc-agent:1.32.0";

/** HTTPS: Terraform Cloud (app.terraform.io, archivist.terraform.io), releases, registries, cloud APIs, the cluster API. */
const HTTPS = 443;

/** Names of the agent's resources; the bootstrap finds the token secret by it. */
export function terraformCloudAgentName(ctx: AwsContext): string {
  return ctx.name("terraform-cloud-agent");
}

export interface AwsTerraformCloudAgentProps {
  readonly ctx: AwsContext;
  readonly target: TerraformCloudAgentTarget;
  readonly network: AwsNetwork;
  readonly cluster: AwsCluster;
  /** Encrypts the token secret (the data key: buckets, databases and their secrets). */
  readonly secretKey: KmsKey;
  /** Encrypts the agent's log group. */
  readonly logsKey: KmsKey;
}

/**
 * Terraform Cloud agents for the `<env>-apps` workspace, as an ECS Fargate service in the
 * private subnets (HashiCorp's docs: developer.hashicorp.com/terraform/cloud-docs/agents).
 * - Hosted runners have no published address range (the `/api/meta/ip-ranges` API lists only
 *   api, notifications, sentinel and vcs ranges), so runs that must reach the private EKS API
 *   come from here. The agent only polls outwards: its security group has no ingress rule and
 *   one egress rule, TCP 443 to anywhere (Terraform Cloud's and the registries' addresses are
 *   not fixed). The cluster security group admits 443 from this group only.
 * - `TFC_AGENT_SINGLE`: each agent runs one job (a plan or an apply) and exits; ECS starts a
 *   fresh task, so nothing a run leaves on disk reaches the next. Auto-update is off: the
 *   image tag is the version.
 * - Two tasks in production (`terraformCloud.agents`); Fargate spreads a service's tasks over
 *   the zones of its subnets (placement strategies do not apply to Fargate). Zone rebalancing is
 *   off: ECS would stop a running task to rebalance, and Fargate kills a task 120 s after
 *   SIGTERM (the most `stopTimeout` allows), which would cut an apply of the Helm releases.
 * - The token is read from a Secrets Manager secret the stack creates empty (the bootstrap puts
 *   the pool's token in it: Terraform never sees the token), by the task execution role only.
 * - No task role: the container has no AWS credentials. Runs use the workspace's dynamic
 *   provider credentials (OIDC), which agents support since 1.7.0.
 * - Logs to a KMS-encrypted log group kept as long as the cluster's logs.
 */
export class AwsTerraformCloudAgent extends Construct implements ITerraformCloudAgent {
  readonly securityGroup: SecurityGroup;
  readonly tokenSecret: SecretsmanagerSecret;
  readonly service: EcsService;
  readonly tokenSecretRef: string;

  constructor(scope: Construct, id: string, props: AwsTerraformCloudAgentProps) {
    super(scope, id);
    const { ctx, target, network, cluster } = props;
    const name = terraformCloudAgentName(ctx);

    this.securityGroup = new SecurityGroup(this, "security-group", {
      name,
      description: `${name}: outbound HTTPS only (agents poll Terraform Cloud; nothing connects to them)`,
      vpcId: network.vpc.id,
      tags: { Name: name },
    });
    new VpcSecurityGroupEgressRule(this, "https-out", {
      securityGroupId: this.securityGroup.id,
      description: "HTTPS to Terraform Cloud, releases, registries, cloud APIs and the cluster API",
      ipProtocol: "tcp",
      fromPort: HTTPS,
      toPort: HTTPS,
      cidrIpv4: "0.0.0.0/0",
    });
    new VpcSecurityGroupIngressRule(this, "cluster-api-from-agent", {
      securityGroupId: cluster.clusterSecurityGroupId,
      description: `Kubernetes API from the Terraform Cloud agents of ${target.pool}`,
      ipProtocol: "tcp",
      fromPort: HTTPS,
      toPort: HTTPS,
      referencedSecurityGroupId: this.securityGroup.id,
    });

    this.tokenSecret = new SecretsmanagerSecret(this, "token", {
      name: `${name}-token`,
      description: `Agent token of the Terraform Cloud agent pool ${target.pool} (${target.organization}); put there by the bootstrap`,
      kmsKeyId: props.secretKey.arn,
    });
    this.tokenSecretRef = this.tokenSecret.arn;

    const logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/ecs/${name}`,
      retentionInDays: ctx.env.cluster.logRetentionDays,
      kmsKeyId: props.logsKey.arn,
    });

    // ECS is not documented to send aws:SourceAccount when it assumes an execution role, so the
    // trust carries no such condition (a missing key would fail it and no task would start).
    const executionRole = new IamRole(this, "execution-role", {
      name: `${name}-execution`,
      permissionsBoundary: ctx.permissionsBoundary,
      description: `${ctx.env.name}: pulls the agent's token and writes its logs; no permission reaches the running container`,
      assumeRolePolicy: serviceTrustPolicy(ctx, "ecs-tasks", false),
    });
    new IamRolePolicy(this, "execution-policy", {
      role: executionRole.id,
      name: "token-and-logs",
      policy: policyDocument(
        { Sid: "ReadAgentToken", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: this.tokenSecret.arn },
        {
          Sid: "DecryptAgentTokenThroughSecretsManager",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: props.secretKey.arn,
          Condition: {
            StringEquals: {
              "kms:ViaService": ctx.servicePrincipal(`secretsmanager.${ctx.region}`),
              "kms:EncryptionContext:SecretARN": this.tokenSecret.arn,
            },
          },
        },
        { Sid: "WriteAgentLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroup.arn}:*` },
      ),
    });

    const ecsCluster = new EcsCluster(this, "cluster", { name });
    const taskDefinition = new EcsTaskDefinition(this, "task", {
      family: name,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      // HashiCorp asks for at least 2 GB; the apps stack runs the helm and kubernetes providers.
      cpu: "1024",
      memory: "4096",
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      executionRoleArn: executionRole.arn,
      containerDefinitions: JSON.stringify([
        {
          name: "tfc-agent",
          image: TFC_AGENT_IMAGE,
          essential: true,
          environment: [
            { name: "TFC_ADDRESS", value: "https://app.terraform.io" },
            { name: "TFC_AGENT_NAME", value: name },
            { name: "TFC_AGENT_SINGLE", value: "true" },
            { name: "TFC_AGENT_AUTO_UPDATE", value: "disabled" },
            { name: "TFC_AGENT_LOG_JSON", value: "true" },
          ],
          secrets: [{ name: "TFC_AGENT_TOKEN", valueFrom: this.tokenSecret.arn }],
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": logGroup.name, "awslogs-region": ctx.region, "awslogs-stream-prefix": "agent" },
          },
          // The agent finishes its job before it exits on SIGTERM; Fargate allows 120 s at most.
          stopTimeout: 120,
        },
      ]),
    });

    this.service = new EcsService(this, "service", {
      name,
      cluster: ecsCluster.arn,
      taskDefinition: taskDefinition.arn,
      desiredCount: target.agents,
      launchType: "FARGATE",
      networkConfiguration: {
        subnets: network.privateSubnets.map((subnet) => subnet.id),
        securityGroups: [this.securityGroup.id],
        assignPublicIp: false,
      },
      // A new task definition starts its agents before the old ones stop.
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      availabilityZoneRebalancing: "DISABLED",
      propagateTags: "SERVICE",
      // Until the bootstrap puts the token in the secret no task can start: never wait for one.
      waitForSteadyState: false,
    });
  }
}
