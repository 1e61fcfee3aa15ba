/**
 * DataHub's Kafka, run by the Strimzi operator (CNCF; its own Apache Kafka images on
 * quay.io/strimzi, maintained) instead of the prerequisites chart's Bitnami Kafka, whose image
 * only exists in Bitnami's frozen `bitnamilegacy` repository.
 *
 * - The operator (chart strimzi-kafka-operator 1.2.0, Kafka 4.3.1 by default; Kubernetes 1.30+,
 *   strimzi/strimzi-kafka-operator 1.2.0 helm-charts/helm3/strimzi-kafka-operator/README.md) runs
 *   in its own namespace and watches the app's namespace only (`watchNamespaces`).
 * - The cluster: KRaft, one node pool of combined controller+broker nodes (3 in production with
 *   replication 3 / min ISR 2, 1 elsewhere), persistent volumes kept when the cluster is deleted
 *   (`deleteClaim: false`), on on-demand nodes only (no spot toleration: volumes and a quorum).
 *   The operator's PodDisruptionBudget lets one node go at a time.
 * - One listener, `tls` (9093): TLS with the operator's cluster CA, SCRAM-SHA-512 authentication;
 *   no PLAINTEXT listener. Simple authorization: the `datahub` KafkaUser may use DataHub's topics
 *   (named in the datahub chart's `global.kafka.topics`) and consumer groups, nothing else.
 * - Topics stay DataHub's own: the system-update job creates them (`precreateTopics`), as with
 *   the Bitnami Kafka, so the user may Create them; no KafkaTopic objects.
 * - The operands run with Strimzi's `restricted` Pod Security provider
 *   (STRIMZI_POD_SECURITY_PROVIDER_CLASS, cluster-operator ClusterOperatorConfig.java:216,233;
 *   api/.../RestrictedPodSecurityProvider.java).
 *
 * What DataHub's pods read: one Secret, `datahub-kafka-client`, joining the cluster CA truststore
 * (`<cluster>-cluster-ca-cert`: ca.crt, ca.p12, ca.password) and the user's SCRAM credential
 * (the KafkaUser's Secret `datahub`: password, sasl.jaas.config), copied by External Secrets
 * (Kubernetes provider, a reader that may get exactly those two Secrets).
 */
import type { AppContext, AppManifest, ChartRef, PrivilegedNamespace, Resources } from "./types";
import { mebibytes } from "./scale";
import { ESO_API, secretReaderManifests } from "./wiring";

/** strimzi-kafka-operator 1.2.0 (Strimzi 1.2.0, August 2026; serves only the `kafka.strimzi.io/v1` API). */
export const STRIMZI_CHART: ChartRef = { repository: "oci://quay.io/strimzi-helm", chart: "strimzi-kafka-operator", version: "1.2.0" };

/** The operator's release and namespace. */
export const STRIMZI_RELEASE = "strimzi";
export const STRIMZI_NAMESPACE = "datahub-strimzi";

/** Kafka 4.3.1: the default of Strimzi 1.2.0 (kafka-versions.yaml). */
export const KAFKA_VERSION = "4.3.1";
/** The Kafka cluster; its pods are `<cluster>-<pool>-<id>` and its client Service `<cluster>-kafka-bootstrap`. */
export const KAFKA_CLUSTER = "datahub-kafka";
export const KAFKA_NODE_POOL = "dual-role";
/** The TLS + SCRAM-SHA-512 listener: the only one. */
export const KAFKA_TLS_PORT = 9093;
export const KAFKA_BOOTSTRAP = `${KAFKA_CLUSTER}-kafka-bootstrap:${KAFKA_TLS_PORT}`;
/**
 * The ports every Kafka node also listens on, besides the listeners (strimzi-kafka-operator 1.2.0
 * cluster-operator/.../model/KafkaCluster.java:161-168): the KRaft controller quorum (the nodes
 * among themselves, and the operator's admin client while it rolls nodes: KafkaRoller.java:874),
 * replication (the nodes, the operator's admin clients: KafkaRoller.java:878,
 * KRaftMetadataManager.java:69; and the User Operator: EntityUserOperatorSpec
 * DEFAULT_BOOTSTRAP_SERVERS_PORT 9091), and the Kafka agent the operator polls for the nodes' state.
 */
export const KAFKA_CONTROLPLANE_PORT = 9090;
export const KAFKA_REPLICATION_PORT = 9091;
export const KAFKA_AGENT_PORT = 8443;
/**
 * The labels Strimzi 1.2.0 puts on the pods it runs, as its own NetworkPolicies select them:
 * - the operator: the chart's templates/060-Deployment-strimzi-cluster-operator.yaml:35-37
 *   (`name`, `strimzi.io/kind: cluster-operator`);
 * - the Kafka nodes: KafkaPool.java:101-114 (`strimzi.io/kind` Kafka, `strimzi.io/name`
 *   `<cluster>-kafka`, `strimzi.io/cluster`, `strimzi.io/pool-name`, ...), the selector
 *   `Labels.strimziSelectorLabels()` of KafkaCluster#generateNetworkPolicy;
 * - the entity operator: Labels.generateDefaultLabels (`strimzi.io/name` `<cluster>-entity-operator`,
 *   KafkaResources.entityOperatorDeploymentName).
 */
export const STRIMZI_POD_LABELS = {
  operator: { name: "strimzi-cluster-operator", "strimzi.io/kind": "cluster-operator" },
  kafka: { "strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka", "strimzi.io/name": `${KAFKA_CLUSTER}-kafka` },
  entityOperator: { "strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/name": `${KAFKA_CLUSTER}-entity-operator` },
} as const;
/** The KafkaUser DataHub connects as; the User Operator writes its Secret under the same name. */
export const KAFKA_USER = "datahub";
/** Secret the operator keeps the cluster CA certificate in (ca.crt, ca.p12, ca.password). */
export const KAFKA_CLUSTER_CA_SECRET = `${KAFKA_CLUSTER}-cluster-ca-cert`;
/** What DataHub's pods mount and read: the CA truststore and the SCRAM credential, joined. */
export const KAFKA_CLIENT_SECRET = "datahub-kafka-client";

/**
 * DataHub's topics: the datahub chart 1.1.0 `global.kafka.topics` defaults (values.yaml:921-932),
 * which the platform does not override.
 */
export const DATAHUB_TOPICS = [
  "MetadataChangeEvent_v4",
  "FailedMetadataChangeEvent_v4",
  "MetadataAuditEvent_v4",
  "DataHubUsageEvent_v1",
  "MetadataChangeProposal_v1",
  "FailedMetadataChangeProposal_v1",
  "MetadataChangeLog_Versioned_v1",
  "MetadataChangeLog_Timeseries_v1",
  "PlatformEvent_v1",
  "DataHubUpgradeHistory_v1",
  "datahub.metadata_aspect_v2",
] as const;

const KAFKA_API = "kafka.strimzi.io/v1";

const BASE_RESOURCES = {
  kafka: { requests: { cpu: "250m", memory: "1536Mi" }, limits: { memory: "1536Mi" } },
  userOperator: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "256Mi" } },
} satisfies Record<string, Resources>;

const VOLUMES = { production: "50Gi", other: "10Gi" } as const;

/** The operator's namespace: its pods meet `restricted` (the chart's 1.2.0 defaults, values.yaml `securityContext`). */
export const STRIMZI_NAMESPACE_SPEC: PrivilegedNamespace = {
  name: STRIMZI_NAMESPACE,
  podSecurity: "restricted",
  reason: "the Strimzi cluster operator of DataHub's Kafka, in a namespace of its own so the app's pods cannot read its credentials",
};

/** strimzi-kafka-operator values: watch the app's namespace only, restricted operands, 2 replicas and a PDB in production. */
export function strimziValues(ctx: AppContext): Record<string, unknown> {
  const production = ctx.env.production;
  return {
    watchNamespaces: [ctx.namespace],
    watchAnyNamespace: false,
    replicas: production ? 2 : 1,
    leaderElection: { enable: true },
    podDisruptionBudget: { enabled: production },
    /** The operator keeps no state of its own (it is in the custom resources): spot nodes are fine. */
    tolerations: ctx.spotTolerations,
    extraEnvs: [{ name: "STRIMZI_POD_SECURITY_PROVIDER_CLASS", value: "restricted" }],
    /**
     * No NetworkPolicies of Strimzi's own: they are additive, and the one it writes for each
     * Kafka cluster admits every pod of every namespace to each listener without
     * `networkPolicyPeers` (KafkaCluster.java:1775-1778), and the operator to the nodes from any
     * namespace (NetworkPolicyUtils.clusterOperatorNamespaceSelector). The platform's own
     * policies (network-policies.ts) hold every Strimzi flow. The chart passes `false` as
     * STRIMZI_NETWORK_POLICY_GENERATION (060-Deployment-strimzi-cluster-operator.yaml:175-178),
     * which the operator reads (ClusterOperatorConfig.java:154; KafkaReconciler.java:352-358).
     */
    generateNetworkPolicy: false,
  };
}

function heap(resources: Resources): Record<string, string> {
  const mib = `${Math.floor(mebibytes(resources.limits.memory) / 2)}m`;
  return { "-Xms": mib, "-Xmx": mib };
}

/** ACL of the DataHub user: its topics (literal names), its consumer groups, and what producers and the topic setup need on the cluster. */
function datahubAcls(): Record<string, unknown>[] {
  return [
    // Alter: the system-update job adds partitions to existing topics when `global.kafka.partitions`
    // is raised (datahub-project/datahub datahub-upgrade .../system/kafka/CreateKafkaTopicsStep.java,
    // adminClient.createPartitions with kafka.setup.autoIncreasePartitions), which Kafka authorises as
    // ALTER on the topic (Apache Kafka docs, "Operations and Resources on Protocols": CreatePartitions).
    // Operation names from the KafkaUser CRD's enum (strimzi 1.2.0 044-Crd-kafkauser.yaml).
    ...DATAHUB_TOPICS.map((name) => ({
      resource: { type: "topic", name, patternType: "literal" },
      operations: ["Create", "Alter", "Describe", "DescribeConfigs", "AlterConfigs", "Read", "Write"],
      host: "*",
    })),
    // DataHub's consumer groups are named by each component and version (generic-mae-consumer-job-client,
    // datahub-usage-event-consumer-job-client, the actions' pipelines, ...): the cluster serves DataHub alone.
    { resource: { type: "group", name: "*", patternType: "literal" }, operations: ["Describe", "Read"], host: "*" },
    { resource: { type: "cluster" }, operations: ["Describe", "DescribeConfigs", "IdempotentWrite"], host: "*" },
  ];
}

/** The Kafka cluster, its node pool, DataHub's user, and the Secret that joins what DataHub's pods need. */
export function kafkaResources(ctx: AppContext): AppManifest[] {
  const production = ctx.env.production;
  const namespace = ctx.namespace;
  const replication = production ? 3 : 1;
  const minIsr = production ? 2 : 1;
  const resources = ctx.resources(BASE_RESOURCES.kafka);
  const cluster = { "strimzi.io/cluster": KAFKA_CLUSTER };
  const reader = "datahub-kafka-client-reader";
  return [
    {
      apiVersion: KAFKA_API,
      kind: "KafkaNodePool",
      metadata: { name: KAFKA_NODE_POOL, namespace, labels: cluster },
      spec: {
        replicas: production ? 3 : 1,
        roles: ["controller", "broker"],
        storage: {
          type: "jbod",
          volumes: [{ id: 0, type: "persistent-claim", size: VOLUMES[production ? "production" : "other"], deleteClaim: false, kraftMetadata: "shared" }],
        },
        resources,
        jvmOptions: heap(resources),
      },
    },
    {
      apiVersion: KAFKA_API,
      kind: "Kafka",
      metadata: { name: KAFKA_CLUSTER, namespace },
      spec: {
        kafka: {
          version: KAFKA_VERSION,
          listeners: [{ name: "tls", port: KAFKA_TLS_PORT, type: "internal", tls: true, authentication: { type: "scram-sha-512" } }],
          authorization: { type: "simple" },
          config: {
            /** DataHub's 5 MB producer limit (`global.kafka.maxMessageBytes`). */
            "message.max.bytes": 5242880,
            "default.replication.factor": replication,
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "min.insync.replicas": minIsr,
            "transaction.state.log.min.isr": minIsr,
          },
          template: { podDisruptionBudget: { maxUnavailable: 1 } },
        },
        entityOperator: {
          userOperator: { resources: ctx.resources(BASE_RESOURCES.userOperator) },
          /** Stateless (users live in the custom resources): may run on spot nodes. */
          template: { pod: { tolerations: ctx.spotTolerations.map((toleration) => ({ ...toleration })) } },
        },
      },
    },
    {
      apiVersion: KAFKA_API,
      kind: "KafkaUser",
      metadata: { name: KAFKA_USER, namespace, labels: cluster },
      spec: { authentication: { type: "scram-sha-512" }, authorization: { type: "simple", acls: datahubAcls() } },
    },
    // The client Secret: External Secrets' Kubernetes provider reads the two operator Secrets as a
    // service account that may get exactly those, and joins their keys (no key appears in both).
    ...secretReaderManifests(namespace, reader, reader, [KAFKA_CLUSTER_CA_SECRET, KAFKA_USER], namespace),
    {
      apiVersion: ESO_API,
      kind: "ExternalSecret",
      metadata: { name: KAFKA_CLIENT_SECRET, namespace },
      spec: {
        // The operator renews its CA before expiry; the copy follows within the hour.
        refreshInterval: "1h",
        secretStoreRef: { kind: "SecretStore", name: reader },
        target: { name: KAFKA_CLIENT_SECRET, creationPolicy: "Owner" },
        dataFrom: [{ extract: { key: KAFKA_CLUSTER_CA_SECRET } }, { extract: { key: KAFKA_USER } }],
      },
    },
  ];
}

/** Mount path of the client Secret in DataHub's pods (the chart's `credentialsAndCertsSecrets.path`). */
export const KAFKA_CLIENT_PATH = "/mnt/datahub/kafka";

/**
 * datahub chart 1.1.0 `global` values for Kafka: TLS with the cluster CA as truststore and
 * SCRAM-SHA-512 as the `datahub` user. How each component reads them (datahub-helm datahub-1.1.0):
 * - `springKafkaConfigurationOverrides` → `SPRING_KAFKA_PROPERTIES_*` in GMS
 *   (subcharts/datahub-gms/templates/deployment.yaml:306-309), the MAE/MCE consumers
 *   (subcharts/datahub-mae-consumer/templates/deployment.yaml:264-267,
 *   subcharts/datahub-mce-consumer/templates/deployment.yaml:277-280) and the system-update jobs
 *   (templates/datahub-upgrade/_upgrade.tpl:114-117); `KAFKA_PROPERTIES_*` in the frontend
 *   (subcharts/datahub-frontend/templates/deployment.yaml:172-176) and the actions
 *   (subcharts/acryl-datahub-actions/templates/deployment.yaml:126-130);
 * - `credentialsAndCertsSecrets.secureEnv` → the same prefixes from the Secret
 *   (gms deployment.yaml:312-318, mae 270-276, mce 283-289, _upgrade.tpl:120-126, frontend
 *   178-184, actions 132-138), and the Secret mounted at `path` in each of them (gms
 *   deployment.yaml:53,578; mae 44,349; mce 48,394; frontend 47,307; actions 45,191;
 *   datahub-system-update-job.yml:47,276,343,511).
 * The actions' Python client (librdkafka) ignores these and reads its own pipeline file: see
 * `ACTIONS_SYSTEM_CONFIG`.
 */
export function datahubKafkaGlobals(): Record<string, unknown> {
  return {
    springKafkaConfigurationOverrides: {
      "security.protocol": "SASL_SSL",
      "sasl.mechanism": "SCRAM-SHA-512",
      "ssl.truststore.location": `${KAFKA_CLIENT_PATH}/ca.p12`,
      "ssl.truststore.type": "PKCS12",
      // The chart's default, kept: Helm merges maps, but spelling it keeps the list complete here.
      "partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
    },
    credentialsAndCertsSecrets: {
      name: KAFKA_CLIENT_SECRET,
      path: KAFKA_CLIENT_PATH,
      secureEnv: { "ssl.truststore.password": "ca.password", "sasl.jaas.config": "sasl.jaas.config" },
    },
  };
}

/**
 * The actions runner (datahub-actions, Python, librdkafka through confluent-kafka) takes its
 * Kafka connection from each pipeline file, not from the chart's KAFKA_PROPERTIES_* variables:
 * its Kafka source builds the consumer from `connection.bootstrap` and
 * `connection.consumer_config` only (datahub-project/datahub
 * datahub-actions/src/datahub_actions/plugin/source/kafka/kafka_event_source.py,
 * KafkaEventSource.__init__), and the image's system pipeline `executor.yaml` sets no
 * `consumer_config` (docker/datahub-actions/config/executor.yaml; the image copies that folder
 * to /etc/datahub/actions/system/conf, docker/datahub-actions/Dockerfile, and start.sh runs
 * every *.yaml there). A generic KAFKA_PROPERTIES_* mapping exists only in later sources, behind
 * DATAHUB_ACTIONS_KAFKA_ENV_PROPERTIES_ENABLED (upstream issue datahub-project/datahub#18831,
 * August 2026, v1.6.0). So the platform mounts its own system folder, holding one pipeline:
 * the image's `executor.yaml` (managed ingestion) with an explicit SASL_SSL + SCRAM-SHA-512
 * `consumer_config` and the cluster CA in PEM. The image's other system pipelines (doc and term
 * propagation, Slack, Teams notifications) are left out: each would need the same consumer
 * settings and none is configured here. `${VAR}` references are expanded from the environment
 * when the file is loaded, as the image's own file relies on.
 */
export const ACTIONS_SYSTEM_CONFIG = {
  configMap: "datahub-actions-system-config",
  /** The image's system folder (start.sh, DATAHUB_ACTIONS_SYSTEM_CONFIGS_PATH's default). */
  mountPath: "/etc/datahub/actions/system/conf",
  file: "executor.yaml",
} as const;

/** The SCRAM credential of the actions, under names outside KAFKA_PROPERTIES_* so no mapping sees them. */
const ACTIONS_SASL_USERNAME_ENV = "DATAHUB_ACTIONS_KAFKA_SASL_USERNAME";
const ACTIONS_SASL_PASSWORD_ENV = "DATAHUB_ACTIONS_KAFKA_SASL_PASSWORD";

/** librdkafka settings of the actions' consumer (librdkafka CONFIGURATION.md names). */
export const ACTIONS_CONSUMER_CONFIG = {
  "security.protocol": "SASL_SSL",
  "sasl.mechanism": "SCRAM-SHA-512",
  "sasl.username": `\${${ACTIONS_SASL_USERNAME_ENV}}`,
  "sasl.password": `\${${ACTIONS_SASL_PASSWORD_ENV}}`,
  "ssl.ca.location": `${KAFKA_CLIENT_PATH}/ca.crt`,
} as const;

/** executor.yaml: the image's file (as cited above) with `consumer_config` added. */
function executorPipeline(): string {
  return [
    "name: ${DATAHUB_ACTIONS_INGESTION_EXECUTOR_CONSUMER_GROUP_ID:-ingestion_executor}",
    "source:",
    '  type: "kafka"',
    "  config:",
    "    connection:",
    "      bootstrap: ${KAFKA_BOOTSTRAP_SERVER}",
    "      schema_registry_url: ${SCHEMA_REGISTRY_URL}",
    "      consumer_config:",
    ...Object.entries(ACTIONS_CONSUMER_CONFIG).map(([key, value]) => `        ${key}: "${value}"`),
    "    topic_routes:",
    "      mcl: ${METADATA_CHANGE_LOG_VERSIONED_TOPIC_NAME:-MetadataChangeLog_Versioned_v1}",
    "      pe: ${PLATFORM_EVENT_TOPIC_NAME:-PlatformEvent_v1}",
    "filter:",
    '  event_type: "MetadataChangeLogEvent_v1"',
    "  event:",
    '    entityType: "dataHubExecutionRequest"',
    '    changeType: "UPSERT"',
    "    aspectName:",
    '      - "dataHubExecutionRequestInput"',
    '      - "dataHubExecutionRequestSignal"',
    "    aspect:",
    "      value:",
    '        executorId: "${EXECUTOR_ID:-default}"',
    "action:",
    '  type: "executor"',
    "  config:",
    '    executor_id: "${EXECUTOR_ID:-default}"',
    "datahub:",
    '  server: "${DATAHUB_GMS_PROTOCOL:-http}://${DATAHUB_GMS_HOST}:${DATAHUB_GMS_PORT}${DATAHUB_GMS_BASE_PATH:-}"',
    "  extra_headers:",
    '    Authorization: "Basic ${DATAHUB_SYSTEM_CLIENT_ID}:${DATAHUB_SYSTEM_CLIENT_SECRET}"',
    "",
  ].join("\n");
}

/** The ConfigMap of the actions' system folder, applied by the app's wiring before DataHub installs. */
export function actionsSystemConfigManifest(namespace: string): AppManifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: ACTIONS_SYSTEM_CONFIG.configMap, namespace },
    // `$${` is Terraform's escape for a literal `${` in the synthesized JSON (the values of the
    // wiring's helm_release): the pod receives `${VAR}` and datahub-actions expands it. A function
    // as replacement, since `$$` in a replacement string stands for one `$`.
    data: { [ACTIONS_SYSTEM_CONFIG.file]: executorPipeline().replaceAll("${", () => "$${") },
  };
}

/** The actions' values: the system folder mounted over the image's, the credential, and no environment mapping. */
export function actionsKafkaValues(): { extraEnvs: Record<string, unknown>[]; extraVolumes: Record<string, unknown>[]; extraVolumeMounts: Record<string, unknown>[] } {
  return {
    extraEnvs: [
      { name: ACTIONS_SASL_USERNAME_ENV, value: KAFKA_USER },
      { name: ACTIONS_SASL_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: KAFKA_CLIENT_SECRET, key: "password" } } },
      // Where a generic KAFKA_PROPERTIES_* → librdkafka mapping exists, keep it off: the chart also
      // passes Java-only values (e.g. partition.assignment.strategy as a Java class name, which
      // librdkafka refuses), and the pipeline file above is the one source of the consumer's settings.
      { name: "DATAHUB_ACTIONS_KAFKA_ENV_PROPERTIES_ENABLED", value: "false" },
    ],
    extraVolumes: [{ name: "actions-system-config", configMap: { name: ACTIONS_SYSTEM_CONFIG.configMap } }],
    extraVolumeMounts: [{ name: "actions-system-config", mountPath: ACTIONS_SYSTEM_CONFIG.mountPath, readOnly: true }],
  };
}
