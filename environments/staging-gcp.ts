import type { EnvironmentInput } from "../constructs/core/spec";
import { staging } from "./staging";

const zone = "staging-gcp.data.example.com";

/** Staging on GCP: the AWS staging spec with its own name, network range and DNS zone. */
export const stagingGcp = {
  ...staging,
  name: "staging-gcp",
  cloud: "gcp",
  network: { cidr: "10.22.0.0/16" },
  dns: { ...staging.dns, zone },
  apps: staging.apps.map((app) => ({ ...app, host: `${app.name}.${zone}` })),
  // Created before Cloud SQL names had a random suffix and before customer-managed keys: keeps its
  // instance and the instance's Google-managed key (README, "Upgrading GCP environments").
  databases: staging.databases.map((db) => ({
    ...db,
    gcp: { instanceName: `staging-gcp-db-${db.name}` },
    waivers: { customerManagedKey: "created with Google's key before customer-managed keys; a new key would replace the instance and its data" },
  })),
} satisfies EnvironmentInput;
