/**
 * Where alerts go: Alertmanager's whole configuration as one AlertmanagerConfig
 * (monitoring.coreos.com/v1alpha1), named by the Alertmanager's `alertmanagerConfiguration`
 * (kube-prometheus-stack `alertmanager.alertmanagerSpec.alertmanagerConfiguration`, see
 * `monitoring.ts`), and the ExternalSecrets of its credentials.
 *
 * How the operator reads it (prometheus-operator v0.93.0 = release-0.93, whose AlertmanagerConfig
 * CRD is byte-identical to the v0.93.1 one kube-prometheus-stack 88.5.3 ships):
 * - pkg/alertmanager/operator.go `provisionAlertmanagerConfiguration`: the object named by
 *   `alertmanagerConfiguration.name`, in the Alertmanager's namespace, becomes the top-level
 *   configuration (`initializeFromAlertmanagerConfig`), and `selectAlertmanagerConfigs` skips it,
 *   so it is not merged a second time as a namespaced sub-route;
 * - pkg/alertmanager/amcfg.go `initializeFromAlertmanagerConfig`: route and inhibit rules are taken
 *   without the namespace matcher the operator adds to other AlertmanagerConfigs; receiver names
 *   are prefixed `<namespace>/<name>/`; `convertSlackConfig` reads `apiURL` from the Secret and
 *   checks it is a URL, `convertEmailConfig` reads `authPassword` from the Secret and requires
 *   `smarthost` and `from` (there is no global SMTP configuration), `convertWebhookConfig` reads
 *   `urlSecret`. The values land in the operator's generated (Secret) configuration only.
 * Credentials therefore never appear here: each is a reference to a Secret that External Secrets
 * syncs from the cloud secret the spec names (`secrets.ts`).
 */
import { alertRoutes, type AlertChannel, type AlertSeverity } from "../../core/spec";
import type { Manifest } from "../helm";
import { ALERTMANAGER_CONFIG_NAME } from "../monitoring";
import type { ObservabilityContext } from "./index";
import { ENVIRONMENT_LABEL } from "./metrics";
import { cloudSecretManifests, PLACEHOLDER } from "./secrets";

/** The Secrets (name and key) the receivers read, synced from the cloud secrets the spec names. */
export const ALERT_SECRETS = {
  slack: { name: "alertmanager-slack", key: "webhook-url", placeholder: PLACEHOLDER.url },
  email: { name: "alertmanager-smtp", key: "password", placeholder: PLACEHOLDER.password },
  heartbeat: { name: "alertmanager-heartbeat", key: "url", placeholder: PLACEHOLDER.url },
} as const;

/** Receiver names (the operator prefixes them with `monitoring/<config name>/`). */
export const RECEIVERS = { none: "null", heartbeat: "heartbeat" } as const;

/** The receiver of a set of channels: `slack`, `email`, `slack-email`; none: the null receiver. */
export function channelsReceiver(channels: readonly AlertChannel[]): string {
  const sorted = (["slack", "email"] as const).filter((channel) => channels.includes(channel));
  return sorted.length === 0 ? RECEIVERS.none : sorted.join("-");
}

/** Labels alerts are grouped by: one notification per environment, alert and pipeline. */
export const GROUP_BY = [ENVIRONMENT_LABEL, "alertname", "pipeline"] as const;

/**
 * Timing per severity: a first notification 30 s after the first alert of a group (so alerts of
 * one incident arrive together), changes every 5 minutes, and a reminder while it still fires.
 */
export const SEVERITY_TIMING: Readonly<Record<AlertSeverity, { groupWait: string; groupInterval: string; repeatInterval: string }>> = {
  critical: { groupWait: "30s", groupInterval: "5m", repeatInterval: "4h" },
  warning: { groupWait: "30s", groupInterval: "5m", repeatInterval: "12h" },
};

/**
 * The dead man's switch: kube-prometheus-stack's always-firing `Watchdog` alert (its
 * general.rules), sent to the heartbeat URL every 5 minutes. A notification is sent at a
 * group_interval tick once repeat_interval has passed, so with 1m/5m the service hears from
 * Alertmanager every 5 to 6 minutes; set its period to 10 minutes with some grace.
 */
export const HEARTBEAT_TIMING = { groupWait: "0s", groupInterval: "1m", repeatInterval: "5m" } as const;

/** Annotations the platform's rules set, read by the message templates. */
const ANNOTATION = { summary: "summary", description: "description", runbook: "runbook", runbookUrl: "runbook_url", dashboard: "dashboard" } as const;

/**
 * One alert in a message: what fired where, for which pipeline, connection or database, its
 * summary, runbook line and dashboard link (Alertmanager notification templates, Go
 * text/template with Alertmanager's functions: prometheus/alertmanager template/template.go).
 */
function alertLines(slack: boolean): string {
  const link = (label: string, value: string) => (slack ? `<${value}|${label}>` : `${label}: ${value}`);
  const bold = (text: string) => (slack ? `*${text}*` : text);
  return [
    `{{ range .Alerts }}`,
    `${bold("{{ .Labels.alertname }}")} ({{ .Labels.severity }}, {{ .Status }}) in ${bold("{{ .Labels.environment }}")}` +
      `{{ with .Labels.pipeline }} | pipeline {{ . }}{{ end }}{{ with .Labels.connection }} | connection {{ . }}{{ end }}{{ with .Labels.database }} | database {{ . }}{{ end }}`,
    `{{ with .Annotations.${ANNOTATION.summary} }}{{ . }}{{ else }}{{ .Annotations.${ANNOTATION.description} }}{{ end }}`,
    `{{ with .Annotations.${ANNOTATION.runbook} }}Runbook: {{ . }}\n{{ end }}{{ with .Annotations.${ANNOTATION.runbookUrl} }}${link("Runbook", "{{ . }}")}\n{{ end }}` +
      `{{ with .Annotations.${ANNOTATION.dashboard} }}${link("Dashboard", "{{ . }}")}\n{{ end }}`,
    `{{ end }}`,
  ].join("\n");
}

/** `[FIRING:2] prod: AirbyteSyncFailed`; the environment label, else this environment's name. */
function titleTemplate(ctx: ObservabilityContext): string {
  return `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ or .CommonLabels.environment "${ctx.env.name}" }}: {{ .CommonLabels.alertname }}`;
}

/** The dashboard of the first alert, else the environment's Grafana (or no link). */
function titleLinkTemplate(ctx: ObservabilityContext): string {
  return `{{ with (index .Alerts 0).Annotations.${ANNOTATION.dashboard} }}{{ . }}{{ else }}${ctx.grafanaUrl ?? ""}{{ end }}`;
}

type Receiver = { name: string } & Record<string, unknown>;

function slackConfig(ctx: ObservabilityContext): Record<string, unknown> | undefined {
  const slack = ctx.env.alerts?.slack;
  if (!slack) return undefined;
  return {
    apiURL: { name: ALERT_SECRETS.slack.name, key: ALERT_SECRETS.slack.key },
    channel: slack.channel,
    sendResolved: true,
    title: titleTemplate(ctx),
    titleLink: titleLinkTemplate(ctx),
    text: alertLines(true),
  };
}

function emailConfig(ctx: ObservabilityContext): Record<string, unknown> | undefined {
  const email = ctx.env.alerts?.email;
  if (!email) return undefined;
  return {
    // Alertmanager parses `to` as an address list (net/mail ParseAddressList).
    to: email.to.join(", "),
    from: email.from,
    smarthost: email.smarthost,
    authUsername: email.username ?? email.from,
    authPassword: { name: ALERT_SECRETS.email.name, key: ALERT_SECRETS.email.key },
    // STARTTLS or nothing: the password never crosses the network in clear.
    requireTLS: true,
    sendResolved: true,
    headers: [{ key: "Subject", value: titleTemplate(ctx) }],
    text: alertLines(false),
  };
}

/** The receivers: null, one per channel combination the routes use, and the heartbeat. */
function receivers(ctx: ObservabilityContext, used: readonly (readonly AlertChannel[])[]): Receiver[] {
  const configs = { slack: slackConfig(ctx), email: emailConfig(ctx) };
  const list: Receiver[] = [{ name: RECEIVERS.none }];
  const seen = new Set<string>([RECEIVERS.none]);
  for (const channels of used) {
    const name = channelsReceiver(channels);
    if (seen.has(name)) continue;
    seen.add(name);
    const slack = channels.includes("slack") ? configs.slack : undefined;
    const email = channels.includes("email") ? configs.email : undefined;
    list.push({ name, ...(slack ? { slackConfigs: [slack] } : {}), ...(email ? { emailConfigs: [email] } : {}) });
  }
  if (ctx.env.alerts?.heartbeat) {
    list.push({
      name: RECEIVERS.heartbeat,
      webhookConfigs: [{ urlSecret: { name: ALERT_SECRETS.heartbeat.name, key: ALERT_SECRETS.heartbeat.key }, sendResolved: false, maxAlerts: 1 }],
    });
  }
  return list;
}

const equals = (name: string, value: string) => ({ name, value, matchType: "=" });

/**
 * kube-prometheus-stack 88.5.3's default inhibition (values.yaml `alertmanager.config.inhibit_rules`):
 * a critical alert silences the warning and info alerts of the same name and namespace, a warning
 * its info alerts, `InfoInhibitor` the info alerts of its namespace, and nothing reports
 * `InfoInhibitor` itself.
 *
 * One change: the first two also require the same `sender`. Alertmanager compares a label both
 * alerts lack as equal (v0.34.0 inhibit/inhibit.go `fingerprintEquals` reads `lset[n]`, "" when
 * absent), and the hub's `MetricsHubSenderSilent` (hub.ts) has one name for every sender, critical
 * for production and warning otherwise, and no `namespace`: without `sender`, prod falling
 * silent would hide staging's silence. Every other alert lacks `sender` on both sides, so for
 * them nothing changes.
 */
export const INHIBIT_RULES = [
  { sourceMatch: [equals("severity", "critical")], targetMatch: [{ name: "severity", value: "warning|info", matchType: "=~" }], equal: ["namespace", "alertname", "sender"] },
  { sourceMatch: [equals("severity", "warning")], targetMatch: [equals("severity", "info")], equal: ["namespace", "alertname", "sender"] },
  { sourceMatch: [equals("alertname", "InfoInhibitor")], targetMatch: [equals("severity", "info")], equal: ["namespace"] },
  { targetMatch: [equals("alertname", "InfoInhibitor")] },
];

/** The AlertmanagerConfig object. */
export function alertmanagerConfig(ctx: ObservabilityContext): Manifest {
  const alerts = ctx.env.alerts;
  const routes = alerts ? alertRoutes(alerts) : undefined;
  const severities = (["critical", "warning"] as const).filter((severity) => (routes?.[severity] ?? []).length > 0);
  const childRoutes: Record<string, unknown>[] = [
    // The dead man's switch first: Watchdog never reaches a person.
    { receiver: alerts?.heartbeat ? RECEIVERS.heartbeat : RECEIVERS.none, matchers: [equals("alertname", "Watchdog")], ...HEARTBEAT_TIMING },
    // Exists only to inhibit info alerts (kube-prometheus-stack's own default sends it nowhere).
    { receiver: RECEIVERS.none, matchers: [equals("alertname", "InfoInhibitor")] },
    ...severities.map((severity) => ({
      receiver: channelsReceiver(routes?.[severity] ?? []),
      matchers: [equals("severity", severity)],
      ...SEVERITY_TIMING[severity],
    })),
  ];
  return {
    apiVersion: "monitoring.coreos.com/v1alpha1",
    kind: "AlertmanagerConfig",
    metadata: { name: ALERTMANAGER_CONFIG_NAME, namespace: ctx.namespace },
    spec: {
      route: {
        // Anything without a known severity (info, none) stays in Alertmanager and Grafana.
        receiver: RECEIVERS.none,
        groupBy: [...GROUP_BY],
        groupWait: "30s",
        groupInterval: "5m",
        repeatInterval: "12h",
        routes: childRoutes,
      },
      receivers: receivers(ctx, severities.map((severity) => routes?.[severity] ?? [])),
      inhibitRules: INHIBIT_RULES,
    },
  };
}

/**
 * The Secrets of the credentials the receivers read (values trimmed of stray whitespace), each
 * holding an inert placeholder until its cloud secret is synced (secrets.ts `cloudSecretManifests`):
 * a channel whose secret is missing fails its notifications (and `ExternalSecretNotSynced`
 * fires), while Alertmanager keeps its configuration and every other channel.
 */
function credentialManifests(ctx: ObservabilityContext): Manifest[] {
  const alerts = ctx.env.alerts;
  if (!alerts) return [];
  const synced = (secret: { name: string; key: string; placeholder: string }, cloudName: string) =>
    cloudSecretManifests(ctx, {
      name: secret.name,
      keys: { [secret.key]: cloudName },
      template: { engineVersion: "v2", data: { [secret.key]: `{{ index . "${secret.key}" | trim }}` } },
      placeholder: { [secret.key]: secret.placeholder },
    });
  return [
    ...(alerts.slack ? synced(ALERT_SECRETS.slack, alerts.slack.webhookSecret) : []),
    ...(alerts.email ? synced(ALERT_SECRETS.email, alerts.email.passwordSecret) : []),
    ...(alerts.heartbeat ? synced(ALERT_SECRETS.heartbeat, alerts.heartbeat.urlSecret) : []),
  ];
}

export function routingManifests(ctx: ObservabilityContext): Manifest[] {
  return [...credentialManifests(ctx), alertmanagerConfig(ctx)];
}
