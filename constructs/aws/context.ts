import { Fn, Token } from "cdktn";
import type { Environment } from "../core/spec";

/** Where an environment lives on AWS, with the ARN helpers every AWS construct needs. */
export class AwsContext {
  readonly region: string;
  readonly accountId: string;
  /** `aws`, `aws-cn` or `aws-us-gov`, derived from the region so no API lookup is needed. */
  readonly partition: string;

  constructor(readonly env: Environment) {
    const account = env.accounts.aws;
    if (!account) throw new Error(`environment ${env.name} has no AWS account (the spec check should have caught this)`);
    this.region = account.region;
    this.accountId = account.accountId;
    this.partition = account.region.startsWith("cn-") ? "aws-cn" : account.region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  }

  private boundaryArn?: () => string;

  /** Where `permissionsBoundary` comes from: the platform creates the boundary on first use. */
  providePermissionsBoundary(arn: () => string): void {
    this.boundaryArn = arn;
  }

  /**
   * The ARN of the permissions boundary every role of the environment carries (boundary.ts), as
   * a reference, so the policy is created before the first role that names it.
   */
  get permissionsBoundary(): string {
    if (!this.boundaryArn) throw new Error("no permissions boundary: AwsPlatform provides it");
    return this.boundaryArn();
  }

  /** Prefix for every resource name in this environment. */
  name(...parts: string[]): string {
    return [this.env.name, ...parts].join("-");
  }

  get accountRoot(): string {
    return `arn:${this.partition}:iam::${this.accountId}:root`;
  }

  managedPolicy(name: string): string {
    return `arn:${this.partition}:iam::aws:policy/${name}`;
  }

  /** The DNS suffix of service principals (`amazonaws.com`, `amazonaws.com.cn` in China). */
  get serviceDomain(): string {
    return this.partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  }

  servicePrincipal(service: string): string {
    return `${service}.${this.serviceDomain}`;
  }
}

/** An IAM policy document, rendered to JSON once at synth time. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Record<string, string | string[]> | "*";
  readonly Action: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * An IAM policy document as JSON text. A list only Terraform knows (a variable's) goes in as
 * `${jsonencode(...)}` without quotes, so the document holds a JSON array once Terraform renders it.
 */
export function policyDocument(...statements: PolicyStatement[]): string {
  const lists: string[] = [];
  const text = JSON.stringify({ Version: "2012-10-17", Statement: statements }, (_key, value: unknown) => {
    if (!Array.isArray(value) || !Token.isUnresolved(value)) return value;
    const encoded = Fn.jsonencode(value);
    lists.push(encoded);
    return encoded;
  });
  return lists.reduce((document, encoded) => document.replace(JSON.stringify(encoded), encoded), text);
}

/**
 * Trust policy letting one AWS service assume a role. `confinedToAccount` adds the
 * confused-deputy guard (aws:SourceAccount) for services documented to send it.
 */
export function serviceTrustPolicy(ctx: AwsContext, service: string, confinedToAccount: boolean): string {
  return policyDocument({
    Effect: "Allow",
    Principal: { Service: ctx.servicePrincipal(service) },
    Action: "sts:AssumeRole",
    ...(confinedToAccount ? { Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } } } : {}),
  });
}
