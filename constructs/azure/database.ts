import { Construct } from "constructs";
import { PostgresqlFlexibleServer } from "@cdktf/provider-azurerm/lib/postgresql-flexible-server";
import { PostgresqlFlexibleServerConfiguration } from "@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration";
import { ManagementLock } from "@cdktf/provider-azurerm/lib/management-lock";
import { PostgresqlFlexibleServerActiveDirectoryAdministrator } from "@cdktf/provider-azurerm/lib/postgresql-flexible-server-active-directory-administrator";
import { Password } from "@cdktf/provider-random/lib/password";
import type { IDatabase, IWorkloadIdentity } from "../core/interfaces";
import { databaseExtensions } from "../core/apps";
import type { DatabaseSpec, Environment } from "../core/spec";
import { AZURE_ROLES, type AzureContext } from "./context";
import { RESOURCE_LOG_CATEGORIES, sendResourceLogs } from "./diagnostics";
import { AzureWorkloadIdentity } from "./identity";
import type { AzureEncryptionKey } from "./encryption";
import type { AzureKeyVault, AzureKeyVaultSecret } from "./key-vault";
import type { AzureNetwork } from "./network";
import { AZURE_POSTGRES_SKUS, postgresStorageMb } from "./sizes";

/**
 * Whether a PostgreSQL server keeps Microsoft-managed keys: only when the spec waives the key with
 * a written reason (`databases[].waivers.customerManagedKey`: servers created before the key, which
 * would replace them, and production servers in a location without a paired region,
 * `azureSpecProblems`), the same waiver on every cloud.
 */
export function usesPlatformKey(spec: DatabaseSpec): boolean {
  return spec.waivers.customerManagedKey !== undefined;
}

/** PostgreSQL backups are geo-redundant in production (`AzureDatabase`). */
export function geoRedundantBackups(env: Pick<Environment, "production">): boolean {
  return env.production;
}

export interface AzureDatabaseProps {
  readonly ctx: AzureContext;
  readonly spec: DatabaseSpec;
  readonly network: AzureNetwork;
  /** Where the generated admin password is kept. */
  readonly vault: AzureKeyVault;
  /** The environment's Log Analytics workspace id, for each server's logs. */
  readonly logWorkspaceId: string;
  /** The environment's PostgreSQL key and its identity; none keeps Microsoft-managed keys (`usesPlatformKey`). */
  readonly encryption?: AzureEncryptionKey;
  /**
   * With geo-redundant backups and `encryption`: the key of the vault in the paired location and
   * its identity there, for the backups' copy in that region.
   */
  readonly geoEncryption?: AzureEncryptionKey;
}

const POSTGRES_PORT = 5432;
/** The administrator login (Azure refuses `admin`, `root`, `azure_superuser` and `pg_` names). */
export const POSTGRES_ADMIN_LOGIN = "platform_admin";

/** Server parameters pinned on every server: TLS 1.2+ only, and slow statements logged. */
export const POSTGRES_PARAMETERS: Readonly<Record<string, string>> = {
  require_secure_transport: "on",
  ssl_min_protocol_version: "TLSv1.2",
  log_min_duration_statement: "1000",
};

/**
 * The server's name, `<env>-db-<name>-<hash>`: server names are global (they are DNS names under
 * postgres.database.azure.com), so the subscription hash keeps organisations apart.
 */
export function postgresServerName(ctx: AzureContext, spec: DatabaseSpec): string {
  return `${ctx.name("db", spec.name)}-${ctx.uniqueSuffix(6)}`;
}

/**
 * The server's host name. Deterministic: the server's FQDN is always `<name>.postgres.database.azure.com`;
 * inside the VNet it resolves through the linked private zone to the server's private address.
 */
export function postgresHost(ctx: AzureContext, spec: DatabaseSpec): string {
  return `${postgresServerName(ctx, spec)}.postgres.database.azure.com`;
}

/** The Entra group that administers every PostgreSQL server, when the spec names it (`cluster.azure.adminGroupName`). */
export function entraAdministrator(env: DatabaseOwner): { objectId: string; name: string } | undefined {
  const azure = env.cluster.azure;
  const objectId = azure?.adminGroupObjectIds[0];
  return azure?.adminGroupName !== undefined && objectId !== undefined ? { objectId, name: azure.adminGroupName } : undefined;
}
type DatabaseOwner = Pick<AzureContext["env"], "cluster">;

/** The Key Vault secret holding the administrator password, `<env>-db-<name>-admin-password`. */
export function adminSecretName(ctx: AzureContext, spec: DatabaseSpec): string {
  return `${ctx.name("db", spec.name)}-admin-password`;
}

/**
 * Azure Database for PostgreSQL Flexible Server:
 * - in the network's delegated `postgres` subnet (VNet integration), resolved through the
 *   private DNS zone `<env>.private.postgres.database.azure.com` linked to the VNet; public
 *   network access disabled, so only workloads in the VNet reach it;
 * - General Purpose SKU from the neutral size table (or `azure.skuName`); a burstable SKU with
 *   high availability is a spec error;
 * - `storage_mb` is the smallest size Flexible Server allows that holds `storageGiB` (it only
 *   offers fixed sizes), with storage auto-grow on: a full disk is an outage;
 * - zone-redundant high availability (primary in zone 1, standby in zone 2, automatic failover)
 *   when the spec's `highAvailability` is on (by default in production). Terraform ignores the
 *   zone swap a failover causes instead of failing back;
 * - backups kept `backupRetentionDays`, geo-redundant in production (a copy in the paired
 *   region; the region must have one);
 * - data encrypted with the environment's customer-managed PostgreSQL key (`encryption`): the
 *   server and its replicas act as the key's user-assigned identity and name the key without a
 *   version (azurerm 4.55.0 accepts either, `keyvault.VersionTypeAny`), so the server follows the
 *   key's rotations by itself (Microsoft Learn, "Data encryption with customer-managed keys in
 *   Azure Database for PostgreSQL": automatic key version updates). `customer_managed_key` is
 *   ForceNew when added or removed, so servers created before keep Microsoft-managed keys through
 *   `databases[].waivers.customerManagedKey` (the pull-request gate reports the replacement
 *   otherwise). With geo-redundant backups the primary also names the key of the vault in the
 *   paired location and that location's identity (`geoEncryption`), so the backups' copy there is
 *   encrypted with the customer's key too (Microsoft Learn, "Data encryption with customer-managed
 *   keys in Azure Database for PostgreSQL": geo-redundant backups need a key and an identity in
 *   the paired region);
 * - TLS required (TLS 1.2 minimum) and statements slower than a second logged; Entra ID
 *   authentication next to passwords only when the spec names the admin group
 *   (`cluster.azure.adminGroupName`): then the first `adminGroupObjectIds` group is the server's
 *   Entra administrator (a Group principal, its display name the PostgreSQL role), so people sign
 *   in with their own Entra identity and no shared password; without the name Entra
 *   authentication is off, since with no Entra administrator nobody could use it. Every argument
 *   of the administrator forces its replacement (azurerm v4.55.0,
 *   internal/services/postgres/postgresql_flexible_server_active_directory_administrator_resource.go),
 *   which only re-creates the role binding; read replicas take the primary's administrator.
 *   Maintenance on Sunday 03:30 UTC;
 * - the admin password is generated by `random_password` and written to Key Vault (through
 *   ARM, see `AzureKeyVault`); it reaches the server and the secret through write-only arguments,
 *   so it is never in the synthesized JSON. It does live in Terraform state, in the `random_password` resource: keep state
 *   encrypted and access-controlled (Terraform Cloud does both). `adminSecretRef` is the secret's
 *   versionless id, for the External Secrets Operator; `grantAdminSecretRead` gives an identity
 *   "Key Vault Secrets User" on that one secret, not on the vault;
 * - `deletionProtection` (on in production) is a CanNotDelete management lock: the portal, CLI or
 *   API cannot delete the server while it exists. `prevent_destroy` in production;
 * - each server's logs (PostgreSQLLogs, PostgreSQLFlexSessions) to the environment's Log
 *   Analytics workspace (`sendResourceLogs`);
 * - read replicas from the spec (`create_mode = Replica`), in the same subnet and DNS zone,
 *   spread over the other zones.
 */
export class AzureDatabase extends Construct implements IDatabase {
  readonly server: PostgresqlFlexibleServer;
  readonly replicas: PostgresqlFlexibleServer[];
  readonly spec: DatabaseSpec;
  readonly host: string;
  readonly port = POSTGRES_PORT;
  readonly adminSecretRef: string;
  /** The Key Vault secret with the generated administrator password. */
  readonly adminSecret: AzureKeyVaultSecret;

  constructor(scope: Construct, id: string, props: AzureDatabaseProps) {
    super(scope, id);
    const { ctx, spec, network } = props;
    const env = ctx.env;
    this.spec = spec;
    // Azure lets admins create only the extensions its allow-list names: those the environment's apps need.
    const extensions = databaseExtensions(env.apps);
    const parameters = extensions.length > 0 ? { ...POSTGRES_PARAMETERS, "azure.extensions": extensions.map((e) => e.toUpperCase()).join(",") } : POSTGRES_PARAMETERS;
    const skuName = spec.azure?.skuName ?? AZURE_POSTGRES_SKUS[spec.size];
    const storageMb = postgresStorageMb(spec.storageGiB);
    // Refused in the spec pass (azureSpecProblems): burstable with HA, storage beyond the largest disk.
    if ((spec.highAvailability && skuName.startsWith("B_")) || storageMb === undefined) {
      throw new Error(`database ${spec.name} of ${env.name} has no Flexible Server SKU or disk (the spec check azureSpecProblems should have caught this)`);
    }
    const serverName = postgresServerName(ctx, spec);
    const entraAdmin = entraAdministrator(env);
    const dns = network.privateDnsZone(`${env.name}.private.postgres.database.azure.com`);
    const { encryption, geoEncryption } = props;
    const geoRedundant = geoRedundantBackups(env);
    // With geo-redundant backups, the key of the paired region too (or a server Azure refuses).
    if (encryption && geoRedundant !== (geoEncryption !== undefined)) {
      throw new Error(`database ${spec.name} of ${env.name}: a geo-backup key goes with geo-redundant backups and a customer-managed key, and only then (the spec check azureSpecProblems should have caught this)`);
    }
    const keyed = encryption
      ? {
          identity: { type: "UserAssigned", identityIds: [encryption.identity.id] },
          customerManagedKey: { keyVaultKeyId: encryption.key.versionlessId, primaryUserAssignedIdentityId: encryption.identity.id },
        }
      : {};
    // The primary server also names the paired region's key and identity (the identity in
    // `identity_ids` too, azurerm v4.55.0 postgresql_flexible_server_resource.go: RequiredWith
    // `identity` and `geo_backup_user_assigned_identity_id`; docs: in `identity.identity_ids`,
    // not the primary identity, key vault and identity in the geo-backup region). Replicas have
    // no geo-redundant backups of their own: the primary key only.
    const geoKeyed =
      encryption && geoEncryption
        ? {
            identity: { type: "UserAssigned", identityIds: [encryption.identity.id, geoEncryption.identity.id] },
            customerManagedKey: {
              keyVaultKeyId: encryption.key.versionlessId,
              primaryUserAssignedIdentityId: encryption.identity.id,
              geoBackupKeyVaultKeyId: geoEncryption.key.versionlessId,
              geoBackupUserAssignedIdentityId: geoEncryption.identity.id,
            },
            dependsOn: [geoEncryption.access, geoEncryption.key.resource],
          }
        : { dependsOn: [] };
    const placement = {
      ...keyed,
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      skuName,
      storageMb,
      autoGrowEnabled: true,
      delegatedSubnetId: network.databaseSubnet.id,
      privateDnsZoneId: dns.zone.id,
      publicNetworkAccessEnabled: false,
      // The zone must resolve in the VNet before the server registers its name in it; the key's
      // identity must hold its role before the server encrypts with the key.
      dependsOn: [dns.link, network.databaseSecurity.association, ...(encryption ? [encryption.access, encryption.key.resource] : [])],
    };

    const password = new Password(this, "admin-password", {
      length: 32,
      special: true,
      overrideSpecial: "-_.!#%*+=",
      minLower: 2,
      minUpper: 2,
      minNumeric: 2,
      minSpecial: 2,
    });

    this.server = new PostgresqlFlexibleServer(this, "Resource", {
      ...placement,
      ...geoKeyed,
      dependsOn: [...placement.dependsOn, ...geoKeyed.dependsOn],
      name: serverName,
      version: spec.postgresVersion,
      administratorLogin: POSTGRES_ADMIN_LOGIN,
      administratorPasswordWo: password.result,
      administratorPasswordWoVersion: 1,
      authentication: entraAdmin ? { passwordAuthEnabled: true, activeDirectoryAuthEnabled: true, tenantId: ctx.tenantId } : { passwordAuthEnabled: true, activeDirectoryAuthEnabled: false },
      zone: spec.highAvailability ? "1" : undefined,
      highAvailability: spec.highAvailability ? { mode: "ZoneRedundant", standbyAvailabilityZone: "2" } : undefined,
      backupRetentionDays: spec.backupRetentionDays,
      geoRedundantBackupEnabled: geoRedundant,
      maintenanceWindow: { dayOfWeek: 0, startHour: 3, startMinute: 30 },
      lifecycle: {
        preventDestroy: env.production,
        ignoreChanges: ["zone", "high_availability[0].standby_availability_zone"],
      },
    });
    this.host = this.server.fqdn;
    if (entraAdmin) {
      new PostgresqlFlexibleServerActiveDirectoryAdministrator(this, "entra-admin", {
        serverName: this.server.name,
        resourceGroupName: ctx.resourceGroupName,
        tenantId: ctx.tenantId,
        objectId: entraAdmin.objectId,
        principalName: entraAdmin.name,
        principalType: "Group",
      });
    }

    this.pinParameters("parameter", this.server, parameters);
    if (spec.deletionProtection) {
      new ManagementLock(this, "delete-lock", {
        name: `${serverName}-no-delete`,
        scope: this.server.id,
        lockLevel: "CanNotDelete",
        notes: `deletionProtection is on for database ${spec.name}: remove it from the spec before deleting`,
      });
    }

    this.adminSecret = props.vault.addSecret(this, "admin-secret", {
      name: adminSecretName(ctx, spec),
      value: password.result,
      contentType: "password",
      tags: { "postgres-login": POSTGRES_ADMIN_LOGIN, "postgres-server": serverName },
    });
    this.adminSecretRef = this.adminSecret.versionlessUri;

    this.replicas = Array.from({ length: spec.readReplicas }, (_, replica) =>
      new PostgresqlFlexibleServer(this, `replica-${replica + 1}`, {
        ...placement,
        name: `${serverName}-replica-${replica + 1}`,
        createMode: "Replica",
        sourceServerId: this.server.id,
        // Spread replicas over the zones after the primary's.
        zone: String(((replica + 1) % env.network.zones) + 1),
        lifecycle: { ignoreChanges: ["zone"] },
      }),
    );
    // Server parameters are per server: a replica enforces TLS like its primary.
    this.replicas.forEach((replica, index) => this.pinParameters(`replica-${index + 1}-parameter`, replica, parameters));
    [this.server, ...this.replicas].forEach((server, index) =>
      sendResourceLogs(this, index === 0 ? "logs" : `replica-${index}-logs`, { targetResourceId: server.id, workspaceId: props.logWorkspaceId, categories: RESOURCE_LOG_CATEGORIES.postgresServer }),
    );
  }

  /**
   * "Key Vault Secrets User" on the administrator secret alone (scope: the secret's ARM id), so
   * the identity can read this password and no other secret of the vault.
   */
  grantAdminSecretRead(identity: IWorkloadIdentity): void {
    if (!(identity instanceof AzureWorkloadIdentity)) {
      throw new TypeError(`an Azure Key Vault secret can only be granted to an Azure workload identity, not ${identity.workload}'s`);
    }
    identity.assignRole(`db-${this.spec.name}-admin-secret-read`, this.adminSecret.armId, AZURE_ROLES.keyVaultSecretsUser);
  }

  /** One parameter at a time: the server refuses concurrent configuration changes (ServerBusy). */
  private pinParameters(idPrefix: string, server: PostgresqlFlexibleServer, parameters: Readonly<Record<string, string>>): void {
    let previous: PostgresqlFlexibleServerConfiguration | undefined;
    for (const [name, value] of Object.entries(parameters)) {
      previous = new PostgresqlFlexibleServerConfiguration(this, `${idPrefix}-${name}`, { name, serverId: server.id, value, dependsOn: previous ? [previous] : undefined });
    }
  }
}
