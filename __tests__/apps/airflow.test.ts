/**
 * The Airflow release against the upstream chart contract (values.yaml, values.schema.json, the
 * paths its templates read) and against the wiring the platform provides, on every cloud.
 */
import { describe, expect, it } from "vitest";
import {
  AIRFLOW_ADMIN_SECRET,
  AIRFLOW_CHART,
  AIRFLOW_KEYS_SECRET,
  renderAirflow,
} from "../../constructs/apps/airflow";
import type { AppContext, AppRelease } from "../../constructs/apps/types";
import { appContext } from "../support/app-context";
import { chartPods } from "../support/kubernetes/chart-pods";
import type { EnvVar } from "../support/kubernetes/pod-security";
import { schemaErrors, unknownPaths } from "../support/chart-contract";
import { at, chartContract, CLOUD_CASES, isMap, nodes, onlyRelease, releaseCredentialLiterals, REQUESTS_AND_MEMORY_LIMIT } from "../support/values";

const chart = chartContract("airflow");
const render = (ctx: AppContext): AppRelease => onlyRelease(renderAirflow(ctx));

describe.each(CLOUD_CASES)("airflow on $cloud (production: $production)", ({ cloud, production }) => {
  const ctx = appContext("airflow", cloud, production);
  const release = render(ctx);
  const values = release.values;

  it("pins the official chart and its contract", () => {
    expect(release.chart).toEqual(AIRFLOW_CHART);
    expect(release.chart).toEqual({ repository: "https://airflow.apache.org", chart: "airflow", version: "1.19.0" });
    expect(release.contract).toBe("airflow");
  });

  it("passes the chart contract: known paths and values.schema.json", () => {
    expect(unknownPaths(chart, values)).toEqual([]);
    expect(schemaErrors(chart, values)).toEqual([]);
  });

  it("uses the platform's database Secret and none of the chart's databases", () => {
    expect(at(values, "data.metadataSecretName")).toBe(ctx.database?.secretName);
    expect(at(values, "data.metadataConnection")).toBeUndefined();
    expect(at(values, "postgresql.enabled")).toBe(false);
    expect(at(values, "pgbouncer.enabled")).toBe(false);
    // The connection URL (with the host) comes from the Secret only.
    expect(JSON.stringify(values)).not.toContain(ctx.database?.host ?? "no host");
  });

  it("runs tasks as pods, without a broker", () => {
    expect(values.executor).toBe("KubernetesExecutor");
    expect(at(values, "redis.enabled")).toBe(false);
    expect(at(values, "flower.enabled")).toBe(false);
  });

  it("writes task logs to the app's bucket with the pod identity", () => {
    const bucket = ctx.bucket;
    if (!bucket) throw new Error("the airflow context has a bucket");
    const env = values.env as { name: string; value: string }[];
    const folder = String(at(values, "config.logging.remote_base_log_folder"));
    const actual = {
      remoteLogging: [at(values, "config.core.remote_logging"), at(values, "config.logging.remote_logging")],
      // Airflow picks the log handler by this prefix.
      handler: /^(s3:\/\/|gs:\/\/|wasb)/.exec(folder)?.[1],
      folder,
      connId: at(values, "config.logging.remote_log_conn_id"),
      container: at(values, "config.azure_remote_logging.remote_wasb_log_container"),
      connections: Object.fromEntries(env.map((entry) => [entry.name, JSON.parse(entry.value) as unknown])),
    };
    const expected = {
      aws: {
        handler: "s3://",
        folder: `s3://${bucket.name}/airflow/logs`,
        connId: "aws_default",
        container: undefined,
        connections: { AIRFLOW_CONN_AWS_DEFAULT: { conn_type: "aws", extra: { region_name: bucket.region } } },
      },
      gcp: {
        handler: "gs://",
        folder: `gs://${bucket.name}/airflow/logs`,
        connId: "google_cloud_default",
        container: undefined,
        connections: { AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT: { conn_type: "google_cloud_platform" } },
      },
      azure: {
        handler: "wasb",
        folder: "wasb-airflow-logs",
        connId: "wasb_default",
        container: bucket.name,
        // Only the account URL: no login, password, key or SAS in the connection.
        connections: { AIRFLOW_CONN_WASB_DEFAULT: { conn_type: "wasb", host: `https://${bucket.storageAccount}.blob.core.windows.net` } },
      },
    }[cloud];
    expect(actual).toEqual({ remoteLogging: ["True", "True"], ...expected });
  });

  it("runs Airflow's own pods as the platform's service account and task pods as the untrusted one, creating none", () => {
    const platformAccount = { create: false, name: ctx.serviceAccount };
    const tasksAccount = { create: false, name: ctx.untrustedAccount?.serviceAccount };
    expect(tasksAccount.name).toBe("airflow-tasks");
    const components = Object.entries(chart.defaults)
      .filter(([, section]) => isMap(section) && isMap(section.serviceAccount))
      .map(([component]) => component);
    expect(components.length).toBeGreaterThan(10);
    const expected = (component: string) => (component === "workers" ? tasksAccount : platformAccount);
    expect(Object.fromEntries(components.map((component) => [component, at(values, `${component}.serviceAccount`)]))).toEqual(
      Object.fromEntries(components.map((component) => [component, expected(component)])),
    );
    const everyAccount = nodes(values).filter(({ path }) => path[path.length - 1] === "serviceAccount").map(({ path, value }) => [path.join("."), value]);
    expect(Object.fromEntries(everyAccount)).toEqual(Object.fromEntries(everyAccount.map(([path]) => [path, expected(String(path).split(".")[0])])));
  });

  it("turns the chart's RBAC off and grants its Roles' rules to the platform's account alone", () => {
    // chart/templates/rbac/pod-launcher-rolebinding.yaml binds the workers' account with the KubernetesExecutor.
    expect(at(values, "rbac.create")).toBe(false);
    const [release] = renderAirflow(ctx);
    const granted = (release.namespaceRules ?? []).flatMap((rule) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${resource}:${verb}`)));
    // The scheduler launches and deletes task pods and reads their logs; the API server reads logs.
    expect(granted).toEqual(expect.arrayContaining(["pods:create", "pods:delete", "pods:watch", "pods/log:get", "events:watch"]));
    expect(granted.some((grant) => grant.startsWith("secrets"))).toBe(false);
  });

  it("labels every pod for the cloud identity", () => {
    expect(values.labels).toEqual(ctx.podLabels);
  });

  it("serves the UI through the API server's TLS ingress", () => {
    const ingress = at(values, "ingress.apiServer");
    expect(ingress).toMatchObject({
      enabled: true,
      ingressClassName: ctx.ingress?.className,
      annotations: ctx.ingress?.annotations,
      hosts: [{ name: ctx.ingress?.host, tls: { enabled: true, secretName: ctx.ingress?.tlsSecretName } }],
    });
    expect(at(values, "config.api.base_url")).toBe(`https://${ctx.ingress?.host}/`);
  });

  it("sizes and spreads the long-running components", () => {
    const longRunning = ["apiServer", "scheduler", "triggerer", "dagProcessor"];
    const spread = (component: string) => ({
      enoughReplicas: Number(at(values, `${component}.replicas`)) >= (production ? 2 : 1),
      podDisruptionBudget: at(values, `${component}.podDisruptionBudget.enabled`),
    });
    expect(Object.fromEntries(longRunning.map((component) => [component, spread(component)]))).toEqual(
      Object.fromEntries(longRunning.map((component) => [component, { enoughReplicas: true, podDisruptionBudget: production }])),
    );
    expect(Object.fromEntries(longRunning.map((component) => [component, at(values, `${component}.replicas`)]))).toEqual(
      Object.fromEntries(longRunning.map((component) => [component, ctx.replicas])),
    );
    const sized = [...longRunning, "workers", "statsd", "migrateDatabaseJob", "createUserJob"];
    expect(Object.fromEntries(sized.map((component) => [component, at(values, `${component}.resources`)]))).toEqual(
      Object.fromEntries(sized.map((component) => [component, REQUESTS_AND_MEMORY_LIMIT])),
    );
  });

  it("takes the chart's keys from generated secrets", () => {
    const keys = release.generatedSecrets.find((secret) => secret.name === AIRFLOW_KEYS_SECRET);
    expect(values.fernetKeySecretName).toBe(AIRFLOW_KEYS_SECRET);
    expect(values.apiSecretKeySecretName).toBe(AIRFLOW_KEYS_SECRET);
    expect(values.jwtSecretName).toBe(AIRFLOW_KEYS_SECRET);
    // The key names the chart reads from those Secrets.
    expect(Object.keys(keys?.keys ?? {}).sort()).toEqual(["api-secret-key", "fernet-key", "jwt-secret"]);
    // 32 characters as padded base64url: 44 characters that decode to the 32 bytes Fernet needs.
    expect(keys?.keys["fernet-key"]).toEqual({ length: 32, encoding: "base64url" });
    expect(values.fernetKey).toBeUndefined();
    expect(values.apiSecretKey).toBeUndefined();
    expect(values.jwtSecret).toBeUndefined();
  });

  it("gives the JWT and API signing keys to Airflow's own processes and not to task pods, as chart 1.19.0 renders their env", () => {
    const pods = chartPods({ address: "helm_release.airflow", name: "airflow", namespace: "airflow", chart: AIRFLOW_CHART.chart, version: AIRFLOW_CHART.version, values });
    const envOf = (component: string, container: string): readonly EnvVar[] => {
      const pod = pods.find((candidate) => candidate.name === `airflow/${component}`)?.pod;
      const found = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].find((candidate) => candidate.name === container);
      if (found?.env === undefined) throw new Error(`no env modelled for ${component}/${container}`);
      return found.env;
    };
    const signing = (env: readonly EnvVar[]) => env.filter((item) => ["AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"].includes(item.name));
    const expected = [
      { name: "AIRFLOW__API_AUTH__JWT_SECRET", secretKeyRef: { name: AIRFLOW_KEYS_SECRET, key: "jwt-secret" } },
      { name: "AIRFLOW__API__SECRET_KEY", secretKeyRef: { name: AIRFLOW_KEYS_SECRET, key: "api-secret-key" } },
    ];
    // Airflow's own processes: each key once, from the generated Secret.
    for (const component of ["apiServer", "scheduler", "triggerer", "dagProcessor"]) expect(signing(envOf(component, component))).toEqual(expected);
    // Task pods (user code), the migration check and the jobs: neither key.
    expect(signing(envOf("workers", "base"))).toEqual([]);
    expect(signing(envOf("scheduler", "wait-for-airflow-migrations"))).toEqual([]);
    expect(signing(envOf("migrateDatabaseJob", "migrateDatabaseJob"))).toEqual([]);
    // Everything else the chart gives them stays: the database URL and the Fernet key reach each, the
    // remote-logging connection too.
    for (const [component, container] of [["workers", "base"], ["apiServer", "apiServer"], ["scheduler", "wait-for-airflow-migrations"], ["migrateDatabaseJob", "migrateDatabaseJob"]]) {
      expect(envOf(component, container).map((item) => item.name)).toEqual(expect.arrayContaining(["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]));
    }
    expect(envOf("workers", "base").map((item) => item.name)).toContain((values.env as { name: string }[])[0].name);
    // The check: with the chart's built-in variables left on, task pods would hold both keys.
    const { enableBuiltInSecretEnvVars: _off, ...chartDefault } = values;
    const defaultPods = chartPods({ address: "helm_release.airflow", name: "airflow", namespace: "airflow", chart: AIRFLOW_CHART.chart, version: AIRFLOW_CHART.version, values: chartDefault });
    const defaultTaskEnv = defaultPods.find((candidate) => candidate.name === "airflow/workers")?.pod.containers[0].env ?? [];
    expect(signing(defaultTaskEnv).map((item) => item.name)).toEqual(["AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"]);
  });

  it("creates no admin/admin: the admin password comes from a generated secret", () => {
    expect(at(values, "createUserJob.defaultUser.password")).toBe("$(AIRFLOW_ADMIN_PASSWORD)");
    expect(at(values, "createUserJob.env")).toEqual([
      { name: "AIRFLOW_ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: AIRFLOW_ADMIN_SECRET, key: "password" } } },
    ]);
    expect(release.generatedSecrets.find((secret) => secret.name === AIRFLOW_ADMIN_SECRET)?.keys.password).toBeDefined();
  });

  it("runs the migration and user jobs as plain Jobs, so Helm's wait cannot deadlock on them", () => {
    for (const job of ["migrateDatabaseJob", "createUserJob"]) {
      expect(at(values, job)).toMatchObject({ useHelmHooks: false, applyCustomEnv: false });
    }
  });

  it("contains no credential", () => {
    expect(releaseCredentialLiterals(release, ctx)).toEqual([]);
  });
});

describe("airflow checks that can fail", () => {
  const ctx = appContext("airflow", "aws", true);
  const values = render(ctx).values;

  it("the contract check reports a misspelt key", () => {
    const misspelt = { ...values, scheduler: { ...(values.scheduler as Record<string, unknown>), replica: 2 } };
    expect(unknownPaths(chart, misspelt)).toEqual(["scheduler.replica"]);
    expect(unknownPaths(chart, { ...values, exector: "KubernetesExecutor" })).toEqual(["exector"]);
  });

  it("the schema check reports a value of the wrong type", () => {
    expect(schemaErrors(chart, { ...values, executor: 42 })).not.toEqual([]);
  });

  it("the credential check reports a literal password", () => {
    const release = render(ctx);
    const leaky = { ...release, values: { ...values, createUserJob: { defaultUser: { password: "admin" } } } };
    expect(releaseCredentialLiterals(leaky, ctx)).toEqual(["createUserJob.defaultUser.password = admin"]);
    const leakyEnv = { ...release, values: { ...values, env: [{ name: "AWS_SECRET_ACCESS_KEY", value: "abc" }] } };
    expect(releaseCredentialLiterals(leakyEnv, ctx)).toEqual(["env.0 (AWS_SECRET_ACCESS_KEY)"]);
  });

  it("serves no ingress when the app has no host", () => {
    const { ingress: _none, ...withoutIngress } = ctx;
    const release = render(withoutIngress);
    expect(at(release.values, "ingress.apiServer")).toEqual({ enabled: false });
    expect(at(release.values, "config.api")).toBeUndefined();
    expect(unknownPaths(chart, release.values)).toEqual([]);
  });

  it("refuses a context without a database or bucket", () => {
    expect(() => renderAirflow({ ...ctx, database: undefined })).toThrow(/no database/);
    expect(() => renderAirflow({ ...ctx, bucket: undefined })).toThrow(/no bucket/);
    expect(() => renderAirflow({ ...ctx, untrustedAccount: undefined })).toThrow(/no untrusted service account for task pods/);
  });
});
