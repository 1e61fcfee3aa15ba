import { describe, expect, it } from "vitest";
import { baseSpec, productionSpec } from "../support/fixtures";
import { synthInfra } from "../support/synth";

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
});
