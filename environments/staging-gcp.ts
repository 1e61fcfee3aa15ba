import type { EnvironmentInput } from "../constructs/core/spec";
import { staging } from "./staging";

/** Staging on GCP: the AWS staging spec with only `name`, `cloud` and `network.cidr` changed. */
export const stagingGcp = {
  ...staging,
  name: "staging-gcp",
  cloud: "gcp",
  network: { cidr: "10.22.0.0/16" },
} satisfies EnvironmentInput;
