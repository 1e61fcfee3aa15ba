/**
 * Which attribute changes make a provider replace a resource, per provider and version: the
 * tables in `scripts/provider-rules/<provider>-<version>.json`, each derived from the provider's
 * source at that tag (the file says which). A provider version or resource type without a table
 * is "unknown", never assumed to update in place.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const RULES_DIR = join(__dirname, "provider-rules");

export interface ResourceRules {
  /** Dotted attribute paths whose change always replaces the resource (`launch_template.id`). */
  readonly attributes: readonly string[];
  /** Paths whose change replaces the resource only in some cases, and when. */
  readonly conditional?: readonly {
    readonly path: string;
    readonly when: unknown;
    /**
     * The provider's condition requires a set old value (a CustomizeDiff `ForceNewIfChange` whose
     * function starts with `old != ""`): setting the path where it was unset never replaces.
     */
    readonly onlyFromSet?: boolean;
  }[];
  /**
   * Dotted paths both Optional and Computed in the provider's schema: left out of the
   * configuration, they keep the value in state (Terraform plans no change), so removing one
   * never clears it.
   */
  readonly keptWhenRemoved?: readonly string[];
  /** Where in the provider's source the rule comes from. */
  readonly file?: string;
}

export interface ProviderRules {
  /** `hashicorp/aws`, or the short name `aws`. */
  readonly provider: string;
  readonly version: string;
  /** Repository and tag the table was derived from. */
  readonly source: string;
  readonly replaceForcing: Readonly<Record<string, ResourceRules>>;
}

/** Provider type from a required_providers source: `aws`, `hashicorp/aws`, `registry.terraform.io/hashicorp/aws` → `aws`. */
export const providerType = (source: string): string => source.split("/").at(-1) ?? source;

export type RuleTables = ReadonlyMap<string, ProviderRules>;

export const ruleKey = (type: string, version: string): string => `${type}@${version}`;

/** Every table of a directory, by `<provider type>@<version>`; an absent directory has none. */
export function loadRules(dir: string = RULES_DIR): RuleTables {
  const tables = new Map<string, ProviderRules>();
  if (!existsSync(dir)) return tables;
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".json")).sort()) {
    const table = JSON.parse(readFileSync(join(dir, file), "utf8")) as ProviderRules;
    // Other files (indexes, sources) are not tables.
    if (typeof table.replaceForcing !== "object" || table.replaceForcing === null) continue;
    const expected = `${providerType(table.provider)}-${table.version}.json`;
    if (file !== expected) throw new Error(`${join(dir, file)}: provider ${table.provider} ${table.version} belongs in ${expected}`);
    tables.set(ruleKey(providerType(table.provider), table.version), table);
  }
  return tables;
}
