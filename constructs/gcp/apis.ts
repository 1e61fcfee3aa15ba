import { Construct } from "constructs";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";

/** The Google APIs the platform calls, by the short name constructs ask for them with. */
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
} as const;
export type GcpApi = keyof typeof GCP_APIS;

/**
 * Enables the APIs the environment needs (`google_project_service`), so a fresh project works
 * on the first apply. `disable_on_destroy` is false: the project is shared with whatever else
 * runs in it, and disabling an API on destroy would break that.
 */
export class GcpApis extends Construct {
  private readonly services: Readonly<Record<GcpApi, ProjectService>>;

  constructor(scope: Construct, id: string, projectId: string) {
    super(scope, id);
    const entries = Object.entries(GCP_APIS).map(([api, service]) => [
      api,
      new ProjectService(this, api.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`), { project: projectId, service, disableOnDestroy: false, disableDependentServices: false }),
    ]);
    this.services = Object.fromEntries(entries) as Record<GcpApi, ProjectService>;
  }

  /** The enabled services, for `dependsOn` of the resources that call them. */
  needed(...apis: GcpApi[]): ProjectService[] {
    return apis.map((api) => this.services[api]);
  }
}
