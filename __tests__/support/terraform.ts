/**
 * Offline Terraform checks of synthesized stacks: a temporary copy of each stack with a local
 * backend and the provider's credential checks skipped, then `terraform init` from the local
 * plugin mirror, `validate` and `plan -refresh=false`. No cloud is contacted.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "./outdir";

const run = promisify(execFile);

export const PLUGIN_MIRROR = process.env.TF_PLUGIN_MIRROR ?? "/opt/tf-plugins";

/** Why the offline check cannot run here, or undefined when it can. */
export function terraformUnavailable(): string | undefined {
  const version = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (version.error) return `terraform is not on PATH (${version.error.message})`;
  if (!existsSync(PLUGIN_MIRROR)) return `the provider mirror ${PLUGIN_MIRROR} does not exist (set TF_PLUGIN_MIRROR)`;
  return undefined;
}

interface StackConfig {
  terraform: { required_providers?: Record<string, { source: string; version: string }>; backend?: unknown; cloud?: unknown };
  provider?: Record<string, Record<string, unknown>[]>;
  resource?: Record<string, Record<string, unknown>>;
  data?: Record<string, Record<string, unknown>>;
}

/**
 * Where a provider version sits in a filesystem mirror, in either layout Terraform reads
 * (https://developer.hashicorp.com/terraform/cli/config/config-file#filesystem_mirror): unpacked
 * (`<host>/<namespace>/<type>/<version>/<os_arch>/`, as /opt/tf-plugins here) or packed
 * (`<host>/<namespace>/<type>/terraform-provider-<type>_<version>_<os_arch>.zip`, what
 * `terraform providers mirror` writes in the pull-request workflow).
 */
function mirrorPaths(source: string, version: string): string[] {
  // Provider addresses are case-insensitive and the mirror writes them lower case (`Azure/azapi` → `azure/azapi`).
  const address = (source.split("/").length === 1 ? `registry.terraform.io/hashicorp/${source}` : source.split("/").length === 2 ? `registry.terraform.io/${source}` : source).toLowerCase();
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platform = `${process.platform}_${arch}`;
  const type = address.split("/").at(-1) ?? source;
  return [join(PLUGIN_MIRROR, address, version, platform), join(PLUGIN_MIRROR, address, `terraform-provider-${type}_${version}_${platform}.zip`)];
}

/** Providers of a stack that the mirror lacks; empty when the stack is fully checkable. */
export function missingProviders(config: StackConfig): string[] {
  return Object.entries(config.terraform.required_providers ?? {})
    .filter(([, p]) => !mirrorPaths(p.source, p.version).some((path) => existsSync(path)))
    .map(([name, p]) => `${name} ${p.version}`);
}

/**
 * Whether `terraform plan` can run offline on a stack: plan configures the providers, and only the
 * AWS provider (with its credential and account checks skipped) and random need no network to
 * do so. Stacks with the azurerm, google, kubernetes, helm or tfe provider, or data sources read
 * from a cloud, are validated only (validate does not configure providers).
 */
export function plannableOffline(config: StackConfig): boolean {
  return Object.keys(config.terraform.required_providers ?? {}).every((name) => name === "aws" || name === "random") && Object.keys(config.data ?? {}).length === 0;
}

/** The test copy: local state, no credential, account or metadata lookups. */
export function offlineCopy(config: StackConfig): StackConfig {
  const copy = structuredClone(config);
  // The test copy keeps its state next to it, whether the stack uses local state or Terraform Cloud.
  delete copy.terraform.cloud;
  copy.terraform.backend = { local: { path: "terraform.tfstate" } };
  for (const aws of copy.provider?.aws ?? []) {
    // The account id cannot be looked up offline, so the allowed-account guard cannot be checked.
    delete aws.allowed_account_ids;
    Object.assign(aws, {
      access_key: "offline-check",
      secret_key: "offline-check",
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
    });
  }
  return copy;
}

export interface OfflineResult {
  readonly resources: number;
  readonly validate: { valid: boolean; diagnostics: { severity: string; summary: string; detail?: string }[] };
  /** The plan's summary line, e.g. "Plan: 105 to add, 0 to change, 0 to destroy."; undefined when not planned (see plannableOffline). */
  readonly planSummary?: string;
}

/** A directory holding the offline copy of one stack, and terraform run inside it. */
export interface OfflineWorkspace {
  readonly dir: string;
  readonly terraform: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
}

/** Writes the offline copy of a stack into a fresh directory; `terraform init` is left to the caller. */
export function offlineWorkspace(stackJsonText: string, prefix = "tf-offline"): OfflineWorkspace {
  const config: StackConfig = JSON.parse(stackJsonText);
  const dir = tempDir(prefix);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(offlineCopy(config), null, 2));
  const cliConfig = join(dir, "mirror.tfrc");
  writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path = "${PLUGIN_MIRROR}"\n  }\n}\n`);
  const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" };
  const terraform = (...args: string[]) => run("terraform", args, { cwd: dir, env, maxBuffer: 256 * 1024 * 1024 });
  return { dir, terraform };
}

/** Runs init, validate and (where plannableOffline) plan on a temporary copy of one synthesized stack. */
export async function checkOffline(stackJsonText: string, variables?: Record<string, unknown>): Promise<OfflineResult> {
  const config: StackConfig = JSON.parse(stackJsonText);
  const { dir, terraform } = offlineWorkspace(stackJsonText);
  // The values a stack receives from another (crossings), as `npm run deploy` passes them; terraform reads this file by itself.
  if (variables !== undefined) writeFileSync(join(dir, "terraform.tfvars.json"), JSON.stringify(variables));

  await terraform("init", "-no-color", "-input=false");
  const validate = await terraform("validate", "-json", "-no-color").catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const resources = Object.values(config.resource ?? {}).reduce((sum, byId) => sum + Object.keys(byId).length, 0);
  if (!plannableOffline(config)) return { resources, validate: JSON.parse(validate.stdout) };
  const plan = await terraform("plan", "-no-color", "-input=false", "-lock=false", "-refresh=false");
  return {
    resources,
    validate: JSON.parse(validate.stdout),
    planSummary: /^Plan: .*$/m.exec(plan.stdout)?.[0] ?? plan.stdout.slice(-500),
  };
}

/** Terraform's verdict on a stack's `variable` blocks given `values` (a providerless root module: offline). */
export function planVariables(variables: Record<string, unknown>, values: Record<string, unknown>): { status: number | null; output: string } {
  const dir = tempDir("crossing-variables");
  // An output of a sensitive variable must say so, as Terraform requires.
  const output = Object.fromEntries(Object.entries(variables).map(([name, variable]) => [name, { value: `\${var.${name}}`, ...((variable as { sensitive?: boolean }).sensitive === true ? { sensitive: true } : {}) }]));
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ variable: variables, output }));
  writeFileSync(join(dir, "values.tfvars.json"), JSON.stringify(values));
  const run = (...args: string[]) => spawnSync("terraform", args, { cwd: dir, encoding: "utf8", env: { ...process.env, TF_IN_AUTOMATION: "1", TF_CLI_ARGS: "-no-color" } });
  const init = run("init", "-input=false", "-backend=false");
  if (init.status !== 0) return { status: init.status, output: init.stderr };
  const plan = run("plan", "-input=false", "-var-file=values.tfvars.json");
  return { status: plan.status, output: `${plan.stdout}${plan.stderr}`.replace(/\s+/g, " ") };
}

/**
 * What Terraform refuses while loading a stack's configuration, before it installs any provider
 * (`terraform init -backend=false`): syntax, references and meta-arguments such as
 * `replace_triggered_by`, each as its summary and place. Empty when the configuration loads; for
 * the stacks whose providers are not in the mirror, the one part of Terraform that runs here.
 */
export async function configurationErrors(stackJsonText: string): Promise<string[]> {
  const { terraform } = offlineWorkspace(stackJsonText, "tf-load");
  const output = await terraform("init", "-backend=false", "-input=false", "-no-color").then(
    ({ stdout, stderr }) => `${stdout}${stderr}`,
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
  );
  return [...output.matchAll(/Error: ([^\n]+)\n\n\s+on cdk\.tf\.json line (\d+)/g)].map(([, summary, line]) => `${summary} (cdk.tf.json line ${line})`);
}
