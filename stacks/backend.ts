import { CloudBackend, LocalBackend, NamedCloudWorkspace, type TerraformStack } from "cdktn";
import type { Environment } from "../constructs/core/spec";

export type StackKind = "infra" | "apps";

/** An environment's stacks in apply order: infra, then apps when it runs any. */
export function stackKindsOf(env: Environment): StackKind[] {
  return env.apps.length > 0 ? ["infra", "apps"] : ["infra"];
}

/** A stack's name, which is also its Terraform Cloud workspace: `<env>-<kind>`. */
export function stackName(env: Environment, kind: StackKind | "gitops"): string {
  return `${env.name}-${kind}`;
}

/**
 * Where a stack keeps its state, and the Terraform it needs. With `terraformCloud` in the spec,
 * the stack's workspace is `<env>-<kind>` in that organization and project; without it, state
 * is local (in `state/`, relative to the stack directory so synth output is the same on every
 * machine) and the default synth needs no account.
 */
export function configureTerraform(stack: TerraformStack, env: Environment, kind: StackKind | "gitops"): void {
  const workspace = stackName(env, kind);
  if (env.terraformCloud) {
    new CloudBackend(stack, { organization: env.terraformCloud.organization, workspaces: new NamedCloudWorkspace(workspace, env.terraformCloud.project) });
  } else {
    new LocalBackend(stack, { path: `../../../state/${workspace}.tfstate` });
  }
  // Azure and GCP pass generated passwords through write-only arguments (Terraform 1.11+).
  stack.addOverride("terraform.required_version", ">= 1.11.0");
}
