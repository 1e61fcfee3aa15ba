/**
 * Bench anchor (npm run bench): the naive cdktn app, three AWS resources through the provider's
 * barrel import, which loads every resource module of @cdktf/provider-aws.
 * Same resources as deep.ts; only the imports differ.
 */
import { App, TerraformStack } from "cdktn";
// oxlint-disable-next-line no-restricted-imports -- the anchor measures exactly the barrel import the rule forbids
import { iamRole, provider, s3Bucket, vpc } from "@cdktf/provider-aws";
import { Construct } from "constructs";

class Anchor extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new provider.AwsProvider(this, "aws", { region: "eu-west-1" });
    new vpc.Vpc(this, "vpc", { cidrBlock: "10.0.0.0/16" });
    new s3Bucket.S3Bucket(this, "bucket", { bucketPrefix: "anchor-" });
    new iamRole.IamRole(this, "role", {
      name: "anchor",
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    });
  }
}

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out" });
new Anchor(app, "anchor");
app.synth();
