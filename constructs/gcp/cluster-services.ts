import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktn";
import { DataGoogleClientConfig } from "@cdktf/provider-google/lib/data-google-client-config";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { DataGoogleSqlDatabaseInstances } from "@cdktf/provider-google/lib/data-google-sql-database-instances";
import type { AppBucket } from "../apps/types";
import type { WorkloadName } from "../core/apps";
import type { ClusterServices, ExternalDnsSetup, ForeignBucketServices, KubernetesConnection, PodNetwork, SecretRef, WorkloadBinding } from "../core/interfaces";
import { projectNumberCrossing, type Receive } from "../core/crossings";
import { clusterProviderName, planGcpAddresses } from "./facts";
import type { BucketSpec, DatabaseSpec, Environment } from "../core/spec";
import { gcsBucketName } from "./bucket";
import { gkeClusterLocation, gkeClusterName, GKE_SPOT_TAINT } from "./cluster";
import { GcpNaming, type GcpContext } from "./context";
import { adminSecretId, databaseLabels } from "./database";
import { WORKLOAD_IDENTITY_ANNOTATION, workloadAccountEmail } from "./identity";

/**
 * The GCP side of the apps stack. It adds data sources (and locals) only, never a managed
 * resource: the cluster is looked up by the name the infra stack gave it, each database's primary
 * by the labels the infra stack gave it (its name ends in a random suffix), service accounts and
 * buckets are addressed by deterministic names.
 *
 * The Kubernetes token is the access token of the run's own Google credentials
 * (`google_client_config`), so Terraform Cloud dynamic credentials work; it lives about an hour,
 * enough for a plan or an apply of the releases. Those credentials need
 * `container.clusters.get` and Kubernetes RBAC in the cluster (e.g. Kubernetes Engine Admin),
 * and the runner must reach the endpoint: with a private-only API (no
 * `cluster.publicAccessCidrs`) that means a Terraform Cloud agent inside the network.
 */
export class GcpClusterServices extends Construct implements ClusterServices {
  readonly connection: KubernetesConnection;
  readonly spotTaint = GKE_SPOT_TAINT;
  /** The private IP of each database's primary, by spec name. */
  private readonly databaseHosts = new Map<string, string>();

  /**
   * Cloud SQL takes its private addresses from the private service access range (network.ts).
   * Workload Identity Federation for GKE serves tokens from the GKE metadata server: with
   * NetworkPolicy, pods must reach 169.254.169.254/32 on 80 and, on Dataplane V2,
   * 169.254.169.252/32 on 988 (cloud.google.com/kubernetes-engine/docs/concepts/workload-identity,
   * "Restrictions" / network policy note).
   */
  get podNetwork(): PodNetwork {
    const range = planGcpAddresses(this.ctx.env).privateServices;
    return {
      databaseCidrs: [`${range.address}/${range.prefixLength}`],
      identityEndpoints: [
        { cidr: "169.254.169.254/32", port: 80 },
        { cidr: "169.254.169.252/32", port: 988 },
      ],
      privateEndpointCidrs: [],
    };
  }

  constructor(scope: Construct, id: string, private readonly ctx: GcpContext) {
    super(scope, id);
    const client = new DataGoogleClientConfig(this, "client-config", {});
    const cluster = new DataGoogleContainerCluster(this, "cluster", {
      name: gkeClusterName(ctx),
      location: gkeClusterLocation(ctx),
      project: ctx.projectId,
    });
    this.connection = {
      host: `https://${cluster.endpoint}`,
      clusterCaCertificate: Fn.base64decode(cluster.masterAuth.get(0).clusterCaCertificate),
      token: client.accessToken,
    };
  }

  /**
   * The private IP of the database's Cloud SQL primary (it has no public address and no DNS name).
   *
   * The instance's name ends in a random suffix the apps stack cannot derive, and reading it from
   * the infra stack's state would tie the two stacks (and workspaces) together. The apps stack
   * therefore lists the project's instances in the region (`google_sql_database_instances`, which
   * the run's Editor role may list) and picks the primary (`instance_type` CLOUD_SQL_INSTANCE, so
   * no read replica) whose user labels name this environment and database, as `GcpDatabase` sets
   * them, whether the name is generated or kept with `gcp.instanceName`. The provider has no
   * label filter (google v6.50.0, google/services/sql/data_source_sql_database_instances.go
   * filters by version, region, zone, tier and state only), so Terraform filters the list; a
   * postcondition stops the plan with the names found unless exactly one instance matches (none:
   * infra not applied yet; two: e.g. a clone that copied the labels). The region is compared
   * again in Terraform, so the choice does not rest on how the API's `region:` filter matches.
   *
   * Not chosen: publishing the name in a Secret Manager secret the infra stack writes. The run
   * identity would need `secretmanager.versions.access` on it, and a value read from a secret is
   * sensitive in Terraform, so every Helm release using the host would show its values as
   * "(sensitive value)" in plans. One data source and one local per database, however many
   * releases ask for it.
   */
  databaseHost(spec: DatabaseSpec): string {
    const known = this.databaseHosts.get(spec.name);
    if (known !== undefined) return known;
    const { projectId, region } = this.ctx;
    const labels = databaseLabels(this.ctx, spec);
    const labelled = Object.entries(labels)
      // try(): an instance without labels has null user_labels, one without the key no entry.
      .map(([key, value]) => `try(i.settings[0].user_labels["${key}"], "") == "${value}"`)
      .join(" && ");
    const primaries = (list: string, attribute: string) =>
      `[for i in ${list} : i.${attribute} if i.instance_type == "CLOUD_SQL_INSTANCE" && i.region == "${region}" && ${labelled}]`;
    const instances = new DataGoogleSqlDatabaseInstances(this, `database-${spec.name}`, {
      project: projectId,
      region,
      lifecycle: {
        postcondition: [
          {
            condition: `\${length(${primaries("self.instances", "name")}) == 1}`,
            errorMessage:
              `Database ${spec.name}: expected exactly one Cloud SQL primary in ${projectId} (${region}) labelled ` +
              `environment=${labels.environment}, database=${labels.database}, found \${jsonencode(${primaries("self.instances", "name")})}; ` +
              `apply ${this.ctx.env.name}-infra first, or remove the labels from the instance that is not this database's.`,
          },
        ],
      },
    });
    const host = new TerraformLocal(
      this,
      `database-${spec.name}-host`,
      `\${one(${primaries(`data.${instances.terraformResourceType}.${instances.friendlyUniqueId}.instances`, "private_ip_address")})}`,
    ).asString;
    this.databaseHosts.set(spec.name, host);
    return host;
  }

  bucket(spec: BucketSpec): AppBucket {
    return gcsAppBucket(this.ctx, spec);
  }

  /** GKE Workload Identity needs the annotation alone; pods need no label. */
  workloadBinding(workload: WorkloadName): WorkloadBinding {
    return { serviceAccountAnnotations: { [WORKLOAD_IDENTITY_ANNOTATION]: workloadAccountEmail(this.ctx, workload) }, podLabels: {} };
  }

  /**
   * Secret Manager of the environment's project. Without `auth`, External Secrets uses the
   * controller's own GKE Workload Identity (its service account is annotated through
   * `workloadBinding("external-secrets")`), so no key is ever stored.
   */
  secretStoreProvider(serviceAccount?: string): Record<string, unknown> {
    if (serviceAccount === undefined) return { gcpsm: { projectID: this.ctx.projectId } };
    // With a service account: the controller exchanges its token for the Google service account
    // its `iam.gke.io/gcp-service-account` annotation names, through this cluster's identity pool.
    const workloadIdentity = { clusterLocation: gkeClusterLocation(this.ctx), clusterName: gkeClusterName(this.ctx), clusterProjectID: this.ctx.projectId, serviceAccountRef: { name: serviceAccount } };
    return { gcpsm: { projectID: this.ctx.projectId, auth: { workloadIdentity } } };
  }

  /** The admin secret holds the JSON `{"username","password"}` (see `GcpDatabase`). */
  adminCredentials(spec: DatabaseSpec): { username: SecretRef; password: SecretRef } {
    const key = adminSecretId(this.ctx, spec);
    return { username: { key, property: "username" }, password: { key, property: "password" } };
  }

  /**
   * external-dns (chart 1.21.x) on Cloud DNS, authenticated by its own Workload Identity: only
   * public zones of the environment's project, only names inside `zoneName`, records it owns
   * marked with the environment name (so two environments sharing a zone never delete each
   * other's records) and removed again when their Ingress goes (`sync`).
   */
  externalDns(zoneName: string): ExternalDnsSetup {
    const values = {
      provider: { name: "google" },
      extraArgs: [`--google-project=${this.ctx.projectId}`, "--google-zone-visibility=public"],
      domainFilters: [zoneName],
      policy: "sync",
      txtOwnerId: this.ctx.env.name,
    };
    return { values, configMaps: {} };
  }
}

/** A Cloud Storage bucket as apps see it, by the name `GcpBucket` gives it. */
function gcsAppBucket(naming: GcpNaming, spec: BucketSpec): AppBucket {
  const name = gcsBucketName(naming, spec);
  return { cloud: "gcp", url: `gs://${name}`, name, region: naming.region };
}

/** Where the pods of a cluster on another cloud find their token and credential configuration. */
const FEDERATION_DIR = "/var/run/secrets/gcp/workload-identity";
const CREDENTIAL_CONFIGURATION = "credential-configuration.json";

/**
 * Cloud Storage buckets of an environment whose cluster runs on another cloud (EKS or AKS), as its
 * apps reach them through workload identity federation, no key (`GcpClusterTrust`):
 * - a projected service-account token whose audience is the provider's full name with `https:`,
 *   one of the two the provider accepts without `allowed_audiences`, for 3600 s (Google's STS
 *   takes tokens of up to 48 h);
 * - an `external_account` credential configuration beside it (google-auth 2.48.0
 *   `identity_pool.py`: a file source in `text` format; `external_account.py`: the STS audience
 *   `//iam.googleapis.com/...providers/<id>`, the subject token type JWT, STS's token URL), with
 *   no service account impersonation: the principals themselves hold the bucket's role;
 * - `GOOGLE_APPLICATION_CREDENTIALS` naming it, which `google.auth.default()` (Airflow's GCS hook
 *   without a key) reads, and `GOOGLE_CLOUD_PROJECT`, which it takes the project from first
 *   (`_default.py`): the principals may not look the project up themselves.
 * The project number crosses from `<env>-infra-gcp` (`projectNumberCrossing`).
 */
export function gcpForeignBuckets(env: Environment, receive: Receive): ForeignBucketServices {
  const naming = new GcpNaming(env);
  const provider = clusterProviderName(env, receive(projectNumberCrossing()));
  const configuration = {
    type: "external_account",
    audience: `//${provider}`,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    token_url: "https://sts.googleapis.com/v1/token",
    credential_source: { file: `${FEDERATION_DIR}/token`, format: { type: "text" } },
  };
  return {
    bucket: (spec) => gcsAppBucket(naming, spec),
    credentials: () => ({
      env: { GOOGLE_APPLICATION_CREDENTIALS: `${FEDERATION_DIR}/${CREDENTIAL_CONFIGURATION}`, GOOGLE_CLOUD_PROJECT: naming.projectId },
      token: { audience: `https://${provider}`, mountPath: FEDERATION_DIR, fileName: "token", expirationSeconds: 3600 },
      files: { [CREDENTIAL_CONFIGURATION]: JSON.stringify(configuration) },
    }),
  };
}
