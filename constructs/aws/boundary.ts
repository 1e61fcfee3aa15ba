import { Construct } from "constructs";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { specSecretNames } from "../core/spec";
import { type AwsContext, policyDocument, type PolicyStatement } from "./context";
import { userSecretArnPattern } from "./user-secrets";

/** The boundary's name; deterministic so the run role's policy can name it before it exists. */
export function workloadBoundaryName(ctx: AwsContext): string {
  return ctx.name("workload-boundary");
}

/**
 * What any role of the environment may ever do, whatever policy it is given: the services and
 * actions the environment's workloads use, nothing of IAM but the one service-linked role the
 * EKS cluster policy creates, nothing of Organizations, STS role chaining, user or key
 * management, key administration or bucket configuration. Each statement names the roles that
 * need it; the AWS managed policies are those of the AWS Managed Policy Reference
 * (docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html).
 *
 * The data statements (objects, secrets, keys, parameters) reach the environment's resources
 * only, so a role left behind by a compromised run (it may create one with this boundary and any
 * trust policy) cannot read another environment's buckets, nor any secret of the account:
 * - objects of buckets named `<env>-*` (every bucket of the stacks: `<env>-<name>-<account>`);
 * - secrets named `<env>-*` (the agents' token), RDS-managed master secrets (`rds!*`: their names
 *   carry no environment, RDS User Guide, "Password management with Secrets Manager"), and the
 *   spec's own secret names (`userSecretArnPattern`);
 * - keys of this account and region (the environment's keys, and `aws/secretsmanager`, which the
 *   user secrets use);
 * - SSM parameters: AWS's public ones (`parameter/aws/*`) only.
 * A change to these (a new spec secret name) changes the boundary, which is the bootstrapper's.
 */
export function workloadBoundaryStatements(ctx: AwsContext): PolicyStatement[] {
  const env = ctx.env.name;
  const arn = (service: string, region: string, account: string, resource: string) => `arn:${ctx.partition}:${service}:${region}:${account}:${resource}`;
  const userSecrets = [...new Set(specSecretNames(ctx.env).map((secret) => secret.name))].sort().map((name) => userSecretArnPattern(ctx, name));
  return [
    {
      // AmazonEKSClusterPolicy (cluster role), AmazonEKS_CNI_Policy (vpc-cni), AmazonEBSCSIDriverPolicy
      // (ebs-csi), AmazonEKSWorkerNodePolicy (nodes): network interfaces, volumes, load balancers,
      // the node groups' Auto Scaling groups.
      Sid: "ClusterNetworkingAndVolumes",
      Effect: "Allow",
      Action: ["ec2:*", "elasticloadbalancing:*", "autoscaling:Describe*", "autoscaling:UpdateAutoScalingGroup"],
      Resource: "*",
    },
    {
      // AmazonEKSWorkerNodePolicy and AmazonEC2ContainerRegistryPullOnly (nodes).
      Sid: "NodesJoinAndPull",
      Effect: "Allow",
      Action: ["eks:DescribeCluster", "eks-auth:AssumeRoleForPodIdentity", "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage"],
      Resource: "*",
    },
    {
      // AmazonSSMManagedInstanceCore (nodes): Session Manager instead of SSH.
      Sid: "NodesSessionManager",
      Effect: "Allow",
      Action: [
        "ssm:DescribeAssociation",
        "ssm:GetDeployablePatchSnapshotForInstance",
        "ssm:GetDocument",
        "ssm:DescribeDocument",
        "ssm:GetManifest",
        "ssm:ListAssociations",
        "ssm:ListInstanceAssociations",
        "ssm:PutInventory",
        "ssm:PutComplianceItems",
        "ssm:PutConfigurePackageResult",
        "ssm:UpdateAssociationStatus",
        "ssm:UpdateInstanceAssociationStatus",
        "ssm:UpdateInstanceInformation",
        "ssmmessages:*",
        "ec2messages:*",
      ],
      Resource: "*",
    },
    {
      // AmazonSSMManagedInstanceCore (nodes): parameters, AWS's public ones only.
      Sid: "NodesPublicParameters",
      Effect: "Allow",
      Action: ["ssm:GetParameter", "ssm:GetParameters"],
      Resource: [arn("ssm", ctx.region, "", "parameter/aws/*"), arn("ssm", ctx.region, ctx.accountId, "parameter/aws/*")],
    },
    {
      // Bucket grants (IRSA roles of the apps): objects of the environment's buckets.
      Sid: "BucketObjects",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: [`arn:${ctx.partition}:s3:::${env}-*`, `arn:${ctx.partition}:s3:::${env}-*/*`],
    },
    {
      // Bucket keys, RDS and agent secrets (decrypt through the service), the cluster policy's grants.
      Sid: "UseKeys",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: arn("kms", ctx.region, ctx.accountId, "key/*"),
    },
    {
      // External Secrets (database admin secrets), the monitoring and SSO secret readers, the agents' token.
      Sid: "ReadSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: [arn("secretsmanager", ctx.region, ctx.accountId, `secret:${env}-*`), arn("secretsmanager", ctx.region, ctx.accountId, "secret:rds!*"), ...userSecrets],
    },
    {
      // VPC flow logs, the agents' task execution role, AmazonRDSEnhancedMonitoringRole (RDSOSMetrics).
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
      Resource: "*",
    },
    {
      // external-dns: records of the environment's zone.
      Sid: "DnsRecords",
      Effect: "Allow",
      Action: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources", "route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:GetChange"],
      Resource: "*",
    },
    {
      // AmazonEKSClusterPolicy: the load balancing service-linked role, and only that one.
      Sid: "LoadBalancingServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: "*",
      Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
    },
  ];
}

/**
 * The permissions boundary every IAM role of the environment carries except the Terraform Cloud
 * run role (IAM User Guide, "Permissions boundaries for IAM entities": a role's effective
 * permissions are what both its identity policies and its boundary allow). The run role may
 * create and change roles only with this boundary, and may not change the boundary itself
 * (terraform-cloud.ts), so nothing it creates can do more than this.
 */
export class AwsWorkloadBoundary extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, ctx: AwsContext) {
    super(scope, id);
    this.policy = new IamPolicy(this, "Resource", {
      name: workloadBoundaryName(ctx),
      description: `${ctx.env.name}: permissions boundary of every role the stacks create`,
      policy: policyDocument(...workloadBoundaryStatements(ctx)),
    });
  }
}
