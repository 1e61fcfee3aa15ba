import { Construct } from "constructs";
import { Fn, Token } from "cdktn";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { WorkloadName } from "../core/apps";
import {
  ownHandle,
  type CloudPlatform,
  type IBucket,
  type ICluster,
  type IDatabaseNetwork,
  type INetwork,
  type NetworkOptions,
  type IWorkloadIdentity,
  type ResourceTypeMap,
  type TerraformCloudAgentTarget,
  type TerraformCloudTarget,
  type VpnPeer,
} from "../core/interfaces";
import { appsWithBucketsOn, homeOf, type BucketSpec, type DatabaseSpec, type Environment } from "../core/spec";
import { environmentTags } from "../core/tags";
import { AwsBucket } from "./bucket";
import { AwsAuditTrail } from "./audit-trail";
import { ownsAuditTrail } from "./facts";
import { AwsWorkloadBoundary } from "./boundary";
import { AwsClusterServices } from "./cluster-services";
import { AwsDnsZone } from "./dns";
import { AwsTerraformCloudTrust, terraformCloudRoleName } from "./terraform-cloud";
import { AwsTerraformCloudAgent } from "./terraform-cloud-agent";
import { AwsCluster } from "./cluster";
import { AwsContext, type PolicyStatement } from "./context";
import { AwsDatabase, rdsMonitoringRole } from "./database";
import { AwsWorkloadIdentity, workloadRoleName, type OidcTrust } from "./identity";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { AwsKeys } from "./keys";
import { grantUserSecretsRead } from "./user-secrets";
import { AwsNetwork } from "./network";
import { AwsDatabaseNetwork } from "./database-network";

/**
 * The AWS implementation of the platform. It configures the aws provider for the environment's
 * account and region, with the environment's tags as `default_tags` so every taggable resource
 * carries them without repeating them per resource.
 */
export class AwsPlatform extends Construct implements CloudPlatform {
  readonly cloud = "aws";
  readonly ctx: AwsContext;
  private createdKeys?: AwsKeys;
  private monitoringRole?: IamRole;
  private builtCluster?: AwsCluster;
  private boundary?: AwsWorkloadBoundary;

  constructor(scope: Construct, id: string, env: Environment) {
    super(scope, id);
    this.ctx = new AwsContext(env);
    this.ctx.providePermissionsBoundary(() => {
      this.boundary ??= new AwsWorkloadBoundary(this, "workload-boundary", this.ctx);
      return this.boundary.policy.arn;
    });
    new AwsProvider(scope, "aws", {
      region: this.ctx.region,
      // A plan against the wrong account's credentials fails instead of creating resources there.
      allowedAccountIds: [this.ctx.accountId],
      defaultTags: [{ tags: environmentTags(env) }],
    });
  }

  /** The environment's KMS keys, created with the first infra resource that needs one. */
  get keys(): AwsKeys {
    this.createdKeys ??= new AwsKeys(this, "keys", this.ctx);
    return this.createdKeys;
  }

  network(options?: NetworkOptions): AwsNetwork {
    return new AwsNetwork(this, "network", { ctx: this.ctx, logsKey: this.keys.logs, fixedEgress: options?.fixedEgress });
  }

  cluster(network: INetwork): AwsCluster {
    this.builtCluster = new AwsCluster(this, "cluster", {
      ctx: this.ctx,
      network: ownHandle(network, AwsNetwork, "AWS", "network"),
      clusterKey: this.keys.cluster,
      logsKey: this.keys.logs,
    });
    return this.builtCluster;
  }

  bucket(spec: BucketSpec): AwsBucket {
    const egress = this.ctx.env.cloud === this.cloud ? undefined : this.requireClusterEgress();
    return new AwsBucket(this, `bucket-${spec.name}`, {
      ctx: this.ctx,
      spec,
      key: this.keys.data,
      ...(egress === undefined ? {} : { policyStatements: (bucketArn: string) => appsOnlyFromClusterEgress(this.ctx, bucketArn, egress) }),
    });
  }

  /** In `<env>-infra-aws` (a cluster on another cloud): the addresses its apps' roles may reach the buckets from. */
  private clusterEgress?: readonly string[];

  admitClusterEgress(addresses: readonly string[]): void {
    if (this.ctx.env.cloud === this.cloud) throw new Error(`${this.ctx.env.name}: the S3 firewall for a cluster on another cloud is for <env>-infra-aws, and the cluster runs on AWS`);
    this.clusterEgress = addresses;
  }

  private requireClusterEgress(): readonly string[] {
    if (this.clusterEgress === undefined) throw new Error(`${this.ctx.env.name}: call admitClusterEgress() before bucket() in <env>-infra-aws: the apps' roles reach the buckets from the cluster's NAT addresses alone`);
    return this.clusterEgress;
  }

  database(spec: DatabaseSpec, network: INetwork, cluster: ICluster): AwsDatabase {
    this.monitoringRole ??= rdsMonitoringRole(this, this.ctx);
    return new AwsDatabase(this, `database-${spec.name}`, {
      ctx: this.ctx,
      spec,
      network: ownHandle(network, AwsNetwork, "AWS", "network"),
      clients: ownHandle(cluster, AwsCluster, "AWS", "cluster"),
      key: this.keys.data,
      logsKey: this.keys.logs,
      monitoringRole: this.monitoringRole,
    });
  }

  /**
   * For a cluster on another cloud: the VPC of `networks.aws` and AWS's side of the VPN. On the
   * home the cluster moved away from, the VPC it had (`network()`'s resources from that range,
   * nothing replaced), with the VPN beside it (`remoteDatabaseSubnets` agrees).
   */
  databaseNetwork(peer: VpnPeer): AwsDatabaseNetwork {
    const cidr = this.ctx.env.networks?.aws?.cidr;
    if (cidr === undefined || this.ctx.env.cloud === this.cloud) throw new Error(`${this.ctx.env.name}: a database network on AWS is for a cluster on another cloud, with networks.aws (the spec check should have caught this)`);
    if (homeOf(this.ctx.env) !== this.cloud) return new AwsDatabaseNetwork(this, "network", { ctx: this.ctx, network: { cidr }, peer, logsKey: this.keys.logs });
    const network = new AwsNetwork(this, "network", { ctx: this.ctx, logsKey: this.keys.logs, cidr });
    return new AwsDatabaseNetwork(this, "vpn", { ctx: this.ctx, network: { kept: network }, peer, logsKey: this.keys.logs });
  }

  /** An RDS database in the VPC of `databaseNetwork()`, admitting the other cloud's cluster nodes over the VPN. */
  remoteDatabase(spec: DatabaseSpec, network: IDatabaseNetwork): AwsDatabase {
    const own = ownHandle(network, AwsDatabaseNetwork, "AWS", "database network");
    this.monitoringRole ??= rdsMonitoringRole(this, this.ctx);
    return new AwsDatabase(this, `database-${spec.name}`, {
      ctx: this.ctx,
      spec,
      network: own,
      clients: { cidrs: own.clientCidrs },
      key: this.keys.data,
      logsKey: this.keys.logs,
      monitoringRole: this.monitoringRole,
    });
  }

  /** A CloudTrail trail of the account unless an organization trail covers it (audit-trail.ts). */
  auditTrail(buckets: readonly IBucket[]): void {
    if (!ownsAuditTrail(this.ctx.env)) return;
    new AwsAuditTrail(this, "audit-trail", this.ctx, this.keys.logs, buckets.map((bucket) => ownHandle(bucket, AwsBucket, "AWS", "bucket").bucket.arn));
  }

  dnsZone(zoneName: string): AwsDnsZone {
    return new AwsDnsZone(this, "dns-zone", this.ctx, zoneName);
  }

  /**
   * The trust, and with the cluster the run role as its admin: Terraform Cloud runs apply
   * `<env>-apps`, and the cluster's creator (the person who bootstraps the environment) is its
   * only admin otherwise. Without a cluster (a stack for a cluster on another cloud, or the home
   * it moved away from) the run role manages no EKS: the OpenID Connect provider it may manage is
   * the other cluster's issuer's alone (`federatedWorkloadIdentity`), named from the spec
   * (`TerraformCloudTarget.foreignClusterIssuer`: GKE's exactly, AKS's by location and tenant), so
   * a new cluster changes no policy; a received issuer outside it fails a precondition at plan.
   */
  terraformCloudTrust(target: TerraformCloudTarget): AwsTerraformCloudTrust {
    const cluster = this.builtCluster;
    const foreign = this.foreignIssuer === undefined ? undefined : target.foreignClusterIssuer;
    if (this.foreignIssuer !== undefined && foreign === undefined) throw new Error(`${this.ctx.env.name}: the run role of a stack trusting another cluster needs that cluster's issuer or its pattern (foreignClusterIssuer)`);
    if (this.foreignIssuer !== undefined && foreign !== undefined && Token.isUnresolved(this.foreignIssuer.issuer)) {
      // A received issuer the run role may not manage would fail mid-apply (the provider's url
      // forces a new one): refused at plan instead, naming what the role allows.
      // `.` in a class (`[.]`): a backslash would need HCL's own escaping too. The pattern holds a
      // location, a tenant id and a host (aksIssuerPattern): anything else is a programming error.
      if (!/^https:\/\/[a-z0-9./*-]+$/.test(foreign)) throw new Error(`${this.ctx.env.name}: cannot make a precondition of the issuer pattern ${foreign}`);
      const pattern = `^${foreign.replace(/\./g, "[.]").replace(/\*/g, ".*")}$`;
      this.foreignIssuer.provider.lifecycle = {
        precondition: [
          {
            condition: Fn.can(Fn.regex(pattern, this.foreignIssuer.issuer)),
            errorMessage: `The cluster's issuer is not one the Terraform Cloud run role may trust (${foreign}, from accounts.azure's location and tenant): check them in the spec, or the issuer's format against aksIssuerPattern (constructs/azure/facts.ts).`,
          },
        ],
      };
    }
    const oidcProviderHosts = [...(cluster ? [`oidc.eks.${this.ctx.region}.${this.ctx.serviceDomain}/id/*`] : []), ...(foreign === undefined ? [] : [foreign.replace(/^https:\/\//, "")])];
    if (cluster === undefined && this.ctx.env.cloud === "aws") throw new Error("terraformCloudTrust() needs the cluster on the cluster's cloud: call cluster() first");
    const trust = new AwsTerraformCloudTrust(this, "terraform-cloud-trust", this.ctx, target, { cluster: cluster !== undefined, oidcProviderHosts });
    const runRoleArn = `arn:${this.ctx.partition}:iam::${this.ctx.accountId}:role/${terraformCloudRoleName(this.ctx)}`;
    // Listed among the spec's admins already: that entry serves (a second one would conflict).
    if (cluster && !(this.ctx.env.cluster.aws?.adminPrincipalArns ?? []).includes(runRoleArn)) {
      cluster.grantClusterAdmin("terraform-cloud-admin", trust.role.arn, [trust.role]);
    }
    return trust;
  }

  /** Agents in the private subnets, admitted to the cluster API by the cluster security group. */
  terraformCloudAgent(target: TerraformCloudAgentTarget, network: INetwork, cluster: ICluster): AwsTerraformCloudAgent {
    return new AwsTerraformCloudAgent(this, "terraform-cloud-agent", {
      ctx: this.ctx,
      target,
      network: ownHandle(network, AwsNetwork, "AWS", "network"),
      cluster: ownHandle(cluster, AwsCluster, "AWS", "cluster"),
      secretKey: this.keys.data,
      logsKey: this.keys.logs,
    });
  }

  /** IAM on `arn:...:secret:<name>-??????` for each name (see `userSecretArnPattern`). */
  grantUserSecretsRead(identity: IWorkloadIdentity, names: readonly string[]): void {
    grantUserSecretsRead(this.ctx, identity, names);
  }

  clusterServices(): AwsClusterServices {
    return new AwsClusterServices(this, "cluster-services", this.ctx);
  }

  private foreignIssuer?: OidcTrust & { readonly provider: IamOpenidConnectProvider; readonly issuer: string };

  /**
   * On another cloud's cluster (docs/design/cross-cloud.md): the role of `app`, trusting that
   * cluster's issuer through an IAM OIDC provider of its own (`sts.amazonaws.com` audience, as
   * the cluster's pods ask for; `thumbprint_list` is optional in aws 5.100.0's schema, AWS checks
   * the issuer's certificate against its trusted CAs). Same role name as on EKS: the apps stack
   * derives its ARN. The issuer is a literal where the spec derives it (GKE) and a received
   * variable where it is generated (AKS, `clusterIssuerCrossing`), whose validation already
   * requires `https://`; the condition keys' prefix is the issuer without it, trailing `/`
   * included (AKS's `iss` ends in one: docs/design/cross-cloud.md, "Open").
   */
  federatedWorkloadIdentity(app: WorkloadName, issuer: string): AwsWorkloadIdentity {
    if (this.foreignIssuer === undefined) {
      const provider = new IamOpenidConnectProvider(this, "cluster-issuer", { url: issuer, clientIdList: ["sts.amazonaws.com"] });
      const issuerHost = Token.isUnresolved(issuer) ? Fn.trimprefix(issuer, "https://") : issuer.replace(/^https:\/\//, "");
      this.foreignIssuer = { providerArn: provider.arn, issuerHost, provider, issuer };
    }
    return new AwsWorkloadIdentity(this, `identity-${app}`, this.ctx, this.foreignIssuer, app);
  }

  workloadIdentity(app: WorkloadName, cluster: ICluster): AwsWorkloadIdentity {
    return new AwsWorkloadIdentity(this, `identity-${app}`, this.ctx, ownHandle(cluster, AwsCluster, "AWS", "cluster").oidc, app);
  }
}

/**
 * The bucket policy statement of `<env>-infra-aws` that keeps the apps' federated roles to the
 * cluster's NAT addresses (bare IPv4, made /32): a deny on any request of those roles
 * (`aws:PrincipalArn` is the role's ARN for its sessions) from elsewhere, so a token stolen off
 * the cluster is no use outside it. Scoped to the roles, so Terraform Cloud's runners and the
 * administrators keep their access, and to the roles' own calls (`aws:ViaAWSService` false), whose
 * source address a service calling on their behalf would not have (IAM User Guide, "aws:SourceIp",
 * "aws:PrincipalArn", "aws:ViaAWSService"). None where no app uses an S3 bucket here (an empty
 * `aws:PrincipalArn` list is no policy S3 takes).
 */
function appsOnlyFromClusterEgress(ctx: AwsContext, bucketArn: string, egress: readonly string[]): PolicyStatement[] {
  const roles = appsWithBucketsOn(ctx.env, "aws").map(({ app }) => `arn:${ctx.partition}:iam::${ctx.accountId}:role/${workloadRoleName(ctx, app.name)}`);
  if (roles.length === 0) return [];
  return [
    {
      Sid: "DenyAppRolesOutsideClusterEgress",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { ArnEquals: { "aws:PrincipalArn": roles }, NotIpAddress: { "aws:SourceIp": Fn.formatlist("%s/32", [egress]) }, Bool: { "aws:ViaAWSService": "false" } },
    },
  ];
}

/** The Terraform resource types behind each neutral concept on AWS (checked by the parity test). */
export const AWS_RESOURCE_TYPES: ResourceTypeMap = {
  network: ["aws_vpc", "aws_subnet", "aws_route_table", "aws_vpc_endpoint", "aws_flow_log"],
  egress: ["aws_nat_gateway", "aws_internet_gateway"],
  cluster: ["aws_eks_cluster", "aws_iam_openid_connect_provider", "aws_eks_addon"],
  nodePool: ["aws_eks_node_group", "aws_launch_template"],
  bucket: ["aws_s3_bucket", "aws_s3_bucket_public_access_block", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning"],
  database: ["aws_db_instance", "aws_db_parameter_group", "aws_db_subnet_group"],
  identity: ["aws_iam_role", "aws_iam_role_policy"],
  // RDS generates the admin password and keeps it in Secrets Manager (manage_master_user_password).
  secrets: ["aws_db_instance"],
  encryptionKey: ["aws_kms_key"],
};

/**
 * AWS resource types that hold data, each with what is lost when Terraform destroys or replaces
 * it. The pull-request gate (scripts/stack-diff.ts) refuses a destroy or replacement of these
 * without the `allow-stateful-replacement` label; which attribute changes force a replacement is
 * the provider's answer (a plan) or its table (scripts/provider-rules/), not this list.
 */
export const AWS_STATEFUL_TYPES: Readonly<Record<string, string>> = {
  aws_db_instance: "the database and its automated backups",
  aws_rds_cluster: "the database cluster",
  aws_s3_bucket: "every object in the bucket",
  aws_eks_cluster: "every Kubernetes object in the cluster, and the claims that bind its volumes",
  aws_kms_key: "the key: data encrypted with it (database, cluster secrets, logs) cannot be decrypted once it is deleted",
  aws_route53_zone: "the zone's records, and its name servers: the parent's delegation breaks",
  aws_cloudwatch_log_group: "the logs in the group",
  aws_secretsmanager_secret: "every version of the secret's value",
  aws_ebs_volume: "the volume's data",
  aws_efs_file_system: "the file system's data",
};
export { awsSpecProblems } from "./spec-problems";
export { awsForeignBuckets, awsForeignDatabases } from "./cluster-services";
