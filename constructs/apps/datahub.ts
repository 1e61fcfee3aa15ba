/**
 * DataHub: two releases, installed in this order in the app's namespace.
 *
 * 1. `prerequisites` (datahub-prerequisites): Kafka and OpenSearch, in the cluster.
 * 2. `datahub`: GMS, the frontend and the actions runner; metadata in the app's database on the
 *    environment's managed PostgreSQL.
 *
 * Why Kafka and OpenSearch run in the cluster: no managed Kafka and search service exists on all
 * three clouds with the same protocol and workload-identity authentication (MSK with IAM, Event
 * Hubs' Kafka endpoint with Entra ID, Managed Service for Apache Kafka on GCP; OpenSearch Service
 * on AWS only). DataHub authenticates to Kafka and OpenSearch with IAM only on AWS, so a managed
 * option would mean static credentials or a per-cloud code path. Both hold state DataHub can
 * rebuild: the source of truth is PostgreSQL (search indices can be restored from it with the
 * restore-indices job; Kafka carries change events in flight).
 *
 * What production should still consider:
 * - sizes: the volumes below (OpenSearch 100 GiB per node, Kafka 50 GiB per broker) fit a few
 *   hundred thousand entities; watch disk usage in the monitoring release's dashboards;
 * - the images are the prerequisites chart's defaults (`bitnamilegacy/kafka`, no longer updated
 *   by Bitnami, and OpenSearch 2.19); pin maintained images or move to a managed service where
 *   the cloud offers one;
 * - OpenSearch runs without its security plugin and Kafka with PLAINTEXT listeners, as the
 *   prerequisites chart ships them: any pod in the cluster can reach them, so add NetworkPolicies
 *   admitting only the `datahub` namespace;
 * - the datahub chart has no PodDisruptionBudget templates: two replicas of each service only
 *   keep it up through the loss of a pod, not through a drain that evicts both at once.
 */
import { DATABASE_SECRET_KEYS, type AppContext, type AppDatabase, type AppIngress, type AppRelease, type AppRenderer, type ChartRef, type GeneratedSecret, type Resources } from "./types";
import { identityPodLabels, ingressTls, ingressValues, platformServiceAccount, required, spotTolerations } from "./common";
import { mebibytes } from "./scale";

/** DataHub chart 1.1.0 (DataHub v1.7.0). */
export const DATAHUB_CHART: ChartRef = { repository: "https://helm.datahubproject.io/", chart: "datahub", version: "1.1.0" };

/** datahub-prerequisites 0.3.0: OpenSearch 2.19 (chart 2.19.0) and Kafka (Bitnami chart 26.11.2, KRaft). */
export const DATAHUB_PREREQUISITES_CHART: ChartRef = {
  repository: "https://helm.datahubproject.io/",
  chart: "datahub-prerequisites",
  version: "0.3.0",
};

/**
 * Release name of the prerequisites. DataHub's defaults and the Kafka service name
 * (`<release>-kafka`) assume `prerequisites`; the values below still spell the addresses out.
 */
export const DATAHUB_PREREQUISITES_RELEASE = "prerequisites";

/** Release name of DataHub itself; its services are `datahub-datahub-gms` and `datahub-datahub-frontend`. */
export const DATAHUB_RELEASE = "datahub";

/** Kafka bootstrap address: the Bitnami chart's client service of the prerequisites release. */
const KAFKA_BOOTSTRAP = `${DATAHUB_PREREQUISITES_RELEASE}-kafka:9092`;

/** OpenSearch service: the OpenSearch chart names it `<clusterName>-<nodeGroup>`, whatever the release. */
const OPENSEARCH_HOST = "opensearch-cluster-master";

/**
 * Secrets generated in the cluster instead of by the chart (whose `randAlphaNum` secrets are
 * created by Helm hooks, outside GitOps, and the frontend's is regenerated on every upgrade).
 */
export const DATAHUB_SECRETS = {
  /** Encrypts the secrets users store in DataHub (ingestion credentials). Never change it once set. */
  encryption: { name: "datahub-encryption-secrets", keys: { encryption_key_secret: { length: 32, encoding: "hex" } } },
  /** Service-to-service authentication: the system client secret and the token signing key and salt. */
  auth: {
    name: "datahub-auth-secrets",
    keys: {
      system_client_secret: { length: 32, encoding: "hex" },
      token_service_signing_key: { length: 32, encoding: "hex" },
      token_service_salt: { length: 32, encoding: "hex" },
    },
  },
  /**
   * The frontend: `play_secret` signs session cookies (shared by all frontend replicas, so a
   * session survives a request landing on another pod); `admin_password` replaces the image's
   * built-in `datahub`/`datahub` login. Hex only, as the JAAS user file treats `,` and `\` specially.
   */
  frontend: {
    name: "datahub-frontend-secrets",
    keys: { play_secret: { length: 32, encoding: "hex" }, admin_password: { length: 32, encoding: "hex" } },
  },
} as const satisfies Record<string, GeneratedSecret>;

/** DataHub image version the chart deploys (`global.datahub.version`), reused for the init container. */
const DATAHUB_VERSION = "v1.7.0";

/** Path where the frontend image reads its JAAS users (`user:password` lines). */
const USER_PROPS_PATH = "/datahub-frontend/conf/user.props";

/** Base resources (size `small`); `ctx.resources` scales them by the app's size. */
const BASE_RESOURCES = {
  /** GMS is the metadata service and, with consumers embedded, the Kafka consumer too. */
  gms: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } },
  frontend: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1536Mi" } },
  actions: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  /** Standalone MAE/MCE consumers (when GMS is replicated). */
  consumer: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1536Mi" } },
  systemUpdate: { requests: { cpu: "300m", memory: "2Gi" }, limits: { memory: "2Gi" } },
  opensearch: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } },
  kafka: { requests: { cpu: "250m", memory: "1536Mi" }, limits: { memory: "1536Mi" } },
  initContainer: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
} satisfies Record<string, Resources>;

/**
 * opensearch.yml: the prerequisites chart's (security plugin off, see the note at the top) plus
 * `node.store.allow_mmap: false` (see `sysctlInit` below).
 */
const OPENSEARCH_CONFIG = ["plugins:", "  security:", "    disabled: true", "node:", "  store:", "    allow_mmap: false", ""].join("\n");

/** Prerequisite volume sizes per node: production keeps weeks of Kafka events and room to reindex. */
const VOLUMES = {
  production: { opensearch: "100Gi", kafka: "50Gi" },
  other: { opensearch: "20Gi", kafka: "10Gi" },
} as const;

/** JVM heap flags at half the memory limit: the rest is page cache (OpenSearch) and off-heap buffers. */
function halfHeap(resources: Resources): string {
  const heap = Math.floor(mebibytes(resources.limits.memory) / 2);
  return `-Xms${heap}m -Xmx${heap}m`;
}

/**
 * datahub-prerequisites values: OpenSearch and Kafka on, every other bundled store off (the
 * metadata database is the platform's PostgreSQL; the graph lives in OpenSearch, not Neo4j).
 * Production runs three of each (quorum, replicated topics, OpenSearch shard replicas on other
 * nodes); other environments one of each.
 */
function renderPrerequisites(ctx: AppContext): Record<string, unknown> {
  const production = ctx.env.production;
  const volumes = VOLUMES[production ? "production" : "other"];
  const nodes = production ? 3 : 1;
  const opensearchResources = ctx.resources(BASE_RESOURCES.opensearch);
  const kafkaResources = ctx.resources(BASE_RESOURCES.kafka);
  const replication = production ? 3 : 1;
  return {
    mysql: { enabled: false },
    postgresql: { enabled: false },
    neo4j: { enabled: false },
    elasticsearch: { enabled: false },
    "gcloud-sqlproxy": { enabled: false },
    "cp-helm-charts": { enabled: false },
    opensearch: {
      enabled: true,
      singleNode: !production,
      replicas: nodes,
      opensearchJavaOpts: halfHeap(opensearchResources),
      resources: opensearchResources,
      /** fsGroup 1000 already owns the volume; skip the chart's root `chown` init container. */
      persistence: { enabled: true, size: volumes.opensearch, enableInitChown: false },
      /** The chart's PodDisruptionBudget: one node down at a time. */
      maxUnavailable: 1,
      /**
       * A multi-node cluster enforces OpenSearch's bootstrap checks, among them
       * vm.max_map_count >= 262144, which managed node images do not all set. The chart's way
       * (`sysctlInit`) is a privileged root init container, which Pod Security `baseline` rejects
       * in this namespace. Instead OpenSearch does not memory-map its index files
       * (`node.store.allow_mmap: false`, which skips that check: OpenSearch 2.19
       * server/src/main/java/org/opensearch/bootstrap/BootstrapChecks.java, MaxMapCountCheck),
       * the same on every cloud. The cost is reading index files through NIO instead of mmap,
       * small for DataHub's indices; the rest of the file is the prerequisites chart's own.
       */
      sysctlInit: { enabled: false },
      config: { "opensearch.yml": OPENSEARCH_CONFIG },
    },
    kafka: {
      enabled: true,
      controller: {
        /** Combined KRaft controller and broker nodes: three form a quorum that survives one loss. */
        replicaCount: nodes,
        heapOpts: halfHeap(kafkaResources),
        resources: kafkaResources,
        persistence: { enabled: true, size: volumes.kafka },
        pdb: { create: ctx.disruptionBudgets, maxUnavailable: 1 },
        /**
         * Replaces the prerequisites chart's single-node settings; `message.max.bytes` matches
         * DataHub's 5 MB producer limit (`global.kafka.maxMessageBytes`).
         */
        extraConfig: [
          "message.max.bytes=5242880",
          `default.replication.factor=${replication}`,
          `offsets.topic.replication.factor=${replication}`,
          `transaction.state.log.replication.factor=${replication}`,
          `min.insync.replicas=${production ? 2 : 1}`,
          `transaction.state.log.min.isr=${production ? 2 : 1}`,
        ].join("\n"),
      },
    },
  };
}

/**
 * Sign-in through the SSO provider (`sso`), datahub-helm datahub-1.1.0
 * subcharts/datahub-frontend/templates/deployment.yaml: `oidcAuthentication` with provider
 * `other` sets AUTH_OIDC_ENABLED, _CLIENT_ID, _CLIENT_SECRET (from `clientSecretRef`),
 * _DISCOVERY_URI (`discoveryUri`), _SCOPE, _BASE_URL (the first ingress host) and the user-name
 * claim; `extraEnvs` adds the frontend's group extraction and just-in-time provisioning
 * (DataHub docs/authentication/guides/sso/configure-oidc-react.md, "User and groups
 * provisioning": AUTH_OIDC_JIT_PROVISIONING_ENABLED, AUTH_OIDC_EXTRACT_GROUPS_ENABLED,
 * AUTH_OIDC_GROUPS_CLAIM). DataHub OSS has no setting that
 * admits only some groups or maps a group to a role: the provider must limit who may use the
 * client, and the admin group gets the Admin role once, in DataHub (README, "Single sign-on").
 */
function datahubSso(ctx: AppContext): Record<string, unknown> {
  const sso = ctx.sso;
  if (sso === undefined || !ctx.ingress) return {};
  if (sso.mode !== "oidc") throw new Error("DataHub signs users in itself: its SSO mode must be oidc");
  return {
    oidcAuthentication: {
      enabled: true,
      provider: "other",
      clientId: sso.settings.clientId,
      clientSecretRef: { secretRef: sso.clientSecret.name, secretKey: sso.clientSecret.key },
      discoveryUri: `${sso.settings.issuer}/.well-known/openid-configuration`,
      scope: "openid profile email",
      user_name_claim: "email",
    },
    extraEnvs: [
      { name: "AUTH_OIDC_EXTRACT_GROUPS_ENABLED", value: "true" },
      { name: "AUTH_OIDC_GROUPS_CLAIM", value: sso.settings.groupsClaim },
      { name: "AUTH_OIDC_JIT_PROVISIONING_ENABLED", value: "true" },
    ],
  };
}

/** Hosts, paths and TLS of the frontend's ingress. */
const frontendRouting = (ingress: AppIngress) => ({
  pathType: "Prefix",
  hosts: [{ host: ingress.host, paths: ["/"], redirectPaths: [] }],
  tls: ingressTls(ingress),
});

/**
 * Writes the admin login into an in-memory volume mounted over the image's user file, so the
 * well-known default password never serves a request. Runs the frontend image itself (no extra
 * image to pin or pull).
 */
function adminUserInitContainer(ctx: AppContext): Record<string, unknown> {
  return {
    name: "admin-user",
    image: `docker.io/acryldata/datahub-frontend-react:${DATAHUB_VERSION}`,
    command: ["/bin/sh", "-c", 'printf "datahub:%s\\n" "$DATAHUB_ADMIN_PASSWORD" > /users/user.props'],
    env: [
      {
        name: "DATAHUB_ADMIN_PASSWORD",
        valueFrom: { secretKeyRef: { name: DATAHUB_SECRETS.frontend.name, key: "admin_password" } },
      },
    ],
    volumeMounts: [{ name: "admin-user", mountPath: "/users" }],
    securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    resources: ctx.resources(BASE_RESOURCES.initContainer),
  };
}

/**
 * datahub chart values. GMS, the frontend, the actions runner and the upgrade jobs keep no state
 * of their own (it is in PostgreSQL, Kafka and OpenSearch) and may run on spot nodes; Kafka and
 * OpenSearch in the prerequisites hold volumes and quorums and stay on on-demand nodes.
 */
function renderDatahubValues(ctx: AppContext, db: AppDatabase): Record<string, unknown> {
  const platformAccount = platformServiceAccount(ctx);
  const production = ctx.env.production;
  /**
   * With more than one GMS replica the consumers run on their own: the chart refuses to render
   * replicated GMS with embedded consumers while managed ingestion is on (datahub-1.1.0
   * subcharts/datahub-gms/templates/deployment.yaml:15-16), because each replica would run the
   * scheduled ingestions. Managed ingestion then needs exactly one MCE consumer
   * (subcharts/datahub-mce-consumer/templates/deployment.yaml:11-12), and exactly one MAE
   * consumer: the ingestion scheduler runs in every MAE consumer, with its schedules in memory and
   * no lock (subcharts/datahub-mae-consumer/templates/deployment.yaml:322), so two would run
   * each scheduled ingestion twice. GMS and the frontend stay replicated.
   */
  const standaloneConsumers = ctx.replicas > 1;
  const consumer = () => ({
    replicaCount: 1,
    tolerations: spotTolerations(ctx),
    resources: ctx.resources(BASE_RESOURCES.consumer),
    serviceAccount: platformAccount,
  });
  return {
    global: {
      podLabels: identityPodLabels(ctx),
      /** The graph is kept in OpenSearch: no Neo4j to run. */
      graph_service_impl: "elasticsearch",
      datahub_standalone_consumers_enabled: standaloneConsumers,
      elasticsearch: { host: OPENSEARCH_HOST, port: "9200" },
      kafka: {
        bootstrap: { server: KAFKA_BOOTSTRAP },
        /** The schema registry served by GMS itself: no Confluent registry to run. */
        schemaregistry: { type: "INTERNAL" },
        /** Topics the system-update job creates: replicated over the three production brokers. */
        ...(production ? { partitions: 3, replicationFactor: 3 } : {}),
      },
      sql: {
        datasource: {
          driver: "org.postgresql.Driver",
          host: `${db.host}:${db.port}`,
          port: String(db.port),
          database: db.name,
          /** TLS is required by every platform database. */
          url: `jdbc:postgresql://${db.host}:${db.port}/${db.name}?sslmode=require`,
          username: { secretRef: db.secretName, secretKey: DATABASE_SECRET_KEYS.username },
          password: { secretRef: db.secretName, secretKey: DATABASE_SECRET_KEYS.password },
        },
      },
      datahub: {
        appServiceAccount: platformAccount,
        /**
         * GMS's metrics, scraped by the observability release (scrape.ts) through the GMS Service:
         * the JMX exporter on port `jmx` (4318, /metrics) and Spring's /actuator/prometheus on
         * port `prometheus` (4319). Chart defaults at 1.1.0, pinned here because the scrape
         * selects those port names (subcharts/datahub-gms/templates/service.yaml). The chart's
         * own ServiceMonitor stays off: no app waits for the monitoring release's CRDs.
         */
        monitoring: { enablePrometheus: true, metricsMode: "jmx_and_actuator", portName: "jmx" },
        encryptionKey: {
          secretRef: DATAHUB_SECRETS.encryption.name,
          secretKey: "encryption_key_secret",
          provisionSecret: { enabled: false, autoGenerate: false, annotations: {} },
        },
        metadata_service_authentication: {
          enabled: true,
          systemClientSecret: { secretRef: DATAHUB_SECRETS.auth.name, secretKey: "system_client_secret" },
          tokenService: {
            signingKey: { secretRef: DATAHUB_SECRETS.auth.name, secretKey: "token_service_signing_key" },
            salt: { secretRef: DATAHUB_SECRETS.auth.name, secretKey: "token_service_salt" },
          },
          provisionSecrets: { enabled: false, autoGenerate: false, annotations: {} },
        },
      },
    },
    "datahub-gms": {
      replicaCount: ctx.replicas,
      tolerations: spotTolerations(ctx),
      resources: ctx.resources(BASE_RESOURCES.gms),
      serviceAccount: platformAccount,
      /** The chart defaults to LoadBalancer; GMS is an internal API, reached through the frontend. */
      service: { type: "ClusterIP" },
    },
    "datahub-frontend": {
      replicaCount: ctx.replicas,
      tolerations: spotTolerations(ctx),
      resources: ctx.resources(BASE_RESOURCES.frontend),
      serviceAccount: platformAccount,
      /** The chart defaults to LoadBalancer; the UI is published through the ingress only. */
      service: { type: "ClusterIP" },
      ingress: ingressValues(ctx.ingress, "className", frontendRouting),
      /** Session cookies only over HTTPS when the UI is behind the TLS ingress. */
      authCookies: { secure: ctx.ingress ? "true" : "false" },
      ...datahubSso(ctx),
      existingGmsSecret: { name: DATAHUB_SECRETS.frontend.name, key: "play_secret" },
      extraInitContainers: [adminUserInitContainer(ctx)],
      extraVolumes: [{ name: "admin-user", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
      extraVolumeMounts: [{ name: "admin-user", mountPath: USER_PROPS_PATH, subPath: "user.props", readOnly: true }],
    },
    "acryl-datahub-actions": {
      replicaCount: ctx.replicas,
      tolerations: spotTolerations(ctx),
      resources: ctx.resources(BASE_RESOURCES.actions),
      serviceAccount: platformAccount,
    },
    /** Rendered only with standalone consumers: one of each (see `standaloneConsumers`). */
    ...(standaloneConsumers ? { "datahub-mae-consumer": consumer(), "datahub-mce-consumer": consumer() } : {}),
    datahubSystemUpdate: {
      /**
       * The platform's account, without the chart's Role: that Role lets the job scale
       * Deployments down during upgrades, which zero-downtime upgrades (on by default since
       * v1.7) no longer do, and it would be granted to every DataHub pod through the shared account.
       */
      serviceAccount: { ...platformAccount, rbac: false },
      resources: ctx.resources(BASE_RESOURCES.systemUpdate),
      tolerations: spotTolerations(ctx),
      /**
       * The platform creates the database and its role before this job runs. `createDatabase` is
       * left alone: chart 1.1.0 renders it with `| default "true"`, so `false` would still reach
       * the job as `CREATE_DB=true`; the job only creates a database that does not exist, so
       * against the platform's it does nothing.
       */
      sql: { setup: { enabled: true, createTables: true, createUser: false } },
    },
  };
}

/** DataHub: the prerequisites release first, then DataHub. */
export const renderDatahub: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const db = required(ctx.database, `datahub: no database in the context of environment "${ctx.env.name}"; DataHub keeps its metadata in PostgreSQL`);
  return [
    {
      name: DATAHUB_PREREQUISITES_RELEASE,
      chart: DATAHUB_PREREQUISITES_CHART,
      contract: "datahub-prerequisites",
      values: renderPrerequisites(ctx),
      generatedSecrets: [],
    },
    {
      name: DATAHUB_RELEASE,
      chart: DATAHUB_CHART,
      contract: "datahub",
      values: renderDatahubValues(ctx, db),
      generatedSecrets: [DATAHUB_SECRETS.encryption, DATAHUB_SECRETS.auth, DATAHUB_SECRETS.frontend],
    },
  ];
};
