import { describe, expect, it } from "vitest";
import { baseSpec } from "../support/fixtures";
import { synthInfra } from "../support/synth";

describe("AWS tags", () => {
  const stack = synthInfra({ ...baseSpec(), tags: { "data-classification": "internal" } });

  it("sets environment, owner, cost centre and managed-by once, as provider default_tags", () => {
    const provider = stack.json.provider?.aws?.[0];
    expect(provider).toMatchObject({
      region: "eu-central-1",
      allowed_account_ids: ["123456789012"],
      default_tags: [{ tags: { environment: "test", owner: "platform-team", "cost-centre": "cc-42", "managed-by": "cdktf", "data-classification": "internal" } }],
    });
  });

  it("does not repeat the environment tags on individual resources", () => {
    const perResourceTags = Object.values(stack.json.resource ?? {}).flatMap((resources) =>
      Object.values(resources).map((resource) => (resource.tags ?? {}) as Record<string, string>),
    );
    expect(perResourceTags.some((tags) => "environment" in tags || "owner" in tags)).toBe(false);
  });
});
