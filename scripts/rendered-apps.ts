/**
 * What a synthesized `<env>-apps` stack sends to Kubernetes, read back from its Terraform JSON:
 * - the objects Terraform creates itself (`kubernetes_*_v1` resources), as Kubernetes objects;
 * - the objects of the project's own manifests chart (`helm_release` of `platform-manifests`);
 * - every other Helm release (an upstream chart) with the values Helm receives.
 * Read by `npm run docs` (scripts/diagram.ts) and by the tests' Kubernetes checks.
 */

/** A resource block of a stack's Terraform JSON. */
type TfBlock = Record<string, unknown>;

/** A Kubernetes object as rendered. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name?: unknown; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** An object and where it came from, for messages: a Terraform address, with the kind and name for a manifest. */
export interface Located<T> {
  readonly source: string;
  readonly object: T;
  /** The namespace Helm installs a namespaced object into when its metadata names none. */
  readonly releaseNamespace?: string;
}

/** The namespace a namespaced object lands in. */
export function namespaceOf(located: Located<KubeObject>): string | undefined {
  return located.object.metadata.namespace ?? located.releaseNamespace;
}

/** A Helm release of an upstream chart, with the values Helm receives. */
export interface ChartRelease {
  readonly address: string;
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly version: string;
  readonly values: Record<string, unknown>;
}

export interface RenderedApps {
  readonly objects: readonly Located<KubeObject>[];
  readonly releases: readonly ChartRelease[];
  /** Every Helm release (upstream charts and the manifests chart), by Terraform address. */
  readonly releaseNames?: ReadonlyMap<string, string>;
}

interface StackJson {
  readonly resource?: Record<string, Record<string, TfBlock>>;
}

/** Terraform resource types of the kubernetes provider and the object kind each creates. */
const TERRAFORM_KINDS: Readonly<Record<string, { apiVersion: string; kind: string }>> = {
  kubernetes_namespace_v1: { apiVersion: "v1", kind: "Namespace" },
  kubernetes_service_account_v1: { apiVersion: "v1", kind: "ServiceAccount" },
  kubernetes_config_map_v1: { apiVersion: "v1", kind: "ConfigMap" },
  kubernetes_secret_v1: { apiVersion: "v1", kind: "Secret" },
  kubernetes_storage_class_v1: { apiVersion: "storage.k8s.io/v1", kind: "StorageClass" },
};

/** Terraform attributes that are fields of the object, by their Kubernetes name. */
const TERRAFORM_FIELDS: Readonly<Record<string, string>> = {
  data: "data",
  binary_data: "binaryData",
  type: "type",
  storage_provisioner: "provisioner",
  parameters: "parameters",
  reclaim_policy: "reclaimPolicy",
  volume_binding_mode: "volumeBindingMode",
  allow_volume_expansion: "allowVolumeExpansion",
  automount_service_account_token: "automountServiceAccountToken",
};

/** The manifests chart is a local asset; every other release names an upstream chart. */
const MANIFESTS_CHART = /platform-manifests-chart/;

/**
 * Helm values are JSON with Terraform expressions (`${...}`) inside strings; their quotes are
 * made single so the JSON parses, and the expression text stays for messages.
 */
export function parseHelmValues(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/\$\{[^}]*\}/g, (expression) => expression.replace(/"/g, "'"))) as Record<string, unknown>;
}

/** `${<type>.<id>.metadata[0].name}`: a reference to another Terraform object's name. */
const NAME_REFERENCE = /^\$\{(\w+)\.([\w-]+)\.metadata\[0\]\.name\}$/;

function terraformObject(type: string, block: TfBlock, json: StackJson): KubeObject {
  const { metadata: written, ...rest } = block as { metadata: KubeObject["metadata"] } & Record<string, unknown>;
  // A namespace given as a reference to the namespace resource is that resource's literal name.
  const reference = typeof written.namespace === "string" ? NAME_REFERENCE.exec(written.namespace) : null;
  const target = reference ? (json.resource?.[reference[1]]?.[reference[2]]?.metadata as { name?: string } | undefined) : undefined;
  const metadata = target?.name === undefined ? written : { ...written, namespace: target.name };
  const body = Object.fromEntries(Object.entries(rest).flatMap(([key, value]) => (key in TERRAFORM_FIELDS ? [[TERRAFORM_FIELDS[key], value]] : [])));
  return { ...TERRAFORM_KINDS[type], metadata, ...body };
}

/** Every object and chart release of a synthesized apps stack. */
export function renderedApps(stackText: string): RenderedApps {
  const json = JSON.parse(stackText) as StackJson;
  const objects: Located<KubeObject>[] = [];
  const releases: ChartRelease[] = [];
  const releaseNames = new Map<string, string>();
  for (const [type, blocks] of Object.entries(json.resource ?? {})) {
    if (type.startsWith("kubernetes_") && !(type in TERRAFORM_KINDS)) throw new Error(`${type}: a Terraform-made Kubernetes object the checks do not read yet; add it to TERRAFORM_KINDS`);
    for (const [id, block] of Object.entries(blocks)) {
      const address = `${type}.${id}`;
      if (type in TERRAFORM_KINDS) objects.push({ source: address, object: terraformObject(type, block, json) });
      if (type !== "helm_release") continue;
      const values = parseHelmValues(String((block.values as string[])[0]));
      const namespace = String(block.namespace);
      const name = String(block.name);
      releaseNames.set(address, name);
      if (MANIFESTS_CHART.test(String(block.chart))) {
        for (const object of values.manifests as KubeObject[]) {
          objects.push({ source: `${address} (${object.kind} ${String(object.metadata.name)})`, object, releaseNamespace: namespace });
        }
      } else {
        releases.push({ address, name, namespace, chart: String(block.chart), version: String(block.version), values });
      }
    }
  }
  return { objects, releases, releaseNames };
}
