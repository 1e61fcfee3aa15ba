/**
 * Helpers the app renderer tests share: walking and reading rendered Helm values, the cases and
 * chart contracts they run on, and the checks for credentials and Secret references.
 */
import { expect } from "vitest";
import { DATABASE_SECRET_KEYS, type AppContext, type AppRelease } from "../../constructs/apps/types";
import { CLOUDS } from "../../constructs/core/spec";
import { loadChart, mergeValues, type ChartContract } from "./chart-contract";

/** Helm values: a map of keys to values, maps and lists. */
export type Values = Record<string, unknown>;

/** A node of a values tree with its key path (list items are keyed by their index). */
export interface ValueNode<T = unknown> {
  readonly path: readonly string[];
  readonly value: T;
}

/** Every cloud, outside and in production: the cases each app's tests run on. */
export const CLOUD_CASES = CLOUDS.flatMap((cloud) => [false, true].map((production) => ({ cloud, production })));

/** Whether a value is a map (an object that is neither a list nor null). */
export const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value);

/** A value as a list, or [] when it is not one. */
export const list = <T = unknown>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

/** The value at a dotted path, or undefined (keys with dots are not used on these paths). */
export function at(values: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isMap(node) ? node[key] : undefined), values);
}

/** Every node of a values tree, the tree itself included, each before its children. */
export function nodes(value: unknown, path: readonly string[] = []): ValueNode[] {
  const children = isMap(value) ? Object.entries(value) : Array.isArray(value) ? value.map((child, i) => [String(i), child] as const) : [];
  return [{ path, value }, ...children.flatMap(([key, child]) => nodes(child, [...path, key]))];
}

/** Every leaf (neither map nor list) of a values tree with its key path. */
export function leaves(value: unknown): ValueNode[] {
  return nodes(value).filter((node) => !isMap(node.value) && !Array.isArray(node.value));
}

/** Every map in a values tree with its key path. */
export function maps(value: unknown): ValueNode<Values>[] {
  return nodes(value).filter((node): node is ValueNode<Values> => isMap(node.value));
}

/** The one release an app renders, after checking that it renders exactly one. */
export function onlyRelease(releases: readonly AppRelease[]): AppRelease {
  expect(releases).toHaveLength(1);
  return releases[0];
}

const contracts = new Map<string, ChartContract>();

/** The chart contract in a folder under shared/charts, loaded once per test file. */
export function chartContract(folder: string): ChartContract {
  const loaded = contracts.get(folder) ?? loadChart(folder);
  contracts.set(folder, loaded);
  return loaded;
}

/** The values Helm would use, bundled subcharts included (their defaults, the parent's, ours). */
export function effectiveValues(chart: ChartContract, values: Values): Values {
  const merged = mergeValues(chart.defaults, values) as Values;
  for (const [key, sub] of chart.subcharts) merged[key] = mergeValues(mergeValues(sub.defaults, chart.defaults[key]), values[key]);
  return merged;
}

/** Matches a resources block with CPU and memory requests and a memory limit (a CPU limit may be there too). */
export const REQUESTS_AND_MEMORY_LIMIT = {
  requests: { cpu: expect.any(String), memory: expect.any(String) },
  limits: expect.objectContaining({ memory: expect.any(String) }),
};

/** Secret references the chart turns into `secretKeyRef`s: `{secretRef, secretKey}` and `secretKeyRef: {name, key}`. */
export function secretRefs(values: Values): { name: string; key: string }[] {
  return maps(values).flatMap(({ path, value }) => {
    if (typeof value.secretRef === "string" && typeof value.secretKey === "string") return [{ name: value.secretRef, key: value.secretKey }];
    if (path[path.length - 1] === "secretKeyRef") return [{ name: String(value.name), key: String(value.key) }];
    return [];
  });
}

const CREDENTIAL_KEY = /pass(word)?|secret|token|credential|salt|api_?key|private_?key|encryption_?key|signing_?key/i;
const SECRET_REFERENCE_KEY = /^(name|key|path|secretRef|secretKey|secretName|existingSecret|internalUsersSecret|rolesSecret|rolesMappingSecret|passwordKey|userKey|existingSecret\w*Key)$/;

/** Dotted paths of literal strings under credential-like keys, except references to Secrets (names and keys). */
export function credentialLiterals(values: Values): string[] {
  return leaves(values)
    .filter(({ path, value }) => typeof value === "string" && value !== "" && path.some((key) => CREDENTIAL_KEY.test(key)))
    .filter(({ path }) => !SECRET_REFERENCE_KEY.test(path[path.length - 1]))
    // datahub's `credentialsAndCertsSecrets.secureEnv` maps a Kafka property to a KEY of that Secret
    // (datahub-1.1.0 templates/_helpers.tpl:726-736: `secretKeyRef.key: {{ $envVarValue }}`).
    .filter(({ path }) => path[path.length - 2] !== "secureEnv")
    .map(({ path }) => path.join("."));
}

const CREDENTIAL_NAME = /pass(word|wd)?|secret|token|credential|fernet|access_?key|api_?key|connection_?string/i;
const KUBERNETES_ENV_REFERENCE = /^\$\([A-Z_][A-Z0-9_]*\)$/;
const URL_WITH_PASSWORD = /:\/\/[^/\s:@]+:[^/\s@]+@/;

/**
 * Places in a release's values where a credential would sit as a literal: a credential-named key
 * whose string value is not the name of a Secret, a Secret key or a Kubernetes `$(VAR)` reference;
 * an env entry with a credential-like name and a literal value; a URL with a password in it.
 * `otherSecretNames` are Secrets the release reads that neither the context nor the release declares.
 */
export function releaseCredentialLiterals(release: AppRelease, ctx: AppContext, otherSecretNames: readonly string[] = []): string[] {
  const references = new Set<string>([
    ...Object.values(DATABASE_SECRET_KEYS),
    ...otherSecretNames,
    ...(ctx.database ? [ctx.database.secretName] : []),
    ...(ctx.ingress ? [ctx.ingress.tlsSecretName] : []),
    ...release.generatedSecrets.flatMap((secret) => [secret.name, ...Object.keys(secret.keys)]),
  ]);
  const literal = (value: unknown) => typeof value === "string" && value !== "" && !references.has(value) && !KUBERNETES_ENV_REFERENCE.test(value);
  const found: string[] = [];
  for (const { path, value } of nodes(release.values)) {
    const key = path[path.length - 1] ?? "";
    if (CREDENTIAL_NAME.test(key) && literal(value)) found.push(`${path.join(".")} = ${String(value)}`);
    if (isMap(value) && typeof value.name === "string" && CREDENTIAL_NAME.test(value.name) && literal(value.value)) found.push(`${path.join(".")} (${value.name})`);
    if (typeof value === "string" && URL_WITH_PASSWORD.test(value)) found.push(`${path.join(".")} holds a URL with a password`);
  }
  return found;
}
