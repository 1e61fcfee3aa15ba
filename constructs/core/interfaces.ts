/**
 * The neutral handles every cloud returns and every app consumes. App constructs know only these
 * interfaces; nothing outside `constructs/<cloud>/` knows which cloud is behind them.
 */
import type { WorkloadName } from "./apps";
import type { AppBucket, PodCredentials } from "../apps/types";
import type { Cloud, BucketSpec, DatabaseSpec } from "./spec";

export interface INetwork {
  /** The cloud's id of the network (VPC id, VNet id, network self link). */
  readonly networkId: string;
  /**
   * The public IPv4 addresses the cluster reaches the Internet from (its NAT's), for the firewall
   * of storage on another cloud; absent where the cloud allocates them on demand (GCP's Cloud NAT
   * `AUTO_ONLY`).
   */
  readonly egressAddresses?: readonly string[];
}

export interface ICluster {
  readonly clusterName: string;
  /** The Kubernetes API endpoint (private unless the spec allows public CIDRs). */
  readonly endpoint: string;
  /** The issuer of its service-account tokens (OIDC), which identities on another cloud trust. */
  readonly serviceAccountIssuer: string;
}

/**
 * A cloud identity bound to its workload's Kubernetes service account (and, for an app, its
 * untrusted account where that needs it: `identitySubjects`), by exact name, with no static keys.
 */
export interface IWorkloadIdentity {
  readonly workload: WorkloadName;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Annotations the service account needs so its pods receive the cloud identity. */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  /**
   * The generated id the pods of a cluster on another cloud name to act as this identity, where
   * the cloud has one (Azure's client id; `identityClientIdCrossing`).
   */
  readonly clientId?: string;
}

export interface IBucket {
  readonly spec: BucketSpec;
  /** The cloud's name of the bucket (S3 bucket, ADLS container, GCS bucket). */
  readonly bucketName: string;
  /** URL apps use for it: `s3://`, `abfss://` or `gs://`. */
  readonly url: string;
  /** Lets the identity list, read, write and delete objects in this bucket and nothing else. */
  grantReadWrite(identity: IWorkloadIdentity): void;
  /** Lets the identity list and read objects in this bucket and nothing else. */
  grantRead(identity: IWorkloadIdentity): void;
}

export interface IDatabase {
  readonly spec: DatabaseSpec;
  /** Private DNS name of the primary. */
  readonly host: string;
  readonly port: number;
  /** Where the generated administrator credential is kept (a secret ARN, vault URI or id). */
  readonly adminSecretRef: string;
  /** Lets the identity read the administrator credential (External Secrets, for bootstrap jobs). */
  grantAdminSecretRead(identity: IWorkloadIdentity): void;
}

/** A public DNS zone the platform manages records in (external-dns). */
export interface IDnsZone {
  readonly zoneName: string;
  /** Name servers to delegate the zone to from its parent. */
  readonly nameServers: string;
  /** Lets the identity create, change and delete records in this zone only. */
  grantRecordsWrite(identity: IWorkloadIdentity): void;
}

/**
 * One cloud's implementation of the platform for one environment. `platformFor()` picks it;
 * each method adds the cloud's native resources under the scope it was created with.
 */
export interface CloudPlatform {
  readonly cloud: Cloud;
  network(): INetwork;
  cluster(network: INetwork): ICluster;
  bucket(spec: BucketSpec): IBucket;
  database(spec: DatabaseSpec, network: INetwork, cluster: ICluster): IDatabase;
  workloadIdentity(app: WorkloadName, cluster: ICluster): IWorkloadIdentity;
  /**
   * The identity of `app` on this cloud when its cluster runs on another one, trusting that
   * cluster's service-account token issuer `issuer` for the app's exact service accounts, with no
   * stored key (docs/design/cross-cloud.md). Absent on a cloud where this is not built yet.
   */
  federatedWorkloadIdentity?(app: WorkloadName, issuer: string): IWorkloadIdentity;
  /**
   * Where this cloud's storage serves another cloud's cluster over its public endpoint with a
   * firewall: the only addresses it admits (the cluster's NAT, `clusterEgressCrossing`). Called
   * before `bucket()` in `<env>-infra-<cloud>`.
   */
  admitClusterEgress?(addresses: readonly string[]): void;
  /** The public zone of `dns.zone`, for external-dns. */
  dnsZone(zoneName: string): IDnsZone;
  /**
   * Lets the identity read the secrets the USER created in the cloud's secret store under these
   * names (the spec's alert and metrics-link credentials, `specSecretNames`), and no other secret.
   */
  grantUserSecretsRead(identity: IWorkloadIdentity, names: readonly string[]): void;
  /** Dynamic-credential trust for the environment's Terraform Cloud workspaces. */
  terraformCloudTrust(target: TerraformCloudTarget): ITerraformCloudTrust;
  /**
   * Terraform Cloud agents inside the network, for the one workspace whose runs must reach the
   * private cluster API (`<env>-apps`). They hold no cloud permission of their own beyond reading
   * their token.
   */
  terraformCloudAgent?(target: TerraformCloudAgentTarget, network: INetwork, cluster: ICluster): ITerraformCloudAgent;
  /**
   * The account's audit trail of API calls and of the object reads and writes of `buckets`,
   * where the cloud needs one created per environment (AWS: a CloudTrail trail).
   */
  auditTrail?(buckets: readonly IBucket[]): void;
  /**
   * What the `<env>-apps` stack needs from the cloud, found by the deterministic names the infra
   * stack gave things (or by data sources looking those names up): no other cross-stack reference.
   */
  clusterServices(): ClusterServices;
}

/** Where an External Secrets `remoteRef` points in the cloud's secret store. */
export interface SecretRef {
  readonly key: string;
  readonly property?: string;
}

/** How the `kubernetes` and `helm` providers reach the cluster. */
export interface KubernetesConnection {
  readonly host: string;
  /** PEM, not base64. */
  readonly clusterCaCertificate: string;
  /** A short-lived token the cloud provider fetched with the run's own credentials. */
  readonly token?: string;
  /** A credential plugin run by the providers, where no data source can produce a token. */
  readonly exec?: { readonly apiVersion: string; readonly command: string; readonly args: readonly string[] };
}

/** How pods of one workload receive its cloud identity. */
export interface WorkloadBinding {
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  readonly podLabels: Readonly<Record<string, string>>;
}

/** external-dns chart values, and ConfigMaps (name → file → content) they mount. */
export interface ExternalDnsSetup {
  readonly values: Record<string, unknown>;
  readonly configMaps: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * The taint every spot node carries on a cloud. The placement rule is the same on every cloud:
 * spot pools are tainted, stateless and batch pods tolerate the taint, stateful pods do not and
 * so run on on-demand nodes only.
 */
export interface NodeTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: "NoSchedule";
}

/**
 * A StorageClass the platform creates and marks default, on clouds whose clusters have no
 * default class (EKS since 1.30). Volumes bind where their pod is scheduled and can grow.
 */
export interface StorageClassSpec {
  readonly name: string;
  readonly provisioner: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/** The network as pods see it, for NetworkPolicies. */
export interface PodNetwork {
  /** Where the managed PostgreSQL servers' private addresses lie (database subnets or ranges of the network plan). */
  readonly databaseCidrs: readonly string[];
  /**
   * Link-local endpoints a pod with a cloud identity must reach to obtain its tokens, besides
   * HTTPS to the cloud's APIs ([] where tokens come from the Internet endpoints alone).
   */
  readonly identityEndpoints: readonly { readonly cidr: string; readonly port: number }[];
  /**
   * Ranges of the network where the cloud's services answer on private endpoints (HTTPS), for
   * the pods with a cloud identity: Azure's storage account (blob, dfs) and Key Vault, whose
   * public access is off ([] where the cloud's APIs are reached on public addresses).
   */
  readonly privateEndpointCidrs: readonly string[];
}

/** The cloud, as seen from the apps stack. */
export interface ClusterServices {
  readonly connection: KubernetesConnection;
  /** The taint on the cluster's spot nodes (see {@link NodeTaint}). */
  readonly spotTaint: NodeTaint;
  /** The default StorageClass to create, where the cluster has none (undefined: the cloud's own default). */
  readonly defaultStorageClass?: StorageClassSpec;
  /** What the cluster's NetworkPolicies need to know about the network (constructs/apps/network-policies.ts). */
  readonly podNetwork: PodNetwork;
  databaseHost(spec: DatabaseSpec): string;
  bucket(spec: BucketSpec): AppBucket;
  workloadBinding(workload: WorkloadName): WorkloadBinding;
  /**
   * The `spec.provider` of an External Secrets store on the cloud's secret store. Without
   * `serviceAccount` it authenticates as the controller's own identity (the ClusterSecretStore of
   * the admin credentials); with it, as that Kubernetes service account of the store's namespace
   * (a namespaced SecretStore), whose cloud identity is `workloadBinding(<its workload>)`.
   */
  secretStoreProvider(serviceAccount?: string): Record<string, unknown>;
  /** Where the database's administrator username and password are (username may be a literal). */
  adminCredentials(spec: DatabaseSpec): { readonly username: SecretRef | string; readonly password: SecretRef };
  /** How external-dns reaches the cloud's DNS service. */
  externalDns(zoneName: string): ExternalDnsSetup;
}


/** The neutral concepts each cloud maps to native resource types (the parity table in the docs). */
export const NEUTRAL_CONCEPTS = ["network", "egress", "cluster", "nodePool", "bucket", "database", "identity", "secrets", "encryptionKey"] as const;
export type NeutralConcept = (typeof NEUTRAL_CONCEPTS)[number];

/** Terraform resource types that implement each neutral concept on one cloud. */
export type ResourceTypeMap = Readonly<Record<NeutralConcept, readonly string[]>>;

/**
 * Narrows a neutral handle to the cloud's own class. Handles only travel between methods of one
 * platform, so a mismatch is a programming error, not a spec error.
 */
export function ownHandle<T>(value: unknown, type: abstract new (...args: never[]) => T, cloud: string, what: string): T {
  if (!(value instanceof type)) throw new TypeError(`the ${cloud} platform was given a ${what} from another cloud`);
  return value;
}


/** The Terraform Cloud workspaces of one environment that may act on its cloud account. */
export interface TerraformCloudTarget {
  readonly organization: string;
  readonly project: string;
  /** Workspace names (`<env>-infra`, `<env>-apps`). */
  readonly workspaces: readonly string[];
}

/**
 * The trust that lets Terraform Cloud runs of those workspaces act on the cloud with dynamic
 * provider credentials (OIDC): no static key anywhere.
 */
export interface ITerraformCloudTrust {
  /**
   * Non-secret environment variables each workspace needs (`TFC_AWS_PROVIDER_AUTH`,
   * `TFC_AWS_RUN_ROLE_ARN`, ...). Values may be tokens of resources in the infra stack.
   */
  readonly workspaceVariables: Readonly<Record<string, string>>;
}

/** The agent pool a cloud hosts agents for (see the gitops stack, which creates the pool). */
export interface TerraformCloudAgentTarget {
  readonly organization: string;
  /** The agent pool's name, which is also the one workspace it is restricted to (`<env>-apps`). */
  readonly pool: string;
  /** How many agents to run (each runs one job at a time). */
  readonly agents: number;
}

/**
 * Agents that poll Terraform Cloud from inside the environment's network (outbound HTTPS only)
 * and may reach the cluster API. Runs on them act with the workspace's dynamic credentials,
 * never with an identity of the agent.
 */
export interface ITerraformCloudAgent {
  /**
   * Where the bootstrap puts the pool's agent token (a Secrets Manager ARN, a Key Vault secret
   * id, a Secret Manager secret name). The stack creates the secret without a value.
   */
  readonly tokenSecretRef: string;
}

/** This cloud's buckets as an app on another cloud's cluster reaches them (no construct: names only). */
export interface ForeignBucketServices {
  bucket(spec: BucketSpec): AppBucket;
  /** What the pods of `workload` need to act as its identity on this cloud (`federatedWorkloadIdentity`). */
  credentials(workload: WorkloadName): PodCredentials;
}
