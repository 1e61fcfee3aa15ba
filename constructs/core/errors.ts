/** One problem in an environment spec: where it is, what was given, what is accepted. */
export interface SpecIssue {
  /** Dotted field path inside the spec, e.g. `databases[0].storageGiB`. */
  readonly path: string;
  readonly message: string;
  /** The line the field is written on, for a spec read from a YAML descriptor. */
  readonly line?: number;
}

/**
 * The line of a field path in the file a spec object was read from (YAML descriptors register
 * theirs when parsed: constructs/core/descriptor.ts); TypeScript specs have none.
 */
export const specLines = new WeakMap<object, (path: string) => number | undefined>();

/** The issues with the line of their field in `input`'s file, when it has lines. */
export function withLines(input: unknown, issues: readonly SpecIssue[]): SpecIssue[] {
  const lineOf = input !== null && typeof input === "object" ? specLines.get(input) : undefined;
  return lineOf === undefined ? [...issues] : issues.map((issue) => ({ ...issue, line: issue.line ?? lineOf(issue.path.split(", ")[0]) }));
}

/**
 * A mistake the user can fix in their spec. Reported as one line per issue, without a stack
 * trace; nothing is synthesized when one is thrown.
 */
export class SpecError extends Error {
  constructor(
    readonly environment: string,
    readonly issues: readonly SpecIssue[],
    /** The file the environment is written in, when known. */
    readonly source?: string,
    /** What `environment` names: an environment, or a fleet of them (constructs/core/fleet.ts). */
    noun: "environment" | "fleet" = "environment",
  ) {
    super(
      `${source === undefined ? "" : `${source}: `}${noun} "${environment}" has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n` +
        issues.map((issue) => `  - ${issue.path}${issue.line === undefined ? "" : ` (line ${issue.line})`}: ${issue.message}`).join("\n"),
    );
    this.name = "SpecError";
  }
}

/** Formats a field path the way users write it: `databases[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`;
    return acc === "" ? String(key) : `${acc}.${String(key)}`;
  }, "");
}

/** Renders a user value compactly for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
