import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { Fn } from "cdktn";
import { DnsManagedZone } from "@cdktf/provider-google/lib/dns-managed-zone";
import { DnsManagedZoneIamMember } from "@cdktf/provider-google/lib/dns-managed-zone-iam-member";
import { ProjectIamCustomRole } from "@cdktf/provider-google/lib/project-iam-custom-role";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import type { IDnsZone, IWorkloadIdentity } from "../core/interfaces";
import type { GcpContext } from "./context";
import { GcpWorkloadIdentity } from "./identity";

/**
 * What external-dns calls on its zone, as the permissions of a custom role bound on that zone
 * (`google_dns_managed_zone_iam_member`, Cloud DNS per-resource IAM). external-dns v0.21.0 (the
 * appVersion of chart 1.21.1; kubernetes-sigs/external-dns, tag v0.21.0,
 * provider/google/google.go) lists the project's zones (`managedZones.list`, below), lists each
 * zone's record sets (`resourceRecordSets.list`) and applies record changes
 * (`changes.create`); it never reads a change back (`changes.get`) nor touches the zone itself.
 * `changes.create` checks `dns.resourceRecordSets.create`, `.update` and `.delete` for the records
 * it adds, changes and removes (Cloud DNS docs, "Roles and permissions"). Unlike `roles/dns.admin`,
 * the role cannot update or delete the zone nor change its IAM policy.
 */
export const DNS_RECORDS_WRITE_PERMISSIONS = [
  "dns.changes.create",
  "dns.resourceRecordSets.create",
  "dns.resourceRecordSets.delete",
  "dns.resourceRecordSets.list",
  "dns.resourceRecordSets.update",
] as const;

/**
 * What external-dns needs at project level besides its zone: it finds its zone by listing the
 * project's zones (`managedZones.list`), and listing cannot be granted on a zone. This is the
 * only permission of the project-level custom role; it shows the names of the project's zones,
 * never a record.
 */
export const DNS_ZONE_LIST_PERMISSIONS = ["dns.managedZones.list"] as const;

/** The id of the project-level custom role that lists zones. */
export function dnsZoneListerRoleId(ctx: GcpContext): string {
  return ctx.customRoleId("dns_zone_lister");
}

/** The id of the custom role external-dns holds on its zone (`DNS_RECORDS_WRITE_PERMISSIONS`). */
export function dnsRecordsWriterRoleId(ctx: GcpContext): string {
  return ctx.customRoleId("dns_records_writer");
}

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
  private recordsWriter?: ProjectIamCustomRole;

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
   * Lets the identity change records in this zone: a custom role holding
   * `DNS_RECORDS_WRITE_PERMISSIONS` bound on this zone only (never project-wide, which would
   * reach every zone of the project). external-dns also lists the project's zones to find this
   * one, which Cloud DNS only authorizes at project level, so the identity also gets a
   * project-level custom role holding `dns.managedZones.list` alone (zone names, no records).
   * Both custom roles are created by the bootstrapper's apply: the Terraform Cloud runs read them
   * (`roles/iam.roleViewer`) but may not create or edit a role (README, "Delivery").
   * @throws TypeError for an identity of another cloud.
   */
  grantRecordsWrite(identity: IWorkloadIdentity): void {
    if (!(identity instanceof GcpWorkloadIdentity)) {
      throw new TypeError(`a Cloud DNS zone can only be granted to a GCP workload identity, not ${identity.workload}'s`);
    }
    new DnsManagedZoneIamMember(this, `${identity.workload}-records-write`, {
      managedZone: this.zone.name,
      role: this.writerRole().name,
      member: identity.member,
    });
    new ProjectIamMember(this, `${identity.workload}-zone-list`, {
      project: this.ctx.projectId,
      role: this.listerRole().name,
      member: identity.member,
      dependsOn: this.ctx.apis.needed("resourceManager"),
    });
  }

  /** The custom role bound on the zone that writes its records; one per environment, made on first grant. */
  private writerRole(): ProjectIamCustomRole {
    this.recordsWriter ??= new ProjectIamCustomRole(this, "records-writer", {
      project: this.ctx.projectId,
      roleId: dnsRecordsWriterRoleId(this.ctx),
      title: `${this.ctx.env.name} DNS records writer`,
      description: `${this.ctx.env.name}: lets external-dns change the records of ${this.zoneName} (bound on that zone only)`,
      permissions: [...DNS_RECORDS_WRITE_PERMISSIONS],
      stage: "GA",
      dependsOn: this.ctx.apis.needed("iam"),
    });
    return this.recordsWriter;
  }

  /** The project-level custom role that lists zones; one per environment, made on first grant. */
  private listerRole(): ProjectIamCustomRole {
    this.zoneLister ??= new ProjectIamCustomRole(this, "zone-lister", {
      project: this.ctx.projectId,
      roleId: dnsZoneListerRoleId(this.ctx),
      title: `${this.ctx.env.name} DNS zone lister`,
      description: `${this.ctx.env.name}: lets external-dns find its zone ${this.zoneName} (zone names only, no records)`,
      permissions: [...DNS_ZONE_LIST_PERMISSIONS],
      stage: "GA",
      dependsOn: this.ctx.apis.needed("iam"),
    });
    return this.zoneLister;
  }
}
