import { Construct } from "constructs";
import { SpecError } from "../core/errors";
import type { Environment } from "../core/spec";

/** Interim: the azure platform is being built; until then a spec for it is a clear spec error. */
export class AzurePlatform extends Construct {
  constructor(scope: Construct, id: string, env: Environment) {
    super(scope, id);
    throw new SpecError(env.name, [
      { path: "cloud", message: `given "azure"; accepted: "aws" (azure is not yet supported: it arrives with the Azure/GCP parity work)` },
    ]);
  }
}
