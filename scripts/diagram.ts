/**
 * A picture of each environment (`npm run docs` writes `synthesized/diagrams/<env>.md`), drawn
 * from the SYNTHESIZED stacks in synthesized/stacks (what Terraform will apply) and the parsed
 * spec for names, so the picture cannot show something the output does not do: every node is a
 * resource (or Kubernetes object) of the output, and a spec link the output lacks (an app's
 * database or host) is an error, not a line.
 *
 * One drawing path for every cloud: each cloud contributes a reader (DIAGRAM_CLOUDS) that turns
 * its resource types into neutral facts and names its things for people; nodes are keyed by
 * neutral concept and cloud (`database_aws_...`), so an environment whose buckets or databases
 * live on another cloud draws with the same code. Mermaid rather than an image: GitHub renders a
 * ```mermaid block of a Markdown file in the file view and in a pull request's rich diff, and the
 * text diff shows what changed line by line; no binary file, no renderer to install.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { foreignCloudOf, stackKindsOf, stackName } from "../stacks/backend";
import type { NeutralConcept } from "../constructs/core/interfaces";
import { CLOUDS, metricsLinks, type Cloud, type Environment } from "../constructs/core/spec";
import { renderedApps, namespaceOf, type KubeObject, type Located } from "./rendered-apps";
import { asList, type Block, type StackJson } from "../constructs/policies/types";
import { specDatabaseIndex } from "../constructs/policies/waivers";
import { renderFlowchart, type FlowLink, type FlowNode, type FlowSubgraph, type Shape } from "./mermaid";

/** How a name suffix Terraform only knows at apply (a random_id) is drawn. */
const RANDOM_SUFFIX = "(random suffix)";

/** Where the diagrams live, under the synthesized output directory. */
export const DIAGRAMS_DIR = "diagrams";

/** One resource of a synthesized stack, with the addresses it references. */
export interface Resource {
  readonly address: string;
  readonly type: string;
  readonly block: Block;
  readonly refs: ReadonlySet<string>;
}

const REFERENCE = /\$\{(?:[a-z]+\()*(?:data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)/g;

/** The resources of one synthesized stack. */
export class Stack {
  readonly json: StackJson;
  readonly resources: readonly Resource[];
  constructor(readonly name: string, readonly text: string) {
    const json = (this.json = JSON.parse(text) as StackJson);
    this.resources = Object.entries(json.resource ?? {}).flatMap(([type, blocks]) =>
      Object.entries(blocks).map(([id, block]) => {
        const { "//": _metadata, ...rest } = block;
        const refs = new Set([...JSON.stringify(rest).matchAll(REFERENCE)].map((m) => `${m[1]}.${m[2]}`));
        return { address: `${type}.${id}`, type, block: rest, refs };
      }),
    );
  }
  of(type: string): Resource[] {
    return this.resources.filter((r) => r.type === type);
  }
}

const str = (value: unknown): string => (typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value));
const num = (value: unknown): number => (typeof value === "number" ? value : Number.NaN);
const obj = (value: unknown): Block => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Block) : {});

export interface SubnetFacts { readonly tier: string; readonly cidrs: readonly string[]; readonly zone?: string }
export interface PoolFacts { readonly name: string; readonly machine: string; readonly min: number; readonly max: number; readonly spot: boolean }
export interface DatabaseFacts { readonly name: string; readonly size: string; readonly version: string; readonly highAvailability: boolean; readonly replicaOf?: string }

/**
 * How one cloud's synthesized resources read as the neutral picture. `types` are the resource
 * types that ARE the thing drawn (each listed in the cloud's `*_RESOURCE_TYPES` under its
 * concept: a test holds that); `labels` are what people call them on that cloud.
 */
/** The neutral concepts a picture draws from a cloud's own resource types. */
export type DrawnConcept = Extract<NeutralConcept, "network" | "egress" | "cluster" | "nodePool" | "database" | "bucket" | "identity">;

export interface DiagramCloud {
  /** Keyed by the neutral concept each type is drawn as, and the agents' type. */
  readonly types: { readonly [K in DrawnConcept]: string } & { readonly agent: string };
  readonly labels: { readonly network: string; readonly egress: string; readonly cluster: string; readonly database: string; readonly bucket: string; readonly identities: string; readonly secrets: string; readonly agent: string };
  networkName(network: Resource): string;
  networkCidrs(network: Resource): string[];
  subnets(stack: Stack, env: Environment): SubnetFacts[];
  pools(stack: Stack): PoolFacts[];
  clusterVersion(cluster: Resource): string;
  database(db: Resource): DatabaseFacts;
  bucketName(bucket: Resource, stack: Stack): string;
  identityName(identity: Resource): string;
  agentCount(agent: Resource): number;
  /** The network's VPN gateway, where the environment has a site-to-site VPN to another cloud. */
  readonly vpnGateway: { readonly type: string; readonly label: string };
}

export const DIAGRAM_CLOUDS: Readonly<Record<Cloud, DiagramCloud>> = {
  aws: {
    types: {
      network: "aws_vpc",
      egress: "aws_nat_gateway",
      cluster: "aws_eks_cluster",
      nodePool: "aws_eks_node_group",
      database: "aws_db_instance",
      bucket: "aws_s3_bucket",
      identity: "aws_iam_role",
      agent: "aws_ecs_service",
    },
    labels: { network: "VPC", egress: "NAT gateway", cluster: "EKS", database: "RDS PostgreSQL", bucket: "S3", identities: "IAM roles (IRSA)", secrets: "Secrets Manager", agent: "ECS service" },
    networkName: (vpc) => str(obj(vpc.block.tags).Name),
    networkCidrs: (vpc) => [str(vpc.block.cidr_block)],
    subnets: (stack) =>
      stack.of("aws_subnet").map((s) => ({ tier: str(obj(s.block.tags).tier), cidrs: [str(s.block.cidr_block)], zone: str(s.block.availability_zone) })),
    pools: (stack) =>
      stack.of("aws_eks_node_group").map((p) => ({
        name: str(p.block.node_group_name),
        machine: asList(p.block.instance_types).map(str).join(", "),
        min: num(obj(p.block.scaling_config).min_size),
        max: num(obj(p.block.scaling_config).max_size),
        spot: p.block.capacity_type === "SPOT",
      })),
    clusterVersion: (c) => str(c.block.version),
    database: (db) => ({
      name: str(db.block.identifier),
      size: str(db.block.instance_class),
      version: str(db.block.engine_version),
      highAvailability: db.block.multi_az === true,
      replicaOf: db.block.replicate_source_db === undefined ? undefined : [...db.refs].find((ref) => ref.startsWith("aws_db_instance.")),
    }),
    bucketName: (b) => str(b.block.bucket),
    identityName: (r) => str(r.block.name),
    agentCount: (r) => num(r.block.desired_count),
    vpnGateway: { type: "aws_vpn_gateway", label: "virtual private gateway" },
  },
  azure: {
    types: {
      network: "azurerm_virtual_network",
      egress: "azurerm_nat_gateway",
      cluster: "azurerm_kubernetes_cluster",
      nodePool: "azurerm_kubernetes_cluster_node_pool",
      database: "azurerm_postgresql_flexible_server",
      bucket: "azurerm_storage_container",
      identity: "azurerm_user_assigned_identity",
      agent: "azurerm_container_app",
    },
    labels: { network: "VNet", egress: "NAT gateway", cluster: "AKS", database: "PostgreSQL Flexible Server", bucket: "ADLS container", identities: "managed identities (workload identity)", secrets: "Key Vault", agent: "Container App" },
    networkName: (vnet) => str(vnet.block.name),
    networkCidrs: (vnet) => asList(vnet.block.address_space).map(str),
    subnets: (stack) => stack.of("azurerm_subnet").map((s) => ({ tier: str(s.block.name), cidrs: asList(s.block.address_prefixes).map(str) })),
    pools: (stack) => {
      const pool = (p: Block) => ({ name: str(p.name), machine: str(p.vm_size), min: num(p.min_count), max: num(p.max_count), spot: p.priority === "Spot" });
      return [...stack.of("azurerm_kubernetes_cluster").map((c) => pool(obj(c.block.default_node_pool))), ...stack.of("azurerm_kubernetes_cluster_node_pool").map((p) => pool(p.block))];
    },
    clusterVersion: (c) => str(c.block.kubernetes_version),
    database: (db) => ({
      name: str(db.block.name),
      size: str(db.block.sku_name),
      version: str(db.block.version),
      highAvailability: obj(db.block.high_availability).mode !== undefined,
      replicaOf: db.block.create_mode === "Replica" ? [...db.refs].find((ref) => ref.startsWith("azurerm_postgresql_flexible_server.")) : undefined,
    }),
    // A container is named within its storage account: both, as the portal shows them.
    bucketName: (b, stack) => {
      const account = stack.resources.find((r) => r.type === "azurerm_storage_account" && b.refs.has(r.address));
      return `${str(account?.block.name)}/${str(b.block.name)}`;
    },
    identityName: (r) => str(r.block.name),
    agentCount: (r) => num(obj(r.block.template).min_replicas),
    vpnGateway: { type: "azurerm_virtual_network_gateway", label: "VPN gateway" },
  },
  gcp: {
    types: {
      network: "google_compute_network",
      egress: "google_compute_router_nat",
      cluster: "google_container_cluster",
      nodePool: "google_container_node_pool",
      database: "google_sql_database_instance",
      bucket: "google_storage_bucket",
      identity: "google_service_account",
      agent: "google_compute_region_instance_group_manager",
    },
    labels: { network: "VPC network", egress: "Cloud NAT", cluster: "GKE", database: "Cloud SQL PostgreSQL", bucket: "GCS", identities: "service accounts (Workload Identity)", secrets: "Secret Manager", agent: "managed instance group" },
    networkName: (network) => str(network.block.name),
    networkCidrs: () => [],
    subnets: (stack, env) => [
      ...stack.of("google_compute_subnetwork").flatMap((s) => {
        const tier = str(s.block.name).replace(`${env.name}-`, "");
        return [{ tier, cidrs: [str(s.block.ip_cidr_range)] }, ...asList(s.block.secondary_ip_range).map((range) => ({ tier: `${tier} ${str(obj(range).range_name)}`, cidrs: [str(obj(range).ip_cidr_range)] }))];
      }),
      ...stack.of("google_compute_global_address").map((a) => ({ tier: str(a.block.name).replace(`${env.name}-`, ""), cidrs: [`${str(a.block.address)}/${num(a.block.prefix_length)}`] })),
    ],
    pools: (stack) =>
      stack.of("google_container_node_pool").map((p) => {
        const config = obj(p.block.node_config);
        const scaling = obj(p.block.autoscaling);
        return { name: str(p.block.name), machine: str(config.machine_type), min: num(scaling.total_min_node_count), max: num(scaling.total_max_node_count), spot: config.spot === true };
      }),
    clusterVersion: (c) => str(c.block.min_master_version),
    database: (db) => {
      const settings = obj(db.block.settings);
      return {
        // A Cloud SQL name ends in a random_id's hex (constructs/gcp/database.ts), known at apply.
        name: str(db.block.name).replace(/\$\{random_id\.[A-Za-z0-9_-]+\.hex\}$/, RANDOM_SUFFIX),
        size: str(settings.tier),
        version: str(db.block.database_version).replace(/^POSTGRES_/, ""),
        highAvailability: settings.availability_type === "REGIONAL",
        replicaOf: db.block.master_instance_name === undefined ? undefined : [...db.refs].find((ref) => ref.startsWith("google_sql_database_instance.")),
      };
    },
    bucketName: (b) => str(b.block.name),
    identityName: (r) => str(r.block.account_id),
    agentCount: (r) => num(r.block.target_size),
    vpnGateway: { type: "google_compute_ha_vpn_gateway", label: "HA VPN gateway" },
  },
};

/** The synthesized stacks an environment's picture is drawn from. */
export interface EnvironmentOutput {
  readonly infra: Stack;
  readonly apps?: Stack;
  readonly gitops?: Stack;
}

/** Reads `<outdir>/stacks/<stack>/cdk.tf.json` for an environment; a missing stack names the command that writes it. */
export function readEnvironmentOutput(outdir: string, env: Environment): EnvironmentOutput {
  const read = (stack: string, required: boolean): Stack | undefined => {
    const file = join(outdir, "stacks", stack, "cdk.tf.json");
    if (!existsSync(file)) {
      if (required) throw new Error(`${file} is missing: run \`npm run synth\`, then \`npm run docs\``);
      return undefined;
    }
    return new Stack(stack, readFileSync(file, "utf8"));
  };
  const kinds = stackKindsOf(env);
  // The stacks on other clouds (`<env>-infra-<cloud>`) draw with the infra stack, read by each
  // cloud's reader: their resource types are their cloud's, and they refer only to their own.
  const home = read(stackName(env, "infra"), true) as Stack;
  const foreign = kinds.filter((kind) => foreignCloudOf(kind) !== undefined).map((kind) => read(stackName(env, kind), true) as Stack);
  const resource: Record<string, Record<string, Block>> = {};
  for (const stack of [home, ...foreign]) for (const [type, blocks] of Object.entries(stack.json.resource ?? {})) resource[type] = { ...resource[type], ...blocks };
  return {
    infra: foreign.length === 0 ? home : new Stack(home.name, JSON.stringify({ ...home.json, resource })),
    apps: kinds.includes("apps") ? read(stackName(env, "apps"), true) : undefined,
    gitops: env.terraformCloud === undefined ? undefined : read("gitops", false),
  };
}

/** A node id keyed by neutral concept and cloud (flow ids: [A-Za-z][A-Za-z0-9_]*). */
export function nodeId(concept: string, cloud: Cloud | "k8s" | "tfc" | "env", name: string): string {
  return `${concept}_${cloud}_${name.replace(/[^A-Za-z0-9]+/g, "_")}`;
}

const node = (id: string, shape: Shape, lines: readonly string[]): FlowNode => ({ kind: "node", id, shape, lines });
const subgraph = (id: string, title: string, children: readonly (FlowNode | FlowSubgraph)[]): FlowSubgraph => ({ kind: "subgraph", id, title, children: [...children].sort((a, b) => a.id.localeCompare(b.id)) });
const joinCidrs = (cidrs: readonly string[]) => cidrs.join(", ");

/** Kubernetes service accounts (`namespace/name`) a cloud identity trusts, from the federation the stack writes. */
function trustedServiceAccounts(identity: Resource, stack: Stack, identityType: string): Set<string> {
  const subjects = new Set<string>();
  const holders = stack.resources.filter((r) => r === identity || (r.refs.has(identity.address) && [...r.refs].filter((ref) => ref.startsWith(`${identityType}.`)).length === 1));
  for (const holder of holders) {
    const text = JSON.stringify(holder.block);
    for (const m of text.matchAll(/system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+)/g)) subjects.add(`${m[1]}/${m[2]}`);
    for (const m of text.matchAll(/\.svc\.id\.goog\[([a-z0-9-]+)\/([a-z0-9-]+)\]/g)) subjects.add(`${m[1]}/${m[2]}`);
  }
  return subjects;
}

/** External Secrets' providers of the clouds' secret stores. */
const SECRET_STORE_PROVIDERS: Readonly<Record<string, Cloud>> = { aws: "aws", azurekv: "azure", gcpsm: "gcp" };

/** Cloud secret-store keys the ExternalSecrets of each namespace read, per cloud whose store holds them (stores with a cloud provider only). */
function cloudSecretsByNamespace(objects: readonly Located<KubeObject>[]): Map<string, Map<Cloud, Set<string>>> {
  const stores = new Map<string, Cloud | undefined>();
  for (const o of objects) {
    if (o.object.kind !== "SecretStore" && o.object.kind !== "ClusterSecretStore") continue;
    const provider = obj(obj(o.object.spec).provider);
    const key = o.object.kind === "ClusterSecretStore" ? `ClusterSecretStore/${str(o.object.metadata.name)}` : `SecretStore/${namespaceOf(o) ?? ""}/${str(o.object.metadata.name)}`;
    stores.set(key, Object.keys(provider).map((p) => SECRET_STORE_PROVIDERS[p]).find((c) => c !== undefined));
  }
  const result = new Map<string, Map<Cloud, Set<string>>>();
  for (const o of objects) {
    if (o.object.kind !== "ExternalSecret") continue;
    const namespace = namespaceOf(o) ?? "";
    const ref = obj(obj(o.object.spec).secretStoreRef);
    const store = stores.get(ref.kind === "ClusterSecretStore" ? `ClusterSecretStore/${str(ref.name)}` : `SecretStore/${namespace}/${str(ref.name)}`);
    if (store === undefined) continue;
    const spec = obj(o.object.spec);
    const keys = [...asList(spec.data).map((d) => str(obj(obj(d).remoteRef).key)), ...asList(spec.dataFrom).map((d) => str(obj(obj(d).extract).key))].filter((k) => k !== "");
    const byCloud = result.get(namespace) ?? new Map<Cloud, Set<string>>();
    const names = byCloud.get(store) ?? new Set<string>();
    // A key that is a Terraform reference is the database's generated administrator credential.
    for (const key of keys) names.add(key.includes("${") ? "database admin credential" : key);
    byCloud.set(store, names);
    result.set(namespace, byCloud);
  }
  return result;
}

/** The Mermaid flowchart of one environment. */
export function renderEnvironmentDiagram(env: Environment, output: EnvironmentOutput, all: readonly Environment[] = [env]): string {
  const cloud = env.cloud;
  const reader = DIAGRAM_CLOUDS[cloud];
  const { infra } = output;
  const items: (FlowNode | FlowSubgraph)[] = [];
  const links: FlowLink[] = [];
  const one = (type: string): Resource => {
    const found = infra.of(type);
    if (found.length !== 1) throw new Error(`${infra.name}: expected one ${type}, found ${found.length}`);
    return found[0];
  };

  // Networks: the cluster's, and one on another cloud that holds databases: one node per subnet
  // tier, NAT summarized, Terraform Cloud agents inside, the VPN gateway between the two.
  const vpnNode = (c: Cloud) => nodeId("vpn", c, "gateway");
  const networkOf = (c: Cloud, network: Resource): FlowSubgraph => {
    const own = DIAGRAM_CLOUDS[c];
    const tiers = new Map<string, SubnetFacts[]>();
    for (const subnet of own.subnets(infra, env)) tiers.set(subnet.tier, [...(tiers.get(subnet.tier) ?? []), subnet]);
    const children: FlowNode[] = [...tiers].map(([tier, subnets]) => {
      const zones = subnets.flatMap((s) => (s.zone ? [s.zone] : []));
      return node(nodeId("subnet", c, tier), "box", [`${tier} subnet${subnets.length > 1 ? "s" : ""}${zones.length > 0 ? ` · zones ${zones.sort().join(", ")}` : ""}`, joinCidrs(subnets.flatMap((s) => s.cidrs).sort())]);
    });
    const nats = infra.of(own.types.egress);
    if (nats.length > 0) children.push(node(nodeId("egress", c, "nat"), "box", [`${own.labels.egress} × ${nats.length}`, "outbound only"]));
    for (const agent of infra.of(own.types.agent)) children.push(node(nodeId("agent", c, "tfc"), "box", ["Terraform Cloud agents", `${own.labels.agent} × ${own.agentCount(agent)}`]));
    if (infra.of(own.vpnGateway.type).length > 0) children.push(node(vpnNode(c), "box", [own.vpnGateway.label]));
    const name = own.networkName(network);
    const cidrs = own.networkCidrs(network);
    return subgraph(nodeId("network", c, name), `${own.labels.network} ${name}${cidrs.length > 0 ? ` ${joinCidrs(cidrs)}` : ""}`, children);
  };
  items.push(networkOf(cloud, one(reader.types.network)));
  for (const c of CLOUDS.filter((other) => other !== cloud)) {
    const [network] = infra.of(DIAGRAM_CLOUDS[c].types.network);
    if (network === undefined) continue;
    items.push(networkOf(c, network));
    if (infra.of(reader.vpnGateway.type).length > 0 && infra.of(DIAGRAM_CLOUDS[c].vpnGateway.type).length > 0) links.push({ from: vpnNode(cloud), to: vpnNode(c), label: "site-to-site VPN (BGP)" });
  }

  // Cluster and node pools; the apps and platform workloads run in it.
  const cluster = one(reader.types.cluster);
  const poolNodes = reader.pools(infra).map((p) =>
    node(nodeId("nodePool", cloud, p.name), "box", [`pool ${p.name}${p.spot ? " · spot" : ""}`, p.machine, `${p.min}-${p.max} nodes`]),
  );

  // Databases (replicas dotted to their primary), buckets and workload identities are read with
  // the reader of whichever cloud's types the stack holds, not only the environment's: a bucket or
  // database kept on another cloud draws as that cloud's, under a node keyed by concept and cloud.
  const present = CLOUDS.filter((c) => [DIAGRAM_CLOUDS[c].types.database, DIAGRAM_CLOUDS[c].types.bucket, DIAGRAM_CLOUDS[c].types.identity].some((type) => infra.of(type).length > 0));
  interface Owned { readonly resource: Resource; readonly cloud: Cloud }
  const databases: (Owned & { readonly facts: DatabaseFacts })[] = present.flatMap((c) => infra.of(DIAGRAM_CLOUDS[c].types.database).map((resource) => ({ resource, cloud: c, facts: DIAGRAM_CLOUDS[c].database(resource) })));
  const dbByAddress = new Map(databases.map((db) => [db.resource.address, db]));
  const dbNode = (address: string) => {
    const db = dbByAddress.get(address) as (typeof databases)[number];
    return nodeId("database", db.cloud, db.facts.name);
  };
  const dataChildren: FlowNode[] = databases.map(({ resource, cloud: owner, facts }) => {
    // A replica's engine version is its primary's (AWS leaves it unset on the replica).
    const version = facts.version || (facts.replicaOf === undefined ? "" : (dbByAddress.get(facts.replicaOf)?.facts.version ?? ""));
    if (facts.replicaOf !== undefined) links.push({ from: dbNode(resource.address), to: dbNode(facts.replicaOf), label: "replica of", dotted: true });
    const role = facts.replicaOf === undefined ? (facts.highAvailability ? " · HA" : " · single zone") : " · read replica";
    return node(dbNode(resource.address), "cylinder", [`${DIAGRAM_CLOUDS[owner].labels.database} ${version}`, facts.name, `${facts.size}${role}`]);
  });
  const buckets: Owned[] = present.flatMap((c) => infra.of(DIAGRAM_CLOUDS[c].types.bucket).map((resource) => ({ resource, cloud: c })));
  const bucketName = (b: Owned) => DIAGRAM_CLOUDS[b.cloud].bucketName(b.resource, infra);
  const bucketNode = (b: Owned) => nodeId("bucket", b.cloud, bucketName(b));
  for (const bucket of buckets) dataChildren.push(node(bucketNode(bucket), "cylinder", [DIAGRAM_CLOUDS[bucket.cloud].labels.bucket, bucketName(bucket)]));
  items.push(subgraph(nodeId("data", cloud, env.name), "data", dataChildren));

  // Workload identities: the cloud identities some Kubernetes service account is trusted to use.
  const identities = present.flatMap((c) => {
    const identityType = DIAGRAM_CLOUDS[c].types.identity;
    return infra
      .of(identityType)
      .map((resource) => ({ resource, cloud: c, subjects: trustedServiceAccounts(resource, infra, identityType) }))
      .filter((i) => i.subjects.size > 0);
  });
  const identityName = (i: Owned) => DIAGRAM_CLOUDS[i.cloud].identityName(i.resource);
  const identityNode = (i: Owned) => nodeId("identity", i.cloud, identityName(i));
  for (const c of present) {
    const own = identities.filter((i) => i.cloud === c);
    if (own.length > 0) items.push(subgraph(nodeId("identities", c, env.name), DIAGRAM_CLOUDS[c].labels.identities, own.map((i) => node(identityNode(i), "hexagon", [identityName(i)]))));
  }
  // What each identity may reach: a grant is a resource that references it and a bucket.
  for (const identity of identities) {
    for (const bucket of buckets) {
      const granted = infra.resources.some((r) => r.refs.has(identity.resource.address) && r.refs.has(bucket.resource.address) && r !== bucket.resource);
      if (granted) links.push({ from: identityNode(identity), to: bucketNode(bucket), label: "granted" });
    }
  }

  // Apps (spec) and platform workloads (namespaces of the apps stack with a cloud identity or cloud secrets).
  const clusterChildren: (FlowNode | FlowSubgraph)[] = [...poolNodes];
  const secretStoreId = (c: Cloud) => nodeId("secrets", c, DIAGRAM_CLOUDS[c].labels.secrets);
  const declared = new Set<string>();
  if (output.apps !== undefined) {
    const rendered = renderedApps(output.apps.text);
    const secrets = cloudSecretsByNamespace(rendered.objects);
    const namespaceOfApp = new Map(env.apps.map((app) => {
      const release = rendered.releases.find((r) => r.name === app.name);
      if (release === undefined) throw new Error(`${output.apps?.name}: no Helm release named ${app.name} for the spec's app ${app.name}`);
      return [app.name, release.namespace];
    }));
    const workloadNode = (namespace: string) => nodeId("workload", "k8s", namespace);
    const reach = (namespace: string) => {
      for (const identity of identities) if ([...identity.subjects].some((subject) => subject.startsWith(`${namespace}/`))) links.push({ from: workloadNode(namespace), to: identityNode(identity), label: "runs as" });
      for (const [store, names] of secrets.get(namespace) ?? []) links.push({ from: workloadNode(namespace), to: secretStoreId(store), label: [...names].sort().join(", ") });
    };
    const appNodes = env.apps.map((app) => {
      const namespace = namespaceOfApp.get(app.name) as string;
      const lines: string[] = [app.name];
      if (app.host !== undefined) {
        if (!output.apps?.text.includes(app.host)) throw new Error(`${output.apps?.name}: the spec gives ${app.name} the host ${app.host}, which the stack does not contain`);
        lines.push(`https://${app.host}`);
      }
      if (app.database !== undefined) {
        const index = env.databases.findIndex((db) => db.name === app.database);
        const primary = databases.find(({ resource, facts }) => facts.replicaOf === undefined && specDatabaseIndex(resource.block, env, infra.json) === index);
        if (primary === undefined) throw new Error(`${infra.name}: no ${present.map((c) => DIAGRAM_CLOUDS[c].types.database).join(" or ") || reader.types.database} for the database ${app.database} of the spec's app ${app.name}`);
        links.push({ from: workloadNode(namespace), to: dbNode(primary.resource.address), label: "PostgreSQL" });
      }
      reach(namespace);
      return node(workloadNode(namespace), "stadium", lines);
    });
    const appNamespaces = new Set(namespaceOfApp.values());
    const platformNamespaces = new Set([...identities.flatMap((i) => [...i.subjects].map((s) => s.split("/")[0])), ...secrets.keys()].filter((ns) => !appNamespaces.has(ns)));
    const platformNodes = [...platformNamespaces].map((namespace) => {
      reach(namespace);
      return node(workloadNode(namespace), "stadium", [namespace]);
    });
    for (const n of [...appNodes, ...platformNodes]) declared.add(n.id);
    clusterChildren.push(subgraph(nodeId("apps", "k8s", env.name), "apps", appNodes), subgraph(nodeId("platform", "k8s", env.name), "platform services", platformNodes));
    const storeClouds = new Set([...secrets.values()].flatMap((byCloud) => [...byCloud.keys()]));
    for (const c of CLOUDS.filter((one) => storeClouds.has(one)).sort((a, b) => Number(b === cloud) - Number(a === cloud))) items.push(node(secretStoreId(c), "cylinder", [DIAGRAM_CLOUDS[c].labels.secrets]));
  }
  items.push(subgraph(nodeId("cluster", cloud, str(cluster.block.name)), `${reader.labels.cluster} ${str(cluster.block.name)} · Kubernetes ${reader.clusterVersion(cluster)}`, clusterChildren));

  // Terraform Cloud: the environment's workspaces, their execution and the agents of the apps workspace.
  if (env.terraformCloud !== undefined && output.gitops !== undefined) {
    const gitops = output.gitops;
    const workspaces = stackKindsOf(env).map((kind) => {
      const name = stackName(env, kind);
      const workspace = gitops.of("tfe_workspace").find((w) => w.block.name === name);
      if (workspace === undefined) throw new Error(`gitops: no tfe_workspace named ${name} for ${env.name}`);
      const settings = gitops.of("tfe_workspace_settings").find((s) => s.refs.has(workspace.address));
      const mode = str(settings?.block.execution_mode) || "remote";
      const apply = settings?.block.auto_apply === true ? "auto-apply" : "manual apply";
      if (settings?.refs !== undefined && [...settings.refs].some((ref) => ref.startsWith("tfe_agent_pool")) && infra.of(reader.types.agent).length > 0) {
        links.push({ from: nodeId("workspace", "tfc", name), to: nodeId("agent", cloud, "tfc"), label: "runs on" });
      }
      for (const trigger of gitops.of("tfe_run_trigger").filter((t) => t.refs.has(workspace.address) && str(t.block.workspace_id).includes(workspace.address))) {
        const source = [...trigger.refs].find((ref) => ref !== workspace.address && ref.startsWith("tfe_workspace."));
        const sourceName = gitops.resources.find((r) => r.address === source)?.block.name;
        if (typeof sourceName === "string") links.push({ from: nodeId("workspace", "tfc", sourceName), to: nodeId("workspace", "tfc", name), label: "triggers", dotted: true });
      }
      return node(nodeId("workspace", "tfc", name), "subroutine", [`workspace ${name}`, `${mode} · ${apply}`]);
    });
    items.push(subgraph(nodeId("terraformCloud", "tfc", env.name), `Terraform Cloud ${env.terraformCloud.organization} / ${env.terraformCloud.project}`, workspaces));
  }

  // Metrics hub links between environments.
  const others: FlowNode[] = [];
  const monitoring = nodeId("workload", "k8s", "monitoring");
  if ((env.metrics?.sendTo !== undefined || (env.metrics?.receiveFrom ?? []).length > 0) && !declared.has(monitoring)) {
    throw new Error(`${output.apps?.name ?? infra.name}: the spec links metrics with other environments, but no monitoring workload with a cloud secret or identity is in the output`);
  }
  // The links are the spec's (metricsLinks); the apps stack must hold their ends: the hub's
  // host it writes to, and for a hub the credential of each sender it admits.
  const { hub: hubLink } = metricsLinks(env, all);
  const appsText = output.apps?.text ?? "";
  if (hubLink !== undefined) {
    if (!appsText.includes(hubLink.host)) throw new Error(`${output.apps?.name ?? infra.name}: the spec sends metrics to ${hubLink.environment} at ${hubLink.host}, which the stack does not contain`);
    const hub = nodeId("environment", "env", hubLink.environment);
    others.push(node(hub, "box", [`environment ${hubLink.environment}`, `metrics hub https://${hubLink.host}`]));
    links.push({ from: monitoring, to: hub, label: "remote write" });
  }
  for (const sender of env.metrics?.receiveFrom ?? []) {
    if (!appsText.includes(sender.passwordSecret)) throw new Error(`${output.apps?.name ?? infra.name}: the spec receives metrics from ${sender.environment} with the secret ${sender.passwordSecret}, which the stack does not read`);
    const from = nodeId("environment", "env", sender.environment);
    others.push(node(from, "box", [`environment ${sender.environment}`]));
    links.push({ from, to: monitoring, label: "remote write" });
  }
  if (others.length > 0) items.push(subgraph(nodeId("environments", "env", env.name), "other environments", others));

  const sortedLinks = [...new Map(links.map((l) => [`${l.from} ${l.to} ${l.label ?? ""}`, l])).values()].sort((a, b) => `${a.from} ${a.to}`.localeCompare(`${b.from} ${b.to}`));
  return renderFlowchart("LR", [...items].sort((a, b) => a.id.localeCompare(b.id)), sortedLinks);
}

/** The Markdown file of one environment's picture. */
export function renderDiagramFile(env: Environment, output: EnvironmentOutput, source: string, all: readonly Environment[]): string {
  const stacks = [output.infra.name, output.apps?.name, output.gitops?.name].filter((s): s is string => s !== undefined);
  return [
    `# ${env.name} (${env.cloud}${env.production ? ", production" : ""})`,
    "",
    `Generated by \`npm run docs\` from ${source} and the synthesized stacks ${stacks.map((s) => `\`${s}\``).join(", ")}; do not edit.`,
    "Every box is a resource, Kubernetes object or namespace of that output, except the secret store and other environments,",
    "which it references; a link is a reference in it (a grant, a trusted service account, an ExternalSecret's key) or a",
    "spec link the output was checked to contain (an app's database and host, a metrics hub's host).",
    "",
    "```mermaid",
    renderEnvironmentDiagram(env, output, all).trimEnd(),
    "```",
    "",
  ].join("\n");
}
