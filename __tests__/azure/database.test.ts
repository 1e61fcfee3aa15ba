import { describe, expect, it } from "vitest";
import { Testing, TerraformStack } from "cdktn";
import { AzurePlatform } from "../../constructs/azure";
import { SpecError } from "../../constructs/core/errors";
import type { IWorkloadIdentity } from "../../constructs/core/interfaces";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { specProblems } from "../support/fixtures";
import { ADMIN_GROUP, TENANT_ID, azureProductionSpec, azureSpec, ref } from "./fixtures";
import { entraAuthProblems } from "./rules";

type DatabaseInput = NonNullable<EnvironmentInput["databases"]>[number];

function withDatabase(spec: EnvironmentInput, database: Partial<DatabaseInput>): EnvironmentInput {
  return { ...spec, databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, ...database }] };
}

const primary = (stack: SynthesizedStack) => stack.find("azurerm_postgresql_flexible_server", /^platform_database-main_[A-F0-9]+$/);

/** Every string value in a JSON document, with the key it sits under. */
function stringsByKey(value: unknown, key = ""): [string, string][] {
  if (typeof value === "string") return [[key, value]];
  if (Array.isArray(value)) return value.flatMap((item) => stringsByKey(item, key));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => stringsByKey(v, k));
  return [];
}

describe("Azure PostgreSQL Flexible Server", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(withDatabase(azureProductionSpec(), { size: "medium", storageGiB: 100, readReplicas: 2 }));

  it("lives in the delegated subnet with a private DNS zone linked to the VNet", () => {
    const server = primary(staging);
    expect(server.delegated_subnet_id).toMatch(ref("azurerm_subnet", "id", "_postgres_"));
    expect(server.private_dns_zone_id).toMatch(ref("azurerm_private_dns_zone", "id", "test-private-postgres-database-azure-com"));
    expect(staging.find("azurerm_private_dns_zone", "postgres").name).toBe("test.private.postgres.database.azure.com");
    expect(server.depends_on).toEqual([
      expect.stringMatching(/^azurerm_private_dns_zone_virtual_network_link\..*postgres/),
      expect.stringMatching(/^azurerm_subnet_network_security_group_association\..*postgres/),
      // The key's identity holds its role, and the key exists, before the server encrypts with it.
      expect.stringMatching(/^azurerm_role_assignment\..*postgres-encryption_key-access/),
      expect.stringMatching(/^azapi_resource\..*postgres-encryption_key/),
    ]);
  });

  it("disables public network access", () => {
    expect(primary(staging).public_network_access_enabled).toBe(false);
  });

  it("runs zone-redundant HA in production (spec default) and none elsewhere", () => {
    expect(primary(prod).high_availability).toEqual({ mode: "ZoneRedundant", standby_availability_zone: "2" });
    expect(primary(prod).zone).toBe("1");
    expect(primary(staging)).not.toHaveProperty("high_availability");
    const stagingWithHa = synthInfra(withDatabase(azureSpec(), { highAvailability: true }));
    expect(primary(stagingWithHa).high_availability).toMatchObject({ mode: "ZoneRedundant" });
  });

  it("keeps geo-redundant backups in production", () => {
    expect(primary(prod).geo_redundant_backup_enabled).toBe(true);
    expect(primary(staging).geo_redundant_backup_enabled).toBe(false);
  });

  it("keeps backups for the spec's retention", () => {
    expect(primary(staging).backup_retention_days).toBe(7);
    expect(primary(prod).backup_retention_days).toBe(14);
    expect(primary(synthInfra(withDatabase(azureSpec(), { backupRetentionDays: 21 }))).backup_retention_days).toBe(21);
  });

  it("rounds storage up to the smallest size Flexible Server offers, with auto-grow", () => {
    const storage = (storageGiB: number) => primary(synthInfra(withDatabase(azureSpec(), { storageGiB }))).storage_mb;
    expect(primary(staging)).toMatchObject({ storage_mb: 65536, auto_grow_enabled: true });
    expect(storage(20)).toBe(32768);
    expect(storage(32)).toBe(32768);
    expect(storage(33)).toBe(65536);
    expect(storage(4095)).toBe(4193280);
    expect(storage(4096)).toBe(4194304);
    expect(storage(32767)).toBe(33553408);
  });

  it("refuses storage beyond the largest Flexible Server disk as a spec error", () => {
    const tooBig = withDatabase(azureSpec(), { storageGiB: 40000 });
    expect(() => synthInfra(tooBig)).toThrow(SpecError);
    expect(() => synthInfra(tooBig)).toThrow(/databases\[0\]\.storageGiB: given 40000; accepted: on Azure, at most 32767 GiB/);
  });

  it("maps the neutral size to a General Purpose SKU and honours the override", () => {
    expect(primary(staging).sku_name).toBe("GP_Standard_D2ds_v5");
    expect(primary(prod).sku_name).toBe("GP_Standard_D4ds_v5");
    expect(primary(synthInfra(withDatabase(azureSpec(), { azure: { skuName: "MO_Standard_E4ds_v5" } }))).sku_name).toBe("MO_Standard_E4ds_v5");
  });

  it("refuses a burstable SKU with high availability", () => {
    const burstableHa = withDatabase(azureSpec(), { highAvailability: true, azure: { skuName: "B_Standard_B2ms" } });
    expect(() => synthInfra(burstableHa)).toThrow(/databases\[0\]\.azure\.skuName: given "B_Standard_B2ms"/);
    expect(primary(synthInfra(withDatabase(azureSpec(), { azure: { skuName: "B_Standard_B2ms" } }))).sku_name).toBe("B_Standard_B2ms");
  });

  it("never puts a password literal in the JSON: the admin password is a random_password reference", () => {
    for (const stack of [staging, prod]) {
      const server = primary(stack);
      expect(server).not.toHaveProperty("administrator_password");
      expect(server.administrator_password_wo).toMatch(ref("random_password", "result"));
      const secret = stack.find("azapi_resource", "admin-secret");
      expect(secret.body).not.toHaveProperty("properties.value");
      expect((secret.sensitive_body as { properties: TfBlock }).properties.value).toMatch(ref("random_password", "result"));
      const passwordish = stringsByKey(stack.json).filter(([key]) => /password|secret/i.test(key) && !/_version$/.test(key));
      expect(passwordish.length).toBeGreaterThan(0);
      for (const [, value] of passwordish) expect(value).toMatch(/^\$\{random_password\.[^}]+\.result\}$/);
    }
    expect(staging.one("random_password")).toMatchObject({ length: 32, special: true });
  });

  it("stores the admin password in Key Vault and hands out the secret's versionless id", () => {
    const secret = staging.find("azapi_resource", "admin-secret");
    expect(secret).toMatchObject({ name: "test-db-main-admin-password", parent_id: expect.stringMatching(ref("azurerm_key_vault", "id")) });
    const vault = String(staging.one("azurerm_key_vault").name);
    expect(staging.json.output?.database_main_admin_secret).toMatchObject({ value: `https://${vault}.vault.azure.net/secrets/test-db-main-admin-password` });
    expect(staging.json.output?.database_main_host).toMatchObject({ value: expect.stringMatching(ref("azurerm_postgresql_flexible_server", "fqdn")) });
  });

  it("requires TLS 1.2 or newer", () => {
    const parameters = Object.fromEntries(staging.all("azurerm_postgresql_flexible_server_configuration").map((p) => [p.name, p.value]));
    expect(parameters).toMatchObject({ require_secure_transport: "on", ssl_min_protocol_version: "TLSv1.2" });
  });

  it("is locked against deletes and never destroyed by a plan in production", () => {
    expect(primary(prod).lifecycle).toMatchObject({ prevent_destroy: true });
    expect(primary(staging).lifecycle).toMatchObject({ prevent_destroy: false });
    expect(prod.one("azurerm_management_lock")).toMatchObject({ lock_level: "CanNotDelete", scope: expect.stringMatching(ref("azurerm_postgresql_flexible_server", "id")) });
    expect(staging.all("azurerm_management_lock")).toHaveLength(0);
  });

  it("creates the read replicas the spec asks for, from the primary, in the same private network", () => {
    const replicas = prod.all("azurerm_postgresql_flexible_server").filter((server) => server.create_mode === "Replica");
    expect(replicas).toHaveLength(2);
    for (const replica of replicas) {
      expect(replica.source_server_id).toMatch(ref("azurerm_postgresql_flexible_server", "id", "database-main"));
      expect(replica).toMatchObject({ public_network_access_enabled: false, sku_name: "GP_Standard_D4ds_v5", storage_mb: 131072 });
      expect(replica.delegated_subnet_id).toMatch(ref("azurerm_subnet", "id", "_postgres_"));
      expect(replica).not.toHaveProperty("administrator_login");
    }
    expect(replicas.map((r) => r.zone)).toEqual(["2", "3"]);
    expect(staging.all("azurerm_postgresql_flexible_server").filter((s) => s.create_mode === "Replica")).toHaveLength(0);
  });

  it("names servers uniquely per subscription", () => {
    expect(String(primary(staging).name)).toMatch(/^test-db-main-[0-9a-f]{6}$/);
    const names = prod.all("azurerm_postgresql_flexible_server").map((s) => String(s.name));
    expect(new Set(names).size).toBe(3);
    expect((primary(prod) as TfBlock).version).toBe("16");
  });
});

describe("Azure database admin secret access", () => {
  const env = parseEnvironment(azureSpec());
  const scope = new TerraformStack(Testing.app(), "secret-read");
  const platform = new AzurePlatform(scope, "platform", env);
  const network = platform.network();
  const cluster = platform.cluster(network);
  const database = platform.database(env.databases[0], network, cluster);
  database.grantAdminSecretRead(platform.workloadIdentity("external-secrets", cluster));
  const stack = new SynthesizedStack(Testing.synth(scope));

  it("grants Key Vault Secrets User on that one secret, to the identity's principal", () => {
    const roles = Object.entries(stack.resources("azurerm_role_assignment")).filter(([id]) => id.includes("identity-external-secrets"));
    expect(roles.map(([, role]) => role)).toEqual([
      expect.objectContaining({
        role_definition_name: "Key Vault Secrets User",
        scope: expect.stringMatching(ref("azapi_resource", "id", "database-main_admin-secret")),
        principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "identity-external-secrets")),
        principal_type: "ServicePrincipal",
      }),
    ]);
  });

  it("never grants a data-plane role on the vault itself (AKS's Key Vault Contributor for KMS is control plane only)", () => {
    const vaultScoped = stack.all("azurerm_role_assignment").filter((role) => ref("azurerm_key_vault", "id").test(String(role.scope)));
    expect(vaultScoped.map((role) => role.role_definition_name)).toEqual(["Key Vault Contributor"]);
  });

  it("refuses an identity of another cloud", () => {
    const foreign: IWorkloadIdentity = { workload: "external-secrets", namespace: "external-secrets", serviceAccount: "external-secrets", serviceAccountAnnotations: {} };
    expect(() => database.grantAdminSecretRead(foreign)).toThrow(TypeError);
  });

  describe("Entra administrator", () => {
    const named = (spec: EnvironmentInput, adminGroupName: string): EnvironmentInput => ({ ...spec, cluster: { ...spec.cluster, azure: { adminGroupObjectIds: [ADMIN_GROUP], adminGroupName } } });
    const withAdmin = synthInfra(named(withDatabase(azureSpec(), { readReplicas: 1 }), "data-platform-admins"));
    const staging = synthInfra(azureSpec());
    const prod = synthInfra(withDatabase(azureProductionSpec(), { readReplicas: 2 }));

    it("makes the first admin group each primary's Entra administrator when the spec names it", () => {
      expect(primary(withAdmin).authentication).toEqual({ password_auth_enabled: true, active_directory_auth_enabled: true, tenant_id: TENANT_ID });
      expect(withAdmin.one("azurerm_postgresql_flexible_server_active_directory_administrator")).toEqual({
        server_name: expect.stringMatching(ref("azurerm_postgresql_flexible_server", "name", "database-main")),
        resource_group_name: expect.stringMatching(ref("azurerm_resource_group", "name")),
        tenant_id: TENANT_ID,
        object_id: ADMIN_GROUP,
        principal_name: "data-platform-admins",
        principal_type: "Group",
      });
      expect(entraAuthProblems(withAdmin)).toEqual([]);
    });

    it("turns Entra authentication off without a named group, so no server has it with no administrator", () => {
      expect(primary(staging).authentication).toEqual({ password_auth_enabled: true, active_directory_auth_enabled: false });
      expect(staging.all("azurerm_postgresql_flexible_server_active_directory_administrator")).toEqual([]);
      expect(entraAuthProblems(staging)).toEqual([]);
      expect(entraAuthProblems(prod)).toEqual([]);
    });

    it("the rules reject Entra authentication without an administrator, and arguments azurerm refuses", () => {
      const json = JSON.parse(withAdmin.text);
      const [adminId] = Object.keys(json.resource.azurerm_postgresql_flexible_server_active_directory_administrator);
      const broken = (edit: (resource: Record<string, Record<string, TfBlock>>) => void) => {
        const copy = JSON.parse(withAdmin.text);
        edit(copy.resource);
        return entraAuthProblems(new SynthesizedStack(JSON.stringify(copy)));
      };
      expect(broken((r) => delete r.azurerm_postgresql_flexible_server_active_directory_administrator)).toEqual([expect.stringContaining("Entra authentication is on with no Entra administrator")]);
      expect(broken((r) => (r.azurerm_postgresql_flexible_server_active_directory_administrator[adminId].principal_type = "group"))).toEqual([expect.stringContaining("principal_type group")]);
      expect(broken((r) => (r.azurerm_postgresql_flexible_server_active_directory_administrator[adminId].object_id = "admins"))).toEqual([expect.stringContaining("object_id admins is not a UUID")]);
      expect(
        broken((r) => {
          for (const server of Object.values(r.azurerm_postgresql_flexible_server)) delete (server.authentication as TfBlock | undefined)?.tenant_id;
        }),
      ).toEqual([expect.stringContaining("tenant_id undefined is required")]);
    });

    it("the spec refuses a group name PostgreSQL cannot take as a role", () => {
      expect(specProblems(named(azureSpec(), " admins"))).toEqual([expect.stringContaining("cluster.azure.adminGroupName")]);
      expect(specProblems(named(azureSpec(), "a".repeat(64)))).toEqual([expect.stringContaining("cluster.azure.adminGroupName")]);
    });
  });
});
