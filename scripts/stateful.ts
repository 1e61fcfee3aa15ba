/**
 * What holds data, per resource: the clouds' stateful types (constructs/<cloud>/index.ts) and,
 * in the apps stacks, the Kubernetes objects that own PersistentVolumeClaims.
 *
 * Apps stacks: a PersistentVolumeClaim is deleted with the Helm release that templated it, or with
 * its namespace; a new release name means new claim names, so the old volumes are abandoned. So:
 * - `kubernetes_persistent_volume_claim(_v1)`, `kubernetes_persistent_volume(_v1)` and
 *   `kubernetes_stateful_set(_v1)` with volume claim templates hold data;
 * - a `helm_release` holds data when its chart creates claims with our values: the values enable
 *   `persistence` or set a `volumeClaimTemplate(s)`, or the chart's defaults create claims that
 *   our values leave on (CHART_DEFAULT_VOLUMES);
 * - a namespace holds data when such a release, claim or stateful set lives in it (deleting a
 *   namespace deletes every object in it).
 * A StorageClass does not: Kubernetes reads it only when it provisions a volume, so replacing it
 * leaves existing claims and volumes alone (and ours keep `reclaimPolicy: Retain`).
 */
import { AWS_STATEFUL_TYPES } from "../constructs/aws";
import { AZURE_STATEFUL_TYPES } from "../constructs/azure";
import { GCP_STATEFUL_TYPES } from "../constructs/gcp";

export const CLOUD_STATEFUL_TYPES: Readonly<Record<string, string>> = { ...AWS_STATEFUL_TYPES, ...AZURE_STATEFUL_TYPES, ...GCP_STATEFUL_TYPES };

/**
 * Terraform Cloud (the gitops stack): a workspace holds a stack's state. Its `prevent_destroy`
 * guards it only while its block is in the configuration (Terraform, "The lifecycle
 * Meta-Argument": the setting "does not prevent the remote object from being destroyed if the
 * resource block were removed from configuration entirely"), so an environment or tenant removed
 * from the spec, or one that leaves Terraform Cloud, would delete its workspaces with no other
 * warning than this.
 */
const TERRAFORM_CLOUD_STATEFUL_TYPES: Readonly<Record<string, string>> = {
  tfe_workspace: "the workspace's state, every version of it, and its run history",
};

const KUBERNETES_STATEFUL_TYPES: Readonly<Record<string, string>> = {
  kubernetes_persistent_volume_claim: "the claim's volume",
  kubernetes_persistent_volume_claim_v1: "the claim's volume",
  kubernetes_persistent_volume: "the volume",
  kubernetes_persistent_volume_v1: "the volume",
};

type Values = Record<string, unknown>;

/** The value at a dotted path, or the chart's default when our values leave it unset. */
function setting(values: Values, path: string, fallback: unknown): unknown {
  const value = path.split(".").reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Values)[key] : undefined), values);
  return value === undefined || value === null ? fallback : value;
}

const celery = (values: Values) => String(setting(values, "executor", "CeleryExecutor")).includes("Celery");

/**
 * Volumes a chart's DEFAULT values create unless our values turn them off (the chart defaults
 * at the pinned versions, read from the chart contracts in ../shared/charts):
 * - airflow 1.19.0 (apache/airflow chart/values.yaml @ f17d6ffb): `executor: CeleryExecutor`,
 *   `workers.persistence.enabled: true` (`workers.celery.persistence.enabled: ~` falls back to it),
 *   `triggerer.enabled` / `triggerer.persistence.enabled: true`, `redis.enabled` /
 *   `redis.persistence.enabled: true`;
 * - airbyte 2.2.0 (airbytehq/charts, airbyte-2.2.0.tgz values.yaml): `postgresql.enabled: true`
 *   (a claim of `postgresql.storage.volumeClaimValue`), `minio.enabled: true` (likewise);
 * - datahub-prerequisites 0.3.0 (acryldata/datahub-helm charts/prerequisites/values.yaml @
 *   6c80b0ed): `opensearch.enabled`, `mysql.enabled`, `kafka.enabled: true`; `elasticsearch`,
 *   `neo4j`, `postgresql` default to false. Each enabled one is a StatefulSet with volume claims.
 */
export const CHART_DEFAULT_VOLUMES: Readonly<Record<string, readonly { readonly what: string; readonly creates: (values: Values) => boolean }[]>> = {
  airflow: [
    { what: "the Celery workers' volumes", creates: (v) => celery(v) && setting(v, "workers.celery.persistence.enabled", setting(v, "workers.persistence.enabled", true)) === true },
    { what: "the triggerer's volume", creates: (v) => setting(v, "triggerer.enabled", true) === true && setting(v, "triggerer.persistence.enabled", true) === true },
    { what: "the Redis volume", creates: (v) => celery(v) && setting(v, "redis.enabled", true) === true && setting(v, "redis.persistence.enabled", true) === true },
  ],
  airbyte: [
    { what: "the bundled PostgreSQL volume", creates: (v) => setting(v, "postgresql.enabled", true) === true },
    { what: "the bundled MinIO volume", creates: (v) => setting(v, "minio.enabled", true) === true },
  ],
  "datahub-prerequisites": ["opensearch", "mysql", "kafka", "elasticsearch", "neo4j", "postgresql"].map((name) => ({
    what: `the ${name} volumes`,
    creates: (v: Values) => setting(v, `${name}.enabled`, ["opensearch", "mysql", "kafka"].includes(name)) === true,
  })),
};

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Value paths of a Helm values tree that ask the chart for persistent volumes. */
export function volumeRequests(values: unknown, path = ""): string[] {
  if (Array.isArray(values)) return values.flatMap((item, index) => volumeRequests(item, `${path}[${index}]`));
  if (!isObject(values)) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const here = path ? `${path}.${key}` : key;
    if (key === "persistence" && isObject(value) && value.enabled === true) found.push(here);
    else if ((key === "volumeClaimTemplate" || key === "volumeClaimTemplates") && value !== null && (Array.isArray(value) ? value.length > 0 : isObject(value) && Object.keys(value).length > 0)) found.push(here);
    else found.push(...volumeRequests(value, here));
  }
  return found;
}

/** A helm_release's `values` documents (JSON strings as cdktn writes them; YAML is not parsed). */
export function helmValues(config: Record<string, unknown>): unknown[] {
  const raw = config.values;
  const documents = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return documents.map((document) => {
    if (typeof document !== "string") return document;
    try {
      return JSON.parse(document) as unknown;
    } catch {
      // Not JSON: treat any mention of persistence or claim templates as a volume request.
      return /persistence|volumeClaimTemplate/.test(document) ? { persistence: { enabled: true } } : {};
    }
  });
}

/**
 * Volumes of operator custom resources in a manifests release's `manifests` list: Strimzi 1.2.0
 * KafkaNodePool `spec.storage` of type `persistent-claim`, or `jbod` with such volumes
 * (045-Crd-kafkanodepool.yaml): the operator creates a claim per node and volume.
 */
export function operatorVolumes(values: unknown): string[] {
  if (!isObject(values) || !Array.isArray(values.manifests)) return [];
  return values.manifests.flatMap((manifest, index) => {
    if (!isObject(manifest) || manifest.kind !== "KafkaNodePool" || !isObject(manifest.spec)) return [];
    const storage = manifest.spec.storage;
    const claims = isObject(storage) && (storage.type === "persistent-claim" || (storage.type === "jbod" && Array.isArray(storage.volumes) && storage.volumes.some((volume) => isObject(volume) && volume.type === "persistent-claim")));
    const name = isObject(manifest.metadata) ? String(manifest.metadata.name) : String(index);
    return claims ? [`manifests[${index}]: the volumes of KafkaNodePool ${name}`] : [];
  });
}

/** What a helm_release's values ask for in persistent volumes: chart defaults left on, value paths, operator custom resources. */
export function releaseVolumes(config: Record<string, unknown>): string[] {
  const chart = typeof config.chart === "string" ? config.chart : "";
  const documents = helmValues(config);
  const merged = Object.assign({}, ...documents.filter(isObject)) as Values;
  const defaults = (CHART_DEFAULT_VOLUMES[chart] ?? []).filter((volume) => volume.creates(merged)).map((volume) => `${volume.what} (chart default)`);
  const requests = documents.flatMap((values) => volumeRequests(values)).map((path) => `values: ${path}`);
  return [...defaults, ...requests, ...documents.flatMap((values) => operatorVolumes(values))];
}

/** Why a resource holds data (what a destroy or replacement loses), or undefined. */
export function statefulReason(type: string, config: Record<string, unknown>): string | undefined {
  const cloud = CLOUD_STATEFUL_TYPES[type] ?? TERRAFORM_CLOUD_STATEFUL_TYPES[type] ?? KUBERNETES_STATEFUL_TYPES[type];
  if (cloud) return cloud;
  if (type === "kubernetes_stateful_set" || type === "kubernetes_stateful_set_v1") {
    return JSON.stringify(config.spec ?? {}).includes("volume_claim_template") ? "the stateful set's volume claims" : undefined;
  }
  if (type === "helm_release") {
    const volumes = releaseVolumes(config);
    return volumes.length > 0 ? `the release's persistent volumes: ${volumes.join(", ")}` : undefined;
  }
  return undefined;
}

/**
 * Volumes an in-place update of a helm_release stops rendering (e.g. `kafka.enabled` turned off
 * in datahub-prerequisites): Helm deletes the StatefulSet, and its claims go with the release's
 * namespace or are abandoned. [] for other types and for updates that keep every volume.
 */
export function droppedVolumes(type: string, before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  if (type !== "helm_release") return [];
  const kept = new Set(releaseVolumes(after));
  return releaseVolumes(before).filter((volume) => !kept.has(volume));
}

/** The resource type of an address: `module.a.aws_s3_bucket.b["x"]` → `aws_s3_bucket`. */
export function resourceTypeOf(address: string): string {
  const parts = address.split(".");
  let i = 0;
  while (parts[i] === "module") i += 2;
  return parts[i] === "data" ? (parts[i + 1] ?? "") : (parts[i] ?? "");
}

const NAMESPACE_TYPES = new Set(["kubernetes_namespace", "kubernetes_namespace_v1"]);

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/** The namespace name a resource's config puts it in, or declares (for a namespace). */
function namespaceOf(config: Record<string, unknown>): unknown {
  if (typeof config.namespace === "string") return config.namespace;
  const metadata = first(config.metadata);
  return isObject(metadata) ? metadata.namespace : undefined;
}

/**
 * Statefulness of every resource of a stack: the types above, plus namespaces that contain a
 * stateful object (by literal name, or by a reference to the namespace resource).
 */
export function statefulResources(resources: ReadonlyMap<string, Record<string, unknown>>): Map<string, string> {
  const stateful = new Map<string, string>();
  const namespaces = new Map<string, string[]>();
  for (const [address, config] of resources) {
    const type = resourceTypeOf(address);
    const reason = statefulReason(type, config);
    if (reason === undefined) continue;
    stateful.set(address, reason);
    const namespace = namespaceOf(config);
    if (typeof namespace === "string") namespaces.set(namespace, [...(namespaces.get(namespace) ?? []), address]);
  }
  for (const [address, config] of resources) {
    const type = resourceTypeOf(address);
    if (!NAMESPACE_TYPES.has(type)) continue;
    const metadata = first(config.metadata);
    const name = isObject(metadata) ? metadata.name : undefined;
    const holders = [...(typeof name === "string" ? (namespaces.get(name) ?? []) : []), ...[...namespaces.entries()].filter(([namespace]) => namespace.includes(`${address}.`)).flatMap(([, held]) => held)];
    if (holders.length > 0) stateful.set(address, `every object in the namespace, including ${holders.join(", ")}`);
  }
  return stateful;
}
