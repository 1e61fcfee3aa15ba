import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktn";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { FederatedIdentityCredential } from "@cdktf/provider-azurerm/lib/federated-identity-credential";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { identitySubjects, WORKLOAD_ACCOUNTS, type WorkloadName } from "../core/apps";
import { identityClientIdCrossing } from "../core/crossings";
import type { IWorkloadIdentity } from "../core/interfaces";
import type { AzureContext } from "./context";

/** The audience Entra ID expects in Kubernetes tokens exchanged for workload identity. */
export const WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange";

/** The managed identity's name, `<env>-app-<workload>`; the apps stack reads its client id by it. */
export function workloadIdentityName(ctx: AzureContext, workload: WorkloadName): string {
  return ctx.name("app", workload);
}

/**
 * Entra ID accepts at most 20 federated identity credentials on one user-assigned managed identity
 * (Microsoft Entra Workload ID docs, "Considerations": "A maximum of 20 federated identity
 * credentials can be added to an application or user-assigned managed identity").
 */
export const MAX_FEDERATED_CREDENTIALS = 20;

/** Throws when an identity would need more federated credentials than Entra ID accepts. */
export function assertFederatedCredentialLimit(identityName: string, count: number): void {
  if (count > MAX_FEDERATED_CREDENTIALS) {
    throw new Error(`${identityName}: ${count} federated credentials, Entra ID accepts at most ${MAX_FEDERATED_CREDENTIALS} per identity`);
  }
}

export interface AzureWorkloadIdentityProps {
  readonly ctx: AzureContext;
  readonly workload: WorkloadName;
  /** The AKS OIDC issuer URL whose tokens this identity trusts. */
  readonly oidcIssuerUrl: string;
  /**
   * The cluster whose issuer it is, in the credentials' names (`<env>-<trustedCluster>-<ns>-<sa>`).
   * A credential's name forces its replacement, and one identity may later trust a second cluster
   * (a move's stage 2: EKS, then AKS), so a cluster on another cloud is named by its cloud.
   * @default "cluster": the environment's AKS cluster
   */
  readonly trustedCluster?: string;
}

/**
 * The cloud identity of one app: a user-assigned managed identity with one federated credential per
 * trusted service account (`identitySubjects`: the app's own, and its untrusted account where that
 * needs the identity), each trusting only the cluster's OIDC issuer, audience
 * `api://AzureADTokenExchange` and that exact subject. The first keeps its address
 * (`federated-credential`); a further one is a new resource, never a replacement (azurerm v4.55.0
 * replaces a credential only on name, parent_id, resource_group_name: scripts/provider-rules), and
 * the provider creates the credentials of one identity one at a time (locks.ByID(parentId) in
 * internal/services/managedidentity/federated_identity_credential_resource.go), as Entra ID refuses
 * concurrent writes under one identity. No secret or
 * certificate exists. Roles are assigned per resource (a bucket's container, a Key Vault secret,
 * a DNS zone), never on the environment's resource group or the subscription. The app's pods also need the label
 * `azure.workload.identity/use: "true"` for the webhook to inject the token.
 */
export class AzureWorkloadIdentity extends Construct implements IWorkloadIdentity {
  readonly identity: UserAssignedIdentity;
  readonly workload: WorkloadName;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  readonly clientId: string;

  constructor(scope: Construct, id: string, props: AzureWorkloadIdentityProps) {
    super(scope, id);
    const { ctx, workload } = props;
    const needs = WORKLOAD_ACCOUNTS[workload];
    this.workload = workload;
    this.namespace = needs.namespace;
    this.serviceAccount = needs.serviceAccount;

    this.identity = new UserAssignedIdentity(this, "Resource", {
      name: workloadIdentityName(ctx, workload),
      location: ctx.location,
      resourceGroupName: ctx.resourceGroupName,
    });
    const subjects = identitySubjects(workload, ctx.env.cloud);
    assertFederatedCredentialLimit(workloadIdentityName(ctx, workload), subjects.length);
    subjects.forEach((subject, index) => {
      const serviceAccount = subject.slice(subject.lastIndexOf(":") + 1);
      new FederatedIdentityCredential(this, index === 0 ? "federated-credential" : `federated-credential-${serviceAccount}`, {
        name: `${ctx.name(props.trustedCluster ?? "cluster")}-${needs.namespace}-${serviceAccount}`,
        resourceGroupName: ctx.resourceGroupName,
        parentId: this.identity.id,
        issuer: props.oidcIssuerUrl,
        subject,
        audience: [WORKLOAD_IDENTITY_AUDIENCE],
      });
    });
    this.clientId = this.identity.clientId;
    this.serviceAccountAnnotations = { "azure.workload.identity/client-id": this.clientId };
  }

  get crossingValues(): Readonly<Record<string, string>> {
    return { [identityClientIdCrossing("azure", this.workload).name]: this.clientId };
  }

  /** Gives this identity a built-in role on one resource; `name` must be unique per identity. */
  /** @param dependsOn what must exist first, e.g. the resource `scope` names when it is given as text. */
  assignRole(name: string, scope: string, role: string, dependsOn?: ITerraformDependable[]): RoleAssignment {
    return new RoleAssignment(this, `role-${name}`, {
      scope,
      dependsOn,
      roleDefinitionName: role,
      principalId: this.identity.principalId,
      // A new managed identity may not have replicated in Entra ID yet; the type skips that lookup.
      principalType: "ServicePrincipal",
      description: `${this.workload}: ${role}`,
    });
  }
}
