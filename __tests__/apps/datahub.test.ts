import { describe, expect, it } from "vitest";
import {
  DATAHUB_CHART,
  DATAHUB_PREREQUISITES_CHART,
  DATAHUB_PREREQUISITES_RELEASE,
  DATAHUB_RELEASE,
  DATAHUB_SECRETS,
  OPENSEARCH_CREDENTIALS,
  OPENSEARCH_SYSTEM_INDICES,
  renderDatahub,
} from "../../constructs/apps/datahub";
import { ACTIONS_SYSTEM_CONFIG, DATAHUB_TOPICS, KAFKA_CLIENT_PATH, KAFKA_CLIENT_SECRET, KAFKA_CLUSTER, KAFKA_USER, STRIMZI_CHART, STRIMZI_NAMESPACE } from "../../constructs/apps/datahub-kafka";
import { parse as parseYaml } from "yaml";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { everyAppSpec, synthApps } from "../support/fixtures";
import { renderedApps } from "../../scripts/rendered-apps";
import { parseEnvironment } from "../../constructs/core/spec";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, credentialLiterals, effectiveValues, leaves, maps, REQUESTS_AND_MEMORY_LIMIT, secretRefs, type Values } from "../support/values";

/**
 * Unknown key paths of a release. The prerequisites' OpenSearch and Kafka sections belong to
 * charts the contract does not bundle, so the checker leaves them open (shared/charts/README).
 */
function unknown(release: AppRelease): string[] {
  return unknownPaths(chartContract(release.contract), release.values);
}

function render(ctx: AppContext): { strimzi: AppRelease; prerequisites: AppRelease; datahub: AppRelease } {
  const [strimzi, prerequisites, datahub] = renderDatahub(ctx);
  return { strimzi, prerequisites, datahub };
}

/**
 * strimzi-kafka-operator 1.2.0 has no contract in shared/charts: its value keys, encoded from
 * strimzi/strimzi-kafka-operator tag 1.2.0 helm-charts/helm3/strimzi-kafka-operator/values.yaml
 * (top level, and the two maps the platform sets keys inside). Lists (`watchNamespaces`,
 * `extraEnvs`, `tolerations`) are read whole by templates/060-Deployment-strimzi-cluster-operator.yaml:119-120,187-188,231-232.
 */
const STRIMZI_VALUE_KEYS: Readonly<Record<string, readonly string[] | "leaf">> = {
  ...Object.fromEntries(
    ["affinity", "annotations", "buildah", "connectBuildTimeoutMs", "createAggregateRoles", "createGlobalResources", "cruiseControl", "dashboards", "defaultImageRegistry", "defaultImageRepository", "defaultImageTag", "deploymentAnnotations", "deploymentLabels", "deploymentStrategy", "enableServiceLinks", "extraEnvs", "featureGates", "fullReconciliationIntervalMs", "generateNetworkPolicy", "generatePodDisruptionBudget", "hostUsers", "image", "kafka", "kafkaBridge", "kafkaConnect", "kafkaExporter", "kafkaInit", "kafkaMirrorMaker2", "kanikoExecutor", "kubernetesServiceDnsDomain", "labels", "labelsExclusionPattern", "livenessProbe", "logConfigMap", "logConfiguration", "logLevel", "logVolume", "mavenBuilder", "nodeSelector", "operationTimeoutMs", "operatorNetworkPolicy", "podSecurityContext", "priorityClassName", "rbac", "readinessProbe", "replicas", "resources", "securityContext", "serviceAccount", "serviceAccountCreate", "tmpDirSizeLimit", "tolerations", "topicOperator", "topologySpreadConstraints", "userOperator", "watchAnyNamespace", "watchNamespaces"].map((key) => [key, "leaf" as const]),
  ),
  podDisruptionBudget: ["enabled", "minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"],
  leaderElection: ["enable"],
};

function unknownStrimziPaths(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const known = STRIMZI_VALUE_KEYS[key];
    if (known === undefined) return [key];
    if (known === "leaf" || typeof value !== "object" || value === null || Array.isArray(value)) return [];
    return Object.keys(value).filter((child) => !known.includes(child)).map((child) => `${key}.${child}`);
  });
}

describe.each(CLOUD_CASES)("DataHub on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("datahub", cloud, production);
  const { strimzi, prerequisites, datahub } = render(ctx);
  const db = ctx.database as NonNullable<AppContext["database"]>;

  it("renders the Strimzi operator and its Kafka first, then the prerequisites, then DataHub, with pinned charts", () => {
    expect(renderDatahub(ctx).map((release) => release.name)).toEqual(["strimzi", DATAHUB_PREREQUISITES_RELEASE, DATAHUB_RELEASE]);
    expect(strimzi.chart).toEqual({ repository: "oci://quay.io/strimzi-helm", chart: "strimzi-kafka-operator", version: "1.2.0" });
    expect(strimzi.chart).toEqual(STRIMZI_CHART);
    expect(strimzi.namespace).toBe(STRIMZI_NAMESPACE);
    expect(strimzi.values).toMatchObject({ watchNamespaces: [ctx.namespace], watchAnyNamespace: false });
    expect((strimzi.resources ?? []).map((object) => object.kind)).toEqual(expect.arrayContaining(["Kafka", "KafkaNodePool", "KafkaUser", "ExternalSecret"]));
    expect(prerequisites.chart).toEqual({ repository: "https://helm.datahubproject.io/", chart: "datahub-prerequisites", version: "0.3.0" });
    expect(datahub.chart).toEqual({ repository: "https://helm.datahubproject.io/", chart: "datahub", version: "1.1.0" });
    expect([prerequisites.chart, datahub.chart]).toEqual([DATAHUB_PREREQUISITES_CHART, DATAHUB_CHART]);
    expect(prerequisites.name).toBe("prerequisites");
  });

  it("gives the Strimzi chart only keys its values.yaml has (1.2.0)", () => {
    expect(unknownStrimziPaths(strimzi.values)).toEqual([]);
    expect(unknownStrimziPaths({ ...strimzi.values, watchNamespace: ["datahub"], podDisruptionBudget: { enable: true } }).sort()).toEqual(["podDisruptionBudget.enable", "watchNamespace"]);
  });

  it.each(["prerequisites", "datahub"] as const)("%s values fit the chart contract", (name) => {
    const release = name === "datahub" ? datahub : prerequisites;
    expect(unknown(release)).toEqual([]);
    expect(schemaErrors(chartContract(release.contract), release.values)).toEqual([]);
  });

  it("runs OpenSearch from the prerequisites, Kafka from Strimzi, and disables every bundled database", () => {
    const values = prerequisites.values;
    for (const off of ["mysql", "postgresql", "neo4j", "elasticsearch", "gcloud-sqlproxy", "cp-helm-charts", "kafka"]) expect(at(values, `${off}.enabled`)).toBe(false);
    expect(at(values, "opensearch.enabled")).toBe(true);
    expect(at(values, "opensearch.persistence")).toMatchObject({ enabled: true, size: production ? "100Gi" : "20Gi" });
    expect(at(values, "opensearch.replicas")).toBe(production ? 3 : 1);
    expect(at(values, "opensearch.singleNode")).toBe(!production);
    expect(at(values, "opensearch.maxUnavailable")).toBe(1);
    const object = (kind: string) => (strimzi.resources ?? []).find((candidate) => candidate.kind === kind) as Values;
    expect(at(object("KafkaNodePool"), "spec.replicas")).toBe(production ? 3 : 1);
    expect(at(object("KafkaNodePool"), "spec.roles")).toEqual(["controller", "broker"]);
    expect(at(object("KafkaNodePool"), "spec.storage.volumes")).toEqual([expect.objectContaining({ type: "persistent-claim", size: production ? "50Gi" : "10Gi", deleteClaim: false })]);
    expect(at(object("Kafka"), "spec.kafka.config")).toMatchObject({ "offsets.topic.replication.factor": production ? 3 : 1, "min.insync.replicas": production ? 2 : 1 });
    expect(at(object("Kafka"), "spec.kafka.template.podDisruptionBudget.maxUnavailable")).toBe(1);
    // Kafka and its quorum stay on on-demand nodes: no toleration on the node pool or the cluster.
    expect(JSON.stringify(object("KafkaNodePool"))).not.toContain("toleration");
    expect(JSON.stringify(at(object("Kafka"), "spec.kafka"))).not.toContain("toleration");
    // DataHub points at Strimzi's bootstrap Service and the prerequisites' OpenSearch.
    expect(at(datahub.values, "global.kafka.bootstrap.server")).toBe(`${KAFKA_CLUSTER}-kafka-bootstrap:9093`);
    expect(at(datahub.values, "global.elasticsearch.host")).toBe("opensearch-cluster-master");
    expect(at(datahub.values, "global.graph_service_impl")).toBe("elasticsearch");
    expect(at(datahub.values, "global.kafka.schemaregistry.type")).toBe("INTERNAL");
  });

  it("sizes the JVM heaps at half the memory limit", () => {
    const heap = (opts: unknown) => Number(/-Xmx(\d+)m/.exec(String(opts))?.[1]);
    expect(heap(at(prerequisites.values, "opensearch.opensearchJavaOpts"))).toBe(production ? 2048 : 1024);
    const pool = (strimzi.resources ?? []).find((object) => object.kind === "KafkaNodePool") as Values;
    expect(Number(String(at(pool, "spec.jvmOptions.-Xmx")).replace("m", ""))).toBe(production ? 1536 : 768);
  });

  it("keeps metadata in the platform's PostgreSQL over TLS, credentials from the database Secret", () => {
    const datasource = at(datahub.values, "global.sql.datasource");
    expect(datasource).toEqual({
      driver: "org.postgresql.Driver",
      host: `${db.host}:5432`,
      port: "5432",
      database: db.name,
      url: `jdbc:postgresql://${db.host}:5432/${db.name}?sslmode=require`,
      username: { secretRef: db.secretName, secretKey: DATABASE_SECRET_KEYS.username },
      password: { secretRef: db.secretName, secretKey: DATABASE_SECRET_KEYS.password },
    });
    expect(at(datahub.values, "datahubSystemUpdate.sql.setup")).toEqual({ enabled: true, createTables: true, createUser: false });
  });

  it("runs every pod as the platform's service account, without creating one or a Role", () => {
    const accounts = maps(datahub.values).filter(({ path }) => ["serviceAccount", "appServiceAccount"].includes(path[path.length - 1]));
    // Production runs standalone MAE/MCE consumers (replicated GMS may not embed them).
    const consumers = production ? ["datahub-mae-consumer.serviceAccount", "datahub-mce-consumer.serviceAccount"] : [];
    expect(accounts.map(({ path }) => path.join(".")).sort()).toEqual(
      ["acryl-datahub-actions.serviceAccount", "datahub-frontend.serviceAccount", "datahub-gms.serviceAccount", ...consumers, "datahubSystemUpdate.serviceAccount", "global.datahub.appServiceAccount"].sort(),
    );
    for (const { value } of accounts) expect(value).toMatchObject({ create: false, name: ctx.serviceAccount });
    expect(at(datahub.values, "datahubSystemUpdate.serviceAccount.rbac")).toBe(false);
    expect(at(datahub.values, "global.podLabels")).toEqual(ctx.podLabels);
  });

  it("runs the consumers standalone when GMS is replicated, one MAE (the ingestion scheduler) and one MCE (managed ingestion)", () => {
    expect(at(datahub.values, "global.datahub_standalone_consumers_enabled")).toBe(production);
    for (const consumer of ["datahub-mae-consumer", "datahub-mce-consumer"]) {
      expect(at(datahub.values, `${consumer}.replicaCount`)).toBe(production ? 1 : undefined);
    }
  });

  it("publishes only the frontend, through the TLS ingress", () => {
    expect(at(datahub.values, "datahub-frontend.ingress")).toEqual({
      enabled: true,
      className: "traefik",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
      pathType: "Prefix",
      hosts: [{ host: "datahub.data.example.com", paths: ["/"], redirectPaths: [] }],
      tls: [{ secretName: "datahub-tls", hosts: ["datahub.data.example.com"] }],
    });
    expect(at(datahub.values, "datahub-frontend.authCookies.secure")).toBe("true");
    for (const release of [prerequisites, datahub]) {
      const effective = effectiveValues(chartContract(release.contract), release.values);
      expect(leaves(effective).filter(({ value }) => value === "LoadBalancer").map(({ path }) => path.join("."))).toEqual([]);
    }
  });

  it("replicates the services in production and sets resources everywhere", () => {
    for (const component of ["datahub-gms", "datahub-frontend", "acryl-datahub-actions"]) {
      expect(at(datahub.values, `${component}.replicaCount`)).toBe(production ? 2 : 1);
      expect(at(datahub.values, `${component}.resources`)).toMatchObject(REQUESTS_AND_MEMORY_LIMIT);
    }
    expect(at(datahub.values, "datahubSystemUpdate.resources")).toMatchObject({ limits: { memory: production ? "4Gi" : "2Gi" } });
    expect(at(prerequisites.values, "opensearch.resources")).toMatchObject({ requests: { cpu: expect.any(String) } });
    expect(at(datahub.values, "datahub-gms.resources")).toEqual(ctx.resources({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } }));
  });

  it("contains no credential, and every secret it reads is the database Secret or one it declares", () => {
    expect(credentialLiterals(prerequisites.values)).toEqual([]);
    expect(credentialLiterals(datahub.values)).toEqual([]);
    expect(at(datahub.values, "global.datahub.encryptionKey.provisionSecret.enabled")).toBe(false);
    expect(at(datahub.values, "global.datahub.metadata_service_authentication.provisionSecrets.enabled")).toBe(false);
    expect(datahub.generatedSecrets).toEqual([DATAHUB_SECRETS.encryption, DATAHUB_SECRETS.auth, DATAHUB_SECRETS.frontend]);
    // DataHub also reads the OpenSearch credentials (generated for the prerequisites), the
    // cert-manager truststore and the Kafka client Secret (datahub-kafka.ts).
    const generated = new Map([...datahub.generatedSecrets, OPENSEARCH_CREDENTIALS].map((secret) => [secret.name, Object.keys(secret.keys)]));
    generated.set("datahub-opensearch-tls", ["truststore.p12", "ca.crt"]);
    generated.set(KAFKA_CLIENT_SECRET, ["ca.crt", "ca.p12", "ca.password", "password", "sasl.jaas.config"]);
    const refs = [...secretRefs(datahub.values), at(datahub.values, "datahub-frontend.existingGmsSecret") as { name: string; key: string }];
    expect(refs.length).toBeGreaterThanOrEqual(7);
    const exists = ({ name, key }: { name: string; key: string }) =>
      name === db.secretName ? (Object.values(DATABASE_SECRET_KEYS) as string[]).includes(key) : (generated.get(name) ?? []).includes(key);
    expect(refs.filter((ref) => !exists(ref))).toEqual([]);
    // Every generated key is used.
    const used = new Set(refs.map(({ name, key }) => `${name}/${key}`));
    const declared = [...generated]
      .filter(([name]) => name !== KAFKA_CLIENT_SECRET && name !== "datahub-opensearch-tls" && name !== OPENSEARCH_CREDENTIALS.name)
      .flatMap(([name, keys]) => keys.map((key) => `${name}/${key}`));
    expect(declared.filter((ref) => !used.has(ref))).toEqual([]);
  });

  it("replaces the frontend's built-in datahub/datahub login with the generated password", () => {
    const frontend = at(datahub.values, "datahub-frontend") as Values;
    expect(frontend.defaultUserCredentials).toBeUndefined();
    expect(frontend.extraVolumeMounts).toContainEqual({ name: "admin-user", mountPath: "/datahub-frontend/conf/user.props", subPath: "user.props", readOnly: true });
    const [init] = frontend.extraInitContainers as Values[];
    expect(init.image).toBe("docker.io/acryldata/datahub-frontend-react:v1.7.0");
    expect(init.env).toEqual([{ name: "DATAHUB_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: "datahub-frontend-secrets", key: "admin_password" } } }]);
  });

  it("talks to Kafka over TLS with SCRAM-SHA-512 only, as a user limited to DataHub's topics", () => {
    const kafka = (strimzi.resources ?? []).find((object) => object.kind === "Kafka") as Values;
    const listeners = at(kafka, "spec.kafka.listeners") as Values[];
    expect(listeners).toEqual([{ name: "tls", port: 9093, type: "internal", tls: true, authentication: { type: "scram-sha-512" } }]);
    expect(listeners.filter((listener) => listener.tls !== true || listener.authentication === undefined)).toEqual([]);
    expect(at(kafka, "spec.kafka.authorization")).toEqual({ type: "simple" });
    const user = (strimzi.resources ?? []).find((object) => object.kind === "KafkaUser") as Values;
    expect(at(user, "metadata.name")).toBe(KAFKA_USER);
    expect(at(user, "spec.authentication")).toEqual({ type: "scram-sha-512" });
    const acls = at(user, "spec.authorization.acls") as Values[];
    const topics = acls.filter((acl) => at(acl, "resource.type") === "topic");
    expect(topics.map((acl) => at(acl, "resource.name")).sort()).toEqual([...DATAHUB_TOPICS].sort());
    expect(topics.every((acl) => at(acl, "resource.patternType") === "literal")).toBe(true);
    // Every DataHub topic name the chart uses is in the ACL (datahub chart 1.1.0 global.kafka.topics).
    const chartTopics = Object.values(at(effectiveValues(chartContract("datahub"), datahub.values), "global.kafka.topics") as Record<string, string>);
    expect(chartTopics.filter((topic) => !(DATAHUB_TOPICS as readonly string[]).includes(topic))).toEqual([]);
    // The clients: SASL_SSL with the cluster CA, the JAAS config and truststore password from the client Secret.
    expect(at(datahub.values, "global.springKafkaConfigurationOverrides")).toMatchObject({ "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "ssl.truststore.type": "PKCS12" });
    expect(at(datahub.values, "global.credentialsAndCertsSecrets")).toMatchObject({ name: KAFKA_CLIENT_SECRET, secureEnv: { "sasl.jaas.config": "sasl.jaas.config", "ssl.truststore.password": "ca.password" } });
    expect(JSON.stringify(datahub.values)).not.toMatch(/PLAINTEXT|:9092/);
  });

  it("talks to OpenSearch over HTTPS as the generated datahub user, trusting the namespace CA", () => {
    expect(at(datahub.values, "global.elasticsearch")).toMatchObject({
      useSSL: "true",
      auth: { username: "datahub", password: { secretRef: OPENSEARCH_CREDENTIALS.name, secretKey: "datahub_password" } },
    });
    const config = String(at(prerequisites.values, "opensearch.config")?.["opensearch.yml" as never] ?? at(prerequisites.values, "opensearch.config.opensearch\\.yml"));
    expect(config).not.toMatch(/disabled: true/);
    expect(config).toContain("http:\n        enabled: true");
    expect(config).toContain("allow_mmap: false");
    expect(at(prerequisites.values, "opensearch.securityConfig")).toEqual({ enabled: true, internalUsersSecret: OPENSEARCH_CREDENTIALS.name, rolesSecret: OPENSEARCH_CREDENTIALS.name, rolesMappingSecret: OPENSEARCH_CREDENTIALS.name });
    expect(prerequisites.generatedSecrets).toEqual([OPENSEARCH_CREDENTIALS]);
    expect(OPENSEARCH_CREDENTIALS.derived["internal_users.yml"]).toContain("{{ .datahub_password | bcrypt }}");
    // Every Java component that reads OpenSearch gets the truststore.
    const components = ["datahub-gms", "datahubSystemUpdate", ...(production ? ["datahub-mae-consumer", "datahub-mce-consumer"] : [])];
    for (const component of components) {
      const env = at(datahub.values, `${component}.extraEnvs`) as Values[];
      expect(env.map((entry) => entry.name)).toEqual(expect.arrayContaining(["ELASTICSEARCH_SSL_TRUSTSTORE_FILE", "ELASTICSEARCH_SSL_TRUSTSTORE_TYPE", "ELASTICSEARCH_SSL_TRUSTSTORE_PASSWORD"]));
    }
    expect(frontendTrustProblems(at(datahub.values, "datahub-frontend.extraEnvs") as Values[])).toEqual([]);
  });

  it("lets every start-up wait on https OpenSearch verify its certificate (SSL_CERT_FILE names the mounted CA)", () => {
    const components = ["datahub-gms", "datahubSystemUpdate", ...(production ? ["datahub-mae-consumer", "datahub-mce-consumer"] : [])];
    expect(components.flatMap((component) => startupWaitProblems(datahub.values, component))).toEqual([]);
  });

  it("gives the actions runner its own pipeline file with SASL_SSL, SCRAM-SHA-512 and the cluster CA", () => {
    expect(actionsPipelineProblems(datahub)).toEqual([]);
  });

  it("maps the datahub OpenSearch user to its own role, not all_access", () => {
    expect(opensearchRoleProblems(OPENSEARCH_CREDENTIALS.derived)).toEqual([]);
    expect(at(prerequisites.values, "opensearch.securityConfig")).toMatchObject({ rolesSecret: OPENSEARCH_CREDENTIALS.name, rolesMappingSecret: OPENSEARCH_CREDENTIALS.name });
  });

  it("lets DataHub's user add partitions to its topics (Alter), as system-update does when partitions are raised", () => {
    const user = (strimzi.resources ?? []).find((object) => object.kind === "KafkaUser") as Values;
    const topics = (at(user, "spec.authorization.acls") as Values[]).filter((acl) => at(acl, "resource.type") === "topic");
    expect(topics.filter((acl) => !(acl.operations as string[]).includes("Alter"))).toEqual([]);
  });

  it("reloads OpenSearch's certificates when cert-manager renews them, and writes DataHub's truststore with a modern PKCS#12 profile", () => {
    const config = parseYaml(String(at(prerequisites.values, "opensearch.config.opensearch\\.yml") ?? (at(prerequisites.values, "opensearch.config") as Record<string, string>)["opensearch.yml"])) as Values;
    expect(at(config, "plugins.security.ssl.certificates_hot_reload.enabled")).toBe(true);
    // The datahub role's `*` pattern must not reach other plugins' system indices: the plugin protects them only when enabled.
    expect(at(config, "plugins.security.system_indices")).toEqual({ enabled: true, indices: [...OPENSEARCH_SYSTEM_INDICES] });
    // Both set refuses to start (security 2.19.5.0 OpenSearchSecurityPlugin.java:1240-1247).
    expect(at(config, "plugins.security.ssl_cert_reload_enabled")).toBeUndefined();
    const client = (prerequisites.wiring ?? []).find((object) => object.kind === "Certificate" && (object.metadata as Values).name === "datahub-opensearch-tls") as Values;
    expect(at(client, "spec.keystores.pkcs12.profile")).toBe("Modern2023");
  });
});

/**
 * What the datahub chart 1.1.0 puts in the actions container's environment before `extraEnvs`
 * (subcharts/acryl-datahub-actions/templates/deployment.yaml:87-170, with the platform's values:
 * INTERNAL schema registry, metadata service authentication on, the chart's default topics and
 * consumer groups).
 */
const ACTIONS_CHART_ENV = [
  "DATAHUB_GMS_PROTOCOL", "DATAHUB_GMS_HOST", "DATAHUB_GMS_PORT", "GMS_HOST", "GMS_PORT", "KAFKA_BOOTSTRAP_SERVER", "SCHEMA_REGISTRY_URL",
  "KAFKA_AUTO_OFFSET_POLICY", "METADATA_CHANGE_LOG_VERSIONED_TOPIC_NAME", "PLATFORM_EVENT_TOPIC_NAME", "DATAHUB_ACTIONS_INGESTION_EXECUTOR_CONSUMER_GROUP_ID",
  "DATAHUB_SYSTEM_CLIENT_ID", "DATAHUB_SYSTEM_CLIENT_SECRET",
];

/** Terraform template sequences in a string of the synthesized JSON: `${` not escaped as `$${` (Terraform JSON syntax, string templates). */
function terraformInterpolations(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{[^}]*\}/g)].map((match) => match[0]);
}

/** `${VAR}` references without a `:-` default: they must be set, or the pipeline does not load. */
function requiredVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)].filter((match) => match[2] === undefined).map((match) => match[1]);
}

/**
 * The actions runner (librdkafka) reads Kafka settings only from its pipeline files'
 * `connection.consumer_config` (datahub-actions kafka_event_source.py), and runs every file of
 * /etc/datahub/actions/system/conf (docker/datahub-actions/start.sh). A problem is a system folder
 * that is the image's (no consumer settings), a consumer that is not SASL_SSL + SCRAM-SHA-512 with
 * a CA file from the mounted client Secret, or a variable the container does not have.
 */
function actionsPipelineProblems(release: AppRelease): string[] {
  const actions = at(release.values, "acryl-datahub-actions") as Values;
  const mounts = (actions.extraVolumeMounts ?? []) as Values[];
  const mount = mounts.find((candidate) => candidate.mountPath === "/etc/datahub/actions/system/conf");
  if (mount === undefined) return ["the image's system pipelines run: nothing is mounted over /etc/datahub/actions/system/conf"];
  const volume = ((actions.extraVolumes ?? []) as Values[]).find((candidate) => candidate.name === mount.name);
  const configMapName = at(volume, "configMap.name");
  const configMap = (release.wiring ?? []).find((object) => object.kind === "ConfigMap" && (object.metadata as Values).name === configMapName) as Values | undefined;
  if (configMap === undefined) return [`the system folder's ConfigMap ${String(configMapName)} is not in the release's wiring`];
  const files = Object.entries(configMap.data as Record<string, string>).filter(([name]) => /\.ya?ml$/.test(name));
  if (files.length === 0) return ["no pipeline file in the system folder"];
  const env = new Set([...ACTIONS_CHART_ENV, ...((actions.extraEnvs ?? []) as Values[]).map((entry) => String(entry.name))]);
  const problems: string[] = [];
  for (const [name, text] of files) {
    const pipeline = parseYaml(text) as Values;
    if (at(pipeline, "source.type") !== "kafka") continue;
    const consumer = (at(pipeline, "source.config.connection.consumer_config") ?? {}) as Record<string, string>;
    if (consumer["security.protocol"] !== "SASL_SSL") problems.push(`${name}: security.protocol is ${consumer["security.protocol"]}, not SASL_SSL`);
    if (consumer["sasl.mechanism"] !== "SCRAM-SHA-512") problems.push(`${name}: sasl.mechanism is ${consumer["sasl.mechanism"]}, not SCRAM-SHA-512`);
    if (!String(consumer["ssl.ca.location"] ?? "").startsWith(`${KAFKA_CLIENT_PATH}/`)) problems.push(`${name}: ssl.ca.location is not in the mounted client Secret`);
    for (const key of ["sasl.username", "sasl.password"]) if (!consumer[key]) problems.push(`${name}: no ${key}`);
    for (const variable of requiredVariables(text)) if (!env.has(variable)) problems.push(`${name}: \${${variable}} is not in the container's environment`);
  }
  if (env.has("DATAHUB_ACTIONS_KAFKA_ENV_PROPERTIES_ENABLED") === false) problems.push("the KAFKA_PROPERTIES_* mapping is not turned off");
  return problems;
}

/**
 * The start-up wait of GMS, the consumers and system-update: with SKIP_ELASTICSEARCH_CHECK not
 * "true" and ELASTICSEARCH_USE_SSL "true" the image runs `dockerize -wait https://...`, a Go
 * client that trusts the system roots or the file SSL_CERT_FILE names (golang/go
 * crypto/x509/root_unix.go). A problem is an https wait whose SSL_CERT_FILE is unset or not a
 * `ca.crt` mounted from the Secret cert-manager writes the OpenSearch CA into.
 */
function startupWaitProblems(values: Values, component: string): string[] {
  if (String(at(values, "global.elasticsearch.skipcheck")) === "true" || String(at(values, "global.elasticsearch.useSSL")) !== "true") return [];
  const env = (at(values, `${component}.extraEnvs`) ?? []) as Values[];
  const file = env.find((entry) => entry.name === "SSL_CERT_FILE")?.value;
  if (typeof file !== "string") return [`${component}: waits on https OpenSearch without SSL_CERT_FILE`];
  const mounts = (at(values, `${component}.extraVolumeMounts`) ?? []) as Values[];
  const mount = mounts.find((candidate) => file.startsWith(`${String(candidate.mountPath)}/`));
  const volume = ((at(values, `${component}.extraVolumes`) ?? []) as Values[]).find((candidate) => candidate.name === mount?.name);
  const item = ((at(volume, "secret.items") ?? []) as Values[]).find((candidate) => `${String(mount?.mountPath)}/${String(candidate.path)}` === file);
  if (at(volume, "secret.secretName") !== "datahub-opensearch-tls" || item?.key !== "ca.crt") return [`${component}: SSL_CERT_FILE ${file} is not the mounted OpenSearch CA`];
  return [];
}

/**
 * The frontend's analytics client loads a truststore only when the three config paths are set
 * (AnalyticsServiceModule.createSSLContext); they are given as -D system properties in
 * JAVA_TOOL_OPTIONS (start.sh overwrites JAVA_OPTS), the password by `$(VAR)` from a variable
 * defined earlier (Kubernetes expands only those).
 */
function frontendTrustProblems(env: readonly Values[]): string[] {
  const index = env.findIndex((entry) => entry.name === "JAVA_TOOL_OPTIONS");
  if (index < 0) return ["no JAVA_TOOL_OPTIONS"];
  const options = String(env[index].value);
  const property = (name: string) => new RegExp(`-Danalytics\\.elastic\\.sslContext\\.${name}=(\\S+)`).exec(options)?.[1];
  const problems: string[] = [];
  if (property("sslTrustStoreFile") !== "/mnt/datahub/opensearch/truststore.p12") problems.push("sslTrustStoreFile");
  if (property("sslTrustStoreType") !== "PKCS12") problems.push("sslTrustStoreType");
  const reference = /^\$\(([A-Z_]+)\)$/.exec(property("sslTrustStorePassword") ?? "")?.[1];
  const defined = env.slice(0, index).find((entry) => entry.name === reference);
  if (at(defined, "valueFrom.secretKeyRef") === undefined) problems.push("sslTrustStorePassword is not a $(VAR) of a Secret variable defined before it");
  if (env.some((entry) => entry.name === "JAVA_OPTS")) problems.push("JAVA_OPTS is overwritten by the image's start.sh");
  return problems;
}

/**
 * The OpenSearch action groups of security 2.19.5.0 src/main/resources/static_config/static_action_groups.yml.
 */
const OPENSEARCH_ACTION_GROUPS = new Set([
  "kibana_all_write", "kibana_all_read", "cluster_all", "crud", "search", "data_access", "create_index", "write", "manage_aliases", "read", "indices_all", "delete",
  "cluster_composite_ops", "cluster_composite_ops_ro", "get", "manage", "cluster_monitor", "manage_snapshots", "index", "unlimited", "indices_monitor", "suggest",
  "cluster_manage_index_templates", "cluster_manage_pipelines", "manage_data_streams", "manage_point_in_time",
]);

/**
 * The security plugin's files as the chart mounts them: a problem is the datahub user holding the
 * `admin` backend role (mapped to all_access by the shipped roles_mapping.yml) or being mapped to
 * all_access, a datahub role with cluster-wide everything (`cluster_all`, `unlimited`, `*`,
 * `cluster:*`), a permission name that is neither an action group nor an action (`...:.../...`),
 * or all_access mapped to anything but the admin backend role.
 */
function opensearchRoleProblems(files: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const users = parseYaml(files["internal_users.yml"].replace(/\{\{[^}]*\}\}/g, "x")) as Values;
  const roles = parseYaml(files["roles.yml"] ?? "") as Values | null;
  const mapping = parseYaml(files["roles_mapping.yml"] ?? "") as Values | null;
  if (((at(users, "datahub.backend_roles") ?? []) as string[]).includes("admin")) problems.push("datahub has the admin backend role (all_access)");
  if (mapping === null || roles === null) return [...problems, "no roles.yml or roles_mapping.yml: the shipped ones apply"];
  if (((at(mapping, "all_access.users") ?? []) as string[]).includes("datahub")) problems.push("datahub is mapped to all_access");
  if (JSON.stringify(at(mapping, "all_access.backend_roles")) !== JSON.stringify(["admin"]) || at(mapping, "all_access.users") !== undefined) problems.push("all_access is mapped to more than the admin backend role");
  const mapped = Object.entries(mapping).filter(([, entry]) => ((at(entry, "users") ?? []) as string[]).includes("datahub")).map(([role]) => role);
  for (const role of mapped) {
    const definition = roles[role] as Values | undefined;
    if (definition === undefined) { problems.push(`datahub is mapped to ${role}, which roles.yml does not define`); continue; }
    const cluster = (definition.cluster_permissions ?? []) as string[];
    for (const permission of cluster) if (["cluster_all", "unlimited", "*", "cluster:*"].includes(permission)) problems.push(`${role}: cluster permission ${permission}`);
    const indexActions = ((definition.index_permissions ?? []) as Values[]).flatMap((entry) => (entry.allowed_actions ?? []) as string[]);
    for (const permission of [...cluster, ...indexActions]) if (!OPENSEARCH_ACTION_GROUPS.has(permission) && !/^[a-z_]+:[a-z_]+\//.test(permission)) problems.push(`${role}: unknown permission ${permission}`);
  }
  if (mapped.length === 0) problems.push("datahub is mapped to no role");
  return problems;
}

describe("DataHub review rules catch what they guard against", () => {
  const ctx = appContext("datahub", "aws", true);
  const { datahub } = render(ctx);
  const values = datahub.values as Values;
  const withComponent = (component: string, change: (section: Values) => Values): Values => ({ ...values, [component]: change(values[component] as Values) });

  it("an https wait without SSL_CERT_FILE, or with a file that is not the mounted CA", () => {
    const without = withComponent("datahub-gms", (gms) => ({ ...gms, extraEnvs: (gms.extraEnvs as Values[]).filter((entry) => entry.name !== "SSL_CERT_FILE") }));
    expect(startupWaitProblems(without, "datahub-gms")).toEqual(["datahub-gms: waits on https OpenSearch without SSL_CERT_FILE"]);
    const elsewhere = withComponent("datahub-gms", (gms) => ({ ...gms, extraEnvs: [...(gms.extraEnvs as Values[]).filter((entry) => entry.name !== "SSL_CERT_FILE"), { name: "SSL_CERT_FILE", value: "/etc/ssl/certs/ca-certificates.crt" }] }));
    expect(startupWaitProblems(elsewhere, "datahub-gms")).toHaveLength(1);
    // Skipping the check is the other way out.
    expect(startupWaitProblems({ ...without, global: { ...(values.global as Values), elasticsearch: { ...(at(values, "global.elasticsearch") as Values), skipcheck: "true" } } }, "datahub-gms")).toEqual([]);
  });

  it("the image's own system folder, a PLAINTEXT consumer, or a variable the container lacks", () => {
    const actions = values["acryl-datahub-actions"] as Values;
    expect(actionsPipelineProblems({ ...datahub, values: { ...values, "acryl-datahub-actions": { ...actions, extraVolumeMounts: [] } } })).toHaveLength(1);
    const configMap = (datahub.wiring ?? [])[0] as Values;
    const text = (configMap.data as Record<string, string>)[ACTIONS_SYSTEM_CONFIG.file];
    const plaintext = { ...configMap, data: { [ACTIONS_SYSTEM_CONFIG.file]: text.replace('"SASL_SSL"', '"PLAINTEXT"').replace("${DATAHUB_SYSTEM_CLIENT_SECRET}", "${UNSET_SECRET}") } };
    expect(actionsPipelineProblems({ ...datahub, wiring: [plaintext as never] })).toEqual([
      "executor.yaml: security.protocol is PLAINTEXT, not SASL_SSL",
      "executor.yaml: ${UNSET_SECRET} is not in the container's environment",
    ]);
  });

  it("a frontend truststore in JAVA_OPTS or with a literal password", () => {
    const env = at(values, "datahub-frontend.extraEnvs") as Values[];
    const literal = env.map((entry) => (entry.name === "JAVA_TOOL_OPTIONS" ? { ...entry, value: String(entry.value).replace(/\$\([A-Z_]+\)/, "hunter2") } : entry));
    expect(frontendTrustProblems(literal)).toEqual(["sslTrustStorePassword is not a $(VAR) of a Secret variable defined before it"]);
    expect(frontendTrustProblems(env.map((entry) => (entry.name === "JAVA_TOOL_OPTIONS" ? { ...entry, name: "JAVA_OPTS" } : entry)))).toEqual(["no JAVA_TOOL_OPTIONS"]);
  });

  it("datahub with the admin backend role, or a role with cluster_all", () => {
    const files = OPENSEARCH_CREDENTIALS.derived;
    const admin = { ...files, "internal_users.yml": files["internal_users.yml"].replace('description: "DataHub', 'backend_roles: ["admin"]\n  description: "DataHub') };
    expect(opensearchRoleProblems(admin)).toEqual(["datahub has the admin backend role (all_access)"]);
    expect(opensearchRoleProblems({ ...files, "roles.yml": files["roles.yml"].replace('"cluster_monitor"', '"cluster_all"') })).toEqual(["datahub: cluster permission cluster_all"]);
    expect(opensearchRoleProblems({ ...files, "roles.yml": files["roles.yml"].replace('"cluster_monitor"', '"cluster_monitoring"') })).toEqual(["datahub: unknown permission cluster_monitoring"]);
    const { "roles.yml": _roles, ...shipped } = files;
    expect(opensearchRoleProblems(shipped)).toEqual(["no roles.yml or roles_mapping.yml: the shipped ones apply"]);
  });
});

describe("DataHub edge cases", () => {
  it("has no ingress and plain cookies when the environment gives it none", () => {
    const { datahub } = render({ ...appContext("datahub", "aws", true), ingress: undefined });
    expect(at(datahub.values, "datahub-frontend.ingress")).toEqual({ enabled: false });
    expect(at(datahub.values, "datahub-frontend.authCookies.secure")).toBe("false");
    expect(unknown(datahub)).toEqual([]);
  });

  it("refuses a context without a database", () => {
    expect(() => renderDatahub({ ...appContext("datahub", "gcp", false), database: undefined })).toThrow(/datahub: no database/);
  });

  it("the contract check catches a misspelt key", () => {
    const { prerequisites, datahub } = render(appContext("datahub", "aws", false));
    const frontend = at(datahub.values, "datahub-frontend") as Values;
    const misspelt = { ...datahub, values: { ...datahub.values, "datahub-frontend": { ...frontend, replicaCont: 2 } } };
    expect(unknown(misspelt)).toEqual(["datahub-frontend.replicaCont"]);
    const wrongPrerequisite = { ...prerequisites, values: { ...prerequisites.values, opensaerch: { enabled: true } } };
    expect(unknown(wrongPrerequisite)).toEqual(["opensaerch"]);
  });

  it("the schema check catches a literal password", () => {
    const { datahub } = render(appContext("datahub", "aws", false));
    const global = datahub.values.global as Values;
    const literal = { ...global, sql: { datasource: { ...(at(global, "sql.datasource") as Values), password: "hunter2" } } };
    expect(schemaErrors(chartContract("datahub"), { ...datahub.values, global: literal })).not.toEqual([]);
    expect(credentialLiterals({ ...datahub.values, global: literal })).toEqual(["global.sql.datasource.password"]);
  });
});

describe.each([true, false])("DataHub's security objects in the synthesized apps stack (production %s)", (production) => {
  const apps = renderedApps(synthApps(parseEnvironment(everyAppSpec("gcp", production))));
  const object = (kind: string, name: string) => apps.objects.find(({ object: candidate }) => candidate.kind === kind && candidate.metadata.name === name)?.object as Values | undefined;

  it("renders internal_users.yml once, with bcrypt hashes of the generated passwords, beside them", () => {
    const secret = object("ExternalSecret", OPENSEARCH_CREDENTIALS.name);
    expect(at(secret, "spec.refreshPolicy")).toBe("CreatedOnce");
    const template = at(secret, "spec.target.template") as Values;
    expect(template.engineVersion).toBe("v2");
    const data = template.data as Record<string, string>;
    expect(data.datahub_password).toBe("{{ .datahub_password }}");
    expect(data["internal_users.yml"]).toMatch(/datahub:\n  hash: "\{\{ \.datahub_password \| bcrypt \}\}"/);
    // Only hashes reach OpenSearch's configuration; no password is written in plain text into the file.
    expect(data["internal_users.yml"]).not.toMatch(/\{\{ \.\w+_password \}\}/);
  });

  it("issues OpenSearch's node certificate for every name clients and peers use, with a PKCS#8 key, from the namespace CA", () => {
    const node = object("Certificate", "opensearch-node-tls");
    expect(at(node, "spec.issuerRef")).toEqual({ name: "datahub-internal-ca", kind: "Issuer", group: "cert-manager.io" });
    expect(at(node, "spec.privateKey.encoding")).toBe("PKCS8");
    expect(at(node, "spec.dnsNames")).toEqual(expect.arrayContaining(["opensearch-cluster-master", "opensearch-cluster-master.datahub.svc", "*.opensearch-cluster-master-headless"]));
    expect(at(object("Issuer", "datahub-internal-ca"), "spec.ca.secretName")).toBe("datahub-internal-ca");
    expect(at(object("Certificate", "datahub-internal-ca"), "spec.isCA")).toBe(true);
    expect(at(object("Certificate", "datahub-opensearch-tls"), "spec.keystores.pkcs12.passwordSecretRef")).toEqual({ name: OPENSEARCH_CREDENTIALS.name, key: "truststore_password" });
  });

  it("hands the actions' pipeline file to Terraform with every ${VAR} escaped, so the pod gets it unexpanded", () => {
    const data = (object("ConfigMap", "datahub-actions-system-config")?.data ?? {}) as Record<string, string>;
    const text = String(data["executor.yaml"]);
    expect(terraformInterpolations(text)).toEqual([]);
    expect(text).toContain("$${KAFKA_BOOTSTRAP_SERVER}");
    expect(terraformInterpolations("bootstrap: ${KAFKA_BOOTSTRAP_SERVER}")).toEqual(["${KAFKA_BOOTSTRAP_SERVER}"]);
  });

  it("joins the Kafka CA truststore and the SCRAM credential into the client Secret through a reader limited to those two Secrets", () => {
    const role = object("Role", "datahub-kafka-client-reader");
    expect(at(role, "rules")).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: [`${KAFKA_CLUSTER}-cluster-ca-cert`, KAFKA_USER], verbs: ["get"] }]);
    expect(at(object("ExternalSecret", KAFKA_CLIENT_SECRET), "spec.dataFrom")).toEqual([{ extract: { key: `${KAFKA_CLUSTER}-cluster-ca-cert` } }, { extract: { key: KAFKA_USER } }]);
  });
});
