import { Construct } from "constructs";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import type { DataGoogleProject } from "@cdktf/provider-google/lib/data-google-project";
import { identitySubjects, WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
import { projectNumberCrossing } from "../core/crossings";
import type { IWorkloadIdentity } from "../core/interfaces";
import { appsWithBucketsOn } from "../core/spec";
import type { GcpCluster } from "./cluster";
import type { GcpContext } from "./context";
import { clusterPoolId, clusterProviderId } from "./facts";

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
  /** `member` alone: what `GcpBucket` grants (see `GcpFederatedIdentity.members`). */
  readonly members: readonly string[];

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
    this.members = [this.member];
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

/**
 * The environment's cluster on another cloud (EKS or AKS), as Google's token exchange trusts it
 * (docs/design/cross-cloud.md, "Identity across clouds"): a workload identity pool
 * (`clusterPoolId`) with one OIDC provider for the cluster's issuer, received from `<env>-infra`.
 * - `google.subject` is the token's `sub`, `system:serviceaccount:<ns>:<sa>`, which Google takes
 *   up to 127 bytes (the apps' subjects are far shorter; the test checks them);
 * - the attribute condition admits only the service accounts of the apps with a bucket here, so
 *   no other pod of that cluster can exchange a token, whatever IAM grants later;
 * - no `allowed_audiences`: Google then accepts only the provider's own full name, with or
 *   without `https:` (google 6.50.0 `resource_iam_workload_identity_pool_provider.go`), which is
 *   the audience the pods' projected token asks for (`gcpForeignBuckets`);
 * - the keys are fetched from the issuer's discovery document: EKS and AKS serve it publicly.
 * Pool and provider ids are ForceNew; issuer, mapping and condition update in place (ibid.,
 * `updateMask`). Creating them needs `roles/iam.workloadIdentityPoolAdmin`, which is why this
 * stack is applied with the project owner's credentials, not a Terraform Cloud run (yet).
 */
export class GcpClusterTrust extends Construct {
  readonly pool: IamWorkloadIdentityPool;
  readonly provider: IamWorkloadIdentityPoolProvider;

  constructor(scope: Construct, id: string, ctx: GcpContext, issuer: string) {
    super(scope, id);
    const env = ctx.env;
    const subjects = appsWithBucketsOn(env, "gcp").flatMap(({ app }) => identitySubjects(app.name, env.cloud));
    this.pool = new IamWorkloadIdentityPool(this, "pool", {
      workloadIdentityPoolId: clusterPoolId(env),
      displayName: `${env.name} ${env.cloud} cluster`.slice(0, 32),
      description: `${env.name}: the apps of the environment's ${env.cloud} cluster`,
      dependsOn: ctx.apis.needed("iam", "sts"),
    });
    this.provider = new IamWorkloadIdentityPoolProvider(this, "oidc-provider", {
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: clusterProviderId(env),
      displayName: `${env.cloud} cluster`,
      description: `${env.name}: service-account tokens of the ${env.cloud} cluster's apps`,
      oidc: { issuerUri: issuer },
      attributeMapping: { "google.subject": "assertion.sub" },
      attributeCondition: `assertion.sub in [${subjects.map((subject) => JSON.stringify(subject)).join(", ")}]`,
    });
  }
}

/**
 * The identity of one app on the environment's cluster on another cloud: no Google service
 * account, the pool's principals themselves (`principal://iam.googleapis.com/<pool name>/subject/
 * <subject>`, Google "Principal identifiers"), one per `identitySubjects` entry, granted access
 * resource by resource as a service account would be. The pool's name carries the project
 * number, which the pods need too (`crossingValues`).
 */
export class GcpFederatedIdentity extends Construct implements IWorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly serviceAccountAnnotations: Readonly<Record<string, string>> = {};
  readonly members: readonly string[];
  readonly crossingValues: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, ctx: GcpContext, trust: GcpClusterTrust, project: DataGoogleProject, readonly workload: WorkloadName) {
    super(scope, id);
    const needs = WORKLOAD_ACCOUNTS[workload];
    this.namespace = needs.namespace;
    this.serviceAccount = needs.serviceAccount;
    this.members = identitySubjects(workload, ctx.env.cloud).map((subject) => `principal://iam.googleapis.com/${trust.pool.name}/subject/${subject}`);
    this.crossingValues = { [projectNumberCrossing().name]: project.number };
  }
}
