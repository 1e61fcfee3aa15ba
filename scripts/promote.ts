/**
 * `tsx scripts/promote.ts wait --environment staging --commit <sha> [--since origin/production]`:
 * waits until Terraform Cloud has applied that commit in every workspace of the environment whose
 * directory it changed since `--since` (and fails if a run of it failed),
 * so the promotion workflow can then fast-forward the production branch to it.
 * Needs TFE_TOKEN (a token that may read the workspaces' runs).
 */
import { spawnSync } from "node:child_process";
import { stackKindsOf, stackName } from "../stacks/backend";
import { COMMITTED_OUTPUT_DIR } from "../stacks/output";
import { findEnvironment } from "./find-environment";

/** A run as the Terraform Cloud API lists it, reduced to what the decision needs. */
export interface RunSummary {
  readonly status: string;
  /** Commit of the run's configuration version (VCS ingress), if any. */
  readonly commitSha?: string;
}

export type CommitState = "applied" | "pending" | "failed";

/** Statuses after which a run of the commit will never apply. */
const FAILED = new Set(["errored", "canceled", "force_canceled", "discarded", "policy_soft_failed"]);
/** The run finished with nothing to apply, which counts as applied. */
const DONE = new Set(["applied", "planned_and_finished"]);

/**
 * Whether a workspace has applied the commit. If Terraform Cloud skipped the commit's run for a
 * newer one, this stays pending until the deadline and the newer commit's promotion wins.
 */
export function commitState(runs: readonly RunSummary[], commitSha: string): CommitState {
  const ofCommit = runs.filter((run) => run.commitSha === commitSha);
  if (ofCommit.some((run) => DONE.has(run.status))) return "applied";
  if (ofCommit.length > 0 && ofCommit.every((run) => FAILED.has(run.status))) return "failed";
  return "pending";
}

/** The environment's workspaces and organization, from its spec. */
export function workspacesOf(envName: string): { organization: string; workspaces: string[] } {
  const env = findEnvironment(envName);
  if (!env.terraformCloud) throw new Error(`environment "${envName}" has no terraformCloud: nothing is applied by Terraform Cloud to wait for`);
  return { organization: env.terraformCloud.organization, workspaces: stackKindsOf(env).map((kind) => stackName(env, kind)) };
}

interface ApiRun {
  attributes: { status: string };
  relationships?: { "configuration-version"?: { data?: { id: string } } };
}
interface ApiIncluded {
  id: string;
  type: string;
  attributes?: { "commit-sha"?: string };
  relationships?: { "ingress-attributes"?: { data?: { id: string } } };
}

async function api<T>(path: string, token: string): Promise<T> {
  const response = await fetch(`https://app.terraform.io/api/v2${path}`, {
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.api+json" },
  });
  if (!response.ok) throw new Error(`Terraform Cloud API ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** The workspace's recent runs with the commit each ran. */
async function recentRuns(organization: string, workspace: string, token: string): Promise<RunSummary[]> {
  const found = await api<{ data: { id: string } }>(`/organizations/${organization}/workspaces/${workspace}`, token);
  const page = await api<{ data: ApiRun[]; included?: ApiIncluded[] }>(
    `/workspaces/${found.data.id}/runs?page%5Bsize%5D=20&include=configuration_version.ingress_attributes`,
    token,
  );
  const included = new Map((page.included ?? []).map((item) => [item.id, item]));
  return page.data.map((run) => {
    const version = included.get(run.relationships?.["configuration-version"]?.data?.id ?? "");
    const ingress = included.get(version?.relationships?.["ingress-attributes"]?.data?.id ?? "");
    return { status: run.attributes.status, commitSha: ingress?.attributes?.["commit-sha"] };
  });
}

/** True when the commit changes nothing in the workspace's directory since `since`: no run to wait for. */
function unchangedSince(since: string, commitSha: string, workspace: string): boolean {
  return spawnSync("git", ["diff", "--quiet", since, commitSha, "--", `${COMMITTED_OUTPUT_DIR}/stacks/${workspace}`]).status === 0;
}

async function wait(envName: string, commitSha: string, since: string, token: string): Promise<void> {
  const { organization, workspaces: all } = workspacesOf(envName);
  const workspaces = all.filter((ws) => !unchangedSince(since, commitSha, ws));
  console.log(`waiting for ${workspaces.join(", ") || "nothing"} (unchanged since ${since}: ${all.filter((ws) => !workspaces.includes(ws)).join(", ") || "none"})`);
  const deadline = Date.now() + 110 * 60 * 1000;
  for (;;) {
    const states = await Promise.all(workspaces.map(async (ws) => [ws, commitState(await recentRuns(organization, ws, token), commitSha)] as const));
    console.log(states.map(([ws, state]) => `${ws}: ${state}`).join(", "));
    const failed = states.filter(([, state]) => state === "failed").map(([ws]) => ws);
    if (failed.length > 0) throw new Error(`commit ${commitSha} failed to apply in ${failed.join(", ")}: production is not promoted`);
    if (states.every(([, state]) => state === "applied")) return;
    if (Date.now() > deadline) throw new Error(`commit ${commitSha} has not applied in ${envName} in time: production is not promoted`);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const envName = option("environment");
  const commit = option("commit");
  const since = option("since") ?? "origin/production";
  const token = process.env.TFE_TOKEN;
  if (args[0] !== "wait" || !envName || !commit || !token) {
    process.stderr.write("usage: TFE_TOKEN=... tsx scripts/promote.ts wait --environment <env> --commit <sha>\n");
    process.exit(2);
  }
  wait(envName, commit, since, token).catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
