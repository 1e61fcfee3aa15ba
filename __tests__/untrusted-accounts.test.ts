/**
 * Issue 11, item 2: untrusted workloads (Airbyte connectors, Airflow tasks) run under their own
 * service accounts, with no Kubernetes rights and only the cloud identity they need.
 *
 * Read from the real synthesized stacks of every default environment (environments/), on each
 * cloud they use:
 * - the apps stack: the untrusted account exists with no automounted token; the pods the charts
 *   (and Airbyte's workload launcher) create run as it where they run untrusted code and never
 *   elsewhere (chart-accounts.ts, encoded from the pinned templates); no RoleBinding or
 *   ClusterRoleBinding, ours or a chart's, names it or a group it belongs to;
 * - the infra stack against the apps stack: each app identity trusts exactly the service accounts
 *   the apps stack annotates with it, by exact name (IRSA `sub`, Entra federated credential
 *   subject, GKE `workloadIdentityUser` member), so the untrusted account holds the identity
 *   only where the catalogue says it needs it.
 */
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { APP_CATALOGUE, untrustedAccount, type AppName } from "../constructs/core/apps";
import type { Environment } from "../constructs/core/spec";
import { MAX_FEDERATED_CREDENTIALS, assertFederatedCredentialLimit } from "../constructs/azure/identity";
import { InfraStack } from "../stacks/infra";
import { defaultEnvironments, synthApps } from "./support/fixtures";
import { SynthesizedStack, type TfBlock } from "./support/synth";
import { chartBindings, chartPodAccounts, hasAccountModel } from "./support/kubernetes/chart-accounts";
import { renderedApps, namespaceOf, type KubeObject, type Located, type RenderedApps } from "../scripts/rendered-apps";

const environments = defaultEnvironments();
const withUntrusted = (env: Environment) => env.apps.flatMap((app) => (APP_CATALOGUE[app.name].untrusted ? [app.name] : []));
const cases = environments.filter((env) => withUntrusted(env).length > 0).map((env) => ({ name: env.name, cloud: env.cloud, env }));

/** `value`, or a thrown error naming what is missing. */
function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`not found: ${what}`);
  return value;
}

const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value ?? null));
const references = (value: unknown, address: string): boolean => text(value).includes(`\${${address}.`);

// --- Who is bound to what ----------------------------------------------------------------------

interface Subject {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/**
 * Why a binding's subject covers the service account `namespace/name`: the account itself, or a
 * group every service account of the namespace (or of the cluster) is in (Kubernetes RBAC docs,
 * "Referring to subjects": system:serviceaccounts, system:serviceaccounts:<namespace>).
 */
function covers(subject: Subject, bindingNamespace: string | undefined, namespace: string, name: string): boolean {
  if (subject.kind === "ServiceAccount") return subject.name === name && (subject.namespace ?? bindingNamespace) === namespace;
  if (subject.kind === "Group") return subject.name === "system:serviceaccounts" || subject.name === `system:serviceaccounts:${namespace}` || subject.name === "system:authenticated";
  return false;
}

/** Every binding of the apps stack (ours and the modelled charts') that grants `namespace/name` anything. */
function bindingsOf(rendered: RenderedApps, namespace: string, name: string): string[] {
  const ours = rendered.objects
    .filter((located) => located.object.kind === "RoleBinding" || located.object.kind === "ClusterRoleBinding")
    .filter((located) => ((located.object.subjects ?? []) as Subject[]).some((subject) => covers(subject, namespaceOf(located), namespace, name)))
    .map((located) => located.source);
  const charts = rendered.releases
    .filter((release) => release.namespace === namespace)
    .flatMap((release) => chartBindings(release).filter((binding) => binding.subjects.some((subject) => covers(subject, release.namespace, namespace, name))).map((binding) => `${release.address}: ${binding.name}`));
  return [...ours, ...charts];
}

const serviceAccount = (rendered: RenderedApps, namespace: string, name: string): Located<KubeObject> | undefined =>
  rendered.objects.find((located) => located.object.kind === "ServiceAccount" && located.object.metadata.name === name && namespaceOf(located) === namespace);

describe.each(cases)("untrusted workloads in $name ($cloud)", ({ env }) => {
  const rendered = renderedApps(synthApps(env, environments));
  const apps = withUntrusted(env).map((app) => ({ app, account: found(untrustedAccount(app, env.cloud), `${app}'s untrusted account`) }));

  it.each(apps)("$app: the untrusted account exists without an automounted token, and carries the identity only where the catalogue says", ({ app, account }) => {
    const object = serviceAccount(rendered, account.namespace, account.serviceAccount)?.object;
    expect(object, `${account.namespace}/${account.serviceAccount}`).toBeDefined();
    expect(object?.automountServiceAccountToken).toBe(false);
    const platform = serviceAccount(rendered, account.namespace, APP_CATALOGUE[app].serviceAccount)?.object;
    expect(object?.metadata.annotations ?? {}).toEqual(account.cloudIdentity ? platform?.metadata.annotations : {});
    expect(object?.metadata.labels ?? {}).toEqual(account.cloudIdentity ? platform?.metadata.labels : {});
  });

  it.each(apps)("$app: untrusted pods run as the untrusted account, the app's own pods never do", ({ app, account }) => {
    const releases = rendered.releases.filter((release) => release.namespace === account.namespace);
    expect(releases.length).toBeGreaterThan(0);
    // Every release in the namespace is modelled: a chart added there must say where its pods run.
    expect(releases.filter((release) => !hasAccountModel(release)).map((release) => release.address)).toEqual([]);
    const pods = releases.flatMap(chartPodAccounts);
    expect(pods.filter((pod) => pod.untrusted).length).toBeGreaterThan(0);
    const wrong = pods.filter((pod) => (pod.serviceAccount === account.serviceAccount) !== pod.untrusted).map((pod) => `${pod.pod} runs as ${pod.serviceAccount}`);
    expect(wrong).toEqual([]);
    expect(pods.filter((pod) => !pod.untrusted).every((pod) => pod.serviceAccount === APP_CATALOGUE[app].serviceAccount)).toBe(true);
  });

  it.each(apps)("$app: no RoleBinding or ClusterRoleBinding, ours or a chart's, grants the untrusted account anything", ({ account }) => {
    expect(bindingsOf(rendered, account.namespace, account.serviceAccount)).toEqual([]);
  });

  it.each(apps)("$app: untrusted pods get no API token, except where Airbyte's launcher forces one on a pod (rightless)", ({ account }) => {
    const automount = serviceAccount(rendered, account.namespace, account.serviceAccount)?.object.automountServiceAccountToken;
    const pods = rendered.releases.filter((release) => release.namespace === account.namespace).flatMap(chartPodAccounts).filter((pod) => pod.untrusted);
    const withToken = pods.filter((pod) => (pod.automountToken ?? automount) !== false).map((pod) => pod.pod);
    // ConnectorPodFactory.kt sets automountServiceAccountToken: true on check/discover/spec pods; the token has no binding (test above).
    expect(withToken.every((pod) => /ConnectorPodFactory/.test(pod))).toBe(true);
  });
});

describe("the binding check rejects what would grant the untrusted account rights", () => {
  const env = found(
    environments.find((candidate) => withUntrusted(candidate).includes("airflow")),
    "a default environment with Airflow",
  );
  const rendered = renderedApps(synthApps(env, environments));
  const airflow = found(
    rendered.releases.find((release) => release.chart === "airflow"),
    "the Airflow release",
  );
  const airbyteEnv = found(
    environments.find((candidate) => withUntrusted(candidate).includes("airbyte")),
    "a default environment with Airbyte",
  );
  const airbyte = found(
    renderedApps(synthApps(airbyteEnv, environments)).releases.find((release) => release.chart === "airbyte"),
    "the Airbyte release",
  );

  it("the Airflow chart's own RBAC binds the task pods' account to the pod-launcher Role", () => {
    const values = { ...airflow.values, rbac: { create: true } };
    const withChartRbac = { ...rendered, releases: rendered.releases.map((release) => (release === airflow ? { ...release, values } : release)) };
    expect(bindingsOf(withChartRbac, "airflow", "airflow-tasks")).toEqual([expect.stringMatching(/pod-launcher-rolebinding/)]);
  });

  it("the Airbyte chart's Role, bound to the job pods' account", () => {
    const values = { ...airbyte.values, serviceAccount: { create: true, name: "airbyte-jobs" } };
    expect(chartBindings({ ...airbyte, values }).flatMap((binding) => binding.subjects.map((subject) => subject.name))).toEqual(["airbyte-jobs"]);
  });

  it("a RoleBinding to every service account of the namespace", () => {
    const binding: Located<KubeObject> = {
      source: "test",
      releaseNamespace: "airflow",
      object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "all", namespace: "airflow" }, subjects: [{ kind: "Group", name: "system:serviceaccounts:airflow" }] },
    };
    expect(bindingsOf({ ...rendered, objects: [...rendered.objects, binding] }, "airflow", "airflow-tasks")).toEqual(["test"]);
  });

  it("task pods under the platform's account", () => {
    const values = { ...airflow.values, workers: { ...(airflow.values.workers as object), serviceAccount: { create: false, name: "airflow" } } };
    const task = chartPodAccounts({ ...airflow, values }).find((pod) => pod.untrusted);
    expect(task?.serviceAccount).toBe("airflow");
  });
});

// --- Which service accounts each cloud identity trusts -----------------------------------------

/** The subjects an IRSA trust policy admits: exact `sub` values, `StringLike` patterns, or "*" without a `sub` condition. */
function awsTrustedSubjects(role: TfBlock): string[] {
  return SynthesizedStack.policy(role, "assume_role_policy")
    .Statement.filter((statement) => statement.Effect === "Allow" && [statement.Action].flat().includes("sts:AssumeRoleWithWebIdentity"))
    .flatMap((statement) => {
      const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
      const subjects = Object.entries(condition).flatMap(([operator, keys]) =>
        Object.entries(keys)
          .filter(([key]) => key.endsWith(":sub"))
          .flatMap(([, value]) => [value].flat().map((subject) => (operator === "StringEquals" ? String(subject) : `${operator}:${String(subject)}`))),
      );
      return subjects.length > 0 ? subjects : ["*"];
    });
}

/** Subjects that are not one exact service account: a pattern, another operator, or anyone. */
const inexactSubjects = (subjects: readonly string[]): string[] => subjects.filter((subject) => !/^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$/.test(subject));

interface Infra {
  readonly stack: SynthesizedStack;
  readonly cloud: Environment["cloud"];
}

/** The identity an apps-stack service account's annotations point to, and the subjects it trusts in the infra stack. */
function trustOf(infra: Infra, apps: SynthesizedStack, annotations: Readonly<Record<string, string>>): { identity: string; subjects: string[] } | undefined {
  const { stack } = infra;
  const roleArn = annotations["eks.amazonaws.com/role-arn"];
  if (roleArn !== undefined) {
    const name = roleArn.slice(roleArn.lastIndexOf("/") + 1);
    const entry = Object.entries(stack.resources("aws_iam_role")).find(([, block]) => block.name === name);
    return entry === undefined ? undefined : { identity: `aws_iam_role.${entry[0]}`, subjects: awsTrustedSubjects(entry[1]) };
  }
  const clientId = annotations["azure.workload.identity/client-id"];
  if (clientId !== undefined) {
    const data = /^\$\{data\.azurerm_user_assigned_identity\.([\w-]+)\.client_id\}$/.exec(clientId);
    const name = data ? (apps.json as { data?: Record<string, Record<string, TfBlock>> }).data?.azurerm_user_assigned_identity?.[data[1]]?.name : undefined;
    const [id] = Object.entries(stack.resources("azurerm_user_assigned_identity")).find(([, block]) => block.name === name) ?? [];
    if (id === undefined) return undefined;
    const address = `azurerm_user_assigned_identity.${id}`;
    return { identity: address, subjects: stack.all("azurerm_federated_identity_credential").filter((credential) => references(credential.parent_id, address)).map((credential) => text(credential.subject)) };
  }
  const email = annotations["iam.gke.io/gcp-service-account"];
  if (email !== undefined) {
    const accountId = email.slice(0, email.indexOf("@"));
    const [id] = Object.entries(stack.resources("google_service_account")).find(([, block]) => block.account_id === accountId) ?? [];
    if (id === undefined) return undefined;
    const address = `google_service_account.${id}`;
    const members = stack
      .all("google_service_account_iam_member")
      .filter((member) => member.role === "roles/iam.workloadIdentityUser" && references(member.service_account_id, address))
      .map((member) => text(member.member));
    // serviceAccount:<project>.svc.id.goog[<namespace>/<name>] is the subject system:serviceaccount:<namespace>:<name>.
    return { identity: address, subjects: members.map((member) => member.replace(/^serviceAccount:[^[]+\.svc\.id\.goog\[([^/]+)\/([^\]]+)\]$/, "system:serviceaccount:$1:$2")) };
  }
  return undefined;
}

describe.each(cases)("app identities of $name ($cloud) trust exactly the accounts the apps stack gives them", ({ env, cloud }) => {
  const infra: Infra = { stack: new SynthesizedStack(Testing.synth(new InfraStack(Testing.app(), env))), cloud };
  const appsText = synthApps(env, environments);
  const apps = new SynthesizedStack(appsText);
  const rendered = renderedApps(appsText);
  const accounts = rendered.objects.filter((located) => located.object.kind === "ServiceAccount");
  // Every listed app has an identity (the infra stack creates one per listed app).
  const appNames = env.apps.map((app) => app.name);

  it.each(appNames.map((app) => ({ app })))("$app", ({ app }: { app: AppName }) => {
    const { namespace, serviceAccount: own } = APP_CATALOGUE[app];
    const annotations = serviceAccount(rendered, namespace, own)?.object.metadata.annotations ?? {};
    const trust = trustOf(infra, apps, annotations);
    expect(trust, `${namespace}/${own}: no identity found for its annotations ${JSON.stringify(annotations)}`).toBeDefined();
    // Every apps-stack account annotated with this identity, as a subject.
    const holders = accounts
      .filter((located) => trustOf(infra, apps, located.object.metadata.annotations ?? {})?.identity === trust?.identity)
      .map((located) => `system:serviceaccount:${namespaceOf(located)}:${String(located.object.metadata.name)}`);
    expect(inexactSubjects(trust?.subjects ?? [])).toEqual([]);
    expect([...(trust?.subjects ?? [])].sort()).toEqual([...holders].sort());
    const untrusted = untrustedAccount(app, cloud);
    expect(holders.includes(`system:serviceaccount:${namespace}:${untrusted?.serviceAccount}`)).toBe(untrusted?.cloudIdentity === true);
  });
});

describe("the trust check rejects a trust wider than the listed accounts", () => {
  const role = (condition: Record<string, unknown>): TfBlock => ({
    assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "arn" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }] }),
  });

  it("a StringLike sub of system:serviceaccount:airbyte:*", () => {
    const subjects = awsTrustedSubjects(role({ StringEquals: { "oidc:aud": "sts.amazonaws.com" }, StringLike: { "oidc:sub": "system:serviceaccount:airbyte:*" } }));
    expect(inexactSubjects(subjects)).toEqual(["StringLike:system:serviceaccount:airbyte:*"]);
  });

  it("a StringEquals sub with a wildcard, and a trust without any sub", () => {
    expect(inexactSubjects(awsTrustedSubjects(role({ StringEquals: { "oidc:sub": ["system:serviceaccount:airbyte:airbyte", "system:serviceaccount:airbyte:*"] } })))).toEqual([
      "system:serviceaccount:airbyte:*",
    ]);
    expect(inexactSubjects(awsTrustedSubjects(role({ StringEquals: { "oidc:aud": "sts.amazonaws.com" } })))).toEqual(["*"]);
  });

  it("Entra ID's limit of federated credentials per identity", () => {
    expect(() => assertFederatedCredentialLimit("test-app-airflow", MAX_FEDERATED_CREDENTIALS)).not.toThrow();
    expect(() => assertFederatedCredentialLimit("test-app-airflow", MAX_FEDERATED_CREDENTIALS + 1)).toThrow(/test-app-airflow: 21 federated credentials, Entra ID accepts at most 20/);
  });
});
