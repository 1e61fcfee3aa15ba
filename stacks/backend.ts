import { CloudBackend, LocalBackend, NamedCloudWorkspace, type TerraformStack } from "cdktn";
import { homeOf, otherClouds, type Cloud, type Environment } from "../constructs/core/spec";
import type { ForeignInfraKind, StackKind } from "../constructs/core/crossings";

export type { ForeignInfraKind, StackKind };

/**
 * An environment's stacks in apply order: infra (the cluster's), one per other cloud it keeps
 * resources on, then apps when it runs any. A home the cluster left, with nothing on it any more
 * (the end of a move), keeps its stack, empty (its account stays in the spec): applied, it
 * destroys what was left there, and after that it plans nothing and needs no credentials.
 */
export function stackKindsOf(env: Environment): StackKind[] {
  const home = homeOf(env);
  const emptiedHome = home !== env.cloud && !otherClouds(env).includes(home);
  return ["infra", ...[...otherClouds(env), ...(emptiedHome ? [home] : [])].map((cloud): ForeignInfraKind => `infra-${cloud}`), ...(env.apps.length > 0 ? (["apps"] as const) : [])];
}

/** The cloud of an `infra-<cloud>` stack kind; undefined for the stacks on the cluster's cloud. */
export function foreignCloudOf(kind: StackKind | "gitops"): Cloud | undefined {
  return kind.startsWith("infra-") ? (kind.slice("infra-".length) as Cloud) : undefined;
}

/**
 * Whether `kind`'s workspace is bootstrapped by hand now (`terraformCloud.bootstrapping`): gitops
 * leaves it alone. An `<env>-infra-<cloud>`, or the cluster's own once it runs away from home.
 */
export function isBootstrapping(env: Environment, kind: StackKind): boolean {
  const cloud = foreignCloudOf(kind) ?? (kind === "infra" && homeOf(env) !== env.cloud ? env.cloud : undefined);
  return cloud !== undefined && (env.terraformCloud?.bootstrapping ?? []).includes(cloud);
}

/**
 * A stack's name, which is also its Terraform Cloud workspace: named by the cloud whose resources
 * it holds, so no resource moves between states when the cluster moves (docs/design/cross-cloud.md,
 * "Stacks"). `<env>-infra` is the home's (`homeOf`), `<env>-infra-<cloud>` another cloud's, and
 * `<env>-apps` and `gitops` as their kind. The kind says what a stack does: `infra` is the
 * cluster's, named `<env>-infra-<cloud>` once the cluster left home (stage 2 of a move), when the
 * home's `infra-<home>` is `<env>-infra`.
 */
export function stackName(env: Environment, kind: StackKind | "gitops"): string {
  const home = homeOf(env);
  if (home !== env.cloud && kind === "infra") return `${env.name}-infra-${env.cloud}`;
  if (home !== env.cloud && kind === `infra-${home}`) return `${env.name}-infra`;
  return `${env.name}-${kind}`;
}

/**
 * Where a stack keeps its state, and the Terraform it needs. With `terraformCloud` in the spec,
 * the stack's workspace is its name (`stackName`) in that organization and project; without it, state
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
  stack.addOverride("terraform.required_version", `>= ${REQUIRED_TERRAFORM}`);
}

/** The oldest Terraform every stack asks for (`required_version`), which Terraform enforces at init. */
export const REQUIRED_TERRAFORM = "1.11.0";

/**
 * The App context that tells cdktn which Terraform the stacks are for. cdktn checks the features
 * a stack uses (write-only arguments, ephemeral resources, provider functions, some `Fn.*`) against
 * the declared `targetVersions` (cdktn lib/validations/target-versions.js, provider-feature-
 * constraints.js); without a declaration it assumes Terraform >=1.5.7 and OpenTofu >=1.6.0 and
 * refuses a write-only argument, which the stacks need and their `required_version` allows.
 * Terraform Cloud runs Terraform, so OpenTofu is no target.
 */
export const FRAMEWORK_CONTEXT = { targetVersions: { terraform: `>=${REQUIRED_TERRAFORM}` } };
