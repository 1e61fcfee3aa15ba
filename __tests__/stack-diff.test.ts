import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EnvironmentInput } from "../constructs/core/spec";
import { synthesize } from "../stacks/app";
import { diffDirectories, renderSummary } from "../scripts/stack-diff";
import { baseSpec } from "./support/fixtures";
import { tempDir } from "./support/outdir";

function synthTo(spec: EnvironmentInput): string {
  const outdir = join(tempDir("diff"), "synthesized");
  expect(synthesize([spec], outdir)).toBe(0);
  return outdir;
}

const base = synthTo(baseSpec());
const infra = (dir: string, head: string) => diffDirectories(dir, head).find((d) => d.stack === "test-infra");

describe("pull-request diff of the synthesized Terraform", () => {
  it("reports nothing for an unchanged spec", () => {
    const diffs = diffDirectories(base, synthTo(baseSpec()));
    expect(diffs.every((d) => d.added.length + d.changed.length + d.destroyed.length + d.replaced.length === 0)).toBe(true);
    expect(renderSummary(diffs, false)).toContain("No resource changes.");
  });

  it("counts an in-place change and allows it", () => {
    const head = synthTo({ ...baseSpec(), buckets: [{ name: "logs", purpose: "logs", expirationDays: 60 }] });
    const diff = infra(base, head);
    expect(diff?.changed).toEqual([expect.stringMatching(/^aws_s3_bucket_lifecycle_configuration\.platform_bucket-logs_lifecycle_/)]);
    expect(diff?.stateful).toEqual([]);
  });

  it("refuses a renamed bucket: its data would be destroyed", () => {
    const head = synthTo({ ...baseSpec(), buckets: [{ name: "audit", purpose: "logs", expirationDays: 30 }], apps: [{ name: "airflow", database: "main", bucket: "audit" }] });
    const diff = infra(base, head);
    expect(diff?.stateful).toContainEqual(expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+ destroyed$/));
    expect(diff?.replaced).toContainEqual(expect.stringMatching(/address changed, now aws_s3_bucket\.platform_bucket-audit_/));
    const summary = renderSummary(diffDirectories(base, head), false);
    expect(summary).toContain("> [!CAUTION]");
    expect(summary).toContain("allow-stateful-replacement");
    expect(renderSummary(diffDirectories(base, head), true)).toContain("Allowed by label");
  });

  it("flags a change of a replace-forcing attribute (the bucket name) as a replacement", () => {
    const moved = { ...baseSpec(), accounts: { aws: { region: "eu-central-1", accountId: "210987654321" } } };
    const diff = infra(base, synthTo(moved));
    expect(diff?.replaced).toContainEqual(expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+ \(bucket changed\)$/));
    expect(diff?.stateful).toContainEqual(expect.stringMatching(/^aws_s3_bucket\.platform_bucket-logs_[A-F0-9]+ replaced$/));
  });
});
