import type { EnvironmentInput } from "../constructs/core/spec";

/** Ops: monitoring for every environment, in its own account; its dashboards are production-grade. */
export const ops = {
  name: "ops",
  production: true,
  cloud: "aws",
  accounts: {
    // Replace with your ops account: AWS's documentation example id.
    aws: { region: "eu-west-1", accountId: "777788889999" },
  },
  owner: "data-platform",
  costCentre: "cc-1002",
  network: { cidr: "10.30.0.0/20", zones: 2 },
  cluster: {
    kubernetesVersion: "1.33",
    nodePools: [{ name: "system", size: "medium", minNodes: 2, maxNodes: 4 }],
  },
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
  apps: [
    { name: "grafana", database: "grafana" },
    { name: "monitoring", bucket: "metrics" },
  ],
} satisfies EnvironmentInput;
