import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DnsManagedZone } from "@cdktf/provider-google/lib/dns-managed-zone";
import { DnsManagedZoneIamMember } from "@cdktf/provider-google/lib/dns-managed-zone-iam-member";
import { ProjectIamCustomRole } from "@cdktf/provider-google/lib/project-iam-custom-role";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import type { IDnsZone, IWorkloadIdentity } from "../core/interfaces";
import type { GcpContext } from "./context";
import { GcpWorkloadIdentity } from "./identity";

/**
 * Record changes in one zone, granted on that zone (`google_dns_managed_zone_iam_member`, Cloud
 * DNS per-resource IAM). `dns.admin` is the predefined role that writes records (`dns.reader`
 * and `dns.peer` do not); granted on the zone it reaches that zone alone, never another zone or
 * the project's DNS policies. On that zone it also allows updating or deleting the zone and
 * changing the zone's IAM policy: a custom role with only `dns.changes.*`,
 * `dns.resourceRecordSets.*` and `dns.managedZones.get` would be narrower still.
 */
export const DNS_RECORDS_WRITE_ROLE = "roles/dns.admin";

/**
 * What external-dns needs at project level besides its zone: it finds its zone by listing the
 * project's zones (`managedZones.list`), and listing cannot be granted on a zone. This is the
 * only permission of the project-level custom role; it shows the names of the project's zones,
 * never a record.
 */
export const DNS_ZONE_LIST_PERMISSIONS = ["dns.managedZones.list"] as const;

/** Cloud DNS managed zone names take at most 63 characters. */
const MAX_ZONE_NAME_LENGTH = 63;

/**
 * The Cloud DNS name of the environment's zone: `<env>-<zone with dots as dashes>`
 * (`prod-data-example-com`), or `<env>-zone-<hash of the zone name>` when that is longer than
 * Cloud DNS accepts. Deterministic: it depends on the environment and the zone name alone.
 */
export function dnsManagedZoneName(ctx: GcpContext, zoneName: string): string {
  const readable = ctx.name(zoneName.replace(/\./g, "-"));
  if (readable.length <= MAX_ZONE_NAME_LENGTH) return readable;
  return ctx.name("zone", createHash("sha256").update(zoneName).digest("hex").slice(0, 8));
}

/**
 * The public Cloud DNS zone of `dns.zone`, where external-dns writes the apps' records.
 * - Public visibility, `dns_name` with the trailing dot Cloud DNS requires.
 * - DNSSEC on (Google-managed keys, NSEC3): answers are signed from the first apply; validation
 *   starts once the parent zone publishes the DS record (read it with `gcloud dns dns-keys list`
 *   or the `google_dns_keys` data source), which the delegation step adds with the name servers.
 * - Never force-destroyed (records of other systems may live there); `prevent_destroy` in
 *   production, since recreating the zone changes its name servers and breaks the delegation.
 * - Enables the Cloud DNS API first, only in environments that have a zone.
 * Delegate it from the parent zone with `nameServers`.
 */
export class GcpDnsZone extends Construct implements IDnsZone {
  readonly zone: DnsManagedZone;
  readonly zoneName: string;
  /** The zone's name servers, joined by ",". */
  readonly nameServers: string;
  private zoneLister?: ProjectIamCustomRole;

  constructor(scope: Construct, id: string, private readonly ctx: GcpContext, zoneName: string) {
    super(scope, id);
    this.zoneName = zoneName;
    this.zone = new DnsManagedZone(this, "Resource", {
      name: dnsManagedZoneName(ctx, zoneName),
      dnsName: `${zoneName}.`,
      description: `${ctx.env.name}: app host names, managed by external-dns`,
      visibility: "public",
      dnssecConfig: { state: "on" },
      forceDestroy: false,
      lifecycle: { preventDestroy: ctx.env.production },
      dependsOn: ctx.apis.needed("dns"),
    });
    this.nameServers = Fn.join(",", this.zone.nameServers);
  }

  /**
   * Lets the identity change records in this zone: `roles/dns.admin` on this zone only
   * (per-resource IAM; never the project-wide role, which would reach every zone and DNS
   * policy of the project). external-dns also lists the project's zones to find this one,
   * which Cloud DNS only authorizes at project level, so the identity also gets a project-level
   * custom role holding `dns.managedZones.list` alone (zone names, no records).
   * The Terraform runner needs `iam.roles.create` (Role Administrator) for that custom role.
   * @throws TypeError for an identity of another cloud.
   */
  grantRecordsWrite(identity: IWorkloadIdentity): void {
    if (!(identity instanceof GcpWorkloadIdentity)) {
      throw new TypeError(`a Cloud DNS zone can only be granted to a GCP workload identity, not ${identity.workload}'s`);
    }
    new DnsManagedZoneIamMember(this, `${identity.workload}-records-write`, {
      managedZone: this.zone.name,
      role: DNS_RECORDS_WRITE_ROLE,
      member: identity.member,
    });
    new ProjectIamMember(this, `${identity.workload}-zone-list`, {
      project: this.ctx.projectId,
      role: this.listerRole().name,
      member: identity.member,
      dependsOn: this.ctx.apis.needed("resourceManager"),
    });
  }

  /** The project-level custom role that lists zones; one per environment, made on first grant. */
  private listerRole(): ProjectIamCustomRole {
    this.zoneLister ??= new ProjectIamCustomRole(this, "zone-lister", {
      project: this.ctx.projectId,
      // Role ids take letters, digits, _ and .; environment names only add '-', so this stays unique.
      roleId: `${this.ctx.env.name.replace(/-/g, "_")}_dns_zone_lister`,
      title: `${this.ctx.env.name} DNS zone lister`,
      description: `${this.ctx.env.name}: lets external-dns find its zone ${this.zoneName} (zone names only, no records)`,
      permissions: [...DNS_ZONE_LIST_PERMISSIONS],
      stage: "GA",
      dependsOn: this.ctx.apis.needed("iam"),
    });
    return this.zoneLister;
  }
}
