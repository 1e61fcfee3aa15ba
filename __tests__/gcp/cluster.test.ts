import { describe, expect, it } from "vitest";
import { NODE_SERVICE_ACCOUNT_ROLES } from "../../constructs/gcp/cluster";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";
import { defaultNodePoolProblems, NODE_CONFIG_FORCE_NEW } from "./provider-rules";

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

  describe("transient default node pool", () => {
    /** The stack with the cluster block changed by `change`, for cases the rules must reject. */
    const changed = (change: (cluster: TfBlock) => void) => {
      const copy = new SynthesizedStack(staging.text);
      change(copy.one("google_container_cluster"));
      return copy;
    };
    const nodeConfig = (block: TfBlock) => block.node_config as TfBlock;

    it("runs as the platform's node service account, hardened like the real pools", () => {
      expect(String(nodeConfig(cluster()).service_account)).toMatch(/^\$\{google_service_account\.platform_cluster_node-service-account_[A-F0-9]+\.email\}$/);
      expect(nodeConfig(cluster())).toMatchObject({ workload_metadata_config: { mode: "GKE_METADATA" }, shielded_instance_config: { enable_secure_boot: true, enable_integrity_monitoring: true } });
      expect(defaultNodePoolProblems(staging)).toEqual([]);
      expect(defaultNodePoolProblems(prod)).toEqual([]);
    });

    it("waits for the node account's roles, so its nodes can log and pull images", () => {
      const roles = Object.keys(staging.resources("google_project_iam_member")).map((id) => `google_project_iam_member.${id}`);
      expect(roles).toHaveLength(NODE_SERVICE_ACCOUNT_ROLES.length);
      expect(cluster().depends_on).toEqual(expect.arrayContaining(roles));
    });

    it("ignores its node_config after creation, so existing clusters are neither replaced nor updated on the deleted pool", () => {
      expect((cluster().lifecycle as TfBlock).ignore_changes).toEqual(["node_config"]);
      expect((cluster(prod).lifecycle as TfBlock).ignore_changes).toEqual(["node_config"]);
      // What the ignore protects: replace-forcing attributes of the block the cluster sets.
      expect(Object.keys(nodeConfig(cluster())).filter((key) => NODE_CONFIG_FORCE_NEW.includes(key)).sort()).toEqual(["metadata", "oauth_scopes", "service_account", "shielded_instance_config"]);
    });

    it("is rejected without the service account (GKE would use the Compute Engine default account)", () => {
      const withoutAccount = changed((c) => delete nodeConfig(c).service_account);
      expect(defaultNodePoolProblems(withoutAccount)).toContainEqual(expect.stringContaining("Compute Engine default service account"));
      const withoutConfig = changed((c) => delete c.node_config);
      expect(defaultNodePoolProblems(withoutConfig)).toContainEqual(expect.stringContaining("node_config.service_account is undefined"));
      const defaultAccount = changed((c) => (nodeConfig(c).service_account = "default"));
      expect(defaultNodePoolProblems(defaultAccount)).toContainEqual(expect.stringContaining('"default"'));
    });

    it("is rejected with weaker hardening than the real pools", () => {
      const gceMetadata = changed((c) => (nodeConfig(c).workload_metadata_config = { mode: "GCE_METADATA" }));
      expect(defaultNodePoolProblems(gceMetadata)).toEqual([expect.stringContaining("node_config.workload_metadata_config")]);
    });

    it("is rejected when node_config changes are not ignored, or only partly", () => {
      const notIgnored = changed((c) => (c.lifecycle = { prevent_destroy: false }));
      expect(defaultNodePoolProblems(notIgnored)).toEqual([
        "node_config metadata, oauth_scopes, service_account, shielded_instance_config not in lifecycle.ignore_changes: a change replaces the cluster",
        "node_config image_type, workload_metadata_config not in lifecycle.ignore_changes: a change is applied to the deleted default-pool and fails",
      ]);
      const onlyAccount = changed((c) => (c.lifecycle = { ignore_changes: ["node_config[0].service_account"] }));
      expect(defaultNodePoolProblems(onlyAccount)).toContainEqual(expect.stringContaining("metadata, oauth_scopes, shielded_instance_config not in lifecycle.ignore_changes"));
    });
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
    expect(staging.find("google_logging_project_bucket_config", "control-plane")).toMatchObject({ location: "europe-west1", retention_days: 30 });
    expect(prod.find("google_logging_project_bucket_config", "control-plane")).toMatchObject({ retention_days: 90 });
    const sink = staging.find("google_logging_project_sink", "control-plane");
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
        "roles/container.defaultNodeServiceAccount",
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
