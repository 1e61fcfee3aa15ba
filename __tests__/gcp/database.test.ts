import { describe, expect, it } from "vitest";
import { SpecError } from "../../constructs/core/errors";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";
import { instanceNameProblems } from "./provider-rules";

/** The spec's problems as `path: message` lines; fails when the spec is accepted. */
function specProblems(input: EnvironmentInput): string[] {
  try {
    parseEnvironment(input);
  } catch (error) {
    if (error instanceof SpecError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error("the spec was accepted");
}

const SUFFIX = /\$\{random_id\.([^.]+)\.hex\}$/;

const settings = (instance: TfBlock) => instance.settings as TfBlock;

describe("GCP Cloud SQL PostgreSQL", () => {
  const staging = synthInfra(gcpSpec());
  const prod = synthInfra({ ...gcpProductionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas: 2 }] });
  const primary = (stack: SynthesizedStack) => stack.find("google_sql_database_instance", /^platform_database-main_[A-F0-9]+$/);

  it("runs the spec's PostgreSQL version on the Enterprise edition at the neutral tier", () => {
    expect(primary(staging)).toMatchObject({ region: "europe-west1", database_version: "POSTGRES_16" });
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
    expect(replicas.map((r) => String(r.name).replace(SUFFIX, "<$1>"))).toEqual([
      expect.stringMatching(/^live-db-main-replica-1-<platform_database-main_replica-1-suffix_[A-F0-9]+>$/),
      expect.stringMatching(/^live-db-main-replica-2-<platform_database-main_replica-2-suffix_[A-F0-9]+>$/),
    ]);
    for (const replica of replicas) {
      expect(String(replica.master_instance_name)).toMatch(/google_sql_database_instance\.platform_database-main_[A-F0-9]+\.name/);
      expect(replica).toMatchObject({ database_version: "POSTGRES_16", deletion_protection: true });
      expect(settings(replica)).toMatchObject({ ip_configuration: { ipv4_enabled: false, ssl_mode: "ENCRYPTED_ONLY" }, deletion_protection_enabled: true });
    }
    expect(staging.all("google_sql_database_instance")).toHaveLength(1);
  });

  describe("instance names", () => {
    const suffixOf = (stack: SynthesizedStack, instance: TfBlock) => stack.resources("random_id")[(SUFFIX.exec(String(instance.name)) ?? [])[1]];
    const kept = (instanceName: string, readReplicas = 0) =>
      synthInfra({ ...gcpProductionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas, gcp: { instanceName } }] });

    it("end in a random suffix, so a destroyed database can be created again at once", () => {
      expect(String(primary(staging).name)).toMatch(/^test-db-main-\$\{random_id\.platform_database-main_instance-suffix_[A-F0-9]+\.hex\}$/);
      expect(suffixOf(staging, primary(staging))).toEqual({ byte_length: 2, keepers: { project: "acme-data-test", region: "europe-west1", disk_type: "PD_SSD", encryption_key_name: expect.stringMatching(/^\$\{google_kms_crypto_key\.platform_keys_cloudsql_[A-F0-9]+\.id\}$/) } });
    });

    it("renew the suffix only when the instance is replaced anyway (keepers: its replace-forcing arguments)", () => {
      expect(instanceNameProblems(staging, "acme-data-test")).toEqual([]);
      expect(instanceNameProblems(prod, "acme-data-test")).toEqual([]);
      for (const replica of prod.all("google_sql_database_instance").filter((db) => db.master_instance_name !== undefined)) {
        expect(suffixOf(prod, replica).keepers).toMatchObject({ master_instance_name: replica.master_instance_name });
      }
    });

    it("are rejected by the rules with a keeper missing, a keeper that would replace the database, or an invalid id", () => {
      const changed = (stack: SynthesizedStack, change: (copy: SynthesizedStack) => void) => {
        const copy = new SynthesizedStack(stack.text);
        change(copy);
        return instanceNameProblems(copy, "acme-data-test");
      };
      const keepers = (copy: SynthesizedStack, fragment: string) => copy.find("random_id", fragment).keepers as Record<string, string>;
      expect(changed(staging, (copy) => delete keepers(copy, "instance-suffix").region)).toEqual([expect.stringContaining("keeper region is undefined, the instance has \"europe-west1\"")]);
      expect(changed(staging, (copy) => (keepers(copy, "instance-suffix").database_version = "POSTGRES_16"))).toEqual([expect.stringContaining("keeper database_version does not force a new instance")]);
      expect(changed(prod, (copy) => delete keepers(copy, "replica-1-suffix").master_instance_name)).toEqual([expect.stringContaining("keeper master_instance_name is undefined")]);
      expect(changed(staging, (copy) => (primary(copy).name = "Test_DB"))).toEqual([expect.stringContaining("name Test_DB is not a Cloud SQL instance id")]);
      expect(changed(staging, (copy) => (primary(copy).name = `a${"b".repeat(90)}`))).toEqual([expect.stringContaining("more than 98 with project acme-data-test")]);
    });

    it("fit Cloud SQL's 98 characters with the longest names the spec allows", () => {
      const longest = synthInfra({
        ...gcpProductionSpec(),
        name: "e".repeat(16),
        accounts: { gcp: { region: "europe-west1", projectId: `p${"x".repeat(29)}` } },
        databases: [{ name: "d".repeat(20), postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas: 5 }],
        apps: [],
      });
      expect(longest.all("google_sql_database_instance")).toHaveLength(6);
      expect(instanceNameProblems(longest, `p${"x".repeat(29)}`)).toEqual([]);
    });

    it("keep an existing instance's name, and its replicas', through gcp.instanceName", () => {
      const stack = kept("live-db-main", 2);
      expect(stack.all("google_sql_database_instance").map((db) => db.name)).toEqual(["live-db-main", "live-db-main-replica-1", "live-db-main-replica-2"]);
      expect(stack.resources("random_id")).toEqual({});
      // The construct id, so the Terraform address, is the same with and without it.
      expect(Object.keys(stack.resources("google_sql_database_instance"))).toEqual(Object.keys(prod.resources("google_sql_database_instance")));
      expect(instanceNameProblems(stack, "acme-data-test")).toEqual([]);
    });

    it("leave the admin secret's id and the instance's labels alone", () => {
      const stack = kept("legacy-name");
      expect(stack.one("google_secret_manager_secret").secret_id).toBe("live-db-main-admin");
      expect(prod.one("google_secret_manager_secret").secret_id).toBe("live-db-main-admin");
      expect(settings(primary(stack)).user_labels).toMatchObject({ environment: "live", database: "main" });
      expect(String(stack.one("google_sql_user").instance)).toMatch(/^\$\{google_sql_database_instance\.platform_database-main_[A-F0-9]+\.name\}$/);
    });

    it("refuse an instanceName Cloud SQL would refuse, naming the field", () => {
      const withName = (instanceName: string, project = "acme-data-test"): EnvironmentInput => ({
        ...gcpSpec(),
        accounts: { gcp: { region: "europe-west1", projectId: project } },
        databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, gcp: { instanceName } }],
      });
      for (const bad of ["Main-DB", "1st-db", "db_main", ""]) {
        expect(specProblems(withName(bad))).toEqual([`databases[0].gcp.instanceName: given ${JSON.stringify(bad)}; accepted: a Cloud SQL instance id: lowercase letters, digits and '-', starting with a letter`]);
      }
      // acme-data-test and ':' take 15 of the 98 characters.
      expect(() => parseEnvironment(withName(`a${"b".repeat(82)}`))).not.toThrow();
      expect(specProblems(withName(`a${"b".repeat(83)}`))).toEqual([
        expect.stringMatching(/^databases\[0\]\.gcp\.instanceName: given "abbb.*; accepted: a Cloud SQL instance id of at most 83 characters in project acme-data-test \(project id, ':' and instance id take at most 98\)$/),
      ]);
    });

    it("refuse an instanceName whose read replica's name is too long, or that is another database's replica", () => {
      const long = "a".repeat(98 - "acme-data-test:".length - 2);
      const tooLong: EnvironmentInput = { ...gcpSpec(), databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, readReplicas: 1, gcp: { instanceName: long } }] };
      expect(specProblems(tooLong)).toEqual([expect.stringContaining(`a name whose replica ${long}-replica-1 is a Cloud SQL instance id of at most 83 characters`)]);
      const clash: EnvironmentInput = {
        ...gcpSpec(),
        databases: [
          { name: "main", postgresVersion: "16", size: "small", storageGiB: 50, readReplicas: 1, gcp: { instanceName: "shared" } },
          { name: "other", postgresVersion: "16", size: "small", storageGiB: 50, gcp: { instanceName: "shared-replica-1" } },
        ],
      };
      expect(specProblems(clash)).toEqual(['databases[1].gcp.instanceName: given "shared-replica-1"; accepted: an instance no other database uses (main has shared-replica-1)']);
    });

    it("refuse one instanceName for two databases", () => {
      const spec: EnvironmentInput = {
        ...gcpSpec(),
        databases: [
          { name: "main", postgresVersion: "16", size: "small", storageGiB: 50, gcp: { instanceName: "shared" } },
          { name: "other", postgresVersion: "16", size: "small", storageGiB: 50, gcp: { instanceName: "shared" } },
        ],
      };
      expect(specProblems(spec)).toEqual(['databases[1].gcp.instanceName: given "shared"; accepted: an instance no other database uses (main has shared)']);
    });
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
