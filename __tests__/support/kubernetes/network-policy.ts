/**
 * What a set of NetworkPolicies allows, as Kubernetes defines it, and the API server's
 * validation of each policy. Encoded from kubernetes/api at v0.31.0 (the 1.31 API)
 * networking/v1/types.go and kubernetes/kubernetes v1.31.0 pkg/apis/networking/validation/
 * validation.go (ValidateNetworkPolicySpec, ValidateNetworkPolicyPeer, ValidateIPBlock,
 * ValidateNetworkPolicyPort):
 *
 * - `podSelector` selects the pods of the policy's namespace the policy applies to; an empty
 *   selector selects every pod of the namespace.
 * - `policyTypes` lists Ingress and/or Egress; when absent, Ingress always, Egress when the
 *   policy has egress rules. A pod is isolated for a direction when any policy of its namespace
 *   selects it with that type; an isolated pod admits exactly the union of the rules of those
 *   policies (policies are additive; no rule = nothing).
 * - A rule with no (or empty) `from`/`to` matches every peer; with no (or empty) `ports`, every port.
 * - A peer is `podSelector` (pods of the policy's namespace), `namespaceSelector` (every pod of
 *   the selected namespaces), both in one peer (pods matching the pod selector in the selected
 *   namespaces), or `ipBlock` (addresses in `cidr` and not in `except`) alone: validation refuses
 *   an ipBlock combined with a selector and an `except` entry that is not strictly inside `cidr`.
 *   ipBlock is meant for addresses outside the cluster; whether it matches pod addresses is left to
 *   the implementation, so here it never matches a pod (the stricter reading).
 * - A port has `protocol` (TCP when absent; TCP, UDP or SCTP), `port` (a number, or a container
 *   port name of the destination pod), `endPort` (only with a numeric `port`, not below it).
 * - A connection is allowed when the source's egress allows it (if the source is a pod) and the
 *   destination's ingress allows it (if the destination is a pod). Traffic between a pod and its
 *   own node is always allowed and not modelled.
 *
 * What the CNI makes of `ipBlock` (ClusterPolicies.cni), where Kubernetes leaves it open:
 * - `vpc-cni` (EKS, the VPC CNI's network policy agent): addresses compared literally, so a
 *   node, the API server's ENIs and a load balancer's client match the ipBlock holding their
 *   address.
 * - `cilium` (AKS Azure CNI powered by Cilium, GKE Dataplane V2): an ipBlock never matches a node
 *   (cilium/cilium Documentation/security/policy/language.rst, "IP/CIDR based": "CIDR rules do not
 *   apply to traffic where both sides of the connection are either managed by Cilium or use an IP
 *   belonging to a node in the cluster (including host networking pods)"; MicrosoftDocs/azure-docs
 *   articles/aks/azure-cni-powered-by-cilium.md: "Network policies cannot use `ipBlock` to allow
 *   access to node or pod IPs"); the API server's calls into the cluster (webhooks) arrive from a
 *   node, "tunneled through worker nodes" on AKS and GKE (language.rst, the `kube-apiserver`
 *   entity; cilium/cilium PR #32464), while its address still matches as a destination (egress);
 *   a load balancer's client forwarded by another node arrives as that node (caveats.rst,
 *   "Security Identity for N/S Service Traffic": `reserved:remote-node`), which a test models
 *   as an Address with role `node`.
 * A rule without peers matches all of these on both.
 */
import { selects } from "./chart-services";

export type Labels = Readonly<Record<string, string>>;

interface Selector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: string[] }[];
}

interface PolicyPeer {
  readonly podSelector?: Selector;
  readonly namespaceSelector?: Selector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

interface PolicyPort {
  readonly protocol?: string;
  readonly port?: number | string;
  readonly endPort?: number;
}

interface PolicyRule {
  readonly from?: readonly PolicyPeer[];
  readonly to?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export interface NetworkPolicy {
  readonly metadata: { readonly name?: unknown; readonly namespace?: string };
  readonly spec: {
    readonly podSelector: Selector;
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly PolicyRule[];
    readonly egress?: readonly PolicyRule[];
  };
}

/** A pod: its namespace, labels, and named container ports. */
export interface Pod {
  readonly namespace: string;
  readonly labels: Labels;
  readonly namedPorts?: Readonly<Record<string, { readonly port: number; readonly protocol?: string }>>;
}

/** An address outside the pod network (a database, the API server, the Internet, a load balancer's client). */
export interface Address {
  readonly ip: string;
  /**
   * A node of the cluster (kubelet, host-network pods, traffic a node forwards or tunnels), or the
   * managed control plane (the API server); absent: outside the cluster.
   */
  readonly role?: "node" | "control-plane";
}

/** Which network policy engine enforces the policies (see the top of this file). */
export type Cni = "vpc-cni" | "cilium";

export type Endpoint = Pod | Address;

export interface Connection {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol?: "TCP" | "UDP" | "SCTP";
}

const isPod = (endpoint: Endpoint): endpoint is Pod => "namespace" in endpoint;

function ipValue(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function parseCidr(text: string): { base: number; prefix: number } | undefined {
  const [ip, prefixText] = text.split("/");
  const base = ipValue(ip ?? "");
  const prefix = Number(prefixText);
  if (base === undefined || prefixText === undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32) return undefined;
  return { base, prefix };
}

const blockSize = (prefix: number) => 2 ** (32 - prefix);
const network = (value: number, prefix: number) => value - (value % blockSize(prefix));

export function inCidr(ip: string, cidr: string): boolean {
  const address = ipValue(ip);
  const range = parseCidr(cidr);
  if (address === undefined || range === undefined) throw new Error(`not an IPv4 address in a CIDR: ${ip} in ${cidr}`);
  return network(address, range.prefix) === network(range.base, range.prefix);
}

/** validation.go ValidateNetworkPolicy (the parts the objects here can get wrong): one message per problem. */
export function networkPolicyProblems(policy: NetworkPolicy): string[] {
  const problems: string[] = [];
  const where = `NetworkPolicy ${String(policy.metadata.namespace)}/${String(policy.metadata.name)}`;
  for (const type of policy.spec.policyTypes ?? []) {
    if (type !== "Ingress" && type !== "Egress") problems.push(`${where}: policyTypes has ${type}; allowed: Ingress, Egress`);
  }
  if ((policy.spec.policyTypes ?? []).length > 2) problems.push(`${where}: more than two policyTypes`);
  const rules = [...(policy.spec.ingress ?? []).map((rule) => ({ rule, peers: rule.from ?? [] })), ...(policy.spec.egress ?? []).map((rule) => ({ rule, peers: rule.to ?? [] }))];
  for (const { rule, peers } of rules) {
    for (const peer of peers) {
      const kinds = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((part) => part !== undefined).length;
      if (kinds === 0) problems.push(`${where}: a peer must specify podSelector, namespaceSelector or ipBlock`);
      if (peer.ipBlock && kinds > 1) problems.push(`${where}: ipBlock may not be combined with podSelector or namespaceSelector in one peer`);
      if (peer.ipBlock) {
        const cidr = parseCidr(peer.ipBlock.cidr);
        if (!cidr) problems.push(`${where}: ipBlock.cidr ${peer.ipBlock.cidr} is not a CIDR`);
        for (const except of peer.ipBlock.except ?? []) {
          const inner = parseCidr(except);
          if (!inner) problems.push(`${where}: ipBlock.except ${except} is not a CIDR`);
          else if (cidr && (inner.prefix <= cidr.prefix || network(inner.base, cidr.prefix) !== network(cidr.base, cidr.prefix))) {
            problems.push(`${where}: ipBlock.except ${except} must be a strict subset of ${peer.ipBlock.cidr}`);
          }
        }
      }
    }
    for (const port of rule.ports ?? []) {
      if (port.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(port.protocol)) problems.push(`${where}: protocol ${port.protocol}; allowed: TCP, UDP, SCTP`);
      if (typeof port.port === "number" && (port.port < 1 || port.port > 65535)) problems.push(`${where}: port ${port.port} outside 1-65535`);
      if (port.endPort !== undefined) {
        if (typeof port.port !== "number") problems.push(`${where}: endPort requires a numeric port`);
        else if (port.endPort < port.port) problems.push(`${where}: endPort ${port.endPort} below port ${port.port}`);
      }
    }
  }
  return problems;
}

export interface ClusterPolicies {
  readonly cni: Cni;
  readonly policies: readonly NetworkPolicy[];
  /** Namespace name → its labels (`kubernetes.io/metadata.name` is added here, as the API server does). */
  readonly namespaces: ReadonlyMap<string, Labels>;
}

function policyTypes(policy: NetworkPolicy): string[] {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) return [...policy.spec.policyTypes];
  return ["Ingress", ...(policy.spec.egress && policy.spec.egress.length > 0 ? ["Egress"] : [])];
}

function namespaceLabels(cluster: ClusterPolicies, namespace: string): Labels {
  return { ...(cluster.namespaces.get(namespace) ?? {}), "kubernetes.io/metadata.name": namespace };
}

/** Whether Cilium gives the address an identity no ipBlock matches: a node, or the API server calling in through one. */
function ciliumEntity(address: Address, direction: "Ingress" | "Egress"): boolean {
  return address.role === "node" || (address.role === "control-plane" && direction === "Ingress");
}

function peerMatches(cluster: ClusterPolicies, policyNamespace: string, peer: PolicyPeer, other: Endpoint, direction: "Ingress" | "Egress"): boolean {
  if (peer.ipBlock) {
    if (isPod(other)) return false;
    if (cluster.cni === "cilium" && ciliumEntity(other, direction)) return false;
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((except) => inCidr(other.ip, except));
  }
  if (!isPod(other)) return false;
  if (peer.namespaceSelector) {
    if (!cluster.namespaces.has(other.namespace)) return false;
    if (!selects(peer.namespaceSelector as never, namespaceLabels(cluster, other.namespace))) return false;
  } else if (other.namespace !== policyNamespace) {
    return false;
  }
  return peer.podSelector === undefined || selects(peer.podSelector as never, other.labels);
}

function portMatches(port: PolicyPort, connection: Connection): boolean {
  const protocol = connection.protocol ?? "TCP";
  if ((port.protocol ?? "TCP") !== protocol) return false;
  if (port.port === undefined) return true;
  if (typeof port.port === "string") {
    const named = isPod(connection.to) ? connection.to.namedPorts?.[port.port] : undefined;
    return named !== undefined && named.port === connection.port && (named.protocol ?? "TCP") === protocol;
  }
  const end = port.endPort ?? port.port;
  return connection.port >= port.port && connection.port <= end;
}

function ruleMatches(cluster: ClusterPolicies, namespace: string, rule: PolicyRule, direction: "Ingress" | "Egress", other: Endpoint, connection: Connection): boolean {
  const peers = direction === "Ingress" ? rule.from : rule.to;
  const peerOk = peers === undefined || peers.length === 0 || peers.some((peer) => peerMatches(cluster, namespace, peer, other, direction));
  const portOk = rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((port) => portMatches(port, connection));
  return peerOk && portOk;
}

function directionAllows(cluster: ClusterPolicies, pod: Pod, direction: "Ingress" | "Egress", other: Endpoint, connection: Connection): boolean {
  const applying = cluster.policies.filter(
    (policy) => policy.metadata.namespace === pod.namespace && selects(policy.spec.podSelector as never, pod.labels) && policyTypes(policy).includes(direction),
  );
  if (applying.length === 0) return true;
  return applying.some((policy) => {
    const rules = direction === "Ingress" ? (policy.spec.ingress ?? []) : (policy.spec.egress ?? []);
    return rules.some((rule) => ruleMatches(cluster, pod.namespace, rule, direction, other, connection));
  });
}

/** Whether the policies let `connection` through (both the source's egress and the destination's ingress). */
export function allows(cluster: ClusterPolicies, connection: Connection): boolean {
  for (const policy of cluster.policies) {
    const problems = networkPolicyProblems(policy);
    if (problems.length > 0) throw new Error(problems.join("; "));
  }
  const egress = !isPod(connection.from) || directionAllows(cluster, connection.from, "Egress", connection.to, connection);
  const ingress = !isPod(connection.to) || directionAllows(cluster, connection.to, "Ingress", connection.from, connection);
  return egress && ingress;
}

/** Whether `policy` isolates every pod of its namespace in both directions with no rule. */
export function isDefaultDeny(policy: NetworkPolicy): boolean {
  const selector = policy.spec.podSelector;
  const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
  const types = policyTypes(policy);
  return empty && types.includes("Ingress") && types.includes("Egress") && (policy.spec.ingress ?? []).length === 0 && (policy.spec.egress ?? []).length === 0;
}
