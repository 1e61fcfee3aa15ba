import { Construct } from "constructs";
import { TerraformStack } from "cdktn";
import { DbInstance } from "@cdktf/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktf/provider-aws/lib/db-parameter-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { IDatabase, IWorkloadIdentity } from "../core/interfaces";
import { AwsServiceAccountRole } from "./identity";
import { POSTGRES_VERSIONS, type DatabaseSpec } from "../core/spec";
import { type AwsContext, serviceTrustPolicy } from "./context";
import type { AwsNetwork } from "./network";
import type { AwsCluster } from "./cluster";
import { AWS_DATABASE_INSTANCE_CLASSES } from "./sizes";

export interface AwsDatabaseProps {
  readonly ctx: AwsContext;
  readonly spec: DatabaseSpec;
  readonly network: Pick<AwsNetwork, "vpc" | "databaseSubnetGroup">;
  /** Who may connect: the EKS cluster's security group, or the ranges of a cluster on another cloud (over the VPN). */
  readonly clients: AwsCluster | { readonly cidrs: readonly string[] };
  readonly key: KmsKey;
  /** Encrypts the log groups the instance exports to. */
  readonly logsKey: KmsKey;
  /** Enhanced-monitoring role, shared by the environment's databases. */
  readonly monitoringRole: IamRole;
}

const POSTGRES_PORT = 5432;

/** The logs every instance exports to CloudWatch Logs (`enabled_cloudwatch_logs_exports`). */
export const RDS_LOG_EXPORTS = ["postgresql", "upgrade"] as const;

/**
 * The log group RDS writes an export to: `/aws/rds/instance/<identifier>/<log type>` (RDS User
 * Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs": "the log group ... is
 * /aws/rds/instance/my_instance/postgresql"; RDS uses an existing group of that name and creates
 * it, unencrypted and never expiring, when there is none).
 */
export function rdsLogGroupName(identifier: string, logType: string): string {
  return `/aws/rds/instance/${identifier}/${logType}`;
}

/** The RDS identifier of a spec database; the apps stack looks the instance up by it. */
export function databaseIdentifier(ctx: AwsContext, spec: DatabaseSpec): string {
  return ctx.name("db", spec.name);
}

/**
 * RDS for PostgreSQL:
 * - in the isolated database subnets; its security group admits port 5432 from the cluster's
 *   security group only, and it is never publicly accessible;
 * - storage encrypted with the environment's data key, gp3, autoscaling to 4x the spec;
 * - the master password generated and rotated by RDS in Secrets Manager
 *   (`manage_master_user_password`): no password in Terraform code, plan or state;
 * - a parameter group that forces TLS and logs slow statements and connections;
 * - backups kept `backupRetentionDays` (>= 7; >= 14 in production unless waived);
 * - Multi-AZ, deletion protection, a final snapshot and `prevent_destroy` from the spec's
 *   production defaults; Performance Insights and enhanced monitoring always;
 * - read replicas from the spec, in the same subnets and posture;
 * - the log groups each instance exports to created here, before it, encrypted with the logs key
 *   and kept `cluster.logRetentionDays`, instead of by RDS (unencrypted, kept forever); imported
 *   when `aws.importLogGroups` says RDS created them already.
 */
export class AwsDatabase extends Construct implements IDatabase {
  readonly instance: DbInstance;
  readonly replicas: DbInstance[];
  readonly spec: DatabaseSpec;
  readonly host: string;
  readonly port = POSTGRES_PORT;
  readonly adminSecretRef: string;
  private readonly key: KmsKey;
  private readonly ctx: AwsContext;

  constructor(scope: Construct, id: string, props: AwsDatabaseProps) {
    super(scope, id);
    const { ctx, spec, network, key } = props;
    this.spec = spec;
    this.key = key;
    this.ctx = ctx;
    const identifier = databaseIdentifier(ctx, spec);

    const securityGroup = new SecurityGroup(this, "security-group", {
      name: identifier,
      description: `${identifier}: PostgreSQL from the cluster nodes only`,
      vpcId: network.vpc.id,
      tags: { Name: identifier },
    });
    const postgres = { securityGroupId: securityGroup.id, ipProtocol: "tcp", fromPort: POSTGRES_PORT, toPort: POSTGRES_PORT };
    if ("cidrs" in props.clients) {
      props.clients.cidrs.forEach((cidr, index) =>
        new VpcSecurityGroupIngressRule(this, `from-cluster-${index}`, { ...postgres, description: `PostgreSQL from the ${ctx.env.cloud} cluster's nodes over the VPN`, cidrIpv4: cidr }),
      );
    } else {
      new VpcSecurityGroupIngressRule(this, "from-cluster", {
        ...postgres,
        description: "PostgreSQL from the EKS cluster security group (control plane and managed nodes)",
        referencedSecurityGroupId: props.clients.clusterSecurityGroupId,
      });
    }

    const parameters = this.parameterGroups(identifier, spec.postgresVersion);

    const instanceClass = spec.aws?.instanceClass ?? AWS_DATABASE_INSTANCE_CLASSES[spec.size];
    const shared = {
      instanceClass,
      storageType: "gp3",
      storageEncrypted: true,
      // `waivers.customerManagedKey`: an instance created with RDS's managed key keeps it (kms_key_id forces a new instance; unset, the provider keeps the key it reads).
      ...(spec.waivers.customerManagedKey === undefined ? { kmsKeyId: key.arn } : {}),
      parameterGroupName: parameters.name,
      vpcSecurityGroupIds: [securityGroup.id],
      publiclyAccessible: false,
      caCertIdentifier: "rds-ca-rsa2048-g1",
      autoMinorVersionUpgrade: true,
      deletionProtection: spec.deletionProtection,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: key.arn,
      performanceInsightsRetentionPeriod: 7,
      monitoringInterval: 60,
      monitoringRoleArn: props.monitoringRole.arn,
      enabledCloudwatchLogsExports: [...RDS_LOG_EXPORTS],
      copyTagsToSnapshot: true,
      // Outside production a change lands at once; production waits for the maintenance window.
      applyImmediately: !ctx.env.production,
    };

    this.instance = new DbInstance(this, "Resource", {
      ...shared,
      identifier,
      dependsOn: this.logGroups("", identifier, props.logsKey),
      engine: "postgres",
      engineVersion: spec.postgresVersion,
      // RDS refuses a major engine_version change unless the request allows it; without this a
      // `postgresVersion` bump plans cleanly and fails at apply. Minor upgrades are automatic.
      allowMajorVersionUpgrade: true,
      allocatedStorage: spec.storageGiB,
      maxAllocatedStorage: Math.min(spec.storageGiB * 4, 65536),
      dbSubnetGroupName: network.databaseSubnetGroup.name,
      multiAz: spec.highAvailability,
      username: "platform_admin",
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: key.arn,
      iamDatabaseAuthenticationEnabled: true,
      backupRetentionPeriod: spec.backupRetentionDays,
      backupWindow: "02:00-03:00",
      maintenanceWindow: "sun:03:30-sun:04:30",
      deleteAutomatedBackups: false,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${identifier}-final`,
      lifecycle: { preventDestroy: ctx.env.production },
    });
    this.host = this.instance.address;
    this.adminSecretRef = this.instance.masterUserSecret.get(0).secretArn;

    this.replicas = Array.from({ length: spec.readReplicas }, (_, index) =>
      new DbInstance(this, `replica-${index + 1}`, {
        ...shared,
        identifier: `${identifier}-replica-${index + 1}`,
        dependsOn: this.logGroups(`replica-${index + 1}-`, `${identifier}-replica-${index + 1}`, props.logsKey),
        replicateSourceDb: this.instance.identifier,
        // A replica holds no data of its own: the primary's snapshots cover it. Without deletion
        // protection `readReplicas: 0` removes it in one apply, the first step of a major upgrade.
        skipFinalSnapshot: true,
        deletionProtection: false,
      }),
    );
  }

  /**
   * The log groups of one instance's exports, which the instance depends on so that RDS finds
   * them instead of creating its own. The logs key admits them: its policy lets CloudWatch Logs
   * use it for every log group of the account (`kms:EncryptionContext:aws:logs:arn`, keys.ts).
   */
  private logGroups(prefix: string, identifier: string, logsKey: KmsKey): CloudwatchLogGroup[] {
    return RDS_LOG_EXPORTS.map((logType) => {
      const group = new CloudwatchLogGroup(this, `${prefix}logs-${logType}`, {
        name: rdsLogGroupName(identifier, logType),
        retentionInDays: this.ctx.env.cluster.logRetentionDays,
        kmsKeyId: logsKey.arn,
      });
      if (this.spec.aws?.importLogGroups === true) group.importFrom(rdsLogGroupName(identifier, logType));
      return group;
    });
  }

  /**
   * One parameter group per PostgreSQL family, at an address of its own, for the spec's version
   * and the one before it. A major upgrade (16 -> 17) then only adds the new family's group and
   * moves the instance to it in the same ModifyDBInstance call, as RDS requires; the old group
   * stays until the next major upgrade. RDS refuses to delete a group an instance still uses
   * (DeleteDBParameterGroup, InvalidDBParameterGroupState), and in production the upgrade waits
   * for the maintenance window, so deleting the old group in the same apply would fail.
   */
  private parameterGroups(identifier: string, version: DatabaseSpec["postgresVersion"]): DbParameterGroup {
    const previous = POSTGRES_VERSIONS[POSTGRES_VERSIONS.indexOf(version) - 1];
    const group = (family: string) =>
      new DbParameterGroup(this, `parameters-pg${family}`, {
        name: `${identifier}-pg${family}`,
        family: `postgres${family}`,
        description: `${identifier}: TLS required`,
        parameter: [
          { name: "rds.force_ssl", value: "1" },
          { name: "log_min_duration_statement", value: "1000" },
          { name: "log_connections", value: "1" },
          { name: "log_disconnections", value: "1" },
        ],
      });
    if (previous !== undefined) group(previous);
    const current = group(version);
    // Releases before this one kept the group of the spec's version at the construct id
    // "parameters": move it to its family's address instead of replacing it (a no-op plan once
    // moved, and harmless where that address never existed).
    const legacy = new Construct(this, "parameters");
    current.moveFromId(`aws_db_parameter_group.${TerraformStack.of(this).getLogicalId(legacy.node)}`);
    return current;
  }

  /** Lets the identity read the RDS-managed master secret, decrypting it through Secrets Manager only. */
  grantAdminSecretRead(identity: IWorkloadIdentity): void {
    if (!(identity instanceof AwsServiceAccountRole)) {
      throw new TypeError(`an RDS secret can only be granted to an AWS workload identity, not ${identity.workload}'s`);
    }
    identity.allow(
      `${this.spec.name}-admin-secret-read`,
      { Sid: "ReadSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: this.adminSecretRef },
      {
        Sid: "DecryptSecret",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: this.key.arn,
        Condition: { StringEquals: { "kms:ViaService": this.ctx.servicePrincipal(`secretsmanager.${this.ctx.region}`) } },
      },
    );
  }
}

/** The role RDS enhanced monitoring publishes OS metrics with; one per environment. */
export function rdsMonitoringRole(scope: Construct, ctx: AwsContext): IamRole {
  const role = new IamRole(scope, "rds-monitoring-role", {
    name: ctx.name("rds-monitoring"),
    permissionsBoundary: ctx.permissionsBoundary,
    assumeRolePolicy: serviceTrustPolicy(ctx, "monitoring.rds", true),
  });
  new IamRolePolicyAttachment(scope, "rds-monitoring-policy", {
    role: role.name,
    policyArn: ctx.managedPolicy("service-role/AmazonRDSEnhancedMonitoringRole"),
  });
  return role;
}
