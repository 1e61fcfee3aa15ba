/**
 * Loads the project's npm dependencies (cdktn, the @cdktf/provider-* bindings, constructs, zod,
 * yaml, ...) as Node itself does, not through tsx's transform (issue 12, "Speed").
 *
 * tsx's CommonJS hook (tsx 4.23.15, dist/register-*.cjs, `createExtensions`) reads every `.js`
 * file a `require` loads, node_modules included, and runs es-module-lexer over each one whose
 * text contains "import" or "export" (`isESM`: every CommonJS module that sets `exports.x` does)
 * to find ES module syntax it would transform; on the 6 MB of a cloud's provider classes and
 * cdktn that is about 0.2-0.5 s of CPU per synth, for packages that are all CommonJS. Here a
 * `.js` file below node_modules whose package is not `"type": "module"` goes to
 * `module._compile`, as Node's own `.js` loader sends it (Node 20.19+ `_compile` also loads ES
 * module syntax it finds there as a module, as plain `node` would), without its inline source map
 * (below); every other file (TypeScript, our sources, `"type": "module"` packages) still goes
 * through tsx. The loader is installed only when tsx's hook is there (`.ts` registered): vitest
 * and plain node load as before.
 */
import Module = require("node:module");
import { readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";

interface LoadableModule {
  _compile(content: string, filename: string): unknown;
}
type Loader = (module: LoadableModule, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, Loader | undefined> })._extensions;

const NODE_MODULES = `${sep}node_modules${sep}`;
const INSTALLED = Symbol.for("oss-data-platform:commonjs-dependencies");
const registry = globalThis as { [INSTALLED]?: true };

/** Whether the package a file belongs to (its nearest package.json) declares `"type": "module"`, by directory. */
const moduleType = new Map<string, boolean>();
function inModulePackage(dir: string): boolean {
  const known = moduleType.get(dir);
  if (known !== undefined) return known;
  let type: boolean;
  try {
    type = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { type?: unknown }).type === "module";
  } catch {
    const parent = dirname(dir);
    type = parent !== dir && inModulePackage(parent);
  }
  moduleType.set(dir, type);
  return type;
}

/**
 * The inline source map cdktn, constructs and the @cdktf/provider-* bindings end each file with.
 * tsx turns Node's source maps on (for our TypeScript's stack traces), and Node 20 then decodes
 * and parses every inline map a module carries when it compiles it (lib/internal/source_map/
 * source_map_cache.js, `maybeCacheSourceMap`: `dataFromUrl` and `lineLengths`), those of the
 * provider classes too, with their TypeScript sources in them. Dropping the comment from
 * dependencies (Node 22.14+'s `module.setSourceMapsSupport(true, { nodeModules: false })` does the
 * same) took `--only tenant-007` of 200 tenants from 2.4-2.8 s to 2.2-2.3 s of CPU and 163 to
 * 145 MiB; a dependency's own stack frames show its JavaScript lines, as under plain `node`.
 */
const INLINE_SOURCE_MAP = "\n//# sourceMappingURL=data:";

/** A whole last line that is such a comment: nothing but a data URL's characters after the marker. */
const INLINE_SOURCE_MAP_LINE = /^\/\/# sourceMappingURL=data:[A-Za-z0-9+/=;,:._-]*\s*$/;

/** The source without its inline source map comment, when that comment is its whole last line (nothing but whitespace after it). */
export function withoutInlineSourceMap(source: string): string {
  const at = source.lastIndexOf(INLINE_SOURCE_MAP);
  if (at === -1) return source;
  return INLINE_SOURCE_MAP_LINE.test(source.slice(at + 1)) ? source.slice(0, at + 1) : source;
}

/** ES module syntax at a line's start: such a file goes to tsx, which converts it, as before. */
export const MODULE_SYNTAX = /^\s*(?:import|export)[\s{*]/m;

const tsxJs = extensions[".js"];
if (extensions[".ts"] !== undefined && tsxJs !== undefined && registry[INSTALLED] === undefined) {
  registry[INSTALLED] = true;
  extensions[".js"] = (module, filename) => {
    if (!filename.includes(NODE_MODULES) || inModulePackage(dirname(filename))) return tsxJs(module, filename);
    const source = readFileSync(filename, "utf8");
    if (MODULE_SYNTAX.test(source)) return tsxJs(module, filename);
    module._compile(withoutInlineSourceMap(source), filename);
  };
}
