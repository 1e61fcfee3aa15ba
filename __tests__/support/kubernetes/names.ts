/**
 * Kubernetes' name rules, as the API server of the oldest Kubernetes the spec accepts (1.31)
 * applies them, encoded from upstream at v1.31.0:
 * - k8s.io/apimachinery/pkg/util/validation/validation.go: IsDNS1123Label, IsDNS1123Subdomain,
 *   IsDNS1035Label, IsQualifiedName, IsValidLabelValue, IsConfigMapKey, IsEnvVarName;
 * - k8s.io/apimachinery/pkg/api/validation/path/name.go: IsValidPathSegmentName (RBAC names);
 * - pkg/apis/core/validation/validation.go: which rule each kind's name and each reference uses
 *   (ValidateNamespaceName = DNS-1123 label, ValidateServiceName = DNS-1035 label, Secret,
 *   ConfigMap and ServiceAccount names = DNS-1123 subdomain, container and volume names = DNS-1123
 *   label, env names = IsEnvVarName, data keys = IsConfigMapKey);
 * - pkg/apis/rbac/validation/validation.go: ValidateRBACName = path segment name;
 * - pkg/apis/batch/validation/validation.go: a Job's name becomes the value of the
 *   `batch.kubernetes.io/job-name` label of its pods, so it must also be a valid label value;
 * - apiextensions-apiserver: custom resources are named by NameIsDNSSubdomain.
 */
import type { KubeObject, Located } from "../../../scripts/rendered-apps";

type Rule = (value: string) => string | undefined;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export const dns1123Label: Rule = (value) =>
  value.length <= 63 && LABEL.test(value) ? undefined : "a DNS-1123 label (at most 63 of a-z, 0-9 and '-', starting and ending alphanumeric)";
export const dns1035Label: Rule = (value) =>
  value.length <= 63 && LABEL_1035.test(value) ? undefined : "a DNS-1035 label (at most 63 of a-z, 0-9 and '-', starting with a letter)";
export const dns1123Subdomain: Rule = (value) =>
  value.length <= 253 && SUBDOMAIN.test(value) ? undefined : "a DNS-1123 subdomain (at most 253 of a-z, 0-9, '-' and '.', each part starting and ending alphanumeric)";
export const pathSegmentName: Rule = (value) =>
  value !== "" && value !== "." && value !== ".." && !/[/%]/.test(value) ? undefined : "a path segment name (not '.', '..', nor containing '/' or '%')";
export const configMapKey: Rule = (value) =>
  value.length <= 253 && CONFIG_MAP_KEY.test(value) && value !== "." && !value.startsWith("..")
    ? undefined
    : "a Secret/ConfigMap key (at most 253 of a-z, A-Z, 0-9, '-', '_' and '.'; not '.' nor starting with '..')";
export const envVarName: Rule = (value) => (ENV_VAR_NAME.test(value) ? undefined : "an environment variable name ([-._a-zA-Z][-._a-zA-Z0-9]*)");
export const labelValue: Rule = (value) =>
  value === "" || (value.length <= 63 && QUALIFIED_NAME_PART.test(value)) ? undefined : "a label value (at most 63 of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending alphanumeric)";

/** A label or annotation key: an optional DNS-1123 subdomain prefix and '/', then a name of at most 63 characters. */
export const qualifiedName: Rule = (value) => {
  const parts = value.split("/");
  if (parts.length > 2) return "a qualified name (prefix/name)";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix === "" || dns1123Subdomain(prefix))) return "a qualified name whose prefix is a DNS-1123 subdomain";
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name) ? undefined : "a qualified name (name part: at most 63 of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending alphanumeric)";
};

/**
 * Helm release names (helm.sh/helm/v3 pkg/chartutil/validate_name.go, ValidateReleaseName): a
 * DNS-1123 subdomain of at most 53 characters, so the names charts derive from it still fit.
 */
export const helmReleaseName: Rule = (value) => dns1123Subdomain(value) ?? (value.length <= 53 ? undefined : "at most 53 characters (Helm's release name limit)");

/** Job names must be subdomains that also fit the job-name label of their pods. */
const jobName: Rule = (value) => dns1123Subdomain(value) ?? (labelValue(value) ? "at most 63 characters (it becomes the job-name label of its pods)" : undefined);

/** The rule for `metadata.name` of each kind; custom resources and other kinds use a DNS-1123 subdomain. */
const NAME_RULES: Readonly<Record<string, Rule>> = {
  Namespace: dns1123Label,
  Service: dns1035Label,
  Job: jobName,
  Role: pathSegmentName,
  RoleBinding: pathSegmentName,
  ClusterRole: pathSegmentName,
  ClusterRoleBinding: pathSegmentName,
};

export const nameRuleOf = (kind: string): Rule => NAME_RULES[kind] ?? dns1123Subdomain;

/**
 * References by field: the last keys of a path and the rule the referenced name or key follows.
 * A path matches when it ends with the pattern (`*` matches one list index or key).
 */
const REFERENCES: readonly { readonly path: readonly string[]; readonly rule: Rule; readonly what: string }[] = [
  { path: ["secretKeyRef", "name"], rule: dns1123Subdomain, what: "Secret name" },
  { path: ["secretKeyRef", "key"], rule: configMapKey, what: "Secret key" },
  { path: ["configMapKeyRef", "name"], rule: dns1123Subdomain, what: "ConfigMap name" },
  { path: ["configMapKeyRef", "key"], rule: configMapKey, what: "ConfigMap key" },
  { path: ["generatorRef", "name"], rule: dns1123Subdomain, what: "generator name" },
  { path: ["secretStoreRef", "name"], rule: dns1123Subdomain, what: "SecretStore name" },
  { path: ["target", "name"], rule: dns1123Subdomain, what: "target Secret name" },
  { path: ["privateKeySecretRef", "name"], rule: dns1123Subdomain, what: "Secret name" },
  { path: ["caProvider", "name"], rule: dns1123Subdomain, what: "ConfigMap name" },
  { path: ["auth", "serviceAccount", "name"], rule: dns1123Subdomain, what: "ServiceAccount name" },
  { path: ["remoteNamespace"], rule: dns1123Label, what: "namespace" },
  { path: ["roleRef", "name"], rule: pathSegmentName, what: "Role name" },
  { path: ["subjects", "*", "name"], rule: dns1123Subdomain, what: "ServiceAccount name" },
  { path: ["subjects", "*", "namespace"], rule: dns1123Label, what: "namespace" },
  { path: ["serviceAccountName"], rule: dns1123Subdomain, what: "ServiceAccount name" },
  { path: ["containers", "*", "name"], rule: dns1123Label, what: "container name" },
  { path: ["initContainers", "*", "name"], rule: dns1123Label, what: "container name" },
  { path: ["volumes", "*", "name"], rule: dns1123Label, what: "volume name" },
  { path: ["volumeMounts", "*", "name"], rule: dns1123Label, what: "volume name" },
  { path: ["env", "*", "name"], rule: envVarName, what: "environment variable name" },
  { path: ["data", "*", "secretKey"], rule: configMapKey, what: "Secret key" },
  { path: ["rewrite", "*", "regexp", "target"], rule: configMapKey, what: "Secret key" },
];

/** Maps whose keys become keys of a Secret or ConfigMap. */
const KEYED_MAPS: readonly (readonly string[])[] = [["template", "data"], ["data"]];

const endsWith = (path: readonly string[], pattern: readonly string[]) =>
  path.length >= pattern.length && pattern.every((key, i) => key === "*" || key === path[path.length - pattern.length + i]);

/** Every violation of a name rule in one object: its own name, its labels and annotations, and the names it refers to. */
export function nameViolations({ source, object }: Located<KubeObject>): string[] {
  const found: string[] = [];
  const check = (where: string, value: unknown, rule: Rule, what: string) => {
    if (typeof value !== "string") return void found.push(`${source}: ${where} (${what}) is ${JSON.stringify(value)}, not a literal string`);
    const problem = rule(value);
    if (problem) found.push(`${source}: ${where} = ${JSON.stringify(value)} is not ${problem} (${what})`);
  };
  check("metadata.name", object.metadata.name, nameRuleOf(object.kind), `${object.kind} name`);
  if (object.metadata.namespace !== undefined) check("metadata.namespace", object.metadata.namespace, dns1123Label, "namespace");
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    check(`metadata.labels key`, key, qualifiedName, "label key");
    check(`metadata.labels["${key}"]`, value, labelValue, "label value");
  }
  for (const key of Object.keys(object.metadata.annotations ?? {})) check("metadata.annotations key", key, qualifiedName, "annotation key");

  const visit = (value: unknown, path: string[]) => {
    if (Array.isArray(value)) return value.forEach((child, i) => visit(child, [...path, String(i)]));
    if (value === null || typeof value !== "object") {
      for (const reference of REFERENCES) if (endsWith(path, reference.path)) check(path.join("."), value, reference.rule, reference.what);
      return;
    }
    const map = value as Record<string, unknown>;
    // A Secret's or ConfigMap's own data, and the data an ExternalSecret templates, are keyed by Secret keys.
    const keyed = KEYED_MAPS.some((pattern) => endsWith(path, pattern)) && (path.length > 1 || ["Secret", "ConfigMap"].includes(object.kind));
    for (const [key, child] of Object.entries(map)) {
      if (keyed) check(`${path.join(".")} key`, key, configMapKey, "Secret key");
      visit(child, [...path, key]);
    }
  };
  const { metadata: _metadata, ...body } = object;
  visit(body, []);
  return found;
}
