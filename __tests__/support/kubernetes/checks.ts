/**
 * Kubernetes' own rules applied to one synthesized apps stack: every object as the API server
 * validates it, every pod as Pod Security admission admits it in its namespace, and every pod's
 * placement against the taints of the cluster's spot nodes (read from the infra stack).
 */
import type { NodeTaint } from "../../../constructs/core/interfaces";
import type { Toleration } from "../../../constructs/apps/types";
import { chartPods, type ChartPod } from "./chart-pods";
import { customResourceViolations } from "./crds";
import { helmReleaseName, nameViolations } from "./names";
import { namespaceOf, type KubeObject, type RenderedApps } from "./objects";
import { coreObjectViolations } from "./openapi";
import { podSecurityViolations, type Level, type PodSecuritySubject } from "./pod-security";

/** The annotation that must say why a namespace enforces less than baseline. */
export const POD_SECURITY_REASON = "platform/pod-security-reason";

/** Every object problem: release names, object names and references, CRD schemas, core schemas. */
export function objectProblems(rendered: RenderedApps): string[] {
  const releases = [...(rendered.releaseNames ?? [])].flatMap(([address, name]) => {
    const problem = helmReleaseName(name);
    return problem ? [`${address}: release name ${JSON.stringify(name)} is not ${problem}`] : [];
  });
  return [...releases, ...rendered.objects.flatMap((located) => [...nameViolations(located), ...customResourceViolations(located), ...coreObjectViolations(located)])];
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

/** Namespaces that enforce less than baseline without saying why. */
export function unexplainedPrivilegedNamespaces(rendered: RenderedApps): string[] {
  return rendered.objects
    .filter(({ object }) => object.kind === "Namespace" && (object.metadata.labels?.["pod-security.kubernetes.io/enforce"] ?? "privileged") === "privileged")
    .filter(({ object }) => !object.metadata.annotations?.[POD_SECURITY_REASON])
    .map(({ object }) => String(object.metadata.name));
}

/** A pod the stack creates, wherever it comes from. */
export interface StackPod {
  readonly name: string;
  readonly namespace: string;
  readonly pod: PodSecuritySubject;
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
    return [{ name: located.source, namespace: namespaceOf(located) ?? "default", pod: { ...pod, annotations } }];
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

/** Whether a list of tolerations lets a pod onto a node with this taint (k8s.io/api core/v1 toleration.go, ToleratesTaint). */
export function tolerates(tolerations: readonly Toleration[] | "none possible", taint: NodeTaint): boolean {
  if (tolerations === "none possible") return false;
  return tolerations.some((toleration) => {
    const { key, operator, value, effect } = toleration as { key?: string; operator?: string; value?: string; effect?: string };
    if (effect && effect !== taint.effect) return false;
    if (operator === "Exists") return !key || key === taint.key;
    return key === taint.key && (value ?? "") === taint.value;
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
      if (pod.stateful && tolerated) return [`${pod.name} keeps state (${pod.stateful}) but tolerates the spot taint ${taintText}`];
      if (!pod.stateful && !tolerated && pod.tolerations !== "none possible") return [`${pod.name} is stateless but does not tolerate the spot taint ${taintText}`];
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
