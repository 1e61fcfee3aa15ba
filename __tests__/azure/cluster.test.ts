import { describe, expect, it } from "vitest";
import { SpecError } from "../../constructs/core/errors";
import { synthInfra, type TfBlock } from "../support/synth";
import { azureProductionSpec, azureSpec, ref, TENANT_ID, withCluster } from "./fixtures";

const ADMIN_GROUP = "11111111-2222-4333-8444-555555555555";

describe("Azure AKS cluster", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());
  const aks = staging.one("azurerm_kubernetes_cluster");

  it("disables local accounts", () => {
    expect(aks.local_account_disabled).toBe(true);
  });

  it("authenticates with Entra ID and authorizes with Azure RBAC, admins from the spec", () => {
    expect(aks.role_based_access_control_enabled).toBe(true);
    expect(aks.azure_active_directory_role_based_access_control).toEqual({ azure_rbac_enabled: true, tenant_id: TENANT_ID, admin_group_object_ids: [] });
    const withAdmins = synthInfra(withCluster(azureSpec(), { azure: { adminGroupObjectIds: [ADMIN_GROUP] } }));
    expect(withAdmins.one("azurerm_kubernetes_cluster").azure_active_directory_role_based_access_control).toMatchObject({ admin_group_object_ids: [ADMIN_GROUP] });
  });

  it("is a private cluster when the spec lists no public CIDRs", () => {
    expect(aks).toMatchObject({ private_cluster_enabled: true, private_dns_zone_id: "System" });
    expect(aks).not.toHaveProperty("api_server_access_profile");
  });

  it("otherwise exposes the API to the listed CIDRs only", () => {
    const open = synthInfra(withCluster(azureSpec(), { publicAccessCidrs: ["203.0.113.0/24"] })).one("azurerm_kubernetes_cluster");
    expect(open.private_cluster_enabled).toBe(false);
    expect(open.api_server_access_profile).toEqual({ authorized_ip_ranges: ["203.0.113.0/24"] });
  });

  it("turns on the OIDC issuer and workload identity", () => {
    expect(aks).toMatchObject({ oidc_issuer_enabled: true, workload_identity_enabled: true });
  });

  it("runs Azure CNI overlay with the Cilium dataplane and network policy, egress through the NAT gateway", () => {
    expect(aks.network_profile).toMatchObject({
      network_plugin: "azure",
      network_plugin_mode: "overlay",
      network_data_plane: "cilium",
      network_policy: "cilium",
      outbound_type: "userAssignedNATGateway",
      pod_cidr: "10.244.0.0/14",
      service_cidr: "10.0.0.0/16",
      dns_service_ip: "10.0.0.10",
    });
    expect(aks.depends_on).toContainEqual(expect.stringMatching(/^azurerm_subnet_nat_gateway_association\./));
  });

  it("keeps pod and service ranges clear of the VNet", () => {
    const profile = (cidr: string) =>
      synthInfra({ ...azureSpec(), network: { cidr } }).one("azurerm_kubernetes_cluster").network_profile as Record<string, string>;
    expect(profile("10.244.0.0/16")).toMatchObject({ pod_cidr: "172.20.0.0/14", service_cidr: "10.0.0.0/16" });
    expect(profile("10.0.0.0/16")).toMatchObject({ pod_cidr: "10.244.0.0/14", service_cidr: "172.16.0.0/16", dns_service_ip: "172.16.0.10" });
  });

  it("runs a system pool for critical add-ons only, across the zones, in the node subnet", () => {
    expect(aks.default_node_pool).toMatchObject({
      only_critical_addons_enabled: true,
      auto_scaling_enabled: true,
      min_count: 2,
      zones: ["1", "2"],
      vnet_subnet_id: expect.stringMatching(ref("azurerm_subnet", "id", "_nodes_")),
      vm_size: "Standard_D2ds_v5",
    });
    expect(prod.one("azurerm_kubernetes_cluster").default_node_pool).toMatchObject({ min_count: 3, zones: ["1", "2", "3"], vm_size: "Standard_D4ds_v5" });
  });

  it("gives each spec pool its own autoscaling user pool sized from the neutral table", () => {
    const pool = staging.one("azurerm_kubernetes_cluster_node_pool");
    expect(pool).toMatchObject({
      name: "system",
      mode: "User",
      vm_size: "Standard_D4ds_v5",
      auto_scaling_enabled: true,
      min_count: 2,
      max_count: 4,
      priority: "Regular",
      os_disk_size_gb: 50,
      zones: ["1", "2"],
      kubernetes_cluster_id: expect.stringMatching(ref("azurerm_kubernetes_cluster", "id")),
      vnet_subnet_id: expect.stringMatching(ref("azurerm_subnet", "id", "_nodes_")),
    });
    expect(pool).not.toHaveProperty("eviction_policy");
  });

  it("maps spot pools to Spot priority with Delete eviction, and honours the VM size override", () => {
    const spec = azureSpec();
    const spot = synthInfra(
      withCluster(spec, {
        nodePools: [...spec.cluster.nodePools, { name: "batch-jobs", size: "large", minNodes: 0, maxNodes: 5, spot: true, azure: { vmSize: "Standard_E8ds_v5" } }],
      }),
    );
    const pool = spot.find("azurerm_kubernetes_cluster_node_pool", "batch-jobs");
    expect(pool).toMatchObject({ name: "batchjobs", priority: "Spot", eviction_policy: "Delete", spot_max_price: -1, vm_size: "Standard_E8ds_v5", min_count: 0 });
    expect(pool.node_taints).toEqual(["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"]);
    expect(pool).not.toHaveProperty("upgrade_settings");
    const large = synthInfra(withCluster(spec, { nodePools: [{ name: "work", size: "large", minNodes: 2, maxNodes: 3 }] }));
    expect(large.one("azurerm_kubernetes_cluster_node_pool").vm_size).toBe("Standard_D8ds_v5");
  });

  it("refuses a pool name AKS cannot tell apart from another", () => {
    const clash = withCluster(azureSpec(), { nodePools: [{ name: "critical", size: "small", minNodes: 2, maxNodes: 3 }] });
    expect(() => synthInfra(clash)).toThrow(SpecError);
    expect(() => synthInfra(clash)).toThrow(/cluster\.nodePools\[0\]\.name: given "critical"/);
  });

  it("upgrades automatically on the stable channel", () => {
    expect(aks).toMatchObject({ automatic_upgrade_channel: "stable", node_os_upgrade_channel: "NodeImage", kubernetes_version: "1.33" });
  });

  it("uses the Standard tier in production and Free elsewhere", () => {
    expect(aks.sku_tier).toBe("Free");
    expect(prod.one("azurerm_kubernetes_cluster").sku_tier).toBe("Standard");
  });

  it("runs the control plane as a user-assigned identity with Network Contributor on the node subnet only", () => {
    expect(aks.identity).toEqual({ type: "UserAssigned", identity_ids: [expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "control-plane"))] });
    const role = staging.find("azurerm_role_assignment", "control-plane");
    expect(role).toMatchObject({
      role_definition_name: "Network Contributor",
      scope: expect.stringMatching(ref("azurerm_subnet", "id", "_nodes_")),
      principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "control-plane")),
    });
    expect(aks.depends_on).toContainEqual(expect.stringMatching(/^azurerm_role_assignment\..*control-plane/));
  });

  it("makes the identity applying Terraform a cluster admin, scoped to the cluster", () => {
    expect(staging.find("azurerm_role_assignment", "applier-cluster-admin")).toMatchObject({
      role_definition_name: "Azure Kubernetes Service RBAC Cluster Admin",
      scope: expect.stringMatching(ref("azurerm_kubernetes_cluster", "id")),
      principal_id: expect.stringMatching(/^\$\{data\.azurerm_client_config\.[^.]+\.object_id\}$/),
    });
  });

  it("ships api-server, audit and Entra logs to a workspace with the spec's retention", () => {
    expect(staging.one("azurerm_monitor_diagnostic_setting")).toMatchObject({
      target_resource_id: expect.stringMatching(ref("azurerm_kubernetes_cluster", "id")),
      log_analytics_workspace_id: expect.stringMatching(ref("azurerm_log_analytics_workspace", "id")),
      enabled_log: [{ category: "kube-apiserver" }, { category: "kube-audit-admin" }, { category: "guard" }],
    });
    expect(staging.one("azurerm_log_analytics_workspace").retention_in_days).toBe(30);
    expect(prod.one("azurerm_log_analytics_workspace").retention_in_days).toBe(90);
  });

  it("protects the production cluster from destroy", () => {
    expect(prod.one("azurerm_kubernetes_cluster").lifecycle).toMatchObject({ prevent_destroy: true });
    expect(aks.lifecycle).toMatchObject({ prevent_destroy: false });
  });

  it("lets the autoscaler and the upgrade channel own sizes and versions", () => {
    expect((aks.lifecycle as TfBlock).ignore_changes).toEqual(expect.arrayContaining(["kubernetes_version", "default_node_pool[0].node_count"]));
    expect((staging.one("azurerm_kubernetes_cluster_node_pool").lifecycle as TfBlock).ignore_changes).toEqual(["node_count", "orchestrator_version"]);
  });
});
