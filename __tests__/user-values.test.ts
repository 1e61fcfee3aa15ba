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
import { Testing } from "cdktf";
import { describe, expect, it, vi } from "vitest";
import { APP_CHARTS, APP_RENDERERS } from "../constructs/apps/catalogue";
import { mergeUserValues } from "../constructs/apps/user-values";
import { CLOUDS, parseEnvironment, type EnvironmentInput } from "../constructs/core/spec";
import { APP_NAMES } from "../constructs/core/apps";
import { specChecks, synthesize } from "../stacks/app";
import { AppsStack } from "../stacks/apps";
import { releaseContracts } from "./support/chart-contract";
import { everyAppSpec, specProblems } from "./support/fixtures";
import { appContext } from "./support/app-context";

type Apps = NonNullable<EnvironmentInput["apps"]>;
type AppInput = Apps[number];

/** `everyAppSpec` with `extra` merged into the app of that name. */
function withApp(input: EnvironmentInput, name: string, extra: Partial<AppInput>): EnvironmentInput {
  return { ...input, apps: (input.apps ?? []).map((app) => (app.name === name ? { ...app, ...extra } : app)) };
}

const AIRFLOW_VALUES = { scheduler: { replicas: 3 }, airflowPodAnnotations: { "example.com/team": "data" } };
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
    expect(Object.keys(airflow)).toEqual([...Object.keys(ours), "airflowPodAnnotations"]);
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
      "the database Secret",
      { data: { metadataSecretName: "my-database" } },
      `  - apps[${airflow}].values.airflow.data.metadataSecretName: given "my-database"; accepted: no change to data.metadataSecretName ("airflow-database"): the platform wires airflow with it (a service account, a Secret it creates or syncs, or the infra stack); add keys beside it instead`,
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
    ["a pod template for Airflow's task pods (untrusted-accounts-powerless)", "airflow", { airflow: { podTemplate: "apiVersion: v1\nkind: Pod" } }, /helm_release\.airflow-airflow_\w+: untrusted-accounts-powerless \(.*\): podTemplate is set: it replaces the chart's pod template/],
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
