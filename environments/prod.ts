import type { EnvironmentInput } from "../constructs/core/spec";

/** Production: three zones, on-demand system nodes, HA database with a read replica. */
export const prod = {
  name: "prod",
  production: true,
  cloud: "aws",
  accounts: {
    // Replace with your production account: AWS's documentation example id.
    aws: { region: "eu-west-1", accountId: "111122223333" },
    // The same environment on Azure and GCP: `cloud` alone rebuilds it there with nothing moved;
    // a move in stages keeps the data (README, "Moving from one cloud to another in stages").
    azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000001", tenantId: "00000000-0000-4000-8000-0000000000aa" },
    gcp: { region: "europe-west1", projectId: "acme-data-prod" },
  },
  // Replace with your Terraform Cloud organization: each stack becomes the workspace <env>-<stack>.
  terraformCloud: { organization: "acme-data", project: "data-platform-prod" },
  owner: "data-platform",
  costCentre: "cc-1001",
  tags: { "data-classification": "confidential" },
  network: { cidr: "10.10.0.0/16", zones: 3 },
  cluster: {
    kubernetesVersion: "1.33",
    // On Azure: the Entra ID group of cluster admins (required; the bootstrapper must be in it). Replace with yours.
    azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"] },
    nodePools: [
      { name: "system", size: "medium", minNodes: 3, maxNodes: 6 },
      { name: "workers", size: "large", minNodes: 2, maxNodes: 12 },
      { name: "batch", size: "large", minNodes: 0, maxNodes: 20, spot: true },
    ],
  },
  // Replace with your own zone: external-dns manages it, cert-manager issues each host's certificate.
  dns: { zone: "prod.data.example.com", acmeEmail: "data-platform@example.com" },
  buckets: [
    { name: "logs", purpose: "logs", expirationDays: 400 },
    { name: "lake", purpose: "data" },
    { name: "artifacts", purpose: "artifacts", noncurrentVersionExpirationDays: 30 },
  ],
  databases: [
    { name: "platform", postgresVersion: "16", size: "large", storageGiB: 200, backupRetentionDays: 30, readReplicas: 1 },
  ],
  // Where alerts go. The secrets hold the credentials (create them before the apps stack: README, "Alerts").
  alerts: {
    slack: { channel: "#data-alerts", webhookSecret: "alerts-slack-webhook" },
    email: { to: ["data-oncall@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", passwordSecret: "alerts-smtp-password" },
    heartbeat: { urlSecret: "alerts-heartbeat-url" },
  },
  // Metrics also go to the ops hub, whose Grafana shows every environment; alerts stay local.
  metrics: { sendTo: { environment: "ops", passwordSecret: "metrics-hub-password" } },
  // Every UI signs in through the team's OIDC provider (README, "Single sign-on"). Replace with
  // yours; create the secret holding the client secret before the apps stack.
  sso: {
    issuer: "https://id.example.com/realms/data",
    clientId: "data-platform-prod",
    clientSecret: "sso-client-credential",
    allowedGroups: ["data-team"],
    adminGroup: "data-platform-admins",
  },
  apps: [
    { name: "airflow", database: "platform", bucket: "logs", host: "airflow.prod.data.example.com", size: "large" },
    { name: "airbyte", database: "platform", bucket: "lake", host: "airbyte.prod.data.example.com" },
    { name: "datahub", database: "platform", host: "datahub.prod.data.example.com" },
    { name: "metabase", database: "platform", host: "metabase.prod.data.example.com" },
  ],
} satisfies EnvironmentInput;
