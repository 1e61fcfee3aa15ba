/**
 * Custom resources checked the way the API server checks them against the CRDs of the pinned
 * operators (`../shared/crds/`, sources in SOURCES.txt): External Secrets 2.9.0, cert-manager
 * v1.21.1 and the prometheus-operator CRDs bundled with kube-prometheus-stack 88.5.3.
 *
 * What the API server does, encoded (k8s.io/apiextensions-apiserver at v0.31.0):
 * - the `apiVersion` must name a version the CRD serves (pkg/apiserver/customresource_handler.go);
 * - the object is validated against that version's `openAPIV3Schema`
 *   (pkg/apiserver/validation/validation.go), including `x-kubernetes-int-or-string`, `nullable`
 *   and the CEL rules in `x-kubernetes-validations` (pkg/apiserver/schema/cel; evaluated here
 *   with a CEL library; transition rules on `oldSelf` only apply to updates and are skipped);
 * - fields the schema does not declare are pruned (pkg/apiserver/schema/pruning/algorithm.go)
 *   unless `x-kubernetes-preserve-unknown-fields`; since 1.27 the server only warns about them
 *   (field validation "Warn"), so a misspelt field silently does nothing. Here they are errors;
 * - cluster-scoped kinds take no namespace, namespaced kinds one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { evaluate } from "@marcbachmann/cel-js";
import { parseAllDocuments } from "yaml";
import { isMap } from "../values";
import type { KubeObject, Located } from "../../../scripts/rendered-apps";
import { CORE_GROUPS } from "./openapi";
import { ENCODED_CRDS } from "./encoded-crds";

export const CRDS_DIR = resolve(process.env.PLATFORM_CRDS_DIR ?? join(__dirname, "..", "..", "..", "..", "shared", "crds"));

type Schema = Record<string, unknown>;

interface CelRule {
  readonly rule: string;
  readonly message?: string;
}

interface ServedVersion {
  readonly validate: ValidateFunction;
  /** CEL rules by JSON pointer pattern (`*` for list items and map values). */
  readonly rules: readonly { readonly pointer: readonly string[]; readonly rules: readonly CelRule[] }[];
}

export interface CustomResourceDefinition {
  readonly group: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Every version, served or not. */
  readonly versions: ReadonlyMap<string, ServedVersion | "not served">;
}


/**
 * A structural schema as JSON Schema with the API server's semantics: undeclared fields are
 * errors, int-or-string and nullable as Kubernetes means them, and metadata left to the name rules.
 */
export function toJsonSchema(node: Schema, root = true): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-") || key === "nullable") continue;
    if (key === "properties" && isMap(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, root && name === "metadata" ? { type: "object" } : toJsonSchema(child as Schema, false)]));
    } else if ((key === "items" || key === "additionalProperties" || key === "not") && isMap(value)) {
      out[key] = toJsonSchema(value, false);
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = value.map((child) => toJsonSchema(child as Schema, false));
    } else {
      out[key] = value;
    }
  }
  if (node["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }, ...(Array.isArray(out.anyOf) ? out.anyOf : [])];
  }
  if (node.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  const objectLike = out.type === "object" || (Array.isArray(out.type) && out.type.includes("object"));
  if (objectLike && node["x-kubernetes-preserve-unknown-fields"] !== true && !("additionalProperties" in out)) {
    // Without properties and without preserve-unknown-fields, pruning drops every field.
    out.additionalProperties = false;
  }
  return out;
}

/** CEL rules of a schema by the path of the node they apply to. */
function celRules(node: Schema, pointer: readonly string[] = []): ServedVersion["rules"] {
  const here = Array.isArray(node["x-kubernetes-validations"]) ? [{ pointer, rules: node["x-kubernetes-validations"] as CelRule[] }] : [];
  const below: ServedVersion["rules"][number][] = [];
  if (isMap(node.properties)) for (const [name, child] of Object.entries(node.properties)) below.push(...celRules(child as Schema, [...pointer, name]));
  if (isMap(node.items)) below.push(...celRules(node.items, [...pointer, "*"]));
  if (isMap(node.additionalProperties)) below.push(...celRules(node.additionalProperties, [...pointer, "*"]));
  return [...here, ...below];
}

/**
 * CRD patterns are Go (RE2) regular expressions. The only RE2 syntax in the pinned CRDs that
 * JavaScript lacks is the inline flag `(?i)`; it is applied to the whole pattern here, which
 * accepts at most a little more than RE2 would.
 */
function re2(pattern: string, flags: string): RegExp {
  return pattern.includes("(?i)") ? new RegExp(pattern.replaceAll("(?i)", ""), `${flags}i`) : new RegExp(pattern, flags);
}
re2.code = 're2';

let loaded: Map<string, CustomResourceDefinition> | undefined;

/** The pinned CRDs by `group/kind`. */
export function customResourceDefinitions(dir = CRDS_DIR): Map<string, CustomResourceDefinition> {
  if (loaded && dir === CRDS_DIR) return loaded;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: re2 } });
  const crds = new Map<string, CustomResourceDefinition>();
  const add = (crd: { kind?: string; spec?: Schema } | null) => {
    if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) return;
    const spec = crd.spec as { group: string; scope: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[] };
    const versions = new Map<string, ServedVersion | "not served">();
    for (const version of spec.versions) {
      const schema = version.schema.openAPIV3Schema;
      versions.set(version.name, version.served ? { validate: ajv.compile(toJsonSchema(schema)), rules: celRules(schema) } : "not served");
    }
    crds.set(`${spec.group}/${spec.names.kind}`, { group: spec.group, kind: spec.names.kind, namespaced: spec.scope === "Namespaced", versions });
  };
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".yaml")).sort()) {
    for (const document of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) add(document.toJS({ maxAliasCount: -1 }) as { kind?: string; spec?: Schema } | null);
  }
  // CRDs not in ../shared, encoded here from their upstream source (each file cites it).
  for (const crd of ENCODED_CRDS) add(crd);
  if (dir === CRDS_DIR) loaded = crds;
  return crds;
}

/** The values at a path pattern in an object (`*` spreads over list items and map values). */
function valuesAt(value: unknown, pointer: readonly string[]): unknown[] {
  if (pointer.length === 0) return [value];
  const [head, ...rest] = pointer;
  if (head === "*") return Array.isArray(value) ? value.flatMap((child) => valuesAt(child, rest)) : isMap(value) ? Object.values(value).flatMap((child) => valuesAt(child, rest)) : [];
  return isMap(value) && head in value ? valuesAt(value[head], rest) : [];
}

/**
 * Problems the API server would report for a custom resource: a group Kubernetes does not serve
 * must be defined by a pinned CRD. [] for core kinds (see openapi.ts).
 */
export function customResourceViolations({ source, object }: Located<KubeObject>, crds = customResourceDefinitions()): string[] {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
  if (CORE_GROUPS.has(group)) return [];
  const crd = crds.get(`${group}/${object.kind}`);
  if (!crd) return [`${source}: no pinned CRD defines ${object.apiVersion} ${object.kind} (see ../shared/crds)`];
  const served = crd.versions.get(version);
  if (served === undefined || served === "not served") {
    const accepted = [...crd.versions].filter(([, v]) => v !== "not served").map(([name]) => `${group}/${name}`);
    return [`${source}: ${object.kind} ${object.apiVersion} is not served by the pinned CRD; served: ${accepted.join(", ")}`];
  }
  const found: string[] = [];
  if (!crd.namespaced && object.metadata.namespace !== undefined) found.push(`${source}: ${object.kind} is cluster-scoped but names namespace ${object.metadata.namespace}`);
  if (!served.validate(object)) {
    for (const error of served.validate.errors ?? []) found.push(`${source}: ${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`);
  }
  for (const { pointer, rules } of served.rules) {
    for (const self of valuesAt(object, pointer)) {
      for (const { rule, message } of rules) {
        if (/\boldSelf\b/.test(rule)) continue;
        let result: unknown;
        try {
          result = evaluate(rule, { self });
        } catch (error) {
          result = `not evaluable (${(error as Error).message})`;
        }
        if (result !== true) found.push(`${source}: /${pointer.join("/")} fails the CRD rule ${JSON.stringify(rule)}: ${message ?? String(result)}`);
      }
    }
  }
  return found;
}
