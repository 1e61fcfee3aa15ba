import type { EnvironmentInput } from "../constructs/core/spec";

/** Staging: the production stack at a smaller scale, on two zones and spot capacity. */
export const staging = {
  name: "staging",
  production: false,
  cloud: "aws",
  accounts: {
    // Replace with your staging account: AWS's documentation example id.
    aws: { region: "eu-west-1", accountId: "444455556666" },
    // The same environment on Azure and GCP: `cloud` alone rebuilds it there with nothing moved;
    // a move in stages keeps the data (README, "Moving from one cloud to another in stages").
    azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000002", tenantId: "00000000-0000-4000-8000-0000000000aa" },
    gcp: { region: "europe-west1", projectId: "acme-data-staging" },
  },
  // Replace with your Terraform Cloud organization: each stack becomes the workspace <env>-<stack>.
  terraformCloud: { organization: "acme-data", project: "data-platform-staging" },
  owner: "data-platform",
  costCentre: "cc-1001",
  network: { cidr: "10.20.0.0/16" },
  cluster: {
    kubernetesVersion: "1.33",
    // On Azure: the Entra ID group of cluster admins (required; the bootstrapper must be in it). Replace with yours.
    azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"], adminGroupName: "data-platform-admins" },
    nodePools: [
      { name: "system", size: "medium", minNodes: 2, maxNodes: 3 },
      { name: "workers", size: "medium", minNodes: 1, maxNodes: 6, spot: true },
    ],
  },
  dns: { zone: "staging.data.example.com", acmeEmail: "data-platform@example.com" },
  buckets: [
    { name: "logs", purpose: "logs", expirationDays: 30 },
    { name: "lake", purpose: "data", expirationDays: 90 },
  ],
  databases: [{ name: "platform", postgresVersion: "16", size: "small", storageGiB: 50 }],
  // Staging warns in its own channel only (critical too: staging pages nobody).
  alerts: {
    slack: { channel: "#data-alerts-staging", webhookSecret: "alerts-slack-webhook" },
  },
  metrics: { sendTo: { environment: "ops", passwordSecret: "metrics-hub-password" } },
  apps: [
    { name: "airflow", database: "platform", bucket: "logs", host: "airflow.staging.data.example.com" },
    { name: "airbyte", database: "platform", bucket: "lake", host: "airbyte.staging.data.example.com" },
    { name: "datahub", database: "platform", host: "datahub.staging.data.example.com" },
    { name: "metabase", database: "platform", host: "metabase.staging.data.example.com" },
  ],
} satisfies EnvironmentInput;
