import { describe, expect, it } from "vitest";
import { synthInfra } from "../support/synth";
import { gcpSpec } from "./fixtures";

describe("GCP provider and labels", () => {
  const stack = synthInfra({
    ...gcpSpec(),
    owner: "Platform Team",
    costCentre: "CC.42",
    tags: { "Data.Classification": "Internal/PII", "@lives": "yes", note: "x".repeat(100) },
  });
  const provider = () => stack.json.provider?.google?.[0] ?? {};

  it("configures the google provider for the spec's project and region", () => {
    expect(provider()).toMatchObject({ project: "acme-data-test", region: "europe-west1" });
    expect(stack.json.provider?.random).toHaveLength(1);
  });

  it("sets the environment tags once, as default_labels sanitized to GCP's label rules", () => {
    expect(provider().default_labels).toEqual({
      environment: "test",
      owner: "platform_team",
      "cost-centre": "cc_42",
      "managed-by": "cdktf",
      data_classification: "internal_pii",
      "tag-_lives": "yes",
      note: "x".repeat(63),
    });
    for (const [key, value] of Object.entries(provider().default_labels as Record<string, string>)) {
      expect(key).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
      expect(value).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
  });

  it("does not repeat the environment labels on resources the provider labels", () => {
    const perResourceLabels = Object.entries(stack.json.resource ?? {})
      .filter(([type]) => type !== "google_sql_database_instance")
      .flatMap(([, resources]) => Object.values(resources).map((resource) => (resource.labels ?? {}) as Record<string, string>));
    expect(perResourceLabels.some((labels) => "environment" in labels || "owner" in labels)).toBe(false);
  });

  it("rejects tags that collide once sanitized, naming the spec's tag", () => {
    // A platform key in other case is refused by the spec itself, on every cloud (Azure ignores case too).
    expect(() => synthInfra({ ...gcpSpec(), tags: { Owner: "someone-else" } })).toThrow(/tags\.Owner: given "someone-else"; accepted: a key other than .* in any case/);
    expect(() => synthInfra({ ...gcpSpec(), tags: { "team.name": "a", "team@name": "b" } })).toThrow(/tags\.team@name: .*both become "team_name"/);
  });

  it("enables the APIs the environment uses, and never disables them on destroy", () => {
    const services = stack.all("google_project_service");
    expect(services.map((s) => s.service).sort()).toEqual([
      "binaryauthorization.googleapis.com",
      "cloudkms.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "compute.googleapis.com",
      "container.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "secretmanager.googleapis.com",
      "servicenetworking.googleapis.com",
      "sqladmin.googleapis.com",
      "storage.googleapis.com",
    ]);
    for (const service of services) expect(service).toMatchObject({ project: "acme-data-test", disable_on_destroy: false });
    expect(stack.one("google_container_cluster").depends_on).toContainEqual(expect.stringMatching(/google_project_service\.platform_apis_container_/));
  });
});
