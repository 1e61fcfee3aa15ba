/**
 * Loads the project's npm dependencies (cdktf, the @cdktf/provider-* bindings, constructs, zod,
 * yaml, ...) as Node itself does, not through tsx's transform (issue 12, "Speed").
 *
 * tsx's CommonJS hook (tsx 4.23.15, dist/register-*.cjs, `createExtensions`) reads every `.js`
 * file a `require` loads, node_modules included, and runs es-module-lexer over each one whose
 * text contains "import" or "export" (`isESM`: every CommonJS module that sets `exports.x` does)
 * to find ES module syntax it would transform; on the 6 MB of a cloud's provider classes and
 * cdktf that is about 0.2-0.5 s of CPU per synth, for packages that are all CommonJS. Here a
 * `.js` file below node_modules whose package is not `"type": "module"` goes to
 * `module._compile`, as Node's own `.js` loader sends it (Node 20.19+ `_compile` also loads ES
 * module syntax it finds there as a module, as plain `node` would); every other file (TypeScript,
 * our sources, `"type": "module"` packages) still goes through tsx. Only when tsx's hook is
 * there (`.ts` registered): vitest and plain node are untouched.
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

const tsxJs = extensions[".js"];
if (extensions[".ts"] !== undefined && tsxJs !== undefined && registry[INSTALLED] === undefined) {
  registry[INSTALLED] = true;
  extensions[".js"] = (module, filename) => {
    if (!filename.includes(NODE_MODULES) || inModulePackage(dirname(filename))) return tsxJs(module, filename);
    module._compile(readFileSync(filename, "utf8"), filename);
  };
}
