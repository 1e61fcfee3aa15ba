/** Small, exact IPv4 CIDR arithmetic for planning subnets at synth time. */

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/p`; returns undefined when it is not a well-formed IPv4 CIDR. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const match = CIDR_PATTERN.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined;
  const base = octets.reduce((acc, octet) => acc * 256 + octet, 0);
  return { base, prefix };
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

/** True when the whole range lies inside one RFC 1918 private block. */
export function isPrivateRange(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some(
    (range) =>
      cidr.prefix >= range.prefix && cidr.base >= range.base && cidr.base < range.base + blockSize(range.prefix),
  );
}
