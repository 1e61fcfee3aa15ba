import { Construct } from "constructs";
import { ContainerCluster } from "@cdktf/provider-google/lib/container-cluster";
import { ContainerNodePool } from "@cdktf/provider-google/lib/container-node-pool";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { LoggingProjectBucketConfig } from "@cdktf/provider-google/lib/logging-project-bucket-config";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { BinaryAuthorizationPolicy } from "@cdktf/provider-google/lib/binary-authorization-policy";
import type { ICluster, NodeTaint } from "../core/interfaces";
import type { NodePoolSpec } from "../core/spec";
import type { GcpContext } from "./context";
import type { GcpKeys } from "./kms";
import { gkeIssuer, gkeLocation, gkeName, MAX_PODS_PER_NODE, podRangeProblem, POD_RANGE_NAME, SERVICE_RANGE_NAME } from "./facts";
import type { GcpNetwork } from "./network";
import { GCP_NODE_MACHINE_TYPES } from "./sizes";

/**
 * The taint on spot node pools: the one Google documents for keeping workloads off Spot VMs
 * (GKE itself only labels them `cloud.google.com/gke-spot: "true"`).
 */
export const GKE_SPOT_TAINT: NodeTaint = { key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" };

/**
 * The least-privilege roles of the node service account: what GKE's logging, monitoring and
 * metadata agents and image pulls need, and nothing else (never the Compute Engine default
 * account, which holds Editor on the project). GKE now asks node accounts to hold
 * `roles/container.defaultNodeServiceAccount` (GKE docs, "Use least privilege service accounts for
 * your nodes"; without it the console flags the cluster and the HPA performance profile fails);
 * the older roles stay, as their grants are not all inside it (image pulls).
 */
export const NODE_SERVICE_ACCOUNT_ROLES = [
  "roles/container.defaultNodeServiceAccount",
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
  "roles/stackdriver.resourceMetadata.writer",
  "roles/artifactregistry.reader",
] as const;

/**
 * The hardening every node gets, the real pools' and the transient default pool's alike: the
 * platform's node service account (never the Compute Engine default account, which typically
 * holds Editor on the project) with access through its IAM roles rather than legacy scopes, the
 * GKE metadata server only (pods cannot read node credentials), secure boot and integrity
 * monitoring, no legacy metadata endpoints, COS with containerd.
 */
function hardenedNodeConfig(serviceAccount: string) {
  return {
    imageType: "COS_CONTAINERD",
    serviceAccount,
    oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
    workloadMetadataConfig: { mode: "GKE_METADATA" },
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    metadata: { "disable-legacy-endpoints": "true" },
  };
}

/**
 * Why the cluster ignores changes to its own `node_config` (hashicorp/terraform-provider-google
 * v6.50.0, google/services/container/):
 * - the block only configures the default node pool, which `remove_default_node_pool` deletes
 *   right after the cluster is created (resource_container_cluster.go, lines 2806-2825);
 * - afterwards the API reports the first remaining pool's configuration as the cluster's
 *   `nodeConfig` (GKE API `Cluster.nodeConfig`), read back into state (line 3156), so the block
 *   no longer describes anything Terraform manages;
 * - a difference would replace the cluster: `node_config` and its `service_account`,
 *   `oauth_scopes`, `metadata`, `shielded_instance_config`, `spot`, ... are ForceNew
 *   (node_config.go: schemaNodeConfig, lines 136-145, 366-398, 440-455, 470-495); the others would
 *   be updated on the deleted `default-pool` (resource_container_cluster.go, lines 4164-4175;
 *   node_config.go nodePoolNodeConfigUpdate from line 2438) and fail.
 * So existing clusters, created before the block was set, keep their cluster; the block acts at
 * creation only. (Not `node_pool_defaults` or `node_pool_auto_config`: they cannot set the
 * default pool's service account, and the cluster has no auto-provisioned pools.)
 */
export const CLUSTER_IGNORED_CHANGES = ["node_config"] as const;

/** The GKE cluster name of an environment; the apps stack looks the cluster up by it. */
export function gkeClusterName(ctx: GcpContext): string {
  return gkeName(ctx.env);
}

/** Where the cluster is (`gkeLocation`: the region in production, zone 0 elsewhere). */
export function gkeClusterLocation(ctx: GcpContext): string {
  return gkeLocation(ctx.env);
}

export interface GcpClusterProps {
  readonly ctx: GcpContext;
  readonly network: GcpNetwork;
  /** The environment's keys: the cluster encrypts Kubernetes Secrets with its `gke-secrets` key. */
  readonly keys: GcpKeys;
}

/**
 * The project's Binary Authorization policy (one per project: applying it replaces whatever
 * policy the project had), in dry run: Google's own system images are admitted by the global
 * policy (`global_policy_evaluation_mode = ENABLE`), and every other image is judged by a
 * default rule that would deny it but only writes an audit log entry
 * (`DRYRUN_AUDIT_LOG_ONLY`; Binary Authorization docs, "Dry-run mode"). Not enforcing: the
 * charts pull from a dozen registries (Docker Hub, quay.io, ghcr.io, registry.k8s.io, Apache's and
 * Acryl's images), by tag rather than digest, and an allowlist by registry would admit anything
 * else published there. The audit log names every image the cluster runs, which is what an
 * enforcing allowlist (or attestation) needs; README, "GCP defaults", records the reason.
 */
function imageAdmissionPolicy(scope: Construct, ctx: GcpContext): BinaryAuthorizationPolicy {
  return new BinaryAuthorizationPolicy(scope, "image-admission", {
    project: ctx.projectId,
    description: `${ctx.env.name}: dry run; every non-Google image is logged as it would be denied`,
    globalPolicyEvaluationMode: "ENABLE",
    defaultAdmissionRule: { evaluationMode: "ALWAYS_DENY", enforcementMode: "DRYRUN_AUDIT_LOG_ONLY" },
    dependsOn: ctx.apis.needed("binaryAuthorization"),
  });
}

/**
 * The GKE Standard cluster of one environment.
 * - Regional (control plane and nodes in every zone of the spec) in production; zonal outside
 *   it, with nodes still spread over the spec's zones: a zonal cluster costs less (GKE's free
 *   tier credit covers one per billing account) and its API is only briefly unavailable during
 *   control-plane upgrades, which only production cannot accept.
 * - Private nodes (no public IPs; egress through Cloud NAT). The API has a private endpoint
 *   only when `cluster.publicAccessCidrs` is empty; otherwise the public endpoint admits those
 *   CIDRs alone (master authorized networks; Google Cloud's own public ranges are not let in).
 *   The control plane reaches the nodes over Private Service Connect, so no master range is
 *   reserved.
 * - Workload Identity (`<project>.svc.id.goog`): pods get their own service account, never the
 *   node's; nodes run the GKE metadata server (GKE_METADATA) so pods cannot read node credentials.
 * - REGULAR release channel: Google-tested versions with automatic upgrades, starting from the
 *   spec's Kubernetes version, in a nightly maintenance window (03:00 UTC).
 * - Shielded nodes (secure boot, integrity monitoring) and Dataplane V2 (eBPF, with network
 *   policy enforcement built in).
 * - Kubernetes Secrets encrypted in etcd with a customer-managed Cloud KMS key (`GcpKeys`,
 *   rotated every 90 days), which GKE's service agent alone may use.
 * - Binary Authorization evaluates every image against the project policy, in dry run
 *   (`imageAdmissionPolicy`).
 * - Deletion protection always (a destroy must first be allowed by an apply), `prevent_destroy`
 *   in production.
 * - The default node pool is removed: every pool is a separately managed `google_container_node_pool`.
 *   GKE cannot create a cluster without one, so for the minutes it exists it runs with the same
 *   hardening and node service account as the real pools (`node_config`, creation only).
 * - VPC-native: pod and service addresses from the subnet's secondary ranges.
 * - API server, system and workload logs; control-plane logs (API server and the Kubernetes
 *   audit trail) are also routed to a log bucket kept `cluster.logRetentionDays` (Cloud Logging's
 *   `_Default` bucket keeps 30 days, and Admin Activity audit logs stay 400 days in `_Required`).
 * - Node pools autoscale between the spec's total `minNodes` and `maxNodes` over all zones, use
 *   a dedicated least-privilege service account, pd-balanced boot disks of `diskGiB`, COS with
 *   containerd, and are auto-repaired and auto-upgraded.
 */
export class GcpCluster extends Construct implements ICluster {
  readonly cluster: ContainerCluster;
  readonly nodePools: ContainerNodePool[];
  readonly nodeServiceAccount: ServiceAccount;
  readonly clusterName: string;
  readonly endpoint: string;
  readonly serviceAccountIssuer: string;
  /** The region (production) or zone the cluster and its node pools are created in. */
  readonly location: string;

  constructor(scope: Construct, id: string, props: GcpClusterProps) {
    super(scope, id);
    const { ctx, network } = props;
    const env = ctx.env;
    const name = gkeClusterName(ctx);
    checkPodRangeCapacity(ctx, network);

    this.nodeServiceAccount = new ServiceAccount(this, "node-service-account", {
      accountId: ctx.serviceAccountId("gke-nodes"),
      displayName: `${env.name} GKE nodes`,
      description: `${env.name}: identity of the GKE nodes (logs, metrics, image pulls); workloads use their own`,
      dependsOn: ctx.apis.needed("iam"),
    });
    const nodeRoles = NODE_SERVICE_ACCOUNT_ROLES.map(
      (role) =>
        new ProjectIamMember(this, `node-service-account-${role.replace("roles/", "").replace(/\./g, "-")}`, {
          project: ctx.projectId,
          role,
          member: this.nodeServiceAccount.member,
          dependsOn: ctx.apis.needed("resourceManager"),
        }),
    );

    const regional = env.production;
    this.location = gkeClusterLocation(ctx);
    const publicCidrs = env.cluster.publicAccessCidrs;
    const secretsKey = props.keys.key("gke-secrets");
    const admission = imageAdmissionPolicy(this, ctx);
    this.cluster = new ContainerCluster(this, "Resource", {
      name,
      description: `${env.name}: data platform cluster`,
      location: this.location,
      // A zonal cluster lists only its additional zones; a regional one lists all of them.
      nodeLocations: regional ? [...ctx.zones] : ctx.zones.slice(1),
      network: network.network.id,
      subnetwork: network.subnetwork.id,
      networkingMode: "VPC_NATIVE",
      ipAllocationPolicy: {
        clusterSecondaryRangeName: POD_RANGE_NAME,
        servicesSecondaryRangeName: SERVICE_RANGE_NAME,
        stackType: "IPV4",
      },
      defaultMaxPodsPerNode: MAX_PODS_PER_NODE,
      privateClusterConfig: {
        enablePrivateNodes: true,
        enablePrivateEndpoint: publicCidrs.length === 0,
      },
      // Always present: GKE requires authorized networks with a private endpoint, and with a
      // public one it is what limits it to the listed CIDRs.
      masterAuthorizedNetworksConfig: {
        gcpPublicCidrsAccessEnabled: false,
        cidrBlocks: publicCidrs.map((cidrBlock) => ({ cidrBlock, displayName: "spec cluster.publicAccessCidrs" })),
      },
      workloadIdentityConfig: { workloadPool: ctx.workloadPool },
      releaseChannel: { channel: "REGULAR" },
      minMasterVersion: env.cluster.kubernetesVersion,
      maintenancePolicy: { dailyMaintenanceWindow: { startTime: "03:00" } },
      enableShieldedNodes: true,
      datapathProvider: "ADVANCED_DATAPATH",
      loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"] },
      deletionProtection: true,
      // Kubernetes Secrets encrypted in etcd with the environment's key (application-layer
      // Secrets encryption). Changed in place on an existing cluster: google v6.50.0
      // google/services/container/resource_container_cluster.go has no ForceNew on the block
      // (line 1965) and updates it with DesiredDatabaseEncryption (line 4282).
      databaseEncryption: { state: "ENCRYPTED", keyName: secretsKey.key.id },
      // Every pod's images are evaluated against the project's Binary Authorization policy
      // (`imageAdmissionPolicy`, dry run). In place on an existing cluster: google v6.50.0
      // resource_container_cluster.go updates it with DesiredBinaryAuthorization (line 3457).
      binaryAuthorization: { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" },
      // The default pool lives only while the cluster is created, but runs hardened as the
      // platform's node service account meanwhile; see CLUSTER_IGNORED_CHANGES.
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      nodeConfig: hardenedNodeConfig(this.nodeServiceAccount.email),
      lifecycle: { preventDestroy: env.production, ignoreChanges: [...CLUSTER_IGNORED_CHANGES] },
      // Its nodes log and pull images with the node account's roles from their first minute.
      // GKE's service agent must hold the key before the cluster is created or switched to it.
      dependsOn: [...ctx.apis.needed("container"), ...nodeRoles, secretsKey.grant, admission],
    });
    this.clusterName = this.cluster.name;
    this.endpoint = this.cluster.endpoint;
    this.serviceAccountIssuer = gkeIssuer(env);

    this.controlPlaneLogs(ctx, name);
    this.nodePools = env.cluster.nodePools.map((pool) => this.nodePool(ctx, pool, nodeRoles));
  }

  private controlPlaneLogs(ctx: GcpContext, clusterName: string): void {
    const bucket = new LoggingProjectBucketConfig(this, "control-plane-log-bucket", {
      project: ctx.projectId,
      location: ctx.region,
      bucketId: ctx.name("gke-control-plane"),
      description: `${ctx.env.name}: GKE API server and audit logs of ${clusterName}`,
      retentionDays: ctx.env.cluster.logRetentionDays,
      dependsOn: ctx.apis.needed("logging"),
    });
    // A sink into a log bucket of the same project needs no IAM grant for its writer identity.
    new LoggingProjectSink(this, "control-plane-log-sink", {
      project: ctx.projectId,
      name: ctx.name("gke-control-plane"),
      description: `${ctx.env.name}: keeps the control-plane logs of ${clusterName} for cluster.logRetentionDays`,
      destination: `logging.googleapis.com/${bucket.id}`,
      // k8s_cluster: Kubernetes audit logs; k8s_control_plane_component: API server logs.
      filter: `resource.type=("k8s_cluster" OR "k8s_control_plane_component") AND resource.labels.cluster_name="${clusterName}"`,
      uniqueWriterIdentity: true,
    });
  }

  private nodePool(ctx: GcpContext, pool: NodePoolSpec, nodeRoles: ProjectIamMember[]): ContainerNodePool {
    const zoneCount = ctx.zones.length;
    return new ContainerNodePool(this, `${pool.name}-nodes`, {
      name: pool.name,
      cluster: this.cluster.name,
      location: this.location,
      // Per zone; the autoscaler owns the size afterwards (see ignoreChanges).
      initialNodeCount: Math.ceil(Math.max(pool.minNodes, 1) / zoneCount),
      autoscaling: {
        // Totals over all zones, so minNodes/maxNodes mean what they mean on AWS.
        totalMinNodeCount: pool.minNodes,
        totalMaxNodeCount: pool.maxNodes,
        // Spot capacity is found wherever it is; on-demand nodes stay balanced over the zones.
        locationPolicy: pool.spot ? "ANY" : "BALANCED",
      },
      management: { autoRepair: true, autoUpgrade: true },
      upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
      nodeConfig: {
        machineType: pool.gcp?.machineType ?? GCP_NODE_MACHINE_TYPES[pool.size],
        spot: pool.spot,
        diskType: "pd-balanced",
        diskSizeGb: pool.diskGiB,
        ...hardenedNodeConfig(this.nodeServiceAccount.email),
        labels: { "platform/pool": pool.name, "platform/capacity": pool.spot ? "spot" : "on-demand" },
        taint: pool.spot ? [{ key: GKE_SPOT_TAINT.key, value: GKE_SPOT_TAINT.value, effect: "NO_SCHEDULE" }] : undefined,
      },
      // initial_node_count forces a new pool when changed; it only matters at creation.
      lifecycle: { ignoreChanges: ["initial_node_count"] },
      dependsOn: nodeRoles,
    });
  }
}

function checkPodRangeCapacity(ctx: GcpContext, network: GcpNetwork): void {
  if (podRangeProblem(ctx.env, network.addresses, ctx.zones.length) !== undefined) {
    throw new Error(`the node pools of ${ctx.env.name} do not fit the pod range (the spec check gcpSpecProblems should have caught this)`);
  }
}
