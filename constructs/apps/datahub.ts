/**
 * DataHub: two releases, installed in this order in the app's namespace.
 *
 * 1. `strimzi` (in its own namespace) and its custom resources: DataHub's Kafka (datahub-kafka.ts).
 * 2. `prerequisites` (datahub-prerequisites): OpenSearch, with its security plugin (TLS, users).
 * 3. `datahub`: GMS, the frontend and the actions runner; metadata in the app's database on the
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
 * Both require authentication and TLS: Kafka listens only on TLS with SCRAM-SHA-512 (Strimzi's
 * cluster CA), OpenSearch runs its security plugin with TLS on transport and HTTP (a namespaced
 * cert-manager CA) and basic auth as generated users.
 *
 * What production should still consider:
 * - sizes: the volumes (OpenSearch 100 GiB per node, Kafka 50 GiB per broker) fit a few
 *   hundred thousand entities; watch disk usage in the monitoring release's dashboards;
 * - the OpenSearch certificates last a year and are renewed by cert-manager at two thirds;
 *   OpenSearch reloads them from the mounted files without a restart (`OPENSEARCH_CONFIG`,
 *   certificates_hot_reload); DataHub's clients keep trusting them through the CA, which lasts ten years;
 * - the datahub chart has no PodDisruptionBudget templates: two replicas of each service only
 *   keep it up through the loss of a pod, not through a drain that evicts both at once.
 */
import { DATABASE_SECRET_KEYS, type AppContext, type AppDatabase, type AppIngress, type AppManifest, type AppRelease, type AppRenderer, type ChartRef, type GeneratedSecret, type Resources } from "./types";
import { admittedGroups, identityPodLabels, ingressTls, ingressValues, platformServiceAccount, required, restrictedContainerSecurityContext, restrictedPodSecurityContext, spotTolerations } from "./common";
import { mebibytes } from "./scale";
import { actionsKafkaValues, actionsSystemConfigManifest, datahubKafkaGlobals, KAFKA_BOOTSTRAP, kafkaResources, STRIMZI_CHART, STRIMZI_NAMESPACE, STRIMZI_NAMESPACE_SPEC, STRIMZI_RELEASE, strimziValues } from "./datahub-kafka";

/** DataHub chart 1.1.0 (DataHub v1.7.0). */
export const DATAHUB_CHART: ChartRef = { repository: "https://helm.datahubproject.io/", chart: "datahub", version: "1.1.0" };

/** datahub-prerequisites 0.3.0: OpenSearch 2.19 (chart 2.19.0); its Kafka (Bitnami chart 26.11.2) is off. */
export const DATAHUB_PREREQUISITES_CHART: ChartRef = {
  repository: "https://helm.datahubproject.io/",
  chart: "datahub-prerequisites",
  version: "0.3.0",
};

/** Release name of the prerequisites (DataHub's defaults assume `prerequisites`; the values spell the addresses out). */
export const DATAHUB_PREREQUISITES_RELEASE = "prerequisites";

/** Release name of DataHub itself; its services are `datahub-datahub-gms` and `datahub-datahub-frontend`. */
export const DATAHUB_RELEASE = "datahub";

/** OpenSearch service: the OpenSearch chart names it `<clusterName>-<nodeGroup>`, whatever the release. */
export const OPENSEARCH_HOST = "opensearch-cluster-master";

/**
 * DataHub's own OpenSearch role instead of `all_access`: every index action on the
 * non-system indices (DataHub names its indices itself and without a prefix: entity, graph,
 * system-metadata, time-series and usage-event indices, created and reindexed by the
 * system-update job), and on the cluster only what an index client needs: health and
 * state (`cluster_monitor`), bulk, multi-get/search, aliases and reindex
 * (`cluster_composite_ops`), index and component templates, ingest pipelines, ISM policies
 * (the usage-event index's rollover), scroll and point-in-time clean-up, and task
 * cancel/rethrottle for its reindex tasks. Not granted: cluster settings, snapshots, node
 * operations, the security REST API, other plugins' APIs. Action groups from
 * opensearch-project/security 2.19.5.0 src/main/resources/static_config/static_action_groups.yml
 * (cluster_monitor, cluster_composite_ops, cluster_manage_index_templates,
 * cluster_manage_pipelines; indices_all = `indices:*`). The security index stays out of reach
 * whatever the pattern: only the admin certificate (`admin_dn`) may touch it.
 *
 * The chart mounts roles.yml and roles_mapping.yml whole (opensearch-2.19.0
 * templates/statefulset.yaml:202-211,457-466), replacing the shipped ones (security 2.19.5.0
 * config/roles.yml, roles_mapping.yml): the built-in static roles (all_access, readall, ...)
 * stay, the demo mappings go, and `all_access` is mapped to the `admin` backend role only.
 */
const OPENSEARCH_ROLES = [
  "_meta:",
  '  type: "roles"',
  "  config_version: 2",
  "datahub:",
  "  reserved: true",
  '  description: "DataHub: its indices, and the cluster actions an index client needs"',
  "  cluster_permissions:",
  ...[
    "cluster_monitor",
    "cluster_composite_ops",
    "cluster_manage_index_templates",
    "cluster_manage_pipelines",
    "cluster:admin/opendistro/ism/*",
    "indices:data/read/scroll*",
    "indices:data/read/point_in_time/*",
    "cluster:admin/tasks/cancel",
    "cluster:admin/reindex/rethrottle",
  ].map((permission) => `    - "${permission}"`),
  "  index_permissions:",
  '    - index_patterns: ["*"]',
  '      allowed_actions: ["indices_all"]',
  "",
].join("\n");

const OPENSEARCH_ROLES_MAPPING = [
  "_meta:",
  '  type: "rolesmapping"',
  "  config_version: 2",
  "all_access:",
  "  reserved: true",
  '  backend_roles: ["admin"]',
  '  description: "The platform administrator only"',
  "datahub:",
  "  reserved: true",
  '  users: ["datahub"]',
  '  description: "DataHub\'s user"',
  "",
].join("\n");

/**
 * OpenSearch's users, generated in the cluster: `admin` (all_access, for operators and
 * securityadmin) and `datahub` (what DataHub connects as, with its own role: `OPENSEARCH_ROLES`), plus the password of the PKCS#12
 * truststore DataHub's Java clients read. `internal_users.yml` is rendered once from them with
 * bcrypt hashes (External Secrets v2.9.0 template engine, runtime/template/v2/sprig/functions.go:255
 * `bcrypt`, cost 10: crypto.go:59-64), which the OpenSearch security plugin reads
 * (`securityConfig.internalUsersSecret`, opensearch-2.19.0 templates/statefulset.yaml:197-201,452-456).
 */
export const OPENSEARCH_CREDENTIALS = {
  name: "opensearch-credentials",
  keys: {
    admin_password: { length: 32, encoding: "hex" },
    datahub_password: { length: 32, encoding: "hex" },
    truststore_password: { length: 32, encoding: "hex" },
  },
  derived: {
    "internal_users.yml": [
      "_meta:",
      '  type: "internalusers"',
      "  config_version: 2",
      "admin:",
      '  hash: "{{ .admin_password | bcrypt }}"',
      "  reserved: true",
      '  backend_roles: ["admin"]',
      '  description: "Platform administrator"',
      "datahub:",
      '  hash: "{{ .datahub_password | bcrypt }}"',
      "  reserved: true",
      '  description: "DataHub (GMS, consumers, system-update, frontend analytics)"',
      "",
    ].join("\n"),
    "roles.yml": OPENSEARCH_ROLES,
    "roles_mapping.yml": OPENSEARCH_ROLES_MAPPING,
  },
} as const satisfies GeneratedSecret;

/** TLS of OpenSearch: a namespaced CA (cert-manager) issues the nodes', the admin's and DataHub's certificates. */
export const OPENSEARCH_TLS = {
  selfSignedIssuer: "datahub-selfsigned",
  ca: "datahub-internal-ca",
  /** The nodes' certificate (transport and HTTP): tls.crt, tls.key (PKCS#8), ca.crt. */
  node: "opensearch-node-tls",
  /** The admin client certificate named in `admin_dn` (securityadmin.sh). */
  admin: "opensearch-admin-tls",
  /** DataHub's client certificate; only its `truststore.p12` (the CA) is used. */
  client: "datahub-opensearch-tls",
} as const;

/** Where the certificates are mounted in the OpenSearch and DataHub pods. */
const OPENSEARCH_CERTS_DIR = "/usr/share/opensearch/config/certs";
const OPENSEARCH_ADMIN_CERTS_DIR = "/usr/share/opensearch/config/admin-certs";
const DATAHUB_OPENSEARCH_TRUST_DIR = "/mnt/datahub/opensearch";

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
  initContainer: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
} satisfies Record<string, Resources>;

/** The system indices the security plugin keeps from every role but the admin certificate: the chart's own list (opensearch-2.19.0 values.yaml:84-97). */
export const OPENSEARCH_SYSTEM_INDICES = [
  ".opendistro-alerting-config",
  ".opendistro-alerting-alert*",
  ".opendistro-anomaly-results*",
  ".opendistro-anomaly-detector*",
  ".opendistro-anomaly-checkpoints",
  ".opendistro-anomaly-detection-state",
  ".opendistro-reports-*",
  ".opendistro-notifications-*",
  ".opendistro-notebooks",
  ".opendistro-asynchronous-search-response*",
] as const;

/** Subject of the nodes' certificate (`nodes_dn`) and of the admin's (`admin_dn`). */
const NODE_DN = `CN=${OPENSEARCH_HOST}`;
const ADMIN_DN = "CN=opensearch-admin";

/**
 * opensearch.yml: the security plugin on, TLS on transport and HTTP with the cert-manager
 * certificates (PEM, key in PKCS#8), the security index initialised from the mounted
 * configuration on first start (`allow_default_init_securityindex`), and
 * `node.store.allow_mmap: false` (see `sysctlInit` below). Settings from the OpenSearch
 * security plugin 2.19 (the chart's own demo block, opensearch-2.19.0 values.yaml:59-83, with
 * our certificates in place of the demo ones).
 *
 * `certificates_hot_reload.enabled`: the plugin watches the PEM files and reloads them when
 * cert-manager renews them (opensearch-project/security 2.19.0.0 to 2.19.6.0
 * support/ConfigConstants.java:294 SECURITY_SSL_CERTIFICATES_HOT_RELOAD_ENABLED;
 * OpenSearchSecurityPlugin.java:1240-1251 registers the file watcher, and refuses it together
 * with the older `ssl_cert_reload_enabled`, which is not set). The certificates directory is a
 * whole-Secret mount (`secretMounts`, no subPath), so the kubelet updates the files in place;
 * cert-manager keeps the subject, issuer and names a reload requires.
 */
const OPENSEARCH_CONFIG = [
  "plugins:",
  "  security:",
  "    ssl:",
  "      transport:",
  "        pemcert_filepath: certs/tls.crt",
  "        pemkey_filepath: certs/tls.key",
  "        pemtrustedcas_filepath: certs/ca.crt",
  "        enforce_hostname_verification: false",
  "      http:",
  "        enabled: true",
  "        pemcert_filepath: certs/tls.crt",
  "        pemkey_filepath: certs/tls.key",
  "        pemtrustedcas_filepath: certs/ca.crt",
  "      certificates_hot_reload:",
  "        enabled: true",
  "    allow_default_init_securityindex: true",
  `    nodes_dn: ["${NODE_DN}"]`,
  "    authcz:",
  `      admin_dn: ["${ADMIN_DN}"]`,
  // Other plugins' system indices stay out of reach of the `datahub` role's `*` pattern: the
  // plugin protects them only when this is on (security 2.19.5.0 ConfigConstants
  // SECURITY_SYSTEM_INDICES_ENABLED_DEFAULT = false).
  "    system_indices:",
  "      enabled: true",
  `      indices: [${OPENSEARCH_SYSTEM_INDICES.map((index) => `"${index}"`).join(", ")}]`,
  "node:",
  "  store:",
  "    allow_mmap: false",
  "",
].join("\n");

/** The CA and the certificates of OpenSearch's TLS, applied by the wiring release (cert-manager is an add-on on every cluster). */
function opensearchTlsManifests(namespace: string): AppManifest[] {
  const tls = OPENSEARCH_TLS;
  const issuerRef = { name: tls.ca, kind: "Issuer", group: "cert-manager.io" };
  const pkcs8 = { algorithm: "RSA", size: 2048, encoding: "PKCS8", rotationPolicy: "Always" };
  const headless = `${OPENSEARCH_HOST}-headless`;
  const certificate = (name: string, spec: Record<string, unknown>): AppManifest => ({
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name, namespace },
    spec: { secretName: name, issuerRef, duration: "8760h", privateKey: pkcs8, ...spec },
  });
  return [
    { apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: { name: tls.selfSignedIssuer, namespace }, spec: { selfSigned: {} } },
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: tls.ca, namespace },
      spec: {
        isCA: true,
        commonName: tls.ca,
        secretName: tls.ca,
        /** Ten years: the clients' truststores hold it, so it should not roll with the leaf certificates. */
        duration: "87600h",
        privateKey: { algorithm: "ECDSA", size: 256 },
        issuerRef: { name: tls.selfSignedIssuer, kind: "Issuer", group: "cert-manager.io" },
      },
    },
    { apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: { name: tls.ca, namespace }, spec: { ca: { secretName: tls.ca } } },
    certificate(tls.node, {
      commonName: OPENSEARCH_HOST,
      dnsNames: [
        OPENSEARCH_HOST,
        `${OPENSEARCH_HOST}.${namespace}.svc`,
        `${OPENSEARCH_HOST}.${namespace}.svc.cluster.local`,
        headless,
        `*.${headless}`,
        `*.${headless}.${namespace}.svc`,
        `*.${headless}.${namespace}.svc.cluster.local`,
      ],
      usages: ["digital signature", "key encipherment", "server auth", "client auth"],
    }),
    certificate(tls.admin, { commonName: "opensearch-admin", usages: ["digital signature", "key encipherment", "client auth"] }),
    certificate(tls.client, {
      commonName: "datahub",
      usages: ["digital signature", "key encipherment", "client auth"],
      /**
       * `Modern2023` (PBES2 with AES-256-CBC, HMAC-SHA-256), not the default `LegacyRC2`, which
       * OpenSSL 3 and Java 20+ refuse by default (cert-manager v1.21.1 Certificate CRD,
       * spec.keystores.pkcs12.profile). Java 11.0.12+ reads it; `Modern2026` needs Java 26.
       */
      keystores: { pkcs12: { create: true, profile: "Modern2023", passwordSecretRef: { name: OPENSEARCH_CREDENTIALS.name, key: "truststore_password" } } },
    }),
  ];
}

/**
 * Pod Security `restricted` for DataHub's pods and OpenSearch: the chart defaults (uid and gid
 * 1000, fsGroup 1000, no privilege escalation) plus what `restricted` adds (runAsNonRoot on the
 * pod, RuntimeDefault seccomp, drop ALL). Each DataHub subchart renders `podSecurityContext` and
 * `securityContext` as the pod's and its container's (datahub 1.1.0
 * subcharts/<component>/templates/deployment.yaml, e.g. datahub-gms L50-51 and L76-77; the
 * system-update jobs templates/datahub-upgrade/datahub-system-update-job.yml L57-58, L273-274);
 * opensearch 2.19.0 the same (templates/statefulset.yaml L74-75, L353-354).
 */
const DATAHUB_UID = 1000;
const securityContexts = () => ({ podSecurityContext: restrictedPodSecurityContext(DATAHUB_UID), securityContext: restrictedContainerSecurityContext(DATAHUB_UID) });

/**
 * Why DataHub's namespace enforces `baseline`, not `restricted`: opensearch 2.19.0 renders a
 * `configfile` init container whenever `config` is set (it carries opensearch.yml: the
 * prerequisites chart's default and OPENSEARCH_CONFIG) with no security context and no value to
 * give it one (templates/statefulset.yaml L281-299), so it cannot drop capabilities or forbid
 * privilege escalation. Every other pod of the namespace meets `restricted`.
 */
export const DATAHUB_POD_SECURITY_REASON =
  "prerequisites/opensearch: chart opensearch 2.19.0 renders its configfile init container (present whenever `config` carries an opensearch.yml, as the prerequisites chart's defaults and the platform's do) without a securityContext and has no value for one (templates/statefulset.yaml L281-299), so it cannot drop capabilities or forbid privilege escalation; every other pod here meets restricted";

/** Prerequisite volume sizes per node: production keeps weeks of Kafka events and room to reindex. */
const VOLUMES = {
  production: { opensearch: "100Gi" },
  other: { opensearch: "20Gi" },
} as const;

/** JVM heap flags at half the memory limit: the rest is page cache (OpenSearch) and off-heap buffers. */
function halfHeap(resources: Resources): string {
  const heap = Math.floor(mebibytes(resources.limits.memory) / 2);
  return `-Xms${heap}m -Xmx${heap}m`;
}

/**
 * datahub-prerequisites values: OpenSearch only, every bundled store off (the metadata database
 * is the platform's PostgreSQL; the graph lives in OpenSearch, not Neo4j; Kafka is Strimzi's,
 * datahub-kafka.ts). Production runs three OpenSearch nodes (shard replicas on other nodes),
 * other environments one.
 */
function renderPrerequisites(ctx: AppContext): Record<string, unknown> {
  const production = ctx.env.production;
  const volumes = VOLUMES[production ? "production" : "other"];
  const nodes = production ? 3 : 1;
  const opensearchResources = ctx.resources(BASE_RESOURCES.opensearch);
  return {
    mysql: { enabled: false },
    postgresql: { enabled: false },
    neo4j: { enabled: false },
    elasticsearch: { enabled: false },
    "gcloud-sqlproxy": { enabled: false },
    "cp-helm-charts": { enabled: false },
    /** The Bitnami Kafka (image only in the frozen `bitnamilegacy` repository) is replaced by Strimzi's. */
    kafka: { enabled: false },
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
       * small for DataHub's indices.
       */
      sysctlInit: { enabled: false },
      config: { "opensearch.yml": OPENSEARCH_CONFIG },
      ...securityContexts(),
      /** The chart's default; clients and the chart's own probes speak HTTPS. */
      protocol: "https",
      /**
       * The security configuration: our users, DataHub's role and the role mappings (the image's
       * other files stay as shipped); no demo users.
       */
      securityConfig: {
        enabled: true,
        internalUsersSecret: OPENSEARCH_CREDENTIALS.name,
        rolesSecret: OPENSEARCH_CREDENTIALS.name,
        rolesMappingSecret: OPENSEARCH_CREDENTIALS.name,
      },
      secretMounts: [
        { name: "node-tls", secretName: OPENSEARCH_TLS.node, path: OPENSEARCH_CERTS_DIR },
        { name: "admin-tls", secretName: OPENSEARCH_TLS.admin, path: OPENSEARCH_ADMIN_CERTS_DIR },
      ],
      /** The prerequisites chart's own (values.yaml:54-56): no demo certificates or users are installed. */
      extraEnvs: [{ name: "DISABLE_INSTALL_DEMO_CONFIG", value: "true" }],
    },
  };
}

/**
 * How DataHub's clients trust OpenSearch: the PKCS#12 truststore cert-manager writes beside
 * DataHub's certificate (Java), and the CA certificate itself in PEM (`ca.crt`, for the Go
 * start-up wait below).
 */
export const opensearchTrust = {
  volume: {
    name: "opensearch-trust",
    secret: {
      secretName: OPENSEARCH_TLS.client,
      items: [
        { key: "truststore.p12", path: "truststore.p12" },
        { key: "ca.crt", path: "ca.crt" },
      ],
    },
  },
  mount: { name: "opensearch-trust", mountPath: DATAHUB_OPENSEARCH_TRUST_DIR, readOnly: true },
  password: { valueFrom: { secretKeyRef: { name: OPENSEARCH_CREDENTIALS.name, key: "truststore_password" } } },
  file: `${DATAHUB_OPENSEARCH_TRUST_DIR}/truststore.p12`,
  caFile: `${DATAHUB_OPENSEARCH_TRUST_DIR}/ca.crt`,
};

/**
 * GMS, the consumers and the system-update jobs.
 *
 * - The Java clients: ELASTICSEARCH_SSL_TRUSTSTORE_* (DataHub metadata-service
 *   ElasticsearchSSLContextFactory, `@Value("${ELASTICSEARCH_SSL_TRUSTSTORE_FILE}")` and _TYPE,
 *   _PASSWORD; documented for GMS, MAE, MCE and System Update).
 * - The start-up wait: before Java starts, each image's start.sh runs `dockerize -wait
 *   $ELASTICSEARCH_PROTOCOL://$ELASTICSEARCH_HOST:$ELASTICSEARCH_PORT` (https here, no
 *   -skip-tls-verify; datahub-project/datahub docker/datahub-gms/start.sh,
 *   docker/datahub-upgrade/start.sh, docker/datahub-mae-consumer/start.sh) unless
 *   SKIP_ELASTICSEARCH_CHECK is true, which the chart renders from `global.elasticsearch.skipcheck`
 *   (default "false", datahub-1.1.0 values.yaml:718; templates/datahub-upgrade/_upgrade.tpl:63-64,
 *   the same in each subchart's deployment). dockerize is Go: it verifies the certificate against
 *   the system roots, which on Linux are the file named by SSL_CERT_FILE when it is set
 *   (golang/go src/crypto/x509/root_unix.go, `certFileEnv = "SSL_CERT_FILE"`, loadSystemRoots).
 *   So SSL_CERT_FILE names the namespace CA and the wait passes once OpenSearch serves; Java
 *   does not read that variable (its trust is the truststore above). The check stays on, so
 *   the pods keep waiting for OpenSearch instead of crash-looping.
 */
const searchTrustEnv = (): Record<string, unknown>[] => [
  { name: "ELASTICSEARCH_SSL_TRUSTSTORE_FILE", value: opensearchTrust.file },
  { name: "ELASTICSEARCH_SSL_TRUSTSTORE_TYPE", value: "PKCS12" },
  { name: "ELASTICSEARCH_SSL_TRUSTSTORE_PASSWORD", ...opensearchTrust.password },
  { name: "SSL_CERT_FILE", value: opensearchTrust.caFile },
];

/**
 * The frontend's analytics client reads the Typesafe-config paths
 * analytics.elastic.sslContext.sslTrustStore{File,Type,Password} and loads the truststore only
 * when all three are set, else it trusts the JVM's default roots, which lack the namespace CA
 * (datahub-project/datahub datahub-frontend/app/react/analytics/AnalyticsServiceModule.java,
 * createSSLContext). No environment name maps to them in the frontend's application.conf as
 * read (it has no `analytics.elastic.*` entry), so they are given as system properties, which
 * Play's configuration always puts above the files. Not in JAVA_OPTS: the image's start.sh
 * overwrites it (`export JAVA_OPTS=...`, docker/datahub-frontend/start.sh); JAVA_TOOL_OPTIONS is
 * read by the JVM itself. The password comes from the Secret through Kubernetes' `$(VAR)`
 * expansion of a variable defined before it. The JVM prints JAVA_TOOL_OPTIONS to the log at
 * start ("Picked up JAVA_TOOL_OPTIONS"), so the truststore password appears there: it guards
 * only the integrity of a file that holds the CA's public certificate and is mounted from a Secret.
 */
const FRONTEND_TRUSTSTORE_PASSWORD_ENV = "OPENSEARCH_TRUSTSTORE_PASSWORD";
const frontendTrustEnv = (): Record<string, unknown>[] => [
  { name: FRONTEND_TRUSTSTORE_PASSWORD_ENV, ...opensearchTrust.password },
  {
    name: "JAVA_TOOL_OPTIONS",
    value: [
      `-Danalytics.elastic.sslContext.sslTrustStoreFile=${opensearchTrust.file}`,
      "-Danalytics.elastic.sslContext.sslTrustStoreType=PKCS12",
      `-Danalytics.elastic.sslContext.sslTrustStorePassword=$(${FRONTEND_TRUSTSTORE_PASSWORD_ENV})`,
    ].join(" "),
  },
];

/**
 * Sign-in through the SSO provider (`sso`), datahub-helm datahub-1.1.0
 * subcharts/datahub-frontend/templates/deployment.yaml: `oidcAuthentication` with provider
 * `other` sets AUTH_OIDC_ENABLED, _CLIENT_ID, _CLIENT_SECRET (from `clientSecretRef`),
 * _DISCOVERY_URI (`discoveryUri`), _SCOPE, _BASE_URL (the first ingress host) and the user-name
 * claim; `extraEnvs` adds the frontend's group extraction and just-in-time provisioning
 * (DataHub docs/authentication/guides/sso/configure-oidc-react.md, "User and groups
 * provisioning": AUTH_OIDC_JIT_PROVISIONING_ENABLED, AUTH_OIDC_EXTRACT_GROUPS_ENABLED,
 * AUTH_OIDC_GROUPS_CLAIM).
 *
 * Who may sign in: with `allowedGroups`, AUTH_OIDC_REQUIRED_GROUPS lists them and the admin
 * group (comma-separated; "users must have ANY of the specified groups": datahub-project/datahub
 * datahub-frontend/conf/application.conf, `auth.oidc.requiredGroups`). That file was read from
 * the source index, whose version is not tied to v1.7.0: an image without the setting ignores
 * the variable, so the provider should still admit only those groups to the client (README,
 * "Single sign-on"). DataHub OSS maps no group to a role: the admin group gets the Admin role
 * once, in DataHub, as the `datahub` user.
 *
 * The local `datahub` login (JAAS, `auth.jaas.enabled`, on by default) stays: it is how that
 * first Admin grant is made, and the break-glass account when the provider is down. Its
 * password is generated (`DATAHUB_SECRETS.frontend`) and held only in the cluster, and it is
 * reachable only from inside the cluster: the public host refuses the password endpoints
 * (`passwordLoginBlock`), so break-glass goes through `kubectl port-forward` to the frontend
 * Service, which does not pass through Traefik. Native users (invited sign-up, password reset)
 * are off (AUTH_NATIVE_ENABLED=false, `auth.native.enabled` in the same application.conf):
 * everyone else arrives through the provider and is provisioned just in time, so no user but
 * `datahub` has a password.
 */
function datahubSso(ctx: AppContext): { readonly oidcAuthentication?: Record<string, unknown>; readonly extraEnvs: readonly Record<string, unknown>[] } {
  const sso = ctx.sso;
  if (sso === undefined || !ctx.ingress) return { extraEnvs: [] };
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
      { name: "AUTH_NATIVE_ENABLED", value: "false" },
      { name: "AUTH_OIDC_EXTRACT_GROUPS_ENABLED", value: "true" },
      { name: "AUTH_OIDC_GROUPS_CLAIM", value: sso.settings.groupsClaim },
      { name: "AUTH_OIDC_JIT_PROVISIONING_ENABLED", value: "true" },
      ...(admittedGroups(sso.settings).length === 0 ? [] : [{ name: "AUTH_OIDC_REQUIRED_GROUPS", value: admittedGroups(sso.settings).join(",") }]),
    ],
  };
}

/**
 * The frontend's endpoints that take a password, datahub-project/datahub
 * datahub-frontend/conf/routes (POST each, controllers.AuthenticationController): `/logIn`
 * (a JAAS or native user's name and password), `/signUp` (a native user's password with an invite
 * token), `/resetNativeUserCredentials` (a new native password with a reset token). Read from the
 * source index (routes at commit 013ac8f8, AuthenticationController at 16e11c24), not from the
 * v1.7.0 tag itself: a route added under another path by the image would not be blocked. Every
 * other route either redirects to the provider (`/authenticate`, `/sso`), is the provider's
 * callback, serves static assets and the React app, or needs a session (`/api/*`, `/openapi/*`:
 * `@Security.Authenticated` in controllers/Application.java `proxy`).
 */
export const DATAHUB_PASSWORD_PATHS = ["/logIn", "/signUp", "/resetNativeUserCredentials"] as const;

/** The frontend's Service (datahub-1.1.0 subcharts/datahub-frontend: `<release>-datahub-frontend`, `service.port` 9002). */
export const DATAHUB_FRONTEND_SERVICE = { name: `${DATAHUB_RELEASE}-datahub-frontend`, port: 9002 } as const;

/** The objects that refuse `DATAHUB_PASSWORD_PATHS` on the public host (see `passwordLoginBlock`). */
export const DATAHUB_PASSWORD_BLOCK = {
  /** The Ingress of the password paths, on the frontend's host. */
  ingress: "datahub-password-login",
  /** The Traefik Middleware that refuses every client. */
  middleware: "refuse-every-client",
  /**
   * The one source the allow list admits: the unspecified IPv4 address, which no TCP peer can have
   * (RFC 1122 3.2.1.3: "MUST NOT be used, except as a source address as part of an initialization
   * procedure"; a connection's remote address is never 0.0.0.0). Not a documentation or private
   * range: those could one day be a real client's, a node's or a load balancer's.
   */
  sourceRange: ["0.0.0.0/32"],
} as const;

/**
 * With `sso`, the password endpoints are refused on the public host, so the local `datahub`
 * login is reachable only from inside the cluster (`kubectl -n datahub port-forward
 * svc/datahub-datahub-frontend 9002`), which reaches the frontend pods without Traefik.
 *
 * How Traefik v3.7 routes it (traefik/traefik v3.7.9; chart 41.3.0 deploys v3.7.11, and these
 * files are unchanged in what is read here):
 * - pkg/provider/kubernetes/ingress/kubernetes.go `loadRouter`: one router per Ingress path, rule
 *   `Host("<host>") && PathPrefix("<path>")` for pathType Prefix (`Path` for Exact; character-wise
 *   prefix, as `strictPrefixMatching` is off: the chart's default), the middlewares from the
 *   `router.middlewares` annotation; the chart's own Ingress (`/`, Prefix: `frontendRouting`)
 *   becomes `Host("<host>") && PathPrefix("/")`.
 * - pkg/server/router/router.go: a router without a priority gets `len(rule)`
 *   (pkg/muxer/http/mux.go `GetRulePriority`), and the muxer tries routers by priority, highest
 *   first. `PathPrefix("/logIn")` is longer than `PathPrefix("/")`, so ours wins; an Exact path
 *   would not: `Path("/logIn")` is one character shorter than `PathPrefix("/")`, and the chart's
 *   router would serve the request.
 * - pkg/muxer/http/mux.go `withRoutingPath`: rules match the path with its non-reserved
 *   percent-encodings decoded (`/log%49n` is `/logIn`); the entry points sanitize `//` and `/./`
 *   (pkg/config/static/entrypoints.go `SanitizePath`, on by default).
 * - pkg/middlewares/ipallowlist/ip_allowlist.go: without `ipStrategy` the client is the
 *   connection's remote address (pkg/config/dynamic/middlewares.go `IPStrategy.Get`), never a
 *   header a client can write; outside `sourceRange` the answer is 403.
 * - A router whose middleware does not exist is dropped, and the request would fall through to
 *   the chart's `/` router: the Middleware and the Ingress are applied together, before the
 *   chart's Ingress (the app's wiring release), and the middleware is named as the CRD provider
 *   names it, `<namespace>-<name>@kubernetescrd` (pkg/provider/kubernetes/crd/kubernetes.go `makeID`).
 * - The backend is the frontend's own Service, the chart's Ingress's backend: the provider skips
 *   a path whose Service it cannot load (kubernetes.go: "Cannot create service", `continue`), so
 *   the block and the chart's route are built, or skipped, together.
 * - No entry point or TLS annotation, like the chart's Ingress: the router is on the same entry
 *   points as the chart's (`websecure` with TLS from the entry point, `web` behind the redirect).
 *   The Middleware CRD is served by the Traefik chart (traefik-helm-chart v41.3.0
 *   traefik/crds/traefik.io_middlewares.yaml, `ipAllowList.sourceRange`).
 */
function passwordLoginBlock(ctx: AppContext): AppManifest[] {
  if (ctx.sso === undefined || !ctx.ingress) return [];
  const ingress = ctx.ingress;
  return [
    {
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      metadata: { name: DATAHUB_PASSWORD_BLOCK.middleware, namespace: ctx.namespace },
      spec: { ipAllowList: { sourceRange: [...DATAHUB_PASSWORD_BLOCK.sourceRange] } },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: DATAHUB_PASSWORD_BLOCK.ingress,
        namespace: ctx.namespace,
        annotations: { "traefik.ingress.kubernetes.io/router.middlewares": `${ctx.namespace}-${DATAHUB_PASSWORD_BLOCK.middleware}@kubernetescrd` },
      },
      spec: {
        ingressClassName: ingress.className,
        // The certificate the chart's Ingress has cert-manager issue; no cert-manager annotation
        // here, as a second ingress-shim owner of one Certificate is refused.
        tls: ingressTls(ingress),
        rules: [
          {
            host: ingress.host,
            http: {
              paths: DATAHUB_PASSWORD_PATHS.map((path) => ({
                path,
                pathType: "Prefix",
                backend: { service: { name: DATAHUB_FRONTEND_SERVICE.name, port: { number: DATAHUB_FRONTEND_SERVICE.port } } },
              })),
            },
          },
        ],
      },
    },
  ];
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
  const sso = datahubSso(ctx);
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
    ...securityContexts(),
    extraEnvs: searchTrustEnv(),
    extraVolumes: [opensearchTrust.volume],
    extraVolumeMounts: [opensearchTrust.mount],
  });
  return {
    global: {
      podLabels: identityPodLabels(ctx),
      /** The graph is kept in OpenSearch: no Neo4j to run. */
      graph_service_impl: "elasticsearch",
      datahub_standalone_consumers_enabled: standaloneConsumers,
      /**
       * HTTPS and basic auth as `datahub`: ELASTICSEARCH_USE_SSL/_USERNAME/_PASSWORD in GMS
       * (subcharts/datahub-gms/templates/deployment.yaml:266-281), the consumers
       * (datahub-mae-consumer deployment.yaml:187-199, datahub-mce-consumer 213-225), the
       * system-update jobs (templates/datahub-upgrade/_upgrade.tpl:67-80) and the index setup
       * (templates/elasticsearch-setup-job.yml:73-86, off at 1.1.0); ELASTIC_CLIENT_* in the
       * frontend (subcharts/datahub-frontend/templates/deployment.yaml:192-207).
       */
      elasticsearch: {
        host: OPENSEARCH_HOST,
        port: "9200",
        useSSL: "true",
        auth: { username: "datahub", password: { secretRef: OPENSEARCH_CREDENTIALS.name, secretKey: "datahub_password" } },
      },
      ...datahubKafkaGlobals(),
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
      ...securityContexts(),
      /** The chart defaults to LoadBalancer; GMS is an internal API, reached through the frontend. */
      service: { type: "ClusterIP" },
      extraEnvs: searchTrustEnv(),
      extraVolumes: [opensearchTrust.volume],
      extraVolumeMounts: [opensearchTrust.mount],
    },
    "datahub-frontend": {
      replicaCount: ctx.replicas,
      tolerations: spotTolerations(ctx),
      resources: ctx.resources(BASE_RESOURCES.frontend),
      serviceAccount: platformAccount,
      ...securityContexts(),
      /** The chart defaults to LoadBalancer; the UI is published through the ingress only. */
      service: { type: "ClusterIP" },
      ingress: ingressValues(ctx.ingress, "className", frontendRouting),
      /** Session cookies only over HTTPS when the UI is behind the TLS ingress. */
      authCookies: { secure: ctx.ingress ? "true" : "false" },
      ...(sso.oidcAuthentication ? { oidcAuthentication: sso.oidcAuthentication } : {}),
      existingGmsSecret: { name: DATAHUB_SECRETS.frontend.name, key: "play_secret" },
      extraInitContainers: [adminUserInitContainer(ctx)],
      extraEnvs: [...frontendTrustEnv(), ...sso.extraEnvs],
      extraVolumes: [{ name: "admin-user", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }, opensearchTrust.volume],
      extraVolumeMounts: [{ name: "admin-user", mountPath: USER_PROPS_PATH, subPath: "user.props", readOnly: true }, opensearchTrust.mount],
    },
    "acryl-datahub-actions": {
      replicaCount: ctx.replicas,
      tolerations: spotTolerations(ctx),
      resources: ctx.resources(BASE_RESOURCES.actions),
      serviceAccount: platformAccount,
      ...securityContexts(),
      /** Kafka only (no OpenSearch client): its own pipeline file with SASL_SSL and SCRAM, see datahub-kafka.ts. */
      ...actionsKafkaValues(),
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
      ...securityContexts(),
      extraEnvs: searchTrustEnv(),
      extraVolumes: [opensearchTrust.volume],
      extraVolumeMounts: [opensearchTrust.mount],
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

/** DataHub: the Strimzi operator and its Kafka, then the prerequisites (OpenSearch), then DataHub. */
export const renderDatahub: AppRenderer = (ctx: AppContext): readonly AppRelease[] => {
  const db = required(ctx.database, `datahub: no database in the context of environment "${ctx.env.name}"; DataHub keeps its metadata in PostgreSQL`);
  return [
    {
      name: STRIMZI_RELEASE,
      namespace: STRIMZI_NAMESPACE,
      chart: STRIMZI_CHART,
      contract: "strimzi-kafka-operator",
      values: strimziValues(ctx),
      generatedSecrets: [],
      privilegedNamespaces: [STRIMZI_NAMESPACE_SPEC],
      resources: kafkaResources(ctx),
    },
    {
      name: DATAHUB_PREREQUISITES_RELEASE,
      chart: DATAHUB_PREREQUISITES_CHART,
      contract: "datahub-prerequisites",
      values: renderPrerequisites(ctx),
      generatedSecrets: [OPENSEARCH_CREDENTIALS],
      podSecurity: { level: "baseline", reason: DATAHUB_POD_SECURITY_REASON },
      wiring: opensearchTlsManifests(ctx.namespace),
    },
    {
      name: DATAHUB_RELEASE,
      chart: DATAHUB_CHART,
      contract: "datahub",
      values: renderDatahubValues(ctx, db),
      generatedSecrets: [DATAHUB_SECRETS.encryption, DATAHUB_SECRETS.auth, DATAHUB_SECRETS.frontend],
      wiring: [actionsSystemConfigManifest(ctx.namespace), ...passwordLoginBlock(ctx)],
    },
  ];
};
