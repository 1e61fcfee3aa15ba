import type { EnvironmentInput } from "../../constructs/core/spec";
import { baseSpec, productionSpec } from "../support/fixtures";

const gcpAccount = { gcp: { region: "europe-west1", projectId: "acme-data-test" } };

/** The shared base spec, built on GCP (europe-west1, whose zones are b, c and d). */
export function gcpSpec(): EnvironmentInput {
  return { ...baseSpec(), cloud: "gcp", accounts: gcpAccount };
}

/** The shared production spec, built on GCP. */
export function gcpProductionSpec(): EnvironmentInput {
  return { ...productionSpec(), cloud: "gcp", accounts: gcpAccount };
}
