/**
 * The site-to-site VPN between the cluster's network and a network holding databases on another
 * cloud (docs/design/cross-cloud.md, "Network"), as both sides must agree on it. Pure facts, no
 * construct: each cloud's side builds from them, and each cloud's rules on them are in its
 * `facts.ts` (tested against these values in __tests__/vpn.test.ts).
 *
 * The layout is Microsoft's for AWS (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp)
 * and Google's (docs.cloud.google.com/network-connectivity/docs/vpn/tutorials/create-ha-vpn-connections-google-cloud-aws):
 * the cluster side's gateway has two instances (Azure: active-active; GCP: HA VPN's two
 * interfaces), each with a public address; the database side connects each instance twice (AWS:
 * a customer gateway and a VPN connection of two tunnels per instance), four tunnels in all, each
 * with its own BGP session over a link-local /30.
 */

/** The cluster side's gateway instances, each with a public address (`vpnGatewayAddressesCrossing`). */
export const VPN_GATEWAY_INSTANCES = 2;

/** One tunnel: which gateway instance ends it, its inside /30, and each side's BGP address in it. */
export interface VpnTunnel {
  /** 0-based instance of the cluster side's gateway (and so the database side's connection). */
  readonly instance: number;
  readonly insideCidr: string;
  /** The database side's BGP address: the /30's first host (AWS takes it: "the first IP address ... is assigned to the virtual private gateway"). */
  readonly databaseSideAddress: string;
  /** The cluster side's BGP address: the /30's second host (Azure's custom APIPA address). */
  readonly clusterSideAddress: string;
}

function tunnel(instance: number, insideCidr: string): VpnTunnel {
  const [a, b, c, d] = insideCidr.replace(/\/30$/, "").split(".").map(Number);
  return { instance, insideCidr, databaseSideAddress: `${a}.${b}.${c}.${d + 1}`, clusterSideAddress: `${a}.${b}.${c}.${d + 2}` };
}

/**
 * The four tunnels, in the order of the database side's connections (instance 0's two, then
 * instance 1's). The /30s are the ones Microsoft's guide uses: inside 169.254.21.0–169.254.22.255,
 * the only range Azure accepts for custom APIPA BGP addresses, and outside every /30 AWS reserves.
 */
export const VPN_TUNNELS: readonly VpnTunnel[] = [
  tunnel(0, "169.254.21.0/30"),
  tunnel(0, "169.254.22.0/30"),
  tunnel(1, "169.254.21.4/30"),
  tunnel(1, "169.254.22.4/30"),
];

/** BGP autonomous systems: private ASNs, the cluster side's not one Azure reserves, the database side's AWS's default for a virtual private gateway. */
export const VPN_ASN = { clusterSide: 65000, databaseSide: 64512 } as const;

/**
 * A pre-shared key both sides accept: AWS's alphabet, the stricter one (aws 5.100.0
 * internal/service/ec2/vpnsite_connection.go, `validVPNConnectionTunnelPreSharedKey`: 8 to 64
 * characters of letters, digits, `.` and `_`, not starting with `0`).
 */
export const PRESHARED_KEY = /^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$/;

/**
 * The one IKEv2 proposal both sides use, pinned so that neither falls back to a weaker default
 * (Azure's default policy offers DH group 2 without PFS). In each side's names: AWS's
 * `tunnelN_phaseN_*` values (aws 5.100.0 vpnsite_connection.go; checked by the provider in the
 * offline plan) and Azure's `ipsec_policy` (azurerm 4.55.0
 * virtual_network_gateway_connection_resource.go: `DHGroup14`, `AES256`, `SHA256`, `PFS2048`,
 * which is DH group 14 for PFS; `sa_lifetime` at least 300). Lifetimes: IKE 28,800 s (Azure's,
 * fixed for a custom policy, and AWS's default), IPsec 3,600 s (AWS's maximum for phase 2).
 */
export const VPN_CRYPTO = {
  dhGroup: 14,
  ikeLifetimeSeconds: 28800,
  ipsecLifetimeSeconds: 3600,
  aws: { encryption: "AES256", integrity: "SHA2-256" },
  azure: { dhGroup: "DHGroup14", ikeEncryption: "AES256", ikeIntegrity: "SHA256", ipsecEncryption: "AES256", ipsecIntegrity: "SHA256", pfsGroup: "PFS2048" },
} as const;
