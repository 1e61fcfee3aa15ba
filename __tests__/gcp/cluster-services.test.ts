import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktf";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
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
  const json = JSON.parse(Testing.synth(scope)) as { data?: Record<string, Record<string, TfBlock>>; resource?: unknown; provider?: Record<string, TfBlock[]>; output?: Record<string, TfBlock> };
  const data = (type: string) => Object.values(json.data?.[type] ?? {});
  return { env, services, json, data };
}

describe("GCP cluster services (the apps stack's view)", () => {
  const staging = appsSide(gcpSpec());
  const prod = appsSide(gcpProductionSpec());

  it("adds no managed resource: providers and data sources only", () => {
    expect(staging.json.resource).toBeUndefined();
    expect(Object.keys(staging.json.provider ?? {}).sort()).toEqual(["google", "random"]);
    expect(Object.keys(staging.json.data ?? {}).sort()).toEqual(["google_client_config", "google_container_cluster", "google_sql_database_instance"]);
    expect(staging.data("google_sql_database_instance")).toHaveLength(1);
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

  it("reads the database's private IP from the instance the infra stack named", () => {
    const infraInstance = synthInfra(gcpSpec()).find("google_sql_database_instance", /^platform_database-main_[A-F0-9]+$/);
    expect(staging.data("google_sql_database_instance")).toEqual([{ name: infraInstance.name, project: "acme-data-test" }]);
    expect(staging.json.output?.database_host?.value).toMatch(/^\$\{data\.google_sql_database_instance\.platform_cluster-services_database-main_[A-F0-9]+\.private_ip_address\}$/);
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
