/**
 * The `<env>-apps` stack on each cloud, asserted on its synthesized JSON: how it reaches the
 * cluster, the wiring each app gets (database host, secret names, bucket URL, identity
 * annotation) and, for every Helm release of a chart whose contract is in shared/charts, the
 * values Helm would receive checked against that chart.
 */
import { valueAt } from "../scripts/stack-diff";
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { CLOUDS, parseEnvironment, type Cloud, type EnvironmentInput } from "../constructs/core/spec";
import { AppsStack } from "../stacks/apps";
import { loadChart, schemaErrors, unknownPaths } from "./support/chart-contract";
import { everyAppSpec } from "./support/fixtures";
import { SynthesizedStack, type TfBlock } from "./support/synth";

function synthApps(input: EnvironmentInput): SynthesizedStack {
  const app = Testing.app();
  return new SynthesizedStack(Testing.synth(new AppsStack(app, parseEnvironment(input))));
}

/** Helm releases by name, with their values parsed. */
function releases(stack: SynthesizedStack): Map<string, { block: TfBlock; values: Record<string, unknown> }> {
  return new Map(
    stack.all("helm_release").map((block) => [String(block.name), { block, values: JSON.parse(String((block.values as string[])[0]).replace(/\$\{[^}]*\}/g, (e) => e.replace(/"/g, "'"))) }]),
  );
}

const CONTRACTS: Readonly<Record<string, string>> = {
  "airflow": "airflow",
  "airbyte": "airbyte-v2",
  "datahub": "datahub",
  "prerequisites": "datahub-prerequisites",
  "metabase": "metabase",
  "grafana": "grafana",
  "monitoring": "kube-prometheus-stack",
  "otel-collector": "opentelemetry-collector",
};

const IDENTITY_ANNOTATION: Readonly<Record<Cloud, RegExp>> = {
  aws: /^eks\.amazonaws\.com\/role-arn$/,
  azure: /^azure\.workload\.identity\/client-id$/,
  gcp: /^iam\.gke\.io\/gcp-service-account$/,
};

describe.each(CLOUDS.flatMap((cloud) => [[cloud, false], [cloud, true]] as const))("apps stack on %s (production: %s)", (cloud, production) => {
  const stack = synthApps(everyAppSpec(cloud, production));
  const byName = releases(stack);

  it("configures the kubernetes and helm providers from the cluster, with no static credential", () => {
    const kubernetes = stack.json.provider?.kubernetes?.[0] ?? {};
    expect(String(kubernetes.host)).toMatch(/^\$\{|^https:\/\/\$\{/);
    expect(kubernetes).not.toHaveProperty("client_key");
    expect(kubernetes).not.toHaveProperty("password");
    expect(stack.json.provider?.helm?.[0]).toHaveProperty("kubernetes");
  });

  it("gives each app a service account annotated with its own cloud identity", () => {
    const accounts = stack.all("kubernetes_service_account_v1").map((sa) => sa.metadata as { name: string; namespace: string; annotations: Record<string, string> });
    for (const app of ["airflow", "airbyte", "datahub", "metabase", "grafana", "monitoring"]) {
      const account = accounts.find((a) => a.namespace === app || (app === "monitoring" && a.namespace === "monitoring"));
      expect(account).toBeDefined();
      const keys = Object.keys(account?.annotations ?? {});
      expect(keys.some((key) => IDENTITY_ANNOTATION[cloud].test(key))).toBe(true);
    }
  });

  it("wires each app to its own database credential, created in-cluster, never as a value", () => {
    const wiring = byName.get("airflow-wiring");
    const manifests = (wiring?.values.manifests ?? []) as Record<string, unknown>[];
    const externalSecret = (inBootstrap: boolean) =>
      manifests.find((m) => m.kind === "ExternalSecret" && ((m.metadata as { namespace: string }).namespace === "db-bootstrap") === inBootstrap && (m.metadata as { name: string }).name === "airflow-database");
    // The password alone is generated once in the bootstrap namespace; the host is in no Secret created once.
    const credential = externalSecret(true);
    expect({ policy: valueAt(credential, "spec.refreshPolicy"), template: JSON.stringify(credential).includes("{{ .password }}"), host: JSON.stringify(credential).includes("5432") }).toEqual({ policy: "CreatedOnce", template: true, host: false });
    // Airflow's copy renders the connection from that password and the current host at every sync.
    const copy = externalSecret(false);
    expect(valueAt(copy, "spec.dataFrom")).toEqual([{ extract: { key: "airflow-database" } }]);
    expect(JSON.stringify(copy)).toMatch(/postgresql:\/\/airflow:\{\{ \.password \}\}@[^"]+:5432\/airflow\?sslmode=require/);
    const job = manifests.find((m) => m.kind === "Job");
    expect(JSON.stringify(job)).toContain("CREATE DATABASE");
    expect(byName.get("airflow")?.values).toMatchObject({ data: { metadataSecretName: "airflow-database" }, postgresql: { enabled: false } });
    expect(stack.text).not.toMatch(/"(password|pass|PGPASSWORD)"\s*:\s*"(?!\$\{|\{\{)[^"]+"/);
  });

  it("points Airflow's remote logs at the environment's bucket with the cloud's URL scheme", () => {
    const logs = JSON.stringify(byName.get("airflow")?.values);
    const scheme = { aws: "s3://", azure: "wasb", gcp: "gs://" }[cloud];
    expect(logs).toContain(scheme);
  });

  it.each(Object.keys(CONTRACTS))("%s values pass the chart's contract (schema and key paths)", (release) => {
    const found = byName.get(release);
    expect(found).toBeDefined();
    const chart = loadChart(CONTRACTS[release]);
    const values = found?.values ?? {};
    expect(unknownPaths(chart, values)).toEqual([]);
    expect(schemaErrors(chart, values)).toEqual([]);
  });

  it("serves each UI over TLS on its spec host", () => {
    const text = JSON.stringify([...byName.values()].map((r) => r.values));
    for (const host of ["airflow", "airbyte", "datahub", "metabase", "grafana"]) expect(text).toContain(`${host}.data.example.com`);
    expect(text).toContain("cert-manager.io/cluster-issuer");
  });

  it("installs DataHub in order: the Strimzi operator, its Kafka resources, the prerequisites, DataHub", () => {
    const ids = Object.keys(stack.resources("helm_release"));
    const id = (fragment: RegExp) => {
      const found = ids.filter((candidate) => fragment.test(candidate));
      expect(found).toHaveLength(1);
      return `helm_release.${found[0]}`;
    };
    const [operator, resources, prerequisites, datahub] = [/^datahub-strimzi_/, /^datahub-strimzi-resources_/, /^datahub-prerequisites_/, /^datahub-datahub_/].map(id);
    const dependsOn = (address: string) => (stack.resources("helm_release")[address.replace("helm_release.", "")]?.depends_on as string[] | undefined) ?? [];
    expect(dependsOn(resources)).toEqual([operator]);
    expect(dependsOn(prerequisites)).toEqual([resources]);
    expect(dependsOn(datahub)).toEqual([prerequisites]);
    expect(byName.get("strimzi")?.block).toMatchObject({ namespace: "datahub-strimzi", repository: "oci://quay.io/strimzi-helm", chart: "strimzi-kafka-operator", version: "1.2.0" });
    expect(byName.get("strimzi-resources")?.block.namespace).toBe("datahub");
  });

  it("installs External Secrets, Traefik, cert-manager and external-dns at pinned versions", () => {
    for (const name of ["external-secrets", "traefik", "cert-manager", "external-dns"]) {
      expect(String(byName.get(name)?.block.version)).toMatch(/^v?\d+\.\d+\.\d+$/);
    }
  });
});

describe("service account annotations name the identities the infra stack created", () => {
  const annotationsOf = (cloud: Cloud) =>
    synthApps(everyAppSpec(cloud, false))
      .all("kubernetes_service_account_v1")
      .map((sa) => sa.metadata as { namespace: string; annotations: Record<string, string> })
      .find((sa) => sa.namespace === "airflow")?.annotations;

  it("AWS: the role ARN of test-app-airflow", () => {
    expect(annotationsOf("aws")).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/test-app-airflow" });
  });

  it("GCP: the email of the app's Google service account", () => {
    expect(annotationsOf("gcp")?.["iam.gke.io/gcp-service-account"]).toMatch(/^test-airflow@acme-data-test\.iam\.gserviceaccount\.com$/);
  });

  it("Azure: the client id of the app's managed identity, looked up by name", () => {
    expect(annotationsOf("azure")?.["azure.workload.identity/client-id"]).toMatch(/^\$\{data\.azurerm_user_assigned_identity\..*\.client_id\}$/);
  });
});
