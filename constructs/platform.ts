import type { Construct } from "constructs";
import type { CloudPlatform } from "./core/interfaces";
import type { Environment } from "./core/spec";
import { AwsPlatform } from "./aws";
import { AzurePlatform } from "./azure";
import { GcpPlatform } from "./gcp";

/** The only place that switches on the cloud: everything after it sees a `CloudPlatform`. */
export function platformFor(scope: Construct, env: Environment): CloudPlatform {
  switch (env.cloud) {
    case "aws":
      return new AwsPlatform(scope, "platform", env);
    case "azure":
      return new AzurePlatform(scope, "platform", env);
    case "gcp":
      return new GcpPlatform(scope, "platform", env);
  }
}
