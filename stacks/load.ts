import { relative } from "node:path";
import { SpecError } from "../constructs/core/errors";

/** An environments/*.ts file as it appears in a message or stack frame (a path or a file:// URL). */
const ENVIRONMENT_FILE = String.raw`((?:file:\/\/)?[^\s()'"]*[/\\]environments[/\\][^\s()'":]+\.ts)`;

function shortPath(file: string): string {
  return relative(process.cwd(), file.replace(/^file:\/\//, ""));
}

/**
 * The one line to print when an environment file cannot be loaded, or undefined for an error
 * that did not come from an environment file, which is a bug to show in full:
 * - a syntax error (esbuild, through tsx: "Transform failed with 1 error:\n<file>:18:2: ERROR: ..."):
 *   the file, line and column and esbuild's message;
 * - an import that does not resolve (MODULE_NOT_FOUND from require, ERR_MODULE_NOT_FOUND from
 *   import): the environment file that imports it and the module not found;
 * - an error thrown while the file runs (`staging.apps.map` after `apps` was removed from
 *   staging): the file and line of the first environments/ frame of its stack, and its message;
 * - a value thrown that is not an Error (`throw "set NOPE first"`): it has no stack to take a
 *   file from, and only spec files and their helpers are written by users, so it is named as is.
 */
export function loadFailure(error: unknown): string | undefined {
  // A YAML descriptor that does not parse (constructs/core/descriptor.ts): its message is the line.
  if (error instanceof Error && error.name === "DescriptorError") return error.message;
  if (!(error instanceof Error)) return `an environment file could not be loaded: it threw ${typeof error === "string" ? JSON.stringify(error) : String(error)}`;
  const syntax = new RegExp(String.raw`^Transform failed with \d+ errors?:\n${ENVIRONMENT_FILE}:(\d+):(\d+): ERROR: (.*)$`, "m").exec(error.message);
  if (syntax) return `${shortPath(syntax[1])}:${syntax[2]}:${syntax[3]} could not be loaded: ${syntax[4]}`;
  const code = (error as { code?: unknown }).code;
  if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") {
    const [first, ...rest] = error.message.split("\n");
    // require: "Require stack:\n- <importer>"; import: "... imported from <importer>".
    const importer = new RegExp(String.raw`(?:^- |imported from )${ENVIRONMENT_FILE}`, "m").exec([first, ...rest].join("\n"));
    if (importer) return `${shortPath(importer[1])} could not be loaded: ${first.replace(/ imported from .*$/, "")}`;
    return undefined;
  }
  const frame = (error.stack ?? "")
    .split("\n")
    .map((line) => new RegExp(String.raw`\(?${ENVIRONMENT_FILE}:(\d+):\d+\)?$`).exec(line.trim()))
    .find((match) => match !== null);
  if (!frame) return undefined;
  return `${shortPath(frame[1])}:${frame[2]} could not be loaded: ${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
}

/**
 * Runs the entry point `load` and sets the exit code: an environment file that cannot be loaded
 * is one line on stderr and exit 1; any other error is a bug and propagates.
 */
export function runEntryPoint(load: () => Promise<number>): void {
  load()
    .catch((error: unknown) => {
      // A fleet's own problems (constructs/core/fleet.ts) are found while its file loads: they are
      // spec problems in the spec format, one line each, not a failure to load.
      if (error instanceof SpecError) {
        process.stderr.write(`spec error: ${error.message}\n`);
        return 1;
      }
      const failure = loadFailure(error);
      if (failure === undefined) throw error;
      process.stderr.write(`spec error: ${failure}\n`);
      return 1;
    })
    .then((code) => {
      process.exitCode = code;
    });
}
