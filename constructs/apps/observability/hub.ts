/**
 * The metrics hub (`metrics` in the spec): senders (prod, staging) remote-write their Prometheus
 * series to the hub (ops), whose Grafana then shows every environment through its one
 * Prometheus datasource, each series labelled `environment`. Alerting stays in each environment:
 * the hub is a view, so an ops outage silences nothing.
 *
 * Why remote write (and not federation, or Grafana querying each environment): the hub needs
 * only outbound HTTPS from the senders, so it works across clouds without network peering, and
 * no sender exposes its query API; federation or per-environment datasources would need every
 * sender's Prometheus reachable from ops (an ingress per sender with its query API open to the
 * internet, or peering), and a sender that is down would leave holes in the hub's history that
 * remote write fills from the sender's WAL when it comes back.
 *
 * What is here:
 * - `prometheusLinkValues`: the kube-prometheus-stack values of the link (monitoring.ts merges
 *   them): every environment labels its series `environment=<name>`; a sender remote-writes; the
 *   hub turns its remote-write receiver on and is sized for what it receives;
 * - `hubManifests`: on a sender, the Secret with its credentials and the rules that say when
 *   writing to the hub fails; on the hub, the ingress of `/api/v1/write` (TLS, basic auth by a
 *   Traefik Middleware), the htpasswd Secret built from the senders' passwords, and a rule per
 *   sender that fires when its series stop arriving.
 *
 * Pinned upstream (read at these tags; the sources are cited where each rule is used):
 * Prometheus v3.14.0 (kube-prometheus-stack 88.5.3 values.yaml `prometheusSpec.image.tag`),
 * prometheus-operator v0.93.1 (CRDs bundled in kube-prometheus-stack 88.5.3; operator code read at
 * v0.93.0, the last tag of the mirror: the patch release does not touch it), Traefik chart 41.3.0
 * (Traefik v3.7.11; code read at v3.7.9, the newest tag of the mirror) and External Secrets 2.9.0.
 */
import { monitoringHost, type Environment, type MetricsHubLink } from "../../core/spec";
import { INGRESS_CLASS } from "../addons";
import type { Manifest } from "../helm";
import type { ObservabilityContext } from "./index";
import { cloudSecretManifests, PLACEHOLDER } from "./secrets";
import { ENVIRONMENT_LABEL } from "./metrics";
import { DASHBOARDS, renderRuleGroups, type RuleGroup } from "./rules";

/** The path Prometheus serves its remote-write receiver at (web/api/v1/api.go `r.Post("/write", ...)` under `/api/v1`). */
export const REMOTE_WRITE_PATH = "/api/v1/write";


/** The Prometheus service kube-prometheus-stack creates (`<fullname>-prometheus`, port `prometheus.service.port`): the receiver's backend. */
export const HUB_PROMETHEUS_SERVICE = { name: "monitoring-prometheus", port: 9090 } as const;

/** Sender side: the Secret (monitoring namespace) with the remote-write login; keys as the operator reads them. */
export const SENDER_SECRET = { name: "metrics-hub-remote-write", usernameKey: "username", passwordKey: "password" } as const;

/** Hub side: the Traefik basic-auth users Secret (one key, htpasswd lines), the Middleware and the ingress. */
export const HUB_USERS_SECRET = { name: "metrics-hub-users", key: "users" } as const;
export const HUB_AUTH_MIDDLEWARE = "metrics-hub-auth";
export const HUB_WRITE_INGRESS = "metrics-hub-write";

/**
 * The remote-write queue's name: metrics of the queue carry it as `remote_name`
 * (storage/remote/storage.go `remoteName = "remote_name"`), so the rules select the hub's queue.
 */
export const remoteWriteName = (hub: MetricsHubLink) => `hub-${hub.environment}`;

/** The receiver's URL on the hub's monitoring host. */
export const remoteWriteUrl = (hub: MetricsHubLink) => `https://${hub.host}${REMOTE_WRITE_PATH}`;

/**
 * Prometheus replicas of an environment: two in production, one elsewhere (stacks/apps.ts
 * `replicas`). The operator names the pods `prometheus-<name>-<ordinal>` and gives each the
 * external label `prometheus_replica=<pod name>` (prometheus-operator v0.93.0
 * pkg/prometheus/promcfg.go: `m[replicaExternalLabelName] = "$(POD_NAME)"`, default name
 * `prometheus_replica`), which remote write sees before its relabelling (Prometheus v3.14.0
 * storage/remote/queue_manager.go `StoreSeries`: `processExternalLabels` then
 * `relabel.ProcessBuilder`).
 */
const REPLICA_LABEL = "prometheus_replica";

/**
 * What a sender does not write (a `__name__` regex): the control plane's and kubelet's internal
 * histograms and work queues. They are the largest families of a kube-prometheus-stack cluster
 * (`apiserver_request_duration_seconds_bucket` alone is often a tenth of its series) and serve
 * the API server's latency SLO rules and dashboards, which stay in each environment. The hub
 * keeps everything its own rules and dashboards read (a test checks every metric name they use
 * against this regex): apps, databases, nodes, containers, kube-state-metrics,
 * `apiserver_request_total` (401/403 bursts), remote-write health.
 */
export const HUB_WRITE_DROP = "apiserver_.+_bucket|etcd_.+_bucket|rest_client_.+_bucket|workqueue_.+|kubelet_.+_bucket|storage_operation_.+_bucket|csi_operations_.+_bucket|coredns_.+_bucket|prober_probe_duration_seconds_bucket|ALERTS_FOR_STATE";

/**
 * Samples the hub keeps when they arrive out of order, per series (TSDB `outOfOrderTimeWindow`).
 * Production senders run two Prometheus replicas that both write the series they scrape, without
 * the replica label, so the hub gets one series from two interleaved streams (scrape offsets
 * differ per replica: scrape/manager.go `setOffsetSeed` hashes the host name), and after an
 * outage a lagging replica catches up behind the other. 30 minutes covers both; the cost is the
 * out-of-order head's memory for samples that really are late.
 */
export const HUB_OUT_OF_ORDER_WINDOW = "30m";

/**
 * Recorded series (`level:metric:op`) a sender does not write at all. The hub runs
 * kube-prometheus-stack's recording rules itself over the raw series it receives, with
 * `environment` among their aggregation labels (environmentLabelValues); a sender's own copy
 * would arrive next to it with the external label `prometheus` (prometheus-operator v0.93.0
 * promcfg.go adds `prometheus=<namespace>/<name>` to every series) and double every sum in the
 * ops Grafana, or interleave with it where the label sets are equal. The project's own recorded
 * series (airflow_dag:*) are read by the senders' alerts only; no hub rule or dashboard reads a
 * recorded series the hub does not record itself (a test checks it).
 */
export const HUB_WRITE_DROP_RECORDED = ".+:.+";

/**
 * The relabelling of what a sender writes:
 * 1. drop `HUB_WRITE_DROP` and the recorded series (HUB_WRITE_DROP_RECORDED);
 * 2. `ALERTS` only from replica 0: both replicas evaluate a rule group at the same timestamps
 *    (rules/group.go `EvalTimestamp` offsets by the hash of group name and file only), and the
 *    receiver refuses a second value at one timestamp (`ErrDuplicateSampleForTimestamp`), which
 *    for Remote Write 1.0 rolls back and rejects the whole request
 *    (storage/remote/write_handler.go `write`: returns 400 on the first such sample; the sender
 *    drops a batch answered 400);
 * 3. drop the replica label, so the two replicas' scraped samples land in one series.
 */
function writeRelabelConfigs(): Record<string, unknown>[] {
  return [
    { sourceLabels: ["__name__"], regex: `${HUB_WRITE_DROP}|${HUB_WRITE_DROP_RECORDED}`, action: "drop" },
    { sourceLabels: ["__name__", REPLICA_LABEL], separator: ";", regex: "ALERTS;.+-[1-9][0-9]*", action: "drop" },
    { regex: REPLICA_LABEL, action: "labeldrop" },
  ];
}

/**
 * The remote-write queue (Prometheus v3.14.0 defaults in config/config.go
 * `DefaultQueueConfig`: capacity 10000, max_shards 50, max_samples_per_send 2000,
 * batch_send_deadline 5s, backoff 30ms..5s). Shards are capped at 10: one shard sends ~2000
 * samples per round trip, so 10 shards carry well over 100k samples/s, many times a sender's
 * steady rate (a few thousand per second), while four senders catching up after an outage open
 * at most 80 concurrent requests against the hub's single receiver instead of 400. Samples older
 * than an hour are dropped on the sender: the hub's head accepts nothing older than about an
 * hour before its newest sample (tsdb/head_append.go `appendableMinValidTime`: max time minus
 * half the 2h block range), so sending them would only earn 400s that drop whole batches.
 */
const QUEUE_CONFIG = {
  capacity: 10000,
  minShards: 1,
  maxShards: 10,
  maxSamplesPerSend: 2000,
  batchSendDeadline: "5s",
  minBackoff: "30ms",
  maxBackoff: "5s",
  retryOnRateLimit: true,
  sampleAgeLimit: "1h",
} as const;

/** The remote-write entry of a sender (a `RemoteWriteSpec` of the Prometheus CRD, v0.93.1). */
export function remoteWriteSpec(hub: MetricsHubLink): Record<string, unknown> {
  return {
    name: remoteWriteName(hub),
    url: remoteWriteUrl(hub),
    // Username and password both come from the synced Secret: the CRD's basicAuth takes Secret keys only.
    basicAuth: {
      username: { name: SENDER_SECRET.name, key: SENDER_SECRET.usernameKey },
      password: { name: SENDER_SECRET.name, key: SENDER_SECRET.passwordKey },
    },
    remoteTimeout: "30s",
    // The receiver never redirects; a redirect could only send the credentials elsewhere.
    followRedirects: false,
    queueConfig: { ...QUEUE_CONFIG },
    // Remote Write 1.0 carries metadata in the request, and the receiver ignores it
    // (write_handler.go `write` appends `req.Timeseries` only): not worth the bytes.
    metadataConfig: { send: false },
    writeRelabelConfigs: writeRelabelConfigs(),
  };
}

/**
 * Sizing of the hub's Prometheus for what it receives, from the senders' specs. Estimates, stated
 * so they can be checked against `prometheus_tsdb_head_series` after a week:
 * - active series a sender brings after the lean write: 150k from production, 75k otherwise
 *   (kube-prometheus-stack on a few nodes plus the apps' exporters);
 * - head memory ~8 KiB per active series (about 4 KiB for labels, chunks and index, doubled for
 *   queries and compaction);
 * - samples every 30s (the operator's default scrape interval), written by every replica of
 *   the sender (two in production), ~2 bytes per sample on disk after compression, kept for the
 *   hub's retention, plus 20% for the WAL and compaction.
 */
const SENDER_SERIES = { production: 150_000, other: 75_000 } as const;
const HEAD_BYTES_PER_SERIES = 8 * 1024;
const SCRAPE_INTERVAL_SECONDS = 30;
const DISK_BYTES_PER_SAMPLE = 2;
const DISK_HEADROOM = 1.2;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

export interface HubSizing {
  /** Memory to add to the hub's Prometheus request and limit, in MiB (multiples of 256). */
  readonly memoryMiB: number;
  /** CPU to add to its request, in millicores (250m per sender: decoding and appending its writes). */
  readonly cpuMillis: number;
  /** Volume to add, in GiB. */
  readonly volumeGiB: number;
}

export function hubSizing(senders: readonly Environment[], retentionDays: number): HubSizing {
  let series = 0;
  let volumeBytes = 0;
  for (const sender of senders) {
    const active = sender.production ? SENDER_SERIES.production : SENDER_SERIES.other;
    const streams = sender.production ? 2 : 1;
    series += active;
    volumeBytes += active * streams * (86400 / SCRAPE_INTERVAL_SECONDS) * DISK_BYTES_PER_SAMPLE * retentionDays * DISK_HEADROOM;
  }
  return {
    memoryMiB: Math.ceil((series * HEAD_BYTES_PER_SERIES) / MIB / 256) * 256,
    cpuMillis: 250 * senders.length,
    volumeGiB: Math.ceil(volumeBytes / GIB),
  };
}

/** The metrics links of an environment, resolved (`metricsLinks` in the spec). */
export interface MetricsLinks {
  readonly hub?: MetricsHubLink;
  readonly senders: readonly Environment[];
}

/**
 * The kube-prometheus-stack values of the metrics link that every environment gets, sender or
 * hub or neither (monitoring.ts merges them into `prometheus.prometheusSpec` and `defaultRules`):
 * - a default scrape class whose relabelling sets `environment` on every target (so every series
 *   carries it in the TSDB: at the hub the environment's own series are told apart from the
 *   senders' by it, and dashboards select by it everywhere), and the same as an external label
 *   (so alerts and rule results whose aggregation dropped it still name the environment);
 * - `environment` among the default rules' aggregation labels, so their recording rules at the
 *   hub do not sum series of different environments together.
 */
export function environmentLabelValues(env: Environment): { prometheusSpec: Record<string, unknown>; defaultRules: Record<string, unknown> } {
  return {
    prometheusSpec: {
      // prometheus-operator v0.93.1 CRD `scrapeClasses[]`: `default: true` applies it to every
      // ServiceMonitor, PodMonitor, Probe and ScrapeConfig that names no class; its
      // `relabelings` come after the operator's own and before the object's.
      scrapeClasses: [{ name: "environment", default: true, relabelings: [{ action: "replace", targetLabel: ENVIRONMENT_LABEL, replacement: env.name }] }],
      externalLabels: { [ENVIRONMENT_LABEL]: env.name },
    },
    // kube-prometheus-stack 88.5.3 templates/prometheus/rules-1.14/*.yaml put these labels in every `by (...)`.
    defaultRules: { additionalAggregationLabels: [ENVIRONMENT_LABEL] },
  };
}

/**
 * Values of the hub's Prometheus (`senders.length > 0`):
 * - the remote-write receiver on (`enableRemoteWriteReceiver`), reachable from outside only at
 *   `/api/v1/write` through the ingress `hubManifests` renders; the query API has no ingress;
 * - the out-of-order window for the senders' interleaved replicas;
 * - one replica. Two receiving replicas behind one Service would each get a share of the
 *   requests (Traefik balances every request), so neither would hold a sender's whole series
 *   and queries would flip between halves. The receiver is one writer; its restarts lose
 *   nothing, because each sender keeps retrying from its WAL (recoverable errors are retried
 *   with backoff) and catches up within `sampleAgeLimit`. Alerting does not depend on it: the
 *   senders alert locally, the hub's Alertmanager keeps its replicas and its Watchdog reaches the
 *   heartbeat. No disruption budget, which would block every node drain with one replica.
 * - alerts of the senders' series are not sent from the hub: the hub evaluates the default rules
 *   over every series it holds, and a sender already alerts on its own; its alerts keep their
 *   `environment` (an external label is only added when absent: notifier/alert.go `relabelAlerts`), so relabelling
 *   drops those that name a sender. The hub's per-sender rules label their alerts with the hub's
 *   own environment (and `sender`), so they pass.
 */
export function hubPrometheusValues(senders: readonly Environment[]): Record<string, unknown> {
  return {
    enableRemoteWriteReceiver: true,
    tsdb: { outOfOrderTimeWindow: HUB_OUT_OF_ORDER_WINDOW },
    replicas: 1,
    // Environment names are lowercase letters, digits and '-' (the spec's shortName): no regex metacharacter.
    // Raw Prometheus configuration: the chart and the operator copy it unchanged into
    // `alert_relabel_configs` (prometheus-operator pkg/prometheus/promcfg.go), so its keys are
    // Prometheus's own (snake_case, prometheus v3.14.0 model/relabel/relabel.go), not the CRD's.
    additionalAlertRelabelConfigs: [{ source_labels: [ENVIRONMENT_LABEL], regex: senders.map((sender) => sender.name).join("|"), action: "drop" }],
  };
}

/**
 * A sender's rules on its link to the hub, from the remote-write queue's own metrics
 * (Prometheus v3.14.0 storage/remote/queue_manager.go `newQueueManagerMetrics`, namespace
 * `prometheus`, subsystem `remote_storage` from storage/remote/storage.go, labels `remote_name`
 * and `url`): samples the hub refuses, and a queue that falls behind. Both are warnings: the hub
 * is a view, and this environment's alerting does not depend on it.
 */
export function senderRules(hub: MetricsHubLink): RuleGroup {
  const queue = `remote_name="${remoteWriteName(hub)}"`;
  return {
    name: "metrics-hub-sender",
    rules: [
      {
        alert: "MetricsHubWriteFailing",
        expr: `sum by (${ENVIRONMENT_LABEL}, pod) (rate(prometheus_remote_storage_samples_failed_total{${queue}}[5m])) > 0`,
        for: "15m",
        severity: "warning",
        meaning: `The metrics hub ${hub.environment} refuses this environment's samples: its Grafana shows a gap; alerting here is unaffected.`,
        summary: `the metrics hub ${hub.environment} refuses samples from {{ $labels.pod }} ({{ $value | humanize }}/s)`,
        runbook: `Read the failures in the logs of {{ $labels.pod }} (remote_name ${remoteWriteName(hub)}): 401 means the password in ${hub.passwordSecret} differs from the hub's copy; 400 out-of-order or too-old samples mean clocks or the hub's out-of-order window.`,
        dashboard: DASHBOARDS.cluster,
      },
      {
        alert: "MetricsHubWriteBehind",
        // Against the clock, not the queue's newest enqueued sample: enqueueing blocks while the queue
        // is full, and a hub that is down answers nothing the failed counter counts (network errors
        // and 5xx are retried: prometheus v3.14.0 storage/remote/queue_manager.go sendWriteRequestWithBackoff),
        // so only the age of the newest sample the hub accepted shows the outage.
        expr: `time() - max by (${ENVIRONMENT_LABEL}, pod) (prometheus_remote_storage_queue_highest_sent_timestamp_seconds{${queue}}) > 300`,
        for: "15m",
        severity: "warning",
        meaning: `Metrics reach the hub ${hub.environment} late or not at all (the hub or the way to it is down); alerting here is unaffected.`,
        summary: `metrics reach the hub ${hub.environment} {{ $value | humanizeDuration }} late from {{ $labels.pod }}`,
        runbook: `Check that https://${hub.host}${REMOTE_WRITE_PATH} answers from this cluster (DNS, certificate, the hub's Prometheus running); samples older than ${QUEUE_CONFIG.sampleAgeLimit} are dropped, the hub shows a gap for them.`,
        dashboard: DASHBOARDS.cluster,
      },
    ],
  };
}

/**
 * The hub's rule per sender: the sender's series stopped arriving. `up` is written by every
 * sender as long as it scrapes anything. Critical for a production sender: its silence can mean
 * the whole cluster, and with it its own alerting, is down (its heartbeat tells the same from
 * outside); a warning otherwise. The alert carries the hub's environment and `sender`, so the
 * hub's alert relabelling (which drops alerts naming a sender) lets it through.
 */
export function hubRules(hub: Environment, senders: readonly Environment[]): RuleGroup {
  return {
    name: "metrics-hub-senders",
    rules: senders.map((sender) => ({
      alert: "MetricsHubSenderSilent",
      expr: `absent_over_time(up{${ENVIRONMENT_LABEL}="${sender.name}"}[10m])`,
      for: "5m",
      severity: sender.production ? "critical" : "warning",
      labels: { [ENVIRONMENT_LABEL]: hub.name, sender: sender.name },
      meaning: "No metrics arrive from a sender: its cluster, its Prometheus or the way to the hub is down, and its own alerts may not reach you either.",
      summary: `no metrics from ${sender.name} for 15 minutes`,
      runbook: `Look at ${sender.name}'s MetricsHubWrite* alerts and its Prometheus pods; if the cluster itself is unreachable, its own alerts cannot reach you either.`,
      dashboard: DASHBOARDS.cluster,
    })),
  };
}

/**
 * The receiver's ingress on the hub's monitoring host: exactly `/api/v1/write` (pathType
 * Exact) to the Prometheus service, over TLS only, behind the basic-auth Middleware.
 * - TLS: Traefik's Ingress provider loads certificates from `spec.tls` but gives the router TLS
 *   (and so refuses plain HTTP) only from the `router.tls` annotation, and without
 *   `router.entrypoints` the router listens on every entry point, `web` (port 80) included
 *   (traefik v3.7.9 pkg/provider/kubernetes/ingress/kubernetes.go: `rt.EntryPoints`, `rt.TLS`
 *   from the annotations; entry points `web`/`websecure` from the chart 41.3.0 values `ports`).
 * - The certificate: the Grafana ingress of the same host (monitoring.ts) carries the
 *   cert-manager annotation, so its Certificate writes `monitoring-tls`; this ingress reads the
 *   same Secret and has no annotation of its own, since a second ingress-shim owner of one
 *   Certificate is refused by cert-manager.
 * - The Middleware is named `<namespace>-<name>@kubernetescrd` (crd/kubernetes.go `makeID`,
 *   `ProviderName = "kubernetescrd"`).
 */
function hubIngress(ctx: ObservabilityContext, host: string, tlsSecretName: string, ingressClass: string): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: HUB_WRITE_INGRESS,
      namespace: ctx.namespace,
      annotations: {
        "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        "traefik.ingress.kubernetes.io/router.tls": "true",
        "traefik.ingress.kubernetes.io/router.middlewares": `${ctx.namespace}-${HUB_AUTH_MIDDLEWARE}@kubernetescrd`,
      },
    },
    spec: {
      ingressClassName: ingressClass,
      tls: [{ hosts: [host], secretName: tlsSecretName }],
      rules: [
        {
          host,
          http: {
            paths: [{ path: REMOTE_WRITE_PATH, pathType: "Exact", backend: { service: { name: HUB_PROMETHEUS_SERVICE.name, port: { number: HUB_PROMETHEUS_SERVICE.port } } } }],
          },
        },
      ],
    },
  };
}

/**
 * The Traefik basic-auth Middleware (traefik.io/v1alpha1; CRD traefik/crds/traefik.io_middlewares.yaml
 * of traefik-helm-chart v41.3.0: `basicAuth` has `secret`, `realm`, `removeHeader`, `headerField`).
 * Traefik reads the users from the Secret's single key, one htpasswd line each (crd/kubernetes.go
 * `loadAuthCredentials`: "must be single element exactly"). `removeHeader`: Prometheus gets no
 * credentials.
 */
function hubMiddleware(ctx: ObservabilityContext): Manifest {
  return {
    apiVersion: "traefik.io/v1alpha1",
    kind: "Middleware",
    metadata: { name: HUB_AUTH_MIDDLEWARE, namespace: ctx.namespace },
    spec: { basicAuth: { secret: HUB_USERS_SECRET.name, realm: "metrics-hub", removeHeader: true } },
  };
}

/**
 * The users Secret: one htpasswd line per sender, `<sender name>:{SHA}<base64 sha1>`, rendered by
 * External Secrets from the senders' passwords in the hub's cloud secret store. `htpasswd` is a
 * function of ESO 2.9.0's template engine (runtime/template/v2/sprig/crypto.go
 * `htpasswd(username, password, hashAlgorithm)`, "sha" or bcrypt; registered in
 * runtime/template/v2/template.go through `sprig.TxtFuncMap()`). SHA rather than bcrypt: Traefik
 * checks the hash on every request (pkg/middlewares/auth/basic_auth.go `goauth.CheckSecret`), and
 * bcrypt at its default cost would take ~50 ms of CPU per remote-write request; the passwords are
 * random machine secrets (README: 32 random bytes), for which a fast hash is no weaker. It is
 * also deterministic, so a refresh does not rewrite the Secret. Keys are the sender names and
 * read with `index`, since a name with '-' is not a template field name.
 */
function hubUsersSecret(ctx: ObservabilityContext, hub: Environment): Manifest[] {
  const links = hub.metrics?.receiveFrom ?? [];
  // Trimmed like the sender's copy: the two are written separately, often on two clouds, and a
  // trailing newline on one side only would be a permanent 401 (`trim` = strings.TrimSpace,
  // external-secrets v2.9.0 runtime/template/v2/sprig/functions.go).
  // An empty password (a secret holding only whitespace) would make a user any client can log in
  // as with an empty password: such a sender gets a line no password matches instead.
  const lines = ctx.senders.map((sender) => `{{ with index . ${JSON.stringify(sender.name)} | trim }}{{ htpasswd ${JSON.stringify(sender.name)} . "sha" }}{{ else }}${sender.name}:!{{ end }}`);
  return cloudSecretManifests(ctx, {
    name: HUB_USERS_SECRET.name,
    keys: Object.fromEntries(
      ctx.senders.map((sender) => {
        const link = links.find((one) => one.environment === sender.name);
        if (!link) throw new Error(`${hub.name} receives metrics from ${sender.name} without a link in metrics.receiveFrom`);
        return [sender.name, link.passwordSecret];
      }),
    ),
    template: { engineVersion: "v2", data: { [HUB_USERS_SECRET.key]: `${lines.join("\n")}\n` } },
    // Until every sender's password is synced, no sender gets in (all or nothing: one
    // ExternalSecret, and Traefik reads one users Secret per Middleware).
    placeholder: { [HUB_USERS_SECRET.key]: `${PLACEHOLDER.htpasswdLine}\n` },
  });
}

/**
 * The sender's login Secret: the username is the sender's name (the hub's htpasswd line for it),
 * the password the link's cloud secret, trimmed (as on the hub). Until it is synced the password
 * is the placeholder: Prometheus runs and alerts locally, the hub answers 401 and
 * `MetricsHubWriteFailing` fires here (with `ExternalSecretNotSynced`).
 */
function senderSecret(ctx: ObservabilityContext, hub: MetricsHubLink): Manifest[] {
  return cloudSecretManifests(ctx, {
    name: SENDER_SECRET.name,
    keys: { [SENDER_SECRET.passwordKey]: hub.passwordSecret },
    template: { engineVersion: "v2", data: { [SENDER_SECRET.usernameKey]: ctx.env.name, [SENDER_SECRET.passwordKey]: `{{ .${SENDER_SECRET.passwordKey} | trim }}` } },
    placeholder: { [SENDER_SECRET.usernameKey]: ctx.env.name, [SENDER_SECRET.passwordKey]: PLACEHOLDER.password },
  });
}

/**
 * The TLS Secret of the monitoring host: stacks/apps.ts names every app ingress's certificate
 * Secret `<app>-tls` (a test compares it with the Grafana ingress in the monitoring values).
 */
export const MONITORING_TLS_SECRET = "monitoring-tls";

export function hubManifests(ctx: ObservabilityContext): Manifest[] {
  const manifests: Manifest[] = [];
  if (ctx.hub) {
    manifests.push(...senderSecret(ctx, ctx.hub), ...renderRuleGroups(ctx, [senderRules(ctx.hub)]));
  }
  if (ctx.senders.length > 0) {
    const host = monitoringHost(ctx.env);
    if (host === undefined) throw new Error(`${ctx.env.name} receives metrics but monitoring has no host (the spec check should have caught this)`);
    manifests.push(
      ...hubUsersSecret(ctx, ctx.env),
      hubMiddleware(ctx),
      hubIngress(ctx, host, MONITORING_TLS_SECRET, INGRESS_CLASS),
      ...renderRuleGroups(ctx, [hubRules(ctx.env, ctx.senders)]),
    );
  }
  return manifests;
}
