/**
 * The command line: `tsx main.ts <command>` (`npm run synth` is `tsx main.ts synth`; cdktf.json
 * runs `tsx main.ts synth` for `cdktf synth`, with CDKTF_OUTDIR set). `tsx main.ts --help` lists
 * the commands: synth, validate, diff, promote-diff, new-env (stacks/cli.ts).
 */
import { cli } from "./stacks/cli";
import { runEntryPoint } from "./stacks/load";

// The environments load inside the entry point, so a file that throws is reported, not a stack trace.
runEntryPoint(() => cli(process.argv.slice(2)));
