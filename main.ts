import { synthesize } from "./stacks/app";
import { COMMITTED_OUTPUT_DIR } from "./stacks/output";
import { runEntryPoint } from "./stacks/load";

// The environments load inside the entry point, so a file that throws is reported, not a stack trace.
runEntryPoint(async () => {
  const { environments, environmentSource } = await import("./environments/index.js");
  const { gitops } = await import("./environments/gitops.js");
  return synthesize(environments, process.env.CDKTF_OUTDIR ?? COMMITTED_OUTPUT_DIR, gitops, environmentSource);
});
