/**
 * Core Kubernetes objects (Namespace, ServiceAccount, Job, Role, ...) checked against the
 * OpenAPI schema of Kubernetes 1.31, the oldest version the spec accepts.
 *
 * The schema comes from cdk8s-plus-31 (cdk8s-team), whose Kubernetes types are generated from
 * the Kubernetes 1.31.0 OpenAPI document; its jsii assembly (`.jsii`, published with the package)
 * keeps, for every type and property, the OpenAPI definition and JSON field name it came from
 * (`docs.custom.schema`, e.g. `io.k8s.api.rbac.v1.PolicyRule#nonResourceURLs`), whether the field
 * is required, and its type. From that this builds a JSON Schema per kind: required fields,
 * types, and no undeclared field (a field Kubernetes 1.31 does not know is dropped with a
 * warning at best, rejected with strict field validation).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { isMap, list } from "../values";
import type { KubeObject, Located } from "../../../scripts/rendered-apps";

type Schema = Record<string, unknown>;

interface JsiiType {
  readonly kind: string;
  readonly datatype?: boolean;
  readonly namespace?: string;
  readonly docs?: { readonly custom?: { readonly schema?: string } };
  readonly properties?: readonly { readonly name: string; readonly optional?: boolean; readonly type: JsiiTypeRef; readonly docs?: { readonly custom?: { readonly schema?: string } } }[];
}

type JsiiTypeRef =
  | { readonly primitive: "string" | "number" | "boolean" | "any" | "date" | "json" }
  | { readonly fqn: string }
  | { readonly collection: { readonly kind: "array" | "map"; readonly elementtype: JsiiTypeRef } };

/** API groups by the package name Kubernetes' OpenAPI definitions use (`io.k8s.api.<package>.<version>.<Kind>`). */
const API_GROUPS: Readonly<Record<string, string>> = {
  core: "",
  apps: "apps",
  batch: "batch",
  policy: "policy",
  autoscaling: "autoscaling",
  rbac: "rbac.authorization.k8s.io",
  networking: "networking.k8s.io",
  storage: "storage.k8s.io",
  scheduling: "scheduling.k8s.io",
  coordination: "coordination.k8s.io",
  discovery: "discovery.k8s.io",
  node: "node.k8s.io",
  admissionregistration: "admissionregistration.k8s.io",
  certificates: "certificates.k8s.io",
};

/** The Kubernetes version of the schema (cdk8s-plus-31): the oldest the spec accepts. */
export const SCHEMA_KUBERNETES_VERSION = "1.31";

/** A resource quantity: a signed decimal number with an optional binary, decimal or exponent suffix. */
const QUANTITY = "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$";

function loadAssembly(): Record<string, JsiiType> {
  const require = createRequire(__filename);
  const root = dirname(require.resolve("cdk8s-plus-31/package.json"));
  return (JSON.parse(readFileSync(join(root, ".jsii"), "utf8")) as { types: Record<string, JsiiType> }).types;
}

/** The JSON field name a property came from: the text after `#` in its OpenAPI reference. */
const wireName = (property: { name: string; docs?: { custom?: { schema?: string } } }) => property.docs?.custom?.schema?.split("#")[1] ?? property.name;

class SchemaBuilder {
  readonly definitions: Record<string, Schema> = {};

  constructor(private readonly types: Record<string, JsiiType>) {}

  ref(type: JsiiTypeRef): Schema {
    if ("primitive" in type) {
      if (type.primitive === "any" || type.primitive === "json") return {};
      if (type.primitive === "date") return { type: "string" };
      return { type: type.primitive };
    }
    if ("collection" in type) {
      const element = this.ref(type.collection.elementtype);
      return type.collection.kind === "array" ? { type: "array", items: element } : { type: "object", additionalProperties: element };
    }
    const target = this.types[type.fqn];
    // Quantity and IntOrString are classes that render a number or a string; a quantity string
    // has the form k8s.io/apimachinery/pkg/api/resource/quantity.go parses.
    if (type.fqn.endsWith(".Quantity")) return { anyOf: [{ type: "number" }, { type: "string", pattern: QUANTITY }] };
    if (target?.kind === "class") return { type: ["string", "integer"] };
    if (target?.kind === "enum") return { type: "string" };
    const id = type.fqn.split(".").pop() as string;
    if (!(id in this.definitions)) {
      this.definitions[id] = {};
      this.definitions[id] = this.struct(target);
    }
    return { $ref: `#/definitions/${id}` };
  }

  struct(type: JsiiType, extra: Record<string, Schema> = {}): Schema {
    const properties: Record<string, Schema> = { ...extra };
    const required: string[] = [];
    for (const property of type.properties ?? []) {
      const name = wireName(property);
      properties[name] = this.ref(property.type);
      if (!property.optional) required.push(name);
    }
    return { type: "object", properties, required, additionalProperties: false };
  }
}

let validators: Map<string, ValidateFunction> | undefined;

/** A validator per `apiVersion/kind` of Kubernetes 1.31. */
export function coreValidators(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const types = loadAssembly();
  const ajv = new Ajv({ strict: false, allErrors: true });
  validators = new Map();
  for (const [fqn, type] of Object.entries(types)) {
    const definition = type.docs?.custom?.schema;
    if (!/\.k8s\.Kube\w+Props$/.test(fqn) || !definition) continue;
    const match = /^io\.k8s\.api\.(\w+)\.(\w+)\.(\w+)$/.exec(definition);
    if (!match || !(match[1] in API_GROUPS)) continue;
    const [, pkg, version, kind] = match;
    const apiVersion = API_GROUPS[pkg] === "" ? version : `${API_GROUPS[pkg]}/${version}`;
    const builder = new SchemaBuilder(types);
    const root = builder.struct(type, { apiVersion: { const: apiVersion }, kind: { const: kind } });
    validators.set(`${apiVersion}/${kind}`, ajv.compile({ ...root, definitions: builder.definitions }));
  }
  return validators;
}

/** API groups Kubernetes itself serves (the rest come from CRDs). */
export const CORE_GROUPS: ReadonlySet<string> = new Set(Object.values(API_GROUPS));

export const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

/**
 * Problems of a core object against Kubernetes 1.31's schema; [] for custom resources (see
 * crds.ts). A core kind or version 1.31 does not serve is a problem.
 */
export function coreObjectViolations({ source, object }: Located<KubeObject>): string[] {
  if (!CORE_GROUPS.has(groupOf(object.apiVersion))) return [];
  const validate = coreValidators().get(`${object.apiVersion}/${object.kind}`);
  if (!validate) return [`${source}: ${object.apiVersion} ${object.kind} is not a kind Kubernetes ${SCHEMA_KUBERNETES_VERSION} serves`];
  const schemaErrors = validate(object) ? [] : (validate.errors ?? []).map((error) => `${source}: ${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`);
  return [...schemaErrors, ...semanticViolations(object).map((problem) => `${source}: ${problem}`)];
}


/** Quantities in bytes or cores, for comparing a request with its limit. */
function quantityValue(quantity: unknown): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(quantity));
  if (!match) return Number.NaN;
  const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const decimal: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * (binary[match[2]] ?? decimal[match[2]] ?? Number.NaN);
}

/**
 * The API server's checks beyond the schema that the platform's objects could break, from
 * Kubernetes 1.31 source: a Job's pods restart OnFailure or Never (pkg/apis/batch/validation);
 * a container's request is at most its limit, ports are 1-65535 (pkg/apis/core/validation
 * ValidateResourceRequirements, validateContainerPorts); an RBAC rule names verbs and a subject
 * is a ServiceAccount, User or Group (pkg/apis/rbac/validation).
 */
function semanticViolations(object: KubeObject): string[] {
  const problems: string[] = [];
  const template = isMap(object.spec) && isMap(object.spec.template) && isMap(object.spec.template.spec) ? object.spec.template.spec : undefined;
  if (object.kind === "Job" && template && !["OnFailure", "Never"].includes(String(template.restartPolicy))) problems.push(`a Job's pods restart OnFailure or Never, not ${String(template.restartPolicy)}`);
  for (const container of [...list(template?.initContainers), ...list(template?.containers)].filter(isMap)) {
    const resources = isMap(container.resources) ? container.resources : {};
    const requests = isMap(resources.requests) ? resources.requests : {};
    const limits = isMap(resources.limits) ? resources.limits : {};
    for (const [resource, limit] of Object.entries(limits)) {
      if (requests[resource] !== undefined && quantityValue(requests[resource]) > quantityValue(limit)) problems.push(`container ${String(container.name)}: ${resource} request above its limit`);
    }
    for (const port of list(container.ports).filter(isMap)) {
      if (!(Number(port.containerPort) >= 1 && Number(port.containerPort) <= 65535)) problems.push(`container ${String(container.name)}: port ${String(port.containerPort)} outside 1-65535`);
    }
  }
  for (const rule of list(object.rules).filter(isMap)) if (list(rule.verbs).length === 0) problems.push("an RBAC rule without verbs");
  for (const subject of list(object.subjects).filter(isMap)) {
    if (!["ServiceAccount", "User", "Group"].includes(String(subject.kind))) problems.push(`an RBAC subject of kind ${String(subject.kind)}`);
  }
  return problems;
}
