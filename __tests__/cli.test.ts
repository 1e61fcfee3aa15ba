import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
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
