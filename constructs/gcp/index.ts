import { Construct } from "constructs";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import type { WorkloadName } from "../core/apps";
import {
  ownHandle,
  type CloudPlatform,
  type ICluster,
  type INetwork,
  type NetworkOptions,
  type IWorkloadIdentity,
  type ResourceTypeMap,
  type TerraformCloudAgentTarget,
  type TerraformCloudTarget,
  type VpnRemote,
} from "../core/interfaces";
import type { BucketSpec, DatabaseSpec, Environment } from "../core/spec";
import { GcpApis } from "./apis";
import { GcpAuditLogs } from "./audit-logs";
import { GcpBucket } from "./bucket";
import { GcpCluster } from "./cluster";
import { GcpClusterServices } from "./cluster-services";
import { GcpContext } from "./context";
import { GcpDatabase } from "./database";
import { GcpDnsZone } from "./dns";
import { GcpKeys, projectData } from "./kms";
import { GcpClusterTrust, GcpFederatedIdentity, GcpWorkloadIdentity } from "./identity";
import { GcpNetwork } from "./network";
import { GcpTerraformCloudTrust } from "./terraform-cloud";
import { GcpTerraformCloudAgent } from "./terraform-cloud-agent";
import { grantUserSecretsRead } from "./user-secrets";
import { GcpVpnGateway } from "./vpn-gateway";

/**
 * The GCP implementation of the platform. It configures the google provider for the
 * environment's project and region, with the environment's tags as `default_labels` (sanitized
 * to GCP's label rules, see `gcpLabels`) so every labelable resource carries them without
 * repeating them per resource; the random provider generates database passwords and the
 * suffixes of Cloud SQL instance names. The Google APIs the environment uses are enabled first
 * (`google_project_service`), so a fresh project works on the first apply.
 *
 * The constructor adds the providers and nothing else: the `<env>-apps` stack builds the
 * platform too, only for `clusterServices()`, and must hold no infra resource. The APIs are
 * enabled by the first infra method that needs one (see `GcpApis`), under the same construct
 * ids, so the infra stack's Terraform addresses do not depend on this.
 */
export class GcpPlatform extends Construct implements CloudPlatform {
  readonly cloud = "gcp";
  readonly ctx: GcpContext;

  constructor(scope: Construct, id: string, env: Environment) {
    super(scope, id);
    const account = env.accounts.gcp;
    if (!account) throw new Error(`environment ${env.name} has no GCP project (the spec check should have caught this)`);
    const apis = new GcpApis(this, "apis", account.projectId, env.cloud === this.cloud);
    this.ctx = new GcpContext(env, apis);
    const provider = new GoogleProvider(scope, "google", { project: this.ctx.projectId, region: this.ctx.region });
    // Set as a raw override: cdktn snake-cases the keys of provider arguments, which would
    // turn the label `cost-centre` into `cost_centre`.
    provider.addOverride("default_labels", { ...this.ctx.labels });
    new RandomProvider(scope, "random");
  }

  network(options?: NetworkOptions): GcpNetwork {
    // Audit and flow logs belong to every environment's infra, made with its first resource.
    this.auditTrail();
    return new GcpNetwork(this, "network", { ctx: this.ctx, fixedEgress: options?.fixedEgress ?? false });
  }

  private auditLogs?: GcpAuditLogs;

  /**
   * The project's Data Access audit logs (object writes of every bucket among them) and the log
   * bucket keeping them: with the network at home, on their own in `<env>-infra-gcp`.
   */
  auditTrail(): void {
    // Without a cluster, only the services the stack uses: storage and its keys.
    this.auditLogs ??= new GcpAuditLogs(this, "audit-logs", this.ctx, this.ctx.env.cloud === this.cloud ? undefined : ["storage.googleapis.com", "cloudkms.googleapis.com"]);
  }

  cluster(network: INetwork): GcpCluster {
    return new GcpCluster(this, "cluster", { ctx: this.ctx, network: ownHandle(network, GcpNetwork, "GCP", "network"), keys: this.keys() });
  }

  private keyRing?: GcpKeys;

  /** The environment's Cloud KMS keys, made on first use (the apps stack never asks). */
  private keys(): GcpKeys {
    this.keyRing ??= new GcpKeys(this, "keys", this.ctx, projectData(this, this.ctx));
    return this.keyRing;
  }

  bucket(spec: BucketSpec): GcpBucket {
    return new GcpBucket(this, `bucket-${spec.name}`, { ctx: this.ctx, spec, keys: this.keys() });
  }

  database(spec: DatabaseSpec, network: INetwork, cluster: ICluster): GcpDatabase {
    // Cloud SQL is reached over the VPC (private service access); it needs no cluster handle,
    // but a GCP cluster is still required so a mixed-cloud call fails here, not at apply time.
    ownHandle(cluster, GcpCluster, "GCP", "cluster");
    return new GcpDatabase(this, `database-${spec.name}`, { ctx: this.ctx, spec, network: ownHandle(network, GcpNetwork, "GCP", "network"), keys: this.keys() });
  }

  /**
   * The cluster network's side of the VPN to the network holding databases on another cloud
   * (`GcpVpnGateway`). The nodes need no firewall rule for it: a VPC allows all egress unless a
   * rule denies it, and the replies are allowed as established connections.
   */
  vpnGateway(network: INetwork, remote: VpnRemote): GcpVpnGateway {
    return new GcpVpnGateway(this, "vpn-gateway", { ctx: this.ctx, network: ownHandle(network, GcpNetwork, "GCP", "network"), remote });
  }

  private clusterTrust?: GcpClusterTrust;

  /**
   * On another cloud's cluster (docs/design/cross-cloud.md): `app`'s principals in the pool that
   * trusts that cluster's issuer (`GcpClusterTrust`, created with the first app).
   */
  federatedWorkloadIdentity(app: WorkloadName, issuer: string): GcpFederatedIdentity {
    this.clusterTrust ??= new GcpClusterTrust(this, "cluster-trust", this.ctx, issuer);
    return new GcpFederatedIdentity(this, `identity-${app}`, this.ctx, this.clusterTrust, projectData(this, this.ctx), app);
  }

  workloadIdentity(app: WorkloadName, cluster: ICluster): GcpWorkloadIdentity {
    return new GcpWorkloadIdentity(this, `identity-${app}`, this.ctx, ownHandle(cluster, GcpCluster, "GCP", "cluster"), app);
  }

  /** `secretAccessor` on the project, conditioned on the named secrets (see `userSecretsCondition`). */
  grantUserSecretsRead(identity: IWorkloadIdentity, names: readonly string[]): void {
    grantUserSecretsRead(this, this.ctx, identity, names);
  }

  dnsZone(zoneName: string): GcpDnsZone {
    return new GcpDnsZone(this, "dns-zone", this.ctx, zoneName);
  }

  /**
   * The workload identity pool, provider and run service account that let the target's
   * Terraform Cloud workspaces apply this environment without a key (see `GcpTerraformCloudTrust`).
   */
  terraformCloudTrust(target: TerraformCloudTarget): GcpTerraformCloudTrust {
    return new GcpTerraformCloudTrust(this, "terraform-cloud-trust", this.ctx, target);
  }

  /** Agent VMs in the GKE node subnet, whose primary range reaches the private control plane. */
  terraformCloudAgent(target: TerraformCloudAgentTarget, network: INetwork, cluster: ICluster): GcpTerraformCloudAgent {
    ownHandle(cluster, GcpCluster, "GCP", "cluster");
    return new GcpTerraformCloudAgent(this, "terraform-cloud-agent", { ctx: this.ctx, target, network: ownHandle(network, GcpNetwork, "GCP", "network") });
  }

  /** Data sources and deterministic names only; needs neither `network()` nor `cluster()`. */
  clusterServices(): GcpClusterServices {
    return new GcpClusterServices(this, "cluster-services", this.ctx);
  }
}

/** The Terraform resource types behind each neutral concept on GCP (checked by the parity test). */
export const GCP_RESOURCE_TYPES: ResourceTypeMap = {
  network: ["google_compute_network", "google_compute_subnetwork", "google_compute_global_address", "google_service_networking_connection"],
  egress: ["google_compute_router", "google_compute_router_nat"],
  cluster: ["google_container_cluster", "google_logging_project_bucket_config", "google_logging_project_sink", "google_project_iam_audit_config"],
  nodePool: ["google_container_node_pool", "google_service_account", "google_project_iam_member"],
  bucket: ["google_storage_bucket"],
  database: ["google_sql_database_instance", "google_sql_user", "random_id"],
  identity: ["google_service_account", "google_service_account_iam_member", "google_storage_bucket_iam_member"],
  secrets: ["google_secret_manager_secret", "google_secret_manager_secret_version", "random_password"],
  // Cloud KMS keys (service agents' addresses from `data.google_project`'s number).
  encryptionKey: ["google_kms_key_ring", "google_kms_crypto_key", "google_kms_crypto_key_iam_member"],
};

/**
 * Google Cloud resource types that hold data, each with what is lost when Terraform destroys or
 * replaces it (see AWS_STATEFUL_TYPES).
 */
export const GCP_STATEFUL_TYPES: Readonly<Record<string, string>> = {
  google_sql_database_instance: "the database and its backups",
  google_storage_bucket: "every object in the bucket",
  google_container_cluster: "every Kubernetes object in the cluster, and the claims that bind its volumes",
  google_secret_manager_secret: "every version of the secret's value",
  google_dns_managed_zone: "the zone's records, and its name servers: the parent's delegation breaks",
  google_logging_project_bucket_config: "the logs in the bucket",
  google_kms_crypto_key: "the key: data encrypted with it cannot be decrypted once it is destroyed",
  google_kms_key_ring: "the key ring's keys",
  google_compute_disk: "the disk's data",
  google_compute_address:
    "the reserved egress address another cloud's storage firewall admits: a new one is refused there until that storage's stack applies it; with no app on a bucket there any more, Google's allocated addresses take over",
};
export { gcpSpecProblems } from "./spec-problems";
export { gcpForeignBuckets } from "./cluster-services";
