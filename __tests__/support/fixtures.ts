import type { EnvironmentInput } from "../../constructs/core/spec";

/** A complete, valid non-production AWS spec that tests copy and change one field of. */
export function baseSpec(): EnvironmentInput {
  return {
    name: "test",
    production: false,
    cloud: "aws",
    accounts: { aws: { region: "eu-central-1", accountId: "123456789012" } },
    owner: "platform-team",
    costCentre: "cc-42",
    network: { cidr: "10.42.0.0/16" },
    cluster: {
      kubernetesVersion: "1.33",
      nodePools: [{ name: "system", size: "medium", minNodes: 2, maxNodes: 4 }],
    },
    buckets: [{ name: "logs", purpose: "logs", expirationDays: 30 }],
    databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50 }],
    apps: [{ name: "airflow", database: "main", bucket: "logs" }],
  };
}

/** The same spec, as a production environment that meets every production rule. */
export function productionSpec(): EnvironmentInput {
  return { ...baseSpec(), name: "live", production: true };
}
