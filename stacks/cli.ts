/**
 * The command line (`tsx main.ts <command>`, `npm run synth -- ...`): parses the arguments
 * strictly (node:util parseArgs: an unknown flag or a stray argument is a usage error, exit 2,
 * with the command's usage) and loads what a command needs only when it runs, so `--help` and a
 * usage error cost no cdktn or provider module. Loaded with `require`, not `import()`: the project
 * is CommonJS, and `require` needs only tsx's CommonJS hook, so `npm run synth` can run
 * `node --require tsx/cjs main.ts` without the ESM loader thread `tsx main.ts` starts (package.json).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { COMMITTED_OUTPUT_DIR } from "./output";

interface Command {
  readonly summary: string;
  /** The npm script that runs the command (package.json): `npm run <npm> -- <options>`. */
  readonly npm: string;
  readonly usage: string;
  /** Lines after the usage in the command's `--help`. */
  readonly details: readonly string[];
  readonly options: NonNullable<ParseArgsConfig["options"]>;
  /** How many positional arguments the command takes. */
  readonly positionals: readonly [min: number, max: number];
  readonly run: (values: Record<string, unknown>, positionals: string[]) => Promise<number>;
}

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** Loads the environments and the gitops settings, as the entry point always has (inside runEntryPoint). */
async function fleet() {
  const { environments, environmentSource } = require("../environments/index") as typeof import("../environments/index");
  const { gitops } = require("../environments/gitops") as typeof import("../environments/gitops");
  return { environments, environmentSource, gitops };
}

const COMMANDS: Readonly<Record<string, Command>> = {
  synth: {
    npm: "synth",
    summary: "synthesize every environment (or those named) into synthesized/",
    usage: "synth [--only <env>]... [--outdir <dir>]",
    details: [
      "  --only <env>    build, check and write only this environment's stacks (repeatable, or a,b), and the gitops",
      "                  stack of Terraform Cloud workspaces when it is deployed by Terraform Cloud (`gitops` names",
      "                  that stack alone). Every spec is still checked, also against the others; the other stacks",
      "                  and the manifest's entries for them stay as written.",
      `  --outdir <dir>  where to write (default: $CDKTF_OUTDIR, else ${COMMITTED_OUTPUT_DIR}/)`,
    ],
    options: { only: { type: "string", multiple: true }, outdir: { type: "string" } },
    positionals: [0, 0],
    run: async (values) => {
      // `cdktn synth --hcl` sets it: cdktn would write HCL beside the JSON the policy pack checked,
      // and the committed output is the JSON Terraform Cloud runs.
      if (process.env.SYNTH_HCL_OUTPUT === "true") return usageError("synth: HCL output (cdktn synth --hcl) given; accepted: Terraform JSON, the output the policy pack checks and Terraform Cloud runs (plain cdktn synth)", hint("synth", COMMANDS.synth));
      const { environments, environmentSource, gitops } = await fleet();
      const { synthesize } = require("./app") as typeof import("./app");
      const outdir = (values.outdir as string | undefined) ?? process.env.CDKTF_OUTDIR ?? COMMITTED_OUTPUT_DIR;
      // `--only a --only b` or `--only a,b`.
      const only = (values.only as string[] | undefined)?.flatMap((names) => names.split(","));
      // `--only=` or `--only a,,b` names nothing: a slip, not "build nothing and rewrite the manifest".
      if (only?.some((name) => name.trim() === "")) return usageError('synth: --only: given an empty name; accepted: an environment name (or gitops), e.g. --only staging', hint("synth", COMMANDS.synth));
      return synthesize(environments, outdir, gitops, environmentSource, { only });
    },
  },
  validate: {
    npm: "validate",
    summary: "check every spec, the checks across environments and the policy pack; writes nothing",
    usage: "validate",
    details: [
      "  Exit 0 when every environment would synthesize, 1 with one line per problem otherwise.",
      "  Not checked here: apps[].values and apps[].chartVersion against the chart's values schema and",
      "  templates (the chart contract); npm test checks them (__tests__/kubernetes.test.ts), and helm at install.",
    ],
    options: {},
    positionals: [0, 0],
    run: async () => {
      const { environments, environmentSource, gitops } = await fleet();
      const { validate } = require("./app") as typeof import("./app");
      return validate(environments, gitops, environmentSource);
    },
  },
  diff: {
    npm: "stack-diff",
    summary: "the pull-request gate: what a fresh synth changes in each stack compared to the committed output",
    usage: "diff [--base <git ref> | --base-dir <dir>] [--plans <dir>] [--allow-stateful]",
    details: [
      `  --base <ref>      the commit whose ${COMMITTED_OUTPUT_DIR}/ is the base (default: HEAD)`,
      "  --base-dir <dir>  a synthesized directory to compare with instead",
      "  --plans <dir>     <stack>.json plans (terraform show -json) that answer for their stacks",
      "  --allow-stateful  do not refuse destroying or replacing what holds data (the PR label)",
      "  Prints the Markdown summary of scripts/stack-diff.ts; exit 1 on a refused change.",
    ],
    options: { base: { type: "string" }, "base-dir": { type: "string" }, plans: { type: "string" }, "allow-stateful": { type: "boolean" } },
    positionals: [0, 0],
    run: async (values) => stackDiff(values),
  },
  "promote-diff": {
    npm: "promote-diff",
    summary: "what <to> would gain compared to <from>: spec fields and resources per stack kind",
    usage: "promote-diff <from env> <to env>",
    details: ["  e.g. promote-diff staging prod"],
    options: {},
    positionals: [2, 2],
    run: async (_values, [from, to]) => {
      const { promoteDiff } = require("../scripts/promote-diff") as typeof import("../scripts/promote-diff");
      try {
        process.stdout.write(`${promoteDiff(from, to)}\n`);
        return 0;
      } catch (error) {
        process.stderr.write(`promote-diff: ${(error as Error).message}\n`);
        return 2;
      }
    },
  },
  "new-env": {
    npm: "new-env",
    summary: "write environments/<name>.yaml from an existing environment, with a free network range",
    usage: "new-env <name> [--from <env>] [--cloud aws|azure|gcp] [--account <id>]",
    details: [
      "  --from <env>     the environment to start from (default: staging)",
      "  --cloud <cloud>  the new environment's cloud (default: the template's)",
      "  --account <id>   its AWS account id, Azure subscription id or GCP project id (default: the template's,",
      "                   refused when the template is deployed by Terraform Cloud from that account)",
      "  network.cidr is the first range of the template's size in 10.0.0.0/8 that no environment and no fleet's",
      "  pool uses; DNS zone and hosts take the new name. A fleet's tenant is refused as --from (a new tenant is",
      "  a line in its fleet's file). The file is written only when every environment validates with it.",
    ],
    options: { from: { type: "string" }, cloud: { type: "string" }, account: { type: "string" } },
    positionals: [1, 1],
    run: async (values, [name]) => {
      const { newEnvironment } = require("../scripts/new-env") as typeof import("../scripts/new-env");
      return newEnvironment(name, { from: values.from as string | undefined, cloud: values.cloud as string | undefined, account: values.account as string | undefined });
    },
  },
};

function commandHelp(command: Command): string {
  const [, ...options] = command.usage.split(" ");
  const npm = `   or: npm run ${command.npm}${options.length === 0 ? "" : ` -- ${options.join(" ")}`}`;
  return [`usage: tsx main.ts ${command.usage}`, npm, "", `${command.summary}.`, ...(command.details.length > 0 ? ["", ...command.details] : []), "  -h, --help      this help", ""].join("\n");
}

/** The short usage a usage error ends with. */
function hint(name: string, command: Command): string {
  return `usage: tsx main.ts ${command.usage}\n(tsx main.ts ${name} --help describes it)\n`;
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    "usage: tsx main.ts <command> [options]      (or npm run <script> -- [options], the script below)",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary} (npm run ${command.npm})`),
    "",
    "`npm run diff` and `npm run deploy` are not these: they run cdktn diff/deploy on one environment's stacks",
    "(npm run diff -- --help). The pull-request gate, the `diff` command above, is `npm run stack-diff`.",
    "`tsx main.ts <command> --help` describes a command.",
    "",
  ].join("\n");
}

function usageError(message: string, help: string): number {
  process.stderr.write(`error: ${message}\n${help}`);
  return 2;
}

/** Runs the command line `args`; returns the exit code (2: a usage error). */
export async function cli(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) return usageError("a command is required", usage());
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    if (topic !== undefined && command === undefined) return usageError(`help: unknown command "${topic}"; accepted: ${Object.keys(COMMANDS).join(", ")}`, usage());
    process.stdout.write(command === undefined ? usage() : commandHelp(command));
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) return usageError(`unknown command "${name}"; accepted: ${Object.keys(COMMANDS).join(", ")}`, usage());
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: { ...command.options, ...HELP }, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    return usageError(`${name}: ${(error as Error).message.split("\n")[0].replace(/\. To specify a positional argument.*$/, "")}`, hint(name, command));
  }
  if (parsed.values.help === true) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const given = parsed.positionals.length === 0 ? "none" : parsed.positionals.map((arg) => `"${arg}"`).join(" ");
    const misplaced = parsed.positionals.find((arg) => COMMANDS[arg] !== undefined);
    const also = misplaced === undefined ? "" : ` (${misplaced} is a command of its own: tsx main.ts ${misplaced})`;
    return usageError(`${name} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}; given ${given}${also}`, hint(name, command));
  }
  return command.run(parsed.values, parsed.positionals);
}

/** `diff`: the committed output at a git ref (or a directory) against a fresh synth, through scripts/stack-diff.ts. */
async function stackDiff(values: Record<string, unknown>): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "stack-diff-"));
  try {
    let baseDir = values["base-dir"] as string | undefined;
    if (baseDir === undefined) {
      const ref = (values.base as string | undefined) ?? "HEAD";
      const archive = spawnSync("git", ["archive", "--format=tar", ref, COMMITTED_OUTPUT_DIR], { maxBuffer: 1 << 30 });
      if (archive.status !== 0) {
        process.stderr.write(`diff: cannot read ${COMMITTED_OUTPUT_DIR}/ at ${ref}: ${archive.stderr.toString().trim()}\n`);
        return 2;
      }
      const untar = spawnSync("tar", ["-x", "-C", work], { input: archive.stdout });
      if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.toString().trim()}`);
      baseDir = join(work, COMMITTED_OUTPUT_DIR);
    } else if (!existsSync(baseDir)) {
      process.stderr.write(`diff: --base-dir ${baseDir} does not exist\n`);
      return 2;
    }
    const headDir = join(work, "head");
    const { environments, environmentSource, gitops } = await fleet();
    const { synthesize } = require("./app") as typeof import("./app");
    // The synth's own summary line would mix into the Markdown on stdout.
    const code = synthesize(environments, headDir, gitops, environmentSource, { quiet: true });
    if (code !== 0) return code;
    const { diffDirectories, renderSummary } = require("../scripts/stack-diff") as typeof import("../scripts/stack-diff");
    const allowStateful = values["allow-stateful"] === true;
    const diffs = diffDirectories(baseDir, headDir, { plansDir: values.plans as string | undefined });
    process.stdout.write(renderSummary(diffs, allowStateful));
    return (!allowStateful && diffs.some((d) => d.stateful.length > 0)) || diffs.some((d) => d.refused.length > 0) ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
