/**
 * `npm run schema`: writes schema/environment.schema.json, the JSON Schema of an environment
 * spec generated from the zod schema (zod 4 `z.toJSONSchema`, the input side: what a user writes,
 * defaults optional). Editors use it for YAML descriptors (`# yaml-language-server: $schema=...`)
 * to complete fields and mark wrong ones; __tests__/descriptors.test.ts fails when it is stale.
 *
 * It holds what the schema's types say (fields, enums, patterns, bounds). The checks written as
 * code (cross-field rules, the clouds' own rules, checks across environments) are not in it:
 * `npm run validate` is the full check.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { environmentSchema } from "../constructs/core/spec";

export const SCHEMA_FILE = join(__dirname, "..", "schema", "environment.schema.json");

/** The schema file's text: stable JSON with a title and an id editors show. */
export function environmentJsonSchema(): string {
  const schema = z.toJSONSchema(environmentSchema, { io: "input", target: "draft-2020-12" });
  const { $schema, ...rest } = schema;
  const document = {
    $schema,
    title: "Environment spec (oss-data-platform)",
    description: "One environment of the data platform. Generated from constructs/core/spec.ts by `npm run schema`; `npm run validate` runs the checks this schema cannot express.",
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, environmentJsonSchema());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
