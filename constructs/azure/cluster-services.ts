import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DataAzurermKubernetesCluster } from "@cdktf/provider-azurerm/lib/data-azurerm-kubernetes-cluster";
import { DataAzurermUserAssignedIdentity } from "@cdktf/provider-azurerm/lib/data-azurerm-user-assigned-identity";
import type { AppBucket } from "../apps/types";
import type { WorkloadName } from "../core/apps";
import type { ClusterServices, ExternalDnsSetup, KubernetesConnection, SecretRef, WorkloadBinding } from "../core/interfaces";
import type { BucketSpec, DatabaseSpec } from "../core/spec";
import { containerName, containerUrl } from "./bucket";
import { aksClusterName, AKS_SPOT_TAINT } from "./cluster";
import type { AzureContext } from "./context";
import { adminSecretName, POSTGRES_ADMIN_LOGIN, postgresHost } from "./database";
import { dnsResourceGroupName } from "./dns";
import { workloadIdentityName } from "./identity";

/**
 * The Entra ID application id of the AKS AAD server: the audience of every token for an AKS API
 * server with Entra ID authentication, the same in every tenant.
 */
export const AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

/** The ConfigMap holding external-dns's `azure.json`, in the external-dns namespace. */
export const EXTERNAL_DNS_CONFIG_MAP = "external-dns-azure";

/**
 * external-dns's Azure provider configuration (`azure.json`): the zone's subscription and resource
 * group, and workload identity for credentials (the client id comes from the service account's
 * annotation through the webhook). No secret is in it, hence a ConfigMap rather than a Secret.
 */
export function externalDnsAzureJson(ctx: AzureContext): string {
  return JSON.stringify(
    { tenantId: ctx.tenantId, subscriptionId: ctx.subscriptionId, resourceGroup: dnsResourceGroupName(ctx), useWorkloadIdentityExtension: true },
    null,
    2,
  );
}

/**
 * The Azure side of the `<env>-apps` stack. Nothing here is a resource: the cluster and the
 * identities' client ids are read with data sources, everything else is derived from the names the
 * infra stack gave things (the same naming functions), so the two stacks share no state.
 *
 * Connection: AKS runs with local accounts disabled (no static admin kubeconfig), so the
 * `kubernetes` and `helm` providers authenticate with Entra ID through the `kubelogin` exec plugin
 * (`get-token --login azurecli`), reusing the run's Azure CLI login. Who can: members of
 * `cluster.azure.adminGroupObjectIds` (cluster-admin through AKS) and the Terraform Cloud run
 * identity ("Azure Kubernetes Service RBAC Cluster Admin", see `AzureCluster.grantClusterAdmin`).
 * Known limit: the machine running Terraform needs `kubelogin` on its PATH, which Terraform Cloud's
 * hosted runners lack, so the apps stack runs on a custom agent. There the run identity needs no
 * `az` login: kubelogin reads `AAD_LOGIN_METHOD` after its flags and lets it override `--login`
 * (Azure/kubelogin v0.2.19, pkg/internal/token/options.go `UpdateFromEnv`, called by
 * pkg/cmd/token.go), so the agent sets `AAD_LOGIN_METHOD=workloadidentity` with `AZURE_CLIENT_ID`,
 * `AZURE_TENANT_ID` and `AZURE_FEDERATED_TOKEN_FILE` pointing at the run's workload identity token.
 * With a private cluster (`cluster.azure.privateCluster`, the default) the runner must also reach
 * the VNet.
 */
export class AzureClusterServices extends Construct implements ClusterServices {
  readonly connection: KubernetesConnection;
  readonly spotTaint = AKS_SPOT_TAINT;
  private readonly identities = new Map<WorkloadName, DataAzurermUserAssignedIdentity>();

  /** `ctx` must carry the literal resource group name (`resourceGroupNameOf`), not a reference. */
  constructor(
    scope: Construct,
    id: string,
    private readonly ctx: AzureContext,
  ) {
    super(scope, id);
    const cluster = new DataAzurermKubernetesCluster(this, "cluster", { name: aksClusterName(ctx), resourceGroupName: ctx.resourceGroupName });
    // With Entra ID on, kube_config carries the endpoint and CA but no client credential.
    const kubeConfig = cluster.kubeConfig.get(0);
    this.connection = {
      host: kubeConfig.host,
      clusterCaCertificate: Fn.base64decode(kubeConfig.clusterCaCertificate),
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "kubelogin",
        args: ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID],
      },
    };
  }

  /** The server's public-form FQDN; inside the VNet it resolves to the private address. */
  databaseHost(spec: DatabaseSpec): string {
    return postgresHost(this.ctx, spec);
  }

  bucket(spec: BucketSpec): AppBucket {
    const name = containerName(this.ctx, spec);
    return { cloud: "azure", url: containerUrl(this.ctx, name), name, storageAccount: this.ctx.storageAccountName };
  }

  /** The identity's client id (read by name), and the label the workload identity webhook acts on. */
  workloadBinding(workload: WorkloadName): WorkloadBinding {
    let identity = this.identities.get(workload);
    if (!identity) {
      identity = new DataAzurermUserAssignedIdentity(this, `identity-${workload}`, {
        name: workloadIdentityName(this.ctx, workload),
        resourceGroupName: this.ctx.resourceGroupName,
      });
      this.identities.set(workload, identity);
    }
    return {
      serviceAccountAnnotations: { "azure.workload.identity/client-id": identity.clientId },
      podLabels: { "azure.workload.identity/use": "true" },
    };
  }

  /**
   * External Secrets (v1 API) `azurekv` provider for the environment's key vault, authenticated with
   * workload identity. No `serviceAccountRef`: the controller's own service account carries the
   * external-secrets identity's annotation, and that identity can read only the secrets it was
   * granted (`grantAdminSecretRead`). The vault is reached through its private endpoint.
   */
  secretStoreProvider(): Record<string, unknown> {
    return { azurekv: { authType: "WorkloadIdentity", vaultUrl: `https://${this.ctx.keyVaultName}.vault.azure.net`, tenantId: this.ctx.tenantId } };
  }

  /** The login is a fixed literal; the password is the Key Vault secret the infra stack generated. */
  adminCredentials(spec: DatabaseSpec): { username: string; password: SecretRef } {
    return { username: POSTGRES_ADMIN_LOGIN, password: { key: adminSecretName(this.ctx, spec) } };
  }

  /**
   * external-dns chart 1.21 values for Azure DNS with workload identity, writing only in the
   * environment's zone (`sync`: it also deletes the records it owns, marked with the environment's
   * TXT owner id). The Azure provider reads its configuration from `/etc/kubernetes/azure.json`,
   * mounted from the ConfigMap `external-dns-azure`, which the apps stack creates.
   */
  externalDns(zoneName: string): ExternalDnsSetup {
    const values = {
      provider: { name: "azure" },
      domainFilters: [zoneName],
      policy: "sync",
      txtOwnerId: this.ctx.env.name,
      podLabels: { "azure.workload.identity/use": "true" },
      extraVolumes: [{ name: "azure-config", configMap: { name: EXTERNAL_DNS_CONFIG_MAP } }],
      extraVolumeMounts: [{ name: "azure-config", mountPath: "/etc/kubernetes", readOnly: true }],
    };
    return { values, configMaps: { [EXTERNAL_DNS_CONFIG_MAP]: { "azure.json": externalDnsAzureJson(this.ctx) } } };
  }
}
