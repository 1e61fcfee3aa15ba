import { describe, expect, it } from "vitest";
import { METABASE_CHART, METABASE_SECRET, renderMetabase } from "../../constructs/apps/metabase";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import type { Cloud } from "../../constructs/core/spec";
import { appContext } from "../support/app-context";
import { loadChart, mergeValues, schemaErrors, unknownPaths, type ChartContract } from "../support/chart-contract";

const CLOUDS: readonly Cloud[] = ["aws", "azure", "gcp"];
const CASES = CLOUDS.flatMap((cloud) => [true, false].map((production) => ({ cloud, production })));

type Values = Record<string, unknown>;
const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value);

const contracts = new Map<string, ChartContract>();
/** Chart contracts, loaded once per file. */
function contract(folder: string): ChartContract {
  const loaded = contracts.get(folder) ?? loadChart(folder);
  contracts.set(folder, loaded);
  return loaded;
}

/** The value at a dotted path (keys with dots are not used on these paths). */
function at(values: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isMap(node) ? node[key] : undefined), values);
}

/** Every leaf of a values tree with its key path. */
function leaves(value: unknown, path: readonly string[] = []): { path: readonly string[]; value: unknown }[] {
  if (isMap(value)) return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
  if (Array.isArray(value)) return value.flatMap((child, i) => leaves(child, [...path, String(i)]));
  return [{ path, value }];
}

/** Every map in a values tree with its key path. */
function maps(value: unknown, path: readonly string[] = []): { path: readonly string[]; value: Values }[] {
  const children = isMap(value) ? Object.entries(value) : Array.isArray(value) ? value.map((child, i) => [String(i), child] as const) : [];
  return [...(isMap(value) ? [{ path, value }] : []), ...children.flatMap(([key, child]) => maps(child, [...path, key]))];
}

const CREDENTIAL = /pass(word)?|secret|token|credential|salt|api_?key|private_?key|encryption_?key|signing_?key/i;
const REFERENCE = /^(name|key|secretRef|secretKey|secretName|existingSecret|passwordKey|userKey|existingSecret\w*Key)$/;

/** Literal strings under credential-like keys, except references to Secrets (names and keys). */
function credentialLiterals(values: Values): string[] {
  return leaves(values)
    .filter(({ path, value }) => typeof value === "string" && value !== "" && path.some((key) => CREDENTIAL.test(key)))
    .filter(({ path }) => !REFERENCE.test(path[path.length - 1]))
    .map(({ path }) => path.join("."));
}

/** Secret references the chart turns into `secretKeyRef`s: `{secretRef, secretKey}` and `secretKeyRef: {name, key}`. */
function secretRefs(values: Values): { name: string; key: string }[] {
  return maps(values).flatMap(({ path, value }) => {
    if (typeof value.secretRef === "string" && typeof value.secretKey === "string") return [{ name: value.secretRef, key: value.secretKey }];
    if (path[path.length - 1] === "secretKeyRef") return [{ name: String(value.name), key: String(value.key) }];
    return [];
  });
}

/** The values Helm would use, bundled subcharts included (their defaults, the parent's, ours). */
function effectiveValues(chart: ChartContract, values: Values): Values {
  const merged = mergeValues(chart.defaults, values) as Values;
  for (const [key, sub] of chart.subcharts) merged[key] = mergeValues(mergeValues(sub.defaults, chart.defaults[key]), values[key]);
  return merged;
}

function render(ctx: AppContext): AppRelease {
  const releases = renderMetabase(ctx);
  expect(releases).toHaveLength(1);
  return releases[0];
}

describe.each(CASES)("Metabase on $cloud, production $production", ({ cloud, production }) => {
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
    expect(unknownPaths(contract(release.contract), values)).toEqual([]);
    expect(schemaErrors(contract(release.contract), values)).toEqual([]);
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
    expect(at(effectiveValues(contract(release.contract), values), "database.persistence.enabled")).toBe(false);
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
    const effective = effectiveValues(contract(release.contract), values);
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
    expect(unknownPaths(contract(release.contract), release.values)).toEqual([]);
  });

  it("refuses a context without a database", () => {
    expect(() => renderMetabase({ ...appContext("metabase", "aws", true), database: undefined })).toThrow(/metabase: no database/);
  });

  it("the contract check catches a misspelt key", () => {
    const release = render(appContext("metabase", "gcp", true));
    const misspelt = { ...release.values, pdb: { ...(at(release.values, "pdb") as Values), creat: true } };
    expect(unknownPaths(contract(release.contract), misspelt)).toEqual(["pdb.creat"]);
  });

  it("the credential check catches a literal password", () => {
    const release = render(appContext("metabase", "gcp", true));
    const literal = { ...release.values, database: { ...(at(release.values, "database") as Values), password: "hunter2" } };
    expect(credentialLiterals(literal)).toEqual(["database.password"]);
  });
});
