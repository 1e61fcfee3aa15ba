/**
 * The provider's answer for a pull request, from Terraform Cloud: for every stack whose
 * synthesized directory the PR changes and whose workspace exists, a speculative (plan-only) run
 * of the PR's configuration with the workspace's variables and credentials, and its JSON plan,
 * saved as `<out dir>/<stack>.json` for scripts/stack-diff.ts. A stack without a workspace, or
 * whose run fails, gets the offline answer there (this script says why, and never fails the job).
 *
 *   TFE_TOKEN=... tsx scripts/tfc-plan.ts <base synthesized dir> <head synthesized dir> <out dir>
 *
 * HCP Terraform API endpoints used (hashicorp/terraform-docs-common, website/docs/cloud-docs/):
 * 1. `GET /organizations/:organization/workspaces/:name` (api-docs/workspaces.mdx, "Show
 *    workspace"; run/api.mdx step 3): `data.id`, `data.attributes["working-directory"]`; 404 when
 *    the workspace does not exist (or the token may not see it).
 * 2. `POST /workspaces/:id/configuration-versions` with `auto-queue-runs: false` and
 *    `speculative: true` (api-docs/configuration-versions.mdx, "Create a Configuration Version"):
 *    `data.id`, `data.attributes["upload-url"]`.
 * 3. `PUT <upload-url>`, `Content-Type: application/octet-stream`, a .tar.gz ("Upload
 *    Configuration Files"). The workspaces run in `synthesized/stacks/<stack>` of the repository,
 *    so the archive keeps that path (run/cli.mdx, "Remote Working Directories": with a working
 *    directory, the combined configuration directory is uploaded).
 * 4. `GET /configuration-versions/:id` until `status` is `uploaded` ("Show a Configuration
 *    Version"; `errored` is final).
 * 5. `POST /runs` with `plan-only: true` and the workspace and configuration version
 *    relationships (api-docs/run.mdx, "Create a Run"). Speculative plans work on VCS-driven
 *    workspaces too (run/cli.mdx, "Remote Speculative Plans").
 * 6. `GET /runs/:id` until the plan is done (run.mdx, "Run States").
 * 7. `GET /runs/:id/plan/json-output`: 204 while the plan runs, 307 to a temporary URL of the JSON
 *    plan when done (api-docs/plans.mdx, "Retrieve the JSON execution plan"). It needs a user or
 *    team token with admin access to the workspace, not an organization token.
 * Not exercised against Terraform Cloud here (no network): the tests replay responses shaped as
 * those pages show.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Http {
  (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; redirect?: "manual" | "follow" }): Promise<{
    status: number;
    headers: { get(name: string): string | null };
    text(): Promise<string>;
  }>;
}

export interface TfcOptions {
  readonly token: string;
  /** `app.terraform.io` unless the stack's cloud block or TFE_HOSTNAME says otherwise. */
  readonly hostname?: string;
  readonly http?: Http;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Run states while the plan is still to come (run.mdx "Run States", and the pre-plan task stages). */
const WAITING = new Set(["pending", "fetching", "fetching_completed", "queuing", "plan_queued", "planning", "pre_plan_running", "pre_plan_completed"]);
/** Final run states without a usable plan. */
const FAILED = new Set(["errored", "canceled", "force_canceled", "discarded"]);

interface Workspace {
  readonly id: string;
  readonly workingDirectory: string;
}

export class TfcClient {
  private readonly http: Http;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: TfcOptions & { hostname: string }) {
    this.http = options.http ?? (fetch as unknown as Http);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; location: string | null }> {
    const response = await this.http(`https://${this.options.hostname}/api/v2${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.options.token}`, "Content-Type": "application/vnd.api+json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
    });
    const text = await response.text();
    const json = text.trim().startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (response.status >= 400) {
      const errors = (json.errors as { title?: string; detail?: string }[] | undefined)?.map((e) => [e.title, e.detail].filter(Boolean).join(": ")).join("; ");
      throw new TfcError(response.status, `${method} ${path}: HTTP ${response.status}${errors ? ` (${errors})` : ""}`);
    }
    return { status: response.status, json, location: response.headers.get("location") };
  }

  /** The workspace, or undefined when it does not exist. */
  async workspace(organization: string, name: string): Promise<Workspace | undefined> {
    try {
      const { json } = await this.api("GET", `/organizations/${encodeURIComponent(organization)}/workspaces/${encodeURIComponent(name)}`);
      const data = json.data as { id: string; attributes: Record<string, unknown> };
      return { id: data.id, workingDirectory: String(data.attributes["working-directory"] ?? "") };
    } catch (error) {
      if (error instanceof TfcError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** A speculative plan of a stack directory in a workspace; the JSON plan's text. */
  async speculativePlan(workspace: Workspace, stackDir: string, message: string): Promise<{ runId: string; plan: string }> {
    const deadline = Date.now() + (this.options.timeoutMs ?? 20 * 60_000);
    const poll = async () => {
      if (Date.now() > deadline) throw new Error("timed out waiting for Terraform Cloud");
      await this.sleep(this.options.pollMs ?? 5_000);
    };
    const created = await this.api("POST", `/workspaces/${workspace.id}/configuration-versions`, {
      data: { type: "configuration-versions", attributes: { "auto-queue-runs": false, speculative: true } },
    });
    const cv = created.json.data as { id: string; attributes: Record<string, unknown> };
    const uploadUrl = String(cv.attributes["upload-url"] ?? "");
    if (!uploadUrl) throw new Error("the configuration version has no upload-url");
    const upload = await this.http(uploadUrl, { method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: archive(stackDir, workspace.workingDirectory) });
    if (upload.status >= 300) throw new Error(`upload of the configuration: HTTP ${upload.status}`);
    for (;;) {
      const { json } = await this.api("GET", `/configuration-versions/${cv.id}`);
      const status = String((json.data as { attributes: Record<string, unknown> }).attributes.status);
      if (status === "uploaded") break;
      if (status === "errored") throw new Error(`configuration version ${cv.id} errored`);
      await poll();
    }
    const run = await this.api("POST", "/runs", {
      data: {
        type: "runs",
        attributes: { "plan-only": true, message },
        relationships: {
          workspace: { data: { type: "workspaces", id: workspace.id } },
          "configuration-version": { data: { type: "configuration-versions", id: cv.id } },
        },
      },
    });
    const runId = (run.json.data as { id: string }).id;
    for (;;) {
      const { json } = await this.api("GET", `/runs/${runId}`);
      const status = String((json.data as { attributes: Record<string, unknown> }).attributes.status);
      if (FAILED.has(status)) throw new Error(`run ${runId} ended ${status}`);
      if (!WAITING.has(status)) {
        const output = await this.api("GET", `/runs/${runId}/plan/json-output`);
        if (output.status === 307 && output.location) {
          const download = await this.http(output.location, { method: "GET" });
          if (download.status !== 200) throw new Error(`download of the JSON plan: HTTP ${download.status}`);
          return { runId, plan: await download.text() };
        }
        if (output.status !== 204) throw new Error(`json-output of run ${runId}: HTTP ${output.status}`);
      }
      await poll();
    }
  }
}

export class TfcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A .tar.gz of a stack directory, placed at the workspace's working directory inside it. */
export function archive(stackDir: string, workingDirectory: string): Uint8Array {
  const staging = mkdtempSync(join(tmpdir(), "tfc-upload-"));
  const target = join(staging, "tree", workingDirectory);
  mkdirSync(target, { recursive: true });
  cpSync(stackDir, target, { recursive: true });
  const file = join(staging, "configuration.tar.gz");
  execFileSync("tar", ["-czf", file, "-C", join(staging, "tree"), "."]);
  return readFileSync(file);
}

function tree(dir: string, prefix = ""): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(join(dir, prefix))) return files;
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const relative = join(prefix, entry.name);
    if (entry.isDirectory()) for (const [path, content] of tree(dir, relative)) files.set(path, content);
    else files.set(relative, readFileSync(join(dir, relative), "utf8"));
  }
  return files;
}

/** Stacks whose synthesized directory differs between base and head (new ones included). */
export function changedStacks(baseDir: string, headDir: string): string[] {
  const stacksDir = join(headDir, "stacks");
  if (!existsSync(stacksDir)) return [];
  return readdirSync(stacksDir)
    .sort()
    .filter((stack) => {
      const before = tree(join(baseDir, "stacks", stack));
      const after = tree(join(stacksDir, stack));
      return before.size !== after.size || [...after].some(([path, content]) => before.get(path) !== content);
    });
}

interface CloudBlock {
  readonly organization: string;
  readonly hostname?: string;
  readonly workspaces?: { readonly name?: string };
}

/** Plans every changed stack that has a Terraform Cloud workspace, all at once; returns what happened per stack. */
export async function planChangedStacks(baseDir: string, headDir: string, outDir: string, options: TfcOptions): Promise<Map<string, string>> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(outDir, { recursive: true });
  const planOne = async (stack: string): Promise<string> => {
    const stackDir = join(headDir, "stacks", stack);
    const config = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as { terraform?: { cloud?: CloudBlock } };
    const cloud = config.terraform?.cloud;
    const name = cloud?.workspaces?.name;
    if (!cloud || !name) return "no Terraform Cloud workspace in its configuration: offline answer";
    const client = new TfcClient({ ...options, hostname: cloud.hostname ?? options.hostname ?? "app.terraform.io" });
    try {
      const workspace = await client.workspace(cloud.organization, name);
      if (!workspace) return `workspace ${cloud.organization}/${name} does not exist yet: offline answer`;
      const { runId, plan } = await client.speculativePlan(workspace, stackDir, `pull request check of ${stack}`);
      writeFileSync(join(outDir, `${stack}.json`), plan);
      return `speculative plan ${runId} in ${cloud.organization}/${name}`;
    } catch (error) {
      return `Terraform Cloud failed (${(error as Error).message}): offline answer`;
    }
  };
  const stacks = changedStacks(baseDir, headDir);
  const outcomes = await Promise.all(stacks.map(async (stack) => [stack, await planOne(stack)] as const));
  for (const [stack, outcome] of outcomes) log(`${stack}: ${outcome}`);
  return new Map(outcomes);
}

if (require.main === module) {
  const [baseDir, headDir, outDir] = process.argv.slice(2);
  if (!baseDir || !headDir || !outDir) {
    process.stderr.write("usage: TFE_TOKEN=... tsx scripts/tfc-plan.ts <base synthesized dir> <head synthesized dir> <out dir>\n");
    process.exit(2);
  }
  const token = process.env.TFE_TOKEN ?? "";
  if (!token) {
    process.stderr.write("no TFE_TOKEN: every stack gets the offline answer\n");
  } else {
    planChangedStacks(baseDir, headDir, outDir, { token, hostname: process.env.TFE_HOSTNAME }).catch((error: Error) => {
      process.stderr.write(`${error.message}: every stack gets the offline answer\n`);
    });
  }
}
