import { PLACEHOLDER } from "../../apps/observability/secrets";
import { asList, at, resourcesOf, type Block, type PolicyContext, type Rule } from "../types";

/** Pod Security Standards levels and the enforce label (k8s.io/pod-security-admission v0.31.0 api/constants.go: Level*, EnforceLevelLabel). */
const LEVELS = ["privileged", "baseline", "restricted"];
const ENFORCE = "pod-security.kubernetes.io/enforce";
/** Why a namespace runs privileged pods; the platform's own annotation, required with `privileged`. */
const PRIVILEGED_REASON = "platform/pod-security-reason";

/**
 * A chart version Helm resolves to exactly one release: `1.2.3`. Helm treats `version` as a semver
 * constraint (helm v3.19.5 pkg/repo/index.go `IndexFile.Get`: `semver.NewConstraint(version)`,
 * "*" when empty), so `^1.2`, `~1.2.3` or nothing install whatever is newest.
 */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Keys whose value is the credential itself (not the name of a Secret or a key in one). */
const CREDENTIAL_VALUE_KEY = /^(password|passwd|token|api_?key|api_?token|client_?secret|access_?key|secret_?access_?key|webhook_?url|private_?key)$/i;
const CREDENTIAL_ENV_NAME = /PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_?KEY/i;
/** Shapes of credentials wherever they appear. */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  [/:\/\/[^/\s:@{}$]+:[^/\s@{}$]+@/, "a URL with a password"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bgh[pousr]_[A-Za-z0-9]{36}\b/, "a GitHub token"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/hooks\.slack\.com\/services\/T/, "a Slack webhook URL"],
];
/** Values that stand for "filled in later": templates, Kubernetes `$(VAR)` references, the observability placeholders. */
const notLiteral = (value: string) => value === "" || value.includes("{{") || /^\$\([A-Z_][A-Z0-9_]*\)$/.test(value) || (Object.values(PLACEHOLDER) as string[]).includes(value);

/** Dotted paths in a release's values where a credential sits as a literal. */
export function credentialLiterals(values: unknown, path: readonly string[] = []): string[] {
  if (typeof values === "string") {
    const key = path[path.length - 1] ?? "";
    const shapes = CREDENTIAL_SHAPES.filter(([shape]) => shape.test(values)).map(([, what]) => `${path.join(".")} holds ${what}`);
    return [...shapes, ...(CREDENTIAL_VALUE_KEY.test(key) && !notLiteral(values) ? [`${path.join(".")} is a literal`] : [])];
  }
  if (Array.isArray(values)) return values.flatMap((item, index) => credentialLiterals(item, [...path, String(index)]));
  if (values === null || typeof values !== "object") return [];
  const map = values as Record<string, unknown>;
  const env = typeof map.name === "string" && CREDENTIAL_ENV_NAME.test(map.name) && typeof map.value === "string" && !notLiteral(map.value) ? [`${path.join(".")} (env ${map.name}) is a literal`] : [];
  return [...env, ...Object.entries(map).flatMap(([key, value]) => credentialLiterals(value, [...path, key]))];
}

/** The values documents of a helm_release, parsed (they are JSON, as synthesized). */
export function releaseValues(release: Block): unknown[] {
  return asList(release.values).map((text) => {
    try {
      return JSON.parse(String(text)) as unknown;
    } catch {
      return text;
    }
  });
}

/** The name of the namespace a resource of the apps stack is in, resolving a reference to a namespace resource. */
function namespaceName(ctx: PolicyContext, value: unknown): string | undefined {
  const ref = /kubernetes_namespace_v1\.([^.]+)\./.exec(String(value));
  if (!ref) return typeof value === "string" ? value : undefined;
  return String(at(ctx.stack.resource?.kubernetes_namespace_v1?.[ref[1]], "metadata.name"));
}

/** Whether a NetworkPolicy (manifest or kubernetes_network_policy_v1) denies all ingress and egress of every pod in `namespace`. */
function hasDefaultDeny(ctx: PolicyContext, namespace: string): boolean {
  const manifests = resourcesOf(ctx.stack, "helm_release").flatMap(([, release]) => releaseValues(release).flatMap((values) => asList(at(values, "manifests"))));
  const fromManifests = manifests.some(
    (m) => at(m, "kind") === "NetworkPolicy" && at(m, "metadata.namespace") === namespace && Object.keys((at(m, "spec.podSelector") as object | undefined) ?? { x: 1 }).length === 0 && ["Ingress", "Egress"].every((t) => asList(at(m, "spec.policyTypes")).includes(t)),
  );
  const fromResources = resourcesOf(ctx.stack, "kubernetes_network_policy_v1").some(
    ([, policy]) => namespaceName(ctx, at(policy, "metadata.namespace")) === namespace && at(policy, "spec.pod_selector.match_labels") === undefined && ["Ingress", "Egress"].every((t) => asList(at(policy, "spec.policy_types")).includes(t)),
  );
  return fromManifests || fromResources;
}

/** What the apps stacks put on the cluster, on every cloud. */
export const KUBERNETES: readonly Rule[] = [
  {
    id: "namespace-pod-security",
    pack: "kubernetes",
    title: "Every namespace enforces a Pod Security level; privileged only with a written reason",
    fix: `label the namespace ${ENFORCE} (restricted where the workloads allow, else baseline); privileged needs the ${PRIVILEGED_REASON} annotation`,
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace) => {
          const level = at(namespace, `metadata.labels`) as Record<string, unknown> | undefined;
          const enforce = level?.[ENFORCE];
          if (!LEVELS.includes(String(enforce))) return [`label ${ENFORCE} is ${JSON.stringify(enforce) ?? "not set"}, needs one of ${LEVELS.join(", ")}`];
          const annotations = (at(namespace, "metadata.annotations") ?? {}) as Record<string, unknown>;
          return enforce === "privileged" && typeof annotations[PRIVILEGED_REASON] !== "string" ? [`privileged without the ${PRIVILEGED_REASON} annotation`] : [];
        },
      },
    ],
  },
  {
    id: "namespace-pod-security-restricted",
    pack: "kubernetes",
    title: "Every namespace enforces the restricted Pod Security level, or says which pod needs less and why",
    fix: `label the namespace ${ENFORCE}: restricted; where a pod cannot meet it, annotate the namespace ${PRIVILEGED_REASON} with the pod and the reason`,
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace) => {
          const enforce = (at(namespace, "metadata.labels") as Record<string, unknown> | undefined)?.[ENFORCE];
          const reason = ((at(namespace, "metadata.annotations") ?? {}) as Record<string, unknown>)[PRIVILEGED_REASON];
          return enforce === "restricted" || (typeof reason === "string" && reason.trim().length > 0) ? [] : [`label ${ENFORCE} is ${JSON.stringify(enforce) ?? "not set"}, not restricted, without the ${PRIVILEGED_REASON} annotation`];
        },
      },
    ],
  },
  {
    id: "chart-pinned",
    pack: "kubernetes",
    title: "Every Helm release pins an exact chart version from an HTTPS or OCI repository",
    fix: "set the chart's exact version (no range) and an https:// or oci:// repository",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        check: (release) => [
          ...(EXACT_VERSION.test(String(release.version ?? "")) ? [] : [`version is ${JSON.stringify(release.version) ?? "not set"}, needs an exact version`]),
          ...(release.repository === undefined || /^(https|oci):\/\//.test(String(release.repository)) ? [] : [`repository ${String(release.repository)} is not https:// or oci://`]),
        ],
      },
    ],
  },
  {
    id: "no-credential-in-values",
    pack: "kubernetes",
    title: "No credential in Helm values (they are in the plan, the state and the release Secret)",
    fix: "reference a Kubernetes Secret filled by External Secrets instead of writing the value",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        check: (release) => [...releaseValues(release).flatMap((values) => credentialLiterals(values)), ...(release.set_sensitive === undefined ? [] : ["set_sensitive puts a credential in the configuration"])],
      },
    ],
  },
  {
    id: "namespace-default-deny",
    pack: "kubernetes",
    title: "Every namespace has a default-deny NetworkPolicy",
    fix: "add a NetworkPolicy with an empty podSelector and policyTypes Ingress and Egress, then allow only the app's flows",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["kubernetes_namespace_v1"],
        check: (namespace, ctx) => (hasDefaultDeny(ctx, String(at(namespace, "metadata.name"))) ? [] : ["no default-deny NetworkPolicy in the namespace"]),
      },
    ],
  },
  {
    id: "https-redirect",
    pack: "kubernetes",
    title: "The ingress controller redirects HTTP to HTTPS",
    fix: "redirect Traefik's web entry point to websecure (ports.web.http.redirections.entryPoint: { to: websecure, scheme: https, permanent: true })",
    checks: [
      {
        cloud: "any",
        kind: "apps",
        types: ["helm_release"],
        // traefik-helm-chart v41.3.0 traefik/templates/_podtemplate.tpl: `with $config.http` ->
        // `with (.redirections).entryPoint` renders --entryPoints.web.http.redirections.entryPoint.to
        // from ports.web.http.redirections.entryPoint.to (an entry point key of `ports`), and
        // fails the chart when the target has TLS and `scheme` is set to anything but https.
        check: (release) => {
          if (release.chart !== "traefik") return [];
          const redirect = releaseValues(release).map((values) => at(values, "ports.web.http.redirections.entryPoint")).find((value) => value !== undefined);
          if (at(redirect, "to") !== "websecure") return ["ports.web.http.redirections.entryPoint.to is not websecure"];
          const scheme = at(redirect, "scheme");
          return scheme === undefined || scheme === "https" ? [] : [`ports.web.http.redirections.entryPoint.scheme is ${String(scheme)}`];
        },
      },
    ],
  },
];
