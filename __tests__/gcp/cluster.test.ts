import { describe, expect, it } from "vitest";
import { synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

describe("GCP GKE cluster", () => {
  const staging = synthInfra(gcpSpec());
  const prod = synthInfra(gcpProductionSpec());
  const cluster = (stack = staging) => stack.one("google_container_cluster");
  const withPublicAccess = synthInfra({ ...gcpSpec(), cluster: { ...gcpSpec().cluster, publicAccessCidrs: ["203.0.113.0/24"] } });

  it("is regional over the spec's zones in production and zonal (nodes in both zones) elsewhere", () => {
    expect(cluster(prod)).toMatchObject({ location: "europe-west1", node_locations: ["europe-west1-b", "europe-west1-c", "europe-west1-d"] });
    expect(cluster()).toMatchObject({ location: "europe-west1-b", node_locations: ["europe-west1-c"] });
  });

  it("gives nodes private addresses only", () => {
    expect(cluster().private_cluster_config).toMatchObject({ enable_private_nodes: true });
    expect(cluster(withPublicAccess).private_cluster_config).toMatchObject({ enable_private_nodes: true });
  });

  it("keeps the API on a private endpoint when no public CIDRs are listed", () => {
    expect(cluster().private_cluster_config).toMatchObject({ enable_private_endpoint: true });
    expect(cluster().master_authorized_networks_config).toEqual({ cidr_blocks: [], gcp_public_cidrs_access_enabled: false });
  });

  it("opens the public endpoint to the listed CIDRs only", () => {
    expect(cluster(withPublicAccess).private_cluster_config).toMatchObject({ enable_private_endpoint: false });
    expect(cluster(withPublicAccess).master_authorized_networks_config).toEqual({
      cidr_blocks: [{ cidr_block: "203.0.113.0/24", display_name: "spec cluster.publicAccessCidrs" }],
      gcp_public_cidrs_access_enabled: false,
    });
  });

  it("uses the project's Workload Identity pool", () => {
    expect(cluster().workload_identity_config).toEqual({ workload_pool: "acme-data-test.svc.id.goog" });
  });

  it("follows the REGULAR release channel from the spec's Kubernetes version", () => {
    expect(cluster()).toMatchObject({ release_channel: { channel: "REGULAR" }, min_master_version: "1.33" });
  });

  it("runs shielded nodes", () => {
    expect(cluster().enable_shielded_nodes).toBe(true);
  });

  it("uses Dataplane V2", () => {
    expect(cluster().datapath_provider).toBe("ADVANCED_DATAPATH");
  });

  it("is deletion-protected everywhere and never destroyed by a plan in production", () => {
    expect(cluster()).toMatchObject({ deletion_protection: true, lifecycle: { prevent_destroy: false } });
    expect(cluster(prod)).toMatchObject({ deletion_protection: true, lifecycle: { prevent_destroy: true } });
  });

  it("removes the default node pool", () => {
    expect(cluster()).toMatchObject({ remove_default_node_pool: true, initial_node_count: 1 });
  });

  it("is VPC-native on the subnet's secondary ranges", () => {
    expect(cluster()).toMatchObject({
      networking_mode: "VPC_NATIVE",
      ip_allocation_policy: { cluster_secondary_range_name: "pods", services_secondary_range_name: "services" },
    });
    expect(String(cluster().subnetwork)).toMatch(/google_compute_subnetwork\./);
  });

  it("keeps control-plane logs for the spec's retention in a log bucket", () => {
    expect(cluster().logging_config).toEqual({ enable_components: ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"] });
    expect(staging.one("google_logging_project_bucket_config")).toMatchObject({ location: "europe-west1", retention_days: 30 });
    expect(prod.one("google_logging_project_bucket_config")).toMatchObject({ retention_days: 90 });
    const sink = staging.one("google_logging_project_sink");
    expect(sink.filter).toBe('resource.type=("k8s_cluster" OR "k8s_control_plane_component") AND resource.labels.cluster_name="test-cluster"');
    expect(String(sink.destination)).toMatch(/^logging\.googleapis\.com\/\$\{google_logging_project_bucket_config\..*\.id\}$/);
  });

  describe("node pools", () => {
    const pool = (stack = staging) => stack.one("google_container_node_pool");

    it("autoscale between the spec's total min and max nodes, with the neutral machine type and disk", () => {
      expect(pool()).toMatchObject({
        name: "system",
        location: "europe-west1-b",
        autoscaling: { total_min_node_count: 2, total_max_node_count: 4, location_policy: "BALANCED" },
        node_config: { machine_type: "n2-standard-4", disk_type: "pd-balanced", disk_size_gb: 50, spot: false },
      });
      expect(pool().autoscaling).not.toHaveProperty("min_node_count");
      expect(String(pool().cluster)).toMatch(/google_container_cluster\./);
    });

    it("expose only the GKE metadata server to pods", () => {
      expect((pool().node_config as TfBlock).workload_metadata_config).toEqual({ mode: "GKE_METADATA" });
    });

    it("boot with secure boot and integrity monitoring", () => {
      expect((pool().node_config as TfBlock).shielded_instance_config).toEqual({ enable_secure_boot: true, enable_integrity_monitoring: true });
    });

    it("are repaired and upgraded automatically", () => {
      expect(pool().management).toEqual({ auto_repair: true, auto_upgrade: true });
    });

    it("run as a dedicated node service account with least-privilege roles only", () => {
      const serviceAccount = staging.find("google_service_account", "node-service-account");
      expect(serviceAccount.account_id).toBe("test-gke-nodes");
      expect(String((pool().node_config as TfBlock).service_account)).toMatch(/google_service_account\.platform_cluster_node-service-account_[A-F0-9]+\.email/);
      const roles = staging.all("google_project_iam_member").map((m) => m.role).sort();
      expect(roles).toEqual([
        "roles/artifactregistry.reader",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
      ]);
      for (const member of staging.all("google_project_iam_member")) {
        expect(member).toMatchObject({ project: "acme-data-test", member: expect.stringMatching(/node-service-account.*\.member\}$/) });
      }
    });

    it("map spot pools to Spot VMs and honour the machine type override", () => {
      const spec = gcpSpec();
      const spot = synthInfra({
        ...spec,
        cluster: { ...spec.cluster, nodePools: [...spec.cluster.nodePools, { name: "batch", size: "large", minNodes: 0, maxNodes: 5, spot: true, gcp: { machineType: "c3-standard-8" } }] },
      });
      expect(spot.find("google_container_node_pool", "batch")).toMatchObject({
        autoscaling: { total_min_node_count: 0, total_max_node_count: 5, location_policy: "ANY" },
        node_config: { machine_type: "c3-standard-8", spot: true },
      });
    });
  });
});
