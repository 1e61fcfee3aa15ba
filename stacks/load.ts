import { relative } from "node:path";

/**
 * The one line to print when an environment file throws while it is loaded (a typo such as
 * `staging.apps.map` after `apps` was removed from staging): the file and line it threw at, taken
 * from the error's stack, and the error's message. Undefined for an error that did not come from
 * an environment file, which is a bug to show in full.
 */
export function loadFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const frame = (error.stack ?? "")
    .split("\n")
    .map((line) => /\(?((?:file:\/\/)?[^\s()]*[/\\]environments[/\\][^\s():]+\.ts):(\d+):\d+\)?$/.exec(line.trim()))
    .find((match) => match !== null);
  if (!frame) return undefined;
  const file = relative(process.cwd(), frame[1].replace(/^file:\/\//, ""));
  return `${file}:${frame[2]} could not be loaded: ${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
}

/**
 * Runs the entry point `load` and sets the exit code: an environment file that throws while it
 * loads is one line on stderr and exit 1; any other error is a bug and propagates.
 */
export function runEntryPoint(load: () => Promise<number>): void {
  load()
    .catch((error: unknown) => {
      const failure = loadFailure(error);
      if (failure === undefined) throw error;
      process.stderr.write(`spec error: ${failure}\n`);
      return 1;
    })
    .then((code) => {
      process.exitCode = code;
    });
}
