/**
 * A team's DAGs and images (`apps[].dags`, `apps[].image`; README, "Your DAGs and images").
 *
 * DAGs reach Airflow one of two ways:
 * - git-sync (`dags.gitSync`): the Airflow chart 1.19.0 runs git-sync v4.4.2 (its pinned
 *   `images.gitSync`, values.yaml L124-127) as an init container and a sidecar of the DAG
 *   processor and the triggerer, and as an init container of every task pod (apache/airflow
 *   f17d6ffb chart/templates/dag-processor/dag-processor-deployment.yaml L144-145 and L198-199,
 *   triggerer/triggerer-deployment.yaml L167-168 and L230-231, files/pod-template-file.kubernetes-
 *   helm-yaml L50-51; the scheduler only without a DAG processor, scheduler-deployment.yaml L36).
 *   The credential comes from the cloud secret store through an External Secrets store of its own
 *   in the airflow namespace (identity `dags-secrets`), never through the spec or Terraform.
 * - the team's image (`dags.image: true`): the DAGs are in the image's `dags/` folder, so no
 *   git-sync and no DAG volume.
 *
 * The chart's git-sync container (chart/templates/_helpers.yaml L227-353, `git_sync_container`)
 * reads the HTTPS credential from `credentialsSecret` under four keys, each a required
 * secretKeyRef (L258-279: GIT_SYNC_USERNAME, GITSYNC_USERNAME, GIT_SYNC_PASSWORD,
 * GITSYNC_PASSWORD), and the SSH key from `sshKeySecret` key `gitSshKey` (L335-339, volume
 * L219-225), the host keys from `knownHosts` (configmaps/configmap.yaml L66-68). Its security
 * context is `securityContexts.container`, else `securityContext`, else `runAsUser: uid`
 * (localContainerSecurityContext, L986-994): the default would fail Pod Security `restricted`
 * (no allowPrivilegeEscalation false, no capabilities drop), so the platform sets it.
 */
import type { ClusterServices } from "../core/interfaces";
import { gitSyncTransport, type AppSpec } from "../core/spec";
import type { Manifest } from "./helm";
import { workloadExternalSecretManifests } from "./wiring";
import { restrictedContainerSecurityContext } from "./common";

/** The Secret in the airflow namespace holding the git credential, as the chart reads it. */
export const GIT_CREDENTIALS_SECRET = "airflow-git-credentials";
/** How often the credential is read again from the cloud: a rotated token arrives within this. */
const CREDENTIAL_REFRESH = "15m";

/** git-sync's user (chart 1.19.0 values.yaml `dags.gitSync.uid`: 65533, the image's `git-sync` user). */
const GIT_SYNC_UID = 65533;

/** The keys the chart's git-sync container reads from `credentialsSecret` (HTTPS), for git-sync v3 and v4 names. */
const HTTPS_KEYS = { username: ["GIT_SYNC_USERNAME", "GITSYNC_USERNAME"], password: ["GIT_SYNC_PASSWORD", "GITSYNC_PASSWORD"] } as const;
/** The key the chart mounts as the SSH private key (`git_sync_ssh_key_volume`, subPath gitSshKey). */
const SSH_KEY = "gitSshKey";

/** A chart's `{ repository, tag }` for the team's image: `tag@digest` pins the digest where the chart joins `repository:tag`. */
export function imageValues(image: NonNullable<AppSpec["image"]>): { repository: string; tag: string } {
  return { repository: image.repository, tag: image.digest === undefined ? image.tag : `${image.tag}@${image.digest}` };
}

/**
 * Airflow values for the app's DAGs and image. With the team's image, Airflow's own pods
 * (`images.airflow`) and the task pods (`images.pod_template`, which the pod template reads
 * instead: pod-template-file.kubernetes-helm-yaml L118, `pod_template_image`, _helpers.yaml
 * L367-369) run it. Empty without either, so the default output is unchanged.
 */
export function airflowDagsValues(spec: AppSpec | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (spec?.image) {
    const image = imageValues(spec.image);
    values.images = { airflow: image, pod_template: image };
  }
  const sync = spec?.dags?.gitSync;
  if (sync) {
    const ssh = gitSyncTransport(sync.repository).protocol === "ssh";
    const credential = sync.credentialSecret === undefined ? {} : ssh ? { sshKeySecret: GIT_CREDENTIALS_SECRET } : { credentialsSecret: GIT_CREDENTIALS_SECRET };
    values.dags = {
      persistence: { enabled: false },
      gitSync: {
        enabled: true,
        repo: sync.repository,
        // The chart renders GITSYNC_REF (`ref`) and the deprecated GIT_SYNC_BRANCH (`branch`,
        // default v2-2-stable) and GIT_SYNC_REV (`rev`, default HEAD) side by side, and git-sync
        // v4.4.2 lets the deprecated ones win (kubernetes/git-sync v4.4.2 main.go L421-432: a
        // branch with rev "" or HEAD replaces --ref; a branch and another rev is a fatal
        // config error). So the target goes to `branch` too, and `rev` stays HEAD.
        ref: sync.ref ?? sync.rev,
        branch: sync.ref ?? sync.rev,
        rev: "HEAD",
        subPath: sync.subPath ?? "",
        ...credential,
        ...(sync.knownHosts === undefined ? {} : { knownHosts: sync.knownHosts }),
        // Group 0, Airflow's (the pod's runAsGroup and fsGroup): the checkout stays readable by uid 50000.
        securityContexts: { container: restrictedContainerSecurityContext(GIT_SYNC_UID, 0) },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
      },
    };
  }
  return values;
}

/**
 * The airflow namespace's store for the git credential (its own service account and cloud
 * identity, `dags-secrets`, which may read that one secret) and the ExternalSecret that writes the
 * Secret the chart reads: for HTTPS the cloud secret is JSON `{"username", "password"}` and each
 * property goes to the chart's two key names; for SSH the secret is the private key.
 */
export function dagCredentialManifests(services: ClusterServices, spec: AppSpec | undefined): Manifest[] {
  const sync = spec?.dags?.gitSync;
  if (sync?.credentialSecret === undefined) return [];
  const key = sync.credentialSecret;
  const ssh = gitSyncTransport(sync.repository).protocol === "ssh";
  const data = ssh
    ? [{ secretKey: SSH_KEY, remoteRef: { key } }]
    : (Object.entries(HTTPS_KEYS) as [keyof typeof HTTPS_KEYS, readonly string[]][]).flatMap(([property, names]) => names.map((secretKey) => ({ secretKey, remoteRef: { key, property } })));
  return workloadExternalSecretManifests(services, "dags-secrets", { name: GIT_CREDENTIALS_SECRET, refreshInterval: CREDENTIAL_REFRESH, data });
}
