import { CloudBackend, LocalBackend, NamedCloudWorkspace, type TerraformStack } from "cdktf";
import type { Environment } from "../constructs/core/spec";

/**
 * Where a stack keeps its state, and the Terraform it needs. With `terraformCloud` in the spec,
 * the stack's workspace is `<env>-<kind>` in that organization and project; without it, state
 * is local (in `state/`, relative to the stack directory so synth output is the same on every
 * machine) and the default synth needs no account.
 */
export function configureTerraform(stack: TerraformStack, env: Environment, kind: "infra" | "apps" | "gitops"): void {
  const workspace = `${env.name}-${kind}`;
  if (env.terraformCloud) {
    new CloudBackend(stack, { organization: env.terraformCloud.organization, workspaces: new NamedCloudWorkspace(workspace, env.terraformCloud.project) });
  } else {
    new LocalBackend(stack, { path: `../../../state/${workspace}.tfstate` });
  }
  // Azure and GCP pass generated passwords through write-only arguments (Terraform 1.11+).
  stack.addOverride("terraform.required_version", ">= 1.11.0");
}
