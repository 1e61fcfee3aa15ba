import type { Construct } from "constructs";
import type { CloudPlatform } from "./core/interfaces";
import type { Cloud, Environment, Report } from "./core/spec";
import { AwsPlatform, awsSpecProblems } from "./aws";
import { AzurePlatform, azureSpecProblems } from "./azure";
import { GcpPlatform, gcpSpecProblems } from "./gcp";

/** What each cloud brings: its platform, and the spec rules only it has. */
interface CloudEntry {
  readonly platform: (scope: Construct, env: Environment) => CloudPlatform;
  /**
   * Pure checks of a spec on this cloud, run with the spec's own checks (before any stack is
   * built) so they are reported with the file and together with every other problem.
   * `workspaces` are the environment's Terraform Cloud workspaces when it uses Terraform Cloud.
   */
  readonly specProblems: (env: Environment, report: Report, workspaces: readonly string[]) => void;
}

/** The only place that switches on the cloud: everything after it sees a `CloudPlatform`. */
const CLOUDS: Readonly<Record<Cloud, CloudEntry>> = {
  aws: { platform: (scope, env) => new AwsPlatform(scope, "platform", env), specProblems: awsSpecProblems },
  azure: { platform: (scope, env) => new AzurePlatform(scope, "platform", env), specProblems: azureSpecProblems },
  gcp: { platform: (scope, env) => new GcpPlatform(scope, "platform", env), specProblems: gcpSpecProblems },
};

export function platformFor(scope: Construct, env: Environment): CloudPlatform {
  return CLOUDS[env.cloud].platform(scope, env);
}

/** The spec rules of the environment's cloud (see `CloudEntry.specProblems`). */
export function cloudSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  CLOUDS[env.cloud].specProblems(env, report, workspaces);
}
