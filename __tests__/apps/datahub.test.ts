import { describe, expect, it } from "vitest";
import {
  DATAHUB_CHART,
  DATAHUB_PREREQUISITES_CHART,
  DATAHUB_PREREQUISITES_RELEASE,
  DATAHUB_RELEASE,
  DATAHUB_SECRETS,
  renderDatahub,
} from "../../constructs/apps/datahub";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, credentialLiterals, effectiveValues, leaves, maps, REQUESTS_AND_MEMORY_LIMIT, secretRefs, type Values } from "../support/values";

/**
 * Unknown key paths of a release. The prerequisites' OpenSearch and Kafka sections belong to
 * charts the contract does not bundle, so the checker leaves them open (shared/charts/README).
 */
function unknown(release: AppRelease): string[] {
  return unknownPaths(chartContract(release.contract), release.values);
}

function render(ctx: AppContext): { prerequisites: AppRelease; datahub: AppRelease } {
  const [prerequisites, datahub] = renderDatahub(ctx);
  return { prerequisites, datahub };
}

describe.each(CLOUD_CASES)("DataHub on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("datahub", cloud, production);
  const { prerequisites, datahub } = render(ctx);
  const db = ctx.database as NonNullable<AppContext["database"]>;

  it("renders the prerequisites first, then DataHub, with pinned charts", () => {
    expect(renderDatahub(ctx).map((release) => release.name)).toEqual([DATAHUB_PREREQUISITES_RELEASE, DATAHUB_RELEASE]);
    expect(prerequisites.chart).toEqual({ repository: "https://helm.datahubproject.io/", chart: "datahub-prerequisites", version: "0.3.0" });
    expect(datahub.chart).toEqual({ repository: "https://helm.datahubproject.io/", chart: "datahub", version: "1.1.0" });
    expect([prerequisites.chart, datahub.chart]).toEqual([DATAHUB_PREREQUISITES_CHART, DATAHUB_CHART]);
    expect(prerequisites.name).toBe("prerequisites");
  });

  it.each(["prerequisites", "datahub"] as const)("%s values fit the chart contract", (name) => {
    const release = name === "datahub" ? datahub : prerequisites;
    expect(unknown(release)).toEqual([]);
    expect(schemaErrors(chartContract(release.contract), release.values)).toEqual([]);
  });

  it("runs Kafka and OpenSearch from the prerequisites and disables every bundled database", () => {
    const values = prerequisites.values;
    for (const off of ["mysql", "postgresql", "neo4j", "elasticsearch", "gcloud-sqlproxy", "cp-helm-charts"]) expect(at(values, `${off}.enabled`)).toBe(false);
    expect(at(values, "opensearch.enabled")).toBe(true);
    expect(at(values, "kafka.enabled")).toBe(true);
    expect(at(values, "opensearch.persistence")).toMatchObject({ enabled: true, size: production ? "100Gi" : "20Gi" });
    expect(at(values, "kafka.controller.persistence")).toMatchObject({ enabled: true, size: production ? "50Gi" : "10Gi" });
    expect(at(values, "opensearch.replicas")).toBe(production ? 3 : 1);
    expect(at(values, "opensearch.singleNode")).toBe(!production);
    expect(at(values, "kafka.controller.replicaCount")).toBe(production ? 3 : 1);
    expect(at(values, "kafka.controller.extraConfig")).toContain(`offsets.topic.replication.factor=${production ? 3 : 1}`);
    expect(at(values, "kafka.controller.pdb")).toMatchObject({ create: production });
    expect(at(values, "opensearch.maxUnavailable")).toBe(1);
    // DataHub points at the prerequisites' services.
    expect(at(datahub.values, "global.kafka.bootstrap.server")).toBe("prerequisites-kafka:9092");
    expect(at(datahub.values, "global.elasticsearch.host")).toBe("opensearch-cluster-master");
    expect(at(datahub.values, "global.graph_service_impl")).toBe("elasticsearch");
    expect(at(datahub.values, "global.kafka.schemaregistry.type")).toBe("INTERNAL");
  });

  it("sizes the JVM heaps at half the memory limit", () => {
    const heap = (opts: unknown) => Number(/-Xmx(\d+)m/.exec(String(opts))?.[1]);
    expect(heap(at(prerequisites.values, "opensearch.opensearchJavaOpts"))).toBe(production ? 2048 : 1024);
    expect(heap(at(prerequisites.values, "kafka.controller.heapOpts"))).toBe(production ? 1536 : 768);
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
    for (const path of ["opensearch.resources", "kafka.controller.resources"]) expect(at(prerequisites.values, path)).toMatchObject({ requests: { cpu: expect.any(String) } });
    expect(at(datahub.values, "datahub-gms.resources")).toEqual(ctx.resources({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } }));
  });

  it("contains no credential, and every secret it reads is the database Secret or one it declares", () => {
    expect(credentialLiterals(prerequisites.values)).toEqual([]);
    expect(credentialLiterals(datahub.values)).toEqual([]);
    expect(at(datahub.values, "global.datahub.encryptionKey.provisionSecret.enabled")).toBe(false);
    expect(at(datahub.values, "global.datahub.metadata_service_authentication.provisionSecrets.enabled")).toBe(false);
    expect(datahub.generatedSecrets).toEqual([DATAHUB_SECRETS.encryption, DATAHUB_SECRETS.auth, DATAHUB_SECRETS.frontend]);
    const generated = new Map(datahub.generatedSecrets.map((secret) => [secret.name, Object.keys(secret.keys)]));
    const refs = [...secretRefs(datahub.values), at(datahub.values, "datahub-frontend.existingGmsSecret") as { name: string; key: string }];
    expect(refs.length).toBeGreaterThanOrEqual(7);
    const exists = ({ name, key }: { name: string; key: string }) =>
      name === db.secretName ? (Object.values(DATABASE_SECRET_KEYS) as string[]).includes(key) : (generated.get(name) ?? []).includes(key);
    expect(refs.filter((ref) => !exists(ref))).toEqual([]);
    // Every generated key is used.
    const used = new Set(refs.map(({ name, key }) => `${name}/${key}`));
    const declared = [...generated].flatMap(([name, keys]) => keys.map((key) => `${name}/${key}`));
    expect(declared.filter((ref) => !used.has(ref))).toEqual([]);
  });

  it("replaces the frontend's built-in datahub/datahub login with the generated password", () => {
    const frontend = at(datahub.values, "datahub-frontend") as Values;
    expect(frontend.defaultUserCredentials).toBeUndefined();
    expect(frontend.extraVolumeMounts).toEqual([{ name: "admin-user", mountPath: "/datahub-frontend/conf/user.props", subPath: "user.props", readOnly: true }]);
    const [init] = frontend.extraInitContainers as Values[];
    expect(init.image).toBe("docker.io/acryldata/datahub-frontend-react:v1.7.0");
    expect(init.env).toEqual([{ name: "DATAHUB_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: "datahub-frontend-secrets", key: "admin_password" } } }]);
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
