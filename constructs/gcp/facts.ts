import { cidrSubnet, cidrsOverlap, formatCidr, parseCidr } from "../core/cidr";
import { planSubnets } from "../core/network-plan";
import { gcpZoneNames } from "../core/regions";
import type { Environment } from "../core/spec";

/**
 * What the GCP spec checks (spec-problems.ts) share with the GCP constructs: constants and pure
 * functions only, no construct and no provider binding, so that checking every environment's
 * spec loads none of @cdktf/provider-google (constructs/platform.ts loads the constructs only
 * when a GCP environment is built).
 */

/**
 * The Cloud Storage multi-region of each GCP region family, and the Cloud KMS location whose keys
 * may encrypt a bucket there (Cloud Storage docs, "Bucket locations": the EU, US and ASIA
 * multi-regions; "Customer-managed encryption keys": the key ring must be in the bucket's
 * location, `europe`, `us` and `asia` for these multi-regions). Regions outside them
 * (northamerica-*, southamerica-*, me-*, africa-*, australia-*) belong to no multi-region.
 */
export const GCS_MULTI_REGIONS: readonly { readonly prefix: string; readonly location: string; readonly kmsLocation: string }[] = [
  { prefix: "europe-", location: "EU", kmsLocation: "europe" },
  { prefix: "us-", location: "US", kmsLocation: "us" },
  { prefix: "asia-", location: "ASIA", kmsLocation: "asia" },
];

/** Cloud Logging keeps a log bucket at most this many days. */
export const MAX_LOG_BUCKET_RETENTION_DAYS = 3650;

/** GCP rejects a token whose mapped `google.subject` is longer than this (bytes). */
export const MAX_SUBJECT_BYTES = 127;

/**
 * The byte length of the longest token subject of a workspace (`apply` is the longer run phase),
 * when it exceeds GCP's limit for `google.subject`; undefined when it fits.
 */
export function subjectOverLimit(organization: string, project: string, workspace: string): number | undefined {
  const bytes = Buffer.byteLength(`organization:${organization}:project:${project}:workspace:${workspace}:run_phase:apply`, "utf8");
  return bytes > MAX_SUBJECT_BYTES ? bytes : undefined;
}

/** Names of the node subnet's secondary ranges, as GKE's IP allocation policy refers to them. */
export const POD_RANGE_NAME = "pods";
export const SERVICE_RANGE_NAME = "services";

/**
 * Pods per node: GKE gives each node a pod range of twice this size, here a /25. 64 (instead of
 * GKE's 110, a /24 per node) doubles how many nodes fit the pod range; 64 pods on 2 to 16 vCPUs
 * is more than the data stack schedules per node.
 */
export const MAX_PODS_PER_NODE = 64;
const POD_PREFIX_PER_NODE = 25;

export interface GcpAddressPlan {
  /** Primary range of the node subnet: zone 0's private range of the neutral plan. */
  readonly nodes: string;
  /** Pod secondary range: the second quarter of the network (zones 2 and 3's private ranges, unused on GCP). */
  readonly pods: string;
  /** Service secondary range: the first half of zone 1's private range (a /20 for a /16). */
  readonly services: string;
  /** Private service access for Cloud SQL: the database part of the neutral plan (a /19 for a /16). */
  readonly privateServices: Readonly<{ address: string; prefixLength: number }>;
  /** How many nodes the pod range has room for at MAX_PODS_PER_NODE. */
  readonly maxNodes: number;
}

/**
 * The GCP layout of the environment CIDR, consistent with the neutral subnet plan: one regional
 * subnet replaces the per-zone private subnets, its secondary ranges use the private ranges the
 * other zones would have had, and the database part holds the private service access range.
 */
export function planGcpAddresses(env: Environment): GcpAddressPlan {
  const network = parseCidr(env.network.cidr);
  if (!network) throw new RangeError(`not a CIDR: ${env.network.cidr}`);
  const zones = planSubnets(env.network.cidr, env.network.zones);
  const pods = cidrSubnet(network, 2, 1);
  const databasePart = cidrSubnet(network, 3, 5);
  // Guards the link to the neutral plan: its database subnets must lie inside this part.
  const insideDatabasePart = (text: string) => {
    const subnet = parseCidr(text);
    return subnet !== undefined && subnet.prefix >= databasePart.prefix && cidrsOverlap(subnet, databasePart);
  };
  if (!zones.every((zone) => insideDatabasePart(zone.database))) {
    throw new RangeError(`the neutral plan's database subnets are no longer inside ${formatCidr(databasePart)}`);
  }
  const [address] = formatCidr(databasePart).split("/");
  return {
    nodes: zones[0].private,
    pods: formatCidr(pods),
    services: formatCidr(cidrSubnet(network, 4, 2)),
    privateServices: { address, prefixLength: databasePart.prefix },
    maxNodes: 2 ** (POD_PREFIX_PER_NODE - pods.prefix),
  };
}

/**
 * The ranges a GKE cluster's pods reach a database on another cloud from, as that network sees
 * them: the nodes' and the pods' own. Pods keep their addresses towards private destinations
 * (GKE, "IP masquerade agent": the default non-masquerade destinations include 10.0.0.0/8,
 * 172.16.0.0/12 and 192.168.0.0/16, with Dataplane V2 too), so the database side admits both and
 * the VPN's Cloud Router advertises both. Services' addresses never leave a node.
 */
export function gkeVpnClients(addresses: Pick<GcpAddressPlan, "nodes" | "pods">): string[] {
  return [addresses.nodes, addresses.pods];
}

/**
 * Cloud Router's ASNs (google 6.50.0 google/verify/validation.go:88-119, `ValidateRFC6996Asn` on
 * `google_compute_router` `bgp.asn`): a private ASN of RFC 6996 (64512–65534, 4200000000–
 * 4294967294) or 16550, Partner Interconnect's. The peer's (`peer_asn`) is not validated by the
 * provider; Google's HA VPN guide asks for a private ASN there too.
 */
export function isGcpBgpAsn(asn: number): boolean {
  return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294) || asn === 16550;
}

/**
 * Google's rule for the addresses of an HA VPN BGP session, which the provider passes to the API
 * unchecked (google 6.50.0 resource_compute_router_interface.go, `ip_range` has no validation):
 * "Each IPv4 address must belong to the same /30 subnet that fits within the 169.254.0.0/16
 * address range. Each IPv4 address is the first or second host of the /30 subnet"
 * (docs.cloud.google.com/network-connectivity/docs/vpn/how-to/creating-ha-vpn).
 */
export function isGcpBgpLinkLocal(address: string): boolean {
  const parts = address.split(".").map(Number);
  return parts.length === 4 && parts[0] === 169 && parts[1] === 254 && [1, 2].includes(parts[3] % 4);
}

/**
 * The IKEv2 ciphers HA VPN negotiates, without AEAD, as Google names them
 * (docs.cloud.google.com/network-connectivity/docs/vpn/concepts/supported-ike-ciphers): phase 1's
 * encryption and DH groups in full; of the integrity algorithms and phase 2's PFS groups, the ones
 * quoted here. HA VPN offers them all and pins none; the peer pins one of each (`VPN_CRYPTO`).
 */
export const GCP_IKE_CIPHERS = {
  phase1: { encryption: ["AES-CBC-128", "AES-CBC-192", "AES-CBC-256", "3DES-CBC"], integrity: ["HMAC-SHA2-256-128"], dhGroups: [14, 5, 15, 16, 18, 2, 19, 20, 21, 31] },
  phase2: { encryption: ["AES-CBC-128", "AES-CBC-256", "AES-CBC-192"], integrity: ["HMAC-SHA2-256-128", "HMAC-SHA2-512-256", "HMAC-SHA1-96"], dhGroups: [14] },
} as const;

/**
 * AWS's names of its VPN tunnel algorithms (aws 5.100.0 vpnsite_connection.go, the
 * `tunnelN_phaseN_*_algorithms` values) in Google's names above: AES-CBC with AWS's key sizes, and
 * HMAC-SHA1 and HMAC-SHA2 truncated to half their length (RFC 4868, RFC 2404). AWS's AES-GCM sets
 * are AEAD, outside the table above.
 */
export const GCP_NAME_OF_AWS_ALGORITHM: Readonly<Record<string, string>> = {
  AES128: "AES-CBC-128",
  AES256: "AES-CBC-256",
  SHA1: "HMAC-SHA1-96",
  "SHA2-256": "HMAC-SHA2-256-128",
  "SHA2-384": "HMAC-SHA2-384-192",
  "SHA2-512": "HMAC-SHA2-512-256",
};

/**
 * Every node takes a /25 of the pod range: the node pools' maximum sizes (plus one surge node
 * per zone and pool during upgrades) must fit, or GKE stops adding nodes at an inconvenient time.
 * Returns the problem for the spec check (spec-problems.ts), or undefined when they fit.
 */
export function podRangeProblem(env: Environment, addresses: GcpAddressPlan, zones: number): string | undefined {
  const pools = env.cluster.nodePools;
  const needed = pools.reduce((sum, pool) => sum + pool.maxNodes + zones, 0);
  if (needed <= addresses.maxNodes) return undefined;
  return (
    `at most ${addresses.maxNodes} nodes including one upgrade surge node per zone and pool (${needed} needed) on GCP for network.cidr ${env.network.cidr}: ` +
    `its pod range ${addresses.pods} gives each node a /25; use a larger network.cidr or fewer nodes`
  );
}

/**
 * The GKE cluster's service-account token issuer, which another cloud trusts for the cluster's
 * pods (docs/design/cross-cloud.md). No Terraform attribute carries it; GKE serves its discovery
 * document at the cluster's resource path (GKE REST `projects.locations.clusters.well-known/
 * getOpenid-configuration`), `https://container.googleapis.com/v1/` plus the cluster's id: project
 * ID, location (the region in production, zone 0 elsewhere: `gkeClusterLocation`) and name
 * (`gkeClusterName`). `__tests__/cross-cloud.test.ts` holds it equal to the cluster the GCP
 * constructs build.
 */
export function gkeIssuer(env: Environment): string {
  return `https://container.googleapis.com/v1/projects/${gcpAccount(env).projectId}/locations/${gkeLocation(env)}/clusters/${gkeName(env)}`;
}

/** The environment's GKE cluster name (`<env>-cluster`). */
export function gkeName(env: Environment): string {
  return `${env.name}-cluster`;
}

/**
 * Where the cluster is: the region in production (a regional cluster), zone 0 elsewhere (a
 * zonal one). GKE identifies a cluster by project, location and name.
 */
export function gkeLocation(env: Environment): string {
  const account = gcpAccount(env);
  return env.production ? account.region : gcpZoneNames(account.region, env.network.zones)[0];
}

function gcpAccount(env: Environment): NonNullable<Environment["accounts"]["gcp"]> {
  const account = env.accounts.gcp;
  if (!account) throw new Error(`environment ${env.name} has no GCP project (the spec check should have caught this)`);
  return account;
}

/**
 * The workload identity pool that trusts the environment's cluster on another cloud,
 * `k8s-<env>-<cluster cloud>`: one pool per trusting cluster, because a Kubernetes subject
 * (`system:serviceaccount:<ns>:<sa>`) is the same on every cluster and the principal is the
 * pool's. 4 to 32 of `[0-9a-z-]`, not starting with `gcp-` (google 6.50.0
 * `resource_iam_workload_identity_pool.go` L38-64): an environment name is at most 16 characters.
 * ForceNew, and a deleted pool's id stays taken about 30 days (ibid. L120-132).
 */
export function clusterPoolId(env: Environment): string {
  return `k8s-${env.name}-${env.cloud}`;
}

/** The pool's one OIDC provider, named by the cluster's cloud (same rules as the pool id). */
export function clusterProviderId(env: Environment): string {
  return `${env.cloud}-cluster`;
}

/**
 * The full name of that provider with the project number (received in `<env>-apps`), without
 * scheme: the credential configuration's STS audience is `//` plus this, the token's audience
 * `https://` plus this (the provider's default audiences: google 6.50.0
 * `resource_iam_workload_identity_pool_provider.go`, `allowed_audiences`).
 */
export function clusterProviderName(env: Environment, projectNumber: string): string {
  return `iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${clusterPoolId(env)}/providers/${clusterProviderId(env)}`;
}
