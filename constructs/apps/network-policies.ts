/**
 * Default deny inside the cluster: every namespace the apps stack creates gets a NetworkPolicy
 * that selects all its pods for ingress and egress with no rule (nothing in, nothing out), one
 * that lets every pod resolve names through kube-dns, and one policy per side of each flow below.
 * A flow is written once, from its source to its destination; the source namespace gets the
 * egress half and the destination namespace the ingress half, so the two sides cannot disagree.
 *
 * Semantics relied on (k8s.io/api networking/v1 types.go at v0.31.0, the 1.31 API): policies are
 * additive (a pod selected by any policy of a direction admits the union of their rules); an
 * empty `podSelector` selects every pod of the namespace; `policyTypes: [Ingress, Egress]` with no
 * rules isolates both directions; a peer with `namespaceSelector` and `podSelector` means pods
 * matching both; `ipBlock` is meant for addresses outside the cluster; a port without protocol
 * is TCP. Every namespace carries `kubernetes.io/metadata.name` (set by the API server since
 * 1.22), which the peers below select on.
 *
 * What the CNI enforces: GKE Dataplane V2 (Cilium) and AKS Azure CNI powered by Cilium enforce
 * NetworkPolicy as configured in the infra stacks; on EKS the VPC CNI's network policy agent is
 * switched on in the `vpc-cni` add-on (`enableNetworkPolicy`). Pods with `hostNetwork`
 * (node-exporter) are not subject to NetworkPolicy; traffic between a pod and its own node
 * (kubelet probes) is always allowed (kubernetes.io "Network Policies", "Pod isolation").
 *
 * On Cilium (AKS, GKE) an `ipBlock` never matches a node, nor what comes through one: cilium/cilium
 * Documentation/security/policy/language.rst, "IP/CIDR based": "CIDR rules do not apply to traffic
 * where both sides of the connection are either managed by Cilium or use an IP belonging to a node
 * in the cluster (including host networking pods)"; the same file, entities: ingress from the
 * control plane "is being tunneled through worker nodes" on AKS and GKE, so the API server calling
 * a webhook arrives as a node (on AKS with API Server VNet Integration, which the Azure platform
 * turns on for KMS, it arrives instead from the API server subnet's addresses, which Cilium gives
 * the `kube-apiserver` identity: either way only a rule without peers is sure to admit it); Documentation/security/policy/caveats.rst, "Security Identity for
 * N/S Service Traffic": load-balancer traffic forwarded to a backend on another node is
 * `remote-node`; MicrosoftDocs/azure-docs articles/aks/azure-cni-powered-by-cilium.md, limitations:
 * "Network policies cannot use `ipBlock` to allow access to node or pod IPs". So whatever comes
 * from the API server, a load balancer or a node, and whatever goes to a node (kubelet,
 * node-exporter), is admitted by a rule with ports and no peer ({@link ANYWHERE}): it matches every
 * source or destination, nodes included, on every CNI; the other side's own policies (the
 * sources' egress, the destinations' ingress) still apply.
 */
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { gitSyncTransport, type Environment } from "../core/spec";
import type { PodNetwork } from "../core/interfaces";
import { APP_CATALOGUE, untrustedAccount, WORKLOAD_ACCOUNTS, type AppName } from "../core/apps";
import { ManifestsRelease, type Manifest } from "./helm";
import { CERT_MANAGER_NAMESPACE, DATABASE_BOOTSTRAP_NAMESPACE, INGRESS_NAMESPACE } from "./addons";
import { AIRBYTE_RELEASE } from "./airbyte";
import { AIRFLOW_RELEASE } from "./airflow";
import { MONITORING_NAMESPACE, MONITORING_RELEASE } from "./monitoring";
import { OTEL_COLLECTOR_PORTS } from "./observability/collector";
import { KAFKA_AGENT_PORT, KAFKA_CONTROLPLANE_PORT, KAFKA_REPLICATION_PORT, KAFKA_TLS_PORT, STRIMZI_NAMESPACE, STRIMZI_POD_LABELS } from "./datahub-kafka";
import { PROXY_APP_LABEL, PROXY_LABELS, PROXY_PORT, proxiedApps, SSO_NAMESPACE } from "./sso";

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; readonly values?: readonly string[] }[];
}

export interface PolicyPort {
  readonly protocol: "TCP" | "UDP";
  readonly port: number;
}

const tcp = (...ports: number[]): PolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));
const everyPod: LabelSelector = {};
const labelled = (labels: Labels): LabelSelector => ({ matchLabels: labels });

/** Pods of one namespace, addresses outside the cluster, or anywhere (a rule with ports and no peer). */
export type Peer =
  | { readonly namespace: string; readonly pods: LabelSelector }
  | { readonly cidr: string; readonly except?: readonly string[] }
  | { readonly anywhere: true };

/**
 * Every source or destination, nodes, the API server and the load balancers' forwarded traffic
 * included (the rule is written with `ports` and no `from`/`to`): for what Cilium identifies as a
 * node, which no ipBlock matches (see the top of this file). Always with ports.
 */
export const ANYWHERE: Peer = { anywhere: true };

/** One allowed connection: from a peer, to a peer, on these ports (none listed: every port). */
export interface Flow {
  /** Names the policies (`<name>-egress` in the source namespace, `<name>-ingress` in the destination's). */
  readonly name: string;
  readonly from: Peer;
  readonly to: Peer;
  readonly ports: readonly PolicyPort[];
}

const isPods = (peer: Peer): peer is Extract<Peer, { readonly namespace: string }> => "namespace" in peer;
const isAnywhere = (peer: Peer): peer is Extract<Peer, { readonly anywhere: true }> => "anywhere" in peer;
const pods = (namespace: string, selector: LabelSelector = everyPod): Peer => ({ namespace, pods: selector });

/** Label the API server sets on every namespace (its name). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * Addresses that are not the Internet: RFC 1918 (every VPC/VNet, pod and service range of the
 * three clouds lies inside them: EKS pods take VPC addresses, AKS overlay and GKE secondary
 * ranges are private), RFC 6598 shared space, and link-local (the instance metadata services:
 * a pod must not borrow its node's identity).
 */
export const NON_INTERNET_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"] as const;
const INTERNET: Peer = { cidr: "0.0.0.0/0", except: NON_INTERNET_RANGES };

/**
 * The Kubernetes API server, for the pods that must call it. Its address differs per cloud and is
 * not known to the apps stack at synth time: EKS's private endpoint is a set of ENIs in the VPC's
 * subnets, AKS's a private endpoint (or public FQDN) of the managed control plane, GKE's a Private
 * Service Connect address in the node subnet; the `kubernetes` Service forwards to it on 443. So
 * the rule is TCP 443 to any address, private ones included: in-cluster pods listening on 443 are
 * still protected by their own namespace's default deny.
 */
const API_SERVER: Peer = { cidr: "0.0.0.0/0" };
const API_SERVER_PORTS = tcp(443);

/** kube-dns / CoreDNS: `k8s-app: kube-dns` in kube-system on EKS (coredns add-on), AKS (coredns) and GKE (kube-dns). */
export const KUBE_DNS: Peer = { namespace: "kube-system", pods: { matchLabels: { "k8s-app": "kube-dns" } } };
const DNS_PORTS: PolicyPort[] = [
  { protocol: "UDP", port: 53 },
  { protocol: "TCP", port: 53 },
];

/** Port of every managed PostgreSQL server. */
const POSTGRES_PORT = 5432;
/** Port the admission webhooks listen on (ESO `webhook.port`, cert-manager `webhook.securePort`, kube-prometheus-stack `prometheusOperator.tls.internalPort`). */
const WEBHOOK_PORT = 10250;

/**
 * The pods that serve the admission webhooks the API server calls (every one the stack installs;
 * no other chart here registers a webhook), by their charts' selector labels:
 * - External Secrets helm-chart-2.9.0 deploy/charts/external-secrets/templates/_helpers.tpl
 *   `external-secrets-webhook.selectorLabels` (`<chart name>-webhook`, instance = release);
 * - cert-manager v1.21.1 deploy/charts/cert-manager/templates/webhook-deployment.yaml
 *   `spec.selector.matchLabels` (`webhook.name` is the literal `webhook`, component `webhook`);
 * - kube-prometheus-stack 88.5.3 templates/prometheus-operator/deployment.yaml
 *   `spec.selector.matchLabels` (`app: kube-prometheus-stack-operator`, `release`): the operator
 *   serves its own webhook (`admissionWebhooks.deployment.enabled` false by default).
 */
export const WEBHOOK_PODS = {
  externalSecrets: labelled({ "app.kubernetes.io/name": "external-secrets-webhook", "app.kubernetes.io/instance": "external-secrets" }),
  certManager: labelled({ "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" }),
  prometheusOperator: labelled({ app: "kube-prometheus-stack-operator", release: MONITORING_RELEASE }),
} as const;


/**
 * Pods that run code the platform does not control, by the labels their launcher puts on them
 * (never by service account). Everything else in the namespace is the platform's.
 * - Airbyte 2.2 connector and job pods: `airbyte: job-pod` (airbyte-platform
 *   airbyte-commons-workload/src/main/kotlin/io/airbyte/workload/common/WorkloadLabels.kt
 *   WORKER_POD_LABEL_KEY/VALUE, and PodLabeler.kt SWEEPER_LABEL_KEY/VALUE at v2.0.0);
 * - Airflow task pods of the KubernetesExecutor: `component: worker` (apache/airflow chart 1.19.0
 *   files/pod-template-file.kubernetes-helm-yaml, `metadata.labels`); no other pod of a
 *   KubernetesExecutor release carries it (workers only exist with Celery).
 */
export const UNTRUSTED_PODS: Partial<Record<AppName, { readonly key: string; readonly value: string }>> = {
  airbyte: { key: "airbyte", value: "job-pod" },
  airflow: { key: "component", value: "worker" },
};

/** The platform's own pods of a namespace: all but its untrusted ones. */
function platformPods(namespace: string): LabelSelector {
  const app = (Object.keys(APP_CATALOGUE) as AppName[]).find((name) => APP_CATALOGUE[name].namespace === namespace);
  const untrusted = app === undefined ? undefined : UNTRUSTED_PODS[app];
  return untrusted === undefined ? everyPod : { matchExpressions: [{ key: untrusted.key, operator: "NotIn", values: [untrusted.value] }] };
}

function untrustedPods(app: AppName): LabelSelector {
  const untrusted = UNTRUSTED_PODS[app];
  if (untrusted === undefined) throw new Error(`${app} has no untrusted pods`);
  return labelled({ [untrusted.key]: untrusted.value });
}

/**
 * Each app's UI behind Traefik: the pods the chart's Ingress routes to and their container port.
 * - airflow: apache/airflow chart 1.19.0 templates/api-server/api-server-deployment.yaml
 *   (labels tier/component/release, port `ports.apiServer` 8080);
 * - airbyte: airbyte 2.2.0 templates/airbyte-server/deployment.yaml, _helpers.tpl
 *   `airbyte.selectorLabels` (`app.kubernetes.io/name: server`), container port 8001;
 * - datahub: datahub-helm datahub-1.1.0 subcharts/datahub-frontend (`datahub-frontend.selectorLabels`, 9002);
 * - metabase: pmint93 metabase-2.26.0 templates/deployment.yaml (`app: metabase`, `service.internalPort` 3000);
 * - grafana and the monitoring Grafana: grafana chart 12.11.1 (`app.kubernetes.io/name: grafana`, 3000).
 */
const WEB_BACKENDS: Readonly<Record<AppName, { readonly pods: LabelSelector; readonly port: number }>> = {
  airflow: { pods: labelled({ tier: "airflow", component: "api-server", release: AIRFLOW_RELEASE }), port: 8080 },
  airbyte: { pods: labelled({ "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": AIRBYTE_RELEASE }), port: 8001 },
  datahub: { pods: labelled({ "app.kubernetes.io/name": "datahub-frontend" }), port: 9002 },
  metabase: { pods: labelled({ app: "metabase" }), port: 3000 },
  grafana: { pods: labelled({ "app.kubernetes.io/name": "grafana" }), port: 3000 },
  monitoring: { pods: labelled({ "app.kubernetes.io/name": "grafana" }), port: 3000 },
};

/** Traefik's pods (traefik-helm-chart v41.3.0 _helpers.tpl `traefik.labelselector`) and entry points (values.yaml `ports.web.port` 8000, `ports.websecure.port` 8443, `ports.metrics.port` 9100). */
export const TRAEFIK = {
  pods: labelled({ "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": `traefik-${INGRESS_NAMESPACE}` }),
  web: 8000,
  websecure: 8443,
  metrics: 9100,
} as const;

/** cert-manager v1.21.1 HTTP-01 solver pods (pkg/issuer/acme/http/pod.go: label `acme.cert-manager.io/http01-solver`, port 8089), created in the namespace of each Ingress's Certificate. */
const ACME_SOLVER = { pods: labelled({ "acme.cert-manager.io/http01-solver": "true" }), port: 8089 } as const;

/** Prometheus pods the operator creates (prometheus-operator v0.93 pkg/prometheus/statefulset.go: `app.kubernetes.io/name: prometheus`). */
export const PROMETHEUS_PODS = labelled({ "app.kubernetes.io/name": "prometheus" });
const PROMETHEUS_PORT = 9090;
/** Alertmanager pods the operator creates (prometheus-operator v0.93 pkg/alertmanager/statefulset.go: `app.kubernetes.io/name: alertmanager`). */
const ALERTMANAGER_PODS = labelled({ "app.kubernetes.io/name": "alertmanager" });

/**
 * DataHub's Kafka and OpenSearch, in one place for when they change: the pods, the label that
 * tells them apart from the namespace's other pods (they are left out of its same-namespace
 * ingress), and who may reach which port inside the namespace (`own`: every pod of DataHub's
 * namespace, `self`: the backend's own members). Only these reach them; nothing outside the
 * namespace does, but the Strimzi operator (its flow in `clusterFlows`).
 * - Kafka, run by Strimzi 1.2.0 (datahub-kafka.ts): the TLS listener 9093 for DataHub's pods; the
 *   controller quorum 9090 and replication 9091 among the nodes; replication also for the entity
 *   operator's User Operator. As Strimzi's own KafkaCluster#generateNetworkPolicy
 *   (cluster-operator/.../model/KafkaCluster.java:1752-1796 at 1.2.0) gives them, but with the
 *   listener closed to every pod outside DataHub's namespace.
 * - OpenSearch (opensearch chart 2.19.0 `opensearch.selectorLabels`, security plugin with TLS on
 *   both): HTTP 9200 for DataHub's pods, transport 9300 among the nodes.
 */
export const DATAHUB_BACKENDS = [
  {
    name: "kafka",
    pods: labelled(STRIMZI_POD_LABELS.kafka),
    identity: { key: "strimzi.io/name", value: STRIMZI_POD_LABELS.kafka["strimzi.io/name"] },
    ingress: [
      { from: "own", ports: tcp(KAFKA_TLS_PORT) },
      { from: "self", ports: tcp(KAFKA_CONTROLPLANE_PORT, KAFKA_REPLICATION_PORT) },
      { from: labelled(STRIMZI_POD_LABELS.entityOperator), ports: tcp(KAFKA_REPLICATION_PORT) },
    ],
  },
  {
    name: "opensearch",
    pods: labelled({ "app.kubernetes.io/name": "opensearch" }),
    identity: { key: "app.kubernetes.io/name", value: "opensearch" },
    ingress: [
      { from: "own", ports: tcp(9200) },
      { from: "self", ports: tcp(9300) },
    ],
  },
] as const satisfies readonly { name: string; pods: LabelSelector; identity: { key: string; value: string }; ingress: readonly { from: "own" | "self" | LabelSelector; ports: PolicyPort[] }[] }[];

/**
 * Metrics ports Prometheus scrapes outside its namespace (the container ports behind the
 * ServiceMonitors of observability/scrape.ts): Traefik's metrics entry point, the External
 * Secrets controller (`metrics.listen.port` 8080), cert-manager (9402), Airflow's statsd exporter
 * (`ports.statsdScrape` 9102) and DataHub GMS (JMX exporter 4318, actuator 4319).
 */
function metricsTargets(env: Environment): { namespace: string; pods: LabelSelector; ports: PolicyPort[] }[] {
  const has = (app: AppName) => env.apps.some((spec) => spec.name === app);
  return [
    { namespace: INGRESS_NAMESPACE, pods: TRAEFIK.pods, ports: tcp(TRAEFIK.metrics) },
    { namespace: WORKLOAD_ACCOUNTS["external-secrets"].namespace, pods: labelled({ "app.kubernetes.io/name": "external-secrets" }), ports: tcp(8080) },
    { namespace: CERT_MANAGER_NAMESPACE, pods: labelled({ "app.kubernetes.io/name": "cert-manager" }), ports: tcp(9402) },
    ...(has("airflow") ? [{ namespace: APP_CATALOGUE.airflow.namespace, pods: labelled({ tier: "airflow", component: "statsd" }), ports: tcp(9102) }] : []),
    ...(has("datahub") ? [{ namespace: APP_CATALOGUE.datahub.namespace, pods: labelled({ "app.kubernetes.io/name": "datahub-gms" }), ports: tcp(4318, 4319) }] : []),
  ];
}

/** A selector minus DataHub's Kafka and OpenSearch pods (by the label each is told apart by). */
function withoutBackends(selector: LabelSelector): LabelSelector {
  const notBackend = DATAHUB_BACKENDS.map((backend) => ({ key: backend.identity.key, operator: "NotIn" as const, values: [backend.identity.value] }));
  return { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...notBackend] };
}

export interface NetworkPolicyInput {
  readonly env: Environment;
  readonly network: PodNetwork;
  /** The environment is a metrics hub: other environments remote-write through its ingress to its Prometheus. */
  readonly metricsHub: boolean;
}

/** Every allowed flow of an environment's cluster, besides DNS (every pod) and in-namespace traffic of each namespace's own pods. */
export function clusterFlows(input: NetworkPolicyInput): Flow[] {
  const { env, network } = input;
  const flows: Flow[] = [];
  const apps = [...new Set<AppName>(["monitoring", ...env.apps.map((app) => app.name)])];
  const ns = (app: AppName) => APP_CATALOGUE[app].namespace;
  const eso = WORKLOAD_ACCOUNTS["external-secrets"].namespace;
  const externalDns = WORKLOAD_ACCOUNTS["external-dns"].namespace;

  const toDatabases = (name: string, from: Peer) => network.databaseCidrs.forEach((cidr, index) => flows.push({ name: `${name}-database-${index}`, from, to: { cidr }, ports: tcp(POSTGRES_PORT) }));
  // A cloud identity's endpoints: the token endpoints on the node's link-local addresses, and
  // the cloud's services behind private endpoints in the network (HTTPS).
  const toIdentityEndpoints = (name: string, from: Peer) => {
    network.identityEndpoints.forEach((endpoint, index) => flows.push({ name: `${name}-identity-${index}`, from, to: { cidr: endpoint.cidr }, ports: tcp(endpoint.port) }));
    network.privateEndpointCidrs.forEach((cidr, index) => flows.push({ name: `${name}-private-endpoint-${index}`, from, to: { cidr }, ports: tcp(443) }));
  };
  const toCloud = (name: string, from: Peer, ports: PolicyPort[] = tcp(443)) => {
    flows.push({ name: `${name}-internet`, from, to: INTERNET, ports });
    toIdentityEndpoints(name, from);
  };
  const toApiServer = (name: string, from: Peer) => flows.push({ name: `${name}-kube-api`, from, to: API_SERVER, ports: API_SERVER_PORTS });

  // Add-ons.
  // The admission webhooks, from the API server: on AKS and GKE its calls come through the nodes.
  toApiServer("external-secrets", pods(eso));
  toCloud("external-secrets", pods(eso));
  flows.push({ name: "webhook", from: ANYWHERE, to: pods(eso, WEBHOOK_PODS.externalSecrets), ports: tcp(WEBHOOK_PORT) });
  // Clients through the load balancer: Traefik's Service keeps their address
  // (externalTrafficPolicy Local, addons.ts), and wherever a node forwards it still gets in.
  toApiServer("traefik", pods(INGRESS_NAMESPACE, TRAEFIK.pods));
  flows.push({ name: "clients", from: ANYWHERE, to: pods(INGRESS_NAMESPACE, TRAEFIK.pods), ports: tcp(TRAEFIK.web, TRAEFIK.websecure) });
  toDatabases("bootstrap", pods(DATABASE_BOOTSTRAP_NAMESPACE));
  // The PostgreSQL exporters of every server (observability/postgres.ts) run in the monitoring namespace.
  if (env.databases.length > 0) toDatabases("postgres-exporters", pods(MONITORING_NAMESPACE));
  // cert-manager runs on every cluster (the in-cluster CA Issuers), with or without `dns`.
  toApiServer("cert-manager", pods(CERT_MANAGER_NAMESPACE));
  flows.push({ name: "webhook", from: ANYWHERE, to: pods(CERT_MANAGER_NAMESPACE, WEBHOOK_PODS.certManager), ports: tcp(WEBHOOK_PORT) });
  if (env.dns !== undefined) {
    // ACME directory (443) and the HTTP-01 self-check of each host (80, through the load balancer).
    toCloud("cert-manager", pods(CERT_MANAGER_NAMESPACE), tcp(443, 80));
    // The self-check from inside the cluster: kube-proxy and Cilium send traffic for the load
    // balancer's address straight to Traefik's pods.
    flows.push({ name: "acme-self-check", from: pods(CERT_MANAGER_NAMESPACE), to: pods(INGRESS_NAMESPACE, TRAEFIK.pods), ports: tcp(TRAEFIK.web) });
  }
  if (env.dns?.zone !== undefined) {
    toApiServer("external-dns", pods(externalDns));
    toCloud("external-dns", pods(externalDns));
  }

  // The proxies call the SSO provider (discovery, token, keys) over HTTPS.
  const proxied = proxiedApps(env);
  if (env.sso !== undefined) flows.push({ name: "sso-provider", from: pods(SSO_NAMESPACE, labelled(PROXY_LABELS)), to: INTERNET, ports: tcp(443) });
  if (proxied.length > 0 && env.dns !== undefined) flows.push({ name: "sso-acme-solver", from: pods(INGRESS_NAMESPACE, TRAEFIK.pods), to: pods(SSO_NAMESPACE, ACME_SOLVER.pods), ports: tcp(ACME_SOLVER.port) });

  for (const app of apps) {
    const namespace = ns(app);
    // DataHub's Kafka and OpenSearch call neither the database nor the Internet.
    const platform = pods(namespace, app === "datahub" ? withoutBackends(platformPods(namespace)) : platformPods(namespace));
    const spec = env.apps.find((candidate) => candidate.name === app);
    if (spec?.database !== undefined) toDatabases(app, platform);
    // HTTPS to the Internet: the cloud's APIs (buckets, secret stores, token exchange), the
    // Let's Encrypt-free outbound calls each app makes (connector registry, alert webhooks, the
    // metrics hub) and, with `sso`, the provider of each app that signs users in itself
    // (Grafana, DataHub's frontend, Airflow's API server: discovery document, token endpoint,
    // keys). Metabase queries the warehouses its users connect, on their own ports.
    toCloud(app, platform, app === "metabase" ? [] : tcp(443));
    if (spec?.host !== undefined && proxied.includes(app)) {
      // Single sign-on through the proxy (sso.ts): Traefik reaches the app's proxy only, and
      // the proxy the app's UI; the certificate (and its HTTP-01 solver) is in the sso namespace.
      const proxy = pods(SSO_NAMESPACE, labelled({ ...PROXY_LABELS, [PROXY_APP_LABEL]: app }));
      const backend = WEB_BACKENDS[app];
      flows.push({ name: `${app}-sso-web`, from: pods(INGRESS_NAMESPACE, TRAEFIK.pods), to: proxy, ports: tcp(PROXY_PORT) });
      flows.push({ name: `${app}-sso-upstream`, from: proxy, to: pods(namespace, backend.pods), ports: tcp(backend.port) });
    } else if (spec?.host !== undefined) {
      const backend = WEB_BACKENDS[app];
      flows.push({ name: `${app}-web`, from: pods(INGRESS_NAMESPACE, TRAEFIK.pods), to: pods(namespace, backend.pods), ports: tcp(backend.port) });
      if (env.dns !== undefined) flows.push({ name: `${app}-acme-solver`, from: pods(INGRESS_NAMESPACE, TRAEFIK.pods), to: pods(namespace, ACME_SOLVER.pods), ports: tcp(ACME_SOLVER.port) });
    }
  }

  // The Kubernetes API, where a pod must call it.
  if (apps.includes("airflow")) {
    // The scheduler launches and watches task pods (KubernetesExecutor); the API server reads a
    // running task's log from its pod.
    toApiServer("airflow", pods(ns("airflow"), { matchExpressions: [{ key: "component", operator: "In", values: ["scheduler", "api-server"] }] }));
  }
  if (apps.includes("datahub")) {
    // DataHub's Kafka (datahub-kafka.ts): the Strimzi operator manages it through the API and
    // reaches each node's quorum, replication and agent ports (KafkaCluster#generateNetworkPolicy,
    // its `clusterOperatorPeer` rules); the entity operator's User Operator keeps KafkaUsers and
    // their Secrets through the API.
    const operator = pods(STRIMZI_NAMESPACE, labelled(STRIMZI_POD_LABELS.operator));
    toApiServer("strimzi-operator", operator);
    flows.push({ name: "strimzi-operator-kafka", from: operator, to: pods(ns("datahub"), labelled(STRIMZI_POD_LABELS.kafka)), ports: tcp(KAFKA_CONTROLPLANE_PORT, KAFKA_REPLICATION_PORT, KAFKA_AGENT_PORT) });
    toApiServer("strimzi-entity-operator", pods(ns("datahub"), labelled(STRIMZI_POD_LABELS.entityOperator)));
  }
  // Airbyte's launcher creates job pods, its bootloader and server manage Secrets, its cron sweeps pods.
  if (apps.includes("airbyte")) toApiServer("airbyte", pods(ns("airbyte"), platformPods(ns("airbyte"))));
  // Alertmanager's SMTP server (`alerts.email.smarthost`, host:port), on its port.
  const smtp = env.alerts?.email?.smarthost;
  if (smtp !== undefined) flows.push({ name: "alertmanager-smtp", from: pods(MONITORING_NAMESPACE, ALERTMANAGER_PODS), to: INTERNET, ports: tcp(Number(smtp.slice(smtp.lastIndexOf(":") + 1))) });
  // prometheus-operator, Prometheus's service discovery, kube-state-metrics, Grafana's sidecars.
  toApiServer("monitoring", pods(MONITORING_NAMESPACE));
  flows.push({ name: "operator-webhook", from: ANYWHERE, to: pods(MONITORING_NAMESPACE, WEBHOOK_PODS.prometheusOperator), ports: tcp(WEBHOOK_PORT) });

  // Untrusted pods: the Internet on any port, and the platform endpoints they must call.
  if (apps.includes("airbyte")) {
    const jobs = pods(ns("airbyte"), untrustedPods("airbyte"));
    flows.push({ name: "airbyte-jobs-internet", from: jobs, to: INTERNET, ports: [] });
    // The cloud identity's endpoints only where the app's identity trusts the jobs' account.
    if (untrustedAccount("airbyte", env.cloud)?.cloudIdentity === true) toIdentityEndpoints("airbyte-jobs", jobs);
    // airbyte 2.2.0: the server (8001) and the workload API server (8007, templates/airbyte-workload-api-server/deployment.yaml).
    flows.push({ name: "airbyte-jobs-server", from: jobs, to: pods(ns("airbyte"), labelled({ "app.kubernetes.io/name": "server" })), ports: tcp(8001) });
    flows.push({ name: "airbyte-jobs-workload-api", from: jobs, to: pods(ns("airbyte"), labelled({ "app.kubernetes.io/name": "workload-api-server" })), ports: tcp(8007) });
    // State and logs in the bundled MinIO where the cloud's bucket is not used (airbyte.ts `storage`; minio.yaml port 9000).
    if (env.cloud !== "aws") flows.push({ name: "airbyte-jobs-storage", from: jobs, to: pods(ns("airbyte"), labelled({ "app.kubernetes.io/name": `${AIRBYTE_RELEASE}-minio` })), ports: tcp(9000) });
    // Metrics over OTLP/HTTP to the collector.
    flows.push({ name: "airbyte-otlp", from: pods(ns("airbyte"), platformPods(ns("airbyte"))), to: pods(MONITORING_NAMESPACE, labelled({ "app.kubernetes.io/name": "opentelemetry-collector" })), ports: tcp(OTEL_COLLECTOR_PORTS.otlpHttp.port) });
  }
  if (apps.includes("airflow")) {
    const tasks = pods(ns("airflow"), untrustedPods("airflow"));
    flows.push({ name: "airflow-tasks-internet", from: tasks, to: INTERNET, ports: [] });
    // Task pods upload their own logs to the bucket (Airflow 3), with the app's identity where it trusts them.
    if (untrustedAccount("airflow", env.cloud)?.cloudIdentity === true) toIdentityEndpoints("airflow-tasks", tasks);
    // Airflow 3 task pods hold no database connection: "Direct access to the metadata database
    // from task code is no longer allowed" (airflow.apache.org/docs/apache-airflow/3.0.3/
    // public-airflow-interface.html, AIP-72); the Task SDK's supervisor reports through the
    // api-server's Execution API (task-sdk docs, concepts.html "Task Lifecycle").
    flows.push({ name: "airflow-tasks-execution-api", from: tasks, to: pods(ns("airflow"), WEB_BACKENDS.airflow.pods), ports: tcp(8080) });
    // The api-server reads a running task's log from the task's log server (`ports.workerLogs`).
    flows.push({ name: "airflow-task-logs", from: pods(ns("airflow"), WEB_BACKENDS.airflow.pods), to: tasks, ports: tcp(8793) });
    // Metrics (and the data-quality contract's counters) to the statsd exporter (`ports.statsdIngest`).
    flows.push({ name: "airflow-tasks-statsd", from: tasks, to: pods(ns("airflow"), labelled({ tier: "airflow", component: "statsd" })), ports: [{ protocol: "UDP", port: 9125 }] });
    // git-sync over SSH (apps[].dags.gitSync, dags.ts) from the pods that run it, on the
    // repository's SSH port only: the DAG processor and the triggerer (their `component` labels,
    // chart 1.19.0 dag-processor-deployment.yaml, triggerer-deployment.yaml). Over HTTPS their 443
    // to the Internet above already reaches the host; task pods reach the Internet on any port.
    const sync = env.apps.find((app) => app.name === "airflow")?.dags?.gitSync;
    const transport = sync === undefined ? undefined : gitSyncTransport(sync.repository);
    if (transport !== undefined && (transport.protocol === "ssh" || transport.port !== 443)) {
      const gitSyncPods = pods(ns("airflow"), { matchLabels: { tier: "airflow", release: AIRFLOW_RELEASE }, matchExpressions: [{ key: "component", operator: "In", values: ["dag-processor", "triggerer"] }] });
      flows.push({ name: "airflow-git-sync", from: gitSyncPods, to: INTERNET, ports: tcp(transport.port) });
    }
  }
  if (apps.includes("grafana")) flows.push({ name: "grafana-prometheus", from: pods(ns("grafana")), to: pods(MONITORING_NAMESPACE, PROMETHEUS_PODS), ports: tcp(PROMETHEUS_PORT) });
  if (input.metricsHub) flows.push({ name: "metrics-hub-write", from: pods(INGRESS_NAMESPACE, TRAEFIK.pods), to: pods(MONITORING_NAMESPACE, PROMETHEUS_PODS), ports: tcp(PROMETHEUS_PORT) });

  // Metrics scrapes, on the metrics ports only; nodes (kubelet 10250, node-exporter 9100 on the
  // host network: nodes, which no ipBlock matches on Cilium) and CoreDNS.
  for (const target of metricsTargets(env)) flows.push({ name: "metrics", from: pods(MONITORING_NAMESPACE, PROMETHEUS_PODS), to: pods(target.namespace, target.pods), ports: target.ports });
  flows.push({ name: "prometheus-nodes", from: pods(MONITORING_NAMESPACE, PROMETHEUS_PODS), to: ANYWHERE, ports: tcp(10250, 9100) });
  flows.push({ name: "prometheus-coredns", from: pods(MONITORING_NAMESPACE, PROMETHEUS_PODS), to: KUBE_DNS, ports: tcp(9153) });
  return flows;
}

function peerOf(peer: Peer): Record<string, unknown> {
  if (isAnywhere(peer)) throw new Error("ANYWHERE is written as a rule without peers, not as a peer");
  if (isPods(peer)) return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } }, podSelector: selectorOf(peer.pods) };
  return { ipBlock: { cidr: peer.cidr, ...(peer.except && peer.except.length > 0 ? { except: [...peer.except] } : {}) } };
}

function selectorOf(selector: LabelSelector): Record<string, unknown> {
  return {
    ...(selector.matchLabels ? { matchLabels: { ...selector.matchLabels } } : {}),
    ...(selector.matchExpressions ? { matchExpressions: selector.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: [...e.values] } : {}) })) } : {}),
  };
}

/** A rule's `from`/`to`: none for {@link ANYWHERE} (which must then name its ports: a rule without either admits everything). */
function peersOf(side: "from" | "to", peer: Peer, flow: Flow): Record<string, unknown> {
  if (!isAnywhere(peer)) return { [side]: [peerOf(peer)] };
  if (flow.ports.length === 0) throw new Error(`flow ${flow.name}: a rule to or from anywhere must name its ports`);
  return {};
}

const portsOf = (ports: readonly PolicyPort[]) => (ports.length === 0 ? {} : { ports: ports.map((port) => ({ protocol: port.protocol, port: port.port })) });

function policy(namespace: string, name: string, podSelector: LabelSelector, spec: { ingress?: unknown[]; egress?: unknown[] }): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    spec: {
      podSelector: selectorOf(podSelector),
      policyTypes: [...(spec.ingress ? ["Ingress"] : []), ...(spec.egress ? ["Egress"] : [])],
      ...spec,
    },
  };
}

/** Policy names are DNS-1123 subdomains; flows repeat names (one per metrics target), so later ones are numbered. */
function uniqueName(used: Map<string, number>, name: string): string {
  const count = used.get(name) ?? 0;
  used.set(name, count + 1);
  return count === 0 ? name : `${name}-${count + 1}`;
}

/** The NetworkPolicies of one namespace: default deny, DNS, its own pods among themselves, and its side of every flow. */
export function namespacePolicies(namespace: string, flows: readonly Flow[]): Manifest[] {
  const used = new Map<string, number>();
  const own = platformPods(namespace);
  const backends = namespace === APP_CATALOGUE.datahub.namespace ? DATAHUB_BACKENDS : [];
  const manifests: Manifest[] = [
    policy(namespace, "default-deny", everyPod, { ingress: [], egress: [] }),
    policy(namespace, "dns", everyPod, { egress: [{ to: [peerOf(KUBE_DNS)], ports: DNS_PORTS.map((port) => ({ ...port })) }] }),
    // The namespace's own pods talk to each other (its untrusted pods excepted, and DataHub's
    // Kafka and OpenSearch, which admit only the peers and ports of DATAHUB_BACKENDS).
    policy(namespace, "same-namespace", own, { egress: [{ to: [peerOf(pods(namespace, own))] }] }),
    policy(namespace, "same-namespace-ingress", backends.length === 0 ? own : withoutBackends(own), { ingress: [{ from: [peerOf(pods(namespace, own))] }] }),
    ...backends.map((backend) =>
      policy(namespace, `${backend.name}-clients`, backend.pods, {
        ingress: backend.ingress.map((rule) => ({ from: [peerOf(pods(namespace, rule.from === "own" ? own : rule.from === "self" ? backend.pods : rule.from))], ...portsOf(rule.ports) })),
      }),
    ),
  ];
  for (const flow of flows) {
    if (isPods(flow.from) && flow.from.namespace === namespace) {
      manifests.push(policy(namespace, uniqueName(used, `${flow.name}-egress`), flow.from.pods, { egress: [{ ...peersOf("to", flow.to, flow), ...portsOf(flow.ports) }] }));
    }
    if (isPods(flow.to) && flow.to.namespace === namespace) {
      manifests.push(policy(namespace, uniqueName(used, `${flow.name}-ingress`), flow.to.pods, { ingress: [{ ...peersOf("from", flow.from, flow), ...portsOf(flow.ports) }] }));
    }
  }
  return manifests;
}

export interface ClusterNetworkPoliciesProps extends NetworkPolicyInput {
  /** Every namespace the stack creates, with the resource that creates it. */
  readonly namespaces: readonly { readonly name: string; readonly created: ITerraformDependable }[];
}

/**
 * One `network-policies` release of the manifests chart in each namespace the stack creates,
 * applied as soon as the namespace exists.
 */
export class ClusterNetworkPolicies extends Construct {
  readonly releases: readonly ManifestsRelease[];

  constructor(scope: Construct, id: string, props: ClusterNetworkPoliciesProps) {
    super(scope, id);
    const flows = clusterFlows(props);
    this.releases = props.namespaces.map(
      (namespace) =>
        new ManifestsRelease(this, namespace.name, {
          name: NETWORK_POLICIES_RELEASE,
          namespace: namespace.name,
          manifests: namespacePolicies(namespace.name, flows),
          dependsOn: [namespace.created],
        }),
    );
  }
}

/** Name of the release that holds a namespace's NetworkPolicies. */
export const NETWORK_POLICIES_RELEASE = "network-policies";

/** Every namespace created under `scope`, by the kubernetes_namespace_v1 resources. */
export function createdNamespaces(scope: Construct): { name: string; created: NamespaceV1 }[] {
  return scope.node
    .findAll()
    .filter((child): child is NamespaceV1 => child instanceof NamespaceV1)
    .map((namespace) => {
      const name = namespace.metadataInput?.name;
      if (name === undefined) throw new Error(`${namespace.node.path}: a namespace without a literal name; NetworkPolicies need it`);
      return { name, created: namespace };
    });
}
