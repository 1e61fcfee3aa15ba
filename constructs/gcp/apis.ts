import { Construct } from "constructs";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";

/**
 * The Google APIs every infra stack enables, by the short name constructs ask for them with.
 * They are enabled together (some, such as monitoring, are used by GKE without any resource
 * here asking for them).
 */
export const GCP_APIS = {
  compute: "compute.googleapis.com",
  container: "container.googleapis.com",
  serviceNetworking: "servicenetworking.googleapis.com",
  sqlAdmin: "sqladmin.googleapis.com",
  secretManager: "secretmanager.googleapis.com",
  iam: "iam.googleapis.com",
  // Workload Identity exchanges Kubernetes tokens for service-account tokens through this API.
  iamCredentials: "iamcredentials.googleapis.com",
  // Project-level IAM bindings (the node service account's roles) go through this API.
  resourceManager: "cloudresourcemanager.googleapis.com",
  logging: "logging.googleapis.com",
  monitoring: "monitoring.googleapis.com",
  storage: "storage.googleapis.com",
  // Customer-managed keys: GKE's application-layer Secrets encryption.
  cloudKms: "cloudkms.googleapis.com",
  // The project's Binary Authorization policy, which the cluster evaluates (dry run).
  binaryAuthorization: "binaryauthorization.googleapis.com",
} as const;

/**
 * APIs only some environments use, enabled by the first resource that needs one: an
 * environment without `dns.zone` does not turn Cloud DNS on, one without a Terraform Cloud
 * trust does not turn the Security Token Service on.
 */
export const OPTIONAL_GCP_APIS = {
  dns: "dns.googleapis.com",
  // Exchanges Terraform Cloud's tokens for federated Google tokens (dynamic credentials).
  sts: "sts.googleapis.com",
} as const;

export type GcpApi = keyof typeof GCP_APIS | keyof typeof OPTIONAL_GCP_APIS;
const SERVICES: Readonly<Record<GcpApi, string>> = { ...GCP_APIS, ...OPTIONAL_GCP_APIS };

/** `sqlAdmin` → `sql-admin`: the construct id, and so the Terraform address, of an API. */
function apiId(api: GcpApi): string {
  return api.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/**
 * Enables the APIs the environment needs (`google_project_service`), so a fresh project works
 * on the first apply. `disable_on_destroy` is false: the project is shared with whatever else
 * runs in it, and disabling an API on destroy would break that.
 *
 * Nothing is enabled until a resource asks for an API (`needed()`): the `<env>-apps` stack
 * builds the same platform to read the infra stack's names, and must hold no infra resource.
 * With a cluster, the first request enables all of `GCP_APIS`; an `OPTIONAL_GCP_APIS` entry is
 * added on its own first request. Without one (`<env>-infra-gcp`, storage for another cloud's
 * cluster) only the APIs asked for are enabled: enabling Compute alone creates the project's
 * `default` network with SSH, RDP and ICMP open to the Internet (google 6.50.0
 * google/services/resourcemanager/resource_google_project.go, `auto_create_network`), which a
 * storage-only project must not get. Construct ids do not depend on the order of requests.
 */
export class GcpApis extends Construct {
  private readonly services = new Map<GcpApi, ProjectService>();

  constructor(
    scope: Construct,
    id: string,
    private readonly projectId: string,
    private readonly withCluster: boolean,
  ) {
    super(scope, id);
  }

  /** The enabled services, for `dependsOn` of the resources that call them. */
  needed(...apis: GcpApi[]): ProjectService[] {
    if (this.withCluster && this.services.size === 0) for (const api of Object.keys(GCP_APIS) as (keyof typeof GCP_APIS)[]) this.enable(api);
    return apis.map((api) => this.services.get(api) ?? this.enable(api));
  }

  private enable(api: GcpApi): ProjectService {
    const enabled = new ProjectService(this, apiId(api), { project: this.projectId, service: SERVICES[api], disableOnDestroy: false, disableDependentServices: false });
    this.services.set(api, enabled);
    return enabled;
  }
}
