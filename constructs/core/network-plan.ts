/**
 * The one subnet layout every cloud uses, computed from the environment CIDR at synth time so
 * that plans and snapshot diffs show literal ranges.
 *
 * For a /16: private (nodes and pods) /19 per zone in the first half; public /21 and database
 * /21 per zone in the third quarter; the last quarter is left free for later subnets.
 */
import { cidrSubnet, formatCidr, parseCidr } from "./cidr";

export const SUBNET_PLAN_LIMITS = {
  maxZones: 4,
  /** Larger than /16 is beyond what AWS allows for one VPC CIDR. */
  minPrefix: 16,
  /** At /20 the public and database subnets are /25: 123 usable addresses on AWS. */
  maxPrefix: 20,
} as const;

export interface ZoneSubnets {
  /** Zone index, 0-based; each cloud maps it to a zone name. */
  readonly zone: number;
  readonly private: string;
  readonly public: string;
  readonly database: string;
}

export function planSubnets(cidrText: string, zones: number): ZoneSubnets[] {
  const vpc = parseCidr(cidrText);
  if (!vpc) throw new RangeError(`not a CIDR: ${cidrText}`);
  if (zones > SUBNET_PLAN_LIMITS.maxZones) throw new RangeError(`at most ${SUBNET_PLAN_LIMITS.maxZones} zones`);
  return Array.from({ length: zones }, (_, zone) => ({
    zone,
    private: formatCidr(cidrSubnet(vpc, 3, zone)),
    public: formatCidr(cidrSubnet(vpc, 5, 16 + zone)),
    database: formatCidr(cidrSubnet(vpc, 5, 20 + zone)),
  }));
}

/**
 * The database subnets of a network that holds only databases (`networks.<cloud>`, reached over a
 * VPN): one per zone, each a quarter of the range (so at least a /26 for the /24 the spec allows).
 */
export function planDatabaseSubnets(cidrText: string, zones: number): string[] {
  const range = parseCidr(cidrText);
  if (!range) throw new RangeError(`not a CIDR: ${cidrText}`);
  if (zones > SUBNET_PLAN_LIMITS.maxZones) throw new RangeError(`at most ${SUBNET_PLAN_LIMITS.maxZones} zones`);
  return Array.from({ length: zones }, (_, zone) => formatCidr(cidrSubnet(range, 2, zone)));
}
