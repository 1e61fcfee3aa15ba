import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { AzurePlatform } from "../../constructs/azure";
import { parseEnvironment } from "../../constructs/core/spec";
import { synthInfra } from "../support/synth";
import { azureSpec, ref } from "./fixtures";

describe("Azure workload identity", () => {
  const spec = azureSpec();
  const stack = synthInfra({
    ...spec,
    buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data" }],
    apps: [
      { name: "airflow", database: "main", bucket: "logs" },
      { name: "airbyte", database: "main", bucket: "lake" },
      { name: "metabase", database: "main" },
    ],
  });

  it("gives each app its own user-assigned identity", () => {
    const names = stack.all("azurerm_user_assigned_identity").map((identity) => identity.name);
    expect(names).toEqual(expect.arrayContaining(["test-app-airflow", "test-app-airbyte", "test-app-metabase"]));
  });

  it("trusts only the app's service account, through the cluster's OIDC issuer, for token exchange", () => {
    const credential = stack.find("azurerm_federated_identity_credential", /^platform_identity-airflow_federated-credential_[A-F0-9]+$/);
    expect(credential).toMatchObject({
      subject: "system:serviceaccount:airflow:airflow",
      audience: ["api://AzureADTokenExchange"],
      issuer: expect.stringMatching(ref("azurerm_kubernetes_cluster", "oidc_issuer_url")),
      parent_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "identity-airflow")),
    });
    expect(stack.find("azurerm_federated_identity_credential", "identity-metabase").subject).toBe("system:serviceaccount:metabase:metabase");
    // Airflow's task pods write their logs with the same identity: a second credential, a new resource beside the first.
    const tasks = stack.find("azurerm_federated_identity_credential", /^platform_identity-airflow_federated-credential-airflow-tasks_[A-F0-9]+$/);
    expect(tasks).toMatchObject({ subject: "system:serviceaccount:airflow:airflow-tasks", audience: ["api://AzureADTokenExchange"], parent_id: credential.parent_id, issuer: credential.issuer });
    // Airbyte's job pods use the bundled MinIO on Azure: no credential for them.
    expect(stack.all("azurerm_federated_identity_credential").map((c) => c.subject)).not.toContain("system:serviceaccount:airbyte:airbyte-jobs");
    // The three apps, Airflow's task pods, and External Secrets (the infra stack adds it whenever apps run).
    expect(stack.all("azurerm_federated_identity_credential")).toHaveLength(5);
  });

  it("grants read-write on the app's own container only", () => {
    const airflowRoles = Object.entries(stack.resources("azurerm_role_assignment")).filter(([id]) => id.includes("identity-airflow"));
    expect(airflowRoles).toHaveLength(1);
    expect(airflowRoles[0][1]).toMatchObject({
      role_definition_name: "Storage Blob Data Contributor",
      scope: expect.stringMatching(ref("azurerm_storage_container", "resource_manager_id", "bucket-logs")),
      principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "identity-airflow")),
      principal_type: "ServicePrincipal",
    });
    expect(JSON.stringify(stack.find("azurerm_role_assignment", "identity-airbyte"))).toContain("bucket-lake");
    expect(JSON.stringify(stack.find("azurerm_role_assignment", "identity-airbyte"))).not.toContain("bucket-logs");
    expect(Object.keys(stack.resources("azurerm_role_assignment")).some((id) => id.includes("identity-metabase"))).toBe(false);
  });

  it("never assigns an app a role on the account, resource group or subscription", () => {
    const appRoles = Object.entries(stack.resources("azurerm_role_assignment")).filter(([id]) => id.includes("identity-") && !id.includes("identity-external-"));
    expect(appRoles.length).toBeGreaterThan(0);
    for (const [, role] of appRoles) expect(role.scope).toMatch(ref("azurerm_storage_container", "resource_manager_id"));
  });

  it("gives External Secrets only the database admin secrets, one secret per assignment", () => {
    const roles = Object.entries(stack.resources("azurerm_role_assignment")).filter(([id]) => id.includes("identity-external-secrets"));
    expect(roles.map(([, role]) => role)).toEqual([
      expect.objectContaining({ role_definition_name: "Key Vault Secrets User", scope: expect.stringMatching(ref("azapi_resource", "id", "database-main_admin-secret")) }),
    ]);
  });

  it("grants read-only with Storage Blob Data Reader", () => {
    const app = Testing.app();
    const testStack = new TerraformStack(app, "grant-read");
    const platform = new AzurePlatform(testStack, "platform", parseEnvironment(azureSpec()));
    const cluster = platform.cluster(platform.network());
    const env = parseEnvironment(azureSpec());
    platform.bucket(env.buckets[0]).grantRead(platform.workloadIdentity("grafana", cluster));
    const json = JSON.parse(Testing.synth(testStack));
    const roles = Object.values(json.resource.azurerm_role_assignment as Record<string, { role_definition_name: string; scope: string }>).filter((r) => r.role_definition_name.startsWith("Storage") && !r.scope.includes("flow-logs"));
    expect(roles).toEqual([expect.objectContaining({ role_definition_name: "Storage Blob Data Reader", scope: expect.stringMatching(ref("azurerm_storage_container", "resource_manager_id")) })]);
  });

  it("annotates the service account with the identity's client id", () => {
    const app = Testing.app();
    const testStack = new TerraformStack(app, "annotations");
    const platform = new AzurePlatform(testStack, "platform", parseEnvironment(azureSpec()));
    const identity = platform.workloadIdentity("airflow", platform.cluster(platform.network()));
    expect(Object.keys(identity.serviceAccountAnnotations)).toEqual(["azure.workload.identity/client-id"]);
    new TerraformOutput(testStack, "client_id", { value: identity.serviceAccountAnnotations["azure.workload.identity/client-id"] });
    const json = JSON.parse(Testing.synth(testStack));
    expect(json.output.client_id.value).toMatch(ref("azurerm_user_assigned_identity", "client_id", "identity-airflow"));
    expect(identity).toMatchObject({ workload: "airflow", namespace: "airflow", serviceAccount: "airflow" });
  });
});
