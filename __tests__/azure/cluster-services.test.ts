import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktf";
import { AzurePlatform } from "../../constructs/azure";
import { EXTERNAL_DNS_CONFIG_MAP } from "../../constructs/azure/cluster-services";
import { parseEnvironment } from "../../constructs/core/spec";
import { synthInfra, type TfBlock } from "../support/synth";
import { azureSpec, SUBSCRIPTION_ID, TENANT_ID } from "./fixtures";

const ZONE = "data.example.com";

/** An apps-side stack: the platform built in an empty stack, and only its cluster services used. */
function appsSide() {
  const env = parseEnvironment({ ...azureSpec(), dns: { zone: ZONE, acmeEmail: "ops@example.com" } });
  const scope = new TerraformStack(Testing.app(), "apps");
  const services = new AzurePlatform(scope, "platform", env).clusterServices();
  const binding = services.workloadBinding("airflow");
  services.workloadBinding("airflow"); // a second use reads the same data source
  const values = {
    databaseHost: services.databaseHost(env.databases[0]),
    bucket: services.bucket(env.buckets[0]),
    binding,
    secretStore: services.secretStoreProvider(),
    admin: services.adminCredentials(env.databases[0]),
    externalDns: services.externalDns(ZONE),
  };
  new TerraformOutput(scope, "host", { value: services.connection.host });
  new TerraformOutput(scope, "ca", { value: services.connection.clusterCaCertificate });
  new TerraformOutput(scope, "client_id", { value: binding.serviceAccountAnnotations["azure.workload.identity/client-id"] });
  const json = JSON.parse(Testing.synth(scope)) as { data?: Record<string, Record<string, TfBlock>>; resource?: object; provider: object; output: Record<string, { value: string }> };
  return { env, services, values, json };
}

describe("Azure cluster services (the apps stack's view)", () => {
  const apps = appsSide();
  const infra = synthInfra(azureSpec());
  const onlyData = (type: string) => Object.values(apps.json.data?.[type] ?? {});

  it("adds no infra resource: only providers and data sources", () => {
    expect(apps.json.resource).toBeUndefined();
    expect(Object.keys(apps.json.provider).sort()).toEqual(["azurerm", "random"]);
    expect(Object.keys(apps.json.data ?? {}).sort()).toEqual(["azurerm_kubernetes_cluster", "azurerm_user_assigned_identity"]);
  });

  it("finds the cluster by the name and resource group the infra stack gave it", () => {
    expect(onlyData("azurerm_kubernetes_cluster")).toEqual([expect.objectContaining({ name: infra.one("azurerm_kubernetes_cluster").name, resource_group_name: "test-rg" })]);
    expect(infra.one("azurerm_resource_group").name).toBe("test-rg");
  });

  it("connects to the API server with its CA decoded to PEM, authenticated by kubelogin", () => {
    expect(apps.json.output.host.value).toMatch(/^\$\{data\.azurerm_kubernetes_cluster\.platform_cluster-services_cluster_[A-F0-9]+\.kube_config\[0\]\.host\}$/);
    expect(apps.json.output.ca.value).toMatch(/^\$\{base64decode\(data\.azurerm_kubernetes_cluster\.platform_cluster-services_cluster_[A-F0-9]+\.kube_config\[0\]\.cluster_ca_certificate\)\}$/);
    expect(apps.services.connection.token).toBeUndefined();
    expect(apps.services.connection.exec).toEqual({
      apiVersion: "client.authentication.k8s.io/v1beta1",
      command: "kubelogin",
      args: ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
    });
  });

  it("binds a workload through its identity's client id, read by the identity's name, and the webhook label", () => {
    expect(onlyData("azurerm_user_assigned_identity")).toEqual([expect.objectContaining({ name: "test-app-airflow", resource_group_name: "test-rg" })]);
    expect(infra.find("azurerm_user_assigned_identity", "identity-airflow").name).toBe("test-app-airflow");
    expect(apps.json.output.client_id.value).toMatch(/^\$\{data\.azurerm_user_assigned_identity\.platform_cluster-services_identity-airflow_[A-F0-9]+\.client_id\}$/);
    expect(Object.keys(apps.values.binding.serviceAccountAnnotations)).toEqual(["azure.workload.identity/client-id"]);
    expect(apps.values.binding.podLabels).toEqual({ "azure.workload.identity/use": "true" });
  });

  it("derives the database host from the server name the infra stack uses", () => {
    const server = infra.find("azurerm_postgresql_flexible_server", /^platform_database-main_[A-F0-9]+$/);
    expect(apps.values.databaseHost).toBe(`${String(server.name)}.postgres.database.azure.com`);
  });

  it("addresses the bucket as the infra stack's container in the environment's storage account", () => {
    const account = String(infra.one("azurerm_storage_account").name);
    const container = String(infra.one("azurerm_storage_container").name);
    expect(apps.values.bucket).toEqual({ cloud: "azure", url: `abfss://${container}@${account}.dfs.core.windows.net`, name: container, storageAccount: account });
  });

  it("reads secrets from the environment's key vault with workload identity", () => {
    const vault = String(infra.one("azurerm_key_vault").name);
    expect(apps.values.secretStore).toEqual({ azurekv: { authType: "WorkloadIdentity", vaultUrl: `https://${vault}.vault.azure.net`, tenantId: TENANT_ID } });
  });

  it("points the admin credentials at the literal login and the generated password's secret", () => {
    const secret = infra.find("azapi_resource", "database-main");
    expect(apps.values.admin).toEqual({ username: infra.find("azurerm_postgresql_flexible_server", /^platform_database-main_[A-F0-9]+$/).administrator_login, password: { key: secret.name } });
  });

  describe("external-dns values", () => {
    const { values, configMaps } = apps.values.externalDns;

    it("use the Azure provider on the environment's zone only, owning records as the environment", () => {
      expect(values).toMatchObject({ provider: { name: "azure" }, domainFilters: [ZONE], policy: "sync", txtOwnerId: "test" });
    });

    it("get the workload identity token through the pod label", () => {
      expect(values.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    });

    it("mount azure.json from the external-dns-azure ConfigMap where the provider reads it", () => {
      expect(values.extraVolumes).toEqual([{ name: "azure-config", configMap: { name: EXTERNAL_DNS_CONFIG_MAP } }]);
      expect(values.extraVolumeMounts).toEqual([{ name: "azure-config", mountPath: "/etc/kubernetes", readOnly: true }]);
    });

    it("hand the ConfigMap's azure.json to the apps stack: the zone's group, workload identity, no secret", () => {
      expect(Object.keys(configMaps)).toEqual([EXTERNAL_DNS_CONFIG_MAP]);
      expect(JSON.parse(configMaps[EXTERNAL_DNS_CONFIG_MAP]["azure.json"])).toEqual({
        tenantId: TENANT_ID,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: "test-dns-rg",
        useWorkloadIdentityExtension: true,
      });
    });
  });
});
