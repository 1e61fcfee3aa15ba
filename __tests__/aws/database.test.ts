import { describe, expect, it } from "vitest";
import { baseSpec, productionSpec } from "../support/fixtures";
import { SynthesizedStack, synthInfra } from "../support/synth";
import { iamMatches } from "../support/permissions";

describe("AWS RDS PostgreSQL", () => {
  const staging = synthInfra(baseSpec());
  const prod = synthInfra({ ...productionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas: 2 }] });
  const primary = (stack: typeof staging) => stack.find("aws_db_instance", /^platform_database-main_[A-F0-9]+$/);

  it("lives in the database subnets, reachable on 5432 from the cluster's security group only", () => {
    const db = primary(staging);
    expect(String(db.db_subnet_group_name)).toMatch(/aws_db_subnet_group\.platform_network_database-subnet-group/);
    expect(db.publicly_accessible).toBe(false);
    const rule = staging.one("aws_vpc_security_group_ingress_rule");
    expect(rule).toMatchObject({ ip_protocol: "tcp", from_port: 5432, to_port: 5432 });
    expect(String(rule.referenced_security_group_id)).toMatch(/aws_eks_cluster\..*\.vpc_config\[0\]\.cluster_security_group_id/);
    expect(rule).not.toHaveProperty("cidr_ipv4");
    expect(staging.one("aws_security_group")).not.toHaveProperty("ingress");
  });

  it("is encrypted and has its master password managed by RDS, never in Terraform", () => {
    const db = primary(staging);
    expect(db).toMatchObject({ storage_encrypted: true, manage_master_user_password: true, storage_type: "gp3" });
    expect(db).not.toHaveProperty("password");
    expect(staging.text).not.toMatch(/"password"\s*:/);
  });

  it("lets a postgresVersion bump apply: RDS refuses a major engine change unless the request allows it", () => {
    expect(primary(staging)).toMatchObject({ engine_version: "16", allow_major_version_upgrade: true, auto_minor_version_upgrade: true });
  });

  it("enforces TLS through its parameter group, one per family: the spec's version and the one before", () => {
    const groups = staging.all("aws_db_parameter_group");
    expect(groups.map((g) => [g.family, g.name])).toEqual([
      ["postgres15", "test-db-main-pg15"],
      ["postgres16", "test-db-main-pg16"],
    ]);
    for (const group of groups) expect(group.parameter).toContainEqual({ name: "rds.force_ssl", value: "1" });
    expect(String(primary(staging).parameter_group_name)).toMatch(/aws_db_parameter_group\.platform_database-main_parameters-pg16_[A-F0-9]+\.name/);
  });

  it("moves the group of earlier releases (construct id `parameters`) to its family's address instead of replacing it", () => {
    const moved = (staging.json as { moved?: { from: string; to: string }[] }).moved;
    expect(moved).toEqual([
      { from: expect.stringMatching(/^aws_db_parameter_group\.platform_database-main_parameters_[A-F0-9]+$/), to: expect.stringMatching(/^aws_db_parameter_group\.platform_database-main_parameters-pg16_[A-F0-9]+$/) },
    ]);
  });

  it("keeps 7 days of backups outside production and takes a final snapshot", () => {
    expect(primary(staging)).toMatchObject({ backup_retention_period: 7, multi_az: false, deletion_protection: false, skip_final_snapshot: false, final_snapshot_identifier: "test-db-main-final" });
  });

  it("is multi-AZ, deletion-protected, kept 14 days and never destroyed by a plan in production", () => {
    expect(primary(prod)).toMatchObject({ multi_az: true, deletion_protection: true, backup_retention_period: 14, lifecycle: { prevent_destroy: true } });
  });

  it("turns on Performance Insights and enhanced monitoring", () => {
    expect(primary(staging)).toMatchObject({ performance_insights_enabled: true, performance_insights_retention_period: 7, monitoring_interval: 60 });
  });

  it("creates the read replicas the spec asks for, from the primary", () => {
    const replicas = prod.all("aws_db_instance").filter((db) => db.replicate_source_db !== undefined);
    expect(replicas.map((r) => r.identifier)).toEqual(["live-db-main-replica-1", "live-db-main-replica-2"]);
    for (const replica of replicas) {
      expect(String(replica.replicate_source_db)).toMatch(/aws_db_instance\.platform_database-main_[A-F0-9]+\.identifier/);
      // No deletion protection: a replica holds no data of its own, and `readReplicas: 0` (the first
      // step of a major upgrade) must remove it in one apply.
      expect(replica).toMatchObject({ storage_encrypted: true, deletion_protection: false, skip_final_snapshot: true, publicly_accessible: false });
    }
  });

  it("maps the neutral size and honours the per-cloud override", () => {
    expect(primary(staging).instance_class).toBe("db.m7g.large");
    const spec = baseSpec();
    const overridden = synthInfra({ ...spec, databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, aws: { instanceClass: "db.r7g.large" } }] });
    expect(primary(overridden).instance_class).toBe("db.r7g.large");
  });

  describe("log exports land in log groups the stack creates, encrypted and expiring", () => {
    const groups = (stack: SynthesizedStack) => stack.all("aws_cloudwatch_log_group").filter((g) => String(g.name).startsWith("/aws/rds/"));
    const instances = (stack: SynthesizedStack) => Object.entries(stack.resources("aws_db_instance"));
    // RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs": RDS writes export
    // <type> of instance <id> to /aws/rds/instance/<id>/<type>, creating the group when missing.
    it("one group per exported log type and instance, replicas included, each created before its instance", () => {
      for (const stack of [staging, prod]) {
        const expected = instances(stack).flatMap(([, db]) => (db.enabled_cloudwatch_logs_exports as string[]).map((type) => `/aws/rds/instance/${String(db.identifier)}/${type}`));
        expect(expected.length).toBeGreaterThan(0);
        expect(groups(stack).map((g) => g.name).sort()).toEqual(expected.sort());
        for (const [, db] of instances(stack)) {
          const own = Object.entries(stack.resources("aws_cloudwatch_log_group")).filter(([, g]) => String(g.name).startsWith(`/aws/rds/instance/${String(db.identifier)}/`));
          expect(db.depends_on).toEqual(expect.arrayContaining(own.map(([id]) => `aws_cloudwatch_log_group.${id}`)));
        }
      }
      expect(groups(prod)).toHaveLength(6);
    });

    it("encrypted with the logs key, whose policy admits these groups, and kept the cluster's log retention", () => {
      const logsKey = Object.entries(staging.resources("aws_kms_key")).find(([, key]) => String(key.description).endsWith("CloudWatch log groups"));
      if (!logsKey) throw new Error("no logs key");
      const statement = SynthesizedStack.policy(logsKey[1]).Statement.find((s) => (s.Principal as { Service?: string } | undefined)?.Service === "logs.eu-central-1.amazonaws.com");
      const pattern = String(((statement?.Condition ?? {}) as Record<string, Record<string, string>>).ArnLike?.["kms:EncryptionContext:aws:logs:arn"]);
      for (const group of groups(staging)) {
        expect(group).toMatchObject({ kms_key_id: `\${aws_kms_key.${logsKey[0]}.arn}`, retention_in_days: 30 });
        expect(iamMatches(pattern, `arn:aws:logs:eu-central-1:123456789012:log-group:${String(group.name)}`)).toBe(true);
      }
      // The condition is what admits them: a key confined to the EKS groups would refuse RDS's.
      expect(iamMatches("arn:aws:logs:eu-central-1:123456789012:log-group:/aws/eks/*", `arn:aws:logs:eu-central-1:123456789012:log-group:${String(groups(staging)[0].name)}`)).toBe(false);
      for (const group of groups(prod)) expect(group.retention_in_days).toBe(90);
    });

    it("imports the groups RDS created for an existing database only when the spec says so", () => {
      expect((staging.json as { import?: unknown }).import).toBeUndefined();
      const existing = synthInfra({ ...productionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "medium", storageGiB: 100, readReplicas: 1, aws: { importLogGroups: true } }] });
      const imports = (existing.json as { import?: { to: string; id: string }[] }).import ?? [];
      const byAddress = Object.fromEntries(Object.entries(existing.resources("aws_cloudwatch_log_group")).map(([id, g]) => [`aws_cloudwatch_log_group.${id}`, String(g.name)]));
      // The import id of a log group is its name (provider docs, r/cloudwatch_log_group "Import").
      expect(imports.map((i) => [i.to, i.id]).sort()).toEqual(Object.entries(byAddress).filter(([, name]) => name.startsWith("/aws/rds/")).sort());
      expect(imports).toHaveLength(4);
    });
  });
});
