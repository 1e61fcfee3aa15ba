import { execFile, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
import { tempDir } from "../support/outdir";
import { synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

/** The platform as the apps stack builds it: in a stack of its own, with no infra method called. */
function appsSide(input: EnvironmentInput) {
  const scope = new TerraformStack(Testing.app(), "apps");
  const env = parseEnvironment(input);
  const services = new GcpPlatform(scope, "platform", env).clusterServices();
  const { connection } = services;
  new TerraformOutput(scope, "host", { value: connection.host });
  new TerraformOutput(scope, "ca", { value: connection.clusterCaCertificate });
  new TerraformOutput(scope, "token", { value: connection.token });
  new TerraformOutput(scope, "database_host", { value: services.databaseHost(env.databases[0]) });
  // Asking twice reads the instance once.
  services.databaseHost(env.databases[0]);
  const json = JSON.parse(Testing.synth(scope)) as {
    data?: Record<string, Record<string, TfBlock>>;
    resource?: unknown;
    provider?: Record<string, TfBlock[]>;
    output?: Record<string, TfBlock>;
    locals?: Record<string, string>;
  };
  const data = (type: string) => Object.values(json.data?.[type] ?? {});
  return { env, services, json, data };
}

describe("GCP cluster services (the apps stack's view)", () => {
  const staging = appsSide(gcpSpec());
  const prod = appsSide(gcpProductionSpec());

  it("adds no managed resource: providers and data sources only", () => {
    expect(staging.json.resource).toBeUndefined();
    expect(Object.keys(staging.json.provider ?? {}).sort()).toEqual(["google", "random"]);
    expect(Object.keys(staging.json.data ?? {}).sort()).toEqual(["google_client_config", "google_container_cluster", "google_sql_database_instances"]);
    expect(staging.data("google_sql_database_instances")).toHaveLength(1);
    expect(Object.keys(staging.json.locals ?? {})).toHaveLength(1);
  });

  it("keeps the provider's default labels in the apps stack", () => {
    const provider = staging.json.provider?.google?.[0];
    expect(provider).toMatchObject({ project: "acme-data-test", region: "europe-west1", default_labels: { environment: "test" } });
  });

  it("finds the cluster by the name and location the infra stack gives it", () => {
    for (const [side, input] of [
      [staging, gcpSpec()],
      [prod, gcpProductionSpec()],
    ] as const) {
      const infraCluster = synthInfra(input).one("google_container_cluster");
      expect(side.data("google_container_cluster")).toEqual([{ name: infraCluster.name, location: infraCluster.location, project: "acme-data-test" }]);
    }
    expect(staging.data("google_container_cluster")[0]).toMatchObject({ name: "test-cluster", location: "europe-west1-b" });
    expect(prod.data("google_container_cluster")[0]).toMatchObject({ name: "live-cluster", location: "europe-west1" });
  });

  it("connects over HTTPS with the cluster CA and the run's own access token", () => {
    const output = (name: string) => staging.json.output?.[name]?.value;
    expect(output("host")).toMatch(/^https:\/\/\$\{data\.google_container_cluster\.platform_cluster-services_cluster_[A-F0-9]+\.endpoint\}$/);
    expect(output("ca")).toMatch(/^\$\{base64decode\(data\.google_container_cluster\.platform_cluster-services_cluster_[A-F0-9]+\.master_auth\[0\]\.cluster_ca_certificate\)\}$/);
    expect(output("token")).toMatch(/^\$\{data\.google_client_config\.platform_cluster-services_client-config_[A-F0-9]+\.access_token\}$/);
    expect(staging.services.connection.exec).toBeUndefined();
  });

  it("reads the database's private IP from the primary the infra stack labelled, in its project and region", () => {
    const infraInstance = synthInfra(gcpSpec()).find("google_sql_database_instance", /^platform_database-main_[A-F0-9]+$/);
    const labels = (infraInstance.settings as TfBlock).user_labels as Record<string, string>;
    const [lookup] = staging.data("google_sql_database_instances");
    expect(lookup).toMatchObject({ project: "acme-data-test", region: infraInstance.region });
    const [local] = Object.entries(staging.json.locals ?? {});
    expect(staging.json.output?.database_host?.value).toBe(`\${local.${local[0]}}`);
    // The selection names the labels exactly as the infra stack sets them.
    for (const key of ["environment", "database"]) expect(local[1]).toContain(`user_labels["${key}"], "") == "${labels[key]}"`);
    expect(local[1]).toMatch(/^\$\{one\(\[for i in data\.google_sql_database_instances\.platform_cluster-services_database-main_[A-F0-9]+\.instances : i\.private_ip_address if i\.instance_type == "CLOUD_SQL_INSTANCE" && /);
  });

  it("finds the kept instance by the same labels when gcp.instanceName is set", () => {
    const spec = { ...gcpSpec(), databases: [{ name: "main", postgresVersion: "16" as const, size: "small" as const, storageGiB: 50, gcp: { instanceName: "test-db-main" } }] };
    const infraInstance = synthInfra(spec).find("google_sql_database_instance", /^platform_database-main_[A-F0-9]+$/);
    expect(infraInstance.name).toBe("test-db-main");
    expect((infraInstance.settings as TfBlock).user_labels).toMatchObject({ environment: "test", database: "main" });
    expect(appsSide(spec).json.locals).toEqual(staging.json.locals);
  });

  it("addresses buckets by the infra stack's bucket names", () => {
    const infraBucket = synthInfra(gcpSpec()).one("google_storage_bucket");
    const bucket = staging.services.bucket(staging.env.buckets[0]);
    expect(bucket).toEqual({ cloud: "gcp", url: `gs://${infraBucket.name}`, name: infraBucket.name, region: "europe-west1" });
  });

  it("annotates service accounts with the Google service account the infra stack creates", () => {
    const infra = synthInfra(gcpSpec());
    const account = infra.find("google_service_account", "identity-airflow_");
    expect(staging.services.workloadBinding("airflow")).toEqual({
      serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": `${account.account_id}@acme-data-test.iam.gserviceaccount.com` },
      podLabels: {},
    });
    expect(staging.services.workloadBinding("external-secrets").serviceAccountAnnotations).toEqual({
      "iam.gke.io/gcp-service-account": "test-ext-secrets@acme-data-test.iam.gserviceaccount.com",
    });
  });

  it("points External Secrets at Secret Manager of the project, with its own workload identity", () => {
    expect(staging.services.secretStoreProvider()).toEqual({ gcpsm: { projectID: "acme-data-test" } });
  });

  it("reads the admin username and password from the JSON admin secret", () => {
    expect(staging.services.adminCredentials(staging.env.databases[0])).toEqual({
      username: { key: "test-db-main-admin", property: "username" },
      password: { key: "test-db-main-admin", property: "password" },
    });
  });

  it("configures external-dns for public Cloud DNS zones of the project", () => {
    expect(staging.services.externalDns("data.example.com")).toEqual({
      values: {
        provider: { name: "google" },
        extraArgs: ["--google-project=acme-data-test", "--google-zone-visibility=public"],
        domainFilters: ["data.example.com"],
        policy: "sync",
        txtOwnerId: "test",
      },
      configMaps: {},
    });
  });
});

const terraformMissing = spawnSync("terraform", ["version"], { encoding: "utf8" }).error?.message;
if (terraformMissing) console.warn(`database lookup through terraform NOT RUN: ${terraformMissing}`);

/**
 * The synthesized selection and postcondition, run by terraform itself: `google_sql_database_instances`
 * cannot be read here (no google provider, no cloud), so a built-in `terraform_data` holds
 * instances shaped like the data source's `instances` (data_source_sql_database_instances.go
 * v6.50.0: name, instance_type, region, private_ip_address, settings[0].user_labels) and the
 * stack's own postcondition and local are evaluated against it by `terraform apply`.
 */
describe.skipIf(terraformMissing !== undefined)("GCP database lookup, evaluated by terraform", () => {
  const { json } = appsSide(gcpSpec());
  const run = promisify(execFile);
  const [source] = Object.entries(json.data?.google_sql_database_instances ?? {});
  const [local] = Object.entries(json.locals ?? {});
  const address = `data.google_sql_database_instances.${source[0]}.instances`;

  const instance = (name: string, labels: Record<string, string> | null, overrides: Partial<Record<"instance_type" | "region" | "private_ip_address", string>> = {}) => ({
    name,
    instance_type: "CLOUD_SQL_INSTANCE",
    region: "europe-west1",
    private_ip_address: `10.9.0.${name.length}`,
    settings: [{ user_labels: labels, tier: "db-custom-2-8192" }],
    ...overrides,
  });
  const ours = { environment: "test", database: "main", owner: "platform-team" };

  async function evaluate(instances: ReturnType<typeof instance>[]): Promise<{ host?: string; error?: string }> {
    const dir = tempDir("sql-lookup");
    const lifecycle = JSON.parse(JSON.stringify(source[1].lifecycle).replaceAll("self.instances", "self.output"));
    writeFileSync(
      join(dir, "main.tf.json"),
      JSON.stringify({
        resource: { terraform_data: { instances: { input: instances, lifecycle } } },
        locals: { [local[0]]: local[1].replaceAll(address, "terraform_data.instances.output") },
        output: { host: { value: `\${local.${local[0]}}` } },
      }),
    );
    const env = { ...process.env, TF_CLI_CONFIG_FILE: join(dir, "none.tfrc"), TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
    const terraform = (...args: string[]) => run("terraform", args, { cwd: dir, env });
    await terraform("init", "-no-color", "-input=false");
    try {
      await terraform("apply", "-auto-approve", "-no-color", "-input=false");
    } catch (error) {
      return { error: String((error as { stderr: string }).stderr).replace(/\s+/g, " ") };
    }
    return { host: JSON.parse((await terraform("output", "-json", "host")).stdout) };
  }

  it("picks the one primary labelled for this environment and database", async () => {
    const result = await evaluate([
      instance("test-db-main-replica-1-3c4d", ours, { instance_type: "READ_REPLICA_INSTANCE", private_ip_address: "10.9.0.99" }),
      instance("live-db-main-aaaa", { ...ours, environment: "live" }),
      instance("test-db-other-bbbb", { ...ours, database: "other" }),
      instance("test-db-main-cccc", ours, { region: "europe-west10" }),
      instance("unlabelled", {}),
      instance("labels-null", null),
      instance("test-db-main-1a2b", ours, { private_ip_address: "10.9.0.3" }),
    ]);
    expect(result).toEqual({ host: "10.9.0.3" });
  }, 60_000);

  it("stops the plan with a clear message when the infra stack has not created it", async () => {
    const result = await evaluate([instance("live-db-main-aaaa", { ...ours, environment: "live" })]);
    expect(result.error).toContain("Database main: expected exactly one Cloud SQL primary in acme-data-test (europe-west1) labelled environment=test, database=main, found []; apply test-infra first");
  }, 60_000);

  it("stops the plan, naming both, when two primaries carry the labels", async () => {
    const result = await evaluate([instance("test-db-main-1a2b", ours), instance("test-db-main-clone", ours)]);
    expect(result.error).toContain('found ["test-db-main-1a2b","test-db-main-clone"]');
  }, 60_000);
});
