/**
 * cdktn 0.24's token resolver (lib/tokens/private/resolve.js, encoding.js and token-map.js are
 * cdktf 0.21.0's line for line, where the numbers below were measured) with a shortcut for the
 * parts of a stack that hold no token (issue 12, "Speed"). `toTerraform` resolves every element's JSON and then the whole stack once
 * more (lib/terraform-stack.js), and lib/tokens/private/resolve.js spends per node — object key,
 * value and array element alike — a path join, two closures, an options spread and three regular
 * expression scans, even where nothing is a token. Measured at 60 generated tenants: 3.2 s of
 * 15.6 s of CPU in resolve.js alone, most of it on plain strings, numbers and objects.
 *
 * `plainResolve` walks the value itself and copies what cdktn's `resolve` would return
 * unchanged: `undefined`, `null`, booleans, plain objects and arrays (dropping undefined members
 * as cdktn does), strings without a token marker (`${TfToken[`, `#{TfToken[`, `&{TfToken[`) or
 * an encoded number, and numbers that are no number token. Everything else — a resolvable, a
 * string with a token, a token number, a list or map token, a class instance, a function, a
 * too deep path — is handed to cdktn's own `resolve` with the same options and path, so tokens,
 * escapes, cross-stack references and cdktn's errors (worded with that path) stay cdktn's.
 * Only the top-level call has no previous resolve context, and a nested call made by walking
 * objects and arrays inherits none either (resolve.js `makeContext`), so a handed-over part
 * resolves exactly as it would in place. `__tests__/synth-costs.test.ts` compares both on every
 * element of an infra and an apps stack per cloud and on values built to reach each branch, and
 * the committed output stays byte for byte the same.
 */
import { DefaultTokenResolver, StringConcat, Token } from "cdktn";
import type { IConstruct } from "constructs";
// `require` forms: the replacement must reach the modules' own exports (lib/terraform-stack.js
// reads `_tokens.resolve` at each call).
import tokens = require("cdktn/lib/_tokens");
import resolver = require("cdktn/lib/tokens/private/resolve");
import encoding = require("cdktn/lib/tokens/private/encoding");
import tokenMap = require("cdktn/lib/tokens/private/token-map");

/** cdktn's entry (lib/_tokens.js), kept for comparison and for what the shortcut hands over. */
export const cdktnResolve = tokens.resolve;

/** lib/_tokens.js's resolver: a DefaultTokenResolver over a StringConcat, which hold no state. */
const TOKEN_RESOLVER = new DefaultTokenResolver(new StringConcat());
/** resolve.js refuses a path deeper than this (a circular reference); deeper parts go to it. */
const MAX_DEPTH = 200;

/** Where a walk is: what a part handed to cdktn's `resolve` needs to resolve as it would in place. */
interface Walk {
  readonly scope: IConstruct;
  readonly preparing: boolean;
  readonly path: string[];
}

// Module-level functions, not closures per call: tsx compiles with esbuild's keepNames, which
// wraps every closure created in `__name`, and plainResolve runs per element (about 4,600 calls
// for the 1.2 MB gitops stack of 205 environments); the closures and their `__name` calls were
// about 40 ms of its 220 ms resolve (CPU profile of scripts/bench/tenants.ts 200 --only).
function handOver(value: unknown, at: Walk): unknown {
  return resolver.resolve(value, { scope: at.scope, preparing: at.preparing, resolver: TOKEN_RESOLVER, prefix: [...at.path] });
}

/** The string branch of resolve.js returns `str` untouched when none of its scans match; the number scan is cdktn's own, so a string it would look into is handed over. */
function isPlainString(s: string): boolean {
  return !s.includes("{TfToken[") && s !== Token.STRING_MAP_TOKEN_VALUE && s !== Token.ANY_MAP_TOKEN_VALUE && !encoding.TokenString.forNumbers(s).test();
}

function isPlainNumber(n: number): boolean {
  return n !== Token.NUMBER_MAP_TOKEN_VALUE && tokenMap.TokenMap.instance().lookupNumberToken(n) === undefined;
}

/** Not a token (resolve.js `unresolved`) and not what resolve.js takes for a construct (`isConstruct`). */
function isPlainObject(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  const fields = o as { resolve?: unknown; _children?: unknown; _metadata?: unknown };
  return (proto === Object.prototype || proto === null) && typeof fields.resolve !== "function" && (fields._children === undefined || fields._metadata === undefined);
}

/** resolve.js reads an array holding a list token (a string, or a number encoded as a list element: encoding.js `containsNumberListTokenElement`) as that token. */
function isListTokenElement(x: unknown): boolean {
  return (typeof x === "string" && x.includes("{TfToken[")) || (typeof x === "number" && encoding.extractTokenDouble(x, true) !== undefined);
}

function walk(value: unknown, at: Walk): unknown {
  const path = at.path;
  if (path.length > MAX_DEPTH) return handOver(value, at);
  switch (typeof value) {
    case "undefined":
    case "boolean":
      return value;
    case "string":
      return isPlainString(value) ? value : handOver(value, at);
    case "number":
      return isPlainNumber(value) ? value : handOver(value, at);
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        if (value.some(isListTokenElement)) return handOver(value, at);
        const result: unknown[] = [];
        for (let index = 0; index < value.length; index++) {
          path.push(`${index}`);
          const resolved = walk(value[index], at);
          path.pop();
          if (resolved !== undefined) result.push(resolved);
        }
        return result;
      }
      if (!isPlainObject(value)) return handOver(value, at);
      const keys = Object.keys(value);
      if (!keys.every(isPlainString)) return handOver(value, at);
      const result: Record<string, unknown> = {};
      for (const key of keys) {
        path.push(key);
        const resolved = walk((value as Record<string, unknown>)[key], at);
        path.pop();
        if (resolved !== undefined) result[key] = resolved;
      }
      return result;
    }
    default:
      return handOver(value, at);
  }
}

export function plainResolve<T>(scope: IConstruct, obj: T, preparing = false): T {
  return walk(obj, { scope, preparing, path: [] }) as T;
}

/**
 * A string with a token is split by cdktn into fragments (lib/tokens/private/encoding.js,
 * `TokenString.split`), and with escape handling on (resolve.js always asks for it) every `}` is
 * an escape fragment. For each one `nextEscapeToken` scans from there for the next `${` that
 * opens no token, to the end of the string when there is none, and keeps the match only if it
 * comes before the next token: quadratic in the length. A Helm values document is one such
 * string (tens of KB of JSON, hundreds of `}`, a database address token in it): 0.9 s of the
 * 15.6 s at 60 tenants was that scan. This is cdktn 0.24.0's `nextEscapeToken` line for line,
 * except that the position of the next `${` is remembered per string: the first match at or
 * after an index is the same for every index up to it, so the fragments are the same.
 */
type Fragments = { addLiteral(literal: string): void; addEscape(kind: "open" | "close"): void };
type Step = { index: number; escapeDepth: number };
interface TokenStringFields {
  readonly str: string;
}
/** encoding.js's ESCAPE_TOKEN_BEGIN_REGEX, a `${` that opens no token (2 characters, the lookahead is empty). */
const ESCAPE_BEGIN = /\$\{(?!TfToken\[)/g;
const nextOpening = new WeakMap<TokenStringFields, { from: number; at: number }>();

function nextEscapeToken(this: TokenStringFields, fragments: Fragments, startIndex: number, escapeDepth: number, maxIndex: number): Step {
  let open = nextOpening.get(this);
  if (open === undefined || startIndex < open.from || (open.at !== -1 && startIndex > open.at)) {
    ESCAPE_BEGIN.lastIndex = startIndex;
    open = { from: startIndex, at: ESCAPE_BEGIN.exec(this.str)?.index ?? -1 };
    nextOpening.set(this, open);
  }
  // encoding.js's ESCAPE_TOKEN_END_REGEX is /\}/g: the next "}" from startIndex.
  const close = this.str.indexOf("}", startIndex);
  const start = open.at !== -1 && open.at < maxIndex ? open.at : undefined;
  const end = close !== -1 && close < maxIndex ? close : undefined;
  if (start === undefined && end === undefined) return { index: -1, escapeDepth };
  if (start !== undefined && end !== undefined) {
    if (start > startIndex) fragments.addLiteral(this.str.substring(startIndex, Math.min(start, end)));
    if (start < end) {
      fragments.addEscape("open");
      return { index: start + 2, escapeDepth: escapeDepth + 1 };
    }
    fragments.addEscape("close");
    return { index: end + 1, escapeDepth: escapeDepth - 1 };
  }
  if (start !== undefined) {
    if (start > startIndex) fragments.addLiteral(this.str.substring(startIndex, start));
    fragments.addEscape("open");
    return { index: start + 2, escapeDepth: escapeDepth + 1 };
  }
  const at = end as number;
  if (at > startIndex) fragments.addLiteral(this.str.substring(startIndex, at));
  fragments.addEscape("close");
  return { index: at + 1, escapeDepth: escapeDepth - 1 };
}

/** cdktn's own `nextEscapeToken`, kept for comparison. */
export const cdktnNextEscapeToken = (encoding.TokenString.prototype as unknown as { nextEscapeToken: typeof nextEscapeToken }).nextEscapeToken;

/** Installs both shortcuts into cdktn (stacks/synth-costs.ts, when it loads). */
export function installResolveShortcuts(): void {
  tokens.resolve = plainResolve;
  (encoding.TokenString.prototype as unknown as { nextEscapeToken: typeof nextEscapeToken }).nextEscapeToken = nextEscapeToken;
}
