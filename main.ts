import { synthesize } from "./stacks/app";
import { COMMITTED_OUTPUT_DIR } from "./stacks/output";
import { loadFailure } from "./stacks/load";

async function main(): Promise<number> {
  try {
    const { environments, environmentSource } = await import("./environments/index.js");
    const { gitops } = await import("./environments/gitops.js");
    return synthesize(environments, process.env.CDKTF_OUTDIR ?? COMMITTED_OUTPUT_DIR, gitops, environmentSource);
  } catch (error) {
    const failure = loadFailure(error);
    if (failure === undefined) throw error;
    process.stderr.write(`spec error: ${failure}\n`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
