import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { AzurePlatform } from "../../constructs/azure";
import { DYNAMIC_CREDENTIALS_VARIABLE, EXTERNAL_DNS_CONFIG_MAP } from "../../constructs/azure/cluster-services";
import { parseEnvironment } from "../../constructs/core/spec";
import { tempDir } from "../support/outdir";
import { synthInfra, type TfBlock } from "../support/synth";
import { terraformUnavailable } from "../support/terraform";
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
  new TerraformOutput(scope, "exec_args", { value: services.connection.exec?.args });
  const json = JSON.parse(Testing.synth(scope)) as {
    data?: Record<string, Record<string, TfBlock>>;
    resource?: object;
    provider: object;
    output: Record<string, { value: string }>;
    variable?: Record<string, TfBlock>;
  };
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
    expect(apps.services.connection.exec).toMatchObject({ apiVersion: "client.authentication.k8s.io/v1beta1", command: "kubelogin" });
  });

  it("declares HCP Terraform's Azure dynamic credentials variable with its documented type, null unless a run fills it", () => {
    expect(apps.json.variable?.[DYNAMIC_CREDENTIALS_VARIABLE]).toEqual({
      type: "object({default = object({client_id_file_path = string, oidc_token_file_path = string}), aliases = map(object({client_id_file_path = string, oidc_token_file_path = string}))})",
      default: null,
      nullable: true,
      description: expect.any(String),
    });
  });

  /**
   * Terraform 1.11 itself evaluates the synthesized kubelogin arguments: in a configuration with
   * only the variable and an output of the expression (no provider needed), once without the
   * variable (a person) and once with it filled as HCP Terraform documents (a run).
   */
  it.skipIf(terraformUnavailable() !== undefined)("signs a person in with the Azure CLI, and a run with its own workload identity token file", async () => {
    const run = promisify(execFile);
    const dir = tempDir("kubelogin-args");
    const variable = apps.json.variable?.[DYNAMIC_CREDENTIALS_VARIABLE];
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ variable: { [DYNAMIC_CREDENTIALS_VARIABLE]: variable }, output: { args: { value: apps.json.output.exec_args.value } } }));
    writeFileSync(join(dir, "client-id"), "11111111-2222-4333-8444-555555555555\n");
    writeFileSync(join(dir, "token.jwt"), "eyJ.example.jwt");
    const credentials = { default: { client_id_file_path: join(dir, "client-id"), oidc_token_file_path: join(dir, "token.jwt") }, aliases: {} };
    writeFileSync(join(dir, "run.tfvars.json"), JSON.stringify({ [DYNAMIC_CREDENTIALS_VARIABLE]: credentials }));
    const terraform = (...args: string[]) => run("terraform", args, { cwd: dir, env: { ...process.env, TF_IN_AUTOMATION: "1" } });
    await terraform("init", "-input=false", "-backend=false");
    const args = async (...extra: string[]) => {
      await terraform("apply", "-auto-approve", "-input=false", "-state", join(dir, "state.tfstate"), ...extra);
      return JSON.parse((await terraform("output", "-json", "-state", join(dir, "state.tfstate"), "args")).stdout) as string[];
    };
    expect(await args()).toEqual(["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]);
    expect(await args("-var-file", join(dir, "run.tfvars.json"))).toEqual([
      "get-token",
      "--login",
      "workloadidentity",
      "--server-id",
      "6dae42f8-4368-4678-94ff-3960e28e3630",
      "--client-id",
      "11111111-2222-4333-8444-555555555555",
      "--tenant-id",
      TENANT_ID,
      "--federated-token-file",
      join(dir, "token.jwt"),
      "--disable-environment-override",
    ]);
  }, 60_000);

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
    const account = String(infra.find("azurerm_storage_account", /^platform_storage_[A-F0-9]+$/).name);
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
