/**
 * The environment spec: one zod schema gives the static type (`EnvironmentInput` for authors,
 * `Environment` after defaults) and the runtime validation. `parseEnvironment` is the only way
 * from user data to an `Environment`; every problem it finds names its field path, what was
 * given and what is accepted.
 */
import { z } from "zod";
import { APP_NAMES, APP_CATALOGUE } from "./apps";
import { planSubnets, SUBNET_PLAN_LIMITS } from "./network-plan";
import { cidrsOverlap, isNetworkAligned, isPrivateRange, overlapsPrivateRange, parseCidr, type Ipv4Cidr } from "./cidr";
import { describeValue, formatPath, SpecError, withLines, type SpecIssue } from "./errors";
import { SIZES } from "./sizes";
import { AWS_ZONE_LETTERS, AZURE_LOCATION_ZONES, awsZoneNames, GCP_ZONE_LETTERS, gcpZoneNames } from "./regions";

export const CLOUDS = ["aws", "azure", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];

/** Kubernetes minor versions with a pinned add-on set on every supported cloud. */
export const KUBERNETES_VERSIONS = ["1.31", "1.32", "1.33"] as const;
export const POSTGRES_VERSIONS = ["15", "16", "17"] as const;
export const BUCKET_PURPOSES = ["logs", "data", "artifacts", "backups"] as const;

/** Tag keys the platform sets itself on every resource; a spec may not override them. */
export const RESERVED_TAG_KEYS = ["environment", "owner", "cost-centre", "managed-by"] as const;

/** Names no environment may take: `gitops` is the Terraform Cloud workspaces' stack (stacks/app.ts GITOPS_STACK), which `synth --only gitops` names. */
export const RESERVED_ENVIRONMENT_NAMES = ["gitops"] as const;

/** A production rule a spec may turn off only with a written reason. */
const waiverReason = z
  .string()
  .trim()
  .min(20, { error: "accepted: a written reason of at least 20 characters" });

function intRange(min: number, max: number, unit = "") {
  const accepted = `accepted: a whole number from ${min} to ${max}${unit}`;
  return z.number({ error: accepted }).int({ error: accepted }).min(min, { error: accepted }).max(max, { error: accepted });
}

function pattern(regex: RegExp, accepted: string) {
  const error = `accepted: ${accepted}`;
  return z.string({ error }).regex(regex, { error });
}

/**
 * Short lowercase names: they end up inside cloud resource names, which are length-limited, and
 * never hold `--` (RDS identifiers refuse two hyphens in a row).
 */
const shortName = (max: number) =>
  pattern(new RegExp(`^(?!.*--)[a-z][a-z0-9-]{0,${max - 2}}[a-z0-9]$`), `lowercase letters, digits and single '-', 2 to ${max} characters, starting with a letter`);

const size = z.enum(SIZES, { error: `accepted: ${SIZES.join(" | ")}` });

const cidrText = pattern(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR such as 10.20.0.0/16");

const uuid = pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a lowercase GUID");

const accountsSchema = z.strictObject({
  /** Where the environment lives on AWS. */
  aws: z
    .strictObject({
      region: pattern(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as eu-west-1"),
      accountId: pattern(/^\d{12}$/, "a 12-digit AWS account id"),
      /**
       * The zone names this account sees, in the order to use them. Zone letters map to data
       * centres per account in the oldest regions (us-west-1 shows each account two of a, b, c).
       * @default the region's zones a, b, c (see constructs/core/regions.ts)
       */
      availabilityZones: z.array(pattern(/^[a-z]{2}-[a-z]+-\d[a-z]$/, "an availability zone name such as us-west-1b")).min(2, { error: "accepted: at least 2 zone names" }).optional(),
      /**
       * An AWS Organizations trail already records this account's management events and the S3
       * data events of the environment's buckets, encrypted and kept: the infra stack then creates
       * no CloudTrail trail of its own. @default false (a trail per environment, README "AWS defaults")
       */
      organizationTrail: z.boolean().optional(),
    })
    .optional(),
  /** Where the environment lives on Azure. */
  azure: z
    .strictObject({
      location: pattern(/^[a-z]+[a-z0-9]*$/, "an Azure location name such as westeurope"),
      subscriptionId: uuid,
      tenantId: uuid,
    })
    .optional(),
  /** Where the environment lives on GCP. */
  gcp: z
    .strictObject({
      region: pattern(/^[a-z]+-[a-z]+\d+$/, "a GCP region such as europe-west1"),
      projectId: pattern(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id (6 to 30 lowercase letters, digits, '-')"),
    })
    .optional(),
});

const nodePoolSchema = z.strictObject({
  name: shortName(12),
  /** Neutral machine size, mapped per cloud in `constructs/<cloud>/sizes.ts`. */
  size,
  minNodes: intRange(0, 100),
  maxNodes: intRange(1, 100),
  /** Allow interruptible capacity (AWS Spot, Azure Spot, GCP Spot VMs). @default false */
  spot: z.boolean().default(false),
  /** Root disk per node. @default 50 */
  diskGiB: intRange(20, 1000, " GiB").default(50),
  aws: z
    .strictObject({
      instanceTypes: z
        .array(pattern(/^[a-z0-9-]+\.[a-z0-9]+$/, "an EC2 instance type such as m7i.xlarge"))
        .min(1, { error: "accepted: at least one EC2 instance type, or leave aws out to use the size table" }),
    })
    .optional(),
  azure: z.strictObject({ vmSize: pattern(/^Standard_[A-Za-z0-9_]+$/, "an Azure VM size such as Standard_D4s_v5") }).optional(),
  gcp: z.strictObject({ machineType: pattern(/^[a-z0-9]+-[a-z0-9-]+$/, "a GCE machine type such as n2-standard-4") }).optional(),
});

const clusterSchema = z.strictObject({
  kubernetesVersion: z.enum(KUBERNETES_VERSIONS, { error: `accepted: ${KUBERNETES_VERSIONS.join(" | ")}` }),
  /**
   * CIDRs allowed to reach the public API endpoint. Empty keeps the API private (reachable from
   * inside the network only); on Azure the mode is `cluster.azure.privateCluster`. @default []
   */
  publicAccessCidrs: z.array(cidrText).default([]),
  /** Days to keep control-plane logs. @default 90 in production, 30 elsewhere */
  logRetentionDays: intRange(1, 3653, " days").optional(),
  nodePools: z.array(nodePoolSchema).min(1, { error: "accepted: at least one node pool" }),
  aws: z
    .strictObject({
      /** IAM principals (role or user ARNs) given cluster-admin through EKS access entries. */
      adminPrincipalArns: z
        .array(pattern(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, "an IAM role or user ARN"))
        .default([]),
    })
    .optional(),
  azure: z
    .strictObject({
      /**
       * Entra ID groups that are cluster admins (AKS binds them to cluster-admin). On Azure at
       * least one: local accounts are disabled, so they are the cluster's only human admins, and
       * whoever applies the stacks outside Terraform Cloud (the bootstrap) must be in one.
       */
      adminGroupObjectIds: z.array(uuid).default([]),
      /**
       * The Entra display name of the first `adminGroupObjectIds` group. With it, that group is
       * each PostgreSQL server's Entra administrator (the name is its PostgreSQL role, which
       * members sign in as with an Entra token); without it, Entra authentication is off on the
       * servers and only the generated password signs in. @default none
       */
      adminGroupName: pattern(/^\S(.{0,61}\S)?$/, "the group's display name: 1 to 63 characters (a PostgreSQL role name), no leading or trailing space").optional(),
      /**
       * A private API server (reachable from the VNet only) or a public one restricted to
       * `cluster.publicAccessCidrs`. Changing it replaces the AKS cluster. @default true
       */
      privateCluster: z.boolean({ error: "accepted: true or false" }).optional(),
      /** Rules this cluster opts out of for a while, each with the reason (README, "Policy pack"). */
      waivers: z
        .strictObject({
          /**
           * Keep KMS etcd encryption off for one apply. An AKS cluster created before API Server
           * VNet Integration must first convert to it and be stopped and started (AKS puts the
           * integration into effect only then), and KMS with the private vault needs the
           * integration in effect: so apply once with this waiver (integration, key and roles),
           * `az aks stop` / `az aks start`, then remove it and apply again (KMS on), then rewrite
           * every Secret. README, "Upgrade guide". New clusters never need it. @default none
           */
          secretsEncryption: waiverReason.optional(),
        })
        .optional(),
    })
    .optional(),
});

const bucketSchema = z.strictObject({
  name: shortName(24),
  /**
   * The cloud the bucket lives on; its account must be in `accounts`. Another cloud than `cloud`
   * puts the bucket in the `<env>-infra-<cloud>` stack, reached from the cluster with federated
   * identity (docs/design/cross-cloud.md). @default `home`, else `cloud`: once `home` is set, a change of `cloud` moves no bucket
   */
  cloud: z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` }).optional(),
  purpose: z.enum(BUCKET_PURPOSES, { error: `accepted: ${BUCKET_PURPOSES.join(" | ")}` }),
  /** Keep previous object versions. @default true */
  versioning: z.boolean().default(true),
  /** Delete current objects this many days after creation. @default never */
  expirationDays: intRange(1, 36500, " days").optional(),
  /** Delete superseded object versions this many days after they were replaced. @default 90 */
  noncurrentVersionExpirationDays: intRange(1, 36500, " days").default(90),
  /** Production rules this bucket opts out of, each with the reason it is acceptable (README, "Policy pack"). */
  waivers: z
    .strictObject({
      /**
       * Keep the bucket in the environment's region instead of its multi-region in production
       * (GCP: EU, US or ASIA). Cloud Storage cannot move a bucket (the provider replaces it), so a
       * production bucket created in its region keeps it with this waiver (README, "Upgrading GCP
       * environments"). Read on GCP; S3 buckets are regional (three zones), and Azure's one storage
       * account per environment is GZRS in production.
       */
      geoRedundant: waiverReason.optional(),
    })
    .default({}),
});

/**
 * Cloud SQL instance ids: lowercase letters, digits and hyphens, starting with a letter; with the
 * project id they take at most 98 characters (see `checkCloudSqlInstanceNames`). Source: Cloud SQL
 * "About instance settings" (Instance ID) and the Admin API's `instance` parameter.
 */
const CLOUD_SQL_INSTANCE_ID = /^[a-z][a-z0-9-]*$/;
export const CLOUD_SQL_MAX_PROJECT_AND_INSTANCE_ID = 98;

const databaseSchema = z.strictObject({
  name: shortName(20),
  /**
   * The cloud the database lives on; its account must be in `accounts`. Another cloud than
   * `cloud` (stage 2 of a move: the cluster moved, the database not yet) is reached over a
   * site-to-site VPN between the two networks and needs `networks.<cloud>`; built for AWS with an
   * AKS cluster (docs/design/cross-cloud.md, "Network"). @default `home`, else `cloud`: once `home` is set, a change of `cloud` moves no database
   */
  cloud: z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` }).optional(),
  /**
   * PostgreSQL major version. Raising it upgrades in place (in production in the next maintenance
   * window). With read replicas it takes steps: `readReplicas: 0`, the bump, then the replicas
   * back (README, "Upgrade guide").
   */
  postgresVersion: z.enum(POSTGRES_VERSIONS, { error: `accepted: ${POSTGRES_VERSIONS.join(" | ")}` }),
  size,
  storageGiB: intRange(20, 65536, " GiB"),
  /** Standby in a second zone with automatic failover. @default true in production */
  highAvailability: z.boolean().optional(),
  /** Refuse API deletes of the instance. @default true in production */
  deletionProtection: z.boolean().optional(),
  /** Days of automated backups (point-in-time recovery window). @default 14 in production, 7 elsewhere */
  backupRetentionDays: intRange(7, 35, " days").optional(),
  /**
   * Asynchronous read replicas. Set 0 before raising `postgresVersion` and add them back once the
   * upgrade ran: RDS upgrades replicas with the primary, and a replica's parameter group must be
   * of the version it runs. @default 0
   */
  readReplicas: intRange(0, 5).default(0),
  aws: z
    .strictObject({
      instanceClass: pattern(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "an RDS instance class such as db.m7g.large").optional(),
      /**
       * The instance (and its replicas) was created by a release before the one that creates its
       * log groups, so RDS created `/aws/rds/instance/<id>/postgresql` and `/upgrade` itself
       * (unencrypted, kept forever): import them (Terraform `import` blocks) instead of creating
       * them, which CloudWatch Logs refuses (ResourceAlreadyExistsException). Remove it after the
       * first apply: an import of a group that does not exist (a replica added later) fails.
       * README, "Upgrade guide". @default false
       */
      importLogGroups: z.boolean().optional(),
    })
    .optional(),
  azure: z
    .strictObject({
      skuName: pattern(/^(B|GP|MO)_[A-Za-z0-9_]+$/, "a Flexible Server SKU such as GP_Standard_D2ds_v5").optional(),
    })
    .optional(),
  gcp: z
    .strictObject({
      tier: pattern(/^db-[a-z0-9-]+$/, "a Cloud SQL tier such as db-custom-2-8192").optional(),
      /**
       * The name of an existing Cloud SQL instance to keep (its read replicas keep
       * `<instanceName>-replica-<n>`). Without it a new instance gets `<env>-db-<name>-<random>`;
       * the name cannot be changed without replacing the instance. @default a generated name
       */
      instanceName: pattern(CLOUD_SQL_INSTANCE_ID, "a Cloud SQL instance id: lowercase letters, digits and '-', starting with a letter").optional(),
    })
    .optional(),
  /** Production rules this database opts out of, each with the reason it is acceptable. */
  waivers: z
    .strictObject({
      highAvailability: waiverReason.optional(),
      deletionProtection: waiverReason.optional(),
      backupRetentionDays: waiverReason.optional(),
      /**
       * Keep the cloud's managed key instead of the environment's customer-managed key (the
       * instance and its replicas). The key of an existing instance cannot change (AWS
       * `kms_key_id`, GCP `encryption_key_name` force a new, empty instance), so an instance
       * created before customer-managed keys keeps its key with this waiver (README, "Upgrade
       * guide"). In every environment, not only production.
       */
      customerManagedKey: waiverReason.optional(),
    })
    .default({}),
});

const hostName = pattern(
  /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
  "a lowercase DNS name such as airflow.data.example.com",
);

/**
 * The name of a secret in the environment's cloud secret store (AWS Secrets Manager, Azure Key
 * Vault, GCP Secret Manager) that holds a credential the platform syncs into the cluster. This is
 * AWS's alphabet, the widest; each cloud's own rule is in its `spec-problems.ts`.
 */
const secretName = pattern(/^[A-Za-z0-9/_+=.@-]{1,512}$/, "the name of a secret in the cloud's secret store, such as alerts-slack-webhook (letters, digits and -)");

/**
 * The apps whose chart runs one main image a team may replace with its own (`apps[].image`):
 * Airflow (chart 1.19.0 `images.airflow` for its own pods and `images.pod_template` for the
 * KubernetesExecutor's task pods, files/pod-template-file.kubernetes-helm-yaml L118) and Metabase
 * (chart 2.26.0 `image.repository`, `image.tag`). The others run several images from one chart
 * (Airbyte, DataHub) or take plugins rather than images (Grafana, monitoring).
 */
export const APPS_WITH_IMAGE = ["airflow", "metabase"] as const satisfies readonly (typeof APP_NAMES)[number][];

/**
 * A team's own image, pinned: a version tag (never a moving one such as `latest`) and optionally
 * its digest, which then decides what runs (`name:tag@digest`, distribution/reference grammar).
 */
const imageSchema = z.strictObject({
  /** Registry and path, such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/data/airflow. */
  repository: pattern(
    /^(?=.{1,255}$)[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$/,
    "an image repository such as registry.example.com/data/airflow (lowercase, no tag)",
  ),
  /** A version tag (a digit in it): `3.1.7-team.4`, `v2026.03.1`. */
  tag: pattern(
    /^(?!latest$)(?=[A-Za-z0-9_.-]*[0-9])[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    "a pinned version tag with a number in it, such as 3.1.7-team.4 (not latest or another moving name)",
  ),
  /** The image's digest: what runs is exactly this image, whatever the tag points to later. @default the tag alone */
  digest: pattern(/^sha256:[a-f0-9]{64}$/, "a digest sha256:<64 lowercase hex digits>").optional(),
});

/** A git branch or tag name (git check-ref-format, without the refs/ prefix). */
const gitRefName = pattern(
  /^(?!\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\/\.)[A-Za-z0-9._/+-]{1,200}$/,
  "a branch or tag name such as main or release-2026.03 (git check-ref-format)",
);

/**
 * git-sync of the DAG folder from a repository (Airflow chart 1.19.0 `dags.gitSync`, git-sync
 * v4.4.2). The credential stays in the cloud secret store: the spec names the secret.
 */
const gitSyncSchema = z.strictObject({
  /**
   * Clone URL: `https://host/path.git` (a token, if any, in `credentialSecret` as JSON
   * `{"username": ..., "password": ...}`) or SSH, `ssh://git@host[:port]/path.git` or
   * `git@host:path.git` (the private key in `credentialSecret`, `knownHosts` required).
   */
  repository: pattern(
    /^(https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[A-Za-z0-9._~/-]+|ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[A-Za-z0-9._~/-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~][A-Za-z0-9._~/-]*)$/,
    "a clone URL without credentials: https://github.com/team/dags.git, ssh://git@host/team/dags.git or git@github.com:team/dags.git",
  ),
  /** The branch or tag to follow. Exactly one of `ref` and `rev`. */
  ref: gitRefName.optional(),
  /** A commit to stay on (40 hex digits). Exactly one of `ref` and `rev`. */
  rev: pattern(/^[0-9a-f]{40}$/, "a full commit id of 40 lowercase hex digits").optional(),
  /** The folder of the DAGs inside the repository. @default the repository's root */
  subPath: pattern(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]{1,200}$/, "a relative folder such as dags or airflow/dags (no leading /, no ..)").optional(),
  /** The secret in the cloud's secret store holding the credential. @default none: a public repository */
  credentialSecret: secretName.optional(),
  /**
   * SSH only: the host's public keys in known_hosts format (`host keytype key`, one a line), as
   * `ssh-keyscan` prints them and checked against the host's published fingerprints; git-sync
   * then refuses any other host key.
   */
  knownHosts: pattern(
    /^(\s*[^\s#]+ (ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}\s*)+$/,
    "known_hosts lines: host keytype base64-key (ssh-keyscan output)",
  ).optional(),
});

/** How the DAGs reach Airflow: git-sync from a repository, or baked into the app's own `image`. Exactly one. */
const dagsSchema = z.strictObject({
  gitSync: gitSyncSchema.optional(),
  /** The DAGs are in the app's own `image` (its `dags/` folder): no git-sync, nothing to sync. */
  image: z.literal(true, { error: "accepted: true (the DAGs are baked into the app's image)" }).optional(),
});

/** Whether a git-sync repository is reached over SSH, and on which port. */
export function gitSyncTransport(repository: string): { readonly protocol: "https" | "ssh"; readonly port: number } {
  if (repository.startsWith("https://")) return { protocol: "https", port: Number(/^https:\/\/[^/:]+:([0-9]+)\//.exec(repository)?.[1] ?? 443) };
  return { protocol: "ssh", port: Number(/^ssh:\/\/(?:[^@/]+@)?[^/:]+:([0-9]+)\//.exec(repository)?.[1] ?? 22) };
}

const appSchema = z.strictObject({
  name: z.enum(APP_NAMES, { error: `accepted: ${APP_NAMES.join(" | ")}` }),
  /** Host name of the app's UI, served over TLS. @default no ingress (reach it with kubectl port-forward) */
  host: hostName.optional(),
  /** Scales the app's resource requests and limits. @default medium in production, small elsewhere */
  size: size.optional(),
  /** Name of the spec database this app gets its own database and role on. */
  database: z.string().optional(),
  /** Name of the spec bucket this app reads and writes. */
  bucket: z.string().optional(),
  /** The team's own image instead of the chart's (APPS_WITH_IMAGE). @default the chart's pinned image */
  image: imageSchema.optional(),
  /** Airflow only: where the DAGs come from. @default none: the image's own, empty, dags/ folder */
  dags: dagsSchema.optional(),
  /**
   * Extra Helm values, keyed by the name of the app's chart (README, "Extra Helm values and chart
   * versions": `airflow`, `datahub` and `datahub-prerequisites`, `kube-prometheus-stack` for
   * monitoring...). Merged LAST over the values the platform computed: maps merge key by key,
   * lists and scalars replace (`null` removes a chart default, Helm's rule). Keys the platform
   * owns (service accounts, security contexts, the Secrets and infrastructure it wires) are
   * refused, and the policy pack checks the merged result. @default none
   */
  values: z.record(z.string(), z.record(z.string(), z.unknown(), { error: "accepted: a JSON object of Helm values" }), { error: "accepted: an object keyed by the app's chart names" }).optional(),
  /**
   * A chart version other than the one the platform pins, keyed by chart name like `values`:
   * an exact version (1.19.1), never lower than the pinned one. @default the pinned version
   */
  chartVersion: z.record(z.string(), z.string({ error: "accepted: an exact chart version such as 1.19.1" })).optional(),
});


const emailAddress = pattern(/^[A-Za-z0-9._%+'-]+@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/, "an email address with a domain, such as data-team@example.com");

export const ALERT_CHANNELS = ["slack", "email"] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
export const ALERT_SEVERITIES = ["critical", "warning"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

const alertChannelList = z.array(z.enum(ALERT_CHANNELS, { error: `accepted: ${ALERT_CHANNELS.join(" | ")}` }));

/**
 * Where the environment's alerts go. Credentials stay in the cloud's secret store: the spec names
 * the secrets, External Secrets syncs them into the monitoring namespace, and Alertmanager reads
 * them from files, so no credential is in the spec, the synthesized JSON or the Terraform state.
 */
const alertsSchema = z.strictObject({
  slack: z
    .strictObject({
      /** Slack channel names: lowercase letters, digits, '-' and '_', at most 80 characters. */
      channel: pattern(/^#[a-z0-9][a-z0-9_-]{0,79}$/, "a Slack channel such as #data-alerts: '#' and up to 80 lowercase letters, digits, '-' or '_'"),
      /** Secret holding the channel's incoming-webhook URL (https://hooks.slack.com/services/...). */
      webhookSecret: secretName,
    })
    .optional(),
  email: z
    .strictObject({
      to: z.array(emailAddress).min(1, { error: "accepted: at least one recipient" }),
      from: emailAddress,
      /** SMTP server as `host:port`; STARTTLS is required (Alertmanager's `require_tls`). */
      smarthost: pattern(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/, "an SMTP server as host:port, such as smtp.example.com:587"),
      /** SMTP login. @default the `from` address */
      username: z.string({ error: "accepted: a string" }).min(1, { error: "accepted: a non-empty login" }).max(256, { error: "accepted: at most 256 characters" }).optional(),
      /** Secret holding the SMTP password. */
      passwordSecret: secretName,
    })
    .optional(),
  /**
   * Channels per severity. @default critical to every channel given, warning to Slack when it is
   * given (else email)
   */
  routes: z.strictObject({ critical: alertChannelList.optional(), warning: alertChannelList.optional() }).optional(),
  /**
   * A dead man's switch outside the platform: Alertmanager calls this URL (a healthchecks.io or
   * Dead Man's Snitch check, say) every few minutes with the always-firing Watchdog alert; the
   * service alerts you when the calls stop, which no alert inside the cluster can do.
   */
  heartbeat: z.strictObject({ urlSecret: secretName }).optional(),
});

/**
 * The metrics hub: production and staging send their metrics to ops, whose Grafana shows every
 * environment; each keeps alerting locally, so an ops outage silences nothing. One shared password
 * per sender, stored in both environments' secret stores under the names given here.
 */
const metricsLink = z.strictObject({
  environment: shortName(16),
  /** Secret holding the password of this link (the same value on both sides). */
  passwordSecret: secretName,
});
const metricsSchema = z.strictObject({
  /** The hub this environment sends its metrics to (its Prometheus remote-writes there). */
  sendTo: metricsLink.optional(),
  /** The environments whose metrics this one receives (it must run monitoring with a host). */
  receiveFrom: z.array(metricsLink).default([]),
});

/**
 * Single sign-on through the team's own OpenID Connect provider (README, "Single sign-on"). One
 * client for every app; its secret stays in the cloud's secret store under `clientSecret`.
 */
const ssoIssuer = pattern(
  /^https:\/\/(?=.{4,253}(\/|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(\/[A-Za-z0-9._~!&'()*+,;=:@-]+)*$/,
  "the issuer URL exactly as the provider's discovery document gives it: https://, a lowercase host name, an optional path without a trailing '/', no query (discovery is read at <issuer>/.well-known/openid-configuration)",
);
const ssoGroup = pattern(/^[^\s,${}][^,${}]{0,254}$/, "a group name (or id) as the provider puts it in the groups claim, 1 to 255 characters, without ',', '$', '{', '}' or a leading space");
const ssoDomain = pattern(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "an email domain such as example.com (lowercase)");
const httpsEndpoint = pattern(/^https:\/\/[^\s?#]+$/, "an https:// URL without query or fragment");
const ssoSchema = z.strictObject({
  /** The OIDC issuer (the `iss` of its tokens). */
  issuer: ssoIssuer,
  /** The client id registered at the provider (not a secret). */
  clientId: pattern(/^[A-Za-z0-9._:@/+=-]{1,255}$/, "the client (application) id the provider gave, 1 to 255 letters, digits or ._:@/+=-"),
  /** Name of the cloud secret holding the client secret. */
  clientSecret: secretName,
  /** Only members of one of these groups may sign in. */
  allowedGroups: z.array(ssoGroup).optional(),
  /** Only users whose email is in one of these domains may sign in. */
  allowedDomains: z.array(ssoDomain).optional(),
  /** Members of this group are administrators of every app that maps roles (README, "Single sign-on"). */
  adminGroup: ssoGroup,
  /** The ID-token / userinfo claim holding the user's groups. @default "groups" */
  groupsClaim: pattern(/^[A-Za-z0-9_:./-]{1,128}$/, "a claim name such as groups or roles").default("groups"),
  /**
   * The provider's authorization, token and userinfo endpoints, for the apps that cannot read
   * the discovery document (Grafana's generic OAuth). @default derived for Keycloak, Microsoft
   * Entra ID, Okta and Google issuers; required for any other provider
   */
  endpoints: z.strictObject({ authorization: httpsEndpoint, token: httpsEndpoint, userinfo: httpsEndpoint }).optional(),
});

const tagKey = pattern(/^[A-Za-z0-9 _.:/=+@-]{1,63}$/, "1 to 63 letters, digits, spaces or _.:/=+@-");

/**
 * One policy rule waived for one resource (constructs/policies): the rule's id, the resource's
 * Terraform address in this environment's stacks, and why. Synth checks that the rule exists,
 * that the address is a resource of the environment's stacks and that the rule fails there, and
 * records the suppression in the stack's JSON (`"//".policy.suppressed`).
 */
const policySuppressionSchema = z.strictObject({
  rule: pattern(/^[a-z][a-z0-9-]*[a-z0-9]$/, "a policy rule id (README, Policy pack)"),
  resource: pattern(/^[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+(#[A-Za-z]+\/[a-z0-9.-]*\/[A-Za-z0-9.:-]+)?$/, "a Terraform resource address <type>.<name> from the synthesized stack, or one Kubernetes object of it <type>.<name>#<Kind>/<namespace>/<name>"),
  reason: waiverReason,
});

export const environmentSchema = z.strictObject({
  name: shortName(16),
  /** Production turns on HA, deletion protection and longer retention, and enforces them. */
  production: z.boolean({ error: "accepted: true or false" }),
  cloud: z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` }),
  /**
   * The cloud whose resources the `<env>-infra` stack holds; every other cloud's are in
   * `<env>-infra-<cloud>`, the cluster's too once `cloud` moved away (stage 2 of a move). Required
   * once a bucket or database lives on another cloud than `cloud`, so that a later change of
   * `cloud` moves nothing between stacks; buckets and databases live here unless they say
   * otherwise (docs/design/cross-cloud.md). @default the environment's cloud
   */
  home: z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` }).optional(),
  accounts: accountsSchema,
  /** Team or person answerable for the environment; becomes the `owner` tag. */
  owner: pattern(/^[A-Za-z0-9 _.@+-]{2,63}$/, "2 to 63 letters, digits, spaces or _.@+-"),
  /** Finance cost centre; becomes the `cost-centre` tag. */
  costCentre: pattern(/^[A-Za-z0-9_.-]{1,63}$/, "1 to 63 letters, digits or _.-"),
  /** Extra tags/labels for every taggable resource. @default {} */
  tags: z.record(tagKey, z.string({ error: "accepted: a string of at most 255 characters" }).max(255, { error: "accepted: at most 255 characters" })).default({}),
  /** Terraform Cloud organization and project of the environment's workspaces. @default local state */
  terraformCloud: z
    .strictObject({
      organization: pattern(/^[A-Za-z0-9_-]{3,40}$/, "a Terraform Cloud organization name (letters, digits, _ and -)"),
      project: pattern(/^[A-Za-z0-9 _-]{3,40}$/, "a Terraform Cloud project name (letters, digits, spaces, _ and -)"),
      /**
       * `continuous`: workspaces follow the main branch and apply by themselves. `promoted`: they
       * follow the production branch (moved only after staging applied a commit) and wait for a
       * person to confirm each apply. @default promoted in production, continuous elsewhere
       */
      release: z.enum(["continuous", "promoted"], { error: "accepted: continuous | promoted" }).optional(),
      /**
       * Terraform Cloud agents the infra stack runs inside the network for the `<env>-apps`
       * workspace, whose runs must reach the private cluster API (hosted runners have no
       * published address range). Each counts against the organization's agent allowance.
       * @default 2 in production (spread over zones), 1 elsewhere
       */
      agents: intRange(1, 10).optional(),
      /**
       * Clouds whose `<env>-infra-<cloud>` workspace is being bootstrapped (README, "Buckets on
       * another cloud"): the gitops stack neither creates nor reads it until its cloud leaves this
       * list, so a pull request can add resources on a new cloud before that workspace exists. No
       * app may use a bucket there meanwhile (its identity's client id comes from that workspace).
       * Once the cluster moves away from `home` to a cloud the environment had no workspace on
       * (stage 2 of a move), the cluster's cloud too: gitops then also leaves `<env>-apps`'
       * credentials and run trigger alone, since they come from that workspace (README, "Moving
       * from one cloud to another in stages").
       * @default none
       */
      bootstrapping: z.array(z.enum(CLOUDS, { error: `accepted: ${CLOUDS.join(" | ")}` })).optional(),
    })
    .optional(),
  network: z.strictObject({
    /** The private address range of the environment's network. */
    cidr: cidrText,
    /** Availability zones to spread subnets, nodes and databases over. @default 3 in production, 2 elsewhere */
    zones: intRange(2, SUBNET_PLAN_LIMITS.maxZones).optional(),
  }),
  /**
   * The network on each other cloud a database lives on (docs/design/cross-cloud.md, "Network"):
   * its private range, from /16 to /24, one database subnet per zone of `network.zones` in it.
   * The cluster reaches it over a site-to-site VPN, so it overlaps no range of the cluster's
   * network, of another `networks` entry or of another environment. @default none
   */
  networks: z
    .strictObject({ aws: z.strictObject({ cidr: cidrText }).optional(), azure: z.strictObject({ cidr: cidrText }).optional(), gcp: z.strictObject({ cidr: cidrText }).optional() })
    .optional(),
  cluster: clusterSchema,
  /** Public DNS and TLS for app UIs. */
  dns: z
    .strictObject({
      /** Zone external-dns manages records in; every app host must be inside it. @default none: you create the records */
      zone: hostName.optional(),
      /** Contact for the Let's Encrypt account that issues the apps' TLS certificates. */
      acmeEmail: pattern(/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/, "an email address"),
    })
    .optional(),
  buckets: z.array(bucketSchema).default([]),
  databases: z.array(databaseSchema).default([]),
  apps: z.array(appSchema).default([]),
  /** Where alerts go. @default none: alerts show in Alertmanager and Grafana only */
  alerts: alertsSchema.optional(),
  /** Link to the ops metrics hub. @default none: metrics stay in the environment */
  metrics: metricsSchema.optional(),
  /** The policy pack's suppressions, each for one rule on one resource with a reason. @default none */
  policy: z.strictObject({ suppressions: z.array(policySuppressionSchema).default([]) }).optional(),
  /** Single sign-on for every app UI. @default none: each app keeps its own login (README, "Single sign-on") */
  sso: ssoSchema.optional(),
});

/** What authors write in `environments/*.ts`. */
export type EnvironmentInput = z.input<typeof environmentSchema>;
type ParsedEnvironment = z.output<typeof environmentSchema>;

/**
 * Partial parsing. When a spec does not parse, it is parsed again with `lenientSchema`, which
 * puts REPAIRED in place of every value the schema refuses (a leaf such as `kubernetesVersion`,
 * or a whole object or list that is missing or of the wrong kind) and keeps everything else with
 * its defaults. The checks then run on a view of it (`guarded`) that throws `RepairedRead` as soon
 * as a check reads a repaired value, and that check (or that item of it, see `eachKnown`) stops.
 * A problem reported before the throw was computed from valid values only, so no problem is ever
 * caused by a repaired value, and every check that reads only valid fields still runs.
 */
const REPAIRED: unknown = Object.freeze({ repaired: "a value the schema refused" });

function isRepaired(value: unknown): boolean {
  return value === REPAIRED;
}

function unlessRepaired<T, U>(value: T, fill: (value: T) => U): U {
  return isRepaired(value) ? (value as unknown as U) : fill(value);
}

class RepairedRead extends Error {}

function guarded<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const field: unknown = Reflect.get(target, key, receiver);
      if (isRepaired(field)) throw new RepairedRead(`read of a repaired value at ${String(key)}`);
      return guarded(field);
    },
  });
}

/** What `compute` gives, or undefined when it reads a repaired value. */
export function known<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch (error) {
    if (error instanceof RepairedRead) return undefined;
    throw error;
  }
}

/** Runs `check` on each item on its own, so one item with a repaired value hides no other item. */
export function eachKnown<T>(items: readonly T[], check: (item: T, index: number) => void): void {
  for (let index = 0; index < items.length; index++) known(() => check(items[index], index));
}

/** The schema with every node (leaf, object, list) replaced by REPAIRED when it does not parse. */
function lenient(schema: z.core.$ZodType): z.ZodType {
  const node = schema as z.ZodType & { clone: (def: unknown) => z.ZodType };
  const def = node._zod.def as z.core.$ZodTypeDef & {
    shape?: Record<string, z.core.$ZodType>;
    element?: z.core.$ZodType;
    innerType?: z.core.$ZodType;
    valueType?: z.core.$ZodType;
  };
  let inner: z.ZodType = node;
  if (def.type === "object" && def.shape) {
    // Not strict: an unknown field is reported by the strict parse and repairs nothing.
    inner = z.object(Object.fromEntries(Object.entries(def.shape).map(([key, field]) => [key, lenient(field)])));
  } else if (def.type === "array" && def.element) inner = node.clone({ ...def, element: lenient(def.element) });
  else if ((def.type === "optional" || def.type === "default") && def.innerType) inner = node.clone({ ...def, innerType: lenient(def.innerType) });
  else if (def.type === "record" && def.valueType) inner = node.clone({ ...def, valueType: lenient(def.valueType) });
  return inner.catch(REPAIRED as never);
}

const lenientSchema = lenient(environmentSchema);

/**
 * Fills the defaults that depend on whether the environment is production. Also called on a spec
 * with repaired (invalid) values (see `inspectEnvironment`): those stay repaired, and so does a
 * default that depends on a repaired `production`.
 */
function resolveDefaults(env: ParsedEnvironment) {
  const production = env.production;
  const byProduction = <T>(given: T | undefined, inProduction: T, elsewhere: T): T =>
    given ?? (isRepaired(production) ? (REPAIRED as T) : production ? inProduction : elsewhere);
  return {
    ...env,
    terraformCloud: unlessRepaired(env.terraformCloud, (tfc) =>
      tfc && { ...tfc, release: byProduction(tfc.release, "promoted", "continuous"), agents: byProduction(tfc.agents, 2, 1) },
    ),
    network: unlessRepaired(env.network, (network) => network && { ...network, zones: byProduction(network.zones, 3, 2) }),
    cluster: unlessRepaired(env.cluster, (cluster) => cluster && { ...cluster, logRetentionDays: byProduction(cluster.logRetentionDays, 90, 30) }),
    apps: unlessRepaired(env.apps, (apps) => apps?.map((one) => unlessRepaired(one, (app) => ({ ...app, size: byProduction(app.size, "medium", "small") })))),
    databases: unlessRepaired(env.databases, (databases) =>
      databases?.map((one) =>
        unlessRepaired(one, (db) => ({
          ...db,
          highAvailability: byProduction(db.highAvailability, true, false),
          deletionProtection: byProduction(db.deletionProtection, true, false),
          backupRetentionDays: byProduction(db.backupRetentionDays, 14, 7),
        })),
      ),
    ),
  };
}

export type Environment = ReturnType<typeof resolveDefaults>;
export type NodePoolSpec = Environment["cluster"]["nodePools"][number];
export type BucketSpec = Environment["buckets"][number];
export type DatabaseSpec = Environment["databases"][number];
export type AppSpec = Environment["apps"][number];

/** Reports one problem of a spec: where it is, what was given, what is accepted. */
export type Report = (path: PropertyKey[], given: unknown, accepted: string) => void;

function checkUnique(items: readonly { name: string }[], path: PropertyKey[], report: Report): void {
  const seen = new Set<string>();
  eachKnown(items, (item, index) => {
    if (seen.has(item.name)) report([...path, index, "name"], item.name, `a name not already used in ${formatPath(path)}`);
    seen.add(item.name);
  });
}

/** The cloud `<env>-infra` holds the resources of: `home`, else the cluster's. */
export const homeOf = (env: Pick<Environment, "home" | "cloud">): Cloud => env.home ?? env.cloud;

/**
 * The moves of a cluster away from its home (`home` other than `cloud`) that are built: the
 * cluster's stack becomes `<env>-infra-<cloud>`, the home's keeps its network and databases with
 * the VPN beside them (`CloudPlatform.databaseNetwork`), and the cluster's platform takes
 * over the stack that held its cloud's storage without replacing it (docs/design/cross-cloud.md,
 * build order steps 10 and 11).
 */
export const BUILT_MOVES: readonly { readonly from: Cloud; readonly to: Cloud }[] = [
  { from: "aws", to: "azure" },
  { from: "aws", to: "gcp" },
];

/**
 * What `home` must be instead, when it is another cloud than `cloud` that cannot serve, or
 * undefined when it serves. One message, on `home`, since every bucket and database that names no
 * cloud lives there (the rest of the spec is not judged against it):
 * - a home without its account: a home keeps its account to the end of a move, and without this
 *   a typo would rename the cluster's stack;
 * - a move that is not built;
 * - databases on the home without `networks.<home>`, the range the home's network keeps: a home
 *   a cluster moved away from has one while its databases are there, a typo has none.
 */
export function homeProblem(env: Environment): string | undefined {
  const home = homeOf(env);
  if (home === env.cloud) return undefined;
  const neverLeft = `or "${env.cloud}" if the cluster never ran on ${home} (every bucket and database that names no cloud lives on home)`;
  if (env.accounts[home] === undefined) {
    return `the cloud the cluster moved away from, with its account kept in accounts.${home} (${env.name}-infra holds that cloud's resources, to the end of the move), ${neverLeft}`;
  }
  if (!BUILT_MOVES.some((move) => move.from === home && move.to === env.cloud)) {
    return `"${env.cloud}", or for a cluster moved away from home, a move that is built (${BUILT_MOVES.map((move) => `from ${move.from} to ${move.to}`).join("; ")}): a cluster on ${env.cloud} with ${env.name}-infra on ${home} is not built yet (docs/design/cross-cloud.md, "Build order")`;
  }
  if (env.databases.some((database) => placedOn(env, database) === home) && env.networks?.[home] === undefined) {
    return `the cloud the cluster moved away from (stage 2 of a move), with networks.${home}.cidr: the range of the network ${env.name}-infra keeps there for the databases (network.cidr as it was), ${neverLeft}`;
  }
  return undefined;
}

/** Where a bucket or database lives: its own `cloud`, else the home's, so that once `home` is set, moving the cluster (`cloud`) moves no data. */
export const placedOn = (env: Environment, resource: BucketSpec | DatabaseSpec): Cloud => resource.cloud ?? homeOf(env);

/** The apps whose bucket lives on `cloud`, each with that bucket. */
export function appsWithBucketsOn(env: Environment, cloud: Cloud): { app: AppSpec; bucket: BucketSpec }[] {
  return env.apps.flatMap((app) => {
    const bucket = env.buckets.find((one) => one.name === app.bucket);
    return bucket !== undefined && placedOn(env, bucket) === cloud ? [{ app, bucket }] : [];
  });
}

/** The clouds other than `cloud` that hold a resource of the environment, in `CLOUDS` order. */
export function otherClouds(env: Environment): Cloud[] {
  const used = new Set([...env.buckets.map((bucket) => placedOn(env, bucket)), ...env.databases.map((database) => placedOn(env, database))]);
  return CLOUDS.filter((cloud) => cloud !== env.cloud && used.has(cloud));
}

/**
 * Where each bucket lives (docs/design/cross-cloud.md): every cloud used has its account; `home`
 * is given once resources span clouds, and names a cloud with resources; an app whose chart reaches
 * object storage on another cloud only with a stored key keeps its bucket on the cluster's cloud.
 */
function checkPlacement(env: Environment, report: Report): void {
  const unusableHome = homeProblem(env);
  if (unusableHome !== undefined) {
    // One message: every bucket and database that names no cloud would live there.
    report(["home"], env.home, unusableHome);
    return;
  }
  const placed: readonly [string, readonly (BucketSpec | DatabaseSpec)[]][] = [["buckets", env.buckets], ["databases", env.databases]];
  for (const [field, resources] of placed) {
    eachKnown(resources, (resource, index) => {
      const cloud = placedOn(env, resource);
      if (cloud !== env.cloud && env.accounts[cloud] === undefined) report(["accounts", cloud], undefined, `the ${cloud} account of this environment, because ${field}[${index}].cloud is "${cloud}"`);
    });
  }
  const others = known(() => otherClouds(env)) ?? [];
  if (others.length > 0 && env.home === undefined) {
    // Required before the cluster can move: the default (`cloud`) would follow it (`homeOf`).
    report(["home"], undefined, `"${env.cloud}": the cloud whose resources stay in ${env.name}-infra, required because resources live on ${[env.cloud, ...others].join(" and ")}`);
  }
  const bootstrapping = env.terraformCloud?.bootstrapping ?? [];
  // The cluster's own workspace is new when it moves away from home to a cloud where the environment had none (stage 2 of a move).
  const awayFromHome = env.home !== undefined && env.home !== env.cloud;
  bootstrapping.forEach((cloud, index) => {
    if (others.includes(cloud) || (awayFromHome && cloud === env.cloud)) return;
    const cluster = awayFromHome ? `, or the cluster's, ${env.cloud}, whose new workspace ${env.name}-infra-${env.cloud} holds it away from home` : "";
    report(["terraformCloud", "bootstrapping", index], cloud, `a cloud other than the cluster's that a bucket or database lives on (${others.join(", ") || "none"})${cluster}: only its ${env.name}-infra-<cloud> workspace is bootstrapped by hand`);
  });
  eachKnown(env.apps, (app, index) => {
    const bucket = env.buckets.find((one) => one.name === app.bucket);
    if (bucket === undefined) return;
    const cloud = placedOn(env, bucket);
    if (cloud !== env.cloud && bootstrapping.includes(cloud)) {
      report(["apps", index, "bucket"], app.bucket, `a bucket not on ${cloud} while terraformCloud.bootstrapping names it: ${app.name}'s identity there comes from ${env.name}-infra-${cloud}, which Terraform Cloud does not run yet (point ${app.name} at it in the pull request that ends the bootstrap)`);
    }
    if (cloud !== env.cloud && APP_CATALOGUE[app.name].keylessForeignStorage !== true) {
      report(["apps", index, "bucket"], app.bucket, `a bucket on ${env.cloud}, the cluster's cloud: ${app.name}'s chart reaches object storage on another cloud only with a stored key (docs/design/cross-cloud.md)`);
    }
  });
}

function checkNetwork(env: Environment, report: Report): void {
  const cidr = parseCidr(env.network.cidr);
  if (!cidr) {
    report(["network", "cidr"], env.network.cidr, "an IPv4 CIDR of four decimal parts without leading zeros, such as 10.20.0.0/16");
    return;
  }
  if (!isNetworkAligned(cidr)) {
    report(["network", "cidr"], env.network.cidr, "a network address with no host bits set, such as 10.20.0.0/16");
    return;
  }
  if (!isPrivateRange(cidr)) {
    report(["network", "cidr"], env.network.cidr, "a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
    return;
  }
  const { minPrefix, maxPrefix } = SUBNET_PLAN_LIMITS;
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) {
    report(
      ["network", "cidr"],
      env.network.cidr,
      `a prefix from /${minPrefix} to /${maxPrefix}, so that private, public and database subnets for ${known(() => env.network.zones) ?? "its"} zones fit`,
    );
    return;
  }
  eachKnown(env.cluster.publicAccessCidrs, (text, index) => {
    const allowed = parseCidr(text);
    const path = ["cluster", "publicAccessCidrs", index];
    if (!allowed || !isNetworkAligned(allowed)) report(path, text, "a network address with no host bits set, such as 203.0.113.0/24");
    else if (allowed.prefix < 8) report(path, text, "a range no wider than /8: list the addresses of your VPN, office or CI runners");
    // The environment's own network is private too, so this also keeps the list outside it.
    else if (overlapsPrivateRange(allowed)) report(path, text, "a public range: a public API endpoint never sees private (RFC 1918) source addresses");
  });
  // Throws only on a bug in the plan limits above; kept here so a bad plan can never reach synth.
  planSubnets(env.network.cidr, env.network.zones);
}

/** The prefixes a `networks.<cloud>` range may have: one database subnet per zone, each a quarter of it, at least a /26. */
export const DATABASE_NETWORK_PREFIXES = { min: 16, max: 24 } as const;

/** The clouds other than the cluster's that a database lives on, each needing a network there reached over a VPN. */
export function databaseNetworkClouds(env: Environment): Cloud[] {
  const used = new Set(env.databases.map((database) => placedOn(env, database)));
  return CLOUDS.filter((cloud) => cloud !== env.cloud && used.has(cloud));
}

/**
 * `networks`: an entry for each other cloud a database lives on and for no other, each a private,
 * aligned range of a size the database subnets fit in (the home's, once the cluster moved away:
 * the whole network it had, kept), overlapping neither the cluster's network nor another entry
 * (the VPN routes each range to one side). The VPN's inside ranges are
 * link-local (constructs/core/vpn.ts), so no private range can meet them.
 */
function checkNetworks(env: Environment, report: Report): void {
  // Which networks are needed follows from where the databases live, and so from a usable home (checkPlacement).
  if (homeProblem(env) !== undefined) return;
  const clouds = known(() => databaseNetworkClouds(env));
  const home = known(() => parseCidr(env.network.cidr));
  const seen: { path: string; text: string; cidr: Ipv4Cidr }[] = home === undefined ? [] : [{ path: "network.cidr", text: env.network.cidr, cidr: home }];
  for (const cloud of CLOUDS) {
    const given = known(() => env.networks?.[cloud]);
    // The home's network once the cluster moved away (stage 2): the VPC `<env>-infra` keeps, its subnets as they were (homeProblem asks for it).
    const kept = cloud === known(() => homeOf(env)) && cloud !== env.cloud;
    if (given === undefined) {
      if (clouds?.includes(cloud) === true) {
        report(["networks", cloud, "cidr"], undefined, `the private range of the ${cloud} network that holds the databases on ${cloud}, which the cluster reaches over a site-to-site VPN (such as 10.40.0.0/22)`);
      }
      continue;
    }
    if (cloud === env.cloud) {
      report(["networks", cloud], given, `no entry for ${cloud}, the cluster's cloud: its range is network.cidr`);
      continue;
    }
    if (clouds !== undefined && !clouds.includes(cloud)) {
      report(["networks", cloud], given, `an entry only for another cloud a database lives on (${clouds.join(", ") || "none"}): a network there holds databases`);
      continue;
    }
    const path = ["networks", cloud, "cidr"];
    const cidr = parseCidr(given.cidr);
    const { min, max } = kept ? { min: SUBNET_PLAN_LIMITS.minPrefix, max: SUBNET_PLAN_LIMITS.maxPrefix } : DATABASE_NETWORK_PREFIXES;
    if (!cidr || !isNetworkAligned(cidr)) report(path, given.cidr, "a network address with no host bits set, such as 10.40.0.0/22");
    else if (!isPrivateRange(cidr)) report(path, given.cidr, "a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
    else if (cidr.prefix < min || cidr.prefix > max) {
      report(path, given.cidr, `a prefix from /${min} to /${max}, so that ${kept ? `the kept network's private, public and database subnets for ${known(() => env.network.zones) ?? "its"} zones fit (as network.cidr before the cluster moved)` : "a database subnet per zone fits"}`);
    }
    else {
      const met = seen.find((other) => cidrsOverlap(other.cidr, cidr));
      // The kept range is the network that stays: the cluster's new one (network.cidr) is what moves.
      if (met !== undefined && kept && met.path === "network.cidr") {
        report(["network", "cidr"], met.text, `a new range for the cluster's ${env.cloud} network, outside ${cloud}'s (networks.${cloud}.cidr is ${given.cidr}: the range ${env.name}-infra's network keeps, since changing it would replace that network and the databases in it)`);
      } else if (met !== undefined) report(path, given.cidr, `a range that overlaps no other network of the environment (${met.path} is ${met.text}): the VPN routes each range to one side`);
      else seen.push({ path: `networks.${cloud}.cidr`, text: given.cidr, cidr });
    }
  }
}

/**
 * Every account's region exists (constructs/core/regions.ts), and the environment's own cloud has
 * as many availability zones there as `network.zones` asks for.
 */
function checkRegion(env: Environment, report: Report): void {
  // Read only where needed: a repaired zones count hides only the checks that compare with it.
  const tooMany = (names: readonly string[], where: string) => {
    const zones = env.network.zones;
    if (zones > names.length) report(["network", "zones"], zones, `at most ${names.length} in ${where} (zones ${names.join(", ")})`);
  };
  // Each account on its own: a repaired field of one hides nothing of the others.
  known(() => {
    const aws = env.accounts.aws;
    if (!aws) return;
    const letters = AWS_ZONE_LETTERS[aws.region];
    const listed = aws.availabilityZones;
    if (letters === undefined) report(["accounts", "aws", "region"], aws.region, `an AWS region the pinned AWS provider accepts: ${Object.keys(AWS_ZONE_LETTERS).join(", ")}`);
    eachKnown(listed ?? [], (name, index) => {
      if (!new RegExp(`^${aws.region}[a-z]$`).test(name) || listed?.indexOf(name) !== index) {
        report(["accounts", "aws", "availabilityZones", index], name, `a zone of ${aws.region} listed once, such as ${aws.region}b`);
      }
    });
    // The cluster's network, or a network holding databases (`networks.aws`), spreads over the zones.
    if ((env.cloud === "aws" || known(() => env.networks?.aws) !== undefined) && letters !== undefined) {
      if (listed) tooMany(listed, "accounts.aws.availabilityZones");
      else if (letters.length === 0) report(["accounts", "aws", "availabilityZones"], undefined, `the zone names your account sees in ${aws.region}, which differ per account (aws ec2 describe-availability-zones)`);
      else tooMany(awsZoneNames(aws.region), aws.region);
    }
  });
  known(() => {
    const azure = env.accounts.azure;
    if (!azure) return;
    const azureZones = AZURE_LOCATION_ZONES[azure.location];
    if (azureZones === undefined) report(["accounts", "azure", "location"], azure.location, `an Azure location such as westeurope: ${Object.keys(AZURE_LOCATION_ZONES).join(", ")}`);
    else if (env.cloud === "azure" && azureZones === 0) {
      report(["accounts", "azure", "location"], azure.location, `a location with availability zones (the environment spreads over ${known(() => env.network.zones) ?? "several"}): ${Object.keys(AZURE_LOCATION_ZONES).filter((l) => AZURE_LOCATION_ZONES[l] > 0).join(", ")}`);
    } else if (env.cloud === "azure") tooMany(["1", "2", "3"].slice(0, azureZones), azure.location);
  });
  known(() => {
    const gcp = env.accounts.gcp;
    if (!gcp) return;
    const letters = GCP_ZONE_LETTERS[gcp.region];
    if (letters === undefined) report(["accounts", "gcp", "region"], gcp.region, `a GCP region such as europe-west1: ${Object.keys(GCP_ZONE_LETTERS).join(", ")}`);
    else if (env.cloud === "gcp") tooMany(gcpZoneNames(gcp.region), gcp.region);
  });
}

function checkReferences(env: Environment, report: Report): void {
  const hosts = new Map<string, string>();
  eachKnown(env.apps, (app, index) => {
    if (app.host === undefined) return;
    const owner = hosts.get(app.host);
    if (owner !== undefined) report(["apps", index, "host"], app.host, `a host no other app uses (${owner} has it)`);
    hosts.set(app.host, app.name);
  });
  // Undefined when a name is repaired: a reference can only be judged against every name.
  const buckets = known(() => env.buckets.map((b) => b.name));
  const databases = known(() => env.databases.map((d) => d.name));
  eachKnown(env.apps, (app, index) => {
    known(() => {
      if (databases !== undefined && app.database !== undefined && !databases.includes(app.database)) {
        report(["apps", index, "database"], app.database, `the name of a database in this spec (${databases.join(", ") || "none defined"})`);
      }
    });
    known(() => {
      if (buckets !== undefined && app.bucket !== undefined && !buckets.includes(app.bucket)) {
        report(["apps", index, "bucket"], app.bucket, `the name of a bucket in this spec (${buckets.join(", ") || "none defined"})`);
      }
    });
    known(() => {
      if (app.host !== undefined && env.dns === undefined) {
        report(["apps", index, "host"], app.host, "a host only together with dns.acmeEmail, which TLS certificates are issued for");
      }
    });
    known(() => {
      const zone = env.dns?.zone;
      if (app.host !== undefined && zone !== undefined && !app.host.endsWith(`.${zone}`)) {
        report(["apps", index, "host"], app.host, `a name inside the DNS zone ${zone}, such as ${app.name}.${zone}`);
      }
    });
    known(() => {
      const needs = APP_CATALOGUE[app.name];
      if (needs.database && app.database === undefined) report(["apps", index, "database"], undefined, `a database: ${app.name} stores its metadata in PostgreSQL`);
    });
    known(() => {
      const needs = APP_CATALOGUE[app.name];
      if (needs.bucket && app.bucket === undefined) report(["apps", index, "bucket"], undefined, `a bucket: ${app.name} keeps ${needs.bucket} in object storage`);
    });
  });
}

function checkProductionRules(env: Environment, report: Report): void {
  if (!env.production) return;
  known(() => {
    const hasSteadyPool = env.cluster.nodePools.some((pool) => !pool.spot && pool.minNodes >= 2);
    if (!hasSteadyPool) {
      report(["cluster", "nodePools"], env.cluster.nodePools.map((p) => p.name), "in production, at least one non-spot node pool with minNodes >= 2");
    }
  });
  eachKnown(env.databases, (db, index) => {
    known(() => {
      if (!db.highAvailability && !db.waivers.highAvailability) {
        report(["databases", index, "highAvailability"], false, "true in production, or a reason in waivers.highAvailability");
      }
    });
    known(() => {
      if (!db.deletionProtection && !db.waivers.deletionProtection) {
        report(["databases", index, "deletionProtection"], false, "true in production, or a reason in waivers.deletionProtection");
      }
    });
    known(() => {
      if (db.backupRetentionDays < 14 && !db.waivers.backupRetentionDays) {
        report(["databases", index, "backupRetentionDays"], db.backupRetentionDays, "at least 14 in production, or a reason in waivers.backupRetentionDays");
      }
    });
  });
}

/**
 * Stateful components (Kafka, OpenSearch, Prometheus, Temporal, the Airflow scheduler, ...) do not
 * tolerate the spot taint, so a cluster that runs apps needs on-demand capacity. (Production has
 * the stronger rule above.)
 */
function checkOnDemandCapacity(env: Environment, report: Report): void {
  if (env.production || env.apps.length === 0 || env.cluster.nodePools.some((pool) => !pool.spot)) return;
  report(["cluster", "nodePools"], env.cluster.nodePools.map((p) => p.name), "at least one non-spot node pool: stateful components of the apps run on on-demand nodes only");
}

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy; the aws provider validates the same list). */
const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Tags per resource the clouds allow (AWS and Azure: 50), less the platform's own and the most a
 * resource carries of its own (AWS private subnets: Name, tier and two Kubernetes tags). Azure
 * Key Vault secrets, which take at most 15, carry the platform's tags only.
 */
const MAX_SPEC_TAGS = 50 - RESERVED_TAG_KEYS.length - 4;

/**
 * Tag rules of every cloud, so the same spec works on each: AWS reserves the `aws:` prefix; Azure
 * refuses `<>%&\?/` in tag names, more on DNS zones, and compares names without case, so `Owner`
 * would be `owner`.
 */
function checkTags(env: Environment, report: Report): void {
  const keys = Object.keys(env.tags);
  const seen = new Map<string, string>((RESERVED_TAG_KEYS as readonly string[]).map((key) => [key, key]));
  eachKnown(keys, (key) => {
    const path = ["tags", key];
    const folded = key.toLowerCase();
    const clash = seen.get(folded);
    if ((RESERVED_TAG_KEYS as readonly string[]).includes(folded)) report(path, env.tags[key], `a key other than ${RESERVED_TAG_KEYS.join(", ")} in any case: the platform sets those itself`);
    else if (clash !== undefined) report(path, env.tags[key], `a key that differs from "${clash}" in more than case (Azure tag names ignore case)`);
    else if (folded.startsWith("aws:")) report(path, env.tags[key], "a key without the aws: prefix, which AWS reserves");
    else if (/[<>%&\\?/]/.test(key)) report(path, env.tags[key], "a key without < > % & \\ ? or /, which Azure refuses in tag names");
    // learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations: DNS
    // zones refuse spaces and parentheses and a leading digit; private DNS zones also never apply a
    // name with ':' (hashicorp/terraform-provider-azurerm#6129), a diff on every plan.
    else if (/[\s():]/.test(key) || /^\d/.test(key)) report(path, env.tags[key], "a key without spaces, parentheses or ':' that does not start with a digit, as Azure DNS zones require");
    seen.set(folded, key);
  });
  if (keys.length > MAX_SPEC_TAGS) report(["tags"], `${keys.length} tags`, `at most ${MAX_SPEC_TAGS} tags: clouds allow 50 per resource and the platform sets up to 8`);
}

/**
 * `databases[].gcp.instanceName`: at most 98 characters together with the project id and ':'
 * (`<project>:<instance>` is the instance's connection path), and one instance per database.
 */
function checkCloudSqlInstanceNames(env: Environment, report: Report): void {
  const owners = new Map<string, string>();
  eachKnown(env.databases, (db, index) => {
    const name = db.gcp?.instanceName;
    if (name === undefined) return;
    const path = ["databases", index, "gcp", "instanceName"];
    // Its read replicas are `<name>-replica-<n>`: the longest of them must fit too.
    const replicas = Array.from({ length: db.readReplicas }, (_, replica) => `${name}-replica-${replica + 1}`);
    const longest = replicas.at(-1) ?? name;
    const project = env.accounts.gcp?.projectId;
    const room = CLOUD_SQL_MAX_PROJECT_AND_INSTANCE_ID - (project === undefined ? 0 : project.length + 1);
    if (longest.length > room) {
      const what = replicas.length > 0 ? `a name whose replica ${longest} is a Cloud SQL instance id` : "a Cloud SQL instance id";
      report(path, name, `${what} of at most ${room} characters${project === undefined ? "" : ` in project ${project} (project id, ':' and instance id take at most ${CLOUD_SQL_MAX_PROJECT_AND_INSTANCE_ID})`}`);
    }
    for (const instance of [name, ...replicas]) {
      const owner = owners.get(instance);
      if (owner !== undefined) report(path, name, `an instance no other database uses (${owner} has ${instance})`);
    }
    for (const instance of [name, ...replicas]) owners.set(instance, db.name);
  });
}

/**
 * Azure-only rules. AKS: the API server's private mode is named, never derived from the CIDRs
 * (azurerm 4.55.0 replaces the cluster when `private_cluster_enabled` changes), and at least one
 * admin group exists (nobody else can reach a cluster with local accounts disabled).
 */
function checkAzure(env: Environment, report: Report): void {
  if (env.cloud !== "azure") return;
  const azure = env.cluster.azure;
  known(() => {
    if ((azure?.adminGroupObjectIds ?? []).length > 0) return;
    report(
      ["cluster", "azure", "adminGroupObjectIds"],
      azure?.adminGroupObjectIds,
      "on Azure, at least one Entra ID group object id: AKS has local accounts disabled, so these groups are its only human admins, " +
        "and the person who bootstraps the environment (or applies its stacks outside Terraform Cloud) must be a member of one",
    );
  });
  const cidrs = env.cluster.publicAccessCidrs;
  const isPrivate = azure?.privateCluster ?? true;
  if (isPrivate && cidrs.length > 0) {
    report(
      ["cluster", "publicAccessCidrs"],
      cidrs,
      `no ranges while cluster.azure.privateCluster is ${azure?.privateCluster === undefined ? "true (the default)" : "true"}: a private AKS API server has no public endpoint. ` +
        "A cluster created public (by an earlier version, from these ranges) must set cluster.azure.privateCluster: false to stay as it is; " +
        "to open a private cluster, setting it to false REPLACES the AKS cluster (a new cluster: node pools, volumes and in-cluster data are lost)",
    );
  }
  if (!isPrivate && cidrs.length === 0) {
    report(
      ["cluster", "azure", "privateCluster"],
      false,
      "true, or false together with at least one range in cluster.publicAccessCidrs: a public AKS API server without authorized ranges is open to the whole internet " +
        "(switching to true REPLACES the AKS cluster)",
    );
  }
}

/** The channels each severity goes to: the spec's `alerts.routes`, or the defaults. */
export function alertRoutes(alerts: NonNullable<Environment["alerts"]>): Record<AlertSeverity, readonly AlertChannel[]> {
  const given = ALERT_CHANNELS.filter((channel) => alerts[channel] !== undefined);
  return {
    critical: alerts.routes?.critical ?? given,
    warning: alerts.routes?.warning ?? (alerts.slack ? ["slack"] : given),
  };
}

/**
 * The cloud identity that reads a spec secret: `monitoring-secrets` (the monitoring namespace's
 * store: alert channels, metrics links), `sso-secrets` (the sso namespace's store: the SSO
 * client secret alone) or `dags-secrets` (the airflow namespace's store: the DAG repository's
 * credential alone, `apps[].dags.gitSync.credentialSecret`).
 */
export type SpecSecretReader = "monitoring-secrets" | "sso-secrets" | "dags-secrets";

/** Every secret name the spec gives, with its path and its reader, for the clouds' own name rules and grants. */
export function specSecretNames(env: Environment): { path: PropertyKey[]; name: string; reader: SpecSecretReader }[] {
  const names: { path: PropertyKey[]; name: string; reader: SpecSecretReader }[] = [];
  const add = (entry: { path: PropertyKey[]; name: string }) => names.push({ ...entry, reader: "monitoring-secrets" });
  known(() => {
    const alerts = env.alerts;
    known(() => alerts?.slack && add({ path: ["alerts", "slack", "webhookSecret"], name: alerts.slack.webhookSecret }));
    known(() => alerts?.email && add({ path: ["alerts", "email", "passwordSecret"], name: alerts.email.passwordSecret }));
    known(() => alerts?.heartbeat && add({ path: ["alerts", "heartbeat", "urlSecret"], name: alerts.heartbeat.urlSecret }));
  });
  known(() => {
    const metrics = env.metrics;
    known(() => metrics?.sendTo && add({ path: ["metrics", "sendTo", "passwordSecret"], name: metrics.sendTo.passwordSecret }));
    eachKnown(metrics?.receiveFrom ?? [], (link, index) => add({ path: ["metrics", "receiveFrom", index, "passwordSecret"], name: link.passwordSecret }));
  });
  known(() => env.sso && names.push({ path: ["sso", "clientSecret"], name: env.sso.clientSecret, reader: "sso-secrets" }));
  eachKnown(env.apps, (app, index) => {
    const credential = app.dags?.gitSync?.credentialSecret;
    if (credential !== undefined) names.push({ path: ["apps", index, "dags", "gitSync", "credentialSecret"], name: credential, reader: "dags-secrets" });
  });
  return names;
}

/** The names of the spec secrets one identity reads. */
export function specSecretNamesFor(env: Environment, reader: SpecSecretReader): string[] {
  return [...new Set(specSecretNames(env).filter((secret) => secret.reader === reader).map((secret) => secret.name))];
}

/** A spec secret `name` that another identity than `reader` also reads, if any: each identity's secrets are its own. */
function sharedSecret(env: Environment, reader: SpecSecretReader, name: string) {
  return specSecretNames(env).find((secret) => secret.reader !== reader && secret.name === name);
}

/** The Grafana-style OAuth endpoints of an SSO issuer: the spec's, else the layout of a well-known provider. */
export function ssoEndpoints(sso: NonNullable<Environment["sso"]>): { authorization: string; token: string; userinfo: string } | undefined {
  if (sso.endpoints) return sso.endpoints;
  const url = new URL(sso.issuer);
  const path = url.pathname.replace(/\/$/, "");
  // Keycloak >= 17: <base>/realms/<realm>/protocol/openid-connect/{auth,token,userinfo}.
  if (/\/realms\/[^/]+$/.test(path)) return { authorization: `${sso.issuer}/protocol/openid-connect/auth`, token: `${sso.issuer}/protocol/openid-connect/token`, userinfo: `${sso.issuer}/protocol/openid-connect/userinfo` };
  // Microsoft Entra ID v2: https://login.microsoftonline.com/<tenant>/v2.0, endpoints under <tenant>/oauth2/v2.0; userinfo on Microsoft Graph.
  const entra = /^\/([^/]+)\/v2\.0$/.exec(path);
  if (url.host === "login.microsoftonline.com" && entra) {
    return { authorization: `https://login.microsoftonline.com/${entra[1]}/oauth2/v2.0/authorize`, token: `https://login.microsoftonline.com/${entra[1]}/oauth2/v2.0/token`, userinfo: "https://graph.microsoft.com/oidc/userinfo" };
  }
  // Google.
  if (url.host === "accounts.google.com" && path === "") return { authorization: "https://accounts.google.com/o/oauth2/v2/auth", token: "https://oauth2.googleapis.com/token", userinfo: "https://openidconnect.googleapis.com/v1/userinfo" };
  // Okta: an authorization server https://<org>.okta.com/oauth2/<server> has <issuer>/v1/{authorize,token,userinfo}; the org server has /oauth2/v1/....
  if (/\.okta(preview)?\.com$/.test(url.host)) {
    const base = path === "" ? `${sso.issuer}/oauth2` : sso.issuer;
    return { authorization: `${base}/v1/authorize`, token: `${base}/v1/token`, userinfo: `${base}/v1/userinfo` };
  }
  return undefined;
}

/** SSO: some restriction on who may sign in, its client secret its own, and endpoints Grafana can use. */
function checkSso(env: Environment, report: Report): void {
  known(() => {
    const sso = env.sso;
    if (sso === undefined) return;
    if ((sso.allowedGroups ?? []).length === 0 && (sso.allowedDomains ?? []).length === 0) {
      report(["sso"], Object.keys(sso), "sso with allowedGroups, allowedDomains or both (a non-empty list): who may sign in");
    }
    const shared = sharedSecret(env, "sso-secrets", sso.clientSecret);
    if (shared) report(["sso", "clientSecret"], sso.clientSecret, `a secret of its own, not also ${formatPath(shared.path)}: only the sso namespace's identity may read it`);
    known(() => {
      if (ssoEndpoints(sso) === undefined) {
        report(["sso", "endpoints"], undefined, "endpoints { authorization, token, userinfo } from the provider's discovery document (<issuer>/.well-known/openid-configuration): Grafana needs them, and they are derived only for Keycloak, Entra ID, Okta and Google issuers");
      }
    });
  });
}

/**
 * `image` only where the chart runs one main image (APPS_WITH_IMAGE); `dags` only on Airflow, as
 * git-sync or the app's own image (exactly one); git-sync follows one ref or stays on one commit,
 * and over SSH has its key and the host's keys; its credential is read by the airflow namespace's
 * store alone, so it is no other spec secret.
 */
function checkAppImagesAndDags(env: Environment, report: Report): void {
  eachKnown(env.apps, (app, index) => {
    const at = (...path: PropertyKey[]) => ["apps", index, ...path];
    known(() => {
      if (app.image !== undefined && !(APPS_WITH_IMAGE as readonly string[]).includes(app.name)) {
        report(at("image"), app.image, `image only on ${APPS_WITH_IMAGE.join(" or ")}: the ${app.name} chart runs several images or none a team replaces`);
      }
    });
    const dags = known(() => app.dags);
    if (dags === undefined) return;
    if (app.name !== "airflow") {
      report(at("dags"), Object.keys(dags), "dags only on the airflow app: the other apps run no DAGs");
      return;
    }
    known(() => {
      const given = Object.keys(dags).filter((key) => dags[key as keyof typeof dags] !== undefined);
      if (given.length !== 1) report(at("dags"), given, "exactly one of gitSync (DAGs synced from a repository) or image: true (DAGs baked into the app's image)");
    });
    known(() => {
      if (dags.image === true && app.image === undefined) report(at("dags", "image"), true, "image: true only with the app's own image (apps[].image { repository, tag }) that carries the DAGs");
    });
    const sync = known(() => dags.gitSync);
    if (sync === undefined) return;
    known(() => {
      if ((sync.ref === undefined) === (sync.rev === undefined)) report(at("dags", "gitSync"), Object.keys(sync), "exactly one of ref (a branch or tag to follow) or rev (a commit id)");
    });
    known(() => {
      const { protocol } = gitSyncTransport(sync.repository);
      if (protocol === "ssh" && sync.credentialSecret === undefined) report(at("dags", "gitSync", "credentialSecret"), undefined, "over SSH, the secret holding the repository's private key (a read-only deploy key)");
      if (protocol === "ssh" && sync.knownHosts === undefined) report(at("dags", "gitSync", "knownHosts"), undefined, "over SSH, the host's public keys (ssh-keyscan <host>, checked against its published fingerprints): without them git-sync would accept any host key");
      if (protocol === "https" && sync.knownHosts !== undefined) report(at("dags", "gitSync", "knownHosts"), sync.knownHosts, "knownHosts only with an SSH repository (ssh://... or git@host:path)");
    });
    known(() => {
      const credential = sync.credentialSecret;
      if (credential === undefined) return;
      const shared = sharedSecret(env, "dags-secrets", credential);
      if (shared) report(at("dags", "gitSync", "credentialSecret"), credential, `a secret of its own, not also ${formatPath(shared.path)}: only the airflow namespace's store may read it`);
    });
  });
}

/** Alerts name at least one channel, and routes only channels that are given. */
function checkAlerts(env: Environment, report: Report): void {
  const alerts = env.alerts;
  if (alerts === undefined) return;
  known(() => {
    if (alerts.slack === undefined && alerts.email === undefined) report(["alerts"], Object.keys(alerts), "alerts with slack, email or both: the channels alerts are sent to");
  });
  for (const severity of ALERT_SEVERITIES) {
    known(() => {
      const given = ALERT_CHANNELS.filter((channel) => known(() => alerts[channel]) !== undefined);
      eachKnown(alerts.routes?.[severity] ?? [], (channel, index) => {
        const list = alerts.routes?.[severity] ?? [];
        if (!given.includes(channel)) report(["alerts", "routes", severity, index], channel, `a channel configured under alerts (${given.join(", ") || "none"})`);
        else if (list.indexOf(channel) !== index) report(["alerts", "routes", severity, index], channel, "each channel once");
      });
    });
  }
}

/**
 * A hub receives, a sender sends; one environment is not both (a chain would forward nothing:
 * remote-written series are not sent on). Each sender once, never the environment itself.
 */
function checkMetrics(env: Environment, report: Report): void {
  const metrics = env.metrics;
  if (metrics === undefined) return;
  const links = metrics.receiveFrom;
  known(() => {
    if (metrics.sendTo !== undefined && links.length > 0) {
      report(["metrics", "sendTo"], metrics.sendTo.environment, `no hub while this environment receives metrics (metrics.receiveFrom): a hub keeps what it receives and forwards nothing`);
    }
  });
  known(() => {
    if (metrics.sendTo?.environment === env.name) report(["metrics", "sendTo", "environment"], env.name, "another environment: the hub this one sends its metrics to");
  });
  eachKnown(links, (link, index) => {
    const path = ["metrics", "receiveFrom", index, "environment"];
    if (link.environment === env.name) report(path, link.environment, "another environment: one whose metrics this one receives");
    else if (links.findIndex((other) => known(() => other.environment) === link.environment) !== index) report(path, link.environment, "each environment once");
  });
  known(() => {
    if (links.length > 0 && monitoringHost(env) === undefined) {
      report(["metrics", "receiveFrom"], links.map((link) => link.environment), "a hub that lists monitoring in apps with a host: senders reach its receiver over TLS at that host");
    }
  });
}

/**
 * Every check of one environment. Each runs on its own; on a spec that did not parse, a check
 * stops at the first repaired value it reads (see `guarded`), so one run reports every problem
 * that does not depend on another.
 */
const CHECKS: readonly ((env: Environment, report: Report) => void)[] = [
  (env, report) => {
    if (env.accounts[env.cloud] === undefined) report(["accounts", env.cloud], undefined, `the ${env.cloud} account of this environment, because cloud is "${env.cloud}"`);
  },
  checkPlacement,
  checkTags,
  (env, report) => {
    if (env.cloud === "aws" && !CLOUDWATCH_RETENTION_DAYS.includes(env.cluster.logRetentionDays)) {
      report(["cluster", "logRetentionDays"], env.cluster.logRetentionDays, `on AWS one of the retentions CloudWatch Logs accepts: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`);
    }
  },
  (env, report) =>
    eachKnown(env.cluster.nodePools, (pool, index) => {
      if (pool.minNodes > pool.maxNodes) report(["cluster", "nodePools", index, "minNodes"], pool.minNodes, `at most maxNodes (${pool.maxNodes})`);
    }),
  (env, report) => checkUnique(env.cluster.nodePools, ["cluster", "nodePools"], report),
  (env, report) => checkUnique(env.buckets, ["buckets"], report),
  (env, report) => checkUnique(env.databases, ["databases"], report),
  checkCloudSqlInstanceNames,
  (env, report) => checkUnique(env.apps, ["apps"], report),
  checkNetwork,
  checkNetworks,
  checkRegion,
  checkReferences,
  checkProductionRules,
  checkOnDemandCapacity,
  checkAzure,
  checkAlerts,
  checkMetrics,
  checkSso,
  checkAppImagesAndDags,
];

/** The field names the schema accepts at a path, for "unknown field" messages. */
function fieldsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  const unwrap = (n: z.core.$ZodType): z.core.$ZodType => {
    const def = n._zod.def as { innerType?: z.core.$ZodType };
    return def.innerType ? unwrap(def.innerType) : n;
  };
  for (const key of path) {
    if (!node) return [];
    const def = unwrap(node)._zod.def as { shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    node = typeof key === "number" ? def.element : def.shape?.[String(key)];
  }
  const shape = node ? (unwrap(node)._zod.def as { shape?: Record<string, unknown> }).shape : undefined;
  return shape ? Object.keys(shape) : [];
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** What is accepted where the schema has no own words for it, instead of zod's default text. */
function defaultAccepted(issue: z.core.$ZodIssue, given: unknown): string {
  const required = given === undefined ? " (required)" : "";
  if (issue.code === "invalid_type") {
    if (issue.expected === "object") {
      const fields = fieldsAt(environmentSchema, issue.path).join(", ");
      if (issue.path.length === 0) {
        const unexported = given === undefined ? " (an entry of environments/index.ts is undefined when it imports a name its file does not export)" : "";
        return `an environment spec: an object with fields ${fields}${unexported}`;
      }
      return `an object with fields ${fields}${required}`;
    }
    if (issue.expected === "array") return `a list${required}`;
    if (issue.expected === "boolean") return `true or false${required}`;
    return `a ${issue.expected}${required}`;
  }
  if (issue.code === "too_small" && issue.origin === "array") return `at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`;
  if (issue.code === "too_big" && issue.origin === "array") return `at most ${issue.maximum} item${issue.maximum === 1 ? "" : "s"}`;
  return issue.message;
}

function zodIssueToSpecIssue(input: unknown, issue: z.core.$ZodIssue): SpecIssue {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => formatPath([...issue.path, key]));
    return { path: keys.join(", "), message: `unknown field; accepted: ${fieldsAt(environmentSchema, issue.path).join(", ")}` };
  }
  const value = valueAt(input, issue.path);
  const path = formatPath(issue.path) || "(spec)";
  const accepted = issue.message.startsWith("accepted:") ? issue.message.slice("accepted:".length).trim() : defaultAccepted(issue, value);
  // A number where a string is wanted (`kubernetesVersion: 1.33`) looks like what is accepted
  // unless the types are named: say it was a number and show the strings in quotes.
  if (typeof value === "number") {
    if (issue.code === "invalid_value" && issue.values.every((option) => typeof option === "string")) {
      return { path, message: `given the number ${value}; accepted: one of the strings ${issue.values.map((option) => JSON.stringify(option)).join(" | ")} (in quotes)` };
    }
    if (issue.code === "invalid_type" && issue.expected === "string") {
      return { path, message: `given the number ${value}; accepted: ${accepted}, written as a string in quotes, e.g. "${value}"` };
    }
  }
  return { path, message: `given ${describeValue(value)}; accepted: ${accepted}` };
}

/** What one spec gave: the environment when it is valid, and the problems found either way. */
interface Inspection {
  readonly label: string;
  readonly environment?: Environment;
  /** The spec with its defaults, guarded where it did not parse, for checks across environments. */
  readonly parsed?: Environment;
  readonly issues: readonly SpecIssue[];
}

/**
 * More checks of a valid or partly valid environment: those of its cloud (`cloudSpecProblems`,
 * wired in stacks/app.ts). They get the same guarded view as `CHECKS`, so they stop at a
 * repaired value; `eachKnown` and `known` keep one item's repaired value from hiding the others.
 */
export type ExtraChecks = (env: Environment, report: Report) => void;

function inspectEnvironment(input: unknown, extraChecks?: ExtraChecks): Inspection {
  const name = valueAt(input, ["name"]);
  const label = typeof name === "string" ? name : "(unnamed)";
  const result = environmentSchema.safeParse(input);
  const issues: SpecIssue[] = result.success ? [] : result.error.issues.map((issue) => zodIssueToSpecIssue(input, issue));
  const data: unknown = result.success ? result.data : lenientSchema.parse(input);
  if (isRepaired(data)) return { label, issues };
  const resolved = resolveDefaults(data as ParsedEnvironment);
  const parsed = result.success ? resolved : guarded(resolved);
  const report: Report = (path, given, accepted) => issues.push({ path: formatPath(path), message: `given ${describeValue(given)}; accepted: ${accepted}` });
  for (const check of [...CHECKS, ...(extraChecks ? [extraChecks] : [])]) known(() => check(parsed, report));
  return { label, parsed, issues, environment: result.success && issues.length === 0 ? resolved : undefined };
}

/**
 * Validates user data and returns the environment with every default filled in.
 * @throws SpecError listing every problem found, each with its field path.
 */
export function parseEnvironment(input: unknown, extraChecks?: ExtraChecks): Environment {
  const inspection = inspectEnvironment(input, extraChecks);
  if (!inspection.environment) throw new SpecError(inspection.label, inspection.issues);
  return inspection.environment;
}

/** Where the input at an index was written, for messages (e.g. `environments/prod.ts`). */
export type SourceOf = (index: number) => string | undefined;

/**
 * Parses several environments, reporting the problems of all of them at once: each environment's
 * own, and those across environments among the parts that parsed.
 */
export function parseEnvironments(inputs: readonly unknown[], sourceOf: SourceOf = () => undefined, extraChecks?: ExtraChecks): Environment[] {
  const inspections = inputs.map((input) => inspectEnvironment(input, extraChecks));
  const issues = inspections.map((inspection) => [...inspection.issues]);
  // The same spec listed twice is one mistake in the list, not clashes of its every field.
  const listedAt = inputs.map((input, index) => (input !== null && typeof input === "object" ? inputs.indexOf(input) : index));
  listedAt.forEach((first, index) => {
    if (first !== index) {
      issues[index] = [{ path: "(spec)", message: `given the spec of entry ${first + 1}${where(sourceOf, first)} again; accepted: each environment listed once in environments/index.ts` }];
    }
  });
  const distinct = inspections.map((inspection, index) => (listedAt[index] === index ? inspection.parsed : undefined));
  crossEnvironmentProblems(distinct, sourceOf, (index, path, given, accepted) => issues[index].push({ path, message: `given ${describeValue(given)}; accepted: ${accepted}` }));
  const problems = inspections.flatMap((inspection, index) =>
    issues[index].length === 0 ? [] : [new SpecError(inspection.label, withLines(inputs[index], issues[index]), sourceOf(index))],
  );
  if (problems.length > 0) throw new SpecErrors(problems);
  return inspections.map((inspection) => inspection.environment as Environment);
}

function where(sourceOf: SourceOf, index: number): string {
  const source = sourceOf(index);
  return source === undefined ? "" : ` (${source})`;
}

type CrossReport = (index: number, path: string, given: unknown, accepted: string) => void;

/** Where each cloud's account is named, and what a Terraform Cloud run identity holds in it. */
const CLOUD_ACCOUNT: Readonly<Record<Cloud, { readonly path: string; readonly noun: string; readonly reach: string; readonly id: (env: Environment) => string | undefined }>> = {
  aws: { path: "accounts.aws.accountId", noun: "an AWS account", reach: "reaches the account's buckets, secrets and keys by name pattern", id: (env) => env.accounts.aws?.accountId },
  azure: { path: "accounts.azure.subscriptionId", noun: "an Azure subscription", reach: "is Contributor on the whole subscription", id: (env) => env.accounts.azure?.subscriptionId },
  gcp: { path: "accounts.gcp.projectId", noun: "a GCP project", reach: "administers the project's buckets, secrets, databases and keys", id: (env) => env.accounts.gcp?.projectId },
};

/**
 * What no single environment shows: two environments with one name, or serving one app host;
 * two whose networks overlap (they could never be peered or connected by VPN, and a move between
 * clouds needs both at once);
 * a cloud account (AWS account, Azure subscription, GCP project) shared by an environment managed by
 * Terraform Cloud and any other environment of that cloud: its run identity reaches what the
 * account holds, by pattern or account-wide: on AWS buckets and secrets named `<env>-*`
 * (`prod-*` matches `prod-eu-*`), every RDS-managed secret (`rds!*`) and every KMS key
 * (constructs/aws/boundary.ts), and two such environments would each create the account's one
 * OIDC provider for app.terraform.io; on Azure Contributor on the subscription; on GCP storage,
 * secret, Cloud SQL and KMS admin on the project. Another environment there
 * would be within reach of a compromised run. Runs on the parts of each spec that parsed; a clash
 * is reported on the later environment and names the earlier one's file.
 */
function crossEnvironmentProblems(envs: readonly (Environment | undefined)[], sourceOf: SourceOf, report: CrossReport): void {
  // Each value on its own: a repaired one (undefined here) hides only the comparisons it is in.
  const names = envs.map((env) => known(() => env?.name));
  // Each environment's ranges: its cluster's network and each network holding databases on another cloud.
  const networks = envs.map((env) => {
    if (env === undefined) return [];
    const own = known(() => ({ path: "network.cidr", text: env.network.cidr, cidr: parseCidr(env.network.cidr) }));
    return [...(own === undefined ? [] : [own]), ...CLOUDS.flatMap((cloud) => {
      const text = known(() => env.networks?.[cloud]?.cidr);
      return text === undefined ? [] : [{ path: `networks.${cloud}.cidr`, text, cidr: parseCidr(text) }];
    })];
  });
  // The accounts a Terraform Cloud run identity would hold: the environment's own cloud's, and
  // each other cloud's it keeps buckets on (its <env>-infra-<cloud> has a run identity there).
  const accounts = envs.map((env) =>
    known(() => {
      if (env === undefined) return [];
      return [env.cloud, ...otherClouds(env)].map((cloud) => {
        const where = CLOUD_ACCOUNT[cloud];
        return { cloud, ...where, id: where.id(env), terraformCloud: env.terraformCloud !== undefined };
      });
    }) ?? [],
  );
  const named = (index: number) => `${names[index] ?? `entry ${index + 1}`}${where(sourceOf, index)}`;
  // A name clash is the copy's: the file named after the name keeps it, wherever it is listed.
  const ownsName = (index: number) => names[index] !== undefined && [".ts", ".yaml"].some((ext) => sourceOf(index)?.endsWith(`/${names[index]}${ext}`) === true);
  names.forEach((name, index) => {
    if (name === undefined) return;
    if ((RESERVED_ENVIRONMENT_NAMES as readonly string[]).includes(name)) report(index, "name", name, `a name other than ${RESERVED_ENVIRONMENT_NAMES.join(", ")}: the Terraform Cloud workspaces' stack has it`);
    const others = names.map((_, other) => other).filter((other) => other !== index && names[other] === name);
    if (others.length === 0) return;
    const owner = others.find(ownsName) ?? (ownsName(index) ? undefined : others.find((other) => other < index));
    if (owner !== undefined) report(index, "name", name, `a name no other environment uses (${named(owner)} has it)`);
  });
  networks.forEach((ranges, index) =>
    ranges.forEach((range) => {
      const meets = (other: (typeof ranges)[number]) => range.cidr !== undefined && other.cidr !== undefined && cidrsOverlap(range.cidr, other.cidr);
      const overlapping = networks.slice(0, index).findIndex((others) => others.some(meets));
      if (overlapping < 0) return;
      const met = networks[overlapping].find(meets);
      report(index, range.path, range.text, `a range no other environment uses (${named(overlapping)} has ${met?.text}${met?.path === "network.cidr" ? "" : ` in ${met?.path}`})`);
    }),
  );
  accounts.forEach((used, index) =>
    used.forEach((account) => {
      if (account.id === undefined) return;
      const sharing = accounts.slice(0, index).findIndex((others) => others.some((other) => other.cloud === account.cloud && other.id === account.id && (other.terraformCloud || account.terraformCloud)));
      if (sharing < 0) return;
      const managed = accounts[sharing].some((other) => other.cloud === account.cloud && other.terraformCloud) ? sharing : index;
      report(index, account.path, account.id, `${account.noun} no other environment uses (${named(sharing)} is in it, and ${named(managed)} is deployed by Terraform Cloud, whose run identity ${account.reach})`);
    }),
  );
  // Metrics links agree on both sides: the sender names the hub, the hub lists the sender.
  // `null` is "not given", `undefined` is "refused by the schema" (then nothing is compared).
  const sendsTo = envs.map((env) => known(() => (env ? (env.metrics?.sendTo?.environment ?? null) : undefined)));
  const receives = envs.map((env) => known(() => (env ? (env.metrics?.receiveFrom ?? []).map((link) => known(() => link.environment)) : undefined)));
  const others = (index: number) => names.filter((n, i) => n !== undefined && i !== index).join(", ");
  sendsTo.forEach((hubName, index) => {
    if (hubName === undefined || hubName === null) return;
    const hub = names.indexOf(hubName);
    if (hub < 0) report(index, "metrics.sendTo.environment", hubName, `the name of another environment in environments/ (${others(index)})`);
    else if (receives[hub] !== undefined && !receives[hub]?.includes(names[index])) {
      report(index, "metrics.sendTo.environment", hubName, `a hub that lists ${names[index]} in metrics.receiveFrom (${named(hub)} does not: add { environment: "${names[index]}", passwordSecret: "..." } there)`);
    }
  });
  receives.forEach((senders, index) => {
    (senders ?? []).forEach((senderName, entry) => {
      if (senderName === undefined) return;
      const sender = names.indexOf(senderName);
      const path = `metrics.receiveFrom[${entry}].environment`;
      if (sender < 0) report(index, path, senderName, `the name of another environment in environments/ (${others(index)})`);
      else if (sendsTo[sender] !== undefined && sendsTo[sender] !== names[index]) {
        report(index, path, senderName, `an environment whose metrics.sendTo.environment is ${names[index]} (${named(sender)} ${sendsTo[sender] === null ? "sends to no hub" : `sends to ${sendsTo[sender]}`})`);
      }
    });
  });
  // One host name served by two environments: both external-dns controllers would fight over its
  // records and both would ask Let's Encrypt for its certificate.
  const hosts = envs.map((env) => known(() => (env?.apps ?? []).map((app, appIndex) => known(() => (app.host === undefined ? undefined : { host: app.host, appIndex })))));
  hosts.forEach((own, index) => {
    for (const entry of own ?? []) {
      if (entry === undefined) continue;
      const other = hosts.slice(0, index).findIndex((earlier) => (earlier ?? []).some((e) => e?.host === entry.host));
      if (other >= 0) report(index, `apps[${entry.appIndex}].host`, entry.host, `a host no other environment serves (${named(other)} has it)`);
    }
  });
}

/** Every spec problem of every environment, for one report. */
export class SpecErrors extends Error {
  constructor(readonly errors: readonly SpecError[]) {
    super(errors.map((error) => error.message).join("\n"));
    this.name = "SpecErrors";
  }
}

/** The host of the environment's `monitoring` app: its Grafana, and on a hub its metrics receiver. */
export function monitoringHost(env: Pick<Environment, "apps">): string | undefined {
  return env.apps.find((app) => app.name === "monitoring")?.host;
}

/** Where a sender's metrics go: the hub's name, its receiver host, and the link's password secret. */
export interface MetricsHubLink {
  readonly environment: string;
  /** The hub's monitoring host; its receiver is `https://<host>/api/v1/write`. */
  readonly host: string;
  readonly passwordSecret: string;
}

/**
 * The metrics links of one environment among all of them (valid specs: `parseEnvironments`
 * checked that both sides agree): the hub it sends to, and the environments it receives from.
 */
export function metricsLinks(env: Environment, all: readonly Environment[]): { hub?: MetricsHubLink; senders: Environment[] } {
  const sendTo = env.metrics?.sendTo;
  const hubEnv = sendTo && all.find((other) => other.name === sendTo.environment);
  if (sendTo && !hubEnv) throw new Error(`${env.name} sends metrics to ${sendTo.environment}, which is not among the environments given (the spec check should have caught this)`);
  const host = hubEnv && monitoringHost(hubEnv);
  if (sendTo && host === undefined) throw new Error(`hub ${sendTo.environment} has no monitoring host (the spec check should have caught this)`);
  const senders = (env.metrics?.receiveFrom ?? []).map((link) => {
    const sender = all.find((other) => other.name === link.environment);
    if (!sender) throw new Error(`${env.name} receives metrics from ${link.environment}, which is not among the environments given (the spec check should have caught this)`);
    return sender;
  });
  return { hub: sendTo && host !== undefined ? { environment: sendTo.environment, host, passwordSecret: sendTo.passwordSecret } : undefined, senders };
}
