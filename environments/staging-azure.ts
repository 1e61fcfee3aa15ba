import type { EnvironmentInput } from "../constructs/core/spec";
import { staging } from "./staging";

const zone = "staging-azure.data.example.com";

/**
 * Staging on Azure: the AWS staging spec with its own name, network range and DNS zone,
 * for the team moving from AWS to Azure in stages.
 */
export const stagingAzure = {
  ...staging,
  name: "staging-azure",
  cloud: "azure",
  network: { cidr: "10.21.0.0/16" },
  cluster: {
    ...staging.cluster,
    azure: {
      ...staging.cluster.azure,
      // Step 1 of the two-apply upgrade (README, Upgrade guide): VNet Integration first; after the
      // stop/start, remove this waiver and apply again to turn KMS on.
      waivers: { secretsEncryption: "cluster created before AKS KMS: API Server VNet Integration must take effect (stop/start) before KMS with the private vault" },
    },
  },
  dns: { ...staging.dns, zone },
  apps: staging.apps.map((app) => ({ ...app, host: `${app.name}.${zone}` })),
  databases: staging.databases.map((db) => ({
    ...db,
    waivers: { customerManagedKey: "created before customer-managed keys; azurerm 4.55.0 replaces a server when its customer_managed_key is added" },
  })),
} satisfies EnvironmentInput;
