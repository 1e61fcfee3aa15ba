import type { EnvironmentInput } from "../constructs/core/spec";

/** Staging: the production stack at a smaller scale, on two zones and spot capacity. */
export const staging = {
  name: "staging",
  production: false,
  cloud: "aws",
  accounts: {
    // Replace with your staging account: AWS's documentation example id.
    aws: { region: "eu-west-1", accountId: "444455556666" },
  },
  owner: "data-platform",
  costCentre: "cc-1001",
  network: { cidr: "10.20.0.0/16" },
  cluster: {
    kubernetesVersion: "1.33",
    nodePools: [
      { name: "system", size: "medium", minNodes: 2, maxNodes: 3 },
      { name: "workers", size: "medium", minNodes: 1, maxNodes: 6, spot: true },
    ],
  },
  buckets: [
    { name: "logs", purpose: "logs", expirationDays: 30 },
    { name: "lake", purpose: "data", expirationDays: 90 },
  ],
  databases: [{ name: "platform", postgresVersion: "16", size: "small", storageGiB: 50 }],
  apps: [
    { name: "airflow", database: "platform", bucket: "logs" },
    { name: "airbyte", database: "platform", bucket: "lake" },
    { name: "datahub", database: "platform" },
    { name: "metabase", database: "platform" },
  ],
} satisfies EnvironmentInput;
