import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { parseDescriptor } from "../constructs/core/descriptor";
import { parseEnvironments, type EnvironmentInput } from "../constructs/core/spec";
import { cidrsOverlap, parseCidr, type Ipv4Cidr } from "../constructs/core/cidr";
import { environments, fleetFiles } from "../environments";
import { freeRange, takenRanges } from "../scripts/new-env";
import { specChecks, synthesize } from "../stacks/app";
import { baseSpec } from "./support/fixtures";
import { tempDir } from "./support/outdir";

/** Runs the real synth entry point in a child process, as a user would. */
function synthProcess(spec: unknown) {
  const dir = tempDir("cli");
  const specPath = join(dir, "spec.json");
  const outdir = join(dir, "cdktf.out");
  writeFileSync(specPath, JSON.stringify(spec));
  const result = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "fixtures", "synth-spec.ts"), specPath, outdir], {
    encoding: "utf8",
  });
  return { status: result.status, stderr: result.stderr, wroteOutput: existsSync(outdir) };
}

describe("synth on a bad spec", () => {
  it("exits non-zero with one line per problem, no stack trace and no cdktf.out", () => {
    const result = synthProcess({ ...baseSpec(), cloud: "ibm", network: { cidr: "10.0.0.1/16" } });
    expect(result.status).toBe(1);
    // A field the schema refuses does not hide the checks of the sections that parsed.
    expect(result.stderr).toContain('spec error: environment "test" has 2 problems:');
    expect(result.stderr).toContain('- cloud: given "ibm"; accepted: aws | azure | gcp');
    expect(result.stderr).toContain('- network.cidr: given "10.0.0.1/16"; accepted: a network address with no host bits set');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.wroteOutput).toBe(false);
  });

  it("reports a cross-field problem the same way", () => {
    const result = synthProcess({ ...baseSpec(), network: { cidr: "10.0.0.1/16" } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('- network.cidr: given "10.0.0.1/16"; accepted: a network address with no host bits set');
    expect(result.wroteOutput).toBe(false);
  });

  it("reports a problem of a cloud's own rules the same way, and leaves no cdktf.out", () => {
    // Two tags that become one GCP label are found by the GCP rules (constructs/gcp/spec-problems.ts), in the spec pass.
    const spec = { ...baseSpec(), cloud: "gcp", tags: { "team.lead": "a", team_lead: "b" }, accounts: { gcp: { region: "europe-west4", projectId: "acme-data-test" } } };
    const result = synthProcess(spec);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('both become "team_lead"');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.wroteOutput).toBe(false);
  });

  it("reports a policy violation as one line naming stack, resource, rule and fix, and leaves no cdktf.out", () => {
    // One-day log retention is a valid spec (CloudWatch offers it) whose output breaks log-retention.
    const result = synthProcess({ ...baseSpec(), cluster: { ...baseSpec().cluster, logRetentionDays: 1 } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^policy violation: test-infra: aws_cloudwatch_log_group\.\S+: log-retention \(.+\): retention_in_days is 1, needs at least 30 days\. Fix: .+$/m);
    expect(result.stderr).toMatch(/policy violations?; nothing was written\n$/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.wroteOutput).toBe(false);
  });

  it("names the file and line of an environment file that throws while it loads, without a stack trace", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "fixtures", "load-environment.ts")], { encoding: "utf8", cwd: join(__dirname, "..") });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^spec error: __tests__\/fixtures\/environments\/broken\.ts:6 could not be loaded: TypeError: Cannot read properties of undefined \(reading 'map'\)\n$/);
  });

  /** Loads environments/<file> written in a fresh directory, from that directory, as main.ts would. */
  function loadWritten(files: Readonly<Record<string, string>>, entry: string) {
    const dir = tempDir("load");
    mkdirSync(join(dir, "environments"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "environments", name), text);
    const tsx = join(__dirname, "..", "node_modules", "tsx", "dist", "loader.mjs");
    return spawnSync(process.execPath, ["--import", pathToFileURL(tsx).href, join(__dirname, "fixtures", "load-environment.ts"), `environments/${entry}`], { encoding: "utf8", cwd: dir });
  }

  it("names the file, line and column of a syntax error in an environment file, in one line", () => {
    const result = loadWritten({ "prod.ts": 'export const prod = {\n  owner: "data-platform"\n  costCentre: "cc-1",\n};\n' }, "prod.ts");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('spec error: environments/prod.ts:3:2 could not be loaded: Expected "}" but found "costCentre"\n');
  });

  it("names the environment file whose import does not resolve, in one line", () => {
    const result = loadWritten({ "index.ts": 'import { stagingGcp } from "./staging-gpc";\nexport const environments = [stagingGcp];\n' }, "index.ts");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("spec error: environments/index.ts could not be loaded: Cannot find module './staging-gpc'\n");
  });

  it("reports a thrown value that is not an Error in one line", () => {
    const result = loadWritten({ "prod.ts": 'throw "set NOPE first";\n' }, "prod.ts");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('spec error: an environment file could not be loaded: it threw "set NOPE first"\n');
  });

  it("reports a fleet's own problems in the spec format, one line each, without a stack trace", () => {
    const fleetModule = JSON.stringify(join(__dirname, "..", "constructs", "core", "fleet.ts"));
    const base = '{ production: true, owner: "data", costCentre: "cc-1", cluster: { kubernetesVersion: "1.33" }, dns: { acmeEmail: "a@example.com" }, apps: [] }';
    const line = (slot: number, name: string, account: string) => `{ slot: ${slot}, name: "${name}", cloud: "aws", account: "${account}", region: "eu-west-1", size: "small" }`;
    const tenants = `import { fleet } from ${fleetModule};\nexport const tenants = fleet({ name: "saas", source: "environments/tenants.ts", pool: "10.64.0.0/12", tenantPrefix: 18, domain: "t.example.com", base: ${base}, tenants: [${line(0, "acme", "111111111111")}, ${line(0, "beta", "222222222222")}] });\n`;
    const result = loadWritten({ "tenants.ts": tenants }, "tenants.ts");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('spec error: environments/tenants.ts: fleet "saas" has 1 problem:\n  - tenants[1].slot: given 0; accepted: a slot no other tenant uses (acme has it); free: 1, 2, 3, 4, 5, ...\n');
  });

  it("writes the stacks of a good spec", () => {
    const result = synthProcess(baseSpec());
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.wroteOutput).toBe(true);
  });
});

/** Runs `tsx main.ts <args>` in `cwd` (the worktree unless given), as `npm run synth -- ...` would. */
function cli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const tsx = pathToFileURL(join(__dirname, "..", "node_modules", "tsx", "dist", "loader.mjs")).href;
  const result = spawnSync(process.execPath, ["--import", tsx, "main.ts", ...args], { encoding: "utf8", cwd: options.cwd ?? join(__dirname, ".."), env: { ...process.env, ...options.env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A copy of the project's sources (no output, node_modules linked) whose environments/ a test may change. */
function projectCopy(): string {
  const root = join(__dirname, "..");
  const dir = tempDir("project");
  for (const entry of ["main.ts", "package.json", "tsconfig.json", "cdktf.json", "constructs", "stacks", "scripts", "environments", "schema"]) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Every file below `dir`, relative path → bytes as text. */
function tree(dir: string): Map<string, string> {
  return new Map((readdirSync(dir, { recursive: true }) as string[]).filter((path) => statSync(join(dir, path)).isFile()).map((path) => [path, readFileSync(join(dir, path), "utf8")]));
}

describe("the command line (main.ts)", () => {
  it("lists its commands with --help, and describes each", () => {
    const help = cli(["--help"]);
    expect(help.status).toBe(0);
    for (const command of ["synth", "validate", "diff", "promote-diff", "new-env"]) expect(help.stdout).toMatch(new RegExp(`^  ${command} +\\S`, "m"));
    const newEnv = cli(["new-env", "--help"]);
    expect(newEnv.status).toBe(0);
    expect(newEnv.stdout).toContain("usage: tsx main.ts new-env <name> [--from <env>] [--cloud aws|azure|gcp] [--account <id>]");
  });

  it("prints the usage for `npm run synth -- --help` and synthesizes nothing", () => {
    const outdir = join(tempDir("help"), "out");
    const result = spawnSync("npm", ["run", "--silent", "synth", "--", "--help"], { encoding: "utf8", cwd: join(__dirname, ".."), env: { ...process.env, CDKTF_OUTDIR: outdir } });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("usage: tsx main.ts synth [--only <env>]... [--outdir <dir>]");
    expect(existsSync(outdir)).toBe(false);
  });

  it("refuses HCL output (cdktn synth --hcl sets SYNTH_HCL_OUTPUT) with exit 2, writing nothing", () => {
    const outdir = join(tempDir("hcl"), "out");
    const result = cli(["synth", "--outdir", outdir], { env: { SYNTH_HCL_OUTPUT: "true" } });
    expect({ status: result.status, stderr: result.stderr.split("\n")[0], written: existsSync(outdir) }).toEqual({
      status: 2,
      stderr: "error: synth: HCL output (cdktn synth --hcl) given; accepted: Terraform JSON, the output the policy pack checks and Terraform Cloud runs (plain cdktn synth)",
      written: false,
    });
  });

  it("refuses an unknown flag, a stray argument and an unknown command with exit 2 and the usage", () => {
    const flag = cli(["synth", "--bogus"]);
    expect(flag).toEqual({ status: 2, stdout: "", stderr: "error: synth: Unknown option '--bogus'\nusage: tsx main.ts synth [--only <env>]... [--outdir <dir>]\n(tsx main.ts synth --help describes it)\n" });
    const stray = cli(["synth", "validate"]);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toContain('error: synth takes 0 arguments; given "validate" (validate is a command of its own: tsx main.ts validate)');
    const command = cli(["synthesize"]);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain('error: unknown command "synthesize"; accepted: synth, validate, diff, promote-diff, new-env');
    const topic = cli(["help", "bogus"]);
    expect(topic.status).toBe(2);
    expect(topic.stderr).toContain('error: help: unknown command "bogus"; accepted: synth, validate, diff, promote-diff, new-env');
  });

  it("refuses an empty --only (it would build nothing and rewrite the manifest), writing nothing", () => {
    const outdir = join(tempDir("only-empty"), "out");
    for (const args of [["--only="], ["--only", "a,,b"]]) {
      const result = cli(["synth", ...args, "--outdir", outdir]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("error: synth: --only: given an empty name; accepted: an environment name");
    }
    expect(existsSync(outdir)).toBe(false);
  });

  it("names the npm script of each command, and `npm run diff`/`deploy` (cdktn on one environment) have a --help and refuse a flag as the environment", () => {
    const scripts = (JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const help = cli(["--help"]).stdout;
    for (const [script, command] of Object.entries(scripts)) {
      const name = /^tsx main\.ts (\S+)$/.exec(command)?.[1];
      expect({ script, listed: name === undefined || help.includes(`  ${name} `) && help.includes(`(npm run ${script})`) }).toEqual({ script, listed: true });
    }
    const tsx = pathToFileURL(join(__dirname, "..", "node_modules", "tsx", "dist", "loader.mjs")).href;
    const envStacks = (args: string[]) => spawnSync(process.execPath, ["--import", tsx, "scripts/env-stacks.ts", ...args], { encoding: "utf8", cwd: join(__dirname, "..") });
    const usage = envStacks(["diff", "--help"]);
    expect(usage.status).toBe(0);
    expect(usage.stdout).toContain("npm run stack-diff");
    const flag = envStacks(["diff", "--base", "HEAD"]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('error: the first argument is the environment; given "--base"');
  });

  it("with --only, writes only the named environment's stacks, keeps every other file byte for byte and the manifest whole", () => {
    const outdir = join(tempDir("only"), "synthesized");
    cpSync(join(__dirname, "..", "synthesized"), outdir, { recursive: true });
    const [named, other] = environments.map((env) => env.name).filter((name) => name !== "staging").slice(0, 2);
    // A file beside a stack: gone from the rebuilt stack (Terraform would read it), kept elsewhere.
    writeFileSync(join(outdir, "stacks", `${named}-infra`, "override.tf.json"), "{}");
    writeFileSync(join(outdir, "stacks", `${other}-infra`, "override.tf.json"), "{}");
    const before = tree(outdir);
    const result = cli(["synth", "--only", named, "--outdir", outdir]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    // The gitops stack holds a Terraform Cloud environment's workspaces, so it is rebuilt with it.
    const workspaces = parseEnvironments(environments).find((env) => env.name === named)?.terraformCloud === undefined ? "" : ", gitops";
    expect(result.stdout).toMatch(new RegExp(`^synthesized \\d stacks into .*: ${named}-infra(, ${named}-apps)?${workspaces}\\n$`));
    const after = tree(outdir);
    expect(after.has(join("stacks", `${named}-infra`, "override.tf.json"))).toBe(false);
    const untouched = (files: Map<string, string>) => [...files].filter(([path]) => !path.startsWith(join("stacks", `${named}-`)) && path !== "manifest.json");
    expect(untouched(after)).toEqual(untouched(before));
    const stacksOf = (text: string | undefined) => Object.keys((JSON.parse(text ?? "{}") as { stacks: object }).stacks).sort();
    expect(stacksOf(after.get("manifest.json"))).toEqual(stacksOf(before.get("manifest.json")));
    const unknown = cli(["synth", "--only", "nope", "--outdir", outdir]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(`synth: unknown environment "nope" in --only; accepted: ${environments.map((env) => env.name).join(", ")}, gitops\n`);
  });

  it("validates every environment without writing: exit 0, and exit 1 with the line of each problem of a YAML descriptor", () => {
    const valid = cli(["validate"]);
    expect(valid.stderr).toBe("");
    expect(valid.status).toBe(0);
    expect(valid.stdout).toMatch(/^valid: \d+ environments, \d+ stacks, no spec problem or policy violation\n$/);
    const dir = projectCopy();
    const yaml = readdirSync(join(dir, "environments")).find((file) => file.endsWith(".yaml")) as string;
    const text = readFileSync(join(dir, "environments", yaml), "utf8");
    const cidrLine = text.split("\n").findIndex((line) => /^\s+cidr: /.test(line)) + 1;
    writeFileSync(join(dir, "environments", yaml), text.replace(/^(\s+cidr: )(\S+)/m, "$110.10.0.0/16"));
    const clash = cli(["validate"], { cwd: dir });
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(new RegExp(`^ {2}- network\\.cidr \\(line ${cidrLine}\\): given "10\\.10\\.0\\.0/16"; accepted: a range no other environment uses \\(`, "m"));
    expect(readdirSync(dir).sort()).toEqual(["cdktf.json", "constructs", "environments", "main.ts", "node_modules", "package.json", "schema", "scripts", "stacks", "tsconfig.json"]);
    writeFileSync(join(dir, "environments", yaml), `${text}owner: twice\n`);
    const duplicate = cli(["validate"], { cwd: dir });
    expect(duplicate.status).toBe(1);
    expect(duplicate.stderr).toBe(`spec error: environments/${yaml}:${text.split("\n").length}:1 could not be loaded: Map keys must be unique\n`);
  });

  it("new-env picks a range outside every fleet's pool, even when every range below it is taken", () => {
    for (const value of Object.values(fleetFiles)) {
      const pool = parseCidr(value.pool) as Ipv4Cidr;
      // Written environments filling 10.0.0.0 up to the pool with /16s, as hundreds of environments would.
      const below = Array.from({ length: (pool.base - (parseCidr("10.0.0.0/8") as Ipv4Cidr).base) / 2 ** 16 }, (_, i) => ({ network: { cidr: `10.${i}.0.0/16` } }));
      const range = parseCidr(freeRange(16, takenRanges([...environments, ...below], Object.values(fleetFiles))) as string) as Ipv4Cidr;
      for (const other of Object.values(fleetFiles)) expect({ range, overlaps: cidrsOverlap(range, parseCidr(other.pool) as Ipv4Cidr) }).toEqual({ range, overlaps: false });
    }
  });

  it("new-env refuses a fleet's tenant as --from (its spec is the customer's: project and tenant tag), pointing at the fleet's file", () => {
    const [value] = Object.values(fleetFiles);
    const [tenant] = value.environments;
    const result = cli(["new-env", "qa", "--from", tenant.name]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`new-env: --from: given "${tenant.name}", a tenant of fleet "${value.name}" (${value.source}: `);
    expect(result.stderr).not.toContain(`, ${tenant.name}`);
  });

  it("new-env writes a YAML descriptor that validates, with a free network range, and refuses a name in use", () => {
    const dir = projectCopy();
    const file = join(dir, "environments", "qa.yaml");
    // Staging is deployed by Terraform Cloud from its account: a copy there is refused, and not written.
    const staging = environments.find((env) => env.name === "staging") as EnvironmentInput;
    const shared = cli(["new-env", "qa", "--from", "staging"], { cwd: dir });
    expect(shared.status).toBe(1);
    expect(shared.stderr).toMatch(new RegExp(`^ {2}- accounts\\.aws\\.accountId \\(line \\d+\\): given "${staging.accounts.aws?.accountId}"; accepted: an AWS account no other environment uses`, "m"));
    expect(existsSync(file)).toBe(false);
    // An AWS account no environment (tenants included) uses.
    const usedAccounts = new Set(environments.map((env) => env.accounts.aws?.accountId));
    const account = Array.from({ length: 10 }, (_, n) => String(987654321000 + n)).find((id) => !usedAccounts.has(id)) as string;
    const expectedRange = freeRange(16, takenRanges(environments, Object.values(fleetFiles)));
    const created = cli(["new-env", "qa", "--from", "staging", "--account", account], { cwd: dir });
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const spec = parseDescriptor(readFileSync(file, "utf8"), "environments/qa.yaml") as EnvironmentInput;
    expect(readFileSync(file, "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=../schema/environment.schema.json");
    const parsed = parseEnvironments([...environments, spec], undefined, specChecks);
    expect(parsed.at(-1)?.name).toBe("qa");
    expect(parsed.at(-1)?.network.cidr).toBe(expectedRange);
    const again = cli(["new-env", "qa", "--account", account], { cwd: dir });
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('new-env: an environment named "qa" exists (environments/qa.yaml); accepted: a new name\n');
    const existing = cli(["new-env", "staging"], { cwd: dir });
    expect(existing.stderr).toBe('new-env: an environment named "staging" exists (environments/staging.ts); accepted: a new name\n');
  });
});

describe("synthesize with only", () => {
  it("checks a suppression against the stacks of its environment only when that environment is built", () => {
    const suppressed = { ...baseSpec(), policy: { suppressions: [{ rule: "log-retention", resource: "aws_cloudwatch_log_group.nowhere", reason: "a test's written reason" }] } };
    const other = { ...baseSpec(), name: "other", network: { cidr: "10.43.0.0/16" }, accounts: { aws: { region: "eu-central-1", accountId: "210987654321" } } };
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const dir = tempDir("only-policy");
      expect(synthesize([suppressed, other], join(dir, "all"))).toBe(1);
      expect(stderr.mock.calls.map(([text]) => String(text)).join("")).toContain('policy.suppressions[0].resource: given "aws_cloudwatch_log_group.nowhere"');
      expect(synthesize([suppressed, other], join(dir, "other"), undefined, undefined, { only: ["other"] })).toBe(0);
      expect(readdirSync(join(dir, "other", "stacks")).sort()).toEqual(["other-apps", "other-infra"]);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});
