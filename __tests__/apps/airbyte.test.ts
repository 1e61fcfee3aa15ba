/**
 * The Airbyte release against the upstream v2 chart contract (values.yaml and the paths its
 * templates read; the chart ships no values.schema.json) and against the wiring the platform
 * provides, on every cloud.
 */
import { describe, expect, it } from "vitest";
import {
  AIRBYTE_AUTH_SECRET,
  AIRBYTE_CHART,
  AIRBYTE_MINIO_SECRET,
  renderAirbyte,
} from "../../constructs/apps/airbyte";
import type { AppContext, AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { schemaErrors, unknownPaths, type ChartContract } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, isMap, nodes, onlyRelease, releaseCredentialLiterals, REQUESTS_AND_MEMORY_LIMIT } from "../support/values";

const chart = chartContract("airbyte-v2");
const render = (ctx: AppContext): AppRelease => onlyRelease(renderAirbyte(ctx));

/**
 * `unknownPaths` leaves `global` alone (subcharts share it), so this checks our `global` keys:
 * each must be in the chart's defaults or lead to a path its templates read. Label maps are
 * free-form below their own key.
 */
function unknownGlobalPaths(contract: ChartContract, values: Record<string, unknown>): string[] {
  const startsWith = (path: readonly string[], prefix: readonly string[]) => prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
  const known = (path: string[]) => at(contract.defaults, path.join(".")) !== undefined || contract.referenced.some((ref) => startsWith(ref, path));
  const unknown: string[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (!known(path)) {
      unknown.push(path.join("."));
      return;
    }
    if (path[path.length - 1] === "labels" || !isMap(node)) return;
    for (const [key, child] of Object.entries(node)) visit(child, [...path, key]);
  };
  visit(values.global, ["global"]);
  return unknown;
}

/** Components the chart runs by default (plus the bootloader pod, which has no `enabled`). */
const runningComponents = Object.entries(chart.defaults)
  .filter(([name, section]) => isMap(section) && (section.enabled === true || name === "airbyteBootloader") && "serviceAccountName" in section)
  .map(([name]) => name);

describe.each(CLOUD_CASES)("airbyte on $cloud (production: $production)", ({ cloud, production }) => {
  const ctx = appContext("airbyte", cloud, production);
  const release = render(ctx);
  const values = release.values;

  it("pins the v2 chart and its contract", () => {
    expect(release.chart).toEqual(AIRBYTE_CHART);
    expect(release.chart).toEqual({ repository: "https://airbytehq.github.io/charts", chart: "airbyte", version: "2.2.0" });
    expect(release.contract).toBe("airbyte-v2");
  });

  it("passes the chart contract, global keys included", () => {
    expect(unknownPaths(chart, values)).toEqual([]);
    expect(schemaErrors(chart, values)).toEqual([]);
    expect(unknownGlobalPaths(chart, values)).toEqual([]);
  });

  it("uses the platform's database and Secret, not the bundled PostgreSQL", () => {
    expect(at(values, "postgresql.enabled")).toBe(false);
    expect(at(values, "global.database")).toEqual({
      type: "external",
      host: ctx.database?.host,
      port: ctx.database?.port,
      name: ctx.database?.name,
      secretName: ctx.database?.secretName,
      userSecretKey: "username",
      passwordSecretKey: "password",
      replica: { userSecretKey: "username", passwordSecretKey: "password" },
    });
  });

  it("keeps state and logs in S3 with IRSA on AWS, in the bundled MinIO elsewhere", () => {
    const bucket = ctx.bucket;
    if (!bucket) throw new Error("the airbyte context has a bucket");
    const documents = ["activityPayload", "auditLogging", "log", "state", "workloadOutput"];
    const inBucket = (name: string) => Object.fromEntries(documents.map((document) => [document, name]));
    const actual = {
      storage: at(values, "global.storage"),
      minioEnabled: at(values, "minio.enabled"),
      minioVolume: at(values, "minio.storage.volumeClaimValue"),
      // The MinIO template renders the CPU limit unconditionally.
      minioCpuLimit: at(values, "minio.resources.limits.cpu"),
      generatedSecrets: release.generatedSecrets.map((secret) => ({ name: secret.name, keys: Object.keys(secret.keys).sort() })),
    };
    const inS3 = {
      storage: { type: "s3", bucket: inBucket(bucket.name), s3: { region: bucket.region, authenticationType: "instanceProfile" } },
      minioEnabled: false,
      minioVolume: undefined,
      minioCpuLimit: undefined,
      generatedSecrets: [],
    };
    const inMinio = {
      storage: { type: "minio", secretName: AIRBYTE_MINIO_SECRET, bucket: inBucket(expect.any(String)) },
      minioEnabled: true,
      minioVolume: expect.stringMatching(/^\d+Gi$/),
      minioCpuLimit: expect.any(String),
      generatedSecrets: [{ name: AIRBYTE_MINIO_SECRET, keys: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] }],
    };
    expect(actual).toEqual(cloud === "aws" ? inS3 : inMinio);
  });

  it("runs every component as the platform's service account and job pods as the untrusted one", () => {
    // The chart's only use of global.serviceAccountName besides the per-component defaults is JOB_KUBE_SERVICEACCOUNT (templates/config/_jobs.tpl).
    expect(at(values, "global.serviceAccountName")).toBe("airbyte-jobs");
    expect(ctx.untrustedAccount?.serviceAccount).toBe("airbyte-jobs");
    expect(values.serviceAccount).toEqual({ create: false, name: ctx.serviceAccount });
    const components = Object.entries(chart.defaults)
      .filter(([name, section]) => name !== "global" && isMap(section) && "serviceAccountName" in section)
      .map(([component]) => component);
    expect(components.length).toBeGreaterThan(10);
    expect(Object.fromEntries(components.map((component) => [component, at(values, `${component}.serviceAccountName`)]))).toEqual(
      Object.fromEntries(components.map((component) => [component, ctx.serviceAccount])),
    );
    const everyName = nodes(values).filter(({ path }) => path[path.length - 1] === "serviceAccountName").map(({ path, value }) => [path.join("."), value]);
    expect(Object.fromEntries(everyName)).toEqual(Object.fromEntries(everyName.map(([path]) => [path, path === "global.serviceAccountName" ? "airbyte-jobs" : ctx.serviceAccount])));
  });

  it("labels every running pod for the cloud identity, and job pods only where their account has it", () => {
    expect(runningComponents.length).toBeGreaterThanOrEqual(8);
    expect(Object.fromEntries(runningComponents.map((component) => [component, at(values, `${component}.podLabels`)]))).toEqual(
      Object.fromEntries(runningComponents.map((component) => [component, ctx.podLabels])),
    );
    // Job pods reach storage with the identity on AWS only (MinIO elsewhere): no Azure workload identity label there.
    expect(at(values, "global.jobs.kube.labels")).toEqual(cloud === "aws" ? ctx.podLabels : {});
  });

  it("serves the UI through a TLS ingress to the server", () => {
    expect(values.ingress).toEqual({
      enabled: true,
      className: ctx.ingress?.className,
      annotations: ctx.ingress?.annotations,
      hosts: [{ host: ctx.ingress?.host, paths: [{ path: "/", pathType: "Prefix", backend: "server" }] }],
      tls: [{ secretName: ctx.ingress?.tlsSecretName, hosts: [ctx.ingress?.host] }],
    });
    expect(at(values, "global.airbyteUrl")).toBe(`https://${ctx.ingress?.host}`);
  });

  it("sizes every running component and replicates the stateless ones", () => {
    expect(Object.fromEntries(runningComponents.map((component) => [component, at(values, `${component}.resources`)]))).toEqual(
      Object.fromEntries(runningComponents.map((component) => [component, REQUESTS_AND_MEMORY_LIMIT])),
    );
    const stateless = ["server", "worker", "workloadLauncher", "workloadApiServer", "manifestServer"];
    expect(Object.fromEntries(stateless.map((component) => [component, Number(at(values, `${component}.replicaCount`)) >= (production ? 2 : 1)]))).toEqual(
      Object.fromEntries(stateless.map((component) => [component, true])),
    );
    expect(Object.fromEntries(stateless.map((component) => [component, at(values, `${component}.replicaCount`)]))).toEqual(
      Object.fromEntries(stateless.map((component) => [component, ctx.replicas])),
    );
    expect({ cron: at(values, "cron.replicaCount"), temporal: at(values, "temporal.replicaCount") }).toEqual({ cron: 1, temporal: 1 });
  });

  it("leaves the auth Secret to the bootloader, which keeps its values across upgrades", () => {
    expect(at(values, "global.auth")).toEqual({ managedSecretName: AIRBYTE_AUTH_SECRET, secretCreationEnabled: true });
    expect(at(values, "global.auth.instanceAdmin")).toBeUndefined();
  });

  it("contains no credential", () => {
    expect(releaseCredentialLiterals(release, ctx, [AIRBYTE_AUTH_SECRET])).toEqual([]);
  });
});

describe("airbyte checks that can fail", () => {
  const ctx = appContext("airbyte", "gcp", true);
  const release = render(ctx);
  const values = release.values;

  it("the contract check reports a misspelt key", () => {
    const misspelt = { ...values, server: { ...(values.server as Record<string, unknown>), replicaCunt: 2 } };
    expect(unknownPaths(chart, misspelt)).toEqual(["server.replicaCunt"]);
    const misspeltGlobal = { ...values, global: { ...(values.global as Record<string, unknown>), databse: {}, storage: { typ: "s3" } } };
    expect(unknownGlobalPaths(chart, misspeltGlobal).sort()).toEqual(["global.databse", "global.storage.typ"]);
  });

  it("the credential check reports a literal secret", () => {
    const leaky = { ...release, values: { ...values, global: { storage: { minio: { secretAccessKey: "minio123" } } } } };
    expect(releaseCredentialLiterals(leaky, ctx, [AIRBYTE_AUTH_SECRET])).toEqual(["global.storage.minio.secretAccessKey = minio123"]);
  });

  it("the chart has no PodDisruptionBudget to enable", () => {
    const mentionsPdb = (path: readonly string[]) => path.some((key) => /disruption|pdb/i.test(key));
    expect(nodes(chart.defaults).some(({ path }) => mentionsPdb(path))).toBe(false);
    expect(chart.referenced.some(mentionsPdb)).toBe(false);
  });

  it("serves no ingress when the app has no host", () => {
    const { ingress: _none, ...withoutIngress } = ctx;
    const plain = render(withoutIngress).values;
    expect(plain.ingress).toEqual({ enabled: false });
    expect(at(plain, "global.airbyteUrl")).toBeUndefined();
    expect(unknownPaths(chart, plain)).toEqual([]);
  });

  it("refuses a context without a database or bucket", () => {
    expect(() => renderAirbyte({ ...ctx, database: undefined })).toThrow(/no database/);
    expect(() => renderAirbyte({ ...ctx, bucket: undefined })).toThrow(/no bucket/);
    expect(() => renderAirbyte({ ...ctx, untrustedAccount: undefined })).toThrow(/no untrusted service account for job pods/);
  });
});
