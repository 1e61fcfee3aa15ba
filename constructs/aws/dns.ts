import { Construct } from "constructs";
import { Fn } from "cdktn";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import type { IDnsZone, IWorkloadIdentity } from "../core/interfaces";
import type { AwsContext } from "./context";
import { AwsServiceAccountRole } from "./identity";

/**
 * The public Route 53 zone of `dns.zone`, where external-dns writes the apps' records.
 * Delegate it from the parent zone with `nameServers`. Never force-destroyed (records of
 * other systems may live there); `prevent_destroy` in production.
 */
export class AwsDnsZone extends Construct implements IDnsZone {
  readonly zone: Route53Zone;
  readonly zoneName: string;
  readonly nameServers: string;

  constructor(scope: Construct, id: string, ctx: AwsContext, zoneName: string) {
    super(scope, id);
    this.zoneName = zoneName;
    this.zone = new Route53Zone(this, "Resource", {
      name: zoneName,
      comment: `${ctx.env.name}: app host names, managed by external-dns`,
      forceDestroy: false,
      lifecycle: { preventDestroy: ctx.env.production },
    });
    this.nameServers = Fn.join(",", this.zone.nameServers);
  }

  /** Record changes in this zone only; listing zones is account-wide in Route 53's API. */
  grantRecordsWrite(identity: IWorkloadIdentity): void {
    if (!(identity instanceof AwsServiceAccountRole)) throw new TypeError(`a Route 53 zone can only be granted to an AWS workload identity, not ${identity.workload}'s`);
    identity.allow(
      "dns-records",
      { Sid: "ChangeRecords", Effect: "Allow", Action: ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"], Resource: this.zone.arn },
      { Sid: "FindZones", Effect: "Allow", Action: ["route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:GetChange"], Resource: "*" },
    );
  }
}
