import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DataGoogleClientConfig } from "@cdktf/provider-google/lib/data-google-client-config";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { DataGoogleSqlDatabaseInstance } from "@cdktf/provider-google/lib/data-google-sql-database-instance";
import type { AppBucket } from "../apps/types";
import type { WorkloadName } from "../core/apps";
import type { ClusterServices, ExternalDnsSetup, KubernetesConnection, SecretRef, WorkloadBinding } from "../core/interfaces";
import type { BucketSpec, DatabaseSpec } from "../core/spec";
import { gcsBucketName } from "./bucket";
import { gkeClusterLocation, gkeClusterName, GKE_SPOT_TAINT } from "./cluster";
import type { GcpContext } from "./context";
import { adminSecretId, cloudSqlInstanceName } from "./database";
import { WORKLOAD_IDENTITY_ANNOTATION, workloadAccountEmail } from "./identity";

/**
 * The GCP side of the apps stack. It adds data sources only, never a managed resource: the
 * cluster and databases are looked up by the names the infra stack gave them, service accounts
 * and buckets are addressed by those same deterministic names.
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
  private readonly databases = new Map<string, DataGoogleSqlDatabaseInstance>();

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

  /** One data source per database, however many releases ask for it. */
  private database(spec: DatabaseSpec): DataGoogleSqlDatabaseInstance {
    let found = this.databases.get(spec.name);
    if (!found) {
      found = new DataGoogleSqlDatabaseInstance(this, `database-${spec.name}`, { name: cloudSqlInstanceName(this.ctx, spec), project: this.ctx.projectId });
      this.databases.set(spec.name, found);
    }
    return found;
  }

  /** The private IP of the Cloud SQL primary (it has no public address and no DNS name). */
  databaseHost(spec: DatabaseSpec): string {
    return this.database(spec).privateIpAddress;
  }

  bucket(spec: BucketSpec): AppBucket {
    const name = gcsBucketName(this.ctx, spec);
    return { cloud: "gcp", url: `gs://${name}`, name, region: this.ctx.region };
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
  secretStoreProvider(): Record<string, unknown> {
    return { gcpsm: { projectID: this.ctx.projectId } };
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
