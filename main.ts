import { environments } from "./environments";
import { synthesize } from "./stacks/app";

process.exitCode = synthesize(environments, process.env.CDKTF_OUTDIR ?? "cdktf.out");
