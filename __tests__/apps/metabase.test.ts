import { describe, expect, it } from "vitest";
import { METABASE_CHART, METABASE_SECRET, renderMetabase } from "../../constructs/apps/metabase";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, credentialLiterals, effectiveValues, leaves, maps, onlyRelease, secretRefs, type Values } from "../support/values";

const render = (ctx: AppContext): AppRelease => onlyRelease(renderMetabase(ctx));

describe.each(CLOUD_CASES)("Metabase on $cloud, production $production", ({ cloud, production }) => {
  const ctx = appContext("metabase", cloud, production);
  const release = render(ctx);
  const values = release.values;
  const db = ctx.database as NonNullable<AppContext["database"]>;

  it("is one pinned release", () => {
    expect(release.name).toBe("metabase");
    expect(release.chart).toEqual({ repository: "https://pmint93.github.io/helm-charts", chart: "metabase", version: "2.26.0" });
    expect(release.chart).toBe(METABASE_CHART);
  });

  it("fits the chart contract", () => {
    expect(unknownPaths(chartContract(release.contract), values)).toEqual([]);
    expect(schemaErrors(chartContract(release.contract), values)).toEqual([]);
  });

  it("keeps its application database in the platform's PostgreSQL, over TLS, all from the database Secret", () => {
    expect(at(values, "database")).toEqual({
      type: "postgres",
      existingSecret: db.secretName,
      existingSecretConnectionURIKey: DATABASE_SECRET_KEYS.jdbcUrl,
      existingSecretUsernameKey: DATABASE_SECRET_KEYS.username,
      existingSecretPasswordKey: DATABASE_SECRET_KEYS.password,
    });
    // The bundled H2 file database and its volume stay off.
    expect(at(effectiveValues(chartContract(release.contract), values), "database.persistence.enabled")).toBe(false);
  });

  it("reads the encryption key from its generated secret", () => {
    expect(release.generatedSecrets).toEqual([METABASE_SECRET]);
    expect(at(values, "extraEnv")).toEqual([
      { name: "MB_ENCRYPTION_SECRET_KEY", valueFrom: { secretKeyRef: { name: "metabase-secrets", key: "encryption-key" } } },
    ]);
    expect(Object.keys(METABASE_SECRET.keys)).toEqual(["encryption-key"]);
    // Metabase wants at least 16 characters.
    expect(METABASE_SECRET.keys["encryption-key"].length).toBeGreaterThanOrEqual(16);
    expect(at(values, "database.encryptionKey")).toBeUndefined();
  });

  it("runs as the platform's service account", () => {
    const accounts = maps(values).filter(({ path }) => path[path.length - 1] === "serviceAccount");
    expect(accounts.map(({ path }) => path.join("."))).toEqual(["serviceAccount"]);
    expect(at(values, "serviceAccount")).toEqual({ create: false, name: ctx.serviceAccount });
    expect(at(values, "podLabels")).toEqual(ctx.podLabels);
  });

  it("publishes the UI through the TLS ingress only", () => {
    expect(at(values, "ingress")).toEqual({
      enabled: true,
      className: "traefik",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
      hosts: ["metabase.data.example.com"],
      path: "/",
      pathType: "Prefix",
      tls: [{ secretName: "metabase-tls", hosts: ["metabase.data.example.com"] }],
    });
    expect(at(values, "siteUrl")).toBe("https://metabase.data.example.com");
    const effective = effectiveValues(chartContract(release.contract), values);
    expect(at(effective, "service.type")).toBe("ClusterIP");
    expect(leaves(effective).filter(({ value }) => value === "LoadBalancer")).toEqual([]);
  });

  it("replicates with a disruption budget in production, and sets resources", () => {
    expect(at(values, "replicaCount")).toBe(production ? 2 : 1);
    expect(at(values, "pdb")).toEqual({ create: production, minAvailable: 1 });
    expect(at(values, "resources")).toEqual(ctx.resources({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } }));
  });

  it("contains no credential", () => {
    expect(credentialLiterals(values)).toEqual([]);
    expect(secretRefs(values).filter(({ name }) => name !== db.secretName && name !== METABASE_SECRET.name)).toEqual([]);
  });
});

describe("Metabase edge cases", () => {
  it("has no ingress and no site URL when the environment gives it none", () => {
    const release = render({ ...appContext("metabase", "azure", false), ingress: undefined });
    expect(at(release.values, "ingress")).toEqual({ enabled: false });
    expect(at(release.values, "siteUrl")).toBeUndefined();
    expect(unknownPaths(chartContract(release.contract), release.values)).toEqual([]);
  });

  it("refuses a context without a database", () => {
    expect(() => renderMetabase({ ...appContext("metabase", "aws", true), database: undefined })).toThrow(/metabase: no database/);
  });

  it("the contract check catches a misspelt key", () => {
    const release = render(appContext("metabase", "gcp", true));
    const misspelt = { ...release.values, pdb: { ...(at(release.values, "pdb") as Values), creat: true } };
    expect(unknownPaths(chartContract(release.contract), misspelt)).toEqual(["pdb.creat"]);
  });

  it("the credential check catches a literal password", () => {
    const release = render(appContext("metabase", "gcp", true));
    const literal = { ...release.values, database: { ...(at(release.values, "database") as Values), password: "hunter2" } };
    expect(credentialLiterals(literal)).toEqual(["database.password"]);
  });
});
