import type { Construct } from "constructs";
import type { CloudPlatform, ForeignBucketServices } from "./core/interfaces";
import { eachKnown, otherClouds, bucketCloud, type Cloud, type Environment, type Report } from "./core/spec";
import { gkeIssuer } from "./gcp/facts";
import { awsSpecProblems } from "./aws/spec-problems";
import { azureSpecProblems } from "./azure/spec-problems";
import { gcpSpecProblems } from "./gcp/spec-problems";

/** What each cloud brings: its platform, and the spec rules only it has. */
interface CloudEntry {
  /** Loads the cloud's constructs on first use (see `cloudModule`). */
  readonly platform: (scope: Construct, env: Environment) => CloudPlatform;
  /**
   * Pure checks of a spec on this cloud, run with the spec's own checks (before any stack is
   * built) so they are reported with the file and together with every other problem.
   * `workspaces` are the environment's Terraform Cloud workspaces when it uses Terraform Cloud.
   * They and what they import (`<cloud>/facts.ts`) load no construct and no provider binding.
   */
  readonly specProblems: (env: Environment, report: Report, workspaces: readonly string[]) => void;
  /**
   * The issuer of the cluster's service-account tokens, where it follows from the spec alone
   * (docs/design/cross-cloud.md: EKS's and AKS's contain generated ids and must travel between
   * stacks, which is not built yet). Another cloud's buckets are built only for such a cluster.
   */
  readonly clusterIssuer?: (env: Environment) => string;
  /** This cloud's buckets for apps on another cloud's cluster, where `federatedWorkloadIdentity` is built. */
  readonly foreignBuckets?: (env: Environment) => ForeignBucketServices;
}

/** A cloud's construct module (`constructs/<cloud>/index.ts`). */
export interface CloudModules {
  readonly aws: typeof import("./aws");
  readonly azure: typeof import("./azure");
  readonly gcp: typeof import("./gcp");
}

/**
 * A cloud's constructs, and through them its provider bindings (@cdktf/provider-aws, -azurerm,
 * -google: most of synth's module loading), are loaded when an environment of that cloud is
 * first built, not when this module loads: checking every spec of a fleet and building one AWS
 * environment (`synth --only`) loads no Azure or GCP binding. `require` (the project is CommonJS:
 * package.json has no "type", tsx runs it as such) runs synchronously inside a stack's constructor.
 */
const LOADERS: { readonly [C in Cloud]: () => CloudModules[C] } = {
  aws: () => require("./aws") as CloudModules["aws"],
  azure: () => require("./azure") as CloudModules["azure"],
  gcp: () => require("./gcp") as CloudModules["gcp"],
};

const loaded: { -readonly [C in Cloud]?: CloudModules[C] } = {};

function cloudModule<C extends Cloud>(cloud: C): CloudModules[C] {
  try {
    return (loaded[cloud] ??= LOADERS[cloud]());
  } catch (error) {
    if ((error as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw error;
    throw new Error(`constructs/${cloud} could not be required (${(error as Error).message.split("\n")[0]}): a runner whose require cannot load TypeScript hands the cloud modules over with provideCloudModules first (vitest: __tests__/support/clouds.ts)`);
  }
}

/**
 * Hands over cloud modules already loaded, for a runner whose `require` cannot load TypeScript
 * (vitest: __tests__/support/clouds.ts, its setup file, imports them); the platforms are then
 * built from these, exactly as from the ones `require` would load.
 */
export function provideCloudModules(modules: Partial<CloudModules>): void {
  Object.assign(loaded, modules);
}

/** The only place that switches on the cloud: everything after it sees a `CloudPlatform`. */
const CLOUDS: Readonly<Record<Cloud, CloudEntry>> = {
  aws: { platform: (scope, env) => new (cloudModule("aws").AwsPlatform)(scope, "platform", env), specProblems: awsSpecProblems, foreignBuckets: (env) => cloudModule("aws").awsForeignBuckets(env) },
  azure: { platform: (scope, env) => new (cloudModule("azure").AzurePlatform)(scope, "platform", env), specProblems: azureSpecProblems },
  gcp: { platform: (scope, env) => new (cloudModule("gcp").GcpPlatform)(scope, "platform", env), specProblems: gcpSpecProblems, clusterIssuer: gkeIssuer },
};

/** The environment's platform on `cloud`: its own cloud's, or another cloud's for its `<env>-infra-<cloud>` stack. */
export function platformFor(scope: Construct, env: Environment, cloud: Cloud = env.cloud): CloudPlatform {
  return CLOUDS[cloud].platform(scope, env);
}

/** The issuer another cloud trusts for the environment's cluster (see `CloudEntry.clusterIssuer`). */
export function clusterIssuerOf(env: Environment): string {
  const issuer = CLOUDS[env.cloud].clusterIssuer?.(env);
  if (issuer === undefined) throw new Error(`${env.name}: no derivable cluster issuer on ${env.cloud} (the spec check should have caught this)`);
  return issuer;
}

/** `cloud`'s buckets as the environment's apps reach them from its cluster on another cloud. */
export function foreignBucketsOf(env: Environment, cloud: Cloud): ForeignBucketServices {
  const services = CLOUDS[cloud].foreignBuckets?.(env);
  if (services === undefined) throw new Error(`${env.name}: buckets on ${cloud} for a cluster on ${env.cloud} are not built (the spec check should have caught this)`);
  return services;
}

/**
 * Which placements are built (docs/design/cross-cloud.md, "Build order"): a bucket on another
 * cloud needs a cluster whose issuer follows from the spec and a cloud whose federated identity is
 * built, and no Terraform Cloud yet (each foreign workspace's own credentials are the next step).
 */
export function placementProblems(env: Environment, report: Report): void {
  if (otherClouds(env).length === 0) return;
  const built = (Object.keys(CLOUDS) as Cloud[]).filter((cloud) => CLOUDS[cloud].foreignBuckets !== undefined && cloud !== env.cloud);
  eachKnown(env.buckets, (bucket, index) => {
    const cloud = bucketCloud(env, bucket);
    if (cloud === env.cloud) return;
    const accepted = CLOUDS[env.cloud].clusterIssuer === undefined ? `"${env.cloud}": buckets on another cloud than the cluster's are built for a GKE cluster so far` : `"${env.cloud}"${built.length > 0 ? ` or ${built.map((one) => `"${one}"`).join(", ")}` : ""}: the placements built so far`;
    if (CLOUDS[env.cloud].clusterIssuer === undefined || CLOUDS[cloud].foreignBuckets === undefined) report(["buckets", index, "cloud"], cloud, `${accepted} (docs/design/cross-cloud.md, "Build order")`);
  });
  if (env.home !== undefined && env.home !== env.cloud) report(["home"], env.home, `"${env.cloud}": a home other than the cluster's cloud is stage 2 of a move, not built yet (docs/design/cross-cloud.md, "Build order")`);
  if (env.terraformCloud !== undefined) report(["terraformCloud"], env.terraformCloud, `none while a bucket lives on another cloud: each <env>-infra-<cloud> workspace's own dynamic credentials are not built yet (docs/design/cross-cloud.md, "Build order")`);
}

/** The spec rules of the environment's cloud (see `CloudEntry.specProblems`). */
export function cloudSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  CLOUDS[env.cloud].specProblems(env, report, workspaces);
}
