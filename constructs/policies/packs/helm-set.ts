import { parse as parseYaml } from "yaml";
import { asList, type Block } from "../types";

/**
 * How the Helm provider applies a helm_release's `set`, `set_list`, `set_sensitive` and `set_wo`
 * entries, at the pinned provider (hashicorp/terraform-provider-helm v3.1.1
 * helm/resource_helm_release.go):
 * - `getValues`: the `values` documents merged in order (`mergeMaps`), then every `set` entry,
 *   then every `set_list` entry, then every `set_sensitive` entry, each written INTO the merged
 *   map, so they win over `values`;
 * - `getValue`: type `auto` (or unset) is `strvals.ParseInto("<name>=<value>")`, `string` is
 *   `strvals.ParseIntoString`, `literal` parses `<name>: <value>` as YAML and sets the top-level
 *   key `<name>` as written (no dotted path);
 * - `getListValue`: `strvals.ParseInto("<name>={<v1>,<v2>...}")`;
 * - Create/Update: `getWriteOnlyValues` applies `set_wo` the same way, merged over the rest
 *   (`mergeMaps`), only when `set_wo_revision` > 0.
 * `strvals` is k8s.io/helm v2.17.0 (the provider's go.mod), helm/helm v2.17.0 pkg/strvals/parser.go,
 * ported below: `parse`, `key`, `listItem`, `keyIndex`, `val`, `valList`, `runesUntil` (a
 * backslash escapes the next character, so `a\.b` is the key "a.b"), `typedVal` (true, false,
 * null, and integers not starting with 0 are typed, case-insensitively, unless `string`).
 */

type Values = Record<string, unknown>;

const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value);

/** helm v2.17.0 pkg/strvals/parser.go `typedVal`. */
function typedVal(text: string, asString: boolean): unknown {
  if (asString) return text;
  const lower = text.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  if (lower === "null") return null;
  if (text === "0") return 0;
  if (text.length > 0 && text[0] !== "0" && /^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  return text;
}

class StrvalsError extends Error {}

/** A port of helm v2.17.0 pkg/strvals parser (ParseInto / ParseIntoString). */
class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly asString: boolean,
  ) {}

  /** `runesUntil`: the characters up to a stop character (backslash escapes), the stop character, or undefined at the end. */
  private until(stop: string): { chars: string; last: string | undefined } {
    let chars = "";
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (stop.includes(c)) return { chars, last: c };
      if (c === "\\") {
        if (this.pos >= this.text.length) return { chars, last: undefined };
        chars += this.text[this.pos++];
      } else chars += c;
    }
    return { chars, last: undefined };
  }

  parse(data: Values): void {
    while (this.pos < this.text.length) this.key(data);
  }

  private key(data: Values): void {
    const { chars: k, last } = this.until("=[,.");
    if (last === undefined) {
      if (k.length === 0) return;
      throw new StrvalsError(`key "${k}" has no value`);
    }
    if (last === "[") {
      const index = this.keyIndex();
      const list = Array.isArray(data[k]) ? (data[k] as unknown[]) : [];
      if (k !== "") data[k] = this.listItem(list, index);
      else this.listItem(list, index);
      return;
    }
    if (last === "=") {
      const value = this.valList() ?? typedVal(this.until(",").chars, this.asString);
      if (k !== "") data[k] = value;
      return;
    }
    if (last === ",") throw new StrvalsError(`key "${k}" has no value (cannot end with ,)`);
    // last === "."
    const inner = isMap(data[k]) ? (data[k] as Values) : {};
    this.key(inner);
    if (Object.keys(inner).length === 0) throw new StrvalsError(`key map "${k}" has no value`);
    if (k !== "") data[k] = inner;
  }

  private keyIndex(): number {
    const { chars } = this.until("]");
    const index = Number(chars);
    if (!/^[+-]?\d+$/.test(chars) || index < 0) throw new StrvalsError(`error parsing index: ${chars}`);
    return index;
  }

  private static setIndex(list: unknown[], index: number, value: unknown): unknown[] {
    const out = [...list];
    while (out.length <= index) out.push(null);
    out[index] = value;
    return out;
  }

  private listItem(list: unknown[], index: number): unknown[] {
    const { chars, last } = this.until("[.=");
    if (chars.length > 0) throw new StrvalsError(`unexpected data at end of array index: "${chars}"`);
    if (last === undefined) throw new StrvalsError("unexpected end after an array index");
    if (last === "=") return Parser.setIndex(list, index, this.valList() ?? typedVal(this.until(",").chars, this.asString));
    if (last === "[") {
      const next = this.keyIndex();
      const current = Array.isArray(list[index]) ? (list[index] as unknown[]) : [];
      return Parser.setIndex(list, index, this.listItem(current, next));
    }
    const inner = isMap(list[index]) ? (list[index] as Values) : {};
    this.key(inner);
    return Parser.setIndex(list, index, inner);
  }

  /** `valList`: `{a,b}` as a list, or undefined when the value does not start with `{`. */
  private valList(): unknown[] | undefined {
    if (this.text[this.pos] !== "{") return undefined;
    this.pos++;
    const list: unknown[] = [];
    for (;;) {
      const { chars, last } = this.until(",}");
      if (last === undefined) throw new StrvalsError("list must terminate with '}'");
      list.push(typedVal(chars, this.asString));
      if (last === "}") {
        if (this.text[this.pos] === ",") this.pos++;
        return list;
      }
    }
  }
}

/** Writes `<name>=<value>` into `base` as strvals.ParseInto (or ParseIntoString) does. */
export function strvalsInto(base: Values, expression: string, asString = false): void {
  new Parser(expression, asString).parse(base);
}

/** helm v3 pkg/cli/values/options.go `mergeMaps` (the provider's own is the same): maps merge key by key, anything else is replaced. */
export function mergeMaps(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over;
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = key in out ? mergeMaps(out[key], value) : value;
  return out;
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** One `set`-style entry (name, value, type) written into `base` as the provider's `getValue` does. */
function applySet(base: Values, entry: unknown): void {
  const { name, value, type } = (entry ?? {}) as Block;
  const key = String(name ?? "");
  const text = value === undefined || value === null ? "" : String(value);
  switch (String(type ?? "auto")) {
    case "string":
      strvalsInto(base, `${key}=${text}`, true);
      return;
    case "literal": {
      const literal = parseYaml(`${key}: ${text}`) as unknown;
      base[key] = isMap(literal) ? literal[key] : literal;
      return;
    }
    default:
      strvalsInto(base, `${key}=${text}`);
  }
}

/**
 * The values a helm_release hands Helm: its `values` documents (`documents`, parsed) merged in
 * order, then `set`, `set_list`, `set_sensitive` and (with `set_wo_revision` > 0) `set_wo`, as the
 * pinned provider applies them. An entry the provider would refuse is skipped: that apply fails.
 */
export function providerValues(release: Block, documents: readonly unknown[]): Values {
  // `mergeMaps` copies the maps it merges but shares what it takes over, and only `set`,
  // `set_list` and `set_sensitive` write into `base`: without them the documents (parsed once
  // and shared by the policy pack, kubernetes.ts `releaseValues`) need no copy, which was a
  // JSON round trip of every values document.
  const writes = [release.set, release.set_list, release.set_sensitive].some((entries) => asList(entries).length > 0);
  const base = documents.reduce<Values>((all, doc) => (isMap(doc) ? (mergeMaps(all, writes ? clone(doc) : doc) as Values) : all), {});
  const tryApply = (apply: () => void) => {
    try {
      apply();
    } catch (error) {
      if (!(error instanceof StrvalsError)) throw error;
    }
  };
  for (const entry of asList(release.set)) tryApply(() => applySet(base, entry));
  for (const entry of asList(release.set_list)) {
    const { name, value } = (entry ?? {}) as Block;
    tryApply(() => strvalsInto(base, `${String(name ?? "")}={${asList(value).filter((v) => v !== null && v !== undefined).map(String).join(",")}}`));
  }
  for (const entry of asList(release.set_sensitive)) tryApply(() => applySet(base, entry));
  if (Number(release.set_wo_revision ?? 0) > 0) {
    const writeOnly: Values = {};
    for (const entry of asList(release.set_wo)) tryApply(() => applySet(writeOnly, entry));
    return mergeMaps(base, writeOnly) as Values;
  }
  return base;
}

/** Only the `set`-style entries of a release, written into an empty map (what they put in the plan and the state). */
export function setEntryValues(release: Block): Values {
  return providerValues({ ...release, set_wo_revision: 1 }, []);
}
