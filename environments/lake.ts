import type { EnvironmentInput } from "../constructs/core/spec";

const zone = "lake.data.example.com";

/**
 * A data platform moving from AWS to Azure in stages (README, "Moving from one cloud to another in stages"),
 * at stage 1: its cluster, databases and Airbyte's bucket stay on AWS, and Airflow's logs already
 * live in Azure storage, reached from EKS with no stored key. Its stacks: `lake-infra` (AWS),
 * `lake-infra-azure` (the storage account, Airflow's identity trusting the EKS issuer) and
 * `lake-apps`, each its own Terraform Cloud workspace with its own cloud's dynamic credentials.
 */
export const lake = {
  name: "lake",
  production: false,
  cloud: "aws",
  // The cloud `lake-infra` keeps its resources on; it stays aws when the cluster moves (stage 2).
  home: "aws",
  accounts: {
    // Replace with your accounts: AWS's documentation example id, and a placeholder subscription.
    aws: { region: "eu-west-1", accountId: "555566667777" },
    azure: { location: "northeurope", subscriptionId: "00000000-0000-4000-8000-000000000005", tenantId: "00000000-0000-4000-8000-0000000000aa" },
  },
  terraformCloud: { organization: "acme-data", project: "data-platform-lake" },
  owner: "data-platform",
  costCentre: "cc-1001",
  network: { cidr: "10.24.0.0/16" },
  cluster: {
    kubernetesVersion: "1.33",
    // For stage 2, when the cluster moves to AKS: the Entra ID group of cluster admins. Replace with yours.
    azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"], adminGroupName: "data-platform-admins" },
    nodePools: [
      { name: "system", size: "medium", minNodes: 2, maxNodes: 3 },
      { name: "workers", size: "medium", minNodes: 1, maxNodes: 6, spot: true },
    ],
  },
  dns: { zone, acmeEmail: "data-platform@example.com" },
  buckets: [
    // Stage 1: on Azure, in lake-infra-azure; the S3 logs were copied into it and that bucket
    // removed (README, "Moving from one cloud to another in stages").
    { name: "logs", purpose: "logs", expirationDays: 30, cloud: "azure" },
    // Airbyte reaches Azure storage only with a stored key, so its bucket moves with the cluster (stage 2).
    { name: "lake", purpose: "data", expirationDays: 90 },
  ],
  databases: [{ name: "platform", postgresVersion: "16", size: "small", storageGiB: 50 }],
  alerts: { slack: { channel: "#data-alerts-lake", webhookSecret: "alerts-slack-webhook" } },
  apps: [
    { name: "airflow", database: "platform", bucket: "logs", host: `airflow.${zone}` },
    { name: "airbyte", database: "platform", bucket: "lake", host: `airbyte.${zone}` },
    { name: "datahub", database: "platform", host: `datahub.${zone}` },
    { name: "metabase", database: "platform", host: `metabase.${zone}` },
  ],
} satisfies EnvironmentInput;
