import { describe, expect, it } from "vitest";
import { synthInfra } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

describe("GCP Cloud Storage bucket", () => {
  const staging = synthInfra(gcpSpec());
  const prod = synthInfra(gcpProductionSpec());

  it("has a deterministic, globally unique name in the environment's region", () => {
    const bucket = staging.one("google_storage_bucket");
    expect(bucket.name).toMatch(/^test-logs-[0-9a-f]{8}$/);
    expect(String(bucket.name).length).toBeLessThanOrEqual(63);
    expect(bucket.location).toBe("europe-west1");
    expect(synthInfra(gcpSpec()).one("google_storage_bucket").name).toBe(bucket.name);
    const otherProject = synthInfra({ ...gcpSpec(), accounts: { gcp: { region: "europe-west1", projectId: "other-project" } } });
    expect(otherProject.one("google_storage_bucket").name).not.toBe(bucket.name);
    expect(staging.json.output?.bucket_logs_url?.value).toBe(`gs://${String(bucket.name)}`);
  });

  it("uses uniform bucket-level access", () => {
    expect(staging.one("google_storage_bucket").uniform_bucket_level_access).toBe(true);
  });

  it("enforces public access prevention", () => {
    expect(staging.one("google_storage_bucket").public_access_prevention).toBe("enforced");
  });

  it("versions objects unless the spec turns it off", () => {
    expect(staging.one("google_storage_bucket").versioning).toEqual({ enabled: true });
    const unversioned = synthInfra({ ...gcpSpec(), buckets: [{ name: "logs", purpose: "logs", versioning: false }] });
    expect(unversioned.one("google_storage_bucket").versioning).toEqual({ enabled: false });
  });

  it("applies the spec's lifecycle rules", () => {
    expect(staging.one("google_storage_bucket").lifecycle_rule).toEqual([
      { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 7 } },
      { action: { type: "Delete" }, condition: { days_since_noncurrent_time: 90 } },
      { action: { type: "Delete" }, condition: { age: 30, with_state: "LIVE" } },
    ]);
    const keepForever = synthInfra({ ...gcpSpec(), buckets: [{ name: "logs", purpose: "logs" }] });
    expect(keepForever.one("google_storage_bucket").lifecycle_rule).toHaveLength(2);
  });

  it("is never force-destroyed, and protected from destroy in production", () => {
    expect(staging.one("google_storage_bucket")).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: false } });
    expect(prod.one("google_storage_bucket")).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
  });
});
