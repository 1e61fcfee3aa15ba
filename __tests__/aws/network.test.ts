import { describe, expect, it } from "vitest";
import { baseSpec, productionSpec } from "../support/fixtures";
import { synthInfra, type TfBlock } from "../support/synth";

const byTier = (subnets: TfBlock[], tier: string) => subnets.filter((s) => (s.tags as Record<string, string>).tier === tier);

describe("AWS network", () => {
  const staging = synthInfra(baseSpec());
  const prod = synthInfra(productionSpec());

  it("spreads public, private and database subnets over 2 zones, 3 in production", () => {
    for (const [stack, zones] of [[staging, ["eu-central-1a", "eu-central-1b"]], [prod, ["eu-central-1a", "eu-central-1b", "eu-central-1c"]]] as const) {
      const subnets = stack.all("aws_subnet");
      for (const tier of ["public", "private", "database"]) {
        expect(byTier(subnets, tier).map((s) => s.availability_zone)).toEqual(zones);
      }
      expect(subnets.every((s) => s.map_public_ip_on_launch === false)).toBe(true);
    }
  });

  it("plans literal, non-overlapping subnet ranges from the spec CIDR", () => {
    const subnets = staging.all("aws_subnet");
    expect(byTier(subnets, "private").map((s) => s.cidr_block)).toEqual(["10.42.0.0/19", "10.42.32.0/19"]);
    expect(byTier(subnets, "public").map((s) => s.cidr_block)).toEqual(["10.42.128.0/21", "10.42.136.0/21"]);
    expect(byTier(subnets, "database").map((s) => s.cidr_block)).toEqual(["10.42.160.0/21", "10.42.168.0/21"]);
    expect(staging.one("aws_vpc")).toMatchObject({ cidr_block: "10.42.0.0/16", enable_dns_hostnames: true, enable_dns_support: true });
  });

  it("runs one NAT gateway per zone in production and a single one elsewhere", () => {
    expect(prod.all("aws_nat_gateway")).toHaveLength(3);
    expect(staging.all("aws_nat_gateway")).toHaveLength(1);
    const natRoutes = prod.all("aws_route").filter((r) => r.nat_gateway_id !== undefined).map((r) => r.nat_gateway_id);
    expect(new Set(natRoutes).size).toBe(3);
  });

  it("gives database subnets no route out of the VPC", () => {
    const databaseTable = staging.find("aws_route_table", "database-routes");
    expect(databaseTable).toBeDefined();
    const routes = staging.all("aws_route").map((r) => String(r.route_table_id));
    expect(routes.some((id) => id.includes("database-routes"))).toBe(false);
  });

  it("logs all traffic to an encrypted log group", () => {
    expect(staging.one("aws_flow_log")).toMatchObject({ traffic_type: "ALL", log_destination_type: "cloud-watch-logs" });
    const group = staging.find("aws_cloudwatch_log_group", "flow-log");
    expect(group.kms_key_id).toMatch(/aws_kms_key\..*logs.*\.arn/);
    expect(group.retention_in_days).toBe(90);
  });

  it("keeps S3 traffic on a gateway endpoint for private and database route tables", () => {
    const endpoint = staging.one("aws_vpc_endpoint");
    expect(endpoint).toMatchObject({ service_name: "com.amazonaws.eu-central-1.s3", vpc_endpoint_type: "Gateway" });
    expect(endpoint.route_table_ids).toHaveLength(3);
  });

  it("locks down the default security group", () => {
    expect(staging.one("aws_default_security_group")).toMatchObject({ ingress: [], egress: [] });
  });
});
