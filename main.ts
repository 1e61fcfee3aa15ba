/**
 * The command line: `tsx main.ts <command>` (`npm run synth` is `node --require tsx/cjs main.ts
 * synth`, the same without the tsx command's second process; cdktf.json runs it for `cdktf synth`,
 * with CDKTF_OUTDIR set). `tsx main.ts --help` lists the commands: synth, validate, diff,
 * promote-diff, new-env (stacks/cli.ts).
 */
// First: the npm dependencies load as CommonJS, without tsx's ES module sniffing (stacks/commonjs-dependencies.ts).
import "./stacks/commonjs-dependencies";
import { cli } from "./stacks/cli";
import { runEntryPoint } from "./stacks/load";

// The environments load inside the entry point, so a file that throws is reported, not a stack trace.
runEntryPoint(() => cli(process.argv.slice(2)));
