import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
import { dnsManagedZoneName } from "../../constructs/gcp/dns";
import { SynthesizedStack } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

const ZONE = "data.example.com";

function synthZone(input: EnvironmentInput, grant: boolean) {
  const scope = new TerraformStack(Testing.app(), "dns");
  const platform = new GcpPlatform(scope, "platform", parseEnvironment(input));
  const zone = platform.dnsZone(ZONE);
  if (grant) {
    const cluster = platform.cluster(platform.network());
    zone.grantRecordsWrite(platform.workloadIdentity("external-dns", cluster));
  }
  new TerraformOutput(scope, "name_servers", { value: zone.nameServers });
  return { zone, platform, stack: new SynthesizedStack(Testing.synth(scope)) };
}

describe("GCP public DNS zone", () => {
  const staging = synthZone(gcpSpec(), true);
  const prod = synthZone(gcpProductionSpec(), false);

  it("is a public zone with the trailing dot and DNSSEC on", () => {
    const zone = staging.stack.one("google_dns_managed_zone");
    expect(zone).toMatchObject({ name: "test-data-example-com", dns_name: "data.example.com.", visibility: "public", force_destroy: false });
    expect(zone.dnssec_config).toEqual({ state: "on" });
    expect(staging.zone.zoneName).toBe(ZONE);
  });

  it("cannot be destroyed by a plan in production only", () => {
    expect(prod.stack.one("google_dns_managed_zone").lifecycle).toMatchObject({ prevent_destroy: true });
    expect(staging.stack.one("google_dns_managed_zone").lifecycle).toMatchObject({ prevent_destroy: false });
  });

  it("enables the Cloud DNS API first, and only where a zone exists", () => {
    const zone = prod.stack.one("google_dns_managed_zone");
    expect(zone.depends_on).toEqual([expect.stringMatching(/^google_project_service\.platform_apis_dns_[A-F0-9]+$/)]);
    expect(prod.stack.find("google_project_service", "apis_dns_").service).toBe("dns.googleapis.com");
    const scope = new TerraformStack(Testing.app(), "no-dns");
    const platform = new GcpPlatform(scope, "platform", parseEnvironment(gcpSpec()));
    platform.network();
    const services = new SynthesizedStack(Testing.synth(scope)).all("google_project_service").map((service) => service.service);
    expect(services).toContain("compute.googleapis.com");
    expect(services).not.toContain("dns.googleapis.com");
  });

  it("gives the name servers joined by commas", () => {
    expect(staging.stack.json.output?.name_servers?.value).toMatch(/^\$\{join\(",", google_dns_managed_zone\.platform_dns-zone_[A-F0-9]+\.name_servers\)\}$/);
  });

  /**
   * What external-dns v0.21.0 (appVersion of chart 1.21.1) calls through its Google provider
   * (kubernetes-sigs/external-dns, tag v0.21.0, provider/google/google.go: `managedZonesClient.List`,
   * `resourceRecordSetsClient.List`, `changesClient.Create`), and the permissions Cloud DNS checks
   * for each (docs.cloud.google.com/dns/docs/access-control, "Permissions": `changes.create` also
   * checks `resourceRecordSets.create`, `.update` and `.delete` for the records it adds, changes and
   * removes). `managedZones.list` is a project-level call; the others are on the zone.
   */
  const EXTERNAL_DNS_CALLS = {
    zone: ["dns.resourceRecordSets.list", "dns.changes.create", "dns.resourceRecordSets.create", "dns.resourceRecordSets.update", "dns.resourceRecordSets.delete"],
    project: ["dns.managedZones.list"],
  };
  /** What a custom role bound at `scope` must hold: what external-dns calls there, and nothing else. */
  const customRoleProblems = (permissions: readonly string[], scope: keyof typeof EXTERNAL_DNS_CALLS): string[] => [
    ...EXTERNAL_DNS_CALLS[scope].filter((needed) => !permissions.includes(needed)).map((needed) => `lacks ${needed}`),
    ...permissions.filter((held) => !EXTERNAL_DNS_CALLS[scope].includes(held)).map((held) => `holds ${held}, which external-dns never calls`),
  ];
  const roleOf = (reference: unknown) => {
    const match = /google_project_iam_custom_role\.([^.]+)\.name/.exec(String(reference));
    return match ? (staging.stack.json.resource?.google_project_iam_custom_role?.[match[1]] as { permissions: string[]; role_id: string }) : undefined;
  };

  it("grants exactly what external-dns calls: record writes on that zone only, zone listing at project level", () => {
    const grant = staging.stack.one("google_dns_managed_zone_iam_member");
    expect(String(grant.managed_zone)).toMatch(/google_dns_managed_zone\.platform_dns-zone_[A-F0-9]+\.name/);
    expect(String(grant.member)).toMatch(/google_service_account\.platform_identity-external-dns_[A-F0-9]+\.member/);
    const writer = roleOf(grant.role);
    expect(writer?.role_id).toBe("test_dns_records_writer");
    expect(customRoleProblems(writer?.permissions ?? [], "zone")).toEqual([]);

    const projectGrant = staging.stack.find("google_project_iam_member", "external-dns-zone-list");
    const lister = roleOf(projectGrant.role);
    expect(lister?.role_id).toBe("test_dns_zone_lister");
    expect(customRoleProblems(lister?.permissions ?? [], "project")).toEqual([]);
    // No predefined DNS role anywhere: neither dns.admin on the zone nor anything DNS-wide on the project.
    const roles = [...staging.stack.all("google_project_iam_member"), ...staging.stack.all("google_dns_managed_zone_iam_member")].map((member) => String(member.role));
    expect(roles.filter((role) => role.startsWith("roles/dns."))).toEqual([]);
  });

  it("the check refuses a records role that misses a call or holds more (roles/dns.admin's zone powers)", () => {
    const writer = roleOf(staging.stack.one("google_dns_managed_zone_iam_member").role)?.permissions ?? [];
    expect(customRoleProblems(writer.filter((p) => p !== "dns.resourceRecordSets.delete"), "zone")).toEqual(["lacks dns.resourceRecordSets.delete"]);
    expect(customRoleProblems([...writer, "dns.managedZones.update", "dns.managedZones.setIamPolicy"], "zone")).toEqual([
      "holds dns.managedZones.update, which external-dns never calls",
      "holds dns.managedZones.setIamPolicy, which external-dns never calls",
    ]);
    expect(customRoleProblems(["dns.managedZones.list", "dns.resourceRecordSets.list"], "project")).toEqual(["holds dns.resourceRecordSets.list, which external-dns never calls"]);
  });

  it("refuses identities of other clouds", () => {
    const foreign = { workload: "external-dns" as const, namespace: "external-dns", serviceAccount: "external-dns", serviceAccountAnnotations: {} };
    expect(() => staging.zone.grantRecordsWrite(foreign)).toThrow(TypeError);
  });

  it("names the zone deterministically, hashing names Cloud DNS would not accept", () => {
    const long = `${"a".repeat(60)}.example.com`;
    const { platform } = synthZone(gcpSpec(), false);
    expect(dnsManagedZoneName(platform.ctx, ZONE)).toBe("test-data-example-com");
    expect(dnsManagedZoneName(platform.ctx, long)).toMatch(/^test-zone-[0-9a-f]{8}$/);
    expect(dnsManagedZoneName(platform.ctx, long)).toBe(dnsManagedZoneName(platform.ctx, long));
  });
});
