import { describe, expect, it } from "vitest";
import {
  DATAHUB_CHART,
  DATAHUB_PREREQUISITES_CHART,
  DATAHUB_PREREQUISITES_RELEASE,
  DATAHUB_RELEASE,
  DATAHUB_SECRETS,
  OPENSEARCH_CREDENTIALS,
  renderDatahub,
} from "../../constructs/apps/datahub";
import { DATAHUB_TOPICS, KAFKA_CLIENT_SECRET, KAFKA_CLUSTER, KAFKA_USER, STRIMZI_CHART, STRIMZI_NAMESPACE } from "../../constructs/apps/datahub-kafka";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { everyAppSpec, synthApps } from "../support/fixtures";
import { renderedApps } from "../support/kubernetes/objects";
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
    generated.set("datahub-opensearch-tls", ["truststore.p12"]);
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
    expect(at(prerequisites.values, "opensearch.securityConfig")).toEqual({ enabled: true, internalUsersSecret: OPENSEARCH_CREDENTIALS.name });
    expect(prerequisites.generatedSecrets).toEqual([OPENSEARCH_CREDENTIALS]);
    expect(OPENSEARCH_CREDENTIALS.derived["internal_users.yml"]).toContain("{{ .datahub_password | bcrypt }}");
    // Every Java component that reads OpenSearch gets the truststore.
    const components = ["datahub-gms", "datahubSystemUpdate", ...(production ? ["datahub-mae-consumer", "datahub-mce-consumer"] : [])];
    for (const component of components) {
      const env = at(datahub.values, `${component}.extraEnvs`) as Values[];
      expect(env.map((entry) => entry.name)).toEqual(expect.arrayContaining(["ELASTICSEARCH_SSL_TRUSTSTORE_FILE", "ELASTICSEARCH_SSL_TRUSTSTORE_TYPE", "ELASTICSEARCH_SSL_TRUSTSTORE_PASSWORD"]));
    }
    const frontendEnv = at(datahub.values, "datahub-frontend.extraEnvs") as Values[];
    expect(frontendEnv.map((entry) => entry.name)).toContain("ELASTIC_CLIENT_SSL_TRUST_STORE_FILE");
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

  it("joins the Kafka CA truststore and the SCRAM credential into the client Secret through a reader limited to those two Secrets", () => {
    const role = object("Role", "datahub-kafka-client-reader");
    expect(at(role, "rules")).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: [`${KAFKA_CLUSTER}-cluster-ca-cert`, KAFKA_USER], verbs: ["get"] }]);
    expect(at(object("ExternalSecret", KAFKA_CLIENT_SECRET), "spec.dataFrom")).toEqual([{ extract: { key: `${KAFKA_CLUSTER}-cluster-ca-cert` } }, { extract: { key: KAFKA_USER } }]);
  });
});
