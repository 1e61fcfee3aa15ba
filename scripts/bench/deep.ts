/**
 * Bench anchor (npm run bench): the minimal cdktn app, the same three AWS resources as barrel.ts
 * through deep imports (`@cdktf/provider-aws/lib/<resource>`), which load only those modules.
 */
import { App, TerraformStack } from "cdktn";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Construct } from "constructs";

class Anchor extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, "aws", { region: "eu-west-1" });
    new Vpc(this, "vpc", { cidrBlock: "10.0.0.0/16" });
    new S3Bucket(this, "bucket", { bucketPrefix: "anchor-" });
    new IamRole(this, "role", {
      name: "anchor",
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    });
  }
}

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out" });
new Anchor(app, "anchor");
app.synth();
