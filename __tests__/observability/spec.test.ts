/**
 * The `alerts` and `metrics` sections of the spec: each bad value gets one field error naming
 * what was given and what is accepted, with the rules of the cloud whose secret store holds the
 * named secrets, and the metrics links agree on both sides across environments.
 */
import { describe, expect, it } from "vitest";
import { alertRoutes, metricsLinks, parseEnvironment, parseEnvironments, SpecErrors, type EnvironmentInput } from "../../constructs/core/spec";
import { specChecks } from "../../stacks/app";
import { defaultEnvironments, everyAppSpec, specProblems } from "../support/fixtures";

const problems = specProblems;

const slack = { channel: "#data-alerts", webhookSecret: "alerts-slack-webhook" };
const email = { to: ["oncall@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", passwordSecret: "alerts-smtp-password" };
const withAlerts = (alerts: unknown, cloud: "aws" | "azure" | "gcp" = "aws"): EnvironmentInput => ({ ...everyAppSpec(cloud, false), alerts } as EnvironmentInput);

describe("alerts in the spec", () => {
  it("accepts Slack and email with the default routes: critical to both, warning to Slack", () => {
    const routes = (alerts: unknown) => alertRoutes(parseEnvironment(withAlerts(alerts), specChecks).alerts ?? {});
    expect(routes({ slack, email })).toEqual({ critical: ["slack", "email"], warning: ["slack"] });
    expect(routes({ email })).toEqual({ critical: ["email"], warning: ["email"] });
  });

  it.each([
    ["a channel without #", { slack: { ...slack, channel: "data-alerts" } }, 'alerts.slack.channel: given "data-alerts"; accepted: a Slack channel such as #data-alerts'],
    ["a channel with capitals", { slack: { ...slack, channel: "#Data" } }, 'alerts.slack.channel: given "#Data"'],
    ["an email without a domain", { email: { ...email, to: ["oncall"] } }, 'alerts.email.to[0]: given "oncall"; accepted: an email address with a domain'],
    ["a sender without a top-level domain", { email: { ...email, from: "alerts@localhost" } }, 'alerts.email.from: given "alerts@localhost"'],
    ["an SMTP host without a port", { email: { ...email, smarthost: "smtp.example.com" } }, 'alerts.email.smarthost: given "smtp.example.com"; accepted: an SMTP server as host:port'],
    ["a port out of range", { email: { ...email, smarthost: "smtp.example.com:70000" } }, 'alerts.email.smarthost: given "smtp.example.com:70000"'],
    ["no channel at all", { heartbeat: { urlSecret: "alerts-heartbeat-url" } }, "alerts: given [\"heartbeat\"]; accepted: alerts with slack, email or both"],
    ["a route to a channel not given", { slack, routes: { critical: ["slack", "email"] } }, 'alerts.routes.critical[1]: given "email"; accepted: a channel configured under alerts (slack)'],
    ["a channel routed twice", { slack, routes: { warning: ["slack", "slack"] } }, 'alerts.routes.warning[1]: given "slack"; accepted: each channel once'],
    ["an unknown channel", { slack, routes: { warning: ["pager"] } }, 'alerts.routes.warning[0]: given "pager"; accepted: slack | email'],
    ["a credential in the spec", { slack: { ...slack, webhookUrl: "https://hooks.slack.com/services/T0/B0/x" } }, "alerts.slack.webhookUrl: unknown field; accepted: channel, webhookSecret"],
  ])("refuses %s", (_, alerts, message) => {
    expect(problems(withAlerts(alerts))).toEqual([expect.stringContaining(message)]);
  });

  it.each([
    ["aws", "alerts-slack-a1b2c3", "on AWS, a Secrets Manager name that does not end in '-' and six characters"],
    ["aws", "alerts slack", "the name of a secret in the cloud's secret store"],
    ["azure", "alerts_slack", "on Azure, a Key Vault secret name: 1 to 127 letters, digits and '-'"],
    
    ["gcp", "alerts.slack", "on GCP, a Secret Manager secret id: 1 to 255 letters, digits, '_' and '-'"],
  ] as const)("refuses on %s a secret name its secret store cannot hold: %s", (cloud, name, message) => {
    expect(problems(withAlerts({ slack: { ...slack, webhookSecret: name } }, cloud))).toEqual([expect.stringContaining(`alerts.slack.webhookSecret: given "${name}"; accepted: ${message}`)]);
  });

  it("refuses on azure a name longer than Key Vault's 127 characters", () => {
    expect(problems(withAlerts({ slack: { ...slack, webhookSecret: "a".repeat(128) } }, "azure"))).toEqual([expect.stringContaining("accepted: on Azure, a Key Vault secret name: 1 to 127")]);
    expect(problems(withAlerts({ slack: { ...slack, webhookSecret: "a".repeat(127) } }, "azure"))).toEqual([]);
  });

  it("accepts each cloud's own names the others refuse", () => {
    expect(problems(withAlerts({ slack: { ...slack, webhookSecret: "team/alerts_slack.webhook" } }, "aws"))).toEqual([]);
    expect(problems(withAlerts({ slack: { ...slack, webhookSecret: "alerts_slack" } }, "gcp"))).toEqual([]);
  });
});

describe("metrics links across environments", () => {
  const hub = (receiveFrom: unknown[], host = true) => {
    const base = everyAppSpec("aws", false);
    return {
      ...base,
      name: "ops",
      network: { cidr: "10.30.0.0/20" },
      apps: [{ name: "monitoring", ...(host ? { host: "monitoring-ops.data.example.com" } : {}) }],
      metrics: { receiveFrom },
    };
  };
  const sender = (sendTo: unknown, name = "prod", cidr = "10.10.0.0/16") => {
    const base = everyAppSpec("azure", false);
    return { ...base, name, network: { cidr }, apps: (base.apps ?? []).map((app) => ({ ...app, host: app.host?.replace(/^([a-z]+)\./, `$1-${name}.`) })), metrics: { sendTo } };
  };
  const crossProblems = (inputs: unknown[]) => {
    try {
      parseEnvironments(inputs, (index) => `environments/${index}.ts`, specChecks);
      return "";
    } catch (error) {
      if (error instanceof SpecErrors) return error.message;
      throw error;
    }
  };

  it("links a sender on one cloud to a hub on another, both sides named", () => {
    const envs = parseEnvironments([hub([{ environment: "prod", passwordSecret: "metrics-from-prod" }]), sender({ environment: "ops", passwordSecret: "metrics-hub-password" })], undefined, specChecks);
    expect(metricsLinks(envs[1], envs).hub).toEqual({ environment: "ops", host: "monitoring-ops.data.example.com", passwordSecret: "metrics-hub-password" });
    expect(metricsLinks(envs[0], envs).senders.map((env) => env.name)).toEqual(["prod"]);
  });

  it.each([
    ["a hub that does not exist", [hub([]), sender({ environment: "opz", passwordSecret: "p" })], 'metrics.sendTo.environment: given "opz"; accepted: the name of another environment in environments/ (ops)'],
    ["a hub that does not list the sender", [hub([]), sender({ environment: "ops", passwordSecret: "p" })], 'metrics.sendTo.environment: given "ops"; accepted: a hub that lists prod in metrics.receiveFrom (ops (environments/0.ts) does not'],
    ["a listed sender that sends elsewhere", [hub([{ environment: "prod", passwordSecret: "p" }]), { ...sender({ environment: "ops", passwordSecret: "p" }), metrics: {} }], 'metrics.receiveFrom[0].environment: given "prod"; accepted: an environment whose metrics.sendTo.environment is ops (prod (environments/1.ts) sends to no hub)'],
    ["a listed sender that does not exist", [hub([{ environment: "qa", passwordSecret: "p" }])], 'metrics.receiveFrom[0].environment: given "qa"; accepted: the name of another environment'],
    ["a hub without a monitoring host", [hub([{ environment: "prod", passwordSecret: "p" }], false), sender({ environment: "ops", passwordSecret: "p" })], "metrics.receiveFrom: given [\"prod\"]; accepted: a hub that lists monitoring in apps with a host"],
    ["a sender listed twice", [hub([{ environment: "prod", passwordSecret: "p" }, { environment: "prod", passwordSecret: "q" }]), sender({ environment: "ops", passwordSecret: "p" })], 'metrics.receiveFrom[1].environment: given "prod"; accepted: each environment once'],
    ["a hub that also sends", [{ ...hub([{ environment: "prod", passwordSecret: "p" }]), metrics: { receiveFrom: [{ environment: "prod", passwordSecret: "p" }], sendTo: { environment: "prod", passwordSecret: "p" } } }, sender({ environment: "ops", passwordSecret: "p" })], "metrics.sendTo: given \"prod\"; accepted: no hub while this environment receives metrics"],
    ["an environment sending to itself", [{ ...sender({ environment: "prod", passwordSecret: "p" }) }], 'metrics.sendTo.environment: given "prod"; accepted: another environment'],
  ])("refuses %s", (_, inputs, message) => {
    expect(crossProblems(inputs)).toContain(message);
  });

  it("holds the default environments' links: every sender's hub lists it and runs monitoring with a host", () => {
    const envs = defaultEnvironments();
    const senders = envs.filter((env) => env.metrics?.sendTo !== undefined);
    expect(senders.map((env) => metricsLinks(env, envs).hub?.host)).toEqual(senders.map((env) => envs.find((hub) => hub.name === env.metrics?.sendTo?.environment)?.apps.find((app) => app.name === "monitoring")?.host));
  });
});
