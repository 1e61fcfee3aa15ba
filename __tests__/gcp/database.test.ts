import { describe, expect, it } from "vitest";
import { synthInfra, type TfBlock, type SynthesizedStack } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

const settings = (instance: TfBlock) => instance.settings as TfBlock;

describe("GCP Cloud SQL PostgreSQL", () => {
  const staging = synthInfra(gcpSpec());
  const prod = synthInfra({ ...gcpProductionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas: 2 }] });
  const primary = (stack: SynthesizedStack) => stack.find("google_sql_database_instance", /^platform_database-main_[A-F0-9]+$/);

  it("runs the spec's PostgreSQL version on the Enterprise edition at the neutral tier", () => {
    expect(primary(staging)).toMatchObject({ name: "test-db-main", region: "europe-west1", database_version: "POSTGRES_16" });
    expect(settings(primary(staging))).toMatchObject({ tier: "db-custom-2-8192", edition: "ENTERPRISE" });
    expect(settings(primary(prod)).tier).toBe("db-custom-4-16384");
    const overridden = synthInfra({ ...gcpSpec(), databases: [{ name: "main", postgresVersion: "17", size: "small", storageGiB: 50, gcp: { tier: "db-custom-2-13312" } }] });
    expect(primary(overridden).database_version).toBe("POSTGRES_17");
    expect(settings(primary(overridden)).tier).toBe("db-custom-2-13312");
  });

  it("has no public IPv4 address, only a private one in the environment's network", () => {
    const ip = settings(primary(staging)).ip_configuration as TfBlock;
    expect(ip.ipv4_enabled).toBe(false);
    expect(String(ip.private_network)).toMatch(/google_compute_network\..*\.id/);
    expect(String(ip.allocated_ip_range)).toMatch(/google_compute_global_address\..*\.name/);
    expect(ip).not.toHaveProperty("authorized_networks");
  });

  it("accepts encrypted connections only", () => {
    expect((settings(primary(staging)).ip_configuration as TfBlock).ssl_mode).toBe("ENCRYPTED_ONLY");
  });

  it("waits for the private service access connection", () => {
    expect(primary(staging).depends_on).toContainEqual(expect.stringMatching(/^google_service_networking_connection\./));
  });

  it("is zonal outside production and REGIONAL in production", () => {
    expect(settings(primary(staging))).toMatchObject({ availability_type: "ZONAL", location_preference: { zone: "europe-west1-b" } });
    expect(settings(primary(prod))).toMatchObject({ availability_type: "REGIONAL", location_preference: { zone: "europe-west1-b", secondary_zone: "europe-west1-c" } });
  });

  it("backs up daily with point-in-time recovery, for the spec's retention", () => {
    expect(settings(primary(staging)).backup_configuration).toMatchObject({
      enabled: true,
      point_in_time_recovery_enabled: true,
      transaction_log_retention_days: 7,
      backup_retention_settings: { retained_backups: 7, retention_unit: "COUNT" },
    });
    expect(settings(primary(prod)).backup_configuration).toMatchObject({ backup_retention_settings: { retained_backups: 14 } });
    expect(settings(primary(prod)).retain_backups_on_delete).toBe(true);
  });

  it("grows its SSD disk automatically up to 4x", () => {
    expect(settings(primary(staging))).toMatchObject({ disk_type: "PD_SSD", disk_size: 50, disk_autoresize: true, disk_autoresize_limit: 200 });
    expect(primary(staging).lifecycle).toMatchObject({ ignore_changes: ["settings[0].disk_size"] });
  });

  it("is deletion-protected in Terraform and in the API from the spec, and never destroyed by a plan in production", () => {
    expect(primary(staging)).toMatchObject({ deletion_protection: false, lifecycle: { prevent_destroy: false } });
    expect(settings(primary(staging)).deletion_protection_enabled).toBe(false);
    expect(primary(prod)).toMatchObject({ deletion_protection: true, lifecycle: { prevent_destroy: true } });
    expect(settings(primary(prod)).deletion_protection_enabled).toBe(true);
  });

  it("turns on Query Insights and IAM authentication", () => {
    expect(settings(primary(staging)).insights_config).toMatchObject({ query_insights_enabled: true });
    expect(settings(primary(staging)).database_flags).toContainEqual({ name: "cloudsql.iam_authentication", value: "on" });
  });

  it("carries the environment labels, which provider default_labels do not reach", () => {
    expect(settings(primary(staging)).user_labels).toEqual({ environment: "test", owner: "platform-team", "cost-centre": "cc-42", "managed-by": "cdktf", database: "main" });
  });

  it("creates the read replicas the spec asks for, from the primary, with the same posture", () => {
    const replicas = prod.all("google_sql_database_instance").filter((db) => db.master_instance_name !== undefined);
    expect(replicas.map((r) => r.name)).toEqual(["live-db-main-replica-1", "live-db-main-replica-2"]);
    for (const replica of replicas) {
      expect(String(replica.master_instance_name)).toMatch(/google_sql_database_instance\.platform_database-main_[A-F0-9]+\.name/);
      expect(replica).toMatchObject({ database_version: "POSTGRES_16", deletion_protection: true });
      expect(settings(replica)).toMatchObject({ ip_configuration: { ipv4_enabled: false, ssl_mode: "ENCRYPTED_ONLY" }, deletion_protection_enabled: true });
    }
    expect(staging.all("google_sql_database_instance")).toHaveLength(1);
  });

  describe("admin credential", () => {
    it("comes from random_password and goes to Cloud SQL and Secret Manager by reference only", () => {
      const password = staging.one("random_password");
      expect(password).toMatchObject({ length: 32, special: true });
      const user = staging.one("google_sql_user");
      expect(user).toMatchObject({ name: "platform_admin", type: "BUILT_IN" });
      expect(user.password_wo).toMatch(/^\$\{random_password\.[^.]+\.result\}$/);
      expect(user).not.toHaveProperty("password");
      const version = staging.one("google_secret_manager_secret_version");
      expect(String(version.secret)).toMatch(/google_secret_manager_secret\..*\.id/);
      expect(version.secret_data_wo).toMatch(/random_password\.[^.]+\.result/);
      expect(version).not.toHaveProperty("secret_data");
    });

    it("never appears as a literal anywhere in the JSON", () => {
      const secretValues = (value: unknown, key = ""): string[] => {
        if (typeof value === "string") return /password|secret_data/.test(key) ? [value] : [];
        if (value === null || typeof value !== "object") return [];
        return Object.entries(value).flatMap(([childKey, child]) => secretValues(child, Array.isArray(value) ? key : childKey));
      };
      for (const stack of [staging, prod]) {
        const values = secretValues(stack.json);
        expect(values.length).toBeGreaterThan(0);
        for (const value of values) expect(value).toMatch(/^\$\{.*random_password\.[^.]+\.result.*\}$/s);
        expect(stack.text).not.toMatch(/"root_password"/);
      }
    });

    it("is kept in a regional Secret Manager secret whose id is the database's admin secret reference", () => {
      expect(staging.one("google_secret_manager_secret")).toMatchObject({
        secret_id: "test-db-main-admin",
        replication: { user_managed: { replicas: [{ location: "europe-west1" }] } },
        deletion_protection: false,
      });
      expect(prod.one("google_secret_manager_secret").deletion_protection).toBe(true);
      expect(staging.json.output?.database_main_admin_secret?.value).toMatch(/^\$\{google_secret_manager_secret\..*\.id\}$/);
      expect(staging.json.output?.database_main_host?.value).toMatch(/google_sql_database_instance\..*\.private_ip_address/);
    });
  });
});
