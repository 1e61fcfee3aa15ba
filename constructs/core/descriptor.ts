/**
 * Environment descriptors: an environment written as a YAML file (`environments/<name>.yaml`),
 * validated by the same schema and checks as a TypeScript spec. Parsing keeps where each field
 * was written, so a problem names its line (`  - apps[0].name (line 31): given ...`).
 *
 * YAML 1.2 (the `yaml` package's core schema, https://yaml.org/spec/1.2.2/): `yes`/`no` are
 * strings, not booleans; a key given twice in one mapping is an error (the spec says mapping
 * keys are unique), as is any syntax error: one line, `file:line:col could not be loaded: why`.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { formatPath, specLines } from "./errors";

/** A descriptor that is not well-formed YAML: its message is one line naming file, line and column. */
export class DescriptorError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${col} could not be loaded: ${reason}`);
    this.name = "DescriptorError";
  }
}

/** The line of every field path of a parsed document: a mapping key's line, or a list item's. */
function fieldLines(root: unknown, lineOf: (offset: number) => number): Map<string, number> {
  const lines = new Map<string, number>();
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const keyPath = [...path, String(pair.key.value)];
        if (pair.key.range) lines.set(formatPath(keyPath), lineOf(pair.key.range[0]));
        walk(pair.value, keyPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const itemPath = [...path, index];
        const range = (item as { range?: [number, number, number] } | null)?.range;
        if (range) lines.set(formatPath(itemPath), lineOf(range[0]));
        walk(item, itemPath);
      });
    }
  };
  walk(root, []);
  return lines;
}

/**
 * The line a field path was written on, or, for a field that is not there (a required one
 * missing), the line of the nearest enclosing field that is; undefined for the whole spec.
 */
export function lineOfPath(lines: ReadonlyMap<string, number>, path: string): number | undefined {
  for (let current = path; ; ) {
    const line = lines.get(current);
    if (line !== undefined) return line;
    const parent = current.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * Parses a descriptor's text: the spec as plain data (for the schema), whose field lines are
 * registered for SpecError messages. `file` is the path messages name.
 * @throws DescriptorError on a syntax error or a key given twice.
 */
export function parseDescriptor(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: "1.2" });
  const position = (offset: number) => lineCounter.linePos(offset);
  const [error] = [...doc.errors, ...doc.warnings];
  if (error !== undefined) {
    const { line, col } = position(error.pos[0]);
    throw new DescriptorError(file, line, col, error.message.split("\n")[0]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias without its anchor (or one that expands too far) fails only here, not in doc.errors:
    // report it on the descriptor, at its alias (`*name`) when the text shows it.
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    const alias = /alias[^:]*: (\S+)/i.exec(reason)?.[1];
    const offset = alias === undefined ? -1 : text.search(new RegExp(`\\*${alias.replace(/^\*/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`));
    const { line, col } = offset < 0 ? { line: 1, col: 1 } : position(offset);
    throw new DescriptorError(file, line, col, reason);
  }
  if (data !== null && typeof data === "object") {
    const lines = fieldLines(doc.contents, (offset) => position(offset).line);
    specLines.set(data, (path) => lineOfPath(lines, path));
  }
  return data;
}

/** Reads and parses the descriptor at `path`, named `file` in messages. */
export function loadDescriptor(path: string, file: string): unknown {
  return parseDescriptor(readFileSync(path, "utf8"), file);
}
