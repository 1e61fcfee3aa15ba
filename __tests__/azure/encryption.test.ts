import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { KEY_ROTATION, KEY_VAULT_KEY_TYPE, keyBody } from "../../constructs/azure/key-vault";
import { AZURE_ROLE_IDS } from "../../constructs/azure/context";
import { delegableRolesCondition } from "../../constructs/azure/terraform-cloud";
import { parseEnvironment } from "../../constructs/core/spec";
import { checkStack } from "../../constructs/policies";
import type { StackJson } from "../../constructs/policies/types";
import { InfraStack } from "../../stacks/infra";
import { defaultEnvironments } from "../support/fixtures";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, ref } from "./fixtures";
import { durationDays, keyProblems } from "./rules";

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
    expect(edited("storage", (_key, r) => (Object.values(r.azurerm_key_vault)[0].purge_protection_enabled = false))).toEqual([expect.stringContaining("no purge protection"), expect.stringContaining("no purge protection")]);
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

  it("keep Microsoft-managed keys on servers the spec keeps, and with geo-redundant backups (production)", () => {
    const spec = azureSpec();
    const kept = synthInfra({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, azure: { platformManagedKey: true } })) });
    expect(kept.one("azurerm_postgresql_flexible_server")).not.toHaveProperty("customer_managed_key");
    expect(Object.keys(kept.resources("azapi_resource")).filter((id) => id.includes("postgres-encryption"))).toEqual([]);
    // The policy rule accepts the kept server only while its spec keeps it that way.
    const keptEnv = parseEnvironment({ ...spec, databases: (spec.databases ?? []).map((db) => ({ ...db, azure: { platformManagedKey: true } })) });
    const encryptedRule = (env: typeof keptEnv) => checkStack(kept.json as StackJson, { stackName: "kept", kind: "infra", env }).violations.filter((v) => v.rule.id === "database-encrypted");
    expect(encryptedRule(keptEnv)).toEqual([]);
    expect(encryptedRule(parseEnvironment(spec)).map((v) => v.problem)).toEqual(["customer_managed_key is not set (platform-managed keys only)"]);
    const live = production.one("azurerm_postgresql_flexible_server");
    expect(live.geo_redundant_backup_enabled).toBe(true);
    expect(live).not.toHaveProperty("customer_managed_key");
  });

  it("the Terraform Cloud runs may assign the encryption role, and the condition names it", () => {
    expect(delegableRolesCondition()).toContain(AZURE_ROLE_IDS.keyVaultCryptoServiceEncryptionUser);
  });
});
