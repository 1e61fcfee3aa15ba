import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderParityDoc, renderReadme } from "../scripts/docs";

const root = join(__dirname, "..");

describe("generated docs are up to date (run `npm run docs` when this fails)", () => {
  it("docs/parity.md", () => {
    expect(readFileSync(join(root, "docs", "parity.md"), "utf8")).toBe(renderParityDoc());
  });

  it("the README size tables", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toBe(renderReadme(readme));
  });
});
