/**
 * Each of Kubernetes' rules that kubernetes.test.ts applies, with a case it must accept and a case
 * it must reject, so none can pass vacuously; and the defects the review found, each rebuilt and
 * caught.
 */
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { KUBERNETES_VERSIONS, parseEnvironment } from "../constructs/core/spec";
import { AppsStack } from "../stacks/apps";
import { renderAirbyte } from "../constructs/apps/airbyte";
import { renderAirflow } from "../constructs/apps/airflow";
import { DATAHUB_PREREQUISITES_RELEASE, DATAHUB_RELEASE, renderDatahub } from "../constructs/apps/datahub";
import { renderMetabase } from "../constructs/apps/metabase";
import type { AppRelease } from "../constructs/apps/types";
import { kafkaResources } from "../constructs/apps/datahub-kafka";
import { renderMonitoring } from "../constructs/apps/monitoring";
import { EKS_SPOT_TAINT } from "../constructs/aws/cluster";
import { AKS_SPOT_TAINT } from "../constructs/azure/cluster";
import { appContext } from "./support/app-context";
import { everyAppSpec } from "./support/fixtures";
import { chartPods, chartTemplateFailures, type ChartPod } from "./support/kubernetes/chart-pods";
import { bitnamiImageProblems, namespaceLevelProblems, orderingProblems, placementProblems, podSecurityProblems, strictestLevel, tolerates, unexplainedNamespaceLevels, unnamedFailingPods } from "./support/kubernetes/checks";
import { operatorWebhookViolations } from "./support/kubernetes/operator-webhooks";
import { customResourceViolations, toJsonSchema } from "./support/kubernetes/crds";
import * as names from "./support/kubernetes/names";
import { renderedApps, type ChartRelease, type KubeObject, type Located, type RenderedApps } from "../scripts/rendered-apps";
import { coreObjectViolations, SCHEMA_KUBERNETES_VERSION } from "./support/kubernetes/openapi";
import { admittedPod, checksOf, podSecurityViolations, type PodSecuritySubject } from "./support/kubernetes/pod-security";

const located = (object: Record<string, unknown>): Located<KubeObject> => ({ source: "test", object: object as unknown as KubeObject });

describe("name rules (k8s.io/apimachinery validation at 1.31)", () => {
  const cases: [string, (value: string) => string | undefined, string, string][] = [
    ["DNS-1123 label", names.dns1123Label, "airflow", "Airflow"],
    ["DNS-1123 label length", names.dns1123Label, "a".repeat(63), "a".repeat(64)],
    ["DNS-1035 label", names.dns1035Label, "gms", "1gms"],
    ["DNS-1123 subdomain", names.dns1123Subdomain, "datahub-auth-secrets-system-client-secret", "datahub-auth-secrets-system_client_secret"],
    ["DNS-1123 subdomain with capitals", names.dns1123Subdomain, "airbyte-minio-credentials-aws-access-key-id", "airbyte-minio-credentials-AWS_ACCESS_KEY_ID"],
    ["path segment name", names.pathSegmentName, "system:reader", "a/b"],
    ["Secret key", names.configMapKey, "system_client_secret", "a key"],
    ["Secret key not a parent directory", names.configMapKey, ".env", "..data"],
    ["environment variable name", names.envVarName, "APP_PASSWORD", "1PASSWORD"],
    ["label value", names.labelValue, "true", "-x"],
    ["qualified name", names.qualifiedName, "pod-security.kubernetes.io/enforce", "Pod_Security.io/enforce"],
    ["Helm release name", names.helmReleaseName, "r".repeat(53), "r".repeat(54)],
  ];
  it.each(cases)("%s: accepts one value, rejects the other", (_, rule, good, bad) => {
    expect(rule(good)).toBeUndefined();
    expect(rule(bad)).toEqual(expect.any(String));
  });

  it("checks each kind's name by its own rule (Namespace: label, Job: fits the job-name label)", () => {
    expect(names.nameViolations(located({ apiVersion: "v1", kind: "Namespace", metadata: { name: "db.bootstrap" } }))).toHaveLength(1);
    expect(names.nameViolations(located({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "db.bootstrap" } }))).toEqual([]);
    expect(names.nameViolations(located({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j".repeat(64) } }))).toHaveLength(1);
  });

  it("checks names inside references: generatorRef, secretKeyRef, target Secret, RoleBinding subjects", () => {
    const secret = {
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: "datahub-auth-secrets", namespace: "datahub" },
      spec: {
        target: { name: "Datahub" },
        dataFrom: [{ sourceRef: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Password", name: "datahub-auth-secrets-system_client_secret" } } }],
      },
    };
    expect(names.nameViolations(located(secret)).map((v) => v.split(" = ")[0])).toEqual(["test: spec.target.name", "test: spec.dataFrom.0.sourceRef.generatorRef.name"]);
    const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "r" }, roleRef: { name: "r" }, subjects: [{ kind: "ServiceAccount", name: "Reader", namespace: "db_bootstrap" }] };
    expect(names.nameViolations(located(binding))).toHaveLength(2);
  });
});

describe("Bitnami images (bitnamilegacy is frozen)", () => {
  const prerequisites = (ctxProduction: boolean) => renderDatahub(appContext("datahub", "aws", ctxProduction)).find((release) => release.name === "prerequisites") as NonNullable<ReturnType<typeof renderDatahub>[number]>;
  const release = (values: Record<string, unknown>): ChartRelease => ({ address: "p", name: "prerequisites", namespace: "datahub", chart: "datahub-prerequisites", version: "0.3.0", values });
  it("accepts the prerequisites as rendered (their Bitnami Kafka and MySQL are off)", () => {
    expect(bitnamiImageProblems({ releases: [release(prerequisites(true).values)], objects: [] })).toEqual([]);
  });
  it("rejects the prerequisites with their Kafka on (the chart's bitnamilegacy/kafka image) and an object naming a Bitnami image", () => {
    const values = { ...prerequisites(true).values, kafka: { enabled: true } };
    expect(bitnamiImageProblems({ releases: [release(values)], objects: [] })).toEqual([expect.stringContaining("kafka.image.repository = bitnamilegacy/kafka")]);
    const job = located({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template: { spec: { containers: [{ name: "c", image: "docker.io/bitnami/kubectl:1.31" }] } } } });
    expect(bitnamiImageProblems({ releases: [], objects: [job] })).toEqual([expect.stringContaining("docker.io/bitnami/kubectl")]);
  });
});

describe("Strimzi 1.2.0 custom resources (encoded CRD subsets, encoded-crds.ts)", () => {
  const objects = (production: boolean) => kafkaResources(appContext("datahub", "aws", production)).filter((object) => object.apiVersion.startsWith("kafka.strimzi.io/"));
  const find = (kind: string) => objects(true).find((object) => object.kind === kind) as unknown as Record<string, unknown> & { spec: Record<string, unknown> };

  it.each([true, false])("accepts DataHub's Kafka, node pool and user (production %s)", (production) => {
    const found = objects(production);
    expect(found.map((object) => object.kind).sort()).toEqual(["Kafka", "KafkaNodePool", "KafkaUser"]);
    expect(found.flatMap((object) => customResourceViolations(located(object)))).toEqual([]);
  });
  it("rejects kafka.strimzi.io/v1beta2, which Strimzi 1.0.0 stopped serving", () => {
    expect(customResourceViolations(located({ ...find("Kafka"), apiVersion: "kafka.strimzi.io/v1beta2" }))).toEqual([expect.stringContaining("not served")]);
  });
  it("rejects a listener without the required `tls` field and an unknown listener type", () => {
    const kafka = find("Kafka");
    const kafkaSpec = kafka.spec.kafka as Record<string, unknown>;
    const withListener = (listener: Record<string, unknown>) => located({ ...kafka, spec: { ...kafka.spec, kafka: { ...kafkaSpec, listeners: [listener] } } });
    expect(customResourceViolations(withListener({ name: "plain", port: 9092, type: "internal" }))).toEqual([expect.stringContaining("tls")]);
    expect(customResourceViolations(withListener({ name: "tls", port: 9093, type: "clusterip-ish", tls: true })).length).toBeGreaterThan(0);
  });
  it("rejects a node pool without roles and an authentication type Strimzi does not have", () => {
    const pool = find("KafkaNodePool");
    const { roles: _roles, ...withoutRoles } = pool.spec;
    expect(customResourceViolations(located({ ...pool, spec: withoutRoles }))).toEqual([expect.stringContaining("roles")]);
    const user = find("KafkaUser");
    expect(customResourceViolations(located({ ...user, spec: { ...user.spec, authentication: { type: "scram-sha-256" } } })).length).toBeGreaterThan(0);
  });
  it("rejects an ACL operation outside the enum and an undeclared field", () => {
    const user = find("KafkaUser");
    const acl = { resource: { type: "topic", name: "t", patternType: "literal" }, operations: ["Produce"] };
    expect(customResourceViolations(located({ ...user, spec: { ...user.spec, authorization: { type: "simple", acls: [acl] } } })).length).toBeGreaterThan(0);
    expect(customResourceViolations(located({ ...user, spec: { ...user.spec, quotas: { producerByteRate: 1 } } }))).toEqual([expect.stringContaining("quotas")]);
  });
});

describe("custom resources against the pinned CRDs", () => {
  const externalSecret = (spec: Record<string, unknown>, apiVersion = "external-secrets.io/v1") =>
    located({ apiVersion, kind: "ExternalSecret", metadata: { name: "s", namespace: "n" }, spec });
  const generated = { refreshPolicy: "CreatedOnce", target: { name: "s" }, dataFrom: [{ sourceRef: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Password", name: "s-key" } } }] };

  it("accepts a valid ExternalSecret", () => {
    expect(customResourceViolations(externalSecret(generated))).toEqual([]);
  });
  it("rejects a version the CRD does not serve", () => {
    expect(customResourceViolations(externalSecret(generated, "external-secrets.io/v1beta1"))).toEqual([expect.stringContaining("not served")]);
  });
  it("rejects an unknown field", () => {
    expect(customResourceViolations(externalSecret({ ...generated, refreshPolcy: "CreatedOnce" }))).toEqual([expect.stringContaining("refreshPolcy")]);
  });
  it("rejects a value of the wrong type or outside an enum", () => {
    expect(customResourceViolations(externalSecret({ ...generated, refreshPolicy: "Sometimes" })).length).toBeGreaterThan(0);
  });
  it("rejects a generatorRef name outside the CRD's pattern (the review's finding)", () => {
    const bad = { ...generated, dataFrom: [{ sourceRef: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Password", name: "s-system_client_secret" } } }] };
    expect(customResourceViolations(externalSecret(bad))).toEqual([expect.stringContaining("pattern")]);
  });
  it("evaluates the CRD's CEL rules (an OpenBao SecretStore takes caBundle or caProvider, not both)", () => {
    const store = (provider: Record<string, unknown>) => located({ apiVersion: "external-secrets.io/v1", kind: "SecretStore", metadata: { name: "s", namespace: "n" }, spec: { provider: { openBao: provider } } });
    const caProvider = { type: "ConfigMap", name: "kube-root-ca.crt", key: "ca.crt" };
    expect(customResourceViolations(store({ server: "https://bao.example.com", caProvider }))).toEqual([]);
    expect(customResourceViolations(store({ server: "https://bao.example.com", caProvider, caBundle: "Y2E=" }))).toEqual([expect.stringContaining("CRD rule")]);
  });
  it("rejects a kind no pinned CRD defines (a misspelt group, a kind the operator does not have)", () => {
    expect(customResourceViolations(located({ apiVersion: "external-secret.io/v1", kind: "ExternalSecret", metadata: { name: "s" } }))).toEqual([expect.stringContaining("no pinned CRD")]);
    expect(customResourceViolations(located({ apiVersion: "external-secrets.io/v1", kind: "ClusterGenerator", metadata: { name: "s" } }))).toEqual([expect.stringContaining("no pinned CRD")]);
  });
  it("rejects a namespace on a cluster-scoped kind", () => {
    const issuer = located({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "i", namespace: "x" }, spec: { selfSigned: {} } });
    expect(customResourceViolations(issuer)).toEqual([expect.stringContaining("cluster-scoped")]);
  });
  it("reads int-or-string and preserve-unknown-fields as the API server does", () => {
    expect(toJsonSchema({ type: "object", properties: { port: { "x-kubernetes-int-or-string": true } } })).toMatchObject({ additionalProperties: false, properties: { port: { anyOf: [{ type: "integer" }, { type: "string" }] } } });
    expect(toJsonSchema({ type: "object", "x-kubernetes-preserve-unknown-fields": true })).not.toHaveProperty("additionalProperties");
  });
});

describe("the operators' admission webhooks (External Secrets 2.9.0, cert-manager v1.21.1)", () => {
  const generatorRef = { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "Password", name: "p" };
  const externalSecret = (spec: Record<string, unknown>) => located({ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "s" }, spec });
  it("refuses an ExternalSecret without data or dataFrom, and a generatorRef combined with extract", () => {
    expect(operatorWebhookViolations(externalSecret({ dataFrom: [{ sourceRef: { generatorRef } }] }))).toEqual([]);
    expect(operatorWebhookViolations(externalSecret({ target: { name: "s" } }))).toEqual([expect.stringContaining("either data or dataFrom")]);
    expect(operatorWebhookViolations(externalSecret({ dataFrom: [{ sourceRef: { generatorRef }, extract: { key: "k" } }] }))).toEqual([expect.stringContaining("generatorRef cannot be combined")]);
  });
  it("refuses a namespaced SecretStore whose caProvider names a namespace", () => {
    const store = (caProvider: Record<string, unknown>) =>
      located({ apiVersion: "external-secrets.io/v1", kind: "SecretStore", metadata: { name: "s" }, spec: { provider: { kubernetes: { server: { caProvider } } } } });
    expect(operatorWebhookViolations(store({ type: "ConfigMap", name: "kube-root-ca.crt", key: "ca.crt" }))).toEqual([]);
    expect(operatorWebhookViolations(store({ type: "ConfigMap", name: "kube-root-ca.crt", key: "ca.crt", namespace: "x" }))).toHaveLength(1);
  });
  it("refuses a ClusterIssuer with no issuer type, and an HTTP-01 solver naming both class and ingressClassName", () => {
    const issuer = (spec: Record<string, unknown>) => located({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "i" }, spec });
    const acme = (ingress: Record<string, unknown>) => ({ acme: { server: "https://acme.example", privateKeySecretRef: { name: "k" }, solvers: [{ http01: { ingress } }] } });
    expect(operatorWebhookViolations(issuer(acme({ ingressClassName: "traefik" })))).toEqual([]);
    expect(operatorWebhookViolations(issuer({}))).toEqual([expect.stringContaining("at least one issuer")]);
    expect(operatorWebhookViolations(issuer(acme({ ingressClassName: "traefik", class: "traefik" })))).toEqual([expect.stringContaining("only one of class, ingressClassName")]);
  });
});

describe("release ordering", () => {
  const text = Testing.synth(new AppsStack(Testing.app(), parseEnvironment(everyAppSpec("aws", false))));
  const without = (releaseName: string) => {
    const json = JSON.parse(text);
    const release = Object.values(json.resource.helm_release as Record<string, Record<string, unknown>>).find((block) => block.name === releaseName) as Record<string, unknown>;
    delete release.depends_on;
    return JSON.stringify(json);
  };
  it("accepts the synthesized order", () => {
    expect(orderingProblems(text, renderedApps(text))).toEqual([]);
  });
  it("reports custom resources applied before the release with their CRDs and webhook", () => {
    const changed = without("cluster-issuer");
    expect(orderingProblems(changed, renderedApps(changed))).toContainEqual(expect.stringContaining("does not wait for cert-manager"));
  });
  it("reports a release that may install before a namespace it puts pods in (node-exporter's)", () => {
    const changed = without("monitoring");
    expect(orderingProblems(changed, renderedApps(changed))).toContainEqual(expect.stringContaining("does not wait for the namespace node-exporter"));
  });
});

describe("core objects against the Kubernetes 1.31 schema", () => {
  it("uses the schema of the oldest Kubernetes version the spec accepts", () => {
    expect(SCHEMA_KUBERNETES_VERSION).toBe([...KUBERNETES_VERSIONS].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))[0]);
  });
  const job = (spec: Record<string, unknown>) => located({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec });
  const template = { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } };
  it("accepts a valid Job and rejects an unknown field in it", () => {
    expect(coreObjectViolations(job({ template }))).toEqual([]);
    expect(coreObjectViolations(job({ template: { spec: { ...template.spec, containers: [{ name: "c", image: "busybox", imagePullPolicyy: "Always" }] } } }))).toEqual([
      expect.stringContaining("imagePullPolicyy"),
    ]);
  });
  it("rejects a missing required field (a Role rule without verbs)", () => {
    expect(coreObjectViolations(located({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "r" }, rules: [{ apiGroups: [""], resources: ["secrets"] }] }))).toContainEqual(
      expect.stringContaining("must have required property 'verbs'"),
    );
  });
  it("rejects what the API server's validation refuses beyond the schema: a malformed quantity, a request above its limit, a Job that restarts Always, an empty verb list, a misspelt subject kind", () => {
    const container = (resources: Record<string, unknown>) => ({ name: "c", image: "busybox", resources });
    expect(coreObjectViolations(job({ template: { spec: { restartPolicy: "Never", containers: [container({ requests: { memory: "64Mi" }, limits: { memory: "128Mi" } })] } } }))).toEqual([]);
    expect(coreObjectViolations(job({ template: { spec: { restartPolicy: "Never", containers: [container({ requests: { memory: "lots" } })] } } })).length).toBeGreaterThan(0);
    expect(coreObjectViolations(job({ template: { spec: { restartPolicy: "Never", containers: [container({ requests: { memory: "1Gi" }, limits: { memory: "512Mi" } })] } } }))).toEqual([
      expect.stringContaining("request above its limit"),
    ]);
    expect(coreObjectViolations(job({ template: { spec: { ...template.spec, restartPolicy: "Always" } } }))).toEqual([expect.stringContaining("OnFailure or Never")]);
    expect(coreObjectViolations(located({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "r" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: [] }] }))).toEqual([
      expect.stringContaining("without verbs"),
    ]);
    const binding = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" } };
    expect(coreObjectViolations(located({ ...binding, subjects: [{ kind: "Serviceaccount", name: "s", namespace: "n" }] }))).toEqual([expect.stringContaining("kind Serviceaccount")]);
  });
  it("rejects a kind or version Kubernetes 1.31 does not serve", () => {
    expect(coreObjectViolations(located({ apiVersion: "batch/v1beta1", kind: "CronJob", metadata: { name: "c" } }))).toEqual([expect.stringContaining("not a kind")]);
  });
  it("leaves custom resources to their CRDs", () => {
    expect(coreObjectViolations(located({ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "s" } }))).toEqual([]);
  });
});

describe("Pod Security checks (k8s.io/pod-security-admission v0.31)", () => {
  const restrictedContainer = {
    name: "app",
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
  };
  const compliant: PodSecuritySubject = { containers: [restrictedContainer], volumes: [{ name: "tmp", emptyDir: {} }] };
  const withContainer = (securityContext: Record<string, unknown>): PodSecuritySubject => ({
    containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, ...securityContext } }],
  });

  // One non-compliant pod per check, each violating that check alone.
  const violations: Record<string, PodSecuritySubject> = {
    hostNamespaces: { ...compliant, hostPID: true },
    privileged: withContainer({ privileged: true }),
    capabilities_baseline: withContainer({ capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }),
    hostPathVolumes: { ...compliant, volumes: [{ name: "root", hostPath: { path: "/" } }] },
    hostPorts: { containers: [{ ...restrictedContainer, ports: [{ containerPort: 80, hostPort: 80 }] }] },
    appArmorProfile: withContainer({ appArmorProfile: { type: "Unconfined" } }),
    seLinuxOptions: withContainer({ seLinuxOptions: { type: "spc_t" } }),
    procMount: withContainer({ procMount: "Unmasked" }),
    seccompProfile_baseline: withContainer({ seccompProfile: { type: "Unconfined" } }),
    sysctls: { ...compliant, securityContext: { sysctls: [{ name: "vm.max_map_count", value: "262144" }] } },
    windowsHostProcess: withContainer({ windowsOptions: { hostProcess: true } }),
    restrictedVolumes: { ...compliant, volumes: [{ name: "nfs", nfs: { server: "x", path: "/" } }] },
    allowPrivilegeEscalation: withContainer({ allowPrivilegeEscalation: undefined }),
    runAsNonRoot: withContainer({ runAsNonRoot: undefined }),
    runAsUser: withContainer({ runAsUser: 0 }),
    seccompProfile_restricted: withContainer({ seccompProfile: undefined }),
    capabilities_restricted: withContainer({ capabilities: { drop: ["ALL"], add: ["CHOWN"] } }),
  };

  it("has a case for every check of both levels", () => {
    expect(Object.keys(violations).sort()).toEqual([...new Set([...Object.keys(checksOf("baseline")), ...Object.keys(checksOf("restricted"))])].sort());
  });
  it("admits a restricted-compliant pod at every level", () => {
    expect(podSecurityViolations(compliant, "restricted")).toEqual([]);
  });
  it.each(Object.entries(violations))("%s rejects its violation", (check, pod) => {
    const level = check in checksOf("baseline") ? "baseline" : "restricted";
    expect(podSecurityViolations(pod, level).map((v) => v.split(":")[0])).toEqual([check]);
    expect(podSecurityViolations(pod, "privileged")).toEqual([]);
  });
  it("sees the host ports the API server fills in for hostNetwork pods", () => {
    const pod = { hostNetwork: true, containers: [{ name: "c", ports: [{ containerPort: 9100 }] }] };
    expect(podSecurityViolations(admittedPod(pod), "baseline")).toEqual(["hostNamespaces: hostNetwork=true", "hostPorts: container c: hostPort"]);
  });
});

const monitoringRelease = (values: Record<string, unknown>, namespace = "monitoring"): ChartRelease => ({
  address: "helm_release.monitoring",
  name: "monitoring",
  namespace,
  chart: "kube-prometheus-stack",
  version: "88.5.3",
  values,
});
const namespaceObject = (name: string, enforce: string, annotations?: Record<string, string>) =>
  located({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "pod-security.kubernetes.io/enforce": enforce }, annotations } });

describe("chart pods under Pod Security: the review's findings, rebuilt", () => {
  const monitoring = renderMonitoring(appContext("monitoring", "aws", true))[0];
  const stack = (release: ChartRelease, extraNamespaces: Located<KubeObject>[] = []): RenderedApps => ({
    objects: [namespaceObject("monitoring", "baseline"), ...extraNamespaces],
    releases: [release],
  });

  it("node-exporter in the baseline monitoring namespace is rejected (hostNetwork, hostPID, hostPort, hostPath)", () => {
    const { namespaceOverride: _moved, ...exporter } = monitoring.values["prometheus-node-exporter"] as Record<string, unknown>;
    const problems = podSecurityProblems(stack(monitoringRelease({ ...monitoring.values, "prometheus-node-exporter": exporter })));
    expect(problems.map((problem) => problem.split(": ").slice(-2).join(": "))).toEqual([
      "hostNamespaces: hostNetwork=true",
      "hostNamespaces: hostPID=true",
      "hostPathVolumes: hostPath volume proc",
      "hostPathVolumes: hostPath volume sys",
      "hostPathVolumes: hostPath volume root",
      "container node-exporter: hostPort",
    ]);
  });
  it("node-exporter in its own privileged namespace is admitted; the namespace must say why", () => {
    expect(podSecurityProblems(stack(monitoringRelease(monitoring.values), [namespaceObject("node-exporter", "privileged", { "platform/pod-security-reason": "host metrics" })]))).toEqual([]);
    expect(unexplainedNamespaceLevels(stack(monitoringRelease(monitoring.values), [namespaceObject("node-exporter", "privileged")]))).toEqual(["monitoring", "node-exporter"]);
  });
  it("a pod in a namespace the stack does not create is reported", () => {
    expect(podSecurityProblems({ objects: [], releases: [monitoringRelease(monitoring.values)] })).toContainEqual(expect.stringContaining("which the stack does not create"));
  });
  it("OpenSearch's privileged sysctl init container is rejected in the baseline datahub namespace", () => {
    const prerequisites = renderDatahub(appContext("datahub", "gcp", true)).find((release) => release.name === "prerequisites") as NonNullable<ReturnType<typeof renderDatahub>[number]>;
    const release: ChartRelease = { address: "p", name: "prerequisites", namespace: "datahub", chart: "datahub-prerequisites", version: "0.3.0", values: prerequisites.values };
    const datahubNamespace = [namespaceObject("datahub", "baseline")];
    expect(podSecurityProblems({ objects: datahubNamespace, releases: [release] })).toEqual([]);
    const opensearch = { ...(prerequisites.values.opensearch as Record<string, unknown>), sysctlInit: { enabled: true } };
    expect(podSecurityProblems({ objects: datahubNamespace, releases: [{ ...release, values: { ...prerequisites.values, opensearch } }] })).toEqual([
      expect.stringContaining("privileged: container sysctl: privileged=true"),
    ]);
  });
  it("DataHub with replicated GMS and embedded consumers is refused by the chart's template (the review's finding)", () => {
    const datahub = renderDatahub(appContext("datahub", "aws", true)).find((release) => release.name === "datahub") as NonNullable<ReturnType<typeof renderDatahub>[number]>;
    const release: ChartRelease = { address: "d", name: "datahub", namespace: "datahub", chart: "datahub", version: "1.1.0", values: datahub.values };
    expect(chartTemplateFailures(release)).toEqual([]);
    const global = { ...(datahub.values.global as Record<string, unknown>), datahub_standalone_consumers_enabled: false };
    expect(chartTemplateFailures({ ...release, values: { ...datahub.values, global } })).toEqual([expect.stringContaining("datahub-gms/templates/deployment.yaml:15-16")]);
    const twoMce = { ...datahub.values, "datahub-mce-consumer": { ...(datahub.values["datahub-mce-consumer"] as Record<string, unknown>), replicaCount: 2 } };
    expect(chartTemplateFailures({ ...release, values: twoMce })).toEqual([expect.stringContaining("exactly one MCE consumer")]);
  });
  it("a chart without a pod model fails instead of passing unchecked; a raised version of a modelled chart is checked with the pinned model", () => {
    expect(() => chartPods({ ...monitoringRelease(monitoring.values), chart: "kube-prometheus", version: "88.5.3" })).toThrow(/no pod model/);
    expect(chartPods({ ...monitoringRelease(monitoring.values), version: "99.0.0" })).toEqual(chartPods(monitoringRelease(monitoring.values)));
  });
});

describe("placement against the spot taint", () => {
  const taint = EKS_SPOT_TAINT;
  const toleration = { key: taint.key, operator: "Equal" as const, value: taint.value, effect: taint.effect };
  const chartPod = (onDemandOnly: string | false, tolerations: ChartPod["tolerations"]): ChartPod => ({ name: "p", template: "t", namespace: "n", onDemandOnly, pod: { containers: [] }, tolerations });

  it("matches tolerations as the scheduler does", () => {
    expect(tolerates([toleration], taint)).toBe(true);
    expect(tolerates([{ ...toleration, value: "true" }], taint)).toBe(false);
    expect(tolerates([{ ...toleration, key: AKS_SPOT_TAINT.key }], taint)).toBe(false);
    expect(tolerates([{ operator: "Exists", effect: "NoSchedule" } as unknown as typeof toleration], taint)).toBe(true);
    expect(tolerates([{ ...toleration, operator: "equal" as "Equal" }], taint)).toBe(false);
  });
  it("accepts stateful pods without and stateless pods with the toleration", () => {
    expect(placementProblems([chartPod("a volume", []), chartPod(false, [toleration]), chartPod(false, "none possible")], [taint])).toEqual([]);
  });
  it("rejects a stateful pod that tolerates spot, and a stateless one that does not", () => {
    expect(placementProblems([chartPod("a volume", [toleration]), chartPod(false, [])], [taint])).toHaveLength(2);
  });
  it("sees the stateful components of the data apps as stateful", () => {
    const prerequisites = renderDatahub(appContext("datahub", "aws", true)).find((release) => release.name === "prerequisites") as NonNullable<ReturnType<typeof renderDatahub>[number]>;
    const pods = chartPods({ address: "p", name: "prerequisites", namespace: "datahub", chart: "datahub-prerequisites", version: "0.3.0", values: prerequisites.values });
    expect(pods.map((p) => [p.name, Boolean(p.onDemandOnly)])).toEqual([["prerequisites/opensearch", true]]);
    // Kafka is Strimzi's: its nodes are stateful, the operator and the entity operator are not.
    const strimzi = renderDatahub(appContext("datahub", "aws", true)).find((release) => release.name === "strimzi") as NonNullable<ReturnType<typeof renderDatahub>[number]>;
    const operands = chartPods({ address: "s", name: "strimzi", namespace: "datahub-strimzi", chart: "strimzi-kafka-operator", version: "1.2.0", values: strimzi.values });
    expect(operands.map((p) => [p.name, p.namespace, Boolean(p.onDemandOnly)])).toEqual([
      ["strimzi/cluster-operator", "datahub-strimzi", false],
      ["strimzi/kafka", "datahub", true],
      ["strimzi/entity-operator", "datahub", false],
    ]);
    const monitoring = renderMonitoring(appContext("monitoring", "aws", true))[0];
    const stateful = chartPods(monitoringRelease(monitoring.values)).filter((p) => p.onDemandOnly).map((p) => p.name);
    expect(stateful).toEqual(["monitoring/prometheus", "monitoring/alertmanager", "monitoring/grafana"]);
  });
});

describe("each namespace's level is the strictest its pods allow (restricted unless a named pod fails it)", () => {
  const chartRelease = (namespace: string, release: AppRelease): ChartRelease => ({
    address: `helm_release.${release.name}`,
    name: release.name,
    namespace,
    chart: release.chart.chart,
    version: release.chart.version,
    values: release.values,
  });
  const airflow = chartRelease("airflow", renderAirflow(appContext("airflow", "aws", true))[0]);
  const airbyte = chartRelease("airbyte", renderAirbyte(appContext("airbyte", "azure", true))[0]);
  const metabase = chartRelease("metabase", renderMetabase(appContext("metabase", "gcp", false))[0]);
  const inNamespace = (release: ChartRelease, enforce: string, annotations?: Record<string, string>): RenderedApps => ({ objects: [namespaceObject(release.namespace, enforce, annotations)], releases: [release] });
  const withValues = (release: ChartRelease, values: Record<string, unknown>): ChartRelease => ({ ...release, values: { ...release.values, ...values } });
  const checks = (problems: string[]) => [...new Set(problems.map((problem) => /\(enforce \w+\): (\w+):/.exec(problem)?.[1]))];

  it.each([airflow, airbyte, metabase])("$name: every pod passes restricted, and restricted is enforced", (release) => {
    expect(podSecurityProblems(inNamespace(release, "restricted"))).toEqual([]);
    expect(namespaceLevelProblems(inNamespace(release, "restricted"))).toEqual([]);
    expect(unexplainedNamespaceLevels(inNamespace(release, "restricted"))).toEqual([]);
  });
  it.each([airflow, airbyte, metabase])("$name: a namespace left at baseline while all its pods pass restricted is rejected, with or without a reason", (release) => {
    const weaker = `namespace ${release.namespace} enforces baseline, but every pod in it passes restricted`;
    expect(namespaceLevelProblems(inNamespace(release, "baseline"))).toEqual([weaker]);
    expect(namespaceLevelProblems(inNamespace(release, "baseline", { "platform/pod-security-reason": "just because" }))).toEqual([weaker]);
    expect(unexplainedNamespaceLevels(inNamespace(release, "baseline"))).toEqual([release.namespace]);
  });
  it("Airflow pods whose values omit seccompProfile are rejected under restricted (chart 1.19.0 airflowPodSecurityContext: the global securityContexts.pod)", () => {
    const { seccompProfile: _omitted, ...pod } = (airflow.values.securityContexts as { pod: Record<string, unknown> }).pod;
    const problems = podSecurityProblems(inNamespace(withValues(airflow, { securityContexts: { pod } }), "restricted"));
    expect(checks(problems)).toEqual(["seccompProfile_restricted"]);
    // Every Airflow pod but statsd, which reads only its own context: task pods included.
    expect([...new Set(problems.map((problem) => problem.split(" ")[0]))].sort()).toEqual(
      ["airflow/apiServer", "airflow/createUserJob", "airflow/dagProcessor", "airflow/migrateDatabaseJob", "airflow/scheduler", "airflow/triggerer", "airflow/workers"].sort(),
    );
    expect(namespaceLevelProblems(inNamespace(withValues(airflow, { securityContexts: { pod } }), "baseline"))).toEqual([]);
  });
  it("Airflow's API server volumes include apiServer.extraVolumes (api-server-deployment.yaml L244-246): the SSO client secret's volume passes, a hostPath there is rejected", () => {
    const apiServer = (extra: Record<string, unknown>[]) => ({ ...(airflow.values.apiServer as Record<string, unknown>), extraVolumes: extra });
    expect(podSecurityProblems(inNamespace(withValues(airflow, { apiServer: apiServer([{ name: "sso-client", secret: { secretName: "sso-client" } }]) }), "restricted"))).toEqual([]);
    expect(checks(podSecurityProblems(inNamespace(withValues(airflow, { apiServer: apiServer([{ name: "host", hostPath: { path: "/etc" } }]) }), "restricted")))).toEqual(["restrictedVolumes"]);
  });
  it("Airflow task pods take workers.kubernetes' context first (pod-template-file.kubernetes-helm-yaml L24): a root one there is rejected", () => {
    const workers = { ...(airflow.values.workers as Record<string, unknown>), kubernetes: { securityContexts: { pod: { runAsUser: 0 } } } };
    expect(podSecurityProblems(inNamespace(withValues(airflow, { workers }), "restricted"))).toEqual([
      "airflow/workers (airflow files/pod-template-file.kubernetes-helm-yaml) in namespace airflow (enforce restricted): runAsNonRoot: container base: runAsNonRoot != true",
      "airflow/workers (airflow files/pod-template-file.kubernetes-helm-yaml) in namespace airflow (enforce restricted): runAsUser: pod runAsUser=0",
      "airflow/workers (airflow files/pod-template-file.kubernetes-helm-yaml) in namespace airflow (enforce restricted): seccompProfile_restricted: container base: seccompProfile not RuntimeDefault or Localhost",
    ]);
  });
  it("Airbyte's connector pods without ROOTLESS_WORKLOAD on the launcher have no security context and are rejected under restricted", () => {
    const workloadLauncher = { ...(airbyte.values.workloadLauncher as Record<string, unknown>), extraEnv: [] };
    const problems = podSecurityProblems(inNamespace(withValues(airbyte, { workloadLauncher }), "restricted"));
    expect([...new Set(problems.map((problem) => problem.split(" ")[0]))]).toEqual(["airbyte/sync-pods", "airbyte/connector-pods"]);
    expect(checks(problems)).toEqual(["allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile_restricted", "capabilities_restricted"]);
  });
  it("Metabase without the pod's seccompProfile is rejected under restricted", () => {
    const { seccompProfile: _omitted, ...podSecurityContext } = metabase.values.podSecurityContext as Record<string, unknown>;
    const { seccompProfile: _alsoOmitted, ...securityContext } = metabase.values.securityContext as Record<string, unknown>;
    expect(checks(podSecurityProblems(inNamespace(withValues(metabase, { podSecurityContext, securityContext }), "restricted")))).toEqual(["seccompProfile_restricted"]);
  });
  it("DataHub's namespace stays at baseline only because of OpenSearch's configfile init container, which its reason names", () => {
    const rendered = renderDatahub(appContext("datahub", "aws", true));
    const release = (name: string) => chartRelease("datahub", rendered.find((r) => r.name === name) ?? rendered[0]);
    const [prerequisites, datahub] = [release(DATAHUB_PREREQUISITES_RELEASE), release(DATAHUB_RELEASE)];
    const reason = { "platform/pod-security-reason": rendered.find((r) => r.name === DATAHUB_PREREQUISITES_RELEASE)?.podSecurity?.reason ?? "" };
    const stackAt = (enforce: string, annotations?: Record<string, string>, releases = [prerequisites, datahub]): RenderedApps => ({ objects: [namespaceObject("datahub", enforce, annotations)], releases });
    expect(podSecurityProblems(stackAt("restricted", reason)).map((problem) => problem.split("(enforce restricted): ")[1])).toEqual([
      "allowPrivilegeEscalation: container configfile: allowPrivilegeEscalation != false",
      "capabilities_restricted: container configfile: capabilities.drop does not contain ALL",
    ]);
    expect(namespaceLevelProblems(stackAt("baseline", reason))).toEqual([]);
    expect(unnamedFailingPods(stackAt("baseline", reason))).toEqual([]);
    expect(unnamedFailingPods(stackAt("baseline", { "platform/pod-security-reason": "search needs it" }))).toEqual(["namespace datahub: its reason does not name prerequisites/opensearch, which fails restricted"]);
    // DataHub's own pods alone all meet restricted, and baseline is then too weak for them.
    expect(namespaceLevelProblems(stackAt("baseline", reason, [datahub]))).toEqual([
      "namespace datahub enforces baseline, but every pod in it passes restricted",
    ]);
  });
  it("the strictest level of a set of pods: restricted for none, privileged for node-exporter", () => {
    expect(strictestLevel([])).toBe("restricted");
    const monitoring = renderMonitoring(appContext("monitoring", "aws", true))[0];
    const exporter = chartPods(monitoringRelease(monitoring.values)).filter((pod) => pod.name === "monitoring/node-exporter");
    expect(exporter).toHaveLength(1);
    expect(strictestLevel(exporter.map(({ pod }) => pod))).toBe("privileged");
  });
});
