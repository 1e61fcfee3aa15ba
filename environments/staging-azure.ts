import type { EnvironmentInput } from "../constructs/core/spec";
import { staging } from "./staging";

const zone = "staging-azure.data.example.com";

/**
 * Staging on Azure: the AWS staging spec with its own name, network range and DNS zone, and the
 * Entra ID group of cluster admins Azure requires, for the team moving from AWS to Azure in stages.
 */
export const stagingAzure = {
  ...staging,
  name: "staging-azure",
  cloud: "azure",
  network: { cidr: "10.21.0.0/16" },
  // Replace with your Entra ID group of cluster admins; whoever bootstraps the environment must be in it.
  cluster: { ...staging.cluster, azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"] } },
  dns: { ...staging.dns, zone },
  apps: staging.apps.map((app) => ({ ...app, host: `${app.name}.${zone}` })),
} satisfies EnvironmentInput;
