import { beforeAll, describe, expect, it } from "vitest";
import { lake } from "../../environments/lake";
import type { EnvironmentInput } from "../../constructs/core/spec";
import { synthSpecs } from "./cross-cloud";
import { stackJson } from "./outdir";
import { providerAnswer } from "./plan-changes";
import { checkOffline, terraformUnavailable, type OfflineResult } from "./terraform";

/** A project for lake on GCP, for the move from AWS to GCP (lake names none: it moves to Azure). */
export const LAKE_GCP_ACCOUNT = { region: "europe-west1", projectId: "acme-data-lake" } as const;

/**
 * The stages of moving lake's cluster and then its databases from AWS to `to` (README, "Moving
 * from one cloud to another in stages"), each derived from environments/lake.ts with local state
 * (Terraform Cloud is not built for a cluster away from home):
 * - stage 1: lake as written, with its `logs` bucket on `to` (GCP: lake's Azure account swapped
 *   for a GCP project);
 * - stage 2: `cloud: to` with a new range for the cluster's network; the VPC's range moves to
 *   `networks.aws`, and what names no cloud stays on `home` (aws): the database and the S3 bucket.
 *   Airbyte reaches no storage on another cloud keyless, so its bucket is copied to one on `to`;
 * - stage 3a: the database on `to` under a new name, no app on it yet (the dump is restored into
 *   it in the window); 3b: the apps pointed at it, the RDS one kept for a rollback; 3c: the RDS
 *   database, its network and the S3 bucket leave the spec; lake-infra stays, empty, and its
 *   apply destroys them.
 */
export function moveStages(to: "azure" | "gcp") {
  const stage1 = {
    ...lake,
    terraformCloud: undefined,
    ...(to === "gcp" ? { accounts: { aws: lake.accounts.aws, gcp: LAKE_GCP_ACCOUNT }, buckets: lake.buckets.map((bucket) => (bucket.cloud === "azure" ? { ...bucket, cloud: to } : bucket)) } : {}),
  };
  const stage2 = {
    ...stage1,
    cloud: to,
    network: { cidr: "10.26.0.0/16" },
    networks: { aws: { cidr: lake.network.cidr } },
    buckets: [...stage1.buckets, { name: `lake-${to}`, purpose: "data", expirationDays: 90, cloud: to }],
    apps: lake.apps.map((app) => (app.name === "airbyte" ? { ...app, bucket: `lake-${to}` } : app)),
  };
  const stage3a = { ...stage2, databases: [...lake.databases, { ...lake.databases[0], name: `platform-${to}`, cloud: to }] };
  const stage3b = { ...stage3a, apps: stage2.apps.map((app) => ({ ...app, database: `platform-${to}` })) };
  const stage3c = { ...stage3b, networks: undefined, databases: [stage3a.databases[1]], buckets: stage2.buckets.filter((bucket) => bucket.cloud === to) };
  return { stage1, stage2, stage3a, stage3b, stage3c } as unknown as Record<"stage1" | "stage2" | "stage3a" | "stage3b" | "stage3c", EnvironmentInput>;
}

/**
 * Stage 2's `lake-infra` (the home the cluster left) with the real AWS provider, offline: it
 * validates and plans with what the cluster's stack publishes (`crossings`, of the shapes that
 * cloud gives), and, planned against a state of stage 1's `lake-infra`, replaces nothing: the EKS
 * side and the zone go, the VPN comes, the VPC, its subnets, routes and NAT, RDS, S3 and the data
 * and logs keys stay. `outdir` is read when the tests run (stage 2 synthesized in a `beforeAll`).
 */
export function describeKeptHomeWithAwsProvider(to: "azure" | "gcp", outdir: () => string, crossings: Record<string, unknown>): void {
  describe("with the real AWS provider", () => {
    const skip = terraformUnavailable();
    let result: OfflineResult;
    beforeAll(async () => {
      if (skip) return;
      result = await checkOffline(stackJson(outdir(), "lake-infra"), crossings);
    }, 300_000);

    it.skipIf(skip)(`validates and plans lake-infra with what lake-infra-${to} publishes`, () => {
      expect(result.validate.diagnostics).toEqual([]);
      expect(result.planSummary).toMatch(/^Plan: \d+ to add, 0 to change, 0 to destroy\.$/);
    });

    it.skipIf(skip)("answers, planned against stage 1's state, that nothing is replaced: the EKS side goes, the VPN comes, the VPC, RDS and S3 stay", async () => {
      // The crossing variables get values as npm run deploy would pass them (defaults here: a plan takes no -var-file).
      const after = JSON.parse(stackJson(outdir(), "lake-infra")) as { variable?: Record<string, { default?: unknown }> };
      for (const [name, variable] of Object.entries(after.variable ?? {})) variable.default = crossings[name];
      const outcome = await providerAnswer(stackJson(synthSpecs([moveStages(to).stage1], `move-${to}-before`), "lake-infra"), JSON.stringify(after));
      const changes = outcome.kind === "planned" ? outcome.changes.filter((change) => change.action !== "no-op") : [];
      expect({ refused: outcome.kind === "refused", replaced: changes.filter((change) => change.action === "replace").map((change) => change.address) }).toEqual({ refused: false, replaced: [] });
      const kept = /^aws_(vpc|subnet|route_table|nat_gateway|eip|db_instance|db_subnet_group|s3_bucket|kms_key\.platform_keys_(data|logs))\./;
      expect(changes.filter((change) => kept.test(change.address))).toEqual([]);
      expect(changes.filter((change) => change.action === "delete").map((change) => change.type)).toEqual(expect.arrayContaining(["aws_eks_cluster", "aws_eks_node_group", "aws_route53_zone"]));
      expect(changes.filter((change) => change.action === "create").map((change) => change.type)).toEqual(expect.arrayContaining(["aws_vpn_gateway", "aws_vpn_connection", "aws_customer_gateway"]));
    }, 600_000);
  });
}
