import { Construct } from "constructs";
import { Fn, TerraformStack } from "cdktn";
import { DataAwsEksCluster } from "@cdktf/provider-aws/lib/data-aws-eks-cluster";
import { DataAwsDbInstance } from "@cdktf/provider-aws/lib/data-aws-db-instance";
import type { AppBucket } from "../apps/types";
import type { ClusterServices, ExternalDnsSetup, ForeignBucketServices, ForeignDatabaseServices, KubernetesConnection, PodNetwork, SecretRef, WorkloadBinding } from "../core/interfaces";
import { databaseAdminSecretCrossing, databaseHostCrossing, type Receive } from "../core/crossings";
import { WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
import { planSubnets } from "../core/network-plan";
import type { BucketSpec, DatabaseSpec, Environment } from "../core/spec";
import { s3BucketName } from "./bucket";
import { eksClusterName, EKS_SPOT_TAINT } from "./cluster";
import { AwsContext } from "./context";
import { remoteDatabaseSubnets } from "./facts";
import { databaseIdentifier } from "./database";
import { workloadRoleName } from "./identity";

/**
 * The AWS side of the apps stack. Everything is found by the names the infra stack gave it:
 * the cluster and databases through data sources, roles and buckets by their deterministic
 * names. The Kubernetes token comes from the EPHEMERAL `aws_eks_cluster_auth` (aws provider 5.100.0,
 * Terraform 1.10+), signed with the run's own AWS credentials (Terraform Cloud dynamic credentials
 * work). A data source would be read at plan time and its 15-minute token would be stale when a
 * person confirms a production apply later (hashicorp/terraform-provider-kubernetes#1131); an
 * ephemeral resource is opened again at apply, so the token is fresh there. It is not renewed
 * during an apply (hashicorp/terraform-provider-aws#46633): an apply of the releases must finish
 * within 15 minutes of its start (README). The @cdktf/provider-aws 20.1.0 bindings have no ephemeral classes, so
 * the block is written as a stack override; the offline terraform test validates it.
 */
/** The ephemeral token's name in the apps stack: one cluster per stack. */
const EKS_AUTH_ID = "cluster_auth";

export class AwsClusterServices extends Construct implements ClusterServices {
  readonly connection: KubernetesConnection;
  readonly spotTaint = EKS_SPOT_TAINT;
  /**
   * EKS clusters since 1.30 have no default StorageClass, so every PersistentVolumeClaim without a
   * class (Prometheus, Alertmanager, Kafka, OpenSearch, Grafana) would stay Pending: gp3 through the
   * EBS CSI driver, encrypted (with the account's aws/ebs key, like the nodes' volumes).
   */
  readonly defaultStorageClass = { name: "gp3-encrypted", provisioner: "ebs.csi.aws.com", parameters: { type: "gp3", encrypted: "true" } };
  private readonly databases = new Map<string, DataAwsDbInstance>();

  /**
   * RDS instances live in the database subnets of every zone (network.ts). Pods get their AWS
   * credentials from STS over HTTPS (IRSA's web identity token is a projected file); the
   * instance metadata service stays out of their reach.
   */
  get podNetwork(): PodNetwork {
    return { databaseCidrs: planSubnets(this.ctx.env.network.cidr, this.ctx.env.network.zones).map((zone) => zone.database), identityEndpoints: [], privateEndpointCidrs: [] };
  }

  constructor(scope: Construct, id: string, private readonly ctx: AwsContext) {
    super(scope, id);
    const name = eksClusterName(ctx);
    const cluster = new DataAwsEksCluster(this, "cluster", { name });
    TerraformStack.of(this).addOverride(`ephemeral.aws_eks_cluster_auth.${EKS_AUTH_ID}`, { name });
    this.connection = {
      host: cluster.endpoint,
      clusterCaCertificate: Fn.base64decode(cluster.certificateAuthority.get(0).data),
      token: `\${ephemeral.aws_eks_cluster_auth.${EKS_AUTH_ID}.token}`,
    };
  }

  private database(spec: DatabaseSpec): DataAwsDbInstance {
    let found = this.databases.get(spec.name);
    if (!found) {
      found = new DataAwsDbInstance(this, `database-${spec.name}`, { dbInstanceIdentifier: databaseIdentifier(this.ctx, spec) });
      this.databases.set(spec.name, found);
    }
    return found;
  }

  databaseHost(spec: DatabaseSpec): string {
    return this.database(spec).address;
  }

  bucket(spec: BucketSpec): AppBucket {
    return s3AppBucket(this.ctx, spec);
  }

  workloadBinding(workload: WorkloadName): WorkloadBinding {
    return { serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": workloadRoleArn(this.ctx, workload) }, podLabels: {} };
  }

  /**
   * Secrets Manager, through the controller's own IRSA role, or through `serviceAccount`'s: the
   * controller requests a token for that service account (audience sts.amazonaws.com) and assumes
   * the role its `eks.amazonaws.com/role-arn` annotation names (External Secrets `auth.jwt`).
   */
  secretStoreProvider(serviceAccount?: string): Record<string, unknown> {
    const auth = serviceAccount === undefined ? {} : { auth: { jwt: { serviceAccountRef: { name: serviceAccount } } } };
    return { aws: { service: "SecretsManager", region: this.ctx.region, ...auth } };
  }

  /** RDS keeps the master credential as JSON `{"username","password"}` in its managed secret. */
  adminCredentials(spec: DatabaseSpec): { username: SecretRef; password: SecretRef } {
    const key = this.database(spec).masterUserSecret.get(0).secretArn;
    return { username: { key, property: "username" }, password: { key, property: "password" } };
  }

  externalDns(zoneName: string): ExternalDnsSetup {
    const values = {
      provider: { name: "aws" },
      env: [{ name: "AWS_DEFAULT_REGION", value: this.ctx.region }],
      extraArgs: ["--aws-zone-type=public"],
      domainFilters: [zoneName],
      policy: "sync",
      txtOwnerId: this.ctx.env.name,
    };
    return { values, configMaps: {} };
  }
}

/** An S3 bucket as apps see it, by the name `AwsBucket` gives it. */
function s3AppBucket(ctx: AwsContext, spec: BucketSpec): AppBucket {
  const name = s3BucketName(ctx, spec);
  return { cloud: "aws", url: `s3://${name}`, name, region: ctx.region };
}

/** The ARN of a workload's role, by the name `AwsWorkloadIdentity` gives it. */
function workloadRoleArn(ctx: AwsContext, workload: WorkloadName): string {
  return `arn:${ctx.partition}:iam::${ctx.accountId}:role/${workloadRoleName(ctx, workload)}`;
}

/** Where the AWS SDKs on another cloud's cluster read the projected token (the path EKS's webhook uses). */
const WEB_IDENTITY_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

/**
 * S3 buckets of an environment whose cluster runs on another cloud, as its apps reach them: the
 * names `AwsBucket` and `workloadRoleName` give, and what the EKS pod identity webhook would have
 * put in the pods (aws/amazon-eks-pod-identity-webhook v0.6.17 pkg/handler/handler.go: the role,
 * the token file and the region; a token with audience `sts.amazonaws.com`, 86400 s), which the
 * SDKs' default chain reads (botocore credentials.py `AssumeRoleWithWebIdentityProvider`).
 */
export function awsForeignBuckets(env: Environment): ForeignBucketServices {
  const ctx = new AwsContext(env);
  return {
    bucket: (spec) => s3AppBucket(ctx, spec),
    credentials: (workload) => ({
      env: {
        AWS_ROLE_ARN: workloadRoleArn(ctx, workload),
        AWS_WEB_IDENTITY_TOKEN_FILE: `${WEB_IDENTITY_TOKEN_DIR}/token`,
        AWS_REGION: ctx.region,
        AWS_DEFAULT_REGION: ctx.region,
        AWS_STS_REGIONAL_ENDPOINTS: "regional",
      },
      token: { audience: "sts.amazonaws.com", mountPath: WEB_IDENTITY_TOKEN_DIR, fileName: "token", expirationSeconds: 86400 },
    }),
  };
}

/** The ClusterSecretStore External Secrets reads the RDS admin credentials through from another cloud's cluster. */
const FOREIGN_ADMIN_STORE = "aws-database-admin";

/**
 * RDS databases of an environment whose cluster runs on another cloud, reached over the VPN
 * (`AwsDatabaseNetwork`): their subnets' ranges, and their host names and admin secret ARNs, which
 * have generated parts and so cross from `<env>-infra-aws`. External Secrets reads the secrets with
 * the `external-secrets` role there, which trusts the cluster's issuer: `auth.jwt` requests a
 * token for the controller's own service account (audience `sts.amazonaws.com`) and assumes the
 * role its `eks.amazonaws.com/role-arn` annotation names, as on EKS (`secretStoreProvider`).
 */
export function awsForeignDatabases(env: Environment, receive: Receive): ForeignDatabaseServices {
  const ctx = new AwsContext(env);
  const reader = WORKLOAD_ACCOUNTS["external-secrets"];
  return {
    databaseCidrs: remoteDatabaseSubnets(env),
    databaseHost: (spec) => receive(databaseHostCrossing("aws", spec.name)),
    adminCredentials: (spec) => {
      const key = receive(databaseAdminSecretCrossing("aws", spec.name));
      return { username: { key, property: "username" }, password: { key, property: "password" }, store: FOREIGN_ADMIN_STORE };
    },
    adminSecretStore: {
      name: FOREIGN_ADMIN_STORE,
      provider: { aws: { service: "SecretsManager", region: ctx.region, auth: { jwt: { serviceAccountRef: { name: reader.serviceAccount, namespace: reader.namespace } } } } },
    },
    adminReaderAnnotations: { "eks.amazonaws.com/role-arn": workloadRoleArn(ctx, "external-secrets") },
  };
}
