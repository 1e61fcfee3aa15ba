import type { Construct } from "constructs";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import type { IWorkloadIdentity } from "../core/interfaces";
import type { GcpContext } from "./context";
import { SECRET_READ_ROLE } from "./database";
import { GcpWorkloadIdentity } from "./identity";
import { projectData } from "./kms";

/**
 * The IAM condition that limits `roles/secretmanager.secretAccessor` to the named secrets.
 * Secret Manager evaluates `resource.name` as `projects/<project NUMBER>/secrets/<id>` for a
 * secret and `.../secrets/<id>/versions/<version>` for a version (Secret Manager docs, "Access
 * control with IAM" > "IAM conditions": resource name attributes use the project number), so each
 * name is matched whole, with its versions below it, and never as a prefix of a longer name.
 */
export function userSecretsCondition(projectNumber: string, names: readonly string[]): string {
  return [...new Set(names)]
    .map((name) => `resource.name == "projects/${projectNumber}/secrets/${name}" || resource.name.startsWith("projects/${projectNumber}/secrets/${name}/versions/")`)
    .join(" || ");
}

/**
 * Lets the identity access the named secrets of the environment's project and nothing else: one
 * project-level binding with an IAM condition on the secret names, so it holds before the user
 * creates the secrets (a per-secret binding would need each secret to exist at apply time).
 */
export function grantUserSecretsRead(scope: Construct, ctx: GcpContext, identity: IWorkloadIdentity, names: readonly string[]): void {
  if (!(identity instanceof GcpWorkloadIdentity)) throw new TypeError(`user secrets can only be granted to a GCP workload identity, not ${identity.workload}'s`);
  if (names.length === 0) return;
  // One data source for every identity granted here (the monitoring and the sso stores) and the keys.
  const project = projectData(scope, ctx);
  new ProjectIamMember(scope, `${identity.workload}-user-secrets-read`, {
    project: ctx.projectId,
    role: SECRET_READ_ROLE,
    member: identity.member,
    condition: {
      title: "named-user-secrets",
      description: `${ctx.env.name}: only the secrets the environment spec names`,
      expression: userSecretsCondition(project.number, names),
    },
    dependsOn: ctx.apis.needed("secretManager"),
  });
}
