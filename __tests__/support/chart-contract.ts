/**
 * Checks rendered Helm values against the upstream chart contracts in `../shared/charts/`
 * (values.yaml, values.schema.json, the value paths the templates read, bundled subcharts):
 * - the values Helm would use (chart defaults merged with ours) must pass values.schema.json;
 * - every key path we set must exist in the chart's default values.yaml, or be read by its
 *   templates, or sit under a free-form map (a default of `{}`, a list, or an open path such as
 *   annotations, env, config sections).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";

export const CHARTS_DIR = resolve(process.env.PLATFORM_CHARTS_DIR ?? join(__dirname, "..", "..", "..", "shared", "charts"));

type Path = readonly string[];

export interface ChartContract {
  readonly folder: string;
  readonly defaults: Record<string, unknown>;
  readonly schema?: Record<string, unknown>;
  /** Value paths the templates read. */
  readonly referenced: readonly Path[];
  /** Paths whose whole subtree is free-form. */
  readonly open: readonly Path[];
  readonly subcharts: ReadonlyMap<string, ChartContract>;
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : fallback;
}

/** checker.json may write a path as a list of keys or as a dotted string. */
const toPath = (path: Path | string): Path => (typeof path === "string" ? path.split(".") : path);

/**
 * Paths the templates read inside a `{{ with .Values.x }}` block, as `.field`: template-refs.json
 * records only the block's own path (`x`), so the fields below it are listed here from the
 * templates at the pinned version.
 * - datahub 1.1.0 (acryldata/datahub-helm 0e3940bd, charts/datahub/subcharts/datahub-frontend/
 *   templates/deployment.yaml, `with .Values.oidcAuthentication`).
 */
const WITH_SCOPED_REFS: Readonly<Record<string, readonly Path[]>> = {
  datahub: ["enabled", "clientId", "clientSecret", "oidcBaseUrl", "user_name_claim", "user_name_claim_regex", "provider", "oktaDomain", "azureTenantId", "discoveryUri", "scope"]
    .map((field) => ["datahub-frontend", "oidcAuthentication", field])
    .concat([["datahub-frontend", "oidcAuthentication", "clientSecretRef", "secretRef"], ["datahub-frontend", "oidcAuthentication", "clientSecretRef", "secretKey"]]),
};

export function loadChart(folder: string, dir = join(CHARTS_DIR, folder)): ChartContract {
  // A bundled subchart without its own template refs borrows those of the same chart kept at top level.
  const refsDir = existsSync(join(dir, "template-refs.json")) ? dir : join(CHARTS_DIR, folder.split("/").pop() as string);
  const refs = readJson<{ referenced?: Path[]; open?: Path[] }>(join(refsDir, "template-refs.json"), {});
  const checker = readJson<{ openPaths?: (Path | string)[] }>(join(refsDir, "checker.json"), {});
  const subchartsDir = join(dir, "subcharts");
  const subcharts = new Map<string, ChartContract>();
  if (existsSync(subchartsDir)) {
    for (const name of readdirSync(subchartsDir)) subcharts.set(name, loadChart(`${folder}/${name}`, join(subchartsDir, name)));
  }
  // Dependencies the contract does not bundle come from other repositories: their sections are
  // not ours to check (shared/charts/README: "the checker accepts any key beneath those sections").
  const chartYaml = (parse(readFileSync(join(dir, "Chart.yaml"), "utf8")) ?? {}) as { dependencies?: { name: string; alias?: string }[] };
  const unbundled = (chartYaml.dependencies ?? []).map((dep) => dep.alias ?? dep.name).filter((key) => !subcharts.has(key));
  const schemaPath = join(dir, "values.schema.json");
  return {
    folder,
    defaults: (parse(readFileSync(join(dir, "values.yaml"), "utf8")) ?? {}) as Record<string, unknown>,
    schema: existsSync(schemaPath) ? readJson<Record<string, unknown>>(schemaPath, {}) : undefined,
    referenced: [...(refs.referenced ?? []), ...(WITH_SCOPED_REFS[folder] ?? [])],
    open: [...(refs.open ?? []), ...(checker.openPaths ?? []).map(toPath), ...unbundled.map((key) => [key])],
    subcharts,
  };
}

const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((key, i) => path[i] === key);

/**
 * Keys whose contents are free-form by Kubernetes or chart convention (maps of labels, env,
 * resources, configuration-file sections): nothing below them is checked against defaults.
 */
const FREE_FORM_KEYS = new Set([
  "annotations",
  "podAnnotations",
  "labels",
  "podLabels",
  "env",
  "extraEnv",
  "extraEnvs",
  "config",
  "resources",
  "nodeSelector",
  "tolerations",
  "affinity",
  "securityContext",
  "podSecurityContext",
]);

interface Scope {
  readonly referenced: readonly Path[];
  readonly open: readonly Path[];
  /** Length of the path prefix that leads to this (sub)chart's root. */
  readonly base: number;
}

/** Key paths of `values` the chart does not know, as dotted strings. */
export function unknownPaths(chart: ChartContract, values: Record<string, unknown>): string[] {
  const unknown: string[] = [];
  const visit = (value: unknown, defaults: unknown, path: Path, scope: Scope): void => {
    const local = path.slice(scope.base);
    if (scope.open.some((open) => startsWith(local, open))) return;
    if (!isMap(value)) return;
    if (local.length > 0 && FREE_FORM_KEYS.has(local[local.length - 1])) return;
    // A default of {} or a list is a free-form map; so is a leaf the templates read whole (toYaml).
    if (isMap(defaults) && Object.keys(defaults).length === 0) return;
    if (Array.isArray(defaults)) return;
    const readWhole = scope.referenced.some((ref) => ref.length === local.length && startsWith(ref, local));
    const readBelow = scope.referenced.some((ref) => ref.length > local.length && startsWith(ref, local));
    if (!isMap(defaults) && local.length > 0 && readWhole && !readBelow) return;
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      const childLocal = [...local, key];
      const sub = local.length === 0 ? chart.subcharts.get(key) : undefined;
      if (scope.base === 0 && sub) {
        // Helm merges the parent's values for a subchart deeply over the subchart's defaults;
        // the parent's templates may read subchart keys too.
        const parentRefs = (refs: readonly Path[]) => refs.filter((ref) => ref[0] === key).map((ref) => ref.slice(1));
        visit(child, mergeValues(sub.defaults, isMap(defaults) ? defaults[key] : undefined), childPath, {
          referenced: [...sub.referenced, ...parentRefs(scope.referenced)],
          open: [...sub.open, ...parentRefs(scope.open)],
          base: childPath.length,
        });
        continue;
      }
      if (local.length === 0 && key === "global") continue;
      const known = isMap(defaults) && key in defaults;
      const referenced = scope.referenced.some((ref) => startsWith(ref, childLocal));
      if (!known && !referenced) {
        unknown.push(childPath.join("."));
        continue;
      }
      visit(child, isMap(defaults) ? defaults[key] : undefined, childPath, scope);
    }
  };
  visit(values, chart.defaults, [], { referenced: chart.referenced, open: chart.open, base: 0 });
  return unknown;
}

/** Helm's merge of user values over chart defaults: maps merge, everything else replaces. */
export function mergeValues(defaults: unknown, overrides: unknown): unknown {
  if (!isMap(defaults) || !isMap(overrides)) return overrides === undefined ? defaults : overrides;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete merged[key];
    else merged[key] = mergeValues(defaults[key], value);
  }
  return merged;
}

/** Compiled schemas, once per schema object (a compile of the larger charts' schemas takes most of a check). */
const validators = new WeakMap<object, ReturnType<Ajv["compile"]>>();
function compiled(chartSchema: Record<string, unknown>): ReturnType<Ajv["compile"]> {
  const cached = validators.get(chartSchema);
  if (cached !== undefined) return cached;
  const { $schema: _ignored, ...schema } = chartSchema;
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  validators.set(chartSchema, validate);
  return validate;
}

/** Schema errors of the merged values, or [] when the chart has no schema or they pass. */
export function schemaErrors(chart: ChartContract, values: Record<string, unknown>): string[] {
  if (!chart.schema) return [];
  const validate = compiled(chart.schema);
  if (validate(mergeValues(chart.defaults, values))) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`);
}

/** Every chart contract in shared/charts, by the chart's name and version (its Chart.yaml, as SOURCE.txt records). */
export function contractFolders(): { folder: string; chart: string; version: string }[] {
  return readdirSync(CHARTS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(CHARTS_DIR, entry.name, "Chart.yaml")))
    .map((entry) => {
      const chart = parse(readFileSync(join(CHARTS_DIR, entry.name, "Chart.yaml"), "utf8")) as { name: string; version: string };
      return { folder: entry.name, chart: chart.name, version: String(chart.version) };
    });
}

/** What checking a stack's releases against the contracts found: problems, and the checks that could not run, each with its reason. */
export interface ContractReport {
  readonly checked: readonly string[];
  readonly problems: readonly string[];
  readonly unchecked: readonly string[];
}

/**
 * Checks the values of every helm_release of a synthesized apps stack (ours merged with the
 * spec's `values`, exactly as synthesized) against the contract of its chart at its version: the
 * key paths (`unknownPaths`) and the schema (`schemaErrors`). A release of a chart that has a
 * contract, at a version that has none (the spec's `chartVersion`), is not checked against
 * another version's contract, which would pass keys the new templates dropped or refuse keys
 * they added: it is listed in `unchecked` with the version, the contract's and the checks that
 * did not run. Charts without any contract (the operators and add-ons) are not listed.
 */
const loadedContracts = new Map<string, ChartContract>();

export function releaseContracts(stackText: string): ContractReport {
  const folders = contractFolders();
  const stack = JSON.parse(stackText) as { resource?: { helm_release?: Record<string, { name: string; chart: string; version: string; values?: string[] }> } };
  const checked: string[] = [];
  const problems: string[] = [];
  const unchecked: string[] = [];
  for (const [id, release] of Object.entries(stack.resource?.helm_release ?? {})) {
    const contracts = folders.filter((folder) => folder.chart === release.chart);
    if (contracts.length === 0) continue;
    const contract = contracts.find((folder) => folder.version === release.version);
    if (contract === undefined) {
      const pinned = contracts.map((folder) => `${folder.version} (shared/charts/${folder.folder}/SOURCE.txt)`).join(", ");
      unchecked.push(`helm_release.${id}: chart ${release.chart} ${release.version} differs from the contract's ${pinned}; not run: the key-path check (unknownPaths) and the values.schema.json check (schemaErrors)`);
      continue;
    }
    // Terraform references (`${...}`) may hold quotes; they are strings to the chart.
    const values = (release.values ?? []).map((text) => JSON.parse(text.replace(/\$\{[^}]*\}/g, (ref) => ref.replace(/"/g, "'"))) as Record<string, unknown>).reduce((merged, doc) => mergeValues(merged, doc) as Record<string, unknown>, {});
    const chart = loadedContracts.get(contract.folder) ?? loadChart(contract.folder);
    loadedContracts.set(contract.folder, chart);
    problems.push(...unknownPaths(chart, values).map((path) => `helm_release.${id} (${release.chart} ${release.version}): ${path} is not a key of the chart`));
    problems.push(...schemaErrors(chart, values).map((error) => `helm_release.${id} (${release.chart} ${release.version}): values.schema.json: ${error}`));
    checked.push(`helm_release.${id}`);
  }
  return { checked, problems, unchecked };
}
