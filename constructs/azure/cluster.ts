import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { KubernetesCluster, type KubernetesClusterMaintenanceWindowAutoUpgrade } from "@cdktf/provider-azurerm/lib/kubernetes-cluster";
import { KubernetesClusterNodePool } from "@cdktf/provider-azurerm/lib/kubernetes-cluster-node-pool";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import type { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { environmentLogWorkspace } from "./diagnostics";
import { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import type { ICluster, NodeTaint } from "../core/interfaces";
import type { Environment, NodePoolSpec } from "../core/spec";
import { AZURE_ROLES, type AzureContext } from "./context";
import { aksPoolName, overlayRanges, SYSTEM_POOL_NAME } from "./facts";
import { CLUSTER_KEY_ROTATION, type AzureKeyVault } from "./key-vault";
import type { AzureNetwork } from "./network";
import { AZURE_NODE_VM_SIZES } from "./sizes";

/** The label and taint AKS puts on every Spot node (declared so Terraform sees no drift). */
export const AKS_SPOT_TAINT: NodeTaint = { key: "kubernetes.azure.com/scalesetpriority", value: "spot", effect: "NoSchedule" };

export interface AzureClusterProps {
  readonly ctx: AzureContext;
  readonly network: AzureNetwork;
  /**
   * The environment's key vault, for the key that encrypts Kubernetes Secrets. A function of the
   * cluster's Log Analytics workspace, where the vault sends its audit log: the workspace is the
   * cluster's, created before the vault, and the vault before the cluster.
   */
  readonly vault: (logWorkspaceId: string) => AzureKeyVault;
  /** The workspace the cluster's logs go to when it is not the cluster's own (`<env>-cluster-logs`): one the stack had already. */
  readonly logWorkspace?: LogAnalyticsWorkspace;
}

/** The key that encrypts the cluster's Kubernetes Secrets (KMS etcd encryption), `<env>-cluster-secrets`. */
export const CLUSTER_SECRETS_KEY_PURPOSE = "cluster-secrets";

/**
 * Whether the API server is private: `cluster.azure.privateCluster`, true when unset. Never derived
 * from `publicAccessCidrs`: azurerm 4.55.0 forces a new cluster when `private_cluster_enabled` or
 * `private_dns_zone_id` changes (internal/services/containers/kubernetes_cluster_resource.go,
 * `ForceNew: true` on both), so the mode is an explicit choice the spec check guards.
 */
export function isPrivateCluster(env: Environment): boolean {
  return env.cluster.azure?.privateCluster ?? true;
}

/**
 * Whether the spec keeps KMS off for now: `cluster.azure.waivers.secretsEncryption`, the first of
 * the two applies that convert an existing cluster. AKS puts API Server VNet Integration into
 * effect on an existing cluster only at the stop/start after the update (MicrosoftDocs/
 * azure-aks-docs articles/aks/api-server-vnet-integration.md at fb060ab, "Manual restart
 * required": "you must immediately restart the cluster for the change to take effect"), and KMS
 * with a private vault works only through that tunnel (use-kms-etcd-encryption.md: "it must use the
 * API Server VNet Integration tunnel. Konnectivity isn't supported"); azurerm 4.55.0 sends both in
 * one PUT of the managed cluster (kubernetes_cluster_resource.go `resourceKubernetesClusterUpdate`).
 * So the first apply converts (integration, subnet, NSGs, the key and its role assignments), the
 * cluster is stopped and started, and the second apply, without the waiver, turns KMS on. The
 * policy pack records the waiver on `cluster-secrets-encrypted`; the pull-request gate refuses a
 * plan that turns both on in one update (scripts/stack-diff.ts).
 */
export function secretsEncryptionWaived(env: Environment): boolean {
  return env.cluster.azure?.waivers?.secretsEncryption !== undefined;
}

/** Control-plane log categories shipped to Log Analytics (the AKS names for api, audit, authenticator). */
export const CONTROL_PLANE_LOG_CATEGORIES = ["kube-apiserver", "kube-audit-admin", "guard"] as const;

/** The AKS cluster's name, `<env>-cluster`; the apps stack finds the cluster by it. */
export function aksClusterName(ctx: AzureContext): string {
  return ctx.name("cluster");
}

/** Sunday 03:00 UTC, four hours: the same quiet window as the AWS databases' maintenance. */
const WEEKLY_WINDOW: KubernetesClusterMaintenanceWindowAutoUpgrade = {
  frequency: "Weekly",
  interval: 1,
  duration: 4,
  dayOfWeek: "Sunday",
  startTime: "03:00",
  utcOffset: "+00:00",
};

/**
 * The AKS cluster of one environment.
 * - API server private (private cluster, AKS-managed private DNS zone) unless the spec sets
 *   `cluster.azure.privateCluster: false`; then public and restricted to exactly
 *   `publicAccessCidrs` (authorized IP ranges). AKS cannot combine a private cluster with
 *   authorized ranges, hence one or the other. Switching is a cluster replacement (see
 *   `isPrivateCluster`), so the spec names the mode instead of deriving it from the ranges.
 *   API Server VNet Integration is on (`api_server_access_profile`, the network's `apiserver`
 *   subnet, with Network Contributor on it for the control-plane identity before the cluster):
 *   KMS with the private vault needs it (see `secretsEncryption`). It lets AKS switch the mode in
 *   place, but azurerm still marks `private_cluster_enabled` ForceNew, so it does not spare the
 *   replacement here. On an existing cluster it is an in-place update (azurerm replaces only when
 *   `subnet_id` is removed: `ForceNewIfChange` at kubernetes_cluster_resource.go:83, v4.55.0);
 *   AKS then reimages every node pool, and it cannot be turned off (README, Upgrade guide).
 * - Kubernetes Secrets envelope-encrypted by KMS with the key `<env>-cluster-secrets` of the
 *   environment's vault, at its newest version (`secretsEncryption`); off only while the spec's
 *   `cluster.azure.waivers.secretsEncryption` converts an existing cluster in two applies
 *   (`secretsEncryptionWaived`).
 * - Entra ID authentication with Azure RBAC for Kubernetes; local accounts disabled, so there is
 *   no static admin kubeconfig to leak. Cluster admins are deterministic identities only: the
 *   Entra groups in `cluster.azure.adminGroupObjectIds` (AKS binds them to cluster-admin; the spec
 *   requires at least one on Azure, and whoever applies the apps stack by hand must be in one),
 *   and the Terraform Cloud run identity when there is one ("Azure Kubernetes Service RBAC Cluster
 *   Admin" on this cluster, `grantClusterAdmin`). Never "whoever runs Terraform": the assignment's
 *   `principal_id` forces replacement, so it would flip between people and runs on every apply.
 * - OIDC issuer and workload identity on: each app gets its own federated identity, no node-wide
 *   credentials.
 * - Azure CNI overlay powered by Cilium (eBPF dataplane and network policy): pods do not consume
 *   VNet addresses, and NetworkPolicy is enforced. Pod and service ranges are chosen outside the
 *   VNet; keep them free if you peer networks.
 * - Egress through the network's NAT gateway (`userAssignedNATGateway`), never a load balancer's
 *   outbound rules.
 * - A user-assigned control-plane identity with "Network Contributor" on the node subnet only
 *   (what AKS needs to join it and manage internal load balancers), created before the cluster.
 * - The system pool runs only critical add-ons (CriticalAddonsOnly taint), autoscaled across the
 *   zones with one node per zone minimum, on 4-vCPU nodes in production (Microsoft's guidance for
 *   system pools) and 2-vCPU nodes elsewhere. Each spec pool is its own autoscaling user pool
 *   from the neutral size table; spot pools use priority Spot, eviction Delete, capped at the
 *   on-demand price, with the spot label and taint AKS sets.
 * - Azure Linux node images; automatic upgrade channel `stable` and node images (`NodeImage`) in
 *   a weekly Sunday window. Because AKS moves the version on its own, Terraform ignores later
 *   version drift instead of trying to downgrade: the spec's `kubernetesVersion` is the version
 *   the cluster is created with.
 * - api-server, admin audit and Entra (guard) logs to a Log Analytics workspace kept
 *   `logRetentionDays` (30–730 days on Azure, a spec rule); `kube-audit-admin` leaves out
 *   get/list events, which are most of the volume and cost.
 * - SKU tier Standard (financially backed API server SLA) in production, Free elsewhere;
 *   `prevent_destroy` in production.
 * - Host-based encryption is off: it needs the EncryptionAtHost feature registered on the
 *   subscription first, which a fresh subscription does not have.
 */
export class AzureCluster extends Construct implements ICluster {
  readonly cluster: KubernetesCluster;
  readonly clusterName: string;
  readonly endpoint: string;
  /** The cluster's OIDC issuer: federated identity credentials trust tokens from it. */
  readonly oidcIssuerUrl: string;
  readonly serviceAccountIssuer: string;
  /** The environment's Log Analytics workspace (`<env>-cluster-logs`), kept `cluster.logRetentionDays`: the other resources' logs go there too. */
  readonly logWorkspace: LogAnalyticsWorkspace;
  readonly nodePools: KubernetesClusterNodePool[];
  /** `<env>-cluster`, as a literal (descriptions must not wait for the cluster). */
  private readonly name: string;

  constructor(scope: Construct, id: string, props: AzureClusterProps) {
    super(scope, id);
    const { ctx, network } = props;
    const env = ctx.env;
    const name = aksClusterName(ctx);
    this.name = name;
    const zones = Array.from({ length: env.network.zones }, (_, index) => String(index + 1));
    const publicCidrs = env.cluster.publicAccessCidrs;
    const isPrivate = isPrivateCluster(env);
    if (isPrivate === (publicCidrs.length > 0)) {
      throw new Error(`environment ${env.name}: a ${isPrivate ? "private" : "public"} AKS cluster with ${publicCidrs.length} public CIDRs (the spec check should have caught this)`);
    }
    const poolNames = nodePoolNames(ctx);

    const controlPlane = new UserAssignedIdentity(this, "control-plane-identity", {
      name: ctx.name("aks-control-plane"),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
    });
    const subnetAccess = new RoleAssignment(this, "control-plane-node-subnet", {
      scope: network.nodeSubnet.id,
      roleDefinitionName: AZURE_ROLES.networkContributor,
      principalId: controlPlane.principalId,
      principalType: "ServicePrincipal",
      description: `${name}: join the node subnet and manage internal load balancers`,
    });
    const apiServerSubnetAccess = new RoleAssignment(this, "control-plane-apiserver-subnet", {
      scope: network.apiServerSubnet.id,
      roleDefinitionName: AZURE_ROLES.networkContributor,
      principalId: controlPlane.principalId,
      principalType: "ServicePrincipal",
      description: `${name}: put the API server and its internal load balancer in the API server subnet`,
    });

    // Created before the cluster (its diagnostic setting after): the key vault sends its audit log here.
    this.logWorkspace = props.logWorkspace ?? environmentLogWorkspace(this, "control-plane-logs", ctx, ctx.name("cluster-logs"));
    const secrets = this.secretsEncryption(ctx, props.vault(this.logWorkspace.id), controlPlane);

    this.cluster = new KubernetesCluster(this, "Resource", {
      name,
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
      dnsPrefix: name,
      kubernetesVersion: env.cluster.kubernetesVersion,
      skuTier: env.production ? "Standard" : "Free",
      automaticUpgradeChannel: "stable",
      nodeOsUpgradeChannel: "NodeImage",
      maintenanceWindowAutoUpgrade: WEEKLY_WINDOW,
      maintenanceWindowNodeOs: WEEKLY_WINDOW,
      privateClusterEnabled: isPrivate,
      privateDnsZoneId: isPrivate ? "System" : undefined,
      apiServerAccessProfile: {
        virtualNetworkIntegrationEnabled: true,
        subnetId: network.apiServerSubnet.id,
        authorizedIpRanges: isPrivate ? undefined : publicCidrs,
      },
      // Off for one apply only while an existing cluster converts to VNet Integration (`secretsEncryptionWaived`).
      keyManagementService: secretsEncryptionWaived(env) ? undefined : { keyVaultKeyId: secrets.keyVersionId, keyVaultNetworkAccess: "Private" },
      localAccountDisabled: true,
      roleBasedAccessControlEnabled: true,
      azureActiveDirectoryRoleBasedAccessControl: {
        azureRbacEnabled: true,
        tenantId: ctx.tenantId,
        adminGroupObjectIds: env.cluster.azure?.adminGroupObjectIds ?? [],
      },
      oidcIssuerEnabled: true,
      workloadIdentityEnabled: true,
      identity: { type: "UserAssigned", identityIds: [controlPlane.id] },
      networkProfile: {
        networkPlugin: "azure",
        networkPluginMode: "overlay",
        networkDataPlane: "cilium",
        networkPolicy: "cilium",
        outboundType: "userAssignedNATGateway",
        loadBalancerSku: "standard",
        ...overlayRanges(env.network.cidr),
      },
      defaultNodePool: {
        name: SYSTEM_POOL_NAME,
        temporaryNameForRotation: `${SYSTEM_POOL_NAME}tmp`,
        vmSize: AZURE_NODE_VM_SIZES[env.production ? "medium" : "small"],
        onlyCriticalAddonsEnabled: true,
        autoScalingEnabled: true,
        minCount: zones.length,
        maxCount: zones.length * 2,
        zones,
        vnetSubnetId: network.nodeSubnet.id,
        osSku: "AzureLinux",
        orchestratorVersion: env.cluster.kubernetesVersion,
        upgradeSettings: { maxSurge: "33%" },
        nodeLabels: { "platform/pool": SYSTEM_POOL_NAME },
      },
      // The subnets' rules too: nodes must reach the API server, and the KMS plugin the vault, from the first boot.
      dependsOn: [
        subnetAccess,
        apiServerSubnetAccess,
        network.nodeEgress,
        network.nodeSecurity.association,
        network.apiServerSecurity.association,
        ...network.nodeSecurity.rules,
        ...network.apiServerSecurity.rules,
        ...network.privateEndpointSecurity.rules,
        ...secrets.dependsOn,
      ],
      lifecycle: {
        preventDestroy: env.production,
        ignoreChanges: ["kubernetes_version", "default_node_pool[0].orchestrator_version", "default_node_pool[0].node_count"],
      },
    });
    this.clusterName = this.cluster.name;
    this.endpoint = isPrivate ? this.cluster.privateFqdn : this.cluster.fqdn;
    this.oidcIssuerUrl = this.cluster.oidcIssuerUrl;
    this.serviceAccountIssuer = this.oidcIssuerUrl;

    this.controlPlaneLogs();
    this.nodePools = env.cluster.nodePools.map((pool, index) => this.nodePool(ctx, network, pool, poolNames[index], zones));
  }

  /**
   * "Azure Kubernetes Service RBAC Cluster Admin" on this cluster for a service principal (the
   * Terraform Cloud run identity, which installs the apps stack's releases).
   */
  grantClusterAdmin(id: string, principalId: string, who: string): RoleAssignment {
    return new RoleAssignment(this, id, {
      scope: this.cluster.id,
      roleDefinitionName: AZURE_ROLES.kubernetesClusterAdmin,
      principalId,
      // A new managed identity may not have replicated in Entra ID yet; the type skips that lookup.
      principalType: "ServicePrincipal",
      description: `${this.name}: ${who} installs the platform's releases`,
    });
  }

  private controlPlaneLogs(): void {
    new MonitorDiagnosticSetting(this, "control-plane-diagnostics", {
      name: "control-plane-logs",
      targetResourceId: this.cluster.id,
      logAnalyticsWorkspaceId: this.logWorkspace.id,
      logAnalyticsDestinationType: "Dedicated",
      enabledLog: CONTROL_PLANE_LOG_CATEGORIES.map((category) => ({ category })),
    });
  }

  /**
   * KMS etcd encryption (Microsoft Learn, "Add KMS etcd encryption to an AKS cluster",
   * MicrosoftDocs/azure-aks-docs articles/aks/use-kms-etcd-encryption.md at fb060ab, private key
   * vault): the key `<env>-cluster-secrets` in the environment's vault (`AzureKeyVault.addKey`,
   * rotating like every key), and for the control-plane identity, which the KMS plugin acts as
   * (a user-assigned identity: KMS does not work with a system-assigned one):
   * - "Key Vault Crypto User" on that key alone (the doc assigns it on the vault; the key is the
   *   narrowest scope Azure RBAC takes), to encrypt and decrypt the data keys;
   * - "Key Vault Contributor" on the vault: with a private vault AKS creates its own private
   *   endpoint to it and approves the connection, which the doc says needs that role ("Assign
   *   permissions to create a private link"). It manages the vault through ARM (its network
   *   rules, private endpoint connections, deletion, which soft delete and purge protection make
   *   recoverable) but grants no data-plane access in an RBAC vault: it cannot read a secret or
   *   use a key. Held by AKS's control-plane identity only.
   * Both before the cluster. azurerm requires a versioned key id (`key_vault_key_id` validates with
   * keyVaultValidate.NestedItemId, which refuses an id without version: internal/services/
   * keyvault/parse/nested_item.go `ParseNestedItemID` at v4.55.0) and AKS does not follow new
   * versions by itself, so the id is the key's `properties.keyUriWithVersion` as ARM returns it
   * (`AzureKeyVaultKey.versionedId`): every refresh after a rotation reads the newest version, and
   * the apply moves the cluster to it in place (`key_management_service` is not ForceNew). With
   * `Private` network access azurerm looks the vault up from the key's URL through ARM
   * (`expandKubernetesClusterAzureKeyVaultKms`), never the vault's data plane.
   */
  private secretsEncryption(ctx: AzureContext, vault: AzureKeyVault, controlPlane: UserAssignedIdentity): { keyVersionId: string; dependsOn: ITerraformDependable[] } {
    const key = vault.addKey(this, "secrets-key", ctx.name(CLUSTER_SECRETS_KEY_PURPOSE), { exportVersion: true, rotation: CLUSTER_KEY_ROTATION });
    const keyAccess = new RoleAssignment(this, "control-plane-secrets-key", {
      scope: key.armId,
      roleDefinitionName: AZURE_ROLES.keyVaultCryptoUser,
      principalId: controlPlane.principalId,
      principalType: "ServicePrincipal",
      description: `${this.name}: encrypt Kubernetes Secrets with key ${key.name} (KMS)`,
    });
    const privateLink = new RoleAssignment(this, "control-plane-key-vault-link", {
      scope: vault.vault.id,
      roleDefinitionName: AZURE_ROLES.keyVaultContributor,
      principalId: controlPlane.principalId,
      principalType: "ServicePrincipal",
      description: `${this.name}: connect the KMS plugin to the private key vault (AKS's private endpoint)`,
    });
    if (key.versionedId === undefined) throw new Error(`key ${key.name} was created without its version exported`);
    return { keyVersionId: key.versionedId, dependsOn: [key.resource, keyAccess, privateLink, ...vault.privateAccess] };
  }

  private nodePool(ctx: AzureContext, network: AzureNetwork, pool: NodePoolSpec, poolName: string, zones: string[]): KubernetesClusterNodePool {
    const spot = pool.spot;
    return new KubernetesClusterNodePool(this, `${pool.name}-nodes`, {
      name: poolName,
      kubernetesClusterId: this.cluster.id,
      mode: "User",
      vmSize: pool.azure?.vmSize ?? AZURE_NODE_VM_SIZES[pool.size],
      autoScalingEnabled: true,
      minCount: pool.minNodes,
      maxCount: pool.maxNodes,
      zones,
      vnetSubnetId: network.nodeSubnet.id,
      osSku: "AzureLinux",
      osDiskType: "Managed",
      osDiskSizeGb: pool.diskGiB,
      orchestratorVersion: ctx.env.cluster.kubernetesVersion,
      temporaryNameForRotation: `${poolName.slice(0, 9)}tmp`,
      priority: spot ? "Spot" : "Regular",
      evictionPolicy: spot ? "Delete" : undefined,
      // -1: pay up to the on-demand price, so nodes are evicted for capacity, never for price.
      spotMaxPrice: spot ? -1 : undefined,
      nodeLabels: {
        "platform/pool": pool.name,
        "platform/capacity": spot ? "spot" : "on-demand",
        ...(spot ? { [AKS_SPOT_TAINT.key]: AKS_SPOT_TAINT.value } : {}),
      },
      nodeTaints: spot ? [`${AKS_SPOT_TAINT.key}=${AKS_SPOT_TAINT.value}:${AKS_SPOT_TAINT.effect}`] : undefined,
      // Spot pools cannot surge; regular pools replace a third of their nodes at a time.
      upgradeSettings: spot ? undefined : { maxSurge: "33%" },
      // The cluster autoscaler owns the size and AKS's upgrade channel owns the version.
      lifecycle: { ignoreChanges: ["node_count", "orchestrator_version"] },
    });
  }
}

/**
 * AKS pool names: lowercase letters and digits, at most 12, unique, and not the system pool's.
 * Spec names may hold '-', so it is dropped; a clash after that is a spec error.
 */
function nodePoolNames(ctx: AzureContext): string[] {
  const taken = new Set<string>([SYSTEM_POOL_NAME]);
  return ctx.env.cluster.nodePools.map((pool, index) => {
    const name = aksPoolName(pool.name);
    if (taken.has(name)) throw new Error(`pool ${index} of ${ctx.env.name} has no AKS name (the spec check azureSpecProblems should have caught this)`);
    taken.add(name);
    return name;
  });
}
