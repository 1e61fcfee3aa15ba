import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktf";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
import { DNS_RECORDS_WRITE_ROLE, dnsManagedZoneName } from "../../constructs/gcp/dns";
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

  it("grants record writes on that zone only, plus zone listing at project level", () => {
    const grant = staging.stack.one("google_dns_managed_zone_iam_member");
    expect(grant.role).toBe(DNS_RECORDS_WRITE_ROLE);
    expect(String(grant.managed_zone)).toMatch(/google_dns_managed_zone\.platform_dns-zone_[A-F0-9]+\.name/);
    expect(String(grant.member)).toMatch(/google_service_account\.platform_identity-external-dns_[A-F0-9]+\.member/);

    const lister = staging.stack.one("google_project_iam_custom_role");
    expect(lister).toMatchObject({ role_id: "test_dns_zone_lister", permissions: ["dns.managedZones.list"], project: "acme-data-test" });
    const projectGrant = staging.stack.find("google_project_iam_member", "external-dns-zone-list");
    expect(String(projectGrant.role)).toMatch(/google_project_iam_custom_role\.platform_dns-zone_zone-lister_[A-F0-9]+\.name/);
    // Nothing DNS-wide at project level: only the node service account's predefined roles.
    const projectRoles = staging.stack.all("google_project_iam_member").map((member) => String(member.role));
    expect(projectRoles.some((role) => role.startsWith("roles/dns."))).toBe(false);
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
