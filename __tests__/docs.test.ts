import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RULES } from "../constructs/policies";
import { renderDiagrams, renderParityDoc, renderReadme, securityControl } from "../scripts/docs";
import { DIAGRAMS_DIR } from "../scripts/diagram";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";

const root = join(__dirname, "..");

describe("generated docs are up to date (run `npm run docs` when this fails)", () => {
  it("docs/parity.md", () => {
    expect(readFileSync(join(root, "docs", "parity.md"), "utf8")).toBe(renderParityDoc());
  });

  it("docs/parity.md's security controls: one row per rule of the policy pack, a check, pending note or reason on every cloud", () => {
    const doc = readFileSync(join(root, "docs", "parity.md"), "utf8");
    const rows = doc.slice(doc.indexOf("## Security controls")).split("\n").filter((line) => /^\| [a-z-]+ \| `/.test(line));
    expect(rows.map((line) => /`([a-z0-9-]+)`/.exec(line)?.[1])).toEqual(RULES.map((rule) => rule.id));
    expect(RULES.flatMap((rule) => (["aws", "azure", "gcp"] as const).filter((cloud) => securityControl(rule, cloud) === "none").map((cloud) => `${rule.id} on ${cloud}`))).toEqual([]);
    // Azure's zonal NAT gap says why (README, Azure NAT row).
    expect(securityControl(RULES.find((rule) => rule.id === "nat-per-zone") as (typeof RULES)[number], "azure")).toMatch(/^pending: azurerm 4\.55\.0 accepts only the Standard .*StandardV2/);
  });

  it("the README size tables", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toBe(renderReadme(readme));
  });

  it("synthesized/diagrams: one picture per environment in environments/, drawn from the committed synthesized stacks", () => {
    const dir = join(root, COMMITTED_OUTPUT_DIR, DIAGRAMS_DIR);
    const expected = renderDiagrams();
    const committed = existsSync(dir) ? readdirSync(dir).sort() : [];
    expect(committed, `run \`npm run docs\` and commit ${COMMITTED_OUTPUT_DIR}/${DIAGRAMS_DIR}`).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) expect(readFileSync(join(dir, file), "utf8"), `${COMMITTED_OUTPUT_DIR}/${DIAGRAMS_DIR}/${file} is stale: run \`npm run docs\``).toBe(content);
  });
});
