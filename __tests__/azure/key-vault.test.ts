import { describe, expect, it } from "vitest";
import { Testing, TerraformStack } from "cdktn";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { AzurePlatform } from "../../constructs/azure";
import { AZAPI_PROVIDER, AZAPI_RESOURCE_ARGUMENTS, AZAPI_WRITE_ONLY_ARGUMENTS, AzapiProvider } from "../../constructs/azure/azapi";
import { AzureKeyVault, KEY_VAULT_SECRET_TYPE, KEY_VAULT_SECRET_WRITABLE, PENDING_USER_SECRET } from "../../constructs/azure/key-vault";
import { parseEnvironment } from "../../constructs/core/spec";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { keyVaultDataPlaneUsers } from "./rules";
import { ADMIN_GROUP, azureProductionSpec, azureSpec, providerFeatures, ref, SUBSCRIPTION_ID, TENANT_ID, withCluster } from "./fixtures";

describe("Azure Key Vault", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());
  const vault = staging.one("azurerm_key_vault");

  it("authorizes with Azure RBAC, not access policies", () => {
    expect(vault).toMatchObject({ rbac_authorization_enabled: true, tenant_id: TENANT_ID });
    expect(vault).not.toHaveProperty("access_policy");
    expect(vault).not.toHaveProperty("enable_rbac_authorization");
  });

  it("has purge protection and keeps deleted items 90 days", () => {
    expect(vault).toMatchObject({ purge_protection_enabled: true, soft_delete_retention_days: 90 });
  });

  it("is never purged by the provider on destroy", () => {
    const features = providerFeatures(staging);
    expect(features.key_vault).toEqual([expect.objectContaining({ purge_soft_delete_on_destroy: false, purge_soft_deleted_secrets_on_destroy: false })]);
  });

  it("turns the public endpoint off, the firewall still denying all but trusted Azure services", () => {
    expect(vault.public_network_access_enabled).toBe(false);
    expect(vault.network_acls).toEqual({ default_action: "Deny", bypass: "AzureServices", ip_rules: [] });
  });

  it("keeps the public endpoint off whatever the spec's public CIDRs are", () => {
    const open = synthInfra(withCluster(azureSpec(), { publicAccessCidrs: ["203.0.113.0/24", "198.51.100.7/32"], azure: { adminGroupObjectIds: [ADMIN_GROUP], privateCluster: false } }));
    expect(open.one("azurerm_key_vault")).toMatchObject({ public_network_access_enabled: false, network_acls: { default_action: "Deny", ip_rules: [] } });
  });

  it("is reachable through a private endpoint in the privatelink zone", () => {
    const endpoint = staging.find("azurerm_private_endpoint", "key-vault");
    expect(endpoint.subnet_id).toMatch(ref("azurerm_subnet", "id", "private-endpoints"));
    expect(endpoint.private_service_connection).toMatchObject({
      subresource_names: ["vault"],
      private_connection_resource_id: expect.stringMatching(ref("azurerm_key_vault", "id")),
    });
    expect((endpoint.private_dns_zone_group as TfBlock).private_dns_zone_ids).toEqual([expect.stringMatching(ref("azurerm_private_dns_zone", "id", "vaultcore"))]);
  });

  it("assigns nobody a role on the vault but AKS's KMS private link: secrets are written through ARM, read per secret", () => {
    const onVault = staging.all("azurerm_role_assignment").filter((role) => ref("azurerm_key_vault", "id").test(String(role.scope)));
    // Microsoft Learn "Add KMS etcd encryption to an AKS cluster", private key vault: AKS's identity
    // needs Key Vault Contributor to create its private link; no data-plane role on the vault.
    expect(onVault.map((role) => [role.role_definition_name, role.principal_id])).toEqual([["Key Vault Contributor", expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "control-plane"))]]);
    expect(JSON.stringify(staging.json)).not.toContain("azurerm_client_config");
  });

  it("has a globally unique name of at most 24 characters and is protected in production", () => {
    expect(String(vault.name)).toMatch(/^test-kv-[0-9a-f]{8}$/);
    const longest = synthInfra({ ...azureSpec(), name: "abcdefgh-ijklmno" }).one("azurerm_key_vault").name;
    expect(String(longest)).toMatch(/^abcdefgh-ijklmno-kv-[0-9a-f]{4}$/);
    expect(vault.lifecycle).toEqual({ prevent_destroy: false });
    expect(prod.find("azurerm_key_vault", /_key-vault_/).lifecycle).toEqual({ prevent_destroy: true });
  });
});

/** The stack's one Key Vault secret written through azapi (the stack has other azapi resources: keys, the flow log). */
const secretEntry = (stack: SynthesizedStack): [string, TfBlock] => {
  const found = Object.entries(stack.resources("azapi_resource")).filter(([, r]) => String(r.type).startsWith("Microsoft.KeyVault/vaults/secrets@"));
  if (found.length !== 1) throw new Error(`expected one Key Vault secret, found ${found.length}`);
  return found[0];
};
const secretOf = (stack: SynthesizedStack) => secretEntry(stack)[1];

describe("Azure Key Vault secrets", () => {
  const staging = synthInfra(azureSpec());
  const secret = secretOf(staging);
  const noDatabase = synthInfra({ ...azureSpec(), databases: [], apps: [] });

  it("never needs a network path to the vault's data plane (so hosted runners can apply)", () => {
    // A vault with public access off can only be reached through its private endpoint.
    expect(staging.one("azurerm_key_vault").public_network_access_enabled).toBe(false);
    expect(keyVaultDataPlaneUsers(staging)).toEqual([]);
  });

  it("the data-plane rule rejects a secret written by azurerm_key_vault_secret", () => {
    const stack = new TerraformStack(Testing.app(), "data-plane");
    new KeyVaultSecret(stack, "secret", { name: "s", keyVaultId: "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/z", valueWo: "v", valueWoVersion: 1 });
    expect(keyVaultDataPlaneUsers(new SynthesizedStack(Testing.synth(stack)))).toEqual([expect.stringMatching(/^azurerm_key_vault_secret\./)]);
  });

  it("writes the secret as Microsoft.KeyVault/vaults/secrets through ARM, under the vault", () => {
    expect(secret).toMatchObject({
      type: "Microsoft.KeyVault/vaults/secrets@2024-11-01",
      name: "test-db-main-admin-password",
      parent_id: expect.stringMatching(ref("azurerm_key_vault", "id")),
      provider: "azapi",
    });
    // The ARM name pattern of the type (azapi v2.12.0 embedded schema, 2024-11-01).
    expect(String(secret.name)).toMatch(/^[a-zA-Z0-9-]{1,127}$/);
  });

  it("passes the value only in the write-only sensitive_body, never in body", () => {
    expect(secret.sensitive_body).toEqual({ properties: { value: expect.stringMatching(ref("random_password", "result")) } });
    expect(JSON.stringify(secret.body)).not.toMatch(/value|random_password/);
    expect(AZAPI_WRITE_ONLY_ARGUMENTS).toContain("sensitive_body");
  });

  it("uses only arguments azapi_resource 2.12.0 has, and only writable properties of the secret type", () => {
    const meta = ["//", "provider", "depends_on", "lifecycle", "count", "for_each"];
    const extra = Object.keys(secret).filter((key) => !meta.includes(key) && !(AZAPI_RESOURCE_ARGUMENTS as readonly string[]).includes(key));
    expect(extra).toEqual([]);
    const body = secret.body as { properties: Record<string, unknown> } & Record<string, unknown>;
    const sensitive = secret.sensitive_body as { properties: Record<string, unknown> };
    expect(Object.keys(body).filter((key) => !(KEY_VAULT_SECRET_WRITABLE.top as readonly string[]).includes(key))).toEqual([]);
    const properties = [...Object.keys(body.properties), ...Object.keys(sensitive.properties)];
    expect(properties.filter((key) => !(KEY_VAULT_SECRET_WRITABLE.properties as readonly string[]).includes(key))).toEqual([]);
    const attributes = Object.keys((body.properties.attributes ?? {}) as object);
    expect(attributes.filter((key) => !(KEY_VAULT_SECRET_WRITABLE.attributes as readonly string[]).includes(key))).toEqual([]);
  });

  it("carries the platform's tags only (a secret takes at most 15), with its own facts", () => {
    expect(secret.tags).toEqual({ environment: "test", owner: "platform-team", "cost-centre": "cc-42", "managed-by": "cdktf", "postgres-login": "platform_admin", "postgres-server": expect.stringMatching(/^test-db-main-/) });
    const tagged = secretOf(synthInfra({ ...azureSpec(), tags: { "data-classification": "internal" } }));
    expect(tagged.tags).not.toHaveProperty("data-classification");
    expect(Object.keys(tagged.tags as object).length).toBeLessThanOrEqual(15);
  });

  it("sends the value on every PUT: its version moves with the rest of the secret, and only then", () => {
    const version = (stack: SynthesizedStack) => (secretOf(stack).sensitive_body_version as Record<string, string>)["properties.value"];
    expect(Object.keys(secret.sensitive_body_version as object)).toEqual(["properties.value"]);
    expect(version(staging)).toMatch(/^1-[0-9a-f]{12}$/);
    expect(version(synthInfra(azureSpec()))).toBe(version(staging));
    expect(version(synthInfra({ ...azureSpec(), owner: "someone-else" }))).not.toBe(version(staging));
  });

  it("is never destroyed by a plan in production", () => {
    expect(secret.lifecycle).toEqual({ prevent_destroy: false });
    expect(secretOf(synthInfra(azureProductionSpec())).lifecycle).toEqual({ prevent_destroy: true });
  });

  it("moves a secret written by azurerm_key_vault_secret instead of recreating it", () => {
    const [address] = secretEntry(staging);
    const moved = ((staging.json as { moved?: { to: string }[] }).moved ?? []).filter((m) => m.to === `azapi_resource.${address}`);
    expect(moved).toEqual([{ from: `azurerm_key_vault_secret.${address}`, to: `azapi_resource.${address}` }]);
    // The construct path the azurerm secret always had, so `from` names the resource in existing states.
    expect(address).toMatch(/^platform_database-main_admin-secret_[A-F0-9]{8}$/);
  });

  it("hands External Secrets the secret by its ARM id, and apps the versionless data-plane URI", () => {
    const vault = String(staging.one("azurerm_key_vault").name);
    expect(staging.json.output?.database_main_admin_secret).toMatchObject({ value: `https://${vault}.vault.azure.net/secrets/test-db-main-admin-password` });
  });

  it("pins the azapi provider exactly, for the spec's subscription and tenant, and writes no secret without a database", () => {
    expect((staging.json.terraform as { required_providers: Record<string, unknown> }).required_providers.azapi).toEqual({ source: "Azure/azapi", version: AZAPI_PROVIDER.version });
    expect(AZAPI_PROVIDER.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(staging.json.provider?.azapi).toEqual([{ subscription_id: SUBSCRIPTION_ID, tenant_id: TENANT_ID }]);
    // Without a database there is no secret; azapi stays for the VNet flow log and the keys.
    expect(noDatabase.all("azapi_resource").filter((r) => String(r.type).startsWith("Microsoft.KeyVault/vaults/secrets@"))).toEqual([]);
    expect(noDatabase.json.provider?.azapi).toEqual([{ subscription_id: SUBSCRIPTION_ID, tenant_id: TENANT_ID }]);
  });

  it("the vault in the paired region (production) is named like the primary, at most 24 characters, and holds keys only", () => {
    const longest = synthInfra({ ...azureProductionSpec(), name: "abcdefgh-ijklmno" }).find("azurerm_key_vault", "geo-key-vault").name;
    expect(String(longest)).toMatch(/^abcdefgh-ijklmno-kg-[0-9a-f]{4}$/);
    const stack = new TerraformStack(Testing.app(), "paired");
    const platform = new AzurePlatform(stack, "platform", parseEnvironment(azureProductionSpec()));
    const network = platform.network();
    const paired = new AzureKeyVault(stack, "vault", { ctx: platform.ctx, network, azapi: new AzapiProvider(stack, "azapi", { subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID }), logWorkspaceId: "workspace", pairedLocation: "northeurope" });
    expect(paired.location).toBe("northeurope");
    expect(() => paired.addSecret(stack, "s", { name: "s", value: "v", contentType: "password" })).toThrow(/holds keys only/);
    expect(() => paired.addUserSecret(stack, "u", "u")).toThrow(/holds keys only/);
  });

  it("refuses to version a secret whose body is not literal", () => {
    const stack = new TerraformStack(Testing.app(), "token-body");
    const platform = new AzurePlatform(stack, "platform", parseEnvironment(azureSpec()));
    const network = platform.network();
    const vault = new AzureKeyVault(stack, "vault", { ctx: platform.ctx, network, azapi: new AzapiProvider(stack, "azapi", { subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID }), logWorkspaceId: "workspace" });
    expect(() => vault.addSecret(stack, "s", { name: "s", value: "v", contentType: platform.resourceGroup.name })).toThrow(/must be literals/);
  });
});

/**
 * Secrets the user fills (alert webhooks, metrics-link passwords): created by `<env>-infra` so that
 * their role assignments have a scope on the first apply, the vault being created by it too.
 */
describe("Azure Key Vault: secrets the user fills", () => {
  const spec = { ...azureSpec(), alerts: { slack: { channel: "#data-alerts", webhookSecret: "alerts-slack-webhook" } } };
  const stack = synthInfra(spec);
  const entries = Object.entries(stack.resources("azapi_resource")).filter(([, r]) => r.name === "alerts-slack-webhook");
  const [address, secret] = entries[0] ?? ["", {} as TfBlock];

  it("is one azapi_resource in the environment's vault, with only arguments and writable properties azapi 2.12.0 and the secret type have", () => {
    expect(entries).toHaveLength(1);
    expect(secret.type).toBe(KEY_VAULT_SECRET_TYPE);
    expect(secret.parent_id).toMatch(ref("azurerm_key_vault", "id"));
    const meta = ["//", "provider", "depends_on", "lifecycle", "count", "for_each"];
    expect(Object.keys(secret).filter((key) => !meta.includes(key) && !(AZAPI_RESOURCE_ARGUMENTS as readonly string[]).includes(key))).toEqual([]);
    const body = secret.body as { properties: Record<string, unknown> };
    expect(Object.keys(body.properties).filter((key) => !(KEY_VAULT_SECRET_WRITABLE.properties as readonly string[]).includes(key))).toEqual([]);
    expect(Object.keys(body.properties.attributes as object).filter((key) => !(KEY_VAULT_SECRET_WRITABLE.attributes as readonly string[]).includes(key))).toEqual([]);
  });

  it("holds a fixed placeholder, write-only (never in the state), disabled so it is never synced as the credential, and is never written again", () => {
    expect(secret.sensitive_body).toEqual({ properties: { value: PENDING_USER_SECRET } });
    expect(JSON.stringify(secret.body)).not.toContain(PENDING_USER_SECRET);
    expect((secret.body as { properties: { attributes: unknown } }).properties.attributes).toEqual({ enabled: false });
    expect(secret.lifecycle).toEqual({ ignore_changes: "all", prevent_destroy: false });
    expect(synthInfra({ ...azureProductionSpec(), alerts: spec.alerts }).resources("azapi_resource")[address]?.lifecycle).toEqual({ ignore_changes: "all", prevent_destroy: true });
  });

  it("is created before the monitoring identity's role assignment at its scope", () => {
    const assignment = Object.values(stack.resources("azurerm_role_assignment")).find((r) => String(r.scope).endsWith("/secrets/alerts-slack-webhook"));
    expect(assignment?.depends_on).toEqual([`azapi_resource.${address}`]);
  });
});
