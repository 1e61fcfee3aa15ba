import { environments } from "./environments";
import { COMMITTED_OUTPUT, synthesize } from "./stacks/app";

process.exitCode = synthesize(environments, process.env.CDKTF_OUTDIR ?? COMMITTED_OUTPUT);
