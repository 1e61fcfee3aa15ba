/**
 * YAML descriptors (environments/*.yaml) and the JSON Schema editors use for them: the same
 * schema and messages as a TypeScript spec, with the line of each problem; the committed schema
 * is what the zod schema generates, and it refuses what the zod schema refuses.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { DescriptorError, parseDescriptor } from "../constructs/core/descriptor";
import { parseEnvironment, parseEnvironments, SpecErrors } from "../constructs/core/spec";
import { descriptorFiles, environments, environmentSource } from "../environments";
import { environmentJsonSchema, SCHEMA_FILE } from "../scripts/json-schema";
import { specChecks } from "../stacks/app";
import { baseSpec } from "./support/fixtures";

const ENVIRONMENTS_DIR = join(__dirname, "..", "environments");
const yamlFiles = readdirSync(ENVIRONMENTS_DIR).filter((file) => file.endsWith(".yaml"));

/** The message of parsing `text` as environments/x.yaml, beside the default environments. */
function messageOf(text: string): string {
  try {
    parseEnvironments([parseDescriptor(text, "environments/x.yaml")], () => "environments/x.yaml", specChecks);
    return "";
  } catch (error) {
    return (error as SpecErrors).message;
  }
}

/** Where `needle` is in `text`, 1-based, as editors number lines. */
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((line) => line.includes(needle)) + 1;

describe("YAML descriptors", () => {
  it("are each read from environments/ without being listed, named after their environment, and named in messages", () => {
    expect(yamlFiles.length).toBeGreaterThan(0);
    expect(Object.keys(descriptorFiles).sort()).toEqual([...yamlFiles].sort());
    for (const file of yamlFiles) {
      const spec = descriptorFiles[file] as { name: string };
      expect(`${spec.name}.yaml`).toBe(file);
      expect(environmentSource(environments.indexOf(spec as (typeof environments)[number]))).toBe(`environments/${file}`);
      // The schema line editors read is the first line, and points at the committed schema.
      expect(readFileSync(join(ENVIRONMENTS_DIR, file), "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=../schema/environment.schema.json");
    }
  });

  it("give the same problems as the same spec in TypeScript, each with the line of its field", () => {
    const spec = { ...baseSpec(), network: { cidr: "10.42.0.1/16" }, apps: [{ name: "airflow", database: "nope", bucket: "logs" }] };
    const text = stringify(spec);
    const fromTs = (() => {
      try {
        parseEnvironment(spec, specChecks);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    })();
    const fromYaml = messageOf(text);
    expect(fromYaml).toContain(`environments/x.yaml: environment "test" has 2 problems:`);
    // Only the line differs: `  - <path> (line N): <the TypeScript spec's message>`.
    expect(fromYaml.replace(/ \(line \d+\)/g, "")).toBe(`environments/x.yaml: ${fromTs}`);
    expect(fromYaml).toContain(`  - network.cidr (line ${lineOf(text, "cidr:")}): given "10.42.0.1/16"; accepted: a network address with no host bits set`);
    expect(fromYaml).toContain(`  - apps[0].database (line ${lineOf(text, "database: nope")}): given "nope"`);
  });

  it("name the line of an unknown field, and of the enclosing field for a missing one", () => {
    const { owner: _owner, ...withoutOwner } = baseSpec();
    const spec = { ...withoutOwner, cluster: { ...baseSpec().cluster, nodePools: [{ name: "system", size: "medium", minNodes: 2, maxNodes: 4, spott: true }] } };
    const text = stringify(spec);
    const message = messageOf(text);
    expect(message).toContain(`  - cluster.nodePools[0].spott (line ${lineOf(text, "spott:")}): unknown field; accepted: `);
    // A field missing at the top has no line of its own to name: the spec's path only.
    expect(message).toMatch(/^ {2}- owner: given nothing; accepted: /m);
  });

  it("refuse a key given twice, and a syntax error, in one line with file, line and column", () => {
    expect(() => parseDescriptor("name: a\nowner: b\nname: c\n", "environments/x.yaml")).toThrow(DescriptorError);
    expect(() => parseDescriptor("name: a\nowner: b\nname: c\n", "environments/x.yaml")).toThrow(/^environments\/x\.yaml:3:1 could not be loaded: Map keys must be unique$/);
    expect(() => parseDescriptor("name: a\nnetwork:\n  cidr: [10.0.0.0/16\n", "environments/x.yaml")).toThrow(/^environments\/x\.yaml:\d+:\d+ could not be loaded: [^\n]+$/);
    // An alias without its anchor fails in the yaml package's toJS, not in its errors: still the descriptor's line.
    expect(() => parseDescriptor("name: a\ntags:\n  team: *nope\n", "environments/x.yaml")).toThrow(/^environments\/x\.yaml:3:9 could not be loaded: Unresolved alias[^\n]*nope$/);
  });
});

describe("the JSON Schema of an environment (schema/environment.schema.json)", () => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as object;
  const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

  it("is what the zod schema generates now (npm run schema)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(environmentJsonSchema());
  });

  it("accepts every default environment, YAML and TypeScript", () => {
    for (const [index, spec] of environments.entries()) {
      expect({ file: environmentSource(index), valid: validateSchema(JSON.parse(JSON.stringify(spec))), errors: validateSchema.errors ?? null }).toEqual({ file: environmentSource(index), valid: true, errors: null });
    }
  });

  it("refuses what the zod schema refuses: an unknown field, a value outside an enum, a pattern", () => {
    const spec = descriptorFiles[yamlFiles[0]] as Record<string, unknown>;
    for (const [change, path] of [
      [{ colour: "blue" }, "colour"],
      [{ cloud: "ibm" }, "cloud"],
      [{ network: { cidr: "10.0.0.0" } }, "network.cidr"],
    ] as const) {
      const broken = { ...spec, ...change };
      expect(validateSchema(broken), `schema on ${path}`).toBe(false);
      expect(() => parseEnvironment(broken), `zod on ${path}`).toThrow(path);
    }
  });
});
