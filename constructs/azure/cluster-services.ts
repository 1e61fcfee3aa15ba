import { Construct } from "constructs";
import { Fn, Op, TerraformStack, TerraformVariable, Token } from "cdktn";
import { DataAzurermKubernetesCluster } from "@cdktf/provider-azurerm/lib/data-azurerm-kubernetes-cluster";
import { DataAzurermUserAssignedIdentity } from "@cdktf/provider-azurerm/lib/data-azurerm-user-assigned-identity";
import type { AppBucket } from "../apps/types";
import type { WorkloadName } from "../core/apps";
import { planSubnets } from "../core/network-plan";
import type { ClusterServices, ForeignBucketServices, PodNetwork, ExternalDnsSetup, KubernetesConnection, SecretRef, WorkloadBinding } from "../core/interfaces";
import { identityClientIdCrossing, type Receive } from "../core/crossings";
import type { BucketSpec, DatabaseSpec, Environment } from "../core/spec";
import { containerName, containerUrl } from "./bucket";
import { aksClusterName, AKS_SPOT_TAINT } from "./cluster";
import { AzureContext, resourceGroupNameOf } from "./context";
import { adminSecretName, POSTGRES_ADMIN_LOGIN, postgresHost } from "./database";
import { dnsResourceGroupName } from "./dns";
import { WORKLOAD_IDENTITY_AUDIENCE, workloadIdentityName } from "./identity";

/**
 * The Entra ID application id of the AKS AAD server: the audience of every token for an AKS API
 * server with Entra ID authentication, the same in every tenant.
 */
export const AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

/**
 * The Terraform variable HCP Terraform fills with the paths of the run's Azure dynamic credentials
 * (HashiCorp, "Use dynamic credentials with the Azure provider", "Required Terraform Variable":
 * `tfc_azure_dynamic_credentials`, `default.client_id_file_path` and
 * `default.oidc_token_file_path`, agents 1.12.0 or newer). Declared with the documented type; null
 * (its default) wherever it is not filled, i.e. when a person runs the stack.
 */
export const DYNAMIC_CREDENTIALS_VARIABLE = "tfc_azure_dynamic_credentials";
const DYNAMIC_CREDENTIALS_TYPE =
  "object({default = object({client_id_file_path = string, oidc_token_file_path = string}), aliases = map(object({client_id_file_path = string, oidc_token_file_path = string}))})";

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
 * (Azure/kubelogin v0.2.19, `get-token`). Who can: members of `cluster.azure.adminGroupObjectIds`
 * (cluster-admin through AKS) and the Terraform Cloud run identity ("Azure Kubernetes Service RBAC
 * Cluster Admin", see `AzureCluster.grantClusterAdmin`). The login depends on who runs:
 * - a Terraform Cloud run (on the environment's agents, `AzureTerraformCloudAgent`, which put a
 *   pinned kubelogin on the runs' PATH): `tfc_azure_dynamic_credentials` is filled, and kubelogin
 *   signs in as the run identity with `--login workloadidentity`, the run's own workload identity
 *   token file (`--federated-token-file`, the path HCP Terraform gives the azurerm provider), that
 *   identity's client id (read from `client_id_file_path`) and the tenant. kubelogin exchanges the
 *   token with Entra ID (pkg/internal/token/workloadidentitycredential.go: client id, tenant id and
 *   token file are required) for the AKS server application's audience. The token's audience is
 *   `api://AzureADTokenExchange` and its subject the run phase, both of which the run identity's
 *   federated credentials trust (`AzureTerraformCloudTrust`). `--disable-environment-override`
 *   makes the flags final (pkg/internal/token/options.go `UpdateFromEnv` otherwise lets
 *   `AAD_LOGIN_METHOD`, `AZURE_CLIENT_ID` and others replace them).
 * - a person (variable null): `--login azurecli`, reusing their `az login`.
 * Exec plugins get literal arguments only, so the paths come from the variable, evaluated by
 * Terraform, not from the run's environment. With a private cluster (`cluster.azure.privateCluster`,
 * the default) the runner must also reach the VNet: the agents do.
 */
export class AzureClusterServices extends Construct implements ClusterServices {
  readonly connection: KubernetesConnection;
  readonly spotTaint = AKS_SPOT_TAINT;
  private readonly identities = new Map<WorkloadName, DataAzurermUserAssignedIdentity>();

  /** `ctx` must carry the literal resource group name (`resourceGroupNameOf`), not a reference. */
  /**
   * Flexible servers live in the VNet's delegated `postgres` subnet, zone 0's database range of
   * the plan (network.ts). Workload identity exchanges its projected token at Entra ID over HTTPS.
   */
  get podNetwork(): PodNetwork {
    const [zone] = planSubnets(this.ctx.env.network.cidr, this.ctx.env.network.zones);
    // The storage account's and Key Vault's private endpoints sit in the `private-endpoints`
    // subnet, zone 0's public range (network.ts); their public access is off.
    return { databaseCidrs: [zone.database], identityEndpoints: [], privateEndpointCidrs: [zone.public] };
  }

  constructor(
    scope: Construct,
    id: string,
    private readonly ctx: AzureContext,
  ) {
    super(scope, id);
    const cluster = new DataAzurermKubernetesCluster(this, "cluster", { name: aksClusterName(ctx), resourceGroupName: ctx.resourceGroupName });
    // With Entra ID on, kube_config carries the endpoint and CA but no client credential.
    const kubeConfig = cluster.kubeConfig.get(0);
    const credentials = new TerraformVariable(TerraformStack.of(this), DYNAMIC_CREDENTIALS_VARIABLE, {
      type: DYNAMIC_CREDENTIALS_TYPE,
      default: Token.nullValue(),
      nullable: true,
      description: "Filled by HCP Terraform with the run's Azure dynamic credential files; null when a person runs the stack",
    });
    credentials.overrideLogicalId(DYNAMIC_CREDENTIALS_VARIABLE);
    const byPerson = ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID];
    const byRun = [
      "get-token",
      "--login",
      "workloadidentity",
      "--server-id",
      AKS_AAD_SERVER_ID,
      "--client-id",
      Fn.trimspace(Fn.file(Fn.lookupNested(credentials.value, ["default", "client_id_file_path"]))),
      "--tenant-id",
      ctx.tenantId,
      "--federated-token-file",
      Token.asString(Fn.lookupNested(credentials.value, ["default", "oidc_token_file_path"])),
      "--disable-environment-override",
    ];
    this.connection = {
      host: kubeConfig.host,
      clusterCaCertificate: Fn.base64decode(kubeConfig.clusterCaCertificate),
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "kubelogin",
        // tolist(): one list(string) type for both branches, and an expression that starts with a function.
        args: Fn.tolist(Fn.conditional(Op.eq(credentials.value, Token.nullValue()), byPerson, byRun)),
      },
    };
  }

  /** The server's public-form FQDN; inside the VNet it resolves to the private address. */
  databaseHost(spec: DatabaseSpec): string {
    return postgresHost(this.ctx, spec);
  }

  bucket(spec: BucketSpec): AppBucket {
    return azureAppBucket(this.ctx, spec);
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
  secretStoreProvider(serviceAccount?: string): Record<string, unknown> {
    // With `serviceAccountRef` the controller exchanges a token of that service account for the
    // managed identity its `azure.workload.identity/client-id` annotation names.
    const account = serviceAccount === undefined ? {} : { serviceAccountRef: { name: serviceAccount } };
    return { azurekv: { authType: "WorkloadIdentity", vaultUrl: `https://${this.ctx.keyVaultName}.vault.azure.net`, tenantId: this.ctx.tenantId, ...account } };
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

/** A container of the environment's storage account as apps see it, by the names `AzureBucket` gives. */
function azureAppBucket(ctx: AzureContext, spec: BucketSpec): AppBucket {
  const name = containerName(ctx, spec);
  return { cloud: "azure", url: containerUrl(ctx, name), name, storageAccount: ctx.storageAccountName };
}

/**
 * Where the pods' projected token goes: what the Azure workload identity webhook would mount
 * (azure-workload-identity v1.6.0 pkg/webhook/consts.go: `VolumeMountPath` /var/run/secrets/azure/wi,
 * `TokenFilePath` token/azure-identity-token).
 */
const FEDERATED_TOKEN_DIR = "/var/run/secrets/azure/wi";
const FEDERATED_TOKEN_FILE = "token/azure-identity-token";

/**
 * Containers of an environment whose cluster runs on another cloud, as its apps reach them: the
 * names `AzureBucket` gives, and what the Azure workload identity webhook puts in the pods on AKS
 * (azure-workload-identity v1.6.0 pkg/webhook/webhook.go: `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
 * `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST` of the public cloud, a token with audience
 * `api://AzureADTokenExchange` for `DefaultServiceAccountTokenExpiration` 3600 s), which
 * azure-identity's `WorkloadIdentityCredential` (first in `DefaultAzureCredential`'s chain after
 * the environment's secrets) reads. The client id is generated with the identity in
 * `<env>-infra-azure` and received here (`identityClientIdCrossing`).
 */
export function azureForeignBuckets(env: Environment, receive: Receive): ForeignBucketServices {
  const ctx = new AzureContext(env, resourceGroupNameOf(env));
  return {
    bucket: (spec) => azureAppBucket(ctx, spec),
    credentials: (workload) => ({
      env: {
        AZURE_CLIENT_ID: receive(identityClientIdCrossing("azure", workload)),
        AZURE_TENANT_ID: ctx.tenantId,
        AZURE_FEDERATED_TOKEN_FILE: `${FEDERATED_TOKEN_DIR}/${FEDERATED_TOKEN_FILE}`,
        AZURE_AUTHORITY_HOST: "https://login.microsoftonline.com/",
      },
      token: { audience: WORKLOAD_IDENTITY_AUDIENCE, mountPath: FEDERATED_TOKEN_DIR, fileName: FEDERATED_TOKEN_FILE, expirationSeconds: 3600 },
    }),
  };
}
