/**
 * Inside the cluster, default deny: the NetworkPolicies of every synthesized apps stack (the
 * default environments from `environments/`, and every app on each cloud), evaluated with the
 * Kubernetes NetworkPolicy semantics (support/kubernetes/network-policy.ts) against the pods the
 * pinned charts run (their labels as the charts' templates render them, cited per pod below) and
 * the addresses the infra stack of the same environment gives the databases.
 */
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { CLOUDS, parseEnvironment, type Environment } from "../constructs/core/spec";
import { AppsStack } from "../stacks/apps";
import { InfraStack } from "../stacks/infra";
import { defaultEnvironments, everyAppSpec } from "./support/fixtures";
import { renderedApps, type KubeObject } from "../scripts/rendered-apps";
import { allows, inCidr, isDefaultDeny, networkPolicyProblems, type Cni, type ClusterPolicies, type Address, type Connection, type Endpoint, type NetworkPolicy, type Pod } from "./support/kubernetes/network-policy";
import { stackJson, stackNames, synthDefaults } from "./support/outdir";
import { coreObjectViolations } from "./support/kubernetes/openapi";
import { strimziNetwork, type StrimziNetwork } from "./support/kubernetes/chart-pods";
import { nameViolations } from "./support/kubernetes/names";

interface Case {
  readonly label: string;
  readonly env: Environment;
  readonly apps: string;
  readonly infra: string;
}

const outdir = synthDefaults();
const defaultCases: Case[] = defaultEnvironments()
  .filter((env) => stackNames(outdir).includes(`${env.name}-apps`))
  .map((env) => ({ label: `${env.name}-apps`, env, apps: stackJson(outdir, `${env.name}-apps`), infra: stackJson(outdir, `${env.name}-infra`) }));
const everyAppCases: Case[] = CLOUDS.map((cloud) => {
  const env = parseEnvironment(everyAppSpec(cloud, true));
  return { label: `every app on ${cloud}`, env, apps: Testing.synth(new AppsStack(Testing.app(), env)), infra: Testing.synth(new InfraStack(Testing.app(), env)) };
});
// cert-manager runs without `dns` too (the in-cluster CA Issuers): a spec without it, on a Cilium cloud.
const withoutDns: Case[] = (["azure"] as const).map((cloud) => {
  const { dns: _dns, ...input } = everyAppSpec(cloud, true);
  const env = parseEnvironment({ ...input, name: "nodns", apps: (input.apps ?? []).map(({ host: _host, ...app }) => app) });
  return { label: `every app on ${cloud} without dns`, env, apps: Testing.synth(new AppsStack(Testing.app(), env)), infra: Testing.synth(new InfraStack(Testing.app(), env)) };
});
const cases = [...defaultCases, ...everyAppCases, ...withoutDns];

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const resources = (text: string): Resources => (JSON.parse(text) as { resource?: Resources }).resource ?? {};

/** The databases' address ranges as the infra stack creates them: AWS DB subnet groups' subnets, the Azure servers' delegated subnets, GCP's private service access range. */
function databaseRanges(infra: string): string[] {
  const r = resources(infra);
  const ref = (text: unknown) => /^\$\{(\w+)\.([\w-]+)\.id\}$/.exec(String(text));
  const subnetCidr = (type: string, text: unknown, field: string): string[] => {
    const match = ref(text);
    const block = match && match[1] === type ? r[type]?.[match[2]] : undefined;
    const value = block?.[field];
    return Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  };
  return [
    ...Object.values(r.aws_db_subnet_group ?? {}).flatMap((group) => (group.subnet_ids as string[]).flatMap((id) => subnetCidr("aws_subnet", id, "cidr_block"))),
    ...Object.values(r.azurerm_postgresql_flexible_server ?? {}).flatMap((server) => subnetCidr("azurerm_subnet", server.delegated_subnet_id, "address_prefixes")),
    ...Object.values(r.google_compute_global_address ?? {})
      .filter((address) => address.purpose === "VPC_PEERING")
      .map((address) => `${String(address.address)}/${String(address.prefix_length)}`),
  ];
}

/** The ranges of the subnets the infra stack puts private endpoints in (Azure: storage account and Key Vault). */
function privateEndpointRanges(infra: string): string[] {
  const r = resources(infra);
  const subnets = Object.values(r.azurerm_private_endpoint ?? {}).map((endpoint) => /^\$\{azurerm_subnet\.([\w-]+)\.id\}$/.exec(String(endpoint.subnet_id))?.[1]);
  return [...new Set(subnets.flatMap((name) => (name === undefined ? [] : ((r.azurerm_subnet?.[name]?.address_prefixes as string[] | undefined) ?? []))))];
}

/** An address inside a range (its fifth), as a server there would have. */
function hostIn(cidr: string): string {
  const [ip] = cidr.split("/");
  const parts = ip.split(".").map(Number);
  parts[3] += 4;
  return parts.join(".");
}

/** The Strimzi operator's pods and the NetworkPolicies it would write (support/kubernetes/chart-pods.ts), where the stack runs it. */
function strimziOf(text: string): StrimziNetwork | undefined {
  const rendered = renderedApps(text);
  const release = rendered.releases.find((candidate) => candidate.chart === "strimzi-kafka-operator");
  const objects = rendered.objects.map((located) => ({ ...located.object, metadata: { ...located.object.metadata, namespace: located.object.metadata.namespace ?? located.releaseNamespace } }) as KubeObject);
  return release === undefined ? undefined : strimziNetwork(release, objects);
}

/** The policy engine of each cloud's cluster (the infra stacks: EKS vpc-cni agent, AKS and GKE Cilium; checked below). */
const cniOf = (env: Environment): Cni => (env.cloud === "aws" ? "vpc-cni" : "cilium");

function clusterOf(text: string, env: Environment): { cluster: ClusterPolicies; namespaces: string[] } {
  const rendered = renderedApps(text);
  const objects = rendered.objects.map((located) => ({ ...located.object, metadata: { ...located.object.metadata, namespace: located.object.metadata.namespace ?? located.releaseNamespace } }) as KubeObject);
  const namespaces = objects.filter((object) => object.kind === "Namespace").map((object) => String(object.metadata.name));
  const labels = new Map(objects.filter((object) => object.kind === "Namespace").map((object) => [String(object.metadata.name), object.metadata.labels ?? {}]));
  labels.set("kube-system", {});
  // Every NetworkPolicy that would exist: the stack's, and those Strimzi's operator writes itself.
  const policies = [...(objects.filter((object) => object.kind === "NetworkPolicy") as unknown as NetworkPolicy[]), ...((strimziOf(text)?.policies ?? []) as unknown as NetworkPolicy[])];
  return { cluster: { cni: cniOf(env), policies, namespaces: labels }, namespaces };
}

/**
 * The pods, with the labels their charts put on them:
 * - airflow: apache/airflow chart 1.19.0 templates/scheduler/scheduler-deployment.yaml,
 *   api-server/api-server-deployment.yaml, statsd/statsd-deployment.yaml (tier, component,
 *   release), files/pod-template-file.kubernetes-helm-yaml (task pods: component worker) plus the
 *   KubernetesExecutor's own labels (airflow_version, kubernetes_executor, dag_id, task_id);
 * - airbyte 2.2.0 _helpers.tpl `airbyte.selectorLabels` (airbyte / app.kubernetes.io/name = the
 *   template folder without `airbyte-`), `airbyte.minioSelectorLabels`; job pods: airbyte-platform
 *   WorkloadLabels.kt / PodLabeler.kt (airbyte: job-pod, job_id, attempt_id, ...);
 * - datahub-1.1.0 subcharts' `selectorLabels` (app.kubernetes.io/name datahub-gms, datahub-frontend,
 *   datahub-mae-consumer, datahub-mce-consumer, acryl-datahub-actions; instance datahub), the
 *   system-update Job's pods (the Job controller's batch.kubernetes.io/job-name);
 *   opensearch 2.19.0 (app.kubernetes.io/name opensearch); Strimzi's pods (the operator, the
 *   Kafka nodes, the entity operator) come from its model in support/kubernetes/chart-pods.ts;
 * - metabase-2.26.0 templates/deployment.yaml (app metabase, release); grafana 12.11.1
 *   (app.kubernetes.io/name grafana); prometheus-operator v0.93 (app.kubernetes.io/name
 *   prometheus, prometheus <name>); opentelemetry-collector 0.170.0 (app.kubernetes.io/name
 *   opentelemetry-collector, component standalone-collector);
 * - traefik v41.3.0 `traefik.labelselector` (app.kubernetes.io/name traefik, instance
 *   <release>-<namespace>); external-secrets 2.9.0 (app.kubernetes.io/name external-secrets,
 *   external-secrets-webhook); cert-manager v1.21.1 (app.kubernetes.io/name cert-manager|webhook,
 *   component controller|webhook, deploy/charts/cert-manager/templates/webhook-deployment.yaml and
 *   cainjector-deployment.yaml) and its HTTP-01 solver pods (acme.cert-manager.io/http01-solver);
 *   kube-prometheus-stack 88.5.3 templates/prometheus-operator/deployment.yaml and _helpers.tpl
 *   `kube-prometheus-stack.prometheus-operator.labels` (the operator, which serves its webhook);
 * - CoreDNS/kube-dns in kube-system: k8s-app kube-dns on EKS, AKS and GKE.
 */
const POD = {
  kubeDns: { namespace: "kube-system", labels: { "k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns" } },
  scheduler: { namespace: "airflow", labels: { tier: "airflow", component: "scheduler", release: "airflow" } },
  airflowApi: { namespace: "airflow", labels: { tier: "airflow", component: "api-server", release: "airflow" } },
  statsd: { namespace: "airflow", labels: { tier: "airflow", component: "statsd", release: "airflow" } },
  task: { namespace: "airflow", labels: { tier: "airflow", component: "worker", release: "airflow", kubernetes_executor: "True", dag_id: "etl", task_id: "load" } },
  airbyteServer: { namespace: "airbyte", labels: { airbyte: "server", "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": "airbyte" } },
  workloadApi: { namespace: "airbyte", labels: { airbyte: "workload-api-server", "app.kubernetes.io/name": "workload-api-server", "app.kubernetes.io/instance": "airbyte" } },
  launcher: { namespace: "airbyte", labels: { airbyte: "workload-launcher", "app.kubernetes.io/name": "workload-launcher", "app.kubernetes.io/instance": "airbyte" } },
  temporal: { namespace: "airbyte", labels: { airbyte: "temporal", "app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "airbyte" } },
  minio: { namespace: "airbyte", labels: { "app.kubernetes.io/name": "airbyte-minio", "app.kubernetes.io/instance": "airbyte" } },
  job: { namespace: "airbyte", labels: { airbyte: "job-pod", job_id: "7", attempt_id: "0", workload_id: "w", mutex_key: "m" } },
  gms: { namespace: "datahub", labels: { "app.kubernetes.io/name": "datahub-gms", "app.kubernetes.io/instance": "datahub" } },
  frontend: { namespace: "datahub", labels: { "app.kubernetes.io/name": "datahub-frontend", "app.kubernetes.io/instance": "datahub" } },
  maeConsumer: { namespace: "datahub", labels: { "app.kubernetes.io/name": "datahub-mae-consumer", "app.kubernetes.io/instance": "datahub" } },
  mceConsumer: { namespace: "datahub", labels: { "app.kubernetes.io/name": "datahub-mce-consumer", "app.kubernetes.io/instance": "datahub" } },
  actions: { namespace: "datahub", labels: { "app.kubernetes.io/name": "acryl-datahub-actions", "app.kubernetes.io/instance": "datahub" } },
  systemUpdate: { namespace: "datahub", labels: { "batch.kubernetes.io/job-name": "datahub-system-update", "job-name": "datahub-system-update" } },
  opensearch: { namespace: "datahub", labels: { "app.kubernetes.io/name": "opensearch", "app.kubernetes.io/instance": "prerequisites" } },
  metabase: { namespace: "metabase", labels: { app: "metabase", release: "metabase" } },
  grafana: { namespace: "grafana", labels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana" } },
  alertmanager: { namespace: "monitoring", labels: { "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/instance": "monitoring-alertmanager", alertmanager: "monitoring-alertmanager" } },
  prometheus: { namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "monitoring-prometheus", prometheus: "monitoring-prometheus" } },
  collector: { namespace: "monitoring", labels: { "app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": "otel-collector", component: "standalone-collector" } },
  traefik: { namespace: "ingress", labels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-ingress" } },
  eso: { namespace: "external-secrets", labels: { "app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "external-secrets" } },
  esoWebhook: { namespace: "external-secrets", labels: { "app.kubernetes.io/name": "external-secrets-webhook", "app.kubernetes.io/instance": "external-secrets" } },
  certManager: { namespace: "cert-manager", labels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" } },
  certManagerCainjector: { namespace: "cert-manager", labels: { app: "cainjector", "app.kubernetes.io/name": "cainjector", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "cainjector" } },
  certWebhook: { namespace: "cert-manager", labels: { app: "webhook", "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "webhook" } },
  promOperator: { namespace: "monitoring", labels: { app: "kube-prometheus-stack-operator", release: "monitoring", "app.kubernetes.io/name": "kube-prometheus-stack-prometheus-operator", "app.kubernetes.io/component": "prometheus-operator", "app.kubernetes.io/instance": "monitoring" } },
  bootstrap: { namespace: "db-bootstrap", labels: { "batch.kubernetes.io/job-name": "airflow-database-bootstrap" } },
} as const satisfies Record<string, Pod>;
const solver = (namespace: string): Pod => ({ namespace, labels: { "acme.cert-manager.io/http01-solver": "true" } });

const INTERNET = { ip: "203.0.113.10" };
const INSTANCE_METADATA = { ip: "169.254.169.254" };

interface FlowCase {
  readonly why: string;
  readonly connection: Connection;
}

const c = (why: string, from: Endpoint, to: Endpoint, port: number, protocol: "TCP" | "UDP" = "TCP"): FlowCase => ({ why, connection: { from, to, port, protocol } });

/** The API server's address: inside the network on private clusters (EKS ENIs, AKS private endpoint, GKE PSC endpoint). */
const apiServer = (env: Environment): Address => ({ ip: hostIn(env.network.cidr), role: "control-plane" });
/** A node of the cluster (kubelet, node-exporter on the host network, a node forwarding load-balancer traffic). */
const node = (env: Environment): Address => ({ ip: hostIn(env.network.cidr), role: "node" });

/** The pods of the stack's own Deployments (the manifests chart), with their template labels: the PostgreSQL exporters. */
function exporterPods(text: string): Pod[] {
  return renderedApps(text)
    .objects.filter(({ object }) => object.kind === "Deployment")
    .filter(({ object }) => JSON.stringify(object).includes("postgres-exporter:"))
    .map((located) => {
      const template = (located.object.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
      return { namespace: located.object.metadata.namespace ?? located.releaseNamespace ?? "default", labels: template.metadata.labels };
    });
}

/** The Strimzi pods of a stack that runs DataHub: one operator, at least one Kafka node, one entity operator. */
function strimziPods(strimzi: StrimziNetwork | undefined): { operator: Pod; kafka: Pod; entityOperator: Pod } {
  const [kafka] = strimzi?.kafka ?? [];
  const [entityOperator] = strimzi?.entityOperator ?? [];
  if (strimzi === undefined || kafka === undefined || entityOperator === undefined) throw new Error("DataHub without Strimzi's operator, Kafka nodes and entity operator");
  return { operator: strimzi.operator, kafka, entityOperator };
}

/** DataHub's Kafka: its clients on the TLS listener, the nodes among themselves, Strimzi's operators (KafkaCluster#generateNetworkPolicy's peers at 1.2.0). */
function kafkaFlows(env: Environment, strimzi: ReturnType<typeof strimziPods>): FlowCase[] {
  const { operator, kafka, entityOperator } = strimzi;
  return [
    ...([POD.gms, POD.frontend, POD.maeConsumer, POD.mceConsumer, POD.actions, POD.systemUpdate] as Pod[]).map((client) => c(`${client.labels["app.kubernetes.io/name"] ?? "the system-update job"} reaches Kafka's TLS listener`, client, kafka, 9093)),
    c("Kafka's nodes reach the controller quorum", kafka, kafka, 9090),
    c("Kafka's nodes replicate", kafka, kafka, 9091),
    c("the operator reaches the controller quorum", operator, kafka, 9090),
    c("the operator reaches the replication listener", operator, kafka, 9091),
    c("the operator polls the Kafka agent", operator, kafka, 8443),
    c("the operator reads the API", operator, apiServer(env), 443),
    c("the User Operator reaches Kafka's replication listener", entityOperator, kafka, 9091),
    c("the User Operator reads the API", entityOperator, apiServer(env), 443),
    c("the operator resolves names", operator, POD.kubeDns, 53, "UDP"),
    c("Kafka resolves names", kafka, POD.kubeDns, 53, "UDP"),
  ];
}

function requiredFlows(env: Environment, databases: readonly string[], privateEndpoints: readonly string[], exporters: readonly Pod[], strimzi: StrimziNetwork | undefined): FlowCase[] {
  const has = (app: string) => app === "monitoring" || env.apps.some((spec) => spec.name === app);
  const hosted = (app: string) => env.apps.some((spec) => spec.name === app && spec.host !== undefined);
  // Apps without OIDC in their free edition sit behind oauth2-proxy when the spec has sso (README, "Single sign-on").
  const proxied = (app: string) => env.sso !== undefined && ["airbyte", "metabase"].includes(app);
  const withDatabase = (app: string) => env.apps.some((spec) => spec.name === app && spec.database !== undefined);
  const flows: FlowCase[] = [
    c("Traefik serves clients on web", INTERNET, POD.traefik, 8000),
    c("Traefik serves clients on websecure", INTERNET, POD.traefik, 8443),
    c("Traefik serves clients another node forwards on web", node(env), POD.traefik, 8000),
    c("Traefik serves clients another node forwards on websecure", node(env), POD.traefik, 8443),
    c("Traefik watches Ingresses", POD.traefik, apiServer(env), 443),
    c("ESO reads the API", POD.eso, apiServer(env), 443),
    c("ESO reads the cloud's secret store", POD.eso, INTERNET, 443),
    c("the API server calls ESO's webhook", apiServer(env), POD.esoWebhook, 10250),
    c("Prometheus scrapes Traefik", POD.prometheus, POD.traefik, 9100),
    c("Prometheus scrapes ESO", POD.prometheus, POD.eso, 8080),
    c("Prometheus scrapes the kubelets", POD.prometheus, node(env), 10250),
    c("Prometheus scrapes node-exporter on the host network", POD.prometheus, node(env), 9100),
    c("the API server calls the prometheus-operator's webhook", apiServer(env), POD.promOperator, 10250),
    c("cert-manager reads the API", POD.certManager, apiServer(env), 443),
    c("cert-manager's cainjector reads the API", POD.certManagerCainjector, apiServer(env), 443),
    c("cert-manager's webhook reads the API", POD.certWebhook, apiServer(env), 443),
    c("the API server calls cert-manager's webhook", apiServer(env), POD.certWebhook, 10250),
    c("Prometheus scrapes cert-manager", POD.prometheus, POD.certManager, 9402),
    c("the operator reads the API", POD.prometheus, apiServer(env), 443),
    c("Prometheus talks to the collector in its namespace", POD.prometheus, POD.collector, 8889),
    ...databases.map((range) => c(`bootstrap jobs reach the database in ${range}`, POD.bootstrap, { ip: hostIn(range) }, 5432)),
    ...exporters.flatMap((exporter) => databases.map((range) => c(`the exporter ${JSON.stringify(exporter.labels)} reaches the database in ${range}`, exporter, { ip: hostIn(range) }, 5432))),
  ];
  for (const pod of Object.values(POD).filter((p) => p.namespace !== "kube-system")) {
    flows.push(c(`${pod.namespace} resolves names (UDP)`, pod, POD.kubeDns, 53, "UDP"), c(`${pod.namespace} resolves names (TCP)`, pod, POD.kubeDns, 53));
  }
  if (env.dns !== undefined) {
    flows.push(c("cert-manager reaches Let's Encrypt", POD.certManager, INTERNET, 443), c("cert-manager self-checks HTTP-01 through Traefik", POD.certManager, POD.traefik, 8000));
  }
  const web: Record<string, Pod> = { airflow: POD.airflowApi, airbyte: POD.airbyteServer, datahub: POD.frontend, metabase: POD.metabase, grafana: POD.grafana };
  const webPort: Record<string, number> = { airflow: 8080, airbyte: 8001, datahub: 9002, metabase: 3000, grafana: 3000 };
  for (const app of Object.keys(web)) {
    if (hosted(app) && proxied(app)) {
      // Single sign-on: Traefik reaches the app's oauth2-proxy in the sso namespace, which reaches the app and the provider.
      const proxy: Pod = { namespace: "sso", labels: { "app.kubernetes.io/name": "oauth2-proxy", "platform/sso-proxy-for": app } };
      flows.push(c(`Traefik routes to ${app}'s sign-in proxy`, POD.traefik, proxy, 4180));
      flows.push(c(`${app}'s sign-in proxy forwards to its UI`, proxy, web[app], webPort[app]));
      flows.push(c(`${app}'s sign-in proxy calls the provider`, proxy, INTERNET, 443));
      if (env.dns !== undefined) flows.push(c(`Traefik routes ACME challenges to the sso namespace's solver`, POD.traefik, solver("sso"), 8089));
    } else {
      if (hosted(app)) flows.push(c(`Traefik routes to ${app}'s UI`, POD.traefik, web[app], webPort[app]));
      // The apps that sign users in themselves fetch the provider's discovery document and keys and redeem the code (HTTPS).
      if (hosted(app) && env.sso !== undefined) flows.push(c(`${app} calls the sign-in provider`, web[app], INTERNET, 443));
      if (hosted(app) && env.dns !== undefined) flows.push(c(`Traefik routes ACME challenges to ${app}'s solver`, POD.traefik, solver(app), 8089));
    }
    if (withDatabase(app)) {
      const pod = app === "airflow" ? POD.scheduler : app === "datahub" ? POD.gms : web[app];
      for (const range of databases) flows.push(c(`${app} reaches its database in ${range}`, pod, { ip: hostIn(range) }, 5432));
    }
  }
  if (has("airflow")) {
    flows.push(
      c("the scheduler launches task pods", POD.scheduler, apiServer(env), 443),
      c("the scheduler writes task logs to the bucket", POD.scheduler, INTERNET, 443),
      c("tasks report to the Execution API", POD.task, POD.airflowApi, 8080),
      c("tasks send statsd metrics", POD.task, POD.statsd, 9125, "UDP"),
      c("tasks reach the Internet", POD.task, INTERNET, 5439),
      c("Prometheus scrapes statsd", POD.prometheus, POD.statsd, 9102),
    );
  }
  if (has("airbyte")) {
    flows.push(
      c("the launcher creates job pods", POD.launcher, apiServer(env), 443),
      c("job pods call the workload API", POD.job, POD.workloadApi, 8007),
      c("job pods call the server", POD.job, POD.airbyteServer, 8001),
      c("connectors reach their sources on the Internet", POD.job, INTERNET, 3306),
      c("the server talks to Temporal", POD.airbyteServer, POD.temporal, 7233),
      c("Airbyte sends OTLP metrics", POD.airbyteServer, POD.collector, 4318),
    );
    if (env.cloud !== "aws") flows.push(c("job pods keep state in MinIO", POD.job, POD.minio, 9000));
  }
  if (has("datahub")) {
    flows.push(
      c("GMS indexes in OpenSearch", POD.gms, POD.opensearch, 9200),
      c("the MAE consumer indexes in OpenSearch", POD.maeConsumer, POD.opensearch, 9200),
      c("the system-update job sets up OpenSearch's indices", POD.systemUpdate, POD.opensearch, 9200),
      c("OpenSearch's nodes talk on transport", POD.opensearch, POD.opensearch, 9300),
      c("the frontend calls GMS", POD.frontend, POD.gms, 8080),
      c("Prometheus scrapes GMS", POD.prometheus, POD.gms, 4318),
    );
  }
  if (has("datahub")) flows.push(...kafkaFlows(env, strimziPods(strimzi)));
  const smtp = env.alerts?.email?.smarthost;
  if (smtp !== undefined) flows.push(c("Alertmanager sends mail through the SMTP server", POD.alertmanager, INTERNET, Number(smtp.split(":")[1])));
  if (has("grafana")) flows.push(c("Grafana queries Prometheus", POD.grafana, POD.prometheus, 9090));
  if (env.cloud === "gcp") flows.push(c("pods with a GCP identity reach the GKE metadata server", POD.scheduler, INSTANCE_METADATA, 80));
  // The cloud's services on private endpoints (Azure blob, dfs, Key Vault), for the pods with a cloud identity.
  for (const range of privateEndpoints) {
    flows.push(c(`ESO reaches the secret store's private endpoint in ${range}`, POD.eso, { ip: hostIn(range) }, 443));
    if (has("airflow")) flows.push(c(`the scheduler writes logs through the private endpoint in ${range}`, POD.scheduler, { ip: hostIn(range) }, 443), c(`a task uploads its log through the private endpoint in ${range}`, POD.task, { ip: hostIn(range) }, 443));
  }
  return flows;
}

/** What must not reach DataHub's Kafka, OpenSearch or the Strimzi operator: every pod outside DataHub's namespace but the operator, and the operator from anywhere. */
function backendForbiddenFlows(env: Environment, strimzi: ReturnType<typeof strimziPods>): FlowCase[] {
  const { operator, kafka, entityOperator } = strimzi;
  const has = (app: string) => env.apps.some((spec) => spec.name === app);
  const outsiders: [string, Pod][] = [
    ["Prometheus", POD.prometheus],
    ["Traefik", POD.traefik],
    ["ESO", POD.eso],
    ...(has("airbyte") ? ([["an Airbyte connector", POD.job], ["Airbyte's server", POD.airbyteServer]] as [string, Pod][]) : []),
    ...(has("airflow") ? ([["an Airflow task", POD.task], ["Airflow's scheduler", POD.scheduler]] as [string, Pod][]) : []),
    ...(has("metabase") ? ([["Metabase", POD.metabase]] as [string, Pod][]) : []),
    ...(env.sso !== undefined ? ([["a sign-in proxy", { namespace: "sso", labels: { "app.kubernetes.io/name": "oauth2-proxy", "platform/sso-proxy-for": "metabase" } }]] as [string, Pod][]) : []),
  ];
  return [
    ...outsiders.flatMap(([who, pod]) => [
      c(`${who} reaches Kafka's TLS listener`, pod, kafka, 9093),
      c(`${who} reaches Kafka's replication listener`, pod, kafka, 9091),
      c(`${who} reaches Kafka's controller quorum`, pod, kafka, 9090),
      c(`${who} reaches OpenSearch`, pod, POD.opensearch, 9200),
      c(`${who} reaches OpenSearch's transport`, pod, POD.opensearch, 9300),
      c(`${who} reaches the Strimzi operator`, pod, operator, 8080),
    ]),
    c("GMS reaches Kafka's replication listener", POD.gms, kafka, 9091),
    c("GMS reaches Kafka's controller quorum", POD.gms, kafka, 9090),
    c("GMS reaches the Kafka agent", POD.gms, kafka, 8443),
    c("the User Operator reaches the controller quorum", entityOperator, kafka, 9090),
    c("GMS reaches OpenSearch's transport", POD.gms, POD.opensearch, 9300),
    c("GMS reaches the Strimzi operator", POD.gms, operator, 8080),
    c("Kafka reaches the Strimzi operator", kafka, operator, 8080),
    c("the Strimzi operator reaches GMS", operator, POD.gms, 8080),
    c("the Strimzi operator reaches OpenSearch", operator, POD.opensearch, 9200),
    // 443 to any address is the API server's rule (network-policies.ts API_SERVER): another port.
    c("the Strimzi operator reaches the Internet", operator, INTERNET, 80),
    c("Kafka reaches the Internet", kafka, INTERNET, 443),
    c("Kafka reaches the Kubernetes API", kafka, apiServer(env), 443),
  ];
}

function forbiddenFlows(env: Environment, databases: readonly string[], privateEndpoints: readonly string[], strimzi: StrimziNetwork | undefined): FlowCase[] {
  const has = (app: string) => env.apps.some((spec) => spec.name === app);
  const flows: FlowCase[] = [
    // The webhook port is open to every source on the webhook pods alone.
    c("Prometheus reaches ESO's controller on the webhook port", POD.prometheus, POD.eso, 10250),
    c("Prometheus reaches cert-manager's controller on the webhook port", POD.prometheus, POD.certManager, 10250),
    c("Prometheus reaches Traefik on the webhook port", POD.prometheus, POD.traefik, 10250),
    c("Traefik reaches the prometheus-operator's webhook (egress of the caller still applies)", POD.traefik, POD.promOperator, 10250),
    c("a node reaches ESO's controller on the webhook port", node(env), POD.eso, 10250),
    c("the API server reaches Prometheus", apiServer(env), POD.prometheus, 9090),
    c("a node reaches Traefik's metrics", node(env), POD.traefik, 9100),
    c("the Internet reaches Traefik's metrics", INTERNET, POD.traefik, 9100),
    c("the Internet reaches Prometheus", INTERNET, POD.prometheus, 9090),
    c("Traefik reaches the database", POD.traefik, { ip: hostIn(databases[0] ?? "10.255.0.0/24") }, 5432),
    c("the bootstrap namespace reaches the Internet", POD.bootstrap, INTERNET, 443),
    c("Prometheus sends mail", POD.prometheus, INTERNET, 25),
  ];
  // With sso, a proxied UI is reachable through its sign-in proxy only: Traefik never reaches it directly, nor one proxy another app.
  if (env.sso !== undefined) {
    const proxyOf = (app: string): Pod => ({ namespace: "sso", labels: { "app.kubernetes.io/name": "oauth2-proxy", "platform/sso-proxy-for": app } });
    if (env.apps.some((spec) => spec.name === "metabase" && spec.host !== undefined)) flows.push(c("Traefik bypasses Metabase's sign-in proxy", POD.traefik, POD.metabase, 3000), c("Metabase's proxy reaches Airflow", proxyOf("metabase"), POD.airflowApi, 8080));
    if (env.apps.some((spec) => spec.name === "airbyte" && spec.host !== undefined)) flows.push(c("Traefik bypasses Airbyte's sign-in proxy", POD.traefik, POD.airbyteServer, 8001));
    if (env.apps.some((spec) => spec.name === "airflow")) flows.push(c("a task reaches a sign-in proxy", POD.task, proxyOf("metabase"), 4180));
  }
  if (has("airbyte")) {
    flows.push(
      c("a connector reaches the Kubernetes API", POD.job, apiServer(env), 443),
      c("a connector reaches Temporal", POD.job, POD.temporal, 7233),
      c("a connector reaches Prometheus", POD.job, POD.prometheus, 9090),
      // Airbyte's jobs hold a cloud identity on AWS alone (core/apps.ts cloudIdentityOn), where the metadata service is closed by the hop limit.
      c("a connector reaches the node's metadata service", POD.job, INSTANCE_METADATA, 80),
      ...(env.cloud === "gcp" ? [c("a connector reaches GKE's metadata server token port", POD.job, { ip: "169.254.169.252" }, 988)] : []),
      ...privateEndpoints.map((range) => c(`a connector reaches the private endpoints in ${range}`, POD.job, { ip: hostIn(range) }, 443)),
      c("a connector reaches ESO's webhook", POD.job, POD.esoWebhook, 10250),
      ...databases.map((range) => c(`a connector reaches the database in ${range}`, POD.job, { ip: hostIn(range) }, 5432)),
      c("Airbyte reaches Airflow", POD.airbyteServer, POD.airflowApi, 8080),
    );
  }
  if (has("airflow")) {
    flows.push(
      c("a task reaches the scheduler", POD.task, POD.scheduler, 8974),
      c("a task reaches the Kubernetes API", POD.task, apiServer(env), 443),
      ...databases.map((range) => c(`a task reaches the database in ${range}`, POD.task, { ip: hostIn(range) }, 5432)),
      c("Airflow reaches Metabase", POD.airflowApi, POD.metabase, 3000),
    );
  }
  if (has("datahub")) {
    flows.push(...backendForbiddenFlows(env, strimziPods(strimzi)));
  }
  if (has("metabase")) flows.push(c("Metabase reaches the Kubernetes API", POD.metabase, apiServer(env), 443));
  return flows;
}

describe.each(cases.map((entry) => [entry.label, entry] as const))("%s: NetworkPolicies", (_, { env, apps, infra }) => {
  const { cluster, namespaces } = clusterOf(apps, env);
  const strimzi = strimziOf(apps);
  const databases = databaseRanges(infra);
  const privateEndpoints = privateEndpointRanges(infra);

  it("has a default deny (every pod, ingress and egress, no rule) in every namespace the stack creates", () => {
    expect(namespaces.length).toBeGreaterThan(3);
    const without = namespaces.filter((namespace) => !cluster.policies.some((policy) => policy.metadata.namespace === namespace && isDefaultDeny(policy)));
    expect(without).toEqual([]);
  });

  it("writes policies the API server accepts: the 1.31 schema, name rules and the NetworkPolicy validation", () => {
    const located = renderedApps(apps).objects.filter(({ object }) => object.kind === "NetworkPolicy");
    expect(located.length).toBeGreaterThan(namespaces.length);
    expect(located.flatMap((object) => [...coreObjectViolations(object), ...nameViolations(object)])).toEqual([]);
    expect(cluster.policies.flatMap(networkPolicyProblems)).toEqual([]);
  });

  it("finds the databases' ranges in the infra stack of the same environment, and the private endpoints' on Azure", () => {
    expect(databases.length).toBeGreaterThan(0);
    expect(privateEndpoints.length > 0).toBe(env.cloud === "azure");
  });

  it("allows every flow the apps need", () => {
    const exporters = exporterPods(apps);
    expect(exporters.length).toBeGreaterThanOrEqual(env.databases.length);
    const denied = requiredFlows(env, databases, privateEndpoints, exporters, strimzi).filter((flow) => !allows(cluster, flow.connection));
    expect(denied.map((flow) => flow.why)).toEqual([]);
  });

  it("denies what untrusted pods and other apps must not reach", () => {
    const allowed = forbiddenFlows(env, databases, privateEndpoints, strimzi).filter((flow) => allows(cluster, flow.connection));
    expect(allowed.map((flow) => flow.why)).toEqual([]);
  });

  it("leaves the charts' own NetworkPolicies off: one way, ours", () => {
    const releases = renderedApps(apps).releases;
    const switchedOn = releases.flatMap((release) => {
      const found: string[] = [];
      const walk = (value: unknown, path: string[]) => {
        if (value === null || typeof value !== "object" || Array.isArray(value)) return;
        for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
          if (/^networkPolic(y|ies)$/.test(key) && typeof inner === "object" && inner !== null && ((inner as Record<string, unknown>).enabled === true || (inner as Record<string, unknown>).create === true)) {
            found.push(`${release.name}: ${[...path, key].join(".")}`);
          }
          walk(inner, [...path, key]);
        }
      };
      walk(release.values, []);
      return found;
    });
    expect(switchedOn).toEqual([]);
  });
});

const airflowSsoCases = cases.filter((entry) => entry.env.sso !== undefined && entry.env.apps.some((spec) => spec.name === "airflow" && spec.host !== undefined));

describe("Airflow's sign-in provider", () => {
  it("is exercised: an environment of environments/ signs in to Airflow through sso", () => {
    expect(airflowSsoCases.map((entry) => entry.label)).not.toEqual([]);
  });
});

describe.each(airflowSsoCases.map((entry) => [entry.label, entry] as const))("%s: Airflow's API server and the sign-in provider", (_, { env, apps }) => {
  const { cluster } = clusterOf(apps, env);
  const toProvider = { from: POD.airflowApi, to: INTERNET, port: 443 };

  it("reaches the provider on HTTPS through its namespace's egress rules, and not without them: the default deny holds", () => {
    // Two rules open TCP 443 beyond the cluster to the API server pods: the platform pods'
    // `airflow-internet` and the Kubernetes API's `airflow-kube-api` (its address is unknown at
    // synth: network-policies.ts API_SERVER). Without both, the namespace's default deny refuses.
    const https = new Set(["airflow-internet-egress", "airflow-kube-api-egress"]);
    const without: ClusterPolicies = { ...cluster, policies: cluster.policies.filter((policy) => !(policy.metadata.namespace === "airflow" && https.has(String(policy.metadata.name)))) };
    expect(cluster.policies.length - without.policies.length).toBe(2);
    expect(allows(cluster, toProvider)).toBe(true);
    expect(allows(without, toProvider)).toBe(false);
    // A provider on another port is not reachable (README, "Single sign-on": add a flow for it).
    expect(allows(cluster, { ...toProvider, port: 8443 })).toBe(false);
  });
});

const datahubCases = cases.filter((entry) => entry.env.apps.some((spec) => spec.name === "datahub"));

describe.each(datahubCases.map((entry) => [entry.label, entry] as const))("%s: DataHub's backends", (_, { env, apps }) => {
  const { cluster, namespaces } = clusterOf(apps, env);
  const strimzi = strimziOf(apps);

  it("holds DataHub's Kafka, OpenSearch and the Strimzi operator by their own namespaces' policies alone, with Strimzi writing none", () => {
    const { operator } = strimziPods(strimzi);
    // The operator's namespace is one the stack creates, so it has its default deny.
    expect(namespaces).toContain(operator.namespace);
    expect(strimzi?.policies).toEqual([]);
    // Were every other namespace open on egress, the destination's ingress still refuses: keep
    // only the policies of the destination's namespace.
    const destinationOnly = (to: Endpoint): ClusterPolicies => ({ ...cluster, policies: cluster.policies.filter((policy) => "namespace" in to && policy.metadata.namespace === to.namespace) });
    const outside = backendForbiddenFlows(env, strimziPods(strimzi)).filter((flow) => "namespace" in flow.connection.from && "namespace" in flow.connection.to && flow.connection.from.namespace !== flow.connection.to.namespace);
    expect(outside.length).toBeGreaterThan(10);
    expect(outside.filter((flow) => allows(destinationOnly(flow.connection.to), flow.connection)).map((flow) => flow.why)).toEqual([]);
  });
});

describe("Strimzi's own NetworkPolicies (chart default generateNetworkPolicy: true) would open Kafka", () => {
  const [entry] = datahubCases;
  const rendered = renderedApps(entry.apps);
  const release = rendered.releases.find((candidate) => candidate.chart === "strimzi-kafka-operator");
  if (!release) throw new Error("DataHub without the Strimzi operator");
  const objects = rendered.objects.map((located) => ({ ...located.object, metadata: { ...located.object.metadata, namespace: located.object.metadata.namespace ?? located.releaseNamespace } }) as KubeObject);
  const { values: _ignored, ...rest } = release;
  const { generateNetworkPolicy: _off, ...defaults } = release.values;
  const generated = strimziNetwork({ ...rest, values: defaults }, objects);
  const { cluster } = clusterOf(entry.apps, entry.env);
  const datahubOnly = (policies: readonly NetworkPolicy[]): ClusterPolicies => ({ ...cluster, policies: policies.filter((policy) => policy.metadata.namespace === "datahub") });
  const { kafka, entityOperator } = strimziPods(generated);

  it("writes the Kafka cluster's policy and the entity operator's when left on", () => {
    expect(generated.policies.map((policy) => policy.metadata.name).sort()).toEqual(["datahub-kafka-entity-operator", "datahub-kafka-network-policy-kafka"]);
    expect(generated.policies.flatMap((policy) => networkPolicyProblems(policy as unknown as NetworkPolicy))).toEqual([]);
  });

  it("admits an Airbyte connector to the TLS listener and the entity operator's health port from another namespace: the reason the platform turns it off", () => {
    const connector = { namespace: "airbyte", labels: { airbyte: "job-pod" } };
    const ours = datahubOnly(cluster.policies);
    const withStrimzi = datahubOnly([...cluster.policies, ...(generated.policies as unknown as NetworkPolicy[])]);
    expect(allows(ours, { from: connector, to: kafka, port: 9093 })).toBe(false);
    expect(allows(withStrimzi, { from: connector, to: kafka, port: 9093 })).toBe(true);
    expect(allows(ours, { from: connector, to: entityOperator, port: 8081 })).toBe(false);
    expect(allows(withStrimzi, { from: connector, to: entityOperator, port: 8081 })).toBe(true);
    // And a cluster operator of any namespace to the nodes (no STRIMZI_OPERATOR_NAMESPACE_LABELS).
    expect(allows(withStrimzi, { from: { namespace: "airbyte", labels: { "strimzi.io/kind": "cluster-operator" } }, to: kafka, port: 8443 })).toBe(true);
    expect(allows(ours, { from: { namespace: "airbyte", labels: { "strimzi.io/kind": "cluster-operator" } }, to: kafka, port: 8443 })).toBe(false);
  });
});

describe("the CNI of every cloud enforces NetworkPolicy", () => {
  const infraOf = (cloud: string) => {
    const entry = cases.find((candidate) => candidate.env.cloud === cloud);
    if (!entry) throw new Error(`no ${cloud} case`);
    return resources(entry.infra);
  };

  it("EKS: the vpc-cni add-on runs its network policy agent (EKS user guide, cni-network-policy-configure: configuration value enableNetworkPolicy \"true\")", () => {
    const addons = Object.values(infraOf("aws").aws_eks_addon ?? {}).filter((addon) => addon.addon_name === "vpc-cni");
    expect(addons).toHaveLength(1);
    expect(JSON.parse(String(addons[0].configuration_values))).toEqual({ enableNetworkPolicy: "true" });
  });

  it("AKS: network policy engine cilium on the Cilium dataplane", () => {
    const clusters = Object.values(infraOf("azure").azurerm_kubernetes_cluster ?? {});
    expect(clusters.map((cluster) => cluster.network_profile)).toEqual([expect.objectContaining({ network_policy: "cilium", network_data_plane: "cilium" })]);
  });

  it("GKE: Dataplane V2 (ADVANCED_DATAPATH enforces NetworkPolicy without a separate network_policy block)", () => {
    const clusters = Object.values(infraOf("gcp").google_container_cluster ?? {});
    expect(clusters.map((cluster) => cluster.datapath_provider)).toEqual(["ADVANCED_DATAPATH"]);
  });
});

describe("the NetworkPolicy evaluator follows networking/v1", () => {
  const web: Pod = { namespace: "a", labels: { app: "web" }, namedPorts: { http: { port: 8080 } } };
  const db: Pod = { namespace: "a", labels: { app: "db" } };
  const other: Pod = { namespace: "b", labels: { app: "web" } };
  const namespaces = new Map([
    ["a", { team: "x" }],
    ["b", { team: "y" }],
  ]);
  const policy = (namespace: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ metadata: { name: "p", namespace }, spec });
  const cluster = (...policies: NetworkPolicy[]): ClusterPolicies => ({ cni: "vpc-cni", policies, namespaces });
  const deny = policy("a", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });

  it("on Cilium, no ipBlock matches a node or the API server calling in through one; a rule with ports and no peer does, on both CNIs", () => {
    const nodeAddress: Address = { ip: "10.0.1.5", role: "node" };
    const controlPlane: Address = { ip: "10.0.2.5", role: "control-plane" };
    // The shape of the webhook, client and node-scrape rules before the fix: an ipBlock of every address.
    const webhookByBlock = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 10250 }] }] });
    const nodesByBlock = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 10250 }] }] });
    const webhookByPort = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: 10250 }] }] });
    const nodesByPort = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ ports: [{ port: 10250 }] }] });
    const on = (cni: Cni, ...policies: NetworkPolicy[]): ClusterPolicies => ({ cni, policies: [deny, ...policies], namespaces });
    for (const [from, to] of [
      [controlPlane, web],
      [nodeAddress, web],
    ] as const) {
      expect(allows(on("vpc-cni", webhookByBlock), { from, to, port: 10250 })).toBe(true);
      expect(allows(on("cilium", webhookByBlock), { from, to, port: 10250 })).toBe(false);
      expect(allows(on("cilium", webhookByPort), { from, to, port: 10250 })).toBe(true);
      expect(allows(on("cilium", webhookByPort), { from, to, port: 10251 })).toBe(false);
    }
    expect(allows(on("vpc-cni", nodesByBlock), { from: web, to: nodeAddress, port: 10250 })).toBe(true);
    expect(allows(on("cilium", nodesByBlock), { from: web, to: nodeAddress, port: 10250 })).toBe(false);
    expect(allows(on("cilium", nodesByPort), { from: web, to: nodeAddress, port: 10250 })).toBe(true);
    // The API server as a destination keeps its address (the kube-apiserver entity works for egress: PR #32464), and the Internet is matched on both.
    expect(allows(on("cilium", nodesByBlock), { from: web, to: controlPlane, port: 10250 })).toBe(true);
    expect(allows(on("cilium", webhookByBlock), { from: INTERNET, to: web, port: 10250 })).toBe(true);
  });

  it("allows everything without policies, and nothing under a default deny (empty podSelector selects every pod)", () => {
    expect(allows(cluster(), { from: web, to: db, port: 5432 })).toBe(true);
    expect(allows(cluster(deny), { from: web, to: db, port: 5432 })).toBe(false);
    expect(allows(cluster(deny), { from: other, to: web, port: 8080 })).toBe(false);
    expect(allows(cluster(deny), { from: web, to: INTERNET, port: 443 })).toBe(false);
  });

  it("isolates egress only when Egress is a policy type (absent types: Ingress, plus Egress when egress rules exist)", () => {
    const ingressOnly = policy("a", { podSelector: {}, ingress: [] });
    expect(allows(cluster(ingressOnly), { from: web, to: INTERNET, port: 443 })).toBe(true);
    expect(allows(cluster(ingressOnly), { from: other, to: web, port: 8080 })).toBe(false);
  });

  it("ANDs podSelector and namespaceSelector in one peer, ORs separate peers", () => {
    const and = policy("a", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "y" } }, podSelector: { matchLabels: { app: "api" } } }] }] });
    expect(allows(cluster(and), { from: other, to: db, port: 5432 })).toBe(false);
    expect(allows(cluster(and), { from: { namespace: "b", labels: { app: "api" } }, to: db, port: 5432 })).toBe(true);
    const or = policy("a", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "y" } } }, { podSelector: { matchLabels: { app: "api" } } }] }] });
    expect(allows(cluster(or), { from: other, to: db, port: 5432 })).toBe(true);
    // A lone podSelector means pods of the policy's own namespace.
    expect(allows(cluster(or), { from: { namespace: "c", labels: { app: "api" } }, to: db, port: 5432 })).toBe(false);
  });

  it("matches ipBlock minus its except ranges, and never pods", () => {
    const egress = policy("a", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }] }] });
    expect(allows(cluster(egress), { from: web, to: INTERNET, port: 443 })).toBe(true);
    expect(allows(cluster(egress), { from: web, to: { ip: "10.1.2.3" }, port: 443 })).toBe(false);
    expect(allows(cluster(egress), { from: web, to: other, port: 443 })).toBe(false);
    expect(inCidr("10.20.160.4", "10.20.160.0/21")).toBe(true);
    expect(inCidr("10.20.168.4", "10.20.160.0/21")).toBe(false);
  });

  it("defaults a port's protocol to TCP, and resolves named ports on the destination pod", () => {
    const dns = policy("a", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 53 }] }] });
    expect(allows(cluster(dns), { from: web, to: INTERNET, port: 53, protocol: "TCP" })).toBe(true);
    expect(allows(cluster(dns), { from: web, to: INTERNET, port: 53, protocol: "UDP" })).toBe(false);
    const named = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: "http" }] }] });
    expect(allows(cluster(named), { from: db, to: web, port: 8080 })).toBe(true);
    expect(allows(cluster(named), { from: db, to: web, port: 9090 })).toBe(false);
    const range = policy("a", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 8000, endPort: 8010 }] }] });
    expect(allows(cluster(range), { from: web, to: INTERNET, port: 8005 })).toBe(true);
    expect(allows(cluster(range), { from: web, to: INTERNET, port: 8011 })).toBe(false);
  });

  it("unions the rules of every policy that selects a pod", () => {
    const https = policy("a", { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 443 }] }] });
    const pg = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ ports: [{ port: 5432 }] }] });
    expect(allows(cluster(deny, https, pg), { from: web, to: INTERNET, port: 5432 })).toBe(true);
    expect(allows(cluster(deny, https, pg), { from: db, to: INTERNET, port: 5432 })).toBe(false);
    expect(allows(cluster(deny, https, pg), { from: db, to: INTERNET, port: 443 })).toBe(true);
  });

  it("needs both the source's egress and the destination's ingress", () => {
    const out = policy("b", { podSelector: {}, policyTypes: ["Egress"], egress: [{}] });
    expect(allows(cluster(deny, out), { from: other, to: web, port: 8080 })).toBe(false);
    const into = policy("a", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: {} }] }] });
    expect(allows(cluster(deny, out, into), { from: other, to: web, port: 8080 })).toBe(true);
  });

  it("the schema and name checks reject a misspelt field and a bad name", () => {
    const object = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow_dns", namespace: "a" }, spec: { podSelectors: {} } };
    expect(coreObjectViolations({ source: "test", object })).not.toEqual([]);
    expect(nameViolations({ source: "test", object })).toEqual([expect.stringContaining("allow_dns")]);
  });

  it("rejects what the API server's validation rejects", () => {
    const invalid = (spec: NetworkPolicy["spec"]) => networkPolicyProblems(policy("a", spec));
    expect(invalid({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" }, podSelector: {} }] }] })).toEqual([expect.stringContaining("ipBlock may not be combined")]);
    expect(invalid({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] } }] }] })).toEqual([expect.stringContaining("strict subset")]);
    expect(invalid({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.0/16"] } }] }] })).toEqual([expect.stringContaining("strict subset")]);
    expect(invalid({ podSelector: {}, egress: [{ ports: [{ port: "http", endPort: 90 }] }] })).toEqual([expect.stringContaining("endPort requires a numeric port")]);
    expect(invalid({ podSelector: {}, egress: [{ ports: [{ protocol: "ICMP", port: 1 }] }] })).toEqual([expect.stringContaining("protocol ICMP")]);
    expect(invalid({ podSelector: {}, policyTypes: ["Ingres"] })).toEqual([expect.stringContaining("policyTypes has Ingres")]);
    expect(invalid({ podSelector: {}, ingress: [{ from: [{}] }] })).toEqual([expect.stringContaining("must specify")]);
    expect(() => allows(cluster(policy("a", { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["11.0.0.0/24"] } }] }] })), { from: web, to: INTERNET, port: 1 })).toThrow(/strict subset/);
  });
});
