/** One problem in an environment spec: where it is, what was given, what is accepted. */
export interface SpecIssue {
  /** Dotted field path inside the spec, e.g. `databases[0].storageGiB`. */
  readonly path: string;
  readonly message: string;
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
  ) {
    super(
      `${source === undefined ? "" : `${source}: `}environment "${environment}" has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n` +
        issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join("\n"),
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
