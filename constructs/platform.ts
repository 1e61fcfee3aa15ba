import type { Construct } from "constructs";
import type { CloudPlatform } from "./core/interfaces";
import type { Cloud, Environment, Report } from "./core/spec";
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
  aws: { platform: (scope, env) => new (cloudModule("aws").AwsPlatform)(scope, "platform", env), specProblems: awsSpecProblems },
  azure: { platform: (scope, env) => new (cloudModule("azure").AzurePlatform)(scope, "platform", env), specProblems: azureSpecProblems },
  gcp: { platform: (scope, env) => new (cloudModule("gcp").GcpPlatform)(scope, "platform", env), specProblems: gcpSpecProblems },
};

export function platformFor(scope: Construct, env: Environment): CloudPlatform {
  return CLOUDS[env.cloud].platform(scope, env);
}

/** The spec rules of the environment's cloud (see `CloudEntry.specProblems`). */
export function cloudSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  CLOUDS[env.cloud].specProblems(env, report, workspaces);
}
