import type { EnvironmentInput } from "../constructs/core/spec";
import { staging } from "./staging";

/**
 * Staging on Azure: the AWS staging spec with only `name`, `cloud` and `network.cidr` changed,
 * for the team moving from AWS to Azure in stages.
 */
export const stagingAzure = {
  ...staging,
  name: "staging-azure",
  cloud: "azure",
  network: { cidr: "10.21.0.0/16" },
} satisfies EnvironmentInput;
