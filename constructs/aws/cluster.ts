import { Construct } from "constructs";
import { Fn, type ITerraformDependable } from "cdktn";
import { EksCluster } from "@cdktf/provider-aws/lib/eks-cluster";
import { EksNodeGroup } from "@cdktf/provider-aws/lib/eks-node-group";
import { EksAddon } from "@cdktf/provider-aws/lib/eks-addon";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { ICluster, NodeTaint } from "../core/interfaces";
import type { NodePoolSpec } from "../core/spec";
import { type AwsContext, serviceTrustPolicy } from "./context";
import type { AwsNetwork } from "./network";
import { AwsServiceAccountRole, type OidcTrust } from "./identity";
import { AWS_NODE_INSTANCE_TYPES, EKS_ADDON_VERSIONS } from "./sizes";
import { EKS_NODE_AMI_TYPE } from "./facts";

/**
 * The VPC CNI add-on's network policy agent, so that the apps stack's NetworkPolicies are
 * enforced on EKS as they are by Cilium on AKS and GKE. The add-on takes the values of the
 * aws-vpc-cni chart of its version: aws/amazon-vpc-cni-k8s v1.20.1 charts/aws-vpc-cni/values.yaml
 * `enableNetworkPolicy: "false"` (a string), read by templates/configmap.yaml
 * (`enable-network-policy-controller`) and templates/daemonset.yaml (the aws-node pods' node
 * agent, `--enable-network-policy`); the EKS user guide ("Restrict pod traffic with Kubernetes
 * network policies") sets it as `{"enableNetworkPolicy": "true"}`.
 */
export const VPC_CNI_CONFIGURATION = JSON.stringify({ enableNetworkPolicy: "true" });

/**
 * The taint on spot node groups. EKS sets no taint of its own on spot capacity (only the label
 * `eks.amazonaws.com/capacityType: SPOT`), so the platform's neutral key is used.
 */
export const EKS_SPOT_TAINT: NodeTaint = { key: "platform/capacity", value: "spot", effect: "NoSchedule" };

/** The EKS cluster name of an environment; the apps stack reaches the cluster by it. */
export function eksClusterName(ctx: AwsContext): string {
  return ctx.name("cluster");
}

export interface AwsClusterProps {
  readonly ctx: AwsContext;
  readonly network: AwsNetwork;
  readonly clusterKey: KmsKey;
  readonly logsKey: KmsKey;
}

/**
 * The EKS cluster of one environment.
 * - API endpoint private; public only for the CIDRs the spec lists (never 0.0.0.0/0).
 * - Kubernetes secrets envelope-encrypted with a rotating customer-managed KMS key.
 * - api, audit and authenticator logs to an encrypted log group kept 90 days in production (30
 *   elsewhere): enough to investigate who did what, without paying for the noisier streams.
 * - Authentication mode API: access is granted by EKS access entries, not the aws-auth
 *   ConfigMap that one bad edit can lock everyone out with.
 * - IRSA: an OIDC provider so each service account can get its own narrowly trusted role.
 * - Managed node groups on AL2023 through launch templates that require IMDSv2 with a hop
 *   limit of 1, so pods cannot borrow the node's role; root volumes gp3 and encrypted.
 * - Core add-ons (VPC CNI, kube-proxy, CoreDNS, EBS CSI) are managed add-ons at pinned builds.
 */
export class AwsCluster extends Construct implements ICluster {
  readonly cluster: EksCluster;
  readonly clusterName: string;
  private readonly ctx: AwsContext;
  readonly endpoint: string;
  readonly oidc: OidcTrust;
  readonly serviceAccountIssuer: string;
  /** EKS's cluster security group: attached to the control plane and to every managed node. */
  readonly clusterSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: AwsClusterProps) {
    super(scope, id);
    const { ctx, network } = props;
    const env = ctx.env;
    this.ctx = ctx;
    const name = eksClusterName(ctx);

    const role = new IamRole(this, "cluster-role", {
      name: ctx.name("eks-cluster"),
      permissionsBoundary: ctx.permissionsBoundary,
      assumeRolePolicy: serviceTrustPolicy(ctx, "eks", false),
    });
    const rolePolicy = new IamRolePolicyAttachment(this, "cluster-role-policy", {
      role: role.name,
      policyArn: ctx.managedPolicy("AmazonEKSClusterPolicy"),
    });
    const logGroup = new CloudwatchLogGroup(this, "control-plane-logs", {
      name: `/aws/eks/${name}/cluster`,
      retentionInDays: env.cluster.logRetentionDays,
      kmsKeyId: props.logsKey.arn,
    });

    const publicCidrs = env.cluster.publicAccessCidrs;
    this.cluster = new EksCluster(this, "Resource", {
      name,
      version: env.cluster.kubernetesVersion,
      roleArn: role.arn,
      vpcConfig: {
        subnetIds: network.privateSubnets.map((s) => s.id),
        endpointPrivateAccess: true,
        endpointPublicAccess: publicCidrs.length > 0,
        publicAccessCidrs: publicCidrs.length > 0 ? publicCidrs : undefined,
      },
      encryptionConfig: { resources: ["secrets"], provider: { keyArn: props.clusterKey.arn } },
      enabledClusterLogTypes: ["api", "audit", "authenticator"],
      accessConfig: {
        authenticationMode: "API",
        // The cluster's creator (the person who bootstraps the environment) stays admin; the
        // Terraform Cloud run role gets its own access entry (AwsPlatform.terraformCloudTrust),
        // people theirs through adminPrincipalArns. Changing this flag would replace the cluster.
        bootstrapClusterCreatorAdminPermissions: true,
      },
      // Add-ons below are managed add-ons; the self-managed copies would fight them.
      bootstrapSelfManagedAddons: false,
      // Production keeps extended support rather than being force-upgraded at end of standard support.
      upgradePolicy: { supportType: env.production ? "EXTENDED" : "STANDARD" },
      zonalShiftConfig: env.production ? { enabled: true } : undefined,
      dependsOn: [rolePolicy, logGroup],
      lifecycle: { preventDestroy: env.production },
    });
    this.clusterName = this.cluster.name;
    this.endpoint = this.cluster.endpoint;
    this.clusterSecurityGroupId = this.cluster.vpcConfig.clusterSecurityGroupId;

    const issuer = this.cluster.identity.get(0).oidc.get(0).issuer;
    const oidcProvider = new IamOpenidConnectProvider(this, "oidc-provider", {
      url: issuer,
      clientIdList: ["sts.amazonaws.com"],
    });
    this.oidc = { providerArn: oidcProvider.arn, issuerHost: Fn.replace(issuer, "https://", "") };
    this.serviceAccountIssuer = issuer;

    (env.cluster.aws?.adminPrincipalArns ?? []).forEach((principalArn, index) => this.grantClusterAdmin(`admin-${index}`, principalArn));

    const nodeGroups = this.nodeGroups(ctx, network);
    this.addons(ctx, nodeGroups);
  }

  /**
   * Makes an IAM principal a cluster admin through an EKS access entry (authentication mode API).
   * `dependsOn`: the principal itself when this stack creates it (EKS refuses unknown principals).
   */
  grantClusterAdmin(id: string, principalArn: string, dependsOn: ITerraformDependable[] = []): void {
    const clusterName = eksClusterName(this.ctx);
    const entry = new EksAccessEntry(this, id, { clusterName, principalArn, type: "STANDARD", dependsOn: [this.cluster, ...dependsOn] });
    new EksAccessPolicyAssociation(this, `${id}-policy`, {
      clusterName,
      principalArn: entry.principalArn,
      policyArn: `arn:${this.ctx.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
      accessScope: { type: "cluster" },
    });
  }

  private nodeGroups(ctx: AwsContext, network: AwsNetwork): EksNodeGroup[] {
    const nodeRole = new IamRole(this, "node-role", {
      name: ctx.name("eks-node"),
      permissionsBoundary: ctx.permissionsBoundary,
      assumeRolePolicy: serviceTrustPolicy(ctx, "ec2", false),
    });
    // The CNI policy is not here: the VPC CNI gets it through its own IRSA role.
    const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"].map(
      (policy) => new IamRolePolicyAttachment(this, `node-role-${policy}`, { role: nodeRole.name, policyArn: ctx.managedPolicy(policy) }),
    );
    return ctx.env.cluster.nodePools.map((pool) => this.nodeGroup(ctx, network, pool, nodeRole, attachments));
  }

  private nodeGroup(ctx: AwsContext, network: AwsNetwork, pool: NodePoolSpec, nodeRole: IamRole, attachments: IamRolePolicyAttachment[]): EksNodeGroup {
    const launchTemplate = new LaunchTemplate(this, `${pool.name}-launch-template`, {
      name: ctx.name("node", pool.name),
      description: `${ctx.env.name} ${pool.name} nodes: IMDSv2 only, encrypted gp3 root volume`,
      updateDefaultVersion: true,
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
      },
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeSize: pool.diskGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      // default_tags do not reach instances launched from a template; name them here.
      tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({
        resourceType,
        tags: { Name: ctx.name("node", pool.name) },
      })),
    });
    return new EksNodeGroup(this, `${pool.name}-nodes`, {
      clusterName: this.cluster.name,
      nodeGroupName: pool.name,
      nodeRoleArn: nodeRole.arn,
      subnetIds: network.privateSubnets.map((s) => s.id),
      amiType: EKS_NODE_AMI_TYPE,
      // The cluster's version, by reference: a kubernetesVersion bump upgrades the control plane
      // first, then rolls each group to the new version in place (without it the nodes would
      // stay on the version they were created with).
      version: this.cluster.version,
      capacityType: pool.spot ? "SPOT" : "ON_DEMAND",
      instanceTypes: pool.aws?.instanceTypes ?? [...AWS_NODE_INSTANCE_TYPES[pool.size]],
      scalingConfig: { minSize: pool.minNodes, maxSize: pool.maxNodes, desiredSize: Math.min(Math.max(pool.minNodes, 1), pool.maxNodes) },
      updateConfig: { maxUnavailablePercentage: 33 },
      launchTemplate: { id: launchTemplate.id, version: Fn.tostring(launchTemplate.latestVersion) },
      labels: { "platform/pool": pool.name, "platform/capacity": pool.spot ? "spot" : "on-demand" },
      taint: pool.spot ? [{ key: EKS_SPOT_TAINT.key, value: EKS_SPOT_TAINT.value, effect: "NO_SCHEDULE" }] : undefined,
      // The cluster autoscaler owns the current size once the group exists.
      lifecycle: { ignoreChanges: ["scaling_config[0].desired_size"] },
      dependsOn: attachments,
    });
  }

  private addons(ctx: AwsContext, nodeGroups: EksNodeGroup[]): void {
    const versions = EKS_ADDON_VERSIONS[ctx.env.cluster.kubernetesVersion];
    const addon = (addonName: string, options: { serviceAccountRoleArn?: string; needsNodes: boolean; configurationValues?: string }) =>
      new EksAddon(this, `addon-${addonName}`, {
        clusterName: this.cluster.name,
        addonName,
        addonVersion: versions[addonName],
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "PRESERVE",
        serviceAccountRoleArn: options.serviceAccountRoleArn,
        configurationValues: options.configurationValues,
        dependsOn: options.needsNodes ? nodeGroups : [],
      });
    const cniRole = new AwsServiceAccountRole(this, "vpc-cni-role", {
      ctx,
      oidc: this.oidc,
      roleName: ctx.name("vpc-cni"),
      namespace: "kube-system",
      serviceAccount: "aws-node",
      managedPolicies: ["AmazonEKS_CNI_Policy"],
    });
    const ebsRole = new AwsServiceAccountRole(this, "ebs-csi-role", {
      ctx,
      oidc: this.oidc,
      roleName: ctx.name("ebs-csi"),
      namespace: "kube-system",
      serviceAccount: "ebs-csi-controller-sa",
      managedPolicies: ["service-role/AmazonEBSCSIDriverPolicy"],
    });
    addon("vpc-cni", { serviceAccountRoleArn: cniRole.role.arn, needsNodes: false, configurationValues: VPC_CNI_CONFIGURATION });
    addon("kube-proxy", { needsNodes: false });
    addon("coredns", { needsNodes: true });
    addon("aws-ebs-csi-driver", { serviceAccountRoleArn: ebsRole.role.arn, needsNodes: true });
  }
}
