import { describe, expect, it } from "vitest";
import { SpecError } from "../../constructs/core/errors";
import { synthInfra, type TfBlock } from "../support/synth";
import { Testing, TerraformStack } from "cdktn";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { AzurePlatform } from "../../constructs/azure";
import { CLUSTER_KEY_ROTATION, KEY_ROTATION, keyBody } from "../../constructs/azure/key-vault";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { environments } from "../../environments";
import { SynthesizedStack } from "../support/synth";
import { ADMIN_GROUP, azureProductionSpec, azureSpec, ref, TENANT_ID, withCluster } from "./fixtures";
import { aksReplacement, nonDeterministicPrincipals } from "./rules";

const SECOND_GROUP = "22222222-3333-4444-8555-666666666666";
/** The Azure spec with a public API server for the given ranges. */
const publicSpec = (cidrs: string[]): EnvironmentInput => withCluster(azureSpec(), { publicAccessCidrs: cidrs, azure: { adminGroupObjectIds: [ADMIN_GROUP], privateCluster: false } });


describe("Azure AKS cluster", () => {
  const staging = synthInfra(azureSpec());
  const prod = synthInfra(azureProductionSpec());
  const aks = staging.one("azurerm_kubernetes_cluster");

  it("disables local accounts", () => {
    expect(aks.local_account_disabled).toBe(true);
  });

  it("authenticates with Entra ID and authorizes with Azure RBAC, admins from the spec", () => {
    expect(aks.role_based_access_control_enabled).toBe(true);
    expect(aks.azure_active_directory_role_based_access_control).toEqual({ azure_rbac_enabled: true, tenant_id: TENANT_ID, admin_group_object_ids: [ADMIN_GROUP] });
    const withAdmins = synthInfra(withCluster(azureSpec(), { azure: { adminGroupObjectIds: [ADMIN_GROUP, SECOND_GROUP] } }));
    expect(withAdmins.one("azurerm_kubernetes_cluster").azure_active_directory_role_based_access_control).toMatchObject({ admin_group_object_ids: [ADMIN_GROUP, SECOND_GROUP] });
  });

  it("is a private cluster by default", () => {
    expect(aks).toMatchObject({ private_cluster_enabled: true, private_dns_zone_id: "System" });
    expect(aks.api_server_access_profile).toEqual({ virtual_network_integration_enabled: true, subnet_id: expect.stringMatching(ref("azurerm_subnet", "id", "_apiserver_")) });
    expect(synthInfra(withCluster(azureSpec(), { azure: { adminGroupObjectIds: [ADMIN_GROUP], privateCluster: true } })).one("azurerm_kubernetes_cluster")).toMatchObject({ private_cluster_enabled: true });
  });

  it("with privateCluster false, exposes the API to the listed CIDRs only", () => {
    const open = synthInfra(publicSpec(["203.0.113.0/24"])).one("azurerm_kubernetes_cluster");
    expect(open.private_cluster_enabled).toBe(false);
    expect(open).not.toHaveProperty("private_dns_zone_id");
    expect(open.api_server_access_profile).toEqual({ authorized_ip_ranges: ["203.0.113.0/24"], virtual_network_integration_enabled: true, subnet_id: expect.stringMatching(ref("azurerm_subnet", "id", "_apiserver_")) });
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

  it("runs the control plane as a user-assigned identity with Network Contributor on the node and API server subnets only, and KMS's roles on the key and the vault", () => {
    expect(aks.identity).toEqual({ type: "UserAssigned", identity_ids: [expect.stringMatching(ref("azurerm_user_assigned_identity", "id", "control-plane"))] });
    const principal = expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "control-plane"));
    const roles = Object.entries(staging.resources("azurerm_role_assignment")).filter(([id]) => id.includes("control-plane"));
    expect(roles.map(([, role]) => [role.role_definition_name, role.scope])).toEqual(
      expect.arrayContaining([
        ["Network Contributor", expect.stringMatching(ref("azurerm_subnet", "id", "_nodes_"))],
        ["Network Contributor", expect.stringMatching(ref("azurerm_subnet", "id", "_apiserver_"))],
        ["Key Vault Crypto User", expect.stringMatching(ref("azapi_resource", "id", "secrets-key"))],
        ["Key Vault Contributor", expect.stringMatching(ref("azurerm_key_vault", "id"))],
      ]),
    );
    expect(roles).toHaveLength(4);
    // The NSG rules that let nodes reach the API server and the KMS plugin reach the vault are in force first.
    expect(aks.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^azurerm_network_security_rule\..*nodes-nsg-apiserver-out/), expect.stringMatching(/^azurerm_network_security_rule\..*apiserver-nsg-vault-out/), expect.stringMatching(/^azurerm_network_security_rule\..*private-endpoints-nsg-apiserver-https-in/)]));
    // Every role exists before the cluster: AKS checks the subnets at creation and KMS's key at enablement.
    for (const [id, role] of roles) {
      expect(role.principal_id).toEqual(principal);
      expect(aks.depends_on).toContain(`azurerm_role_assignment.${id}`);
    }
  });

  it("encrypts Kubernetes Secrets with <env>-cluster-secrets at its newest version, through the private vault", () => {
    for (const stack of [staging, prod]) {
      const cluster = stack.one("azurerm_kubernetes_cluster");
      const [keyId, key] = Object.entries(stack.resources("azapi_resource")).find(([id]) => id.includes("secrets-key")) as [string, TfBlock];
      expect(key).toMatchObject({ type: "Microsoft.KeyVault/vaults/keys@2024-11-01", name: expect.stringMatching(/-cluster-secrets$/), response_export_values: ["properties.keyUriWithVersion"] });
      expect(cluster.key_management_service).toEqual({ key_vault_key_id: `\${azapi_resource.${keyId}.output.properties.keyUriWithVersion}`, key_vault_network_access: "Private" });
      expect(cluster.depends_on).toEqual(expect.arrayContaining([`azapi_resource.${keyId}`, expect.stringMatching(/^azurerm_private_endpoint\..*key-vault/), expect.stringMatching(/^azurerm_private_dns_zone_virtual_network_link\..*vaultcore/)]));
      expect(key.lifecycle).toEqual(stack === prod ? { prevent_destroy: true } : { prevent_destroy: false });
    }
  });

  it("rotates the cluster key yearly with versions valid three years, so the version the cluster left stays valid past the next rotation (the other keys keep two)", () => {
    const policyOf = (fragment: string) => (staging.find("azapi_resource", fragment).body as { properties: { rotationPolicy: unknown } }).properties.rotationPolicy;
    expect(policyOf("secrets-key")).toEqual((keyBody("standard", CLUSTER_KEY_ROTATION).properties as { rotationPolicy: unknown }).rotationPolicy);
    expect(policyOf("secrets-key")).toMatchObject({ attributes: { expiryTime: "P1095D" }, lifetimeActions: expect.arrayContaining([{ trigger: { timeAfterCreate: "P365D" }, action: { type: "rotate" } }]) });
    expect(policyOf("storage-encryption_key")).toMatchObject({ attributes: { expiryTime: KEY_ROTATION.expiryTime } });
  });

  it("with cluster.azure.waivers.secretsEncryption keeps KMS off and builds everything else the same: VNet Integration, the key, its roles", () => {
    const reason = "existing cluster: VNet Integration first, stop/start, then KMS";
    const waived = synthInfra(withCluster(azureSpec(), { azure: { adminGroupObjectIds: [ADMIN_GROUP], waivers: { secretsEncryption: reason } } }));
    const cluster = waived.one("azurerm_kubernetes_cluster");
    expect(cluster.key_management_service).toBeUndefined();
    expect(cluster.api_server_access_profile).toEqual(aks.api_server_access_profile);
    expect({ ...cluster, key_management_service: aks.key_management_service }).toEqual(aks);
    // Apply 2 (the waiver removed) only adds key_management_service: every other resource is already there.
    const addresses = (stack: SynthesizedStack) => Object.entries(stack.json.resource ?? {}).flatMap(([type, blocks]) => Object.keys(blocks).map((id) => `${type}.${id}`)).sort();
    expect(addresses(waived)).toEqual(addresses(staging));
  });

  it("makes no identity a cluster admin by who happens to run Terraform", () => {
    for (const stack of [staging, prod]) expect(nonDeterministicPrincipals(stack)).toEqual([]);
    expect(JSON.stringify(staging.json)).not.toContain("azurerm_client_config");
    expect(staging.all("azurerm_role_assignment").filter((role) => role.role_definition_name === "Azure Kubernetes Service RBAC Cluster Admin")).toEqual([]);
  });

  it("the principal rule rejects an assignment to the identity running Terraform", () => {
    const stack = new TerraformStack(Testing.app(), "applier");
    const applier = new DataAzurermClientConfig(stack, "applier");
    new RoleAssignment(stack, "admin", { scope: "/subscriptions/x", roleDefinitionName: "Reader", principalId: applier.objectId });
    expect(nonDeterministicPrincipals(new SynthesizedStack(Testing.synth(stack)))).toEqual([expect.stringContaining("data.azurerm_client_config")]);
  });

  it("makes the Terraform Cloud run identity a cluster admin, scoped to the cluster, in either order", () => {
    const target = { organization: "acme-data", project: "data-platform", workspaces: ["test-infra", "test-apps"] };
    for (const trustFirst of [false, true]) {
      const scope = new TerraformStack(Testing.app(), "runs");
      const platform = new AzurePlatform(scope, "platform", parseEnvironment(azureSpec()));
      const network = platform.network();
      if (trustFirst) platform.terraformCloudTrust(target);
      platform.cluster(network);
      platform.terraformCloudTrust(target);
      const stack = new SynthesizedStack(Testing.synth(scope));
      const admins = stack.all("azurerm_role_assignment").filter((role) => role.role_definition_name === "Azure Kubernetes Service RBAC Cluster Admin");
      expect(admins).toEqual([
        expect.objectContaining({
          scope: expect.stringMatching(ref("azurerm_kubernetes_cluster", "id")),
          principal_id: expect.stringMatching(ref("azurerm_user_assigned_identity", "principal_id", "terraform-cloud-trust")),
          principal_type: "ServicePrincipal",
          description: "test-cluster: the Terraform Cloud run identity installs the platform's releases",
        }),
      ]);
      expect(nonDeterministicPrincipals(stack)).toEqual([]);
    }
  });

  it("ships api-server, audit and Entra logs to a workspace with the spec's retention", () => {
    expect(staging.find("azurerm_monitor_diagnostic_setting", "control-plane")).toMatchObject({
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

describe("Azure cluster spec rules", () => {
  const problems = (input: EnvironmentInput): string => {
    try {
      parseEnvironment(input);
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };

  it("requires an Entra ID admin group on Azure, saying the bootstrapper must be in it", () => {
    const none = withCluster(azureSpec(), { azure: { adminGroupObjectIds: [] } });
    expect(() => parseEnvironment(none)).toThrow(SpecError);
    expect(problems(none)).toMatch(/cluster\.azure\.adminGroupObjectIds: given \[\]; accepted: on Azure, at least one Entra ID group object id: .*bootstraps the environment/);
    const omitted = withCluster(azureSpec(), { azure: undefined });
    expect(problems(omitted)).toContain("cluster.azure.adminGroupObjectIds: given nothing");
    // Other clouds do not have the field's constraint.
    expect(problems({ ...azureSpec(), cloud: "aws", accounts: { aws: { region: "eu-central-1", accountId: "123456789012" } }, cluster: { ...azureSpec().cluster, azure: undefined } })).toBe("");
  });

  it("refuses public CIDRs on a private cluster (the default), saying how to switch and that it replaces the cluster", () => {
    const message = problems(withCluster(azureSpec(), { publicAccessCidrs: ["203.0.113.0/24"] }));
    expect(message).toContain('cluster.publicAccessCidrs: given ["203.0.113.0/24"]');
    expect(message).toContain("cluster.azure.privateCluster is true (the default)");
    expect(message).toContain("cluster.azure.privateCluster: false");
    expect(message).toContain("REPLACES the AKS cluster");
    expect(problems(withCluster(azureSpec(), { publicAccessCidrs: ["203.0.113.0/24"], azure: { adminGroupObjectIds: [ADMIN_GROUP], privateCluster: true } }))).toContain("privateCluster is true:");
  });

  it("refuses a public cluster without authorized ranges", () => {
    expect(problems(publicSpec([]))).toMatch(/cluster\.azure\.privateCluster: given false; accepted: true, or false together with at least one range in cluster\.publicAccessCidrs: .*open to the whole internet/);
  });

  it("never plans a new cluster silently when ranges change: a spec that would is refused", () => {
    const specs: Array<[string, EnvironmentInput]> = [
      ["test", azureSpec()],
      ["test, public", publicSpec(["203.0.113.0/24"])],
      ...environments.filter((env) => env.cloud === "azure").map((env): [string, EnvironmentInput] => [env.name, env]),
    ];
    for (const [label, spec] of specs) {
      const before = synthInfra(spec);
      const added = withCluster(spec, { publicAccessCidrs: [...(spec.cluster.publicAccessCidrs ?? []), "198.51.100.0/24"] });
      const refused = problems(added);
      // Refused with a message, or planned without replacing the cluster: never a silent new cluster.
      const replacing = refused === "" ? aksReplacement(before, synthInfra(added)) : [];
      const privateBefore = spec.cluster.azure?.privateCluster !== false;
      // A private cluster must be refused, with the replacement spelled out; a public one just plans.
      expect({ label, replacing, explained: refused.includes("REPLACES the AKS cluster") }).toEqual({ label, replacing: [], explained: privateBefore });
    }
  });

  it("takes the secretsEncryption waiver only with a written reason", () => {
    const waiving = (secretsEncryption: string) => withCluster(azureSpec(), { azure: { adminGroupObjectIds: [ADMIN_GROUP], waivers: { secretsEncryption } } });
    expect(problems(waiving("later"))).toContain('cluster.azure.waivers.secretsEncryption: given "later"; accepted: a written reason of at least 20 characters');
    expect(problems(waiving("converting an existing cluster to VNet Integration first"))).toBe("");
  });

  it("the replacement rule catches a change of private mode", () => {
    expect(aksReplacement(synthInfra(azureSpec()), synthInfra(publicSpec(["203.0.113.0/24"])))).toEqual(["private_cluster_enabled", "private_dns_zone_id"]);
  });
});
