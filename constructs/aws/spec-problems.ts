import { eachKnown, specSecretNames, type Environment, type Report } from "../core/spec";
import { EKS_NODE_AMI_TYPE, ownsAuditTrail } from "./facts";

/**
 * Graviton (arm64) families: a `g` after the generation digit (m7g, c7gn, r8g, t4g, x2gd, im4gn),
 * from the EC2 instance type naming convention (docs.aws.amazon.com/ec2/latest/instancetypes/
 * instance-type-names.html: "g – AWS Graviton processors"). Not the GPU families g4dn/g5, whose
 * `g` is the family letter before the digit.
 */
const GRAVITON = /^[a-z]+\d+[a-z]*g[a-z]*\./;

/**
 * The spec rules only AWS has beyond constructs/core/spec.ts: node pools run the AL2023 x86_64
 * image, so EKS refuses a node group of Graviton types at apply (AMI type and instance types must
 * share an architecture).
 */
export function awsSpecProblems(env: Environment, report: Report): void {
  if (env.cloud !== "aws") return;
  // Secrets Manager (CreateSecret, `Name`): the schema's alphabet, and not ending in '-' plus six
  // characters, which reads as the random suffix AWS appends to every secret ARN, so an IAM
  // resource `<name>-??????` would match another secret.
  for (const { path, name } of specSecretNames(env)) {
    if (/-[A-Za-z0-9/_+=.@]{6}$/.test(name)) report(path, name, "on AWS, a Secrets Manager name that does not end in '-' and six characters (AWS appends such a suffix to every secret ARN)");
  }
  // The audit trail's bucket is `<env>-cloudtrail-<account>` (audit-trail.ts), the S3 name a spec
  // bucket named "cloudtrail" would get (bucket.ts): S3 refuses the second (BucketAlreadyOwnedByYou).
  if (ownsAuditTrail(env)) {
    eachKnown(env.buckets, (bucket, index) => {
      if (bucket.name === "cloudtrail") report(["buckets", index, "name"], bucket.name, "on AWS another name: the environment's CloudTrail trail delivers to a bucket of that name (or set accounts.aws.organizationTrail)");
    });
  }
  eachKnown(env.cluster.nodePools, (pool, index) => {
    (pool.aws?.instanceTypes ?? []).forEach((type, typeIndex) => {
      if (GRAVITON.test(type)) {
        report(["cluster", "nodePools", index, "aws", "instanceTypes", typeIndex], type, `an x86_64 instance type such as m7i.xlarge: node groups run the ${EKS_NODE_AMI_TYPE} image, and EKS refuses Graviton types with it`);
      }
    });
  });
}
