/**
 * The neutral handles every cloud returns and every app consumes. App constructs know only these
 * interfaces; nothing outside `constructs/<cloud>/` knows which cloud is behind them.
 */
import type { WorkloadName } from "./apps";
import type { Cloud, BucketSpec, DatabaseSpec } from "./spec";

export interface INetwork {
  /** The cloud's id of the network (VPC id, VNet id, network self link). */
  readonly networkId: string;
}

export interface ICluster {
  readonly clusterName: string;
  /** The Kubernetes API endpoint (private unless the spec allows public CIDRs). */
  readonly endpoint: string;
}

/** A cloud identity bound to exactly one Kubernetes service account, with no static keys. */
export interface IWorkloadIdentity {
  readonly workload: WorkloadName;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Annotations the service account needs so its pods receive the cloud identity. */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
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
