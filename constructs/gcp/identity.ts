import { Construct } from "constructs";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { identitySubjects, WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
import type { IWorkloadIdentity } from "../core/interfaces";
import type { GcpCluster } from "./cluster";
import type { GcpContext } from "./context";

/** The annotation GKE Workload Identity reads to give a Kubernetes service account its GCP identity. */
export const WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account";

/**
 * Shorter account names for workloads whose name does not fit a service account id next to a
 * 16-character environment name (ids take at most 30 characters, so at most 13 after `<env>-`).
 */
const SHORT_ACCOUNT_NAMES: Partial<Readonly<Record<WorkloadName, string>>> = {
  "external-secrets": "ext-secrets",
  "monitoring-secrets": "mon-secrets",
  "sso-secrets": "sso-secrets",
  "dags-secrets": "dags-secrets",
};

/**
 * The Google service account id of a workload, `<env>-<workload>` (a shorter name where the
 * workload's does not fit). The apps stack derives the same email from it, so it must depend on
 * nothing but the environment and the workload.
 */
export function workloadAccountId(ctx: GcpContext, workload: WorkloadName): string {
  return ctx.serviceAccountId(SHORT_ACCOUNT_NAMES[workload] ?? workload);
}

/** The email of a workload's Google service account, `<account id>@<project>.iam.gserviceaccount.com`. */
export function workloadAccountEmail(ctx: GcpContext, workload: WorkloadName): string {
  return `${workloadAccountId(ctx, workload)}@${ctx.projectId}.iam.gserviceaccount.com`;
}

/**
 * The cloud identity of one workload (an app or an add-on): a Google service account
 * (`workloadAccountId`) that only the workload's Kubernetes service accounts can act as
 * (`roles/iam.workloadIdentityUser` for `serviceAccount:<project>.svc.id.goog[<namespace>/<name>]`,
 * one member per `identitySubjects` entry: its own account, and its app's untrusted account where
 * that needs the identity), with no keys and no project-wide roles. The first member keeps its
 * address; a further one is a new google_service_account_iam_member (a create, not a replacement
 * of the first). Access is added resource by resource, e.g. `bucket.grantReadWrite(identity)`.
 */
export class GcpWorkloadIdentity extends Construct implements IWorkloadIdentity {
  /** The Google service account the app acts as. */
  readonly googleServiceAccount: ServiceAccount;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  /** The IAM member string (`serviceAccount:<email>`) to grant this identity access with. */
  readonly member: string;

  constructor(scope: Construct, id: string, ctx: GcpContext, cluster: GcpCluster, readonly workload: WorkloadName) {
    super(scope, id);
    const needs = WORKLOAD_ACCOUNTS[workload];
    this.namespace = needs.namespace;
    this.serviceAccount = needs.serviceAccount;
    this.googleServiceAccount = new ServiceAccount(this, "Resource", {
      accountId: workloadAccountId(ctx, workload),
      displayName: `${ctx.env.name} ${workload}`,
      description: `${ctx.env.name}: used only by Kubernetes service account ${needs.namespace}/${needs.serviceAccount}`,
      dependsOn: ctx.apis.needed("iam", "iamCredentials"),
    });
    this.member = this.googleServiceAccount.member;
    identitySubjects(workload, ctx.env.cloud).forEach((subject, index) => {
      const serviceAccount = subject.slice(subject.lastIndexOf(":") + 1);
      new ServiceAccountIamMember(this, index === 0 ? "workload-identity-user" : `workload-identity-user-${serviceAccount}`, {
        serviceAccountId: this.googleServiceAccount.name,
        role: "roles/iam.workloadIdentityUser",
        member: `serviceAccount:${ctx.workloadPool}[${needs.namespace}/${serviceAccount}]`,
        // The project's identity pool exists once a cluster with Workload Identity does.
        dependsOn: [cluster.cluster],
      });
    });
    this.serviceAccountAnnotations = { [WORKLOAD_IDENTITY_ANNOTATION]: this.googleServiceAccount.email };
  }
}
