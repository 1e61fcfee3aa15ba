import type { EnvironmentInput } from "../constructs/core/spec";

/** Ops: monitoring for every environment, in its own account; its dashboards are production-grade. */
export const ops = {
  name: "ops",
  production: true,
  cloud: "aws",
  accounts: {
    // Replace with your ops account: AWS's documentation example id.
    aws: { region: "eu-west-1", accountId: "777788889999" },
    // The same environment on Azure and GCP: `cloud` alone rebuilds it there with nothing moved;
    // a move in stages keeps the data (README, "Moving from one cloud to another in stages").
    azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000003", tenantId: "00000000-0000-4000-8000-0000000000aa" },
    gcp: { region: "europe-west1", projectId: "acme-data-ops" },
  },
  // Replace with your Terraform Cloud organization: each stack becomes the workspace <env>-<stack>.
  // Ops holds only monitoring: it deploys continuously from main, unlike prod.
  terraformCloud: { organization: "acme-data", project: "data-platform-ops", release: "continuous" },
  owner: "data-platform",
  costCentre: "cc-1002",
  network: { cidr: "10.30.0.0/20", zones: 2 },
  cluster: {
    kubernetesVersion: "1.33",
    // On Azure: the Entra ID group of cluster admins (required; the bootstrapper must be in it). Replace with yours.
    azure: { adminGroupObjectIds: ["00000000-0000-4000-8000-0000000000ad"] },
    nodePools: [{ name: "system", size: "medium", minNodes: 2, maxNodes: 4 }],
  },
  dns: { zone: "ops.data.example.com", acmeEmail: "data-platform@example.com" },
  buckets: [{ name: "metrics", purpose: "backups", expirationDays: 395 }],
  databases: [
    {
      name: "grafana",
      postgresVersion: "16",
      size: "small",
      storageGiB: 20,
      highAvailability: false,
      waivers: { highAvailability: "Grafana dashboards are provisioned from git; a 10-minute restore from snapshot is acceptable." },
    },
  ],
  alerts: {
    slack: { channel: "#platform-alerts", webhookSecret: "alerts-slack-webhook" },
    email: { to: ["data-platform@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", passwordSecret: "alerts-smtp-password" },
    heartbeat: { urlSecret: "alerts-heartbeat-url" },
  },
  // The hub: every other environment sends its metrics here, each with its own password.
  metrics: {
    receiveFrom: [
      { environment: "prod", passwordSecret: "metrics-from-prod" },
      { environment: "staging", passwordSecret: "metrics-from-staging" },
      { environment: "staging-azure", passwordSecret: "metrics-from-staging-azure" },
      { environment: "staging-gcp", passwordSecret: "metrics-from-staging-gcp" },
    ],
  },
  apps: [
    { name: "grafana", database: "grafana", host: "grafana.ops.data.example.com" },
    { name: "monitoring", bucket: "metrics", host: "prometheus-grafana.ops.data.example.com" },
  ],
} satisfies EnvironmentInput;
