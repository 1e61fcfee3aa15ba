import { renderedApps } from "../../scripts/rendered-apps";
import type { ClusterPolicies, NetworkPolicy } from "./kubernetes/network-policy";

/**
 * The NetworkPolicies and namespaces an apps stack's releases render (every object placed in its
 * release's namespace where it names none), as the CNI evaluator takes them.
 */
export function renderedPolicies(appsStackJson: string, cni: ClusterPolicies["cni"]): ClusterPolicies {
  const objects = renderedApps(appsStackJson).objects.map((located) => ({ ...located.object, metadata: { ...located.object.metadata, namespace: located.object.metadata.namespace ?? located.releaseNamespace } }));
  const namespaces = new Map(objects.filter((object) => object.kind === "Namespace").map((object) => [String(object.metadata.name), object.metadata.labels ?? {}]));
  return { cni, policies: objects.filter((object) => object.kind === "NetworkPolicy") as unknown as NetworkPolicy[], namespaces };
}

/** Airflow's scheduler and a task pod, by the labels the chart gives them (apache/airflow helm-chart 1.19.0). */
export const AIRFLOW_PODS = {
  scheduler: { namespace: "airflow", labels: { tier: "airflow", component: "scheduler", release: "airflow" } },
  task: { namespace: "airflow", labels: { tier: "airflow", component: "worker", release: "airflow" } },
} as const;
