/** Small, exact IPv4 CIDR arithmetic for planning subnets at synth time; parsing is ipaddr.js's. */
import ipaddr from "ipaddr.js";

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

/**
 * Parses `a.b.c.d/p` with ipaddr.js, as strictly as Terraform (Go's net.ParseCIDR): four decimal
 * parts without leading zeros (`10.020.0.0/16` is refused), prefix 0 to 32. Undefined when it is
 * not such a CIDR.
 */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  // ipaddr.js accepts a prefix with leading zeros (`/016`); Terraform does not.
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(text) || !/\/(0|[1-9]\d?)$/.test(text)) return undefined;
  const [address, prefix] = ipaddr.IPv4.parseCIDR(text);
  return { base: address.toByteArray().reduce((acc, octet) => acc * 256 + octet, 0), prefix };
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** True when the address has no bits set below the prefix (10.0.0.0/16, not 10.0.0.1/16). */
export function isNetworkAligned(cidr: Ipv4Cidr): boolean {
  return cidr.base % blockSize(cidr.prefix) === 0;
}

export function formatCidr(cidr: Ipv4Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(cidr.base / 2 ** shift) % 256);
  return `${octets.join(".")}/${cidr.prefix}`;
}

/** Terraform's `cidrsubnet(prefix, newbits, netnum)`, computed here so plans show literal ranges. */
export function cidrSubnet(parent: Ipv4Cidr, newBits: number, netNum: number): Ipv4Cidr {
  const prefix = parent.prefix + newBits;
  if (prefix > 32 || netNum < 0 || netNum >= 2 ** newBits) {
    throw new RangeError(`cannot take subnet ${netNum} of /${prefix} from ${formatCidr(parent)}`);
  }
  return { base: parent.base + netNum * blockSize(prefix), prefix };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + blockSize(b.prefix) && b.base < a.base + blockSize(a.prefix);
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map(
  (text) => parseCidr(text) as Ipv4Cidr,
);

/** True when any address of the range is in an RFC 1918 private block. */
export function overlapsPrivateRange(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some((range) => cidrsOverlap(range, cidr));
}

/** True when the whole range lies inside one RFC 1918 private block. */
export function isPrivateRange(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some(
    (range) =>
      cidr.prefix >= range.prefix && cidr.base >= range.base && cidr.base < range.base + blockSize(range.prefix),
  );
}
