import type { EnvironmentInput } from "../constructs/core/spec";
import { ops } from "./ops";
import { prod } from "./prod";
import { staging } from "./staging";
import { stagingAzure } from "./staging-azure";
import { stagingGcp } from "./staging-gcp";

/** Every environment `npm run synth` builds. Add a file next to these and list it here. */
export const environments: readonly EnvironmentInput[] = [prod, staging, ops, stagingAzure, stagingGcp];
