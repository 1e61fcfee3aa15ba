import { Construct } from "constructs";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { auditTrailArn } from "./audit-trail";
import { ownsAuditTrail } from "./facts";
import { type AwsContext, policyDocument, type PolicyStatement } from "./context";

/**
 * Customer-managed KMS keys of one environment, split by blast radius: `data` encrypts buckets,
 * databases and their secrets; `cluster` envelope-encrypts Kubernetes secrets; `logs` encrypts
 * CloudWatch log groups and the CloudTrail trail's files (it must trust the Logs and CloudTrail
 * services, which the others must not).
 * Rotation is on; deletion waits the maximum 30 days so a mistaken destroy can be cancelled.
 */
export class AwsKeys extends Construct {
  private readonly created = new Map<string, KmsKey>();
  private readonly make: (name: string) => KmsKey;

  /** Buckets, databases and their secrets. */
  get data(): KmsKey {
    return this.key("data");
  }

  /** Kubernetes secrets envelope encryption (EKS). */
  get cluster(): KmsKey {
    return this.key("cluster");
  }

  /** CloudWatch log groups and the CloudTrail trail. */
  get logs(): KmsKey {
    return this.key("logs");
  }

  /** Each key is created when first used: an `<env>-infra-<cloud>` stack with buckets only has no cluster key. */
  private key(name: string): KmsKey {
    const known = this.created.get(name);
    if (known !== undefined) return known;
    const created = this.make(name);
    this.created.set(name, created);
    return created;
  }

  constructor(scope: Construct, id: string, ctx: AwsContext) {
    super(scope, id);
    const accountAdmin: PolicyStatement = {
      Sid: "AccountAdministersKeyThroughIam",
      Effect: "Allow",
      Principal: { AWS: ctx.accountRoot },
      Action: "kms:*",
      Resource: "*",
    };
    const logsService: PolicyStatement = {
      Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
      Effect: "Allow",
      Principal: { Service: `logs.${ctx.region}.${ctx.serviceDomain}` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: {
        ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:*` },
      },
    };
    // CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail": the service
    // encrypts log files of this account's trails (encryption context aws:cloudtrail:arn) and
    // describes the key when a trail is created or updated. Both only for this environment's
    // trail: "As a security best practice, add an aws:SourceArn condition key" (the same page;
    // aws:SourceAccount is "supported, but not recommended"). The trail's ARN is deterministic.
    const trailArn = auditTrailArn(ctx);
    const cloudTrailService: PolicyStatement[] =
      !ownsAuditTrail(ctx.env)
        ? []
        : [
            {
              Sid: "CloudTrailEncryptsThisAccountsTrails",
              Effect: "Allow",
              Principal: { Service: ctx.servicePrincipal("cloudtrail") },
              Action: "kms:GenerateDataKey*",
              Resource: "*",
              Condition: {
                StringEquals: { "kms:EncryptionContext:aws:cloudtrail:arn": trailArn, "aws:SourceArn": trailArn },
              },
            },
            {
              Sid: "CloudTrailDescribesTheKey",
              Effect: "Allow",
              Principal: { Service: ctx.servicePrincipal("cloudtrail") },
              Action: "kms:DescribeKey",
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceArn": trailArn } },
            },
          ];
    const keys: Readonly<Record<string, { readonly description: string; readonly statements: PolicyStatement[] }>> = {
      data: { description: "buckets, databases and their secrets", statements: [accountAdmin] },
      cluster: { description: "Kubernetes secrets envelope encryption", statements: [accountAdmin] },
      logs: { description: "CloudWatch log groups", statements: [accountAdmin, logsService, ...cloudTrailService] },
    };
    this.make = (name) => {
      const { description, statements } = keys[name];
      const created = new KmsKey(this, name, {
        description: `${ctx.env.name}: ${description}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: policyDocument(...statements),
        lifecycle: { preventDestroy: ctx.env.production },
      });
      new KmsAlias(this, `${name}-alias`, { name: `alias/${ctx.name(name)}`, targetKeyId: created.keyId });
      return created;
    };
  }
}
