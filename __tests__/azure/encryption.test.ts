import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { KEY_ROTATION, KEY_VAULT_KEY_TYPE, keyBody } from "../../constructs/azure/key-vault";
import { AZURE_ROLE_IDS } from "../../constructs/azure/context";
import { delegableRolesCondition } from "../../constructs/azure/terraform-cloud";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { AZURE_LOCATION_ZONES, AZURE_PAIRED_LOCATIONS } from "../../constructs/core/regions";
import { environments } from "../../environments";
import { specChecks } from "../../stacks/app";
import { checkStack } from "../../constructs/policies";
import type { StackJson } from "../../constructs/policies/types";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments, specProblems } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, ref } from "./fixtures";
import { durationDays, keyProblems, postgresKeyProblems } from "./rules";
import { diffStack, parseStack } from "../../scripts/stack-diff";

const staging = synthInfra(azureSpec());
const production = synthInfra(azureProductionSpec());

/** The staging stack with one key edited, through the rules. */
function edited(name: string, edit: (key: TfBlock, resource: Record<string, Record<string, TfBlock>>) => void): string[] {
  const json = JSON.parse(staging.text);
  const id = Object.keys(json.resource.azapi_resource).find((k) => k.includes(`${name}-encryption_key`)) as string;
  edit(json.resource.azapi_resource[id], json.resource);
  return keyProblems(new SynthesizedStack(JSON.stringify(json)));
}
const policy = (key: TfBlock) => ((key.body as { properties: TfBlock }).properties.rotationPolicy as TfBlock);

describe("Azure customer-managed keys", () => {
  it("every Azure environment in environments/ has rotating keys ARM accepts", () => {
    const azure = defaultEnvironments().filter((env) => env.cloud === "azure");
    expect(azure.length).toBeGreaterThan(0);
    for (const env of azure) {
      const stack = new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env)));
      expect(keyProblems(stack)).toEqual([]);
      expect(Object.values(stack.resources("azapi_resource")).filter((r) => r.type === KEY_VAULT_KEY_TYPE).length).toBeGreaterThan(0);
    }
  });

  it("are RSA 3072 keys in the standard vault, rotated after a year, expiring after two, never destroyed in production", () => {
    expect(keyProblems(staging)).toEqual([]);
    expect(keyProblems(production)).toEqual([]);
    const key = staging.find("azapi_resource", "storage-encryption_key");
    expect(key).toMatchObject({ type: KEY_VAULT_KEY_TYPE, name: "test-storage", parent_id: expect.stringMatching(ref("azurerm_key_vault", "id")) });
    expect((key.body as { properties: TfBlock }).properties).toMatchObject({ kty: "RSA", keySize: 3072, rotationPolicy: { attributes: { expiryTime: KEY_ROTATION.expiryTime } } });
    expect(keyBody("premium")).toMatchObject({ properties: { kty: "RSA-HSM" } });
    expect(production.find("azapi_resource", "storage-encryption_key").lifecycle).toEqual({ prevent_destroy: true });
  });

  it("the rules reject keys ARM, Key Vault or the services refuse", () => {
    expect(edited("storage", (key) => (key.name = "storage_key"))).toEqual([expect.stringContaining("is no key name")]);
    expect(edited("storage", (key) => ((key.body as { properties: TfBlock }).properties.kty = "RSA-HSM"))).toEqual([expect.stringContaining("needs a premium vault")]);
    expect(edited("storage", (key) => ((key.body as { properties: TfBlock }).properties.kty = "oct"))).toEqual([expect.stringContaining("kty oct")]);
    expect(edited("storage", (key) => ((key.body as { properties: TfBlock }).properties.keySize = 1024))).toEqual([expect.stringContaining("RSA key size 1024")]);
    expect(edited("storage", (key) => ((key.body as { properties: TfBlock }).properties.keyOps = ["encrypt", "decrypt"]))).toEqual([expect.stringContaining("need wrapKey and unwrapKey")]);
    expect(edited("storage", (key) => ((key.body as { properties: TfBlock }).properties.keyOps = ["wrapKey", "unwrapKey", "derive"]))).toEqual([expect.stringContaining("key operation derive is unknown")]);
    expect(edited("storage", (key) => delete (key.body as { properties: TfBlock }).properties.rotationPolicy)).toEqual([expect.stringContaining("no rotation policy")]);
    expect(edited("storage", (key) => ((policy(key).attributes as TfBlock).expiryTime = "P7D"))).toEqual([expect.stringContaining("expiry P7D"), expect.stringContaining("rotation P365D"), expect.stringContaining("notify P30D")]);
    expect(edited("storage", (key) => (((policy(key).lifetimeActions as TfBlock[])[0].trigger as TfBlock).timeAfterCreate = "P3D"))).toEqual([expect.stringContaining("rotation P3D")]);
    expect(edited("storage", (key) => (((policy(key).lifetimeActions as TfBlock[])[0].trigger as TfBlock).timeBeforeExpiry = "P30D"))).toEqual([expect.stringContaining("exactly one of")]);
    expect(edited("storage", (key) => (((policy(key).lifetimeActions as TfBlock[])[1].trigger as TfBlock).timeBeforeExpiry = "P3D"))).toEqual([expect.stringContaining("notify P3D")]);
    expect(edited("storage", (key) => (((policy(key).lifetimeActions as TfBlock[])[0].action as TfBlock).type = "Rotate"))).toEqual([expect.stringContaining("lifetime action Rotate"), expect.stringContaining("never rotates")]);
    expect(edited("storage", (_key, r) => (Object.values(r.azurerm_key_vault)[0].purge_protection_enabled = false))).toEqual([expect.stringContaining("no purge protection"), expect.stringContaining("no purge protection"), expect.stringContaining("no purge protection")]);
    expect(durationDays("P2Y")).toBe(730);
    expect(durationDays("P")).toBeUndefined();
  });

  it("encrypt both storage accounts with the storage key, versionless, as an identity holding only its role on the key", () => {
    const cmks = Object.values(staging.resources("azurerm_storage_account_customer_managed_key"));
    expect(cmks.map((cmk) => cmk.storage_account_id).sort()).toEqual(
      Object.keys(staging.resources("azurerm_storage_account"))
        .map((id) => `\${azurerm_storage_account.${id}.id}`)
        .sort(),
    );
    for (const cmk of cmks) {
      expect(cmk).toMatchObject({ key_name: "test-storage", key_vault_uri: expect.stringMatching(/^https:\/\/test-kv-[0-9a-f]+\.vault\.azure\.net\/$/), user_assigned_identity_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "storage-encryption")) });
      expect(cmk).not.toHaveProperty("key_version");
      expect(cmk.depends_on).toEqual([expect.stringMatching(/^azurerm_role_assignment\..*storage-encryption_key-access/), expect.stringMatching(/^azapi_resource\..*storage-encryption_key/)]);
    }
    for (const account of Object.values(staging.resources("azurerm_storage_account"))) {
      expect(account.identity).toEqual({ type: "UserAssigned", identity_ids: [expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "storage-encryption"))] });
    }
    expect(staging.find("azurerm_role_assignment", "storage-encryption_key-access")).toMatchObject({
      role_definition_name: "Key Vault Crypto Service Encryption User",
      scope: expect.stringMatching(ref("azapi_resource", "id", "storage-encryption_key")),
      principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "storage-encryption")),
    });
  });

  it("encrypt new PostgreSQL servers and their replicas with the PostgreSQL key, versionless", () => {
    const spec = azureSpec();
    const stack = synthInfra({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, readReplicas: 1 })) });
    const servers = Object.values(stack.resources("azurerm_postgresql_flexible_server"));
    expect(servers.length).toBe(2);
    for (const server of servers) {
      expect(server.identity).toEqual({ type: "UserAssigned", identity_ids: [expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "postgres-encryption"))] });
      expect(server.customer_managed_key).toEqual({
        key_vault_key_id: expect.stringMatching(/^https:\/\/test-kv-[0-9a-f]+\.vault\.azure\.net\/keys\/test-postgres$/),
        primary_user_assigned_identity_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "postgres-encryption")),
      });
    }
  });

  it("keep Microsoft-managed keys on servers the spec keeps", () => {
    const spec = azureSpec();
    const kept = synthInfra({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, waivers: { customerManagedKey: "created before customer-managed keys, a key would replace it" } })) });
    expect(kept.one("azurerm_postgresql_flexible_server")).not.toHaveProperty("customer_managed_key");
    expect(Object.keys(kept.resources("azapi_resource")).filter((id) => id.includes("postgres-encryption"))).toEqual([]);
    // The policy rule accepts the kept server only while its spec keeps it that way.
    const keptEnv = parseEnvironment({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, waivers: { customerManagedKey: "created before customer-managed keys, a key would replace it" } })) });
    const encryptedRule = (env: typeof keptEnv) => checkStack(kept.json as StackJson, { stackName: "kept", kind: "infra", env }).violations.filter((v) => v.rule.id === "database-encrypted");
    expect(encryptedRule(keptEnv)).toEqual([]);
    expect(encryptedRule(parseEnvironment(spec)).map((v) => v.problem)).toEqual(["customer_managed_key is not set (platform-managed keys only)"]);
  });

  it("every production environment in environments/ with an Azure account, on Azure: geo-redundant backups under customer keys in the paired region", () => {
    const inputs = environments.filter((input) => input.production === true && input.accounts?.azure !== undefined);
    expect(inputs.length).toBeGreaterThan(0);
    for (const input of inputs) {
      const env = parseEnvironment({ ...input, cloud: "azure" } as EnvironmentInput, specChecks);
      const stack = new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env)));
      expect(postgresKeyProblems(stack)).toEqual([]);
      expect(keyProblems(stack)).toEqual([]);
      const primaries = stack.all("azurerm_postgresql_flexible_server").filter((server) => server.create_mode === undefined);
      expect(primaries.length).toBeGreaterThan(0);
      for (const server of primaries) expect(server).toMatchObject({ geo_redundant_backup_enabled: true, customer_managed_key: { geo_backup_key_vault_key_id: expect.any(String) } });
      const violations = checkStack(stack.json as StackJson, { stackName: `${env.name}-infra`, kind: "infra", env }).violations.filter((v) => v.rule.id === "database-encrypted");
      expect(violations).toEqual([]);
    }
  });

  it("geo-redundant backups (production) take the key of a vault in the paired region, as an identity there", () => {
    const live = production.one("azurerm_postgresql_flexible_server");
    expect(live.geo_redundant_backup_enabled).toBe(true);
    const primaryIdentity = expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "postgres-encryption"));
    const geoIdentity = expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "postgres-geo-encryption"));
    expect(live.identity).toEqual({ type: "UserAssigned", identity_ids: [primaryIdentity, geoIdentity] });
    expect(live.customer_managed_key).toEqual({
      key_vault_key_id: expect.stringMatching(/^https:\/\/live-kv-[0-9a-f]+\.vault\.azure\.net\/keys\/live-postgres$/),
      primary_user_assigned_identity_id: primaryIdentity,
      geo_backup_key_vault_key_id: expect.stringMatching(/^https:\/\/live-kg-[0-9a-f]+\.vault\.azure\.net\/keys\/live-postgres-geo$/),
      geo_backup_user_assigned_identity_id: geoIdentity,
    });
    expect(live.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^azurerm_role_assignment\..*postgres-geo-encryption_key-access/), expect.stringMatching(/^azapi_resource\..*postgres-geo-encryption_key/)]));
    // westeurope's pair is northeurope: the second vault and the identity live there.
    const geoVault = production.find("azurerm_key_vault", "geo-key-vault");
    expect(geoVault).toMatchObject({
      location: "northeurope",
      rbac_authorization_enabled: true,
      purge_protection_enabled: true,
      soft_delete_retention_days: 90,
      public_network_access_enabled: false,
      network_acls: { default_action: "Deny", bypass: "AzureServices", ip_rules: [] },
      lifecycle: { prevent_destroy: true },
    });
    expect(production.find("azurerm_user_assigned_identity", "postgres-geo-encryption").location).toBe("northeurope");
    expect(production.find("azapi_resource", "postgres-geo-encryption_key")).toMatchObject({ parent_id: expect.stringMatching(ref("azurerm_key_vault", "id", "geo-key-vault")), lifecycle: { prevent_destroy: true } });
    // Its audit log goes to the environment's workspace; no private endpoint targets it.
    const targets = production.all("azurerm_monitor_diagnostic_setting").map((d) => d.target_resource_id);
    expect(targets).toContainEqual(expect.stringMatching(ref("azurerm_key_vault", "id", "geo-key-vault")));
    expect(JSON.stringify(production.resources("azurerm_private_endpoint"))).not.toContain("geo-key-vault");
    expect(postgresKeyProblems(production)).toEqual([]);
    // Read replicas have no geo-redundant backups: the primary key only.
    const withReplica = synthInfra({ ...azureProductionSpec(), databases: (azureProductionSpec().databases ?? []).map((db) => ({ ...db, readReplicas: 1 })) });
    const replica = withReplica.all("azurerm_postgresql_flexible_server").find((server) => server.create_mode === "Replica");
    expect(replica?.customer_managed_key).not.toHaveProperty("geo_backup_key_vault_key_id");
    expect(postgresKeyProblems(withReplica)).toEqual([]);
  });

  it("the PostgreSQL key rules reject what azurerm or Azure refuse", () => {
    const liveEdited = (edit: (server: TfBlock, resource: Record<string, Record<string, TfBlock>>) => void): string[] => {
      const json = JSON.parse(production.text);
      edit(Object.values(json.resource.azurerm_postgresql_flexible_server as Record<string, TfBlock>)[0], json.resource);
      return postgresKeyProblems(new SynthesizedStack(JSON.stringify(json)));
    };
    const cmk = (server: TfBlock) => server.customer_managed_key as TfBlock;
    const byId = (resource: Record<string, Record<string, TfBlock>>, type: string, fragment: string) => Object.entries(resource[type]).find(([id]) => id.includes(fragment)) as [string, TfBlock];
    expect(liveEdited((s) => (delete cmk(s).geo_backup_key_vault_key_id, delete cmk(s).geo_backup_user_assigned_identity_id))).toEqual([expect.stringContaining("need geo_backup_key_vault_key_id")]);
    expect(liveEdited((s) => delete cmk(s).geo_backup_user_assigned_identity_id)).toEqual([expect.stringContaining("without geo_backup_user_assigned_identity_id (RequiredWith)"), expect.stringContaining("holds no")]);
    expect(liveEdited((s) => delete cmk(s).primary_user_assigned_identity_id)).toEqual([expect.stringContaining("without primary_user_assigned_identity_id (RequiredWith)"), expect.stringContaining("holds no")]);
    expect(liveEdited((s) => delete s.identity)).toEqual([
      expect.stringContaining("key_vault_key_id without an identity block"),
      expect.stringContaining("primary_user_assigned_identity_id is not in identity.identity_ids"),
      expect.stringContaining("geo_backup_key_vault_key_id without an identity block"),
      expect.stringContaining("geo_backup_user_assigned_identity_id is not in identity.identity_ids"),
    ]);
    expect(liveEdited((s) => ((s.identity as TfBlock).identity_ids = [cmk(s).primary_user_assigned_identity_id]))).toEqual([expect.stringContaining("geo_backup_user_assigned_identity_id is not in identity.identity_ids")]);
    expect(liveEdited((s) => (cmk(s).geo_backup_user_assigned_identity_id = cmk(s).primary_user_assigned_identity_id))).toEqual([
      expect.stringContaining("geo_backup_user_assigned_identity_id is in westeurope, not northeurope"),
      expect.stringContaining("holds no"),
      expect.stringContaining("is the primary identity"),
    ]);
    expect(liveEdited((_s, r) => (byId(r, "azurerm_key_vault", "geo-key-vault")[1].location = "westeurope"))).toEqual([expect.stringContaining("is in westeurope, not northeurope")]);
    expect(liveEdited((_s, r) => (byId(r, "azurerm_user_assigned_identity", "postgres-geo-encryption")[1].location = "westeurope"))).toEqual([expect.stringContaining("geo_backup_user_assigned_identity_id is in westeurope, not northeurope")]);
    expect(liveEdited((_s, r) => delete r.azurerm_role_assignment[byId(r, "azurerm_role_assignment", "postgres-geo-encryption_key-access")[0]])).toEqual([expect.stringContaining("geo_backup_user_assigned_identity_id holds no")]);
    expect(liveEdited((s) => (cmk(s).geo_backup_key_vault_key_id = "live-postgres-geo"))).toEqual([expect.stringContaining("is no Key Vault key id")]);
    expect(liveEdited((s) => (cmk(s).geo_backup_key_vault_key_id = String(cmk(s).key_vault_key_id)))).toEqual([expect.stringContaining("is in westeurope, not northeurope"), expect.stringContaining("holds no")]);
    expect(liveEdited((s) => (s.location = "italynorth"))).toEqual(expect.arrayContaining([expect.stringContaining("italynorth has no paired region")]));
  });

  it("every location the spec accepts has its pair (or none) from Microsoft's table, and production without a pair must keep Microsoft-managed keys", () => {
    expect(Object.keys(AZURE_PAIRED_LOCATIONS).sort()).toEqual(Object.keys(AZURE_LOCATION_ZONES).sort());
    expect(AZURE_PAIRED_LOCATIONS.westeurope).toEqual({ location: "northeurope", restricted: false });
    const unpaired = { ...azureProductionSpec(), accounts: { azure: { ...azureProductionSpec().accounts?.azure, location: "italynorth" } } } as EnvironmentInput;
    expect(specProblems(unpaired)).toEqual([expect.stringMatching(/^databases\[0\]\.waivers\.customerManagedKey: given nothing; accepted: a written reason in production in italynorth: it has no paired region/)]);
    const kept = { ...unpaired, databases: (unpaired.databases ?? []).map((db) => ({ ...db, waivers: { customerManagedKey: "created before customer-managed keys, a key would replace it" } })) };
    expect(specProblems(kept)).toEqual([]);
    const stack = synthInfra(kept);
    expect(stack.one("azurerm_postgresql_flexible_server")).not.toHaveProperty("customer_managed_key");
    expect(Object.keys(stack.resources("azurerm_key_vault")).filter((id) => id.includes("geo-key-vault"))).toEqual([]);
    // Not in production (no geo-redundant backups), an unpaired location needs nothing.
    expect(specProblems({ ...azureSpec(), accounts: { azure: { ...azureSpec().accounts?.azure, location: "italynorth" } } })).toEqual([]);
  });

  it("the pull-request gate reports an existing production server the key would replace, and none when its spec keeps Microsoft-managed keys", () => {
    const spec = azureProductionSpec();
    const before = synthInfra({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, waivers: { customerManagedKey: "created before customer-managed keys, a key would replace it" } })) });
    const diff = diffStack("live-infra", parseStack(before.text), parseStack(production.text));
    expect(diff.stateful).toContainEqual(expect.stringMatching(/^azurerm_postgresql_flexible_server\.\S+ (may be )?replaced: loses the database and its backups$/));
    const kept = diffStack("live-infra", parseStack(before.text), parseStack(before.text));
    expect(kept.stateful).toEqual([]);
  });

  it("the Terraform Cloud runs may assign the encryption role, and the condition names it", () => {
    expect(delegableRolesCondition()).toContain(AZURE_ROLE_IDS.keyVaultCryptoServiceEncryptionUser);
  });
});
