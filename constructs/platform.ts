import type { Construct } from "constructs";
import type { CloudPlatform } from "./core/interfaces";
import { type Environment } from "./core/spec";
import { SpecError } from "./core/errors";
import { AwsPlatform } from "./aws";

/** The only place that switches on the cloud: everything after it sees a `CloudPlatform`. */
export function platformFor(scope: Construct, env: Environment): CloudPlatform {
  switch (env.cloud) {
    case "aws":
      return new AwsPlatform(scope, "platform", env);
    case "azure":
    case "gcp":
      throw new SpecError(env.name, [
        { path: "cloud", message: `given "${env.cloud}"; accepted: "aws" (${env.cloud} is not yet supported: it arrives with the Azure/GCP parity work)` },
      ]);
  }
}
