import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./support/outdir";

/** Lints one file with the project's own config and returns oxlint's exit code and report. */
function lint(source: string) {
  const dir = join(tempDir("lint"), "constructs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "example.ts");
  writeFileSync(file, source);
  const oxlint = join(process.cwd(), "node_modules", ".bin", "oxlint");
  const result = spawnSync(oxlint, ["--deny-warnings", "-c", join(process.cwd(), ".oxlintrc.json"), file], { encoding: "utf8" });
  return { status: result.status, report: result.stdout + result.stderr };
}

describe("lint rules", () => {
  it("rejects a provider barrel import", () => {
    // Assembled so that repository-wide greps for barrel imports do not match this test itself.
    const barrel = ["@cdktf", "provider-aws"].join("/");
    const result = lint(`import { Vpc } from "${barrel}";\nexport const vpc = Vpc;\n`);
    expect(result.status).not.toBe(0);
    expect(result.report).toContain("Import the provider class by deep path");
  });

  it("rejects the lib barrel of a provider too", () => {
    const result = lint('import * as google from "@cdktf/provider-google/lib";\nexport const g = google;\n');
    expect(result.status).not.toBe(0);
  });

  it("accepts a deep import", () => {
    const result = lint('import { Vpc } from "@cdktf/provider-aws/lib/vpc";\nexport const vpc = Vpc;\n');
    expect(result.report).not.toContain("no-restricted-imports");
    expect(result.status).toBe(0);
  });

  it("rejects any", () => {
    expect(lint("export const value: any = 1;\n").status).not.toBe(0);
  });
});
