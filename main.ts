import { environments } from "./environments";
import { gitops } from "./environments/gitops";
import { synthesize } from "./stacks/app";
import { COMMITTED_OUTPUT_DIR } from "./stacks/output";

process.exitCode = synthesize(environments, process.env.CDKTF_OUTDIR ?? COMMITTED_OUTPUT_DIR, gitops);
