/**
 * Kubernetes' own rules applied to one synthesized apps stack: every object as the API server
 * validates it, every pod as Pod Security admission admits it in its namespace, and every pod's
 * placement against the taints of the cluster's spot nodes (read from the infra stack).
 */
import { isMap } from "../values";
import type { NodeTaint } from "../../../constructs/core/interfaces";
import type { Toleration } from "../../../constructs/apps/types";
import { chartValues, chartPods, chartTemplateFailures, type ChartPod } from "./chart-pods";
import { customResourceViolations } from "./crds";
import { helmReleaseName, nameViolations } from "./names";
import { namespaceOf, type KubeObject, type RenderedApps } from "../../../scripts/rendered-apps";
import { coreObjectViolations, CORE_GROUPS, groupOf } from "./openapi";
import { operatorWebhookViolations } from "./operator-webhooks";
import { podSecurityViolations, type Level, type PodSecuritySubject } from "./pod-security";

/** The annotation that must say why a namespace enforces less than restricted. */
export const POD_SECURITY_REASON = "platform/pod-security-reason";

/** Every object problem: releases the charts refuse to render, release names, object names and references, CRD schemas, core schemas. */
export function objectProblems(rendered: RenderedApps): string[] {
  const failures = rendered.releases.flatMap((release) => chartTemplateFailures(release));
  const releases = [...(rendered.releaseNames ?? [])].flatMap(([address, name]) => {
    const problem = helmReleaseName(name);
    return problem ? [`${address}: release name ${JSON.stringify(name)} is not ${problem}`] : [];
  });
  return [
    ...failures,
    ...releases,
    ...rendered.objects.flatMap((located) => [...nameViolations(located), ...customResourceViolations(located), ...coreObjectViolations(located), ...operatorWebhookViolations(located)]),
  ];
}

/** Pod Security levels the stack's namespaces enforce (unlabelled: privileged, the admission default). */
export function namespaceLevels(rendered: RenderedApps): Map<string, Level> {
  const levels = new Map<string, Level>();
  for (const { object } of rendered.objects) {
    if (object.kind !== "Namespace") continue;
    const level = object.metadata.labels?.["pod-security.kubernetes.io/enforce"] ?? "privileged";
    levels.set(String(object.metadata.name), level as Level);
  }
  return levels;
}

/** Namespaces that enforce less than restricted without saying why. */
export function unexplainedNamespaceLevels(rendered: RenderedApps): string[] {
  return rendered.objects
    .filter(({ object }) => object.kind === "Namespace" && (object.metadata.labels?.["pod-security.kubernetes.io/enforce"] ?? "privileged") !== "restricted")
    .filter(({ object }) => !object.metadata.annotations?.[POD_SECURITY_REASON])
    .map(({ object }) => String(object.metadata.name));
}

/** A pod of the project's own manifests. */
export interface StackPod {
  readonly name: string;
  readonly namespace: string;
  readonly pod: PodSecuritySubject;
  readonly tolerations: readonly Toleration[];
}

const POD_TEMPLATE_KINDS = new Set(["Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

/** Pods of the project's own manifests (Jobs and other workloads, Pods). */
function manifestPods(rendered: RenderedApps): StackPod[] {
  return rendered.objects.flatMap((located) => {
    const object: KubeObject = located.object;
    const spec = object.spec as { template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSecuritySubject } } & PodSecuritySubject;
    const pod = object.kind === "Pod" ? spec : POD_TEMPLATE_KINDS.has(object.kind) ? spec.template?.spec : undefined;
    if (!pod) return [];
    const annotations = object.kind === "Pod" ? object.metadata.annotations : spec.template?.metadata?.annotations;
    const tolerations = ((pod as { tolerations?: Toleration[] }).tolerations ?? []) as Toleration[];
    return [{ name: located.source, namespace: namespaceOf(located) ?? "default", pod: { ...pod, annotations }, tolerations }];
  });
}

/** Every pod of the stack: the project's manifests and the charts' pods. */
export function stackPods(rendered: RenderedApps): { readonly manifests: StackPod[]; readonly charts: ChartPod[] } {
  return { manifests: manifestPods(rendered), charts: rendered.releases.flatMap((release) => chartPods(release)) };
}

/** Pods whose namespace the stack does not create, or whose namespace's level rejects them. */
export function podSecurityProblems(rendered: RenderedApps): string[] {
  const levels = namespaceLevels(rendered);
  const { manifests, charts } = stackPods(rendered);
  return [...manifests, ...charts].flatMap(({ name, namespace, pod, ...rest }) => {
    const level = levels.get(namespace);
    const where = "template" in rest ? ` (${String(rest.template)})` : "";
    if (level === undefined) return [`${name}${where}: runs in namespace ${namespace}, which the stack does not create`];
    return podSecurityViolations(pod, level).map((violation) => `${name}${where} in namespace ${namespace} (enforce ${level}): ${violation}`);
  });
}

/** Pod Security levels from the strictest. */
const LEVELS: readonly Level[] = ["restricted", "baseline", "privileged"];

/** The strictest level that admits every one of the pods (`restricted` for none). */
export function strictestLevel(pods: readonly PodSecuritySubject[]): Level {
  return LEVELS.find((level) => pods.every((pod) => podSecurityViolations(pod, level).length === 0)) ?? "privileged";
}

export interface NamespacePodSecurity {
  readonly namespace: string;
  readonly enforced: Level;
  /** The strictest level every pod of the namespace passes. */
  readonly strictest: Level;
  /** The pods (release/component) that fail a level stricter than `strictest`. */
  readonly failingPods: string[];
  /** What they fail, one line per violation. */
  readonly violations: string[];
  /** The namespace's `platform/pod-security-reason`. */
  readonly reason?: string;
}

/** Each namespace the stack creates, the level it enforces, and the strictest level all its pods (ours and the charts') pass. */
export function namespacePodSecurity(rendered: RenderedApps): NamespacePodSecurity[] {
  const { manifests, charts } = stackPods(rendered);
  const pods = [...manifests, ...charts];
  const reasons = new Map(rendered.objects.filter(({ object }) => object.kind === "Namespace").map(({ object }) => [String(object.metadata.name), object.metadata.annotations?.[POD_SECURITY_REASON]]));
  return [...namespaceLevels(rendered)].map(([namespace, enforced]) => {
    const own = pods.filter((pod) => pod.namespace === namespace);
    const strictest = strictestLevel(own.map(({ pod }) => pod));
    const stricter = LEVELS.slice(0, LEVELS.indexOf(strictest));
    const failing = own.filter(({ pod }) => stricter.some((level) => podSecurityViolations(pod, level).length > 0));
    const violations = failing.flatMap(({ name, pod }) => stricter.flatMap((level) => podSecurityViolations(pod, level).map((violation) => `${name} fails ${level}: ${violation}`)));
    return { namespace, enforced, strictest, failingPods: [...new Set(failing.map(({ name }) => name))], violations, reason: reasons.get(namespace) };
  });
}

/**
 * Namespaces whose enforced level is weaker than their pods allow (a level stricter than the pods
 * allow is a Pod Security problem of those pods, `podSecurityProblems`).
 */
export function namespaceLevelProblems(rendered: RenderedApps): string[] {
  return namespacePodSecurity(rendered)
    .filter(({ enforced, strictest }) => LEVELS.indexOf(enforced) > LEVELS.indexOf(strictest))
    .map(({ namespace, enforced, strictest }) => `namespace ${namespace} enforces ${enforced}, but every pod in it passes ${strictest}`);
}

/**
 * Namespaces below restricted whose reason does not name each pod that fails restricted (by its
 * component, the part after the release name).
 */
export function unnamedFailingPods(rendered: RenderedApps): string[] {
  return namespacePodSecurity(rendered).flatMap(({ namespace, failingPods, reason }) =>
    failingPods.filter((pod) => !(reason ?? "").includes(pod.split("/").slice(1).join("/") || pod)).map((pod) => `namespace ${namespace}: its reason does not name ${pod}, which fails restricted`),
  );
}

/** Whether a list of tolerations lets a pod onto a node with this taint (k8s.io/api core/v1 toleration.go, ToleratesTaint). */
export function tolerates(tolerations: readonly Toleration[] | "none possible", taint: NodeTaint): boolean {
  if (tolerations === "none possible") return false;
  return tolerations.some((toleration) => {
    const { key, operator, value, effect } = toleration as { key?: string; operator?: string; value?: string; effect?: string };
    if (effect && effect !== taint.effect) return false;
    if (operator === "Exists") return !key || key === taint.key;
    // Equal is the default; any other operator is invalid and tolerates nothing.
    return (operator === undefined || operator === "Equal") && key === taint.key && (value ?? "") === taint.value;
  });
}

/**
 * The placement rule: stateful pods tolerate no spot taint, so they run on on-demand nodes only;
 * stateless and batch pods (and DaemonSets) tolerate every spot taint, unless their chart has no
 * key for tolerations.
 */
export function placementProblems(pods: readonly ChartPod[], spotTaints: readonly NodeTaint[]): string[] {
  return pods.flatMap((pod) =>
    spotTaints.flatMap((taint) => {
      const tolerated = tolerates(pod.tolerations, taint);
      const taintText = `${taint.key}=${taint.value}:${taint.effect}`;
      if (pod.onDemandOnly && tolerated) return [`${pod.name} keeps state (${pod.onDemandOnly}) but tolerates the spot taint ${taintText}`];
      if (!pod.onDemandOnly && !tolerated && pod.tolerations !== "none possible") return [`${pod.name} is stateless but does not tolerate the spot taint ${taintText}`];
      return [];
    }),
  );
}

type Block = Record<string, unknown>;

/** The taints of each spot node pool of an infra stack, on whichever cloud it is. */
export function spotPoolTaints(infraText: string): NodeTaint[][] {
  const resources = (JSON.parse(infraText) as { resource?: Record<string, Record<string, Block>> }).resource ?? {};
  const all = (type: string) => Object.values(resources[type] ?? {});
  const fromBlocks = (taints: unknown) =>
    ((taints ?? []) as { key: string; value: string; effect: string }[]).map((t) => ({ key: t.key, value: t.value, effect: (t.effect === "NO_SCHEDULE" ? "NoSchedule" : t.effect) as NodeTaint["effect"] }));
  // AKS writes taints as `key=value:Effect`.
  const fromStrings = (taints: unknown) =>
    ((taints ?? []) as string[]).map((taint) => {
      const [keyValue, effect] = taint.split(":");
      const [key, value] = keyValue.split("=");
      return { key, value, effect: effect as NodeTaint["effect"] };
    });
  const nodeConfig = (pool: Block) => (pool.node_config ?? {}) as Block;
  return [
    ...all("aws_eks_node_group").filter((group) => group.capacity_type === "SPOT").map((group) => fromBlocks(group.taint)),
    ...all("azurerm_kubernetes_cluster_node_pool").filter((pool) => pool.priority === "Spot").map((pool) => fromStrings(pool.node_taints)),
    ...all("google_container_node_pool").filter((pool) => nodeConfig(pool).spot === true).map((pool) => fromBlocks(nodeConfig(pool).taint)),
  ];
}

/** The Helm release that installs the CRDs (and webhook) of each custom resource group the platform renders. */
const CRD_RELEASES: Readonly<Record<string, string>> = {
  "external-secrets.io": "external-secrets",
  "generators.external-secrets.io": "external-secrets",
  "cert-manager.io": "cert-manager",
  "monitoring.coreos.com": "monitoring",
  "traefik.io": "traefik",
  /** DataHub's Kafka: the Strimzi operator release (chart 1.2.0 crds/). */
  "kafka.strimzi.io": "strimzi",
};

/**
 * Terraform's order of an apps stack, checked against what each release needs first: a release
 * carrying custom resources waits (directly or not) for the release that installs their CRDs and
 * webhook, and every release waits for the namespaces its objects and pods land in.
 */
export function orderingProblems(stackText: string, rendered: RenderedApps): string[] {
  const resources = (JSON.parse(stackText) as { resource?: Record<string, Record<string, Block>> }).resource ?? {};
  const blocks = new Map<string, Block>(Object.entries(resources).flatMap(([type, byId]) => Object.entries(byId).map(([id, block]): [string, Block] => [`${type}.${id}`, block])));
  // What a resource waits for: its depends_on and the resources its attributes refer to.
  const direct = (address: string): string[] => {
    const block = blocks.get(address) ?? {};
    const referenced = [...JSON.stringify(block).matchAll(/\$\{(\w+\.[\w-]+)[.}[]/g)].map((match) => match[1]);
    return [...((block.depends_on ?? []) as string[]), ...referenced].filter((target) => blocks.has(target) && target !== address);
  };
  const waitsFor = (address: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [address];
    while (stack.length > 0) {
      for (const next of direct(stack.pop() as string)) {
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    return seen;
  };
  const releaseAddress = (name: string) => [...blocks].find(([address, block]) => address.startsWith("helm_release.") && block.name === name)?.[0];
  const namespaceAddress = (name: string) => [...blocks].find(([address, block]) => address.startsWith("kubernetes_namespace_v1.") && (block.metadata as Block | undefined)?.name === name)?.[0];

  const needs = new Map<string, { releases: Set<string>; namespaces: Set<string> }>();
  const need = (address: string) => {
    if (!needs.has(address)) needs.set(address, { releases: new Set(), namespaces: new Set() });
    return needs.get(address) as { releases: Set<string>; namespaces: Set<string> };
  };
  for (const [address, block] of blocks) if (address.startsWith("helm_release.")) need(address).namespaces.add(String(block.namespace));
  for (const { source, object, releaseNamespace } of rendered.objects) {
    if (releaseNamespace === undefined) continue;
    const address = source.split(" ")[0];
    const group = groupOf(object.apiVersion);
    if (!CORE_GROUPS.has(group)) need(address).releases.add(CRD_RELEASES[group] ?? `the release of ${group}`);
    if (object.metadata.namespace !== undefined) need(address).namespaces.add(object.metadata.namespace);
  }
  for (const release of rendered.releases) for (const pod of chartPods(release)) need(release.address).namespaces.add(pod.namespace);

  return [...needs].flatMap(([address, { releases, namespaces }]) => {
    const before = waitsFor(address);
    return [
      ...[...releases].filter((name) => !before.has(releaseAddress(name) ?? "")).map((name) => `${address} does not wait for ${name}, which installs the CRDs and webhook of its objects`),
      ...[...namespaces].filter((name) => !before.has(namespaceAddress(name) ?? "")).map((name) => `${address} does not wait for the namespace ${name}`),
    ];
  });
}

/**
 * Bitnami images: Bitnami stopped publishing its free images in 2025 and froze them in the
 * `bitnamilegacy` repository (no updates, no security fixes). An image reference (a string
 * naming `bitnami/` or `bitnamilegacy/`) in the values Helm uses for a release is a problem
 * unless a section on its path is switched off (`enabled: false`), as the subcharts of
 * datahub-prerequisites and airflow's bundled PostgreSQL are.
 */
export function bitnamiImageProblems(rendered: Pick<RenderedApps, "releases" | "objects">): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string[], disabled: boolean, release: string) => {
    if (typeof value === "string") {
      if (!disabled && /(^|[/\s])bitnami(legacy)?\//.test(value)) found.push(`${release}: ${path.join(".")} = ${value}`);
      return;
    }
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, String(index)], disabled, release));
    else if (isMap(value)) {
      const off = disabled || value.enabled === false;
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key], off, release);
    }
  };
  for (const release of rendered.releases) walk(chartValues(release), [], false, `${release.address} (${release.chart} ${release.version})`);
  // Objects of our own (jobs, the manifests chart) name their images directly.
  for (const { source, object } of rendered.objects) walk(object, [], false, source);
  return found;
}
