import { describe, expect, it } from "vitest";
import { synthInfra } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

describe("GCP network", () => {
  const staging = synthInfra(gcpSpec());
  const prod = synthInfra(gcpProductionSpec());

  it("is a custom-mode VPC with no auto subnets", () => {
    expect(staging.one("google_compute_network")).toMatchObject({ name: "test-vpc", auto_create_subnetworks: false });
  });

  it("has one regional node subnet with literal pod and service ranges from the spec CIDR, consistent with the neutral plan", () => {
    const subnet = staging.one("google_compute_subnetwork");
    expect(subnet).toMatchObject({ region: "europe-west1", ip_cidr_range: "10.42.0.0/19" });
    expect(subnet.secondary_ip_range).toEqual([
      { range_name: "pods", ip_cidr_range: "10.42.64.0/18" },
      { range_name: "services", ip_cidr_range: "10.42.32.0/20" },
    ]);
    const small = synthInfra({ ...gcpSpec(), network: { cidr: "172.20.16.0/20" }, cluster: { ...gcpSpec().cluster, nodePools: [{ name: "system", size: "medium", minNodes: 1, maxNodes: 2 }] } });
    expect(small.one("google_compute_subnetwork")).toMatchObject({ ip_cidr_range: "172.20.16.0/23" });
    expect(small.one("google_compute_subnetwork").secondary_ip_range).toEqual([
      { range_name: "pods", ip_cidr_range: "172.20.20.0/22" },
      { range_name: "services", ip_cidr_range: "172.20.18.0/24" },
    ]);
  });

  it("turns on private Google access", () => {
    expect(staging.one("google_compute_subnetwork").private_ip_google_access).toBe(true);
  });

  it("logs every flow of the subnet", () => {
    expect(staging.one("google_compute_subnetwork").log_config).toEqual({ aggregation_interval: "INTERVAL_1_MIN", flow_sampling: 1, metadata: "INCLUDE_ALL_METADATA" });
  });

  it("sends the subnet's egress (nodes and pods) through Cloud NAT on a Cloud Router", () => {
    const router = staging.one("google_compute_router");
    expect(String(router.network)).toMatch(/google_compute_network\./);
    const nat = staging.one("google_compute_router_nat");
    expect(nat).toMatchObject({ nat_ip_allocate_option: "AUTO_ONLY", source_subnetwork_ip_ranges_to_nat: "LIST_OF_SUBNETWORKS", log_config: { enable: true, filter: "ERRORS_ONLY" } });
    expect(String(nat.router)).toMatch(/google_compute_router\..*\.name/);
    expect(nat.subnetwork).toEqual([{ name: expect.stringMatching(/google_compute_subnetwork\./), source_ip_ranges_to_nat: ["ALL_IP_RANGES"] }]);
    expect(prod.all("google_compute_router_nat")).toHaveLength(1);
  });

  it("reserves the database part of the plan for private service access and peers it with Service Networking", () => {
    expect(staging.one("google_compute_global_address")).toMatchObject({
      purpose: "VPC_PEERING",
      address_type: "INTERNAL",
      address: "10.42.160.0",
      prefix_length: 19,
    });
    const connection = staging.one("google_service_networking_connection");
    expect(connection).toMatchObject({ service: "servicenetworking.googleapis.com" });
    expect(connection.reserved_peering_ranges).toEqual([expect.stringMatching(/google_compute_global_address\..*\.name/)]);
  });

  it("rejects node pools whose pods do not fit the pod range, naming the field", () => {
    const tooMany = { ...gcpSpec(), network: { cidr: "10.42.0.0/20" }, cluster: { ...gcpSpec().cluster, nodePools: [{ name: "system", size: "medium" as const, minNodes: 2, maxNodes: 10 }] } };
    expect(() => synthInfra(tooMany)).toThrow(/cluster\.nodePools: given \{"system":10\}; accepted: maxNodes adding up to at most 8 nodes including one upgrade surge node per zone and pool \(12 needed\)/);
  });

  it("rejects more zones than the region has, naming the field", () => {
    expect(() => synthInfra({ ...gcpSpec(), network: { cidr: "10.42.0.0/16", zones: 4 } })).toThrow(/network\.zones: given 4; accepted: at most 3 in europe-west1 \(zones europe-west1-b, europe-west1-c, europe-west1-d\)/);
  });
});
