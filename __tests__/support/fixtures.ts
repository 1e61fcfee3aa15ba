import { Testing } from "cdktn";
import { parseEnvironment, parseEnvironments, type Environment } from "../../constructs/core/spec";
import { SpecError } from "../../constructs/core/errors";
import { environments, environmentSource } from "../../environments";
import { AppsStack } from "../../stacks/apps";
import { specChecks } from "../../stacks/app";
import type { Cloud, EnvironmentInput } from "../../constructs/core/spec";

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

const ACCOUNTS: Readonly<Record<Cloud, EnvironmentInput["accounts"]>> = {
  aws: { aws: { region: "eu-central-1", accountId: "123456789012" } },
  azure: { azure: { location: "westeurope", subscriptionId: "00000000-0000-4000-8000-000000000001", tenantId: "00000000-0000-4000-8000-000000000002" } },
  gcp: { gcp: { region: "europe-west1", projectId: "acme-data-test" } },
};

/** Every app, with a host each, on one cloud, production or not, on an on-demand and a spot pool. */
export function everyAppSpec(cloud: Cloud, production: boolean): EnvironmentInput {
  const base = baseSpec();
  return {
    ...base,
    name: production ? "live" : "test",
    production,
    cloud,
    accounts: ACCOUNTS[cloud],
    cluster: {
      ...base.cluster,
      nodePools: [...base.cluster.nodePools, { name: "spot", size: "medium", minNodes: 0, maxNodes: 6, spot: true }],
      // Azure requires an Entra ID group of cluster admins.
      ...(cloud === "azure" ? { azure: { adminGroupObjectIds: ["11111111-2222-4333-8444-555555555555"] } } : {}),
    },
    dns: { zone: "data.example.com", acmeEmail: "platform@example.com" },
    buckets: [
      { name: "logs", purpose: "logs" },
      { name: "lake", purpose: "data" },
    ],
    apps: [
      { name: "airflow", database: "main", bucket: "logs", host: "airflow.data.example.com" },
      { name: "airbyte", database: "main", bucket: "lake", host: "airbyte.data.example.com" },
      { name: "datahub", database: "main", host: "datahub.data.example.com" },
      { name: "metabase", database: "main", host: "metabase.data.example.com" },
      { name: "grafana", database: "main", host: "grafana.data.example.com" },
      { name: "monitoring", host: "monitoring.data.example.com" },
    ],
  };
}

/** The default environments, parsed together as `npm run synth` does (metrics links resolve across them). */
export function defaultEnvironments(): Environment[] {
  return parseEnvironments(environments, environmentSource, specChecks);
}

/** The apps stack of `env`, synthesized in memory among `all` (the environments its metrics links name). */
export function synthApps(env: Environment, all: readonly Environment[] = [env]): string {
  return Testing.synth(new AppsStack(Testing.app(), env, { environments: all }));
}

/** The spec problems of one environment with its cloud's rules, as `path: message` lines; [] when it is valid. */
export function specProblems(input: unknown): string[] {
  try {
    parseEnvironment(input, specChecks);
    return [];
  } catch (error) {
    if (error instanceof SpecError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
}

/** The `sso` section the sign-in tests use: one confidential client, one allowed group and the admin group. */
export const TEST_SSO = {
  issuer: "https://id.example.com/realms/data",
  clientId: "data-platform",
  clientSecret: "sso-client-credential",
  allowedGroups: ["data-team"],
  adminGroup: "data-admins",
} as const;

/** `everyAppSpec` with `sso` (TEST_SSO, fields replaced by `sso`). */
export function everyAppSpecWithSso(cloud: Cloud, production = true, sso: Partial<NonNullable<EnvironmentInput["sso"]>> = {}): EnvironmentInput {
  return { ...everyAppSpec(cloud, production), sso: { ...TEST_SSO, allowedGroups: [...TEST_SSO.allowedGroups], ...sso } };
}


/**
 * A written environment as if it lived on `cloud` alone: its cluster and every bucket there, no
 * `home`. The parity and policy tests check each default spec on every cloud it names an account
 * for (a move by changing `cloud`); an environment midway through a staged move (`lake`) is checked
 * that way too, its placement aside (__tests__/cross-cloud*.test.ts check the placement).
 */
export function onCloud(input: EnvironmentInput, cloud: Cloud): EnvironmentInput {
  return { ...input, cloud, home: undefined, buckets: input.buckets?.map((bucket) => ({ ...bucket, cloud: undefined })) } as EnvironmentInput;
}
