import { fleet } from "../constructs/core/fleet";

/**
 * The SaaS fleet: one single-tenant environment per customer, in the customer's own cloud
 * account, from one template (README, "Fleets of tenants"). Adding a tenant is one line in
 * `tenants`, with a slot no tenant has used: the slot fixes the tenant's network for good.
 */
export const tenants = fleet({
  name: "tenants",
  source: "environments/tenants.ts",
  // 64 tenant networks of /17 (10.64.0.0/17 is slot 0, 10.64.128.0/17 slot 1, ...): no other environment may use this range.
  // /17 and not smaller: a large tenant on GCP needs the /19 pod range of a /17 for its nodes.
  pool: "10.64.0.0/11",
  tenantPrefix: 17,
  // Delegate <tenant>.tenants.data.example.com to each tenant's zone (its name servers are an output of the infra stack).
  domain: "tenants.data.example.com",
  // Each tenant gets the Terraform Cloud project tenants-<tenant>, workspaces <tenant>-infra and <tenant>-apps.
  terraformCloud: { organization: "acme-data" },
  base: {
    production: true,
    owner: "data-platform",
    costCentre: "cc-2001",
    tags: { "data-classification": "confidential" },
    network: { zones: 3 },
    cluster: { kubernetesVersion: "1.33" },
    dns: { acmeEmail: "data-platform@example.com" },
    buckets: [
      { name: "logs", purpose: "logs", expirationDays: 400 },
      { name: "lake", purpose: "data" },
    ],
    databases: [{ name: "platform", postgresVersion: "16", backupRetentionDays: 30 }],
    apps: [
      { name: "airflow", database: "platform", bucket: "logs" },
      { name: "airbyte", database: "platform", bucket: "lake" },
      { name: "datahub", database: "platform" },
      { name: "metabase", database: "platform" },
    ],
  },
  // Replace with your customers' accounts (these are AWS's and example ids).
  tenants: [
    { slot: 0, name: "initech", cloud: "aws", account: "210987654321", region: "eu-central-1", size: "medium" },
    { slot: 1, name: "globex", cloud: "azure", account: { subscriptionId: "00000000-0000-4000-8000-000000000101", tenantId: "00000000-0000-4000-8000-0000000001aa", adminGroupObjectId: "00000000-0000-4000-8000-0000000001ad" }, region: "northeurope", size: "small", apps: ["airflow", "metabase"] },
  ],
});
