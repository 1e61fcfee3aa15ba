/**
 * Where alerts go, read from REAL synthesized apps stacks on every cloud: the default environments
 * (prod, staging and ops have alerts) moved to each cloud, and variants of the spec. The
 * AlertmanagerConfig is checked against its CRD schema (`objectProblems`) and against the
 * operator's and Alertmanager's own rules (`support/alertmanager.ts`, each refused once below);
 * credentials appear nowhere but in the cloud: the stacks hold references only, and the cloud
 * secrets reach the monitoring namespace alone.
 */
import { describe, expect, it } from "vitest";
import { alertRoutes, CLOUDS, parseEnvironment, specSecretNames, specSecretNamesFor, type Cloud, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { CLOUD_SECRET_STORE, DATABASE_BOOTSTRAP_NAMESPACE } from "../../constructs/apps/addons";
import { ALERTMANAGER_CONFIG_NAME, MONITORING_NAMESPACE, MONITORING_RELEASE } from "../../constructs/apps/monitoring";
import { HEARTBEAT_TIMING, RECEIVERS } from "../../constructs/apps/observability/routing";
import { SSO_NAMESPACE } from "../../constructs/apps/sso";
import { cloudSecretManifests, MONITORING_SECRET_STORE, MONITORING_SECRETS_ACCOUNT } from "../../constructs/apps/observability/secrets";
import { defaultEnvironments, everyAppSpec, synthApps } from "../support/fixtures";
import { alertmanagerConfigProblems, externalSecretKeys } from "../support/alertmanager";
import { objectProblems } from "../support/kubernetes/checks";
import { renderedApps, type KubeObject, type RenderedApps } from "../../scripts/rendered-apps";

type Json = Record<string, unknown>;

const all = defaultEnvironments();

interface Case {
  readonly label: string;
  readonly env: Environment;
  readonly text: string;
  readonly apps: RenderedApps;
}

function synth(label: string, env: Environment, others: readonly Environment[] = [env]): Case {
  const text = synthApps(env, others);
  return { label, env, text, apps: renderedApps(text) };
}

/** A default environment moved to another cloud (every default names its account on each). */
const onCloud = (env: Environment, cloud: Cloud): Environment => ({ ...env, cloud });

const slack = { channel: "#data-alerts", webhookSecret: "alerts-slack-webhook" };
const email = { to: ["oncall@example.com", "data@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", passwordSecret: "alerts-smtp-password" };
const variants: readonly [string, EnvironmentInput["alerts"]][] = [
  ["no alerts", undefined],
  ["email only", { email }],
  ["critical to both, warning to email, a heartbeat", { slack, email: { ...email, username: "apikey" }, routes: { critical: ["slack", "email"], warning: ["email"] }, heartbeat: { urlSecret: "alerts-heartbeat" } }],
  ["warning routed nowhere", { slack, routes: { warning: [] } }],
];

const cases: Case[] = [
  ...all.filter((env) => env.name !== "gitops").map((env) => synth(`${env.name} (its own cloud, ${env.cloud})`, env, all)),
  ...CLOUDS.flatMap((cloud) => ["prod", "staging", "ops"].map((name) => synth(`${name} on ${cloud}`, onCloud(all.find((env) => env.name === name) as Environment, cloud), all.map((env) => (env.name === name ? onCloud(env, cloud) : env))))),
  ...CLOUDS.flatMap((cloud) =>
    variants.map(([label, alerts]) => {
      const env = parseEnvironment({ ...everyAppSpec(cloud, true), ...(alerts ? { alerts } : {}) });
      return synth(`every app on ${cloud}, ${label}`, env);
    }),
  ),
];

const objectsOf = (c: Case): KubeObject[] => c.apps.objects.map((located) => located.object);
const configOf = (c: Case): Json => {
  const found = objectsOf(c).filter((o) => o.kind === "AlertmanagerConfig" && o.metadata.name === ALERTMANAGER_CONFIG_NAME);
  expect(found).toHaveLength(1);
  return found[0] as Json;
};
const specOf = (config: Json) => config.spec as { route: Json & { routes: Json[] }; receivers: (Json & { name: string })[] };
const receiverOf = (config: Json, name: unknown) => specOf(config).receivers.find((r) => r.name === name);
const routeFor = (config: Json, name: string, value: string) =>
  specOf(config).route.routes.find((r) => (r.matchers as Json[]).some((m) => m.name === name && m.value === value && m.matchType === "="));
const channelsOf = (receiver: Json | undefined) => [...(receiver?.slackConfigs ? ["slack"] : []), ...(receiver?.emailConfigs ? ["email"] : [])].sort();

it("covers every cloud, with and without alerts", () => {
  expect(new Set(cases.map((c) => c.env.cloud))).toEqual(new Set(CLOUDS));
  expect(cases.filter((c) => c.env.alerts).length).toBeGreaterThan(CLOUDS.length * 3);
  expect(cases.filter((c) => !c.env.alerts).length).toBeGreaterThanOrEqual(CLOUDS.length);
});

describe.each(cases.map((c) => [c.label, c] as const))("%s", (_, c) => {
  const config = configOf(c);
  const alerts = c.env.alerts;

  it("is Alertmanager's top-level configuration: the monitoring release names it, in its own namespace", () => {
    const monitoring = c.apps.releases.find((r) => r.name === MONITORING_RELEASE);
    const alertmanager = (monitoring?.values.alertmanager ?? {}) as Json;
    expect((alertmanager.alertmanagerSpec as Json).alertmanagerConfiguration).toEqual({ name: ALERTMANAGER_CONFIG_NAME });
    expect((config.metadata as Json).namespace).toBe(monitoring?.namespace);
  });

  it("fits the AlertmanagerConfig CRD and the operator's and Alertmanager's rules", () => {
    expect(objectProblems(c.apps)).toEqual([]);
    expect(alertmanagerConfigProblems(config, externalSecretKeys(objectsOf(c) as Json[], MONITORING_NAMESPACE))).toEqual([]);
  });

  it("routes each severity to the channels the spec gives, grouped by environment and alert", () => {
    const route = specOf(config).route;
    expect(route.receiver).toBe(RECEIVERS.none);
    expect(route.groupBy).toEqual(expect.arrayContaining(["environment", "alertname"]));
    const expected = (["critical", "warning"] as const).map((severity) => [severity, alerts ? [...alertRoutes(alerts)[severity]].sort() : []]);
    // A severity routed nowhere has no route (its alerts fall to the null receiver).
    const routed = (["critical", "warning"] as const).map((severity) => {
      const child = routeFor(config, "severity", severity);
      return [severity, child === undefined ? [] : channelsOf(receiverOf(config, child.receiver))];
    });
    expect(routed).toEqual(expected);
  });

  it("sends Watchdog to the heartbeat every few minutes when the spec has one, and nowhere else", () => {
    const watchdog = routeFor(config, "alertname", "Watchdog");
    expect(specOf(config).route.routes[0]).toBe(watchdog);
    const receiver = receiverOf(config, watchdog?.receiver);
    expect(watchdog?.receiver).toBe(alerts?.heartbeat ? RECEIVERS.heartbeat : RECEIVERS.none);
    const webhooks = ((receiver?.webhookConfigs as Json[] | undefined) ?? []).map((w) => typeof w.urlSecret);
    expect(webhooks).toEqual(alerts?.heartbeat ? ["object"] : []);
    expect(watchdog).toMatchObject(HEARTBEAT_TIMING);
  });

  it("names the environment, the alert, its pipeline, connection and database, summary, runbook and dashboard in Slack and email", () => {
    const slackConfig = specOf(config).receivers.flatMap((r) => (r.slackConfigs as Json[] | undefined) ?? [])[0];
    const emailConfig = specOf(config).receivers.flatMap((r) => (r.emailConfigs as Json[] | undefined) ?? [])[0];
    expect(slackConfig?.channel).toBe(alerts?.slack?.channel);
    const wantEmail = alerts?.email && { to: alerts.email.to.join(", "), from: alerts.email.from, smarthost: alerts.email.smarthost, requireTLS: true, authUsername: alerts.email.username ?? alerts.email.from };
    expect(emailConfig && { to: emailConfig.to, from: emailConfig.from, smarthost: emailConfig.smarthost, requireTLS: emailConfig.requireTLS, authUsername: emailConfig.authUsername }).toEqual(wantEmail);
    const parts = [".Labels.environment", ".Labels.alertname", ".Labels.pipeline", ".Labels.connection", ".Labels.database", ".Annotations.summary", ".Annotations.runbook", ".Annotations.dashboard"];
    const messages = [slackConfig?.text, emailConfig?.text].filter((t): t is string => typeof t === "string");
    expect(messages.flatMap((message) => parts.filter((part) => !message.includes(part)))).toEqual([]);
  });

  it("keeps kube-prometheus-stack's inhibition: info under warning and critical, warning under critical", () => {
    const rules = (config.spec as Json).inhibitRules as Json[];
    const source = (rule: Json) => JSON.stringify(rule.sourceMatch ?? []);
    expect(rules.some((r) => source(r).includes('"critical"') && JSON.stringify(r.targetMatch).includes("warning|info"))).toBe(true);
    expect(rules.some((r) => source(r).includes('"warning"') && JSON.stringify(r.targetMatch).includes('"info"'))).toBe(true);
  });

  it("holds no credential: only references to Secrets synced from the cloud secrets the spec names", () => {
    // Slack webhooks and tokens, heartbeat services' ping URLs: none is in the stack.
    expect(c.text).not.toMatch(/hooks\.slack\.com|xox[abposr]-|hc-ping\.com|nosnch\.in|cronitor\.link/);
    const receivers = specOf(config).receivers;
    const credentials = receivers.flatMap((r) => [
      ...((r.slackConfigs as Json[] | undefined) ?? []).map((x) => x.apiURL),
      ...((r.emailConfigs as Json[] | undefined) ?? []).map((x) => x.authPassword),
      ...((r.webhookConfigs as Json[] | undefined) ?? []).map((x) => x.url ?? x.urlSecret),
    ]);
    expect(credentials.filter((value) => typeof value !== "object")).toEqual([]);
    // Each spec secret name appears only as the remote key of an ExternalSecret.
    const names = specSecretNames(c.env).map((s) => s.name);
    const keyed = objectsOf(c)
      .filter((o) => o.kind === "ExternalSecret")
      .flatMap((o) => ((o.spec as Json).data as Json[] | undefined) ?? [])
      .map((d) => (d.remoteRef as Json).key);
    const alertNames = alerts ? [alerts.slack?.webhookSecret, alerts.email?.passwordSecret, alerts.heartbeat?.urlSecret].filter((n) => n !== undefined) : [];
    expect(keyed).toEqual(expect.arrayContaining(alertNames));
    const uses = (name: string) => c.text.split(`"${name}"`).length - 1 + (c.text.split(`\\"${name}\\"`).length - 1);
    expect(names.map((name) => [name, uses(name)])).toEqual(names.map((name) => [name, keyed.filter((k) => k === name).length]));
  });

  it("syncs the monitoring secrets of the spec into the monitoring namespace alone, through its own SecretStore and identity", () => {
    const names = new Set(specSecretNamesFor(c.env, "monitoring-secrets"));
    const externalSecrets = objectsOf(c).filter((o) => o.kind === "ExternalSecret");
    const reading = externalSecrets.filter((es) => (((es.spec as Json).data as Json[] | undefined) ?? []).some((d) => names.has(String((d.remoteRef as Json).key))));
    // Every ExternalSecret of a spec secret is in the monitoring namespace, through its SecretStore
    // (so never through the cluster store that serves the admin credentials).
    expect(reading.map((es) => [es.metadata.namespace, (es.spec as Json).secretStoreRef])).toEqual(reading.map(() => [MONITORING_NAMESPACE, { kind: "SecretStore", name: MONITORING_SECRET_STORE }]));
    const stores = objectsOf(c).filter((o) => o.kind === "SecretStore" || o.kind === "ClusterSecretStore");
    const clusterStore = stores.find((o) => o.kind === "ClusterSecretStore" && o.metadata.name === CLOUD_SECRET_STORE);
    expect(((clusterStore?.spec ?? {}) as Json).conditions).toEqual([{ namespaces: [DATABASE_BOOTSTRAP_NAMESPACE] }]);
    // Stores on the cloud's secret store (the apps' own SecretStores read Kubernetes Secrets).
    const cloudProviders = ["aws", "azurekv", "gcpsm"];
    // The SSO client secret has a store and identity of its own in `sso` (sso.test.ts).
    const namespaced = stores.filter((o) => o.kind === "SecretStore" && o.metadata.namespace !== SSO_NAMESPACE && Object.keys(((o.spec as Json).provider as Json | undefined) ?? {}).some((p) => cloudProviders.includes(p)));
    // One cloud store in the monitoring namespace when the spec names a secret, none otherwise;
    // it authenticates as the reader's service account, never as the controller's identity.
    expect(namespaced.map((o) => [o.metadata.namespace, o.metadata.name, JSON.stringify((o.spec as Json).provider).includes(`"name":"${MONITORING_SECRETS_ACCOUNT.serviceAccount}"`)])).toEqual(
      names.size === 0 ? [] : [[MONITORING_NAMESPACE, MONITORING_SECRET_STORE, true]],
    );
    const account = objectsOf(c).filter((o) => o.kind === "ServiceAccount" && o.metadata.name === MONITORING_SECRETS_ACCOUNT.serviceAccount);
    expect(account.map((o) => [o.metadata.namespace, Object.keys(o.metadata.annotations ?? {}).length])).toEqual(names.size === 0 ? [] : [[MONITORING_NAMESPACE, 1]]);
  });
});

/** Each rule of `support/alertmanager.ts` refuses a real configuration changed to break it. */
describe("the operator's and Alertmanager's rules refuse", () => {
  const base = cases.find((c) => c.label === "every app on aws, critical to both, warning to email, a heartbeat") as Case;
  const secrets = externalSecretKeys(objectsOf(base) as Json[], MONITORING_NAMESPACE);
  const broken = (change: (spec: ReturnType<typeof specOf>) => void) => {
    const config = structuredClone(configOf(base));
    change(specOf(config));
    return alertmanagerConfigProblems(config, secrets).join("\n");
  };
  const receiverWith = (spec: ReturnType<typeof specOf>, field: string) => spec.receivers.find((r) => r[field] !== undefined) as Json & { name: string };
  const first = <T>(value: unknown) => (value as T[])[0];

  it("the real configuration, unchanged", () => {
    expect(broken(() => undefined)).toBe("");
  });
  it.each<[string, (spec: ReturnType<typeof specOf>) => void, string]>([
    ["two receivers of one name", (s) => s.receivers.push({ ...s.receivers[1] }), "is not unique"],
    ["a route to a receiver that does not exist", (s) => (s.route.routes[2].receiver = "pager"), "receiver pager not found"],
    ["a root route without a receiver", (s) => delete s.route.receiver, "root route must define a receiver"],
    ["matchers on the root route", (s) => (s.route.matchers = [{ name: "severity", value: "critical", matchType: "=" }]), "'matchers' not permitted on root route"],
    ["continue on the root route", (s) => (s.route.continue = true), "cannot have continue in root route"],
    ["a label twice in groupBy", (s) => (s.route.groupBy = ["alertname", "alertname"]), "duplicate values in groupBy"],
    ["'...' with other labels in groupBy", (s) => (s.route.groupBy = ["...", "alertname"]), "'...' must be a sole value"],
    ["an unknown matchType", (s) => (first<Json>(s.route.routes[2].matchers).matchType = "=="), "invalid matchType"],
    ["a zero repeat interval", (s) => (s.route.routes[0].repeatInterval = "0s"), "repeatInterval cannot be zero"],
    ["an email without a recipient", (s) => delete first<Json>(receiverWith(s, "emailConfigs").emailConfigs).to, "missing 'to' address"],
    ["a smarthost without a port", (s) => (first<Json>(receiverWith(s, "emailConfigs").emailConfigs).smarthost = "smtp.example.com"), "invalid 'smarthost'"],
    ["an email without a sender", (s) => delete first<Json>(receiverWith(s, "emailConfigs").emailConfigs).from, "SMTP from is a mandatory field"],
    ["an SMTP password without TLS", (s) => (first<Json>(receiverWith(s, "emailConfigs").emailConfigs).requireTLS = false), "without requireTLS"],
    ["a webhook without a URL", (s) => delete first<Json>(receiverWith(s, "webhookConfigs").webhookConfigs).urlSecret, "one of 'url' or 'urlSecret' must be specified"],
    ["a Slack config without an API URL", (s) => delete first<Json>(receiverWith(s, "slackConfigs").slackConfigs).apiURL, "without apiURL"],
    ["a Secret nothing provides", (s) => (first<Json>(receiverWith(s, "slackConfigs").slackConfigs).apiURL = { name: "alertmanager-slack", key: "url" }), "which nothing in the namespace provides"],
  ])("%s", (_, change, message) => {
    expect(broken(change)).toContain(message);
  });
});

describe("the spec decides", () => {
  it("an environment without alerts sends everything to the null receiver and syncs no alert secret", () => {
    const c = cases.find((x) => x.label === "every app on gcp, no alerts") as Case;
    const config = configOf(c);
    expect(specOf(config).receivers.map((r) => r.name)).toEqual([RECEIVERS.none]);
    expect(specOf(config).route.routes.every((r) => r.receiver === RECEIVERS.none)).toBe(true);
    expect(objectsOf(c).filter((o) => o.kind === "ExternalSecret" && String(o.metadata.name).startsWith("alertmanager-"))).toEqual([]);
  });
  it("a cloud secret the spec does not name cannot be synced", () => {
    const env = parseEnvironment({ ...everyAppSpec("azure", true), alerts: { slack } });
    const ctx = { env, services: undefined as never, namespace: MONITORING_NAMESPACE, senders: [] };
    expect(() => cloudSecretManifests(ctx, { name: "x", keys: { password: "db-admin" }, placeholder: { password: "p" } })).toThrow(/does not name/);
    // The placeholder Secret and the ExternalSecret that merges into it.
    expect(cloudSecretManifests(ctx, { name: "x", keys: { url: slack.webhookSecret }, placeholder: { url: "u" } }).map((o) => o.kind)).toEqual(["Secret", "ExternalSecret"]);
    // A placeholder that misses a key of the Secret would leave that key missing until the sync.
    expect(() => cloudSecretManifests(ctx, { name: "x", keys: { url: slack.webhookSecret }, placeholder: {} })).toThrow(/placeholder has keys/);
  });
});

/**
 * Alertmanager v0.34.0's inhibition (inhibit/inhibit.go): a firing source alert matching a rule's
 * source matchers mutes a target alert matching its target matchers when every label of `equal`
 * has the same value on both, a label absent on both counting as equal (`fingerprintEquals` reads
 * `lset[n]`, "" when absent); an alert matching both sides does not mute another such alert
 * (`excludeTwoSidedMatch`).
 */
type Labels = Readonly<Record<string, string>>;
interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly matchType: string;
}
const matches = (labels: Labels, matchers: readonly Matcher[] = []) =>
  matchers.every((m) => {
    const value = labels[m.name] ?? "";
    const regex = new RegExp(`^(?:${m.value})$`);
    return m.matchType === "=" ? value === m.value : m.matchType === "!=" ? value !== m.value : m.matchType === "=~" ? regex.test(value) : !regex.test(value);
  });
function inhibited(rules: readonly Json[], firing: readonly Labels[], target: Labels): boolean {
  return rules.some((rule) => {
    const source = rule.sourceMatch as Matcher[] | undefined;
    const targets = rule.targetMatch as Matcher[] | undefined;
    const equal = (rule.equal as string[] | undefined) ?? [];
    if (!matches(target, targets)) return false;
    const targetIsSource = matches(target, source);
    return firing.some((alert) => alert !== target && matches(alert, source) && !(targetIsSource && matches(alert, targets)) && equal.every((name) => (alert[name] ?? "") === (target[name] ?? "")));
  });
}

describe("inhibition as Alertmanager applies it", () => {
  const hub = cases.find((c) => c.env.name === "ops" && c.label.includes("its own cloud"));
  const rules = () => (configOf(hub as Case).spec as Json).inhibitRules as Json[];
  const silent = () =>
    objectsOf(hub as Case)
      .filter((o) => o.kind === "PrometheusRule")
      .flatMap((o) => ((o.spec as Json).groups as { rules: Json[] }[]).flatMap((g) => g.rules))
      .filter((rule) => rule.alert === "MetricsHubSenderSilent")
      .map((rule): Labels => ({ alertname: "MetricsHubSenderSilent", ...(rule.labels as Labels) }));

  it("the simulation mutes a warning under a critical of the same name and namespace, and reproduces the cross-sender muting kube-prometheus-stack's equal gives", () => {
    const kps = [{ sourceMatch: [{ name: "severity", value: "critical", matchType: "=" }], targetMatch: [{ name: "severity", value: "warning|info", matchType: "=~" }], equal: ["namespace", "alertname"] }];
    const critical = { alertname: "X", namespace: "a", severity: "critical" };
    expect(inhibited(kps, [critical], { alertname: "X", namespace: "a", severity: "warning" })).toBe(true);
    expect(inhibited(kps, [critical], { alertname: "X", namespace: "b", severity: "warning" })).toBe(false);
    const prod = { alertname: "MetricsHubSenderSilent", severity: "critical", sender: "prod" };
    expect(inhibited(kps, [prod], { alertname: "MetricsHubSenderSilent", severity: "warning", sender: "staging" })).toBe(true);
  });

  it("on the hub, one sender's silence never mutes another's; a critical still mutes its own warning", () => {
    expect(hub).toBeDefined();
    const alerts = silent();
    expect(alerts.map((a) => a.severity).sort()).toEqual(expect.arrayContaining(["critical", "warning"]));
    expect(alerts.filter((alert) => inhibited(rules(), alerts, alert)).map((alert) => alert.sender)).toEqual([]);
    const critical = { alertname: "PostgresStorageFull", namespace: "", severity: "critical", environment: "ops" };
    expect(inhibited(rules(), [critical], { ...critical, severity: "warning" })).toBe(true);
  });
});
