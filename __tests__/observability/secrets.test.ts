/**
 * A missing credential degrades its channel only, read from the synthesized apps stacks of the
 * default environments (senders on AWS, Azure and GCP; ops the hub, with Slack, email and the
 * heartbeat). The rules encoded here are those of the programs that read these Secrets:
 *
 * - prometheus-operator v0.93.0 (the mirror's newest tag; kube-prometheus-stack 88.5.3 ships
 *   v0.93.1): pkg/assets/store.go `GetSecretKey` fails on a missing Secret ("unable to get
 *   secret") or key ("key %q in secret %q not found"), and `optional` is not read there; a
 *   failure stops the Prometheus (pkg/prometheus/server/operator.go, `AddRemoteWriteToStore`
 *   before the StatefulSet) or the Alertmanager (pkg/alertmanager/operator.go, the configuration
 *   before the StatefulSet). So every Secret the Prometheus values or the AlertmanagerConfig
 *   reference must exist with that key from the first install: created by the release, not only
 *   by External Secrets once the cloud secret exists.
 * - the same operator validates Slack `apiURL` and webhook `urlSecret` values as URLs
 *   (pkg/alertmanager/operator.go `checkSlackConfigs`/`checkWebhookConfigs`,
 *   validation/validation.go `ValidateSecretURL`, prometheus/common `SecretURL`: url.Parse); a
 *   placeholder that is not one would stop Alertmanager's configuration just the same. It must
 *   also go nowhere: the host is under `.invalid` (RFC 2606 section 2).
 * - external-secrets v2.9.0: with `creationPolicy: Merge` the controller only updates an existing
 *   Secret (pkg/controllers/externalsecret/externalsecret_controller.go, `CreatePolicyMerge`);
 *   with Owner, Orphan or CreateOrMerge it would create the Secret itself when it syncs before
 *   Helm installs it, and Helm 3 then refuses to install over a resource without its release
 *   annotations ("invalid ownership metadata", pkg/action/validate.go). With
 *   `deletionPolicy: Retain` a missing cloud secret fails the sync (externalsecret_controller_secret.go
 *   `GetProviderSecretData`: `NoSecretErr` is skipped only for other policies), which is what
 *   `externalsecret_status_condition{condition="Ready",status="False"}` and so the
 *   `ExternalSecretNotSynced` alert see.
 * - Traefik v3.7.9 pkg/middlewares/auth/basic_auth.go `NewBasic`: "no users found" without a
 *   user line; auth.go `getUsers`: each line `user:hash`.
 */
import { describe, expect, it } from "vitest";
import { HUB_USERS_SECRET, SENDER_SECRET } from "../../constructs/apps/observability/hub";
import { MONITORING_SECRET_STORE, PLACEHOLDER } from "../../constructs/apps/observability/secrets";
import { MONITORING_NAMESPACE, MONITORING_RELEASE } from "../../constructs/apps/monitoring";
import { defaultEnvironments, synthApps } from "../support/fixtures";
import { renderedApps, type KubeObject } from "../../scripts/rendered-apps";
import { at, isMap, list, type Values } from "../support/values";

interface SecretRef {
  readonly name: string;
  readonly key: string;
  /** What reads the value: `url` is validated as a URL by the operator. */
  readonly use: "url" | "password" | "username";
  readonly from: string;
}

interface Stack {
  readonly name: string;
  readonly objects: readonly KubeObject[];
  readonly monitoring: Values;
}

const envs = defaultEnvironments();
const stacks: Stack[] = envs.map((env) => {
  const apps = renderedApps(synthApps(env, envs));
  const monitoring = apps.releases.find((release) => release.name === MONITORING_RELEASE)?.values as Values | undefined;
  if (!monitoring) throw new Error(`${env.name}: no monitoring release`);
  return { name: env.name, objects: apps.objects.map(({ object }) => object), monitoring };
});

/** Every SecretKeySelector the operator resolves for the Prometheus (remote write) and the Alertmanager (receivers). */
function operatorSecretRefs(stack: Stack): SecretRef[] {
  const refs: SecretRef[] = [];
  const selector = (value: unknown, use: SecretRef["use"], from: string) => {
    if (isMap(value)) refs.push({ name: String(value.name), key: String(value.key), use, from });
  };
  for (const [i, write] of list<Values>(at(stack.monitoring, "prometheus.prometheusSpec.remoteWrite")).entries()) {
    selector(at(write, "basicAuth.username"), "username", `remoteWrite[${i}].basicAuth.username`);
    selector(at(write, "basicAuth.password"), "password", `remoteWrite[${i}].basicAuth.password`);
  }
  for (const config of stack.objects.filter((object) => object.kind === "AlertmanagerConfig")) {
    for (const receiver of list<Values>(at(config, "spec.receivers"))) {
      for (const slack of list<Values>(receiver.slackConfigs)) selector(slack.apiURL, "url", `${receiver.name}.slackConfigs.apiURL`);
      for (const email of list<Values>(receiver.emailConfigs)) selector(email.authPassword, "password", `${receiver.name}.emailConfigs.authPassword`);
      for (const hook of list<Values>(receiver.webhookConfigs)) selector(hook.urlSecret, "url", `${receiver.name}.webhookConfigs.urlSecret`);
    }
  }
  return refs;
}

const secretValue = (secret: KubeObject, key: string): string | undefined => {
  const plain = at(secret, `stringData.${key}`);
  if (typeof plain === "string") return plain;
  const encoded = at(secret, `data.${key}`);
  return typeof encoded === "string" ? Buffer.from(encoded, "base64").toString() : undefined;
};

/** The operator's and External Secrets' rules above, for one stack's objects. */
function missingCredentialProblems(stack: Stack): string[] {
  const problems: string[] = [];
  const inMonitoring = (kind: string, name: string) => stack.objects.find((object) => object.kind === kind && object.metadata.name === name && object.metadata.namespace === MONITORING_NAMESPACE);
  const synced = new Set<string>();
  for (const ref of operatorSecretRefs(stack)) {
    const where = `${stack.name} ${ref.from} -> ${ref.name}/${ref.key}`;
    const secret = inMonitoring("Secret", ref.name);
    const external = stack.objects.find((object) => object.kind === "ExternalSecret" && object.metadata.namespace === MONITORING_NAMESPACE && at(object, "spec.target.name") === ref.name);
    if (!secret) {
      problems.push(`${where}: no Secret from the release; the operator stops until External Secrets creates it`);
      continue;
    }
    const value = secretValue(secret, ref.key);
    if (value === undefined) problems.push(`${where}: the Secret has no key ${ref.key}`);
    if (ref.use === "url" && value !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(value.trim());
      } catch {
        problems.push(`${where}: placeholder ${JSON.stringify(value)} is not a URL; the operator refuses Alertmanager's configuration`);
      }
      if (url && !url.hostname.endsWith(".invalid")) problems.push(`${where}: placeholder ${value} could deliver alerts somewhere (host not under .invalid)`);
    }
    if (external) {
      synced.add(ref.name);
      const policy = at(external, "spec.target.creationPolicy");
      if (policy !== "Merge") problems.push(`${where}: ExternalSecret creationPolicy ${String(policy)}, not Merge`);
      const deletion = at(external, "spec.target.deletionPolicy");
      if (deletion !== "Retain") problems.push(`${where}: ExternalSecret deletionPolicy ${String(deletion)}, not Retain (a missing cloud secret would not fail the sync)`);
    }
  }
  // Every Secret a user secret is synced into starts as a placeholder, whoever reads it.
  for (const external of stack.objects.filter((object) => object.kind === "ExternalSecret" && object.metadata.namespace === MONITORING_NAMESPACE && at(object, "spec.secretStoreRef.name") === MONITORING_SECRET_STORE)) {
    const name = String(at(external, "spec.target.name"));
    const secret = inMonitoring("Secret", name);
    if (!secret) problems.push(`${stack.name} ExternalSecret ${name}: no placeholder Secret`);
    // Created once, never rewritten by an upgrade (Helm's three-way patch would put the
    // placeholder back over the synced value) nor deleted by one: the manifests chart's
    // create-once guard and Helm's keep policy (second review, R5 M1 and m2).
    const annotations = (secret?.metadata.annotations ?? {}) as Record<string, string>;
    if (secret && (annotations["platform/create-once"] !== "true" || annotations["helm.sh/resource-policy"] !== "keep")) {
      problems.push(`${stack.name} Secret ${name}: not create-once with helm.sh/resource-policy keep; every upgrade would write the placeholder back`);
    }
    if (at(external, "spec.target.creationPolicy") !== "Merge") problems.push(`${stack.name} ExternalSecret ${name}: creationPolicy ${String(at(external, "spec.target.creationPolicy"))}, not Merge`);
    const keys = Object.keys((at(external, "spec.target.template.data") as Values | undefined) ?? {}).sort();
    const held = Object.keys({ ...((secret?.stringData as Values | undefined) ?? {}), ...((secret?.data as Values | undefined) ?? {}) }).sort();
    if (secret && keys.join() !== held.join()) problems.push(`${stack.name} Secret ${name}: placeholder keys ${held.join()} but the template writes ${keys.join()}`);
  }
  const users = inMonitoring("Secret", HUB_USERS_SECRET.name);
  if (users) {
    const lines = (secretValue(users, HUB_USERS_SECRET.key) ?? "").split("\n").filter((line) => line.trim() !== "");
    if (lines.length === 0) problems.push(`${stack.name} ${HUB_USERS_SECRET.name}: no user line; Traefik refuses the Middleware ("no users found")`);
    for (const line of lines) if (line.split(":").length !== 2) problems.push(`${stack.name} ${HUB_USERS_SECRET.name}: ${line} is not user:hash`);
  }
  return problems;
}

const withObjects = (stack: Stack, change: (objects: KubeObject[]) => KubeObject[]): Stack => ({ ...stack, objects: change(structuredClone([...stack.objects])) });
const byName = (stack: string) => stacks.find((one) => one.name === stack) as Stack;

describe("a missing credential degrades its channel only", () => {
  it("the default environments reference credentials on every cloud: remote write, Slack, email, heartbeat", () => {
    const uses = new Set(stacks.flatMap((stack) => operatorSecretRefs(stack).map((ref) => ref.from.replace(/^.*\./, ""))));
    expect([...uses].sort()).toEqual(["apiURL", "authPassword", "password", "urlSecret", "username"]);
    expect(operatorSecretRefs(byName("staging-gcp")).map((ref) => ref.name)).toContain(SENDER_SECRET.name);
    expect(operatorSecretRefs(byName("staging-azure")).map((ref) => ref.name)).toContain(SENDER_SECRET.name);
  });

  it.each(stacks.map((stack) => [stack.name, stack] as const))("%s: every Secret the operator reads exists from the first install, with an inert placeholder External Secrets merges into", (_, stack) => {
    expect(missingCredentialProblems(stack)).toEqual([]);
  });

  it("the check refuses a placeholder Helm would rewrite on every upgrade or delete", () => {
    const ops = byName("ops");
    const rewritten = withObjects(ops, (objects) => objects.map((object) => (object.kind === "Secret" && object.metadata.name === HUB_USERS_SECRET.name ? { ...object, metadata: { ...object.metadata, annotations: {} } } : object)));
    expect(missingCredentialProblems(ops)).toEqual([]);
    expect(missingCredentialProblems(rewritten).join()).toContain("not create-once");
  });

  it("the check refuses a referenced Secret only External Secrets creates, a key the placeholder lacks, a URL placeholder the operator refuses or that delivers, Owner and Delete policies, an empty users file", () => {
    const ops = byName("ops");
    const prod = byName("prod");
    expect(missingCredentialProblems(withObjects(prod, (objects) => objects.filter((o) => !(o.kind === "Secret" && o.metadata.name === SENDER_SECRET.name))))).toEqual(
      expect.arrayContaining([expect.stringMatching(/no Secret from the release/)]),
    );
    const edit = (stack: Stack, kind: string, name: string, apply: (object: Values) => void) =>
      withObjects(stack, (objects) => {
        const target = objects.find((o) => o.kind === kind && (o.metadata.name === name || at(o, "spec.target.name") === name));
        if (!target) throw new Error(`${stack.name}: no ${kind} ${name}`);
        apply(target as unknown as Values);
        return objects;
      });
    expect(missingCredentialProblems(edit(prod, "Secret", SENDER_SECRET.name, (s) => delete (s.stringData as Values).password))).toEqual(expect.arrayContaining([expect.stringMatching(/has no key password/)]));
    expect(missingCredentialProblems(edit(ops, "Secret", "alertmanager-slack", (s) => ((s.stringData as Values)["webhook-url"] = "unset")))).toEqual(expect.arrayContaining([expect.stringMatching(/is not a URL/)]));
    expect(missingCredentialProblems(edit(ops, "Secret", "alertmanager-heartbeat", (s) => ((s.stringData as Values).url = "https://hooks.slack.com/services/x")))).toEqual(expect.arrayContaining([expect.stringMatching(/could deliver/)]));
    expect(missingCredentialProblems(edit(ops, "ExternalSecret", "alertmanager-smtp", (e) => ((at(e, "spec.target") as Values).creationPolicy = "Owner")))).toEqual(expect.arrayContaining([expect.stringMatching(/not Merge/)]));
    expect(missingCredentialProblems(edit(ops, "ExternalSecret", "alertmanager-smtp", (e) => ((at(e, "spec.target") as Values).deletionPolicy = "Delete")))).toEqual(expect.arrayContaining([expect.stringMatching(/not Retain/)]));
    expect(missingCredentialProblems(edit(ops, "Secret", HUB_USERS_SECRET.name, (s) => ((s.stringData as Values)[HUB_USERS_SECRET.key] = "\n")))).toEqual(expect.arrayContaining([expect.stringMatching(/no users found/)]));
  });

  it("the placeholders are no credential: the users line's hash `!` matches no password, the password is fixed text", () => {
    expect(PLACEHOLDER.htpasswdLine.split(":")[1]).toBe("!");
    expect(new URL(PLACEHOLDER.url).hostname.endsWith(".invalid")).toBe(true);
  });

  it("link passwords are trimmed on both sides, like the alert secrets (a trailing newline on one side would be a permanent 401)", () => {
    const untrimmed: string[] = [];
    let read = 0;
    for (const stack of stacks) {
      for (const external of stack.objects.filter((o) => o.kind === "ExternalSecret" && at(o, "spec.secretStoreRef.name") === MONITORING_SECRET_STORE)) {
        for (const [key, template] of Object.entries((at(external, "spec.target.template.data") as Values | undefined) ?? {})) {
          // Every value read from the cloud goes through trim (ESO 2.9.0 runtime/template/v2/sprig/functions.go `"trim": strings.TrimSpace`).
          for (const [, action] of [...String(template).matchAll(/\{\{(.*?)\}\}/g)].filter(([, action]) => /index \.|^\s*\./.test(action))) {
            read += 1;
            if (!action.includes("| trim")) untrimmed.push(`${stack.name} ${external.metadata.name}.${key}: {{${action}}}`);
          }
        }
      }
    }
    expect(read).toBeGreaterThan(0);
    expect(untrimmed).toEqual([]);
  });

  it("the degradation shows: ExternalSecretNotSynced on a failing sync in every environment, MetricsHubWriteFailing on every sender", () => {
    const alertsOf = (stack: Stack) => stack.objects.filter((o) => o.kind === "PrometheusRule").flatMap((o) => list<Values>(at(o, "spec.groups")).flatMap((g) => list<Values>(g.rules)));
    const notSynced = stacks.map((stack) => [stack.name, String(alertsOf(stack).find((rule) => rule.alert === "ExternalSecretNotSynced")?.expr)]);
    expect(notSynced.filter(([, expr]) => !/externalsecret_status_condition\{condition="Ready", ?status="False"\}/.test(expr))).toEqual([]);
    const senders = stacks.filter((stack) => operatorSecretRefs(stack).some((ref) => ref.name === SENDER_SECRET.name));
    expect(senders.map((stack) => stack.name).sort()).toEqual(["prod", "staging", "staging-azure", "staging-gcp"]);
    expect(senders.filter((stack) => !alertsOf(stack).some((rule) => rule.alert === "MetricsHubWriteFailing")).map((stack) => stack.name)).toEqual([]);
  });
});
