/**
 * What the operators' validating webhooks reject beyond their CRD schemas, for the kinds the
 * platform renders, encoded from upstream at the pinned versions:
 * - External Secrets v2.9.0: apis/externalsecrets/v1/externalsecret_validator.go (an
 *   ExternalSecret needs data or dataFrom, L60-62; a dataFrom entry takes a generatorRef or
 *   extract/find, not both, L106-111) and runtime/esutils/k8s_connection_validate.go (a namespaced
 *   SecretStore's caProvider names no namespace, L83-86);
 * - cert-manager v1.21.1: internal/apis/certmanager/validation/issuer.go (exactly one issuer type,
 *   L102; an HTTP-01 ingress solver sets at most one of class, ingressClassName and name, L217).
 */
import { isMap, list } from "../values";
import type { KubeObject, Located } from "../../../scripts/rendered-apps";

type Rule = (object: KubeObject) => string[];

const spec = (object: KubeObject) => (isMap(object.spec) ? object.spec : {});

const externalSecret: Rule = (object) => {
  const { data, dataFrom } = spec(object);
  const problems = list(data).length === 0 && list(dataFrom).length === 0 ? ["either data or dataFrom should be specified"] : [];
  list(dataFrom).forEach((entry, index) => {
    if (!isMap(entry)) return;
    const generator = isMap(entry.sourceRef) && entry.sourceRef.generatorRef !== undefined;
    if (generator && (entry.extract !== undefined || entry.find !== undefined)) problems.push(`dataFrom[${index}]: generatorRef cannot be combined with extract or find`);
  });
  return problems;
};

const secretStore: Rule = (object) => {
  const provider = spec(object).provider;
  const kubernetes = isMap(provider) && isMap(provider.kubernetes) ? provider.kubernetes : undefined;
  const caProvider = kubernetes && isMap(kubernetes.server) && isMap(kubernetes.server.caProvider) ? kubernetes.server.caProvider : undefined;
  return caProvider?.namespace !== undefined ? ["CAProvider.namespace must be empty with SecretStore"] : [];
};

const ISSUER_TYPES = ["acme", "ca", "vault", "selfSigned", "venafi"];

const issuer: Rule = (object) => {
  const types = ISSUER_TYPES.filter((type) => spec(object)[type] !== undefined);
  const problems = types.length === 1 ? [] : [types.length === 0 ? "at least one issuer must be configured" : `only one issuer type may be set, found ${types.join(", ")}`];
  const acme = spec(object).acme;
  list(isMap(acme) ? acme.solvers : []).forEach((solver, index) => {
    const ingress = isMap(solver) && isMap(solver.http01) && isMap(solver.http01.ingress) ? solver.http01.ingress : undefined;
    const set = ["class", "ingressClassName", "name"].filter((field) => ingress?.[field] !== undefined);
    if (set.length > 1) problems.push(`solvers[${index}].http01.ingress: only one of ${set.join(", ")} may be set`);
  });
  return problems;
};

const RULES: Readonly<Record<string, Rule>> = {
  "external-secrets.io/ExternalSecret": externalSecret,
  "external-secrets.io/SecretStore": secretStore,
  "cert-manager.io/Issuer": issuer,
  "cert-manager.io/ClusterIssuer": issuer,
};

/** What the operator's admission webhook would refuse in this object. */
export function operatorWebhookViolations({ source, object }: Located<KubeObject>): string[] {
  const rule = RULES[`${object.apiVersion.split("/")[0]}/${object.kind}`];
  return (rule?.(object) ?? []).map((problem) => `${source}: ${object.kind} refused by the operator's webhook: ${problem}`);
}
