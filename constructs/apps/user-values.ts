/**
 * The spec's escape hatches for an app's charts (`apps[].values`, `apps[].chartVersion`), applied
 * in ONE place: `withUserValues`, called by the apps stack on every release an app renders,
 * before anything else reads the release. There is no other way to change a release's values or
 * version: nothing in the project adds Terraform overrides to a helm_release.
 *
 * What is refused, and where:
 * - in the spec pass (`userValuesSpecProblems`, with the file, field path, given and accepted):
 *   values that are not JSON objects of JSON values, a chart the app does not install, a version
 *   that is not exact or is lower than the pinned one, and keys the platform owns wherever they
 *   appear (OWNED_KEYS: the service accounts bound to the cloud identity and the security
 *   contexts Pod Security `restricted` admits);
 * - when the release is rendered (`withUserValues`): a value that changes or removes what wires
 *   the app to the platform (OWNED_NAMES: a service account, a Secret the platform creates or
 *   syncs, a reference to the infra stack);
 * - after the merge, by the policy pack (constructs/policies), which reads the merged values of
 *   every helm_release at synth: credentials, Kafka and OpenSearch security, sign-in, untrusted
 *   accounts, pinned versions.
 * Unknown keys and wrong types are checked against the chart contracts (../shared/charts) by the
 * test suite, over every environment in `environments/` (__tests__/support/chart-contract.ts),
 * since the contracts are not shipped with the library.
 */
import type { AppName } from "../core/apps";
import { SpecError, describeValue, formatPath } from "../core/errors";
import type { AppSpec, Report } from "../core/spec";
import { APP_CHARTS } from "./catalogue";
import type { AppContext, AppRelease } from "./types";

type Values = Record<string, unknown>;
type Path = readonly (string | number)[];

const isMap = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

/**
 * Helm's merge of later values over earlier ones (helm v3 pkg/chartutil/coalesce.go, and the
 * pinned Helm provider's `mergeMaps` for several `values` documents): maps merge key by key,
 * lists and scalars replace. A `null` is kept, so Helm removes the chart's default there.
 */
export function mergeUserValues(base: Values, extra: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(extra)) merged[key] = isMap(merged[key]) && isMap(value) ? mergeUserValues(merged[key] as Values, value) : value;
  return merged;
}

/**
 * Keys the platform owns wherever they appear in a chart's values, refused in user values:
 * - service accounts (`serviceAccount`, `serviceAccountName`, `appServiceAccount`,
 *   `automountServiceAccountToken`): every pod runs as the account the platform creates and binds
 *   to the app's cloud identity (or the untrusted account with no rights); another account has no
 *   identity, or the chart's account gets rights the untrusted code must not have;
 * - security contexts (`securityContext`, `securityContexts`, `podSecurityContext`, `containerSecurityContext`) and
 *   host namespaces (`hostNetwork`, `hostPID`, `hostIPC`): the platform sets what Pod Security
 *   `restricted` admits (k8s.io/pod-security-admission policy checks), which every app namespace
 *   enforces; a weaker one is refused by the API server at apply, after the plan looked fine.
 */
export const OWNED_KEYS: Readonly<Record<string, string>> = {
  serviceAccount: "the platform's service account, bound to the app's cloud identity",
  serviceAccountName: "the platform's service account, bound to the app's cloud identity",
  appServiceAccount: "the platform's service account, bound to the app's cloud identity",
  automountServiceAccountToken: "the platform's service account settings",
  securityContext: "the security context Pod Security restricted admits",
  podSecurityContext: "the security context Pod Security restricted admits",
  containerSecurityContext: "the security context Pod Security restricted admits",
  securityContexts: "the security context Pod Security restricted admits",
  hostNetwork: "no host namespaces (Pod Security restricted)",
  hostPID: "no host namespaces (Pod Security restricted)",
  hostIPC: "no host namespaces (Pod Security restricted)",
};

const EXACT_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** -1, 0 or 1 as `a` is lower, equal or higher than `b` (both exact MAJOR.MINOR.PATCH). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Where a value is not JSON (a function, undefined, a class instance, NaN or Infinity...), relative to `path`. */
function nonJson(value: unknown, path: Path): { path: Path; value: unknown }[] {
  if (value === null || typeof value === "string" || typeof value === "boolean") return [];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => nonJson(item, [...path, index]));
  if (isMap(value)) return Object.entries(value).flatMap(([key, child]) => nonJson(child, [...path, key]));
  return [{ path, value }];
}

/** How to name a value JSON cannot hold, in a message (JSON.stringify would show NaN as null and drop a function). */
function nonJsonName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return String(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "object" && value !== null) return `a ${value.constructor?.name ?? "object without prototype"}`;
  return `a ${typeof value}`;
}

/** Every path of an owned key in user values, relative to `path`. */
function ownedKeys(value: unknown, path: Path): { path: Path; key: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => ownedKeys(item, [...path, index]));
  if (!isMap(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => (Object.hasOwn(OWNED_KEYS, key) ? [{ path: [...path, key], key }] : ownedKeys(child, [...path, key])));
}

/**
 * The problems of one app's `values` and `chartVersion` that the spec alone shows, reported at
 * `apps[index]`. Run in the spec pass (stacks/app.ts `specChecks`) and again by `withUserValues`.
 */
export function userValuesSpecProblems(app: Pick<AppSpec, "name" | "values" | "chartVersion">, at: Path, report: Report): void {
  const charts = APP_CHARTS[app.name as AppName];
  if (charts === undefined) return;
  const names = charts.map((chart) => chart.chart);
  const chartKeys = `the name of a chart ${app.name} installs: ${names.join(" | ")}`;
  for (const [chart, values] of Object.entries(app.values ?? {})) {
    const path = [...at, "values", chart];
    if (!names.includes(chart)) {
      report(path, chart, chartKeys);
      continue;
    }
    for (const bad of nonJson(values, path)) report(bad.path as PropertyKey[], nonJsonName(bad.value), "a JSON value: a string, a finite number, true, false, null, a list or a plain object");
    for (const owned of ownedKeys(values, path)) report(owned.path as PropertyKey[], known(values, owned.path.slice(path.length)), `no ${owned.key}: the platform owns it (${OWNED_KEYS[owned.key]}); README, "Extra Helm values and chart versions"`);
  }
  for (const [chart, version] of Object.entries(app.chartVersion ?? {})) {
    const path = [...at, "chartVersion", chart];
    const pinned = charts.find((c) => c.chart === chart);
    if (pinned === undefined) report(path, chart, chartKeys);
    else if (!EXACT_VERSION.test(version)) report(path, version, `an exact chart version MAJOR.MINOR.PATCH such as ${pinned.version} (no range, no v, no pre-release)`);
    else if (compareVersions(version, pinned.version) < 0) report(path, version, `${pinned.version} (the pinned version) or higher: the platform's values and checks are written for the pinned chart's templates, and a lower chart would downgrade the app over a database it already migrated`);
  }
}

/** The value at a path relative to `values`. */
function known(values: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Values)[key as string] : undefined), values);
}

/**
 * What the platform wires an app's release with, which a user value may not change: its service
 * accounts, the Secrets it creates or syncs for the app (database credentials, generated keys,
 * the TLS certificate, and every Secret its wiring and resources manifests produce), and the
 * app's bucket and database addresses from the infra stack.
 */
interface Owned {
  /** Whole values: service accounts and Secrets. */
  readonly names: ReadonlySet<string>;
  /** Parts of values: the app's bucket URL and database host, wherever a value embeds them. */
  readonly fragments: readonly string[];
}

function ownedNames(ctx: AppContext, releases: readonly AppRelease[]): Owned {
  const names = new Set<string>([ctx.serviceAccount]);
  if (ctx.untrustedAccount) names.add(ctx.untrustedAccount.serviceAccount);
  if (ctx.database) names.add(ctx.database.secretName);
  if (ctx.ingress) names.add(ctx.ingress.tlsSecretName);
  for (const release of releases) {
    for (const secret of release.generatedSecrets) names.add(secret.name);
    for (const manifest of [...(release.wiring ?? []), ...(release.resources ?? [])]) {
      const name = String(manifest.metadata.name);
      const spec = (manifest.spec ?? {}) as Values;
      // External Secrets writes spec.target.name (default: its own name); cert-manager spec.secretName; Strimzi a Secret per KafkaUser.
      if (manifest.kind === "ExternalSecret") names.add(String(known(spec, ["target", "name"]) ?? name));
      if (manifest.kind === "Certificate" && typeof spec.secretName === "string") names.add(spec.secretName);
      if (manifest.kind === "KafkaUser" || manifest.kind === "Secret") names.add(name);
    }
  }
  return { names, fragments: [ctx.bucket?.url, ctx.database?.host].filter((fragment): fragment is string => fragment !== undefined && fragment.length > 0) };
}

/** A cdktf token (a reference to another resource, here the infra stack's: database host, bucket, identity), as it sits in values before synth. */
const TOKEN = /\$\{TfToken\[/;

/** Paths of the leaves of the platform's values that wire the app: an owned name, or a reference to the infra stack (a token). */
function wiredPaths(values: unknown, owned: Owned, path: Path = []): Path[] {
  if (Array.isArray(values)) return values.flatMap((item, index) => wiredPaths(item, owned, [...path, index]));
  if (values !== null && typeof values === "object") return Object.entries(values as Values).flatMap(([key, child]) => wiredPaths(child, owned, [...path, key]));
  return typeof values === "string" && (owned.names.has(values) || TOKEN.test(values) || owned.fragments.some((fragment) => values.includes(fragment))) ? [path] : [];
}

const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((key, i) => path[i] === key);

/** User value paths that change or remove a wired leaf of `base`: the first wired path each one hits. */
function wiringOverrides(base: Values, extra: Values, wired: readonly Path[], path: Path = []): { path: Path; wired: Path }[] {
  return Object.entries(extra).flatMap(([key, value]) => {
    const here = [...path, key];
    const hit = wired.find((w) => startsWith(w, here));
    if (hit === undefined) return [];
    if (isMap(value) && isMap(base[key])) return wiringOverrides(base[key] as Values, value, wired, here);
    return JSON.stringify(value) === JSON.stringify(base[key]) ? [] : [{ path: here, wired: hit }];
  });
}

/**
 * The app's releases with the spec's values merged last and its chart versions applied. Throws a
 * SpecError (environment, `apps[i].values...` path, given, accepted) for a value the spec pass
 * refuses (when the caller skipped it) and for one that changes the platform's wiring.
 */
export function withUserValues(ctx: AppContext, app: Pick<AppSpec, "name" | "values" | "chartVersion">, releases: readonly AppRelease[], source?: string): readonly AppRelease[] {
  if (app.values === undefined && app.chartVersion === undefined) return releases;
  const at: Path = ["apps", ctx.env.apps.findIndex((listed) => listed === app)];
  const issues: { path: string; message: string }[] = [];
  const report: Report = (path, given, accepted) => issues.push({ path: formatPath(path), message: `given ${describeValue(given)}; accepted: ${accepted}` });
  userValuesSpecProblems(app, at, report);
  // One message per mistake: what the spec pass refuses is not reported again as wiring.
  if (issues.length > 0) throw new SpecError(ctx.env.name, issues, source);
  const names = ownedNames(ctx, releases);
  for (const release of releases) {
    const extra = app.values?.[release.chart.chart];
    if (extra === undefined) continue;
    for (const found of wiringOverrides(release.values, extra, wiredPaths(release.values, names))) {
      const given = known(extra, found.path);
      const ours = describeValue(known(release.values, found.wired)).replace(/\$\{TfToken\[[^\]]*\]\}/g, "<a reference to the infra stack>");
      report([...at, "values", release.chart.chart, ...found.path], given, `no change to ${found.wired.join(".")} (${ours}): the platform wires ${app.name} with it (a service account, a Secret it creates or syncs, or the infra stack); add keys beside it instead`);
    }
  }
  if (issues.length > 0) throw new SpecError(ctx.env.name, issues, source);
  return releases.map((release) => {
    const extra = app.values?.[release.chart.chart];
    const version = app.chartVersion?.[release.chart.chart];
    return {
      ...release,
      chart: version === undefined ? release.chart : { ...release.chart, version },
      values: extra === undefined ? release.values : mergeUserValues(release.values, extra),
    };
  });
}
