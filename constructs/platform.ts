import type { Construct } from "constructs";
import type { CloudPlatform, ForeignBucketServices } from "./core/interfaces";
import { clusterEgressCrossing, clusterIssuerCrossing, identityClientIdCrossing, projectNumberCrossing, type Crossing, type Receive } from "./core/crossings";
import { appsWithBucketsOn, eachKnown, otherClouds, placedOn, type Cloud, type Environment, type Report } from "./core/spec";
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
   * (GKE). EKS's and AKS's contain generated ids: they cross from `<env>-infra` to the stacks
   * that trust them (`clusterIssuerCrossing`).
   */
  readonly clusterIssuer?: (env: Environment) => string;
  /** This cloud's buckets for apps on another cloud's cluster (docs/design/cross-cloud.md). */
  readonly foreignBuckets: ForeignBucketsEntry;
}

/** What a cloud's buckets serving another cloud's cluster need. */
interface ForeignBucketsEntry {
  /** The storage admits the cluster's NAT addresses alone on its public endpoint, so it receives them (`clusterEgressCrossing`). */
  readonly firewall: boolean;
  /**
   * What the apps' pods need from `<env>-infra-<cloud>` that its cloud generates, crossing to
   * `<env>-apps`; the identities publish the values (`IWorkloadIdentity.crossingValues`).
   */
  readonly intoApps: (env: Environment) => Crossing[];
  /**
   * `<env>-infra-<cloud>` can run in Terraform Cloud: its run identity on this cloud is built for a
   * stack without a cluster (AWS's run role is still shaped for EKS: docs/design/cross-cloud.md).
   */
  readonly terraformCloud: boolean;
  /** The buckets and credentials as the apps reach them; `receive` takes the crossings into `<env>-apps`. */
  readonly services: (env: Environment, receive: Receive) => ForeignBucketServices;
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
  aws: {
    platform: (scope, env) => new (cloudModule("aws").AwsPlatform)(scope, "platform", env),
    specProblems: awsSpecProblems,
    foreignBuckets: { firewall: true, intoApps: () => [], terraformCloud: false, services: (env) => cloudModule("aws").awsForeignBuckets(env) },
  },
  azure: {
    platform: (scope, env) => new (cloudModule("azure").AzurePlatform)(scope, "platform", env),
    specProblems: azureSpecProblems,
    foreignBuckets: {
      firewall: true,
      intoApps: (env) => appsWithBucketsOn(env, "azure").map(({ app }) => identityClientIdCrossing("azure", app.name)),
      terraformCloud: true,
      services: (env, receive) => cloudModule("azure").azureForeignBuckets(env, receive),
    },
  },
  gcp: {
    platform: (scope, env) => new (cloudModule("gcp").GcpPlatform)(scope, "platform", env),
    specProblems: gcpSpecProblems,
    clusterIssuer: gkeIssuer,
    // Identity is the boundary: Cloud Storage has no address firewall outside VPC Service Controls.
    // Terraform Cloud not yet: its run account may not create workload identity pools (README, "Its trust anchor is not its own").
    foreignBuckets: { firewall: false, intoApps: () => [projectNumberCrossing()], terraformCloud: false, services: (env, receive) => cloudModule("gcp").gcpForeignBuckets(env, receive) },
  },
};

/** The environment's platform on `cloud`: its own cloud's, or another cloud's for its `<env>-infra-<cloud>` stack. */
export function platformFor(scope: Construct, env: Environment, cloud: Cloud = env.cloud): CloudPlatform {
  return CLOUDS[cloud].platform(scope, env);
}

/**
 * The issuer another cloud's `<env>-infra-<cloud>` trusts for the environment's cluster: derived
 * from the spec where it can be (GKE), else received from `<env>-infra` (`clusterIssuerCrossing`).
 */
export function clusterIssuerOf(env: Environment, cloud: Cloud, receive: Receive): string {
  return CLOUDS[env.cloud].clusterIssuer?.(env) ?? receive(clusterIssuerCrossing(cloud));
}

/** `cloud`'s buckets as the environment's apps reach them from its cluster on another cloud. */
export function foreignBucketsOf(env: Environment, cloud: Cloud, receive: Receive): ForeignBucketServices {
  return CLOUDS[cloud].foreignBuckets.services(env, receive);
}

/**
 * Every value that crosses between the environment's stacks (`Crossing`), in stack order: per
 * other cloud with buckets, the cluster's issuer where it is generated, its NAT addresses where
 * that cloud's storage has a firewall, and what the apps' pods need that the cloud generates (`intoApps`).
 * Terraform Cloud's gitops stack and `npm run deploy` pass exactly these.
 */
export function crossingsOf(env: Environment): Crossing[] {
  return otherClouds(env).flatMap((cloud) => {
    const foreign = CLOUDS[cloud].foreignBuckets;
    return [
      ...(CLOUDS[env.cloud].clusterIssuer === undefined ? [clusterIssuerCrossing(cloud)] : []),
      ...(foreign.firewall ? [clusterEgressCrossing(cloud)] : []),
      ...foreign.intoApps(env),
    ];
  });
}

/** Whether the cluster's NAT addresses cross to another cloud's storage firewall (`clusterEgressCrossing`). */
export function publishesClusterEgress(env: Environment): boolean {
  return crossingsOf(env).some((crossing) => crossing.name === clusterEgressCrossing(env.cloud).name);
}

/**
 * Which placements are built (docs/design/cross-cloud.md, "Build order"): a bucket on any cloud
 * for a cluster on any other; not yet a database on another cloud, a home holding resources, nor
 * Terraform Cloud where a foreign stack's run identity is not built.
 */
export function placementProblems(env: Environment, report: Report): void {
  if (otherClouds(env).length === 0) return;
  // A home where nothing lives is the spec's own message (checkPlacement); one that holds resources is stage 2.
  if (env.home !== undefined && env.home !== env.cloud && otherClouds(env).includes(env.home)) report(["home"], env.home, `"${env.cloud}": a home other than the cluster's cloud is stage 2 of a move, not built yet (docs/design/cross-cloud.md, "Build order")`);
  eachKnown(env.databases, (database, index) => {
    const cloud = placedOn(env, database);
    if (cloud !== env.cloud) {
      report(["databases", index, "cloud"], cloud, `"${env.cloud}": a database on another cloud than the cluster's is reached over a site-to-site VPN between the two networks, stage 2 of a move, not built yet (docs/design/cross-cloud.md, "Network")`);
    }
  });
  const withoutTerraformCloud = otherClouds(env).filter((cloud) => !CLOUDS[cloud].foreignBuckets.terraformCloud);
  if (env.terraformCloud !== undefined && withoutTerraformCloud.length > 0) {
    report(["terraformCloud"], env.terraformCloud, `none while a bucket lives on ${withoutTerraformCloud.join(", ")}: the Terraform Cloud run identity of ${env.name}-infra-${withoutTerraformCloud[0]} is not built yet (docs/design/cross-cloud.md, "Build order")`);
  }
}

/** The spec rules of the environment's cloud (see `CloudEntry.specProblems`). */
export function cloudSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  CLOUDS[env.cloud].specProblems(env, report, workspaces);
}
