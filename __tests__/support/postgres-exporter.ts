/**
 * The rules of the two consumers of the Airbyte sync exporter's inputs, encoded for tests:
 *
 * 1. postgres_exporter v0.20.1 reading its queries file (`--extend.query-path`):
 *    exporter/queries.go `UserQuery` {query, metrics, master, cache_seconds, runonserver} and
 *    exporter/postgres_exporter.go `MappingOptions` {usage, description, metric_mapping,
 *    pg_version}, parsed with gopkg.in/yaml.v2 `Unmarshal` (not strict: an unknown or misspelt key
 *    is silently ignored). parseUserQueries ignores stringToColumnUsage's error (exporter/util.go),
 *    so an unknown `usage` silently becomes DISCARD (the zero ColumnUsage) and its metric vanishes.
 *    Names: makeDescMap gives `<query>_<column>` for COUNTER, GAUGE, MAPPEDMETRIC,
 *    `<query>_<column>_milliseconds` for DURATION, and the histogram's own series for HISTOGRAM;
 *    a returned column the file does not name is exported as an untyped `<query>_<column>`
 *    (exporter/namespace.go queryNamespaceMapping, "Unknown metric").
 *
 * 2. psql running the bootstrap script: statements end at `;` outside quotes ('...', "...",
 *    dollar quotes `$tag$...$tag$`); a backslash outside quotes starts a meta-command that runs to
 *    the end of the line and ends the statement before it (`\gexec` sends it)
 *    (doc/src/sgml/ref/psql-ref.sgml; doc/src/sgml/syntax.sgml "Dollar-Quoted String Constants").
 *    Only the GRANT grammar we need is read (doc/src/sgml/ref/grant.sgml): privileges ON
 *    [object type] name TO grantee, and role membership `GRANT role TO grantee`.
 */
import { parse } from "yaml";

const QUERY_KEYS = new Set(["query", "metrics", "master", "cache_seconds", "runonserver"]);
const MAPPING_KEYS = new Set(["usage", "description", "metric_mapping", "pg_version"]);
const USAGES = new Set(["DISCARD", "LABEL", "COUNTER", "GAUGE", "HISTOGRAM", "MAPPEDMETRIC", "DURATION"]);

type Entry = Record<string, unknown>;
const isMap = (value: unknown): value is Entry => typeof value === "object" && value !== null && !Array.isArray(value);

/** One query of the file: its name, SQL and column usages in file order. */
export interface UserQuery {
  readonly name: string;
  readonly query: string;
  readonly columns: readonly { readonly column: string; readonly usage: string }[];
}

/** What postgres_exporter would silently misread or drop in a queries file. */
export function queriesFileProblems(text: string): string[] {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    return [`not YAML: ${(error as Error).message}`];
  }
  if (!isMap(document)) return ["the file is not a map of query name to query"];
  const problems: string[] = [];
  for (const [name, query] of Object.entries(document)) {
    if (!isMap(query)) {
      problems.push(`${name}: not a map`);
      continue;
    }
    for (const key of Object.keys(query)) if (!QUERY_KEYS.has(key)) problems.push(`${name}: unknown key ${key} (yaml.v2 ignores it)`);
    if (typeof query.query !== "string" || query.query.trim() === "") problems.push(`${name}: no query`);
    if (query.master !== undefined && typeof query.master !== "boolean") problems.push(`${name}: master is not a boolean`);
    if (query.cache_seconds !== undefined && !(Number.isInteger(query.cache_seconds) && (query.cache_seconds as number) >= 0)) problems.push(`${name}: cache_seconds is not a uint64`);
    if (!Array.isArray(query.metrics) || query.metrics.length === 0) {
      problems.push(`${name}: no metrics`);
      continue;
    }
    for (const mapping of query.metrics) {
      if (!isMap(mapping)) {
        problems.push(`${name}: a metrics entry is not a map of column to options`);
        continue;
      }
      for (const [column, options] of Object.entries(mapping)) {
        if (!isMap(options)) {
          problems.push(`${name}.${column}: options are not a map`);
          continue;
        }
        for (const key of Object.keys(options)) if (!MAPPING_KEYS.has(key)) problems.push(`${name}.${column}: unknown key ${key} (yaml.v2 ignores it)`);
        if (!USAGES.has(String(options.usage))) problems.push(`${name}.${column}: usage ${String(options.usage)} is unknown (read as DISCARD: the metric vanishes)`);
        if (options.usage === "MAPPEDMETRIC" && !isMap(options.metric_mapping)) problems.push(`${name}.${column}: MAPPEDMETRIC without metric_mapping`);
      }
    }
  }
  return problems;
}

/** The queries of a file that passes queriesFileProblems. */
export function userQueries(text: string): UserQuery[] {
  const document = parse(text) as Record<string, { query: string; metrics: Record<string, { usage: string }>[] }>;
  return Object.entries(document).map(([name, query]) => ({
    name,
    query: query.query,
    columns: query.metrics.flatMap((mapping) => Object.entries(mapping).map(([column, options]) => ({ column, usage: options.usage }))),
  }));
}

/** The metric names the exporter publishes for a file's queries (makeDescMap). */
export function userQueryMetricNames(text: string): string[] {
  return userQueries(text).flatMap(({ name, columns }) =>
    columns.flatMap(({ column, usage }) => {
      const base = `${name}_${column}`;
      switch (usage) {
        case "COUNTER":
        case "GAUGE":
        case "MAPPEDMETRIC":
          return [base];
        case "DURATION":
          return [`${base}_milliseconds`];
        case "HISTOGRAM":
          return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
        default:
          return [];
      }
    }),
  );
}

/** A statement of a psql script, or a meta-command (`\connect x`). */
export interface ScriptStatement {
  readonly text: string;
  readonly meta: boolean;
}

/** Splits the SQL a psql heredoc receives into statements and meta-commands. */
export function psqlStatements(sql: string): ScriptStatement[] {
  const statements: ScriptStatement[] = [];
  let current = "";
  let i = 0;
  const flush = () => {
    if (current.trim() !== "") statements.push({ text: current.trim(), meta: false });
    current = "";
  };
  while (i < sql.length) {
    if (sql[i] === "\\") {
      // A meta-command ends the statement before it (`\gexec` sends it) and runs to the end of the line.
      flush();
      const end = sql.indexOf("\n", i);
      const line = sql.slice(i, end === -1 ? sql.length : end);
      statements.push({ text: line.trim(), meta: true });
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    const char = sql[i];
    if (char === "'" || char === '"') {
      const end = sql.indexOf(char, i + 1);
      if (end === -1) throw new Error(`unterminated ${char} quote`);
      current += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
    if (dollar && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
      const tag = dollar[0];
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) throw new Error(`unterminated dollar quote ${tag}`);
      current += sql.slice(i, end + tag.length);
      i = end + tag.length;
      continue;
    }
    if (char === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    current += char;
    i += 1;
    if (char === ";") {
      statements.push({ text: current.trim(), meta: false });
      current = "";
    }
  }
  flush();
  return statements;
}

/** One GRANT: object privileges, or membership in roles. */
export type Grant =
  | { readonly kind: "privileges"; readonly privileges: readonly string[]; readonly objectType: string; readonly object: string; readonly grantees: readonly string[]; readonly text: string }
  | { readonly kind: "membership"; readonly roles: readonly string[]; readonly grantees: readonly string[]; readonly text: string };

const OBJECT_TYPES = ["TABLE", "ALL TABLES IN SCHEMA", "SEQUENCE", "ALL SEQUENCES IN SCHEMA", "DATABASE", "DOMAIN", "FOREIGN DATA WRAPPER", "FOREIGN SERVER", "FUNCTION", "ALL FUNCTIONS IN SCHEMA", "PROCEDURE", "ALL PROCEDURES IN SCHEMA", "ROUTINE", "ALL ROUTINES IN SCHEMA", "LANGUAGE", "LARGE OBJECT", "PARAMETER", "SCHEMA", "TABLESPACE", "TYPE"];
const PRIVILEGE_WORDS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "CREATE", "CONNECT", "TEMPORARY", "TEMP", "EXECUTE", "USAGE", "SET", "ALTER SYSTEM", "MAINTAIN", "ALL", "ALL PRIVILEGES"]);

const splitList = (text: string) => text.split(",").map((part) => part.trim()).filter((part) => part !== "");

/** The GRANT statements of a script (top-level statements only: a function body is one string constant). */
export function grantsOf(statements: readonly ScriptStatement[]): Grant[] {
  return statements
    .filter((statement) => !statement.meta && /^GRANT\s/i.test(statement.text))
    .map((statement): Grant => {
      const text = statement.text.replace(/\s+/g, " ").replace(/;$/, "");
      const to = /^GRANT (.+) TO (.+?)( WITH .*| GRANTED BY .*)?$/i.exec(text);
      if (!to) throw new Error(`unreadable GRANT: ${text}`);
      const [, what, grantees] = to;
      const on = /^(.+?) ON (.+)$/i.exec(what);
      if (!on) return { kind: "membership", roles: splitList(what), grantees: splitList(grantees), text };
      const [, privileges, target] = on;
      const objectType = OBJECT_TYPES.filter((type) => target.toUpperCase().startsWith(`${type} `)).sort((a, b) => b.length - a.length)[0] ?? "TABLE";
      const object = objectType === "TABLE" && !target.toUpperCase().startsWith("TABLE ") ? target : target.slice(objectType.length + 1);
      const list = splitList(privileges).map((privilege) => privilege.replace(/\s*\(.*\)$/, "").toUpperCase());
      for (const privilege of list) if (!PRIVILEGE_WORDS.has(privilege)) throw new Error(`unknown privilege ${privilege} in ${text}`);
      return { kind: "privileges", privileges: list, objectType, object: object.trim(), grantees: splitList(grantees), text };
    });
}

/** The SQL between `<<'SQL'` and `SQL` of a bootstrap job's shell script. */
export function heredocSql(script: string): string {
  const match = /<<'SQL'\n([\s\S]*?)\nSQL(\n|$)/.exec(script);
  if (!match) throw new Error("no <<'SQL' heredoc in the script");
  return match[1];
}

/**
 * What a managed service's admin (never a superuser: RDS `rds_superuser`, Azure `azure_pg_admin`,
 * Cloud SQL `cloudsqlsuperuser`) may not do in CREATE/ALTER ROLE, as PostgreSQL checks it
 * (src/backend/commands/user.c CreateRole/AlterRole, REL_15_STABLE and REL_16_STABLE): set or
 * clear SUPERUSER ("must be superuser to alter superuser roles or change superuser attribute"),
 * REPLICATION or BYPASSRLS (only a role that has the attribute may). And a PASSWORD set together
 * with other attributes: a statement that fails for them is logged by the server with its text,
 * password included.
 */
export function roleStatementProblems(sql: string): string[] {
  return psqlStatements(sql)
    .map((statement) => statement.text)
    .filter((text) => /^(CREATE|ALTER) ROLE\b/i.test(text))
    .flatMap((text) => {
      const problems: string[] = [];
      const reserved = /\b(NO)?(SUPERUSER|REPLICATION|BYPASSRLS)\b/i.exec(text);
      if (reserved) problems.push(`a non-superuser admin may not set ${reserved[0]}: ${text}`);
      if (/\bPASSWORD\b/i.test(text) && /\b(NO)?(LOGIN|CREATEDB|CREATEROLE|INHERIT|CONNECTION LIMIT|VALID UNTIL)\b/i.test(text)) problems.push(`sets the password together with other attributes (a failure logs it): ${text}`);
      return problems;
    });
}
